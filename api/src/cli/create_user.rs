//! `crm-api create-user`: adds a user who can log in (the first ADMIN, typically).

use entity::enums::Role;

use super::CliError;
use crate::config::{CreateUserConfig, DbConfig};
use crate::db;
use crate::service::users::{self, UserForCreate};
use crate::service::work::Actor;

pub async fn create_user(db_cfg: &DbConfig, cfg: CreateUserConfig) -> Result<(), CliError> {
    let role = parse_role(&cfg.role)?;
    let dbs = db::connect_all(db_cfg).await?;
    db::migrate_with(&dbs.primary, db_cfg.base_currency.as_deref()).await?;
    let explain = |e: crate::error::ApiError| match e {
        crate::error::ApiError::BadInput { field, message } => format!("{field} {message}"),
        other => other.to_string(),
    };
    // The team (when new) and the user commit together.
    let mut work = super::writer(&dbs).begin(Actor::default()).await.map_err(explain)?;
    let team_id = match cfg.team.as_deref() {
        Some(name) => Some(users::ensure_team(&mut work, name).await.map_err(explain)?.id),
        None => None,
    };
    let input = UserForCreate { email: cfg.email, name: cfg.name, role, team_id, password: Some(cfg.password) };
    let user = users::create_user(&mut work, input).await.map_err(explain)?;
    work.commit().await.map_err(explain)?;
    eprintln!("created user {} ({:?})", user.email, user.role);
    Ok(())
}

pub(super) fn parse_role(text: &str) -> Result<Role, CliError> {
    match text.to_ascii_uppercase().as_str() {
        "ADMIN" => Ok(Role::Admin),
        "MANAGER" => Ok(Role::Manager),
        "SALES_REP" => Ok(Role::SalesRep),
        "ANALYST" => Ok(Role::Analyst),
        _ => Err(format!("unknown role `{text}`: use ADMIN, MANAGER, SALES_REP or ANALYST").into()),
    }
}
