//! What the unit of work needs to know about each table it writes: which entity a row is,
//! who owns it, its version and deletion columns, the domain event a change amounts to,
//! and which derived data a change touches. Declared once per table, here.

use entity::enums::{DealStatus, Lifecycle, MeetingStatus};
use entity::{
    api_key, company, contact, custom_field, deal, exchange_rate, lost_reason, meeting, note, pipeline, stage, target,
    task, team, user, webhook_endpoint,
};
use sea_orm::{ActiveModelTrait, EntityTrait, Value};

/// Derived data a change must keep up to date (see `upkeep`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Derived {
    Nothing,
    /// The funnel cells of this deal.
    Deal,
    /// The funnel cells of this contact's deals (their lead source is in the key).
    ContactSource,
    /// Every funnel cell of this stage's pipeline (positions changed).
    StagePositions,
    /// Cached credentials of every process.
    Credentials,
}

pub trait Tracked: EntityTrait {
    /// The `entity` of its events: CONTACT, DEAL, …
    const NAME: &'static str;
    /// Whether its events keep the whole record after the change (what webhooks send).
    const SNAPSHOT: bool = false;
    fn id_column() -> Self::Column;
    fn owner_column() -> Option<Self::Column> {
        None
    }
    fn version_column() -> Option<Self::Column>;
    fn deleted_column() -> Option<Self::Column> {
        None
    }
    /// The domain event a change amounts to, when it is more than CREATED or UPDATED.
    fn kind(_before: Option<&Self::Model>, _after: &Self::Model) -> Option<&'static str> {
        None
    }
    /// The domain event a deletion amounts to, when it is more than DELETED.
    fn deletion_kind(_after: &Self::Model) -> Option<&'static str> {
        None
    }
    /// What a change of these columns requires besides the row itself.
    fn derived(_changes: &Self::ActiveModel) -> Derived {
        Derived::Nothing
    }
    /// Columns never written to the log: secrets, and bookkeeping that background jobs or
    /// derived-data upkeep write directly.
    fn unlogged(_column: &str) -> bool {
        false
    }
    /// The row as a meeting, whose writes keep the no-show cells (`metrics::meeting_cells`).
    fn as_meeting(_model: &Self::Model) -> Option<&meeting::Model> {
        None
    }
    fn meeting_changes(_changes: &Self::ActiveModel) -> Option<&meeting::ActiveModel> {
        None
    }
}

/// An integer column's value (ids, versions), `None` when null or not an integer.
pub fn int(value: Value) -> Option<i64> {
    match value {
        Value::BigInt(v) => v,
        Value::Int(v) => v.map(i64::from),
        _ => None,
    }
}

fn set<A: ActiveModelTrait>(changes: &A, column: <A::Entity as EntityTrait>::Column) -> bool {
    changes.get(column).is_set()
}

/// Owned, versioned, soft-deleted records: their columns are named alike.
macro_rules! owned {
    ($module:ident => $name:literal { $($extra:item)* }) => {
        owned!($module => $name owner OwnerId { $($extra)* });
    };
    ($module:ident => $name:literal owner $owner:ident { $($extra:item)* }) => {
        impl Tracked for $module::Entity {
            const NAME: &'static str = $name;
            const SNAPSHOT: bool = true;
            fn id_column() -> $module::Column {
                $module::Column::Id
            }
            fn owner_column() -> Option<$module::Column> {
                Some($module::Column::$owner)
            }
            fn version_column() -> Option<$module::Column> {
                Some($module::Column::Version)
            }
            fn deleted_column() -> Option<$module::Column> {
                Some($module::Column::DeletedAt)
            }
            $($extra)*
        }
    };
}

owned!(contact => "CONTACT" {
    fn deletion_kind(after: &contact::Model) -> Option<&'static str> {
        after.merged_into_id.map(|_| "CONTACT_MERGED")
    }
    fn kind(before: Option<&contact::Model>, after: &contact::Model) -> Option<&'static str> {
        let was = before.map(|b| b.lifecycle);
        (after.lifecycle == Lifecycle::Disqualified && was != Some(Lifecycle::Disqualified))
            .then_some("CONTACT_DISQUALIFIED")
    }
    fn derived(changes: &contact::ActiveModel) -> Derived {
        if set(changes, contact::Column::Source) { Derived::ContactSource } else { Derived::Nothing }
    }
});

