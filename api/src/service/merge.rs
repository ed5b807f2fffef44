//! Duplicate contacts (SPEC section 11): the candidates (same email, same phone, same name at
//! the same company) and merging some into one, moving everything that hangs off them.

use entity::{contact, deal, meeting, note, task};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ColumnTrait, ConnectionTrait, IntoActiveModel, QueryFilter, QueryOrder, QuerySelect, Set};

use super::contacts;
use super::scope::{ensure_can_write, owner_condition};
use super::work::tracked::Tracked;
use super::work::{Target, Work, Writer};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// Why contacts are candidates for one another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// The same email, ignoring case and surrounding spaces.
    Email,
    /// The same phone number, ignoring spaces, dashes, dots, brackets and a leading `+`.
    Phone,
    /// The same first and last name (ignoring case) at the same company.
    NameAndCompany,
}

impl Reason {
    pub const ALL: [Reason; 3] = [Reason::Email, Reason::Phone, Reason::NameAndCompany];

    /// The SQL key two duplicates share; NULL for contacts this reason cannot match.
    fn key(self) -> &'static str {
        match self {
            Reason::Email => "LOWER(TRIM(contacts.email))",
            Reason::Phone => {
                "NULLIF(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(contacts.phone, ' ', ''), '-', ''), '.', ''), \
                 '(', ''), ')', ''), '+', ''), '')"
            }
            Reason::NameAndCompany => {
                "CASE WHEN contacts.company_id IS NULL THEN NULL ELSE LOWER(TRIM(contacts.first_name)) || ' ' || \
                 LOWER(TRIM(contacts.last_name)) || ' @' || CAST(contacts.company_id AS TEXT) END"
            }
        }
    }
}

/// Contacts that look like one person, and why.
#[derive(Debug, Clone)]
pub struct DuplicateGroup {
    pub reason: Reason,
    /// What they share (the normalized email, phone, or name and company id).
    pub key: String,
    /// Oldest first: the usual one to keep.
    pub contacts: Vec<contact::Model>,
}

/// Most groups one call returns; the rest come once these are merged.
pub const MAX_GROUPS: u64 = 100;
/// Most contacts merged into one at a time.
pub const MAX_MERGED: usize = 20;

/// Groups of two or more live contacts the caller may write that share a key of `reasons`,
/// each group's contacts oldest first, at most `limit` groups per reason. A writer's tool:
/// ANALYST (who reads no email or phone) gets FORBIDDEN.
pub async fn candidates(
    principal: &Principal,
    db: &impl ConnectionTrait,
    reasons: &[Reason],
    limit: u64,
) -> ApiResult<Vec<DuplicateGroup>> {
    ensure_can_write(principal)?;
    let mut out = Vec::new();
    for &reason in reasons {
        let key = || Expr::cust(reason.key());
        let live = || contacts::visible(principal).filter(contact::Column::DeletedAt.is_null());
        let keys: Vec<String> = live()
            .select_only()
            .column_as(key(), "k")
            .filter(key().is_not_null())
            .group_by(key())
            .having(Expr::cust("COUNT(*) > 1"))
            .order_by_asc(key())
            .limit(limit)
            .into_tuple()
            .all(db)
            .await?;
        if keys.is_empty() {
            continue;
        }
        let key_of: std::collections::HashMap<i64, String> = live()
            .select_only()
            .column(contact::Column::Id)
            .column_as(key(), "k")
            .filter(key().is_in(keys.clone()))
            .into_tuple::<(i64, String)>()
            .all(db)
            .await?
            .into_iter()
            .collect();
        let ids: Vec<i64> = key_of.keys().copied().collect();
        let found = live()
            .filter(contact::Column::Id.is_in(ids))
            .order_by_asc(contact::Column::CreatedAt)
            .order_by_asc(contact::Column::Id)
            .all(db)
            .await?;
        for k in keys {
            let contacts: Vec<contact::Model> =
                found.iter().filter(|c| key_of.get(&c.id) == Some(&k)).cloned().collect();
            out.push(DuplicateGroup { reason, key: k, contacts });
        }
    }
    Ok(out)
}

