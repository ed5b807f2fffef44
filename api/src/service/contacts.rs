//! Contacts: scoped reads, filters, ordering, and validated versioned writes.

use chrono::{DateTime, Utc};
use entity::company;
use entity::contact::{self, Column};
use entity::enums::Lifecycle;
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{Condition, ConnectionTrait, EntityTrait, NotSet, QueryFilter, Select, Set};

use super::columns::Columns;
use super::custom_fields::query::Sorted;
use super::custom_fields::{self, Object, values::Patch};
use super::filter::{self, OneOf, Range};
use super::page::{self, KeyKind, Page, PageRequest, Partial, SortKey};
use super::scope::{ensure_can_own, ensure_can_write, owner_condition};
use super::work::{Target, Writer};
use super::{read, validate};
use crate::auth::Principal;
use crate::error::ApiResult;

const LABEL: &str = "Contact";

#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    pub ids: Option<OneOf<i64>>,
    pub owner: Option<OneOf<i64>>,
    pub company: Option<OneOf<i64>>,
    pub lifecycle: Option<OneOf<Lifecycle>>,
    pub source: Option<OneOf<String>>,
    pub created_at: Option<Range<DateTime<Utc>>>,
    pub updated_at: Option<Range<DateTime<Utc>>>,
    pub acquisition_cost: Option<Range<i64>>,
    /// Substring of first name, last name, email or company name.
    pub search: Option<String>,
    pub include_deleted: bool,
    /// Conditions on custom fields (`custom_fields::query::condition`).
    pub custom: Option<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactSort {
    CreatedAt,
    UpdatedAt,
    FirstName,
    LastName,
    AcquisitionCost,
}

/// Every contact `principal` may see, before any filter of their own.
pub fn visible(principal: &Principal) -> Select<contact::Entity> {
    contact::Entity::find().filter(owner_condition(principal, Column::OwnerId))
}

/// The filtered, scoped query behind `contacts` (its rows and its `totalCount`).
pub fn query(principal: &Principal, f: &ContactFilter) -> Select<contact::Entity> {
    let mut cond = Condition::all();
    cond = filter::one_of(cond, Column::Id, &f.ids);
    cond = filter::one_of(cond, Column::OwnerId, &f.owner);
    cond = filter::one_of(cond, Column::CompanyId, &f.company);
    cond = filter::one_of(cond, Column::Lifecycle, &f.lifecycle);
    cond = filter::one_of(cond, Column::Source, &f.source);
    cond = filter::range(cond, Column::CreatedAt, &f.created_at);
    cond = filter::range(cond, Column::UpdatedAt, &f.updated_at);
    cond = filter::range(cond, Column::AcquisitionCost, &f.acquisition_cost);
    if let Some(pattern) = filter::like_pattern(&f.search) {
        let names = Query::select()
            .column(company::Column::Id)
            .from(company::Entity)
            .and_where(filter::like(Expr::col((company::Entity, company::Column::Name)), &pattern))
            .to_owned();
        let text = [Column::FirstName, Column::LastName, Column::Email].map(col);
        let any = text.into_iter().fold(Condition::any(), |any, c| any.add(filter::like(c, &pattern)));
        cond = cond.add(any.add(col(Column::CompanyId).in_subquery(names)));
    }
    cond = filter::deleted(cond, Column::DeletedAt, f.include_deleted);
    if let Some(custom) = &f.custom {
        cond = cond.add(custom.clone());
    }
    visible(principal).filter(cond)
}

pub async fn list(
    principal: &Principal,
    db: &impl ConnectionTrait,
    f: &ContactFilter,
    order: &[(Sorted<ContactSort>, bool)],
    page: &PageRequest,
    asked: Columns<Column>,
) -> ApiResult<Page<contact::Model>> {
    // Newest first unless the caller orders otherwise.
    let newest = [(Sorted::Field(ContactSort::CreatedAt), true)];
    let order = if order.is_empty() { &newest[..] } else { order };
    // The cursors hold the sort keys and the id.
    let columns = order.iter().fold(asked.with(Column::Id), |c, (sort, _)| c.with(sort_column(sort)));
    let partial = Partial { columns, decode: super::partial::contact_of };
    page::fetch_partial(db, query(principal, f), &sort_keys(order), page, partial).await
}

