//! `webhookEndpoints` and `webhookDeliveries` (ADMIN).

use async_graphql::{Context, ID, Object, Result};

use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::Connection;
use crate::graphql::types::webhook::{WebhookDelivery, WebhookDeliveryStatus, WebhookEndpoint};
use crate::service::page::{PageRequest, counter};
use crate::service::webhooks::{endpoints, queue};

#[derive(Default)]
pub struct WebhookQuery;

#[Object]
impl WebhookQuery {
    /// Every webhook endpoint, newest first (ADMIN).
    async fn webhook_endpoints(&self, ctx: &Context<'_>) -> Result<Vec<WebhookEndpoint>> {
        Ok(endpoints::list(ctx.principal().await?, ctx.db()).await?.into_iter().map(WebhookEndpoint).collect())
    }

    /// An endpoint's deliveries, newest first, with every attempt (ADMIN). Finished
    /// deliveries are kept as long as change events (`CRM_CHANGE_RETENTION_DAYS`).
    async fn webhook_deliveries(
        &self,
        ctx: &Context<'_>,
        endpoint_id: ID,
        status: Option<WebhookDeliveryStatus>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<WebhookDelivery>> {
        let principal = ctx.principal().await?;
        let id = decode("endpointId", &endpoint_id, NodeKind::WebhookEndpoint)?;
        let status = status.map(WebhookDeliveryStatus::as_str);
        let request = PageRequest { first, after, ..Default::default() };
        let page = queue::page(principal, ctx.db(), id, status, &request).await?;
        Ok(Connection::new(page, WebhookDelivery, counter(ctx.db(), queue::query(id, status))))
    }
}
