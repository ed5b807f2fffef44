//! Custom fields in the API: `CustomField` (a definition), the typed values records show in
//! `customFields`, and the inputs that write and filter them.

use async_graphql::{Context, Enum, ID, InputObject, Object, OneofObject, Result, SimpleObject, Union};
use serde_json::Value as Json;

use super::date::Date;
use super::money::Money;
use crate::error::{ApiError, ApiResult};
use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, encode};
use crate::graphql::types::timestamp::Timestamp;
use crate::service::custom_fields::query::{CustomCondition, CustomSort};
use crate::service::custom_fields::values::{self, CustomInput, CustomValue as Stored, Patch};
use crate::service::custom_fields::{self as service, Definition, Object as RecordObject};

/// The kinds of record with custom fields.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "CustomFieldObject", remote = "crate::service::custom_fields::Object")]
pub enum CustomFieldObject {
    /// Contacts (people and leads).
    Contact,
    /// Companies (organizations, accounts).
    Company,
    /// Deals (opportunities).
    Deal,
}

/// What a custom field holds, and so which input carries its value.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crate::service::custom_fields::FieldType")]
pub enum CustomFieldType {
    /// Free text (≤ 2000 characters), given as `text`.
    Text,
    /// A number, given as `number`.
    Number,
    /// An amount in the base currency, given as `money`.
    Money,
    /// A calendar date, given as `date`.
    Date,
    /// Yes or no, given as `boolean`.
    Boolean,
    /// One of the field's options, given as `option`.
    Select,
    /// Any of the field's options, given as `options`.
    MultiSelect,
}

/// A field ADMIN added to contacts, companies or deals.
pub struct CustomField(pub Definition);

/// A field ADMIN added to contacts, companies or deals. Its `key` and `type` never change.
#[Object]
impl CustomField {
    /// Global ID.
    pub async fn id(&self) -> ID {
        encode(NodeKind::CustomField, self.0.model.id)
    }
    /// The records that have it.
    async fn object(&self) -> CustomFieldObject {
        self.0.object.into()
    }
    /// The value's name in `customFields` inputs, filters and ordering.
    async fn key(&self) -> &str {
        self.0.key()
    }
    /// How a form labels it.
    async fn label(&self) -> &str {
        &self.0.model.label
    }
    /// What it holds.
    #[graphql(name = "type")]
    async fn field_type(&self) -> CustomFieldType {
        self.0.field_type.into()
    }
    /// The choices of a SELECT or MULTI_SELECT field, in order; empty otherwise.
    async fn options(&self) -> &[String] {
        &self.0.options
    }
    /// New records must have a value, and no write may clear it.
    async fn required(&self) -> bool {
        self.0.model.required
    }
    /// Hidden from records' `customFields` and not writable; values are kept.
    async fn archived(&self) -> bool {
        self.0.model.archived
    }
    /// Version for optimistic concurrency.
    async fn version(&self) -> i32 {
        self.0.model.version
    }
    /// How many live records hold a value for it (ADMIN: before archiving or dropping options).
    async fn usage(&self, ctx: &Context<'_>) -> Result<i32> {
        let count = service::definitions::usage(ctx.principal().await?, ctx.db(), &self.0).await?;
        Ok(i32::try_from(count).unwrap_or(i32::MAX))
    }
    /// When it was defined.
    async fn created_at(&self) -> Timestamp {
        Timestamp(self.0.model.created_at)
    }
    /// Its last change.
    async fn updated_at(&self) -> Timestamp {
        Timestamp(self.0.model.updated_at)
    }
}

/// A TEXT field's value.
#[derive(SimpleObject)]
pub struct CustomTextValue {
    /// The text.
    pub text: String,
}

/// A NUMBER field's value.
#[derive(SimpleObject)]
pub struct CustomNumberValue {
    /// The number.
    pub number: f64,
}

