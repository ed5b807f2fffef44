//! `webhook_deliveries`: one event (or test message) to one endpoint, with its signed body
//! fixed when queued, so every retry sends the same bytes under the same `webhook-id`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_deliveries")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub endpoint_id: i64,
    /// The change event's `seq`; null for a test message.
    pub event_seq: Option<i64>,
    /// `webhook-id`: the event's id, the same on every retry and redelivery.
    pub message_id: String,
    pub event_type: String,
    /// With `record_id`, the record deliveries keep their order for.
    pub entity: Option<String>,
    pub record_id: Option<i64>,
    pub payload: String,
    /// EVENT, REPLAY, REDELIVERY or TEST.
    pub trigger: String,
    /// PENDING, DELIVERED or FAILED.
    pub status: String,
    pub attempt_count: i32,
    pub next_attempt_at: DateTimeUtc,
    /// A deliverer holds the delivery until then (its request is under way).
    pub lease_until: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
