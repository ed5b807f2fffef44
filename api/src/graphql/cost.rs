//! What an operation costs (SPEC section 9): every field costs 1 plus what it selects, and
//! a paginated field (one taking `first` or `last`) costs its page size × what it selects.
//! The cost is both the per-operation limit (`max_complexity`) and what the operation takes
//! from its caller's budget (`service::budget`), computed once from the parsed document
//! before anything runs. The page size is the argument's value (literal or variable), else
//! its default in the schema, else the connections' default page of 50.

use std::collections::HashMap;

use async_graphql::Variables;
use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, OperationDefinition, Selection, SelectionSet, Type, TypeKind,
    TypeSystemDefinition,
};
use async_graphql::{Name, Value};
use async_graphql_value::Value as DocumentValue;

/// The page size of a paginated field asked without `first`/`last` and without a default.
const DEFAULT_PAGE: u64 = 50;

/// Fragments nested deeper than this are refused by the depth limit anyway; the cap keeps
/// a fragment cycle from recursing here.
const MAX_FRAGMENT_NESTING: usize = 64;

/// What the cost needs to know of each field of the schema.
#[derive(Debug, Clone)]
struct FieldInfo {
    /// The named type the field returns (lists and non-null stripped).
    returns: String,
    /// For a paginated field, the page size when the document gives none.
    default_page: Option<u64>,
}

/// The schema's fields, read once from its SDL.
#[derive(Debug, Default)]
pub struct CostModel {
    fields: HashMap<(String, String), FieldInfo>,
    roots: [String; 3],
}

impl CostModel {
    pub fn from_sdl(sdl: &str) -> Self {
        let mut model =
            CostModel { roots: ["Query".into(), "Mutation".into(), "Subscription".into()], ..Default::default() };
        let Ok(doc) = async_graphql::parser::parse_schema(sdl) else { return model };
        for definition in doc.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    for (slot, name) in [schema.query, schema.mutation, schema.subscription].into_iter().enumerate() {
                        if let Some(name) = name {
                            model.roots[slot] = name.node.to_string();
                        }
                    }
                }
                TypeSystemDefinition::Type(ty) => {
                    let ty = ty.node;
                    let fields = match ty.kind {
                        TypeKind::Object(object) => object.fields,
                        TypeKind::Interface(interface) => interface.fields,
                        _ => continue,
                    };
                    for field in fields {
                        let field = field.node;
                        let page =
                            field.arguments.iter().find(|a| matches!(a.node.name.node.as_str(), "first" | "last"));
                        let default_page = page.map(|arg| match &arg.node.default_value {
                            Some(value) => page_size(&value.node).unwrap_or(DEFAULT_PAGE),
                            None => DEFAULT_PAGE,
                        });
                        let info = FieldInfo { returns: named(&field.ty.node), default_page };
                        model.fields.insert((ty.name.node.to_string(), field.name.node.to_string()), info);
                    }
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        model
    }

    /// The cost of the operation `operation_name` selects (the only one when it is `None`);
    /// 0 when there is no such operation (the executor reports that).
    pub fn cost(&self, doc: &ExecutableDocument, operation_name: Option<&str>, variables: &Variables) -> u64 {
        let op = match (&doc.operations, operation_name) {
            (DocumentOperations::Single(op), _) => Some(&op.node),
            (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
            (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| &op.node),
            (DocumentOperations::Multiple(_), None) => None,
        };
        let Some(op) = op else { return 0 };
        let walk = Walk { model: self, doc, variables };
        walk.selections(&op.selection_set.node, Some(self.root_of(op)), 0)
    }

    fn root_of(&self, op: &OperationDefinition) -> &str {
        use async_graphql::parser::types::OperationType;
        let slot = match op.ty {
            OperationType::Query => 0,
            OperationType::Mutation => 1,
            OperationType::Subscription => 2,
        };
        &self.roots[slot]
    }
}

struct Walk<'a> {
    model: &'a CostModel,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
}