/// A MONEY field's value, in the organization's base currency.
#[derive(SimpleObject)]
pub struct CustomMoneyValue {
    /// The amount, in `currency`.
    pub amount: Money,
    /// The base currency (ISO 4217).
    pub currency: String,
}

/// A DATE field's value.
#[derive(SimpleObject)]
pub struct CustomDateValue {
    /// The date.
    pub date: Date,
}

/// A BOOLEAN field's value.
#[derive(SimpleObject)]
pub struct CustomBooleanValue {
    /// Yes (true) or no (false).
    pub boolean: bool,
}

/// A SELECT field's value: one of its options.
#[derive(SimpleObject)]
pub struct CustomSelectValue {
    /// The chosen option.
    pub option: String,
}

/// A MULTI_SELECT field's value: some of its options.
#[derive(SimpleObject)]
pub struct CustomMultiSelectValue {
    /// The chosen options, in the order they were given.
    pub options: Vec<String>,
}

/// A custom field's value, typed by the field's type.
#[derive(Union)]
pub enum CustomValue {
    Text(CustomTextValue),
    Number(CustomNumberValue),
    Money(CustomMoneyValue),
    Date(CustomDateValue),
    Boolean(CustomBooleanValue),
    Select(CustomSelectValue),
    MultiSelect(CustomMultiSelectValue),
}

/// One custom field of a record with its value.
pub struct CustomFieldValue {
    field: Definition,
    value: CustomValue,
}

/// One custom field of a record with its value.
#[Object]
impl CustomFieldValue {
    /// The field's key.
    async fn key(&self) -> &str {
        self.field.key()
    }
    /// The field's definition.
    async fn field(&self) -> CustomField {
        CustomField(self.field.clone())
    }
    /// The value, as the field's type.
    async fn value(&self) -> &CustomValue {
        &self.value
    }
}

/// A custom field value as input: exactly one of these, the one the field's type takes.
#[derive(OneofObject)]
pub enum CustomValueInput {
    /// For TEXT.
    Text(String),
    /// For NUMBER.
    Number(f64),
    /// For MONEY: an amount in the base currency.
    Money(Money),
    /// For DATE.
    Date(Date),
    /// For BOOLEAN.
    Boolean(bool),
    /// For SELECT (or one option of a MULTI_SELECT).
    Option(String),
    /// For MULTI_SELECT.
    Options(Vec<String>),
}

impl CustomValueInput {
    fn to_service(&self, at: &str) -> ApiResult<CustomInput> {
        Ok(match self {
            Self::Text(v) => CustomInput::Text(v.clone()),
            Self::Number(v) => CustomInput::Number(*v),
            Self::Money(v) => CustomInput::Money(v.cents(at)?),
            Self::Date(v) => CustomInput::Date(v.0),
            Self::Boolean(v) => CustomInput::Boolean(*v),
            Self::Option(v) => CustomInput::Option(v.clone()),
            Self::Options(v) => CustomInput::Options(v.clone()),
        })
    }
}

/// A custom field to set on a record; a null `value` clears it.
#[derive(InputObject)]
pub struct CustomFieldInput {
    /// The field's key.
    pub key: String,
    /// Its new value; null clears the field.
    pub value: Option<CustomValueInput>,
}

/// The service's patch for `inputs` (fields not listed keep their values).
pub fn patch(inputs: &Option<Vec<CustomFieldInput>>) -> ApiResult<Patch> {
    let mut patch = Vec::new();
    for input in inputs.iter().flatten() {
        let value = input.value.as_ref().map(|v| v.to_service(&values::path(input.key.trim()))).transpose()?;
        patch.push((input.key.clone(), value));
    }
    Ok(patch)
}

/// A condition on one custom field; all given parts must hold.
#[derive(InputObject)]
pub struct CustomFieldFilter {
    /// The field's key.
    pub key: String,
    /// Equals (on MULTI_SELECT: holds this `option`, or all of these `options`).
    pub eq: Option<CustomValueInput>,
    /// Equals any of these.
    #[graphql(name = "in")]
    pub any: Option<Vec<CustomValueInput>>,
    /// At least (NUMBER, MONEY, DATE).
    pub gte: Option<CustomValueInput>,
    /// At most (NUMBER, MONEY, DATE).
    pub lte: Option<CustomValueInput>,
    /// Has a value (true) or none (false).
    pub is_set: Option<bool>,
}

