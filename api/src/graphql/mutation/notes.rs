//! Mutations on notes: write one about a contact, company or deal; edit or delete your own.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use super::optional_id;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::note::Note;
use crate::service::about::About;
use crate::service::notes;

/// A new note about exactly one record (one you may see).
#[derive(InputObject)]
pub struct CreateNoteInput {
    /// About this contact.
    pub contact_id: Option<ID>,
    /// About this company.
    pub company_id: Option<ID>,
    /// About this deal.
    pub deal_id: Option<ID>,
    /// The text (required, ≤ 10,000 characters).
    pub body: String,
}

/// A new text for your note.
#[derive(InputObject)]
pub struct UpdateNoteInput {
    /// The note.
    pub id: ID,
    /// The version you read; a stale version fails with CONFLICT.
    pub version: i32,
    /// The text.
    pub body: String,
}

/// A note to delete (softly).
#[derive(InputObject)]
pub struct DeleteNoteInput {
    /// The note.
    pub id: ID,
    /// When given, the delete fails with CONFLICT if the note changed since.
    pub version: Option<i32>,
}

/// The written note.
#[derive(SimpleObject)]
pub struct NotePayload {
    /// The note as written.
    pub note: Note,
}

/// What was deleted.
#[derive(SimpleObject)]
pub struct DeleteNotePayload {
    /// Global ID of the deleted note.
    pub deleted_note_id: ID,
}

#[derive(Default)]
pub struct NoteMutation;

#[Object]
impl NoteMutation {
    /// Writes a note about a contact, company or deal you may see, as you.
    async fn create_note(&self, ctx: &Context<'_>, input: CreateNoteInput) -> Result<NotePayload> {
        let principal = ctx.principal().await?;
        let about = About::one_of(
            optional_id("contactId", input.contact_id.as_ref(), NodeKind::Contact)?,
            optional_id("companyId", input.company_id.as_ref(), NodeKind::Company)?,
            optional_id("dealId", input.deal_id.as_ref(), NodeKind::Deal)?,
        )?;
        Ok(NotePayload { note: Note(notes::create(principal, ctx.writer(), about, &input.body).await?) })
    }

    /// Replaces the text of a note you wrote, if `version` is still current.
    async fn update_note(&self, ctx: &Context<'_>, input: UpdateNoteInput) -> Result<NotePayload> {
        let principal = ctx.principal().await?;
        let id = decode("id", &input.id, NodeKind::Note)?;
        Ok(NotePayload { note: Note(notes::update(principal, ctx.writer(), id, input.version, &input.body).await?) })
    }

    /// Soft-deletes a note you wrote (ADMIN: any note).
    async fn delete_note(&self, ctx: &Context<'_>, input: DeleteNoteInput) -> Result<DeleteNotePayload> {
        let principal = ctx.principal().await?;
        let id = decode("id", &input.id, NodeKind::Note)?;
        notes::delete(principal, ctx.writer(), id, input.version).await?;
        Ok(DeleteNotePayload { deleted_note_id: input.id })
    }
}
