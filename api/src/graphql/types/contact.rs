//! `Contact`: a person or lead, owned by one user.

use super::always;
use crate::graphql::types::custom_field::{self, CustomFieldValue};
use crate::graphql::types::timestamp::Timestamp;
use crate::service::custom_fields::Object as RecordObject;
use async_graphql::{Context, ID, Object, Result};
use entity::contact;

use super::connection::child_limit;
use super::enums::Lifecycle;
use super::metric_fields;
use super::metrics::hundredths;
use super::no_show::NoShowStats;
use super::{Company, Deal, Meeting, Money, User};
use crate::error::ApiResult;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, encode};
use crate::graphql::query::{NoteFilter, NoteOrderBy, TaskFilter, TaskOrderBy, note_page, task_page};
use crate::graphql::types::Connection;
use crate::graphql::types::note::Note;
use crate::graphql::types::task::Task;
use crate::service::columns::Columns;
use crate::service::filter::OneOf;
use crate::service::page::PageRequest;
use crate::service::scope::ensure_can_read_pii;

/// A person or lead a sales rep works with.
pub struct Contact(pub contact::Model);

impl Contact {
    /// The contact columns the fields selected under `field` (of type `Contact`) read; a field
    /// not named here reads every column.
    pub fn columns_of(field: async_graphql::SelectionField<'_>) -> Columns<contact::Column> {
        use contact::Column as C;
        super::look_ahead::columns_read(field, |name| {
            Some(match name {
                "__typename" | "id" | "noShowStats" | "noShowRate" | "deals" | "meetings" | "notes" | "tasks" => &[],
                "owner" => &[C::OwnerId],
                "firstName" => &[C::FirstName],
                "lastName" => &[C::LastName],
                "fullName" => &[C::FirstName, C::LastName],
                "email" => &[C::Email],
                "phone" => &[C::Phone],
                "company" => &[C::CompanyId],
                "mergedInto" => &[C::MergedIntoId],
                "source" => &[C::Source],
                "lifecycle" => &[C::Lifecycle],
                "disqualifyReason" => &[C::DisqualifyReason],
                "disqualifiedAt" => &[C::DisqualifiedAt],
                "acquisitionCost" => &[C::AcquisitionCost],
                "externalId" => &[C::ExternalId],
                "customFields" => &[C::CustomFields],
                "version" => &[C::Version],
                "createdAt" => &[C::CreatedAt],
                "updatedAt" => &[C::UpdatedAt],
                "deletedAt" => &[C::DeletedAt],
                _ => return None,
            })
        })
    }
}

