//! Command line and environment configuration (clap): parsed once in `main` and passed down.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Args, FromArgMatches, Parser, Subcommand};

/// crm-graphql: a GraphQL CRM server with sales metrics.
#[derive(Debug, Parser)]
#[command(name = "crm-api", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub db: DbConfig,

    /// Log filter (tracing-subscriber syntax), e.g. `info` or `api=debug,sqlx=warn`.
    #[arg(long, env = "CRM_LOG", default_value = "info", global = true)]
    pub log: String,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default). Migrations run first.
    Serve(Box<ServeConfig>),
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill the database with generated demo data (deterministic for a given --seed).
    Seed(SeedConfig),
    /// Print the GraphQL schema (SDL) to standard output.
    ExportSchema,
    /// Create a user who can log in.
    CreateUser(CreateUserConfig),
    /// Import history from a JSON file (the `importRecords` input; see the README).
    Import(ImportConfig),
    /// Create an API key for an integration; prints the key (shown only this once).
    CreateApiKey(CreateApiKeyConfig),
    /// Recompute the funnel's and the no-show rate's summary cells from the deals and meetings
    /// (after changing them by hand in SQL).
    #[command(alias = "rebuild-funnel-cells")]
    RebuildCells,
    /// Inspect webhook endpoints and deliveries without GraphQL (an operator's view).
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
}

/// `crm-api webhooks`.
#[derive(Debug, Clone, Subcommand)]
pub enum WebhooksCommand {
    /// Every endpoint with its health, one per line.
    List,
    /// An endpoint's deliveries, newest first, one per line.
    Deliveries {
        /// The endpoint's global ID (as `list` prints it).
        endpoint_id: String,
        /// Only deliveries with this status: PENDING, DELIVERED or FAILED.
        #[arg(long)]
        status: Option<String>,
        /// How many (1–100).
        #[arg(long, default_value_t = 20)]
        limit: i32,
    },
}

/// `crm-api create-api-key`.
#[derive(Debug, Clone, Args)]
pub struct CreateApiKeyConfig {
    /// What the key is for, e.g. "BI export".
    #[arg(long)]
    pub name: String,

    /// ANALYST (read-only, no contact PII) or ADMIN.
    #[arg(long, default_value = "ANALYST")]
    pub role: String,

    /// Days until the key expires; never when omitted.
    #[arg(long)]
    pub expires_in_days: Option<u32>,

    /// Email of the ADMIN creating it (default: the first active admin).
    #[arg(long = "as")]
    pub as_email: Option<String>,
}

/// `crm-api import FILE.json`.
#[derive(Debug, Clone, Args)]
pub struct ImportConfig {
    /// The file: JSON (`{ "companies": [...], "contacts": [...], ... }`) or JSON Lines (one
    /// record per line with its `"type"`).
    pub file: std::path::PathBuf,

    /// Email of the ADMIN the import runs as (it owns records that name no owner).
    /// Defaults to the first active admin.
    #[arg(long = "as")]
    pub as_email: Option<String>,

    /// The file's format; by its extension when omitted (`.jsonl` and `.ndjson`: JSON Lines).
    #[arg(long, value_enum)]
    pub format: Option<ImportFormat>,

    /// Records per batch: each batch is checked and committed on its own, then the
    /// checkpoint moves past it.
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,

    /// All or nothing: check every record first (nothing is written if one is invalid),
    /// then write.
    #[arg(long)]
    pub atomic: bool,

    /// Check every record and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Continue from the checkpoint a stopped run left.
    #[arg(long)]
    pub resume: bool,

    /// The checkpoint file (default: the file's name with `.checkpoint` added).
    #[arg(long)]
    pub checkpoint: Option<std::path::PathBuf>,

    /// Writes every invalid record (JSON Lines: list, index, line, field, message) here.
    #[arg(long)]
    pub report: Option<std::path::PathBuf>,
}

/// The formats `crm-api import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportFormat {
    Json,
    Jsonl,
}

