//! Stage-to-stage funnel (SPEC 6.2) of one pipeline: how many deals reached each stage
//! (the highest stage a deal ever entered counts every stage below it; a WON deal reached
//! them all), conversions, losses per stage, time in stage, and the pipeline totals.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use entity::stage;
use sea_orm::ConnectionTrait;

use super::arith::{average_days, percent, ratio};
use super::funnel_sources::{self, CellQuery, Source};
use super::time_in_stage::{Distribution, Quantiles, Stays};
use super::{
    CONTACT_OF_RECORD, GroupKey, Grouping, Joins, MetricFilter, RowKey, int, keys_of, push_from, push_period,
    push_where, rows,
};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::service::currency::{Conversion, Exchange, RATE_SCALE, cents};
use crate::service::metrics::sql::Sql;
use crate::service::pipelines;

/// Which deals a funnel counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum FunnelMode {
    /// Deals created in the period (bucketed by creation).
    #[default]
    Cohort,
    /// Deals that entered any stage during the period (bucketed by their first such move).
    Activity,
}

/// The parts of a funnel beyond its counts, each a statement of its own: asked for only
/// when the answer selects them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct FunnelParts {
    /// `avgDaysInStage`.
    pub stays: bool,
    /// `medianDaysInStage`, `p90DaysInStage` (`time_in_stage`).
    pub distribution: bool,
    /// `staleOpen`.
    pub stale: bool,
}

impl FunnelParts {
    pub fn union(self, other: Self) -> Self {
        Self {
            stays: self.stays || other.stays,
            distribution: self.distribution || other.distribution,
            stale: self.stale || other.stale,
        }
    }
}

/// Integer aggregates of one stage for one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct StageSums {
    reached: i64,
    /// In the base currency × `RATE_SCALE`, exact.
    amount: i128,
    lost_here: i64,
    stay_seconds: i64,
    stays: i64,
    stale_open: i64,
}

impl StageSums {
    fn add(&mut self, o: &Self) {
        self.reached += o.reached;
        self.amount += o.amount;
        self.lost_here += o.lost_here;
        self.stays += o.stays;
        self.stay_seconds += o.stay_seconds;
        self.stale_open += o.stale_open;
    }
}

/// Integer aggregates of the deals of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct DealSums {
    deals: i64,
    won: i64,
    lost: i64,
    open: i64,
    /// In the base currency × `RATE_SCALE`, exact.
    won_amount: i128,
    /// Σ amount × probability of the current stage, over open deals (base cents × percent
    /// × `RATE_SCALE`).
    weighted: i128,
    won_seconds: i64,
}

impl DealSums {
    fn add(&mut self, o: &Self) {
        self.deals += o.deals;
        self.won += o.won;
        self.lost += o.lost;
        self.open += o.open;
        self.won_amount += o.won_amount;
        self.weighted += o.weighted;
        self.won_seconds += o.won_seconds;
    }
}

/// One step of the funnel: a stage, or the final WON step (`stage` is `None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelStep {
    pub stage: Option<stage::Model>,
    pub reached: i64,
    /// Σ amount of the deals that reached the step, in cents.
    pub amount: i64,
    /// Hundredths of a percent; `None` for the first stage or when the previous step is 0.
    pub conversion_from_previous: Option<i64>,
    pub conversion_from_first: Option<i64>,
    /// Deals LOST while in this stage (always 0 for WON).
    pub lost_here: i64,
    /// Hundredths of a day; `None` when no deal ever stayed (and for WON).
    pub avg_days_in_stage: Option<i64>,
    /// The nearest-rank median and p90 stay, hundredths of a day; `None` likewise.
    pub median_days_in_stage: Option<i64>,
    pub p90_days_in_stage: Option<i64>,
    /// Open deals in this stage longer than its `stale_after_days` (0 for WON).
    pub stale_open: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Funnel {
    pub steps: Vec<FunnelStep>,
    pub deals: i64,
    pub won: i64,
    pub lost: i64,
    pub open: i64,
    /// `won / (won + lost) × 100`, hundredths.
    pub win_rate: Option<i64>,
    /// Σ amount × probability / 100 over open deals, cents (rounded half-up once).
    pub weighted_pipeline: i64,
    /// Hundredths of a day from creation to winning, averaged over WON deals.
    pub avg_days_to_win: Option<i64>,
    /// The currency the amounts are in and the rates that converted them (the report's).
    pub conversion: Conversion,
}

