//! Notes (SPEC section 11): free text about one contact, company or deal, visible with that
//! record and editable by its author.

use chrono::{DateTime, Utc};
use entity::note::{self, Column};
use sea_orm::sea_query::Expr;
use sea_orm::{Condition, ConnectionTrait, EntityTrait, NotSet, QueryFilter, Select, Set};

use super::about::{self, About};
use super::filter::{self, OneOf, Range};
use super::page::{self, KeyKind, Page, PageRequest, SortKey};
use super::scope::ensure_can_write;
use super::work::{Target, Writer};
use super::{read, validate};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

const LABEL: &str = "Note";
/// Longer than any call summary; shorter than a pasted e-mail thread needs to be kept whole.
pub const MAX_BODY: usize = 10_000;

#[derive(Debug, Clone, Default)]
pub struct NoteFilter {
    pub ids: Option<OneOf<i64>>,
    pub author: Option<OneOf<i64>>,
    pub contact: Option<OneOf<i64>>,
    pub company: Option<OneOf<i64>>,
    pub deal: Option<OneOf<i64>>,
    pub created_at: Option<Range<DateTime<Utc>>>,
    /// Substring of the body.
    pub search: Option<String>,
    pub include_deleted: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoteSort {
    CreatedAt,
    UpdatedAt,
}

/// The notes `principal` may see: those whose record (live, not deleted) is in the caller's
/// scope — a note is visible with its record, whoever wrote it.
pub fn visible(principal: &Principal) -> Select<note::Entity> {
    note::Entity::find()
        .filter(about::linked_record_visible(principal, (Column::ContactId, Column::CompanyId, Column::DealId)))
}

/// The filtered, scoped query behind a list of notes (its rows and its `totalCount`).
pub fn query(principal: &Principal, f: &NoteFilter) -> Select<note::Entity> {
    let mut cond = Condition::all();
    cond = filter::one_of(cond, Column::Id, &f.ids);
    cond = filter::one_of(cond, Column::AuthorId, &f.author);
    cond = filter::one_of(cond, Column::ContactId, &f.contact);
    cond = filter::one_of(cond, Column::CompanyId, &f.company);
    cond = filter::one_of(cond, Column::DealId, &f.deal);
    cond = filter::range(cond, Column::CreatedAt, &f.created_at);
    cond = filter::search(cond, &[Expr::col((note::Entity, Column::Body))], &f.search);
    cond = filter::deleted(cond, Column::DeletedAt, f.include_deleted);
    visible(principal).filter(cond)
}

pub async fn list(
    principal: &Principal,
    db: &impl ConnectionTrait,
    f: &NoteFilter,
    order: &[(NoteSort, bool)],
    page: &PageRequest,
) -> ApiResult<Page<note::Model>> {
    // Newest first, as a record's timeline reads.
    let order = if order.is_empty() { &[(NoteSort::CreatedAt, true)][..] } else { order };
    page::fetch(db, query(principal, f), &sort_keys(order), page).await
}

fn sort_keys(order: &[(NoteSort, bool)]) -> Vec<SortKey<note::Model>> {
    type M = note::Model;
    let col = |c: Column| Expr::col((note::Entity, c));
    let keys = order
        .iter()
        .map(|&(field, desc)| match field {
            NoteSort::CreatedAt => {
                SortKey::new(col(Column::CreatedAt), KeyKind::Time, desc, |m: &M| m.created_at.into())
            }
            NoteSort::UpdatedAt => {
                SortKey::new(col(Column::UpdatedAt), KeyKind::Time, desc, |m: &M| m.updated_at.into())
            }
        })
        .collect();
    page::with_id_tiebreak(keys, col(Column::Id), |m: &M| m.id.into())
}

/// One visible, non-deleted note, or NOT_FOUND.
pub async fn get(principal: &Principal, db: &impl ConnectionTrait, id: i64) -> ApiResult<note::Model> {
    read::one(db, visible(principal), (Column::Id, Column::DeletedAt), id, LABEL).await
}

/// The visible, non-deleted notes among `ids` (for batch loading).
pub async fn by_ids(principal: &Principal, db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<Vec<note::Model>> {
    read::many(db, visible(principal), (Column::Id, Column::DeletedAt), ids).await
}

/// Writes a note about `about` as the caller.
pub async fn create(principal: &Principal, w: &Writer, about: About, body: &str) -> ApiResult<note::Model> {
    ensure_can_write(principal)?;
    let body = validate::required("body", body, MAX_BODY)?;
    let mut work = w.begin(principal).await?;
    let owner_id = about.owner(principal, work.db()).await?;
    let now = super::now();
    let (contact_id, company_id, deal_id) = About::links(Some(about));
    let row = note::ActiveModel {
        id: NotSet,
        author_id: Set(principal.user_id),
        owner_id: Set(owner_id),
        contact_id: Set(contact_id),
        company_id: Set(company_id),
        deal_id: Set(deal_id),
        body: Set(body),
        external_id: Set(None),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        deleted_at: Set(None),
    };
    let created = work.insert::<note::Entity, _>(row).await?;
    work.commit().await?;
    Ok(created)
}

/// The caller's visible note `id`, if the caller may change it: its author may, and for a
/// delete an ADMIN too. Anyone else who sees it gets FORBIDDEN.
async fn writable(principal: &Principal, db: &impl ConnectionTrait, id: i64, deleting: bool) -> ApiResult<note::Model> {
    ensure_can_write(principal)?;
    let found = get(principal, db, id).await?;
    if found.author_id != principal.user_id && !(deleting && principal.is_admin()) {
        return Err(ApiError::Forbidden("only its author may change a note".into()));
    }
    Ok(found)
}

/// Replaces a note's body, if `version` is still current.
pub async fn update(principal: &Principal, w: &Writer, id: i64, version: i32, body: &str) -> ApiResult<note::Model> {
    let body = validate::required("body", body, MAX_BODY)?;
    let mut work = w.begin(principal).await?;
    let found = writable(principal, work.db(), id, false).await?;
    let about = About::one_of(found.contact_id, found.company_id, found.deal_id)?;
    let owner_id = about.owner(principal, work.db()).await?;
    let changes = note::ActiveModel {
        body: Set(body),
        owner_id: Set(owner_id),
        updated_at: Set(super::now()),
        ..Default::default()
    };
    let target = Target::new(id, LABEL).version(Some(version));
    let updated = work.update::<note::Entity>(target, changes).await?;
    work.commit().await?;
    Ok(updated)
}

/// Soft-deletes a note (its author, or an ADMIN).
pub async fn delete(principal: &Principal, w: &Writer, id: i64, version: Option<i32>) -> ApiResult<()> {
    let mut work = w.begin(principal).await?;
    writable(principal, work.db(), id, true).await?;
    let now = super::now();
    let changes = note::ActiveModel { deleted_at: Set(Some(now)), updated_at: Set(now), ..Default::default() };
    work.update::<note::Entity>(Target::new(id, LABEL).version(version), changes).await?;
    work.commit().await
}
