//! The deliverer of one process: queues new events from the change log when commits are
//! announced on the bus, claims due deliveries, POSTs them signed (Standard Webhooks) with
//! a timeout and without following redirects, and records every attempt.
//!
//! What a response means (SPEC section 8.6): 2xx delivered; 408, 429, 5xx, timeouts and
//! connection errors are retried on the schedule (`Retry-After` honoured on 429 and 503);
//! anything else — other 4xx, a redirect, a refused destination — fails at once.

use std::sync::Arc;
use std::time::{Duration, Instant};

use entity::{webhook_delivery, webhook_endpoint};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue, RETRY_AFTER};
use sea_orm::{ColumnTrait, DatabaseConnection, EntityTrait, QueryFilter};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::queue::{self, Attempt, RESPONSE_KEPT, Verdict};
use super::{Settings, destination, schedule, signature};
use crate::bus::Bus;

/// The deliverer looks for due retries at least this often.
const MAX_IDLE: Duration = Duration::from_secs(1);
/// The least time between two passes of the queueing task: under a burst of commits it
/// looks at the log a few times a second, not once per commit.
const QUEUE_PACE: Duration = Duration::from_millis(50);
/// How often the queue's size is measured for `/metrics`.
const MEASURE_EVERY: Duration = Duration::from_secs(5);

/// Starts the queueing and delivering tasks of this process (none when it does not deliver).
pub fn spawn(db: DatabaseConnection, bus: Bus, settings: Settings) -> Vec<tokio::task::JoinHandle<()>> {
    if !settings.deliver {
        return Vec::new();
    }
    let wake = Arc::new(Notify::new());
    vec![
        tokio::spawn(queue_from_log(db.clone(), bus, wake.clone())),
        tokio::spawn(deliver(db, Arc::new(settings), wake)),
    ]
}

/// Queues deliveries for new events whenever the log grows (and once a second anyway).
async fn queue_from_log(db: DatabaseConnection, bus: Bus, wake: Arc<Notify>) {
    let mut committed = bus.watch_committed();
    loop {
        match queue::queue_new(&db).await {
            Ok(0) => {}
            Ok(_) => wake.notify_one(),
            Err(err) => tracing::warn!(error = %err, "queueing webhook deliveries failed; retrying"),
        }
        tokio::time::sleep(QUEUE_PACE).await;
        let _ = tokio::time::timeout(MAX_IDLE, committed.changed()).await;
    }
}

/// Sends due deliveries, at most `settings.concurrency` at once and at most half of them to
/// one endpoint (so a receiver that answers slowly or times out cannot hold up the others),
/// until the process ends.
async fn deliver(db: DatabaseConnection, settings: Arc<Settings>, wake: Arc<Notify>) {
    let client = match client(&settings) {
        Ok(client) => client,
        Err(err) => {
            tracing::error!(error = %err, "the webhook HTTP client could not be built; webhooks are not sent");
            return;
        }
    };
    // A delivery's request ends within the timeout; the lease outlasts it, so a replica
    // that dies mid-request leaves the delivery to be retried soon after.
    let lease = settings.timeout + Duration::from_secs(5);
    let idle = settings.schedule.base.clamp(Duration::from_millis(20), MAX_IDLE);
    let per_endpoint = (settings.concurrency / 2).max(1);
    let mut sending: JoinSet<i64> = JoinSet::new();
    let mut in_flight = InFlight::default();
    let mut measured = Instant::now().checked_sub(MEASURE_EVERY).unwrap_or_else(Instant::now);
    loop {
        while let Some(done) = sending.try_join_next() {
            in_flight.finished(done);
        }
        let free = settings.concurrency.saturating_sub(sending.len());
        let mut claimed = 0;
        if free > 0 {
            let busy = in_flight.at(per_endpoint);
            let limits = Limits { free, per_endpoint, lease, busy: &busy };
            match claim_and_send(&db, &settings, &client, &mut sending, &mut in_flight, limits).await {
                Ok(n) => claimed = n,
                Err(err) => tracing::warn!(error = %err, "claiming webhook deliveries failed; retrying"),
            }
        }
        if measured.elapsed() >= MEASURE_EVERY {
            measured = Instant::now();
            measure(&db).await;
        }
        if claimed == free && free > 0 {
            continue; // there may be more due right now
        }
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(idle) => {}
            // A finished delivery may let the next one of its record go.
            Some(done) = sending.join_next(), if !sending.is_empty() => in_flight.finished(done),
        }
    }
}

/// Requests under way per endpoint.
#[derive(Default)]
struct InFlight(std::collections::HashMap<i64, usize>);

