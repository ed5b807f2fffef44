//! When a DataLoader batch is sent: once the request is quiet, so that every resolver of a
//! wave has asked for its key — one statement per loader and wave, whatever the page size,
//! and no timer on any level.
//!
//! async-graphql's DataLoader closes a batch a fixed delay after its first key. That costs
//! the delay on every nesting level, and splits a wave whose resolvers take longer than the
//! delay (large pages) into several statements. Here the loaders get a zero delay and a
//! spawner whose batch tasks wait for the request to be quiet: not being polled, not woken
//! and awaiting a poll, and no earlier batch running. All waiting batches are then released
//! together, and the request is not polled again until each has taken its keys (its first
//! poll), so a key can never slip into a batch of another wave.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use tokio::sync::Notify;

type BatchTask = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// The batching state of one request.
#[derive(Clone, Default)]
pub struct PollGate(Arc<Shared>);

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    released: Notify,
    /// The request's batch tasks, aborted when the request is dropped unfinished (a
    /// timeout, a client gone): a metric batch then gives its lane back and its SQL is
    /// cancelled (`service::heavy`) instead of running for nobody.
    batches: Mutex<Vec<tokio::task::AbortHandle>>,
}

/// Finished batch handles are dropped when the list grows past this.
const PRUNE_ABOVE: usize = 64;

#[derive(Default)]
struct State {
    /// Polls of the request in progress, running batches, and a wake-up awaiting its poll.
    active: usize,
    /// The request was woken and has not been polled since.
    woken: bool,
    /// Batches waiting for the request to be quiet.
    waiting: usize,
    /// Released batches that have not yet taken their keys.
    starting: usize,
    /// Bumped at each release, so a waiting batch knows it was let go.
    generation: u64,
    /// The request, parked until the released batches have started.
    parked: Option<Waker>,
}

impl PollGate {
    fn state(&self) -> MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Wraps the request's execution so the gate sees its polls and wake-ups.
    pub fn run<F: Future>(&self, fut: F) -> Gated<F> {
        Gated { fut: Box::pin(fut), gate: self.clone() }
    }

    /// A DataLoader spawner: each batch task waits for its release, then runs. The
    /// DataLoader calls it inside the resolver's poll, so the batch is counted as waiting
    /// before that poll can end and release it.
    pub fn spawner(&self) -> impl Fn(BatchTask) + Send + Sync + 'static {
        let gate = self.clone();
        move |task| {
            let gate = gate.clone();
            let wait = gate.enqueue();
            let batch_gate = gate.clone();
            let batch = tokio::spawn(async move {
                let gate = batch_gate;
                if let Some(generation) = wait {
                    gate.wait_for_release(generation).await;
                }
                let mut task = task;
                let mut first = true;
                std::future::poll_fn(|cx| {
                    let poll = task.as_mut().poll(cx);
                    if std::mem::take(&mut first) {
                        gate.started();
                    }
                    poll
                })
                .await;
                gate.exit();
            });
            gate.keep(batch.abort_handle());
        }
    }

    fn keep(&self, batch: tokio::task::AbortHandle) {
        let mut batches = self.0.batches.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if batches.len() >= PRUNE_ABOVE {
            batches.retain(|b| !b.is_finished());
        }
        batches.push(batch);
    }

    fn abort_batches(&self) {
        let batches = std::mem::take(&mut *self.0.batches.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        for batch in batches {
            batch.abort();
        }
    }

    /// Counts a new batch as waiting for the current generation's release; `None` when
    /// the request is quiet already, in which case the batch is released at once.
    fn enqueue(&self) -> Option<u64> {
        let mut s = self.state();
        if s.active == 0 && s.starting == 0 {
            s.active += 1;
            s.starting += 1;
            None
        } else {
            s.waiting += 1;
            Some(s.generation)
        }
    }

    async fn wait_for_release(&self, generation: u64) {
        loop {
            let released = self.0.released.notified();
            tokio::pin!(released);
            released.as_mut().enable();
            if self.state().generation != generation {
                return;
            }
            released.await;
        }
    }

    /// A released batch has taken its keys; the last one lets the request continue.
    fn started(&self) {
        let parked = {
            let mut s = self.state();
            s.starting -= 1;
            if s.starting == 0 { s.parked.take() } else { None }
        };
        if let Some(waker) = parked {
            waker.wake();
        }
    }

    fn exit(&self) {
        let release = {
            let mut s = self.state();
            s.active -= 1;
            if s.active == 0 && s.waiting > 0 {
                let n = std::mem::take(&mut s.waiting);
                s.active += n;
                s.starting += n;
                s.generation += 1;
                true
            } else {
                false
            }
        };
        if release {
            self.0.released.notify_waiters();
        }
    }
}

/// The request's execution, observed by its gate.
pub struct Gated<F> {
    fut: Pin<Box<F>>,
    gate: PollGate,
}

impl<F: Future> Future for Gated<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let this = &mut *self;
        {
            let mut s = this.gate.state();
            if s.starting > 0 {
                s.parked = Some(cx.waker().clone());
                return Poll::Pending;
            }
            s.active += 1;
            if std::mem::take(&mut s.woken) {
                s.active -= 1;
            }
        }
        let waker = Waker::from(Arc::new(GateWaker { gate: this.gate.clone(), inner: cx.waker().clone() }));
        let poll = this.fut.as_mut().poll(&mut Context::from_waker(&waker));
        this.gate.exit();
        poll
    }
}

/// A request dropped before it finished takes its batches with it; one that finished has
/// none left running.
impl<F> Drop for Gated<F> {
    fn drop(&mut self) {
        self.gate.abort_batches();
    }
}

/// Counts a wake-up of the request as activity until the request is polled, so no batch
/// starts between a result arriving and the resolvers waiting for it running.
struct GateWaker {
    gate: PollGate,
    inner: Waker,
}

impl Wake for GateWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        {
            let mut s = self.gate.state();
            if !s.woken {
                s.woken = true;
                s.active += 1;
            }
        }
        self.inner.wake_by_ref();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A batch task spawned during a poll runs only after that poll returns.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn batch_waits_for_the_poll_to_end() {
        let gate = PollGate::default();
        let log = Arc::new(Mutex::new(Vec::new()));
        let spawn = gate.spawner();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task_log = log.clone();
        let request_log = log.clone();
        gate.run(async move {
            spawn(Box::pin(async move {
                task_log.lock().map(|mut l| l.push("batch")).ok();
                tx.send(()).ok();
            }));
            // Still inside the same poll: the batch must not have run yet.
            std::thread::sleep(std::time::Duration::from_millis(20));
            request_log.lock().map(|mut l| l.push("poll end")).ok();
            rx.await.ok();
        })
        .await;
        assert_eq!(*log.lock().expect("log"), vec!["poll end", "batch"]);
    }
}
