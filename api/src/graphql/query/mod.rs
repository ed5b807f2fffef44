//! The root `Query`, merged from one object per domain.

pub(crate) mod changes;
mod companies;
mod contacts;
mod currencies;
mod custom_fields;
mod deals;
mod duplicates;
mod meetings;
pub mod metrics;
pub(crate) mod node;
mod notes;
mod pipelines;
mod tasks;
mod users;
mod webhooks;

use async_graphql::MergedObject;

pub use contacts::{ContactFilter, ContactOrderBy, contact_page, contact_sort};
pub use deals::{DealFilter, DealOrderBy, deal_page, deal_sort};
pub use notes::{NoteFilter, NoteOrderBy, note_page};
pub use tasks::{TaskFilter, TaskOrderBy, task_page};

/// Everything that can be read.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    users::UserQuery,
    node::NodeQuery,
    contacts::ContactQuery,
    duplicates::DuplicateQuery,
    companies::CompanyQuery,
    deals::DealQuery,
    meetings::MeetingQuery,
    notes::NoteQuery,
    tasks::TaskQuery,
    pipelines::PipelineQuery,
    changes::ChangeQuery,
    metrics::MetricQuery,
    currencies::CurrencyQuery,
    custom_fields::CustomFieldQuery,
    webhooks::WebhookQuery,
);