fn sort_column(sort: &Sorted<ContactSort>) -> Column {
    let Sorted::Field(sort) = sort else { return Column::CustomFields };
    match sort {
        ContactSort::CreatedAt => Column::CreatedAt,
        ContactSort::UpdatedAt => Column::UpdatedAt,
        ContactSort::FirstName => Column::FirstName,
        ContactSort::LastName => Column::LastName,
        ContactSort::AcquisitionCost => Column::AcquisitionCost,
    }
}

fn col(c: Column) -> Expr {
    Expr::col((contact::Entity, c))
}

fn sort_keys(order: &[(Sorted<ContactSort>, bool)]) -> Vec<SortKey<contact::Model>> {
    type M = contact::Model;
    let own = |field, desc| match field {
        ContactSort::CreatedAt => {
            SortKey::new(col(Column::CreatedAt), KeyKind::Time, desc, |m: &M| m.created_at.into())
        }
        ContactSort::UpdatedAt => {
            SortKey::new(col(Column::UpdatedAt), KeyKind::Time, desc, |m: &M| m.updated_at.into())
        }
        ContactSort::FirstName => {
            SortKey::new(col(Column::FirstName), KeyKind::Text, desc, |m: &M| m.first_name.as_str().into())
        }
        ContactSort::LastName => {
            SortKey::new(col(Column::LastName), KeyKind::Text, desc, |m: &M| m.last_name.as_str().into())
        }
        ContactSort::AcquisitionCost => {
            SortKey::new(col(Column::AcquisitionCost), KeyKind::Int, desc, |m: &M| m.acquisition_cost.into())
        }
    };
    let keys = Sorted::keys(order, own, |m: &M| &m.custom_fields);
    page::with_id_tiebreak(keys, col(Column::Id), |m: &M| m.id.into())
}

/// One visible, non-deleted contact, or NOT_FOUND.
pub async fn get(principal: &Principal, db: &impl ConnectionTrait, id: i64) -> ApiResult<contact::Model> {
    read::one(db, visible(principal), (Column::Id, Column::DeletedAt), id, LABEL).await
}

