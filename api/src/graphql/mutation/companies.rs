//! Mutations on companies: create, update (versioned), soft delete.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::{optional_id, patch};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::company::Company;
use crate::graphql::types::custom_field::{self as custom_input, CustomFieldInput};
use crate::service::companies::{self, CompanyForCreate, CompanyForUpdate};

/// A new company.
#[derive(InputObject)]
pub struct CreateCompanyInput {
    /// Owner; defaults to the caller. Reps may only own records themselves, managers may
    /// assign within their team.
    pub owner_id: Option<ID>,
    /// Name (required, ≤ 200 characters; need not be unique).
    pub name: String,
    /// Web domain, e.g. `acme.com` (a pasted `https://www.acme.com/…` is reduced to it).
    pub domain: Option<String>,
    /// Industry (≤ 100 characters).
    pub industry: Option<String>,
    /// Number of employees (≥ 0).
    pub size: Option<i32>,
    /// Id in the system the company comes from (unique).
    pub external_id: Option<String>,
    /// Custom field values (see `customFields`); each is checked against its field's type.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// Changes to a company; omitted fields stay as they are, `null` clears optional ones.
#[derive(InputObject)]
pub struct UpdateCompanyInput {
    /// The company.
    pub id: ID,
    /// The version you read; a stale version fails with CONFLICT.
    pub version: i32,
    /// New owner.
    pub owner_id: Option<ID>,
    /// A new name (≤ 200 characters).
    pub name: Option<String>,
    /// Web domain.
    pub domain: MaybeUndefined<String>,
    /// A new industry; null clears it.
    pub industry: MaybeUndefined<String>,
    /// Number of employees.
    pub size: MaybeUndefined<i32>,
    /// External id.
    pub external_id: MaybeUndefined<String>,
    /// Custom fields to set (a null `value` clears one); fields not listed keep their values.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// A company to delete (softly: it disappears from lists unless `includeDeleted`, and its
/// contacts and deals show no company while it is deleted).
#[derive(InputObject)]
pub struct DeleteCompanyInput {
    /// The company.
    pub id: ID,
    /// When given, the delete fails with CONFLICT if the company changed since.
    pub version: Option<i32>,
}

/// The created company.
#[derive(SimpleObject)]
pub struct CreateCompanyPayload {
    /// The new company.
    pub company: Company,
}

/// The updated company.
#[derive(SimpleObject)]
pub struct UpdateCompanyPayload {
    /// The company after the change.
    pub company: Company,
}

/// What was deleted.
#[derive(SimpleObject)]
pub struct DeleteCompanyPayload {
    /// Global ID of the deleted company.
    pub deleted_company_id: ID,
}

#[derive(Default)]
pub struct CompanyMutation;

#[Object]
impl CompanyMutation {
    /// Creates a company owned by the caller (or by `ownerId`).
    async fn create_company(&self, ctx: &Context<'_>, input: CreateCompanyInput) -> Result<CreateCompanyPayload> {
        let principal = ctx.principal().await?;
        let data = CompanyForCreate {
            owner_id: optional_id("input.ownerId", input.owner_id.as_ref(), NodeKind::User)?,
            name: input.name,
            domain: input.domain,
            industry: input.industry,
            size: input.size,
            external_id: input.external_id,
            custom_fields: custom_input::patch(&input.custom_fields)?,
        };
        let company = companies::create(principal, ctx.writer(), data).await?;
        Ok(CreateCompanyPayload { company: Company(company) })
    }

    /// Changes a company the caller may write, if `version` is still current.
    async fn update_company(&self, ctx: &Context<'_>, input: UpdateCompanyInput) -> Result<UpdateCompanyPayload> {
        let principal = ctx.principal().await?;
        let id = decode("input.id", &input.id, NodeKind::Company)?;
        let data = CompanyForUpdate {
            version: input.version,
            owner_id: optional_id("input.ownerId", input.owner_id.as_ref(), NodeKind::User)?,
            name: input.name,
            domain: patch(input.domain),
            industry: patch(input.industry),
            size: patch(input.size),
            external_id: patch(input.external_id),
            custom_fields: custom_input::patch(&input.custom_fields)?,
        };
        let company = companies::update(principal, ctx.writer(), id, data).await?;
        Ok(UpdateCompanyPayload { company: Company(company) })
    }

    /// Soft-deletes a company the caller may write.
    async fn delete_company(&self, ctx: &Context<'_>, input: DeleteCompanyInput) -> Result<DeleteCompanyPayload> {
        let principal = ctx.principal().await?;
        let id = decode("input.id", &input.id, NodeKind::Company)?;
        companies::delete(principal, ctx.writer(), id, input.version).await?;
        Ok(DeleteCompanyPayload { deleted_company_id: input.id })
    }
}
