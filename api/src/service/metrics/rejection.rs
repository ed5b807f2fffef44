//! Lead rejection (SPEC 6.5): of the leads (contacts) created in the period, how many were
//! disqualified, how many right after the first contact, and the acquisition money wasted
//! on them — by reason, owner and source.

use std::collections::BTreeMap;

use sea_orm::ConnectionTrait;

use super::arith::percent;
use super::bands::{RejectionBand, rejection_band};
use super::{
    CONTACT_IS_RECORD, GroupBy, GroupKey, Grouped, Grouping, Joins, MetricFilter, group_of, int, push_from,
    push_period, push_where, rows,
};
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::service::metrics::sql::Sql;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RejectionSums {
    pub leads: i64,
    pub rejected: i64,
    /// Disqualified with at most one COMPLETED meeting and no deal beyond the first stage.
    pub rejected_after_first_contact: i64,
    /// Σ acquisition cost of the rejected leads, cents.
    pub wasted_acquisition_cost: i64,
}

impl RejectionSums {
    fn add(&mut self, o: &Self) {
        self.leads += o.leads;
        self.rejected += o.rejected;
        self.rejected_after_first_contact += o.rejected_after_first_contact;
        self.wasted_acquisition_cost += o.wasted_acquisition_cost;
    }

    /// `rejected / leads × 100`, hundredths.
    pub fn rejection_rate(&self) -> Option<i64> {
        percent(self.rejected, self.leads)
    }

    pub fn band(&self) -> Option<RejectionBand> {
        rejection_band(self.rejected, self.leads)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeadRejection {
    pub total: RejectionSums,
    /// (disqualify reason, sums over the rejected leads with it).
    pub by_reason: Vec<(Option<String>, RejectionSums)>,
    pub by_owner: Vec<(i64, RejectionSums)>,
    pub by_source: Vec<(Option<String>, RejectionSums)>,
}

#[derive(Default)]
struct Builder {
    total: RejectionSums,
    by_reason: BTreeMap<Option<String>, RejectionSums>,
    by_owner: BTreeMap<i64, RejectionSums>,
    by_source: BTreeMap<Option<String>, RejectionSums>,
}

impl Builder {
    fn build(self) -> LeadRejection {
        LeadRejection {
            total: self.total,
            by_reason: self.by_reason.into_iter().collect(),
            by_owner: self.by_owner.into_iter().collect(),
            by_source: self.by_source.into_iter().collect(),
        }
    }
}

pub async fn lead_rejection(
    principal: &Principal,
    db: &impl ConnectionTrait,
    filter: &MetricFilter,
    group_by: Option<GroupBy>,
    with_after_first_contact: bool,
) -> ApiResult<Grouped<LeadRejection>> {
    super::refuse_company(super::Grouping::by(group_by), "leadRejection")?;
    // Leads are contacts, in no pipeline: SPEC 6 never ignores a filter silently.
    if filter.pipeline_id.is_some() {
        return Err(crate::error::ApiError::bad_input(
            "filter.pipelineId",
            "leadRejection counts leads (contacts), which belong to no pipeline",
        ));
    }
    let mut sql = Sql::new(db.get_database_backend());
    let key = sql.group_key(group_by, "r.owner_id", "u.team_id", "c.source", "r.created_at");
    let rejected = "r.lifecycle = 'DISQUALIFIED'";
    let after_first_contact = format!(
        "{rejected} AND (SELECT COUNT(*) FROM meetings m WHERE m.contact_id = r.id AND m.deleted_at IS NULL \
         AND m.status = 'COMPLETED') <= 1 AND NOT EXISTS (SELECT 1 FROM deals d WHERE d.contact_id = r.id \
         AND d.deleted_at IS NULL AND (d.max_stage_position > 1 OR d.status = 'WON'))"
    );
    sql.push("SELECT ").push(&key).push(" AS g, r.owner_id, r.source");
    sql.push(&format!(", CASE WHEN {rejected} THEN r.disqualify_reason END AS reason, COUNT(*) AS leads"));
    sql.push(&format!(", CAST(SUM(CASE WHEN {rejected} THEN 1 ELSE 0 END) AS BIGINT) AS rejected"));
    // Without `with_after_first_contact` the count stays 0: the caller shows it nowhere.
    if with_after_first_contact {
        sql.push(&format!(", CAST(SUM(CASE WHEN {after_first_contact} THEN 1 ELSE 0 END) AS BIGINT) AS after_first"));
    } else {
        sql.push(", CAST(0 AS BIGINT) AS after_first");
    }
    sql.push(&format!(", CAST(SUM(CASE WHEN {rejected} THEN r.acquisition_cost ELSE 0 END) AS BIGINT) AS wasted"));
    push_from(&mut sql, "contacts r", CONTACT_IS_RECORD, Joins::of(principal, filter, Grouping::by(group_by)));
    push_where(&mut sql, principal, filter);
    push_period(&mut sql, "r.created_at", filter.period);
    sql.push(" GROUP BY g, r.owner_id, r.source, reason");

    let mut total = Builder::default();
    let mut groups: BTreeMap<Option<GroupKey>, Builder> = BTreeMap::new();
    for row in rows(db, sql).await? {
        let sums = RejectionSums {
            leads: int(&row, "leads")?,
            rejected: int(&row, "rejected")?,
            rejected_after_first_contact: int(&row, "after_first")?,
            wasted_acquisition_cost: int(&row, "wasted")?,
        };
        let owner = int(&row, "owner_id")?;
        let source: Option<String> = row.try_get("", "source")?;
        let reason: Option<String> = row.try_get("", "reason")?;
        for b in [groups.entry(group_of(&row, group_by)?).or_default(), &mut total] {
            b.total.add(&sums);
            b.by_owner.entry(owner).or_default().add(&sums);
            b.by_source.entry(source.clone()).or_default().add(&sums);
            if sums.rejected > 0 {
                b.by_reason.entry(reason.clone()).or_default().add(&sums);
            }
        }
    }
    let groups = groups.into_iter().filter_map(|(k, b)| Some((k?, b.build()))).collect();
    Ok(Grouped { total: total.build(), groups, subgroups: Default::default(), conversion: Default::default() })
}
