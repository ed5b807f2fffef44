//! The forecast (SPEC section 10): open deals by the month or quarter they are expected to
//! close, weighted by a win probability per stage — the stage's configured one, or the
//! pipeline's own record (`historical_win_rates`) — beside what was won so far in each
//! period and the targets the period overlaps.
//!
//! Weighted amounts are exact: each stage's share is the rational amount × won / sample
//! (or × probability / 100), summed exactly and rounded half-up to cents once.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveTime, Utc};
use entity::{stage, target};
use sea_orm::ConnectionTrait;

use super::{CONTACT_OF_RECORD, GroupBy, Grouping, Joins, MetricFilter, int, key_text, push_from, push_where, rows};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::service::currency::{Conversion, Exchange, RATE_SCALE, cents};
use crate::service::directory::{self, TargetFilter};
use crate::service::filter::OneOf;
use crate::service::metrics::sql::Sql;
use crate::service::pipelines;

/// How far back closed deals count for a stage's historical win rate, by default.
pub const DEFAULT_LOOKBACK_MONTHS: i32 = 12;
/// Below this many closed deals a stage's configured probability is used, by default.
pub const DEFAULT_MINIMUM_SAMPLE: i32 = 10;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ForecastBasis {
    /// Each stage's configured probability.
    #[default]
    StageProbability,
    /// Each stage's historical win rate, where its sample is large enough.
    Historical,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForecastOptions {
    /// MONTH or QUARTER.
    pub by: GroupBy,
    pub basis: ForecastBasis,
    /// How far back closed deals count for the historical win rate.
    pub lookback_months: u32,
    /// Below this many closed deals, a stage's configured probability is used instead.
    pub minimum_sample: i64,
}

impl ForecastOptions {
    pub fn new(by: GroupBy, basis: ForecastBasis, lookback_months: i32, minimum_sample: i32) -> ApiResult<Self> {
        if !matches!(by, GroupBy::Month | GroupBy::Quarter) {
            return Err(ApiError::bad_input("groupBy", "a forecast is by MONTH or QUARTER"));
        }
        let lookback_months = u32::try_from(lookback_months)
            .ok()
            .filter(|m| (1..=120).contains(m))
            .ok_or_else(|| ApiError::bad_input("lookbackMonths", "must be between 1 and 120"))?;
        if !(1..=100_000).contains(&minimum_sample) {
            return Err(ApiError::bad_input("minimumSample", "must be between 1 and 100000"));
        }
        Ok(Self { by, basis, lookback_months, minimum_sample: i64::from(minimum_sample) })
    }
}

/// A stage's record: of its deals closed in the lookback window, how many were won.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageRate {
    pub stage: stage::Model,
    pub won: i64,
    pub sample: i64,
    pub minimum_sample: i64,
}

impl StageRate {
    /// The sample is too small to trust: the configured probability stands in.
    pub fn below_minimum(&self) -> bool {
        self.sample < self.minimum_sample
    }

    /// The win probability the forecast uses, as a fraction `numerator / denominator`.
    fn probability(&self, basis: ForecastBasis) -> (i128, i128) {
        match basis {
            ForecastBasis::Historical if !self.below_minimum() => (i128::from(self.won), i128::from(self.sample)),
            _ => (i128::from(self.stage.probability), 100),
        }
    }

    /// The probability used, in hundredths of a percent.
    pub fn used_percent(&self, basis: ForecastBasis) -> i64 {
        let (n, d) = self.probability(basis);
        super::arith::ratio(n * 100, d).unwrap_or(0)
    }
}

/// Open amount and its weighting, exact: `weighted` is Σ amount × probability as a fraction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Amounts {
    pub deals: i64,
    /// Base cents × `RATE_SCALE`, exact.
    pub open: i128,
    weighted: Exact,
}

impl Amounts {
    /// Σ amount in cents, rounded once.
    pub fn open_cents(&self) -> i64 {
        cents(self.open)
    }

