//! Lost deals and their cost (SPEC 6.3): deals LOST with `closed_at` in the period, their
//! amounts (plain and weighted by the probability of the stage they were lost in) and the
//! acquisition cost of their contacts (each contact once), broken down by reason, stage and
//! owner.

use std::collections::BTreeMap;

use sea_orm::ConnectionTrait;

use super::{
    CONTACT_OF_RECORD, GroupBy, GroupKey, Grouped, Grouping, Joins, MetricFilter, group_of, int, push_from,
    push_period, push_where, rows,
};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::service::currency::{Exchange, RATE_SCALE, cents};
use crate::service::metrics::sql::Sql;

/// Counts and money of a set of lost deals; amounts in the base currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LostSums {
    pub count: i64,
    /// Cents × `RATE_SCALE`, exact.
    pub lost_amount: i128,
    /// Σ amount × probability (cents × percent × `RATE_SCALE`).
    pub weighted: i128,
    /// Σ acquisition cost of the distinct contacts, cents.
    pub acquisition_cost: i64,
}

impl LostSums {
    /// Σ amounts in cents, rounded once.
    pub fn lost_cents(&self) -> i64 {
        cents(self.lost_amount)
    }

    /// Σ amount × probability / 100 in cents, rounded once.
    pub fn weighted_cents(&self) -> i64 {
        super::arith::ratio(self.weighted, 10_000 * RATE_SCALE).unwrap_or(0)
    }

    fn add(&mut self, o: &Self) {
        self.count += o.count;
        self.lost_amount += o.lost_amount;
        self.weighted += o.weighted;
    }
}

/// What a breakdown row is keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Dimension {
    Reason,
    Stage,
    Owner,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LostDeals {
    pub total: LostSums,
    /// (lost reason id, sums), by reason id.
    pub by_reason: Vec<(Option<i64>, LostSums)>,
    /// (stage id at loss, sums).
    pub by_stage: Vec<(i64, LostSums)>,
    /// (owner id, sums).
    pub by_owner: Vec<(i64, LostSums)>,
}

/// Every acquisition cost: the total's and each breakdown's.
pub const ALL_COSTS: [Option<Dimension>; 4] =
    [None, Some(Dimension::Reason), Some(Dimension::Stage), Some(Dimension::Owner)];

pub async fn lost_deals(
    principal: &Principal,
    db: &impl ConnectionTrait,
    filter: &MetricFilter,
    group_by: Option<GroupBy>,
    costs: &[Option<Dimension>],
) -> ApiResult<Grouped<LostDeals>> {
    let backend = db.get_database_backend();
    let joins = Joins::of(principal, filter, Grouping::by(group_by));
    // Amounts per (group, reason, stage, owner): few rows, folded into the breakdowns below.
    let mut sql = Sql::new(backend);
    let key = sql.group_key(group_by, "r.owner_id", "u.team_id", "c.source", "r.closed_at");
    sql.push("SELECT ").push(&key).push(" AS g, r.lost_reason_id AS reason_id, r.stage_id, r.owner_id, COUNT(*) AS n");
    sql.push(", CAST(SUM(r.amount) AS BIGINT) AS amount, CAST(SUM(r.amount * s.probability) AS BIGINT) AS weighted");
    let fx = sql.fx_columns("r");
    sql.push(&fx);
    push_from(&mut sql, "deals r", CONTACT_OF_RECORD, joins);
    sql.push(" JOIN stages s ON s.id = r.stage_id");
    push_lost_where(&mut sql, principal, filter);
    sql.push(" GROUP BY g, r.lost_reason_id, r.stage_id, r.owner_id, fx_currency, fx_day");

    // Acquisition cost counts each contact once per row it is reported in: one statement per
    // cost asked for (`costs`: None is the total's), for the total and, grouped, per group.
    // The costs nobody selected stay 0 and are never shown.
    let cost_statements: Vec<(Option<Dimension>, bool, Sql)> = costs
        .iter()
        .flat_map(|&dimension| [(dimension, false), (dimension, true)])
        .filter(|&(_, grouped)| !grouped || group_by.is_some())
        .map(|(dimension, grouped)| {
            let by = if grouped { group_by } else { None };
            (dimension, grouped, cost_sql(backend, principal, filter, by, dimension, joins))
        })
        .collect();
    // The statements are independent: on a pool they run side by side.
    let amounts = rows(db, sql);
    let cost_rows = futures_util::future::try_join_all(cost_statements.into_iter().map(|(dimension, grouped, sql)| {
        let fetched = rows(db, sql);
        async move { Ok::<_, crate::error::ApiError>((dimension, grouped, fetched.await?)) }
    }));
    let (amounts, cost_rows, mut exchange) =
        futures_util::future::try_join3(amounts, cost_rows, Exchange::load(db)).await?;

    let mut groups: BTreeMap<Option<GroupKey>, Builder> = BTreeMap::new();
    let mut total = Builder::default();
    for row in amounts {
        let sums = LostSums {
            count: int(&row, "n")?,
            lost_amount: exchange.convert_row(&row, int(&row, "amount")?)?,
            weighted: exchange.convert_row(&row, int(&row, "weighted")?)?,
            acquisition_cost: 0,
        };
        let reason: Option<i64> = row.try_get("", "reason_id")?;
        let (stage, owner) = (int(&row, "stage_id")?, int(&row, "owner_id")?);
        for builder in [groups.entry(group_of(&row, group_by)?).or_default(), &mut total] {
            builder.total.add(&sums);
            builder.by_reason.entry(reason).or_default().add(&sums);
            builder.by_stage.entry(stage).or_default().add(&sums);
            builder.by_owner.entry(owner).or_default().add(&sums);
        }
    }
    for (dimension, grouped, fetched) in cost_rows {
        for row in fetched {
            let cost = int(&row, "cost")?;
            let d: Option<i64> = row.try_get("", "d")?;
            let builder = if grouped {
                match group_of(&row, group_by)? {
                    Some(k) => groups.entry(Some(k)).or_default(),
                    None => continue,
                }
            } else {
                &mut total
            };
            builder.set_cost(dimension, d, cost);
        }
    }
    let groups = groups.into_iter().filter_map(|(k, b)| Some((k?, b.build()))).collect();
    Ok(Grouped { total: total.build(), groups, subgroups: Default::default(), conversion: exchange.conversion() })
}

