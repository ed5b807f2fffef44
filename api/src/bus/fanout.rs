//! Reads newly committed events from the change log, in `seq` order, and hands each to
//! every live subscriber of this process. One reader per process, however many
//! subscribers: the database sees one query per wake-up, not one per subscriber.
//!
//! It reads from the table, not from the notifications, so a lost NOTIFY or a reconnect
//! loses nothing: the next wake-up (or the periodic check) reads from the last `seq` on.

use std::sync::Arc;
use std::time::Duration;

use entity::change_event;
use sea_orm::DatabaseConnection;
use tokio::sync::broadcast;

use super::Bus;
use crate::service::changes::log;

/// One event of the log, shared by every subscriber that receives it.
pub type Delivered = Arc<change_event::Model>;

/// How often the reader looks at the log without being woken: the safety net for a
/// notification that never came (a dropped LISTEN connection, a write made elsewhere).
const POLL_EVERY: Duration = Duration::from_secs(1);
const BATCH: u64 = 500;

#[derive(Debug)]
pub struct Fanout {
    sender: broadcast::Sender<Delivered>,
}

impl Fanout {
    pub fn new(buffer: usize) -> Self {
        Self { sender: broadcast::channel(buffer.max(1)).0 }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Delivered> {
        self.sender.subscribe()
    }
}

/// Runs the reader until the process ends. It starts at the end of the log: subscribers
/// that need older events read them from the table themselves (`changes(after:)`).
pub async fn run(bus: Bus, db: DatabaseConnection) {
    let mut wake = bus.watch_committed();
    let mut last = loop {
        match log::settled_through(&db).await {
            Ok(seq) => break seq,
            Err(err) => {
                tracing::warn!(error = %err, "change log unreadable; retrying");
                tokio::time::sleep(POLL_EVERY).await;
            }
        }
    };
    loop {
        match log::after(&db, last, BATCH).await {
            Ok(events) => {
                let full = events.len() as u64 == BATCH;
                for event in events {
                    last = event.seq;
                    // No receiver is not an error: nobody is subscribed right now.
                    let _ = bus.fanout().sender.send(Arc::new(event));
                }
                if full {
                    continue;
                }
            }
            Err(err) => tracing::warn!(error = %err, "reading the change log failed; retrying"),
        }
        let _ = tokio::time::timeout(POLL_EVERY, wake.changed()).await;
    }
}
