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

/// The event for this change, or `None` when no column but bookkeeping changed.
pub fn event<E: Tracked>(before: Option<&E::Model>, after: &E::Model, actor: Actor) -> Option<NewEvent> {
    let mut changes = Map::new();
    for column in E::Column::iter() {
        let name = column.as_str();
        if BOOKKEEPING.contains(&name) || E::secret(name) {
            continue;
        }
        let now = json(after.get(column));
        let was = before.map(|b| json(b.get(column))).unwrap_or(Json::Null);
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
        kind: if op == "DELETED" { None } else { E::kind(before, after) },
        actor_user_id: actor.user_id,
        actor_api_key_id: actor.api_key_id,
        version: E::version_column().and_then(|c| int(after.get(c))).and_then(|v| i32::try_from(v).ok()),
        changes: Json::Object(changes),
    })
}

/// A column value as JSON: times in RFC 3339 with microseconds, dates as `YYYY-MM-DD`.
fn json(value: Value) -> Json {
    match value {
        Value::ChronoDateTimeUtc(Some(t)) => Json::String(t.to_rfc3339_opts(SecondsFormat::Micros, true)),
        Value::ChronoDate(Some(d)) => Json::String(d.to_string()),
        other => sea_orm::sea_query::sea_value_to_json_value(&other),
    }
}
