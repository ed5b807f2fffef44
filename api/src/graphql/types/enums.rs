//! GraphQL enums mirroring the stored ones (`remote` generates the conversions).

use async_graphql::Enum;

/// What a user may see and change.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::Role")]
pub enum Role {
    /// Everything, including users, pipelines, targets and API keys.
    Admin,
    /// Records owned by anyone in their team.
    Manager,
    /// Only records they own.
    SalesRep,
    /// Reads everything except contact email and phone; writes nothing.
    Analyst,
}

/// Where a contact stands in the sales process.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::Lifecycle")]
pub enum Lifecycle {
    /// New, not yet qualified.
    Lead,
    /// Confirmed as a potential buyer.
    Qualified,
    /// Has bought.
    Customer,
    /// Rejected as a lead (see `disqualifyReason`).
    Disqualified,
}

/// Whether a deal is still being worked or has closed.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::DealStatus")]
pub enum DealStatus {
    /// Being worked.
    Open,
    /// Closed won.
    Won,
    /// Closed lost (see `lostReason`).
    Lost,
}

/// The kind of a meeting.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::MeetingKind")]
pub enum MeetingKind {
    /// A phone or video call.
    Call,
    /// A product demonstration.
    Demo,
    /// Any other meeting.
    Meeting,
    /// A follow-up after an earlier contact.
    FollowUp,
}

/// What happened to a meeting.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::MeetingStatus")]
pub enum MeetingStatus {
    /// Planned; no outcome logged yet.
    Scheduled,
    /// Held: the meeting took place.
    Completed,
    /// The contact did not attend and gave no notice.
    NoShow,
    /// Cancelled with notice.
    Canceled,
    /// Moved to another time (see `rescheduledTo`).
    Rescheduled,
}

/// How urgent a task is.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::TaskPriority")]
pub enum TaskPriority {
    /// When there is time.
    Low,
    /// The default.
    Normal,
    /// Before anything else.
    High,
}