/// The funnel of a pipeline: the total and, with `group_by`, one per group (ordered by key).
#[derive(Debug, PartialEq, Eq)]
pub struct FunnelReport {
    pub pipeline_id: i64,
    pub total: Funnel,
    pub groups: Vec<(GroupKey, Funnel)>,
    /// With a second grouping dimension: the funnels inside each group, ordered by key.
    pub subgroups: BTreeMap<GroupKey, Vec<(GroupKey, Funnel)>>,
    stages: Vec<stage::Model>,
}

impl FunnelReport {
    /// The funnel of a group without deals (every count zero, every rate null).
    pub fn empty(&self) -> Funnel {
        build(&self.stages, &DealSums::default(), |_| StageSums::default(), |_| Quantiles::default())
    }
}

/// Where a funnel is read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The summary cells for every whole day they answer, the deals for the rest: what the
    /// API reads.
    Cells,
    /// The deals alone: the reference the cells are checked against.
    Deals,
}

pub async fn funnel(
    principal: &Principal,
    db: &impl ConnectionTrait,
    filter: &MetricFilter,
    mode: FunnelMode,
    grouping: Grouping,
    parts: FunnelParts,
) -> ApiResult<FunnelReport> {
    funnel_reading(principal, db, filter, (mode, grouping, parts), Reading::Cells).await
}

