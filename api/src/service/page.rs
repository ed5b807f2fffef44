//! Keyset (seek) pagination over any ordering, with the id as the final tie-breaker.
//!
//! A cursor holds the sort values of its row, so a page is found with an indexed range
//! condition instead of an OFFSET, and stays stable while rows are inserted before it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, IntoCondition};
use sea_orm::{
    Condition, ConnectionTrait, DbErr, EntityTrait, Order, QueryFilter, QueryOrder, QueryResult, QuerySelect,
    QueryTrait, Select,
};
use serde::{Deserialize, Serialize};

use super::columns::{Columns, Numbered};
use crate::error::{ApiError, ApiResult};

pub const DEFAULT_PAGE_SIZE: u64 = 50;
pub const MAX_PAGE_SIZE: u64 = 100;

/// Relay arguments as the client sent them.
#[derive(Debug, Clone, Default)]
pub struct PageRequest {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// One value of a cursor; its kind must match the sort key it is compared with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum KeyValue {
    Int(i64),
    Text(String),
    Float(f64),
}

impl From<i64> for KeyValue {
    fn from(v: i64) -> Self {
        Self::Int(v)
    }
}

impl From<&str> for KeyValue {
    fn from(v: &str) -> Self {
        Self::Text(v.to_owned())
    }
}

impl From<DateTime<Utc>> for KeyValue {
    /// Microseconds since the epoch: exact, and ordered like the timestamp.
    fn from(v: DateTime<Utc>) -> Self {
        Self::Int(v.timestamp_micros())
    }
}

/// How a sort key's cursor value turns back into an SQL value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Int,
    Text,
    Time,
    Float,
}

/// How a sort key's value is read from a row.
pub type ReadKey<M> = std::sync::Arc<dyn Fn(&M) -> KeyValue + Send + Sync>;

/// One ORDER BY term: a non-null column, its direction, and how to read its value from a row.
pub struct SortKey<M> {
    pub column: Expr,
    pub kind: KeyKind,
    pub descending: bool,
    pub value: ReadKey<M>,
}

pub type CountFuture = std::pin::Pin<Box<dyn std::future::Future<Output = ApiResult<u64>> + Send>>;
/// Counts every row a list's filter and scope match (ignoring pagination), when called.
pub type Counter = std::sync::Arc<dyn Fn() -> CountFuture + Send + Sync>;

/// A deferred `COUNT(*)` of `select`, run only if the client asks for `totalCount`.
pub fn counter<E>(db: &sea_orm::DatabaseConnection, select: Select<E>) -> Counter
where
    E: EntityTrait,
    E::Model: Sync,
{
    let db = db.clone();
    std::sync::Arc::new(move || {
        let (db, select) = (db.clone(), select.clone());
        Box::pin(async move { Ok(sea_orm::PaginatorTrait::count(select, &db).await?) })
    })
}

impl<M> SortKey<M> {
    pub fn new(
        column: Expr,
        kind: KeyKind,
        descending: bool,
        value: impl Fn(&M) -> KeyValue + Send + Sync + 'static,
    ) -> Self {
        Self { column, kind, descending, value: std::sync::Arc::new(value) }
    }
}

/// The keys for `order`, then the id as tie-breaker in the direction of the last term
/// (descending when there is none), so every row has exactly one place.
pub fn with_id_tiebreak<M>(
    mut keys: Vec<SortKey<M>>,
    id: Expr,
    value: impl Fn(&M) -> KeyValue + Send + Sync + 'static,
) -> Vec<SortKey<M>> {
    let descending = keys.last().map(|k| k.descending).unwrap_or(true);
    keys.push(SortKey::new(id, KeyKind::Int, descending, value));
    keys
}

/// A page of rows with their cursors.
pub struct Page<M> {
    pub rows: Vec<(String, M)>,
    pub has_next_page: bool,
    pub has_previous_page: bool,
}

/// Runs `select` (already filtered and scoped) for one page in the order `keys`.
pub async fn fetch<E>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    keys: &[SortKey<E::Model>],
    page: &PageRequest,
) -> ApiResult<Page<E::Model>>
where
    E: EntityTrait,
{
    fetch_by(select, keys, page, |select| select.all(db)).await
}

/// Which columns a page reads, and how a row of exactly those (in declaration order) becomes a
/// model; the columns must hold the sort keys'.
pub struct Partial<M, C> {
    pub columns: Columns<C>,
    pub decode: fn(&QueryResult, Columns<C>, usize) -> Result<M, DbErr>,
}

/// `fetch`, reading only the columns of `partial`.
pub async fn fetch_partial<E, C>(
    db: &impl ConnectionTrait,
    select: Select<E>,
    keys: &[SortKey<E::Model>],
    page: &PageRequest,
    partial: Partial<E::Model, C>,
) -> ApiResult<Page<E::Model>>
where
    E: EntityTrait,
    C: Numbered + sea_orm::sea_query::IntoColumnRef,
{
    fetch_by(select, keys, page, |select| async move {
        let rows = db.query_all(&select.select_only().columns(partial.columns.iter()).into_query()).await?;
        rows.iter().map(|row| (partial.decode)(row, partial.columns, 0)).collect()
    })
    .await
}

