//! No-show rate (SPEC 6.1): meetings scheduled in the period, by outcome, with the follow-ups
//! booked within an hour of a logged no-show.

use sea_orm::ConnectionTrait;

use super::arith::percent;
use super::bands::{NoShowBand, no_show_band};
use super::{
    CONTACT_OF_RECORD, Grouped, Grouping, Joins, MetricFilter, int, keys_of, push_from, push_period, push_where, rows,
};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::service::metrics::sql::Sql;

/// A follow-up counts when the new meeting is created at most this long after the no-show
/// was logged (60 minutes counts, 61 does not).
const FOLLOW_UP_WINDOW_SECS: i64 = 3600;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NoShowStats {
    pub meetings: i64,
    pub completed: i64,
    pub no_shows: i64,
    pub canceled: i64,
    pub rescheduled: i64,
    /// Still SCHEDULED although the time has passed (the outcome was never logged).
    pub unlogged: i64,
    /// SCHEDULED in the future.
    pub upcoming: i64,
    pub followed_up_within_hour: i64,
}

impl NoShowStats {
    /// `noShows / (completed + noShows) × 100`, in hundredths; cancelled (with notice) and
    /// rescheduled meetings are in neither part.
    pub fn no_show_rate(&self) -> Option<i64> {
        percent(self.no_shows, self.completed + self.no_shows)
    }

    pub fn band(&self) -> Option<NoShowBand> {
        no_show_band(self.no_shows, self.completed + self.no_shows)
    }

    pub fn follow_up_rate(&self) -> Option<i64> {
        percent(self.followed_up_within_hour, self.no_shows)
    }

    fn add(&mut self, o: &Self) {
        self.meetings += o.meetings;
        self.completed += o.completed;
        self.no_shows += o.no_shows;
        self.canceled += o.canceled;
        self.rescheduled += o.rescheduled;
        self.unlogged += o.unlogged;
        self.upcoming += o.upcoming;
        self.followed_up_within_hour += o.followed_up_within_hour;
    }
}

/// The records no-show stats can be computed per (computed fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parent {
    Contact,
    Deal,
}

/// No-show stats of each of `ids` (all time), one statement; ids without meetings are absent.
pub async fn stats_of(
    principal: &Principal,
    db: &impl ConnectionTrait,
    parent: Parent,
    ids: &[i64],
) -> ApiResult<std::collections::HashMap<i64, NoShowStats>> {
    let column = match parent {
        Parent::Contact => "r.contact_id",
        Parent::Deal => "r.deal_id",
    };
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT ").push(column).push(" AS parent, ");
    push_counts(&mut sql);
    let filter = MetricFilter::default();
    push_from(&mut sql, "meetings r", CONTACT_OF_RECORD, Joins::of(principal, &filter, Grouping::default()));
    push_where(&mut sql, principal, &filter);
    sql.push(" AND ").push(column).push(" IN ").list(ids);
    sql.push(" GROUP BY ").push(column);
    let mut out = std::collections::HashMap::new();
    for row in rows(db, sql).await? {
        let stats = read_counts(&row)?;
        out.insert(int(&row, "parent")?, stats);
    }
    Ok(out)
}

pub async fn no_show_stats(
    principal: &Principal,
    db: &impl ConnectionTrait,
    filter: &MetricFilter,
    grouping: Grouping,
) -> ApiResult<Grouped<NoShowStats>> {
    let mut sql = Sql::new(db.get_database_backend());
    let keys = sql.group_columns(grouping, "r.owner_id", "u.team_id", "c.source", "r.scheduled_at");
    sql.push("SELECT ").push(&keys).push(", ");
    push_counts(&mut sql);
    push_from(&mut sql, "meetings r", CONTACT_OF_RECORD, Joins::of(principal, filter, grouping));
    push_where(&mut sql, principal, filter);
    push_period(&mut sql, "r.scheduled_at", filter.period);
    // SPEC 6: with a pipeline, only meetings linked to a deal of that pipeline.
    if let Some(pipeline_id) = filter.pipeline_id {
        sql.push(" AND r.deal_id IN (SELECT pd.id FROM deals pd WHERE pd.pipeline_id = ").param(pipeline_id);
        sql.push(" AND pd.deleted_at IS NULL)");
    }
    if grouping.by.is_some() {
        sql.push(" GROUP BY g, g2");
    }
    let mut counted = Vec::new();
    for row in rows(db, sql).await? {
        counted.push((keys_of(&row, grouping)?, read_counts(&row)?));
    }
    Ok(Grouped::nest(counted, NoShowStats::add))
}

/// The aggregate columns both statements select, over meetings `r`.
fn push_counts(sql: &mut Sql) {
    let now = crate::service::now();
    let count = |status: &str| format!("CAST(SUM(CASE WHEN r.status = '{status}' THEN 1 ELSE 0 END) AS BIGINT)");
    let followed_gap = format!("{} - {}", sql.epoch("f.created_at"), sql.epoch("r.outcome_logged_at"));
    sql.push("COUNT(*) AS meetings, ");
    sql.push(&count("COMPLETED")).push(" AS completed, ");
    sql.push(&count("NO_SHOW")).push(" AS no_shows, ");
    sql.push(&count("CANCELED")).push(" AS canceled, ");
    sql.push(&count("RESCHEDULED")).push(" AS rescheduled, ");
    sql.push("CAST(SUM(CASE WHEN r.status = 'SCHEDULED' AND r.scheduled_at < ").param(now);
    sql.push(" THEN 1 ELSE 0 END) AS BIGINT) AS unlogged, ");
    sql.push("CAST(SUM(CASE WHEN r.status = 'SCHEDULED' AND r.scheduled_at >= ").param(now);
    sql.push(" THEN 1 ELSE 0 END) AS BIGINT) AS upcoming, ");
    sql.push("CAST(SUM(CASE WHEN r.status = 'NO_SHOW' AND EXISTS (SELECT 1 FROM meetings f WHERE f.contact_id = r.contact_id");
    // Plain bounds on created_at let the (contact_id, created_at) index narrow each probe to
    // the window; an expression over both columns scanned every later meeting of the contact.
    sql.push(" AND f.id <> r.id AND f.deleted_at IS NULL AND f.created_at >= r.outcome_logged_at AND ");
    if sql.postgres() {
        sql.push(&format!("f.created_at <= r.outcome_logged_at + INTERVAL '{FOLLOW_UP_WINDOW_SECS} seconds'"));
    } else {
        // SQLite compares the stored RFC 3339 text: bound loosely (a second over), then exactly.
        let upper = FOLLOW_UP_WINDOW_SECS + 1;
        sql.push(&format!(
            "f.created_at <= strftime('%Y-%m-%dT%H:%M:%f', r.outcome_logged_at, '+{upper} seconds') AND "
        ));
        sql.push(&followed_gap).push(&format!(" <= {FOLLOW_UP_WINDOW_SECS}"));
    }
    sql.push(") THEN 1 ELSE 0 END) AS BIGINT) AS followed_up");
}

fn read_counts(row: &sea_orm::QueryResult) -> ApiResult<NoShowStats> {
    Ok(NoShowStats {
        meetings: int(row, "meetings")?,
        completed: int(row, "completed")?,
        no_shows: int(row, "no_shows")?,
        canceled: int(row, "canceled")?,
        rescheduled: int(row, "rescheduled")?,
        unlogged: int(row, "unlogged")?,
        upcoming: int(row, "upcoming")?,
        followed_up_within_hour: int(row, "followed_up")?,
    })
}
