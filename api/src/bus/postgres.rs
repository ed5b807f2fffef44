//! The replicas' shared bus on PostgreSQL: one LISTEN connection per process. A commit's
//! NOTIFY carries only its highest `seq` (the events themselves are read from the table,
//! by `fanout`), or says that credentials changed.

use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{DatabaseBackend, DatabaseConnection};

use super::{Bus, CHANGES_CHANNEL, CREDENTIALS_CHANNEL};

const RETRY_AFTER: Duration = Duration::from_millis(500);

/// Feeds `bus` with every replica's notifications until the process ends; reconnects by
/// itself after a database outage. Nothing to do on SQLite.
pub async fn listen(bus: Bus, db: DatabaseConnection) {
    if db.get_database_backend() != DatabaseBackend::Postgres {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    let mut connected_before = false;
    loop {
        let mut listener = match PgListener::connect_with(&pool).await {
            Ok(l) => l,
            Err(err) => {
                tracing::warn!(error = %err, "LISTEN connection failed; retrying");
                tokio::time::sleep(RETRY_AFTER).await;
                continue;
            }
        };
        if let Err(err) = listener.listen_all([CHANGES_CHANNEL, CREDENTIALS_CHANNEL]).await {
            tracing::warn!(error = %err, "LISTEN failed; retrying");
            tokio::time::sleep(RETRY_AFTER).await;
            continue;
        }
        // Notifications sent while this process was not listening are gone: after a
        // reconnect, treat credentials as changed. (Before the first connect, during start,
        // nothing was cached for long.)
        if std::mem::replace(&mut connected_before, true) {
            bus.credentials_changed();
        }
        loop {
            match listener.try_recv().await {
                Ok(Some(note)) if note.channel() == CHANGES_CHANNEL => {
                    if let Ok(seq) = note.payload().parse::<i64>() {
                        bus.committed(seq);
                    }
                }
                Ok(Some(note)) if note.payload() != bus.origin() => bus.credentials_changed(),
                Ok(Some(_)) => {}
                Ok(None) => {
                    // The connection dropped; `try_recv` reconnects on the next call.
                    bus.credentials_changed();
                }
                Err(err) => {
                    tracing::warn!(error = %err, "LISTEN connection lost; reconnecting");
                    tokio::time::sleep(RETRY_AFTER).await;
                    break;
                }
            }
        }
    }
}
