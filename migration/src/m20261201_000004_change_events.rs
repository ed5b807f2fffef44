//! The change log (SPEC section 8.2): one row per changed record, appended in the
//! transaction of the change. `seq` is the cursor of the change feed and subscriptions.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // seq: BIGSERIAL on PostgreSQL, INTEGER PRIMARY KEY AUTOINCREMENT on SQLite, so a
        // purge that empties the table never lets a sequence number be handed out twice.
        let name = Alias::new;
        m.create_table(
            Table::create()
                .table(name("change_events"))
                .col(ColumnDef::new(name("seq")).big_integer().not_null().auto_increment().primary_key())
                .col(timestamp_with_time_zone(name("occurred_at")))
                .col(string(name("entity")))
                .col(big_integer(name("record_id")))
                .col(big_integer_null(name("owner_id")))
                .col(big_integer_null(name("previous_owner_id")))
                .col(string(name("op")))
                .col(string_null(name("kind")))
                .col(big_integer_null(name("actor_user_id")))
                .col(big_integer_null(name("actor_api_key_id")))
                .col(integer_null(name("version")))
                .col(text(name("changes")))
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        db.execute_unprepared("CREATE INDEX ix_change_events_occurred_at ON change_events (occurred_at)").await?;
        db.execute_unprepared("CREATE INDEX ix_idempotency_keys_created_at ON idempotency_keys (created_at)").await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP INDEX ix_idempotency_keys_created_at").await?;
        m.drop_table(Table::drop().table(Alias::new("change_events")).to_owned()).await
    }
}
