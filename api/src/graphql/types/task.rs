//! `Task`: something a user is to do by a due time, about at most one contact, company or deal.

use async_graphql::{Context, ID, Object, Result};
use entity::task;

use super::enums::TaskPriority;
use super::{Company, Contact, Deal, User, always};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, encode};
use crate::graphql::types::timestamp::Timestamp;

/// Something to do ("send the proposal on Friday").
pub struct Task(pub task::Model);

/// Something a user is to do by a due time, about at most one contact, company or deal;
/// visible to its assignee's scope and to whoever sees its record.
#[Object]
impl Task {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Task, self.0.id)
    }
    /// What to do.
    async fn title(&self) -> &str {
        &self.0.title
    }
    /// When it is due; null for "some time".
    async fn due_at(&self) -> Option<Timestamp> {
        self.0.due_at.map(Timestamp)
    }
    /// Whether it has been done.
    async fn done(&self) -> bool {
        self.0.done
    }
    /// When it was marked done; null while it is open.
    async fn done_at(&self) -> Option<Timestamp> {
        self.0.done_at.map(Timestamp)
    }
    /// Open and due before now.
    async fn overdue(&self) -> bool {
        !self.0.done && self.0.due_at.is_some_and(|due| due < chrono::Utc::now())
    }
    /// How urgent it is.
    async fn priority(&self) -> TaskPriority {
        self.0.priority.into()
    }
    /// Who is to do it.
    async fn assignee(&self, ctx: &Context<'_>) -> Result<User> {
        Ok(User(always(ctx.loaders().await?.users.load_one(self.0.assignee_id).await?, "the task's assignee")?))
    }
    /// Who made it (the importing admin, for imported tasks).
    async fn created_by(&self, ctx: &Context<'_>) -> Result<User> {
        Ok(User(always(ctx.loaders().await?.users.load_one(self.0.created_by).await?, "the task's creator")?))
    }
    /// The contact it is about, if it is about a contact you may see.
    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        let Some(id) = self.0.contact_id else { return Ok(None) };
        Ok(ctx.loaders().await?.contacts.load_one(id).await?.map(Contact))
    }
    /// The company it is about, if it is about a company you may see.
    async fn company(&self, ctx: &Context<'_>) -> Result<Option<Company>> {
        let Some(id) = self.0.company_id else { return Ok(None) };
        Ok(ctx.loaders().await?.companies.load_one(id).await?.map(Company))
    }
    /// The deal it is about, if it is about a deal you may see.
    async fn deal(&self, ctx: &Context<'_>) -> Result<Option<Deal>> {
        let Some(id) = self.0.deal_id else { return Ok(None) };
        let read = Deal::read_of(ctx.field());
        Ok(ctx.loaders().await?.deals.load_one((id, read)).await?.map(Deal::joined))
    }
    /// Id of this task in the system it was imported from.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// Optimistic-concurrency version: send it back with updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was made.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When it last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// When it was deleted (only seen with `includeDeleted`).
    async fn deleted_at(&self) -> Option<Timestamp> {
        self.0.deleted_at.map(Timestamp)
    }
}
