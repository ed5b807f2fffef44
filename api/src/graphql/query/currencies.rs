//! `baseCurrency` and `exchangeRates`: the currencies money is kept and totalled in.

use async_graphql::{Context, Object, Result};

use crate::graphql::context::ContextExt;
use crate::graphql::types::exchange_rate::ExchangeRate;
use crate::service::currency;

#[derive(Default)]
pub struct CurrencyQuery;

#[Object]
impl CurrencyQuery {
    /// The organization's base currency (ISO 4217): metrics total in it.
    async fn base_currency(&self, ctx: &Context<'_>) -> Result<String> {
        ctx.principal().await?;
        Ok(currency::base_currency(ctx.db()).await?)
    }
    /// Every exchange rate, or those of one currency, by currency and date.
    async fn exchange_rates(&self, ctx: &Context<'_>, currency: Option<String>) -> Result<Vec<ExchangeRate>> {
        ctx.principal().await?;
        let rates = currency::rates(ctx.db(), currency.as_deref()).await?;
        Ok(rates.into_iter().map(ExchangeRate).collect())
    }
}