/// A person or lead a sales rep works with.
#[Object]
impl Contact {
    /// No-show stats of the contact's meetings, all time (follow-ups included).
    async fn no_show_stats(&self, ctx: &Context<'_>) -> Result<NoShowStats> {
        metric_fields::parent_no_show(&metric_fields::loaders(ctx).await?.metrics.contact_no_show, self.0.id).await
    }
    /// The contact's no-show rate, all time: `noShows / (completed + noShows) × 100`.
    async fn no_show_rate(&self, ctx: &Context<'_>) -> Result<Option<Money>> {
        let stats =
            metric_fields::loaders(ctx).await?.metrics.contact_no_show.load_one(self.0.id).await?.unwrap_or_default();
        Ok(hundredths(stats.no_show_rate()))
    }
    /// Its custom field values (SPEC 11), in the order the fields were defined; fields without
    /// a value and archived fields are left out. `keys`: only these fields.
    async fn custom_fields(&self, ctx: &Context<'_>, keys: Option<Vec<String>>) -> Result<Vec<CustomFieldValue>> {
        custom_field::values_of(ctx, RecordObject::Contact, &self.0.custom_fields, keys).await
    }
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Contact, self.0.id)
    }
    /// The user responsible for this contact.
    async fn owner(&self, ctx: &Context<'_>) -> Result<User> {
        Ok(User(always(ctx.loaders().await?.users.load_one(self.0.owner_id).await?, "the contact's owner")?))
    }
    /// First name.
    async fn first_name(&self) -> &str {
        &self.0.first_name
    }
    /// Last name (may be empty).
    async fn last_name(&self) -> &str {
        &self.0.last_name
    }
    /// First and last name.
    async fn full_name(&self) -> String {
        format!("{} {}", self.0.first_name, self.0.last_name).trim().to_owned()
    }
    /// Email address. Null with a FORBIDDEN error for ANALYST callers.
    async fn email(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(pii(ctx, self.0.email.as_deref())?)
    }
    /// Phone number. Null with a FORBIDDEN error for ANALYST callers.
    async fn phone(&self, ctx: &Context<'_>) -> Result<Option<&str>> {
        Ok(pii(ctx, self.0.phone.as_deref())?)
    }
    /// The company the contact works for (null when none, deleted or not visible to the
    /// caller).
    async fn company(&self, ctx: &Context<'_>) -> Result<Option<Company>> {
        let Some(id) = self.0.company_id else { return Ok(None) };
        Ok(ctx.loaders().await?.companies.load_one(id).await?.map(Company))
    }
    /// The contact this one was merged into (`mergeContacts`; this one is then deleted), if
    /// you may see it.
    async fn merged_into(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        let Some(id) = self.0.merged_into_id else { return Ok(None) };
        Ok(ctx.loaders().await?.contacts.load_one(id).await?.map(Contact))
    }
    /// Lead source (e.g. "Website", "Referral").
    async fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }
    /// Where the contact stands in the sales process.
    async fn lifecycle(&self) -> Lifecycle {
        self.0.lifecycle.into()
    }
    /// Why the lead was disqualified.
    async fn disqualify_reason(&self) -> Option<&str> {
        self.0.disqualify_reason.as_deref()
    }
    /// When the lead was disqualified.
    async fn disqualified_at(&self) -> Option<Timestamp> {
        self.0.disqualified_at.map(Timestamp)
    }
    /// Money spent to acquire this lead.
    async fn acquisition_cost(&self) -> Money {
        Money::from_cents(self.0.acquisition_cost)
    }
    /// Id of this contact in the system it was imported from.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// The contact's newest deals (at most `first`, ≤ 100), newest first.
    async fn deals(&self, ctx: &Context<'_>, #[graphql(default = 10)] first: i32) -> Result<Vec<Deal>> {
        let limit = child_limit(first)?;
        let key = (self.0.id, (limit, Deal::read_of(ctx.field())));
        let deals = ctx.loaders().await?.latest_deals_of_contact.load_one(key).await?.unwrap_or_default();
        Ok(deals.into_iter().map(Deal::joined).collect())
    }
    /// The contact's latest meetings by scheduled time (at most `first`, ≤ 100).
    async fn meetings(&self, ctx: &Context<'_>, #[graphql(default = 10)] first: i32) -> Result<Vec<Meeting>> {
        let key = (self.0.id, child_limit(first)?);
        let meetings = ctx.loaders().await?.latest_meetings_of_contact.load_one(key).await?.unwrap_or_default();
        Ok(meetings.into_iter().map(Meeting).collect())
    }
    /// Notes about this contact that you may see, newest first: `notes(where:)` with this contact.
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
        f.contact = OneOf::and_eq(f.contact, self.0.id);
        Box::pin(note_page(ctx, f, order_by, PageRequest { first, after, last, before })).await
    }
    /// Tasks about this contact that you may see, soonest due first: `tasks(where:)` with this contact.
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
        f.contact = OneOf::and_eq(f.contact, self.0.id);
        Box::pin(task_page(ctx, f, order_by, PageRequest { first, after, last, before })).await
    }
    /// Optimistic-concurrency version: send it back with updates.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the contact was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When the contact was last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// When the contact was deleted (only seen with `includeDeleted`).
    async fn deleted_at(&self) -> Option<Timestamp> {
        self.0.deleted_at.map(Timestamp)
    }
}

/// A personal field: its value, or null plus a FORBIDDEN entry for callers who may not read it.
fn pii<'a>(ctx: &Context<'_>, value: Option<&'a str>) -> ApiResult<Option<&'a str>> {
    match ensure_can_read_pii(ctx.signed_in()?) {
        Ok(()) => Ok(value),
        Err(err) => {
            ctx.report(err);
            Ok(None)
        }
    }
}
