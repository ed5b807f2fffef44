//! Keeps the no-show rate's summary cells (`meeting_cells`) and each no-show's
//! `followed_up` flag equal to what SPEC 6.1 computes from the meetings. A unit of work
//! counts what each meeting it writes contributed before and after the write; decides the
//! follow-ups again for the contacts whose meetings were created, deleted or logged as
//! no-shows; and adds the differences to the cells in one statement before it commits.
//!
//! A cell holds, for one scheduled day (UTC), owner and status, the live meetings and how
//! many of them are no-shows followed up within the hour.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use entity::enums::MeetingStatus;
use entity::meeting;
use sea_orm::{ActiveEnum, ActiveValue, ConnectionTrait, DbBackend};

use super::sql::Sql;
use crate::error::ApiResult;

/// A follow-up counts when the new meeting is created at most this long after the no-show
/// was logged (60 minutes counts, 61 does not).
pub const FOLLOW_UP_WINDOW_SECS: i64 = 3600;

/// Ids per statement, and cell rows per upsert: far below either engine's parameter limit.
const CHUNK: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct CellKey {
    day: NaiveDate,
    owner_id: i64,
    status: String,
}

/// What a unit of work owes the cells until it commits.
#[derive(Debug, Default)]
pub struct Pending {
    /// (meetings, followed-up no-shows) to add per cell.
    deltas: BTreeMap<CellKey, (i64, i64)>,
    /// Contacts whose no-shows' follow-ups are decided again at the end (locked on PostgreSQL).
    contacts: BTreeSet<i64>,
    /// Meetings whose contacts are among `contacts` already.
    prepared: BTreeSet<i64>,
    /// Everything is recomputed at the end (bulk writes).
    rebuild: bool,
}

impl Pending {
    /// Adds `sign` × what `meeting` contributes to the cells as it is.
    pub fn count(&mut self, meeting: &meeting::Model, sign: i64) {
        if self.rebuild || meeting.deleted_at.is_some() {
            return;
        }
        let followed = i64::from(meeting.status == MeetingStatus::NoShow && meeting.followed_up);
        add(&mut self.deltas, meeting.scheduled_at, meeting.owner_id, meeting.status.to_value(), sign, sign * followed);
    }

    /// Before meetings `ids` change as `changes` says, or (no ids) a meeting like `changes` is
    /// created: when that can change whether a no-show of their contacts was followed up,
    /// lock those contacts (PostgreSQL) before any meeting row, so that two writes deciding
    /// follow-ups of one contact run one after the other, and remember them for the end.
    pub async fn before(
        &mut self,
        db: &impl ConnectionTrait,
        ids: &[i64],
        changes: &meeting::ActiveModel,
    ) -> ApiResult<()> {
        if self.rebuild || !affects_follow_ups(changes, ids.is_empty()) {
            return Ok(());
        }
        let new_contact = match changes.contact_id {
            ActiveValue::Set(id) | ActiveValue::Unchanged(id) => Some(id),
            ActiveValue::NotSet => None,
        };
        let fresh: Vec<i64> = ids.iter().copied().filter(|id| !self.prepared.contains(id)).collect();
        if fresh.is_empty() && new_contact.is_none_or(|id| self.contacts.contains(&id)) {
            return Ok(());
        }
        let backend = db.get_database_backend();
        let chunks: Vec<&[i64]> = if fresh.is_empty() { vec![&[]] } else { fresh.chunks(CHUNK).collect() };
        for chunk in chunks {
            let mut sql = Sql::new(backend);
            sql.push("SELECT id FROM contacts WHERE ");
            if !chunk.is_empty() {
                sql.push("id IN (SELECT contact_id FROM meetings WHERE id IN ").list(chunk).push(")");
            }
            if let Some(id) = new_contact {
                sql.push(if chunk.is_empty() { "id = " } else { " OR id = " }).param(id);
            }
            if backend == DbBackend::Postgres {
                // NO KEY UPDATE: the foreign-key checks of meetings being inserted for the
                // contact (KEY SHARE) do not wait for it.
                sql.push(" ORDER BY id FOR NO KEY UPDATE");
            }
            for row in db.query_all_raw(sql.statement()).await? {
                self.contacts.insert(row.try_get_by_index::<i64>(0)?);
            }
        }
        self.prepared.extend(fresh);
        Ok(())
    }

    /// A bulk write: the flags and cells are recomputed at the end.
    pub fn everything(&mut self) {
        self.rebuild = true;
        self.deltas.clear();
    }

    /// Brings the flags and cells up to date; the work's last step before the log.
    pub async fn settle(self, db: &impl ConnectionTrait) -> ApiResult<()> {
        if self.rebuild {
            return rebuild(db).await;
        }
        let mut deltas = self.deltas;
        let contacts: Vec<i64> = self.contacts.into_iter().collect();
        for chunk in contacts.chunks(CHUNK) {
            refollow(db, Some(chunk), &mut deltas).await?;
        }
        write(db, &deltas).await
    }
}

/// Whether `changes` can change which no-shows were followed up: a new meeting, a deletion
/// or restore, a move to another contact or creation time, or a (new) no-show.
fn affects_follow_ups(changes: &meeting::ActiveModel, created: bool) -> bool {
    created
        || matches!(changes.status, ActiveValue::Set(MeetingStatus::NoShow))
        || changes.deleted_at.is_set()
        || changes.contact_id.is_set()
        || changes.created_at.is_set()
}

