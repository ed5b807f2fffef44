//! Turns a row before and after a write into its change event: the operation, the domain
//! kind, the owners, and the changed columns with their values before and after.

use chrono::SecondsFormat;
use sea_orm::{IdenStatic, Iterable, ModelTrait, Value};
use serde_json::{Map, Value as Json};

use super::Actor;
use super::tracked::{Tracked, int};
use crate::service::changes::log::NewEvent;

/// Bookkeeping columns that change with every write and say nothing themselves.
const BOOKKEEPING: [&str; 2] = ["updated_at", "version"];
/// The JSON column of custom field values, logged per field as `custom_fields.<key>`.
const CUSTOM_FIELDS: &str = "custom_fields";

/// The event for this change, or `None` when no column but bookkeeping changed.
pub fn event<E: Tracked>(before: Option<&E::Model>, after: &E::Model, actor: Actor) -> Option<NewEvent> {
    let mut changes = Map::new();
    for column in E::Column::iter() {
        let name = column.as_str();
        if BOOKKEEPING.contains(&name) || E::unlogged(name) {
            continue;
        }
        let now = json(after.get(column));
        let was = before.map(|b| json(b.get(column))).unwrap_or(Json::Null);
        if name == CUSTOM_FIELDS {
            custom_field_changes(&was, &now, &mut changes);
            continue;
        }
        if before.is_none() || was != now {
            changes.insert(name.to_owned(), Json::Array(vec![was, now]));
        }
    }
    if before.is_some() && changes.is_empty() {
        return None;
    }
    let deleted = |m: &E::Model| E::deleted_column().is_some_and(|c| !matches!(json(m.get(c)), Json::Null));
    let op = match before {
        None => "CREATED",
        Some(b) if !deleted(b) && deleted(after) => "DELETED",
        Some(b) if deleted(b) && !deleted(after) => "RESTORED",
        Some(_) => "UPDATED",
    };
    let record = E::SNAPSHOT.then(|| {
        let columns = E::Column::iter().filter(|c| !E::unlogged(c.as_str()));
        Json::Object(columns.map(|c| (c.as_str().to_owned(), json(after.get(c)))).collect())
    });
    let owner = |m: &E::Model| E::owner_column().and_then(|c| int(m.get(c)));
    let owner_id = owner(after);
    let previous_owner_id = before.map(owner).filter(|was| *was != owner_id).flatten();
    Some(NewEvent {
        occurred_at: crate::service::now(),
        entity: E::NAME,
        record_id: int(after.get(E::id_column())).unwrap_or_default(),
        owner_id,
        previous_owner_id,
        op,
        kind: if op == "DELETED" { E::deletion_kind(after) } else { E::kind(before, after) },
        actor_user_id: actor.user_id,
        actor_api_key_id: actor.api_key_id,
        version: E::version_column().and_then(|c| int(after.get(c))).and_then(|v| i32::try_from(v).ok()),
        changes: Json::Object(changes),
        record,
    })
}

/// One `custom_fields.<key>` entry per custom field whose value differs (absent is null).
fn custom_field_changes(was: &Json, now: &Json, changes: &mut Map<String, Json>) {
    let (empty_was, empty_now) = (Map::new(), Map::new());
    let was = was.as_object().unwrap_or(&empty_was);
    let now = now.as_object().unwrap_or(&empty_now);
    for key in was.keys().chain(now.keys().filter(|k| !was.contains_key(*k))) {
        let (before, after) = (was.get(key).unwrap_or(&Json::Null), now.get(key).unwrap_or(&Json::Null));
        if before != after {
            changes.insert(format!("{CUSTOM_FIELDS}.{key}"), Json::Array(vec![before.clone(), after.clone()]));
        }
    }
}