async fn fetch_by<E, F, Fut>(
    select: Select<E>,
    keys: &[SortKey<E::Model>],
    page: &PageRequest,
    run: F,
) -> ApiResult<Page<E::Model>>
where
    E: EntityTrait,
    F: FnOnce(Select<E>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<E::Model>, DbErr>>,
{
    let (size, backwards) = match (page.first, page.last) {
        (Some(_), Some(_)) => return Err(ApiError::bad_input("last", "pass either first or last, not both")),
        (Some(n), None) => (checked_size("first", n)?, false),
        (None, Some(n)) => (checked_size("last", n)?, true),
        (None, None) => (DEFAULT_PAGE_SIZE, page.before.is_some() && page.after.is_none()),
    };
    let mut select = select;
    if let Some(after) = &page.after {
        select = select.filter(seek(keys, &decode("after", after, keys)?, true));
    }
    if let Some(before) = &page.before {
        select = select.filter(seek(keys, &decode("before", before, keys)?, false));
    }
    for key in keys {
        let ascending = key.descending == backwards;
        select = select.order_by(key.column.clone(), if ascending { Order::Asc } else { Order::Desc });
    }
    let mut rows = run(select.limit(size + 1)).await?;
    let more = rows.len() as u64 > size;
    rows.truncate(size as usize);
    if backwards {
        rows.reverse();
    }
    let rows = rows.into_iter().map(|m| (encode(keys, &m), m)).collect();
    let (has_next_page, has_previous_page) =
        if backwards { (page.before.is_some(), more) } else { (more, page.after.is_some()) };
    Ok(Page { rows, has_next_page, has_previous_page })
}

pub fn checked_size(field: &str, n: i32) -> ApiResult<u64> {
    u64::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_PAGE_SIZE)
        .ok_or_else(|| ApiError::bad_input(field, format!("must be between 0 and {MAX_PAGE_SIZE}")))
}

/// Rows strictly after (or before) the cursor position in the keys' order:
/// `(k1 > v1) OR (k1 = v1 AND k2 > v2) OR …`, with `<` for descending keys.
fn seek<M>(keys: &[SortKey<M>], values: &[Expr], after: bool) -> Condition {
    let mut any = Condition::any();
    for i in 0..keys.len() {
        let mut all = Condition::all();
        for j in 0..i {
            all = all.add(Expr::expr(keys[j].column.clone()).eq(values[j].clone()));
        }
        let greater = keys[i].descending != after;
        let column = Expr::expr(keys[i].column.clone());
        let step = if greater { column.gt(values[i].clone()) } else { column.lt(values[i].clone()) };
        any = any.add(all.add(step).into_condition());
    }
    any
}

fn encode<M>(keys: &[SortKey<M>], row: &M) -> String {
    let values: Vec<KeyValue> = keys.iter().map(|k| (k.value)(row)).collect();
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&values).unwrap_or_default())
}

fn decode<M>(field: &str, cursor: &str, keys: &[SortKey<M>]) -> ApiResult<Vec<Expr>> {
    let invalid = || ApiError::bad_input(field, "is not a cursor of this list and ordering");
    let bytes = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
    let values: Vec<KeyValue> = serde_json::from_slice(&bytes).map_err(|_| invalid())?;
    if values.len() != keys.len() {
        return Err(invalid());
    }
    keys.iter()
        .zip(values)
        .map(|(key, value)| match (key.kind, value) {
            (KeyKind::Int, KeyValue::Int(v)) => Ok(Expr::val(v)),
            (KeyKind::Text, KeyValue::Text(v)) => Ok(Expr::val(v)),
            (KeyKind::Float, KeyValue::Float(v)) => Ok(Expr::val(v)),
            // A float with no fraction may come back as an integer.
            (KeyKind::Float, KeyValue::Int(v)) => Ok(Expr::val(v as f64)),
            (KeyKind::Time, KeyValue::Int(micros)) => {
                DateTime::<Utc>::from_timestamp_micros(micros).map(Expr::val).ok_or_else(invalid)
            }
            _ => Err(invalid()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(checked_size("first", 0).ok(), Some(0));
        assert_eq!(checked_size("first", 100).ok(), Some(100));
        assert!(checked_size("first", 101).is_err());
        assert!(checked_size("first", -1).is_err());
    }

    #[test]
    fn cursors_reject_foreign_shapes() {
        let keys: Vec<SortKey<(i64, String)>> = vec![
            SortKey::new(Expr::cust("a"), KeyKind::Text, false, |m: &(i64, String)| m.1.as_str().into()),
            SortKey::new(Expr::cust("id"), KeyKind::Int, false, |m: &(i64, String)| m.0.into()),
        ];
        let cursor = encode(&keys, &(5, "x".to_owned()));
        assert_eq!(decode("after", &cursor, &keys).map(|v| v.len()).ok(), Some(2));
        assert!(decode("after", &cursor, &keys[1..]).is_err(), "wrong arity");
        assert!(decode("after", "%%%", &keys).is_err());
        let swapped = URL_SAFE_NO_PAD.encode(br#"[5, "x"]"#);
        assert!(decode("after", &swapped, &keys).is_err(), "wrong kinds");
    }
}