/// `funnel`, read as `reading` says.
pub async fn funnel_reading(
    principal: &Principal,
    db: &impl ConnectionTrait,
    filter: &MetricFilter,
    (mode, grouping, parts): (FunnelMode, Grouping, FunnelParts),
    reading: Reading,
) -> ApiResult<FunnelReport> {
    // Only a missing pipeline is the caller's mistake; a database error stays what it is.
    let pipeline = pipelines::resolve(db, filter.pipeline_id).await.map_err(|e| match e {
        crate::error::ApiError::BadInput { .. } => {
            crate::error::ApiError::bad_input("filter.pipelineId", "no such pipeline (and no default pipeline)")
        }
        other => other,
    })?;
    let now = crate::service::now();
    // The stages, the deal counts and the stays are independent: on a pool they run side by
    // side. Whole days come from the summary cells (whole months from the month cells), the
    // rest of the period, weeks' months and ACTIVITY mode from the deals (`funnel_sources`).
    let mut deal_sqls = Vec::new();
    let mut stay_sqls = Vec::new();
    let sources = match reading {
        Reading::Cells => funnel_sources::plan(mode, filter, grouping),
        Reading::Deals => vec![Source::Deals(None)],
    };
    for source in sources {
        match source {
            Source::Deals(period) => {
                let part = MetricFilter { period: period.or(filter.period), ..filter.clone() };
                deal_sqls.push(deal_rows_sql(db, principal, &part, mode, grouping, pipeline.id));
                stay_sqls.push(stays_sql(db, principal, &part, mode, grouping, pipeline.id, now));
            }
            cells => {
                let query = CellQuery { principal, filter, grouping, pipeline_id: pipeline.id, source: cells };
                deal_sqls.push(query.deal_rows(db));
                stay_sqls.push(query.stays(db, now));
            }
        }
    }
    let all_rows = |sqls: Vec<Sql>| async move {
        let parts = futures_util::future::try_join_all(sqls.into_iter().map(|sql| rows(db, sql))).await?;
        Ok::<_, crate::error::ApiError>(parts.into_iter().flatten().collect::<Vec<_>>())
    };
    let stays = async {
        match parts.stays {
            true => all_rows(stay_sqls).await,
            false => Ok(Vec::new()),
        }
    };
    let times = Stays { principal, filter, mode, grouping, pipeline_id: pipeline.id, now };
    let distribution = async {
        match parts.distribution {
            true => times.distribution(db).await,
            false => Ok(Distribution::new()),
        }
    };
    let (stages, deal_rows, stay_rows, distribution) = futures_util::future::try_join4(
        pipelines::stages_of(db, &[pipeline.id]),
        all_rows(deal_sqls),
        stays,
        distribution,
    )
    .await?;
    let stale = match parts.stale {
        true => times.stale_open(db, &stages).await?,
        false => BTreeMap::new(),
    };

    let mut exchange = Exchange::load(db).await?;
    let position_of: BTreeMap<i64, i32> = stages.iter().map(|s| (s.id, s.position)).collect();
    let probability_of: BTreeMap<i64, i64> = stages.iter().map(|s| (s.id, i64::from(s.probability))).collect();

    // One pass over the deals, grouped by what decides each stage's counts: the status, the
    // highest position entered and the current stage. The few thousand rows are then spread
    // over the stages (a deal reached every stage up to its highest; a WON deal all of them).
    let mut deals: BTreeMap<RowKey, DealSums> = BTreeMap::new();
    let mut per_stage: BTreeMap<(RowKey, i64), StageSums> = BTreeMap::new();
    for row in deal_rows {
        let key = keys_of(&row, grouping)?;
        let status: String = row.try_get("", "status")?;
        let (max_position, stage_id) = (int(&row, "max_position")?, int(&row, "stage_id")?);
        let n = int(&row, "n")?;
        let amount = exchange.convert_row(&row, int(&row, "amount")?)?;
        let sums = deals.entry(key.clone()).or_default();
        sums.deals += n;
        match status.as_str() {
            "WON" => {
                sums.won += n;
                sums.won_amount += amount;
                sums.won_seconds += int(&row, "won_seconds")?;
            }
            "LOST" => sums.lost += n,
            _ => {
                sums.open += n;
                sums.weighted += amount * i128::from(probability_of.get(&stage_id).copied().unwrap_or(0));
            }
        }
        for (&id, &position) in &position_of {
            if status == "WON" || max_position >= i64::from(position) {
                let entry = per_stage.entry((key.clone(), id)).or_default();
                entry.reached += n;
                entry.amount += amount;
                if status == "LOST" && stage_id == id {
                    entry.lost_here += n;
                }
            }
        }
    }
    // Without `with_stays` every `avg_days_in_stage` stays `None`: the caller shows none.
    // A group's stays may come in parts (cells and deals): their lengths add up exactly in
    // microseconds and are rounded to seconds once, as one statement over the deals would.
    let mut stay_parts: BTreeMap<(RowKey, i64), (i64, i128)> = BTreeMap::new();
    for row in stay_rows {
        let part = stay_parts.entry((keys_of(&row, grouping)?, int(&row, "stage_id")?)).or_default();
        part.0 += int(&row, "stays")?;
        part.1 += i128::from(int(&row, "stay_seconds")?) * 1_000_000 + i128::from(int(&row, "stay_micros")?);
    }
    for (key, (stays, micros)) in stay_parts {
        let entry = per_stage.entry(key).or_default();
        entry.stays = stays;
        entry.stay_seconds = funnel_sources::rounded_seconds(micros);
    }
    for ((key, stage_id), count) in stale {
        per_stage.entry((key, stage_id)).or_default().stale_open = count;
    }
    let distribution = &distribution;
    let quantiles_of =
        |key: RowKey| move |stage_id: i64| distribution.get(&(key.clone(), stage_id)).copied().unwrap_or_default();

    // The total is the sum of the groups and a group the sum of its subgroups: every deal is
    // in exactly one row.
    let mut total_deals = DealSums::default();
    let mut outer_deals: BTreeMap<GroupKey, DealSums> = BTreeMap::new();
    for ((outer, _), sums) in &deals {
        total_deals.add(sums);
        if let Some(outer) = outer {
            outer_deals.entry(outer.clone()).or_default().add(sums);
        }
    }
    let mut total_stages: BTreeMap<i64, StageSums> = BTreeMap::new();
    let mut outer_stages: BTreeMap<(GroupKey, i64), StageSums> = BTreeMap::new();
    for (((outer, _), stage_id), sums) in &per_stage {
        total_stages.entry(*stage_id).or_default().add(sums);
        if let Some(outer) = outer {
            outer_stages.entry((outer.clone(), *stage_id)).or_default().add(sums);
        }
    }
    let total = build(
        &stages,
        &total_deals,
        |id| total_stages.get(&id).copied().unwrap_or_default(),
        quantiles_of((None, None)),
    );
    let groups: Vec<(GroupKey, Funnel)> = outer_deals
        .iter()
        .map(|(key, sums)| {
            let funnel = build(
                &stages,
                sums,
                |id| outer_stages.get(&(key.clone(), id)).copied().unwrap_or_default(),
                quantiles_of((Some(key.clone()), None)),
            );
            (key.clone(), funnel)
        })
        .collect();
    let mut subgroups: BTreeMap<GroupKey, Vec<(GroupKey, Funnel)>> = BTreeMap::new();
    for (key, sums) in &deals {
        let (Some(outer), Some(inner)) = key else { continue };
        let funnel = build(
            &stages,
            sums,
            |id| per_stage.get(&(key.clone(), id)).copied().unwrap_or_default(),
            quantiles_of(key.clone()),
        );
        subgroups.entry(outer.clone()).or_default().push((inner.clone(), funnel));
    }
    let conversion = exchange.conversion();
    let (mut total, mut groups, mut subgroups) = (total, groups, subgroups);
    let every = std::iter::once(&mut total)
        .chain(groups.iter_mut().map(|(_, f)| f))
        .chain(subgroups.values_mut().flatten().map(|(_, f)| f));
    for funnel in every {
        funnel.conversion = conversion.clone();
    }
    Ok(FunnelReport { pipeline_id: pipeline.id, total, groups, subgroups, stages })
}

