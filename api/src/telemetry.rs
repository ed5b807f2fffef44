//! Prometheus metrics at `GET /metrics`: HTTP requests by route and status with their latency,
//! and every SQL statement the pools run.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sea_orm::DatabaseConnection;

/// The process-wide recorder. `None` when another recorder was installed first (a host
/// program embedding the router): `/metrics` then answers with an empty page.
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE.get_or_init(|| PrometheusBuilder::new().install_recorder().ok()).as_ref()
}

/// Installs the recorder (once per process) before anything is counted.
pub fn install_recorder() {
    let _ = handle();
}

/// Keeps the recorder's histograms drained, so memory stays flat between scrapes.
pub fn run_upkeep() {
    if let Some(handle) = handle() {
        let handle = handle.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(5));
            loop {
                tick.tick().await;
                handle.run_upkeep();
            }
        });
    }
}

/// `GET /metrics` in the Prometheus text format.
pub async fn render() -> impl IntoResponse {
    let body = handle().map(PrometheusHandle::render).unwrap_or_default();
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body)
}

/// Counts each request by its route pattern (never the raw path: bounded label values).
pub async fn track_requests(req: Request, next: Next) -> Response {
    let path = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let started = Instant::now();
    let response = next.run(req).await;
    let labels = [("path", path), ("status", response.status().as_u16().to_string())];
    metrics::counter!("crm_http_requests_total", &labels).increment(1);
    metrics::histogram!("crm_http_request_duration_seconds", &labels).record(started.elapsed().as_secs_f64());
    response
}

/// Counts every statement run through `db` and records its duration.
pub fn count_sql(db: &mut DatabaseConnection) {
    db.set_metric_callback(record_sql);
}

/// Records one statement (sea-orm's metric callback).
pub fn record_sql(info: &sea_orm::metric::Info<'_>) {
    let outcome = if info.failed { "error" } else { "ok" };
    metrics::counter!("crm_sql_statements_total", "outcome" => outcome).increment(1);
    metrics::histogram!("crm_sql_statement_duration_seconds").record(info.elapsed.as_secs_f64());
}
