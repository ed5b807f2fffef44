//! What a request's document is, found before anything runs: whether it is a mutation or
//! introspection only, how deep it nests, what it costs, and how many aliases and `login`
//! fields it has, and which argument values do not fit their types.
//! The document is parsed once: the request keeps it, and the executor uses that copy.

use std::collections::HashMap;

use async_graphql::Name;
use async_graphql::Request;
use async_graphql::parser::Positioned;
use async_graphql::parser::types::{DocumentOperations, FragmentDefinition, OperationType, Selection, SelectionSet};

use crate::config::GraphqlLimits;
use crate::graphql::schema_index::SchemaIndex;

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// The name of the operation that would run, when it has one.
    pub operation: Option<String>,
    /// The operation that would run is a mutation.
    pub mutation: bool,
    /// Every root field of every operation is `__schema`, `__type` or `__typename`.
    pub introspection_only: bool,
    /// The document asks for `__schema` or `__type` somewhere.
    pub introspects: bool,
    /// Aliased fields anywhere in the document.
    pub aliases: usize,
    /// `login` fields anywhere in the document.
    pub logins: usize,
    /// How deep fields nest in the deepest operation (fragments expanded), not counting
    /// what is inside `__schema` and `__type`: the standard introspection query nests
    /// `ofType` deeper than data queries may go, and introspection reads only the schema.
    pub depth: usize,
    /// What the selected operation costs (`graphql::cost`).
    pub cost: u64,
    /// How deep fragment spreads nest (a cycle counts as past the cap).
    pub fragment_nesting: usize,
    /// The most directives on one field.
    pub directives: usize,
    /// Argument values that do not fit their types, `(field, why)` (`graphql::inputs`).
    pub invalid_inputs: Vec<(String, String)>,
}

/// `None` when the document does not parse (the executor then reports the syntax error).
pub fn inspect(request: &mut Request, index: &SchemaIndex) -> Option<Shape> {
    let operation_name = request.operation_name.clone();
    let variables = std::mem::take(&mut request.variables);
    let shape = request.parsed_query().ok().map(|doc| {
        let mut shape = of_document(doc, operation_name.as_deref());
        shape.cost = crate::graphql::cost::cost(index, doc, operation_name.as_deref(), &variables);
        shape.invalid_inputs = crate::graphql::inputs::check(index, doc, operation_name.as_deref(), &variables);
        shape
    });
    request.variables = variables;
    shape
}

fn of_document(doc: &async_graphql::parser::types::ExecutableDocument, operation_name: Option<&str>) -> Shape {
    let mut shape = Shape::default();
    let ops: Vec<_> = match &doc.operations {
        DocumentOperations::Single(op) => vec![&op.node],
        DocumentOperations::Multiple(ops) => ops.values().map(|op| &op.node).collect(),
    };
    shape.operation = match &doc.operations {
        DocumentOperations::Single(_) => None,
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => ops.contains_key(name).then(|| name.to_owned()),
            None if ops.len() == 1 => ops.keys().next().map(|n| n.to_string()),
            None => None,
        },
    };
    shape.mutation = match &doc.operations {
        DocumentOperations::Single(op) => op.node.ty == OperationType::Mutation,
        DocumentOperations::Multiple(ops) => match operation_name {
            Some(name) => ops.get(name).is_some_and(|op| op.node.ty == OperationType::Mutation),
            None => ops.values().any(|op| op.node.ty == OperationType::Mutation),
        },
    };
    shape.introspection_only = ops.iter().all(|op| {
        op.selection_set.node.items.iter().all(|item| match &item.node {
            Selection::Field(field) => field.node.name.node.starts_with("__"),
            _ => false,
        })
    });
    for op in &ops {
        count(&op.selection_set.node, &mut shape);
    }
    for fragment in doc.fragments.values() {
        count(&fragment.node.selection_set.node, &mut shape);
    }
    let measure = Measure { fragments: &doc.fragments, measured: Default::default() };
    for op in &ops {
        let nesting = measure.selections(&op.selection_set.node, 0);
        shape.depth = shape.depth.max(nesting.depth);
        shape.fragment_nesting = shape.fragment_nesting.max(nesting.fragments);
    }
    shape
}