fn build(
    stages: &[stage::Model],
    deals: &DealSums,
    stage_sums: impl Fn(i64) -> StageSums,
    quantiles: impl Fn(i64) -> Quantiles,
) -> Funnel {
    let mut steps: Vec<FunnelStep> = Vec::with_capacity(stages.len() + 1);
    let first = stages.first().map(|s| stage_sums(s.id).reached).unwrap_or(0);
    for (k, s) in stages.iter().enumerate() {
        let sums = stage_sums(s.id);
        steps.push(FunnelStep {
            stage: Some(s.clone()),
            reached: sums.reached,
            amount: cents(sums.amount),
            conversion_from_previous: if k == 0 { None } else { percent(sums.reached, steps[k - 1].reached) },
            conversion_from_first: percent(sums.reached, first),
            lost_here: sums.lost_here,
            avg_days_in_stage: average_days(sums.stay_seconds, sums.stays),
            median_days_in_stage: quantiles(s.id).median_seconds.and_then(|secs| average_days(secs, 1)),
            p90_days_in_stage: quantiles(s.id).p90_seconds.and_then(|secs| average_days(secs, 1)),
            stale_open: sums.stale_open,
        });
    }
    let last = steps.last().map(|s| s.reached);
    steps.push(FunnelStep {
        stage: None,
        reached: deals.won,
        amount: cents(deals.won_amount),
        conversion_from_previous: last.and_then(|l| percent(deals.won, l)),
        conversion_from_first: percent(deals.won, first),
        lost_here: 0,
        avg_days_in_stage: None,
        median_days_in_stage: None,
        p90_days_in_stage: None,
        stale_open: 0,
    });
    Funnel {
        steps,
        deals: deals.deals,
        won: deals.won,
        lost: deals.lost,
        open: deals.open,
        win_rate: percent(deals.won, deals.won + deals.lost),
        weighted_pipeline: ratio(deals.weighted, 10_000 * RATE_SCALE).unwrap_or(0),
        avg_days_to_win: average_days(deals.won_seconds, deals.won),
        conversion: Conversion::default(),
    }
}

/// The deals a funnel counts, joined and filtered: `FROM … WHERE …` plus the group column.
/// In ACTIVITY mode a derived table `act(deal_id, active_at)` holds each deal's first move
/// in the period; the deals without one drop out by the join.
pub(super) fn push_deals(
    sql: &mut Sql,
    principal: &Principal,
    filter: &MetricFilter,
    mode: FunnelMode,
    grouping: Grouping,
    pipeline_id: i64,
    extra_joins: &str,
) {
    push_from(sql, "deals r", CONTACT_OF_RECORD, Joins::of(principal, filter, grouping));
    if mode == FunnelMode::Activity {
        sql.push(" JOIN (SELECT deal_id, MIN(moved_at) AS active_at FROM deal_stage_events WHERE 1 = 1");
        push_period(sql, "moved_at", filter.period);
        sql.push(" GROUP BY deal_id) act ON act.deal_id = r.id");
    }
    sql.push(extra_joins);
    push_where(sql, principal, filter);
    sql.push(" AND r.pipeline_id = ").param(pipeline_id);
    if mode == FunnelMode::Cohort {
        push_period(sql, "r.created_at", filter.period);
    }
}

