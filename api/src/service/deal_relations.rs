//! Deals read together with their current stage and owner in one statement (two primary-key
//! joins), so that a page of deals and the stages and owners it shows cost one round trip —
//! reading only the columns the query asked for (`DealRead`).

use entity::{deal, stage, user};
use sea_orm::sea_query::{Alias, Expr, ExprTrait, IntoIden, JoinType, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, QueryFilter, QuerySelect, QueryTrait, Select};

use super::columns::{Columns, Numbered};
use super::partial::{deal_of, stage_of, user_of};
use super::{deals, read};
use crate::auth::Principal;
use crate::error::ApiResult;

/// A deal with the stage it is in and the user who owns it, each as much of it as was read.
#[derive(Debug, Clone)]
pub struct DealWithRelations {
    pub deal: deal::Model,
    pub stage: Option<stage::Model>,
    pub owner: Option<user::Model>,
}

/// What to read of deals: some of their columns, and (when asked) some columns of the stage
/// and of the owner, joined. The fields of a model that were not read hold placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DealRead {
    pub deal: Columns<deal::Column>,
    pub stage: Option<Columns<stage::Column>>,
    pub owner: Option<Columns<user::Column>>,
}

impl DealRead {
    /// Every column of the deal, its stage and its owner.
    pub fn whole() -> Self {
        Self { deal: Columns::all(), stage: Some(Columns::all()), owner: Some(Columns::all()) }
    }

    /// Nothing yet (the id and the join keys are added when read).
    pub fn nothing() -> Self {
        Self { deal: Columns::none(), stage: None, owner: None }
    }

    /// Everything either asks for.
    pub fn union(self, other: Self) -> Self {
        fn either<C: Numbered>(a: Option<Columns<C>>, b: Option<Columns<C>>) -> Option<Columns<C>> {
            match (a, b) {
                (Some(a), Some(b)) => Some(a.union(b)),
                (a, b) => a.or(b),
            }
        }
        Self {
            deal: self.deal.union(other.deal),
            stage: either(self.stage, other.stage),
            owner: either(self.owner, other.owner),
        }
    }

    /// The deal columns to read when the stage and owner are loaded on their own (not joined).
    pub fn deal_columns(self) -> Columns<deal::Column> {
        self.completed(&[]).deal
    }

    /// The columns read: the asked ones, the ids, and the keys the joins and grouping use.
    fn completed(self, more: &[deal::Column]) -> Self {
        use deal::Column as C;
        let mut deal = Columns::of(more).union(self.deal).with(C::Id);
        if self.stage.is_some() {
            deal = deal.with(C::StageId);
        }
        if self.owner.is_some() {
            deal = deal.with(C::OwnerId);
        }
        Self {
            deal,
            stage: self.stage.map(|s| s.with(stage::Column::Id)),
            owner: self.owner.map(|u| u.with(user::Column::Id)),
        }
    }
}

/// The visible live deals among `ids`, each with what `read` asks of it.
pub async fn by_ids(
    principal: &Principal,
    db: &impl ConnectionTrait,
    ids: &[i64],
    read: DealRead,
) -> ApiResult<Vec<DealWithRelations>> {
    let read = read.completed(&[]);
    let inner = narrowed(deals::visible(principal), read)
        .filter(deal::Column::Id.is_in(ids.iter().copied()))
        .filter(deal::Column::DeletedAt.is_null())
        .as_query()
        .to_owned();
    fetch(db, with_relations(inner, read, &[]), read).await
}

/// The newest `limit` visible deals of each contact (paginated in SQL by a window function), each
/// with what `read` asks of it, grouped by contact and newest first.
pub async fn latest_of_contacts(
    principal: &Principal,
    db: &impl ConnectionTrait,
    contact_ids: &[i64],
    limit: u64,
    read: DealRead,
) -> ApiResult<Vec<DealWithRelations>> {
    let read = read.completed(&[deal::Column::ContactId]);
    let cols = (deal::Column::ContactId, deal::Column::DeletedAt);
    let order = "created_at DESC, id DESC";
    let visible = narrowed(deals::visible(principal), read);
    let ranked = read::latest_per_parent_query(visible, cols, "contact_id", order, contact_ids, limit);
    fetch(db, with_relations(ranked, read, &["contact_id", "rn"]), read).await
}

