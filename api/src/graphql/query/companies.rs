//! Queries over companies.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};

use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::Connection;
use crate::graphql::types::company::Company;
use crate::graphql::types::custom_field::{self, CustomFieldFilter};
use crate::graphql::types::filters::{DateTimeFilter, IdFilter, IntFilter, OrderDirection, decode_ids};
use crate::service::companies::{self, CompanySort};
use crate::service::custom_fields::Object as RecordObject;
use crate::service::custom_fields::query::Sorted;
use crate::service::filter::OneOf;
use crate::service::page::{PageRequest, counter};

/// Filters for `companies`; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct CompanyFilter {
    /// By id.
    pub id: Option<IdFilter>,
    /// By owner (user id).
    pub owner_id: Option<IdFilter>,
    /// By industry, exactly.
    pub industry: Option<Vec<String>>,
    /// By domain, ignoring case.
    pub domain: Option<Vec<String>>,
    /// By number of employees (companies without one never match).
    pub size: Option<IntFilter>,
    /// By creation time.
    pub created_at: Option<DateTimeFilter>,
    /// By last change.
    pub updated_at: Option<DateTimeFilter>,
    /// Case-insensitive text in the name or domain.
    pub search: Option<String>,
    /// Include soft-deleted companies.
    #[graphql(default)]
    pub include_deleted: bool,
    /// By custom fields: every condition must hold (`{ key, eq/in/gte/lte/isSet }`).
    pub custom_field: Option<Vec<CustomFieldFilter>>,
}

impl CompanyFilter {
    pub async fn to_service(&self, ctx: &Context<'_>) -> Result<companies::CompanyFilter> {
        let any = |values: &Option<Vec<String>>| values.clone().map(|any| OneOf { eq: None, any: Some(any) });
        Ok(companies::CompanyFilter {
            ids: decode_ids("where.id", &self.id, NodeKind::Company)?,
            owner: decode_ids("where.ownerId", &self.owner_id, NodeKind::User)?,
            industry: any(&self.industry),
            domain: any(&self.domain),
            size: self.size.as_ref().map(IntFilter::to_range),
            created_at: self.created_at.as_ref().map(DateTimeFilter::to_range),
            updated_at: self.updated_at.as_ref().map(DateTimeFilter::to_range),
            search: self.search.clone(),
            include_deleted: self.include_deleted,
            custom: custom_field::condition(ctx, RecordObject::Company, &self.custom_field, "where.customField")
                .await?,
        })
    }
}

/// Fields companies can be ordered by.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum CompanyOrderField {
    /// The company's name, alphabetically.
    Name,
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// A custom field: give its key in `customField` (MULTI_SELECT fields cannot order).
    CustomField,
}

/// One ordering term; terms apply in order, then the id breaks ties.
#[derive(InputObject)]
pub struct CompanyOrderBy {
    /// The field.
    pub field: CompanyOrderField,
    /// The direction.
    #[graphql(default)]
    pub direction: OrderDirection,
    /// The key of the custom field, with `field: CUSTOM_FIELD`.
    pub custom_field: Option<String>,
}

async fn sort(ctx: &Context<'_>, order: &[CompanyOrderBy]) -> Result<Vec<(Sorted<CompanySort>, bool)>> {
    let mut sorted = Vec::with_capacity(order.len());
    for (i, o) in order.iter().enumerate() {
        let field = match o.field {
            CompanyOrderField::Name => Sorted::Field(CompanySort::Name),
            CompanyOrderField::CreatedAt => Sorted::Field(CompanySort::CreatedAt),
            CompanyOrderField::UpdatedAt => Sorted::Field(CompanySort::UpdatedAt),
            CompanyOrderField::CustomField => {
                let at = format!("orderBy[{i}].customField");
                Sorted::Custom(custom_field::sort(ctx, RecordObject::Company, o.custom_field.as_deref(), &at).await?)
            }
        };
        sorted.push((field, o.direction.descending()));
    }
    Ok(sorted)
}

#[derive(Default)]
pub struct CompanyQuery;

#[Object]
impl CompanyQuery {
    /// Companies the caller may see, by name unless ordered otherwise.
    #[allow(clippy::too_many_arguments)]
    async fn companies(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<CompanyFilter>,
        order_by: Option<Vec<CompanyOrderBy>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Company>> {
        let principal = ctx.principal().await?;
        let f = filter.unwrap_or_default().to_service(ctx).await?;
        let page = PageRequest { first, after, last, before };
        let rows =
            companies::list(principal, ctx.db(), &f, &sort(ctx, &order_by.unwrap_or_default()).await?, &page).await?;
        Ok(Connection::new(rows, Company, counter(ctx.db(), companies::query(principal, &f))))
    }

    /// One company, or null when it does not exist or is not visible to the caller.
    async fn company(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Company>> {
        let id = decode("id", &id, NodeKind::Company)?;
        Ok(ctx.loaders().await?.companies.load_one(id).await?.map(Company))
    }
}
