//! Data quality (SPEC sections 6.1 and 11): what the records say has been left undone right
//! now — meetings whose outcome was never logged, open deals with no next task, and tasks
//! past their due time — counted per owner in one statement.

use sea_orm::ConnectionTrait;

use super::sql::Sql;
use super::{GroupBy, Grouped, Grouping, MetricFilter, int, keys_of, push_scope, rows};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataQuality {
    /// Meetings still SCHEDULED after their time (as `noShowStats.unlogged`, over all time).
    pub unlogged_meetings: i64,
    /// Open deals without an open task about them.
    pub open_deals_without_next_task: i64,
    /// Open tasks due before now, counted for their assignee.
    pub overdue_tasks: i64,
}

impl DataQuality {
    fn add(&mut self, o: &Self) {
        self.unlogged_meetings += o.unlogged_meetings;
        self.open_deals_without_next_task += o.open_deals_without_next_task;
        self.overdue_tasks += o.overdue_tasks;
    }
}

/// The counts for the caller's scope (and the owner and team filters), by owner or team when
/// asked. Each part is attributed to its owner (the meeting's, the deal's, the task's
/// assignee) as SPEC §6.7 attributes records. Periods, pipelines and sources do not apply:
/// these are counts of what is true now.
pub async fn data_quality(
    principal: &Principal,
    db: &impl ConnectionTrait,
    filter: &MetricFilter,
    by: Option<GroupBy>,
) -> ApiResult<Grouped<DataQuality>> {
    if filter.period.is_some() || filter.pipeline_id.is_some() || filter.source.is_some() {
        return Err(ApiError::bad_input("filter", "dataQuality takes only ownerIds and teamIds"));
    }
    if !matches!(by, None | Some(GroupBy::Owner | GroupBy::Team)) {
        return Err(ApiError::bad_input("groupBy", "dataQuality groups only by OWNER or TEAM"));
    }
    let grouping = Grouping::by(by);
    let now = crate::service::now();
    let mut sql = Sql::new(db.get_database_backend());
    let keys = sql.group_columns(grouping, "x.owner_id", "x.team_id", "NULL", "NULL");
    sql.push("SELECT ").push(&keys);
    sql.push(", CAST(SUM(x.unlogged) AS BIGINT) AS unlogged, CAST(SUM(x.no_next) AS BIGINT) AS no_next");
    sql.push(", CAST(SUM(x.overdue) AS BIGINT) AS overdue FROM (");
    // Each part: its rows `r` with an owner, that owner `u`, one count column set to 1.
    let part = |sql: &mut Sql, from: &str, column: &str| {
        sql.push("SELECT r.owner_id AS owner_id, u.team_id AS team_id");
        for c in ["unlogged", "no_next", "overdue"] {
            sql.push(if c == column { ", 1 AS " } else { ", 0 AS " }).push(c);
        }
        sql.push(" FROM ").push(from).push(" JOIN users u ON u.id = r.owner_id WHERE r.deleted_at IS NULL");
    };
    part(&mut sql, "meetings r", "unlogged");
    sql.push(" AND r.status = 'SCHEDULED' AND r.scheduled_at < ").param(now);
    push_scope(&mut sql, principal, filter, "NULL");
    sql.push(" UNION ALL ");
    part(&mut sql, "deals r", "no_next");
    sql.push(" AND r.status = 'OPEN' AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.deal_id = r.id");
    sql.push(" AND t.done = ").param(false).push(" AND t.deleted_at IS NULL)");
    push_scope(&mut sql, principal, filter, "NULL");
    sql.push(" UNION ALL ");
    part(&mut sql, "(SELECT assignee_id AS owner_id, deleted_at, done, due_at FROM tasks) r", "overdue");
    sql.push(" AND r.done = ").param(false).push(" AND r.due_at < ").param(now);
    push_scope(&mut sql, principal, filter, "NULL");
    sql.push(") x GROUP BY g, g2");
    let mut out = Vec::new();
    for row in rows(db, sql).await? {
        let counts = DataQuality {
            unlogged_meetings: int(&row, "unlogged")?,
            open_deals_without_next_task: int(&row, "no_next")?,
            overdue_tasks: int(&row, "overdue")?,
        };
        out.push((keys_of(&row, grouping)?, counts));
    }
    Ok(Grouped::nest(out, DataQuality::add))
}