impl InFlight {
    fn started(&mut self, endpoint: i64) {
        *self.0.entry(endpoint).or_default() += 1;
    }

    fn finished(&mut self, done: Result<i64, tokio::task::JoinError>) {
        // A task that panicked cannot say its endpoint; its slot frees with the next restart.
        if let Ok(endpoint) = done
            && let Some(n) = self.0.get_mut(&endpoint)
        {
            *n = n.saturating_sub(1);
        }
    }

    fn count(&self, endpoint: i64) -> usize {
        self.0.get(&endpoint).copied().unwrap_or(0)
    }

    /// Endpoints with `cap` requests or more under way.
    fn at(&self, cap: usize) -> Vec<i64> {
        self.0.iter().filter(|(_, n)| **n >= cap).map(|(id, _)| *id).collect()
    }
}

/// What one claim may take.
struct Limits<'a> {
    /// Free sending slots.
    free: usize,
    /// Requests one endpoint may have under way.
    per_endpoint: usize,
    lease: Duration,
    /// Endpoints at their share already.
    busy: &'a [i64],
}

/// Claims up to `limits.free` due deliveries and starts sending them; what would put an
/// endpoint over its share goes back to the queue. Returns how many were claimed.
async fn claim_and_send(
    db: &DatabaseConnection,
    settings: &Arc<Settings>,
    client: &reqwest::Client,
    sending: &mut JoinSet<i64>,
    in_flight: &mut InFlight,
    limits: Limits<'_>,
) -> crate::error::ApiResult<usize> {
    let due = queue::claim(db, limits.free, limits.lease, limits.busy).await?;
    if due.is_empty() {
        return Ok(0);
    }
    let endpoints = endpoints_of(db, &due).await?;
    let per_endpoint = limits.per_endpoint;
    let mut returned = Vec::new();
    for delivery in &due {
        let endpoint = endpoints.iter().find(|e| e.id == delivery.endpoint_id);
        match endpoint {
            Some(endpoint) if in_flight.count(endpoint.id) < per_endpoint => {
                in_flight.started(endpoint.id);
                let job = (db.clone(), settings.clone(), client.clone(), endpoint.clone());
                sending.spawn(send_and_record(job, delivery.clone()));
            }
            _ => returned.push(delivery.id),
        }
    }
    if !returned.is_empty() {
        queue::release(db, &returned).await?;
    }
    Ok(due.len())
}

async fn endpoints_of(
    db: &DatabaseConnection,
    due: &[webhook_delivery::Model],
) -> crate::error::ApiResult<Vec<webhook_endpoint::Model>> {
    let ids: Vec<i64> = due.iter().map(|d| d.endpoint_id).collect();
    Ok(webhook_endpoint::Entity::find().filter(webhook_endpoint::Column::Id.is_in(ids)).all(db).await?)
}

type Job = (DatabaseConnection, Arc<Settings>, reqwest::Client, webhook_endpoint::Model);

/// Sends one delivery and records the attempt; returns its endpoint.
async fn send_and_record((db, settings, client, endpoint): Job, delivery: webhook_delivery::Model) -> i64 {
    let attempt = send(&client, &settings, &endpoint, &delivery).await;
    match queue::record(&db, &settings, &delivery, &attempt).await {
        Ok(outcome) => {
            metrics::counter!("crm_webhook_attempts_total", "outcome" => outcome.to_lowercase()).increment(1);
        }
        // The lease runs out and the delivery is tried again: at least once.
        Err(err) => tracing::warn!(error = %err, delivery = delivery.id, "recording a webhook attempt failed"),
    }
    endpoint.id
}

