//! Custom field values: checking what a write gives against the definitions, merging it into
//! the record's `custom_fields` object, and reading the stored JSON back as typed values.
//!
//! Stored forms: TEXT, SELECT and DATE (`YYYY-MM-DD`) as JSON strings, NUMBER as a JSON
//! number, MONEY as integer minor units of the base currency, BOOLEAN as true/false,
//! MULTI_SELECT as an array of options. A cleared field has no key at all.

use chrono::{Datelike, NaiveDate};
use serde_json::{Map, Value as Json};

use super::{Definition, FieldType};
use crate::error::{ApiError, ApiResult};
use crate::service::validate::Checks;

pub const MAX_TEXT: usize = 2000;

/// A value as a client gives it (and as a filter compares with).
#[derive(Debug, Clone, PartialEq)]
pub enum CustomInput {
    Text(String),
    Number(f64),
    /// Minor units of the base currency.
    Money(i64),
    Date(NaiveDate),
    Boolean(bool),
    Option(String),
    Options(Vec<String>),
}

impl CustomInput {
    /// The name of the input field that carries this kind of value.
    fn given_as(&self) -> &'static str {
        match self {
            Self::Text(_) => "text",
            Self::Number(_) => "number",
            Self::Money(_) => "money",
            Self::Date(_) => "date",
            Self::Boolean(_) => "boolean",
            Self::Option(_) => "option",
            Self::Options(_) => "options",
        }
    }
}

/// The input field a `field_type` value is given in.
pub fn expected_input(field_type: FieldType) -> &'static str {
    match field_type {
        FieldType::Text => "text",
        FieldType::Number => "number",
        FieldType::Money => "money",
        FieldType::Date => "date",
        FieldType::Boolean => "boolean",
        FieldType::Select => "option",
        FieldType::MultiSelect => "options",
    }
}

/// A stored value read back.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomValue {
    Text(String),
    Number(f64),
    Money(i64),
    Date(NaiveDate),
    Boolean(bool),
    Select(String),
    MultiSelect(Vec<String>),
}

/// Changes to a record's custom fields: each key with its new value, `None` to clear it.
pub type Patch = Vec<(String, Option<CustomInput>)>;

/// The error path of a field's value.
pub fn path(key: &str) -> String {
    format!("customFields.{key}")
}

/// `input` as the JSON `field` stores, or why it does not fit (`None`: the value clears the
/// field, as an empty text or an empty set of options does).
pub fn stored(field: &Definition, input: &CustomInput) -> Result<Option<Json>, String> {
    let wrong = || {
        format!(
            "is a {} field: give its value as `{}`, not `{}`",
            field.field_type.code(),
            expected_input(field.field_type),
            input.given_as()
        )
    };
    let option = |o: &str| -> Result<String, String> {
        let o = o.trim();
        if field.options.iter().any(|known| known == o) {
            Ok(o.to_owned())
        } else {
            Err(format!("\"{o}\" is not one of its options ({})", field.options.join(", ")))
        }
    };
    Ok(match (field.field_type, input) {
        (FieldType::Text, CustomInput::Text(text)) => {
            let text = text.trim();
            if text.chars().count() > MAX_TEXT {
                return Err(format!("must be at most {MAX_TEXT} characters"));
            }
            (!text.is_empty()).then(|| Json::from(text))
        }
        (FieldType::Number, CustomInput::Number(n)) => {
            Some(Json::from(serde_json::Number::from_f64(*n).ok_or("must be a finite number")?))
        }
        (FieldType::Money, CustomInput::Money(cents)) => Some(Json::from(*cents)),
        (FieldType::Date, CustomInput::Date(day)) => {
            if !(1..=9999).contains(&day.year()) {
                return Err("must be a date between the years 1 and 9999".into());
            }
            Some(Json::from(day.format("%Y-%m-%d").to_string()))
        }
        (FieldType::Boolean, CustomInput::Boolean(b)) => Some(Json::from(*b)),
        (FieldType::Select, CustomInput::Option(o)) => Some(Json::from(option(o)?)),
        (FieldType::MultiSelect, CustomInput::Options(options)) => {
            let mut chosen: Vec<String> = Vec::with_capacity(options.len());
            for o in options {
                let o = option(o)?;
                if !chosen.contains(&o) {
                    chosen.push(o);
                }
            }
            (!chosen.is_empty()).then(|| Json::from(chosen))
        }
        // One option of a MULTI_SELECT field is a set of one.
        (FieldType::MultiSelect, CustomInput::Option(o)) => Some(Json::from(vec![option(o)?])),
        _ => return Err(wrong()),
    })
}

