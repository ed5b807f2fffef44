//! `webhook_endpoints`: where integrations receive events (SPEC section 8.6). The signing
//! secret is stored as issued (it must sign); the previous one signs beside it until
//! `previous_secret_expires_at`. `enqueued_through` is the change-log cursor up to which
//! this endpoint's deliveries are queued.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webhook_endpoints")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub url: String,
    pub description: Option<String>,
    /// JSON array of event types: `deal.won`, `meeting.*`, `*`, …
    pub event_types: String,
    pub secret: String,
    pub previous_secret: Option<String>,
    pub previous_secret_expires_at: Option<DateTimeUtc>,
    pub enabled: bool,
    pub disabled_at: Option<DateTimeUtc>,
    pub disabled_reason: Option<String>,
    pub enqueued_through: i64,
    /// Written by the deliverer (bookkeeping, not logged as changes).
    pub last_success_at: Option<DateTimeUtc>,
    /// When deliveries started failing without a success since (the deliverer's).
    pub failing_since: Option<DateTimeUtc>,
    pub created_by: Option<i64>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// Deleted endpoints stay as tombstones; their deliveries are gone.
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
