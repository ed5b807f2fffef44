//! Change events as GraphQL objects: the change feed's `ChangeEvent` and the typed events
//! of `dealChanged`, `meetingChanged` and `contactChanged`.

use crate::graphql::types::timestamp::Timestamp;
use async_graphql::{Context, Enum, ID, Object, Result, SimpleObject};
use entity::change_event;
use entity::enums::Role;

use super::node::Node;
use super::note::Note;
use super::task::Task;
use super::{Company, Contact, Deal, Meeting, User};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, encode};
use crate::service::changes::feed::Seen;
use crate::service::changes::fields;

/// What happened to a record.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChangeOp {
    /// The record was created.
    Created,
    /// Fields of the record changed.
    Updated,
    /// The record was (soft-)deleted: a tombstone.
    Deleted,
    /// A deleted record was restored (e.g. by a re-import).
    Restored,
    /// The record moved out of your scope (reassigned to someone you do not see); it is
    /// shown once, without its data.
    RemovedFromScope,
}

/// The domain event a change amounts to, when it is more than a plain update.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    /// A deal entered another stage.
    DealMoved,
    /// A deal was won.
    DealWon,
    /// A deal was lost.
    DealLost,
    /// A closed deal was opened again.
    DealReopened,
    /// A meeting's outcome was logged or corrected.
    MeetingOutcomeLogged,
    /// A contact was disqualified.
    ContactDisqualified,
    /// A contact was merged into another (`mergeContacts`); it is deleted.
    ContactMerged,
}

/// The type of record a change event is about.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum ChangeEntity {
    /// A contact.
    Contact,
    /// A company.
    Company,
    /// A note.
    Note,
    /// A task.
    Task,
    /// A deal.
    Deal,
    /// A meeting.
    Meeting,
    /// A user.
    User,
    /// A team.
    Team,
    /// A pipeline.
    Pipeline,
    /// A stage of a pipeline.
    Stage,
    /// A lost reason.
    LostReason,
    /// A revenue target (visible to ADMIN only in the feed).
    Target,
    /// An API key (visible to ADMIN only).
    ApiKey,
    /// A webhook endpoint (visible to ADMIN only; secrets are never logged).
    WebhookEndpoint,
    /// An exchange rate (SPEC 11).
    ExchangeRate,
    /// A custom field definition (SPEC 11).
    CustomField,
}

/// One changed field with its value before and after the change (JSON; ids as global IDs,
/// money in minor units, times in RFC 3339). Null before means the record was created.
#[derive(SimpleObject, Clone, Debug)]
pub struct FieldChange {
    /// The changed column in camelCase (e.g. `stageId`, `amount`, `stageEnteredAt`).
    pub field: String,
    /// The value before the change.
    pub before: JsonValue,
    /// The value after the change.
    pub after: JsonValue,
}

/// An event of the change log as the caller may see it.
pub struct ChangeEvent(pub Seen);

impl ChangeEvent {
    fn event(&self) -> &change_event::Model {
        &self.0.event
    }

    fn entity_kind(&self) -> Option<(ChangeEntity, NodeKind)> {
        entity_of(&self.event().entity)
    }
}

