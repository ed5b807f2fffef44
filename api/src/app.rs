//! The application: shared state, the GraphQL schemas with their limits, and the router
//! with its HTTP layers. Tests build the same router.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderName, HeaderValue, Method, Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use sea_orm::DatabaseConnection;
use tower_http::LatencyUnit;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::external::ExternalTokens;
use crate::auth::token::{TokenKeys, load_or_create_secret};
use crate::bus::Bus;
use crate::config::ServeConfig;
use crate::db::Databases;
use crate::error::{ApiError, ApiResult};
use crate::graphql::{self, CrmSchema, graphiql, handler};
use crate::service::credential_cache::CredentialCache;
use crate::service::work::Writer;

/// What resolvers use, attached to the schema as data.
#[derive(Clone, Debug)]
pub struct Services {
    pub dbs: Databases,
    pub tokens: TokenKeys,
    /// Verifier of an external identity provider's tokens, when one is configured.
    pub external: Option<ExternalTokens>,
    /// Recently checked users and API keys (see `service::credential_cache`).
    pub credential_cache: Arc<CredentialCache>,
    /// The unit-of-work factory every write goes through (`service::work`).
    pub writer: Writer,
    /// Commits and credential changes of this process and, on PostgreSQL, of every replica.
    pub bus: Bus,
    pub webhooks: crate::service::webhooks::Settings,
    /// `login` attempts per email and per client address (`service::throttle`).
    pub login_throttle: Arc<crate::service::throttle::LoginThrottle>,
    /// Cost points per payer and minute (`service::budget`).
    pub budgets: Arc<crate::service::budget::Budgets>,
    /// Turns and lanes of metric queries (`service::heavy`).
    pub heavy: Arc<crate::service::heavy::Heavy>,
}

/// What HTTP handlers use.
#[derive(Clone)]
pub struct AppState {
    /// Shared: the state is cloned several times per request (axum's extractors and layers),
    /// and `Services` holds vectors and keys.
    pub services: Arc<Services>,
    /// The one schema every request runs on, over HTTP and WebSocket alike; what differs
    /// per caller (introspection, hints) is decided per request.
    pub schema: CrmSchema,
    /// The same schema with only async-graphql's cheap validation (`ValidationMode::Fast`),
    /// for documents that passed the full one before (`graphql::persisted`).
    pub validated_schema: CrmSchema,
    pub config: Arc<ServeConfig>,
    /// Documents kept parsed by hash, and Apollo's persisted queries (`graphql::persisted`).
    pub documents: Arc<crate::graphql::persisted::Documents>,
    /// The schema's fields, arguments and input types as the checks before execution need
    /// them (`graphql::cost`, `graphql::inputs`).
    pub index: Arc<crate::graphql::schema_index::SchemaIndex>,
    /// Open WebSocket connections per credential.
    pub ws_connections: Arc<crate::graphql::ws::session::Connections>,
}

pub async fn build_state(dbs: Databases, config: ServeConfig) -> ApiResult<AppState> {
    let secret = load_or_create_secret(&dbs.primary, config.auth.jwt_secret.as_deref()).await?;
    let external = ExternalTokens::from_config(&config.auth).map_err(|e| ApiError::bad_input("configuration", e))?;
    let credential_cache = Arc::new(CredentialCache::new(Duration::from_millis(config.auth.credential_cache_ms)));
    let bus = Bus::new(credential_cache.clone());
    let limits = &config.limits;
    let heavy = crate::service::heavy::Heavy::new(
        dbs.lanes.clone(),
        dbs.read.clone(),
        limits.metric_concurrency_per_caller,
        Duration::from_millis(limits.metric_wait_ms),
    );
    let services = Services {
        budgets: Arc::new(crate::service::budget::Budgets::new(limits.cost_budget_per_minute)),
        heavy: Arc::new(heavy),
        writer: Writer::new(dbs.primary.clone(), bus.clone()),
        bus,
        dbs,
        tokens: TokenKeys::from_secret(&secret, config.auth.jwt_ttl_secs),
        external,
        credential_cache,
        webhooks: (&config.webhooks).into(),
        login_throttle: Arc::new(crate::service::throttle::LoginThrottle::new(
            config.auth.login_per_email_per_minute,
            config.auth.login_per_address_per_minute,
        )),
    };
    // Depth, cost and aliases are checked before execution (`graphql::shape`), the rest here.
    let index = Arc::new(graphql::schema_index::SchemaIndex::from_sdl(&graphql::sdl()));
    let schema = || {
        graphql::build_schema()
            .data(services.clone())
            .data(index.clone())
            .limit_recursive_depth(limits.max_recursive_depth)
            .limit_directives(limits.max_directives)
    };
    let (schema, validated_schema) =
        (schema().finish(), schema().validation_mode(async_graphql::ValidationMode::Fast).finish());
    Ok(AppState {
        index,
        documents: Arc::default(),
        schema,
        validated_schema,
        services: Arc::new(services),
        ws_connections: crate::graphql::ws::session::Connections::new(config.realtime.max_connections_per_credential),
        config: Arc::new(config),
    })
}

