//! The sales metrics of SPEC section 6. Each is one or a few aggregate statements (GROUP BY,
//! conditional counts) on either engine, scoped like every other read; rates and averages
//! are computed exactly from the integer aggregates and rounded once, half-up.

pub mod arith;
pub mod attainment;
pub mod bands;
pub mod data_quality;
pub mod definitions;
pub mod forecast;
pub mod funnel;
pub mod funnel_cells;
mod funnel_sources;
pub mod lead_economics;
pub mod lost;
pub mod meeting_cells;
pub mod no_show;
pub mod rejection;
pub(crate) mod sql;
pub mod time_in_stage;

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, QueryResult};

use super::scope::{OwnerScope, owner_scope};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use sql::Sql;

/// A half-open period `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Period {
    pub fn new(field: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> ApiResult<Self> {
        if from >= to {
            return Err(ApiError::bad_input(field, "`from` must be earlier than `to`"));
        }
        Ok(Self { from, to })
    }

    /// The whole UTC days `[first, last)` inside the period and the instants outside them
    /// (a partial first and last day), for reading whole days from summary cells; `None`
    /// when the period holds no whole day.
    fn whole_days(&self) -> Option<WholeDays> {
        let first = match day_start(self.from.date_naive()) == self.from {
            true => self.from.date_naive(),
            false => self.from.date_naive().succ_opt()?,
        };
        let last = self.to.date_naive();
        if first >= last {
            return None;
        }
        let mut edges = Vec::new();
        if self.from < day_start(first) {
            edges.push(Period { from: self.from, to: day_start(first) });
        }
        if day_start(last) < self.to {
            edges.push(Period { from: day_start(last), to: self.to });
        }
        Some(WholeDays { first, last, edges })
    }
}

struct WholeDays {
    first: NaiveDate,
    last: NaiveDate,
    edges: Vec<Period>,
}

/// The instant a UTC day starts.
fn day_start(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// What every metric can be narrowed to; the caller's scope is applied on top.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MetricFilter {
    pub period: Option<Period>,
    pub owner_ids: Option<Vec<i64>>,
    pub team_ids: Option<Vec<i64>>,
    /// The deals' pipeline (funnel); the default pipeline when omitted.
    pub pipeline_id: Option<i64>,
    /// The contacts' lead source.
    pub source: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupBy {
    Owner,
    Team,
    Source,
    /// The deal's company: funnel and lost deals only (`refuse_company`).
    Company,
    Week,
    Month,
    Quarter,
    HalfYear,
    Year,
}

/// Which group a row of a grouped metric belongs to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GroupKey {
    Owner(i64),
    /// `None`: owners without a team.
    Team(Option<i64>),
    /// `None`: contacts without a source.
    Source(Option<String>),
    /// `None`: deals without a company.
    Company(Option<i64>),
    /// The first day of the bucket.
    Period(GroupBy, NaiveDate),
}

impl GroupKey {
    fn parse(by: GroupBy, raw: Option<String>) -> ApiResult<Self> {
        let bad = || ApiError::internal(format!("unexpected {by:?} group key {raw:?}"));
        Ok(match by {
            GroupBy::Owner => Self::Owner(raw.as_deref().and_then(|r| r.parse().ok()).ok_or_else(bad)?),
            GroupBy::Team => Self::Team(raw.as_deref().map(str::parse).transpose().map_err(|_| bad())?),
            GroupBy::Source => Self::Source(raw),
            GroupBy::Company => Self::Company(raw.as_deref().map(str::parse).transpose().map_err(|_| bad())?),
            _ => Self::Period(
                by,
                raw.as_deref().and_then(|r| NaiveDate::parse_from_str(r, "%Y-%m-%d").ok()).ok_or_else(bad)?,
            ),
        })
    }
}

/// A metric's total and, when grouped, one row per group (ordered by key); with a second
/// dimension, the rows of each group under its key (ordered by key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grouped<T> {
    pub total: T,
    pub groups: Vec<(GroupKey, T)>,
    pub subgroups: BTreeMap<GroupKey, Vec<(GroupKey, T)>>,
    /// For money metrics: the currency the amounts are in and the rates used.
    pub conversion: crate::service::currency::Conversion,
}

