//! The delivery queue: rows in `webhook_deliveries`, one per endpoint and event.
//!
//! Every delivery row is made here, by `row` — for new events and replays through
//! `queue_events`, for redeliveries and test messages directly — never by a mutation
//! itself; what an admin asks for (replay, redelivery, test) runs as a unit of work of the
//! one write path, what the deliverer writes (claims, attempts, endpoint health) is its
//! bookkeeping. New events are queued from the change log behind each endpoint's cursor
//! (`enqueued_through`), moved in the same transaction as the rows it queues, under the
//! endpoint's row lock: replicas queue each event once, and a crash queues nothing twice or
//! not at all.
//!
//! Deliverers claim due rows with a lease (`claim`), in order per record: a delivery waits
//! while an earlier one of the same record and endpoint is pending. On PostgreSQL the claim
//! skips rows another replica is claiming (`FOR UPDATE SKIP LOCKED`); on SQLite one process
//! writes at a time anyway.

use std::time::Duration;

use chrono::{DateTime, Utc};
use entity::{change_event, webhook_attempt, webhook_delivery, webhook_endpoint};
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, EntityTrait, FromQueryResult, NotSet,
    PaginatorTrait, QueryFilter, QueryOrder, QuerySelect, Select, Set,
};

use super::{DELIVERED, FAILED, PENDING, Settings, endpoints, events};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::service::changes::{log, retention};
use crate::service::metrics::sql::Sql;
use crate::service::page::{self, KeyKind, Page, PageRequest, SortKey};
use crate::service::scope::ensure_admin;
use crate::service::work::Writer;

/// Events read per transaction when queueing.
const BATCH: u64 = 500;
/// Events one `replayWebhooks` call goes through; it says where to continue.
const REPLAY_MAX: u64 = 10_000;
/// The part of a response body kept with its attempt.
pub const RESPONSE_KEPT: usize = 1024;

/// Why a delivery was queued.
pub const EVENT: &str = "EVENT";
pub const REPLAY: &str = "REPLAY";
pub const REDELIVERY: &str = "REDELIVERY";
pub const TEST: &str = "TEST";

/// Queues, for every enabled endpoint behind the log, the events it has not queued yet.
/// Returns how many deliveries it queued.
pub async fn queue_new(db: &DatabaseConnection) -> ApiResult<usize> {
    use webhook_endpoint::Column;
    let settled = log::settled_through(db).await?;
    let behind: Vec<i64> = webhook_endpoint::Entity::find()
        .select_only()
        .column(Column::Id)
        .filter(Column::Enabled.eq(true))
        .filter(Column::DeletedAt.is_null())
        .filter(Column::EnqueuedThrough.lt(settled))
        .into_tuple()
        .all(db)
        .await?;
    let mut queued = 0;
    for id in behind {
        loop {
            let (count, more) = queue_endpoint(db, id, settled).await?;
            queued += count;
            if !more {
                break;
            }
        }
    }
    Ok(queued)
}

