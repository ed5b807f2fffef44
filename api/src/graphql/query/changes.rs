//! `changes(after:, first:)`: the exact change feed (SPEC section 8.3), and the cursor a
//! client starts following it from.

use async_graphql::{Context, Object, Result};

use crate::error::ApiError;
use crate::graphql::context::ContextExt;
use crate::graphql::types::change::ChangeEvent;
use crate::service::changes::feed;
use crate::service::page::checked_size;

/// One page of the change feed.
pub struct ChangeFeed(feed::FeedPage);

/// One page of the change feed, oldest event first.
#[Object]
impl ChangeFeed {
    /// The events, oldest first.
    async fn events(&self) -> Vec<ChangeEvent> {
        self.0.events.iter().cloned().map(ChangeEvent).collect()
    }
    /// Pass it as `after` for the next page (or the next poll): past every event you may
    /// see so far, also when this page is empty.
    async fn end_cursor(&self) -> String {
        self.0.end_cursor.to_string()
    }
    /// Whether more events follow right away.
    async fn has_next_page(&self) -> bool {
        self.0.has_next_page
    }
}

#[derive(Default)]
pub struct ChangeQuery;

#[Object]
impl ChangeQuery {
    /// Every change of a record you may see, oldest first, after `after` (a cursor from an
    /// event, an `endCursor` or `changeCursor`; omitted: the oldest retained event). Exact:
    /// no event is skipped or repeated, however writers' commits interleave. Deleted
    /// records come as DELETED tombstones, a record reassigned out of your scope once as
    /// REMOVED_FROM_SCOPE. A cursor older than the log's retention is CURSOR_EXPIRED:
    /// resync from scratch. `first`: 1–100, default 50.
    async fn changes(&self, ctx: &Context<'_>, after: Option<String>, first: Option<i32>) -> Result<ChangeFeed> {
        let principal = ctx.principal().await?;
        let first = checked_size("first", first.unwrap_or(50))?.max(1);
        let db = ctx.db();
        let after = match after {
            Some(cursor) => parse_cursor(&cursor)?,
            None => crate::service::changes::retention::purged_through(db).await?,
        };
        Ok(ChangeFeed(feed::page(principal, db, after, first).await?))
    }

    /// The end of the change log now. Read it before a full resync, then follow
    /// `changes(after:)` (or subscribe to `changes`) from it: nothing in between is missed.
    async fn change_cursor(&self, ctx: &Context<'_>) -> Result<String> {
        ctx.principal().await?;
        Ok(feed::end_of_log(ctx.db()).await?.to_string())
    }
}

/// A change-feed cursor: the `seq` of an event.
pub fn parse_cursor(cursor: &str) -> Result<i64, ApiError> {
    cursor
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|seq| *seq >= 0)
        .ok_or_else(|| ApiError::bad_input("after", "is not a change cursor"))
}
