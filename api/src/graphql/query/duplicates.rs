//! `duplicateContacts`: contacts that look like one person, to merge with `mergeContacts`.

use async_graphql::{Context, Enum, Object, Result, SimpleObject};

use crate::graphql::context::ContextExt;
use crate::graphql::types::Contact;
use crate::service::merge::{self, MAX_GROUPS, Reason};

/// Why contacts are duplicate candidates.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum DuplicateReason {
    /// The same email, ignoring case and surrounding spaces.
    Email,
    /// The same phone number, ignoring spaces, dashes, dots, brackets and `+`.
    Phone,
    /// The same first and last name, ignoring case, at the same company.
    NameAndCompany,
}

impl From<DuplicateReason> for Reason {
    fn from(r: DuplicateReason) -> Self {
        match r {
            DuplicateReason::Email => Reason::Email,
            DuplicateReason::Phone => Reason::Phone,
            DuplicateReason::NameAndCompany => Reason::NameAndCompany,
        }
    }
}

fn reason_of(r: Reason) -> DuplicateReason {
    match r {
        Reason::Email => DuplicateReason::Email,
        Reason::Phone => DuplicateReason::Phone,
        Reason::NameAndCompany => DuplicateReason::NameAndCompany,
    }
}

/// Contacts that look like one person.
#[derive(SimpleObject)]
pub struct DuplicateContactGroup {
    /// Why they match.
    pub reason: DuplicateReason,
    /// What they share: the normalized email or phone, or `first last @companyId`.
    pub key: String,
    /// The contacts, oldest first (the usual one to keep).
    pub contacts: Vec<Contact>,
}

#[derive(Default)]
pub struct DuplicateQuery;

#[Object]
impl DuplicateQuery {
    /// Groups of two or more contacts you may write that share an email, a phone, or a name
    /// at one company (all three unless `reasons` narrows them), up to 100 groups per reason
    /// in key order. A contact may be in a group of each reason. ANALYST: FORBIDDEN.
    async fn duplicate_contacts(
        &self,
        ctx: &Context<'_>,
        reasons: Option<Vec<DuplicateReason>>,
    ) -> Result<Vec<DuplicateContactGroup>> {
        let principal = ctx.principal().await?;
        let reasons: Vec<Reason> = match reasons {
            Some(list) => list.into_iter().map(Into::into).collect(),
            None => Reason::ALL.to_vec(),
        };
        let groups = merge::candidates(principal, ctx.db(), &reasons, MAX_GROUPS).await?;
        Ok(groups
            .into_iter()
            .map(|g| DuplicateContactGroup {
                reason: reason_of(g.reason),
                key: g.key,
                contacts: g.contacts.into_iter().map(Contact).collect(),
            })
            .collect())
    }
}
