//! Credentials in tables of their own: a user's password hash moves from `users` to
//! `user_passwords`, an API key's hash from `api_keys` to `api_key_hashes`. Every read of a
//! user or a key (pages, loaders, joins) then reads no secret; only sign-in reads these.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DatabaseBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Alias::new("user_passwords"))
                .col(ColumnDef::new(Alias::new("user_id")).big_integer().not_null().primary_key())
                .col(ColumnDef::new(Alias::new("password_hash")).text().not_null())
                .foreign_key(
                    ForeignKey::create()
                        .from(Alias::new("user_passwords"), Alias::new("user_id"))
                        .to(Alias::new("users"), Alias::new("id")),
                )
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        let sqlite = db.get_database_backend() == DatabaseBackend::Sqlite;
        if sqlite {
            for statement in SQLITE_API_KEYS_NEW {
                db.execute_unprepared(statement).await?;
            }
        }
        // On SQLite the hashes refer to the rebuilt table, renamed to `api_keys` below.
        let keys_table = if sqlite { "api_keys_new" } else { "api_keys" };
        m.create_table(
            Table::create()
                .table(Alias::new("api_key_hashes"))
                .col(ColumnDef::new(Alias::new("api_key_id")).big_integer().not_null().primary_key())
                .col(ColumnDef::new(Alias::new("key_hash")).text().not_null().unique_key())
                .foreign_key(
                    ForeignKey::create()
                        .from(Alias::new("api_key_hashes"), Alias::new("api_key_id"))
                        .to(Alias::new(keys_table), Alias::new("id")),
                )
                .to_owned(),
        )
        .await?;
        db.execute_unprepared(
            "INSERT INTO user_passwords (user_id, password_hash) \
             SELECT id, password_hash FROM users WHERE password_hash IS NOT NULL",
        )
        .await?;
        db.execute_unprepared("INSERT INTO api_key_hashes (api_key_id, key_hash) SELECT id, key_hash FROM api_keys")
            .await?;
        m.alter_table(Table::alter().table(Alias::new("users")).drop_column(Alias::new("password_hash")).to_owned())
            .await?;
        if sqlite {
            // SQLite drops no UNIQUE column: the table is rebuilt without it. Nothing refers
            // to `api_keys` but the new hashes, whose reference follows the rename.
            for statement in SQLITE_API_KEYS_WITHOUT_HASH {
                db.execute_unprepared(statement).await?;
            }
            return Ok(());
        }
        m.alter_table(Table::alter().table(Alias::new("api_keys")).drop_column(Alias::new("key_hash")).to_owned()).await
    }

    async fn down(&self, _m: &SchemaManager) -> Result<(), DbErr> {
        Err(DbErr::Migration("credentials do not move back into users and api_keys".into()))
    }
}

/// `api_keys` as it was, without `key_hash`, filled from it.
const SQLITE_API_KEYS_NEW: [&str; 2] = [
    "CREATE TABLE api_keys_new (id integer NOT NULL PRIMARY KEY AUTOINCREMENT, \
     created_at timestamp_with_timezone_text NOT NULL, updated_at timestamp_with_timezone_text NOT NULL, \
     name varchar(200) NOT NULL, role varchar(16) NOT NULL, key_prefix varchar(32) NOT NULL, created_by integer NULL, \
     last_used_at timestamp_with_timezone_text NULL, expires_at timestamp_with_timezone_text NULL, \
     revoked_at timestamp_with_timezone_text NULL, \
     FOREIGN KEY (created_by) REFERENCES users (id) ON DELETE RESTRICT)",
    "INSERT INTO api_keys_new (id, created_at, updated_at, name, role, key_prefix, created_by, last_used_at, \
     expires_at, revoked_at) SELECT id, created_at, updated_at, name, role, key_prefix, created_by, last_used_at, \
     expires_at, revoked_at FROM api_keys",
];

const SQLITE_API_KEYS_WITHOUT_HASH: [&str; 2] = ["DROP TABLE api_keys", "ALTER TABLE api_keys_new RENAME TO api_keys"];
