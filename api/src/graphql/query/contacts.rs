//! Queries over contacts.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};

use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::connection::node_selections;
use crate::graphql::types::custom_field::{self, CustomFieldFilter};
use crate::graphql::types::enums::Lifecycle;
use crate::graphql::types::filters::{
    DateTimeFilter, DecimalFilter, IdFilter, OrderDirection, decode_ids, enum_filter,
};
use crate::graphql::types::{Connection, Contact};
use crate::service::columns::Columns;
use crate::service::contacts::{self, ContactSort};
use crate::service::custom_fields::Object as RecordObject;
use crate::service::custom_fields::query::Sorted;
use crate::service::filter::OneOf;
use crate::service::page::{PageRequest, counter};

enum_filter!(LifecycleFilter, Lifecycle, entity::enums::Lifecycle, "Matches contacts in these lifecycle stages.");

/// Filters for `contacts`; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct ContactFilter {
    /// By id.
    pub id: Option<IdFilter>,
    /// By owner (user id).
    pub owner_id: Option<IdFilter>,
    /// By company.
    pub company_id: Option<IdFilter>,
    /// By lifecycle stage.
    pub lifecycle: Option<LifecycleFilter>,
    /// By lead source, exactly.
    pub source: Option<Vec<String>>,
    /// By creation time.
    pub created_at: Option<DateTimeFilter>,
    /// By last change.
    pub updated_at: Option<DateTimeFilter>,
    /// By acquisition cost.
    pub acquisition_cost: Option<DecimalFilter>,
    /// Case-insensitive text in first name, last name, email or company name.
    pub search: Option<String>,
    /// Include soft-deleted contacts.
    #[graphql(default)]
    pub include_deleted: bool,
    /// By custom fields: every condition must hold (`{ key, eq/in/gte/lte/isSet }`).
    pub custom_field: Option<Vec<CustomFieldFilter>>,
}

impl ContactFilter {
    pub async fn to_service(&self, ctx: &Context<'_>) -> Result<contacts::ContactFilter> {
        Ok(contacts::ContactFilter {
            ids: decode_ids("where.id", &self.id, NodeKind::Contact)?,
            owner: decode_ids("where.ownerId", &self.owner_id, NodeKind::User)?,
            company: decode_ids("where.companyId", &self.company_id, NodeKind::Company)?,
            lifecycle: self.lifecycle.as_ref().map(LifecycleFilter::to_one_of),
            source: self.source.clone().map(|any| OneOf { eq: None, any: Some(any) }),
            created_at: self.created_at.as_ref().map(DateTimeFilter::to_range),
            updated_at: self.updated_at.as_ref().map(DateTimeFilter::to_range),
            acquisition_cost: self
                .acquisition_cost
                .as_ref()
                .map(|f| f.to_range("where.acquisitionCost"))
                .transpose()?,
            search: self.search.clone(),
            include_deleted: self.include_deleted,
            custom: custom_field::condition(ctx, RecordObject::Contact, &self.custom_field, "where.customField")
                .await?,
        })
    }
}

/// Fields contacts can be ordered by.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum ContactOrderField {
    /// Creation time.
    CreatedAt,
    /// Last change.
    UpdatedAt,
    /// First name.
    FirstName,
    /// Last name.
    LastName,
    /// Acquisition cost.
    AcquisitionCost,
    /// A custom field: give its key in `customField` (MULTI_SELECT fields cannot order).
    CustomField,
}

/// One ordering term; terms apply in order, then the id breaks ties.
#[derive(InputObject)]
pub struct ContactOrderBy {
    /// The field.
    pub field: ContactOrderField,
    /// The direction.
    #[graphql(default)]
    pub direction: OrderDirection,
    /// The key of the custom field, with `field: CUSTOM_FIELD`.
    pub custom_field: Option<String>,
}

pub async fn contact_sort(ctx: &Context<'_>, order: &[ContactOrderBy]) -> Result<Vec<(Sorted<ContactSort>, bool)>> {
    let mut sorted = Vec::with_capacity(order.len());
    for (i, o) in order.iter().enumerate() {
        let field = match o.field {
            ContactOrderField::CreatedAt => Sorted::Field(ContactSort::CreatedAt),
            ContactOrderField::UpdatedAt => Sorted::Field(ContactSort::UpdatedAt),
            ContactOrderField::FirstName => Sorted::Field(ContactSort::FirstName),
            ContactOrderField::LastName => Sorted::Field(ContactSort::LastName),
            ContactOrderField::AcquisitionCost => Sorted::Field(ContactSort::AcquisitionCost),
            ContactOrderField::CustomField => {
                let at = format!("orderBy[{i}].customField");
                Sorted::Custom(custom_field::sort(ctx, RecordObject::Contact, o.custom_field.as_deref(), &at).await?)
            }
        };
        sorted.push((field, o.direction.descending()));
    }
    Ok(sorted)
}

/// One page of contacts matching `filter` (already converted), for any list of contacts.
pub async fn contact_page(
    ctx: &Context<'_>,
    filter: contacts::ContactFilter,
    order: &[(Sorted<ContactSort>, bool)],
    page: PageRequest,
) -> Result<Connection<Contact>> {
    let principal = ctx.principal().await?;
    let asked = node_selections(ctx.field()).into_iter().map(Contact::columns_of).fold(Columns::none(), Columns::union);
    let rows = contacts::list(principal, ctx.db(), &filter, order, &page, asked).await?;
    Ok(Connection::new(rows, Contact, counter(ctx.db(), contacts::query(principal, &filter))))
}

#[derive(Default)]
pub struct ContactQuery;

#[Object]
impl ContactQuery {
    /// Contacts the caller may see, newest first unless ordered otherwise.
    #[allow(clippy::too_many_arguments)]
    async fn contacts(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<ContactFilter>,
        order_by: Option<Vec<ContactOrderBy>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Contact>> {
        let f = filter.unwrap_or_default().to_service(ctx).await?;
        let order = contact_sort(ctx, &order_by.unwrap_or_default()).await?;
        contact_page(ctx, f, &order, PageRequest { first, after, last, before }).await
    }

    /// One contact, or null when it does not exist or is not visible to the caller.
    async fn contact(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Contact>> {
        let id = decode("id", &id, NodeKind::Contact)?;
        Ok(ctx.loaders().await?.contacts.load_one(id).await?.map(Contact))
    }
}
