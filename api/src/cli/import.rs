//! `crm-api import FILE.json`: imports history through the same code as `importRecords`.

use entity::enums::Role;
use entity::user;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};

use super::CliError;
use crate::auth::Principal;
use crate::config::{DbConfig, ImportConfig};
use crate::db;
use crate::error::ApiError;
use crate::graphql::mutation::import::{import_batch, parse_json};

pub async fn import(db_cfg: &DbConfig, cfg: ImportConfig) -> Result<(), CliError> {
    let text = std::fs::read_to_string(&cfg.file).map_err(|e| format!("cannot read {}: {e}", cfg.file.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not valid JSON: {e}", cfg.file.display()))?;
    let input = parse_json(json).map_err(describe)?;
    let dbs = db::connect_all(db_cfg).await?;
    db::migrate(&dbs.primary).await?;
    let mut admins = user::Entity::find()
        .filter(user::Column::Role.eq(Role::Admin))
        .filter(user::Column::Active.eq(true))
        .order_by_asc(user::Column::Id);
    if let Some(email) = &cfg.as_email {
        admins = admins.filter(user::Column::Email.eq(email.trim().to_lowercase()));
    }
    let admin = admins.one(&dbs.primary).await?.ok_or_else(|| match &cfg.as_email {
        Some(email) => format!("no active ADMIN has the email {email}"),
        None => "there is no active ADMIN yet: create one with `crm-api create-user --role ADMIN`".into(),
    })?;
    let principal = Principal { user_id: admin.id, role: admin.role, team_id: admin.team_id };
    let summary = import_batch(&principal, &dbs.primary, input).await.map_err(describe)?;
    eprintln!(
        "imported as {}: contacts {} created, {} updated; deals {} created, {} updated; meetings {} created, {} updated",
        admin.email,
        summary.contacts.created,
        summary.contacts.updated,
        summary.deals.created,
        summary.deals.updated,
        summary.meetings.created,
        summary.meetings.updated
    );
    Ok(())
}

/// Every bad record on its own line, so a long file can be fixed in one pass.
fn describe(err: ApiError) -> CliError {
    match err {
        ApiError::InvalidRecords(records) => {
            let lines: Vec<String> = records.iter().map(|r| format!("  {}: {}", r.path(), r.message)).collect();
            format!("{} invalid record(s); nothing was imported:\n{}", records.len(), lines.join("\n")).into()
        }
        ApiError::BadInput { field, message } => format!("{field}: {message}").into(),
        other => other.to_string().into(),
    }
}