/// Fragments nested deeper than this are refused by the executor's own limit anyway; the
/// cap keeps a fragment cycle from recursing here.
const MAX_FRAGMENT_NESTING: usize = 64;

/// How deep fields nest and how deep fragment spreads nest, through every path of a
/// selection set. Each fragment is measured once however often it is spread (what it
/// selects does not depend on where), so a document whose fragments each spread the
/// previous one twice costs linear time here, not exponential.
struct Measure<'a> {
    fragments: &'a HashMap<Name, Positioned<FragmentDefinition>>,
    /// `None` while a fragment is being measured: meeting it again is a cycle.
    measured: std::cell::RefCell<HashMap<&'a Name, Option<Nesting>>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Nesting {
    depth: usize,
    fragments: usize,
}

/// What a cycle, or a chain of spreads past the cap, measures: no fields, too many spreads.
const ENDLESS: Nesting = Nesting { depth: 0, fragments: MAX_FRAGMENT_NESTING + 1 };

impl<'a> Measure<'a> {
    fn selections(&self, set: &'a SelectionSet, chain: usize) -> Nesting {
        set.items.iter().fold(Nesting::default(), |deepest, item| {
            let nesting = match &item.node {
                Selection::Field(field) => {
                    let inside = self.selections(&field.node.selection_set.node, chain);
                    match field.node.name.node.as_str() {
                        "__schema" | "__type" => Nesting { depth: 1, ..inside },
                        _ => Nesting { depth: 1 + inside.depth, ..inside },
                    }
                }
                Selection::InlineFragment(fragment) => self.selections(&fragment.node.selection_set.node, chain),
                Selection::FragmentSpread(spread) => {
                    let inside = self.fragment(&spread.node.fragment_name.node, chain + 1);
                    Nesting { fragments: inside.fragments.saturating_add(1), ..inside }
                }
            };
            Nesting { depth: deepest.depth.max(nesting.depth), fragments: deepest.fragments.max(nesting.fragments) }
        })
    }

    fn fragment(&self, name: &'a Name, chain: usize) -> Nesting {
        if let Some(known) = self.measured.borrow().get(name) {
            return known.unwrap_or(ENDLESS);
        }
        // An unknown fragment is the executor's to report.
        let Some(fragment) = self.fragments.get(name) else { return Nesting::default() };
        if chain > MAX_FRAGMENT_NESTING {
            return ENDLESS;
        }
        self.measured.borrow_mut().insert(name, None);
        let nesting = self.selections(&fragment.node.selection_set.node, chain);
        self.measured.borrow_mut().insert(name, Some(nesting));
        nesting
    }
}

/// Why the document exceeds a limit the executor does not enforce itself (depth, cost,
/// aliases), if it does; checked before anything runs.
pub fn limit_violation(shape: &Shape, limits: &GraphqlLimits) -> Option<String> {
    if shape.depth > limits.max_depth {
        return Some(format!("the query is nested too deep: {} levels (at most {})", shape.depth, limits.max_depth));
    }
    if shape.fragment_nesting > limits.max_recursive_depth {
        return Some(format!(
            "fragments nest too deep: {} levels (at most {})",
            shape.fragment_nesting.min(MAX_FRAGMENT_NESTING + 1),
            limits.max_recursive_depth
        ));
    }
    if shape.directives > limits.max_directives {
        return Some(format!(
            "too many directives on one field: {} (at most {})",
            shape.directives, limits.max_directives
        ));
    }
    if shape.cost > limits.max_complexity as u64 {
        return Some(format!(
            "the query is too complex: it costs {} points (at most {}; a page costs its size × what it selects)",
            shape.cost, limits.max_complexity
        ));
    }
    alias_violation(shape, limits.max_aliases)
}

fn count(set: &SelectionSet, shape: &mut Shape) {
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => {
                shape.aliases += usize::from(field.node.alias.is_some());
                shape.directives = shape.directives.max(field.node.directives.len());
                shape.logins += usize::from(field.node.name.node == "login");
                shape.introspects |= matches!(field.node.name.node.as_str(), "__schema" | "__type");
                count(&field.node.selection_set.node, shape);
            }
            Selection::InlineFragment(fragment) => count(&fragment.node.selection_set.node, shape),
            Selection::FragmentSpread(_) => {}
        }
    }
}