/// The service condition for `filters` on `object`'s records, with the definitions and engine
/// of this request; `at` is the filter's path (`where.customField`).
pub async fn condition(
    ctx: &Context<'_>,
    object: RecordObject,
    filters: &Option<Vec<CustomFieldFilter>>,
    at: &str,
) -> Result<Option<sea_orm::Condition>> {
    let Some(filters) = filters.as_ref().filter(|f| !f.is_empty()) else { return Ok(None) };
    let mut conditions = Vec::with_capacity(filters.len());
    for f in filters {
        let value = |v: &Option<CustomValueInput>, name: &str| {
            v.as_ref().map(|v| v.to_service(&format!("{at}.{name}"))).transpose()
        };
        let any = f
            .any
            .as_ref()
            .map(|values| values.iter().map(|v| v.to_service(&format!("{at}.in"))).collect::<ApiResult<Vec<_>>>());
        conditions.push(CustomCondition {
            key: f.key.clone(),
            eq: value(&f.eq, "eq")?,
            any: any.transpose()?,
            gte: value(&f.gte, "gte")?,
            lte: value(&f.lte, "lte")?,
            is_set: f.is_set,
        });
    }
    let definitions = ctx.loaders().await?.custom_fields().await?;
    let backend = sea_orm::ConnectionTrait::get_database_backend(ctx.db());
    Ok(Some(service::query::condition(backend, definitions, object, &conditions, at)?))
}

/// The ordering by the custom field `key` of `object`'s records; `at` names the input.
pub async fn sort(ctx: &Context<'_>, object: RecordObject, key: Option<&str>, at: &str) -> Result<CustomSort> {
    let key =
        key.ok_or_else(|| ApiError::bad_input(at, "ordering by CUSTOM_FIELD needs the field's key in `customField`"))?;
    let definitions = ctx.loaders().await?.custom_fields().await?;
    let backend = sea_orm::ConnectionTrait::get_database_backend(ctx.db());
    Ok(CustomSort::new(backend, definitions, object, key, at)?)
}

/// A record's custom field values (`keys`: only these), in the order the fields were
/// defined; archived fields are left out.
pub async fn values_of(
    ctx: &Context<'_>,
    object: RecordObject,
    stored: &Json,
    keys: Option<Vec<String>>,
) -> Result<Vec<CustomFieldValue>> {
    let loaders = ctx.loaders().await?;
    let definitions = loaders.custom_fields().await?;
    let wanted = |d: &&Definition| {
        d.object == object && !d.model.archived && keys.as_ref().is_none_or(|k| k.iter().any(|k| k == d.key()))
    };
    let mut out = Vec::new();
    for field in definitions.iter().filter(wanted) {
        let Some(value) = values::read(field, stored) else { continue };
        let value = match value {
            Stored::Text(text) => CustomValue::Text(CustomTextValue { text }),
            Stored::Number(number) => CustomValue::Number(CustomNumberValue { number }),
            Stored::Money(cents) => CustomValue::Money(CustomMoneyValue {
                amount: Money::from_cents(cents),
                currency: loaders.exchange().await?.base().to_owned(),
            }),
            Stored::Date(date) => CustomValue::Date(CustomDateValue { date: Date(date) }),
            Stored::Boolean(boolean) => CustomValue::Boolean(CustomBooleanValue { boolean }),
            Stored::Select(option) => CustomValue::Select(CustomSelectValue { option }),
            Stored::MultiSelect(options) => CustomValue::MultiSelect(CustomMultiSelectValue { options }),
        };
        out.push(CustomFieldValue { field: field.clone(), value });
    }
    Ok(out)
}