fn add(
    deltas: &mut BTreeMap<CellKey, (i64, i64)>,
    scheduled_at: DateTime<Utc>,
    owner_id: i64,
    status: String,
    meetings: i64,
    followed: i64,
) {
    let key = CellKey { day: scheduled_at.date_naive(), owner_id, status };
    let delta = deltas.entry(key).or_default();
    delta.0 += meetings;
    delta.1 += followed;
}

/// Sets `followed_up` on the live no-shows (of `contacts`, or all) where it differs from
/// what the meetings say now, adding each flip to `deltas`.
async fn refollow(
    db: &impl ConnectionTrait,
    contacts: Option<&[i64]>,
    deltas: &mut BTreeMap<CellKey, (i64, i64)>,
) -> ApiResult<()> {
    // No alias: SQLite does not see an UPDATE's alias inside a correlated subquery.
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("UPDATE meetings SET followed_up = NOT followed_up WHERE status = 'NO_SHOW' AND deleted_at IS NULL");
    if let Some(ids) = contacts {
        sql.push(" AND contact_id IN ").list(ids);
    }
    sql.push(" AND followed_up <> ");
    push_followed_up(&mut sql, "meetings");
    if contacts.is_none() {
        // A rebuild recounts the cells from the flags afterwards.
        db.execute_raw(sql.statement()).await?;
        return Ok(());
    }
    sql.push(" RETURNING scheduled_at, owner_id, followed_up");
    for row in db.query_all_raw(sql.statement()).await? {
        let followed: bool = row.try_get("", "followed_up")?;
        let status = MeetingStatus::NoShow.to_value();
        add(
            deltas,
            row.try_get("", "scheduled_at")?,
            row.try_get("", "owner_id")?,
            status,
            0,
            if followed { 1 } else { -1 },
        );
    }
    Ok(())
}

/// `EXISTS (…)`: whether another live meeting with the contact of no-show `r` (the outer
/// table's name or alias) was created within the hour after `r` was logged (SPEC 6.1
/// `followedUpWithinHour`).
fn push_followed_up(sql: &mut Sql, r: &str) {
    sql.push(&format!("EXISTS (SELECT 1 FROM meetings f WHERE f.contact_id = {r}.contact_id AND f.id <> {r}.id"));
    // Plain bounds on created_at let the (contact_id, created_at) index narrow each probe to
    // the window; an expression over both columns scanned every later meeting of the contact.
    let logged = format!("{r}.outcome_logged_at");
    sql.push(&format!(" AND f.deleted_at IS NULL AND f.created_at >= {logged} AND "));
    if sql.postgres() {
        sql.push(&format!("f.created_at <= {logged} + INTERVAL '{FOLLOW_UP_WINDOW_SECS} seconds')"));
    } else {
        // SQLite compares the stored RFC 3339 text: bound loosely (a second over), then exactly.
        let upper = FOLLOW_UP_WINDOW_SECS + 1;
        let gap = format!("{} - {}", sql.epoch("f.created_at"), sql.epoch(&logged));
        sql.push(&format!("f.created_at <= strftime('%Y-%m-%dT%H:%M:%f', {logged}, '+{upper} seconds') AND "));
        sql.push(&gap).push(&format!(" <= {FOLLOW_UP_WINDOW_SECS})"));
    }
}

/// Adds the nonzero deltas, in key order (so concurrent writers lock shared cells in one order).
async fn write(db: &impl ConnectionTrait, deltas: &BTreeMap<CellKey, (i64, i64)>) -> ApiResult<()> {
    let nonzero: Vec<_> = deltas.iter().filter(|(_, d)| **d != (0, 0)).collect();
    for chunk in nonzero.chunks(CHUNK / 5) {
        let mut sql = Sql::new(db.get_database_backend());
        sql.push("INSERT INTO meeting_cells (day, owner_id, status, meetings, followed_up) VALUES ");
        for (i, (key, (meetings, followed))) in chunk.iter().enumerate() {
            sql.push(if i == 0 { "(" } else { ", (" });
            sql.param(key.day).push(", ").param(key.owner_id).push(", ").param(key.status.clone());
            sql.push(", ").param(*meetings).push(", ").param(*followed).push(")");
        }
        sql.push(" ON CONFLICT (day, owner_id, status) DO UPDATE SET meetings = meeting_cells.meetings + ");
        sql.push("excluded.meetings, followed_up = meeting_cells.followed_up + excluded.followed_up");
        db.execute_raw(sql.statement()).await?;
    }
    Ok(())
}

/// Decides every no-show's follow-up again and recounts every cell from the meetings.
pub async fn rebuild(db: &impl ConnectionTrait) -> ApiResult<()> {
    let backend = db.get_database_backend();
    if backend == DbBackend::Postgres {
        db.execute_unprepared("LOCK TABLE meeting_cells IN SHARE ROW EXCLUSIVE MODE").await?;
    }
    refollow(db, None, &mut BTreeMap::new()).await?;
    db.execute_unprepared("DELETE FROM meeting_cells").await?;
    let mut sql = Sql::new(backend);
    let day = sql.day_of("r.scheduled_at");
    sql.push("INSERT INTO meeting_cells (day, owner_id, status, meetings, followed_up) SELECT ").push(&day);
    sql.push(", r.owner_id, CAST(r.status AS TEXT), COUNT(*)");
    sql.push(", SUM(CASE WHEN r.status = 'NO_SHOW' AND r.followed_up THEN 1 ELSE 0 END)");
    let groups = format!("{day}, r.owner_id, r.status");
    // In key order, so that a day's cells lie together on disk (see `funnel_cells`).
    sql.push(" FROM meetings r WHERE r.deleted_at IS NULL GROUP BY ").push(&groups).push(" ORDER BY ").push(&groups);
    db.execute_raw(sql.statement()).await?;
    Ok(())
}
