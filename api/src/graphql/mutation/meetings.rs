//! Mutations on meetings: schedule, log outcomes (one or a batch from an offline device),
//! update, delete. `clientKey` makes scheduling and logging safe to retry.

use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Context, ID, InputObject, MaybeUndefined, Object, OneofObject, Result, SimpleObject};

use super::{optional_id, patch};
use crate::error::{ApiError, ApiResult};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::Meeting;
use crate::graphql::types::enums::{MeetingKind, MeetingStatus};
use crate::service::meetings::{self, MeetingForSchedule, MeetingForUpdate, OutcomeForLog};

/// Largest `logMeetings` batch.
const MAX_BATCH: usize = 100;

/// A meeting to schedule.
#[derive(InputObject)]
pub struct ScheduleMeetingInput {
    /// The contact to meet (must be visible to the caller).
    pub contact_id: ID,
    /// The deal it is about (a deal of that contact).
    pub deal_id: Option<ID>,
    /// Owner; defaults to the caller.
    pub owner_id: Option<ID>,
    /// Kind of meeting.
    pub kind: MeetingKind,
    /// When it takes place.
    pub scheduled_at: Timestamp,
    /// Planned length, 1–1440 minutes (30 when omitted).
    pub duration_minutes: Option<i32>,
    /// Free-text notes (agenda, context).
    pub notes: Option<String>,
    /// Idempotency key (≤ 255 characters): sending the same request again returns the
    /// first result and creates nothing; the same key with another payload is a CONFLICT.
    pub client_key: Option<String>,
}

/// The outcome of a meeting.
#[derive(InputObject)]
pub struct LogMeetingOutcomeInput {
    /// The meeting.
    pub id: ID,
    /// When given, fails with CONFLICT if the meeting changed since.
    pub version: Option<i32>,
    /// COMPLETED, NO_SHOW (did not attend, no notice), CANCELED (with notice) or RESCHEDULED.
    pub status: MeetingStatus,
    /// Notes (replace the meeting's notes when given).
    pub notes: Option<String>,
    /// The new time; required for RESCHEDULED, which creates the replacement meeting.
    pub rescheduled_to: Option<Timestamp>,
    /// When the outcome was recorded on the device (defaults to now; not in the future).
    pub logged_at: Option<Timestamp>,
    /// Idempotency key, as for `scheduleMeeting`.
    pub client_key: Option<String>,
}

/// Changes to a scheduled meeting.
#[derive(InputObject)]
pub struct UpdateMeetingInput {
    /// The meeting.
    pub id: ID,
    /// The version you read.
    pub version: i32,
    /// A new kind (CALL, DEMO, …).
    pub kind: Option<MeetingKind>,
    /// New time.
    pub scheduled_at: Option<Timestamp>,
    /// Planned length in minutes.
    pub duration_minutes: Option<i32>,
    /// Notes; null clears them.
    pub notes: MaybeUndefined<String>,
}

/// A meeting to delete (softly).
#[derive(InputObject)]
pub struct DeleteMeetingInput {
    /// The meeting.
    pub id: ID,
    /// When given, fails with CONFLICT if the meeting changed since.
    pub version: Option<i32>,
}

/// One entry of an offline device's log: either a new meeting or an outcome.
#[derive(OneofObject)]
pub enum MeetingLogEntry {
    /// Schedule a meeting.
    Schedule(ScheduleMeetingInput),
    /// Log a meeting's outcome.
    Outcome(LogMeetingOutcomeInput),
}

/// The scheduled meeting.
#[derive(SimpleObject)]
pub struct ScheduleMeetingPayload {
    /// The meeting.
    pub meeting: Meeting,
}

/// The logged meeting.
#[derive(SimpleObject)]
pub struct LogMeetingOutcomePayload {
    /// The meeting with its outcome.
    pub meeting: Meeting,
    /// The new meeting created by RESCHEDULED.
    pub rescheduled_meeting: Option<Meeting>,
}

/// The meeting after the change.
#[derive(SimpleObject)]
pub struct UpdateMeetingPayload {
    /// The meeting.
    pub meeting: Meeting,
}

/// What was deleted.
#[derive(SimpleObject)]
pub struct DeleteMeetingPayload {
    /// Global ID of the deleted meeting.
    pub deleted_meeting_id: ID,
}

/// Why one entry of a batch failed.
#[derive(SimpleObject)]
pub struct EntryError {
    /// The error code, as in `extensions.code`.
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// The offending input field, for BAD_USER_INPUT.
    pub field: Option<String>,
}

/// The result of one entry of `logMeetings`: a meeting or an error, never both.
#[derive(SimpleObject)]
pub struct MeetingLogResult {
    /// Position of the entry in the batch (0-based).
    pub index: i32,
    /// The scheduled or logged meeting.
    pub meeting: Option<Meeting>,
    /// The replacement created by a RESCHEDULED outcome.
    pub rescheduled_meeting: Option<Meeting>,
    /// Why the entry failed; the other entries are unaffected.
    pub error: Option<EntryError>,
}

