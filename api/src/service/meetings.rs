//! Meetings: scheduling, outcome logging (idempotent with a `clientKey`), scoped reads.

use chrono::{DateTime, Duration, Utc};
use entity::enums::{MeetingKind, MeetingStatus};
use entity::meeting::{self, Column};
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, NotSet, QueryFilter, Select, Set};
use serde::Serialize;

use super::columns::Columns;
use super::filter::{self, OneOf, Range};
use super::idempotency::Claim;
use super::page::{self, KeyKind, Page, PageRequest, Partial, SortKey};
use super::scope::{ensure_can_own, ensure_can_write, owner_condition};
use super::work::{Begun, Target, Work, Writer};
use super::{contacts, deals, read, validate};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

const LABEL: &str = "Meeting";
/// A device clock may run a little ahead; outcomes logged further in the future are refused.
const CLOCK_SKEW_MINUTES: i64 = 5;

#[derive(Debug, Clone, Default)]
pub struct MeetingFilter {
    pub ids: Option<OneOf<i64>>,
    pub owner: Option<OneOf<i64>>,
    pub contact: Option<OneOf<i64>>,
    pub deal: Option<OneOf<i64>>,
    pub kind: Option<OneOf<MeetingKind>>,
    pub status: Option<OneOf<MeetingStatus>>,
    pub scheduled_at: Option<Range<DateTime<Utc>>>,
    pub updated_at: Option<Range<DateTime<Utc>>>,
    pub include_deleted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // the GraphQL names: SCHEDULED_AT, CREATED_AT, UPDATED_AT
pub enum MeetingSort {
    ScheduledAt,
    CreatedAt,
    UpdatedAt,
}

pub fn visible(principal: &Principal) -> Select<meeting::Entity> {
    meeting::Entity::find().filter(owner_condition(principal, Column::OwnerId))
}

pub fn query(principal: &Principal, f: &MeetingFilter) -> Select<meeting::Entity> {
    let mut cond = Condition::all();
    cond = filter::one_of(cond, Column::Id, &f.ids);
    cond = filter::one_of(cond, Column::OwnerId, &f.owner);
    cond = filter::one_of(cond, Column::ContactId, &f.contact);
    cond = filter::one_of(cond, Column::DealId, &f.deal);
    cond = filter::one_of(cond, Column::Kind, &f.kind);
    cond = filter::one_of(cond, Column::Status, &f.status);
    cond = filter::range(cond, Column::ScheduledAt, &f.scheduled_at);
    cond = filter::range(cond, Column::UpdatedAt, &f.updated_at);
    cond = filter::deleted(cond, Column::DeletedAt, f.include_deleted);
    visible(principal).filter(cond)
}

fn col(c: Column) -> Expr {
    Expr::col((meeting::Entity, c))
}

pub async fn list(
    principal: &Principal,
    db: &impl ConnectionTrait,
    f: &MeetingFilter,
    order: &[(MeetingSort, bool)],
    page: &PageRequest,
    asked: Columns<Column>,
) -> ApiResult<Page<meeting::Model>> {
    type M = meeting::Model;
    let order = if order.is_empty() { &[(MeetingSort::ScheduledAt, true)][..] } else { order };
    let keys = order
        .iter()
        .map(|&(field, desc)| match field {
            MeetingSort::ScheduledAt => {
                SortKey::new(col(Column::ScheduledAt), KeyKind::Time, desc, |m: &M| m.scheduled_at.into())
            }
            MeetingSort::CreatedAt => {
                SortKey::new(col(Column::CreatedAt), KeyKind::Time, desc, |m: &M| m.created_at.into())
            }
            MeetingSort::UpdatedAt => {
                SortKey::new(col(Column::UpdatedAt), KeyKind::Time, desc, |m: &M| m.updated_at.into())
            }
        })
        .collect();
    let keys = page::with_id_tiebreak(keys, col(Column::Id), |m: &M| m.id.into());
    // The cursors hold the sort keys and the id.
    let sorted = order.iter().map(|(sort, _)| match sort {
        MeetingSort::ScheduledAt => Column::ScheduledAt,
        MeetingSort::CreatedAt => Column::CreatedAt,
        MeetingSort::UpdatedAt => Column::UpdatedAt,
    });
    let columns = sorted.fold(asked.with(Column::Id), Columns::with);
    let partial = Partial { columns, decode: super::partial::meeting_of };
    page::fetch_partial(db, query(principal, f), &keys, page, partial).await
}

pub async fn get(principal: &Principal, db: &impl ConnectionTrait, id: i64) -> ApiResult<meeting::Model> {
    read::one(db, visible(principal), (Column::Id, Column::DeletedAt), id, LABEL).await
}

pub async fn by_ids(principal: &Principal, db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<Vec<meeting::Model>> {
    read::many(db, visible(principal), (Column::Id, Column::DeletedAt), ids).await
}

/// The latest `limit` visible meetings (by scheduled time) of each parent, in one
/// statement; `parent` is the contact or deal column.
pub async fn latest_of(
    principal: &Principal,
    db: &impl ConnectionTrait,
    parent: Column,
    parent_ids: &[i64],
    limit: u64,
) -> ApiResult<Vec<meeting::Model>> {
    let name = if matches!(parent, Column::DealId) { "deal_id" } else { "contact_id" };
    let order = "scheduled_at DESC, id DESC";
    read::latest_per_parent(db, visible(principal), (parent, Column::DeletedAt), name, order, parent_ids, limit).await
}

/// A meeting to put in the calendar.
#[derive(Debug, Clone, Serialize)]
pub struct MeetingForSchedule {
    pub contact_id: i64,
    pub deal_id: Option<i64>,
    pub owner_id: Option<i64>,
    pub kind: MeetingKind,
    pub scheduled_at: DateTime<Utc>,
    pub duration_minutes: Option<i32>,
    pub notes: Option<String>,
    pub client_key: Option<String>,
}

/// A meeting's length in minutes: 1 to a day.
fn duration_of(minutes: i32) -> ApiResult<i32> {
    match (1..=24 * 60).contains(&minutes) {
        true => Ok(minutes),
        false => Err(ApiError::bad_input("durationMinutes", "must be between 1 and 1440")),
    }
}

/// Schedules a meeting. With a `client_key`, a retry returns the first meeting.
pub async fn schedule(principal: &Principal, w: &Writer, input: MeetingForSchedule) -> ApiResult<meeting::Model> {
    ensure_can_write(principal)?;
    let claim =
        input.client_key.as_deref().map(|k| Claim::new(principal.user_id, k, "scheduleMeeting", &input)).transpose()?;
    let mut work = match w.begin_keyed(principal, claim.as_ref()).await? {
        Begun::Replay(response) => return get(principal, &w.db, parse_id(&response)?).await,
        Begun::Fresh(work) => *work,
    };
    let created = insert_meeting(principal, &mut work, &input).await?;
    work.commit_with(&created.id.to_string()).await?;
    Ok(created)
}

async fn insert_meeting(
    principal: &Principal,
    work: &mut Work,
    input: &MeetingForSchedule,
) -> ApiResult<meeting::Model> {
    let db = work.db();
    let mut checks = validate::Checks::default();
    let duration = checks.take(duration_of(input.duration_minutes.unwrap_or(30)));
    checks.take(validate::plausible("scheduledAt", input.scheduled_at));
    let notes = checks.take(validate::optional("notes", input.notes.clone(), 5000));
    let owner_id = input.owner_id.unwrap_or(principal.user_id);
    ensure_can_own(principal, db, owner_id).await?;
    let contact = contacts::get(principal, db, input.contact_id).await;
    checks.take(contact.map(drop).map_err(|_| ApiError::bad_input("contactId", "no such contact")));
    if let Some(deal_id) = input.deal_id {
        let deal = deals::get(principal, db, deal_id).await.map_err(|_| ApiError::bad_input("dealId", "no such deal"));
        checks.take(deal.and_then(|deal| match deal.contact_id == input.contact_id {
            true => Ok(()),
            false => Err(ApiError::bad_input("dealId", "the deal belongs to another contact")),
        }));
    }
    checks.done()?;
    let now = super::now();
    let row = meeting::ActiveModel {
        id: NotSet,
        contact_id: Set(input.contact_id),
        deal_id: Set(input.deal_id),
        owner_id: Set(owner_id),
        kind: Set(input.kind),
        scheduled_at: Set(validate::micros(input.scheduled_at)),
        duration_minutes: Set(duration),
        status: Set(MeetingStatus::Scheduled),
        outcome_logged_at: Set(None),
        notes: Set(notes),
        client_key: Set(input.client_key.clone()),
        rescheduled_to_id: Set(None),
        followed_up: Set(false),
        external_id: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    work.insert(row).await
}

/// What happened to a meeting, as logged by its owner (possibly later, from a device).
#[derive(Debug, Clone, Serialize)]
pub struct OutcomeForLog {
    pub meeting_id: i64,
    pub version: Option<i32>,
    pub status: MeetingStatus,
    pub notes: Option<String>,
    /// The new time, for RESCHEDULED.
    pub rescheduled_to: Option<DateTime<Utc>>,
    /// When the outcome was recorded on the device; now when absent.
    pub logged_at: Option<DateTime<Utc>>,
    pub client_key: Option<String>,
}

/// The logged meeting and, for RESCHEDULED, the meeting that replaces it.
pub struct Logged {
    pub meeting: meeting::Model,
    pub replacement: Option<meeting::Model>,
}

pub async fn log_outcome(principal: &Principal, w: &Writer, input: OutcomeForLog) -> ApiResult<Logged> {
    ensure_can_write(principal)?;
    let claim = input
        .client_key
        .as_deref()
        .map(|k| Claim::new(principal.user_id, k, "logMeetingOutcome", &input))
        .transpose()?;
    let mut work = match w.begin_keyed(principal, claim.as_ref()).await? {
        Begun::Replay(response) => {
            let (id, replacement) = response.split_once(':').unwrap_or((response.as_str(), ""));
            let replacement = match replacement {
                "" => None,
                r => Some(get(principal, &w.db, parse_id(r)?).await?),
            };
            return Ok(Logged { meeting: get(principal, &w.db, parse_id(id)?).await?, replacement });
        }
        Begun::Fresh(work) => *work,
    };
    let logged = apply_outcome(principal, &mut work, &input).await?;
    let response = match &logged.replacement {
        Some(r) => format!("{}:{}", logged.meeting.id, r.id),
        None => logged.meeting.id.to_string(),
    };
    work.commit_with(&response).await?;
    Ok(logged)
}

async fn apply_outcome(principal: &Principal, work: &mut Work, input: &OutcomeForLog) -> ApiResult<Logged> {
    if input.status == MeetingStatus::Scheduled {
        return Err(ApiError::bad_input("status", "an outcome is COMPLETED, NO_SHOW, CANCELED or RESCHEDULED"));
    }
    match (input.status, input.rescheduled_to) {
        (MeetingStatus::Rescheduled, None) => {
            return Err(ApiError::bad_input("rescheduledTo", "is required to reschedule"));
        }
        (MeetingStatus::Rescheduled, Some(at)) => validate::plausible("rescheduledTo", at)?,
        (_, Some(_)) => return Err(ApiError::bad_input("rescheduledTo", "is only for RESCHEDULED")),
        _ => {}
    }
    let now = super::now();
    let logged_at = input.logged_at.map(validate::micros).unwrap_or(now);
    if logged_at > now + Duration::minutes(CLOCK_SKEW_MINUTES) {
        return Err(ApiError::bad_input("loggedAt", "is in the future"));
    }
    let already_rescheduled =
        || ApiError::bad_input("id", "the meeting was already rescheduled; log the outcome on its replacement");
    let replacement = match input.rescheduled_to {
        Some(at) if input.status == MeetingStatus::Rescheduled => {
            let current = get(principal, work.db(), input.meeting_id).await?;
            if current.status == MeetingStatus::Rescheduled {
                return Err(already_rescheduled());
            }
            let next = MeetingForSchedule {
                contact_id: current.contact_id,
                deal_id: current.deal_id,
                owner_id: Some(current.owner_id),
                kind: current.kind,
                scheduled_at: at,
                duration_minutes: Some(current.duration_minutes),
                notes: None,
                client_key: None,
            };
            Some(insert_meeting(principal, work, &next).await?)
        }
        _ => None,
    };
    let mut changes = meeting::ActiveModel {
        status: Set(input.status),
        outcome_logged_at: Set(Some(logged_at)),
        rescheduled_to_id: Set(replacement.as_ref().map(|r| r.id)),
        updated_at: Set(now),
        ..Default::default()
    };
    if let Some(notes) = &input.notes {
        changes.notes = Set(validate::optional("notes", Some(notes.clone()), 5000)?);
    }
    // A rescheduled meeting is final, and only a meeting whose time has come can have been
    // held or missed: the guards keep others from being written, and a miss is explained by
    // reading the row (not visible, already rescheduled, still ahead, or a stale version).
    let happened = matches!(input.status, MeetingStatus::Completed | MeetingStatus::NoShow);
    let due_by = now + Duration::minutes(CLOCK_SKEW_MINUTES);
    let mut scope = owner_condition(principal, Column::OwnerId).add(Column::Status.ne(MeetingStatus::Rescheduled));
    if happened {
        scope = scope.add(Column::ScheduledAt.lte(due_by));
    }
    match work.update::<meeting::Entity>(target(input.meeting_id, input.version).scope(scope), changes).await {
        Ok(meeting) => Ok(Logged { meeting, replacement }),
        Err(missed) => {
            let current = get(principal, work.db(), input.meeting_id).await?;
            if current.status == MeetingStatus::Rescheduled {
                Err(already_rescheduled())
            } else if happened && current.scheduled_at > due_by {
                Err(ApiError::bad_input(
                    "status",
                    "the meeting is still ahead: COMPLETED and NO_SHOW are for meetings whose time has come",
                ))
            } else {
                Err(missed)
            }
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct MeetingForUpdate {
    pub version: i32,
    pub kind: Option<MeetingKind>,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub duration_minutes: Option<i32>,
    pub notes: Option<Option<String>>,
}

pub async fn update(principal: &Principal, w: &Writer, id: i64, input: MeetingForUpdate) -> ApiResult<meeting::Model> {
    ensure_can_write(principal)?;
    let mut changes = meeting::ActiveModel { updated_at: Set(super::now()), ..Default::default() };
    let mut checks = validate::Checks::default();
    if let Some(kind) = input.kind {
        changes.kind = Set(kind);
    }
    if let Some(at) = input.scheduled_at {
        checks.take(validate::plausible("scheduledAt", at));
        changes.scheduled_at = Set(validate::micros(at));
    }
    if let Some(d) = input.duration_minutes {
        changes.duration_minutes = Set(checks.take(duration_of(d)));
    }
    if let Some(notes) = checks.take(validate::optional_patch("notes", input.notes, 5000)) {
        changes.notes = Set(notes);
    }
    checks.done()?;
    let mut work = w.begin(principal).await?;
    let scope = owner_condition(principal, Column::OwnerId);
    let updated = work.update::<meeting::Entity>(target(id, Some(input.version)).scope(scope), changes).await?;
    work.commit().await?;
    Ok(updated)
}

pub async fn delete(principal: &Principal, w: &Writer, id: i64, version: Option<i32>) -> ApiResult<()> {
    ensure_can_write(principal)?;
    let now = super::now();
    let changes = meeting::ActiveModel { deleted_at: Set(Some(now)), updated_at: Set(now), ..Default::default() };
    let mut work = w.begin(principal).await?;
    let scope = owner_condition(principal, Column::OwnerId);
    work.update::<meeting::Entity>(target(id, version).scope(scope), changes).await?;
    work.commit().await
}

fn target(id: i64, version: Option<i32>) -> Target {
    Target::new(id, LABEL).version(version).unique("externalId", "another meeting already has this external id")
}

fn parse_id(text: &str) -> ApiResult<i64> {
    text.parse().map_err(|_| ApiError::internal("malformed idempotency record"))
}
