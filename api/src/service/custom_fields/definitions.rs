//! ADMIN's custom field definitions: created with a key and type that never change, then
//! relabelled, given options, made required or archived.

use entity::custom_field;
use sea_orm::{ConnectionTrait, EntityTrait, NotSet, Set};

use super::{Definition, FieldType, Object, query};
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::service::scope::ensure_admin;
use crate::service::validate::{self, Checks};
use crate::service::work::{Target, Writer};

const LABEL: &str = "CustomField";
const DUPLICATE: (&str, &str) = ("input.key", "this object already has a field with this key");
pub const MAX_OPTIONS: usize = 200;
pub const MAX_OPTION_LENGTH: usize = 100;

#[derive(Debug, Clone)]
pub struct FieldForCreate {
    pub object: Object,
    pub key: String,
    pub label: String,
    pub field_type: FieldType,
    pub options: Option<Vec<String>>,
    pub required: bool,
}

#[derive(Debug, Clone, Default)]
pub struct FieldForUpdate {
    pub version: i32,
    pub label: Option<String>,
    pub options: Option<Vec<String>>,
    pub required: Option<bool>,
    pub archived: Option<bool>,
}

/// One definition by id (any role may read definitions: they describe the schema of records).
pub async fn get(db: &impl ConnectionTrait, id: i64) -> ApiResult<Option<Definition>> {
    custom_field::Entity::find_by_id(id).one(db).await?.map(Definition::from_model).transpose()
}

/// A key: a lowercase letter, then lowercase letters, digits or `_`, at most 64 in all. So it
/// needs no quoting in a JSON path or the change log's `customFields.<key>`.
pub fn check_key(field: &str, key: &str) -> ApiResult<String> {
    let key = key.trim();
    let mut chars = key.chars();
    let starts = chars.next().is_some_and(|c| c.is_ascii_lowercase());
    if !starts || key.len() > 64 || !chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') {
        return Err(ApiError::bad_input(
            field,
            "must start with a lowercase letter and hold only lowercase letters, digits and _ (at most 64)",
        ));
    }
    Ok(key.to_owned())
}

/// The options of a `field_type` field: required and distinct for SELECT and MULTI_SELECT,
/// absent for the other types.
fn check_options(field_type: FieldType, options: Option<Vec<String>>) -> ApiResult<Vec<String>> {
    const FIELD: &str = "input.options";
    let Some(options) = options else {
        return if field_type.has_options() {
            Err(ApiError::bad_input(FIELD, "a SELECT or MULTI_SELECT field needs options"))
        } else {
            Ok(Vec::new())
        };
    };
    if !field_type.has_options() {
        return Err(ApiError::bad_input(FIELD, "only SELECT and MULTI_SELECT fields have options"));
    }
    if options.is_empty() || options.len() > MAX_OPTIONS {
        return Err(ApiError::bad_input(FIELD, format!("give between 1 and {MAX_OPTIONS} options")));
    }
    let mut checked: Vec<String> = Vec::with_capacity(options.len());
    for option in options {
        let option = validate::required(FIELD, &option, MAX_OPTION_LENGTH)?;
        if checked.contains(&option) {
            return Err(ApiError::bad_input(FIELD, format!("\"{option}\" is given twice")));
        }
        checked.push(option);
    }
    Ok(checked)
}

fn options_json(options: &[String]) -> String {
    serde_json::Value::from(options.to_vec()).to_string()
}