/// One batch of events for endpoint `id`; says whether more remain.
async fn queue_endpoint(db: &DatabaseConnection, id: i64, settled: i64) -> ApiResult<(usize, bool)> {
    use webhook_endpoint::Column;
    let tx = crate::db::begin_write(db).await?;
    let mut select = webhook_endpoint::Entity::find_by_id(id).filter(Column::Enabled.eq(true));
    if db.get_database_backend() == DatabaseBackend::Postgres {
        // Another replica is queueing for it right now: it will move the cursor.
        select = select.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let Some(endpoint) = select.filter(Column::DeletedAt.is_null()).one(&tx).await? else {
        tx.rollback().await?;
        return Ok((0, false));
    };
    let events = log::after(&tx, endpoint.enqueued_through, BATCH).await?;
    let full = events.len() as u64 == BATCH;
    let last = events.last().map_or(endpoint.enqueued_through, |e| e.seq);
    // Every event up to `settled` was committed before it was read (see `log`).
    let through = if full { last } else { Ord::max(last, settled) };
    let queued = queue_events(&tx, &endpoint, &events, EVENT).await?;
    webhook_endpoint::Entity::update_many()
        .col_expr(Column::EnqueuedThrough, Expr::value(through))
        .filter(Column::Id.eq(id))
        .exec(&tx)
        .await?;
    tx.commit().await?;
    Ok((queued, full))
}

/// Queues `events` that `endpoint` asks for; returns how many.
async fn queue_events(
    db: &impl ConnectionTrait,
    endpoint: &webhook_endpoint::Model,
    events: &[change_event::Model],
    trigger: &str,
) -> ApiResult<usize> {
    let patterns = endpoints::patterns_of(endpoint);
    let now = crate::service::now();
    let rows: Vec<webhook_delivery::ActiveModel> = events
        .iter()
        .filter_map(|event| {
            let event_type = events::type_of(event).filter(|t| events::wanted(&patterns, t))?;
            let payload = events::body(event, &event_type)?;
            Some(row(endpoint.id, Some(event), events::message_id(event.seq), event_type, payload, trigger, now))
        })
        .collect();
    let count = rows.len();
    // 16 columns a row: far below either engine's bound-parameter limit.
    for chunk in rows.chunks(BATCH as usize) {
        webhook_delivery::Entity::insert_many(chunk.to_vec()).exec_without_returning(db).await?;
    }
    Ok(count)
}

fn row(
    endpoint_id: i64,
    event: Option<&change_event::Model>,
    message_id: String,
    event_type: String,
    payload: String,
    trigger: &str,
    now: DateTime<Utc>,
) -> webhook_delivery::ActiveModel {
    webhook_delivery::ActiveModel {
        id: NotSet,
        endpoint_id: Set(endpoint_id),
        event_seq: Set(event.map(|e| e.seq)),
        message_id: Set(message_id),
        event_type: Set(event_type),
        entity: Set(event.map(|e| e.entity.clone())),
        record_id: Set(event.map(|e| e.record_id)),
        payload: Set(payload),
        trigger: Set(trigger.to_owned()),
        status: Set(PENDING.to_owned()),
        attempt_count: Set(0),
        next_attempt_at: Set(now),
        lease_until: Set(None),
        created_at: Set(now),
        finished_at: Set(None),
    }
}

/// What `replay` queued.
#[derive(Debug, Clone)]
pub struct Replayed {
    pub queued: usize,
    /// Where the replay stopped: pass it as `after` again when `has_more`.
    pub end_cursor: i64,
    pub has_more: bool,
}

/// Queues again, for endpoint `id`, the events after cursor `after` that it asks for and
/// was sent already (later ones are on their way anyway).
pub async fn replay(principal: &Principal, w: &Writer, id: i64, after: i64) -> ApiResult<Replayed> {
    ensure_admin(principal)?;
    if after < retention::purged_through(&w.db).await? {
        return Err(ApiError::CursorExpired);
    }
    let work = w.begin(principal).await?;
    let tx = work.db();
    let endpoint = usable(tx, id, "endpointId").await?;
    let mut events = log::after(tx, after, REPLAY_MAX + 1).await?;
    events.retain(|e| e.seq <= endpoint.enqueued_through);
    let has_more = events.len() as u64 > REPLAY_MAX;
    events.truncate(REPLAY_MAX as usize);
    let end_cursor = events.last().map_or(after, |e| e.seq);
    let queued = queue_events(tx, &endpoint, &events, REPLAY).await?;
    work.commit().await?;
    Ok(Replayed { queued, end_cursor, has_more })
}

/// Queues delivery `id` again: the same body and `webhook-id`, as a new delivery.
pub async fn redeliver(principal: &Principal, w: &Writer, id: i64) -> ApiResult<webhook_delivery::Model> {
    ensure_admin(principal)?;
    let work = w.begin(principal).await?;
    let tx = work.db();
    let original =
        webhook_delivery::Entity::find_by_id(id).one(tx).await?.ok_or(ApiError::NotFound("WebhookDelivery"))?;
    usable(tx, original.endpoint_id, "deliveryId").await?;
    if original.status == PENDING {
        return Err(ApiError::Conflict("this delivery is still pending: it is sent on its schedule".into()));
    }
    let now = crate::service::now();
    let copy = webhook_delivery::ActiveModel {
        event_seq: Set(original.event_seq),
        entity: Set(original.entity),
        record_id: Set(original.record_id),
        ..row(original.endpoint_id, None, original.message_id, original.event_type, original.payload, REDELIVERY, now)
    };
    let queued = webhook_delivery::Entity::insert(copy).exec_with_returning(tx).await?;
    work.commit().await?;
    Ok(queued)
}

/// Queues a `webhook.test` message to endpoint `id`.
pub async fn send_test(principal: &Principal, w: &Writer, id: i64) -> ApiResult<webhook_delivery::Model> {
    ensure_admin(principal)?;
    let work = w.begin(principal).await?;
    let tx = work.db();
    usable(tx, id, "endpointId").await?;
    let now = crate::service::now();
    let message_id = format!("evt_test_{:016x}", rand::random::<u64>());
    let test = row(id, None, message_id, events::TEST_TYPE.to_owned(), events::test_body(id, now), TEST, now);
    let queued = webhook_delivery::Entity::insert(test).exec_with_returning(tx).await?;
    work.commit().await?;
    Ok(queued)
}

/// An endpoint that may be sent to: not deleted (NOT_FOUND) and enabled (BAD_USER_INPUT).
async fn usable(db: &impl ConnectionTrait, id: i64, field: &str) -> ApiResult<webhook_endpoint::Model> {
    let endpoint = endpoints::live(db, id).await?;
    if !endpoint.enabled {
        return Err(ApiError::bad_input(field, "the endpoint is disabled; enable it with updateWebhookEndpoint first"));
    }
    Ok(endpoint)
}

/// Makes an endpoint's pending deliveries due now (when it is enabled again).
pub async fn due_now(db: &impl ConnectionTrait, endpoint_id: i64) -> ApiResult<()> {
    use webhook_delivery::Column;
    webhook_delivery::Entity::update_many()
        .col_expr(Column::NextAttemptAt, Expr::value(crate::service::now()))
        .filter(Column::EndpointId.eq(endpoint_id))
        .filter(Column::Status.eq(PENDING))
        .exec(db)
        .await?;
    Ok(())
}

/// Removes an endpoint's deliveries and their attempts (when it is deleted).
pub async fn forget_endpoint(db: &impl ConnectionTrait, id: i64) -> ApiResult<()> {
    let mut attempts = Sql::new(db.get_database_backend());
    attempts
        .push(
            "DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE endpoint_id = ",
        )
        .param(id)
        .push(")");
    db.execute_raw(attempts.statement()).await?;
    webhook_delivery::Entity::delete_many().filter(webhook_delivery::Column::EndpointId.eq(id)).exec(db).await?;
    Ok(())
}

/// A page of an endpoint's deliveries, newest first, optionally of one status (ADMIN).
pub async fn page(
    principal: &Principal,
    db: &impl ConnectionTrait,
    endpoint_id: i64,
    status: Option<&str>,
    request: &PageRequest,
) -> ApiResult<Page<webhook_delivery::Model>> {
    ensure_admin(principal)?;
    endpoints::live(db, endpoint_id).await?;
    let id = Expr::col((webhook_delivery::Entity, webhook_delivery::Column::Id));
    let keys = [SortKey::new(id, KeyKind::Int, true, |m: &webhook_delivery::Model| m.id.into())];
    page::fetch(db, query(endpoint_id, status), &keys, request).await
}

/// An endpoint's deliveries, optionally of one status.
pub fn query(endpoint_id: i64, status: Option<&str>) -> Select<webhook_delivery::Entity> {
    use webhook_delivery::Column;
    let select = webhook_delivery::Entity::find().filter(Column::EndpointId.eq(endpoint_id));
    match status {
        Some(status) => select.filter(Column::Status.eq(status)),
        None => select,
    }
}

/// Deliveries by id (ADMIN; nothing for others).
pub async fn by_ids(
    principal: &Principal,
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> ApiResult<Vec<webhook_delivery::Model>> {
    if !principal.is_admin() {
        return Ok(Vec::new());
    }
    let found = webhook_delivery::Entity::find().filter(webhook_delivery::Column::Id.is_in(ids.iter().copied()));
    Ok(found.all(db).await?)
}

/// The attempts of deliveries `ids`, oldest first.
pub async fn attempts_of(db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<Vec<webhook_attempt::Model>> {
    use webhook_attempt::Column;
    let found = webhook_attempt::Entity::find().filter(Column::DeliveryId.is_in(ids.iter().copied()));
    Ok(found.order_by_asc(Column::Id).all(db).await?)
}

/// Leases up to `limit` due deliveries of enabled endpoints for `lease`, in order per record,
/// none of endpoints `busy`.
pub async fn claim(
    db: &DatabaseConnection,
    limit: usize,
    lease: Duration,
    busy: &[i64],
) -> ApiResult<Vec<webhook_delivery::Model>> {
    let now = crate::service::now();
    let until = now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::seconds(60));
    let backend = db.get_database_backend();
    let mut sql = Sql::new(backend);
    sql.push("UPDATE webhook_deliveries SET lease_until = ")
        .param(until)
        .push(
            " WHERE id IN (SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id \
             WHERE d.status = 'PENDING' AND w.enabled AND d.next_attempt_at <= ",
        )
        .param(now)
        .push(" AND (d.lease_until IS NULL OR d.lease_until < ")
        .param(now)
        .push(")");
    if !busy.is_empty() {
        sql.push(" AND d.endpoint_id NOT IN ").list(busy);
    }
    sql.push(
        " AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.status = 'PENDING' \
             AND e.endpoint_id = d.endpoint_id AND e.entity = d.entity AND e.record_id = d.record_id \
             AND (e.event_seq < d.event_seq OR (e.event_seq = d.event_seq AND e.id < d.id))) \
             ORDER BY d.next_attempt_at, d.id LIMIT ",
    )
    .param(i64::try_from(limit).unwrap_or(1));
    if backend == DatabaseBackend::Postgres {
        sql.push(" FOR UPDATE OF d SKIP LOCKED");
    }
    sql.push(") RETURNING *");
    let rows = db.query_all_raw(sql.statement()).await?;
    Ok(rows.iter().map(|r| webhook_delivery::Model::from_query_result(r, "")).collect::<Result<_, _>>()?)
}

/// Gives claimed deliveries back at once, to be claimed again (by anyone) when due.
pub async fn release(db: &DatabaseConnection, ids: &[i64]) -> ApiResult<()> {
    use webhook_delivery::Column;
    webhook_delivery::Entity::update_many()
        .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None))
        .filter(Column::Id.is_in(ids.iter().copied()))
        .exec(db)
        .await?;
    Ok(())
}

