//! `TestApp`: one server on one fresh database, and helpers to talk GraphQL to it.

use std::future::Future;
use std::net::SocketAddr;

use api::config::{DbConfig, ServeConfig};
use api::db::Databases;
use api::service::users::{self, UserForCreate};
use api::service::work::{Actor, Writer};
use entity::enums::Role;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};
use serde_json::{Value, json};

pub const PASSWORD: &str = "correct horse battery";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A running server on its own database.
#[derive(Clone)]
pub struct TestApp {
    pub engine: Engine,
    pub addr: SocketAddr,
    pub url: String,
    pub db: DatabaseConnection,
    /// The server's own write path: writes made through it wake its subscribers at once.
    pub writer: Writer,
    /// The test database's URL (for processes of their own, e.g. a second replica).
    pub database_url: String,
    /// The pool the server's background work runs on.
    pub background_db: DatabaseConnection,
    pub http: reqwest::Client,
    /// SQL statements the server has run so far.
    pub statements: std::sync::Arc<api::db::StatementWatch>,
}

/// What must be removed after the test, whatever its outcome.
struct Cleanup {
    server: tokio::task::JoinHandle<()>,
    background: Vec<tokio::task::JoinHandle<()>>,
    background_db: DatabaseConnection,
    db: DatabaseConnection,
    drop: DropDb,
}

enum DropDb {
    SqliteFile(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

/// Runs `body` against a fresh app, then removes the database even when `body` panicked.
pub async fn run_test<F, Fut>(engine: Engine, body: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_test_with(engine, ServeConfig::default(), body).await
}

/// `run_test` with the server configured by `cfg`.
pub async fn run_test_with<F, Fut>(engine: Engine, cfg: ServeConfig, body: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => Some(
            std::env::var("CRM_TEST_POSTGRES_URL")
                .ok()
                .filter(|u| !u.is_empty())
                .expect("CRM_TEST_POSTGRES_URL must be set to run the PostgreSQL tests"),
        ),
    };
    run_configured(admin_url, cfg, body).await
}

/// `run_test` on the PostgreSQL server at `admin_url` (e.g. one of the test's own), or on
/// SQLite for `None`.
pub async fn run_test_at<F, Fut>(admin_url: Option<String>, body: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run_configured(admin_url, ServeConfig::default(), body).await
}

async fn run_configured<F, Fut>(admin_url: Option<String>, cfg: ServeConfig, body: F)
where
    F: FnOnce(TestApp) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (app, cleanup) = TestApp::start(admin_url, cfg).await;
    let outcome = tokio::spawn(body(app)).await;
    cleanup.run().await;
    if let Err(err) = outcome
        && err.is_panic()
    {
        std::panic::resume_unwind(err.into_panic());
    }
}

fn db_config(url: &str) -> DbConfig {
    DbConfig {
        base_currency: None,
        database_url: url.to_owned(),
        database_read_url: None,
        db_max_connections: Some(8),
        db_acquire_timeout_ms: 3000,
        db_connect_timeout_ms: 5000,
        db_statement_timeout_ms: 5000,
        sqlite_busy_timeout_ms: 5000,
        metric_concurrency: 4,
    }
}

