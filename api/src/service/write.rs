//! Optimistic-concurrency writes shared by the mutable records.

use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, QueryFilter};

use crate::error::{ApiError, ApiResult, duplicate_as};

/// The columns every versioned, soft-deletable table shares.
pub struct Versioned<C> {
    pub id: C,
    pub version: C,
    pub deleted_at: Option<C>,
    /// Field reported when an update violates a unique constraint, and the message.
    pub unique: (&'static str, &'static str),
}

/// Applies `changes` to row `id` only while it is in `scope`, not deleted, and still at
/// `version`; bumps the version and returns the row as written (`RETURNING`: no second read).
/// A row outside the scope is NOT_FOUND, a stale version CONFLICT.
pub async fn update_versioned<E, A, C>(
    db: &impl ConnectionTrait,
    cols: &Versioned<C>,
    scope: Condition,
    id: i64,
    version: Option<i32>,
    changes: A,
    label: &'static str,
) -> ApiResult<E::Model>
where
    E: EntityTrait<Column = C>,
    A: ActiveModelTrait<Entity = E>,
    C: ColumnTrait,
{
    let mut visible = scope.add(cols.id.eq(id));
    if let Some(deleted_at) = cols.deleted_at {
        visible = visible.add(deleted_at.is_null());
    }
    let mut guarded = visible.clone();
    if let Some(v) = version {
        guarded = guarded.add(cols.version.eq(v));
    }
    let updated = E::update_many()
        .set(changes)
        .col_expr(cols.version, Expr::col(cols.version).add(1))
        .filter(guarded)
        .exec_with_returning(db)
        .await
        .map_err(duplicate_as(cols.unique.0, cols.unique.1))?;
    if let Some(row) = updated.into_iter().next() {
        return Ok(row);
    }
    match E::find().filter(visible).one(db).await? {
        None => Err(ApiError::NotFound(label)),
        Some(_) => Err(ApiError::Conflict(format!(
            "this {} was changed by someone else since version {}; reload it and retry",
            label.to_lowercase(),
            version.unwrap_or_default()
        ))),
    }
}
