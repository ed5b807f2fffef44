//! Summary cells for the no-show rate: per scheduled day (UTC), owner and status, the
//! meetings and the no-shows followed up within the hour; and on each meeting whether it,
//! as a no-show, was followed up (decided by the write that makes it so). The server fills
//! both right after this migration (`api::db::migrate`) and keeps them in every write.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The migration's name, for the server to know when the cells need their first fill.
pub const NAME: &str = "m20261202_000007_meeting_cells";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("meetings"))
                .add_column(ColumnDef::new(Alias::new("followed_up")).boolean().not_null().default(false))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        // A day is a DATE on PostgreSQL and `YYYY-MM-DD` text on SQLite (what `date()` gives).
        let (day, rowid) = match db.get_database_backend() {
            DatabaseBackend::Postgres => ("DATE", ""),
            _ => ("TEXT", " WITHOUT ROWID"),
        };
        db.execute_unprepared(&format!(
            "CREATE TABLE meeting_cells (day {day} NOT NULL, owner_id BIGINT NOT NULL, status TEXT NOT NULL, \
             meetings BIGINT NOT NULL, followed_up BIGINT NOT NULL, PRIMARY KEY (day, owner_id, status)){rowid}"
        ))
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Alias::new("meeting_cells")).to_owned()).await?;
        m.alter_table(Table::alter().table(Alias::new("meetings")).drop_column(Alias::new("followed_up")).to_owned())
            .await
    }
}
