//! The `crm-api` subcommands.

mod create_user;
mod import;
mod seed;
mod serve;

use crate::config::{Cli, Command, ServeConfig};
use crate::db;

/// A failure of a command, printed as one line by `main`.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let command = cli.command.unwrap_or(Command::Serve(ServeConfig::default()));
    init_logging(&cli.log, matches!(command, Command::Serve(_)));
    match command {
        Command::Serve(cfg) => serve::serve(&cli.db, cfg).await,
        Command::Migrate => {
            let dbs = db::connect_all(&cli.db).await?;
            db::migrate(&dbs.primary).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Seed(cfg) => seed::seed(&cli.db, &cfg).await,
        Command::ExportSchema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::CreateUser(cfg) => create_user::create_user(&cli.db, cfg).await,
        Command::Import(cfg) => import::import(&cli.db, cfg).await,
    }
}

/// JSON logs for the server (one object per line, with the request id), plain text for
/// one-shot commands. Both go to stderr so `export-schema` output stays clean.
fn init_logging(filter: &str, json: bool) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json { builder.json().with_current_span(true).try_init() } else { builder.try_init() };
}