/// Applies `patch` to `current` (`None`: a new record) for the fields `definitions` of the
/// record's object, and gives the record's new `custom_fields`. Every problem is named
/// `customFields.<key>`: an unknown or archived field, a value of the wrong type or outside
/// the options, a required field left empty (on a new record, or cleared by the patch).
pub fn apply(definitions: &[Definition], current: Option<&Json>, patch: &Patch) -> ApiResult<Json> {
    let mut values: Map<String, Json> = current.and_then(Json::as_object).cloned().unwrap_or_default();
    let mut checks = Checks::default();
    let mut seen: Vec<&str> = Vec::new();
    for (key, input) in patch {
        let key = key.trim();
        let fail = |message: String| Err::<(), _>(ApiError::bad_input(path(key), message));
        if seen.contains(&key) {
            checks.take(fail("is given twice".into()));
            continue;
        }
        seen.push(key);
        let Some(field) = definitions.iter().find(|d| d.key() == key) else {
            checks.take(fail("is not a custom field of this record (see the `customFields` query)".into()));
            continue;
        };
        if field.model.archived {
            checks.take(fail("is archived: unarchive the field to write it".into()));
            continue;
        }
        let value = match input {
            None => None,
            Some(input) => match stored(field, input) {
                Ok(value) => value,
                Err(message) => {
                    checks.take(fail(message));
                    continue;
                }
            },
        };
        match value {
            Some(value) => values.insert(key.to_owned(), value),
            None => values.remove(key),
        };
    }
    for field in definitions.iter().filter(|d| d.model.required && !d.model.archived) {
        let touched = current.is_none() || seen.contains(&field.key());
        if touched && !values.contains_key(field.key()) {
            checks.take(Err::<(), _>(ApiError::bad_input(path(field.key()), "is required")));
        }
    }
    checks.done()?;
    Ok(Json::Object(values))
}

/// `kept` with the values of `other` for the fields `kept` has none of (a contact merge).
pub fn fill_missing(kept: &Json, other: &Json) -> Json {
    let mut values = kept.as_object().cloned().unwrap_or_default();
    for (key, value) in other.as_object().into_iter().flatten() {
        values.entry(key.clone()).or_insert_with(|| value.clone());
    }
    Json::Object(values)
}

/// The value of `field` in a record's `custom_fields`, when it has one of the field's type.
pub fn read(field: &Definition, values: &Json) -> Option<CustomValue> {
    let value = values.get(field.key())?;
    let text = || value.as_str().map(str::to_owned);
    Some(match field.field_type {
        FieldType::Text => CustomValue::Text(text()?),
        FieldType::Number => CustomValue::Number(value.as_f64()?),
        FieldType::Money => CustomValue::Money(value.as_i64()?),
        FieldType::Date => CustomValue::Date(NaiveDate::parse_from_str(value.as_str()?, "%Y-%m-%d").ok()?),
        FieldType::Boolean => CustomValue::Boolean(value.as_bool()?),
        FieldType::Select => CustomValue::Select(text()?),
        FieldType::MultiSelect => {
            CustomValue::MultiSelect(value.as_array()?.iter().filter_map(|o| o.as_str().map(str::to_owned)).collect())
        }
    })
}

#[cfg(test)]
mod tests {
    use entity::custom_field;
    use serde_json::json;

    use super::*;
    use crate::service::custom_fields::Object;

    fn field(key: &str, field_type: FieldType, required: bool) -> Definition {
        let options = if field_type.has_options() { vec!["gold".to_owned(), "silver".to_owned()] } else { vec![] };
        let at = chrono::DateTime::UNIX_EPOCH;
        Definition {
            model: custom_field::Model {
                id: 1,
                object: "CONTACT".into(),
                key: key.into(),
                label: key.into(),
                field_type: field_type.code().into(),
                options: serde_json::to_string(&options).unwrap_or_default(),
                required,
                archived: key == "old",
                version: 1,
                created_at: at,
                updated_at: at,
            },
            object: Object::Contact,
            field_type,
            options,
        }
    }

