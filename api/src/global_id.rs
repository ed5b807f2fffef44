//! Relay global IDs: base64 of `Type:id`, opaque to clients. Below the GraphQL layer, as
//! webhook bodies carry them too; `graphql::ids` wraps them as GraphQL `ID`s.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{ApiError, ApiResult};

/// The object types that carry a global ID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    User,
    Team,
    Pipeline,
    Stage,
    LostReason,
    Contact,
    Deal,
    DealStageEvent,
    Meeting,
    Target,
    ApiKey,
    WebhookEndpoint,
    WebhookDelivery,
    Company,
    Note,
    Task,
    ExchangeRate,
    CustomField,
}

impl NodeKind {
    const ALL: [NodeKind; 18] = [
        Self::User,
        Self::Team,
        Self::Pipeline,
        Self::Stage,
        Self::LostReason,
        Self::Contact,
        Self::Deal,
        Self::DealStageEvent,
        Self::Meeting,
        Self::Target,
        Self::ApiKey,
        Self::WebhookEndpoint,
        Self::WebhookDelivery,
        Self::Company,
        Self::Note,
        Self::Task,
        Self::ExchangeRate,
        Self::CustomField,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Team => "Team",
            Self::Pipeline => "Pipeline",
            Self::Stage => "Stage",
            Self::LostReason => "LostReason",
            Self::Contact => "Contact",
            Self::Deal => "Deal",
            Self::DealStageEvent => "DealStageEvent",
            Self::Meeting => "Meeting",
            Self::Target => "Target",
            Self::ApiKey => "ApiKey",
            Self::WebhookEndpoint => "WebhookEndpoint",
            Self::WebhookDelivery => "WebhookDelivery",
            Self::Company => "Company",
            Self::Note => "Note",
            Self::Task => "Task",
            Self::ExchangeRate => "ExchangeRate",
            Self::CustomField => "CustomField",
        }
    }
}

pub fn encode(kind: NodeKind, id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{}:{id}", kind.name()))
}

/// Splits a global ID into its kind and database id; anything malformed is BAD_USER_INPUT.
pub fn decode_any(field: &str, id: &str) -> ApiResult<(NodeKind, i64)> {
    let invalid = || ApiError::bad_input(field, "is not a valid ID");
    let bytes = URL_SAFE_NO_PAD.decode(id).map_err(|_| invalid())?;
    let text = String::from_utf8(bytes).map_err(|_| invalid())?;
    let (name, raw) = text.split_once(':').ok_or_else(invalid)?;
    let kind = NodeKind::ALL.into_iter().find(|k| k.name() == name).ok_or_else(invalid)?;
    let db_id = raw.parse::<i64>().ok().filter(|v| *v > 0).ok_or_else(invalid)?;
    Ok((kind, db_id))
}

/// The database id of a global ID that must name a `kind`.
pub fn decode(field: &str, id: &str, kind: NodeKind) -> ApiResult<i64> {
    match decode_any(field, id)? {
        (found, db_id) if found == kind => Ok(db_id),
        _ => Err(ApiError::bad_input(field, format!("is not a {} ID", kind.name()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_rejects() {
        let id = encode(NodeKind::Deal, 42);
        assert_eq!(decode("id", &id, NodeKind::Deal).ok(), Some(42));
        assert!(decode("id", &id, NodeKind::Contact).is_err());
        for bad in ["", "!!", "RGVhbA", "RGVhbDp4"] {
            assert!(decode_any("id", bad).is_err(), "{bad}");
        }
    }
}
