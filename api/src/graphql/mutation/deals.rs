//! Mutations on deals: create, update, move between stages, win, lose, soft delete.

use crate::graphql::types::custom_field::{self as custom_input, CustomFieldInput};
use crate::graphql::types::date::Date;
use crate::service::validate::Checks;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::{optional_id, patch, patch_id};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::{Deal, Money};
use crate::service::deals::{self, DealForCreate, DealForUpdate, Outcome};

/// A new deal. It starts OPEN in `stageId` (or the pipeline's first stage).
#[derive(InputObject)]
pub struct CreateDealInput {
    /// The contact the deal is with (must be visible to the caller).
    pub contact_id: ID,
    /// The company the deal is with; the contact's company when omitted.
    pub company_id: Option<ID>,
    /// Title (≤ 300 characters).
    pub title: String,
    /// Value of the deal (≥ 0), in `currency`.
    pub amount: Money,
    /// ISO 4217 code of `amount`: the base currency when omitted; another one needs an
    /// exchange rate (`setExchangeRate`) first.
    pub currency: Option<String>,
    /// Pipeline; the default pipeline when omitted.
    pub pipeline_id: Option<ID>,
    /// Starting stage (of that pipeline); the first stage when omitted.
    pub stage_id: Option<ID>,
    /// Owner; defaults to the caller.
    pub owner_id: Option<ID>,
    /// Expected close date.
    pub expected_close_date: Option<Date>,
    /// Id in the system the deal comes from (unique).
    pub external_id: Option<String>,
    /// Custom field values (see `customFields`); each is checked against its field's type.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// Changes to a deal's details; stage and status change through `moveDeal`, `winDeal`, `loseDeal`.
#[derive(InputObject)]
pub struct UpdateDealInput {
    /// The deal.
    pub id: ID,
    /// The version you read; a stale version fails with CONFLICT.
    pub version: i32,
    /// A new title (≤ 300 characters).
    pub title: Option<String>,
    /// Amount (≥ 0).
    pub amount: Option<Money>,
    /// The amount's currency (ISO 4217; another than the base needs an exchange rate).
    pub currency: Option<String>,
    /// New owner.
    pub owner_id: Option<ID>,
    /// Another contact (the company stays as it is).
    pub contact_id: Option<ID>,
    /// Another company; null unlinks it.
    pub company_id: MaybeUndefined<ID>,
    /// Expected close date; null clears it.
    pub expected_close_date: MaybeUndefined<Date>,
    /// External id; null clears it.
    pub external_id: MaybeUndefined<String>,
    /// Custom fields to set (a null `value` clears one); fields not listed keep their values.
    pub custom_fields: Option<Vec<CustomFieldInput>>,
}

/// Moves an open deal to another stage of its pipeline.
#[derive(InputObject)]
pub struct MoveDealInput {
    /// The deal.
    pub id: ID,
    /// The version you read.
    pub version: i32,
    /// The stage to move to.
    pub stage_id: ID,
}

/// Closes an open deal as won.
#[derive(InputObject)]
pub struct WinDealInput {
    /// The deal.
    pub id: ID,
    /// The version you read.
    pub version: i32,
}

/// Closes an open deal as lost.
#[derive(InputObject)]
pub struct LoseDealInput {
    /// The deal.
    pub id: ID,
    /// The version you read.
    pub version: i32,
    /// Why it was lost (an active lost reason).
    pub lost_reason_id: ID,
    /// Optional note (≤ 2000 characters).
    pub note: Option<String>,
}

/// A deal to delete (softly).
#[derive(InputObject)]
pub struct DeleteDealInput {
    /// The deal.
    pub id: ID,
    /// When given, the delete fails with CONFLICT if the deal changed since.
    pub version: Option<i32>,
}

/// The deal after the change.
#[derive(SimpleObject)]
pub struct DealPayload {
    /// The deal.
    pub deal: Deal,
}

/// What was deleted.
#[derive(SimpleObject)]
pub struct DeleteDealPayload {
    /// Global ID of the deleted deal.
    pub deleted_deal_id: ID,
}

#[derive(Default)]
pub struct DealMutation;

#[Object]
impl DealMutation {
    /// Creates a deal and records its first stage event.
    async fn create_deal(&self, ctx: &Context<'_>, input: CreateDealInput) -> Result<DealPayload> {
        let principal = ctx.principal().await?;
        let mut checks = Checks::default();
        let data = DealForCreate {
            contact_id: checks.take(decode("contactId", &input.contact_id, NodeKind::Contact)),
            company_id: checks.take(optional_id("companyId", input.company_id.as_ref(), NodeKind::Company)),
            owner_id: checks.take(optional_id("ownerId", input.owner_id.as_ref(), NodeKind::User)),
            pipeline_id: checks.take(optional_id("pipelineId", input.pipeline_id.as_ref(), NodeKind::Pipeline)),
            stage_id: checks.take(optional_id("stageId", input.stage_id.as_ref(), NodeKind::Stage)),
            title: input.title,
            amount: checks.take(input.amount.cents("amount")),
            currency: input.currency,
            expected_close_date: input.expected_close_date.map(|d| d.0),
            external_id: input.external_id,
            custom_fields: checks.take(custom_input::patch(&input.custom_fields)),
            checks,
        };
        Ok(DealPayload { deal: Deal::new(deals::create(principal, ctx.writer(), data).await?) })
    }

