//! The `crm-api` command line, built inside the test crate so the integration tests can
//! start real server processes (`CARGO_BIN_EXE_replica`): two of them on one database are
//! two replicas.

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = api::config::Cli::parse();
    match api::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
