//! Queries over meetings.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};

use crate::error::ApiResult;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::connection::node_selections;
use crate::graphql::types::enums::{MeetingKind, MeetingStatus};
use crate::graphql::types::filters::{DateTimeFilter, IdFilter, OrderDirection, decode_ids, enum_filter};
use crate::graphql::types::{Connection, Meeting};
use crate::service::columns::Columns;
use crate::service::meetings::{self, MeetingSort};
use crate::service::page::{PageRequest, counter};

enum_filter!(MeetingKindFilter, MeetingKind, entity::enums::MeetingKind, "Matches meetings of these kinds.");
enum_filter!(MeetingStatusFilter, MeetingStatus, entity::enums::MeetingStatus, "Matches meetings with these statuses.");

/// Filters for `meetings`; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct MeetingFilter {
    /// By id.
    pub id: Option<IdFilter>,
    /// By owner (user id).
    pub owner_id: Option<IdFilter>,
    /// By contact.
    pub contact_id: Option<IdFilter>,
    /// By deal.
    pub deal_id: Option<IdFilter>,
    /// By kind.
    pub kind: Option<MeetingKindFilter>,
    /// By status.
    pub status: Option<MeetingStatusFilter>,
    /// By scheduled time.
    pub scheduled_at: Option<DateTimeFilter>,
    /// By last change.
    pub updated_at: Option<DateTimeFilter>,
    /// Include soft-deleted meetings.
    #[graphql(default)]
    pub include_deleted: bool,
}

impl MeetingFilter {
    fn to_service(&self) -> ApiResult<meetings::MeetingFilter> {
        Ok(meetings::MeetingFilter {
            ids: decode_ids("where.id", &self.id, NodeKind::Meeting)?,
            owner: decode_ids("where.ownerId", &self.owner_id, NodeKind::User)?,
            contact: decode_ids("where.contactId", &self.contact_id, NodeKind::Contact)?,
            deal: decode_ids("where.dealId", &self.deal_id, NodeKind::Deal)?,
            kind: self.kind.as_ref().map(MeetingKindFilter::to_one_of),
            status: self.status.as_ref().map(MeetingStatusFilter::to_one_of),
            scheduled_at: self.scheduled_at.as_ref().map(DateTimeFilter::to_range),
            updated_at: self.updated_at.as_ref().map(DateTimeFilter::to_range),
            include_deleted: self.include_deleted,
        })
    }
}

/// Fields meetings can be ordered by.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[allow(clippy::enum_variant_names)] // the GraphQL names: SCHEDULED_AT, CREATED_AT, UPDATED_AT
pub enum MeetingOrderField {
    /// Scheduled time.
    ScheduledAt,
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
}

/// One ordering term; terms apply in order, then the id breaks ties.
#[derive(InputObject)]
pub struct MeetingOrderBy {
    /// The field.
    pub field: MeetingOrderField,
    /// The direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

#[derive(Default)]
pub struct MeetingQuery;

#[Object]
impl MeetingQuery {
    /// Meetings the caller may see, latest scheduled first unless ordered otherwise.
    #[allow(clippy::too_many_arguments)]
    async fn meetings(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<MeetingFilter>,
        order_by: Option<Vec<MeetingOrderBy>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Meeting>> {
        let principal = ctx.principal().await?;
        let f = filter.unwrap_or_default().to_service()?;
        let order: Vec<(MeetingSort, bool)> = order_by
            .unwrap_or_default()
            .iter()
            .map(|o| {
                let field = match o.field {
                    MeetingOrderField::ScheduledAt => MeetingSort::ScheduledAt,
                    MeetingOrderField::CreatedAt => MeetingSort::CreatedAt,
                    MeetingOrderField::UpdatedAt => MeetingSort::UpdatedAt,
                };
                (field, o.direction.descending())
            })
            .collect();
        let page = PageRequest { first, after, last, before };
        let asked =
            node_selections(ctx.field()).into_iter().map(Meeting::columns_of).fold(Columns::none(), Columns::union);
        let rows = meetings::list(principal, ctx.db(), &f, &order, &page, asked).await?;
        Ok(Connection::new(rows, Meeting, counter(ctx.db(), meetings::query(principal, &f))))
    }

    /// One meeting, or null when it does not exist or is not visible to the caller.
    async fn meeting(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Meeting>> {
        let id = decode("id", &id, NodeKind::Meeting)?;
        Ok(ctx.loaders().await?.meetings.load_one(id).await?.map(Meeting))
    }
}