/// Why the document exceeds the alias limits (SPEC §7: `max` per operation, one on `login`
/// so passwords cannot be tried in bulk), if it does.
pub fn alias_violation(shape: &Shape, max: usize) -> Option<String> {
    if shape.logins > 1 || (shape.logins == 1 && shape.aliases > 1) {
        Some("an operation may call login once and use at most 1 alias".into())
    } else if shape.aliases > max {
        Some(format!("too many aliases: {} (at most {max})", shape.aliases))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(query: &str) -> Shape {
        inspect(&mut Request::new(query), &SchemaIndex::default()).expect("parses")
    }

    #[test]
    fn finds_mutations_by_selected_operation() {
        assert!(shape("mutation { login(input: {email: \"a\", password: \"b\"}) { token } }").mutation);
        assert!(!shape("{ __typename }").mutation);
        let both = "query A { __typename } mutation B { __typename }";
        assert!(
            !inspect(&mut Request::new(both).operation_name("A"), &SchemaIndex::default()).expect("parses").mutation
        );
        assert!(
            inspect(&mut Request::new(both).operation_name("B"), &SchemaIndex::default()).expect("parses").mutation
        );
    }

    #[test]
    fn finds_introspection_only_operations() {
        assert!(shape("query Q { __schema { types { name } } __typename }").introspection_only);
        assert!(!shape("{ __schema { types { name } } me { name } }").introspection_only);
        assert!(!shape("{ ...F } fragment F on Query { me { name } }").introspection_only);
    }

    #[test]
    fn measures_depth_through_fragments_but_not_introspection() {
        assert_eq!(shape("{ me { name } }").depth, 2);
        assert_eq!(shape("{ ...F } fragment F on Query { me { ... on User { team { name } } } }").depth, 3);
        assert_eq!(shape("{ __schema { types { fields { type { ofType { ofType { name } } } } } } }").depth, 1);
        let cycle = shape("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }");
        assert_eq!(cycle.depth, 0, "a cycle is left to the executor's own check");
        let limits =
            GraphqlLimits { max_depth: 2, max_recursive_depth: 1, max_directives: 1, ..GraphqlLimits::default() };
        assert!(
            limit_violation(
                &shape("{ ...A } fragment A on Query { ...B } fragment B on Query { me { name } }"),
                &limits
            )
            .is_some()
        );
        assert!(limit_violation(&cycle, &limits).is_some(), "a cycle nests past any limit");
        assert!(limit_violation(&shape("{ __typename @include(if: true) @skip(if: false) }"), &limits).is_some());
        assert_eq!(
            limit_violation(&shape("{ ...A } fragment A on Query { __typename @include(if: true) }"), &limits),
            None
        );
        assert_eq!(limit_violation(&shape("{ me { name } }"), &limits), None);
        assert!(limit_violation(&shape("{ me { team { name } } }"), &limits).is_some());
    }

    #[test]
    fn a_fragment_spread_many_times_is_measured_once() {
        // F0 = me { name }: 2 levels; Fk spreads F(k-1) twice: 2^40 paths, 41 spreads deep.
        let mut query = String::from("{ ...F40 } fragment F0 on Query { me { name } }");
        for k in 1..=40 {
            query.push_str(&format!(" fragment F{k} on Query {{ ...F{p} ...F{p} }}", p = k - 1));
        }
        let measured = shape(&query);
        assert_eq!((measured.depth, measured.fragment_nesting), (2, 41));
    }

    #[test]
    fn counts_aliases_everywhere_and_limits_login() {
        let s = shape("{ a: me { n: name } ...F } fragment F on Query { b: me { ... on User { c: name } } }");
        assert_eq!(s.aliases, 4);
        assert_eq!(alias_violation(&s, 15), None);
        assert!(alias_violation(&s, 3).is_some());
        let twice = shape(
            "mutation { a: login(input: {email: \"x\", password: \"1\"}) { token } b: login(input: {email: \"x\", password: \"2\"}) { token } }",
        );
        assert!(alias_violation(&twice, 15).is_some());
        let once = shape("mutation { login(input: {email: \"x\", password: \"1\"}) { t: token } }");
        assert_eq!(alias_violation(&once, 15), None);
    }
}
