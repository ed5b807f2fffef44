//! `change_events`: the change log, one row per changed record, appended in the change's
//! own transaction. `seq` is the feed cursor; `changes` is a JSON object of
//! `{ "column": [before, after] }`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "change_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    pub occurred_at: DateTimeUtc,
    /// CONTACT, DEAL, MEETING, USER, TEAM, PIPELINE, STAGE, LOST_REASON, TARGET, API_KEY.
    pub entity: String,
    pub record_id: i64,
    pub owner_id: Option<i64>,
    /// The owner before this change, when it changed.
    pub previous_owner_id: Option<i64>,
    /// CREATED, UPDATED, DELETED, RESTORED.
    pub op: String,
    /// The domain event, when there is one (DEAL_MOVED, DEAL_WON, …).
    pub kind: Option<String>,
    pub actor_user_id: Option<i64>,
    pub actor_api_key_id: Option<i64>,
    pub version: Option<i32>,
    pub changes: String,
    /// The record after the change (before it, for a deletion), as JSON of its columns;
    /// for contacts, deals and meetings only (what webhooks send).
    pub record: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
