//! Tasks (SPEC section 11): something a user is to do by a due time, about at most one
//! contact, company or deal; seen by its assignee's scope and with its record.

use chrono::{DateTime, Utc};
use entity::enums::TaskPriority;
use entity::task::{self, Column};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, NotSet, QueryFilter, Select, Set};

use super::about::{self, About};
use super::filter::{self, OneOf, Range};
use super::page::{self, KeyKind, Page, PageRequest, SortKey};
use super::scope::{ensure_can_assign, ensure_can_write, owner_condition};
use super::work::{Target, Writer};
use super::{read, validate};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

const LABEL: &str = "Task";
pub const MAX_TITLE: usize = 500;

#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub ids: Option<OneOf<i64>>,
    pub assignee: Option<OneOf<i64>>,
    pub contact: Option<OneOf<i64>>,
    pub company: Option<OneOf<i64>>,
    pub deal: Option<OneOf<i64>>,
    pub priority: Option<OneOf<TaskPriority>>,
    pub done: Option<bool>,
    /// Open and due before now (`Some(false)`: done, or not yet due, or without a due time).
    pub overdue: Option<bool>,
    pub due_at: Option<Range<DateTime<Utc>>>,
    /// Substring of the title.
    pub search: Option<String>,
    pub include_deleted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSort {
    /// Due time, tasks without one last.
    DueAt,
    Priority,
    CreatedAt,
    UpdatedAt,
}

/// The tasks `principal` may see: those assigned to someone in the caller's scope, and those
/// about a record (live) the caller sees.
pub fn visibility(principal: &Principal) -> Condition {
    Condition::any()
        .add(owner_condition(principal, Column::AssigneeId))
        .add(about::linked_record_visible(principal, (Column::ContactId, Column::CompanyId, Column::DealId)))
}

pub fn visible(principal: &Principal) -> Select<task::Entity> {
    task::Entity::find().filter(visibility(principal))
}

/// Open and due before `now`.
pub fn overdue_condition(now: DateTime<Utc>) -> Condition {
    Condition::all().add(Column::Done.eq(false)).add(Column::DueAt.lt(now))
}

/// The filtered, scoped query behind a list of tasks (its rows and its `totalCount`).
pub fn query(principal: &Principal, f: &TaskFilter) -> Select<task::Entity> {
    let mut cond = Condition::all();
    cond = filter::one_of(cond, Column::Id, &f.ids);
    cond = filter::one_of(cond, Column::AssigneeId, &f.assignee);
    cond = filter::one_of(cond, Column::ContactId, &f.contact);
    cond = filter::one_of(cond, Column::CompanyId, &f.company);
    cond = filter::one_of(cond, Column::DealId, &f.deal);
    cond = filter::one_of(cond, Column::Priority, &f.priority);
    if let Some(done) = f.done {
        cond = cond.add(Column::Done.eq(done));
    }
    match f.overdue {
        Some(true) => cond = cond.add(overdue_condition(super::now())),
        Some(false) => cond = cond.add(overdue_condition(super::now()).not()),
        None => {}
    }
    cond = filter::range(cond, Column::DueAt, &f.due_at);
    cond = filter::search(cond, &[Expr::col((task::Entity, Column::Title))], &f.search);
    cond = filter::deleted(cond, Column::DeletedAt, f.include_deleted);
    visible(principal).filter(cond)
}

pub async fn list(
    principal: &Principal,
    db: &impl ConnectionTrait,
    f: &TaskFilter,
    order: &[(TaskSort, bool)],
    page: &PageRequest,
) -> ApiResult<Page<task::Model>> {
    // Soonest due first, as a to-do list reads.
    let order = if order.is_empty() { &[(TaskSort::DueAt, false)][..] } else { order };
    page::fetch(db, query(principal, f), &sort_keys(order), page).await
}

