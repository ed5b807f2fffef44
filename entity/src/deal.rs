//! `deals`: an opportunity moving through the stages of one pipeline.

use sea_orm::entity::prelude::*;

use crate::enums::DealStatus;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deals")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub contact_id: i64,
    pub company_id: Option<i64>,
    pub owner_id: i64,
    pub pipeline_id: i64,
    pub stage_id: i64,
    pub title: String,
    /// Deal value in minor units of `currency`.
    pub amount: i64,
    /// ISO 4217 code; `None` is the organization's base currency (so that data written
    /// before currencies existed, and every single-currency deployment, needs no rate).
    pub currency: Option<String>,
    pub status: DealStatus,
    pub lost_reason_id: Option<i64>,
    pub lost_note: Option<String>,
    pub expected_close_date: Option<Date>,
    pub closed_at: Option<DateTimeUtc>,
    pub stage_entered_at: DateTimeUtc,
    /// Highest stage position this deal ever entered, kept in the same transaction
    /// as every move so the funnel need not scan the event history.
    pub max_stage_position: i32,
    #[sea_orm(unique)]
    pub external_id: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    /// Custom field values by key (SPEC section 11), `{}` when none are set.
    #[sea_orm(column_type = "JsonBinary")]
    pub custom_fields: Json,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::contact::Entity", from = "Column::ContactId", to = "super::contact::Column::Id")]
    Contact,
    #[sea_orm(belongs_to = "super::company::Entity", from = "Column::CompanyId", to = "super::company::Column::Id")]
    Company,
    #[sea_orm(belongs_to = "super::user::Entity", from = "Column::OwnerId", to = "super::user::Column::Id")]
    Owner,
    #[sea_orm(belongs_to = "super::pipeline::Entity", from = "Column::PipelineId", to = "super::pipeline::Column::Id")]
    Pipeline,
    #[sea_orm(belongs_to = "super::stage::Entity", from = "Column::StageId", to = "super::stage::Column::Id")]
    Stage,
    #[sea_orm(
        belongs_to = "super::lost_reason::Entity",
        from = "Column::LostReasonId",
        to = "super::lost_reason::Column::Id"
    )]
    LostReason,
    #[sea_orm(has_many = "super::deal_stage_event::Entity")]
    StageEvent,
}

impl Related<super::contact::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contact.def()
    }
}

impl Related<super::stage::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Stage.def()
    }
}

impl Related<super::deal_stage_event::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::StageEvent.def()
    }
}

impl Related<super::company::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Company.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
