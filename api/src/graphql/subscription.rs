//! The root `Subscription` (SPEC section 8.4): record changes as they commit, scoped per
//! event and subscriber, and `changes(after:)`, which replays what a client missed and
//! then goes live with no gap and no duplicate. Served over graphql-transport-ws (`ws`).

use std::sync::Arc;

use async_graphql::{Context, ID, InputObject, Result, Subscription};
use futures_util::Stream;
use tokio::sync::broadcast::error::RecvError;

use crate::bus::fanout::Delivered;
use crate::error::ApiError;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::loaders::LoaderCaches;
use crate::graphql::query::changes::parse_cursor;
use crate::graphql::types::change::{
    ChangeEvent, ChangeKind, ChangeOp, CompanyChange, ContactChange, DealChange, MeetingChange, NoteChange, TaskChange,
    kind_of, op_of,
};
use crate::graphql::ws::session::{Session, code};
use crate::service::changes::feed::{self, Audience, Seen};

/// Which changes to deliver; every condition given must hold.
#[derive(InputObject, Default, Clone)]
pub struct ChangeFilter {
    /// Only these records.
    pub ids: Option<Vec<ID>>,
    /// Only records owned by these users (after the change).
    pub owner_ids: Option<Vec<ID>>,
    /// Only these operations.
    pub ops: Option<Vec<ChangeOp>>,
    /// Only these domain events.
    pub kinds: Option<Vec<ChangeKind>>,
}

/// A filter with its IDs decoded.
struct Wanted {
    ids: Option<Vec<i64>>,
    owners: Option<Vec<i64>>,
    ops: Option<Vec<ChangeOp>>,
    kinds: Option<Vec<ChangeKind>>,
}

impl Wanted {
    fn new(filter: Option<ChangeFilter>, kind: NodeKind) -> Result<Self, ApiError> {
        let f = filter.unwrap_or_default();
        let decode_all = |field: &str, ids: Option<Vec<ID>>, kind: NodeKind| {
            ids.map(|ids| ids.iter().map(|id| decode(field, id, kind)).collect::<Result<Vec<_>, _>>()).transpose()
        };
        Ok(Self {
            ids: decode_all("where.ids", f.ids, kind)?,
            owners: decode_all("where.ownerIds", f.owner_ids, NodeKind::User)?,
            ops: f.ops,
            kinds: f.kinds,
        })
    }

    fn matches(&self, seen: &Seen) -> bool {
        let e = &seen.event;
        self.ids.as_ref().is_none_or(|ids| ids.contains(&e.record_id))
            && self.owners.as_ref().is_none_or(|o| e.owner_id.is_some_and(|owner| o.contains(&owner)))
            && self.ops.as_ref().is_none_or(|ops| ops.contains(&op_of(seen)))
            && self.kinds.as_ref().is_none_or(|kinds| kind_of(e).is_some_and(|k| kinds.contains(&k)))
    }
}

#[derive(Default)]
pub struct SubscriptionRoot;

