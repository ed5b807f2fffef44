//! The schema as the checks before execution need it (`graphql::cost`, `graphql::inputs`):
//! each field's return type, page default and arguments, the input objects, enums and
//! directives, read once from the schema's own SDL so they can never disagree with it.

use std::collections::{HashMap, HashSet};

use async_graphql::parser::types::{
    BaseType, DocumentOperations, ExecutableDocument, InputValueDefinition, OperationDefinition, OperationType, Type,
    TypeKind, TypeSystemDefinition,
};
use async_graphql::{Positioned, Value};

/// The page size of a paginated field asked without `first`/`last` and without a default.
const DEFAULT_PAGE: u64 = 50;

/// What the checks need to know of a field of an object or interface.
#[derive(Debug, Clone)]
pub struct FieldInfo {
    /// The named type the field returns (lists and non-null stripped).
    pub returns: String,
    /// For a paginated field (one taking `first` or `last`), its page size when the
    /// document gives none: the argument's default, else the connections' 50.
    pub default_page: Option<u64>,
    pub arguments: Vec<InputValue>,
    /// Its description in the schema (`metricDefinitions` shows it).
    pub description: Option<String>,
}

/// An argument, or a field of an input object.
#[derive(Debug, Clone)]
pub struct InputValue {
    pub name: String,
    pub ty: Type,
    pub has_default: bool,
}

#[derive(Debug, Clone, Default)]
pub struct InputObject {
    pub fields: Vec<InputValue>,
    /// `@oneOf`: exactly one field, and not null.
    pub one_of: bool,
}

#[derive(Debug)]
pub struct SchemaIndex {
    fields: HashMap<String, HashMap<String, FieldInfo>>,
    inputs: HashMap<String, InputObject>,
    enums: HashMap<String, HashSet<String>>,
    directives: HashMap<String, Vec<InputValue>>,
    roots: [String; 3],
}

impl Default for SchemaIndex {
    fn default() -> Self {
        Self {
            fields: HashMap::new(),
            inputs: HashMap::new(),
            enums: HashMap::new(),
            directives: HashMap::new(),
            roots: ["Query".into(), "Mutation".into(), "Subscription".into()],
        }
    }
}

impl SchemaIndex {
    /// An SDL that does not parse gives an empty index: nothing is checked or costed
    /// beyond one point per field, and the executor still validates everything.
    pub fn from_sdl(sdl: &str) -> Self {
        let mut index = Self::default();
        let Ok(doc) = async_graphql::parser::parse_schema(sdl) else { return index };
        for definition in doc.definitions {
            match definition {
                TypeSystemDefinition::Schema(schema) => {
                    let schema = schema.node;
                    for (slot, name) in [schema.query, schema.mutation, schema.subscription].into_iter().enumerate() {
                        if let Some(name) = name {
                            index.roots[slot] = name.node.to_string();
                        }
                    }
                }
                TypeSystemDefinition::Type(ty) => {
                    let ty = ty.node;
                    let name = ty.name.node.to_string();
                    match ty.kind {
                        TypeKind::Object(object) => index.add_fields(name, object.fields),
                        TypeKind::Interface(interface) => index.add_fields(name, interface.fields),
                        TypeKind::InputObject(input) => {
                            let one_of = ty.directives.iter().any(|d| d.node.name.node == "oneOf");
                            index.inputs.insert(name, InputObject { fields: input_values(&input.fields), one_of });
                        }
                        TypeKind::Enum(enumeration) => {
                            let values = enumeration.values.iter().map(|v| v.node.value.node.to_string()).collect();
                            index.enums.insert(name, values);
                        }
                        TypeKind::Scalar | TypeKind::Union(_) => {}
                    }
                }
                TypeSystemDefinition::Directive(directive) => {
                    let directive = directive.node;
                    index.directives.insert(directive.name.node.to_string(), input_values(&directive.arguments));
                }
            }
        }
        index
    }

    fn add_fields(&mut self, on: String, fields: Vec<Positioned<async_graphql::parser::types::FieldDefinition>>) {
        let table = self.fields.entry(on).or_default();
        for field in fields {
            let field = field.node;
            let page = field.arguments.iter().find(|a| matches!(a.node.name.node.as_str(), "first" | "last"));
            let default_page = page.map(|arg| match &arg.node.default_value {
                Some(value) => page_size(&value.node).unwrap_or(DEFAULT_PAGE),
                None => DEFAULT_PAGE,
            });
            let info = FieldInfo {
                returns: named(&field.ty.node),
                default_page,
                arguments: input_values(&field.arguments),
                description: field.description.map(|d| d.node),
            };
            table.insert(field.name.node.to_string(), info);
        }
    }

    pub fn field(&self, on: &str, name: &str) -> Option<&FieldInfo> {
        self.fields.get(on)?.get(name)
    }

    pub fn input(&self, name: &str) -> Option<&InputObject> {
        self.inputs.get(name)
    }

    pub fn enum_values(&self, name: &str) -> Option<&HashSet<String>> {
        self.enums.get(name)
    }

    pub fn directive(&self, name: &str) -> Option<&[InputValue]> {
        self.directives.get(name).map(Vec::as_slice)
    }

    /// The root type an operation starts from.
    pub fn root_of(&self, op: &OperationDefinition) -> &str {
        let slot = match op.ty {
            OperationType::Query => 0,
            OperationType::Mutation => 1,
            OperationType::Subscription => 2,
        };
        &self.roots[slot]
    }
}

/// The operation `operation_name` selects (the only one when it is `None`); `None` when
/// there is no such operation (the executor reports that).
pub fn selected<'d>(doc: &'d ExecutableDocument, operation_name: Option<&str>) -> Option<&'d OperationDefinition> {
    match (&doc.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| &op.node),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next().map(|op| &op.node),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// A page size given as a number; a negative one is 0 (the resolvers refuse it).
pub fn page_size(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64().or_else(|| n.as_i64().map(|_| 0)),
        _ => None,
    }
}

fn input_values(definitions: &[Positioned<InputValueDefinition>]) -> Vec<InputValue> {
    definitions
        .iter()
        .map(|d| InputValue {
            name: d.node.name.node.to_string(),
            ty: d.node.ty.node.clone(),
            has_default: d.node.default_value.is_some(),
        })
        .collect()
}

fn named(ty: &Type) -> String {
    match &ty.base {
        BaseType::Named(name) => name.to_string(),
        BaseType::List(inner) => named(inner),
    }
}