/// `CASE` ranks of the priorities, so that HIGH sorts above NORMAL above LOW.
const PRIORITY_RANK: &str = "CASE tasks.priority WHEN 'HIGH' THEN 2 WHEN 'NORMAL' THEN 1 ELSE 0 END";
/// Tasks without a due time sort after those with one (ascending), by when they were made.
const DUE_MISSING: &str = "CASE WHEN tasks.due_at IS NULL THEN 1 ELSE 0 END";
const DUE_OR_CREATED: &str = "COALESCE(tasks.due_at, tasks.created_at)";
/// The same order as SQL, for `ROW_NUMBER()` (a deal's next task).
pub const NEXT_ORDER: &str = "CASE WHEN due_at IS NULL THEN 1 ELSE 0 END, COALESCE(due_at, created_at), id";

fn priority_rank(p: TaskPriority) -> i64 {
    match p {
        TaskPriority::Low => 0,
        TaskPriority::Normal => 1,
        TaskPriority::High => 2,
    }
}

fn sort_keys(order: &[(TaskSort, bool)]) -> Vec<SortKey<task::Model>> {
    type M = task::Model;
    let col = |c: Column| Expr::col((task::Entity, c));
    let mut keys = Vec::new();
    for &(field, desc) in order {
        match field {
            TaskSort::DueAt => {
                keys.push(SortKey::new(Expr::cust(DUE_MISSING), KeyKind::Int, desc, |m: &M| {
                    i64::from(m.due_at.is_none()).into()
                }));
                keys.push(SortKey::new(Expr::cust(DUE_OR_CREATED), KeyKind::Time, desc, |m: &M| {
                    m.due_at.unwrap_or(m.created_at).into()
                }));
            }
            TaskSort::Priority => keys.push(SortKey::new(Expr::cust(PRIORITY_RANK), KeyKind::Int, desc, |m: &M| {
                priority_rank(m.priority).into()
            })),
            TaskSort::CreatedAt => {
                keys.push(SortKey::new(col(Column::CreatedAt), KeyKind::Time, desc, |m: &M| m.created_at.into()))
            }
            TaskSort::UpdatedAt => {
                keys.push(SortKey::new(col(Column::UpdatedAt), KeyKind::Time, desc, |m: &M| m.updated_at.into()))
            }
        }
    }
    page::with_id_tiebreak(keys, col(Column::Id), |m: &M| m.id.into())
}

/// One visible, non-deleted task, or NOT_FOUND.
pub async fn get(principal: &Principal, db: &impl ConnectionTrait, id: i64) -> ApiResult<task::Model> {
    read::one(db, visible(principal), (Column::Id, Column::DeletedAt), id, LABEL).await
}

