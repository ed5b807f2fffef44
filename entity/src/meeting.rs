//! `meetings`: calls, demos and meetings with a contact, and their logged outcome.

use sea_orm::entity::prelude::*;

use crate::enums::{MeetingKind, MeetingStatus};

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "meetings")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub contact_id: i64,
    pub deal_id: Option<i64>,
    pub owner_id: i64,
    pub kind: MeetingKind,
    pub scheduled_at: DateTimeUtc,
    pub duration_minutes: i32,
    pub status: MeetingStatus,
    pub outcome_logged_at: Option<DateTimeUtc>,
    pub notes: Option<String>,
    /// Key a mobile client sends so that a retried request creates nothing new.
    #[sea_orm(unique)]
    pub client_key: Option<String>,
    /// The meeting that replaced this one when it was RESCHEDULED.
    pub rescheduled_to_id: Option<i64>,
    /// As a no-show: whether a new meeting with the contact was created within the hour after
    /// the no-show was logged. Kept by the write path (`meeting_cells`); meaningless otherwise.
    pub followed_up: bool,
    #[sea_orm(unique)]
    pub external_id: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::contact::Entity", from = "Column::ContactId", to = "super::contact::Column::Id")]
    Contact,
    #[sea_orm(belongs_to = "super::deal::Entity", from = "Column::DealId", to = "super::deal::Column::Id")]
    Deal,
    #[sea_orm(belongs_to = "super::user::Entity", from = "Column::OwnerId", to = "super::user::Column::Id")]
    Owner,
}

impl Related<super::contact::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Contact.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
