//! Prometheus metrics at `GET /metrics`: HTTP requests by route and status, GraphQL
//! operations by name, errors by `extensions.code`, every SQL statement the pools run, the
//! pools' connections, the webhook queue, and the build; each family with HELP text,
//! durations as histograms.

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
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new().set_buckets(&BUCKETS).ok()?.install_recorder().ok()?;
            describe();
            Some(handle)
        })
        .as_ref()
}

/// Seconds: from a cached read (~1 ms) to the request timeout.
const BUCKETS: [f64; 13] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Operation names kept as label values; later new names count as `other`, so a client
/// inventing names cannot grow the metrics without bound.
const MAX_OPERATION_NAMES: usize = 100;

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("crm_http_requests_total", "HTTP requests by route pattern and status");
    describe_histogram!(
        "crm_http_request_duration_seconds",
        Unit::Seconds,
        "HTTP request latency by route pattern and status"
    );
    describe_histogram!(
        "crm_graphql_operation_duration_seconds",
        Unit::Seconds,
        "GraphQL operation latency by operation name (anonymous, or other past the first 100 names)"
    );
    describe_counter!(
        "crm_graphql_errors_total",
        "Errors returned to clients by extensions.code (RATE_LIMITED: rejections by a limit)"
    );
    describe_counter!("crm_sql_statements_total", "SQL statements run by the pools, by outcome");
    describe_histogram!("crm_sql_statement_duration_seconds", Unit::Seconds, "SQL statement latency");
    describe_gauge!("crm_db_pool_connections", "Connections of the primary database pool, by state (idle or in_use)");
    describe_counter!(
        "crm_webhook_attempts_total",
        "Webhook delivery attempts by outcome (succeeded, retrying, failed)"
    );
    describe_gauge!("crm_webhook_queue_depth", "Webhook deliveries waiting to be sent");
    describe_gauge!("crm_webhook_oldest_pending_seconds", Unit::Seconds, "Age of the oldest pending webhook delivery");
    describe_counter!(
        "crm_rate_limited_total",
        "Requests refused by a limit, by limit (cost budget, metric turns, sign-ins)"
    );
    describe_counter!(
        "crm_metric_queries_cancelled_total",
        "Metric queries whose request was dropped mid-way and whose SQL was cancelled"
    );
    describe_gauge!("crm_build_info", "Always 1; the version label says which build runs");
    metrics::gauge!("crm_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// Counts every error of a response by its `extensions.code`.
pub fn count_errors<'a>(codes: impl IntoIterator<Item = &'a str>) {
    for code in codes {
        metrics::counter!("crm_graphql_errors_total", "code" => code.to_owned()).increment(1);
    }
}

/// Counts a request refused by `limit` (`cost`, `metrics`, `login`).
pub fn count_rate_limited(limit: &'static str) {
    metrics::counter!("crm_rate_limited_total", "limit" => limit).increment(1);
}

/// Counts a metric query stopped because its request was dropped.
pub fn count_metric_cancel() {
    metrics::counter!("crm_metric_queries_cancelled_total").increment(1);
}

/// Records how long a GraphQL operation took, by its (bounded) name.
pub fn record_operation(name: Option<&str>, elapsed: Duration) {
    metrics::histogram!("crm_graphql_operation_duration_seconds", "operation" => operation_label(name))
        .record(elapsed.as_secs_f64());
}

fn operation_label(name: Option<&str>) -> String {
    static SEEN: OnceLock<std::sync::Mutex<std::collections::HashSet<String>>> = OnceLock::new();
    let Some(name) = name.filter(|n| !n.is_empty() && n.len() <= 100) else { return "anonymous".into() };
    let Ok(mut seen) = SEEN.get_or_init(Default::default).lock() else { return "other".into() };
    if seen.contains(name) || (seen.len() < MAX_OPERATION_NAMES && seen.insert(name.to_owned())) {
        name.to_owned()
    } else {
        "other".into()
    }
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

/// `GET /metrics` in the Prometheus text format, with the gauges of the pool `db`.
pub fn render(db: &DatabaseConnection) -> Response {
    pool_gauges(db);
    let body = handle().map(PrometheusHandle::render).unwrap_or_default();
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response()
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

/// The primary pool's connections, read when `/metrics` is scraped.
fn pool_gauges(db: &DatabaseConnection) {
    let (size, idle) = match db.get_database_backend() {
        sea_orm::DatabaseBackend::Postgres => {
            let pool = db.get_postgres_connection_pool();
            (pool.size() as usize, pool.num_idle())
        }
        sea_orm::DatabaseBackend::Sqlite => {
            let pool = db.get_sqlite_connection_pool();
            (pool.size() as usize, pool.num_idle())
        }
        _ => return,
    };
    metrics::gauge!("crm_db_pool_connections", "state" => "idle").set(idle as f64);
    metrics::gauge!("crm_db_pool_connections", "state" => "in_use").set(size.saturating_sub(idle) as f64);
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
