//! The change bus of one process (SPEC section 8.5): after a commit, the unit of work says
//! "the log now reaches seq N" and "credentials changed"; readers of the change log and
//! WebSocket connections wait on it. On PostgreSQL, `postgres::listen` feeds it with the
//! NOTIFYs of every replica, so all replicas hear every commit; on SQLite the process is
//! the only writer that serves subscribers, so the in-process signal is the whole bus.

pub mod fanout;
pub mod postgres;

use std::sync::Arc;

use tokio::sync::{broadcast, watch};

use crate::service::credential_cache::CredentialCache;

/// Events kept in memory for live subscribers (shared, not per subscriber). A subscriber
/// further behind than this misses events: a typed subscription is closed, `changes`
/// reads them from the log. Large enough for a big import's burst; a subscriber's own
/// backlog is bounded much lower, per connection (`CRM_WS_EVENT_BUFFER`).
const FANOUT_BUFFER: usize = 65_536;

/// NOTIFY channel carrying the highest committed `seq` of a transaction.
pub const CHANGES_CHANNEL: &str = "crm_changes";
/// NOTIFY channel saying that a user or an API key changed; the payload is the sending
/// process's `Bus::origin`, so a process ignores its own (it acted on them at commit).
pub const CREDENTIALS_CHANNEL: &str = "crm_credentials";

#[derive(Clone, Debug)]
pub struct Bus(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    /// Tells this process's notifications from other replicas'.
    origin: String,
    /// The highest `seq` known to be committed.
    committed: watch::Sender<i64>,
    /// Bumped whenever a user or an API key changed, here or on another replica.
    credentials: watch::Sender<u64>,
    cache: Option<Arc<CredentialCache>>,
    fanout: fanout::Fanout,
}

impl Bus {
    /// The bus of a serving process, which drops `cache` whenever credentials change.
    pub fn new(cache: Arc<CredentialCache>) -> Self {
        Self::build(Some(cache), FANOUT_BUFFER)
    }

    /// The bus of a one-shot command (CLI, seed): nobody listens in this process, but on
    /// PostgreSQL its commits still notify the serving replicas.
    pub fn detached() -> Self {
        Self::build(None, 16)
    }

    fn build(cache: Option<Arc<CredentialCache>>, buffer: usize) -> Self {
        Self(Arc::new(Inner {
            origin: format!("{:016x}", rand::random::<u64>()),
            committed: watch::channel(0).0,
            credentials: watch::channel(0).0,
            cache,
            fanout: fanout::Fanout::new(buffer),
        }))
    }

    /// This process's mark on the notifications it sends.
    pub fn origin(&self) -> &str {
        &self.0.origin
    }

    /// The log reaches at least `seq`.
    pub fn committed(&self, seq: i64) {
        self.0.committed.send_if_modified(|known| {
            let newer = seq > *known;
            if newer {
                *known = seq;
            }
            newer
        });
    }

    pub fn watch_committed(&self) -> watch::Receiver<i64> {
        self.0.committed.subscribe()
    }

    /// A user or an API key changed: cached credential rows are dropped and open
    /// WebSocket connections re-check their credential.
    pub fn credentials_changed(&self) {
        if let Some(cache) = &self.0.cache {
            cache.forget_all();
        }
        self.0.credentials.send_modify(|n| *n += 1);
    }

    pub fn watch_credentials(&self) -> watch::Receiver<u64> {
        self.0.credentials.subscribe()
    }

    /// Events as they are read from the log, for live subscribers.
    pub fn events(&self) -> broadcast::Receiver<fanout::Delivered> {
        self.0.fanout.subscribe()
    }

    pub(crate) fn fanout(&self) -> &fanout::Fanout {
        &self.0.fanout
    }
}
