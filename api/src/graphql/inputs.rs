//! Argument values checked against the schema before anything runs (SPEC section 9): every
//! value that does not fit its type — literal or from a variable — is reported at once,
//! by the path of the argument it is given to (`filter.period.from`, `input.ownerIds[1]`),
//! and becomes BAD_USER_INPUT with `extensions.fields`. Scalars are checked by their own
//! GraphQL parsers, so a value passes here exactly when the executor would accept it.
//! Being sure of the values ahead is also what lets a document that validated once skip
//! async-graphql's full validation afterwards (`graphql::persisted`): validation depends
//! on the variables only through those values.

use std::borrow::Cow;
use std::collections::HashSet;

use async_graphql::parser::types::{
    BaseType, Directive, ExecutableDocument, OperationDefinition, Selection, SelectionSet, Type,
};
use async_graphql::{InputType, Name, Positioned, ScalarType, Value, Variables};
use async_graphql_value::Value as DocumentValue;

use crate::graphql::schema_index::{InputValue, SchemaIndex, selected};
use crate::graphql::types::change::JsonValue;
use crate::graphql::types::date::Date;
use crate::graphql::types::money::Money;
use crate::graphql::types::timestamp::Timestamp;

/// Every argument of the selected operation whose value does not fit: `(field, why)`, in
/// document order. Fields, arguments and fragments the schema does not know are left to
/// the executor's validation, which reports them.
pub fn check(
    index: &SchemaIndex,
    doc: &ExecutableDocument,
    operation_name: Option<&str>,
    variables: &Variables,
) -> Vec<(String, String)> {
    let Some(op) = selected(doc, operation_name) else { return Vec::new() };
    let mut walk = Walk { index, op, variables, problems: Vec::new(), spread: HashSet::new(), pending: Vec::new() };
    walk.selections(&op.selection_set.node, Some(index.root_of(op)));
    // Each fragment once, however often it is spread: its arguments do not depend on where.
    while let Some(name) = walk.pending.pop() {
        if let Some(fragment) = doc.fragments.get(name) {
            let fragment = &fragment.node;
            walk.directives(&fragment.directives);
            walk.selections(&fragment.selection_set.node, Some(fragment.type_condition.node.on.node.as_str()));
        }
    }
    walk.problems
}

struct Walk<'a> {
    index: &'a SchemaIndex,
    op: &'a OperationDefinition,
    variables: &'a Variables,
    problems: Vec<(String, String)>,
    spread: HashSet<&'a Name>,
    pending: Vec<&'a Name>,
}