impl<T: Default + Clone> Grouped<T> {
    /// Folds rows keyed by (group, subgroup) into the groups and the total: the metric's
    /// integer sums are additive, so an outer group is the sum of its subgroups.
    fn nest(rows: Vec<(RowKey, T)>, add: impl Fn(&mut T, &T)) -> Self {
        let mut total = T::default();
        let mut groups: BTreeMap<GroupKey, T> = BTreeMap::new();
        let mut subgroups: BTreeMap<GroupKey, Vec<(GroupKey, T)>> = BTreeMap::new();
        for ((outer, inner), value) in rows {
            add(&mut total, &value);
            let Some(outer) = outer else { continue };
            add(groups.entry(outer.clone()).or_default(), &value);
            if let Some(inner) = inner {
                subgroups.entry(outer).or_default().push((inner, value));
            }
        }
        for rows in subgroups.values_mut() {
            rows.sort_by(|a, b| a.0.cmp(&b.0));
        }
        Self { total, groups: groups.into_iter().collect(), subgroups, conversion: Default::default() }
    }
}

/// How a metric is broken down: by one dimension, optionally by a second one inside each
/// group (owner × month: `by` OWNER, `then_by` MONTH).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Grouping {
    pub by: Option<GroupBy>,
    pub then_by: Option<GroupBy>,
}

impl Grouping {
    pub fn by(by: Option<GroupBy>) -> Self {
        Self { by, then_by: None }
    }

    /// Checks the pair: a second dimension needs a first, and a different one.
    pub fn new(by: Option<GroupBy>, then_by: Option<GroupBy>) -> ApiResult<Self> {
        match (by, then_by) {
            (None, Some(_)) => Err(ApiError::bad_input("thenBy", "`thenBy` needs `groupBy`")),
            (Some(a), Some(b)) if a == b => Err(ApiError::bad_input("thenBy", "`thenBy` must differ from `groupBy`")),
            _ => Ok(Self { by, then_by }),
        }
    }
}

/// BAD_USER_INPUT when `grouping` asks for COMPANY of a metric whose records have no company
/// (meetings, leads, targets): only deals have one.
pub fn refuse_company(grouping: Grouping, metric: &str) -> ApiResult<()> {
    let field = match (grouping.by, grouping.then_by) {
        (Some(GroupBy::Company), _) => "groupBy",
        (_, Some(GroupBy::Company)) => "thenBy",
        _ => return Ok(()),
    };
    Err(ApiError::bad_input(field, format!("{metric} has no COMPANY breakdown; funnel and lostDeals do")))
}

/// The deals' company column in the statements of the metrics grouped by it (deals are `r`).
const COMPANY_COLUMN: &str = "r.company_id";

/// The group and subgroup of a result row.
type RowKey = (Option<GroupKey>, Option<GroupKey>);

/// The group key columns (`g`, `g2`) of a result row.
fn keys_of(row: &QueryResult, grouping: Grouping) -> ApiResult<RowKey> {
    let inner = match grouping.then_by {
        Some(by) => Some(GroupKey::parse(by, key_text(row, "g2")?)?),
        None => None,
    };
    Ok((group_of(row, grouping.by)?, inner))
}

/// The joins a statement needs beyond its record table `r`: its owner `u` (for the team)
/// and its contact `c` (for the source). Both are non-null foreign keys, so leaving a join
/// out never changes which records count; it only saves the engine a hash join.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Joins {
    owner: bool,
    contact: bool,
}

impl Joins {
    /// What the caller's scope, the filter and the grouping refer to.
    fn of(principal: &Principal, filter: &MetricFilter, grouping: Grouping) -> Self {
        let dims = [grouping.by, grouping.then_by];
        Self {
            owner: matches!(owner_scope(principal), OwnerScope::Team(_))
                || filter.team_ids.is_some()
                || dims.contains(&Some(GroupBy::Team)),
            contact: filter.source.is_some() || dims.contains(&Some(GroupBy::Source)),
        }
    }
}