/// One entry of the change log (SPEC section 8.2), in your scope.
#[Object]
impl ChangeEvent {
    /// Where this event is in the log: pass it as `after` to continue behind it.
    async fn cursor(&self) -> String {
        self.event().seq.to_string()
    }
    /// What happened.
    async fn op(&self) -> ChangeOp {
        op_of(&self.0)
    }
    /// The domain event, when there is one.
    async fn kind(&self) -> Option<ChangeKind> {
        kind_of(self.event())
    }
    /// The type of record.
    async fn entity(&self) -> Result<ChangeEntity> {
        Ok(self.entity_kind().ok_or_else(|| async_graphql::Error::new("unknown entity"))?.0)
    }
    /// The record's global ID (also for tombstones and records that left your scope).
    async fn record_id(&self) -> Result<ID> {
        let (_, kind) = self.entity_kind().ok_or_else(|| async_graphql::Error::new("unknown entity"))?;
        Ok(encode(kind, self.event().record_id))
    }
    /// When the change was written.
    async fn occurred_at(&self) -> Timestamp {
        Timestamp(self.event().occurred_at)
    }
    /// Who made the change: the signed-in user, or the admin who created the API key used.
    /// Null for changes made by the server itself (the CLI without `--as`, seeding).
    async fn actor(&self, ctx: &Context<'_>) -> Result<Option<User>> {
        let Some(id) = self.event().actor_user_id else { return Ok(None) };
        Ok(ctx.loaders().await?.users.load_one(id).await?.map(User))
    }
    /// Whether the change was made with an API key.
    async fn via_api_key(&self) -> bool {
        self.event().actor_api_key_id.is_some()
    }
    /// The record's version after the change.
    async fn version(&self) -> Option<i32> {
        self.event().version
    }
    /// The names of the fields that changed (all fields for CREATED).
    async fn changed_fields(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
        Ok(changes_of(ctx, &self.0)?.into_iter().map(|c| c.field).collect())
    }
    /// The changed fields with their values before and after. Empty for REMOVED_FROM_SCOPE;
    /// for ANALYST callers a contact's email and phone are null.
    async fn changes(&self, ctx: &Context<'_>) -> Result<Vec<FieldChange>> {
        changes_of(ctx, &self.0)
    }
    /// The record as it is now, read with your scope; null when it was deleted since, is
    /// no longer visible to you, or left your scope with this change.
    async fn node(&self, ctx: &Context<'_>) -> Result<Option<Node>> {
        let Some((_, kind)) = self.entity_kind() else { return Ok(None) };
        if self.0.removed_from_scope {
            return Ok(None);
        }
        crate::graphql::query::node::load(ctx, kind, self.event().record_id).await
    }
}

/// Defines the typed event of one subscription: the common fields and a `node` of its type.
macro_rules! record_change {
    ($name:ident, $node:ident, $doc:literal, |$ctx:ident, $id:ident| $load:expr) => {
        #[doc = $doc]
        pub struct $name(pub Seen);

        #[doc = $doc]
        #[Object]
        impl $name {
            /// Where this event is in the log: resume `changes(after:)` from it.
            async fn cursor(&self) -> String {
                self.0.event.seq.to_string()
            }
            /// What happened.
            async fn op(&self) -> ChangeOp {
                op_of(&self.0)
            }
            /// The domain event, when there is one.
            async fn kind(&self) -> Option<ChangeKind> {
                kind_of(&self.0.event)
            }
            /// The record's global ID (also for tombstones and records that left your scope).
            async fn record_id(&self) -> ID {
                encode(NodeKind::$node, self.0.event.record_id)
            }
            /// When the change was written.
            async fn occurred_at(&self) -> Timestamp {
                Timestamp(self.0.event.occurred_at)
            }
            /// The names of the fields that changed (all fields for CREATED).
            async fn changed_fields(&self, ctx: &Context<'_>) -> Result<Vec<String>> {
                Ok(changes_of(ctx, &self.0)?.into_iter().map(|c| c.field).collect())
            }
            /// The changed fields with their values before and after.
            async fn changes(&self, ctx: &Context<'_>) -> Result<Vec<FieldChange>> {
                changes_of(ctx, &self.0)
            }
            /// The record as it is now, read with your scope (null for tombstones and
            /// records that left your scope).
            async fn node(&self, ctx: &Context<'_>) -> Result<Option<$node>> {
                if self.0.removed_from_scope {
                    return Ok(None);
                }
                let ($ctx, $id) = (ctx, self.0.event.record_id);
                Ok($load)
            }
        }
    };
}

record_change!(DealChange, Deal, "A change of a deal you may see.", |ctx, id| {
    let read = Deal::read_of(ctx.field());
    ctx.loaders().await?.deals.load_one((id, read)).await?.map(Deal::joined)
});
record_change!(MeetingChange, Meeting, "A change of a meeting you may see.", |ctx, id| {
    ctx.loaders().await?.meetings.load_one(id).await?.map(Meeting)
});
record_change!(ContactChange, Contact, "A change of a contact you may see.", |ctx, id| {
    ctx.loaders().await?.contacts.load_one(id).await?.map(Contact)
});
record_change!(CompanyChange, Company, "A change of a company you may see.", |ctx, id| {
    ctx.loaders().await?.companies.load_one(id).await?.map(Company)
});
record_change!(NoteChange, Note, "A change of a note you may see.", |ctx, id| {
    ctx.loaders().await?.notes.load_one(id).await?.map(Note)
});
record_change!(TaskChange, Task, "A change of a task assigned to someone in your scope.", |ctx, id| {
    ctx.loaders().await?.tasks.load_one(id).await?.map(Task)
});