impl<'a> Walk<'a> {
    fn selections(&mut self, set: &'a SelectionSet, on: Option<&str>) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    self.directives(&field.directives);
                    let info = on.and_then(|ty| self.index.field(ty, field.name.node.as_str()));
                    if let Some(info) = info {
                        self.arguments(&info.arguments, &field.arguments);
                    }
                    self.selections(&field.selection_set.node, info.map(|i| i.returns.as_str()));
                }
                Selection::InlineFragment(fragment) => {
                    let fragment = &fragment.node;
                    self.directives(&fragment.directives);
                    let on = fragment.type_condition.as_ref().map(|c| c.node.on.node.as_str()).or(on);
                    self.selections(&fragment.selection_set.node, on);
                }
                Selection::FragmentSpread(spread) => {
                    self.directives(&spread.node.directives);
                    let name = &spread.node.fragment_name.node;
                    if self.spread.insert(name) {
                        self.pending.push(name);
                    }
                }
            }
        }
    }

    fn directives(&mut self, directives: &'a [Positioned<Directive>]) {
        for directive in directives {
            if let Some(arguments) = self.index.directive(directive.node.name.node.as_str()) {
                self.arguments(arguments, &directive.node.arguments);
            }
        }
    }

    fn arguments(&mut self, defined: &[InputValue], given: &'a [(Positioned<Name>, Positioned<DocumentValue>)]) {
        for (name, value) in given {
            let Some(argument) = defined.iter().find(|a| a.name == name.node.as_str()) else { continue };
            let mut path = argument.name.clone();
            match self.resolve(&value.node) {
                Some(value) => self.fits(&argument.ty, &value, &mut path),
                None if !argument.ty.nullable && !argument.has_default => {
                    let variable = match &value.node {
                        DocumentValue::Variable(variable) => format!(" (variable ${variable} was not given)"),
                        _ => String::new(),
                    };
                    self.problems.push((path, format!("is required{variable}")));
                }
                None => {}
            }
        }
    }

    /// The value the executor will see: variables replaced by what the request gives or
    /// their defaults; `None` for a variable given neither (as if the argument were absent).
    fn resolve(&self, value: &DocumentValue) -> Option<Value> {
        match value {
            DocumentValue::Variable(name) => self.variables.get(name).cloned().or_else(|| {
                let definition = self.op.variable_definitions.iter().find(|d| d.node.name.node == *name)?;
                definition.node.default_value.as_ref().map(|d| d.node.clone())
            }),
            DocumentValue::Object(fields) => Some(Value::Object(
                fields.iter().filter_map(|(name, value)| Some((name.clone(), self.resolve(value)?))).collect(),
            )),
            DocumentValue::List(items) => {
                Some(Value::List(items.iter().map(|item| self.resolve(item).unwrap_or(Value::Null)).collect()))
            }
            other => other.clone().into_const(),
        }
    }

    fn fits(&mut self, ty: &Type, value: &Value, path: &mut String) {
        if matches!(value, Value::Null) {
            if !ty.nullable {
                self.problems.push((path.clone(), "must not be null".into()));
            }
            return;
        }
        match (&ty.base, value) {
            (BaseType::List(inner), Value::List(items)) => {
                for (at, item) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{at}]"));
                    self.fits(inner, item, path);
                    path.truncate(len);
                }
            }
            // Input coercion: one value where a list is expected is a list of one.
            (BaseType::List(inner), _) => self.fits(inner, value, path),
            (BaseType::Named(name), _) => self.named(name.as_str(), value, path),
        }
    }

    fn named(&mut self, name: &str, value: &Value, path: &mut String) {
        if let Some(allowed) = self.index.enum_values(name) {
            let given = match value {
                Value::Enum(given) => Some(given.as_str()),
                Value::String(given) => Some(given.as_str()),
                _ => None,
            };
            if !given.is_some_and(|given| allowed.contains(given)) {
                let mut names: Vec<&str> = allowed.iter().map(String::as_str).collect();
                names.sort_unstable();
                self.problems.push((path.clone(), format!("must be one of {}", names.join(", "))));
            }
            return;
        }
        let Some(input) = self.index.input(name) else {
            if let Err(why) = scalar_fits(name, value) {
                self.problems.push((path.clone(), why));
            }
            return;
        };
        let Value::Object(given) = value else {
            self.problems.push((path.clone(), format!("must be an object ({name})")));
            return;
        };
        for key in given.keys() {
            if !input.fields.iter().any(|f| f.name == key.as_str()) {
                self.problems.push((format!("{path}.{key}"), format!("is not a field of {name}")));
            }
        }
        if input.one_of && (given.len() != 1 || given.values().any(|v| matches!(v, Value::Null))) {
            let names: Vec<&str> = input.fields.iter().map(|f| f.name.as_str()).collect();
            self.problems.push((path.clone(), format!("must set exactly one of {}", names.join(", "))));
            return;
        }
        for field in &input.fields {
            let len = path.len();
            path.push('.');
            path.push_str(&field.name);
            match given.get(field.name.as_str()) {
                Some(value) => self.fits(&field.ty, value, path),
                None if !field.ty.nullable && !field.has_default => {
                    self.problems.push((path.clone(), "is required".into()));
                }
                None => {}
            }
            path.truncate(len);
        }
    }
}

