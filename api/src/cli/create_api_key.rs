//! `crm-api create-api-key`: a key for an integration, printed once to standard output.

use super::CliError;
use super::create_user::parse_role;
use crate::config::{CreateApiKeyConfig, DbConfig};
use crate::db;
use crate::service::api_keys::{self, ApiKeyForCreate};

pub async fn create_api_key(db_cfg: &DbConfig, cfg: CreateApiKeyConfig) -> Result<(), CliError> {
    let role = parse_role(&cfg.role)?;
    let dbs = db::connect_all(db_cfg).await?;
    db::migrate_with(&dbs.primary, db_cfg.base_currency.as_deref()).await?;
    let admin = super::acting_admin(&dbs.primary, cfg.as_email.as_deref()).await?;
    let expires_at = cfg.expires_in_days.map(|days| crate::service::now() + chrono::Duration::days(i64::from(days)));
    let (record, key) = api_keys::create(
        &admin,
        &super::writer(&dbs),
        ApiKeyForCreate { name: cfg.name, role: Some(role), expires_at },
    )
    .await
    .map_err(super::describe)?;
    eprintln!(
        "created API key {} ({:?}, prefix {}); it is shown only now:",
        record.name, record.role, record.key_prefix
    );
    println!("{key}");
    Ok(())
}
