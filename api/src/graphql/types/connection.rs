//! Relay cursor connections, generic over the node type; `totalCount` runs only when selected.

use std::borrow::Cow;

use async_graphql::{Object, OutputType, Result, SelectionField, SimpleObject, TypeName};

use crate::error::ApiResult;
use crate::service::page::{Counter, Page};

/// Where a page sits in the whole list.
#[derive(SimpleObject)]
pub struct PageInfo {
    /// More rows follow the last edge.
    pub has_next_page: bool,
    /// Rows precede the first edge.
    pub has_previous_page: bool,
    /// Cursor of the first edge.
    pub start_cursor: Option<String>,
    /// Cursor of the last edge.
    pub end_cursor: Option<String>,
}

pub struct Edge<N> {
    cursor: String,
    node: N,
}

/// One record of a page, with the cursor to continue from it.
#[Object(name_type)]
impl<N: OutputType> Edge<N> {
    /// Opaque position of this edge; pass as `after` or `before`.
    async fn cursor(&self) -> &str {
        &self.cursor
    }
    /// The record.
    async fn node(&self) -> &N {
        &self.node
    }
}

impl<N: OutputType> TypeName for Edge<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Edge", N::type_name()).into()
    }
}

/// The selections of the node type under a connection `field`: `nodes { … }` and
/// `edges { node { … } }` (for look-ahead).
pub fn node_selections(field: SelectionField<'_>) -> Vec<SelectionField<'_>> {
    let mut out = Vec::new();
    for selected in field.selection_set() {
        match selected.name() {
            "nodes" => out.push(selected),
            "edges" => out.extend(selected.selection_set().filter(|f| f.name() == "node")),
            _ => {}
        }
    }
    out
}

pub struct Connection<N> {
    edges: Vec<Edge<N>>,
    page_info: PageInfo,
    counter: Counter,
}

impl<N> Connection<N> {
    pub fn new<M>(page: Page<M>, wrap: impl Fn(M) -> N, counter: Counter) -> Self {
        let page_info = PageInfo {
            has_next_page: page.has_next_page,
            has_previous_page: page.has_previous_page,
            start_cursor: page.rows.first().map(|(c, _)| c.clone()),
            end_cursor: page.rows.last().map(|(c, _)| c.clone()),
        };
        let edges = page.rows.into_iter().map(|(cursor, m)| Edge { cursor, node: wrap(m) }).collect();
        Self { edges, page_info, counter }
    }
}

/// A page of records (a Relay cursor connection): `edges` or `nodes`, `pageInfo`, and
/// `totalCount` (counted only when asked for).
#[Object(name_type)]
impl<N: OutputType> Connection<N> {
    /// The records of this page with their cursors.
    async fn edges(&self) -> &[Edge<N>] {
        &self.edges
    }
    /// The records of this page.
    async fn nodes(&self) -> Vec<&N> {
        self.edges.iter().map(|e| &e.node).collect()
    }
    /// Pagination state.
    async fn page_info(&self) -> &PageInfo {
        &self.page_info
    }
    /// How many records match the filter in all pages (computed only when selected).
    async fn total_count(&self) -> Result<u64> {
        Ok((self.counter)().await?)
    }
}

impl<N: OutputType> TypeName for Connection<N> {
    fn type_name() -> Cow<'static, str> {
        format!("{}Connection", N::type_name()).into()
    }
}

/// A nested list's size: 0..=100, like a page.
pub fn child_limit(first: i32) -> ApiResult<u64> {
    u64::try_from(first)
        .ok()
        .filter(|n| *n <= crate::service::page::MAX_PAGE_SIZE)
        .ok_or_else(|| crate::error::ApiError::bad_input("first", "must be between 0 and 100"))
}
