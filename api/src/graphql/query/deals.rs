//! Queries over deals.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};

use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::connection::node_selections;
use crate::graphql::types::custom_field::{self, CustomFieldFilter};
use crate::graphql::types::enums::DealStatus;
use crate::graphql::types::filters::{
    DateFilter, DateTimeFilter, DecimalFilter, IdFilter, OrderDirection, decode_ids, enum_filter,
};
use crate::graphql::types::metrics::MetricFilterInput;
use crate::graphql::types::{Connection, Deal};
use crate::service::custom_fields::Object as RecordObject;
use crate::service::custom_fields::query::Sorted;
use crate::service::deal_relations::DealRead;
use crate::service::deals::{self, DealSort};
use crate::service::page::{PageRequest, counter};
use crate::service::stale;

enum_filter!(DealStatusFilter, DealStatus, entity::enums::DealStatus, "Matches deals with these statuses.");

/// Filters for `deals`; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct DealFilter {
    /// By id.
    pub id: Option<IdFilter>,
    /// By owner (user id).
    pub owner_id: Option<IdFilter>,
    /// By contact.
    pub contact_id: Option<IdFilter>,
    /// By company.
    pub company_id: Option<IdFilter>,
    /// By pipeline.
    pub pipeline_id: Option<IdFilter>,
    /// By current stage.
    pub stage_id: Option<IdFilter>,
    /// By status.
    pub status: Option<DealStatusFilter>,
    /// By lost reason.
    pub lost_reason_id: Option<IdFilter>,
    /// By amount.
    pub amount: Option<DecimalFilter>,
    /// By creation time.
    pub created_at: Option<DateTimeFilter>,
    /// By last change.
    pub updated_at: Option<DateTimeFilter>,
    /// By close time.
    pub closed_at: Option<DateTimeFilter>,
    /// By expected close date.
    pub expected_close_date: Option<DateFilter>,
    /// Case-insensitive text in the title.
    pub search: Option<String>,
    /// Include soft-deleted deals.
    #[graphql(default)]
    pub include_deleted: bool,
    /// By custom fields: every condition must hold (`{ key, eq/in/gte/lte/isSet }`).
    pub custom_field: Option<Vec<CustomFieldFilter>>,
}

impl DealFilter {
    pub async fn to_service(&self, ctx: &Context<'_>) -> Result<deals::DealFilter> {
        Ok(deals::DealFilter {
            ids: decode_ids("where.id", &self.id, NodeKind::Deal)?,
            owner: decode_ids("where.ownerId", &self.owner_id, NodeKind::User)?,
            contact: decode_ids("where.contactId", &self.contact_id, NodeKind::Contact)?,
            company: decode_ids("where.companyId", &self.company_id, NodeKind::Company)?,
            pipeline: decode_ids("where.pipelineId", &self.pipeline_id, NodeKind::Pipeline)?,
            stage: decode_ids("where.stageId", &self.stage_id, NodeKind::Stage)?,
            status: self.status.as_ref().map(DealStatusFilter::to_one_of),
            lost_reason: decode_ids("where.lostReasonId", &self.lost_reason_id, NodeKind::LostReason)?,
            amount: self.amount.as_ref().map(|f| f.to_range("where.amount")).transpose()?,
            created_at: self.created_at.as_ref().map(DateTimeFilter::to_range),
            updated_at: self.updated_at.as_ref().map(DateTimeFilter::to_range),
            closed_at: self.closed_at.as_ref().map(DateTimeFilter::to_range),
            expected_close_date: self.expected_close_date.as_ref().map(DateFilter::to_range),
            search: self.search.clone(),
            include_deleted: self.include_deleted,
            custom: custom_field::condition(ctx, RecordObject::Deal, &self.custom_field, "where.customField").await?,
        })
    }
}

