//! `webhook_attempts`: each HTTP request made for a delivery and how it ended.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_attempts")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub delivery_id: i64,
    pub attempted_at: DateTimeUtc,
    /// The receiver's HTTP status; null when no response came (timeout, refused, …).
    pub status_code: Option<i32>,
    pub latency_ms: i32,
    /// The first kilobyte of the response body.
    pub response_body: Option<String>,
    pub error: Option<String>,
    /// SUCCEEDED, RETRYING (another attempt is scheduled) or FAILED (the delivery gave up).
    pub outcome: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
