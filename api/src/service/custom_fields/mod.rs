//! Custom fields (SPEC section 11): the fields ADMIN adds to contacts, companies and deals
//! (`definitions`), the checked values every record keeps in its `custom_fields` JSON
//! (`values`), and filtering and sorting lists by them (`query`).

pub mod definitions;
pub mod query;
pub mod values;

use entity::custom_field;
use sea_orm::sea_query::{Alias, Expr, ExprTrait, Query};
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use serde_json::Value as Json;

use crate::error::{ApiError, ApiResult};

/// The kinds of record that have custom fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Object {
    Contact,
    Company,
    Deal,
}

impl Object {
    pub const ALL: [Object; 3] = [Object::Contact, Object::Company, Object::Deal];

    pub fn code(self) -> &'static str {
        match self {
            Self::Contact => "CONTACT",
            Self::Company => "COMPANY",
            Self::Deal => "DEAL",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.code() == code)
    }

    /// The table holding the records' values.
    pub fn table(self) -> &'static str {
        match self {
            Self::Contact => "contacts",
            Self::Company => "companies",
            Self::Deal => "deals",
        }
    }
}

/// What a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    Text,
    Number,
    Money,
    Date,
    Boolean,
    Select,
    MultiSelect,
}

impl FieldType {
    pub const ALL: [FieldType; 7] = [
        FieldType::Text,
        FieldType::Number,
        FieldType::Money,
        FieldType::Date,
        FieldType::Boolean,
        FieldType::Select,
        FieldType::MultiSelect,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Text => "TEXT",
            Self::Number => "NUMBER",
            Self::Money => "MONEY",
            Self::Date => "DATE",
            Self::Boolean => "BOOLEAN",
            Self::Select => "SELECT",
            Self::MultiSelect => "MULTI_SELECT",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.code() == code)
    }

    /// Whether its values are chosen from the definition's options.
    pub fn has_options(self) -> bool {
        matches!(self, Self::Select | Self::MultiSelect)
    }
}

/// A field definition as the services use it.
#[derive(Debug, Clone, PartialEq)]
pub struct Definition {
    pub model: custom_field::Model,
    pub object: Object,
    pub field_type: FieldType,
    pub options: Vec<String>,
}

impl Definition {
    pub fn from_model(model: custom_field::Model) -> ApiResult<Self> {
        let broken = |what: &str| ApiError::internal(format!("custom field {} has {what}", model.id));
        let object = Object::parse(&model.object).ok_or_else(|| broken("an unknown object"))?;
        let field_type = FieldType::parse(&model.field_type).ok_or_else(|| broken("an unknown type"))?;
        let options: Vec<String> = serde_json::from_str(&model.options).map_err(|_| broken("unreadable options"))?;
        Ok(Self { model, object, field_type, options })
    }

    pub fn key(&self) -> &str {
        &self.model.key
    }
}

/// Every definition of every object (archived ones too), oldest first: few enough to read
/// whole, and what a request needs for any record it shows.
pub async fn all(db: &impl ConnectionTrait) -> ApiResult<Vec<Definition>> {
    let rows = custom_field::Entity::find().order_by_asc(custom_field::Column::Id).all(db).await?;
    rows.into_iter().map(Definition::from_model).collect()
}

/// The definitions of `object`, oldest first.
pub async fn of(db: &impl ConnectionTrait, object: Object) -> ApiResult<Vec<Definition>> {
    Ok(all(db).await?.into_iter().filter(|d| d.object == object).collect())
}

/// The values of a new record of `object`: `patch` checked against its fields.
pub async fn for_new(db: &impl ConnectionTrait, object: Object, patch: &values::Patch) -> ApiResult<Json> {
    values::apply(&of(db, object).await?, None, patch)
}

/// The values of record `id` of `object` after `patch` (run it in the write's transaction);
/// `None` when the patch is empty. A record that does not exist yields its own NOT_FOUND
/// from the write that follows, so it is patched as empty here.
pub async fn after_patch(
    db: &impl ConnectionTrait,
    object: Object,
    id: i64,
    patch: &values::Patch,
) -> ApiResult<Option<Json>> {
    if patch.is_empty() {
        return Ok(None);
    }
    let query = Query::select()
        .column(Alias::new("custom_fields"))
        .from(Alias::new(object.table()))
        .and_where(Expr::col(Alias::new("id")).eq(id))
        .to_owned();
    let row = db.query_one(&query).await?;
    let current: Json = match row {
        Some(row) => row.try_get_by_index(0)?,
        None => Json::Object(Default::default()),
    };
    Ok(Some(values::apply(&of(db, object).await?, Some(&current), patch)?))
}