/// How an attempt ended, as the deliverer saw it.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub at: DateTime<Utc>,
    pub status_code: Option<u16>,
    pub latency: Duration,
    pub response_body: Option<String>,
    pub error: Option<String>,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Verdict {
    Delivered,
    /// Worth another try; `after` is the receiver's `Retry-After`.
    Retry {
        after: Option<Duration>,
    },
    /// Not worth another try (a 4xx other than 408 and 429, a refused destination).
    Fail,
}

/// Records `attempt` of `delivery` and decides what follows: delivered, another try on the
/// schedule, or failed for good; and the endpoint's health (disabled after failing for
/// `settings.disable_after`). Returns the attempt's outcome: SUCCEEDED, RETRYING or FAILED.
pub async fn record(
    db: &DatabaseConnection,
    settings: &Settings,
    delivery: &webhook_delivery::Model,
    attempt: &Attempt,
) -> ApiResult<&'static str> {
    use webhook_delivery::Column;
    let now = crate::service::now();
    let failures = u32::try_from(delivery.attempt_count).unwrap_or(0) + 1;
    let (outcome, status, next) = match attempt.verdict {
        Verdict::Delivered => ("SUCCEEDED", DELIVERED, None),
        Verdict::Fail => ("FAILED", FAILED, None),
        Verdict::Retry { after } => {
            let jitter = rand::random::<f64>();
            match settings.schedule.next_attempt(delivery.created_at, now, failures, after, jitter) {
                Some(at) => ("RETRYING", PENDING, Some(at)),
                None => ("FAILED", FAILED, None),
            }
        }
    };
    let tx = crate::db::begin_write(db).await?;
    let latency_ms = i32::try_from(attempt.latency.as_millis()).unwrap_or(i32::MAX);
    webhook_attempt::Entity::insert(webhook_attempt::ActiveModel {
        id: NotSet,
        delivery_id: Set(delivery.id),
        attempted_at: Set(attempt.at),
        status_code: Set(attempt.status_code.map(i32::from)),
        latency_ms: Set(latency_ms),
        response_body: Set(attempt.response_body.clone()),
        error: Set(attempt.error.clone()),
        outcome: Set(outcome.to_owned()),
    })
    .exec_without_returning(&tx)
    .await?;
    let mut update = webhook_delivery::Entity::update_many()
        .col_expr(Column::Status, Expr::value(status))
        .col_expr(Column::AttemptCount, Expr::col(Column::AttemptCount).add(1))
        .col_expr(Column::LeaseUntil, Expr::value(Option::<DateTime<Utc>>::None));
    update = match next {
        Some(at) => update.col_expr(Column::NextAttemptAt, Expr::value(at)),
        None => update.col_expr(Column::FinishedAt, Expr::value(now)),
    };
    update.filter(Column::Id.eq(delivery.id)).filter(Column::Status.eq(PENDING)).exec(&tx).await?;
    endpoint_health(&tx, settings, delivery.endpoint_id, attempt.verdict == Verdict::Delivered, now).await?;
    tx.commit().await?;
    Ok(outcome)
}

