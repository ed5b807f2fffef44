//! The whole data model of SPEC section 3, with the foreign keys, unique constraints and
//! the indexes the list filters and metric queries use.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every table's `id`, `created_at`, `updated_at`.
fn table(name: impl IntoIden + 'static) -> TableCreateStatement {
    Table::create()
        .table(name)
        .if_not_exists()
        .col(big_pk_auto(Alias::new("id")))
        .col(timestamp_with_time_zone(Alias::new("created_at")))
        .col(timestamp_with_time_zone(Alias::new("updated_at")))
        .to_owned()
}

/// Optimistic-concurrency `version` of mutable records.
fn version() -> ColumnDef {
    integer(Alias::new("version")).default(1).take()
}

fn fk(from_table: impl IntoIden, from_col: impl IntoIden, to_table: impl IntoIden) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .from(from_table, from_col)
        .to(to_table, Alias::new("id"))
        .on_delete(ForeignKeyAction::Restrict)
        .to_owned()
}

/// (table, index name, columns, unique): what list filters, lookups and metric queries use.
const INDEXES: &[(&str, &str, &[&str], bool)] = &[
    ("users", "ix_users_team", &["team_id"], false),
    ("stages", "ux_stages_pipeline_position", &["pipeline_id", "position"], true),
    ("contacts", "ix_contacts_owner_created", &["owner_id", "created_at"], false),
    ("contacts", "ix_contacts_created", &["created_at"], false),
    ("contacts", "ix_contacts_updated", &["updated_at"], false),
    ("deals", "ix_deals_owner_created", &["owner_id", "created_at"], false),
    ("deals", "ix_deals_pipeline_created", &["pipeline_id", "created_at"], false),
    ("deals", "ix_deals_stage", &["stage_id"], false),
    ("deals", "ix_deals_status_closed", &["status", "closed_at"], false),
    ("deals", "ix_deals_contact", &["contact_id"], false),
    ("deals", "ix_deals_updated", &["updated_at"], false),
    ("deal_stage_events", "ix_deal_stage_events_deal", &["deal_id", "moved_at"], false),
    ("deal_stage_events", "ix_deal_stage_events_moved", &["moved_at"], false),
    ("meetings", "ix_meetings_scheduled", &["scheduled_at"], false),
    ("meetings", "ix_meetings_owner_scheduled", &["owner_id", "scheduled_at"], false),
    ("meetings", "ix_meetings_contact", &["contact_id", "scheduled_at"], false),
    ("meetings", "ix_meetings_deal", &["deal_id"], false),
    ("meetings", "ix_meetings_updated", &["updated_at"], false),
    ("targets", "ix_targets_user", &["user_id"], false),
    ("targets", "ix_targets_team", &["team_id"], false),
    ("idempotency_keys", "ux_idempotency_keys_user_key", &["user_id", "client_key"], true),
];

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(table(Teams::Table).col(string_len(Teams::Name, 200)).col(version()).to_owned()).await?;

        m.create_table(
            table(Users::Table)
                .col(string_len_uniq(Users::Email, 320))
                .col(string_len(Users::Name, 200))
                .col(string_len(Users::Role, 16))
                .col(big_integer_null(Users::TeamId))
                .col(text_null(Users::PasswordHash))
                .col(boolean(Users::Active).default(true))
                .col(integer(Users::TokenVersion).default(0))
                .col(version())
                .foreign_key(&mut fk(Users::Table, Users::TeamId, Teams::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(Pipelines::Table)
                .col(string_len(Pipelines::Name, 200))
                .col(boolean(Pipelines::IsDefault).default(false))
                .col(version())
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(Stages::Table)
                .col(big_integer(Stages::PipelineId))
                .col(string_len(Stages::Name, 200))
                .col(integer(Stages::Position))
                .col(integer(Stages::Probability))
                .col(version())
                .foreign_key(&mut fk(Stages::Table, Stages::PipelineId, Pipelines::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(LostReasons::Table)
                .col(string_len(LostReasons::Name, 200))
                .col(boolean(LostReasons::Active).default(true))
                .col(version())
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(Contacts::Table)
                .col(big_integer(Contacts::OwnerId))
                .col(string_len(Contacts::FirstName, 200))
                .col(string_len(Contacts::LastName, 200))
                .col(string_len_null(Contacts::Email, 320))
                .col(string_len_null(Contacts::Phone, 64))
                .col(string_len_null(Contacts::Company, 200))
                .col(string_len_null(Contacts::Source, 100))
                .col(string_len(Contacts::Lifecycle, 16))
                .col(text_null(Contacts::DisqualifyReason))
                .col(timestamp_with_time_zone_null(Contacts::DisqualifiedAt))
                .col(big_integer(Contacts::AcquisitionCost).default(0))
                .col(string_len_null(Contacts::ExternalId, 255).unique_key())
                .col(version())
                .col(timestamp_with_time_zone_null(Contacts::DeletedAt))
                .foreign_key(&mut fk(Contacts::Table, Contacts::OwnerId, Users::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(Deals::Table)
                .col(big_integer(Deals::ContactId))
                .col(big_integer(Deals::OwnerId))
                .col(big_integer(Deals::PipelineId))
                .col(big_integer(Deals::StageId))
                .col(string_len(Deals::Title, 300))
                .col(big_integer(Deals::Amount).default(0))
                .col(string_len(Deals::Status, 8))
                .col(big_integer_null(Deals::LostReasonId))
                .col(text_null(Deals::LostNote))
                .col(date_null(Deals::ExpectedCloseDate))
                .col(timestamp_with_time_zone_null(Deals::ClosedAt))
                .col(timestamp_with_time_zone(Deals::StageEnteredAt))
                .col(integer(Deals::MaxStagePosition))
                .col(string_len_null(Deals::ExternalId, 255).unique_key())
                .col(version())
                .col(timestamp_with_time_zone_null(Deals::DeletedAt))
                .foreign_key(&mut fk(Deals::Table, Deals::ContactId, Contacts::Table))
                .foreign_key(&mut fk(Deals::Table, Deals::OwnerId, Users::Table))
                .foreign_key(&mut fk(Deals::Table, Deals::PipelineId, Pipelines::Table))
                .foreign_key(&mut fk(Deals::Table, Deals::StageId, Stages::Table))
                .foreign_key(&mut fk(Deals::Table, Deals::LostReasonId, LostReasons::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(DealStageEvents::Table)
                .col(big_integer(DealStageEvents::DealId))
                .col(big_integer_null(DealStageEvents::FromStageId))
                .col(big_integer(DealStageEvents::ToStageId))
                .col(timestamp_with_time_zone(DealStageEvents::MovedAt))
                .col(big_integer_null(DealStageEvents::MovedBy))
                .foreign_key(&mut fk(DealStageEvents::Table, DealStageEvents::DealId, Deals::Table))
                .foreign_key(&mut fk(DealStageEvents::Table, DealStageEvents::FromStageId, Stages::Table))
                .foreign_key(&mut fk(DealStageEvents::Table, DealStageEvents::ToStageId, Stages::Table))
                .foreign_key(&mut fk(DealStageEvents::Table, DealStageEvents::MovedBy, Users::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(Meetings::Table)
                .col(big_integer(Meetings::ContactId))
                .col(big_integer_null(Meetings::DealId))
                .col(big_integer(Meetings::OwnerId))
                .col(string_len(Meetings::Kind, 16))
                .col(timestamp_with_time_zone(Meetings::ScheduledAt))
                .col(integer(Meetings::DurationMinutes).default(30))
                .col(string_len(Meetings::Status, 16))
                .col(timestamp_with_time_zone_null(Meetings::OutcomeLoggedAt))
                .col(text_null(Meetings::Notes))
                .col(string_len_null(Meetings::ClientKey, 255).unique_key())
                .col(big_integer_null(Meetings::RescheduledToId))
                .col(string_len_null(Meetings::ExternalId, 255).unique_key())
                .col(version())
                .col(timestamp_with_time_zone_null(Meetings::DeletedAt))
                .foreign_key(&mut fk(Meetings::Table, Meetings::ContactId, Contacts::Table))
                .foreign_key(&mut fk(Meetings::Table, Meetings::DealId, Deals::Table))
                .foreign_key(&mut fk(Meetings::Table, Meetings::OwnerId, Users::Table))
                .foreign_key(&mut fk(Meetings::Table, Meetings::RescheduledToId, Meetings::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(Targets::Table)
                .col(big_integer_null(Targets::UserId))
                .col(big_integer_null(Targets::TeamId))
                .col(timestamp_with_time_zone(Targets::PeriodStart))
                .col(timestamp_with_time_zone(Targets::PeriodEnd))
                .col(big_integer(Targets::Amount))
                .col(version())
                .foreign_key(&mut fk(Targets::Table, Targets::UserId, Users::Table))
                .foreign_key(&mut fk(Targets::Table, Targets::TeamId, Teams::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(ApiKeys::Table)
                .col(string_len(ApiKeys::Name, 200))
                .col(string_len(ApiKeys::Role, 16))
                .col(string_len(ApiKeys::KeyPrefix, 32))
                .col(string_len_uniq(ApiKeys::KeyHash, 128))
                .col(big_integer_null(ApiKeys::CreatedBy))
                .col(timestamp_with_time_zone_null(ApiKeys::LastUsedAt))
                .col(timestamp_with_time_zone_null(ApiKeys::ExpiresAt))
                .col(timestamp_with_time_zone_null(ApiKeys::RevokedAt))
                .foreign_key(&mut fk(ApiKeys::Table, ApiKeys::CreatedBy, Users::Table))
                .to_owned(),
        )
        .await?;

        m.create_table(
            table(Settings::Table).col(string_len_uniq(Settings::Key, 100)).col(text(Settings::Value)).to_owned(),
        )
        .await?;

        m.create_table(
            table(IdempotencyKeys::Table)
                .col(big_integer(IdempotencyKeys::UserId))
                .col(string_len(IdempotencyKeys::ClientKey, 255))
                .col(string_len(IdempotencyKeys::Operation, 64))
                .col(string_len(IdempotencyKeys::RequestHash, 128))
                .col(text(IdempotencyKeys::Response))
                .to_owned(),
        )
        .await?;

        for (table, name, cols, unique) in INDEXES {
            let mut idx = Index::create();
            idx.name(*name).table(Alias::new(*table)).if_not_exists();
            for col in *cols {
                idx.col(Alias::new(*col));
            }
            if *unique {
                idx.unique();
            }
            m.create_index(idx.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for name in [
            "idempotency_keys",
            "settings",
            "api_keys",
            "targets",
            "meetings",
            "deal_stage_events",
            "deals",
            "contacts",
            "lost_reasons",
            "stages",
            "pipelines",
            "users",
            "teams",
        ] {
            m.drop_table(Table::drop().table(Alias::new(name)).if_exists().to_owned()).await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Teams {
    Table,
    Name,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Email,
    Name,
    Role,
    TeamId,
    PasswordHash,
    Active,
    TokenVersion,
}

#[derive(DeriveIden)]
enum Pipelines {
    Table,
    Name,
    IsDefault,
}

#[derive(DeriveIden)]
enum Stages {
    Table,
    PipelineId,
    Name,
    Position,
    Probability,
}

#[derive(DeriveIden)]
enum LostReasons {
    Table,
    Name,
    Active,
}

#[derive(DeriveIden)]
enum Contacts {
    Table,
    OwnerId,
    FirstName,
    LastName,
    Email,
    Phone,
    Company,
    Source,
    Lifecycle,
    DisqualifyReason,
    DisqualifiedAt,
    AcquisitionCost,
    ExternalId,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Deals {
    Table,
    ContactId,
    OwnerId,
    PipelineId,
    StageId,
    Title,
    Amount,
    Status,
    LostReasonId,
    LostNote,
    ExpectedCloseDate,
    ClosedAt,
    StageEnteredAt,
    MaxStagePosition,
    ExternalId,
    DeletedAt,
}

#[derive(DeriveIden)]
enum DealStageEvents {
    Table,
    DealId,
    FromStageId,
    ToStageId,
    MovedAt,
    MovedBy,
}

#[derive(DeriveIden)]
enum Meetings {
    Table,
    ContactId,
    DealId,
    OwnerId,
    Kind,
    ScheduledAt,
    DurationMinutes,
    Status,
    OutcomeLoggedAt,
    Notes,
    ClientKey,
    RescheduledToId,
    ExternalId,
    DeletedAt,
}

#[derive(DeriveIden)]
enum Targets {
    Table,
    UserId,
    TeamId,
    PeriodStart,
    PeriodEnd,
    Amount,
}

#[derive(DeriveIden)]
enum ApiKeys {
    Table,
    Name,
    Role,
    KeyPrefix,
    KeyHash,
    CreatedBy,
    LastUsedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
enum Settings {
    Table,
    Key,
    Value,
}

#[derive(DeriveIden)]
enum IdempotencyKeys {
    Table,
    UserId,
    ClientKey,
    Operation,
    RequestHash,
    Response,
}