pub fn op_of(seen: &Seen) -> ChangeOp {
    if seen.removed_from_scope {
        return ChangeOp::RemovedFromScope;
    }
    match seen.event.op.as_str() {
        "CREATED" => ChangeOp::Created,
        "DELETED" => ChangeOp::Deleted,
        "RESTORED" => ChangeOp::Restored,
        _ => ChangeOp::Updated,
    }
}

pub fn kind_of(event: &change_event::Model) -> Option<ChangeKind> {
    Some(match event.kind.as_deref()? {
        "DEAL_MOVED" => ChangeKind::DealMoved,
        "DEAL_WON" => ChangeKind::DealWon,
        "DEAL_LOST" => ChangeKind::DealLost,
        "DEAL_REOPENED" => ChangeKind::DealReopened,
        "MEETING_OUTCOME_LOGGED" => ChangeKind::MeetingOutcomeLogged,
        "CONTACT_DISQUALIFIED" => ChangeKind::ContactDisqualified,
        "CONTACT_MERGED" => ChangeKind::ContactMerged,
        _ => return None,
    })
}

fn entity_of(name: &str) -> Option<(ChangeEntity, NodeKind)> {
    let kind = fields::node_kind(name)?;
    let entity = match kind {
        NodeKind::Contact => ChangeEntity::Contact,
        NodeKind::Company => ChangeEntity::Company,
        NodeKind::Note => ChangeEntity::Note,
        NodeKind::Task => ChangeEntity::Task,
        NodeKind::Deal => ChangeEntity::Deal,
        NodeKind::Meeting => ChangeEntity::Meeting,
        NodeKind::User => ChangeEntity::User,
        NodeKind::Team => ChangeEntity::Team,
        NodeKind::Pipeline => ChangeEntity::Pipeline,
        NodeKind::Stage => ChangeEntity::Stage,
        NodeKind::LostReason => ChangeEntity::LostReason,
        NodeKind::Target => ChangeEntity::Target,
        NodeKind::ApiKey => ChangeEntity::ApiKey,
        NodeKind::WebhookEndpoint => ChangeEntity::WebhookEndpoint,
        NodeKind::ExchangeRate => ChangeEntity::ExchangeRate,
        NodeKind::CustomField => ChangeEntity::CustomField,
        NodeKind::DealStageEvent | NodeKind::WebhookDelivery => return None,
    };
    Some((entity, kind))
}

/// The event's changes as the caller may see them: column names in the GraphQL spelling,
/// references as global IDs, contact PII null for analysts, nothing when out of scope.
fn changes_of(ctx: &Context<'_>, seen: &Seen) -> Result<Vec<FieldChange>> {
    if seen.removed_from_scope {
        return Ok(Vec::new());
    }
    let analyst = ctx.signed_in()?.role == Role::Analyst;
    let fields = fields::changes(&seen.event.entity, &seen.event.changes, analyst);
    Ok(fields
        .into_iter()
        .map(|c| FieldChange { field: c.field, before: JsonValue(c.before), after: JsonValue(c.after) })
        .collect())
}

/// Any JSON value (RFC 8259).
#[derive(Clone, Debug)]
pub struct JsonValue(pub serde_json::Value);

/// Any JSON value (RFC 8259): an object, array, string, number, boolean or null.
#[async_graphql::Scalar(name = "JSON", specified_by_url = "https://datatracker.ietf.org/doc/html/rfc8259")]
impl async_graphql::ScalarType for JsonValue {
    fn parse(value: async_graphql::Value) -> async_graphql::InputValueResult<Self> {
        value.into_json().map(JsonValue).map_err(|e| async_graphql::InputValueError::custom(e.to_string()))
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::from_json(self.0.clone()).unwrap_or(async_graphql::Value::Null)
    }
}
