//! GraphQL object, enum, input and scalar types. Objects wrap entity or domain types.

pub mod api_key;
pub mod attainment;
pub mod change;
pub mod company;
pub mod connection;
pub mod contact;
pub mod custom_field;
pub mod data_quality;
pub mod date;
pub mod deal;
pub mod enums;
pub mod exchange_rate;
pub mod filters;
pub mod forecast;
pub mod funnel;
pub mod lead_economics;
pub mod look_ahead;
pub mod lost;
pub mod meeting;
pub mod metric_definition;
pub mod metric_fields;
pub mod metrics;
pub mod money;
pub mod no_show;
pub mod node;
pub mod note;
pub mod pipeline;
pub mod rejection;
pub mod task;
pub mod team;
pub mod timestamp;
pub mod user;
pub mod webhook;

/// A relation the database guarantees (a foreign key, read unscoped): its absence is a
/// server fault, never null, so the field can be non-null in the schema.
pub fn always<T>(found: Option<T>, what: &str) -> crate::error::ApiResult<T> {
    found.ok_or_else(|| crate::error::ApiError::internal(format!("{what} is missing")))
}

pub use company::Company;
pub use connection::Connection;
pub use contact::Contact;
pub use deal::{Deal, DealStageEvent};
pub use meeting::Meeting;
pub use money::Money;
pub use pipeline::{LostReason, Pipeline, Stage};
pub use team::{Target, Team};
pub use user::User;