/// Where the data lives and how the pool behaves.
#[derive(Debug, Clone, Args)]
pub struct DbConfig {
    /// Database URL: `sqlite://FILE?mode=rwc` (embedded) or `postgres://user@host/db`.
    #[arg(long, env = "DATABASE_URL", default_value = "sqlite://crm.db?mode=rwc", global = true)]
    pub database_url: String,

    /// The organization's base currency (ISO 4217), which metrics total in; kept in the
    /// database on first start (`USD` when never set). It can change only while no exchange
    /// rate and no deal in another currency exists.
    #[arg(long, env = "CRM_BASE_CURRENCY", global = true)]
    pub base_currency: Option<String>,

    /// Optional read replica used for metric queries.
    #[arg(long, env = "DATABASE_READ_URL", global = true)]
    pub database_read_url: Option<String>,

    /// Maximum connections in the pool: 16 on PostgreSQL, 4 on SQLite when not set (each
    /// SQLite connection keeps its caches in this process, and one writer serves all).
    #[arg(long, env = "CRM_DB_MAX_CONNECTIONS", global = true)]
    pub db_max_connections: Option<u32>,

    /// How long a request waits for a pooled connection before failing with UNAVAILABLE (ms).
    #[arg(long, env = "CRM_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3000, global = true)]
    pub db_acquire_timeout_ms: u64,

    /// How long to wait for the database at connect time (ms).
    #[arg(long, env = "CRM_DB_CONNECT_TIMEOUT_MS", default_value_t = 5000, global = true)]
    pub db_connect_timeout_ms: u64,

    /// PostgreSQL `statement_timeout` (ms).
    #[arg(long, env = "CRM_DB_STATEMENT_TIMEOUT_MS", default_value_t = 5000, global = true)]
    pub db_statement_timeout_ms: u64,

    /// SQLite `busy_timeout`: how long a writer waits for the lock (ms).
    #[arg(long, env = "CRM_SQLITE_BUSY_TIMEOUT_MS", default_value_t = 5000, global = true)]
    pub sqlite_busy_timeout_ms: u64,

    /// Metric queries this process runs at once, each on connections of its own (a lane),
    /// so that they never take the connections reads and writes need.
    #[arg(long, env = "CRM_METRIC_CONCURRENCY", default_value_t = 4, global = true)]
    pub metric_concurrency: usize,
}

impl DbConfig {
    pub fn acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.db_acquire_timeout_ms)
    }
}

/// HTTP server, security and GraphQL limits.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Address to listen on.
    #[arg(long, env = "CRM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Fill an empty database with a demo organization before serving.
    #[arg(long, env = "CRM_DEMO")]
    pub demo: bool,

    #[command(flatten)]
    pub http: HttpConfig,

    #[command(flatten)]
    pub auth: AuthConfig,

    #[command(flatten)]
    pub limits: GraphqlLimits,

    #[command(flatten)]
    pub realtime: RealtimeConfig,

    #[command(flatten)]
    pub webhooks: WebhookConfig,
}

/// Webhook delivery (README "Webhooks").
#[derive(Debug, Clone, Args)]
pub struct WebhookConfig {
    /// Whether this process sends webhooks. Replicas that leave it to others (or a test
    /// that starts its own deliverer) set it to false; deliveries then wait in the database.
    #[arg(long = "webhook-deliver", env = "CRM_WEBHOOK_DELIVER", default_value_t = true, action = clap::ArgAction::Set)]
    pub deliver: bool,

    /// Let endpoints point to loopback, private and link-local addresses (tests, on-premise
    /// receivers). Off by default: a webhook URL must not reach into the server's network.
    #[arg(long, env = "CRM_WEBHOOK_ALLOW_PRIVATE_NETWORKS", default_value_t = false, action = clap::ArgAction::Set)]
    pub allow_private_networks: bool,

    /// Seconds one delivery attempt may take, connecting included.
    #[arg(long, env = "CRM_WEBHOOK_TIMEOUT_SECS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=60))]
    pub timeout_secs: u64,

    /// Milliseconds before the first retry; the rest of the schedule (30 s, 2 min, … up to
    /// 3 days at the default 5000) scales with it.
    #[arg(long, env = "CRM_WEBHOOK_RETRY_BASE_MS", default_value_t = 5000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub retry_base_ms: u64,

