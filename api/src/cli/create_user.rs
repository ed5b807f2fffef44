//! `crm-api create-user`: adds a user who can log in (the first ADMIN, typically).

use entity::enums::Role;

use super::CliError;
use crate::config::{CreateUserConfig, DbConfig};
use crate::db;
use crate::service::users::{self, UserForCreate};

pub async fn create_user(db_cfg: &DbConfig, cfg: CreateUserConfig) -> Result<(), CliError> {
    let role = parse_role(&cfg.role)?;
    let dbs = db::connect_all(db_cfg).await?;
    db::migrate(&dbs.primary).await?;
    let team_id = match cfg.team.as_deref() {
        Some(name) => Some(users::ensure_team(&dbs.primary, name).await?.id),
        None => None,
    };
    let user = users::create_user(
        &dbs.primary,
        UserForCreate { email: cfg.email, name: cfg.name, role, team_id, password: Some(cfg.password) },
    )
    .await
    .map_err(|e| match e {
        crate::error::ApiError::BadInput { field, message } => format!("{field} {message}"),
        other => other.to_string(),
    })?;
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
