//! The demo's custom fields: a contact's tier and a deal's contract length, with values that
//! follow from the record's position so that adding them draws nothing from the seed's
//! random sequence (every other generated value stays as it was).

use chrono::{DateTime, Utc};
use entity::custom_field;

pub const TIERS: [&str; 3] = ["gold", "silver", "bronze"];

/// A deal's contract length in months: 12, 24 or 36.
pub fn contract_months(deal_id: i64) -> i64 {
    12 * (1 + deal_id % 3)
}

pub fn definitions(at: DateTime<Utc>) -> Vec<custom_field::Model> {
    let field =
        |id: i64, object: &str, key: &str, label: &str, field_type: &str, options: &[&str]| custom_field::Model {
            id,
            object: object.into(),
            key: key.into(),
            label: label.into(),
            field_type: field_type.into(),
            options: serde_json::to_string(options).unwrap_or_else(|_| "[]".into()),
            required: false,
            archived: false,
            version: 1,
            created_at: at,
            updated_at: at,
        };
    vec![
        field(1, "CONTACT", "tier", "Tier", "SELECT", &TIERS),
        field(2, "DEAL", "contract_months", "Contract length (months)", "NUMBER", &[]),
    ]
}
