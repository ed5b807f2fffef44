//! Global IDs as GraphQL `ID`s (the encoding itself is `crate::global_id`).

use async_graphql::ID;

use crate::error::ApiResult;
pub use crate::global_id::NodeKind;

pub fn encode(kind: NodeKind, id: i64) -> ID {
    ID(crate::global_id::encode(kind, id))
}

/// Splits a global ID into its kind and database id; anything malformed is BAD_USER_INPUT.
pub fn decode_any(field: &str, id: &ID) -> ApiResult<(NodeKind, i64)> {
    crate::global_id::decode_any(field, id.as_str())
}

/// The database id of a global ID that must name a `kind`.
pub fn decode(field: &str, id: &ID, kind: NodeKind) -> ApiResult<i64> {
    crate::global_id::decode(field, id.as_str(), kind)
}
