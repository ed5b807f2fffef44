//! Webhook endpoints and deliveries (ADMIN): create, update, rotate the secret, delete,
//! redeliver, replay from a change-log cursor, send a test message.

use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, Result, SimpleObject};

use super::patch;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::query::changes::parse_cursor;
use crate::graphql::types::webhook::{WebhookDelivery, WebhookEndpoint};
use crate::service::webhooks::endpoints::{self, EndpointInput};
use crate::service::webhooks::queue;

/// A new webhook endpoint.
#[derive(InputObject)]
pub struct CreateWebhookEndpointInput {
    /// An http(s) URL on a public address.
    pub url: String,
    /// Event types such as `deal.won`, `meeting.*`, or `*` for all (see the README).
    pub event_types: Vec<String>,
    /// What it is for (≤ 500 characters).
    pub description: Option<String>,
}

/// The new endpoint. `secret` is shown only here: store it now.
#[derive(SimpleObject)]
pub struct CreateWebhookEndpointPayload {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// The signing secret, `whsec_…`: verify `webhook-signature` with it.
    pub secret: String,
}

/// Changes to an endpoint; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateWebhookEndpointInput {
    /// The endpoint.
    pub id: ID,
    /// A new URL.
    pub url: Option<String>,
    /// New event types (they replace the old ones).
    pub event_types: Option<Vec<String>>,
    /// A new description; null clears it.
    pub description: MaybeUndefined<String>,
    /// false stops sending; true resumes with the events committed from then on (use
    /// `replayWebhooks` for the ones in between).
    pub enabled: Option<bool>,
}

/// The endpoint as changed.
#[derive(SimpleObject)]
pub struct UpdateWebhookEndpointPayload {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
}

/// The endpoint whose secret to rotate, or to delete.
#[derive(InputObject)]
pub struct WebhookEndpointIdInput {
    /// The endpoint.
    pub id: ID,
}

/// The new secret. The previous one keeps signing beside it for 24 hours
/// (`previousSecretExpiresAt`), so receivers can switch without missing a delivery.
#[derive(SimpleObject)]
pub struct RotateWebhookSecretPayload {
    /// The endpoint.
    pub endpoint: WebhookEndpoint,
    /// The new signing secret, shown only here.
    pub secret: String,
}

/// The deleted endpoint.
#[derive(SimpleObject)]
pub struct DeleteWebhookEndpointPayload {
    /// Its global ID.
    pub deleted_id: ID,
}

/// What a replay queued.
#[derive(SimpleObject)]
pub struct ReplayWebhooksPayload {
    /// Deliveries queued (events the endpoint asks for).
    pub queued: i32,
    /// Where the replay stopped: call again with it as `after` while `hasMore`.
    pub end_cursor: String,
    /// More events remain to replay.
    pub has_more: bool,
}

#[derive(Default)]
pub struct WebhookMutation;

#[Object]
impl WebhookMutation {
    /// Creates a webhook endpoint (ADMIN). It receives the events committed from now on.
    async fn create_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: CreateWebhookEndpointInput,
    ) -> Result<CreateWebhookEndpointPayload> {
        let data = EndpointInput {
            url: Some(input.url),
            event_types: Some(input.event_types),
            description: Some(input.description),
            enabled: None,
        };
        let services = ctx.services();
        let (endpoint, secret) =
            endpoints::create(ctx.principal().await?, ctx.writer(), &services.webhooks, data).await?;
        Ok(CreateWebhookEndpointPayload { endpoint: WebhookEndpoint(endpoint), secret })
    }

    /// Changes a webhook endpoint (ADMIN).
    async fn update_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: UpdateWebhookEndpointInput,
    ) -> Result<UpdateWebhookEndpointPayload> {
        let id = decode("input.id", &input.id, NodeKind::WebhookEndpoint)?;
        let data = EndpointInput {
            url: input.url,
            event_types: input.event_types,
            description: patch(input.description),
            enabled: input.enabled,
        };
        let services = ctx.services();
        let endpoint = endpoints::update(ctx.principal().await?, ctx.writer(), &services.webhooks, id, data).await?;
        Ok(UpdateWebhookEndpointPayload { endpoint: WebhookEndpoint(endpoint) })
    }

    /// Gives an endpoint a new signing secret (ADMIN); both sign for 24 hours.
    async fn rotate_webhook_secret(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointIdInput,
    ) -> Result<RotateWebhookSecretPayload> {
        let id = decode("input.id", &input.id, NodeKind::WebhookEndpoint)?;
        let services = ctx.services();
        let (endpoint, secret) =
            endpoints::rotate_secret(ctx.principal().await?, ctx.writer(), &services.webhooks, id).await?;
        Ok(RotateWebhookSecretPayload { endpoint: WebhookEndpoint(endpoint), secret })
    }

    /// Deletes an endpoint with its queued and recorded deliveries (ADMIN).
    async fn delete_webhook_endpoint(
        &self,
        ctx: &Context<'_>,
        input: WebhookEndpointIdInput,
    ) -> Result<DeleteWebhookEndpointPayload> {
        let id = decode("input.id", &input.id, NodeKind::WebhookEndpoint)?;
        endpoints::delete(ctx.principal().await?, ctx.writer(), id).await?;
        Ok(DeleteWebhookEndpointPayload { deleted_id: input.id })
    }

    /// Sends a delivered or failed delivery again, as a new delivery with the same body and
    /// `webhook-id` (ADMIN).
    async fn redeliver_webhook(&self, ctx: &Context<'_>, delivery_id: ID) -> Result<WebhookDelivery> {
        let id = decode("deliveryId", &delivery_id, NodeKind::WebhookDelivery)?;
        Ok(WebhookDelivery(queue::redeliver(ctx.principal().await?, ctx.writer(), id).await?))
    }

    /// Sends an endpoint again every event after `after` (a change-log cursor: an event's
    /// `cursor`, `data.cursor` of a webhook body, or `changeCursor`) that it asks for
    /// (ADMIN). Up to 10,000 events per call; continue from `endCursor` while `hasMore`.
    async fn replay_webhooks(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        after: String,
    ) -> Result<ReplayWebhooksPayload> {
        let id = decode("endpointId", &endpoint_id, NodeKind::WebhookEndpoint)?;
        let after = parse_cursor(&after)?;
        let replayed = queue::replay(ctx.principal().await?, ctx.writer(), id, after).await?;
        Ok(ReplayWebhooksPayload {
            queued: i32::try_from(replayed.queued).unwrap_or(i32::MAX),
            end_cursor: replayed.end_cursor.to_string(),
            has_more: replayed.has_more,
        })
    }

    /// Queues a `webhook.test` message to an endpoint (ADMIN); follow it in
    /// `webhookDeliveries`.
    async fn send_test_webhook(&self, ctx: &Context<'_>, endpoint_id: ID) -> Result<WebhookDelivery> {
        let id = decode("endpointId", &endpoint_id, NodeKind::WebhookEndpoint)?;
        Ok(WebhookDelivery(queue::send_test(ctx.principal().await?, ctx.writer(), id).await?))
    }
}