async fn endpoint_health(
    db: &impl ConnectionTrait,
    settings: &Settings,
    id: i64,
    delivered: bool,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    use webhook_endpoint::Column;
    let endpoint = webhook_endpoint::Entity::update_many().filter(Column::Id.eq(id));
    if delivered {
        endpoint
            .col_expr(Column::LastSuccessAt, Expr::value(now))
            .col_expr(Column::FailingSince, Expr::value(Option::<DateTime<Utc>>::None))
            .exec(db)
            .await?;
        return Ok(());
    }
    webhook_endpoint::Entity::update_many()
        .col_expr(Column::FailingSince, Expr::value(now))
        .filter(Column::Id.eq(id))
        .filter(Column::FailingSince.is_null())
        .exec(db)
        .await?;
    let reason = format!("no successful delivery for {} hours", Ord::max(settings.disable_after.num_hours(), 0));
    let disabled = endpoint
        .col_expr(Column::Enabled, Expr::value(false))
        .col_expr(Column::DisabledAt, Expr::value(now))
        .col_expr(Column::DisabledReason, Expr::value(reason))
        .filter(Column::Enabled.eq(true))
        .filter(Column::FailingSince.lte(now - settings.disable_after))
        .exec(db)
        .await?;
    if disabled.rows_affected > 0 {
        tracing::warn!(endpoint = id, "webhook endpoint disabled after failing for too long");
    }
    Ok(())
}

