//! GraphQL enums mirroring the stored ones (`remote` generates the conversions).

use async_graphql::Enum;

/// What a user may see and change.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "entity::enums::Role")]
pub enum Role {
    /// Everything, including users, pipelines, targets and API keys.
    Admin,
    /// Records owned by anyone in their team.
    Manager,
    /// Only records they own.
    SalesRep,
    /// Reads everything except contact email and phone; writes nothing.
    Analyst,
}