    /// Changes a deal's details if `version` is still current.
    async fn update_deal(&self, ctx: &Context<'_>, input: UpdateDealInput) -> Result<DealPayload> {
        let principal = ctx.principal().await?;
        let id = decode("id", &input.id, NodeKind::Deal)?;
        let mut checks = Checks::default();
        let data = DealForUpdate {
            version: input.version,
            title: input.title,
            amount: checks.take(input.amount.map(|m| m.cents("amount")).transpose()),
            currency: input.currency,
            owner_id: checks.take(optional_id("ownerId", input.owner_id.as_ref(), NodeKind::User)),
            contact_id: checks.take(optional_id("contactId", input.contact_id.as_ref(), NodeKind::Contact)),
            company_id: checks.take(patch_id("companyId", input.company_id, NodeKind::Company)),
            expected_close_date: patch(input.expected_close_date.map_value(|d| d.0)),
            external_id: patch(input.external_id),
            custom_fields: checks.take(custom_input::patch(&input.custom_fields)),
            checks,
        };
        Ok(DealPayload { deal: Deal::new(deals::update(principal, ctx.writer(), id, data).await?) })
    }

    /// Moves an open deal to another stage; the move and its history row commit together.
    async fn move_deal(&self, ctx: &Context<'_>, input: MoveDealInput) -> Result<DealPayload> {
        let principal = ctx.principal().await?;
        let id = decode("id", &input.id, NodeKind::Deal)?;
        let stage_id = decode("stageId", &input.stage_id, NodeKind::Stage)?;
        Ok(DealPayload { deal: Deal::new(deals::move_to(principal, ctx.writer(), id, input.version, stage_id).await?) })
    }

    /// Marks an open deal WON.
    async fn win_deal(&self, ctx: &Context<'_>, input: WinDealInput) -> Result<DealPayload> {
        let principal = ctx.principal().await?;
        let id = decode("id", &input.id, NodeKind::Deal)?;
        Ok(DealPayload {
            deal: Deal::new(deals::close(principal, ctx.writer(), id, input.version, Outcome::Won).await?),
        })
    }

    /// Marks an open deal LOST with a reason.
    async fn lose_deal(&self, ctx: &Context<'_>, input: LoseDealInput) -> Result<DealPayload> {
        let principal = ctx.principal().await?;
        let id = decode("id", &input.id, NodeKind::Deal)?;
        let reason_id = decode("lostReasonId", &input.lost_reason_id, NodeKind::LostReason)?;
        let outcome = Outcome::Lost { reason_id, note: input.note };
        Ok(DealPayload { deal: Deal::new(deals::close(principal, ctx.writer(), id, input.version, outcome).await?) })
    }

    /// Soft-deletes a deal.
    async fn delete_deal(&self, ctx: &Context<'_>, input: DeleteDealInput) -> Result<DeleteDealPayload> {
        let principal = ctx.principal().await?;
        let id = decode("id", &input.id, NodeKind::Deal)?;
        deals::delete(principal, ctx.writer(), id, input.version).await?;
        Ok(DeleteDealPayload { deleted_deal_id: input.id })
    }
}
