//! Appending to and reading the change log.
//!
//! Readers by cursor must never skip an event, although PostgreSQL transactions commit in
//! another order than they take sequence numbers. So a write takes its `seq` only as its
//! last statement, under one transaction-scoped lock held until the commit: a transaction
//! holding seq N has committed before any other can take N + 1, so once N + 1 is visible,
//! so is everything below it (a rolled-back write leaves a gap, never a late arrival). The
//! lock is the last one every write takes, so it cannot be part of a deadlock. On SQLite
//! `BEGIN IMMEDIATE` already serializes writers.

use chrono::{DateTime, Utc};
use entity::change_event::{self, Column};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseBackend, EntityTrait, NotSet, QueryFilter, QueryOrder, QuerySelect, Set,
    Statement,
};

use crate::bus::{CHANGES_CHANNEL, CREDENTIALS_CHANNEL};
use crate::error::ApiResult;

/// Arbitrary, fixed: the advisory lock that orders sequence numbers by commit.
const SEQUENCE_LOCK: i64 = 0x0063_726d_5f73_6571; // "crm_seq"
/// Rows per INSERT: far below either engine's bound-parameter limit (12 columns each).
const CHUNK: usize = 500;

/// An event before it has its `seq`.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub occurred_at: DateTime<Utc>,
    pub entity: &'static str,
    pub record_id: i64,
    pub owner_id: Option<i64>,
    pub previous_owner_id: Option<i64>,
    pub op: &'static str,
    pub kind: Option<&'static str>,
    pub actor_user_id: Option<i64>,
    pub actor_api_key_id: Option<i64>,
    pub version: Option<i32>,
    /// `{ "column": [before, after] }`
    pub changes: serde_json::Value,
    /// The record's columns after the change, for the entities that keep it.
    pub record: Option<serde_json::Value>,
}

/// Appends `events` as the last statement of the write transaction `tx`; returns the last
/// `seq`. On PostgreSQL the sequence lock is taken by that same statement, so it is held
/// for as little as possible: the INSERT and the commit.
pub async fn append(tx: &impl ConnectionTrait, events: Vec<NewEvent>) -> ApiResult<Option<i64>> {
    let backend = tx.get_database_backend();
    let mut last = None;
    let mut events = events.into_iter().peekable();
    let mut first = true;
    while events.peek().is_some() {
        let chunk: Vec<NewEvent> = events.by_ref().take(CHUNK).collect();
        let inserted = match backend {
            DatabaseBackend::Postgres => insert_locked(tx, chunk, std::mem::take(&mut first)).await?,
            _ => {
                let rows: Vec<change_event::ActiveModel> = chunk.into_iter().map(row).collect();
                change_event::Entity::insert_many(rows).exec_with_returning_keys(tx).await?
            }
        };
        last = inserted.into_iter().max().or(last);
    }
    Ok(last)
}

/// One INSERT of `events` on PostgreSQL; with `lock`, it first takes the sequence lock (the
/// rows get their `seq` defaults only after the one-row lock subquery has run).
async fn insert_locked(tx: &impl ConnectionTrait, events: Vec<NewEvent>, lock: bool) -> ApiResult<Vec<i64>> {
    const COLUMNS: &str = "occurred_at, entity, record_id, owner_id, previous_owner_id, op, kind, \
                           actor_user_id, actor_api_key_id, version, changes, record";
    const TYPES: [&str; 12] = [
        "timestamptz",
        "text",
        "bigint",
        "bigint",
        "bigint",
        "text",
        "text",
        "bigint",
        "bigint",
        "integer",
        "text",
        "text",
    ];
    let mut values: Vec<sea_orm::Value> = Vec::with_capacity(events.len() * TYPES.len());
    let mut tuples = Vec::with_capacity(events.len());
    for e in events {
        let base = values.len();
        let row: Vec<String> = TYPES.iter().enumerate().map(|(i, ty)| format!("${}::{ty}", base + i + 1)).collect();
        tuples.push(format!("({})", row.join(", ")));
        values.extend([
            e.occurred_at.into(),
            e.entity.into(),
            e.record_id.into(),
            e.owner_id.into(),
            e.previous_owner_id.into(),
            e.op.into(),
            e.kind.map(str::to_owned).into(),
            e.actor_user_id.into(),
            e.actor_api_key_id.into(),
            e.version.into(),
            e.changes.to_string().into(),
            e.record.map(|r| r.to_string()).into(),
        ]);
    }
    let lock = if lock {
        format!(", (SELECT pg_advisory_xact_lock({SEQUENCE_LOCK})) AS sequence_lock")
    } else {
        String::new()
    };
    let sql = format!(
        "INSERT INTO change_events ({COLUMNS}) SELECT v.* FROM (VALUES {}) AS v ({COLUMNS}){lock} RETURNING seq",
        tuples.join(", ")
    );
    let backend = tx.get_database_backend();
    let rows = tx.query_all_raw(Statement::from_sql_and_values(backend, sql, values)).await?;
    Ok(rows.iter().map(|r| r.try_get_by_index::<i64>(0)).collect::<Result<_, _>>()?)
}

/// Tells every replica, after the commit, that the log reaches `seq` and (with `origin`,
/// this process's mark) that credentials changed. Outside the transaction on purpose: a
/// NOTIFY inside one makes PostgreSQL serialize the commits of all notifying writers.
/// Nothing to send on SQLite, whose bus is in process.
pub async fn notify(db: &impl ConnectionTrait, seq: Option<i64>, credentials_changed: Option<&str>) -> ApiResult<()> {
    let backend = db.get_database_backend();
    if backend != DatabaseBackend::Postgres {
        return Ok(());
    }
    let statement = |channel: &str, payload: String| {
        Statement::from_sql_and_values(backend, "SELECT pg_notify($1, $2)", [channel.into(), payload.into()])
    };
    if let Some(seq) = seq {
        db.execute_raw(statement(CHANGES_CHANNEL, seq.to_string())).await?;
    }
    if let Some(origin) = credentials_changed {
        db.execute_raw(statement(CREDENTIALS_CHANNEL, origin.to_owned())).await?;
    }
    Ok(())
}

fn row(e: NewEvent) -> change_event::ActiveModel {
    change_event::ActiveModel {
        seq: NotSet,
        occurred_at: Set(e.occurred_at),
        entity: Set(e.entity.to_owned()),
        record_id: Set(e.record_id),
        owner_id: Set(e.owner_id),
        previous_owner_id: Set(e.previous_owner_id),
        op: Set(e.op.to_owned()),
        kind: Set(e.kind.map(str::to_owned)),
        actor_user_id: Set(e.actor_user_id),
        actor_api_key_id: Set(e.actor_api_key_id),
        version: Set(e.version),
        changes: Set(e.changes.to_string()),
        record: Set(e.record.map(|r| r.to_string())),
    }
}

/// A cursor past every committed event (0 for an empty log): nothing can appear at or
/// below it any more.
pub async fn settled_through(db: &impl ConnectionTrait) -> ApiResult<i64> {
    let max: Option<Option<i64>> =
        change_event::Entity::find().select_only().column_as(Column::Seq.max(), "max").into_tuple().one(db).await?;
    Ok(max.flatten().unwrap_or(0))
}

/// Up to `limit` events after `seq`, oldest first (unscoped: the caller filters).
pub async fn after(db: &impl ConnectionTrait, seq: i64, limit: u64) -> ApiResult<Vec<change_event::Model>> {
    Ok(change_event::Entity::find().filter(Column::Seq.gt(seq)).order_by_asc(Column::Seq).limit(limit).all(db).await?)
}
