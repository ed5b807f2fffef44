//! Lead economics (SPEC 6.4): what one lead is worth and what a lost one costs, from the
//! average revenue per customer, the lead-to-customer conversion and the acquisition cost
//! per lead — each computable from the data or overridden for what-if analysis.

use std::collections::BTreeMap;

use sea_orm::ConnectionTrait;

use super::arith::ratio;
use super::{
    CONTACT_IS_RECORD, CONTACT_OF_RECORD, GroupBy, GroupKey, Grouped, Grouping, Joins, MetricFilter, group_of, int,
    push_from, push_period, push_where, rows,
};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::service::currency::{Conversion, Exchange, RATE_SCALE};
use crate::service::metrics::sql::Sql;

/// Which WON deals make up a customer's revenue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RevenueBasis {
    /// Deals WON in the period.
    #[default]
    Period,
    /// Every WON deal ever of the customers who won in the period (repeat purchases).
    Lifetime,
}

/// What-if values replacing the computed ones.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Cents.
    pub avg_revenue_per_customer: Option<i64>,
    /// Hundredths of a percent.
    pub conversion_rate: Option<i64>,
    /// Cents.
    pub acquisition_cost_per_lead: Option<i64>,
}

/// The integer aggregates of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LeadSums {
    /// Base cents × `RATE_SCALE`, exact.
    pub won_revenue: i128,
    pub customers: i64,
    pub leads: i64,
    pub converted: i64,
    pub acquisition_cost: i64,
    pub lost_leads: i64,
    pub lost_leads_cost: i64,
}

/// An exact fraction; `None` stands for "undefined" (a zero denominator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fraction {
    n: i128,
    d: i128,
}

impl Fraction {
    fn of(n: i64, d: i64) -> Option<Self> {
        (d != 0).then_some(Self { n: i128::from(n), d: i128::from(d) })
    }

    /// `n / d` in lowest terms (a converted sum carries a large scale).
    fn reduced(n: i128, d: i128) -> Option<Self> {
        let (mut a, mut b) = (n.abs(), d.abs());
        while b != 0 {
            (a, b) = (b, a % b);
        }
        (d != 0).then(|| Self { n: n / a.max(1), d: d / a.max(1) })
    }

    /// Rounded half-up to a whole unit (cents for money).
    fn whole(self) -> Option<i64> {
        ratio(self.n, self.d * 100)
    }
}

/// Lead economics of one group: inputs (computed or overridden) and derived values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeadEconomics {
    pub sums: LeadSums,
    /// Cents.
    pub avg_revenue_per_customer: Option<i64>,
    /// Hundredths of a percent.
    pub conversion_rate: Option<i64>,
    /// Cents.
    pub acquisition_cost_per_lead: Option<i64>,
    /// Cents.
    pub expected_value_per_lead: Option<i64>,
    pub net_value_per_lead: Option<i64>,
    pub lost_opportunity_cost: Option<i64>,
}

impl LeadEconomics {
    pub fn compute(sums: LeadSums, overrides: &Overrides) -> Self {
        let revenue = match overrides.avg_revenue_per_customer {
            Some(cents) => Fraction::of(cents, 1),
            None => Fraction::reduced(sums.won_revenue, i128::from(sums.customers) * RATE_SCALE),
        };
        // In percent.
        let conversion = match overrides.conversion_rate {
            Some(hundredths) => Fraction::of(hundredths, 100),
            None => Fraction::of(sums.converted * 100, sums.leads),
        };
        let cost = match overrides.acquisition_cost_per_lead {
            Some(cents) => Fraction::of(cents, 1),
            None => Fraction::of(sums.acquisition_cost, sums.leads),
        };
        // expected = revenue × conversion / 100, kept exact until rounding.
        let expected = match (revenue, conversion) {
            (Some(r), Some(c)) => Some(Fraction { n: r.n * c.n, d: r.d * c.d * 100 }),
            _ => None,
        };
        let net = match (expected, cost) {
            (Some(e), Some(q)) => Some(Fraction { n: e.n * q.d - q.n * e.d, d: e.d * q.d }),
            _ => None,
        };
        let lost = expected.map(|e| Fraction { n: e.n * i128::from(sums.lost_leads), d: e.d });
        Self {
            sums,
            avg_revenue_per_customer: revenue.and_then(Fraction::whole),
            conversion_rate: conversion.and_then(|c| ratio(c.n, c.d)),
            acquisition_cost_per_lead: cost.and_then(Fraction::whole),
            expected_value_per_lead: expected.and_then(Fraction::whole),
            net_value_per_lead: net.and_then(Fraction::whole),
            lost_opportunity_cost: lost.and_then(Fraction::whole),
        }
    }
}

