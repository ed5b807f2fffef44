//! How the log's columns read in the API: camelCase field names, references as global IDs.
//! One mapping for the change feed, subscriptions and webhook bodies alike.

use serde_json::{Map, Value};

use crate::global_id::{NodeKind, encode};

/// One changed field, with its value before and after.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// The global-ID type of an event's `entity`.
pub fn node_kind(entity: &str) -> Option<NodeKind> {
    Some(match entity {
        "CONTACT" => NodeKind::Contact,
        "COMPANY" => NodeKind::Company,
        "NOTE" => NodeKind::Note,
        "TASK" => NodeKind::Task,
        "DEAL" => NodeKind::Deal,
        "MEETING" => NodeKind::Meeting,
        "USER" => NodeKind::User,
        "TEAM" => NodeKind::Team,
        "PIPELINE" => NodeKind::Pipeline,
        "STAGE" => NodeKind::Stage,
        "LOST_REASON" => NodeKind::LostReason,
        "TARGET" => NodeKind::Target,
        "EXCHANGE_RATE" => NodeKind::ExchangeRate,
        "CUSTOM_FIELD" => NodeKind::CustomField,
        "API_KEY" => NodeKind::ApiKey,
        "WEBHOOK_ENDPOINT" => NodeKind::WebhookEndpoint,
        _ => return None,
    })
}

/// The event's `changes` JSON as fields; with `hide_pii`, a contact's email and phone are null.
pub fn changes(entity: &str, changes: &str, hide_pii: bool) -> Vec<FieldChange> {
    let parsed: Map<String, Value> = serde_json::from_str(changes).unwrap_or_default();
    let pii = hide_pii && entity == "CONTACT";
    parsed
        .into_iter()
        .map(|(column, pair)| {
            let present = |v: &Value| {
                if pii && is_pii(&column) { Value::Null } else { value(entity, &column, v) }
            };
            let (before, after) = match pair.as_array().map(Vec::as_slice) {
                Some([b, a]) => (present(b), present(a)),
                _ => (Value::Null, Value::Null),
            };
            FieldChange { field: camel(&column), before, after }
        })
        .collect()
}

/// The event's `record` JSON as an object of API fields (`id` as a global ID).
pub fn record(entity: &str, record: &str) -> Map<String, Value> {
    let parsed: Map<String, Value> = serde_json::from_str(record).unwrap_or_default();
    parsed.into_iter().map(|(column, v)| (camel(&column), value(entity, &column, &v))).collect()
}

fn is_pii(column: &str) -> bool {
    matches!(column, "email" | "phone")
}

fn value(entity: &str, column: &str, v: &Value) -> Value {
    match (reference_kind(entity, column), v.as_i64()) {
        (Some(kind), Some(id)) => Value::String(encode(kind, id)),
        _ => v.clone(),
    }
}

/// The type a foreign-key column of `entity` points to.
fn reference_kind(entity: &str, column: &str) -> Option<NodeKind> {
    Some(match column {
        "id" => node_kind(entity)?,
        "owner_id" | "moved_by" | "created_by" | "user_id" | "author_id" | "assignee_id" => NodeKind::User,
        "team_id" => NodeKind::Team,
        "contact_id" => NodeKind::Contact,
        "company_id" => NodeKind::Company,
        "merged_into_id" => NodeKind::Contact,
        "deal_id" => NodeKind::Deal,
        "pipeline_id" => NodeKind::Pipeline,
        "stage_id" => NodeKind::Stage,
        "lost_reason_id" => NodeKind::LostReason,
        "rescheduled_to_id" => NodeKind::Meeting,
        _ => return None,
    })
}

/// `stage_entered_at` → `stageEnteredAt`; a custom field's `custom_fields.renewal_date` →
/// `customFields.renewal_date` (keys are spelled as defined).
fn camel(column: &str) -> String {
    if let Some((column, key)) = column.split_once('.') {
        return format!("{}.{key}", camel(column));
    }
    let mut out = String::with_capacity(column.len());
    let mut upper = false;
    for c in column.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_become_api_fields() {
        assert_eq!(camel("stage_entered_at"), "stageEnteredAt");
        assert_eq!(camel("amount"), "amount");
        assert_eq!(camel("custom_fields.renewal_date"), "customFields.renewal_date");
        assert_eq!(reference_kind("DEAL", "stage_id"), Some(NodeKind::Stage));
        assert_eq!(reference_kind("DEAL", "amount"), None);
        let fields = changes("CONTACT", r#"{"email":[null,"a@b.c"],"owner_id":[3,4]}"#, true);
        assert_eq!(fields[0], FieldChange { field: "email".into(), before: Value::Null, after: Value::Null });
        assert_eq!(fields[1].after, Value::String(encode(NodeKind::User, 4)));
        let record = record("DEAL", r#"{"id":7,"stage_id":2,"amount":100}"#);
        assert_eq!(record["id"], Value::String(encode(NodeKind::Deal, 7)));
        assert_eq!(
            (record["stageId"].clone(), record["amount"].clone()),
            (encode(NodeKind::Stage, 2).into(), 100.into())
        );
    }
}
