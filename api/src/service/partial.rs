//! Models read from some of their columns (`Columns`), decoded by position: reading by name
//! costs a formatted prefix and a search over the column names per value. The fields of a
//! model that were not read hold placeholders that no field the query selected reads.

use entity::enums::{DealStatus, Lifecycle, MeetingKind, MeetingStatus, Role};
use entity::{contact, deal, meeting, stage, user};
use sea_orm::{DbErr, QueryResult};

use super::columns::{Columns, Numbered};

/// Reads `column` from `row` at its place in `set` (from `base`), or gives `absent` when the
/// set does not hold it: a partial model's unread fields hold placeholders that no field the
/// query selected reads.
fn value<C: Numbered, T: sea_orm::TryGetable>(
    row: &sea_orm::QueryResult,
    set: Columns<C>,
    base: usize,
    column: C,
    absent: T,
) -> Result<T, sea_orm::DbErr> {
    match set.at(column, base) {
        Some(i) => row.try_get_by_index(i),
        None => Ok(absent),
    }
}

pub fn deal_of(row: &QueryResult, set: Columns<deal::Column>, base: usize) -> Result<deal::Model, DbErr> {
    use deal::Column as C;
    let epoch = chrono::DateTime::UNIX_EPOCH;
    Ok(deal::Model {
        id: value(row, set, base, C::Id, 0)?,
        contact_id: value(row, set, base, C::ContactId, 0)?,
        company_id: value(row, set, base, C::CompanyId, None)?,
        owner_id: value(row, set, base, C::OwnerId, 0)?,
        pipeline_id: value(row, set, base, C::PipelineId, 0)?,
        stage_id: value(row, set, base, C::StageId, 0)?,
        title: value(row, set, base, C::Title, String::new())?,
        amount: value(row, set, base, C::Amount, 0)?,
        currency: value(row, set, base, C::Currency, None)?,
        status: value(row, set, base, C::Status, DealStatus::Open)?,
        lost_reason_id: value(row, set, base, C::LostReasonId, None)?,
        lost_note: value(row, set, base, C::LostNote, None)?,
        expected_close_date: value(row, set, base, C::ExpectedCloseDate, None)?,
        closed_at: value(row, set, base, C::ClosedAt, None)?,
        stage_entered_at: value(row, set, base, C::StageEnteredAt, epoch)?,
        max_stage_position: value(row, set, base, C::MaxStagePosition, 0)?,
        external_id: value(row, set, base, C::ExternalId, None)?,
        version: value(row, set, base, C::Version, 0)?,
        created_at: value(row, set, base, C::CreatedAt, epoch)?,
        updated_at: value(row, set, base, C::UpdatedAt, epoch)?,
        deleted_at: value(row, set, base, C::DeletedAt, None)?,
        custom_fields: value(row, set, base, C::CustomFields, serde_json::Value::Null)?,
    })
}

pub fn stage_of(row: &QueryResult, set: Columns<stage::Column>, base: usize) -> Result<stage::Model, DbErr> {
    use stage::Column as C;
    let epoch = chrono::DateTime::UNIX_EPOCH;
    Ok(stage::Model {
        id: value(row, set, base, C::Id, 0)?,
        pipeline_id: value(row, set, base, C::PipelineId, 0)?,
        name: value(row, set, base, C::Name, String::new())?,
        position: value(row, set, base, C::Position, 0)?,
        probability: value(row, set, base, C::Probability, 0)?,
        stale_after_days: value(row, set, base, C::StaleAfterDays, None)?,
        version: value(row, set, base, C::Version, 0)?,
        created_at: value(row, set, base, C::CreatedAt, epoch)?,
        updated_at: value(row, set, base, C::UpdatedAt, epoch)?,
    })
}

