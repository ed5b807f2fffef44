//! Mutations on tasks: make one (about a record or not), change it or mark it done, delete it.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::{optional_id, patch};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::enums::TaskPriority;
use crate::graphql::types::task::Task;
use crate::graphql::types::timestamp::Timestamp;
use crate::service::about::About;
use crate::service::tasks::{self, TaskForCreate, TaskForUpdate};

/// A new task, about at most one record you may see.
#[derive(InputObject)]
pub struct CreateTaskInput {
    /// What to do (required, ≤ 500 characters).
    pub title: String,
    /// When it is due.
    pub due_at: Option<Timestamp>,
    /// How urgent; NORMAL when omitted.
    pub priority: Option<TaskPriority>,
    /// Who is to do it; you when omitted. Reps may only assign themselves, managers anyone
    /// in their team, admins anyone.
    pub assignee_id: Option<ID>,
    /// About this contact.
    pub contact_id: Option<ID>,
    /// About this company.
    pub company_id: Option<ID>,
    /// About this deal.
    pub deal_id: Option<ID>,
}

/// Changes to a task; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateTaskInput {
    /// The task.
    pub id: ID,
    /// The version you read; a stale version fails with CONFLICT.
    pub version: i32,
    /// What to do.
    pub title: Option<String>,
    /// When it is due; `null` clears it.
    pub due_at: MaybeUndefined<Timestamp>,
    /// How urgent.
    pub priority: Option<TaskPriority>,
    /// A new assignee (the same rules as on create).
    pub assignee_id: Option<ID>,
    /// Mark it done (stamps `doneAt`) or open again (clears it).
    pub done: Option<bool>,
}

/// A task to delete (softly).
#[derive(InputObject)]
pub struct DeleteTaskInput {
    /// The task.
    pub id: ID,
    /// When given, the delete fails with CONFLICT if the task changed since.
    pub version: Option<i32>,
}

/// The written task.
#[derive(SimpleObject)]
pub struct TaskPayload {
    /// The task as written.
    pub task: Task,
}

/// What was deleted.
#[derive(SimpleObject)]
pub struct DeleteTaskPayload {
    /// Global ID of the deleted task.
    pub deleted_task_id: ID,
}

#[derive(Default)]
pub struct TaskMutation;

#[Object]
impl TaskMutation {
    /// Makes a task, assigned to you unless `assigneeId` says otherwise.
    async fn create_task(&self, ctx: &Context<'_>, input: CreateTaskInput) -> Result<TaskPayload> {
        let principal = ctx.principal().await?;
        let about = About::at_most_one(
            optional_id("input.contactId", input.contact_id.as_ref(), NodeKind::Contact)?,
            optional_id("input.companyId", input.company_id.as_ref(), NodeKind::Company)?,
            optional_id("input.dealId", input.deal_id.as_ref(), NodeKind::Deal)?,
        )
        .map_err(|e| e.under("input."))?;
        let data = TaskForCreate {
            title: input.title,
            about,
            assignee_id: optional_id("input.assigneeId", input.assignee_id.as_ref(), NodeKind::User)?,
            due_at: input.due_at.map(Into::into),
            priority: input.priority.map(Into::into),
        };
        Ok(TaskPayload { task: Task(tasks::create(principal, ctx.writer(), data).await?) })
    }

    /// Changes a task you may see, or marks it done, if `version` is still current.
    async fn update_task(&self, ctx: &Context<'_>, input: UpdateTaskInput) -> Result<TaskPayload> {
        let principal = ctx.principal().await?;
        let id = decode("input.id", &input.id, NodeKind::Task)?;
        let data = TaskForUpdate {
            version: input.version,
            title: input.title,
            assignee_id: optional_id("input.assigneeId", input.assignee_id.as_ref(), NodeKind::User)?,
            due_at: patch(input.due_at).map(|d| d.map(Into::into)),
            priority: input.priority.map(Into::into),
            done: input.done,
        };
        Ok(TaskPayload { task: Task(tasks::update(principal, ctx.writer(), id, data).await?) })
    }

    /// Soft-deletes a task you may see.
    async fn delete_task(&self, ctx: &Context<'_>, input: DeleteTaskInput) -> Result<DeleteTaskPayload> {
        let principal = ctx.principal().await?;
        let id = decode("input.id", &input.id, NodeKind::Task)?;
        tasks::delete(principal, ctx.writer(), id, input.version).await?;
        Ok(DeleteTaskPayload { deleted_task_id: input.id })
    }
}
