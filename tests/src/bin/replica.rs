//! The `crm-api` command line, built inside the test crate so the integration tests can
//! start real server processes (`CARGO_BIN_EXE_replica`): two of them on one database are
//! two replicas.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    api::cli::main().await
}
