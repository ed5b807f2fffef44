//! Deals read together with their current stage and owner in one statement (two primary-key
//! joins), so that a page of deals and the stages and owners it shows cost one round trip.

use entity::{deal, stage, user};
use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, IntoIden, JoinType, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, FromQueryResult, IdenStatic, Iterable, QueryFilter, QueryTrait};

use super::{deals, read};
use crate::auth::Principal;
use crate::error::ApiResult;

/// A deal with the stage it is in and the user who owns it.
#[derive(Debug, Clone)]
pub struct DealWithRelations {
    pub deal: deal::Model,
    pub stage: Option<stage::Model>,
    pub owner: Option<user::Model>,
}

/// The visible live deals among `ids`, each with its stage and owner.
pub async fn by_ids(
    principal: &Principal,
    db: &impl ConnectionTrait,
    ids: &[i64],
) -> ApiResult<Vec<DealWithRelations>> {
    let inner = deals::visible(principal)
        .filter(deal::Column::Id.is_in(ids.iter().copied()))
        .filter(deal::Column::DeletedAt.is_null())
        .as_query()
        .to_owned();
    fetch(db, with_relations(inner, &[])).await
}

/// The newest `limit` visible deals of each contact (paginated in SQL by a window function), each
/// with its stage and owner, grouped by contact and newest first.
pub async fn latest_of_contacts(
    principal: &Principal,
    db: &impl ConnectionTrait,
    contact_ids: &[i64],
    limit: u64,
) -> ApiResult<Vec<DealWithRelations>> {
    let cols = (deal::Column::ContactId, deal::Column::DeletedAt);
    let order = "created_at DESC, id DESC";
    let ranked =
        read::latest_per_parent_query(deals::visible(principal), cols, "contact_id", order, contact_ids, limit);
    fetch(db, with_relations(ranked, &["contact_id", "rn"])).await
}

/// `SELECT d.*, s.* AS s_…, u.* AS u_… FROM (rows) d LEFT JOIN stages s … LEFT JOIN users u …`,
/// ordered by `order` (columns of `rows`).
fn with_relations(rows: SelectStatement, order: &[&'static str]) -> SelectStatement {
    let (d, s, u) = (Alias::new("d"), Alias::new("s"), Alias::new("u"));
    let mut q = Query::select();
    q.column((d.clone(), Asterisk)).from_subquery(rows, d.clone());
    for c in stage::Column::iter() {
        q.expr_as(Expr::col((s.clone(), c)), Alias::new(format!("s_{}", c.as_str())));
    }
    for c in user::Column::iter() {
        q.expr_as(Expr::col((u.clone(), c)), Alias::new(format!("u_{}", c.as_str())));
    }
    q.join_as(
        JoinType::LeftJoin,
        stage::Entity.into_iden(),
        s.clone(),
        Expr::col((s, stage::Column::Id)).equals((d.clone(), deal::Column::StageId)),
    );
    q.join_as(
        JoinType::LeftJoin,
        user::Entity.into_iden(),
        u.clone(),
        Expr::col((u, user::Column::Id)).equals((d.clone(), deal::Column::OwnerId)),
    );
    for column in order {
        q.order_by((d.clone(), Alias::new(*column)), sea_orm::Order::Asc);
    }
    q.to_owned()
}

async fn fetch(db: &impl ConnectionTrait, query: SelectStatement) -> ApiResult<Vec<DealWithRelations>> {
    let rows = db.query_all(&query).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        // A LEFT JOIN that found nothing leaves every prefixed column NULL: no model.
        let joined_id = |prefix: &str| row.try_get::<Option<i64>>("", &format!("{prefix}id")).ok().flatten();
        let stage = match joined_id("s_") {
            Some(_) => Some(stage::Model::from_query_result(&row, "s_")?),
            None => None,
        };
        let owner = match joined_id("u_") {
            Some(_) => Some(user::Model::from_query_result(&row, "u_")?),
            None => None,
        };
        out.push(DealWithRelations { deal: deal::Model::from_query_result(&row, "")?, stage, owner });
    }
    Ok(out)
}
