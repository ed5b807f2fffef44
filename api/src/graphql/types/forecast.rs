//! `Forecast`: open deals by expected close period, weighted per stage (SPEC section 10),
//! and `HistoricalWinRate`, a stage's own record.

use async_graphql::{Enum, Object};

use super::date::Date;
use super::{Money, Stage, Target};
use crate::service::metrics::forecast::{self, Amounts, ForecastBasis as Basis, StageRate};

/// Which win probability weights each open deal.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
#[graphql(remote = "crate::service::metrics::forecast::ForecastBasis")]
pub enum ForecastBasis {
    /// The probability configured on the deal's stage.
    #[default]
    StageProbability,
    /// The stage's historical win rate (`Stage.historicalWinRate`); the configured
    /// probability where the sample is below `minimumSample`.
    Historical,
}

/// How a forecast is broken into periods.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
pub enum ForecastPeriodicity {
    /// Calendar months.
    #[default]
    Month,
    /// Calendar quarters.
    Quarter,
}

impl From<ForecastPeriodicity> for crate::service::metrics::GroupBy {
    fn from(p: ForecastPeriodicity) -> Self {
        match p {
            ForecastPeriodicity::Month => Self::Month,
            ForecastPeriodicity::Quarter => Self::Quarter,
        }
    }
}

/// Open deals by the period they are expected to close, weighted by a win probability per
/// stage.
pub struct Forecast(pub forecast::Forecast);

/// Open deals by the period they are expected to close, weighted by a win probability per
/// stage.
#[Object]
impl Forecast {
    /// The currency every amount is in (the base currency) and the rates that converted
    /// deals in other currencies: open deals at today's, won ones at their close date's.
    async fn conversion(&self) -> super::exchange_rate::Conversion {
        super::exchange_rate::Conversion(self.0.conversion.clone())
    }
    /// The basis used.
    async fn basis(&self) -> ForecastBasis {
        self.0.basis.into()
    }
    /// One row per period with open deals expected in it, and every period of
    /// `filter.period`, in order.
    async fn periods(&self) -> Vec<ForecastPeriod> {
        self.0.periods.iter().cloned().map(ForecastPeriod).collect()
    }
    /// Open deals without an expected close date (in no period).
    async fn undated(&self) -> ForecastAmounts {
        ForecastAmounts(self.0.undated.clone())
    }
    /// All open deals counted, dated or not.
    async fn total(&self) -> ForecastAmounts {
        ForecastAmounts(self.0.total.clone())
    }
    /// The probability used for each stage, and its record.
    async fn stages(&self) -> Vec<HistoricalWinRate> {
        self.0.stages.iter().cloned().map(|rate| HistoricalWinRate { rate, basis: self.0.basis }).collect()
    }
}

/// Open deals and their weighted amount.
pub struct ForecastAmounts(Amounts);

/// Open deals and their weighted amount.
#[Object]
impl ForecastAmounts {
    /// Open deals counted.
    async fn deals(&self) -> i64 {
        self.0.deals
    }
    /// Σ amount of the open deals.
    async fn open_amount(&self) -> Money {
        Money::from_cents(self.0.open_cents())
    }
    /// Σ amount × win probability of the deal's stage (per `basis`), exact, rounded to cents once.
    async fn weighted_amount(&self) -> Money {
        Money::from_cents(self.0.weighted_cents())
    }
}

/// One period of a forecast.
pub struct ForecastPeriod(forecast::ForecastPeriod);

/// One period of a forecast.
#[Object]
impl ForecastPeriod {
    /// First day of the period.
    async fn period_start(&self) -> Date {
        Date(self.0.start)
    }
    /// First day after the period.
    async fn period_end(&self) -> Date {
        Date(self.0.end)
    }
    /// Open deals expected to close in the period.
    async fn deals(&self) -> i64 {
        self.0.amounts.deals
    }
    /// Σ amount of the open deals expected to close in the period.
    async fn open_amount(&self) -> Money {
        Money::from_cents(self.0.amounts.open_cents())
    }
    /// Σ amount × win probability of those deals' stages (per `basis`), exact, rounded to cents once.
    async fn weighted_amount(&self) -> Money {
        Money::from_cents(self.0.amounts.weighted_cents())
    }
    /// Σ amount of the deals WON with `closedAt` in the period (won so far).
    async fn won_amount(&self) -> Money {
        Money::from_cents(crate::service::currency::cents(self.0.won_amount))
    }
    /// Deals WON with `closedAt` in the period.
    async fn won_count(&self) -> i64 {
        self.0.won_count
    }
    /// The visible targets whose own period overlaps this one.
    async fn targets(&self) -> Vec<Target> {
        self.0.targets.iter().cloned().map(Target).collect()
    }
}

/// A stage's record: of the deals that entered it and closed within the lookback window,
/// the share that was WON; and the probability a forecast uses for it.
pub struct HistoricalWinRate {
    pub rate: StageRate,
    pub basis: Basis,
}

/// A stage's record: of the deals that entered it and closed within the lookback window,
/// the share that was WON; and the probability a forecast uses for it.
#[Object]
impl HistoricalWinRate {
    /// The stage.
    async fn stage(&self) -> Stage {
        Stage(self.rate.stage.clone())
    }
    /// `won / sampleSize × 100`; null when no deal of the stage closed in the window.
    async fn rate(&self) -> Option<Money> {
        crate::service::metrics::arith::percent(self.rate.won, self.rate.sample).map(Money::from_cents)
    }
    /// Closed deals that entered the stage (the denominator).
    async fn sample_size(&self) -> i64 {
        self.rate.sample
    }
    /// Of those, WON.
    async fn won(&self) -> i64 {
        self.rate.won
    }
    /// The sample is smaller than `minimumSample`, so the configured probability is used.
    async fn below_minimum_sample(&self) -> bool {
        self.rate.below_minimum()
    }
    /// The win probability (percent) a forecast on this basis uses for the stage.
    async fn used_probability(&self) -> Money {
        Money::from_cents(self.rate.used_percent(self.basis))
    }
}