/// `visible` selecting only the deal columns of `read`.
fn narrowed(visible: Select<deal::Entity>, read: DealRead) -> Select<deal::Entity> {
    visible.select_only().columns(read.deal.iter())
}

/// `SELECT d.<deal columns>, s.<stage columns>, u.<user columns> FROM (rows) d LEFT JOIN stages s …
/// LEFT JOIN users u …` with the columns of `read` in declaration order (what `fetch` decodes by
/// position) and each join only when `read` has it, ordered by `order` (columns of `rows`).
fn with_relations(rows: SelectStatement, read: DealRead, order: &[&'static str]) -> SelectStatement {
    let (d, s, u) = (Alias::new("d"), Alias::new("s"), Alias::new("u"));
    let mut q = Query::select();
    q.from_subquery(rows, d.clone());
    for c in read.deal.iter() {
        q.column((d.clone(), c));
    }
    if let Some(columns) = read.stage {
        for c in columns.iter() {
            q.column((s.clone(), c));
        }
        q.join_as(
            JoinType::LeftJoin,
            stage::Entity.into_iden(),
            s.clone(),
            Expr::col((s, stage::Column::Id)).equals((d.clone(), deal::Column::StageId)),
        );
    }
    if let Some(columns) = read.owner {
        for c in columns.iter() {
            q.column((u.clone(), c));
        }
        q.join_as(
            JoinType::LeftJoin,
            user::Entity.into_iden(),
            u.clone(),
            Expr::col((u, user::Column::Id)).equals((d.clone(), deal::Column::OwnerId)),
        );
    }
    for column in order {
        q.order_by((d.clone(), Alias::new(*column)), sea_orm::Order::Asc);
    }
    q.to_owned()
}

/// Decodes by position: the rows are many and narrow, and reading a column by name costs a
/// formatted prefix and a search over the column names per value (a fifth of a nested page's
/// server time in a profile).
async fn fetch(db: &impl ConnectionTrait, query: SelectStatement, read: DealRead) -> ApiResult<Vec<DealWithRelations>> {
    let rows = db.query_all(&query).await?;
    let stage_at = read.deal.len();
    let user_at = stage_at + read.stage.map_or(0, |s| s.len());
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        // A LEFT JOIN that found nothing leaves every column of its side NULL: no model.
        let stage = match read.stage {
            Some(columns) if row.try_get_by_index::<Option<i64>>(stage_at)?.is_some() => {
                Some(stage_of(&row, columns, stage_at)?)
            }
            _ => None,
        };
        let owner = match read.owner {
            Some(columns) if row.try_get_by_index::<Option<i64>>(user_at)?.is_some() => {
                Some(user_of(&row, columns, user_at)?)
            }
            _ => None,
        };
        out.push(DealWithRelations { deal: deal_of(&row, read.deal, 0)?, stage, owner });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::Iterable;

    #[test]
    fn completing_a_read_adds_the_ids_and_join_keys() {
        let asked = DealRead { deal: Columns::of(&[deal::Column::Title]), stage: Some(Columns::none()), owner: None };
        let read = asked.completed(&[deal::Column::ContactId]);
        let deal: Vec<u32> = read.deal.iter().map(|c| c as u32).collect();
        let expected = [deal::Column::Id, deal::Column::ContactId, deal::Column::StageId, deal::Column::Title];
        assert_eq!(deal, expected.map(|c| c as u32));
        assert_eq!(read.stage.map(|s| s.len()), Some(1));
        assert!(read.stage.is_some_and(|s| s.contains(stage::Column::Id)));
        assert_eq!(read.owner, None);
        assert_eq!(DealRead::whole().completed(&[]), DealRead::whole());
        assert_eq!(Columns::<deal::Column>::all().iter().count(), deal::Column::iter().count());
    }
}
