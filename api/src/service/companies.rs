//! Companies (SPEC section 11): scoped by owner like contacts; contacts and deals link to one.

use chrono::{DateTime, Utc};
use entity::company::{self, Column};
use sea_orm::sea_query::Expr;
use sea_orm::{Condition, ConnectionTrait, EntityTrait, NotSet, QueryFilter, Select, Set};

use super::custom_fields::query::Sorted;
use super::custom_fields::{self, Object, values::Patch};
use super::filter::{self, OneOf, Range};
use super::page::{self, KeyKind, Page, PageRequest, SortKey};
use super::scope::{ensure_can_own, ensure_can_write, owner_condition};
use super::work::{Target, Writer};
use super::{read, validate};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

const LABEL: &str = "Company";
const DUPLICATE: (&str, &str) = ("externalId", "another company already has this external id");

#[derive(Debug, Clone, Default)]
pub struct CompanyFilter {
    pub ids: Option<OneOf<i64>>,
    pub owner: Option<OneOf<i64>>,
    pub industry: Option<OneOf<String>>,
    pub domain: Option<OneOf<String>>,
    pub size: Option<Range<i32>>,
    pub created_at: Option<Range<DateTime<Utc>>>,
    pub updated_at: Option<Range<DateTime<Utc>>>,
    /// Substring of the name or domain.
    pub search: Option<String>,
    pub include_deleted: bool,
    /// Conditions on custom fields (`custom_fields::query::condition`).
    pub custom: Option<Condition>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompanySort {
    CreatedAt,
    UpdatedAt,
    Name,
}

/// Every company `principal` may see, before any filter of their own.
pub fn visible(principal: &Principal) -> Select<company::Entity> {
    company::Entity::find().filter(owner_condition(principal, Column::OwnerId))
}

/// The filtered, scoped query behind `companies` (its rows and its `totalCount`).
pub fn query(principal: &Principal, f: &CompanyFilter) -> Select<company::Entity> {
    let mut cond = Condition::all();
    cond = filter::one_of(cond, Column::Id, &f.ids);
    cond = filter::one_of(cond, Column::OwnerId, &f.owner);
    cond = filter::one_of(cond, Column::Industry, &f.industry);
    let domains = f.domain.clone().map(|d| OneOf {
        eq: d.eq.map(|v| v.to_lowercase()),
        any: d.any.map(|v| v.into_iter().map(|v| v.to_lowercase()).collect()),
    });
    cond = filter::one_of(cond, Column::Domain, &domains);
    cond = filter::range(cond, Column::Size, &f.size);
    cond = filter::range(cond, Column::CreatedAt, &f.created_at);
    cond = filter::range(cond, Column::UpdatedAt, &f.updated_at);
    cond = filter::search(cond, &[col(Column::Name), col(Column::Domain)], &f.search);
    cond = filter::deleted(cond, Column::DeletedAt, f.include_deleted);
    if let Some(custom) = &f.custom {
        cond = cond.add(custom.clone());
    }
    visible(principal).filter(cond)
}

pub async fn list(
    principal: &Principal,
    db: &impl ConnectionTrait,
    f: &CompanyFilter,
    order: &[(Sorted<CompanySort>, bool)],
    page: &PageRequest,
) -> ApiResult<Page<company::Model>> {
    // Alphabetical unless the caller orders otherwise: how a CRM lists accounts.
    let by_name = [(Sorted::Field(CompanySort::Name), false)];
    let order = if order.is_empty() { &by_name[..] } else { order };
    page::fetch(db, query(principal, f), &sort_keys(order), page).await
}

fn col(c: Column) -> Expr {
    Expr::col((company::Entity, c))
}

fn sort_keys(order: &[(Sorted<CompanySort>, bool)]) -> Vec<SortKey<company::Model>> {
    type M = company::Model;
    let own = |field, desc| match field {
        CompanySort::CreatedAt => {
            SortKey::new(col(Column::CreatedAt), KeyKind::Time, desc, |m: &M| m.created_at.into())
        }
        CompanySort::UpdatedAt => {
            SortKey::new(col(Column::UpdatedAt), KeyKind::Time, desc, |m: &M| m.updated_at.into())
        }
        CompanySort::Name => SortKey::new(col(Column::Name), KeyKind::Text, desc, |m: &M| m.name.as_str().into()),
    };
    let keys = Sorted::keys(order, own, |m: &M| &m.custom_fields);
    page::with_id_tiebreak(keys, col(Column::Id), |m: &M| m.id.into())
}

/// One visible, non-deleted company, or NOT_FOUND.
pub async fn get(principal: &Principal, db: &impl ConnectionTrait, id: i64) -> ApiResult<company::Model> {
    read::one(db, visible(principal), (Column::Id, Column::DeletedAt), id, LABEL).await
}

/// The visible, non-deleted companies among `ids` (for batch loading).
pub async fn by_ids(principal: &Principal, db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<Vec<company::Model>> {
    read::many(db, visible(principal), (Column::Id, Column::DeletedAt), ids).await
}

/// Checks that a record may be linked to company `id` (`field` names the input): the
/// company exists, is not deleted and is one the caller sees.
pub async fn ensure_linkable(
    principal: &Principal,
    db: &impl ConnectionTrait,
    field: &'static str,
    id: Option<i64>,
) -> ApiResult<()> {
    let Some(id) = id else { return Ok(()) };
    match get(principal, db, id).await {
        Ok(_) => Ok(()),
        Err(ApiError::NotFound(_)) => Err(ApiError::bad_input(field, "no such company")),
        Err(other) => Err(other),
    }
}

#[derive(Debug, Clone, Default)]
pub struct CompanyForCreate {
    pub owner_id: Option<i64>,
    pub name: String,
    pub domain: Option<String>,
    pub industry: Option<String>,
    pub size: Option<i32>,
    pub external_id: Option<String>,
    pub custom_fields: Patch,
}

/// A company's fields as checked for writing.
#[derive(Default)]
struct Checked {
    name: Option<String>,
    domain: Option<Option<String>>,
    industry: Option<Option<String>>,
    size: Option<Option<i32>>,
    external_id: Option<Option<String>>,
}

fn check(
    name: Option<&str>,
    domain: Option<Option<String>>,
    industry: Option<Option<String>>,
    size: Option<Option<i32>>,
    external_id: Option<Option<String>>,
) -> ApiResult<Checked> {
    let mut checks = validate::Checks::default();
    let checked = Checked {
        name: name.map(|n| checks.take(validate::required("name", n, 200))),
        domain: domain.map(|d| checks.take(self::domain("domain", d))),
        industry: checks.take(validate::optional_patch("industry", industry, 100)),
        size: size.map(|s| checks.take(non_negative_size(s))),
        external_id: checks.take(validate::optional_patch("externalId", external_id, 255)),
    };
    checks.done()?;
    Ok(checked)
}

/// A web domain, lowercase: `acme.com`, `shop.acme.co.uk`. A pasted address loses its scheme,
/// `www.` and path (`https://www.Acme.com/about` is `acme.com`); anything else that is not
/// a domain name is BAD_USER_INPUT.
pub fn domain(field: &str, value: Option<String>) -> ApiResult<Option<String>> {
    let Some(raw) = validate::optional(field, value, 253)? else { return Ok(None) };
    let mut host = raw.to_lowercase();
    for scheme in ["https://", "http://"] {
        if let Some(rest) = host.strip_prefix(scheme) {
            host = rest.to_owned();
        }
    }
    let host = host.split('/').next().unwrap_or_default();
    let host = host.strip_prefix("www.").unwrap_or(host);
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    let labels: Vec<&str> = host.split('.').collect();
    if labels.len() < 2 || !labels.iter().all(|l| label_ok(l)) {
        return Err(ApiError::bad_input(field, "is not a domain name (e.g. acme.com)"));
    }
    Ok(Some(host.to_owned()))
}

/// Both results, or every field problem of either.
fn both<A: Default, B: Default>(a: ApiResult<A>, b: ApiResult<B>) -> ApiResult<(A, B)> {
    let mut checks = validate::Checks::default();
    let (a, b) = (checks.take(a), checks.take(b));
    checks.done()?;
    Ok((a, b))
}

fn non_negative_size(size: Option<i32>) -> ApiResult<Option<i32>> {
    match size {
        Some(n) if n < 0 => Err(ApiError::bad_input("size", "must not be negative")),
        other => Ok(other),
    }
}

pub async fn create(principal: &Principal, w: &Writer, input: CompanyForCreate) -> ApiResult<company::Model> {
    ensure_can_write(principal)?;
    let checked =
        check(Some(&input.name), Some(input.domain), Some(input.industry), Some(input.size), Some(input.external_id));
    let custom = custom_fields::for_new(&w.db, Object::Company, &input.custom_fields).await;
    let (checked, custom) = both(checked, custom)?;
    let owner_id = input.owner_id.unwrap_or(principal.user_id);
    let mut work = w.begin(principal).await?;
    ensure_can_own(principal, work.db(), owner_id).await?;
    let now = super::now();
    let row = company::ActiveModel {
        id: NotSet,
        owner_id: Set(owner_id),
        name: Set(checked.name.unwrap_or_default()),
        domain: Set(checked.domain.flatten()),
        industry: Set(checked.industry.flatten()),
        size: Set(checked.size.flatten()),
        external_id: Set(checked.external_id.flatten()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
        custom_fields: Set(custom),
    };
    let created = work.insert_unique(row, DUPLICATE.0, DUPLICATE.1).await?;
    work.commit().await?;
    Ok(created)
}

#[derive(Debug, Clone, Default)]
pub struct CompanyForUpdate {
    pub version: i32,
    pub owner_id: Option<i64>,
    pub name: Option<String>,
    pub domain: Option<Option<String>>,
    pub industry: Option<Option<String>>,
    pub size: Option<Option<i32>>,
    pub external_id: Option<Option<String>>,
    pub custom_fields: Patch,
}

pub async fn update(principal: &Principal, w: &Writer, id: i64, input: CompanyForUpdate) -> ApiResult<company::Model> {
    ensure_can_write(principal)?;
    let checked = check(input.name.as_deref(), input.domain, input.industry, input.size, input.external_id)?;
    let mut changes = company::ActiveModel { updated_at: Set(super::now()), ..Default::default() };
    if let Some(v) = checked.name {
        changes.name = Set(v);
    }
    if let Some(v) = checked.domain {
        changes.domain = Set(v);
    }
    if let Some(v) = checked.industry {
        changes.industry = Set(v);
    }
    if let Some(v) = checked.size {
        changes.size = Set(v);
    }
    if let Some(v) = checked.external_id {
        changes.external_id = Set(v);
    }
    let mut work = w.begin(principal).await?;
    if let Some(owner_id) = input.owner_id {
        ensure_can_own(principal, work.db(), owner_id).await?;
        changes.owner_id = Set(owner_id);
    }
    if let Some(values) = custom_fields::after_patch(work.db(), Object::Company, id, &input.custom_fields).await? {
        changes.custom_fields = Set(values);
    }
    let updated = work.update::<company::Entity>(target(principal, id, Some(input.version)), changes).await?;
    work.commit().await?;
    Ok(updated)
}

/// Soft-deletes a company; its contacts and deals keep their link, and read it as no
/// company while it is deleted.
pub async fn delete(principal: &Principal, w: &Writer, id: i64, version: Option<i32>) -> ApiResult<()> {
    ensure_can_write(principal)?;
    let now = super::now();
    let changes = company::ActiveModel { deleted_at: Set(Some(now)), updated_at: Set(now), ..Default::default() };
    let mut work = w.begin(principal).await?;
    work.update::<company::Entity>(target(principal, id, version), changes).await?;
    work.commit().await
}

/// The caller's company `id`, at `version` when given.
fn target(principal: &Principal, id: i64, version: Option<i32>) -> Target {
    Target::new(id, LABEL)
        .scope(owner_condition(principal, Column::OwnerId))
        .version(version)
        .unique(DUPLICATE.0, DUPLICATE.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_are_normalized_or_refused() {
        let ok = |v: &str| domain("domain", Some(v.into())).ok().flatten();
        assert_eq!(ok("https://www.Acme.com/about").as_deref(), Some("acme.com"));
        assert_eq!(ok(" shop.acme.co.uk ").as_deref(), Some("shop.acme.co.uk"));
        assert_eq!(ok("bücher.de").as_deref(), Some("bücher.de"));
        assert_eq!(domain("domain", Some("  ".into())).ok(), Some(None));
        for bad in ["acme", "acme..com", "-acme.com", "ac me.com", "a@b.com"] {
            assert!(domain("domain", Some(bad.into())).is_err(), "{bad}");
        }
    }
}
