//! `Meeting`: a call, demo or meeting with a contact, and its logged outcome.

use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Context, ID, Object, Result};
use entity::meeting;

use super::enums::{MeetingKind, MeetingStatus};
use super::{Contact, Deal, User};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, encode};
use crate::service::columns::Columns;

/// A call, demo or meeting with a contact.
pub struct Meeting(pub meeting::Model);

impl Meeting {
    /// The meeting columns the fields selected under `field` (of type `Meeting`) read; a field
    /// not named here reads every column.
    pub fn columns_of(field: async_graphql::SelectionField<'_>) -> Columns<meeting::Column> {
        use meeting::Column as C;
        super::look_ahead::columns_read(field, |name| {
            Some(match name {
                "__typename" | "id" => &[],
                "contact" => &[C::ContactId],
                "deal" => &[C::DealId],
                "owner" => &[C::OwnerId],
                "kind" => &[C::Kind],
                "scheduledAt" => &[C::ScheduledAt],
                "durationMinutes" => &[C::DurationMinutes],
                "status" => &[C::Status],
                "outcomeLoggedAt" => &[C::OutcomeLoggedAt],
                "notes" => &[C::Notes],
                "clientKey" => &[C::ClientKey],
                "rescheduledTo" => &[C::RescheduledToId],
                "externalId" => &[C::ExternalId],
                "version" => &[C::Version],
                "createdAt" => &[C::CreatedAt],
                "updatedAt" => &[C::UpdatedAt],
                "deletedAt" => &[C::DeletedAt],
                _ => return None,
            })
        })
    }
}

/// A call, demo or meeting with a contact.
#[Object]
impl Meeting {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::Meeting, self.0.id)
    }
    /// The contact met.
    async fn contact(&self, ctx: &Context<'_>) -> Result<Option<Contact>> {
        Ok(ctx.loaders().await?.contacts.load_one(self.0.contact_id).await?.map(Contact))
    }
    /// The deal the meeting is about, if any.
    async fn deal(&self, ctx: &Context<'_>) -> Result<Option<Deal>> {
        match self.0.deal_id {
            Some(id) => {
                let found = ctx.loaders().await?.deals.load_one((id, Deal::read_of(ctx.field()))).await?;
                Ok(found.map(Deal::joined))
            }
            None => Ok(None),
        }
    }
    /// The user who holds the meeting.
    async fn owner(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        Ok(ctx.loaders().await?.users.load_one(self.0.owner_id).await?.map(User))
    }
    /// Call, demo, meeting or follow-up.
    async fn kind(&self) -> MeetingKind {
        self.0.kind.into()
    }
    /// When it is (or was) planned.
    async fn scheduled_at(&self) -> Timestamp {
        Timestamp(self.0.scheduled_at)
    }
    /// Planned length.
    async fn duration_minutes(&self) -> i32 {
        self.0.duration_minutes
    }
    /// SCHEDULED until an outcome is logged.
    async fn status(&self) -> MeetingStatus {
        self.0.status.into()
    }
    /// When the outcome was logged.
    async fn outcome_logged_at(&self) -> Option<Timestamp> {
        self.0.outcome_logged_at.map(Timestamp)
    }
    /// Free-text notes about the meeting (agenda, what was said).
    async fn notes(&self) -> Option<&str> {
        self.0.notes.as_deref()
    }
    /// The key the scheduling client sent, if any.
    async fn client_key(&self) -> Option<&str> {
        self.0.client_key.as_deref()
    }
    /// The meeting that replaced this one (RESCHEDULED only).
    async fn rescheduled_to(&self, ctx: &Context<'_>) -> Result<Option<Meeting>> {
        match self.0.rescheduled_to_id {
            Some(id) => Ok(ctx.loaders().await?.meetings.load_one(id).await?.map(Meeting)),
            None => Ok(None),
        }
    }
    /// Id of this meeting in the system it was imported from.
    async fn external_id(&self) -> Option<&str> {
        self.0.external_id.as_deref()
    }
    /// Optimistic-concurrency version.
    async fn version(&self) -> i32 {
        self.0.version
    }
    /// When the meeting was created.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.created_at)
    }
    /// When the meeting was last changed.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.updated_at)
    }
    /// When the meeting was deleted (only seen with `includeDeleted`).
    async fn deleted_at(&self) -> Option<Timestamp> {
        self.0.deleted_at.map(Timestamp)
    }
}