/// Joins the contact of a deal or meeting `r` as `c`.
const CONTACT_OF_RECORD: &str = " JOIN contacts c ON c.id = r.contact_id";
/// Joins a contact `r` to itself as `c`, so that filters on `c.source` read the same.
const CONTACT_IS_RECORD: &str = " JOIN contacts c ON c.id = r.id";

/// Appends ` FROM {from}` and the `joins` needed: `contact_join` (which joins the contact
/// as `c`) and ` JOIN users u ON u.id = r.owner_id`. More joins may follow.
fn push_from(sql: &mut Sql, from: &str, contact_join: &str, joins: Joins) {
    sql.push(" FROM ").push(from);
    if joins.contact {
        sql.push(contact_join);
    }
    if joins.owner {
        sql.push(" JOIN users u ON u.id = r.owner_id");
    }
}

/// Appends ` WHERE r.deleted_at IS NULL` with the caller's scope and the owner, team and
/// source filters. The period is the caller's, on its own time column (`push_period`).
fn push_where(sql: &mut Sql, principal: &Principal, filter: &MetricFilter) {
    sql.push(" WHERE r.deleted_at IS NULL");
    push_scope(sql, principal, filter, "c.source");
}

/// Appends ` AND …` for the caller's scope and the owner, team and source filters, on rows
/// `r` with an `owner_id` (and their owner `u`), the lead source being `source`.
fn push_scope(sql: &mut Sql, principal: &Principal, filter: &MetricFilter, source_column: &str) {
    match owner_scope(principal) {
        OwnerScope::All => {}
        OwnerScope::Team(team_id) => {
            sql.push(" AND u.team_id = ").param(team_id);
        }
        OwnerScope::Owner(user_id) => {
            sql.push(" AND r.owner_id = ").param(user_id);
        }
    }
    if let Some(owners) = &filter.owner_ids {
        if owners.is_empty() {
            sql.push(" AND 1 = 0");
        } else {
            sql.push(" AND r.owner_id IN ").list(owners);
        }
    }
    if let Some(teams) = &filter.team_ids {
        if teams.is_empty() {
            sql.push(" AND 1 = 0");
        } else {
            sql.push(" AND u.team_id IN ").list(teams);
        }
    }
    if let Some(source) = &filter.source {
        sql.push(" AND ").push(source_column).push(" = ").param(source.clone());
    }
}

fn push_period(sql: &mut Sql, column: &str, period: Option<Period>) {
    if let Some(p) = period {
        sql.push(" AND ").push(column).push(" >= ").param(p.from).push(" AND ").push(column).push(" < ").param(p.to);
    }
}

/// The group key column (`g`) of a result row.
fn group_of(row: &QueryResult, by: Option<GroupBy>) -> ApiResult<Option<GroupKey>> {
    let Some(by) = by else { return Ok(None) };
    let raw = key_text(row, "g")?;
    GroupKey::parse(by, raw).map(Some)
}

/// A group key column as text, whichever type the engine left it in (`Sql::group_key`):
/// text as is, an id in decimal, a timestamp or date as its day (`YYYY-MM-DD`).
fn key_text(row: &QueryResult, column: &str) -> ApiResult<Option<String>> {
    if let Ok(text) = row.try_get::<Option<String>>("", column) {
        return Ok(text);
    }
    if let Ok(id) = row.try_get::<Option<i64>>("", column) {
        return Ok(id.map(|id| id.to_string()));
    }
    if let Ok(at) = row.try_get::<Option<chrono::NaiveDateTime>>("", column) {
        return Ok(at.map(|at| at.date().to_string()));
    }
    Ok(row.try_get::<Option<NaiveDate>>("", column)?.map(|day| day.to_string()))
}

fn int(row: &QueryResult, column: &str) -> ApiResult<i64> {
    // SUM over no rows is NULL; PostgreSQL SUM(bigint) is NUMERIC, so the statements cast.
    Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0))
}

async fn rows(db: &impl ConnectionTrait, sql: Sql) -> ApiResult<Vec<QueryResult>> {
    Ok(db.query_all_raw(sql.statement()).await?)
}
