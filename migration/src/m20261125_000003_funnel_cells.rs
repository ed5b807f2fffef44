//! Summary cells for the funnel: per pipeline, owner, lead source and creation month, the
//! deal counts and sums the funnel groups by, and the stage stays. The server fills them
//! from the deals right after this migration (`api::db::migrate`) and keeps them in every
//! write transaction that changes a deal.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The migration's name, for the server to know when the cells need their first fill.
pub const NAME: &str = "m20261125_000003_funnel_cells";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        // Stay times are exact microsecond sums on PostgreSQL (NUMERIC cannot overflow) and
        // whole seconds on SQLite, matching how each engine's raw funnel sums them.
        let (time, rowid) = match db.get_database_backend() {
            DatabaseBackend::Postgres => ("NUMERIC", ""),
            _ => ("INTEGER", " WITHOUT ROWID"),
        };
        // `source` is '' for contacts without one (sources are never empty); `created_month`
        // is year × 12 + month − 1 of the deal's creation, in UTC.
        db.execute_unprepared(&format!(
            "CREATE TABLE funnel_deal_cells (pipeline_id BIGINT NOT NULL, created_month INTEGER NOT NULL, \
             owner_id BIGINT NOT NULL, source TEXT NOT NULL, status TEXT NOT NULL, \
             max_position INTEGER NOT NULL, stage_id BIGINT NOT NULL, deals BIGINT NOT NULL, \
             amount BIGINT NOT NULL, won_seconds BIGINT NOT NULL, PRIMARY KEY (pipeline_id, created_month, \
             owner_id, source, status, max_position, stage_id)){rowid}"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE TABLE funnel_stay_cells (pipeline_id BIGINT NOT NULL, created_month INTEGER NOT NULL, \
             owner_id BIGINT NOT NULL, source TEXT NOT NULL, stage_id BIGINT NOT NULL, stays BIGINT NOT NULL, \
             closed_time {time} NOT NULL, open_stays BIGINT NOT NULL, open_since {time} NOT NULL, \
             PRIMARY KEY (pipeline_id, created_month, owner_id, source, stage_id)){rowid}"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Alias::new("funnel_stay_cells")).to_owned()).await?;
        m.drop_table(Table::drop().table(Alias::new("funnel_deal_cells")).to_owned()).await
    }
}