pub(super) fn group_columns(sql: &Sql, mode: FunnelMode, grouping: Grouping) -> String {
    let time = match mode {
        FunnelMode::Cohort => "r.created_at",
        FunnelMode::Activity => "act.active_at",
    };
    sql.group_columns(grouping, "r.owner_id", "u.team_id", "c.source", time)
}

/// Deal counts and sums per group, status, highest position entered and current stage.
fn deal_rows_sql(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &MetricFilter,
    mode: FunnelMode,
    grouping: Grouping,
    pipeline_id: i64,
) -> Sql {
    let mut sql = Sql::new(db.get_database_backend());
    let keys = group_columns(&sql, mode, grouping);
    let won_seconds = format!("{} - {}", sql.epoch("r.closed_at"), sql.epoch("r.created_at"));
    sql.push("SELECT ").push(&keys);
    sql.push(", CAST(r.status AS TEXT) AS status, CAST(r.max_stage_position AS BIGINT) AS max_position, r.stage_id, COUNT(*) AS n");
    sql.push(", CAST(SUM(r.amount) AS BIGINT) AS amount");
    sql.push(&format!(
        ", CAST(SUM(CASE WHEN r.status = 'WON' THEN {won_seconds} ELSE 0 END) AS BIGINT) AS won_seconds"
    ));
    let fx = sql.fx_columns("r");
    sql.push(&fx);
    push_deals(&mut sql, principal, filter, mode, grouping, pipeline_id, "");
    sql.push(" GROUP BY g, g2, r.status, r.max_stage_position, r.stage_id, fx_currency, fx_day");
    sql
}

/// Time in stage: each stage event lasts until the deal moved on (`left_at`, kept by every
/// move), or its closing, or now for an open deal still there.
fn stays_sql(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &MetricFilter,
    mode: FunnelMode,
    grouping: Grouping,
    pipeline_id: i64,
    now: DateTime<Utc>,
) -> Sql {
    let mut sql = Sql::new(db.get_database_backend());
    let keys = group_columns(&sql, mode, grouping);
    sql.push("SELECT ").push(&keys).push(", e.to_stage_id AS stage_id, COUNT(*) AS stays");
    if sql.postgres() {
        // Summing the intervals and taking the seconds once per group is exact, and much
        // cheaper than two numeric EXTRACTs per event.
        // Whole seconds and the microseconds beyond, truncated, so that parts add up exactly.
        let length = |sql: &mut Sql| {
            sql.push("EXTRACT(EPOCH FROM SUM(COALESCE(e.left_at, r.closed_at, ").param(now);
            sql.push(") - e.moved_at))");
        };
        sql.push(", CAST(TRUNC(");
        length(&mut sql);
        sql.push(") AS BIGINT) AS stay_seconds, CAST(MOD(");
        length(&mut sql);
        sql.push(" * 1000000, 1000000) AS BIGINT) AS stay_micros");
    } else {
        sql.push(", CAST(SUM(");
        push_stay_seconds(&mut sql, now);
        sql.push(") AS BIGINT) AS stay_seconds, 0 AS stay_micros");
    }
    let events = " JOIN deal_stage_events e ON e.deal_id = r.id";
    push_deals(&mut sql, principal, filter, mode, grouping, pipeline_id, events);
    if let (FunnelMode::Cohort, Some(period)) = (mode, filter.period) {
        // A deal's events never precede its creation (moves happen after it; imports are
        // validated so): a cohort's events start in the period, which lets the engine skip
        // the older history before joining.
        sql.push(" AND e.moved_at >= ").param(period.from);
    }
    sql.push(" GROUP BY g, g2, e.to_stage_id");
    sql
}

/// The whole seconds of one stay of stage event `e` of deal `r`: until the deal moved on,
/// closed, or `now`.
pub(super) fn push_stay_seconds(sql: &mut Sql, now: DateTime<Utc>) {
    let stay_end = format!("COALESCE({}, {}, ", sql.epoch("e.left_at"), sql.epoch("r.closed_at"));
    let stay_start = sql.epoch("e.moved_at");
    sql.push(&stay_end).param(now.timestamp()).push(") - ").push(&stay_start);
}
