//! Queries over tasks, and the one page of tasks every record's `tasks` field reads.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};

use crate::error::ApiResult;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::Connection;
use crate::graphql::types::enums::TaskPriority;
use crate::graphql::types::filters::{DateTimeFilter, IdFilter, OrderDirection, decode_ids, enum_filter};
use crate::graphql::types::task::Task;
use crate::service::page::{PageRequest, counter};
use crate::service::tasks::{self, TaskSort};

enum_filter!(TaskPriorityFilter, TaskPriority, entity::enums::TaskPriority, "Matches tasks of these priorities.");

/// Filters for tasks; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct TaskFilter {
    /// By id.
    pub id: Option<IdFilter>,
    /// By assignee (user id).
    pub assignee_id: Option<IdFilter>,
    /// About these contacts.
    pub contact_id: Option<IdFilter>,
    /// About these companies.
    pub company_id: Option<IdFilter>,
    /// About these deals.
    pub deal_id: Option<IdFilter>,
    /// By priority.
    pub priority: Option<TaskPriorityFilter>,
    /// Done (true) or open (false).
    pub done: Option<bool>,
    /// Open and due before now (true), or not (false).
    pub overdue: Option<bool>,
    /// By due time (tasks without one never match a bound).
    pub due_at: Option<DateTimeFilter>,
    /// Case-insensitive text in the title.
    pub search: Option<String>,
    /// Include soft-deleted tasks.
    #[graphql(default)]
    pub include_deleted: bool,
}

impl TaskFilter {
    pub fn to_service(&self) -> ApiResult<tasks::TaskFilter> {
        Ok(tasks::TaskFilter {
            ids: decode_ids("where.id", &self.id, NodeKind::Task)?,
            assignee: decode_ids("where.assigneeId", &self.assignee_id, NodeKind::User)?,
            contact: decode_ids("where.contactId", &self.contact_id, NodeKind::Contact)?,
            company: decode_ids("where.companyId", &self.company_id, NodeKind::Company)?,
            deal: decode_ids("where.dealId", &self.deal_id, NodeKind::Deal)?,
            priority: self.priority.as_ref().map(TaskPriorityFilter::to_one_of),
            done: self.done,
            overdue: self.overdue,
            due_at: self.due_at.as_ref().map(DateTimeFilter::to_range),
            search: self.search.clone(),
            include_deleted: self.include_deleted,
        })
    }
}

/// Fields tasks can be ordered by.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum TaskOrderField {
    /// When it is due; tasks without a due time come after those with one (ascending).
    DueAt,
    /// LOW < NORMAL < HIGH.
    Priority,
    /// When it was made.
    CreatedAt,
    /// When it last changed.
    UpdatedAt,
}

/// One ordering term; terms apply in order, then the id breaks ties.
#[derive(InputObject)]
pub struct TaskOrderBy {
    /// The field.
    pub field: TaskOrderField,
    /// The direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// One page of tasks matching `filter` (already converted), for any list of tasks.
pub async fn task_page(
    ctx: &Context<'_>,
    filter: tasks::TaskFilter,
    order_by: Option<Vec<TaskOrderBy>>,
    page: PageRequest,
) -> Result<Connection<Task>> {
    let principal = ctx.principal().await?;
    let order: Vec<(TaskSort, bool)> = order_by
        .unwrap_or_default()
        .iter()
        .map(|o| {
            let field = match o.field {
                TaskOrderField::DueAt => TaskSort::DueAt,
                TaskOrderField::Priority => TaskSort::Priority,
                TaskOrderField::CreatedAt => TaskSort::CreatedAt,
                TaskOrderField::UpdatedAt => TaskSort::UpdatedAt,
            };
            (field, o.direction.descending())
        })
        .collect();
    let rows = tasks::list(principal, ctx.db(), &filter, &order, &page).await?;
    Ok(Connection::new(rows, Task, counter(ctx.db(), tasks::query(principal, &filter))))
}

#[derive(Default)]
pub struct TaskQuery;

#[Object]
impl TaskQuery {
    /// Tasks the caller may see (assigned to someone in the caller's scope, or about a record
    /// the caller sees), soonest due first unless ordered otherwise.
    #[allow(clippy::too_many_arguments)]
    async fn tasks(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<TaskFilter>,
        order_by: Option<Vec<TaskOrderBy>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Task>> {
        let f = filter.unwrap_or_default().to_service()?;
        task_page(ctx, f, order_by, PageRequest { first, after, last, before }).await
    }

    /// One task, or null when it does not exist or is not visible to the caller.
    async fn task(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Task>> {
        let id = decode("id", &id, NodeKind::Task)?;
        Ok(ctx.loaders().await?.tasks.load_one(id).await?.map(Task))
    }
}
