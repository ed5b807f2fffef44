//! `crm-api seed`: generated data of any size, deterministic for a given `--seed`.

use super::CliError;
use crate::config::{DbConfig, SeedConfig};
use crate::{db, seed};

pub async fn seed(db_cfg: &DbConfig, cfg: &SeedConfig) -> Result<(), CliError> {
    let dbs = db::connect_all(db_cfg).await?;
    db::migrate_with(&dbs.primary, db_cfg.base_currency.as_deref()).await?;
    if !seed::is_empty(&dbs.primary).await? {
        return Err("the database already has data; seed an empty database".into());
    }
    let summary = seed::generate(&dbs.primary, cfg).await?;
    eprintln!("seeded: {summary}");
    Ok(())
}