    /// Seconds without a successful delivery after which an endpoint is disabled.
    #[arg(long, env = "CRM_WEBHOOK_DISABLE_AFTER_SECS", default_value_t = 3 * 24 * 3600)]
    pub disable_after_secs: u64,

    /// Seconds the previous secret keeps signing after `rotateWebhookSecret`.
    #[arg(long, env = "CRM_WEBHOOK_SECRET_OVERLAP_SECS", default_value_t = 24 * 3600)]
    pub secret_overlap_secs: u64,

    /// Deliveries one process sends at once.
    #[arg(long, env = "CRM_WEBHOOK_CONCURRENCY", default_value_t = 8,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub concurrency: u32,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        defaults()
    }
}

/// The change log, subscriptions and their limits (README "Real-time").
#[derive(Debug, Clone, Args)]
pub struct RealtimeConfig {
    /// Days change events are kept; a feed cursor older than that is CURSOR_EXPIRED.
    #[arg(long, env = "CRM_CHANGE_RETENTION_DAYS", default_value_t = 30)]
    pub change_retention_days: u32,

    /// Hours a `clientKey` and its result are remembered (at least 24).
    #[arg(long, env = "CRM_IDEMPOTENCY_RETENTION_HOURS", default_value_t = 72,
          value_parser = clap::value_parser!(u32).range(24..))]
    pub idempotency_retention_hours: u32,

    /// Minutes between two purges of expired events and keys.
    #[arg(long, env = "CRM_PURGE_INTERVAL_MINUTES", default_value_t = 60)]
    pub purge_interval_minutes: u32,

    /// Subscriptions one WebSocket connection may hold at once.
    #[arg(long, env = "CRM_WS_MAX_SUBSCRIPTIONS", default_value_t = 20)]
    pub max_subscriptions: usize,

    /// WebSocket connections one credential may hold at once (per replica).
    #[arg(long, env = "CRM_WS_MAX_CONNECTIONS_PER_CREDENTIAL", default_value_t = 10)]
    pub max_connections_per_credential: usize,

    /// Messages queued for one WebSocket connection; a client that falls further behind
    /// is closed (4499) instead of growing memory.
    #[arg(long, env = "CRM_WS_EVENT_BUFFER", default_value_t = 1024)]
    pub event_buffer: usize,

    /// Seconds between keep-alive pings on idle WebSocket connections.
    #[arg(long, env = "CRM_WS_KEEPALIVE_SECS", default_value_t = 15)]
    pub keepalive_secs: u64,
}

impl Default for RealtimeConfig {
    fn default() -> Self {
        defaults()
    }
}

#[derive(Debug, Clone, Args)]
pub struct HttpConfig {
    /// Largest accepted request body (bytes).
    #[arg(long, env = "CRM_BODY_LIMIT_BYTES", default_value_t = 2 * 1024 * 1024)]
    pub body_limit_bytes: usize,

    /// Requests running longer than this are cancelled (seconds).
    #[arg(long, env = "CRM_REQUEST_TIMEOUT_SECS", default_value_t = 10)]
    pub request_timeout_secs: u64,

    /// On SIGTERM/Ctrl-C, how long in-flight requests may still run (seconds).
    #[arg(long, env = "CRM_SHUTDOWN_GRACE_SECS", default_value_t = 20)]
    pub shutdown_grace_secs: u64,

    /// Browser origins allowed by CORS, comma separated (none by default).
    #[arg(long, env = "CRM_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
}

impl Default for HttpConfig {
    fn default() -> Self {
        defaults()
    }
}

#[derive(Debug, Clone, Args)]
pub struct AuthConfig {
    /// HS256 secret for the tokens `login` issues. When unset, one is generated on first
    /// start and kept in the database so that every replica agrees.
    #[arg(long, env = "CRM_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,

    /// Lifetime of the tokens `login` issues (seconds).
    #[arg(long, env = "CRM_JWT_TTL_SECS", default_value_t = 8 * 3600)]
    pub jwt_ttl_secs: u64,

