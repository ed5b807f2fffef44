//! The root `Mutation`, merged from one object per domain.

mod api_keys;
mod auth;
mod companies;
mod contacts;
mod currencies;
mod custom_fields;
mod deals;
mod directory;
pub mod import;
mod meetings;
mod merge;
mod notes;
mod pipelines;
mod tasks;
mod webhooks;

use async_graphql::{ID, MaybeUndefined, MergedObject};

use crate::graphql::ids::{NodeKind, decode};

/// Everything that changes data.
#[derive(MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    api_keys::ApiKeyMutation,
    auth::AuthMutation,
    companies::CompanyMutation,
    contacts::ContactMutation,
    currencies::CurrencyMutation,
    custom_fields::CustomFieldMutation,
    deals::DealMutation,
    directory::DirectoryMutation,
    import::ImportMutation,
    meetings::MeetingMutation,
    merge::MergeMutation,
    notes::NoteMutation,
    pipelines::PipelineMutation,
    tasks::TaskMutation,
    webhooks::WebhookMutation,
);

/// `None` keeps, `Some(None)` clears, `Some(Some(v))` sets.
pub fn patch<T>(value: MaybeUndefined<T>) -> Option<Option<T>> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// A patch of an optional reference: `None` keeps, `Some(None)` clears, `Some(Some(id))` sets.
pub fn patch_id(field: &str, id: MaybeUndefined<ID>, kind: NodeKind) -> crate::error::ApiResult<Option<Option<i64>>> {
    patch(id).map(|id| id.map(|id| decode(field, &id, kind)).transpose()).transpose()
}

pub fn optional_id(field: &str, id: Option<&ID>, kind: NodeKind) -> crate::error::ApiResult<Option<i64>> {
    id.map(|id| decode(field, id, kind)).transpose()
}
