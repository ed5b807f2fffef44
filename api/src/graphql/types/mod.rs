//! GraphQL object, enum, input and scalar types. Objects wrap entity or domain types.

pub mod api_key;
pub mod attainment;
pub mod change;
pub mod connection;
pub mod contact;
pub mod deal;
pub mod enums;
pub mod filters;
pub mod funnel;
pub mod lead_economics;
pub mod lost;
pub mod meeting;
pub mod metric_fields;
pub mod metrics;
pub mod money;
pub mod no_show;
pub mod node;
pub mod pipeline;
pub mod rejection;
pub mod team;
pub mod user;
pub mod webhook;

pub use connection::Connection;
pub use contact::Contact;
pub use deal::{Deal, DealStageEvent};
pub use meeting::Meeting;
pub use money::Money;
pub use pipeline::{LostReason, Pipeline, Stage};
pub use team::{Target, Team};
pub use user::User;
