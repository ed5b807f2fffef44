//! The state of one WebSocket connection that resolvers and the connection loop share:
//! who signed in, how many subscriptions are open, and why the connection must close.
//! Also the per-credential count of open connections.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::watch;

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};

/// Close codes (graphql-transport-ws reserves 4400–4499 for the server's reasons).
pub mod code {
    /// The credential in `connection_init` was missing or did not authenticate, or it
    /// was revoked or expired while the connection was open.
    pub const FORBIDDEN: u16 = 4403;
    /// No `connection_init` within the initialisation timeout.
    pub const INIT_TIMEOUT: u16 = 4408;
    /// Too many open connections for this credential.
    pub const TOO_MANY_CONNECTIONS: u16 = 4429;
    /// The client fell further behind than the connection's buffer allows.
    pub const SLOW_CONSUMER: u16 = 4499;
}

#[derive(Debug)]
pub struct Session {
    max_subscriptions: usize,
    subscriptions: AtomicUsize,
    /// The credential and who it is, once `connection_init` authenticated them.
    signed_in: OnceLock<(String, Principal)>,
    connection_slot: Mutex<Option<ConnectionSlot>>,
    close: watch::Sender<Option<(u16, String)>>,
}

impl Session {
    pub fn new(max_subscriptions: usize) -> Arc<Self> {
        Arc::new(Self {
            max_subscriptions,
            subscriptions: AtomicUsize::new(0),
            signed_in: OnceLock::new(),
            connection_slot: Mutex::new(None),
            close: watch::channel(None).0,
        })
    }

    /// Records who signed in on this connection, with their slot among the credential's connections.
    pub fn signed_in(&self, bearer: String, principal: Principal, slot: ConnectionSlot) {
        let _ = self.signed_in.set((bearer, principal));
        if let Ok(mut held) = self.connection_slot.lock() {
            *held = Some(slot);
        }
    }

    pub fn credential(&self) -> Option<&(String, Principal)> {
        self.signed_in.get()
    }

    /// Closes the connection with `code`; the first reason given wins.
    pub fn close(&self, code: u16, reason: impl Into<String>) {
        let reason = reason.into();
        self.close.send_if_modified(|current| {
            if current.is_some() {
                return false;
            }
            *current = Some((code, reason));
            true
        });
    }

    pub fn close_reason(&self) -> Option<(u16, String)> {
        self.close.borrow().clone()
    }

    pub fn watch_close(&self) -> watch::Receiver<Option<(u16, String)>> {
        self.close.subscribe()
    }

    /// One more open subscription, released when the returned slot drops; RATE_LIMITED
    /// past the limit.
    pub fn subscription_slot(self: &Arc<Self>) -> ApiResult<SubscriptionSlot> {
        let taken = self.subscriptions.fetch_add(1, Ordering::AcqRel);
        if taken >= self.max_subscriptions {
            self.subscriptions.fetch_sub(1, Ordering::AcqRel);
            return Err(ApiError::RateLimited(format!(
                "at most {} subscriptions may be open on one connection",
                self.max_subscriptions
            )));
        }
        Ok(SubscriptionSlot(self.clone()))
    }
}

/// An open subscription of a session.
#[derive(Debug)]
pub struct SubscriptionSlot(Arc<Session>);

impl Drop for SubscriptionSlot {
    fn drop(&mut self) {
        self.0.subscriptions.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Open connections per credential, in this process.
#[derive(Debug)]
pub struct Connections {
    limit: usize,
    open: Mutex<HashMap<String, usize>>,
}

impl Connections {
    pub fn new(limit: usize) -> Arc<Self> {
        Arc::new(Self { limit, open: Mutex::new(HashMap::new()) })
    }

    /// A slot for one more connection of `who`, or `None` at the limit.
    pub fn acquire(self: &Arc<Self>, who: String) -> Option<ConnectionSlot> {
        let mut open = self.open.lock().ok()?;
        let count = open.entry(who.clone()).or_default();
        if *count >= self.limit {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot { registry: self.clone(), who })
    }
}

/// Who a connection counts against: the API key, or the user.
pub fn credential_key(principal: &Principal) -> String {
    match principal.api_key_id {
        Some(key) => format!("key:{key}"),
        None => format!("user:{}", principal.user_id),
    }
}

#[derive(Debug)]
pub struct ConnectionSlot {
    registry: Arc<Connections>,
    who: String,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.registry.open.lock()
            && let Some(count) = open.get_mut(&self.who)
        {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.who);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_slots_are_limited_and_released() {
        let session = Session::new(2);
        let a = session.subscription_slot().expect("first");
        let _b = session.subscription_slot().expect("second");
        assert!(matches!(session.subscription_slot(), Err(ApiError::RateLimited(_))));
        drop(a);
        assert!(session.subscription_slot().is_ok());
    }

    #[test]
    fn connection_slots_are_counted_per_credential() {
        let registry = Connections::new(1);
        let first = registry.acquire("user:1".into()).expect("first");
        assert!(registry.acquire("user:1".into()).is_none());
        assert!(registry.acquire("key:1".into()).is_some());
        drop(first);
        assert!(registry.acquire("user:1".into()).is_some());
    }

    #[test]
    fn the_first_close_reason_wins() {
        let session = Session::new(1);
        session.close(code::SLOW_CONSUMER, "behind");
        session.close(code::FORBIDDEN, "revoked");
        assert_eq!(session.close_reason(), Some((code::SLOW_CONSUMER, "behind".into())));
    }
}
