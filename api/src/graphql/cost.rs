//! What an operation costs (SPEC section 9): every field costs 1 plus what it selects, and
//! a paginated field (one taking `first` or `last`) costs its page size × what it selects.
//! The cost is both the per-operation limit (`max_complexity`) and what the operation takes
//! from its caller's budget (`service::budget`), computed once from the parsed document
//! before anything runs. The page size is the argument's value (literal or variable), else
//! its default in the schema, else the connections' default page of 50.

use std::cell::RefCell;
use std::collections::HashMap;

use async_graphql::parser::types::{ExecutableDocument, Field, Selection, SelectionSet};
use async_graphql::{Name, Value, Variables};
use async_graphql_value::Value as DocumentValue;

use crate::graphql::schema_index::{SchemaIndex, page_size, selected};

/// The cost of the operation `operation_name` selects (the only one when it is `None`);
/// 0 when there is no such operation (the executor reports that).
pub fn cost(index: &SchemaIndex, doc: &ExecutableDocument, operation_name: Option<&str>, variables: &Variables) -> u64 {
    let Some(op) = selected(doc, operation_name) else { return 0 };
    let walk = Walk { index, doc, variables, fragments: RefCell::default() };
    walk.selections(&op.selection_set.node, Some(index.root_of(op)))
}

struct Walk<'a> {
    index: &'a SchemaIndex,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    /// Each fragment's cost, worked out once however often it is spread (its type is its
    /// own condition, so where it is spread does not change it); `None` while it is being
    /// worked out, so a cycle costs nothing here (the fragment nesting limit refuses it).
    fragments: RefCell<HashMap<&'a Name, Option<u64>>>,
}

impl<'a> Walk<'a> {
    /// `on`: the type the selections are on, when known (unknown fields cost 1 each).
    fn selections(&self, set: &'a SelectionSet, on: Option<&str>) -> u64 {
        set.items.iter().fold(0u64, |total, item| {
            let cost = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let info = on.and_then(|ty| self.index.field(ty, field.name.node.as_str()));
                    let children = self.selections(&field.selection_set.node, info.map(|i| i.returns.as_str()));
                    match info.and_then(|i| i.default_page) {
                        Some(default_page) => self.page_of(field, default_page).saturating_mul(children),
                        None => children.saturating_add(1),
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let fragment = &fragment.node;
                    let on = fragment.type_condition.as_ref().map(|c| c.node.on.node.as_str()).or(on);
                    self.selections(&fragment.selection_set.node, on)
                }
                Selection::FragmentSpread(spread) => self.fragment(&spread.node.fragment_name.node),
            };
            total.saturating_add(cost)
        })
    }

    fn fragment(&self, name: &'a Name) -> u64 {
        if let Some(known) = self.fragments.borrow().get(name) {
            return known.unwrap_or(0);
        }
        let Some(fragment) = self.doc.fragments.get(name) else { return 0 };
        self.fragments.borrow_mut().insert(name, None);
        let on = fragment.node.type_condition.node.on.node.as_str();
        let cost = self.selections(&fragment.node.selection_set.node, Some(on));
        self.fragments.borrow_mut().insert(name, Some(cost));
        cost
    }

    /// The page a paginated field asks for: `first`, else `last`, else the default; at least 1.
    fn page_of(&self, field: &Field, default_page: u64) -> u64 {
        let asked = ["first", "last"].iter().find_map(|name| {
            let (_, value) = field.arguments.iter().find(|(arg, _)| arg.node.as_str() == *name)?;
            match &value.node {
                DocumentValue::Variable(var) => self.variables.get(&Name::new(var.as_str())).and_then(page_size),
                DocumentValue::Number(n) => page_size(&Value::Number(n.clone())),
                _ => None,
            }
        });
        asked.unwrap_or(default_page).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL: &str = r#"
        type Query { me: User  contacts(first: Int, last: Int): ContactConnection!  node(id: ID!): Node }
        type Mutation { touch: Boolean! }
        interface Node { id: ID! }
        type User implements Node { id: ID!  name: String!  team: Team }
        type Team { name: String!  members: [User!]! }
        type ContactConnection { nodes: [Contact!]!  totalCount: Int! }
        type Contact implements Node { id: ID!  name: String!  deals(first: Int! = 10): [Deal!]! }
        type Deal { title: String! }
    "#;

    fn cost_of(query: &str, variables: serde_json::Value) -> u64 {
        let index = SchemaIndex::from_sdl(SDL);
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        cost(&index, &doc, None, &Variables::from_json(variables))
    }

    #[test]
    fn fields_cost_one_and_pages_multiply_what_they_select() {
        assert_eq!(cost_of("{ me { name team { name } } }", serde_json::json!({})), 4);
        // 20 × (nodes 1 + name 1) = 40, plus nothing for the connection itself.
        assert_eq!(cost_of("{ contacts(first: 20) { nodes { name } } }", serde_json::json!({})), 40);
        assert_eq!(cost_of("{ contacts(last: 3) { nodes { name } } }", serde_json::json!({})), 6);
        // No `first`: the default page of 50; nested deals default to their schema's 10.
        // 50 × (nodes 1 + deals: 10 × title 1) = 550.
        assert_eq!(cost_of("{ contacts { nodes { deals { title } } } }", serde_json::json!({})), 550);
        let vars = serde_json::json!({ "n": 7 });
        assert_eq!(cost_of("query Q($n: Int) { contacts(first: $n) { totalCount } }", vars), 7);
        assert_eq!(cost_of("{ contacts(first: 0) { totalCount } }", serde_json::json!({})), 1, "at least one");
    }

    #[test]
    fn fragments_are_counted_on_their_own_types() {
        let query = "{ node(id: \"x\") { ... on Contact { deals(first: 4) { title } } ...U } }
                     fragment U on User { team { members { name } } }";
        // node 1 + (4 × title 1) + (team 1 + members 1 + name 1) = 8
        assert_eq!(cost_of(query, serde_json::json!({})), 8);
        let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A me { name } }";
        // A → B → A (cut: 0) plus `me { name }` 2.
        assert_eq!(cost_of(cycle, serde_json::json!({})), 2, "a cycle is cut where it closes");
    }

    #[test]
    fn a_fragment_spread_many_times_is_costed_once() {
        // F0 = me { name } = 2; Fk spreads F(k-1) twice, so Fk = 2^(k+1) and F40 = 2^41:
        // worked out once per fragment, not once per path (2^40 paths).
        let mut query = String::from("{ ...F40 } fragment F0 on Query { me { name } }");
        for k in 1..=40 {
            query.push_str(&format!(" fragment F{k} on Query {{ ...F{p} ...F{p} }}", p = k - 1));
        }
        assert_eq!(cost_of(&query, serde_json::json!({})), 1 << 41);
    }

    #[test]
    fn the_selected_operation_is_the_one_that_costs() {
        let index = SchemaIndex::from_sdl(SDL);
        let doc = async_graphql::parser::parse_query("query A { me { name } } mutation B { touch }").expect("parses");
        assert_eq!(cost(&index, &doc, Some("A"), &Variables::default()), 2);
        assert_eq!(cost(&index, &doc, Some("B"), &Variables::default()), 1);
        assert_eq!(cost(&index, &doc, None, &Variables::default()), 0, "ambiguous: the executor refuses it");
    }
}
