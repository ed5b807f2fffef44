//! The record a note or task is about — one contact, company or deal — and who may see it:
//! shared by every record that hangs off another and is visible with it.

use entity::{company, contact, deal};
use sea_orm::sea_query::{Query, SelectStatement};
use sea_orm::{ColumnTrait, Condition, ConnectionTrait, EntityTrait};

use super::scope::owner_condition;
use super::{companies, contacts, deals};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// The record a note or task is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum About {
    Contact(i64),
    Company(i64),
    Deal(i64),
}

impl About {
    /// The one link of `contact`, `company` and `deal` that is given; BAD_USER_INPUT unless
    /// exactly one is.
    pub fn one_of(contact: Option<i64>, company: Option<i64>, deal: Option<i64>) -> ApiResult<Self> {
        Self::at_most_one(contact, company, deal)?
            .ok_or_else(|| ApiError::bad_input("contactId", "give exactly one of contactId, companyId and dealId"))
    }

    /// The link of `contact`, `company` and `deal` that is given, if any; BAD_USER_INPUT when
    /// more than one is.
    pub fn at_most_one(contact: Option<i64>, company: Option<i64>, deal: Option<i64>) -> ApiResult<Option<Self>> {
        match (contact, company, deal) {
            (None, None, None) => Ok(None),
            (Some(id), None, None) => Ok(Some(Self::Contact(id))),
            (None, Some(id), None) => Ok(Some(Self::Company(id))),
            (None, None, Some(id)) => Ok(Some(Self::Deal(id))),
            _ => Err(ApiError::bad_input("contactId", "give at most one of contactId, companyId and dealId")),
        }
    }

    /// (contact, company, deal) as columns.
    pub fn links(about: Option<Self>) -> (Option<i64>, Option<i64>, Option<i64>) {
        match about {
            None => (None, None, None),
            Some(Self::Contact(id)) => (Some(id), None, None),
            Some(Self::Company(id)) => (None, Some(id), None),
            Some(Self::Deal(id)) => (None, None, Some(id)),
        }
    }

    fn field(self) -> &'static str {
        match self {
            Self::Contact(_) => "contactId",
            Self::Company(_) => "companyId",
            Self::Deal(_) => "dealId",
        }
    }

    /// The owner of the record, when the caller may see it (live); BAD_USER_INPUT on its
    /// field otherwise.
    pub async fn owner(self, principal: &Principal, db: &impl ConnectionTrait) -> ApiResult<i64> {
        let found = match self {
            Self::Contact(id) => contacts::get(principal, db, id).await.map(|c| c.owner_id),
            Self::Company(id) => companies::get(principal, db, id).await.map(|c| c.owner_id),
            Self::Deal(id) => deals::get(principal, db, id).await.map(|d| d.owner_id),
        };
        match found {
            Ok(owner) => Ok(owner),
            Err(ApiError::NotFound(what)) => {
                Err(ApiError::bad_input(self.field(), format!("no such {}", what.to_lowercase())))
            }
            Err(other) => Err(other),
        }
    }
}

/// The ids of the live records of one table that `principal` may see.
fn visible_ids<E: EntityTrait>(
    principal: &Principal,
    id: E::Column,
    owner: E::Column,
    deleted: E::Column,
) -> SelectStatement {
    Query::select()
        .column(id)
        .from(E::default())
        .cond_where(owner_condition(principal, owner))
        .and_where(deleted.is_null())
        .to_owned()
}

/// Rows whose linked record (by these three columns) is live and visible to `principal`.
pub fn linked_record_visible(
    principal: &Principal,
    (contact_col, company_col, deal_col): (impl ColumnTrait, impl ColumnTrait, impl ColumnTrait),
) -> Condition {
    use {company::Column as Co, contact::Column as Ct, deal::Column as D};
    Condition::any()
        .add(contact_col.in_subquery(visible_ids::<contact::Entity>(principal, Ct::Id, Ct::OwnerId, Ct::DeletedAt)))
        .add(company_col.in_subquery(visible_ids::<company::Entity>(principal, Co::Id, Co::OwnerId, Co::DeletedAt)))
        .add(deal_col.in_subquery(visible_ids::<deal::Entity>(principal, D::Id, D::OwnerId, D::DeletedAt)))
}
