//! No-show rate (SPEC 6.1): meetings scheduled in the period, by outcome, with the follow-ups
//! booked within an hour of a logged no-show.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::ConnectionTrait;

use super::arith::percent;
use super::bands::{NoShowBand, no_show_band};
use super::{
    CONTACT_OF_RECORD, GroupBy, Grouped, Grouping, Joins, MetricFilter, Period, RowKey, WholeDays, day_start, int,
    keys_of, push_from, push_scope, push_where, rows,
};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::service::metrics::sql::Sql;

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
    super::refuse_company(grouping, "noShowStats")?;
    let now = crate::service::now();
    // The summary cells answer whole days; the rest of the period (its partial first and
    // last days, and today, whose scheduled meetings are partly past) reads the meetings.
    let plan = CellPlan::of(filter, grouping, now);
    let cell_sql = plan.as_ref().map(|plan| plan.statement(db, principal, filter, grouping));
    let raw_sql = match &plan {
        None => Some(raw_statement(db, principal, filter, grouping, filter.period.as_slice())),
        Some(plan) if plan.raw.is_empty() => None,
        Some(plan) => Some(raw_statement(db, principal, filter, grouping, &plan.raw)),
    };
    let optional = |sql: Option<Sql>| async move {
        match sql {
            Some(sql) => rows(db, sql).await,
            None => Ok(Vec::new()),
        }
    };
    let (cell_rows, raw_rows) = futures_util::future::try_join(optional(cell_sql), optional(raw_sql)).await?;
    let mut merged: BTreeMap<RowKey, NoShowStats> = BTreeMap::new();
    for row in cell_rows.iter().chain(&raw_rows) {
        merged.entry(keys_of(row, grouping)?).or_default().add(&read_counts(row)?);
    }
    Ok(Grouped::nest(merged.into_iter().collect(), NoShowStats::add))
}

/// The meetings scheduled in `ranges` (all of them when empty), counted from the rows.
fn raw_statement(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &MetricFilter,
    grouping: Grouping,
    ranges: &[Period],
) -> Sql {
    let mut sql = Sql::new(db.get_database_backend());
    let keys = sql.group_columns(grouping, "r.owner_id", "u.team_id", "c.source", "r.scheduled_at");
    sql.push("SELECT ").push(&keys).push(", ");
    push_counts(&mut sql);
    push_from(&mut sql, "meetings r", CONTACT_OF_RECORD, Joins::of(principal, filter, grouping));
    push_where(&mut sql, principal, filter);
    for (i, range) in ranges.iter().enumerate() {
        sql.push(if i == 0 { " AND ((" } else { " OR (" });
        sql.push("r.scheduled_at >= ").param(range.from).push(" AND r.scheduled_at < ").param(range.to).push(")");
    }
    if !ranges.is_empty() {
        sql.push(")");
    }
    // SPEC 6: with a pipeline, only meetings linked to a deal of that pipeline.
    if let Some(pipeline_id) = filter.pipeline_id {
        sql.push(" AND r.deal_id IN (SELECT pd.id FROM deals pd WHERE pd.pipeline_id = ").param(pipeline_id);
        sql.push(" AND pd.deleted_at IS NULL)");
    }
    if grouping.by.is_some() {
        sql.push(" GROUP BY g, g2");
    }
    sql
}

/// Which days the summary cells (`meeting_cells`) answer, and which instants the rows.
#[derive(Debug, PartialEq, Eq)]
struct CellPlan {
    /// `[first, last)`, or every day.
    days: Option<(NaiveDate, NaiveDate)>,
    /// Never from the cells: its SCHEDULED meetings are partly unlogged, partly upcoming.
    today: NaiveDate,
    /// The instants of the period outside the cells' days.
    raw: Vec<Period>,
}

