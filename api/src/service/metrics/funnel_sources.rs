//! Where a COHORT funnel's counts are read from: whole creation months from the month
//! cells, other whole days from the day cells (`funnel_cells`), and the partial first and
//! last day of the period from the deals. Every source gives rows of the same shape (the
//! deal rows and the stays of `funnel`), which add up.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use sea_orm::ConnectionTrait;

use super::funnel::FunnelMode;
use super::funnel_cells::Grain;
use super::{GroupBy, Grouping, Joins, MetricFilter, Period, WholeDays, push_scope};
use crate::auth::Principal;
use crate::service::metrics::sql::Sql;

/// One part of a funnel's period and where it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// These creation months (as month indexes), or all.
    Months(Option<(i32, i32)>),
    /// These creation days, or all.
    Days(Option<(NaiveDate, NaiveDate)>),
    /// The deals created in this period, or (`None`) in the filter's.
    Deals(Option<Period>),
}

/// The sources that together give the funnel's counts: the cells for every whole day of
/// the period (months where they are whole, unless grouped by week), the deals for the
/// rest. ACTIVITY mode counts moves, and a COMPANY breakdown companies, which no cell keeps:
/// they read the deals.
pub(super) fn plan(mode: FunnelMode, filter: &MetricFilter, grouping: Grouping) -> Vec<Source> {
    let weekly = [grouping.by, grouping.then_by].contains(&Some(GroupBy::Week));
    let everything = || vec![Source::Deals(None)];
    // No cell is keyed by company.
    if mode != FunnelMode::Cohort || [grouping.by, grouping.then_by].contains(&Some(GroupBy::Company)) {
        return everything();
    }
    let Some(period) = filter.period else {
        return vec![if weekly { Source::Days(None) } else { Source::Months(None) }];
    };
    let Some(WholeDays { first, last, edges }) = period.whole_days() else {
        return everything();
    };
    let mut sources: Vec<Source> = edges.into_iter().map(|edge| Source::Deals(Some(edge))).collect();
    let (first_month, last_month) = (month_on_or_after(first), last.with_day(1));
    match (first_month, last_month) {
        (Some(from), Some(to)) if !weekly && from < to => {
            if first < from {
                sources.push(Source::Days(Some((first, from))));
            }
            sources.push(Source::Months(Some((month_index(from), month_index(to)))));
            if to < last {
                sources.push(Source::Days(Some((to, last))));
            }
        }
        _ => sources.push(Source::Days(Some((first, last)))),
    }
    sources
}

/// The first day of a month on or after `day`.
fn month_on_or_after(day: NaiveDate) -> Option<NaiveDate> {
    if day.day() == 1 {
        return Some(day);
    }
    let (year, month) = if day.month() == 12 { (day.year() + 1, 1) } else { (day.year(), day.month() + 1) };
    NaiveDate::from_ymd_opt(year, month, 1)
}

/// `year × 12 + month − 1`, the month cells' key.
fn month_index(day: NaiveDate) -> i32 {
    day.year() * 12 + day.month0() as i32
}

/// The funnel's two statements over one grain of summary cells, returning the same rows as
/// the funnel's statements over the deals.
pub(super) struct CellQuery<'a> {
    pub principal: &'a Principal,
    pub filter: &'a MetricFilter,
    pub grouping: Grouping,
    pub pipeline_id: i64,
    /// `Source::Months` or `Source::Days`.
    pub source: Source,
}

