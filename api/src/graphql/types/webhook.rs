//! Webhook endpoints, their deliveries and each delivery's attempts, as an ADMIN sees them
//! (never a secret: it is shown once, by `createWebhookEndpoint` and `rotateWebhookSecret`).

use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Context, Enum, ID, Object, Result};
use chrono::Utc;
use entity::{webhook_attempt, webhook_delivery, webhook_endpoint};

use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, encode};
use crate::service::webhooks::{self, endpoints};

/// Where an integration receives events: signed HTTP POSTs of the change log's events about
/// contacts, deals and meetings (README "Webhooks").
pub struct WebhookEndpoint(pub webhook_endpoint::Model);

/// Where an integration receives events: signed HTTP POSTs of the change log's events about
/// contacts, deals and meetings (README "Webhooks").
#[Object]
impl WebhookEndpoint {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::WebhookEndpoint, self.0.id)
    }
    /// The http(s) URL events are POSTed to.
    async fn url(&self) -> &str {
        &self.0.url
    }
    /// What the endpoint is for.
    async fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    /// The event types it receives: types such as `deal.won`, `entity.*`, or `*`.
    async fn event_types(&self) -> Vec<String> {
        endpoints::patterns_of(&self.0)
    }
    /// Whether events are sent to it. An endpoint without a successful delivery for 3 days
    /// is disabled (`disabledAt`, `disabledReason`); `updateWebhookEndpoint` enables it again.
    async fn enabled(&self) -> bool {
        self.0.enabled
    }
    /// When it was disabled, if it is.
    async fn disabled_at(&self) -> Option<Timestamp> {
        self.0.disabled_at.map(Timestamp)
    }
    /// Why it was disabled: by an admin, or for failing too long.
    async fn disabled_reason(&self) -> Option<&str> {
        self.0.disabled_reason.as_deref()
    }
    /// Until when the secret before the last rotation still signs beside the current one.
    async fn previous_secret_expires_at(&self) -> Option<Timestamp> {
        self.0.previous_secret_expires_at.filter(|at| *at > Utc::now()).map(Timestamp)
    }
    /// When a delivery last succeeded.
    async fn last_success_at(&self) -> Option<Timestamp> {
        self.0.last_success_at.map(Timestamp)
    }
    /// Since when deliveries fail without a success in between; null while healthy.
    async fn failing_since(&self) -> Option<Timestamp> {
        self.0.failing_since.map(Timestamp)
    }
    /// Version for optimistic concurrency (bumped by every admin change).
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When it was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When an admin last changed it.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
}

/// Where a delivery stands.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum WebhookDeliveryStatus {
    /// Waiting for its first attempt or a retry.
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Given up: a response that is not worth retrying, or 3 days of failed retries.
    Failed,
}

impl WebhookDeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => webhooks::PENDING,
            Self::Delivered => webhooks::DELIVERED,
            Self::Failed => webhooks::FAILED,
        }
    }

    fn of(status: &str) -> Self {
        match status {
            webhooks::DELIVERED => Self::Delivered,
            webhooks::FAILED => Self::Failed,
            _ => Self::Pending,
        }
    }
}

/// Why a delivery was queued.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum WebhookTrigger {
    /// A change was committed.
    Event,
    /// `replayWebhooks`.
    Replay,
    /// `redeliverWebhook`.
    Redelivery,
    /// `sendTestWebhook`.
    Test,
}

/// How one attempt ended.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum WebhookAttemptOutcome {
    /// The receiver answered 2xx.
    Succeeded,
    /// It failed; another attempt is scheduled.
    Retrying,
    /// It failed and the delivery gave up.
    Failed,
}

/// One event (or test message) to one endpoint.
pub struct WebhookDelivery(pub webhook_delivery::Model);

/// One event (or test message) to one endpoint.
#[Object]
impl WebhookDelivery {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::WebhookDelivery, self.0.id)
    }
    /// The endpoint it goes to.
    async fn endpoint(&self, ctx: &Context<'_>) -> Result<Option<WebhookEndpoint>> {
        Ok(ctx.loaders().await?.webhook_endpoints.load_one(self.0.endpoint_id).await?.map(WebhookEndpoint))
    }
    /// The `webhook-id` header: the event's id, the same on every attempt, redelivery and
    /// replay, for receivers to deduplicate by.
    async fn message_id(&self) -> &str {
        &self.0.message_id
    }
    /// The event type, e.g. `deal.won` (`webhook.test` for test messages).
    async fn event_type(&self) -> &str {
        &self.0.event_type
    }
    /// The event's change-log cursor (null for test messages).
    async fn event_cursor(&self) -> Option<String> {
        self.0.event_seq.map(|s| s.to_string())
    }
    /// Why it was queued.
    async fn trigger(&self) -> WebhookTrigger {
        match self.0.trigger.as_str() {
            webhooks::queue::REPLAY => WebhookTrigger::Replay,
            webhooks::queue::REDELIVERY => WebhookTrigger::Redelivery,
            webhooks::queue::TEST => WebhookTrigger::Test,
            _ => WebhookTrigger::Event,
        }
    }
    /// Where it stands.
    async fn status(&self) -> WebhookDeliveryStatus {
        WebhookDeliveryStatus::of(&self.0.status)
    }
    /// The JSON body every attempt sends (the signed bytes).
    async fn payload(&self) -> &str {
        &self.0.payload
    }
    /// Attempts made so far.
    async fn attempt_count(&self) -> i32 {
        self.0.attempt_count
    }
    /// When the next attempt is due (null once delivered or failed).
    async fn next_attempt_at(&self) -> Option<Timestamp> {
        (self.0.status == webhooks::PENDING).then_some(self.0.next_attempt_at).map(Timestamp)
    }
    /// When it was queued.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When it was delivered or given up.
    async fn finished_at(&self) -> Option<Timestamp> {
        self.0.finished_at.map(Timestamp)
    }
    /// Every attempt, oldest first.
    async fn attempts(&self, ctx: &Context<'_>) -> Result<Vec<WebhookAttempt>> {
        let attempts = ctx.loaders().await?.attempts_of_delivery.load_one(self.0.id).await?;
        Ok(attempts.unwrap_or_default().into_iter().map(WebhookAttempt).collect())
    }
}

/// One HTTP request made for a delivery.
pub struct WebhookAttempt(pub webhook_attempt::Model);

/// One HTTP request made for a delivery.
#[Object]
impl WebhookAttempt {
    /// When it was sent.
    async fn attempted_at(&self) -> Timestamp {
        Timestamp(self.0.attempted_at)
    }
    /// The receiver's HTTP status; null when no response came (timeout, connection error,
    /// refused destination).
    async fn status_code(&self) -> Option<i32> {
        self.0.status_code
    }
    /// How long the request took, in milliseconds.
    async fn latency_ms(&self) -> i32 {
        self.0.latency_ms
    }
    /// The first kilobyte of the response body.
    async fn response_body(&self) -> Option<&str> {
        self.0.response_body.as_deref()
    }
    /// What went wrong without a response (or why a redirect was not followed).
    async fn error(&self) -> Option<&str> {
        self.0.error.as_deref()
    }
    /// How it ended.
    async fn outcome(&self) -> WebhookAttemptOutcome {
        match self.0.outcome.as_str() {
            "SUCCEEDED" => WebhookAttemptOutcome::Succeeded,
            "RETRYING" => WebhookAttemptOutcome::Retrying,
            _ => WebhookAttemptOutcome::Failed,
        }
    }
}
