//! Database connections: pool options, SQLite pragmas, PostgreSQL timeouts, migrations at
//! start, and the metric lanes (`lanes`).

pub mod lanes;

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseBackend, DatabaseConnection, DatabaseTransaction, DbErr,
    SqliteTransactionMode, TransactionOptions, TransactionTrait,
};

use crate::config::DbConfig;

/// Why the server could not start on its database; printed as one line.
#[derive(Debug, thiserror::Error)]
pub enum DbInitError {
    #[error("unsupported DATABASE_URL `{0}`: expected sqlite://… or postgres://…")]
    UnsupportedUrl(String),
    #[error("cannot connect to the database at {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("database migration failed: {0}")]
    Migrate(String),
}

/// The primary connection (reads and writes), the one metrics read from, and the lanes
/// metric queries run on.
#[derive(Clone, Debug)]
pub struct Databases {
    pub primary: DatabaseConnection,
    /// A read replica when `DATABASE_READ_URL` is set, else the primary.
    pub read: DatabaseConnection,
    /// Pools of their own on `read`, one per metric query that may run at once.
    pub lanes: Vec<lanes::Lane>,
}

impl Databases {
    pub fn new(primary: DatabaseConnection, read: DatabaseConnection, metric_concurrency: usize) -> Self {
        let lanes = lanes::open(&read, metric_concurrency);
        Self { primary, read, lanes }
    }

    /// Keeps the text of every SQL statement run through the primary pool and the lanes: how
    /// the tests show that a request's statement count does not grow with page size, and
    /// which statements read credentials.
    pub fn watch_statements(&mut self) -> std::sync::Arc<StatementWatch> {
        let watch = std::sync::Arc::new(StatementWatch::default());
        let observer = |seen: std::sync::Arc<StatementWatch>| {
            move |info: &sea_orm::metric::Info<'_>| {
                crate::telemetry::record_sql(info);
                seen.texts().push(info.statement.sql.clone());
            }
        };
        self.primary.set_metric_callback(observer(watch.clone()));
        for lane in &mut self.lanes {
            lane.observe(observer(watch.clone()));
        }
        watch
    }
}

/// The statements `Databases::watch_statements` saw, in the order they ran.
#[derive(Debug, Default)]
pub struct StatementWatch(std::sync::Mutex<Vec<String>>);

impl StatementWatch {
    fn texts(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn count(&self) -> usize {
        self.texts().len()
    }

    /// The text of every statement after the first `skip`.
    pub fn since(&self, skip: usize) -> Vec<String> {
        self.texts().iter().skip(skip).cloned().collect()
    }
}

pub async fn connect_all(cfg: &DbConfig) -> Result<Databases, DbInitError> {
    let primary = connect(&cfg.database_url, cfg).await?;
    let read = match &cfg.database_read_url {
        Some(url) => connect(url, cfg).await?,
        None => primary.clone(),
    };
    Ok(Databases::new(primary, read, cfg.metric_concurrency))
}

/// Opens a pool on `url` with the configured limits; SQLite gets WAL and a busy timeout so
/// concurrent writers wait instead of failing.
pub async fn connect(url: &str, cfg: &DbConfig) -> Result<DatabaseConnection, DbInitError> {
    let is_sqlite = url.starts_with("sqlite:");
    if !is_sqlite && !url.starts_with("postgres://") && !url.starts_with("postgresql://") {
        return Err(DbInitError::UnsupportedUrl(redact(url)));
    }
    let mut opts = ConnectOptions::new(url.to_owned());
    let busy = Duration::from_millis(cfg.sqlite_busy_timeout_ms);
    // SQLite: each connection's caches live in this process and writes take turns anyway;
    // on the benchmark's nested list 4 connections served 169 pages/s at a 96 MB peak where
    // 16 served 126 at 169 MB (BENCHMARKS.md).
    let default_size = if is_sqlite { 4 } else { 16 };
    opts.max_connections(cfg.db_max_connections.unwrap_or(default_size))
        .min_connections(if is_sqlite { 1 } else { 0 })
        .connect_timeout(Duration::from_millis(cfg.db_connect_timeout_ms))
        .acquire_timeout(cfg.acquire_timeout())
        .statement_timeout(Duration::from_millis(cfg.db_statement_timeout_ms))
        .sqlx_logging(false)
        // JIT compiling a metric's aggregate (PostgreSQL's default above a plan cost) took
        // seconds on 1M deals while the statement itself runs in a fraction of one.
        .map_sqlx_postgres_opts(|o| o.options([("jit", "off")]))
        .map_sqlx_sqlite_opts(move |o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(busy)
                .foreign_keys(true)
        });
    let mut db =
        Database::connect(opts).await.map_err(|e| DbInitError::Connect { url: redact(url), reason: one_line(&e) })?;
    crate::telemetry::count_sql(&mut db);
    db.ping().await.map_err(|e| DbInitError::Connect { url: redact(url), reason: one_line(&e) })?;
    Ok(db)
}

