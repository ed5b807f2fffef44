//! `mergeContacts`: duplicates folded into the contact to keep.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::Contact;
use crate::service::merge;

/// Which contact stays and which are merged into it.
#[derive(InputObject)]
pub struct MergeContactsInput {
    /// The contact to keep.
    pub keep_id: ID,
    /// The contacts to merge into it (1–20; their empty-field values fill the kept contact's
    /// in this order).
    pub merge_ids: Vec<ID>,
}

/// The kept contact after the merge.
#[derive(SimpleObject)]
pub struct MergeContactsPayload {
    /// The contact that stays, with what it gained.
    pub contact: Contact,
    /// The contacts merged into it (now deleted, `mergedInto` the kept one).
    pub merged_contact_ids: Vec<ID>,
}

#[derive(Default)]
pub struct MergeMutation;

#[Object]
impl MergeMutation {
    /// Merges duplicate contacts into one: their deals, meetings, notes and tasks move to the
    /// kept contact, its empty last name, email, phone and company are filled from them, and
    /// they are deleted with a link to it. All or nothing.
    async fn merge_contacts(&self, ctx: &Context<'_>, input: MergeContactsInput) -> Result<MergeContactsPayload> {
        let principal = ctx.principal().await?;
        let keep = decode("input.keepId", &input.keep_id, NodeKind::Contact)?;
        let merged = input
            .merge_ids
            .iter()
            .map(|id| decode("input.mergeIds", id, NodeKind::Contact))
            .collect::<Result<Vec<_>, _>>()?;
        let kept = merge::merge(principal, ctx.writer(), keep, &merged).await?;
        Ok(MergeContactsPayload { contact: Contact(kept), merged_contact_ids: input.merge_ids })
    }
}