/// The background work of a serving process: the reader that hands new change events to
/// subscribers, the LISTEN connection that hears other replicas' commits (PostgreSQL), the
/// purge of expired events, idempotency keys and finished webhook deliveries, and the
/// webhook deliverer, all on `db` (the primary database;
/// tests pass a connection of its own so the requests' statements can be counted apart).
/// Aborting the handles stops them.
pub fn spawn_background(state: &AppState, db: &DatabaseConnection) -> Vec<tokio::task::JoinHandle<()>> {
    let services = &state.services;
    let realtime = &state.config.realtime;
    let retention = crate::service::changes::retention::Retention {
        events: chrono::Duration::days(i64::from(realtime.change_retention_days)),
        idempotency_keys: chrono::Duration::hours(i64::from(realtime.idempotency_retention_hours)),
    };
    let purge_every = Duration::from_secs(60 * u64::from(realtime.purge_interval_minutes.max(1)));
    vec![
        tokio::spawn(crate::bus::fanout::run(services.bus.clone(), db.clone())),
        tokio::spawn(crate::bus::postgres::listen(services.bus.clone(), db.clone())),
        tokio::spawn(crate::service::changes::retention::run(db.clone(), retention, purge_every)),
    ]
    .into_iter()
    .chain(crate::service::webhooks::deliver::spawn(db.clone(), services.bus.clone(), services.webhooks.clone()))
    .collect()
}

pub fn build_router(state: AppState) -> Router {
    crate::telemetry::install_recorder();
    let http = &state.config.http;
    let timeout = Duration::from_secs(http.request_timeout_secs);
    let request_id = HeaderName::from_static("x-request-id");
    let trace = TraceLayer::new_for_http()
        .make_span_with(|req: &Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
        })
        .on_request(())
        .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(LatencyUnit::Micros));
    Router::new()
        .route("/graphql", get(handler::get).post(handler::post))
        .route("/graphql/ws", get(crate::graphql::ws::upgrade))
        .route("/graphiql/{file}", get(graphiql::asset))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route(
            "/metrics",
            get(|State(state): State<AppState>| async move { crate::telemetry::render(&state.services.dbs.primary) }),
        )
        .route_layer(axum::middleware::from_fn(crate::telemetry::track_requests))
        // Only POST /graphql reads a body; it applies the limit itself (`wire::read_body`).
        .layer(cors(&http.cors_origins))
        .layer(axum::middleware::from_fn(move |req, next| crate::wire::time_limit(timeout, req, next)))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(trace)
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .with_state(state)
}

fn cors(origins: &[String]) -> CorsLayer {
    let allowed: Vec<HeaderValue> = origins.iter().filter_map(|o| HeaderValue::from_str(o.trim()).ok()).collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(allowed))
        .allow_methods([Method::GET, Method::POST])
        // Apollo Client's client-awareness headers, and a request id the client chose.
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("apollographql-client-name"),
            HeaderName::from_static("apollographql-client-version"),
            HeaderName::from_static("x-request-id"),
        ])
        .expose_headers([
            HeaderName::from_static("x-request-id"),
            header::RETRY_AFTER,
            HeaderName::from_static("ratelimit-policy"),
            HeaderName::from_static("ratelimit"),
        ])
        .max_age(Duration::from_secs(600))
}

/// Liveness: the process answers.
async fn healthz() -> &'static str {
    "ok"
}

/// Readiness: the database answers.
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    match state.services.dbs.primary.ping().await {
        Ok(()) => (StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable")
        }
    }
}