/// Pending deliveries and the age of the oldest, for `/metrics`.
pub async fn backlog(db: &impl ConnectionTrait) -> ApiResult<(u64, Option<DateTime<Utc>>)> {
    use webhook_delivery::Column;
    let pending = webhook_delivery::Entity::find().filter(Column::Status.eq(PENDING));
    let depth = pending.clone().count(db).await?;
    let oldest: Option<Option<DateTime<Utc>>> =
        pending.select_only().column_as(Column::CreatedAt.min(), "oldest").into_tuple().one(db).await?;
    Ok((depth, oldest.flatten()))
}

/// Deletes finished deliveries (and their attempts) queued before `before`.
pub async fn purge_finished(db: &impl ConnectionTrait, before: DateTime<Utc>) -> ApiResult<u64> {
    let backend = db.get_database_backend();
    let finished = |sql: &mut Sql| {
        sql.push("status <> 'PENDING' AND created_at < ").param(before);
    };
    let mut attempts = Sql::new(backend);
    attempts.push("DELETE FROM webhook_attempts WHERE delivery_id IN (SELECT id FROM webhook_deliveries WHERE ");
    finished(&mut attempts);
    attempts.push(")");
    db.execute_raw(attempts.statement()).await?;
    let mut deliveries = Sql::new(backend);
    deliveries.push("DELETE FROM webhook_deliveries WHERE ");
    finished(&mut deliveries);
    Ok(db.execute_raw(deliveries.statement()).await?.rows_affected())
}