/// Live changes. Subscribe over WebSocket at `/graphql/ws` (graphql-transport-ws).
#[Subscription(name = "Subscription")]
impl SubscriptionRoot {
    /// Every change of a deal you may see, as it commits.
    async fn deal_changed(
        &self,
        ctx: &Context<'_>,
        r#where: Option<ChangeFilter>,
    ) -> Result<impl Stream<Item = DealChange> + use<>> {
        let wanted = Wanted::new(r#where, NodeKind::Deal)?;
        Ok(futures_util::StreamExt::map(live(ctx, "DEAL", wanted).await?, DealChange))
    }

    /// Every change of a meeting you may see, as it commits.
    async fn meeting_changed(
        &self,
        ctx: &Context<'_>,
        r#where: Option<ChangeFilter>,
    ) -> Result<impl Stream<Item = MeetingChange> + use<>> {
        let wanted = Wanted::new(r#where, NodeKind::Meeting)?;
        Ok(futures_util::StreamExt::map(live(ctx, "MEETING", wanted).await?, MeetingChange))
    }

    /// Every change of a contact you may see, as it commits (email and phone are null for
    /// analysts, as everywhere).
    async fn contact_changed(
        &self,
        ctx: &Context<'_>,
        r#where: Option<ChangeFilter>,
    ) -> Result<impl Stream<Item = ContactChange> + use<>> {
        let wanted = Wanted::new(r#where, NodeKind::Contact)?;
        Ok(futures_util::StreamExt::map(live(ctx, "CONTACT", wanted).await?, ContactChange))
    }

    /// Every change of a company you may see, as it commits.
    async fn company_changed(
        &self,
        ctx: &Context<'_>,
        r#where: Option<ChangeFilter>,
    ) -> Result<impl Stream<Item = CompanyChange> + use<>> {
        let wanted = Wanted::new(r#where, NodeKind::Company)?;
        Ok(futures_util::StreamExt::map(live(ctx, "COMPANY", wanted).await?, CompanyChange))
    }

    /// Every change of a note you may see (a note about a record you see), as it commits.
    /// `where.ownerIds` is the owner of the note's record when the note was written.
    async fn note_changed(
        &self,
        ctx: &Context<'_>,
        r#where: Option<ChangeFilter>,
    ) -> Result<impl Stream<Item = NoteChange> + use<>> {
        let wanted = Wanted::new(r#where, NodeKind::Note)?;
        Ok(futures_util::StreamExt::map(live(ctx, "NOTE", wanted).await?, NoteChange))
    }

    /// Every change of a task assigned to someone in your scope, as it commits (a task is
    /// its assignee's: reassigning it away arrives as REMOVED). `where.ownerIds` filters by
    /// assignee.
    async fn task_changed(
        &self,
        ctx: &Context<'_>,
        r#where: Option<ChangeFilter>,
    ) -> Result<impl Stream<Item = TaskChange> + use<>> {
        let wanted = Wanted::new(r#where, NodeKind::Task)?;
        Ok(futures_util::StreamExt::map(live(ctx, "TASK", wanted).await?, TaskChange))
    }

    /// The change feed, live: first every event you may see after `after` (from the log, as
    /// `changes(after:)` pages it), then each new one as it commits, with no gap and no
    /// duplicate in between. Reconnect with the last `cursor` you received to lose nothing.
    /// Omitted `after`: from now on. A cursor older than the retention is CURSOR_EXPIRED.
    async fn changes(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> Result<impl Stream<Item = Result<ChangeEvent>> + use<>> {
        let live = Live::start(ctx).await?;
        let db = ctx.db().clone();
        let mut cursor = match after {
            Some(c) => parse_cursor(&c)?,
            None => feed::end_of_log(&db).await?,
        };
        // Checks the cursor now, so an expired one fails the subscription at once.
        let mut first = Some(feed::page(&live.principal, &db, cursor, REPLAY_PAGE).await?);
        Ok(async_stream::stream! {
            let Live { mut events, audience, principal, session: _, slot: _slot, loaders } = live;
            'replay: loop {
                // From the log, until caught up with what was committed.
                loop {
                    let page = match first.take() {
                        Some(page) => page,
                        None => match feed::page(&principal, &db, cursor, REPLAY_PAGE).await {
                            Ok(page) => page,
                            Err(err) => { yield Err(err.into()); break 'replay; }
                        },
                    };
                    for seen in page.events {
                        loaders.forget();
                        yield Ok(ChangeEvent(seen));
                    }
                    cursor = page.end_cursor;
                    if !page.has_next_page {
                        break;
                    }
                }
                // Then live; anything up to the cursor was delivered from the log already.
                loop {
                    match events.recv().await {
                        Ok(event) if event.seq <= cursor => {}
                        Ok(event) => {
                            cursor = event.seq;
                            if let Some(seen) = audience.sees(&event) {
                                loaders.forget();
                                yield Ok(ChangeEvent(seen));
                            }
                        }
                        // Fell behind the in-memory buffer: the log still has everything.
                        Err(RecvError::Lagged(_)) => continue 'replay,
                        Err(RecvError::Closed) => break 'replay,
                    }
                }
            }
        })
    }
}

const REPLAY_PAGE: u64 = 100;

/// What a live subscription holds while it is open.
struct Live {
    events: tokio::sync::broadcast::Receiver<Delivered>,
    audience: Audience,
    principal: crate::auth::Principal,
    session: Arc<Session>,
    slot: crate::graphql::ws::session::SubscriptionSlot,
    loaders: LoaderCaches,
}

impl Live {
    /// Takes a subscription slot and starts listening before anything is read, so that no
    /// event committed from now on can be missed.
    async fn start(ctx: &Context<'_>) -> Result<Self, ApiError> {
        let principal = ctx.principal().await?.clone();
        let session = ctx
            .data_opt::<Arc<Session>>()
            .cloned()
            .ok_or_else(|| ApiError::bad_input("subscription", "subscribe over WebSocket at /graphql/ws"))?;
        let slot = session.subscription_slot()?;
        let events = ctx.services().bus.events();
        let audience = Audience::of(&principal, ctx.db()).await?;
        let loaders = ctx.loaders().await?.caches();
        Ok(Self { events, audience, principal, session, slot, loaders })
    }
}

/// The events of `entity` that the subscriber may see and wants, as they commit. A
/// subscriber that falls further behind than the buffer closes its connection
/// (`SLOW_CONSUMER`) rather than growing memory.
async fn live(ctx: &Context<'_>, entity: &'static str, wanted: Wanted) -> Result<impl Stream<Item = Seen> + use<>> {
    let live = Live::start(ctx).await?;
    Ok(async_stream::stream! {
        let Live { mut events, audience, session, slot: _slot, loaders, .. } = live;
        loop {
            match events.recv().await {
                Ok(event) if event.entity == entity => {
                    if let Some(seen) = audience.sees(&event).filter(|s| wanted.matches(s)) {
                        loaders.forget();
                        yield seen;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Lagged(missed)) => {
                    session.close(code::SLOW_CONSUMER, format!("fell {missed} events behind; reconnect and resume with changes(after:)"));
                    break;
                }
                Err(RecvError::Closed) => break,
            }
        }
    })
}
