//! Metric lanes: small pools of their own on the metrics database, one per metric query
//! that may run at once (`CRM_METRIC_CONCURRENCY`), so that metric queries never hold the
//! connections reads and writes need, and what runs on a lane can be stopped when its
//! request is gone: on PostgreSQL with `pg_cancel_backend` of the lane's backends (found
//! by the lane's `application_name`), on SQLite through a progress handler that interrupts
//! the statement once the lane's flag is raised. A lane serves one metric query at a time
//! (`service::heavy`), so stopping it never touches anyone else's statement.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use sea_orm::sqlx::pool::PoolOptions;
use sea_orm::sqlx::{Postgres, Sqlite};
use sea_orm::{
    ConnectionTrait, DatabaseBackend, DatabaseConnection, SqlxPostgresConnector, SqlxSqliteConnector, Statement,
};

/// Statements of one metric query run side by side (the funnel's three): connections per lane.
const CONNECTIONS_PER_LANE: u32 = 3;

/// SQLite virtual-machine steps between two looks at the interrupt flag.
const STEPS_BETWEEN_CHECKS: i32 = 1000;

#[derive(Clone, Debug)]
pub struct Lane {
    pub db: DatabaseConnection,
    /// SQLite: raised to interrupt what runs on the lane.
    interrupt: Arc<AtomicBool>,
    /// PostgreSQL: the `application_name` of the lane's connections.
    application_name: String,
}

/// `n` lanes (at least one) on the database `read` connects to, with its options.
pub fn open(read: &DatabaseConnection, n: usize) -> Vec<Lane> {
    (0..n.max(1)).map(|i| Lane::open(read, i)).collect()
}

impl Lane {
    fn open(read: &DatabaseConnection, index: usize) -> Self {
        let interrupt = Arc::new(AtomicBool::new(false));
        let application_name = format!("crm-metrics-{}-{index}", uuid::Uuid::new_v4().simple());
        let db = match read.get_database_backend() {
            DatabaseBackend::Postgres => {
                let options = read.get_postgres_connection_pool().connect_options();
                // A plan for each execution's own parameters: after five executions of a
                // prepared statement PostgreSQL may switch to one generic plan, and the
                // generic plan of a metric's scan over 1M deals had no parallel workers (the
                // custom one had two; BENCHMARKS.md). Planning costs a millisecond, a
                // metric's scan hundreds.
                let options = (*options)
                    .clone()
                    .application_name(&application_name)
                    .options([("plan_cache_mode", "force_custom_plan")]);
                let pool = PoolOptions::<Postgres>::new()
                    .max_connections(CONNECTIONS_PER_LANE)
                    .min_connections(0)
                    .acquire_timeout(read.get_postgres_connection_pool().options().get_acquire_timeout())
                    .connect_lazy_with(options);
                SqlxPostgresConnector::from_sqlx_postgres_pool(pool)
            }
            _ => {
                let options = (*read.get_sqlite_connection_pool().connect_options()).clone();
                let flag = interrupt.clone();
                let pool = PoolOptions::<Sqlite>::new()
                    .max_connections(CONNECTIONS_PER_LANE)
                    .min_connections(0)
                    .acquire_timeout(read.get_sqlite_connection_pool().options().get_acquire_timeout())
                    .after_connect(move |conn, _| {
                        let flag = flag.clone();
                        Box::pin(async move {
                            let go_on = move || !flag.load(Ordering::Relaxed);
                            conn.lock_handle().await?.set_progress_handler(STEPS_BETWEEN_CHECKS, go_on);
                            Ok(())
                        })
                    })
                    .connect_lazy_with(options);
                SqlxSqliteConnector::from_sqlx_sqlite_pool(pool)
            }
        };
        let mut lane = Self { db, interrupt, application_name };
        crate::telemetry::count_sql(&mut lane.db);
        lane
    }

    /// Stops whatever runs on the lane. `other` is a connection to the same database that
    /// is not the lane (PostgreSQL asks it to cancel the lane's backends).
    pub async fn stop(&self, other: &DatabaseConnection) {
        match self.db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let cancel = Statement::from_sql_and_values(
                    DatabaseBackend::Postgres,
                    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity \
                     WHERE application_name = $1 AND state <> 'idle'",
                    [self.application_name.clone().into()],
                );
                if let Err(e) = other.execute_raw(cancel).await {
                    tracing::warn!(error = %e, "could not cancel a metric query");
                }
            }
            _ => self.interrupt.store(true, Ordering::Relaxed),
        }
    }

    /// Lets statements run on the lane again after `stop`.
    pub fn resume(&self) {
        self.interrupt.store(false, Ordering::Relaxed);
    }

    /// No connection of the lane is in use.
    pub fn is_quiet(&self) -> bool {
        match self.db.get_database_backend() {
            DatabaseBackend::Postgres => {
                let pool = self.db.get_postgres_connection_pool();
                pool.num_idle() == pool.size() as usize
            }
            _ => {
                let pool = self.db.get_sqlite_connection_pool();
                pool.num_idle() == pool.size() as usize
            }
        }
    }

    /// Sets `callback` as the lane's statement observer (the tests count statements).
    pub fn observe(&mut self, callback: impl Fn(&sea_orm::metric::Info<'_>) + Send + Sync + 'static) {
        self.db.set_metric_callback(callback);
    }
}
