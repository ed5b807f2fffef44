//! crm-graphql: a GraphQL CRM server with sales metrics (see SPEC.md and README.md).

pub mod app;
pub mod auth;
pub mod bus;
pub mod cli;
pub mod config;
pub mod db;
pub mod error;
pub mod global_id;
pub mod graphql;
pub mod money;
pub mod seed;
pub mod service;
pub mod telemetry;
pub mod wire;

pub use cli::run;
