//! GraphQL object, enum and scalar types. Each wraps a domain or entity type.

pub mod enums;
pub mod user;

pub use user::User;
