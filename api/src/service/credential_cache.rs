//! A short-lived, per-process copy of the rows credentials are checked against (a session
//! token's user, an API key), so that a busy caller costs one lookup per TTL instead of one
//! per request. Changes made through this process (`updateUser`, `revokeApiKey`) drop the
//! copies at once; a change made by another process is seen within the TTL.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use entity::{api_key, user};

/// Beyond this many entries, expired ones are dropped (and, if none were, all of them), so
/// a flood of distinct credentials cannot grow the cache without bound.
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug)]
pub struct CredentialCache {
    ttl: Duration,
    /// Bumped by every `forget_all`: a row read before a change must not be stored after it.
    generation: AtomicU64,
    users: Shelf<i64, user::Model>,
    api_keys: Shelf<String, api_key::Model>,
}

/// Taken before reading a row from the database and handed back with it to `put`.
#[derive(Debug, Clone, Copy)]
struct Ticket(u64);

impl CredentialCache {
    /// A cache keeping rows for `ttl`; a zero TTL keeps nothing.
    pub fn new(ttl: Duration) -> Self {
        Self { ttl, generation: AtomicU64::new(0), users: Shelf::default(), api_keys: Shelf::default() }
    }

    /// The user with this id: the cached copy, or the row `read` returns (then kept).
    pub async fn user_or_read<E>(
        &self,
        id: i64,
        read: impl Future<Output = Result<Option<user::Model>, E>>,
    ) -> Result<Option<user::Model>, E> {
        if let Some(cached) = self.user(id) {
            return Ok(Some(cached));
        }
        let ticket = self.ticket();
        let found = read.await?;
        if let Some(row) = &found {
            self.put_user(ticket, row.clone());
        }
        Ok(found)
    }

    /// The API key whose hash is `key_hash`: the cached copy, or the row `read` returns.
    pub async fn api_key_or_read<E>(
        &self,
        key_hash: &str,
        read: impl Future<Output = Result<Option<api_key::Model>, E>>,
    ) -> Result<Option<api_key::Model>, E> {
        if let Some(cached) = self.api_key(key_hash) {
            return Ok(Some(cached));
        }
        let ticket = self.ticket();
        let found = read.await?;
        if let Some(row) = &found {
            self.put(&self.api_keys, ticket, key_hash.to_owned(), row.clone());
        }
        Ok(found)
    }

    fn ticket(&self) -> Ticket {
        Ticket(self.generation.load(Ordering::Acquire))
    }

    /// The cached copy of a user, if there is a live one; never reads.
    pub fn user(&self, id: i64) -> Option<user::Model> {
        self.users.get(&id)
    }

    /// The cached copy of an API key, if there is a live one; never reads.
    pub fn api_key(&self, key_hash: &str) -> Option<api_key::Model> {
        self.api_keys.get(key_hash)
    }

    fn put_user(&self, ticket: Ticket, row: user::Model) {
        self.put(&self.users, ticket, row.id, row);
    }

    /// Records on the cached copy (if any, keeping its expiry) that the key was just used.
    pub fn api_key_used(&self, key_hash: &str, at: chrono::DateTime<chrono::Utc>) {
        if let Some((_, row)) = self.api_keys.lock().get_mut(key_hash) {
            row.last_used_at = Some(at);
        }
    }

    /// Drops every copy: called after a user or an API key changes. Such changes are rare
    /// admin actions, so forgetting everything is simpler than tracking who depends on whom.
    pub fn forget_all(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.users.clear();
        self.api_keys.clear();
    }

    fn put<K: Eq + Hash, V: Clone>(&self, shelf: &Shelf<K, V>, ticket: Ticket, key: K, value: V) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = shelf.lock();
        // Checked under the lock, so a `forget_all` cannot slip in between the check and the
        // insert (it bumps the generation before it takes the lock to clear).
        if self.generation.load(Ordering::Acquire) != ticket.0 {
            return;
        }
        let now = Instant::now();
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, (until, _)| *until > now);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (now + self.ttl, value));
    }
}

/// Rows by key, each with the instant it stops being used.
#[derive(Debug)]
struct Shelf<K, V>(Mutex<HashMap<K, (Instant, V)>>);

impl<K, V> Default for Shelf<K, V> {
    fn default() -> Self {
        Self(Mutex::new(HashMap::new()))
    }
}

impl<K: Eq + Hash, V: Clone> Shelf<K, V> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (Instant, V)>> {
        // A panic while holding the lock cannot leave a half-written map (inserts and clears
        // are single calls), so a poisoned lock is still usable.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        let entries = self.lock();
        entries.get(key).filter(|(until, _)| *until > Instant::now()).map(|(_, v)| v.clone())
    }

    fn clear(&self) {
        self.lock().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use entity::enums::Role;

    fn user(id: i64, active: bool) -> user::Model {
        let now = Utc::now();
        user::Model {
            id,
            email: format!("u{id}@example.com"),
            name: "U".into(),
            role: Role::SalesRep,
            team_id: None,
            active,
            token_version: 0,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn keeps_a_row_until_forgotten() {
        let cache = CredentialCache::new(Duration::from_secs(60));
        assert!(cache.user(1).is_none());
        cache.put_user(cache.ticket(), user(1, true));
        assert_eq!(cache.user(1).map(|u| u.active), Some(true));
        cache.forget_all();
        assert!(cache.user(1).is_none());
    }

    #[test]
    fn a_row_read_before_a_change_is_not_stored_after_it() {
        let cache = CredentialCache::new(Duration::from_secs(60));
        let ticket = cache.ticket();
        cache.forget_all();
        cache.put_user(ticket, user(1, true));
        assert!(cache.user(1).is_none());
        cache.put_user(cache.ticket(), user(1, false));
        assert_eq!(cache.user(1).map(|u| u.active), Some(false));
    }

    #[test]
    fn zero_ttl_keeps_nothing_and_expired_rows_are_not_served() {
        let off = CredentialCache::new(Duration::ZERO);
        off.put_user(off.ticket(), user(1, true));
        assert!(off.user(1).is_none());
        let short = CredentialCache::new(Duration::from_millis(1));
        short.put_user(short.ticket(), user(2, true));
        std::thread::sleep(Duration::from_millis(5));
        assert!(short.user(2).is_none());
    }

    #[test]
    fn stays_bounded() {
        let cache = CredentialCache::new(Duration::from_secs(60));
        for id in 0..(MAX_ENTRIES as i64 + 5) {
            cache.put_user(cache.ticket(), user(id, true));
        }
        assert!(cache.users.lock().len() <= MAX_ENTRIES);
        assert!(cache.user(MAX_ENTRIES as i64 + 4).is_some());
    }
}
