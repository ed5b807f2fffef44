//! Integration-test harness: a fresh database per test, migrated by the real migrations,
//! and the real router served on a loopback socket.
//!
//! `db_test!` turns one test body into `NAME::sqlite` and `NAME::postgres`. The PostgreSQL
//! variant runs when `CRM_TEST_POSTGRES_URL` is set (a fresh database is created and dropped
//! per test) and fails loudly when that server cannot be reached.

#![allow(clippy::unwrap_used)]

mod app;
pub mod bench;
pub mod private_pg;
pub mod receiver;
pub mod replica;
pub mod ws;

pub use app::{Engine, PASSWORD, TestApp, run_on_blank_database, run_test, run_test_at, run_test_with};

/// Installs the JavaScript clients (`scripts/js-clients`, from their package-lock.json) and
/// returns the path of one of their scripts in `clients/js`.
pub fn js_client(script: &str) -> String {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let installed = std::process::Command::new(format!("{root}/scripts/js-clients")).status().expect("npm runs");
    assert!(installed.success(), "scripts/js-clients failed");
    format!("{root}/clients/js/{script}")
}

/// A server configuration: the defaults with `change` applied.
pub fn configured(change: impl FnOnce(&mut api::config::ServeConfig)) -> api::config::ServeConfig {
    let mut cfg = api::config::ServeConfig::default();
    change(&mut cfg);
    cfg
}

/// Lowercase hex SHA-256 of `text` (API key hashes, persisted-query hashes).
pub fn sha256_hex(text: &str) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(text.as_bytes()))
}

/// The global ID clients see for a database id (same encoding as the server).
pub fn gid(kind: &str, id: i64) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{kind}:{id}"))
}
pub use serde_json::{Value, json};

/// Defines `mod $name { fn sqlite(); fn postgres(); }` running `$body` against each engine.
#[macro_export]
macro_rules! db_test {
    ($name:ident, config = $cfg:expr, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::run_test_with($crate::Engine::Sqlite, $cfg, |$app: $crate::TestApp| async move $body).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(crm_test_postgres), ignore = "set CRM_TEST_POSTGRES_URL to run on PostgreSQL")]
            async fn postgres() {
                $crate::run_test_with($crate::Engine::Postgres, $cfg, |$app: $crate::TestApp| async move $body)
                    .await
            }
        }
    };
    ($name:ident, |$app:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                $crate::run_test($crate::Engine::Sqlite, |$app: $crate::TestApp| async move $body).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(crm_test_postgres), ignore = "set CRM_TEST_POSTGRES_URL to run on PostgreSQL")]
            async fn postgres() {
                $crate::run_test($crate::Engine::Postgres, |$app: $crate::TestApp| async move $body).await
            }
        }
    };
}
