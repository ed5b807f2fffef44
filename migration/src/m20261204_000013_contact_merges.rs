//! Merging duplicate contacts (SPEC section 11): a merged contact is soft-deleted and points
//! at the contact it was merged into.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let name = Alias::new;
        m.alter_table(
            Table::alter().table(name("contacts")).add_column(big_integer_null(name("merged_into_id"))).to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let name = Alias::new;
        m.alter_table(Table::alter().table(name("contacts")).drop_column(name("merged_into_id")).to_owned()).await
    }
}
