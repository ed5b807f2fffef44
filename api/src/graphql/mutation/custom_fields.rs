//! `createCustomField` and `updateCustomField`: ADMIN defines what records hold beyond the
//! built-in fields.

use async_graphql::{Context, ID, InputObject, Object, Result, SimpleObject};

use crate::graphql::context::ContextExt;
use crate::graphql::ids::{NodeKind, decode};
use crate::graphql::types::custom_field::{CustomField, CustomFieldObject, CustomFieldType};
use crate::service::custom_fields::definitions::{self, FieldForCreate, FieldForUpdate};

/// A new custom field.
#[derive(InputObject)]
pub struct CreateCustomFieldInput {
    /// The records that get it.
    pub object: CustomFieldObject,
    /// Its name in inputs, filters and the change log: a lowercase letter, then lowercase
    /// letters, digits or `_` (≤ 64); unique per object and never changed.
    pub key: String,
    /// How forms label it (≤ 200 characters).
    pub label: String,
    /// What it holds; never changed.
    #[graphql(name = "type")]
    pub field_type: CustomFieldType,
    /// The choices of a SELECT or MULTI_SELECT field (1–200, distinct, ≤ 100 characters each).
    pub options: Option<Vec<String>>,
    /// New records must have a value, and no write may clear it.
    #[graphql(default)]
    pub required: bool,
}

/// Changes to a custom field; omitted fields stay as they are.
#[derive(InputObject)]
pub struct UpdateCustomFieldInput {
    /// The field.
    pub id: ID,
    /// The version you read; a stale version fails with CONFLICT.
    pub version: i32,
    /// New label.
    pub label: Option<String>,
    /// The whole new list of options; an option records still hold cannot be dropped.
    pub options: Option<Vec<String>>,
    /// Whether new records must have a value.
    pub required: Option<bool>,
    /// Archive (hide and stop writes, keeping values) or restore the field.
    pub archived: Option<bool>,
}

/// The custom field after the change.
#[derive(SimpleObject)]
pub struct CustomFieldPayload {
    /// The field.
    pub custom_field: CustomField,
}

#[derive(Default)]
pub struct CustomFieldMutation;

#[Object]
impl CustomFieldMutation {
    /// Adds a custom field to contacts, companies or deals (ADMIN).
    async fn create_custom_field(
        &self,
        ctx: &Context<'_>,
        input: CreateCustomFieldInput,
    ) -> Result<CustomFieldPayload> {
        let principal = ctx.principal().await?;
        let input = FieldForCreate {
            object: input.object.into(),
            key: input.key,
            label: input.label,
            field_type: input.field_type.into(),
            options: input.options,
            required: input.required,
        };
        let created = definitions::create(principal, ctx.writer(), input).await?;
        Ok(CustomFieldPayload { custom_field: CustomField(created) })
    }

    /// Relabels a custom field, changes its options, makes it required or archives it (ADMIN).
    async fn update_custom_field(
        &self,
        ctx: &Context<'_>,
        input: UpdateCustomFieldInput,
    ) -> Result<CustomFieldPayload> {
        let principal = ctx.principal().await?;
        let id = decode("input.id", &input.id, NodeKind::CustomField)?;
        let changes = FieldForUpdate {
            version: input.version,
            label: input.label,
            options: input.options,
            required: input.required,
            archived: input.archived,
        };
        let updated = definitions::update(principal, ctx.writer(), id, changes).await?;
        Ok(CustomFieldPayload { custom_field: CustomField(updated) })
    }
}
