//! Filter building blocks shared by every list: id sets, ranges, enum sets, text search.
//! Everything becomes a parameterized condition; user input is never spliced into SQL.

use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
use sea_orm::{ColumnTrait, Condition, Value};

/// `eq` and/or `in` on an id or enum column.
#[derive(Debug, Clone)]
pub struct OneOf<T> {
    pub eq: Option<T>,
    pub any: Option<Vec<T>>,
}

impl<T> Default for OneOf<T> {
    fn default() -> Self {
        Self { eq: None, any: None }
    }
}

impl<T: PartialEq> OneOf<T> {
    /// `filter` that also requires `value` (a parent's id on top of the caller's filter).
    pub fn and_eq(filter: Option<Self>, value: T) -> Option<Self> {
        let mut f = filter.unwrap_or_default();
        if f.eq.as_ref().is_some_and(|eq| *eq != value) {
            f.any = Some(Vec::new());
        }
        f.eq = Some(value);
        Some(f)
    }
}

/// Bounds on an ordered column; any combination may be set.
#[derive(Debug, Clone)]
pub struct Range<T> {
    pub gt: Option<T>,
    pub gte: Option<T>,
    pub lt: Option<T>,
    pub lte: Option<T>,
}

impl<T> Default for Range<T> {
    fn default() -> Self {
        Self { gt: None, gte: None, lt: None, lte: None }
    }
}

/// Adds `column = eq AND column IN (any)` for whatever is set.
pub fn one_of<T: Into<Value> + Clone>(cond: Condition, column: impl ColumnTrait, f: &Option<OneOf<T>>) -> Condition {
    let Some(f) = f else { return cond };
    let mut cond = cond;
    if let Some(eq) = &f.eq {
        cond = cond.add(column.eq(eq.clone()));
    }
    if let Some(any) = &f.any {
        cond = cond.add(column.is_in(any.iter().cloned()));
    }
    cond
}

pub fn range<T: Into<Value> + Clone>(cond: Condition, column: impl ColumnTrait, f: &Option<Range<T>>) -> Condition {
    let Some(f) = f else { return cond };
    let mut cond = cond;
    if let Some(v) = &f.gt {
        cond = cond.add(column.gt(v.clone()));
    }
    if let Some(v) = &f.gte {
        cond = cond.add(column.gte(v.clone()));
    }
    if let Some(v) = &f.lt {
        cond = cond.add(column.lt(v.clone()));
    }
    if let Some(v) = &f.lte {
        cond = cond.add(column.lte(v.clone()));
    }
    cond
}

/// Case-insensitive substring search over several text columns (any may match).
/// `%`, `_` and `\` in the term match themselves.
pub fn search(cond: Condition, columns: &[Expr], term: &Option<String>) -> Condition {
    let Some(pattern) = like_pattern(term) else { return cond };
    cond.add(columns.iter().fold(Condition::any(), |any, column| any.add(like(column.clone(), &pattern))))
}

/// The `LIKE` pattern of a search term (`None` when blank): lowercase, within `%…%`, with
/// `%`, `_` and `\` escaped.
pub fn like_pattern(term: &Option<String>) -> Option<LikeExpr> {
    let term = term.as_deref().map(str::trim).filter(|t| !t.is_empty())?;
    let escaped: String = term
        .to_lowercase()
        .chars()
        .flat_map(|c| match c {
            '%' | '_' | '\\' => vec!['\\', c],
            c => vec![c],
        })
        .collect();
    Some(LikeExpr::new(format!("%{escaped}%")).escape('\\'))
}

/// `LOWER(column) LIKE pattern`.
pub fn like(column: Expr, pattern: &LikeExpr) -> Expr {
    Expr::expr(Expr::from(Func::lower(column))).like(pattern.clone())
}

/// Soft-deleted rows are hidden unless the caller asks for them.
pub fn deleted(cond: Condition, column: impl ColumnTrait, include_deleted: bool) -> Condition {
    if include_deleted { cond } else { cond.add(column.is_null()) }
}