impl CellQuery<'_> {
    fn grain(&self) -> Grain {
        match self.source {
            Source::Days(_) => Grain::Day,
            _ => Grain::Month,
        }
    }

    pub fn deal_rows(&self, db: &impl ConnectionTrait) -> Sql {
        let mut sql = self.select(db);
        sql.push(", r.status AS status, CAST(r.max_position AS BIGINT) AS max_position, r.stage_id");
        sql.push(", CAST(SUM(r.deals) AS BIGINT) AS n, CAST(SUM(r.amount) AS BIGINT) AS amount");
        sql.push(
            ", CAST(SUM(r.won_seconds) AS BIGINT) AS won_seconds, r.currency AS fx_currency, r.rate_day AS fx_day",
        );
        self.push_from(&mut sql, self.grain().deal_table());
        // Retracted deals leave cells at zero rather than deleting them.
        sql.push(
            " GROUP BY g, g2, r.status, r.max_position, r.stage_id, r.currency, r.rate_day HAVING SUM(r.deals) <> 0",
        );
        sql
    }

    /// Stays per stage; their length as whole seconds and the microseconds beyond (both
    /// truncated toward zero), so that the parts of several sources add up exactly.
    pub fn stays(&self, db: &impl ConnectionTrait, now: DateTime<Utc>) -> Sql {
        let mut sql = self.select(db);
        sql.push(", r.stage_id AS stage_id, CAST(SUM(r.stays) AS BIGINT) AS stays");
        // Open stays last until now: Σ (now − start) = count × now − Σ start.
        if sql.postgres() {
            // Exact microseconds (NUMERIC), split into whole seconds and the rest.
            let now = now.timestamp_micros();
            sql.push(", CAST(TRUNC((SUM(r.closed_time) + SUM(r.open_stays) * ").param(now);
            sql.push(" - SUM(r.open_since)) / 1000000) AS BIGINT) AS stay_seconds");
            sql.push(", CAST(MOD(SUM(r.closed_time) + SUM(r.open_stays) * ").param(now);
            sql.push(" - SUM(r.open_since), 1000000) AS BIGINT) AS stay_micros");
        } else {
            sql.push(", CAST(SUM(r.closed_time) + SUM(r.open_stays) * ").param(now.timestamp());
            sql.push(" - SUM(r.open_since) AS BIGINT) AS stay_seconds, 0 AS stay_micros");
        }
        self.push_from(&mut sql, self.grain().stay_table());
        sql.push(" GROUP BY g, g2, r.stage_id HAVING SUM(r.stays) <> 0");
        sql
    }

    fn select(&self, db: &impl ConnectionTrait) -> Sql {
        let mut sql = Sql::new(db.get_database_backend());
        let (owner, team, source) = ("r.owner_id", "u.team_id", "NULLIF(r.source, '')");
        let keys = match self.grain() {
            Grain::Month => sql.month_index_group_columns(self.grouping, owner, team, source, "r.created_month"),
            Grain::Day => sql.day_group_columns(self.grouping, owner, team, source, "r.created_day"),
        };
        sql.push("SELECT ").push(&keys);
        sql
    }

    fn push_from(&self, sql: &mut Sql, table: &str) {
        sql.push(" FROM ").push(table).push(" r");
        if Joins::of(self.principal, self.filter, self.grouping).owner {
            sql.push(" JOIN users u ON u.id = r.owner_id");
        }
        sql.push(" WHERE r.pipeline_id = ").param(self.pipeline_id);
        match self.source {
            Source::Months(Some((from, to))) => {
                sql.push(" AND r.created_month >= ").param(from).push(" AND r.created_month < ").param(to);
            }
            Source::Days(Some((from, to))) => {
                sql.push(" AND r.created_day >= ").param(from).push(" AND r.created_day < ").param(to);
            }
            _ => {}
        }
        push_scope(sql, self.principal, self.filter, "NULLIF(r.source, '')");
    }
}

/// Whole seconds of a length in microseconds, rounded half away from zero (as PostgreSQL
/// rounds a NUMERIC cast to an integer).
pub(super) fn rounded_seconds(micros: i128) -> i64 {
    let (whole, rest) = (micros / 1_000_000, micros % 1_000_000);
    let rounded = whole + i128::from(rest >= 500_000) - i128::from(rest <= -500_000);
    i64::try_from(rounded).unwrap_or(if rounded < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn cohort(from: (i32, u32, u32, u32), to: (i32, u32, u32, u32)) -> Vec<Source> {
        let at =
            |(y, m, d, h): (i32, u32, u32, u32)| Utc.with_ymd_and_hms(y, m, d, h, 0, 0).single().unwrap_or_default();
        let filter = MetricFilter { period: Some(Period { from: at(from), to: at(to) }), ..MetricFilter::default() };
        plan(FunnelMode::Cohort, &filter, Grouping::default())
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn whole_months_from_month_cells_other_days_from_day_cells_partial_days_from_the_deals() {
        assert_eq!(cohort((2025, 1, 1, 0), (2026, 1, 1, 0)), [Source::Months(Some((2025 * 12, 2026 * 12)))]);
        assert_eq!(
            cohort((2025, 1, 15, 0), (2025, 4, 10, 0)),
            [
                Source::Days(Some((day(2025, 1, 15), day(2025, 2, 1)))),
                Source::Months(Some((2025 * 12 + 1, 2025 * 12 + 3))),
                Source::Days(Some((day(2025, 4, 1), day(2025, 4, 10)))),
            ]
        );
        let at = |d: u32, h: u32| Utc.with_ymd_and_hms(2025, 12, d, h, 0, 0).single().unwrap_or_default();
        assert_eq!(
            cohort((2025, 12, 3, 6), (2025, 12, 20, 12)),
            [
                Source::Deals(Some(Period { from: at(3, 6), to: at(4, 0) })),
                Source::Deals(Some(Period { from: at(20, 0), to: at(20, 12) })),
                Source::Days(Some((day(2025, 12, 4), day(2025, 12, 20)))),
            ]
        );
        // No whole day: the deals alone.
        assert_eq!(cohort((2025, 12, 3, 6), (2025, 12, 4, 5)), [Source::Deals(None)]);
    }

    #[test]
    fn rounding_is_half_away_from_zero() {
        assert_eq!([rounded_seconds(1_499_999), rounded_seconds(1_500_000), rounded_seconds(-1_500_000)], [1, 2, -2]);
    }
}
