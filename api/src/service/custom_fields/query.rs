//! Filtering and sorting records by custom fields, on both engines. PostgreSQL matches
//! values with `@>` (JSONB containment), which its GIN index on `custom_fields` answers;
//! SQLite reads them with its JSON functions. Keys and values are bound parameters.

use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{Condition, ConnectionTrait, DbBackend, Value};
use serde_json::Value as Json;

use super::values::{CustomInput, stored};
use super::{Definition, FieldType, Object};
use crate::error::{ApiError, ApiResult};
use crate::service::page::{KeyKind, KeyValue, SortKey};

/// One condition on a custom field; every part given must hold.
#[derive(Debug, Clone, Default)]
pub struct CustomCondition {
    pub key: String,
    /// The value (on MULTI_SELECT: holds this option, or all of these options).
    pub eq: Option<CustomInput>,
    /// Any of these values.
    pub any: Option<Vec<CustomInput>>,
    /// At least (NUMBER, MONEY, DATE).
    pub gte: Option<CustomInput>,
    /// At most (NUMBER, MONEY, DATE).
    pub lte: Option<CustomInput>,
    /// Has a value (true) or none (false).
    pub is_set: Option<bool>,
}

/// Custom SQL with `?` placeholders, which PostgreSQL spells `$1`, `$2`, ….
fn sql(backend: DbBackend, template: &str, values: Vec<Value>) -> Expr {
    let text = if backend == DbBackend::Postgres {
        let mut out = String::with_capacity(template.len() + 8);
        let mut n = 0;
        for c in template.chars() {
            if c == '?' {
                n += 1;
                out.push_str(&format!("${n}"));
            } else {
                out.push(c);
            }
        }
        out
    } else {
        template.to_owned()
    };
    Expr::cust_with_values(text, values)
}

fn column(object: Object) -> String {
    format!("{}.custom_fields", object.table())
}

/// The records that have a value for `key` (or, with `set` false, none).
pub fn is_set(backend: DbBackend, object: Object, key: &str, set: bool) -> Condition {
    let test = if set { "IS NOT NULL" } else { "IS NULL" };
    Condition::all().add(sql(backend, &format!("{} ->> ? {test}", column(object)), vec![key.into()]))
}

/// A stored JSON value as the SQL value SQLite's `->>` gives for it.
fn sqlite_value(value: &Json) -> Value {
    match value {
        Json::Bool(b) => i64::from(*b).into(),
        Json::Number(n) => match n.as_i64() {
            Some(i) => i.into(),
            None => n.as_f64().unwrap_or_default().into(),
        },
        Json::String(s) => s.clone().into(),
        other => other.to_string().into(),
    }
}

/// The records whose `field` is `value` (stored form); on MULTI_SELECT, that hold every
/// option of the array `value`.
fn equals(backend: DbBackend, field: &Definition, value: &Json) -> ApiResult<Condition> {
    let col = column(field.object);
    if backend == DbBackend::Postgres {
        let wanted = serde_json::json!({ field.key(): value }).to_string();
        return Ok(Condition::all().add(sql(backend, &format!("{col} @> CAST(? AS jsonb)"), vec![wanted.into()])));
    }
    Ok(match value.as_array() {
        Some(options) => options.iter().fold(Condition::all(), |all, option| {
            let holds = format!("EXISTS (SELECT 1 FROM json_each({col}, ?) AS o WHERE o.value = ?)");
            all.add(sql(backend, &holds, vec![format!("$.{}", field.key()).into(), sqlite_value(option)]))
        }),
        None => {
            let key = literal(field.key())?;
            Condition::all().add(sql(backend, &format!("{col} ->> {key} = ?"), vec![sqlite_value(value)]))
        }
    })
}

/// The records of `field`'s object holding `option` (a SELECT's value, or among a
/// MULTI_SELECT's).
pub fn holding_option(backend: DbBackend, field: &Definition, option: &str) -> ApiResult<Condition> {
    let value = if field.field_type == FieldType::MultiSelect {
        Json::from(vec![option.to_owned()])
    } else {
        Json::from(option)
    };
    equals(backend, field, &value)
}

/// A value a condition compares with, in its stored form.
fn operand(field: &Definition, input: &CustomInput, at: &str) -> ApiResult<Json> {
    match stored(field, input) {
        Ok(Some(value)) => Ok(value),
        Ok(None) => Err(ApiError::bad_input(at, "give a value (or use isSet: false for records without one)")),
        Err(message) => Err(ApiError::bad_input(at, message)),
    }
}