    /// How long (milliseconds) a checked user or API key row is reused before it is read
    /// again. Changes through this server apply at once; changes through another process
    /// (a second replica, the CLI) within this time. 0 reads the row on every request.
    #[arg(long, env = "CRM_CREDENTIAL_CACHE_MS", default_value_t = 2000)]
    pub credential_cache_ms: u64,

    /// Accept tokens from an external identity provider signed with this algorithm
    /// (RS256 or ES256). Needs a public key or JWKS file, an issuer and an audience.
    #[arg(long, env = "CRM_JWT_EXTERNAL_ALGORITHM")]
    pub jwt_external_algorithm: Option<String>,

    /// PEM file with the external provider's public key.
    #[arg(long, env = "CRM_JWT_EXTERNAL_PUBLIC_KEY_FILE")]
    pub jwt_external_public_key_file: Option<std::path::PathBuf>,

    /// JWKS file with the external provider's keys, chosen by the token's `kid`
    /// (read once at start; never fetched from a URL).
    #[arg(long, env = "CRM_JWT_EXTERNAL_JWKS_FILE")]
    pub jwt_external_jwks_file: Option<std::path::PathBuf>,

    /// Required `iss` of external tokens.
    #[arg(long, env = "CRM_JWT_EXTERNAL_ISSUER")]
    pub jwt_external_issuer: Option<String>,

    /// Required `aud` of external tokens.
    #[arg(long, env = "CRM_JWT_EXTERNAL_AUDIENCE")]
    pub jwt_external_audience: Option<String>,

    /// Claim of external tokens holding the email of a known, active user.
    #[arg(long, env = "CRM_JWT_EXTERNAL_USER_CLAIM", default_value = "email")]
    pub jwt_external_user_claim: String,

    /// `login` attempts per minute for one email (0: no limit).
    #[arg(long, env = "CRM_LOGIN_PER_EMAIL_PER_MINUTE", default_value_t = 10)]
    pub login_per_email_per_minute: u32,

    /// `login` attempts per minute from one client address (0: no limit).
    #[arg(long, env = "CRM_LOGIN_PER_ADDRESS_PER_MINUTE", default_value_t = 60)]
    pub login_per_address_per_minute: u32,

    /// Take the client address from the first `X-Forwarded-For` entry (only behind a proxy
    /// that sets it); otherwise the connection's peer address.
    #[arg(long, env = "CRM_TRUST_FORWARDED_FOR", default_value_t = false, action = clap::ArgAction::Set)]
    pub trust_forwarded_for: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        defaults()
    }
}

/// Limits that protect the server from expensive or abusive operations (SPEC section 7).
#[derive(Debug, Clone, Args)]
pub struct GraphqlLimits {
    /// Maximum query depth.
    #[arg(long, env = "CRM_MAX_DEPTH", default_value_t = 10)]
    pub max_depth: usize,

    /// Most an operation may cost (`graphql::cost`: every field 1, a page its size × what
    /// it selects).
    #[arg(long, env = "CRM_MAX_COMPLEXITY", default_value_t = 5000)]
    pub max_complexity: usize,

    /// Maximum depth of nested fragments.
    #[arg(long, env = "CRM_MAX_RECURSIVE_DEPTH", default_value_t = 32)]
    pub max_recursive_depth: usize,

    /// Maximum aliases in one operation.
    #[arg(long, env = "CRM_MAX_ALIASES", default_value_t = 15)]
    pub max_aliases: usize,

    /// Maximum directives on one field.
    #[arg(long, env = "CRM_MAX_DIRECTIVES", default_value_t = 10)]
    pub max_directives: usize,

    /// Allow introspection for authenticated callers (never for anonymous ones).
    #[arg(long, env = "CRM_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set)]
    pub introspection: bool,

    /// Cost points each user, API key or anonymous address may spend per minute, per
    /// replica (0: no budgets).
    #[arg(long, env = "CRM_COST_BUDGET_PER_MINUTE", default_value_t = 100_000)]
    pub cost_budget_per_minute: u32,

