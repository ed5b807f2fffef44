//! `LeadEconomics`: what a lead is worth and what a lost one costs (SPEC 6.4).

use async_graphql::{Enum, InputObject, Object};

use super::Money;
use super::metrics::{MetricGroup, hundredths};
use crate::error::ApiResult;
use crate::service::metrics::lead_economics::{LeadEconomics as Values, Overrides};
use crate::service::metrics::{GroupKey, Grouped};

/// Which WON deals make up a customer's revenue.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq, Default)]
#[graphql(remote = "crate::service::metrics::lead_economics::RevenueBasis")]
pub enum RevenueBasis {
    /// Deals WON in the period.
    #[default]
    Period,
    /// Every WON deal ever of the customers who won in the period (repeat purchases).
    Lifetime,
}

/// Values replacing the computed inputs, for what-if analysis.
#[derive(InputObject, Default)]
pub struct LeadEconomicsOverrides {
    /// Average revenue per customer, e.g. "10000".
    pub avg_revenue_per_customer: Option<Money>,
    /// Lead-to-customer conversion in percent, e.g. "20".
    pub conversion_rate: Option<Money>,
    /// Acquisition cost per lead, e.g. "2000".
    pub acquisition_cost_per_lead: Option<Money>,
}

impl LeadEconomicsOverrides {
    pub fn to_service(&self) -> ApiResult<Overrides> {
        let read = |m: &Option<Money>, field: &str| m.as_ref().map(|m| m.cents(field)).transpose();
        Ok(Overrides {
            avg_revenue_per_customer: read(&self.avg_revenue_per_customer, "overrides.avgRevenuePerCustomer")?,
            conversion_rate: read(&self.conversion_rate, "overrides.conversionRate")?,
            acquisition_cost_per_lead: read(&self.acquisition_cost_per_lead, "overrides.acquisitionCostPerLead")?,
        })
    }
}

/// Lead economics over the period: leads are contacts created in it, customers the
/// contacts of deals WON in it.
pub struct LeadEconomics {
    values: Values,
    group: Option<GroupKey>,
    groups: Vec<LeadEconomics>,
    conversion: crate::service::currency::Conversion,
}

impl LeadEconomics {
    pub fn from_grouped(grouped: Grouped<Values>) -> Self {
        let conversion = grouped.conversion;
        let groups = grouped
            .groups
            .into_iter()
            .map(|(k, values)| Self { values, group: Some(k), groups: Vec::new(), conversion: conversion.clone() })
            .collect();
        Self { values: grouped.total, group: None, groups, conversion }
    }
}

/// Lead economics over the period: leads are contacts created in it, customers the
/// contacts of deals WON in it.
#[Object]
impl LeadEconomics {
    /// The currency money is in (the base currency; acquisition costs are kept in it) and
    /// the rates that converted won deals in other currencies, each at its close date's.
    async fn conversion(&self) -> super::exchange_rate::Conversion {
        super::exchange_rate::Conversion(self.conversion.clone())
    }
    /// The group of this row; null on the total.
    async fn group(&self) -> Option<MetricGroup> {
        self.group.clone().map(MetricGroup)
    }
    /// One row per group when `groupBy` was given (same fields), ordered by group.
    async fn groups(&self) -> &[LeadEconomics] {
        &self.groups
    }
    /// Contacts created in the period.
    async fn leads(&self) -> i64 {
        self.values.sums.leads
    }
    /// Of those, the ones with at least one WON deal.
    async fn converted_leads(&self) -> i64 {
        self.values.sums.converted
    }
    /// Distinct contacts of the deals WON in the period.
    async fn customers(&self) -> i64 {
        self.values.sums.customers
    }
    /// Σ amount of the WON deals counted (per `basis`).
    async fn won_revenue(&self) -> Money {
        Money::from_cents(crate::service::currency::cents(self.values.sums.won_revenue))
    }
    /// `wonRevenue / customers` (or the override).
    async fn avg_revenue_per_customer(&self) -> Option<Money> {
        self.values.avg_revenue_per_customer.map(Money::from_cents)
    }
    /// `convertedLeads / leads × 100` (or the override).
    async fn conversion_rate(&self) -> Option<Money> {
        hundredths(self.values.conversion_rate)
    }
    /// Average acquisition cost of the leads (or the override).
    async fn acquisition_cost_per_lead(&self) -> Option<Money> {
        self.values.acquisition_cost_per_lead.map(Money::from_cents)
    }
    /// `avgRevenuePerCustomer × conversionRate / 100`.
    async fn expected_value_per_lead(&self) -> Option<Money> {
        self.values.expected_value_per_lead.map(Money::from_cents)
    }
    /// `expectedValuePerLead − acquisitionCostPerLead`.
    async fn net_value_per_lead(&self) -> Option<Money> {
        self.values.net_value_per_lead.map(Money::from_cents)
    }
    /// Leads of the period that were DISQUALIFIED, or whose deals were all LOST.
    async fn lost_leads(&self) -> i64 {
        self.values.sums.lost_leads
    }
    /// `lostLeads × expectedValuePerLead`: expected revenue forgone.
    async fn lost_opportunity_cost(&self) -> Option<Money> {
        self.values.lost_opportunity_cost.map(Money::from_cents)
    }
    /// Σ acquisition cost of the lost leads: money already spent on them.
    async fn acquisition_cost_spent_on_lost_leads(&self) -> Money {
        Money::from_cents(self.values.sums.lost_leads_cost)
    }
}