/// The acquisition cost of the contacts of the LOST deals, per group (`by`) and `dimension`
/// value, each contact counted once per (group, value).
fn cost_sql(
    backend: sea_orm::DbBackend,
    principal: &Principal,
    filter: &MetricFilter,
    by: Option<GroupBy>,
    dimension: Option<Dimension>,
    joins: Joins,
) -> Sql {
    let mut sql = Sql::new(backend);
    if by.is_none() && dimension.is_none() {
        // The total alone: a semi-join, cheaper than de-duplicating (group, value, contact).
        sql.push("SELECT '' AS g, CAST(NULL AS BIGINT) AS d, CAST(SUM(k.acquisition_cost) AS BIGINT) AS cost");
        sql.push(" FROM contacts k WHERE k.id IN (SELECT r.contact_id");
        push_from(&mut sql, "deals r", CONTACT_OF_RECORD, joins);
        push_lost_where(&mut sql, principal, filter);
        sql.push(")");
        return sql;
    }
    let key = sql.group_key(by, "r.owner_id", "u.team_id", "c.source", "r.closed_at");
    let dim = match dimension {
        None => "CAST(NULL AS BIGINT)",
        Some(Dimension::Reason) => "r.lost_reason_id",
        Some(Dimension::Stage) => "r.stage_id",
        Some(Dimension::Owner) => "r.owner_id",
    };
    // The distinct (group, value, contact) triples first; only those meet `contacts`.
    sql.push("SELECT x.g, x.d, CAST(SUM(k.acquisition_cost) AS BIGINT) AS cost FROM (SELECT DISTINCT ");
    sql.push(&key).push(" AS g, ").push(dim).push(" AS d, r.contact_id");
    push_from(&mut sql, "deals r", CONTACT_OF_RECORD, joins);
    push_lost_where(&mut sql, principal, filter);
    sql.push(") x JOIN contacts k ON k.id = x.contact_id GROUP BY x.g, x.d");
    sql
}

/// `WHERE` for deals LOST in the period.
fn push_lost_where(sql: &mut Sql, principal: &Principal, filter: &MetricFilter) {
    push_where(sql, principal, filter);
    sql.push(" AND r.status = 'LOST'");
    if let Some(pipeline_id) = filter.pipeline_id {
        sql.push(" AND r.pipeline_id = ").param(pipeline_id);
    }
    push_period(sql, "r.closed_at", filter.period);
}

#[derive(Default)]
struct Builder {
    total: LostSums,
    by_reason: BTreeMap<Option<i64>, LostSums>,
    by_stage: BTreeMap<i64, LostSums>,
    by_owner: BTreeMap<i64, LostSums>,
}

impl Builder {
    fn set_cost(&mut self, dimension: Option<Dimension>, key: Option<i64>, cost: i64) {
        match (dimension, key) {
            (None, _) => self.total.acquisition_cost = cost,
            (Some(Dimension::Reason), reason) => self.by_reason.entry(reason).or_default().acquisition_cost = cost,
            (Some(Dimension::Stage), Some(stage)) => self.by_stage.entry(stage).or_default().acquisition_cost = cost,
            (Some(Dimension::Owner), Some(owner)) => self.by_owner.entry(owner).or_default().acquisition_cost = cost,
            _ => {}
        }
    }

    fn build(self) -> LostDeals {
        LostDeals {
            total: self.total,
            by_reason: self.by_reason.into_iter().collect(),
            by_stage: self.by_stage.into_iter().collect(),
            by_owner: self.by_owner.into_iter().collect(),
        }
    }
}