impl Walk<'_> {
    /// `on`: the type the selections are on, when known (unknown fields cost 1 each).
    fn selections(&self, set: &SelectionSet, on: Option<&str>, nesting: usize) -> u64 {
        if nesting > MAX_FRAGMENT_NESTING {
            return 0;
        }
        set.items.iter().fold(0u64, |total, item| {
            let cost = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let info = on.and_then(|ty| self.model.fields.get(&(ty.to_owned(), field.name.node.to_string())));
                    let children =
                        self.selections(&field.selection_set.node, info.map(|i| i.returns.as_str()), nesting);
                    match info.and_then(|i| i.default_page) {
                        Some(default_page) => self.page_of(field, default_page).saturating_mul(children),
                        None => children.saturating_add(1),
                    }
                }
                Selection::InlineFragment(fragment) => {
                    let fragment = &fragment.node;
                    let on = fragment.type_condition.as_ref().map(|c| c.node.on.node.as_str()).or(on);
                    self.selections(&fragment.selection_set.node, on, nesting + 1)
                }
                Selection::FragmentSpread(spread) => match self.doc.fragments.get(&spread.node.fragment_name.node) {
                    Some(fragment) => {
                        let on = fragment.node.type_condition.node.on.node.as_str();
                        self.selections(&fragment.node.selection_set.node, Some(on), nesting + 1)
                    }
                    None => 0,
                },
            };
            total.saturating_add(cost)
        })
    }

    /// The page a paginated field asks for: `first`, else `last`, else the default; at least 1.
    fn page_of(&self, field: &async_graphql::parser::types::Field, default_page: u64) -> u64 {
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

fn page_size(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| n.as_i64().map(|_| 0)),
        _ => None,
    }
}

fn named(ty: &Type) -> String {
    match &ty.base {
        BaseType::Named(name) => name.to_string(),
        BaseType::List(inner) => named(inner),
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

    fn cost(query: &str, variables: serde_json::Value) -> u64 {
        let model = CostModel::from_sdl(SDL);
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        model.cost(&doc, None, &Variables::from_json(variables))
    }

    #[test]
    fn fields_cost_one_and_pages_multiply_what_they_select() {
        assert_eq!(cost("{ me { name team { name } } }", serde_json::json!({})), 4);
        // 20 × (nodes 1 + name 1) = 40, plus nothing for the connection itself.
        assert_eq!(cost("{ contacts(first: 20) { nodes { name } } }", serde_json::json!({})), 40);
        assert_eq!(cost("{ contacts(last: 3) { nodes { name } } }", serde_json::json!({})), 6);
        // No `first`: the default page of 50; nested deals default to their schema's 10.
        // 50 × (nodes 1 + deals: 10 × title 1) = 550.
        assert_eq!(cost("{ contacts { nodes { deals { title } } } }", serde_json::json!({})), 550);
        let vars = serde_json::json!({ "n": 7 });
        assert_eq!(cost("query Q($n: Int) { contacts(first: $n) { totalCount } }", vars), 7);
        assert_eq!(cost("{ contacts(first: 0) { totalCount } }", serde_json::json!({})), 1, "at least one");
    }

    #[test]
    fn fragments_are_counted_on_their_own_types() {
        let query = "{ node(id: \"x\") { ... on Contact { deals(first: 4) { title } } ...U } }
                     fragment U on User { team { members { name } } }";
        // node 1 + (4 × title 1) + (team 1 + members 1 + name 1) = 8
        assert_eq!(cost(query, serde_json::json!({})), 8);
        let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A me { name } }";
        assert!(cost(cycle, serde_json::json!({})) > 0, "a cycle ends at the nesting cap");
    }

    #[test]
    fn the_selected_operation_is_the_one_that_costs() {
        let model = CostModel::from_sdl(SDL);
        let doc = async_graphql::parser::parse_query("query A { me { name } } mutation B { touch }").expect("parses");
        assert_eq!(model.cost(&doc, Some("A"), &Variables::default()), 2);
        assert_eq!(model.cost(&doc, Some("B"), &Variables::default()), 1);
        assert_eq!(model.cost(&doc, None, &Variables::default()), 0, "ambiguous: the executor refuses it");
    }
}