fn schedule_data(input: ScheduleMeetingInput) -> ApiResult<MeetingForSchedule> {
    Ok(MeetingForSchedule {
        contact_id: decode("contactId", &input.contact_id, NodeKind::Contact)?,
        deal_id: optional_id("dealId", input.deal_id.as_ref(), NodeKind::Deal)?,
        owner_id: optional_id("ownerId", input.owner_id.as_ref(), NodeKind::User)?,
        kind: input.kind.into(),
        scheduled_at: input.scheduled_at.0,
        duration_minutes: input.duration_minutes,
        notes: input.notes,
        client_key: input.client_key,
    })
}

fn outcome_data(input: LogMeetingOutcomeInput) -> ApiResult<OutcomeForLog> {
    Ok(OutcomeForLog {
        meeting_id: decode("id", &input.id, NodeKind::Meeting)?,
        version: input.version,
        status: input.status.into(),
        notes: input.notes,
        rescheduled_to: input.rescheduled_to.map(Into::into),
        logged_at: input.logged_at.map(Into::into),
        client_key: input.client_key,
    })
}

#[derive(Default)]
pub struct MeetingMutation;

#[Object]
impl MeetingMutation {
    /// Schedules a meeting; safe to retry with the same `clientKey`.
    async fn schedule_meeting(&self, ctx: &Context<'_>, input: ScheduleMeetingInput) -> Result<ScheduleMeetingPayload> {
        let meeting = meetings::schedule(ctx.principal().await?, ctx.writer(), schedule_data(input)?).await?;
        Ok(ScheduleMeetingPayload { meeting: Meeting(meeting) })
    }

    /// Logs what happened; RESCHEDULED creates and links the replacement meeting.
    async fn log_meeting_outcome(
        &self,
        ctx: &Context<'_>,
        input: LogMeetingOutcomeInput,
    ) -> Result<LogMeetingOutcomePayload> {
        let logged = meetings::log_outcome(ctx.principal().await?, ctx.writer(), outcome_data(input)?).await?;
        Ok(LogMeetingOutcomePayload {
            meeting: Meeting(logged.meeting),
            rescheduled_meeting: logged.replacement.map(Meeting),
        })
    }

    /// Applies an offline device's log in order (≤ 100 entries). Each entry succeeds or
    /// fails on its own; use a `clientKey` per entry so the whole batch can be resent.
    async fn log_meetings(&self, ctx: &Context<'_>, entries: Vec<MeetingLogEntry>) -> Result<Vec<MeetingLogResult>> {
        let principal = ctx.principal().await?;
        if entries.len() > MAX_BATCH {
            return Err(ApiError::bad_input("entries", format!("at most {MAX_BATCH} entries per batch")).into());
        }
        let mut results = Vec::with_capacity(entries.len());
        for (index, entry) in entries.into_iter().enumerate() {
            let outcome = match entry {
                MeetingLogEntry::Schedule(input) => match schedule_data(input) {
                    Ok(data) => meetings::schedule(principal, ctx.writer(), data).await.map(|m| (m, None)),
                    Err(e) => Err(e),
                },
                MeetingLogEntry::Outcome(input) => match outcome_data(input) {
                    Ok(data) => {
                        meetings::log_outcome(principal, ctx.writer(), data).await.map(|l| (l.meeting, l.replacement))
                    }
                    Err(e) => Err(e),
                },
            };
            let index = index as i32;
            results.push(match outcome {
                Ok((meeting, replacement)) => MeetingLogResult {
                    index,
                    meeting: Some(Meeting(meeting)),
                    rescheduled_meeting: replacement.map(Meeting),
                    error: None,
                },
                Err(err) => MeetingLogResult {
                    index,
                    meeting: None,
                    rescheduled_meeting: None,
                    error: Some(EntryError {
                        code: err.code().to_owned(),
                        message: err.to_string(),
                        field: match &err {
                            ApiError::BadInput { field, .. } => Some(field.clone()),
                            _ => None,
                        },
                    }),
                },
            });
        }
        Ok(results)
    }

    /// Changes a meeting's kind, time, length or notes.
    async fn update_meeting(&self, ctx: &Context<'_>, input: UpdateMeetingInput) -> Result<UpdateMeetingPayload> {
        let id = decode("id", &input.id, NodeKind::Meeting)?;
        let data = MeetingForUpdate {
            version: input.version,
            kind: input.kind.map(Into::into),
            scheduled_at: input.scheduled_at.map(Into::into),
            duration_minutes: input.duration_minutes,
            notes: patch(input.notes),
        };
        let meeting = meetings::update(ctx.principal().await?, ctx.writer(), id, data).await?;
        Ok(UpdateMeetingPayload { meeting: Meeting(meeting) })
    }

    /// Soft-deletes a meeting.
    async fn delete_meeting(&self, ctx: &Context<'_>, input: DeleteMeetingInput) -> Result<DeleteMeetingPayload> {
        let id = decode("id", &input.id, NodeKind::Meeting)?;
        meetings::delete(ctx.principal().await?, ctx.writer(), id, input.version).await?;
        Ok(DeleteMeetingPayload { deleted_meeting_id: input.id })
    }
}
