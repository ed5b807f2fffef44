//! Forgets what is older than its retention: change events (then a cursor from before
//! the purge is CURSOR_EXPIRED), finished webhook deliveries (kept as long as events) and
//! idempotency keys. `run` purges by itself, periodically.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{change_event, idempotency_key, setting};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QuerySelect, Set};

use crate::error::ApiResult;

/// The `settings` key holding the highest `seq` purged so far.
const PURGED_THROUGH: &str = "change_events_purged_through";

#[derive(Debug, Clone, Copy)]
pub struct Retention {
    pub events: chrono::Duration,
    pub idempotency_keys: chrono::Duration,
}

/// What one purge removed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub events: u64,
    pub webhook_deliveries: u64,
    pub idempotency_keys: u64,
}

pub async fn purge(db: &DatabaseConnection, retention: Retention, now: DateTime<Utc>) -> ApiResult<Purged> {
    let tx = crate::db::begin_write(db).await?;
    let cutoff = now - retention.events;
    let newest_expired: Option<Option<i64>> = change_event::Entity::find()
        .select_only()
        .column_as(change_event::Column::Seq.max(), "max")
        .filter(change_event::Column::OccurredAt.lt(cutoff))
        .into_tuple()
        .one(&tx)
        .await?;
    let mut purged = Purged::default();
    if let Some(through) = newest_expired.flatten() {
        purged.events = change_event::Entity::delete_many()
            .filter(change_event::Column::Seq.lte(through))
            .exec(&tx)
            .await?
            .rows_affected;
        let row = setting::ActiveModel {
            key: Set(PURGED_THROUGH.to_owned()),
            value: Set(through.to_string()),
            created_at: Set(now),
            updated_at: Set(now),
            ..Default::default()
        };
        setting::Entity::insert(row)
            .on_conflict(
                OnConflict::column(setting::Column::Key)
                    .update_columns([setting::Column::Value, setting::Column::UpdatedAt])
                    .to_owned(),
            )
            .exec(&tx)
            .await?;
    }
    purged.webhook_deliveries = crate::service::webhooks::queue::purge_finished(&tx, cutoff).await?;
    purged.idempotency_keys = idempotency_key::Entity::delete_many()
        .filter(idempotency_key::Column::CreatedAt.lt(now - retention.idempotency_keys))
        .exec(&tx)
        .await?
        .rows_affected;
    tx.commit().await?;
    Ok(purged)
}

/// The highest `seq` already purged: a cursor below it may have missed events.
pub async fn purged_through(db: &impl ConnectionTrait) -> ApiResult<i64> {
    let found = setting::Entity::find().filter(setting::Column::Key.eq(PURGED_THROUGH)).one(db).await?;
    Ok(found.and_then(|s| s.value.parse().ok()).unwrap_or(0))
}

/// Purges now and then every `every`, until the process ends.
pub async fn run(db: DatabaseConnection, retention: Retention, every: Duration) {
    loop {
        match purge(&db, retention, crate::service::now()).await {
            Ok(p) if p != Purged::default() => {
                tracing::info!(
                    events = p.events,
                    webhook_deliveries = p.webhook_deliveries,
                    idempotency_keys = p.idempotency_keys,
                    "purged expired records"
                )
            }
            Ok(_) => {}
            Err(err) => tracing::warn!(error = %err, "purging expired records failed"),
        }
        tokio::time::sleep(every).await;
    }
}
