//! Tasks (SPEC section 11): to-dos with a due time, an assignee and a priority, about at most
//! one contact, company or deal.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Tasks {
    Table,
    Id,
    Title,
    DueAt,
    Done,
    DoneAt,
    Priority,
    AssigneeId,
    CreatedBy,
    ContactId,
    CompanyId,
    DealId,
    ExternalId,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

fn reference(column: Tasks, table: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(Tasks::Table, column)
        .to(Alias::new(table), Alias::new("id"))
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Tasks::Table)
                .col(big_pk_auto(Tasks::Id))
                .col(string_len(Tasks::Title, 500))
                .col(timestamp_with_time_zone_null(Tasks::DueAt))
                .col(boolean(Tasks::Done).default(false))
                .col(timestamp_with_time_zone_null(Tasks::DoneAt))
                .col(string_len(Tasks::Priority, 16).default("NORMAL"))
                .col(big_integer(Tasks::AssigneeId))
                .col(big_integer(Tasks::CreatedBy))
                .col(big_integer_null(Tasks::ContactId))
                .col(big_integer_null(Tasks::CompanyId))
                .col(big_integer_null(Tasks::DealId))
                .col(string_len_null(Tasks::ExternalId, 255).unique_key())
                .col(integer(Tasks::Version).default(1))
                .col(timestamp_with_time_zone(Tasks::CreatedAt))
                .col(timestamp_with_time_zone(Tasks::UpdatedAt))
                .col(timestamp_with_time_zone_null(Tasks::DeletedAt))
                .foreign_key(&mut reference(Tasks::AssigneeId, "users"))
                .foreign_key(&mut reference(Tasks::CreatedBy, "users"))
                .foreign_key(&mut reference(Tasks::ContactId, "contacts"))
                .foreign_key(&mut reference(Tasks::CompanyId, "companies"))
                .foreign_key(&mut reference(Tasks::DealId, "deals"))
                .check(Expr::cust(
                    "(CASE WHEN contact_id IS NULL THEN 0 ELSE 1 END + CASE WHEN company_id IS NULL THEN 0 ELSE 1 END \
                     + CASE WHEN deal_id IS NULL THEN 0 ELSE 1 END) <= 1",
                ))
                .check(Expr::cust("priority IN ('LOW', 'NORMAL', 'HIGH')"))
                .to_owned(),
        )
        .await?;
        // A deal's next task and "open deals without a next task" look up open tasks by deal;
        // "my tasks" lists look them up by assignee.
        for (name, columns) in [
            ("ix_tasks_deal", [Tasks::DealId, Tasks::Done]),
            ("ix_tasks_contact", [Tasks::ContactId, Tasks::Done]),
            ("ix_tasks_company", [Tasks::CompanyId, Tasks::Done]),
            ("ix_tasks_assignee", [Tasks::AssigneeId, Tasks::Done]),
        ] {
            let mut index = Index::create().name(name).table(Tasks::Table).to_owned();
            for column in columns {
                index.col(column);
            }
            m.create_index(index.col(Tasks::DueAt).to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Tasks::Table).to_owned()).await
    }
}