/// A column value as JSON: times in RFC 3339 with microseconds, dates as `YYYY-MM-DD`.
fn json(value: Value) -> Json {
    match value {
        Value::ChronoDateTimeUtc(Some(t)) => Json::String(t.to_rfc3339_opts(SecondsFormat::Micros, true)),
        Value::ChronoDate(Some(d)) => Json::String(d.to_string()),
        other => sea_orm::sea_query::sea_value_to_json_value(&other),
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use entity::deal;
    use entity::enums::DealStatus;

    use super::*;

    fn deal() -> deal::Model {
        let at = Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).single().unwrap_or_default();
        deal::Model {
            id: 7,
            contact_id: 1,
            company_id: None,
            owner_id: 10,
            pipeline_id: 1,
            stage_id: 100,
            title: "Licence".into(),
            amount: 12_000,
            currency: None,
            status: DealStatus::Open,
            lost_reason_id: None,
            lost_note: None,
            expected_close_date: None,
            closed_at: None,
            stage_entered_at: at,
            max_stage_position: 1,
            external_id: None,
            custom_fields: serde_json::json!({ "tier": "gold" }),
            version: 1,
            created_at: at,
            updated_at: at,
            deleted_at: None,
        }
    }

    fn actor() -> Actor {
        Actor { user_id: Some(10), api_key_id: None }
    }

    #[test]
    fn a_created_record_lists_every_column_but_bookkeeping() {
        let logged = event::<deal::Entity>(None, &deal(), actor()).expect("an event");
        assert_eq!(
            (logged.op, logged.kind, logged.owner_id, logged.previous_owner_id),
            ("CREATED", None, Some(10), None)
        );
        let changes = logged.changes.as_object().expect("an object");
        assert_eq!(changes["title"], serde_json::json!([null, "Licence"]));
        assert_eq!(changes["stage_entered_at"], serde_json::json!([null, "2026-01-02T03:04:05.000000Z"]));
        assert!(!changes.contains_key("version") && !changes.contains_key("updated_at"));
        let record = logged.record.expect("deals keep their record");
        assert_eq!((record["title"].clone(), record["version"].clone()), (serde_json::json!("Licence"), 1.into()));
    }

    #[test]
    fn an_update_lists_what_changed_and_names_the_domain_event() {
        let before = deal();
        let moved = deal::Model { stage_id: 101, version: 2, ..deal() };
        let logged = event::<deal::Entity>(Some(&before), &moved, actor()).expect("an event");
        assert_eq!((logged.op, logged.kind, logged.version), ("UPDATED", Some("DEAL_MOVED"), Some(2)));
        assert_eq!(logged.changes, serde_json::json!({ "stage_id": [100, 101] }));
        let retiered = deal::Model { custom_fields: serde_json::json!({ "tier": "silver", "seats": 3 }), ..deal() };
        let logged = event::<deal::Entity>(Some(&before), &retiered, actor()).expect("an event");
        let expected =
            serde_json::json!({ "custom_fields.tier": ["gold", "silver"], "custom_fields.seats": [null, 3] });
        assert_eq!(logged.changes, expected);
        let won = deal::Model { status: DealStatus::Won, ..deal() };
        assert_eq!(event::<deal::Entity>(Some(&before), &won, actor()).and_then(|e| e.kind), Some("DEAL_WON"));
        let reopened = event::<deal::Entity>(Some(&won), &before, actor()).and_then(|e| e.kind);
        assert_eq!(reopened, Some("DEAL_REOPENED"));
    }

    #[test]
    fn owners_deletions_and_empty_changes() {
        let before = deal();
        let reassigned = deal::Model { owner_id: 11, ..deal() };
        let logged = event::<deal::Entity>(Some(&before), &reassigned, actor()).expect("an event");
        assert_eq!((logged.owner_id, logged.previous_owner_id), (Some(11), Some(10)));
        let deleted = deal::Model { deleted_at: Some(before.created_at), ..deal() };
        let logged = event::<deal::Entity>(Some(&before), &deleted, actor()).expect("an event");
        assert_eq!((logged.op, logged.kind), ("DELETED", None));
        assert_eq!(event::<deal::Entity>(Some(&deleted), &before, actor()).map(|e| e.op), Some("RESTORED"));
        let touched = deal::Model { version: 5, updated_at: Utc::now(), ..deal() };
        assert!(event::<deal::Entity>(Some(&before), &touched, actor()).is_none(), "bookkeeping only: no event");
    }
}
