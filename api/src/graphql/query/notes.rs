//! Queries over notes, and the one page of notes every record's `notes` field reads.

use async_graphql::{Context, Enum, ID, InputObject, Object, Result};

use crate::error::ApiResult;
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::Connection;
use crate::graphql::types::filters::{DateTimeFilter, IdFilter, OrderDirection, decode_ids};
use crate::graphql::types::note::Note;
use crate::service::notes::{self, NoteSort};
use crate::service::page::{PageRequest, counter};

/// Filters for notes; all given conditions must hold.
#[derive(InputObject, Default)]
pub struct NoteFilter {
    /// By id.
    pub id: Option<IdFilter>,
    /// By author (user id).
    pub author_id: Option<IdFilter>,
    /// About these contacts.
    pub contact_id: Option<IdFilter>,
    /// About these companies.
    pub company_id: Option<IdFilter>,
    /// About these deals.
    pub deal_id: Option<IdFilter>,
    /// By when it was written.
    pub created_at: Option<DateTimeFilter>,
    /// Case-insensitive text in the body.
    pub search: Option<String>,
    /// Include soft-deleted notes.
    #[graphql(default)]
    pub include_deleted: bool,
}

impl NoteFilter {
    pub fn to_service(&self) -> ApiResult<notes::NoteFilter> {
        Ok(notes::NoteFilter {
            ids: decode_ids("where.id", &self.id, NodeKind::Note)?,
            author: decode_ids("where.authorId", &self.author_id, NodeKind::User)?,
            contact: decode_ids("where.contactId", &self.contact_id, NodeKind::Contact)?,
            company: decode_ids("where.companyId", &self.company_id, NodeKind::Company)?,
            deal: decode_ids("where.dealId", &self.deal_id, NodeKind::Deal)?,
            created_at: self.created_at.as_ref().map(DateTimeFilter::to_range),
            search: self.search.clone(),
            include_deleted: self.include_deleted,
        })
    }
}

/// Fields notes can be ordered by.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
pub enum NoteOrderField {
    /// When it was written.
    CreatedAt,
    /// When it was last edited.
    UpdatedAt,
}

/// One ordering term; terms apply in order, then the id breaks ties.
#[derive(InputObject)]
pub struct NoteOrderBy {
    /// The field.
    pub field: NoteOrderField,
    /// The direction.
    #[graphql(default)]
    pub direction: OrderDirection,
}

/// One page of notes matching `filter` (already converted), for any list of notes.
pub async fn note_page(
    ctx: &Context<'_>,
    filter: notes::NoteFilter,
    order_by: Option<Vec<NoteOrderBy>>,
    page: PageRequest,
) -> Result<Connection<Note>> {
    let principal = ctx.principal().await?;
    let order: Vec<(NoteSort, bool)> = order_by
        .unwrap_or_default()
        .iter()
        .map(|o| {
            let field = match o.field {
                NoteOrderField::CreatedAt => NoteSort::CreatedAt,
                NoteOrderField::UpdatedAt => NoteSort::UpdatedAt,
            };
            (field, o.direction.descending())
        })
        .collect();
    let rows = notes::list(principal, ctx.db(), &filter, &order, &page).await?;
    Ok(Connection::new(rows, Note, counter(ctx.db(), notes::query(principal, &filter))))
}

#[derive(Default)]
pub struct NoteQuery;

#[Object]
impl NoteQuery {
    /// Notes the caller may see (those about records the caller sees), newest first unless
    /// ordered otherwise.
    #[allow(clippy::too_many_arguments)]
    async fn notes(
        &self,
        ctx: &Context<'_>,
        #[graphql(name = "where")] filter: Option<NoteFilter>,
        order_by: Option<Vec<NoteOrderBy>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Result<Connection<Note>> {
        let f = filter.unwrap_or_default().to_service()?;
        note_page(ctx, f, order_by, PageRequest { first, after, last, before }).await
    }

    /// One note, or null when it does not exist or is not visible to the caller.
    async fn note(&self, ctx: &Context<'_>, id: ID) -> Result<Option<Note>> {
        let id = decode("id", &id, NodeKind::Note)?;
        Ok(ctx.loaders().await?.notes.load_one(id).await?.map(Note))
    }
}
