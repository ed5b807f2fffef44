//! `customFields`: the field definitions of contacts, companies and deals.

use async_graphql::{Context, Object, Result};

use crate::graphql::context::ContextExt;
use crate::graphql::types::custom_field::{CustomField, CustomFieldObject};
use crate::service::custom_fields::Object as RecordObject;

#[derive(Default)]
pub struct CustomFieldQuery;

#[Object]
impl CustomFieldQuery {
    /// The custom fields of one kind of record (or of all), in the order they were defined.
    /// Every role may read them: they describe what records hold, not the records.
    async fn custom_fields(
        &self,
        ctx: &Context<'_>,
        object: Option<CustomFieldObject>,
        #[graphql(default)] include_archived: bool,
    ) -> Result<Vec<CustomField>> {
        ctx.principal().await?;
        let object = object.map(RecordObject::from);
        let all = ctx.loaders().await?.custom_fields().await?;
        let wanted = |d: &&crate::service::custom_fields::Definition| {
            object.is_none_or(|o| d.object == o) && (include_archived || !d.model.archived)
        };
        Ok(all.iter().filter(wanted).cloned().map(CustomField).collect())
    }
}