pub async fn create(principal: &Principal, w: &Writer, input: FieldForCreate) -> ApiResult<Definition> {
    ensure_admin(principal)?;
    let mut checks = Checks::default();
    let key = checks.take(check_key("input.key", &input.key));
    let label = checks.take(validate::required("input.label", &input.label, 200));
    let options = checks.take(check_options(input.field_type, input.options));
    checks.done()?;
    let now = crate::service::now();
    let row = custom_field::ActiveModel {
        id: NotSet,
        object: Set(input.object.code().to_owned()),
        key: Set(key),
        label: Set(label),
        field_type: Set(input.field_type.code().to_owned()),
        options: Set(options_json(&options)),
        required: Set(input.required),
        archived: Set(false),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut work = w.begin(principal).await?;
    let created = Definition::from_model(work.insert_unique(row, DUPLICATE.0, DUPLICATE.1).await?)?;
    if let Some(ddl) = query::index_sql(work.db().get_database_backend(), &created)? {
        work.db().execute_unprepared(&ddl).await?;
    }
    work.commit().await?;
    Ok(created)
}

pub async fn update(principal: &Principal, w: &Writer, id: i64, input: FieldForUpdate) -> ApiResult<Definition> {
    ensure_admin(principal)?;
    let mut work = w.begin(principal).await?;
    let current = get(work.db(), id).await?.ok_or(ApiError::NotFound(LABEL))?;
    let mut changes = custom_field::ActiveModel { updated_at: Set(crate::service::now()), ..Default::default() };
    let mut checks = Checks::default();
    if let Some(label) = input.label {
        changes.label = Set(checks.take(validate::required("input.label", &label, 200)));
    }
    if let Some(options) = input.options {
        let options = checks.take(check_options(current.field_type, Some(options)));
        if !options.is_empty() {
            let dropped: Vec<&String> = current.options.iter().filter(|o| !options.contains(o)).collect();
            checks.take(ensure_unused(work.db(), &current, &dropped).await);
        }
        changes.options = Set(options_json(&options));
    }
    if let Some(required) = input.required {
        changes.required = Set(required);
    }
    if let Some(archived) = input.archived {
        changes.archived = Set(archived);
    }
    checks.done()?;
    let updated =
        work.update::<custom_field::Entity>(Target::new(id, LABEL).version(Some(input.version)), changes).await?;
    work.commit().await?;
    Definition::from_model(updated)
}

/// Refuses to drop options that live records still hold: their values would stop being
/// valid. Clear or change those records first.
async fn ensure_unused(db: &impl ConnectionTrait, field: &Definition, dropped: &[&String]) -> ApiResult<()> {
    for option in dropped {
        let holding = query::holding_option(db.get_database_backend(), field, option)?;
        let count = query::count_live(db, field.object, holding).await?;
        if count > 0 {
            return Err(ApiError::bad_input(
                "input.options",
                format!("\"{option}\" is still the value of {count} record(s): change them before dropping it"),
            ));
        }
    }
    Ok(())
}

/// How many live records of `object` hold any value for `field` (ADMIN, before archiving).
pub async fn usage(principal: &Principal, db: &impl ConnectionTrait, field: &Definition) -> ApiResult<u64> {
    ensure_admin(principal)?;
    query::count_live(db, field.object, query::is_set(db.get_database_backend(), field.object, field.key(), true)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_plain_identifiers() {
        assert_eq!(check_key("k", " tier ").ok().as_deref(), Some("tier"));
        assert_eq!(check_key("k", "renewal_date2").ok().as_deref(), Some("renewal_date2"));
        for bad in ["", "Tier", "2tier", "tier-x", "tier.x", "tier'x", "ti er", &"a".repeat(65)] {
            assert!(check_key("k", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn options_belong_to_choice_fields() {
        assert!(check_options(FieldType::Select, None).is_err());
        assert!(check_options(FieldType::Text, Some(vec!["a".into()])).is_err());
        assert!(check_options(FieldType::Select, Some(vec![])).is_err());
        assert!(check_options(FieldType::MultiSelect, Some(vec!["a".into(), " a ".into()])).is_err());
        let ok = check_options(FieldType::Select, Some(vec![" gold ".into(), "silver".into()])).ok();
        assert_eq!(ok, Some(vec!["gold".to_owned(), "silver".to_owned()]));
        assert_eq!(check_options(FieldType::Number, None).ok(), Some(vec![]));
    }
}
