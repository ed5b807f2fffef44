//! Target attainment (SPEC 6.6): for each visible target whose own period overlaps the
//! filter period, the deals WON by its user (or by any member of its team) with `closed_at`
//! inside the target's own period, against the target amount.

use std::collections::HashMap;

use entity::target;
use sea_orm::ConnectionTrait;

use super::arith::ratio;
use super::{MetricFilter, int, rows};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::service::currency::{Conversion, Exchange, RATE_SCALE};
use crate::service::directory::{self, TargetFilter};
use crate::service::filter::OneOf;
use crate::service::metrics::sql::Sql;
use crate::service::scope::{OwnerScope, owner_scope};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attainment {
    pub target: target::Model,
    /// Base cents × `RATE_SCALE`, exact.
    pub won_amount: i128,
    pub won_count: i64,
}

impl Attainment {
    /// `wonAmount / target × 100`, hundredths; null for a zero target.
    pub fn attainment(&self) -> Option<i64> {
        attained(self.won_amount, self.target.amount)
    }
}

/// `won / target × 100` in hundredths, from the exact won amount.
fn attained(won: i128, target: i64) -> Option<i64> {
    ratio(won * 100, i128::from(target) * RATE_SCALE)
}

/// Every matching target with its won deals, ordered by period start. `pipelineId` and
/// `source` narrow the deals counted. `ownerIds` keeps the
/// targets of those users, `teamIds` those of those teams; deals are counted within the
/// caller's scope (a rep's view of a team target counts only the rep's own deals).
pub async fn target_attainment(
    principal: &Principal,
    db: &impl ConnectionTrait,
    filter: &MetricFilter,
) -> ApiResult<(Vec<Attainment>, Conversion)> {
    let targets = directory::targets(
        principal,
        db,
        &TargetFilter {
            user: filter.owner_ids.clone().map(|ids| OneOf { eq: None, any: Some(ids) }),
            team: filter.team_ids.clone().map(|ids| OneOf { eq: None, any: Some(ids) }),
            overlapping: filter.period.map(|p| (p.from, p.to)),
            ..Default::default()
        },
    )
    .await?;
    let mut exchange = Exchange::load(db).await?;
    if targets.is_empty() {
        return Ok((Vec::new(), exchange.conversion()));
    }
    let ids: Vec<i64> = targets.iter().map(|t| t.id).collect();
    let mut sql = Sql::new(db.get_database_backend());
    sql.push("SELECT t.id AS target_id, COUNT(d.id) AS won_count, CAST(SUM(d.amount) AS BIGINT) AS won_amount");
    let fx = sql.fx_columns("d");
    sql.push(&fx);
    sql.push(" FROM targets t JOIN users du ON du.id = t.user_id OR du.team_id = t.team_id");
    sql.push(" JOIN deals d ON d.owner_id = du.id AND d.status = 'WON' AND d.deleted_at IS NULL");
    sql.push(" AND d.closed_at >= t.period_start AND d.closed_at < t.period_end");
    sql.push(" JOIN contacts c ON c.id = d.contact_id");
    sql.push(" WHERE t.id IN ").list(&ids);
    if let Some(pipeline_id) = filter.pipeline_id {
        sql.push(" AND d.pipeline_id = ").param(pipeline_id);
    }
    if let Some(source) = &filter.source {
        sql.push(" AND c.source = ").param(source.clone());
    }
    match owner_scope(principal) {
        OwnerScope::All => {}
        OwnerScope::Team(team_id) => {
            sql.push(" AND du.team_id = ").param(team_id);
        }
        OwnerScope::Owner(user_id) => {
            sql.push(" AND d.owner_id = ").param(user_id);
        }
    }
    sql.push(" GROUP BY t.id, fx_currency, fx_day");
    let mut won: HashMap<i64, (i128, i64)> = HashMap::new();
    for row in rows(db, sql).await? {
        let amount = exchange.convert_row(&row, int(&row, "won_amount")?)?;
        let sums = won.entry(int(&row, "target_id")?).or_default();
        sums.0 += amount;
        sums.1 += int(&row, "won_count")?;
    }
    let rows = targets
        .into_iter()
        .map(|target| {
            let (won_amount, won_count) = won.get(&target.id).copied().unwrap_or_default();
            Attainment { target, won_amount, won_count }
        })
        .collect();
    Ok((rows, exchange.conversion()))
}

/// Sums over several targets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AttainmentSums {
    pub target: i64,
    /// Base cents × `RATE_SCALE`.
    pub won_amount: i128,
    pub won_count: i64,
}

impl AttainmentSums {
    pub fn of(rows: &[Attainment]) -> Self {
        rows.iter().fold(Self::default(), |s, r| Self {
            target: s.target + r.target.amount,
            won_amount: s.won_amount + r.won_amount,
            won_count: s.won_count + r.won_count,
        })
    }

    pub fn attainment(&self) -> Option<i64> {
        attained(self.won_amount, self.target)
    }
}

/// Groups target rows: OWNER by the target's user (team targets apart), TEAM by the target's
/// team or its user's team, time buckets by the start of the target's own period.
pub async fn group_targets(
    db: &impl ConnectionTrait,
    rows: Vec<Attainment>,
    by: super::GroupBy,
) -> ApiResult<Vec<(super::GroupKey, Vec<Attainment>)>> {
    use super::{GroupBy, GroupKey};
    use chrono::Datelike;
    let user_ids: Vec<i64> = rows.iter().filter_map(|r| r.target.user_id).collect();
    let teams: HashMap<i64, Option<i64>> =
        crate::service::users::by_ids(db, &user_ids).await?.into_iter().map(|u| (u.id, u.team_id)).collect();
    let mut groups: std::collections::BTreeMap<GroupKey, Vec<Attainment>> = std::collections::BTreeMap::new();
    for row in rows {
        let start = row.target.period_start.date_naive();
        let month0 = start.month0();
        let first = |month0: u32| chrono::NaiveDate::from_ymd_opt(start.year(), month0 + 1, 1).unwrap_or(start);
        let key = match by {
            GroupBy::Owner => match row.target.user_id {
                Some(user) => GroupKey::Owner(user),
                None => continue,
            },
            GroupBy::Team => GroupKey::Team(
                row.target.team_id.or_else(|| row.target.user_id.and_then(|u| teams.get(&u).copied().flatten())),
            ),
            GroupBy::Source | GroupBy::Company => {
                return Err(crate::error::ApiError::bad_input(
                    "groupBy",
                    "targets have no lead source or company; group by OWNER, TEAM or a period",
                ));
            }
            GroupBy::Week => {
                GroupKey::Period(by, start - chrono::Duration::days(i64::from(start.weekday().num_days_from_monday())))
            }
            GroupBy::Month => GroupKey::Period(by, first(month0)),
            GroupBy::Quarter => GroupKey::Period(by, first(month0 / 3 * 3)),
            GroupBy::HalfYear => GroupKey::Period(by, first(month0 / 6 * 6)),
            GroupBy::Year => GroupKey::Period(by, first(0)),
        };
        groups.entry(key).or_default().push(row);
    }
    Ok(groups.into_iter().collect())
}
