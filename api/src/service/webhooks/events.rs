//! Which change events become webhooks, their type names (`deal.won`, …), the endpoint's
//! type patterns, and the body every attempt sends.

use chrono::{DateTime, SecondsFormat, Utc};
use entity::change_event;
use serde_json::{Value, json};

use crate::global_id::{NodeKind, encode};
use crate::service::changes::fields;

/// Every type an endpoint may ask for. `*.restored` (a deleted record restored, e.g. by
/// a re-import), `deal.reopened`, `contact.disqualified` and `contact.merged` (a contact merged into another:
/// deleted, with `mergedIntoId`) go beyond SPEC's list.
pub const TYPES: [&str; 23] = [
    "deal.created",
    "deal.updated",
    "deal.moved",
    "deal.won",
    "deal.lost",
    "deal.reopened",
    "deal.deleted",
    "deal.restored",
    "meeting.created",
    "meeting.updated",
    "meeting.outcome_logged",
    "meeting.deleted",
    "meeting.restored",
    "contact.created",
    "contact.updated",
    "contact.disqualified",
    "contact.deleted",
    "contact.merged",
    "contact.restored",
    "company.created",
    "company.updated",
    "company.deleted",
    "company.restored",
];

/// The type of a test message (`sendTestWebhook`); every endpoint receives it.
pub const TEST_TYPE: &str = "webhook.test";

/// The webhook type of a change event, or `None` for entities webhooks do not carry.
pub fn type_of(event: &change_event::Model) -> Option<String> {
    let entity = match event.entity.as_str() {
        "DEAL" => "deal",
        "MEETING" => "meeting",
        "CONTACT" => "contact",
        "COMPANY" => "company",
        _ => return None,
    };
    let action = match (event.op.as_str(), event.kind.as_deref()) {
        ("CREATED", _) => "created",
        ("DELETED", Some("CONTACT_MERGED")) => "merged",
        ("DELETED", _) => "deleted",
        ("RESTORED", _) => "restored",
        (_, Some("DEAL_MOVED")) => "moved",
        (_, Some("DEAL_WON")) => "won",
        (_, Some("DEAL_LOST")) => "lost",
        (_, Some("DEAL_REOPENED")) => "reopened",
        (_, Some("MEETING_OUTCOME_LOGGED")) => "outcome_logged",
        (_, Some("CONTACT_DISQUALIFIED")) => "disqualified",
        _ => "updated",
    };
    Some(format!("{entity}.{action}"))
}

