//! Webhooks (SPEC section 8.6): endpoints, one delivery row per endpoint and event, and
//! every attempt of a delivery. Change events also keep the record as it was after the
//! change, so a webhook carries the record of its own moment, not a later one.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::*;
use sea_orm_migration::sea_orm::ConnectionTrait;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let name = Alias::new;
        m.alter_table(Table::alter().table(name("change_events")).add_column(text_null(name("record"))).to_owned())
            .await?;
        m.create_table(
            Table::create()
                .table(name("webhook_endpoints"))
                .col(big_pk_auto(name("id")))
                .col(text(name("url")))
                .col(text_null(name("description")))
                .col(text(name("event_types")))
                .col(text(name("secret")))
                .col(text_null(name("previous_secret")))
                .col(timestamp_with_time_zone_null(name("previous_secret_expires_at")))
                .col(boolean(name("enabled")))
                .col(timestamp_with_time_zone_null(name("disabled_at")))
                .col(text_null(name("disabled_reason")))
                .col(big_integer(name("enqueued_through")))
                .col(timestamp_with_time_zone_null(name("last_success_at")))
                .col(timestamp_with_time_zone_null(name("failing_since")))
                .col(big_integer_null(name("created_by")))
                .col(integer(name("version")))
                .col(timestamp_with_time_zone(name("created_at")))
                .col(timestamp_with_time_zone(name("updated_at")))
                .col(timestamp_with_time_zone_null(name("deleted_at")))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(name("webhook_deliveries"))
                .col(big_pk_auto(name("id")))
                .col(big_integer(name("endpoint_id")))
                .col(big_integer_null(name("event_seq")))
                .col(string(name("message_id")))
                .col(string(name("event_type")))
                .col(string_null(name("entity")))
                .col(big_integer_null(name("record_id")))
                .col(text(name("payload")))
                .col(string(name("trigger")))
                .col(string(name("status")))
                .col(integer(name("attempt_count")))
                .col(timestamp_with_time_zone(name("next_attempt_at")))
                .col(timestamp_with_time_zone_null(name("lease_until")))
                .col(timestamp_with_time_zone(name("created_at")))
                .col(timestamp_with_time_zone_null(name("finished_at")))
                .foreign_key(
                    ForeignKey::create()
                        .from(name("webhook_deliveries"), name("endpoint_id"))
                        .to(name("webhook_endpoints"), name("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(name("webhook_attempts"))
                .col(big_pk_auto(name("id")))
                .col(big_integer(name("delivery_id")))
                .col(timestamp_with_time_zone(name("attempted_at")))
                .col(integer_null(name("status_code")))
                .col(integer(name("latency_ms")))
                .col(text_null(name("response_body")))
                .col(text_null(name("error")))
                .col(string(name("outcome")))
                .foreign_key(
                    ForeignKey::create()
                        .from(name("webhook_attempts"), name("delivery_id"))
                        .to(name("webhook_deliveries"), name("id"))
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for statement in [
            // What is due: only pending rows are indexed, so the index stays small.
            "CREATE INDEX ix_webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'PENDING'",
            // In order per record: is an earlier delivery of this record still pending?
            "CREATE INDEX ix_webhook_deliveries_record ON webhook_deliveries (endpoint_id, entity, record_id, \
             event_seq) WHERE status = 'PENDING'",
            "CREATE INDEX ix_webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id)",
            "CREATE INDEX ix_webhook_deliveries_created_at ON webhook_deliveries (created_at)",
            "CREATE INDEX ix_webhook_attempts_delivery ON webhook_attempts (delivery_id, id)",
        ] {
            db.execute_unprepared(statement).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let name = Alias::new;
        for table in ["webhook_attempts", "webhook_deliveries", "webhook_endpoints"] {
            m.drop_table(Table::drop().table(name(table)).to_owned()).await?;
        }
        m.alter_table(Table::alter().table(name("change_events")).drop_column(name("record")).to_owned()).await
    }
}
