//! `crm-api import FILE.json`: imports history through the same code as `importRecords`.

use super::CliError;
use crate::config::{DbConfig, ImportConfig};
use crate::db;
use crate::graphql::mutation::import::{import_batch, parse_json};

pub async fn import(db_cfg: &DbConfig, cfg: ImportConfig) -> Result<(), CliError> {
    let text = std::fs::read_to_string(&cfg.file).map_err(|e| format!("cannot read {}: {e}", cfg.file.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not valid JSON: {e}", cfg.file.display()))?;
    let input = parse_json(json).map_err(super::describe)?;
    let dbs = db::connect_all(db_cfg).await?;
    db::migrate_with(&dbs.primary, db_cfg.base_currency.as_deref()).await?;
    let principal = super::acting_admin(&dbs.primary, cfg.as_email.as_deref()).await?;
    let summary = import_batch(&principal, &super::writer(&dbs), input).await.map_err(super::describe)?;
    eprintln!(
        "imported: companies {} created, {} updated; contacts {} created, {} updated; deals {} created, {} updated; \
         meetings {} created, {} updated; notes {} created, {} updated; tasks {} created, {} updated",
        summary.companies.created,
        summary.companies.updated,
        summary.contacts.created,
        summary.contacts.updated,
        summary.deals.created,
        summary.deals.updated,
        summary.meetings.created,
        summary.meetings.updated,
        summary.notes.created,
        summary.notes.updated,
        summary.tasks.created,
        summary.tasks.updated
    );
    Ok(())
}