/// Merges `merge_ids` into `keep_id`: their deals, meetings, notes and tasks move to the kept
/// contact (each move logged and the derived metrics kept), the kept contact's empty
/// descriptive fields (last name, email, phone, company, custom fields) are filled from the
/// merged ones in the order given, and the merged contacts are deleted with `merged_into_id` — a DELETED
/// event of kind CONTACT_MERGED each. Fields metrics read (source, lifecycle, acquisition
/// cost) stay the kept contact's, so the metrics change only by the merged contacts
/// themselves no longer counting as leads. All or nothing.
pub async fn merge(principal: &Principal, w: &Writer, keep_id: i64, merge_ids: &[i64]) -> ApiResult<contact::Model> {
    ensure_can_write(principal)?;
    let mut seen = std::collections::HashSet::new();
    if merge_ids.is_empty() || merge_ids.len() > MAX_MERGED {
        return Err(ApiError::bad_input("input.mergeIds", format!("give 1 to {MAX_MERGED} contacts to merge")));
    }
    if merge_ids.iter().any(|id| *id == keep_id || !seen.insert(*id)) {
        return Err(ApiError::bad_input("input.mergeIds", "must not repeat a contact or name the kept one"));
    }
    let mut work = w.begin(principal).await?;
    let keep = contacts::get(principal, work.db(), keep_id).await?;
    let mut merged = Vec::with_capacity(merge_ids.len());
    for &id in merge_ids {
        match contacts::get(principal, work.db(), id).await {
            Ok(c) => merged.push(c),
            Err(ApiError::NotFound(_)) => {
                return Err(ApiError::bad_input("input.mergeIds", format!("no such contact: {id}")));
            }
            Err(other) => return Err(other),
        }
    }
    move_children::<deal::Entity>(&mut work, deal::Column::ContactId, deal::Column::Id, merge_ids, keep_id).await?;
    move_children::<meeting::Entity>(&mut work, meeting::Column::ContactId, meeting::Column::Id, merge_ids, keep_id)
        .await?;
    move_children::<note::Entity>(&mut work, note::Column::ContactId, note::Column::Id, merge_ids, keep_id).await?;
    move_children::<task::Entity>(&mut work, task::Column::ContactId, task::Column::Id, merge_ids, keep_id).await?;

    let now = super::now();
    let mut fill = contact::ActiveModel { updated_at: Set(now), ..Default::default() };
    let first = |pick: fn(&contact::Model) -> Option<String>| merged.iter().find_map(pick);
    if keep.last_name.trim().is_empty()
        && let Some(v) = first(|c| Some(c.last_name.clone()).filter(|n| !n.trim().is_empty()))
    {
        fill.last_name = Set(v);
    }
    if keep.email.is_none()
        && let Some(v) = first(|c| c.email.clone())
    {
        fill.email = Set(Some(v));
    }
    if keep.phone.is_none()
        && let Some(v) = first(|c| c.phone.clone())
    {
        fill.phone = Set(Some(v));
    }
    if keep.company_id.is_none()
        && let Some(v) = merged.iter().find_map(|c| c.company_id)
    {
        fill.company_id = Set(Some(v));
    }
    let custom = merged.iter().fold(keep.custom_fields.clone(), |kept, c| {
        super::custom_fields::values::fill_missing(&kept, &c.custom_fields)
    });
    if custom != keep.custom_fields {
        fill.custom_fields = Set(custom);
    }
    // The merged contacts first: a filled email may be unique to one of them.
    for c in &merged {
        let gone = contact::ActiveModel {
            deleted_at: Set(Some(now)),
            updated_at: Set(now),
            merged_into_id: Set(Some(keep_id)),
            ..Default::default()
        };
        work.update::<contact::Entity>(Target::new(c.id, "Contact"), gone).await?;
    }
    let scope = owner_condition(principal, contact::Column::OwnerId);
    let kept = work.update::<contact::Entity>(Target::new(keep_id, "Contact").scope(scope), fill).await?;
    work.commit().await?;
    Ok(kept)
}

/// Points every row of `E` (deleted ones too) whose `contact` is one of `from` at `to`,
/// each through the unit of work (its event and derived data).
async fn move_children<E>(work: &mut Work, contact: E::Column, id: E::Column, from: &[i64], to: i64) -> ApiResult<()>
where
    E: Tracked,
    E::Model: IntoActiveModel<E::ActiveModel>,
    E::ActiveModel: sea_orm::ActiveModelTrait<Entity = E> + Send + Default,
{
    let ids: Vec<i64> = E::find()
        .select_only()
        .column(id)
        .filter(contact.is_in(from.iter().copied()))
        .into_tuple()
        .all(work.db())
        .await?;
    for child in ids {
        let mut changes = E::ActiveModel::default();
        sea_orm::ActiveModelTrait::set(&mut changes, contact, to.into());
        work.update::<E>(Target::new(child, E::NAME).include_deleted(), changes).await?;
    }
    Ok(())
}