/// Applies pending migrations in one bulk transaction (`begin_bulk`). The funnel's and the
/// no-show rate's summary cells are filled in the same transaction as the migration creating them.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbInitError> {
    migrate_with(db, None).await
}

/// `migrate`, then makes `base_currency` (`CRM_BASE_CURRENCY`) the organization's base
/// currency if given (`currency::settle_base` says when it may not change).
pub async fn migrate_with(db: &DatabaseConnection, base_currency: Option<&str>) -> Result<(), DbInitError> {
    let failed = |e: DbErr| DbInitError::Migrate(one_line(&e));
    let tx = begin_bulk(db).await.map_err(failed)?;
    let pending = Migrator::get_pending_migrations(&tx).await.map_err(failed)?;
    let adds = |name: &str| pending.iter().any(|m| m.name() == name);
    let funnel_cells = adds(migration::m20261125_000003_funnel_cells::NAME)
        || adds(migration::m20261202_000009_funnel_day_cells::NAME)
        || adds(migration::m20261205_000014_currencies::NAME);
    let meeting_cells = adds(migration::m20261202_000007_meeting_cells::NAME);
    Migrator::up(&tx, None).await.map_err(failed)?;
    if funnel_cells {
        crate::service::metrics::funnel_cells::rebuild(&tx, None)
            .await
            .map_err(|e| DbInitError::Migrate(format!("filling the funnel cells: {e}")))?;
    }
    if meeting_cells {
        crate::service::metrics::meeting_cells::rebuild(&tx)
            .await
            .map_err(|e| DbInitError::Migrate(format!("filling the meeting cells: {e}")))?;
    }
    crate::service::currency::settle_base(&tx, base_currency).await.map_err(DbInitError::Migrate)?;
    tx.commit().await.map_err(failed)
}

/// Begins a write transaction for a bulk job (migrations, seeding): on PostgreSQL without
/// the request statement timeout, since a backfill over millions of rows takes longer than
/// any request may.
pub async fn begin_bulk(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    let tx = begin_write(db).await?;
    if db.get_database_backend() == DatabaseBackend::Postgres {
        tx.execute_unprepared("SET LOCAL statement_timeout = 0").await?;
    }
    Ok(tx)
}

/// Begins a write transaction. On SQLite it is `BEGIN IMMEDIATE`, which takes the write lock
/// up front: a deferred transaction that reads and then writes can fail with SQLITE_BUSY_SNAPSHOT
/// instead of waiting for the busy timeout.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    match db.get_database_backend() {
        DatabaseBackend::Sqlite => {
            db.begin_with_options(TransactionOptions {
                sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
                ..Default::default()
            })
            .await
        }
        _ => db.begin().await,
    }
}

/// Hides the password of a URL before it is printed or logged.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.find(':') {
                Some(colon) => format!("{}{}:***{}", &url[..scheme_end + 3], &creds[..colon], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn one_line(err: &impl std::fmt::Display) -> String {
    err.to_string().lines().next().unwrap_or_default().to_owned()
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn redact_hides_password_only() {
        assert_eq!(redact("postgres://bob:secret@db:5432/crm"), "postgres://bob:***@db:5432/crm");
        assert_eq!(redact("postgres://bob@db/crm"), "postgres://bob@db/crm");
        assert_eq!(redact("sqlite://crm.db?mode=rwc"), "sqlite://crm.db?mode=rwc");
    }
}