impl TestApp {
    async fn start(admin_url: Option<String>, mut serve: ServeConfig) -> (TestApp, Cleanup) {
        let engine = if admin_url.is_some() { Engine::Postgres } else { Engine::Sqlite };
        let (url, drop) = blank_database(admin_url).await;
        let cfg = db_config(&url);
        let db = api::db::connect(&url, &cfg).await.expect("connect to the test database");
        api::db::migrate(&db).await.expect("migrations run");
        // The server's background work (change fan-out, LISTEN, purge) on a pool of its
        // own, so that `statements` counts only what requests run.
        let background_db = api::db::connect(&url, &cfg).await.expect("connect the background pool");
        let mut dbs = Databases::new(db.clone(), db.clone(), cfg.metric_concurrency);
        let statements = dbs.watch_statements();
        let db = dbs.primary.clone();
        // Credential rows stay cached for the whole test, so statement counts do not depend
        // on how long a slow machine takes between two requests.
        serve.auth.credential_cache_ms = 3_600_000;
        let state = api::app::build_state(dbs, serve).await.expect("app state");
        let background = api::app::spawn_background(&state, &background_db);
        let writer = state.services.writer.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let router = api::app::build_router(state);
        let server = tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.ok();
        });
        let http = reqwest::Client::new();
        let app = TestApp {
            engine,
            addr,
            url: format!("http://{addr}"),
            db: db.clone(),
            writer,
            database_url: url.clone(),
            background_db: background_db.clone(),
            http,
            statements,
        };
        (app, Cleanup { server, background, background_db, db, drop })
    }

    /// Another server on this test's database, with another configuration and its own
    /// background work (stopped with the test, when the shared pools close).
    pub async fn with_config(&self, cfg: ServeConfig) -> TestApp {
        let dbs = Databases::new(self.db.clone(), self.db.clone(), 4);
        let state = api::app::build_state(dbs, cfg).await.expect("app state");
        api::app::spawn_background(&state, &self.background_db);
        let writer = state.services.writer.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("local addr");
        let router = api::app::build_router(state);
        tokio::spawn(async move {
            axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await.ok();
        });
        TestApp { addr, url: format!("http://{addr}"), writer, ..self.clone() }
    }

    /// POSTs a GraphQL operation with any `Authorization` header value (or none).
    pub async fn gql_with_authorization(&self, authorization: Option<&str>, query: &str) -> Value {
        let mut req = self.http.post(format!("{}/graphql", self.url)).json(&json!({ "query": query }));
        if let Some(value) = authorization {
            req = req.header("authorization", value);
        }
        req.send().await.expect("request sent").json().await.expect("JSON response")
    }

    /// POSTs a GraphQL operation, with a bearer token when given, and returns the JSON body.
    pub async fn gql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req =
            self.http.post(format!("{}/graphql", self.url)).json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        req.send().await.expect("request sent").json().await.expect("JSON response")
    }

    /// Runs an operation that must succeed; returns its `data`.
    pub async fn ok(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(Some(token), query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// Runs an operation that must fail; returns the first error's `extensions`.
    pub async fn err(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql(Some(token), query, variables).await;
        assert!(body["errors"].is_array(), "expected an error: {body}");
        body["errors"][0]["extensions"].clone()
    }

    /// A team, created directly; returns its database id.
    pub async fn team(&self, name: &str) -> i64 {
        let mut work = self.writer.begin(Actor::default()).await.expect("work begun");
        let team = users::ensure_team(&mut work, name).await.expect("team created");
        work.commit().await.expect("team committed");
        team.id
    }

    /// Creates a user directly through the service layer; returns its database id.
    pub async fn create_user(&self, email: &str, role: Role, team_id: Option<i64>) -> i64 {
        let input = UserForCreate {
            email: email.into(),
            name: email.split('@').next().unwrap_or(email).into(),
            role,
            team_id,
            password: Some(PASSWORD.into()),
        };
        self.insert_user(input).await.id
    }

    async fn insert_user(&self, input: UserForCreate) -> entity::user::Model {
        let mut work = self.writer.begin(Actor::default()).await.expect("work begun");
        let user = users::create_user(&mut work, input).await.expect("user created");
        work.commit().await.expect("user committed");
        user
    }

    /// Logs in through the `login` mutation and returns the token.
    pub async fn login(&self, email: &str) -> String {
        let body = self
            .gql(
                None,
                "mutation($i: LoginInput!) { login(input: $i) { token } }",
                json!({ "i": { "email": email, "password": PASSWORD } }),
            )
            .await;
        body["data"]["login"]["token"].as_str().unwrap_or_else(|| panic!("login failed: {body}")).to_owned()
    }

    /// A user of `role` who is signed in: returns (user id, token).
    /// A user without a password and a session token minted with the server's own key:
    /// fast, for tests that need many users (`signed_in` goes through argon2 and `login`).
    pub async fn member(&self, email: &str, role: Role, team_id: Option<i64>) -> (i64, String) {
        let input = UserForCreate {
            email: email.into(),
            name: email.split('@').next().unwrap_or(email).into(),
            role,
            team_id,
            password: None,
        };
        let user = self.insert_user(input).await;
        let secret = api::auth::token::load_or_create_secret(&self.db, None).await.expect("session secret");
        let keys = api::auth::token::TokenKeys::from_secret(&secret, 3600);
        (user.id, keys.issue(user.id, user.token_version).expect("token issued").0)
    }

    pub async fn signed_in(&self, email: &str, role: Role, team_id: Option<i64>) -> (i64, String) {
        let id = self.create_user(email, role, team_id).await;
        (id, self.login(email).await)
    }

    /// `n` contacts `{prefix}0…` in one `importRecords` (one transaction: `n` events at once),
    /// owned by `owner_email` or the importing `admin`.
    pub async fn import_contacts(&self, admin: &str, prefix: &str, n: usize, owner_email: Option<&str>) {
        let contacts: Vec<Value> = (0..n)
            .map(|i| {
                json!({ "externalId": format!("{prefix}-{i}"), "firstName": format!("{prefix}{i}"), "ownerEmail": owner_email })
            })
            .collect();
        let import = "mutation($i: ImportRecordsInput!) { importRecords(input: $i) { contacts { created } } }";
        let data = self.ok(admin, import, json!({ "i": { "contacts": contacts } })).await;
        assert_eq!(data["importRecords"]["contacts"]["created"], n);
    }

    /// Runs an operation that must succeed and returns how many SQL statements it took.
    pub async fn statements_for(&self, token: &str, query: &str, variables: Value) -> u64 {
        let before = self.statements.count();
        self.ok(token, query, variables).await;
        (self.statements.count() - before) as u64
    }

    /// One integer from a SQL query (e.g. a COUNT), read straight from the database.
    pub async fn count(&self, sql: &str) -> i64 {
        let row = self
            .db
            .query_one_raw(Statement::from_string(self.db.get_database_backend(), sql.to_owned()))
            .await
            .expect("query runs")
            .expect("one row");
        row.try_get_by_index::<i64>(0).or_else(|_| row.try_get_by_index::<i32>(0).map(i64::from)).expect("an integer")
    }
}

/// A new, empty database (no migrations run): a temporary SQLite file, or a database on the
/// PostgreSQL server of `admin_url`. Returns its URL and how to remove it.
async fn blank_database(admin_url: Option<String>) -> (String, DropDb) {
    let name = format!("crm_test_{}", uuid::Uuid::new_v4().simple());
    match admin_url {
        None => {
            let path = std::env::temp_dir().join(format!("{name}.db"));
            (format!("sqlite://{}?mode=rwc", path.display()), DropDb::SqliteFile(path))
        }
        Some(admin_url) => {
            let admin = Database::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!("CRM_TEST_POSTGRES_URL is set but PostgreSQL is unreachable at {admin_url}: {e}")
            });
            admin
                .execute_unprepared(&format!("CREATE DATABASE {name}"))
                .await
                .unwrap_or_else(|e| panic!("cannot create test database {name}: {e}"));
            admin.close().await.ok();
            (with_database(&admin_url, &name), DropDb::Postgres { admin_url, name })
        }
    }
}

