//! `contacts`: people and leads; owned by one user.

use sea_orm::entity::prelude::*;

use crate::enums::Lifecycle;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "contacts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub owner_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_id: Option<i64>,
    pub source: Option<String>,
    pub lifecycle: Lifecycle,
    pub disqualify_reason: Option<String>,
    pub disqualified_at: Option<DateTimeUtc>,
    /// Money spent to acquire this lead, in minor units.
    pub acquisition_cost: i64,
    #[sea_orm(unique)]
    pub external_id: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    /// The contact this one was merged into (it is then deleted).
    pub merged_into_id: Option<i64>,
    /// Custom field values by key (SPEC section 11), `{}` when none are set.
    #[sea_orm(column_type = "JsonBinary")]
    pub custom_fields: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::user::Entity", from = "Column::OwnerId", to = "super::user::Column::Id")]
    Owner,
    #[sea_orm(belongs_to = "super::company::Entity", from = "Column::CompanyId", to = "super::company::Column::Id")]
    Company,
    #[sea_orm(has_many = "super::deal::Entity")]
    Deal,
    #[sea_orm(has_many = "super::meeting::Entity")]
    Meeting,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Owner.def()
    }
}

impl Related<super::deal::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Deal.def()
    }
}

impl Related<super::meeting::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Meeting.def()
    }
}

impl Related<super::company::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Company.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
