//! `custom_field_definitions`: a field ADMIN added to contacts, companies or deals; the values live in each record's `custom_fields`.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "custom_field_definitions")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// CONTACT, COMPANY or DEAL.
    pub object: String,
    /// The name of the value in the record's `custom_fields`; never changes once made.
    pub key: String,
    pub label: String,
    /// TEXT, NUMBER, MONEY, DATE, BOOLEAN, SELECT or MULTI_SELECT; never changes once made.
    pub field_type: String,
    /// The options of a SELECT or MULTI_SELECT field, as a JSON array of strings.
    pub options: String,
    pub required: bool,
    pub archived: bool,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
