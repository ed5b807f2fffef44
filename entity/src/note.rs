//! `notes`: free text about one contact, company or deal, written by a user.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "notes")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub author_id: i64,
    /// The owner of the linked record when the note was last written: whose scope hears of
    /// its changes in the change log (reads follow the linked record as it is now).
    pub owner_id: i64,
    /// Exactly one of the three links is set.
    pub contact_id: Option<i64>,
    pub company_id: Option<i64>,
    pub deal_id: Option<i64>,
    pub body: String,
    #[sea_orm(unique)]
    pub external_id: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::user::Entity", from = "Column::AuthorId", to = "super::user::Column::Id")]
    Author,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Author.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