/// Runs `body` with the URL of a new, empty database of `engine` (for tests that run the
/// migrations step by step), then removes it even when `body` panicked.
pub async fn run_on_blank_database<F, Fut>(engine: Engine, body: F)
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let admin_url = match engine {
        Engine::Sqlite => None,
        Engine::Postgres => Some(
            std::env::var("CRM_TEST_POSTGRES_URL")
                .ok()
                .filter(|u| !u.is_empty())
                .expect("CRM_TEST_POSTGRES_URL must be set to run the PostgreSQL tests"),
        ),
    };
    let (url, drop) = blank_database(admin_url).await;
    let outcome = tokio::spawn(body(url)).await;
    drop.run().await;
    if let Err(err) = outcome
        && err.is_panic()
    {
        std::panic::resume_unwind(err.into_panic());
    }
}

impl Cleanup {
    async fn run(self) {
        self.server.abort();
        for task in self.background {
            task.abort();
        }
        self.background_db.close().await.ok();
        self.db.close().await.ok();
        self.drop.run().await;
    }
}

impl DropDb {
    async fn run(self) {
        match self {
            DropDb::SqliteFile(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    std::fs::remove_file(p).ok();
                }
            }
            DropDb::Postgres { admin_url, name } => {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.ok();
                    admin.close().await.ok();
                }
            }
        }
    }
}

/// The same server URL with another database name.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let authority_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let server = match base[authority_end..].find('/') {
        Some(slash) => &base[..authority_end + slash],
        None => base,
    };
    match query {
        Some(q) => format!("{server}/{name}?{q}"),
        None => format!("{server}/{name}"),
    }
}
