//! Custom fields (SPEC section 11): ADMIN's field definitions per object, and each contact,
//! company and deal's values as one JSON object keyed by field key (`{}` when it has none):
//! JSONB with a GIN index on PostgreSQL, so that `@>` filters use it; JSON text on SQLite,
//! read with its JSON functions.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CustomFieldDefinitions {
    Table,
    Id,
    Object,
    Key,
    Label,
    FieldType,
    Options,
    Required,
    Archived,
    Version,
    CreatedAt,
    UpdatedAt,
}

const TABLES: [&str; 3] = ["contacts", "companies", "deals"];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CustomFieldDefinitions::Table)
                .col(big_pk_auto(CustomFieldDefinitions::Id))
                .col(string_len(CustomFieldDefinitions::Object, 16))
                .col(string_len(CustomFieldDefinitions::Key, 64))
                .col(string_len(CustomFieldDefinitions::Label, 200))
                .col(string_len(CustomFieldDefinitions::FieldType, 16))
                // The SELECT and MULTI_SELECT options as a JSON array of strings.
                .col(text(CustomFieldDefinitions::Options).default("[]"))
                .col(boolean(CustomFieldDefinitions::Required).default(false))
                .col(boolean(CustomFieldDefinitions::Archived).default(false))
                .col(integer(CustomFieldDefinitions::Version).default(1))
                .col(timestamp_with_time_zone(CustomFieldDefinitions::CreatedAt))
                .col(timestamp_with_time_zone(CustomFieldDefinitions::UpdatedAt))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_custom_field_definitions_object_key")
                .table(CustomFieldDefinitions::Table)
                .col(CustomFieldDefinitions::Object)
                .col(CustomFieldDefinitions::Key)
                .unique()
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        let postgres = db.get_database_backend() == DatabaseBackend::Postgres;
        for table in TABLES {
            if postgres {
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ADD COLUMN custom_fields JSONB NOT NULL DEFAULT '{{}}'::jsonb"
                ))
                .await?;
                db.execute_unprepared(&format!(
                    "CREATE INDEX ix_{table}_custom_fields ON {table} USING GIN (custom_fields jsonb_path_ops)"
                ))
                .await?;
            } else {
                db.execute_unprepared(&format!(
                    "ALTER TABLE {table} ADD COLUMN custom_fields TEXT NOT NULL DEFAULT '{{}}'"
                ))
                .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        for table in TABLES {
            if db.get_database_backend() == DatabaseBackend::Postgres {
                db.execute_unprepared(&format!("DROP INDEX IF EXISTS ix_{table}_custom_fields")).await?;
            }
            db.execute_unprepared(&format!("ALTER TABLE {table} DROP COLUMN custom_fields")).await?;
        }
        m.drop_table(Table::drop().table(CustomFieldDefinitions::Table).to_owned()).await
    }
}