/// The visible, non-deleted tasks among `ids` (for batch loading).
pub async fn by_ids(principal: &Principal, db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<Vec<task::Model>> {
    read::many(db, visible(principal), (Column::Id, Column::DeletedAt), ids).await
}

/// The next open task of each of `deal_ids` that the caller may see: the soonest due
/// (tasks without a due time after those with one, oldest first), in one statement.
pub async fn next_of_deals(
    principal: &Principal,
    db: &impl ConnectionTrait,
    deal_ids: &[i64],
) -> ApiResult<Vec<task::Model>> {
    let open = visible(principal).filter(Column::Done.eq(false));
    read::latest_per_parent(db, open, (Column::DealId, Column::DeletedAt), "deal_id", NEXT_ORDER, deal_ids, 1).await
}

#[derive(Debug, Clone)]
pub struct TaskForCreate {
    pub title: String,
    pub about: Option<About>,
    /// The caller when omitted.
    pub assignee_id: Option<i64>,
    pub due_at: Option<DateTime<Utc>>,
    pub priority: Option<TaskPriority>,
}

#[derive(Debug, Clone)]
pub struct TaskForUpdate {
    pub version: i32,
    pub title: Option<String>,
    pub assignee_id: Option<i64>,
    pub due_at: Option<Option<DateTime<Utc>>>,
    pub priority: Option<TaskPriority>,
    pub done: Option<bool>,
}

fn due(at: Option<DateTime<Utc>>) -> ApiResult<Option<DateTime<Utc>>> {
    at.map(|at| validate::plausible("input.dueAt", at).map(|()| validate::micros(at))).transpose()
}

/// Makes a task, assigned to the caller unless `assigneeId` names someone the caller may
/// give records to (SPEC §4: reps themselves, managers their team, admins anyone).
pub async fn create(principal: &Principal, w: &Writer, input: TaskForCreate) -> ApiResult<task::Model> {
    ensure_can_write(principal)?;
    let mut errors = validate::Checks::default();
    let title = errors.take(validate::required("input.title", &input.title, MAX_TITLE));
    let due_at = errors.take(due(input.due_at));
    errors.done()?;
    let mut work = w.begin(principal).await?;
    if let Some(about) = input.about {
        about.owner(principal, work.db()).await.map_err(|e| e.under("input."))?;
    }
    let assignee_id = input.assignee_id.unwrap_or(principal.user_id);
    ensure_can_assign(principal, work.db(), assignee_id, "input.assigneeId").await?;
    let now = super::now();
    let (contact_id, company_id, deal_id) = About::links(input.about);
    let row = task::ActiveModel {
        id: NotSet,
        title: Set(title),
        due_at: Set(due_at),
        done: Set(false),
        done_at: Set(None),
        priority: Set(input.priority.unwrap_or(TaskPriority::Normal)),
        assignee_id: Set(assignee_id),
        created_by: Set(principal.user_id),
        contact_id: Set(contact_id),
        company_id: Set(company_id),
        deal_id: Set(deal_id),
        external_id: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    let created = work.insert::<task::Entity, _>(row).await?;
    work.commit().await?;
    Ok(created)
}

/// Changes a task the caller sees (its assignee's scope or its record's), if `version` is
/// still current. Marking it done stamps `doneAt`; reopening clears it.
pub async fn update(principal: &Principal, w: &Writer, id: i64, input: TaskForUpdate) -> ApiResult<task::Model> {
    ensure_can_write(principal)?;
    let mut errors = validate::Checks::default();
    let title = errors.take(input.title.map(|t| validate::required("input.title", &t, MAX_TITLE)).transpose());
    let due_at = errors.take(input.due_at.map(due).transpose());
    errors.done()?;
    let now = super::now();
    let mut changes = task::ActiveModel { updated_at: Set(now), ..Default::default() };
    if let Some(v) = title {
        changes.title = Set(v);
    }
    if let Some(v) = due_at {
        changes.due_at = Set(v);
    }
    if let Some(v) = input.priority {
        changes.priority = Set(v);
    }
    let mut work = w.begin(principal).await?;
    if let Some(done) = input.done {
        let found = get(principal, work.db(), id).await?;
        if found.done != done {
            changes.done = Set(done);
            changes.done_at = Set(done.then_some(now));
        }
    }
    if let Some(assignee_id) = input.assignee_id {
        ensure_can_assign(principal, work.db(), assignee_id, "input.assigneeId").await?;
        changes.assignee_id = Set(assignee_id);
    }
    let updated = work.update::<task::Entity>(target(principal, id, Some(input.version)), changes).await?;
    work.commit().await?;
    Ok(updated)
}

/// Soft-deletes a task the caller sees.
pub async fn delete(principal: &Principal, w: &Writer, id: i64, version: Option<i32>) -> ApiResult<()> {
    ensure_can_write(principal)?;
    let now = super::now();
    let changes = task::ActiveModel { deleted_at: Set(Some(now)), updated_at: Set(now), ..Default::default() };
    let mut work = w.begin(principal).await?;
    work.update::<task::Entity>(target(principal, id, version), changes).await?;
    work.commit().await
}

fn target(principal: &Principal, id: i64, version: Option<i32>) -> Target {
    Target::new(id, LABEL).scope(visibility(principal)).version(version)
}

/// A priority from its stored name (for import), BAD_USER_INPUT naming `field` otherwise.
pub fn priority_named(field: &str, name: &str) -> ApiResult<TaskPriority> {
    match name.trim().to_uppercase().as_str() {
        "LOW" => Ok(TaskPriority::Low),
        "NORMAL" => Ok(TaskPriority::Normal),
        "HIGH" => Ok(TaskPriority::High),
        _ => Err(ApiError::bad_input(field, "must be LOW, NORMAL or HIGH")),
    }
}