/// Whether `value` parses as the scalar `name`, by that scalar's own parser; a scalar this
/// table does not know is left to the executor.
fn scalar_fits(name: &str, value: &Value) -> Result<(), String> {
    fn parses<T: ScalarType + InputType>(value: &Value) -> Result<(), String> {
        <T as ScalarType>::parse(value.clone()).map(|_| ()).map_err(|e| e.into_server_error(Default::default()).message)
    }
    type Parser = fn(&Value) -> Result<(), String>;
    let parsers: [(Cow<'static, str>, Parser); 9] = [
        (<i32 as InputType>::type_name(), parses::<i32>),
        (<f64 as InputType>::type_name(), parses::<f64>),
        (<String as InputType>::type_name(), parses::<String>),
        (<bool as InputType>::type_name(), parses::<bool>),
        (<async_graphql::ID as InputType>::type_name(), parses::<async_graphql::ID>),
        (<Timestamp as InputType>::type_name(), parses::<Timestamp>),
        (<Date as InputType>::type_name(), parses::<Date>),
        (<Money as InputType>::type_name(), parses::<Money>),
        (<JsonValue as InputType>::type_name(), parses::<JsonValue>),
    ];
    match parsers.iter().find(|(scalar, _)| scalar == name) {
        Some((_, parse)) => parse(value),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL: &str = r#"
        type Query {
            contacts(first: Int, filter: ContactFilter): [Contact!]!
            funnel(filter: MetricFilter!): Int!
        }
        type Mutation { createContact(input: CreateContactInput!): Contact!  log(entries: [Entry!]!): Int! }
        type Contact { id: ID!  deals(first: Int! = 10): [Int!]! }
        input ContactFilter { lifecycle: [Lifecycle!]  search: String }
        input MetricFilter { period: Period  ownerIds: [ID!] }
        input Period { from: DateTime!  to: DateTime! }
        input CreateContactInput { name: String!  email: String  lifecycle: Lifecycle! = LEAD  amount: Decimal }
        input Entry @oneOf { schedule: String  outcome: String }
        enum Lifecycle { LEAD CUSTOMER }
        scalar DateTime
        scalar Decimal
        directive @include(if: Boolean!) on FIELD | FRAGMENT_SPREAD | INLINE_FRAGMENT
    "#;

    fn problems(query: &str, variables: serde_json::Value) -> Vec<(String, String)> {
        let index = SchemaIndex::from_sdl(SDL);
        let doc = async_graphql::parser::parse_query(query).expect("parses");
        check(&index, &doc, None, &Variables::from_json(variables))
    }

    fn fields(found: &[(String, String)]) -> Vec<&str> {
        found.iter().map(|(field, _)| field.as_str()).collect()
    }

    #[test]
    fn values_that_fit_pass() {
        let query = r#"query($p: Period, $n: Int) {
            contacts(first: $n, filter: { lifecycle: [LEAD], search: "a" }) { deals { __typename } }
            funnel(filter: { period: $p, ownerIds: "VXNlcjox" })
        }"#;
        let vars = serde_json::json!({ "p": { "from": "2026-01-01T00:00:00Z", "to": "2026-02-01T00:00:00Z" } });
        assert_eq!(problems(query, vars), Vec::<(String, String)>::new());
        let mutation = r#"mutation { createContact(input: { name: "A", amount: "12.50" }) { id } }"#;
        assert!(problems(mutation, serde_json::json!({})).is_empty(), "lifecycle has a default");
    }

    #[test]
    fn every_value_that_does_not_fit_is_named_by_its_path() {
        let query = r#"query($from: DateTime!) {
            funnel(filter: { period: { from: $from, to: "soon" }, ownerIds: ["VXNlcjox", 7, null] })
            contacts(first: "ten", filter: { lifecycle: [LEAD, LOST], color: "red" }) { id }
        }"#;
        let found = problems(query, serde_json::json!({ "from": "2026-13-01T00:00:00Z" }));
        assert_eq!(
            fields(&found),
            [
                "filter.period.from",
                "filter.period.to",
                "filter.ownerIds[2]",
                "first",
                "filter.color",
                "filter.lifecycle[1]",
            ],
            "{found:?}"
        );
        assert!(found[0].1.contains("DateTime"), "{found:?}");
        assert_eq!(found[2].1, "must not be null");
        assert_eq!(found[5].1, "must be one of CUSTOMER, LEAD");
    }

    #[test]
    fn required_values_and_variables_must_be_given() {
        let found = problems("mutation($input: CreateContactInput!) { createContact(input: $input) { id } }", {
            serde_json::json!({})
        });
        assert_eq!(found, [("input".to_owned(), "is required (variable $input was not given)".to_owned())]);
        let found = problems("mutation { createContact(input: { email: \"a@b.c\" }) { id } }", serde_json::json!({}));
        assert_eq!(found, [("input.name".to_owned(), "is required".to_owned())]);
        let found =
            problems("mutation($i: CreateContactInput! = { name: \"A\" }) { createContact(input: $i) { id } }", {
                serde_json::json!({})
            });
        assert!(found.is_empty(), "a variable's default stands in: {found:?}");
        let found = problems("{ contacts { deals(first: null) } }", serde_json::json!({}));
        assert_eq!(fields(&found), ["first"], "an explicit null is not the default");
    }

    #[test]
    fn one_of_inputs_take_exactly_one_field() {
        let found = problems(
            r#"mutation { a: log(entries: [{ schedule: "x" }, { schedule: "x", outcome: "y" }, {}]) }"#,
            serde_json::json!({}),
        );
        assert_eq!(fields(&found), ["entries[1]", "entries[2]"]);
    }

    #[test]
    fn fragments_and_directives_are_checked_once_each() {
        let query = r#"query($show: Boolean!) { ...A ...A ... on Query @include(if: $show) { contacts(first: 1.5) { id } } }
            fragment A on Query { contacts(first: "x") @include(if: "yes") { id } }"#;
        let found = problems(query, serde_json::json!({ "show": 3 }));
        assert_eq!(fields(&found), ["if", "first", "if", "first"], "{found:?}");
    }
}
