//! `Company`: an organization contacts work for and deals are with, owned by one user.

use async_graphql::{Context, ID, Object, Result};
use entity::company;

use super::{Connection, Contact, Deal, User, always};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, encode};
use crate::graphql::query::{
    ContactFilter, ContactOrderBy, DealFilter, DealOrderBy, NoteFilter, NoteOrderBy, TaskFilter, TaskOrderBy,
    contact_page, contact_sort, deal_page, deal_sort, note_page, task_page,
};
use crate::graphql::types::custom_field::{self, CustomFieldValue};
use crate::graphql::types::note::Note;
use crate::graphql::types::task::Task;
use crate::graphql::types::timestamp::Timestamp;
use crate::service::custom_fields::Object as RecordObject;
use crate::service::filter::OneOf;
use crate::service::page::PageRequest;

/// An organization (account) that contacts work for and deals are with.
pub struct Company(pub company::Model);

/// An organization (account) that contacts work for and deals are with. Visible like a
/// contact: to its owner, the owner's manager and ADMIN/ANALYST.
#[Object]
impl Company {
    /// Its custom field values (SPEC 11), in the order the fields were defined; fields without
    /// a value and archived fields are left out. `keys`: only these fields.
    async fn custom_fields(&self, ctx: &Context<'_>, keys: Option<Vec<String>>) -> Result<Vec<CustomFieldValue>> {
        custom_field::values_of(ctx, RecordObject::Company, &self.0.custom_fields, keys).await
    }
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Company, self.0.id)
    }
    /// The user responsible for this company.
    async fn owner(&self, ctx: &Context<'_>) -> Result<User> {
        Ok(User(always(ctx.loaders().await?.users.load_one(self.0.owner_id).await?, "the company's owner")?))
    }
    /// The company's name.
    async fn name(&self) -> &str {
        &self.0.name
    }
    /// Its web domain, lowercase (e.g. `acme.com`).
    async fn domain(&self) -> Option<&str> {
        self.0.domain.as_deref()
    }
    /// Its industry, as your team names industries.
    async fn industry(&self) -> Option<&str> {
        self.0.industry.as_deref()
    }
    /// Number of employees.
    async fn size(&self) -> Option<i32> {
        self.0.size
    }
    /// Id of this company in the system it was imported from.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// The company's contacts that you may see: `contacts(where:)` with this company, so the
    /// same filters, order and paging apply.
    #[allow(clippy::too_many_arguments)]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<ContactFilter>,
        order_by: Option<Vec<ContactOrderBy>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Contact>> {
        let mut f = filter.unwrap_or_default().to_service(ctx).await?;
        f.company = OneOf::and_eq(f.company, self.0.id);
        let order = contact_sort(ctx, &order_by.unwrap_or_default()).await?;
        Box::pin(contact_page(ctx, f, &order, PageRequest { first, after, last, before })).await
    }
    /// The company's deals that you may see: `deals(where:)` with this company.
    #[allow(clippy::too_many_arguments)]
    async fn deals(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<DealFilter>,
        order_by: Option<Vec<DealOrderBy>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Deal>> {
        let mut f = filter.unwrap_or_default().to_service(ctx).await?;
        f.company = OneOf::and_eq(f.company, self.0.id);
        let order = deal_sort(ctx, &order_by.unwrap_or_default()).await?;
        Box::pin(deal_page(ctx, f, &order, PageRequest { first, after, last, before })).await
    }
    /// Notes about this company that you may see, newest first: `notes(where:)` with this company.
    #[allow(clippy::too_many_arguments)]
    async fn notes(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<NoteFilter>,
        order_by: Option<Vec<NoteOrderBy>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Note>> {
        let mut f = filter.unwrap_or_default().to_service()?;
        f.company = OneOf::and_eq(f.company, self.0.id);
        Box::pin(note_page(ctx, f, order_by, PageRequest { first, after, last, before })).await
    }
    /// Tasks about this company that you may see, soonest due first: `tasks(where:)` with this company.
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
        let mut f = filter.unwrap_or_default().to_service()?;
        f.company = OneOf::and_eq(f.company, self.0.id);
        Box::pin(task_page(ctx, f, order_by, PageRequest { first, after, last, before })).await
    }
    /// Optimistic-concurrency version: send it back with updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the company was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When the company was last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// When the company was deleted (only seen with `includeDeleted`).
    async fn deleted_at(&self) -> Option<Timestamp> {
        self.0.deleted_at.map(Timestamp)
    }
}