owned!(company => "COMPANY" {});

owned!(note => "NOTE" {});

// A task is its assignee's: their scope hears of its changes.
owned!(task => "TASK" owner AssigneeId {});

owned!(deal => "DEAL" {
    fn kind(before: Option<&deal::Model>, after: &deal::Model) -> Option<&'static str> {
        let before = before?;
        match (before.status, after.status) {
            (DealStatus::Open, DealStatus::Won) => Some("DEAL_WON"),
            (DealStatus::Open, DealStatus::Lost) => Some("DEAL_LOST"),
            (DealStatus::Won | DealStatus::Lost, DealStatus::Open) => Some("DEAL_REOPENED"),
            _ if before.stage_id != after.stage_id => Some("DEAL_MOVED"),
            _ => None,
        }
    }
    fn derived(_changes: &deal::ActiveModel) -> Derived {
        Derived::Deal
    }
});

owned!(meeting => "MEETING" {
    fn kind(before: Option<&meeting::Model>, after: &meeting::Model) -> Option<&'static str> {
        let logged = after.status != MeetingStatus::Scheduled
            && before.is_none_or(|b| b.status != after.status || b.outcome_logged_at != after.outcome_logged_at);
        logged.then_some("MEETING_OUTCOME_LOGGED")
    }
    fn unlogged(column: &str) -> bool {
        column == "followed_up"
    }
    fn as_meeting(model: &meeting::Model) -> Option<&meeting::Model> {
        Some(model)
    }
    fn meeting_changes(changes: &meeting::ActiveModel) -> Option<&meeting::ActiveModel> {
        Some(changes)
    }
});

impl Tracked for user::Entity {
    const NAME: &'static str = "USER";
    fn id_column() -> user::Column {
        user::Column::Id
    }
    fn version_column() -> Option<user::Column> {
        Some(user::Column::Version)
    }
    fn derived(_changes: &user::ActiveModel) -> Derived {
        Derived::Credentials
    }
    fn unlogged(column: &str) -> bool {
        column == "token_version"
    }
}

impl Tracked for api_key::Entity {
    const NAME: &'static str = "API_KEY";
    fn id_column() -> api_key::Column {
        api_key::Column::Id
    }
    fn version_column() -> Option<api_key::Column> {
        None
    }
    fn derived(_changes: &api_key::ActiveModel) -> Derived {
        Derived::Credentials
    }
}

impl Tracked for webhook_endpoint::Entity {
    const NAME: &'static str = "WEBHOOK_ENDPOINT";
    fn id_column() -> webhook_endpoint::Column {
        webhook_endpoint::Column::Id
    }
    fn version_column() -> Option<webhook_endpoint::Column> {
        Some(webhook_endpoint::Column::Version)
    }
    fn deleted_column() -> Option<webhook_endpoint::Column> {
        Some(webhook_endpoint::Column::DeletedAt)
    }
    fn unlogged(column: &str) -> bool {
        matches!(column, "secret" | "previous_secret" | "enqueued_through" | "last_success_at" | "failing_since")
    }
}

impl Tracked for stage::Entity {
    const NAME: &'static str = "STAGE";
    fn id_column() -> stage::Column {
        stage::Column::Id
    }
    fn version_column() -> Option<stage::Column> {
        Some(stage::Column::Version)
    }
    fn derived(changes: &stage::ActiveModel) -> Derived {
        if set(changes, stage::Column::Position) { Derived::StagePositions } else { Derived::Nothing }
    }
}

/// Tables whose rows only need their id and version to be logged.
macro_rules! plain {
    ($($module:ident => $name:literal, $version:expr;)*) => {$(
        impl Tracked for $module::Entity {
            const NAME: &'static str = $name;
            fn id_column() -> $module::Column {
                $module::Column::Id
            }
            fn version_column() -> Option<$module::Column> {
                $version
            }
        }
    )*};
}

plain! {
    team => "TEAM", Some(team::Column::Version);
    pipeline => "PIPELINE", Some(pipeline::Column::Version);
    lost_reason => "LOST_REASON", Some(lost_reason::Column::Version);
    target => "TARGET", Some(target::Column::Version);
    exchange_rate => "EXCHANGE_RATE", None;
    custom_field => "CUSTOM_FIELD", Some(custom_field::Column::Version);
}