impl CellPlan {
    /// `None` when the cells cannot answer: they know neither the lead source nor the
    /// pipeline, and a period without one whole day is read from the rows.
    fn of(filter: &MetricFilter, grouping: Grouping, now: DateTime<Utc>) -> Option<Self> {
        let by_source = [grouping.by, grouping.then_by].contains(&Some(GroupBy::Source));
        if filter.source.is_some() || filter.pipeline_id.is_some() || by_source {
            return None;
        }
        let today = now.date_naive();
        let today_range = Period { from: day_start(today), to: day_start(today.succ_opt()?) };
        let Some(period) = filter.period else {
            return Some(Self { days: None, today, raw: vec![today_range] });
        };
        let WholeDays { first, last, edges: mut raw } = period.whole_days()?;
        if (first..last).contains(&today) {
            raw.push(today_range);
        }
        Some(Self { days: Some((first, last)), today, raw })
    }

    /// The counts of the cells' days, in the columns `read_counts` reads.
    fn statement(
        &self,
        db: &impl ConnectionTrait,
        principal: &Principal,
        filter: &MetricFilter,
        grouping: Grouping,
    ) -> Sql {
        let mut sql = Sql::new(db.get_database_backend());
        let keys = sql.day_group_columns(grouping, "r.owner_id", "u.team_id", "NULL", "r.day");
        sql.push("SELECT ").push(&keys).push(", CAST(SUM(r.meetings) AS BIGINT) AS meetings");
        for (status, column) in [
            ("COMPLETED", "completed"),
            ("NO_SHOW", "no_shows"),
            ("CANCELED", "canceled"),
            ("RESCHEDULED", "rescheduled"),
        ] {
            sql.push(&format!(
                ", CAST(SUM(CASE WHEN r.status = '{status}' THEN r.meetings ELSE 0 END) AS BIGINT) AS {column}"
            ));
        }
        for (comparison, column) in [("<", "unlogged"), (">", "upcoming")] {
            sql.push(&format!(", CAST(SUM(CASE WHEN r.status = 'SCHEDULED' AND r.day {comparison} "));
            sql.param(self.today).push(&format!(" THEN r.meetings ELSE 0 END) AS BIGINT) AS {column}"));
        }
        sql.push(", CAST(SUM(r.followed_up) AS BIGINT) AS followed_up FROM meeting_cells r");
        if Joins::of(principal, filter, grouping).owner {
            sql.push(" JOIN users u ON u.id = r.owner_id");
        }
        sql.push(" WHERE r.day <> ").param(self.today);
        if let Some((first, last)) = self.days {
            sql.push(" AND r.day >= ").param(first).push(" AND r.day < ").param(last);
        }
        push_scope(&mut sql, principal, filter, "NULL");
        // Cells of meetings since deleted or moved stay, at zero.
        sql.push(" GROUP BY g, g2 HAVING SUM(r.meetings) <> 0");
        sql
    }
}

/// The aggregate columns both statements select, over meetings `r`.
fn push_counts(sql: &mut Sql) {
    let now = crate::service::now();
    let count = |status: &str| format!("CAST(SUM(CASE WHEN r.status = '{status}' THEN 1 ELSE 0 END) AS BIGINT)");
    sql.push("COUNT(*) AS meetings, ");
    sql.push(&count("COMPLETED")).push(" AS completed, ");
    sql.push(&count("NO_SHOW")).push(" AS no_shows, ");
    sql.push(&count("CANCELED")).push(" AS canceled, ");
    sql.push(&count("RESCHEDULED")).push(" AS rescheduled, ");
    sql.push("CAST(SUM(CASE WHEN r.status = 'SCHEDULED' AND r.scheduled_at < ").param(now);
    sql.push(" THEN 1 ELSE 0 END) AS BIGINT) AS unlogged, ");
    sql.push("CAST(SUM(CASE WHEN r.status = 'SCHEDULED' AND r.scheduled_at >= ").param(now);
    sql.push(" THEN 1 ELSE 0 END) AS BIGINT) AS upcoming, ");
    // Decided by the write that made it so (`meeting_cells`), not probed per no-show here.
    sql.push("CAST(SUM(CASE WHEN r.status = 'NO_SHOW' AND r.followed_up THEN 1 ELSE 0 END) AS BIGINT) AS followed_up");
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
