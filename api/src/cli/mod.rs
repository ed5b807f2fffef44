//! The `crm-api` subcommands.

mod create_api_key;
mod create_user;
mod import;
mod seed;
mod serve;
mod webhooks;

use crate::config::{Cli, Command};
use crate::db;

/// A failure of a command, printed as one line by `main`.
pub type CliError = Box<dyn std::error::Error + Send + Sync>;

/// The ADMIN a one-shot command acts as: `--as EMAIL`, or the first active admin.
async fn acting_admin(
    db: &sea_orm::DatabaseConnection,
    email: Option<&str>,
) -> Result<crate::auth::Principal, CliError> {
    use entity::{enums::Role, user};
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
    let mut admins = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Id);
    if let Some(email) = email {
        admins = admins.filter(user::Column::Email.eq(email.trim().to_lowercase()));
    }
    let admin = admins.one(db).await?.ok_or_else(|| match email {
        Some(email) => format!("no active ADMIN has the email {email}"),
        None => "there is no active ADMIN yet: create one with `crm-api create-user --role ADMIN`".into(),
    })?;
    eprintln!("acting as {}", admin.email);
    Ok(crate::service::users::principal_of(&admin))
}

/// The write path of a one-shot command: nobody in this process listens, but on
/// PostgreSQL its commits still notify the serving replicas.
fn writer(dbs: &db::Databases) -> crate::service::work::Writer {
    crate::service::work::Writer::new(dbs.primary.clone(), crate::bus::Bus::detached())
}

/// Every bad record on its own line, so a long file can be fixed in one pass.
pub(crate) fn describe(err: crate::error::ApiError) -> CliError {
    match err {
        crate::error::ApiError::InvalidRecords(records) => {
            let lines: Vec<String> = records.iter().map(|r| format!("  {}: {}", r.path(), r.message)).collect();
            format!("{} invalid record(s); nothing was imported:\n{}", records.len(), lines.join("\n")).into()
        }
        crate::error::ApiError::BadInput { field, message } => format!("{field}: {message}").into(),
        other => other.to_string().into(),
    }
}

/// The whole `crm-api` program: parses the command line, runs the command, and reports a
/// failure as one line on stderr.
pub async fn main() -> std::process::ExitCode {
    use clap::Parser;
    match run(Cli::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}

pub async fn run(cli: Cli) -> Result<(), CliError> {
    let command = cli.command.unwrap_or_else(|| Command::Serve(Box::default()));
    init_logging(&cli.log, matches!(command, Command::Serve(_)));
    match command {
        Command::Serve(cfg) => serve::serve(&cli.db, *cfg).await,
        Command::Migrate => {
            let dbs = db::connect_all(&cli.db).await?;
            db::migrate_with(&dbs.primary, cli.db.base_currency.as_deref()).await?;
            eprintln!("migrations applied");
            Ok(())
        }
        Command::Seed(cfg) => seed::seed(&cli.db, &cfg).await,
        Command::RebuildCells => {
            let dbs = db::connect_all(&cli.db).await?;
            db::migrate_with(&dbs.primary, cli.db.base_currency.as_deref()).await?;
            // A bulk unit of work recomputes every cell when it commits.
            let work = writer(&dbs).begin_bulk(crate::service::work::Actor::default()).await.map_err(describe)?;
            work.commit().await.map_err(describe)?;
            eprintln!("summary cells rebuilt");
            Ok(())
        }
        Command::ExportSchema => {
            print!("{}", crate::graphql::sdl());
            Ok(())
        }
        Command::CreateUser(cfg) => create_user::create_user(&cli.db, cfg).await,
        Command::Import(cfg) => import::import(&cli.db, cfg).await,
        Command::CreateApiKey(cfg) => create_api_key::create_api_key(&cli.db, cfg).await,
        Command::Webhooks(cmd) => webhooks::webhooks(&cli.db, cmd).await,
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