/// The visible, non-deleted contacts among `ids` (for batch loading).
pub async fn by_ids(principal: &Principal, db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<Vec<contact::Model>> {
    read::many(db, visible(principal), (Column::Id, Column::DeletedAt), ids).await
}

#[derive(Debug, Clone, Default)]
pub struct ContactForCreate {
    pub owner_id: Option<i64>,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_id: Option<i64>,
    pub source: Option<String>,
    pub lifecycle: Option<Lifecycle>,
    pub disqualify_reason: Option<String>,
    pub acquisition_cost: Option<i64>,
    pub external_id: Option<String>,
    pub custom_fields: Patch,
    /// Problems found while reading the input (ids, amounts), reported with the others.
    pub checks: validate::Checks,
}

pub async fn create(principal: &Principal, w: &Writer, input: ContactForCreate) -> ApiResult<contact::Model> {
    ensure_can_write(principal)?;
    let mut checks = input.checks;
    let first_name = checks.take(validate::required("firstName", &input.first_name, 200));
    let last_name = checks.take(validate::optional("lastName", Some(input.last_name), 200)).unwrap_or_default();
    let email = checks.take(validate::email("email", input.email));
    let phone = checks.take(validate::optional("phone", input.phone, 64));
    let source = checks.take(validate::optional("source", input.source, 100));
    let disqualify_reason = checks.take(validate::optional("disqualifyReason", input.disqualify_reason, 500));
    let acquisition_cost = checks.take(validate::non_negative("acquisitionCost", input.acquisition_cost.unwrap_or(0)));
    let external_id = checks.take(validate::optional("externalId", input.external_id, 255));
    let custom = checks.take(custom_fields::for_new(&w.db, Object::Contact, &input.custom_fields).await);
    checks.done()?;
    let owner_id = input.owner_id.unwrap_or(principal.user_id);
    let mut work = w.begin(principal).await?;
    ensure_can_own(principal, work.db(), owner_id).await?;
    super::companies::ensure_linkable(principal, work.db(), "companyId", input.company_id).await?;
    let now = super::now();
    let lifecycle = input.lifecycle.unwrap_or(Lifecycle::Lead);
    let disqualified = lifecycle == Lifecycle::Disqualified;
    let model = contact::ActiveModel {
        id: NotSet,
        owner_id: Set(owner_id),
        first_name: Set(first_name),
        last_name: Set(last_name),
        email: Set(email),
        phone: Set(phone),
        company_id: Set(input.company_id),
        source: Set(source),
        lifecycle: Set(lifecycle),
        disqualify_reason: Set(disqualify_reason),
        disqualified_at: Set(disqualified.then_some(now)),
        acquisition_cost: Set(acquisition_cost),
        external_id: Set(external_id),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        custom_fields: Set(custom),
        merged_into_id: Set(None),
    };
    let created = work.insert_unique(model, DUPLICATE.0, DUPLICATE.1).await?;
    work.commit().await?;
    Ok(created)
}

#[derive(Debug, Clone, Default)]
pub struct ContactForUpdate {
    pub version: i32,
    pub owner_id: Option<i64>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<Option<String>>,
    pub phone: Option<Option<String>>,
    pub company_id: Option<Option<i64>>,
    pub source: Option<Option<String>>,
    pub lifecycle: Option<Lifecycle>,
    pub disqualify_reason: Option<Option<String>>,
    pub acquisition_cost: Option<i64>,
    pub external_id: Option<Option<String>>,
    pub custom_fields: Patch,
    /// Problems found while reading the input (ids, amounts), reported with the others.
    pub checks: validate::Checks,
}

pub async fn update(principal: &Principal, w: &Writer, id: i64, input: ContactForUpdate) -> ApiResult<contact::Model> {
    ensure_can_write(principal)?;
    let now = super::now();
    let mut changes = contact::ActiveModel { updated_at: Set(now), ..Default::default() };
    let mut checks = input.checks;
    if let Some(v) = input.first_name {
        changes.first_name = Set(checks.take(validate::required("firstName", &v, 200)));
    }
    if let Some(v) = input.last_name {
        changes.last_name = Set(checks.take(validate::optional("lastName", Some(v), 200)).unwrap_or_default());
    }
    if let Some(v) = input.email {
        changes.email = Set(checks.take(validate::email("email", v)));
    }
    if let Some(v) = checks.take(validate::optional_patch("phone", input.phone, 64)) {
        changes.phone = Set(v);
    }
    if let Some(v) = checks.take(validate::optional_patch("source", input.source, 100)) {
        changes.source = Set(v);
    }
    if let Some(v) = checks.take(validate::optional_patch("disqualifyReason", input.disqualify_reason, 500)) {
        changes.disqualify_reason = Set(v);
    }
    if let Some(lifecycle) = input.lifecycle {
        changes.lifecycle = Set(lifecycle);
        changes.disqualified_at = Set((lifecycle == Lifecycle::Disqualified).then_some(now));
    }
    if let Some(v) = input.acquisition_cost {
        changes.acquisition_cost = Set(checks.take(validate::non_negative("acquisitionCost", v)));
    }
    if let Some(v) = checks.take(validate::optional_patch("externalId", input.external_id, 255)) {
        changes.external_id = Set(v);
    }
    checks.done()?;
    let mut work = w.begin(principal).await?;
    if let Some(owner_id) = input.owner_id {
        ensure_can_own(principal, work.db(), owner_id).await?;
        changes.owner_id = Set(owner_id);
    }
    if let Some(company_id) = input.company_id {
        super::companies::ensure_linkable(principal, work.db(), "companyId", company_id).await?;
        changes.company_id = Set(company_id);
    }
    if let Some(values) = custom_fields::after_patch(work.db(), Object::Contact, id, &input.custom_fields).await? {
        changes.custom_fields = Set(values);
    }
    let updated = work.update::<contact::Entity>(target(principal, id, Some(input.version)), changes).await?;
    work.commit().await?;
    Ok(updated)
}

/// Soft-deletes a contact; with `version`, only if nobody changed it since.
pub async fn delete(principal: &Principal, w: &Writer, id: i64, version: Option<i32>) -> ApiResult<()> {
    ensure_can_write(principal)?;
    let now = super::now();
    let changes = contact::ActiveModel { deleted_at: Set(Some(now)), updated_at: Set(now), ..Default::default() };
    let mut work = w.begin(principal).await?;
    work.update::<contact::Entity>(target(principal, id, version), changes).await?;
    work.commit().await
}

const DUPLICATE: (&str, &str) = ("externalId", "another contact already has this external id");

/// The caller's contact `id`, at `version` when given.
fn target(principal: &Principal, id: i64, version: Option<i32>) -> Target {
    Target::new(id, LABEL)
        .scope(owner_condition(principal, Column::OwnerId))
        .version(version)
        .unique(DUPLICATE.0, DUPLICATE.1)
}
