//! The funnel's summary cells per creation day as well as per month: a period of whole days
//! is then answered from month cells for its whole months and day cells for the rest. The
//! server fills them right after this migration (`api::db::migrate`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The migration's name, for the server to know when the cells need their first fill.
pub const NAME: &str = "m20261202_000009_funnel_day_cells";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        // As the month cells (m20261125_000003), with the UTC creation day (a DATE on
        // PostgreSQL, `YYYY-MM-DD` text on SQLite) in place of the month index.
        let (time, day, rowid) = match db.get_database_backend() {
            DatabaseBackend::Postgres => ("NUMERIC", "DATE", ""),
            _ => ("INTEGER", "TEXT", " WITHOUT ROWID"),
        };
        db.execute_unprepared(&format!(
            "CREATE TABLE funnel_deal_day_cells (pipeline_id BIGINT NOT NULL, created_day {day} NOT NULL, \
             owner_id BIGINT NOT NULL, source TEXT NOT NULL, status TEXT NOT NULL, \
             max_position INTEGER NOT NULL, stage_id BIGINT NOT NULL, deals BIGINT NOT NULL, \
             amount BIGINT NOT NULL, won_seconds BIGINT NOT NULL, PRIMARY KEY (pipeline_id, created_day, \
             owner_id, source, status, max_position, stage_id)){rowid}"
        ))
        .await?;
        db.execute_unprepared(&format!(
            "CREATE TABLE funnel_stay_day_cells (pipeline_id BIGINT NOT NULL, created_day {day} NOT NULL, \
             owner_id BIGINT NOT NULL, source TEXT NOT NULL, stage_id BIGINT NOT NULL, stays BIGINT NOT NULL, \
             closed_time {time} NOT NULL, open_stays BIGINT NOT NULL, open_since {time} NOT NULL, \
             PRIMARY KEY (pipeline_id, created_day, owner_id, source, stage_id)){rowid}"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Alias::new("funnel_stay_day_cells")).to_owned()).await?;
        m.drop_table(Table::drop().table(Alias::new("funnel_deal_day_cells")).to_owned()).await
    }
}