pub async fn lead_economics(
    principal: &Principal,
    db: &impl ConnectionTrait,
    filter: &MetricFilter,
    basis: RevenueBasis,
    overrides: &Overrides,
    group_by: Option<GroupBy>,
) -> ApiResult<Grouped<LeadEconomics>> {
    super::refuse_company(Grouping::by(group_by), "leadEconomics")?;
    if basis == RevenueBasis::Lifetime
        && !matches!(group_by, None | Some(GroupBy::Owner | GroupBy::Team | GroupBy::Source))
    {
        return Err(ApiError::bad_input("groupBy", "with basis LIFETIME, group by OWNER, TEAM or SOURCE"));
    }
    // Distinct customers do not add up across groups, so the total is its own statements.
    let (mut total, conversion) = sums(principal, db, filter, basis, None).await?;
    let total = total.remove(&None).unwrap_or_default();
    let mut groups = Vec::new();
    if group_by.is_some() {
        for (key, s) in sums(principal, db, filter, basis, group_by).await?.0 {
            if let Some(key) = key {
                groups.push((key, LeadEconomics::compute(s, overrides)));
            }
        }
    }
    Ok(Grouped { total: LeadEconomics::compute(total, overrides), groups, subgroups: Default::default(), conversion })
}

async fn sums(
    principal: &Principal,
    db: &impl ConnectionTrait,
    filter: &MetricFilter,
    basis: RevenueBasis,
    group_by: Option<GroupBy>,
) -> ApiResult<(BTreeMap<Option<GroupKey>, LeadSums>, Conversion)> {
    let backend = db.get_database_backend();
    let mut out: BTreeMap<Option<GroupKey>, LeadSums> = BTreeMap::new();
    // SPEC 6: with a pipeline, only its deals count (revenue, conversions, lost leads'
    // deals); leads are contacts, in no pipeline, and all count. An integer id, inlined.
    let in_pipeline = |alias: &str| match filter.pipeline_id {
        Some(id) => format!(" AND {alias}.pipeline_id = {id}"),
        None => String::new(),
    };

    // Revenue: WON deals (in the period, or every WON deal of the contacts who won in it),
    // by currency and rate day to convert; their distinct customers, who do not add up
    // across currencies, in a statement of their own.
    let won_sql = |measures: &str, money: bool| {
        let mut sql = Sql::new(backend);
        let key = sql.group_key(group_by, "r.owner_id", "u.team_id", "c.source", "r.closed_at");
        sql.push("SELECT ").push(&key).push(" AS g, ").push(measures);
        let fx = sql.fx_columns("r");
        if money {
            sql.push(&fx);
        }
        push_from(&mut sql, "deals r", CONTACT_OF_RECORD, Joins::of(principal, filter, Grouping::by(group_by)));
        push_where(&mut sql, principal, filter);
        sql.push(" AND r.status = 'WON'").push(&in_pipeline("r"));
        match basis {
            RevenueBasis::Period => push_period(&mut sql, "r.closed_at", filter.period),
            RevenueBasis::Lifetime => {
                sql.push(" AND EXISTS (SELECT 1 FROM deals p WHERE p.contact_id = r.contact_id AND p.status = 'WON'");
                sql.push(" AND p.deleted_at IS NULL").push(&in_pipeline("p"));
                push_period(&mut sql, "p.closed_at", filter.period);
                sql.push(")");
            }
        }
        match (group_by.is_some(), money) {
            (true, true) => sql.push(" GROUP BY g, fx_currency, fx_day"),
            (false, true) => sql.push(" GROUP BY fx_currency, fx_day"),
            (true, false) => sql.push(" GROUP BY g"),
            (false, false) => &mut sql,
        };
        sql
    };
    let revenue_sql = won_sql("CAST(SUM(r.amount) AS BIGINT) AS revenue", true);
    let customers_sql = won_sql("COUNT(DISTINCT r.contact_id) AS customers", false);

    // Leads: contacts created in the period.
    let mut sql = Sql::new(backend);
    let key = sql.group_key(group_by, "r.owner_id", "u.team_id", "c.source", "r.created_at");
    let has_deal =
        format!("EXISTS (SELECT 1 FROM deals x WHERE x.contact_id = r.id AND x.deleted_at IS NULL{}", in_pipeline("x"));
    let lost_lead =
        format!("(r.lifecycle = 'DISQUALIFIED' OR ({has_deal}) AND NOT {has_deal} AND x.status <> 'LOST')))");
    // Each lead's two facts are decided once (materialized), then summed: written inline in
    // the sums, the lost test's probes would run once per sum that reads it.
    sql.push("WITH lead AS MATERIALIZED (SELECT ").push(&key).push(" AS g, r.acquisition_cost AS cost");
    sql.push(&format!(", CASE WHEN {has_deal} AND x.status = 'WON') THEN 1 ELSE 0 END AS converted"));
    sql.push(&format!(", CASE WHEN {lost_lead} THEN 1 ELSE 0 END AS lost"));
    push_from(&mut sql, "contacts r", CONTACT_IS_RECORD, Joins::of(principal, filter, Grouping::by(group_by)));
    push_where(&mut sql, principal, filter);
    push_period(&mut sql, "r.created_at", filter.period);
    // Ungrouped, the total is one row even without leads (and `g` is not an aggregate).
    let g = if group_by.is_some() { "g" } else { "'' AS g" };
    sql.push(") SELECT ").push(g).push(", COUNT(*) AS leads, CAST(SUM(converted) AS BIGINT) AS converted");
    sql.push(", CAST(SUM(cost) AS BIGINT) AS cost, CAST(SUM(lost) AS BIGINT) AS lost_leads");
    sql.push(", CAST(SUM(lost * cost) AS BIGINT) AS lost_cost FROM lead");
    if group_by.is_some() {
        sql.push(" GROUP BY g");
    }
    // The statements are independent: on a pool they run side by side.
    let (revenue_rows, customer_rows, lead_rows, mut exchange) = futures_util::future::try_join4(
        rows(db, revenue_sql),
        rows(db, customers_sql),
        rows(db, sql),
        Exchange::load(db),
    )
    .await?;
    for row in revenue_rows {
        let revenue = exchange.convert_row(&row, int(&row, "revenue")?)?;
        out.entry(group_of(&row, group_by)?).or_default().won_revenue += revenue;
    }
    for row in customer_rows {
        out.entry(group_of(&row, group_by)?).or_default().customers = int(&row, "customers")?;
    }
    for row in lead_rows {
        let entry = out.entry(group_of(&row, group_by)?).or_default();
        entry.leads = int(&row, "leads")?;
        entry.converted = int(&row, "converted")?;
        entry.acquisition_cost = int(&row, "cost")?;
        entry.lost_leads = int(&row, "lost_leads")?;
        entry.lost_leads_cost = int(&row, "lost_cost")?;
    }
    Ok((out, exchange.conversion()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_worked_example_breaks_even() {
        // 10,000 average revenue × 20 % conversion − 2,000 acquisition cost per lead.
        let overrides = Overrides {
            avg_revenue_per_customer: Some(1_000_000),
            conversion_rate: Some(2000),
            acquisition_cost_per_lead: Some(200_000),
        };
        let e = LeadEconomics::compute(LeadSums { lost_leads: 1, ..Default::default() }, &overrides);
        assert_eq!(e.expected_value_per_lead, Some(200_000), "2,000 per lead");
        assert_eq!(e.net_value_per_lead, Some(0));
        assert_eq!(e.lost_opportunity_cost, Some(200_000), "a lost lead costs 2,000 of expected revenue");
    }

    #[test]
    fn computed_inputs_round_once() {
        // 3 customers brought 1,000.00; 1 of 3 leads converted; 100.00 spent on 3 leads.
        let sums = LeadSums {
            won_revenue: 100_000 * RATE_SCALE,
            customers: 3,
            leads: 3,
            converted: 1,
            acquisition_cost: 10_000,
            ..Default::default()
        };
        let e = LeadEconomics::compute(sums, &Overrides::default());
        assert_eq!(e.avg_revenue_per_customer, Some(33_333)); // 333.33
        assert_eq!(e.conversion_rate, Some(3333)); // 33.33 %
        assert_eq!(e.acquisition_cost_per_lead, Some(3333)); // 33.33
        // 333.333… × 33.333… % = 111.111… → 111.11, not 333.33 × 33.33 % = 111.10.
        assert_eq!(e.expected_value_per_lead, Some(11_111));
        assert_eq!(e.net_value_per_lead, Some(7778)); // 111.111… − 33.333… = 77.777… → 77.78
        let none = LeadEconomics::compute(LeadSums::default(), &Overrides::default());
        assert_eq!((none.avg_revenue_per_customer, none.expected_value_per_lead), (None, None));
    }
}
