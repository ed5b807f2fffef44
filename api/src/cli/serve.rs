//! `crm-api serve`: migrate, optionally load the demo organization, and serve until SIGTERM.

use std::time::Duration;

use tokio::net::TcpListener;

use super::CliError;
use crate::app::{build_router, build_state, spawn_background};
use crate::config::{DbConfig, SeedConfig, ServeConfig};
use crate::{db, seed};

pub async fn serve(db_cfg: &DbConfig, cfg: ServeConfig) -> Result<(), CliError> {
    let dbs = db::connect_all(db_cfg).await?;
    db::migrate_with(&dbs.primary, db_cfg.base_currency.as_deref()).await?;
    if cfg.demo {
        load_demo(&dbs.primary).await?;
    }
    let listen = cfg.listen;
    let grace = Duration::from_secs(cfg.http.shutdown_grace_secs);
    let primary = dbs.primary.clone();
    let state = build_state(dbs, cfg).await?;
    crate::telemetry::run_upkeep();
    let _background = spawn_background(&state, &primary);
    let listener = TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    tracing::info!(address = %listen, "crm-api listening; GraphiQL at http://{listen}/graphql");

    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let server =
        axum::serve(listener, build_router(state).into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async move {
                shutdown_signal().await;
                tracing::info!("shutting down: finishing in-flight requests");
                let _ = stop_tx.send(true);
            });
    let grace_expired = async move {
        let _ = stop_rx.wait_for(|stopped| *stopped).await;
        tokio::time::sleep(grace).await;
    };
    tokio::select! {
        result = server => result?,
        () = grace_expired => tracing::warn!("grace period over; exiting with requests still in flight"),
    }
    tracing::info!("stopped");
    Ok(())
}

async fn load_demo(db: &sea_orm::DatabaseConnection) -> Result<(), CliError> {
    let demo = SeedConfig::default();
    if seed::is_empty(db).await? {
        let summary = seed::generate(db, &demo).await?;
        eprintln!("demo organization loaded: {summary}");
    } else {
        eprintln!("database already has data; --demo loaded nothing");
    }
    eprintln!(
        "sign in with the login mutation as {} (password `{}`); other demo users are listed in the README",
        seed::DEMO_ADMIN_EMAIL,
        demo.password
    );
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut sig) => {
                sig.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
