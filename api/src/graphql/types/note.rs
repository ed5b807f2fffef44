//! `Note`: free text about one contact, company or deal, visible with it.

use async_graphql::{Context, ID, Object, Result};
use entity::note;

use super::{Company, Contact, Deal, User, always};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, encode};
use crate::graphql::types::timestamp::Timestamp;

/// Free text about one contact, company or deal ("called, send the proposal on Friday").
pub struct Note(pub note::Model);

/// Free text about one contact, company or deal, visible to whoever sees that record and
/// editable by its author.
#[Object]
impl Note {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Note, self.0.id)
    }
    /// The text.
    async fn body(&self) -> &str {
        &self.0.body
    }
    /// Who wrote it.
    async fn author(&self, ctx: &Context<'_>) -> Result<User> {
        Ok(User(always(ctx.loaders().await?.users.load_one(self.0.author_id).await?, "the note's author")?))
    }
    /// Whether you may edit it (you wrote it).
    async fn editable(&self, ctx: &Context<'_>) -> Result<bool> {
        Ok(ctx.principal().await?.user_id == self.0.author_id)
    }
    /// The contact it is about, if it is about a contact.
    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        let Some(id) = self.0.contact_id else { return Ok(None) };
        Ok(ctx.loaders().await?.contacts.load_one(id).await?.map(Contact))
    }
    /// The company it is about, if it is about a company.
    async fn company(&self, ctx: &Context<'_>) -> Result<Option<Company>> {
        let Some(id) = self.0.company_id else { return Ok(None) };
        Ok(ctx.loaders().await?.companies.load_one(id).await?.map(Company))
    }
    /// The deal it is about, if it is about a deal.
    async fn deal(&self, ctx: &Context<'_>) -> Result<Option<Deal>> {
        let Some(id) = self.0.deal_id else { return Ok(None) };
        let read = Deal::read_of(ctx.field());
        Ok(ctx.loaders().await?.deals.load_one((id, read)).await?.map(Deal::joined))
    }
    /// Id of this note in the system it was imported from.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// Optimistic-concurrency version: send it back with updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was written.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When it was last edited.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// When it was deleted (only seen with `includeDeleted`).
    async fn deleted_at(&self) -> Option<Timestamp> {
        self.0.deleted_at.map(Timestamp)
    }
}
