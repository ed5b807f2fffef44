//! Every query and write of the API. Each function takes the caller's `Principal` and a
//! connection, and applies the caller's scope through `scope`, so no path can skip it.

pub mod about;
pub mod api_keys;
pub mod budget;
pub mod changes;
pub mod columns;
pub mod companies;
pub mod contacts;
pub mod credential_cache;
pub mod credentials;
pub mod currency;
pub mod custom_fields;
pub mod deal_relations;
pub mod deals;
pub mod directory;
pub mod filter;
pub mod heavy;
pub mod idempotency;
pub mod import;
pub mod meetings;
pub mod merge;
pub mod metrics;
pub mod notes;
pub mod page;
pub mod partial;
pub mod pipelines;
pub mod read;
pub mod scope;
pub mod stale;
pub mod tasks;
pub mod throttle;
pub mod users;
pub mod validate;
pub mod webhooks;
pub mod work;

use chrono::{DateTime, SubsecRound, Utc};

/// The current time at the precision every engine stores (microseconds), so a value read
/// back compares equal to the one written — which keyset cursors rely on.
pub fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(6)
}
