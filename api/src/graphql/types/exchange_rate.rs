//! `ExchangeRate` and `Conversion`: what a currency is worth in the base currency, and which
//! rates a money metric converted with.

use async_graphql::{ID, Object, SimpleObject};
use entity::exchange_rate;

use super::date::Date;
use crate::graphql::ids::{NodeKind, encode};
use crate::graphql::types::timestamp::Timestamp;
use crate::service::currency::{self, RateUsed};

/// What one unit of a currency is worth in the base currency from `date` on, until the
/// currency's next rate.
pub struct ExchangeRate(pub exchange_rate::Model);

/// What one unit of a currency is worth in the base currency from `date` on, until the
/// currency's next rate.
#[Object]
impl ExchangeRate {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::ExchangeRate, self.0.id)
    }
    /// ISO 4217 code, e.g. `EUR`.
    async fn currency(&self) -> &str {
        &self.0.currency
    }
    /// The first day the rate applies.
    async fn date(&self) -> Date {
        Date(self.0.day)
    }
    /// Units of the base currency per unit of `currency`, an exact decimal (e.g. "1.085").
    async fn rate(&self) -> &str {
        &self.0.rate
    }
    /// When it was last set.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
}

/// A rate a metric converted amounts with.
#[derive(SimpleObject)]
#[graphql(name = "RateUsed")]
pub struct RateUsedOutput {
    /// ISO 4217 code.
    pub currency: String,
    /// The rate's own date (the latest on or before the days it converted; a currency's
    /// first rate for days before it).
    pub date: Date,
    /// Units of the base currency per unit of `currency`.
    pub rate: String,
}

/// The currency a metric's money is in, and the rates that brought other currencies to it.
pub struct Conversion(pub currency::Conversion);

/// The currency a metric's money is in, and the rates that brought other currencies to it.
#[Object(name = "CurrencyConversion")]
impl Conversion {
    /// The organization's base currency: every money field of the metric is in it.
    async fn base_currency(&self) -> &str {
        &self.0.base
    }
    /// Every rate used: a deal converts at the rate of its close date (open deals: today's).
    /// Empty when every deal counted is in the base currency.
    async fn rates(&self) -> Vec<RateUsedOutput> {
        self.0.rates.iter().map(output).collect()
    }
}

fn output(rate: &RateUsed) -> RateUsedOutput {
    RateUsedOutput { currency: rate.currency.clone(), date: Date(rate.day), rate: currency::format_rate(rate.rate) }
}
