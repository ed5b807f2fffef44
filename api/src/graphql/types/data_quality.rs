//! `DataQuality`: what the records say was left undone, now — for the total and each group.

use async_graphql::{Enum, ID, InputObject, Object};

use super::metrics::MetricGroup;
use crate::error::ApiResult;
use crate::graphql::ids::{NodeKind, decode};
use crate::service::metrics::data_quality::DataQuality as Counts;
use crate::service::metrics::{GroupBy, GroupKey, Grouped, MetricFilter};

/// Whose data quality to count; the caller's scope applies on top.
#[derive(InputObject, Default)]
pub struct DataQualityFilter {
    /// Only records owned by (tasks assigned to) these users.
    pub owner_ids: Option<Vec<ID>>,
    /// Only records owned by (tasks assigned to) members of these teams.
    pub team_ids: Option<Vec<ID>>,
}

impl DataQualityFilter {
    pub fn to_service(&self) -> ApiResult<MetricFilter> {
        let ids = |field: &str, ids: &Option<Vec<ID>>, kind| {
            ids.as_ref()
                .map(|list| list.iter().map(|id| decode(field, id, kind)).collect::<ApiResult<Vec<_>>>())
                .transpose()
        };
        Ok(MetricFilter {
            owner_ids: ids("where.ownerIds", &self.owner_ids, NodeKind::User)?,
            team_ids: ids("where.teamIds", &self.team_ids, NodeKind::Team)?,
            ..Default::default()
        })
    }
}

/// How to break data quality down.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
pub enum DataQualityGroupBy {
    /// By owner (a task's assignee).
    Owner,
    /// By the owner's team.
    Team,
}

impl From<DataQualityGroupBy> for GroupBy {
    fn from(by: DataQualityGroupBy) -> Self {
        match by {
            DataQualityGroupBy::Owner => GroupBy::Owner,
            DataQualityGroupBy::Team => GroupBy::Team,
        }
    }
}

/// Work the records say was left undone, as of now.
pub struct DataQuality {
    counts: Counts,
    group: Option<GroupKey>,
    groups: Vec<DataQuality>,
}

impl DataQuality {
    pub fn from_grouped(grouped: Grouped<Counts>) -> Self {
        let groups = grouped
            .groups
            .into_iter()
            .map(|(key, counts)| Self { counts, group: Some(key), groups: Vec::new() })
            .collect();
        Self { counts: grouped.total, group: None, groups }
    }
}

/// Work the records say was left undone, as of now: each count is attributed to the
/// record's owner (a task to its assignee).
#[Object]
impl DataQuality {
    /// The group of this row; null on the total.
    async fn group(&self) -> Option<MetricGroup> {
        self.group.clone().map(MetricGroup)
    }
    /// One row per group when `groupBy` was given (same fields), ordered by group.
    async fn groups(&self) -> &[DataQuality] {
        &self.groups
    }
    /// Meetings still SCHEDULED although their time has passed: outcomes never logged
    /// (`noShowStats.unlogged` over all time).
    async fn unlogged_meetings(&self) -> i64 {
        self.counts.unlogged_meetings
    }
    /// Open deals with no open task about them: nobody has planned the next step.
    async fn open_deals_without_next_task(&self) -> i64 {
        self.counts.open_deals_without_next_task
    }
    /// Open tasks whose due time has passed.
    async fn overdue_tasks(&self) -> i64 {
        self.counts.overdue_tasks
    }
}