/// The HTTP client every delivery of this process uses.
pub fn client(settings: &Settings) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(settings.timeout)
        .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
        // A proxy would connect on our behalf, past the destination check.
        .no_proxy()
        .dns_resolver(destination::Guard { allow_private: settings.allow_private }.shared())
        .user_agent(concat!("crm-graphql-webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// One attempt: the signed POST and what its response means.
pub async fn send(
    client: &reqwest::Client,
    settings: &Settings,
    endpoint: &webhook_endpoint::Model,
    delivery: &webhook_delivery::Model,
) -> Attempt {
    let at = crate::service::now();
    let started = Instant::now();
    let failed = |error: String, verdict: Verdict| Attempt {
        at,
        status_code: None,
        latency: started.elapsed(),
        response_body: None,
        error: Some(error),
        verdict,
    };
    // Literal addresses never reach the resolver's check.
    if let Err(refused) = destination::parse(&endpoint.url, settings.allow_private) {
        return failed(format!("the URL {refused}"), Verdict::Fail);
    }
    let headers = match signed_headers(endpoint, delivery, at) {
        Ok(headers) => headers,
        Err(err) => return failed(err, Verdict::Fail),
    };
    let response = client.post(&endpoint.url).headers(headers).body(delivery.payload.clone()).send().await;
    let mut response = match response {
        Ok(response) => response,
        Err(err) if refused(&err) => return failed(describe(&err), Verdict::Fail),
        Err(err) => return failed(describe(&err), Verdict::Retry { after: None }),
    };
    let status = response.status();
    let retry_after =
        response.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| schedule::retry_after(v, at));
    let mut body = Vec::new();
    while body.len() < RESPONSE_KEPT {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) | Err(_) => break,
        }
    }
    body.truncate(RESPONSE_KEPT);
    let verdict = verdict_of(status, retry_after);
    Attempt {
        at,
        status_code: Some(status.as_u16()),
        latency: started.elapsed(),
        response_body: Some(String::from_utf8_lossy(&body).into_owned()),
        error: status.is_redirection().then(|| "redirects are not followed".to_owned()),
        verdict,
    }
}

fn verdict_of(status: StatusCode, retry_after: Option<Duration>) -> Verdict {
    match status.as_u16() {
        200..=299 => Verdict::Delivered,
        429 | 503 => Verdict::Retry { after: retry_after },
        408 | 500..=599 | 100..=199 => Verdict::Retry { after: None },
        _ => Verdict::Fail,
    }
}

/// `webhook-id`, `webhook-timestamp` and `webhook-signature`, signed with the current
/// secret and, during a rotation's overlap, the previous one.
fn signed_headers(
    endpoint: &webhook_endpoint::Model,
    delivery: &webhook_delivery::Model,
    at: chrono::DateTime<chrono::Utc>,
) -> Result<HeaderMap, String> {
    let timestamp = at.timestamp();
    let mut secrets = vec![endpoint.secret.as_str()];
    if let (Some(previous), Some(until)) = (&endpoint.previous_secret, endpoint.previous_secret_expires_at)
        && until > at
    {
        secrets.push(previous);
    }
    let signature = signature::header(&secrets, &delivery.message_id, timestamp, &delivery.payload);
    let value = |v: &str| HeaderValue::from_str(v).map_err(|e| format!("a header could not be written: {e}"));
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert("webhook-id", value(&delivery.message_id)?);
    headers.insert("webhook-timestamp", value(&timestamp.to_string())?);
    headers.insert("webhook-signature", value(&signature)?);
    Ok(headers)
}

/// Whether the destination check refused the connection (never worth a retry).
fn refused(err: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.downcast_ref::<destination::Refused>().is_some() {
            return true;
        }
        source = e.source();
    }
    false
}

/// The error with its causes, for the attempt's record.
fn describe(err: &reqwest::Error) -> String {
    let kind = if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_owned();
    let mut source = std::error::Error::source(err);
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

async fn measure(db: &DatabaseConnection) {
    match queue::backlog(db).await {
        Ok((depth, oldest)) => {
            metrics::gauge!("crm_webhook_queue_depth").set(depth as f64);
            let age = oldest.map_or(0.0, |at| (crate::service::now() - at).num_milliseconds().max(0) as f64 / 1000.0);
            metrics::gauge!("crm_webhook_oldest_pending_seconds").set(age);
        }
        Err(err) => tracing::debug!(error = %err, "measuring the webhook queue failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responses_decide_what_follows() {
        let wait = Some(Duration::from_secs(3));
        assert_eq!(verdict_of(StatusCode::NO_CONTENT, None), Verdict::Delivered);
        assert_eq!(verdict_of(StatusCode::SERVICE_UNAVAILABLE, None), Verdict::Retry { after: None });
        assert_eq!(verdict_of(StatusCode::TOO_MANY_REQUESTS, wait), Verdict::Retry { after: wait });
        assert_eq!(verdict_of(StatusCode::REQUEST_TIMEOUT, None), Verdict::Retry { after: None });
        assert_eq!(verdict_of(StatusCode::INTERNAL_SERVER_ERROR, wait), Verdict::Retry { after: None });
        for fails in [StatusCode::BAD_REQUEST, StatusCode::GONE, StatusCode::NOT_FOUND, StatusCode::MOVED_PERMANENTLY] {
            assert_eq!(verdict_of(fails, None), Verdict::Fail, "{fails}");
        }
    }
}