/// Fields deals can be ordered by.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DealOrderField {
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// The amount, as stored (in each deal's currency).
    Amount,
    /// The title, alphabetically.
    Title,
    /// When the deal entered its current stage.
    StageEnteredAt,
    /// A custom field: give its key in `customField` (MULTI_SELECT fields cannot order).
    CustomField,
}

/// One ordering term; terms apply in order, then the id breaks ties.
#[derive(InputObject)]
pub struct DealOrderBy {
    /// The field.
    pub field: DealOrderField,
    /// The direction.
    #[graphql(default)]
    pub direction: OrderDirection,
    /// The key of the custom field, with `field: CUSTOM_FIELD`.
    pub custom_field: Option<String>,
}

pub async fn deal_sort(ctx: &Context<'_>, order: &[DealOrderBy]) -> Result<Vec<(Sorted<DealSort>, bool)>> {
    let mut sorted = Vec::with_capacity(order.len());
    for (i, o) in order.iter().enumerate() {
        let field = match o.field {
            DealOrderField::CreatedAt => Sorted::Field(DealSort::CreatedAt),
            DealOrderField::UpdatedAt => Sorted::Field(DealSort::UpdatedAt),
            DealOrderField::Amount => Sorted::Field(DealSort::Amount),
            DealOrderField::Title => Sorted::Field(DealSort::Title),
            DealOrderField::StageEnteredAt => Sorted::Field(DealSort::StageEnteredAt),
            DealOrderField::CustomField => {
                let at = format!("orderBy[{i}].customField");
                Sorted::Custom(custom_field::sort(ctx, RecordObject::Deal, o.custom_field.as_deref(), &at).await?)
            }
        };
        sorted.push((field, o.direction.descending()));
    }
    Ok(sorted)
}

/// One page of deals matching `filter` (already converted), for any list of deals.
pub async fn deal_page(
    ctx: &Context<'_>,
    filter: deals::DealFilter,
    order: &[(Sorted<DealSort>, bool)],
    page: PageRequest,
) -> Result<Connection<Deal>> {
    let principal = ctx.principal().await?;
    let read = node_selections(ctx.field()).into_iter().map(Deal::read_of).fold(DealRead::nothing(), DealRead::union);
    let rows = deals::list(principal, ctx.db(), &filter, order, &page, read.deal_columns()).await?;
    Ok(Connection::new(rows, Deal::new, counter(ctx.db(), deals::query(principal, &filter))))
}

#[derive(Default)]
pub struct DealQuery;

#[Object]
impl DealQuery {
    /// Deals the caller may see, newest first unless ordered otherwise.
    #[allow(clippy::too_many_arguments)]
    async fn deals(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<DealFilter>,
        order_by: Option<Vec<DealOrderBy>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Deal>> {
        let f = filter.unwrap_or_default().to_service(ctx).await?;
        deal_page(
            ctx,
            f,
            &deal_sort(ctx, &order_by.unwrap_or_default()).await?,
            PageRequest { first, after, last, before },
        )
        .await
    }

    /// Open deals the caller may see that are in their stage longer than its
    /// `staleAfterDays`, the longest there first. `filter` narrows by owners, teams,
    /// pipeline and source; it has no `period` (a deal is stale now).
    async fn stale_deals(
        &self,
        ctx: &Context<'_>,
        filter: Option<MetricFilterInput>,
        first: Option<i32>,
        after: Option<String>,
    ) -> Result<Connection<Deal>> {
        let filter = filter.unwrap_or_default().to_service()?;
        let page = PageRequest { first, after, last: None, before: None };
        let (rows, select) = stale::stale_deals(ctx.principal().await?, ctx.db(), &filter, &page).await?;
        Ok(Connection::new(rows, Deal::new, counter(ctx.db(), select)))
    }

    /// One deal, or null when it does not exist or is not visible to the caller.
    async fn deal(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Deal>> {
        let id = decode("id", &id, NodeKind::Deal)?;
        Ok(ctx.loaders().await?.deals.load_one((id, Deal::read_of(ctx.field()))).await?.map(Deal::joined))
    }
}
