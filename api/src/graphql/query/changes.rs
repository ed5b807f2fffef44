//! `changes(since:)`: what a mobile client must apply to resync after being offline.

use async_graphql::{Context, Object, Result};
use chrono::{DateTime, Utc};

use super::deals::deal_page;
use crate::graphql::context::ContextExt;
use crate::graphql::types::{Connection, Contact, Deal, Meeting};
use crate::service::filter::Range;
use crate::service::page::{PageRequest, counter};
use crate::service::{contacts, deals, meetings};

/// Records created, changed or deleted after `since`, in the caller's scope, oldest change
/// first. Deleted records appear with `deletedAt` set (tombstones). Page through each list
/// with `after`; then use `serverTime` as the next `since` (minus a minute of overlap, so a
/// write committed while you were syncing is not missed — applying a record twice is harmless).
pub struct ChangeFeed {
    since: DateTime<Utc>,
    server_time: DateTime<Utc>,
}

fn changed_since(since: DateTime<Utc>) -> Option<Range<DateTime<Utc>>> {
    Some(Range { gt: Some(since), ..Default::default() })
}

/// Records created, changed or deleted after `since`, in the caller's scope, oldest change
/// first. Deleted records appear with `deletedAt` set (tombstones). Page through each list
/// with `after`; then use `serverTime` as the next `since` (minus a minute of overlap, so a
/// write committed while you were syncing is not missed — applying a record twice is harmless).
#[Object]
impl ChangeFeed {
    /// The server's clock when the feed was read.
    async fn server_time(&self) -> DateTime<Utc> {
        self.server_time
    }
    /// Contacts changed since `since`.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<Contact>> {
        let principal = ctx.principal()?;
        let f = contacts::ContactFilter {
            updated_at: changed_since(self.since),
            include_deleted: true,
            ..Default::default()
        };
        let order = [(contacts::ContactSort::UpdatedAt, false)];
        let page = PageRequest { first, after, ..Default::default() };
        let rows = contacts::list(principal, ctx.db(), &f, &order, &page).await?;
        Ok(Connection::new(rows, Contact, counter(ctx.db(), contacts::query(principal, &f))))
    }
    /// Deals changed since `since`.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn deals(&self, ctx: &Context<'_>, first: Option<i32>, after: Option<String>) -> Result<Connection<Deal>> {
        let f =
            deals::DealFilter { updated_at: changed_since(self.since), include_deleted: true, ..Default::default() };
        deal_page(ctx, f, &[(deals::DealSort::UpdatedAt, false)], PageRequest { first, after, ..Default::default() })
            .await
    }
    /// Meetings changed since `since`.
    #[graphql(complexity = "first.unwrap_or(50).max(1) as usize * child_complexity")]
    async fn meetings(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<Meeting>> {
        let principal = ctx.principal()?;
        let f = meetings::MeetingFilter {
            updated_at: changed_since(self.since),
            include_deleted: true,
            ..Default::default()
        };
        let order = [(meetings::MeetingSort::UpdatedAt, false)];
        let page = PageRequest { first, after, ..Default::default() };
        let rows = meetings::list(principal, ctx.db(), &f, &order, &page).await?;
        Ok(Connection::new(rows, Meeting, counter(ctx.db(), meetings::query(principal, &f))))
    }
}

#[derive(Default)]
pub struct ChangeQuery;

#[Object]
impl ChangeQuery {
    /// Contacts, deals and meetings created, changed or deleted after `since`.
    async fn changes(&self, ctx: &Context<'_>, since: DateTime<Utc>) -> Result<ChangeFeed> {
        ctx.principal()?;
        Ok(ChangeFeed { since, server_time: crate::service::now() })
    }
}
