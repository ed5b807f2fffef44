//! Mutations on contacts: create, update (versioned), soft delete.

use crate::service::validate::Checks;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::{optional_id, patch, patch_id};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::custom_field::{self as custom_input, CustomFieldInput};
use crate::graphql::types::enums::Lifecycle;
use crate::graphql::types::{Contact, Money};
use crate::service::contacts::{self, ContactForCreate, ContactForUpdate};

/// A new contact.
#[derive(InputObject)]
pub struct CreateContactInput {
    /// Owner; defaults to the caller. Reps may only own records themselves, managers may
    /// assign within their team.
    pub owner_id: Option<ID>,
    /// First name (required, ≤ 200 characters).
    pub first_name: String,
    /// Last name (≤ 200 characters).
    #[graphql(default)]
    pub last_name: String,
    /// Email address.
    pub email: Option<String>,
    /// Phone number (≤ 64 characters).
    pub phone: Option<String>,
    /// The company the contact works for (one you may see).
    pub company_id: Option<ID>,
    /// Lead source, e.g. "Website".
    pub source: Option<String>,
    /// Lifecycle stage; LEAD when omitted.
    pub lifecycle: Option<Lifecycle>,
    /// Why the lead was disqualified (with lifecycle DISQUALIFIED).
    pub disqualify_reason: Option<String>,
    /// Money spent to acquire the lead (≥ 0).
    pub acquisition_cost: Option<Money>,
    /// Id in the system the contact comes from (unique).
    pub external_id: Option<String>,
    /// Custom field values (see `customFields`); each is checked against its field's type.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// Changes to a contact; omitted fields stay as they are, `null` clears optional ones.
#[derive(InputObject)]
pub struct UpdateContactInput {
    /// The contact.
    pub id: ID,
    /// The version you read; a stale version fails with CONFLICT.
    pub version: i32,
    /// New owner.
    pub owner_id: Option<ID>,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Email address.
    pub email: MaybeUndefined<String>,
    /// Phone number.
    pub phone: MaybeUndefined<String>,
    /// The company; `null` unlinks it.
    pub company_id: MaybeUndefined<ID>,
    /// Lead source.
    pub source: MaybeUndefined<String>,
    /// Lifecycle stage; DISQUALIFIED records when it happened.
    pub lifecycle: Option<Lifecycle>,
    /// Why the lead was disqualified.
    pub disqualify_reason: MaybeUndefined<String>,
    /// Acquisition cost (≥ 0).
    pub acquisition_cost: Option<Money>,
    /// External id.
    pub external_id: MaybeUndefined<String>,
    /// Custom fields to set (a null `value` clears one); fields not listed keep their values.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// A contact to delete (softly: it disappears from lists unless `includeDeleted`).
#[derive(InputObject)]
pub struct DeleteContactInput {
    /// The contact.
    pub id: ID,
    /// When given, the delete fails with CONFLICT if the contact changed since.
    pub version: Option<i32>,
}

/// The created contact.
#[derive(SimpleObject)]
pub struct CreateContactPayload {
    /// The new contact.
    pub contact: Contact,
}

/// The updated contact.
#[derive(SimpleObject)]
pub struct UpdateContactPayload {
    /// The contact after the change.
    pub contact: Contact,
}

/// What was deleted.
#[derive(SimpleObject)]
pub struct DeleteContactPayload {
    /// Global ID of the deleted contact.
    pub deleted_contact_id: ID,
}

#[derive(Default)]
pub struct ContactMutation;

#[Object]
impl ContactMutation {
    /// Creates a contact owned by the caller (or by `ownerId`).
    async fn create_contact(&self, ctx: &Context<'_>, input: CreateContactInput) -> Result<CreateContactPayload> {
        let principal = ctx.principal().await?;
        let mut checks = Checks::default();
        let data = ContactForCreate {
            owner_id: checks.take(optional_id("input.ownerId", input.owner_id.as_ref(), NodeKind::User)),
            first_name: input.first_name,
            last_name: input.last_name,
            email: input.email,
            phone: input.phone,
            company_id: checks.take(optional_id("input.companyId", input.company_id.as_ref(), NodeKind::Company)),
            source: input.source,
            lifecycle: input.lifecycle.map(Into::into),
            disqualify_reason: input.disqualify_reason,
            acquisition_cost: checks.take(input.acquisition_cost.map(|m| m.cents("acquisitionCost")).transpose()),
            external_id: input.external_id,
            custom_fields: checks.take(custom_input::patch(&input.custom_fields)),
            checks,
        };
        let contact = contacts::create(principal, ctx.writer(), data).await?;
        Ok(CreateContactPayload { contact: Contact(contact) })
    }

    /// Changes a contact the caller may write, if `version` is still current.
    async fn update_contact(&self, ctx: &Context<'_>, input: UpdateContactInput) -> Result<UpdateContactPayload> {
        let principal = ctx.principal().await?;
        let id = decode("input.id", &input.id, NodeKind::Contact)?;
        let mut checks = Checks::default();
        let data = ContactForUpdate {
            version: input.version,
            owner_id: checks.take(optional_id("input.ownerId", input.owner_id.as_ref(), NodeKind::User)),
            first_name: input.first_name,
            last_name: input.last_name,
            email: patch(input.email),
            phone: patch(input.phone),
            company_id: checks.take(patch_id("input.companyId", input.company_id, NodeKind::Company)),
            source: patch(input.source),
            lifecycle: input.lifecycle.map(Into::into),
            disqualify_reason: patch(input.disqualify_reason),
            acquisition_cost: checks.take(input.acquisition_cost.map(|m| m.cents("acquisitionCost")).transpose()),
            external_id: patch(input.external_id),
            custom_fields: checks.take(custom_input::patch(&input.custom_fields)),
            checks,
        };
        let contact = contacts::update(principal, ctx.writer(), id, data).await?;
        Ok(UpdateContactPayload { contact: Contact(contact) })
    }

    /// Soft-deletes a contact the caller may write.
    async fn delete_contact(&self, ctx: &Context<'_>, input: DeleteContactInput) -> Result<DeleteContactPayload> {
        let principal = ctx.principal().await?;
        let id = decode("input.id", &input.id, NodeKind::Contact)?;
        contacts::delete(principal, ctx.writer(), id, input.version).await?;
        Ok(DeleteContactPayload { deleted_contact_id: input.id })
    }
}