    /// Σ amount × probability, in cents, rounded half-up once.
    pub fn weighted_cents(&self) -> i64 {
        self.weighted.rounded()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForecastPeriod {
    pub start: NaiveDate,
    /// Excluded.
    pub end: NaiveDate,
    pub amounts: Amounts,
    /// Deals WON with `closed_at` in the period (base cents × `RATE_SCALE`) and how many.
    pub won_amount: i128,
    pub won_count: i64,
    /// Visible targets whose own period overlaps this one.
    pub targets: Vec<target::Model>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forecast {
    pub basis: ForecastBasis,
    pub periods: Vec<ForecastPeriod>,
    /// Open deals without an expected close date (in no period).
    pub undated: Amounts,
    pub total: Amounts,
    pub stages: Vec<StageRate>,
    /// The currency the amounts are in and the rates that converted them.
    pub conversion: Conversion,
}

pub async fn forecast(
    principal: &Principal,
    db: &impl ConnectionTrait,
    filter: &MetricFilter,
    options: ForecastOptions,
) -> ApiResult<Forecast> {
    let now = crate::service::now();
    let (rates, open_rows) = futures_util::future::try_join(
        historical_win_rates(principal, db, filter, options.lookback_months, options.minimum_sample, now),
        rows(db, open_sql(db, principal, filter, options.by)),
    )
    .await?;
    let mut exchange = Exchange::load(db).await?;
    let rate_of: BTreeMap<i64, &StageRate> = rates.iter().map(|r| (r.stage.id, r)).collect();
    let mut by_period: BTreeMap<NaiveDate, Amounts> = BTreeMap::new();
    let (mut undated, mut total) = (Amounts::default(), Amounts::default());
    for row in open_rows {
        let (stage_id, n) = (int(&row, "stage_id")?, int(&row, "n")?);
        let amount = exchange.convert_row(&row, int(&row, "amount")?)?;
        let (p_num, p_den) = rate_of.get(&stage_id).map_or((0, 1), |r| r.probability(options.basis));
        let share = Exact::new(amount * p_num, p_den * RATE_SCALE);
        let bucket = match key_text(&row, "g")? {
            Some(day) => {
                let start = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
                    .map_err(|_| ApiError::internal(format!("unexpected forecast period {day}")))?;
                by_period.entry(start).or_default()
            }
            None => &mut undated,
        };
        for amounts in [bucket, &mut total] {
            amounts.deals += n;
            amounts.open += amount;
            amounts.weighted = amounts.weighted.add(share);
        }
    }
    // The periods with open deals, and every period of the filter's own period.
    let step = Months::new(if options.by == GroupBy::Quarter { 3 } else { 1 });
    if let Some(period) = filter.period {
        let mut start = period_start(period.from.date_naive(), options.by);
        while start.and_time(NaiveTime::MIN).and_utc() < period.to {
            by_period.entry(start).or_default();
            start = start + step;
        }
    }
    let spans: Vec<(NaiveDate, NaiveDate)> = by_period.keys().map(|start| (*start, *start + step)).collect();
    let (won, targets) = futures_util::future::try_join(
        won_by_period(db, principal, filter, options.by, &spans, &mut exchange),
        overlapping_targets(db, principal, filter, &spans),
    )
    .await?;
    let periods = by_period
        .into_iter()
        .map(|(start, amounts)| {
            let end = start + step;
            let (won_count, won_amount) = won.get(&start).copied().unwrap_or_default();
            let (from, to) = (instant(start), instant(end));
            let targets =
                targets.iter().filter(|t| t.period_start < to && t.period_end > from).cloned().collect::<Vec<_>>();
            ForecastPeriod { start, end, amounts, won_amount, won_count, targets }
        })
        .collect();
    let conversion = exchange.conversion();
    Ok(Forecast { basis: options.basis, periods, undated, total, stages: rates, conversion })
}

/// Each stage's record over the caller's deals (scoped like every metric, narrowed by the
/// filter's owners, teams, pipeline and source): of the deals that entered the stage and
/// closed since `now − lookback_months`, how many were WON. Every stage of the pipelines
/// concerned is listed, with a sample of 0 when none closed.
pub async fn historical_win_rates(
    principal: &Principal,
    db: &impl ConnectionTrait,
    filter: &MetricFilter,
    lookback_months: u32,
    minimum_sample: i64,
    now: DateTime<Utc>,
) -> ApiResult<Vec<StageRate>> {
    let since = now.checked_sub_months(Months::new(lookback_months)).unwrap_or(now);
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT e.to_stage_id AS stage_id, COUNT(DISTINCT r.id) AS sample");
    sql.push(", COUNT(DISTINCT CASE WHEN r.status = 'WON' THEN r.id END) AS won");
    push_deals(&mut sql, principal, filter, " JOIN deal_stage_events e ON e.deal_id = r.id");
    sql.push(" AND r.status IN ('WON', 'LOST') AND r.closed_at >= ").param(since);
    sql.push(" GROUP BY e.to_stage_id");
    let record: BTreeMap<i64, (i64, i64)> = rows(db, sql)
        .await?
        .iter()
        .map(|row| Ok((int(row, "stage_id")?, (int(row, "won")?, int(row, "sample")?))))
        .collect::<ApiResult<_>>()?;
    let pipeline_ids = match filter.pipeline_id {
        Some(id) => vec![id],
        None => pipelines::list(db).await?.into_iter().map(|p| p.id).collect(),
    };
    let stages = pipelines::stages_of(db, &pipeline_ids).await?;
    Ok(stages
        .into_iter()
        .map(|stage| {
            let (won, sample) = record.get(&stage.id).copied().unwrap_or_default();
            StageRate { stage, won, sample, minimum_sample }
        })
        .collect())
}

/// Open deals per expected-close period (NULL: no date) and stage.
fn open_sql(db: &impl ConnectionTrait, principal: &Principal, filter: &MetricFilter, by: GroupBy) -> Sql {
    let mut sql = Sql::new(db.get_database_backend());
    let bucket = sql.date_bucket(by, "r.expected_close_date");
    sql.push("SELECT ").push(&bucket).push(" AS g, r.stage_id, COUNT(*) AS n, CAST(SUM(r.amount) AS BIGINT) AS amount");
    let fx = sql.fx_columns("r");
    sql.push(&fx);
    push_deals(&mut sql, principal, filter, "");
    sql.push(" AND r.status = 'OPEN'");
    if let Some(period) = filter.period {
        // Whole days: the expected close date is a date, the period's bounds instants.
        let first = period.from.date_naive() + chrono::Days::new(u64::from(period.from.time() != NaiveTime::MIN));
        let last = (period.to - chrono::Duration::microseconds(1)).date_naive();
        sql.push(" AND r.expected_close_date >= ").param(first).push(" AND r.expected_close_date <= ").param(last);
    }
    sql.push(" GROUP BY g, r.stage_id, fx_currency, fx_day");
    sql
}

/// Won count and amount per period, for the periods `spans`.
async fn won_by_period(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &MetricFilter,
    by: GroupBy,
    spans: &[(NaiveDate, NaiveDate)],
    exchange: &mut Exchange,
) -> ApiResult<BTreeMap<NaiveDate, (i64, i128)>> {
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else { return Ok(BTreeMap::new()) };
    let mut sql = Sql::new(db.get_database_backend());
    let bucket = sql.group_key(Some(by), "", "", "", "r.closed_at");
    sql.push("SELECT ").push(&bucket).push(" AS g, COUNT(*) AS n, CAST(SUM(r.amount) AS BIGINT) AS amount");
    let fx = sql.fx_columns("r");
    sql.push(&fx);
    push_deals(&mut sql, principal, filter, "");
    sql.push(" AND r.status = 'WON' AND r.closed_at >= ").param(instant(first.0));
    sql.push(" AND r.closed_at < ").param(instant(last.1));
    sql.push(" GROUP BY g, fx_currency, fx_day");
    let mut out: BTreeMap<NaiveDate, (i64, i128)> = BTreeMap::new();
    for row in rows(db, sql).await? {
        let Some(day) = key_text(&row, "g")? else { continue };
        let start = NaiveDate::parse_from_str(&day, "%Y-%m-%d")
            .map_err(|_| ApiError::internal(format!("unexpected won period {day}")))?;
        let amount = exchange.convert_row(&row, int(&row, "amount")?)?;
        let sums = out.entry(start).or_default();
        sums.0 += int(&row, "n")?;
        sums.1 += amount;
    }
    Ok(out)
}

/// The visible targets overlapping any of `spans` (of the filter's owners or teams when
/// it names them), for each period to pick its own.
async fn overlapping_targets(
    db: &impl ConnectionTrait,
    principal: &Principal,
    filter: &MetricFilter,
    spans: &[(NaiveDate, NaiveDate)],
) -> ApiResult<Vec<target::Model>> {
    let (Some(first), Some(last)) = (spans.first(), spans.last()) else { return Ok(Vec::new()) };
    let wanted = TargetFilter {
        id: None,
        user: filter.owner_ids.clone().map(|ids| OneOf { eq: None, any: Some(ids) }),
        team: filter.team_ids.clone().map(|ids| OneOf { eq: None, any: Some(ids) }),
        overlapping: Some((instant(first.0), instant(last.1))),
    };
    directory::targets(principal, db, &wanted).await
}

/// ` FROM deals r` with the joins the filter needs and `extra_joins`, then ` WHERE …` with
/// the caller's scope, the filter's owners, teams and source, and its pipeline (all when
/// omitted); the period is each statement's own.
fn push_deals(sql: &mut Sql, principal: &Principal, filter: &MetricFilter, extra_joins: &str) {
    push_from(sql, "deals r", CONTACT_OF_RECORD, Joins::of(principal, filter, Grouping::default()));
    sql.push(extra_joins);
    push_where(sql, principal, filter);
    if let Some(pipeline) = filter.pipeline_id {
        sql.push(" AND r.pipeline_id = ").param(pipeline);
    }
}

/// The first day of the month or quarter of `day`.
fn period_start(day: NaiveDate, by: GroupBy) -> NaiveDate {
    let month0 = if by == GroupBy::Quarter { day.month0() / 3 * 3 } else { day.month0() };
    NaiveDate::from_ymd_opt(day.year(), month0 + 1, 1).unwrap_or(day)
}

fn instant(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

/// An exact non-negative fraction `numerator / denominator` of cents; sums stay exact while
/// the common denominator fits, and fall back to 10⁻¹² of a cent past that (a sum of that
/// many distinct sample sizes is far beyond any real pipeline).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Exact {
    numerator: i128,
    denominator: i128,
}

impl Default for Exact {
    fn default() -> Self {
        Self { numerator: 0, denominator: 1 }
    }
}

const FALLBACK_SCALE: i128 = 1_000_000_000_000;

impl Exact {
    fn new(numerator: i128, denominator: i128) -> Self {
        if denominator == 0 {
            return Self::default();
        }
        let g = gcd(numerator.abs(), denominator.abs()).max(1);
        Self { numerator: numerator / g, denominator: denominator / g }
    }

    fn add(self, other: Self) -> Self {
        let g = gcd(self.denominator, other.denominator).max(1);
        let exact = (|| {
            let lcm = (self.denominator / g).checked_mul(other.denominator)?;
            let a = self.numerator.checked_mul(lcm / self.denominator)?;
            let b = other.numerator.checked_mul(lcm / other.denominator)?;
            Some(Self::new(a.checked_add(b)?, lcm))
        })();
        exact.unwrap_or_else(|| {
            let scaled = |x: Self| x.numerator.saturating_mul(FALLBACK_SCALE) / x.denominator;
            Self::new(scaled(self).saturating_add(scaled(other)), FALLBACK_SCALE)
        })
    }

    /// Rounded half-up to a whole number (of cents).
    fn rounded(self) -> i64 {
        let rounded = (2 * self.numerator + self.denominator) / (2 * self.denominator);
        i64::try_from(rounded).unwrap_or(i64::MAX)
    }
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weighted_sums_are_exact_and_rounded_once() {
        // 1 cent × 1/3 + 1 cent × 1/6 = exactly half a cent → 1 (half-up), where rounding
        // each share first would give 0 + 0.
        let sum = Exact::new(1, 3).add(Exact::new(1, 6));
        assert_eq!((sum, sum.rounded()), (Exact::new(1, 2), 1));
        assert_eq!(Exact::new(1000 * 40, 100).rounded(), 400);
        assert_eq!(Exact::default().add(Exact::new(2, 3)).rounded(), 1);
    }

    #[test]
    fn periods_start_on_their_first_day() {
        let day = NaiveDate::from_ymd_opt(2026, 8, 17).expect("a date");
        assert_eq!(period_start(day, GroupBy::Month).to_string(), "2026-08-01");
        assert_eq!(period_start(day, GroupBy::Quarter).to_string(), "2026-07-01");
    }
}
