//! The change feed (SPEC section 8.3): the caller's view of the change log, oldest first,
//! resumable from a cursor, exact. Also decides, per event and subscriber, what a live
//! subscription may deliver (`Audience`), so the feed and subscriptions agree.

use entity::change_event::{self, Column};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect};

use super::{log, retention};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::service::scope::{self, OwnerScope, owner_condition, owner_scope};

/// Entities whose records have owners and are scoped by them.
pub const OWNED: [&str; 6] = ["CONTACT", "COMPANY", "DEAL", "MEETING", "NOTE", "TASK"];
/// Entities every signed-in role may read (the directory and the sales process).
pub const SHARED: [&str; 7] = ["USER", "TEAM", "PIPELINE", "STAGE", "LOST_REASON", "EXCHANGE_RATE", "CUSTOM_FIELD"];

/// One event as the caller may see it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub event: change_event::Model,
    /// The record moved out of the caller's scope with this change: it is shown once,
    /// without its data.
    pub removed_from_scope: bool,
}

#[derive(Debug, Clone)]
pub struct FeedPage {
    pub events: Vec<Seen>,
    /// Where the next page starts; past every event the caller could see so far.
    pub end_cursor: i64,
    pub has_next_page: bool,
}

/// The cursor of "now": past every final event, also once a purge emptied the log.
pub async fn end_of_log(db: &impl ConnectionTrait) -> ApiResult<i64> {
    Ok(log::settled_through(db).await?.max(retention::purged_through(db).await?))
}

/// Events after `after` that `principal` may see, at most `first`.
pub async fn page(principal: &Principal, db: &impl ConnectionTrait, after: i64, first: u64) -> ApiResult<FeedPage> {
    if after < retention::purged_through(db).await? {
        return Err(ApiError::CursorExpired);
    }
    // Read before the page: every event up to it is committed (see `log`), and the page
    // reads at least that far, so a short page has seen everything up to it.
    let committed = log::settled_through(db).await?;
    let rows = change_event::Entity::find()
        .filter(Column::Seq.gt(after))
        .filter(visible(principal))
        .order_by_asc(Column::Seq)
        .limit(first + 1)
        .all(db)
        .await?;
    let has_next_page = rows.len() as u64 > first;
    let audience = Audience::of(principal, db).await?;
    let events: Vec<Seen> = rows.iter().take(first as usize).filter_map(|e| audience.sees(e)).collect();
    let last_returned = events.last().map(|s| s.event.seq).unwrap_or(after);
    let end_cursor = if has_next_page { last_returned } else { last_returned.max(committed).max(after) };
    Ok(FeedPage { events, end_cursor, has_next_page })
}

/// The events `principal` may see: owned records in their scope now or before the change
/// (the latter as REMOVED_FROM_SCOPE), shared entities, and the rest for ADMIN only.
fn visible(principal: &Principal) -> Condition {
    let owned = Condition::all().add(Column::Entity.is_in(OWNED)).add(
        Condition::any()
            .add(owner_condition(principal, Column::OwnerId))
            .add(owner_condition(principal, Column::PreviousOwnerId)),
    );
    let mut any = Condition::any().add(owned).add(Column::Entity.is_in(SHARED));
    if principal.is_admin() {
        any = Condition::all();
    }
    any
}

/// Who may see an event, decided in memory for live subscribers: the same rules as
/// `visible`, with a manager's team members loaded once per subscription.
#[derive(Debug, Clone)]
pub struct Audience {
    principal: Principal,
    /// A manager's team members; empty for other roles.
    team: Vec<i64>,
}

impl Audience {
    pub async fn of(principal: &Principal, db: &impl ConnectionTrait) -> ApiResult<Self> {
        let team = match owner_scope(principal) {
            OwnerScope::Team(team_id) => crate::service::directory::member_ids(db, team_id).await?,
            _ => Vec::new(),
        };
        Ok(Self { principal: principal.clone(), team })
    }

    fn owns(&self, owner: Option<i64>) -> bool {
        scope::owns(owner_scope(&self.principal), &self.team, owner)
    }

    /// The event as this subscriber may see it, or `None`.
    pub fn sees(&self, event: &change_event::Model) -> Option<Seen> {
        let entity = event.entity.as_str();
        let shown = if OWNED.contains(&entity) {
            self.owns(event.owner_id) || self.owns(event.previous_owner_id)
        } else {
            SHARED.contains(&entity) || self.principal.is_admin()
        };
        // An owned record whose current owner is outside the scope has just left it.
        let removed_from_scope = OWNED.contains(&entity) && !self.owns(event.owner_id);
        shown.then(|| Seen { event: event.clone(), removed_from_scope })
    }
}