/// Checks and normalizes an endpoint's patterns: known types, `entity.*` or `*`; sorted,
/// without duplicates. `Err` names the first unknown one.
pub fn patterns(requested: &[String]) -> Result<Vec<String>, String> {
    if requested.is_empty() {
        return Err("must name at least one event type (\"*\" for all)".into());
    }
    let mut out = Vec::with_capacity(requested.len());
    for raw in requested {
        let pattern = raw.trim();
        let known = pattern == "*"
            || TYPES.contains(&pattern)
            || pattern.strip_suffix(".*").is_some_and(|e| TYPES.iter().any(|t| t.split('.').next() == Some(e)));
        if !known {
            return Err(format!(
                "\"{pattern}\" is not an event type; use one of {}, \"entity.*\" or \"*\"",
                TYPES.join(", ")
            ));
        }
        out.push(pattern.to_owned());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Whether an endpoint with `patterns` receives events of `event_type`.
pub fn wanted(patterns: &[String], event_type: &str) -> bool {
    patterns.iter().any(|p| {
        p == "*" || p == event_type || p.strip_suffix('*').is_some_and(|prefix| event_type.starts_with(prefix))
    })
}

/// The `webhook-id` of an event: the same for every endpoint, retry and replay of it.
pub fn message_id(seq: i64) -> String {
    format!("evt_{seq}")
}

/// The body of an event's webhook (SPEC section 8.6), plus `data.cursor`, the event's
/// place in the change log (for `replayWebhooks` and `changes(after:)`).
pub fn body(event: &change_event::Model, event_type: &str) -> Option<String> {
    let kind = fields::node_kind(&event.entity)?;
    let record = event.record.as_deref().map(|r| Value::Object(fields::record(&event.entity, r)));
    let changes: Vec<Value> = fields::changes(&event.entity, &event.changes, false)
        .into_iter()
        .map(|c| json!({ "field": c.field, "before": c.before, "after": c.after }))
        .collect();
    let body = json!({
        "type": event_type,
        "timestamp": timestamp(event.occurred_at),
        "data": {
            "id": encode(kind, event.record_id),
            "cursor": event.seq.to_string(),
            "record": record,
            "changes": changes,
        },
    });
    Some(body.to_string())
}

/// The body of a test message to endpoint `endpoint_id`.
pub fn test_body(endpoint_id: i64, at: DateTime<Utc>) -> String {
    json!({
        "type": TEST_TYPE,
        "timestamp": timestamp(at),
        "data": { "id": encode(NodeKind::WebhookEndpoint, endpoint_id), "record": null, "changes": [] },
    })
    .to_string()
}

fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(entity: &str, op: &str, kind: Option<&str>) -> change_event::Model {
        change_event::Model {
            seq: 42,
            occurred_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap_or_default(),
            entity: entity.into(),
            record_id: 7,
            owner_id: Some(3),
            previous_owner_id: None,
            op: op.into(),
            kind: kind.map(Into::into),
            actor_user_id: None,
            actor_api_key_id: None,
            version: Some(2),
            changes: r#"{"stage_id":[1,2]}"#.into(),
            record: Some(r#"{"id":7,"stage_id":2,"title":"Licence"}"#.into()),
        }
    }

    #[test]
    fn change_events_name_their_webhook_type() {
        assert_eq!(type_of(&event("DEAL", "UPDATED", Some("DEAL_WON"))).as_deref(), Some("deal.won"));
        assert_eq!(type_of(&event("DEAL", "UPDATED", None)).as_deref(), Some("deal.updated"));
        assert_eq!(type_of(&event("DEAL", "DELETED", None)).as_deref(), Some("deal.deleted"));
        let logged = event("MEETING", "UPDATED", Some("MEETING_OUTCOME_LOGGED"));
        assert_eq!(type_of(&logged).as_deref(), Some("meeting.outcome_logged"));
        assert_eq!(type_of(&event("CONTACT", "CREATED", None)).as_deref(), Some("contact.created"));
        assert_eq!(type_of(&event("COMPANY", "DELETED", None)).as_deref(), Some("company.deleted"));
        assert_eq!(type_of(&event("USER", "CREATED", None)), None);
        for t in TYPES {
            assert!(patterns(&[t.to_owned()]).is_ok(), "{t}");
        }
    }

    #[test]
    fn patterns_are_checked_and_matched() {
        let p = patterns(&["meeting.*".into(), "deal.won".into(), "deal.won".into()]).expect("valid");
        assert_eq!(p, ["deal.won", "meeting.*"]);
        assert!(wanted(&p, "deal.won") && wanted(&p, "meeting.outcome_logged"));
        assert!(!wanted(&p, "deal.lost") && !wanted(&p, "contact.created"));
        assert!(wanted(&["*".into()], "contact.deleted"));
        assert!(patterns(&[]).is_err());
        assert!(patterns(&["deal.exploded".into()]).is_err());
        assert!(patterns(&["user.*".into()]).is_err());
    }

    #[test]
    fn the_body_carries_the_record_and_its_changes() {
        let body: Value = serde_json::from_str(
            &body(&event("DEAL", "UPDATED", Some("DEAL_MOVED")), "deal.moved").unwrap_or_default(),
        )
        .unwrap_or_default();
        assert_eq!(body["type"], "deal.moved");
        assert_eq!(body["timestamp"], "2023-11-14T22:13:20.000000Z");
        assert_eq!(body["data"]["id"], encode(NodeKind::Deal, 7));
        assert_eq!(body["data"]["record"]["title"], "Licence");
        assert_eq!(body["data"]["record"]["stageId"], encode(NodeKind::Stage, 2));
        let change =
            json!({ "field": "stageId", "before": encode(NodeKind::Stage, 1), "after": encode(NodeKind::Stage, 2) });
        assert_eq!(body["data"]["changes"], json!([change]));
    }
}