    fn fields() -> Vec<Definition> {
        vec![
            field("note", FieldType::Text, false),
            field("seats", FieldType::Number, false),
            field("budget", FieldType::Money, false),
            field("renewal", FieldType::Date, false),
            field("vip", FieldType::Boolean, false),
            field("tier", FieldType::Select, true),
            field("tags", FieldType::MultiSelect, false),
            field("old", FieldType::Text, false),
        ]
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    fn failed_fields(result: ApiResult<Json>) -> Vec<String> {
        match result {
            Err(ApiError::BadInput { field, .. }) => vec![field],
            Err(ApiError::InvalidFields(fields)) => fields.into_iter().map(|(f, _)| f).collect(),
            other => panic!("expected BAD_USER_INPUT, got {other:?}"),
        }
    }

    #[test]
    fn every_type_is_stored_in_its_form() {
        let patch: Patch = vec![
            ("note".into(), Some(CustomInput::Text("  called  ".into()))),
            ("seats".into(), Some(CustomInput::Number(12.5))),
            ("budget".into(), Some(CustomInput::Money(150_000))),
            ("renewal".into(), Some(CustomInput::Date(day(2027, 3, 1)))),
            ("vip".into(), Some(CustomInput::Boolean(true))),
            ("tier".into(), Some(CustomInput::Option("gold".into()))),
            ("tags".into(), Some(CustomInput::Options(vec!["silver".into(), "gold".into(), "silver".into()]))),
        ];
        let stored = apply(&fields(), None, &patch).expect("valid");
        let expected = json!({"note": "called", "seats": 12.5, "budget": 150000, "renewal": "2027-03-01",
            "vip": true, "tier": "gold", "tags": ["silver", "gold"]});
        assert_eq!(stored, expected);
        let tags = fields().into_iter().find(|f| f.key() == "tags").expect("tags");
        assert_eq!(read(&tags, &stored), Some(CustomValue::MultiSelect(vec!["silver".into(), "gold".into()])));
        let renewal = fields().into_iter().find(|f| f.key() == "renewal").expect("renewal");
        assert_eq!(read(&renewal, &stored), Some(CustomValue::Date(day(2027, 3, 1))));
    }

    #[test]
    fn invalid_values_name_their_field() {
        let bad: Patch = vec![
            ("seats".into(), Some(CustomInput::Text("many".into()))),
            ("tier".into(), Some(CustomInput::Option("platinum".into()))),
            ("tags".into(), Some(CustomInput::Options(vec!["bronze".into()]))),
            ("nope".into(), Some(CustomInput::Boolean(true))),
            ("old".into(), Some(CustomInput::Text("x".into()))),
            ("seats".into(), Some(CustomInput::Number(1.0))),
            ("note".into(), Some(CustomInput::Text("x".repeat(MAX_TEXT + 1)))),
        ];
        let current = json!({"tier": "gold"});
        let failed = failed_fields(apply(&fields(), Some(&current), &bad));
        let expected = ["seats", "tier", "tags", "nope", "old", "seats", "note"].map(path);
        assert_eq!(failed, expected);
        let nan = vec![("seats".into(), Some(CustomInput::Number(f64::NAN)))];
        assert_eq!(failed_fields(apply(&fields(), Some(&current), &nan)), [path("seats")]);
    }

    #[test]
    fn required_fields_bind_new_records_and_clearing() {
        assert_eq!(failed_fields(apply(&fields(), None, &vec![])), [path("tier")]);
        let current = json!({"tier": "gold", "vip": true});
        let unrelated = vec![("vip".into(), None)];
        assert_eq!(apply(&fields(), Some(&current), &unrelated).ok(), Some(json!({"tier": "gold"})));
        let old = json!({"vip": false});
        assert!(apply(&fields(), Some(&old), &vec![("vip".into(), None)]).is_ok(), "untouched: no check");
        let cleared = vec![("tier".into(), None)];
        assert_eq!(failed_fields(apply(&fields(), Some(&current), &cleared)), [path("tier")]);
        let emptied = vec![
            ("tier".into(), Some(CustomInput::Option("silver".into()))),
            ("note".into(), Some(CustomInput::Text(" ".into()))),
        ];
        assert_eq!(
            apply(&fields(), Some(&json!({"tier": "gold", "note": "x"})), &emptied).ok(),
            Some(json!({"tier": "silver"}))
        );
    }

    #[test]
    fn a_merge_fills_only_missing_values() {
        let kept = json!({"tier": "gold"});
        let other = json!({"tier": "silver", "vip": true});
        assert_eq!(fill_missing(&kept, &other), json!({"tier": "gold", "vip": true}));
    }
}
