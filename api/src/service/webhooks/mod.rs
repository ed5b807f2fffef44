//! Webhooks (SPEC section 8.6): ADMIN-managed endpoints receive the change log's events
//! about contacts, deals and meetings as signed HTTP POSTs, at least once and in order per
//! record.
//!
//! - `endpoints`: the endpoints themselves, written through the one write path.
//! - `queue`: deliveries are rows, queued from the change log by one machinery for new
//!   events, replays, redeliveries and tests alike; claimed with `FOR UPDATE SKIP LOCKED`
//!   on PostgreSQL so replicas never send one twice at once.
//! - `deliver`: the per-process deliverer that sends, records every attempt, retries on
//!   `schedule` and disables endpoints that keep failing.
//! - `events`, `signature`, `destination`: event types and bodies, Standard Webhooks
//!   signatures, and the rules for where a webhook may go.

pub mod deliver;
pub mod destination;
pub mod endpoints;
pub mod events;
pub mod queue;
pub mod schedule;
pub mod signature;

use std::time::Duration;

use crate::config::WebhookConfig;

/// Delivery statuses.
pub const PENDING: &str = "PENDING";
pub const DELIVERED: &str = "DELIVERED";
pub const FAILED: &str = "FAILED";

/// How webhooks behave, from `WebhookConfig`.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Whether this process runs a deliverer.
    pub deliver: bool,
    pub allow_private: bool,
    pub timeout: Duration,
    pub schedule: schedule::Schedule,
    pub disable_after: chrono::Duration,
    pub secret_overlap: chrono::Duration,
    pub concurrency: usize,
}

impl From<&WebhookConfig> for Settings {
    fn from(c: &WebhookConfig) -> Self {
        let seconds = |s: u64| chrono::Duration::seconds(i64::try_from(s).unwrap_or(i64::MAX / 1000));
        Self {
            deliver: c.deliver,
            allow_private: c.allow_private_networks,
            timeout: Duration::from_secs(c.timeout_secs),
            schedule: schedule::Schedule { base: Duration::from_millis(c.retry_base_ms) },
            disable_after: seconds(c.disable_after_secs),
            secret_overlap: seconds(c.secret_overlap_secs),
            concurrency: c.concurrency as usize,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self::from(&WebhookConfig::default())
    }
}