pub fn user_of(row: &QueryResult, set: Columns<user::Column>, base: usize) -> Result<user::Model, DbErr> {
    use user::Column as C;
    let epoch = chrono::DateTime::UNIX_EPOCH;
    Ok(user::Model {
        id: value(row, set, base, C::Id, 0)?,
        email: value(row, set, base, C::Email, String::new())?,
        name: value(row, set, base, C::Name, String::new())?,
        role: value(row, set, base, C::Role, Role::SalesRep)?,
        team_id: value(row, set, base, C::TeamId, None)?,
        active: value(row, set, base, C::Active, false)?,
        token_version: value(row, set, base, C::TokenVersion, 0)?,
        version: value(row, set, base, C::Version, 0)?,
        created_at: value(row, set, base, C::CreatedAt, epoch)?,
        updated_at: value(row, set, base, C::UpdatedAt, epoch)?,
    })
}

pub fn contact_of(row: &QueryResult, set: Columns<contact::Column>, base: usize) -> Result<contact::Model, DbErr> {
    use contact::Column as C;
    let epoch = chrono::DateTime::UNIX_EPOCH;
    Ok(contact::Model {
        id: value(row, set, base, C::Id, 0)?,
        owner_id: value(row, set, base, C::OwnerId, 0)?,
        first_name: value(row, set, base, C::FirstName, String::new())?,
        last_name: value(row, set, base, C::LastName, String::new())?,
        email: value(row, set, base, C::Email, None)?,
        phone: value(row, set, base, C::Phone, None)?,
        company_id: value(row, set, base, C::CompanyId, None)?,
        source: value(row, set, base, C::Source, None)?,
        lifecycle: value(row, set, base, C::Lifecycle, Lifecycle::Lead)?,
        disqualify_reason: value(row, set, base, C::DisqualifyReason, None)?,
        disqualified_at: value(row, set, base, C::DisqualifiedAt, None)?,
        acquisition_cost: value(row, set, base, C::AcquisitionCost, 0)?,
        external_id: value(row, set, base, C::ExternalId, None)?,
        version: value(row, set, base, C::Version, 0)?,
        created_at: value(row, set, base, C::CreatedAt, epoch)?,
        updated_at: value(row, set, base, C::UpdatedAt, epoch)?,
        deleted_at: value(row, set, base, C::DeletedAt, None)?,
        merged_into_id: value(row, set, base, C::MergedIntoId, None)?,
        custom_fields: value(row, set, base, C::CustomFields, serde_json::Value::Null)?,
    })
}

pub fn meeting_of(row: &QueryResult, set: Columns<meeting::Column>, base: usize) -> Result<meeting::Model, DbErr> {
    use meeting::Column as C;
    let epoch = chrono::DateTime::UNIX_EPOCH;
    Ok(meeting::Model {
        id: value(row, set, base, C::Id, 0)?,
        contact_id: value(row, set, base, C::ContactId, 0)?,
        deal_id: value(row, set, base, C::DealId, None)?,
        owner_id: value(row, set, base, C::OwnerId, 0)?,
        kind: value(row, set, base, C::Kind, MeetingKind::Call)?,
        scheduled_at: value(row, set, base, C::ScheduledAt, epoch)?,
        duration_minutes: value(row, set, base, C::DurationMinutes, 0)?,
        status: value(row, set, base, C::Status, MeetingStatus::Scheduled)?,
        outcome_logged_at: value(row, set, base, C::OutcomeLoggedAt, None)?,
        notes: value(row, set, base, C::Notes, None)?,
        client_key: value(row, set, base, C::ClientKey, None)?,
        rescheduled_to_id: value(row, set, base, C::RescheduledToId, None)?,
        followed_up: value(row, set, base, C::FollowedUp, false)?,
        external_id: value(row, set, base, C::ExternalId, None)?,
        version: value(row, set, base, C::Version, 0)?,
        created_at: value(row, set, base, C::CreatedAt, epoch)?,
        updated_at: value(row, set, base, C::UpdatedAt, epoch)?,
        deleted_at: value(row, set, base, C::DeletedAt, None)?,
    })
}
