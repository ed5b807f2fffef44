//! The root `Query`, merged from one object per domain.

pub(crate) mod changes;
mod contacts;
mod deals;
mod meetings;
pub mod metrics;
pub(crate) mod node;
mod pipelines;
mod users;
mod webhooks;

use async_graphql::MergedObject;

pub use deals::{DealFilter, deal_page};

/// Everything that can be read.
#[derive(MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    users::UserQuery,
    node::NodeQuery,
    contacts::ContactQuery,
    deals::DealQuery,
    meetings::MeetingQuery,
    pipelines::PipelineQuery,
    changes::ChangeQuery,
    metrics::MetricQuery,
    webhooks::WebhookQuery,
);