/// `field` compared with a bound (numbers as numbers, dates in text order).
fn bound(backend: DbBackend, field: &Definition, value: &Json, op: &str, at: &str) -> ApiResult<Condition> {
    let right: Value = match field.field_type {
        FieldType::Number => value.as_f64().unwrap_or_default().into(),
        FieldType::Money => value.as_i64().unwrap_or_default().into(),
        FieldType::Date => value.as_str().unwrap_or_default().to_owned().into(),
        other => {
            let why = format!("only NUMBER, MONEY and DATE fields have ranges; {} is {}", field.key(), other.code());
            return Err(ApiError::bad_input(at, why));
        }
    };
    let left = ordered(backend, field)?;
    Ok(Condition::all().add(sql(backend, &format!("{left} {op} ?"), vec![right])))
}

/// A key as an SQL string literal. Keys are checked identifiers (`definitions::check_key`:
/// lowercase letters, digits, `_`), checked again here; they are written into the SQL so
/// that the engines can match the per-field expression indexes (`index_sql`), which a bound
/// parameter never matches. Values are always bound.
fn literal(key: &str) -> ApiResult<String> {
    super::definitions::check_key("key", key)
        .map_err(|_| ApiError::internal(format!("unsafe custom field key {key:?}")))?;
    Ok(format!("'{key}'"))
}

/// The value of a NUMBER, MONEY or DATE field as range conditions compare it: the expression
/// of its per-field index. SQLite's `->>` already gives JSON numbers as SQL numbers.
fn ordered(backend: DbBackend, field: &Definition) -> ApiResult<String> {
    let (col, key) = (column(field.object), literal(field.key())?);
    Ok(match (backend, field.field_type) {
        (DbBackend::Postgres, FieldType::Number) => format!("CAST({col} ->> {key} AS DOUBLE PRECISION)"),
        (DbBackend::Postgres, FieldType::Money) => format!("CAST({col} ->> {key} AS BIGINT)"),
        _ => format!("{col} ->> {key}"),
    })
}

/// The per-field index a new field gets, when its filters can use one: on SQLite every
/// field but MULTI_SELECT (whose `eq` reads `json_each`) on `custom_fields ->> 'key'`; on
/// PostgreSQL the range expression of NUMBER, MONEY and DATE fields (`eq`/`in` of every field
/// use the GIN index). Named by the definition's id: keys can be longer than PostgreSQL's
/// 63-character identifiers allow.
pub fn index_sql(backend: DbBackend, field: &Definition) -> ApiResult<Option<String>> {
    let postgres = backend == DbBackend::Postgres;
    let indexed = match field.field_type {
        FieldType::MultiSelect => false,
        FieldType::Number | FieldType::Money | FieldType::Date => true,
        _ => !postgres,
    };
    if !indexed {
        return Ok(None);
    }
    // The index's expression must be the one the conditions use, without the table prefix.
    let qualified = format!("{}.", field.object.table());
    let expression = ordered(backend, field)?.replace(&qualified, "");
    let (name, table) = (format!("ix_cf_{}", field.model.id), field.object.table());
    Ok(Some(format!("CREATE INDEX IF NOT EXISTS {name} ON {table} (({expression}))")))
}

/// `conditions` on records of `object` as one condition; `at` names the filter input
/// (`where.customField`) in errors.
pub fn condition(
    backend: DbBackend,
    definitions: &[Definition],
    object: Object,
    conditions: &[CustomCondition],
    at: &str,
) -> ApiResult<Condition> {
    let mut all = Condition::all();
    for c in conditions {
        let field = find(definitions, object, &c.key, &format!("{at}.key"))?;
        if let Some(eq) = &c.eq {
            all = all.add(equals(backend, field, &operand(field, eq, &format!("{at}.eq"))?)?);
        }
        if let Some(any) = &c.any {
            let mut either = Condition::any();
            for value in any {
                either = either.add(equals(backend, field, &operand(field, value, &format!("{at}.in"))?)?);
            }
            all = all.add(either);
        }
        for (input, op, name) in [(&c.gte, ">=", "gte"), (&c.lte, "<=", "lte")] {
            if let Some(input) = input {
                let at = format!("{at}.{name}");
                all = all.add(bound(backend, field, &operand(field, input, &at)?, op, &at)?);
            }
        }
        if let Some(set) = c.is_set {
            all = all.add(is_set(backend, object, field.key(), set));
        }
    }
    Ok(all)
}

fn find<'d>(definitions: &'d [Definition], object: Object, key: &str, at: &str) -> ApiResult<&'d Definition> {
    definitions.iter().find(|d| d.object == object && d.key() == key.trim()).ok_or_else(|| {
        ApiError::bad_input(at, format!("\"{}\" is not a custom field of {}", key.trim(), object.table()))
    })
}

