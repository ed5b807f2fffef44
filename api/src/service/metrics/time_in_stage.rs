//! How long deals stay in each stage beyond the average (SPEC section 10): the median and
//! p90 of the stays, and the open deals that are stale in their stage.
//!
//! A *stay* is one stage event: the deal entered the stage at `moved_at` and stayed until
//! it moved on (`left_at`), closed, or — an open deal still there — until now. Percentiles
//! are nearest-rank: of n stays sorted by length, the p-th percentile is the ⌈p·n/100⌉-th
//! (so the median of an even count is the lower of the two middle stays). They are worked
//! out in SQL with window functions on both engines, and always from the stage events
//! themselves, also when the funnel's counts come from the summary cells: a percentile of
//! a union is not a sum of the parts' percentiles, so cells cannot answer it exactly.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::stage;
use sea_orm::ConnectionTrait;

use super::funnel::{FunnelMode, group_columns, push_deals, push_stay_seconds};
use super::{Grouping, MetricFilter, RowKey, int, keys_of, rows};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::service::metrics::sql::Sql;

/// The median and p90 stay of one stage, in seconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Quantiles {
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

/// Quantiles per level of the answer — `(None, None)` the total, `(Some(g), None)` a
/// group, `(Some(g), Some(g2))` a subgroup — and stage.
pub type Distribution = BTreeMap<(RowKey, i64), Quantiles>;

/// The rank (1-based) of the nearest-rank `percent`-th percentile of `n` values.
pub fn nearest_rank(n: i64, percent: i64) -> i64 {
    (n * percent + 99) / 100
}

/// `nearest_rank` in SQL, of the count column `n`.
fn nearest_rank_sql(n: &str, percent: i64) -> String {
    format!("({n} * {percent} + 99) / 100")
}

pub struct Stays<'a> {
    pub principal: &'a Principal,
    pub filter: &'a MetricFilter,
    pub mode: FunnelMode,
    pub grouping: Grouping,
    pub pipeline_id: i64,
    pub now: DateTime<Utc>,
}

impl Stays<'_> {
    /// The median and p90 stay per stage at every level of the grouping, in one statement.
    pub async fn distribution(&self, db: &impl ConnectionTrait) -> ApiResult<Distribution> {
        let levels = self.levels();
        let mut out = Distribution::new();
        for row in rows(db, self.distribution_sql(db, &levels)).await? {
            let (outer, inner) = keys_of(&row, self.grouping)?;
            let (stage_id, seconds) = (int(&row, "stage_id")?, int(&row, "secs")?);
            for (level, _) in levels.iter().enumerate() {
                let (rank, n) = (int(&row, &format!("rn{level}"))?, int(&row, &format!("n{level}"))?);
                let key = match level {
                    0 => (None, None),
                    1 => (outer.clone(), None),
                    _ => (outer.clone(), inner.clone()),
                };
                let quantiles = out.entry((key, stage_id)).or_default();
                if rank == nearest_rank(n, 50) {
                    quantiles.median_seconds = Some(seconds);
                }
                if rank == nearest_rank(n, 90) {
                    quantiles.p90_seconds = Some(seconds);
                }
            }
        }
        Ok(out)
    }

    /// The partitions of each level: the total, then one per grouping dimension.
    fn levels(&self) -> Vec<&'static str> {
        let mut levels = vec!["stage_id"];
        if self.grouping.by.is_some() {
            levels.push("g, stage_id");
        }
        if self.grouping.then_by.is_some() {
            levels.push("g, g2, stage_id");
        }
        levels
    }

    fn distribution_sql(&self, db: &impl ConnectionTrait, levels: &[&str]) -> Sql {
        let mut sql = Sql::new(db.get_database_backend());
        let keys = group_columns(&sql, self.mode, self.grouping);
        let windows: Vec<String> = levels
            .iter()
            .enumerate()
            .map(|(level, partition)| {
                format!(
                    "ROW_NUMBER() OVER (PARTITION BY {partition} ORDER BY secs) AS rn{level}, \
                     COUNT(*) OVER (PARTITION BY {partition}) AS n{level}"
                )
            })
            .collect();
        let picked: Vec<String> = (0..levels.len())
            .map(|level| {
                let n = format!("n{level}");
                format!("rn{level} = {} OR rn{level} = {}", nearest_rank_sql(&n, 50), nearest_rank_sql(&n, 90))
            })
            .collect();
        sql.push("SELECT * FROM (SELECT g, g2, stage_id, secs, ").push(&windows.join(", "));
        sql.push(" FROM (SELECT ").push(&keys).push(", e.to_stage_id AS stage_id, ");
        push_stay_seconds(&mut sql, self.now);
        sql.push(" AS secs");
        let events = " JOIN deal_stage_events e ON e.deal_id = r.id";
        push_deals(&mut sql, self.principal, self.filter, self.mode, self.grouping, self.pipeline_id, events);
        if let (FunnelMode::Cohort, Some(period)) = (self.mode, self.filter.period) {
            // As in the funnel's stays: a cohort's events start in its period.
            sql.push(" AND e.moved_at >= ").param(period.from);
        }
        sql.push(") s) w WHERE ").push(&picked.join(" OR "));
        sql
    }

    /// Open deals per group and stage that have been in their stage longer than its
    /// `stale_after_days` (stages without one have none).
    pub async fn stale_open(
        &self,
        db: &impl ConnectionTrait,
        stages: &[stage::Model],
    ) -> ApiResult<BTreeMap<(RowKey, i64), i64>> {
        let mut out = BTreeMap::new();
        if !stages.iter().any(|s| s.stale_after_days.is_some()) {
            return Ok(out);
        }
        let mut sql = Sql::new(db.get_database_backend());
        let keys = group_columns(&sql, self.mode, self.grouping);
        sql.push("SELECT ").push(&keys).push(", r.stage_id AS stage_id, COUNT(*) AS stale");
        push_deals(&mut sql, self.principal, self.filter, self.mode, self.grouping, self.pipeline_id, "");
        sql.push(" AND r.status = 'OPEN' AND ");
        push_stale(&mut sql, stages, self.now);
        sql.push(" GROUP BY g, g2, r.stage_id");
        for row in rows(db, sql).await? {
            out.insert((keys_of(&row, self.grouping)?, int(&row, "stage_id")?), int(&row, "stale")?);
        }
        Ok(out)
    }
}

/// `((r.stage_id = s AND r.stage_entered_at < now − days(s)) OR …)` over the stages with a
/// threshold (one index range each); `(1 = 0)` when none has one.
pub fn push_stale(sql: &mut Sql, stages: &[stage::Model], now: DateTime<Utc>) {
    sql.push("(1 = 0");
    for stage in stages {
        let Some(entered_before) = crate::service::stale::entered_before(stage, now) else { continue };
        sql.push(" OR (r.stage_id = ").param(stage.id).push(" AND r.stage_entered_at < ").param(entered_before);
        sql.push(")");
    }
    sql.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_is_the_ceiling_of_the_share_of_the_count() {
        // (n, p, rank): 5 × 50 % = 2.5 → 3rd; 4 × 50 % = 2 → 2nd (the lower middle);
        // 6 × 90 % = 5.4 → 6th; 10 × 90 % = 9 → 9th; one value is its own everything.
        for (n, percent, rank) in [(5, 50, 3), (4, 50, 2), (6, 90, 6), (10, 90, 9), (1, 50, 1), (1, 90, 1)] {
            assert_eq!(nearest_rank(n, percent), rank, "n = {n}, p = {percent}");
        }
        assert_eq!(nearest_rank_sql("n0", 90), "(n0 * 90 + 99) / 100");
    }
}