    /// Metric queries one user or API key may run at once.
    #[arg(long, env = "CRM_METRIC_CONCURRENCY_PER_CALLER", default_value_t = 2)]
    pub metric_concurrency_per_caller: usize,

    /// How long a metric query waits for its turn before RATE_LIMITED (ms).
    #[arg(long, env = "CRM_METRIC_WAIT_MS", default_value_t = 2000)]
    pub metric_wait_ms: u64,
}

impl Default for GraphqlLimits {
    fn default() -> Self {
        defaults()
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        defaults()
    }
}

/// Sizes of the generated data set.
#[derive(Debug, Clone, Args)]
pub struct SeedConfig {
    /// Random seed: the same seed and sizes give the same data.
    #[arg(long, env = "CRM_SEED", default_value_t = 42)]
    pub seed: u64,
    /// Number of teams.
    #[arg(long, default_value_t = 2)]
    pub teams: usize,
    /// Sales reps per team.
    #[arg(long, default_value_t = 3)]
    pub reps_per_team: usize,
    /// Number of contacts.
    #[arg(long, default_value_t = 300)]
    pub contacts: usize,
    /// Number of deals.
    #[arg(long, default_value_t = 400)]
    pub deals: usize,
    /// Number of meetings.
    #[arg(long, default_value_t = 600)]
    pub meetings: usize,
    /// Months of history to spread the records over.
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Last day of the generated history (YYYY-MM-DD, UTC); defaults to today. The same seed,
    /// sizes and end date always give the same data.
    #[arg(long, env = "CRM_SEED_END_DATE")]
    pub end_date: Option<chrono::NaiveDate>,
    /// Password of every generated user.
    #[arg(long, env = "CRM_SEED_PASSWORD", default_value = "demo-password", hide_env_values = true)]
    pub password: String,
    /// Print no progress line while inserting.
    #[arg(long)]
    pub quiet: bool,
}

impl Default for SeedConfig {
    /// The command line's defaults, but quiet: code that seeds prints no progress.
    fn default() -> Self {
        Self { quiet: true, ..defaults() }
    }
}

#[derive(Debug, Clone, Args)]
pub struct CreateUserConfig {
    /// Login email (unique).
    #[arg(long)]
    pub email: String,
    /// Display name.
    #[arg(long)]
    pub name: String,
    /// ADMIN, MANAGER, SALES_REP or ANALYST.
    #[arg(long, default_value = "ADMIN")]
    pub role: String,
    /// Password (read from CRM_USER_PASSWORD so it stays out of shell history).
    #[arg(long, env = "CRM_USER_PASSWORD", hide_env_values = true)]
    pub password: String,
    /// Name of the team to join; created when missing.
    #[arg(long)]
    pub team: Option<String>,
}

/// The defaults of a group of options: what the command line makes of no arguments and no
/// environment, so that every default is written once, in its `#[arg]`.
fn defaults<T: Args + FromArgMatches>() -> T {
    let command = T::augment_args(clap::Command::new("defaults")).mut_args(|arg| arg.env(None::<&'static str>));
    let matches = command.try_get_matches_from(["defaults"]).expect("every option of the group has a default");
    T::from_arg_matches(&matches).expect("the defaults make a valid group")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_command_lines() {
        let serve = ServeConfig::default();
        assert_eq!(serve.listen, SocketAddr::from(([127, 0, 0, 1], 8080)));
        assert!(!serve.demo);
        assert_eq!((serve.http.body_limit_bytes, serve.http.request_timeout_secs), (2 * 1024 * 1024, 10));
        assert_eq!((serve.limits.max_complexity, serve.limits.introspection), (5000, true));
        assert_eq!((serve.auth.jwt_ttl_secs, serve.auth.jwt_external_user_claim.as_str()), (8 * 3600, "email"));
        assert_eq!((serve.realtime.idempotency_retention_hours, serve.webhooks.deliver), (72, true));
        let seed = SeedConfig::default();
        assert_eq!((seed.seed, seed.contacts, seed.password.as_str(), seed.quiet), (42, 300, "demo-password", true));
    }
}
