//! Multiple currencies (SPEC section 11): a deal's currency (NULL: the organization's base
//! currency), ADMIN's exchange rates by date, and the funnel's deal cells keyed by currency
//! and, for a closed deal in another currency, the day whose rate converts it. The server
//! refills the cells right after this migration (`api::db::migrate`).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The migration's name, for the server to know when the cells need their refill.
pub const NAME: &str = "m20261205_000014_currencies";

#[derive(DeriveIden)]
enum ExchangeRates {
    Table,
    Id,
    Currency,
    Day,
    Rate,
    UpdatedBy,
    CreatedAt,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(ExchangeRates::Table)
                .col(big_pk_auto(ExchangeRates::Id))
                .col(string_len(ExchangeRates::Currency, 3))
                .col(date(ExchangeRates::Day))
                // A decimal kept as text ("1.0850"): exact on both engines; only Rust reads it.
                .col(string_len(ExchangeRates::Rate, 32))
                .col(big_integer_null(ExchangeRates::UpdatedBy))
                .col(timestamp_with_time_zone(ExchangeRates::CreatedAt))
                .col(timestamp_with_time_zone(ExchangeRates::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_exchange_rates_currency_day")
                .table(ExchangeRates::Table)
                .col(ExchangeRates::Currency)
                .col(ExchangeRates::Day)
                .unique()
                .to_owned(),
        )
        .await?;
        let name = Alias::new;
        m.alter_table(Table::alter().table(name("deals")).add_column(string_len_null(name("currency"), 3)).to_owned())
            .await?;

        // The cells are derived data: recreated with the wider key, then refilled.
        recreate_deal_cells(m, true).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        recreate_deal_cells(m, false).await?;
        let name = Alias::new;
        m.alter_table(Table::alter().table(name("deals")).drop_column(name("currency")).to_owned()).await?;
        m.drop_table(Table::drop().table(ExchangeRates::Table).to_owned()).await
    }
}

/// Drops both deal cell tables and creates them empty, keyed by currency and rate day
/// (`by_currency`) or as before this migration.
async fn recreate_deal_cells(m: &SchemaManager<'_>, by_currency: bool) -> Result<(), DbErr> {
    let db = m.get_connection();
    let (day, rowid) = match db.get_database_backend() {
        DatabaseBackend::Postgres => ("DATE", ""),
        _ => ("TEXT", " WITHOUT ROWID"),
    };
    let (columns, key) = match by_currency {
        true => (" currency TEXT NOT NULL, rate_day TEXT NOT NULL,", ", currency, rate_day"),
        false => ("", ""),
    };
    for (table, created, kind) in
        [("funnel_deal_cells", "created_month", "INTEGER"), ("funnel_deal_day_cells", "created_day", day)]
    {
        db.execute_unprepared(&format!("DROP TABLE {table}")).await?;
        db.execute_unprepared(&format!(
            "CREATE TABLE {table} (pipeline_id BIGINT NOT NULL, {created} {kind} NOT NULL, \
             owner_id BIGINT NOT NULL, source TEXT NOT NULL, status TEXT NOT NULL, \
             max_position INTEGER NOT NULL, stage_id BIGINT NOT NULL,{columns} deals BIGINT NOT NULL, \
             amount BIGINT NOT NULL, won_seconds BIGINT NOT NULL, PRIMARY KEY (pipeline_id, {created}, \
             owner_id, source, status, max_position, stage_id{key})){rowid}"
        ))
        .await?;
    }
    Ok(())
}
