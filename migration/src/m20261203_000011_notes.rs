//! Notes (SPEC section 11): free text by a user about exactly one contact, company or deal.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Notes {
    Table,
    Id,
    AuthorId,
    OwnerId,
    ContactId,
    CompanyId,
    DealId,
    Body,
    ExternalId,
    Version,
    CreatedAt,
    UpdatedAt,
    DeletedAt,
}

fn reference(column: Notes, table: &str) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(Notes::Table, column)
        .to(Alias::new(table), Alias::new("id"))
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Notes::Table)
                .col(big_pk_auto(Notes::Id))
                .col(big_integer(Notes::AuthorId))
                .col(big_integer(Notes::OwnerId))
                .col(big_integer_null(Notes::ContactId))
                .col(big_integer_null(Notes::CompanyId))
                .col(big_integer_null(Notes::DealId))
                .col(text(Notes::Body))
                .col(string_len_null(Notes::ExternalId, 255).unique_key())
                .col(integer(Notes::Version).default(1))
                .col(timestamp_with_time_zone(Notes::CreatedAt))
                .col(timestamp_with_time_zone(Notes::UpdatedAt))
                .col(timestamp_with_time_zone_null(Notes::DeletedAt))
                .foreign_key(&mut reference(Notes::AuthorId, "users"))
                .foreign_key(&mut reference(Notes::OwnerId, "users"))
                .foreign_key(&mut reference(Notes::ContactId, "contacts"))
                .foreign_key(&mut reference(Notes::CompanyId, "companies"))
                .foreign_key(&mut reference(Notes::DealId, "deals"))
                .check(Expr::cust(
                    "(CASE WHEN contact_id IS NULL THEN 0 ELSE 1 END + CASE WHEN company_id IS NULL THEN 0 ELSE 1 END \
                     + CASE WHEN deal_id IS NULL THEN 0 ELSE 1 END) = 1",
                ))
                .to_owned(),
        )
        .await?;
        for (name, column) in [
            ("ix_notes_contact", Notes::ContactId),
            ("ix_notes_company", Notes::CompanyId),
            ("ix_notes_deal", Notes::DealId),
        ] {
            m.create_index(Index::create().name(name).table(Notes::Table).col(column).col(Notes::CreatedAt).to_owned())
                .await?;
        }
        m.create_index(Index::create().name("ix_notes_created").table(Notes::Table).col(Notes::CreatedAt).to_owned())
            .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Notes::Table).to_owned()).await
    }
}
