//! Reads shared by the soft-deletable records: one by id, many by id, and the latest N
//! children of each parent — always starting from the caller's scoped `Select`.

use sea_orm::sea_query::{Alias, Asterisk, Expr, ExprTrait, Query, SelectStatement};
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait, Select};

use crate::error::{ApiError, ApiResult};

/// The live (not deleted) row `id` of `visible`, or NOT_FOUND.
pub async fn one<E: EntityTrait>(
    db: &impl ConnectionTrait,
    visible: Select<E>,
    (id_col, deleted_col): (E::Column, E::Column),
    id: i64,
    label: &'static str,
) -> ApiResult<E::Model> {
    visible.filter(id_col.eq(id)).filter(deleted_col.is_null()).one(db).await?.ok_or(ApiError::NotFound(label))
}

/// The live rows of `visible` among `ids` (for batch loading).
pub async fn many<E: EntityTrait>(
    db: &impl ConnectionTrait,
    visible: Select<E>,
    (id_col, deleted_col): (E::Column, E::Column),
    ids: &[i64],
) -> ApiResult<Vec<E::Model>> {
    Ok(visible.filter(id_col.is_in(ids.iter().copied())).filter(deleted_col.is_null()).all(db).await?)
}

/// The first `limit` live rows of `visible` for each of `parent_ids`, grouped by parent and
/// ordered within it by `order_sql` (e.g. `created_at DESC, id DESC`), in one statement: the per-parent limit is a
/// window function, so nested lists are paginated in SQL, not in memory. `parent` and
/// `order_sql` are column names from the code, never from the client.
pub async fn latest_per_parent<E: EntityTrait>(
    db: &impl ConnectionTrait,
    visible: Select<E>,
    cols: (E::Column, E::Column),
    parent: &'static str,
    order_sql: &'static str,
    parent_ids: &[i64],
    limit: u64,
) -> ApiResult<Vec<E::Model>> {
    let query = latest_per_parent_query(visible, cols, parent, order_sql, parent_ids, limit);
    let stmt = db.get_database_backend().build(&query);
    Ok(E::find().from_raw_sql(stmt).all(db).await?)
}

/// The statement of `latest_per_parent`: the rows as `ranked`, with their rank `rn`.
pub fn latest_per_parent_query<E: EntityTrait>(
    visible: Select<E>,
    (parent_col, deleted_col): (E::Column, E::Column),
    parent: &'static str,
    order_sql: &'static str,
    parent_ids: &[i64],
    limit: u64,
) -> SelectStatement {
    let mut inner = visible
        .filter(parent_col.is_in(parent_ids.iter().copied()))
        .filter(deleted_col.is_null())
        .as_query()
        .to_owned();
    inner.expr_as(
        Expr::cust(format!("ROW_NUMBER() OVER (PARTITION BY {parent} ORDER BY {order_sql})")),
        Alias::new("rn"),
    );
    Query::select()
        .column(Asterisk)
        .from_subquery(inner, Alias::new("ranked"))
        .and_where(Expr::col(Alias::new("rn")).lte(limit as i64))
        .order_by(Alias::new(parent), sea_orm::Order::Asc)
        .order_by(Alias::new("rn"), sea_orm::Order::Asc)
        .to_owned()
}
