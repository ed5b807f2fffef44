//! Stale deals (SPEC section 10): a stage may say after how many days an open deal in it
//! is stale, and deals are indexed by stage and entry so the stale ones of a stage are an
//! index range.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("stages"))
                .add_column(ColumnDef::new(Alias::new("stale_after_days")).integer().null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_deals_stage_entered")
                .table(Alias::new("deals"))
                .col(Alias::new("stage_id"))
                .col(Alias::new("stage_entered_at"))
                .if_not_exists()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_deals_stage_entered").table(Alias::new("deals")).to_owned()).await?;
        m.alter_table(Table::alter().table(Alias::new("stages")).drop_column(Alias::new("stale_after_days")).to_owned())
            .await
    }
}