/// How many live records of `object` match `condition`.
pub async fn count_live(db: &impl ConnectionTrait, object: Object, condition: Condition) -> ApiResult<u64> {
    let table = Alias::new(object.table());
    let query = Query::select()
        .expr(Expr::cust("COUNT(*)"))
        .from(table.clone())
        .cond_where(condition.add(Expr::col((table, Alias::new("deleted_at"))).is_null()))
        .to_owned();
    let row = db.query_one(&query).await?;
    let count: i64 = row.map(|r| r.try_get_by_index(0)).transpose()?.unwrap_or_default();
    Ok(u64::try_from(count).unwrap_or_default())
}

/// One ordering term of a list: one of its own fields, or a custom field.
#[derive(Debug, Clone)]
pub enum Sorted<S> {
    Field(S),
    Custom(CustomSort),
}

impl<S: Copy> Sorted<S> {
    /// The sort keys of `order`: a list's own fields by `own`, custom fields read from the
    /// rows' `custom_fields` by `values`.
    pub fn keys<M: 'static>(
        order: &[(Sorted<S>, bool)],
        own: impl Fn(S, bool) -> SortKey<M>,
        values: fn(&M) -> &Json,
    ) -> Vec<SortKey<M>> {
        let mut keys = Vec::new();
        for (sort, descending) in order {
            match sort {
                Sorted::Field(field) => keys.push(own(*field, *descending)),
                Sorted::Custom(custom) => keys.extend(custom.keys(*descending, values)),
            }
        }
        keys
    }
}

/// Ordering by one custom field: records without a value last (ascending), then by value.
#[derive(Debug, Clone)]
pub struct CustomSort {
    backend: DbBackend,
    object: Object,
    key: String,
    field_type: FieldType,
}

impl CustomSort {
    /// The ordering by `key`; `at` names the input in errors. MULTI_SELECT fields hold sets,
    /// which have no order.
    pub fn new(backend: DbBackend, definitions: &[Definition], object: Object, key: &str, at: &str) -> ApiResult<Self> {
        let field = find(definitions, object, key, at)?;
        if field.field_type == FieldType::MultiSelect {
            return Err(ApiError::bad_input(at, "a MULTI_SELECT field cannot order a list"));
        }
        Ok(Self { backend, object, key: field.key().to_owned(), field_type: field.field_type })
    }

    /// The sort keys, reading a row's values with `values`.
    pub fn keys<M: 'static>(&self, descending: bool, values: fn(&M) -> &Json) -> Vec<SortKey<M>> {
        let (col, backend, postgres) = (column(self.object), self.backend, self.backend == DbBackend::Postgres);
        let key = || -> Vec<Value> { vec![self.key.clone().into()] };
        let missing = sql(backend, &format!("CASE WHEN {col} ->> ? IS NULL THEN 1 ELSE 0 END"), key());
        let k = self.key.clone();
        let mut keys = vec![SortKey::new(missing, KeyKind::Int, descending, move |m: &M| {
            i64::from(values(m).get(&k).is_none()).into()
        })];
        let k = self.key.clone();
        let (template, kind, value): (String, KeyKind, fn(&Json) -> KeyValue) = match self.field_type {
            FieldType::Number => (
                format!("COALESCE(CAST({col} ->> ? AS {}), 0)", if postgres { "DOUBLE PRECISION" } else { "REAL" }),
                KeyKind::Float,
                (|v| KeyValue::Float(v.as_f64().unwrap_or_default())),
            ),
            FieldType::Money => (
                format!("COALESCE(CAST({col} ->> ? AS {}), 0)", if postgres { "BIGINT" } else { "INTEGER" }),
                KeyKind::Int,
                (|v| KeyValue::Int(v.as_i64().unwrap_or_default())),
            ),
            FieldType::Boolean if postgres => (
                format!("CASE WHEN {col} -> ? = 'true'::jsonb THEN 1 ELSE 0 END"),
                KeyKind::Int,
                (|v| KeyValue::Int(i64::from(v.as_bool().unwrap_or_default()))),
            ),
            FieldType::Boolean => (
                format!("COALESCE({col} ->> ?, 0)"),
                KeyKind::Int,
                (|v| KeyValue::Int(i64::from(v.as_bool().unwrap_or_default()))),
            ),
            _ => (
                format!("COALESCE({col} ->> ?, '')"),
                KeyKind::Text,
                (|v| KeyValue::Text(v.as_str().unwrap_or_default().to_owned())),
            ),
        };
        let missing_value = match kind {
            KeyKind::Float => KeyValue::Float(0.0),
            KeyKind::Text => KeyValue::Text(String::new()),
            _ => KeyValue::Int(0),
        };
        keys.push(SortKey::new(sql(backend, &template, key()), kind, descending, move |m: &M| {
            values(m).get(&k).map_or_else(|| missing_value.clone(), &value)
        }));
        keys
    }
}
