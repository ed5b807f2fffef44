//! Keeps on each stage event when the deal left that stage (`left_at`, the next event's
//! `moved_at`), so time in stage is a plain sum instead of a window over every event, and
//! indexes meetings by contact and creation for the no-show follow-up lookup.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Alias::new("deal_stage_events"))
                .add_column(ColumnDef::new(Alias::new("left_at")).timestamp_with_time_zone().null())
                .to_owned(),
        )
        .await?;
        m.get_connection()
            .execute_unprepared(
                "UPDATE deal_stage_events SET left_at = n.next_at FROM (SELECT id, LEAD(moved_at) OVER \
                 (PARTITION BY deal_id ORDER BY moved_at, id) AS next_at FROM deal_stage_events) n \
                 WHERE n.id = deal_stage_events.id AND n.next_at IS NOT NULL",
            )
            .await?;
        m.create_index(
            Index::create()
                .name("ix_meetings_contact_created")
                .table(Alias::new("meetings"))
                .col(Alias::new("contact_id"))
                .col(Alias::new("created_at"))
                .if_not_exists()
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(Index::drop().name("ix_meetings_contact_created").table(Alias::new("meetings")).to_owned())
            .await?;
        m.alter_table(
            Table::alter().table(Alias::new("deal_stage_events")).drop_column(Alias::new("left_at")).to_owned(),
        )
        .await
    }
}
