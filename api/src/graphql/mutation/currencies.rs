//! `setExchangeRate`: ADMIN keeps what other currencies are worth in the base currency.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use crate::graphql::context::ContextExt;
use crate::graphql::types::date::Date;
use crate::graphql::types::exchange_rate::ExchangeRate;
use crate::service::currency;

/// A currency's rate from a day on.
#[derive(InputObject)]
pub struct SetExchangeRateInput {
    /// ISO 4217 code, not the base currency.
    pub currency: String,
    /// The first day the rate applies (until the currency's next rate).
    pub date: Date,
    /// Units of the base currency per unit of `currency`: a positive decimal with at most
    /// 10 decimals, as a string ("1.085").
    pub rate: String,
}

/// The rate as now set.
#[derive(SimpleObject)]
pub struct ExchangeRatePayload {
    /// The rate.
    pub exchange_rate: ExchangeRate,
}

#[derive(Default)]
pub struct CurrencyMutation;

#[Object]
impl CurrencyMutation {
    /// Sets a currency's exchange rate from a date on (ADMIN), replacing that date's rate.
    /// Every metric converts with it at once, deals closed earlier included.
    async fn set_exchange_rate(&self, ctx: &Context<'_>, input: SetExchangeRateInput) -> Result<ExchangeRatePayload> {
        let principal = ctx.principal().await?;
        let rate = currency::set_rate(principal, ctx.writer(), &input.currency, input.date.0, &input.rate).await?;
        Ok(ExchangeRatePayload { exchange_rate: ExchangeRate(rate) })
    }
}
