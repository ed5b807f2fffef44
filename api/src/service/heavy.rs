//! Heavy queries never starve light ones (SPEC section 9): a metric query takes a turn
//! before it runs — one of the caller's own (at most `per_caller` at once) and a lane of
//! the process (`db::lanes`, at most one query per lane) — waiting at most `wait` for
//! both, else RATE_LIMITED. Reads and writes never wait here and keep the primary pool.
//! A metric query whose request is dropped (timeout, client gone) has its lane stopped:
//! its SQL is cancelled, and the lane is handed on only once it is quiet.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sea_orm::DatabaseConnection;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::auth::Principal;
use crate::db::lanes::Lane;
use crate::error::{ApiError, ApiResult};
use crate::service::budget::Payer;

/// Callers kept before the ones without a running query are forgotten.
const FORGET_ABOVE: usize = 10_000;

/// How long a stopped lane may take to become quiet before it is handed on anyway.
const QUIET_WITHIN: Duration = Duration::from_secs(10);

#[derive(Debug)]
pub struct Heavy {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    lanes: Vec<Lane>,
    free: Mutex<Vec<usize>>,
    /// One permit per free lane.
    turns: Arc<Semaphore>,
    callers: Mutex<HashMap<Payer, Arc<Semaphore>>>,
    per_caller: usize,
    wait: Duration,
    /// A connection to the lanes' database that is not a lane (cancels go through it).
    other: DatabaseConnection,
}

impl Heavy {
    pub fn new(lanes: Vec<Lane>, other: DatabaseConnection, per_caller: usize, wait: Duration) -> Self {
        let free = (0..lanes.len()).rev().collect();
        let turns = Arc::new(Semaphore::new(lanes.len()));
        let shared = Shared {
            lanes,
            free: Mutex::new(free),
            turns,
            callers: Mutex::new(HashMap::new()),
            per_caller: per_caller.max(1),
            wait,
            other,
        };
        Self { shared: Arc::new(shared) }
    }

    /// Runs the metric query `query` makes on a lane's connection, in `payer`'s turn.
    pub async fn run<T, F, Fut>(&self, payer: Payer, query: F) -> ApiResult<T>
    where
        F: FnOnce(DatabaseConnection) -> Fut,
        Fut: Future<Output = ApiResult<T>>,
    {
        let turn = self.turn(payer).await?;
        let out = query(turn.db().clone()).await;
        turn.finish();
        out
    }

    /// `run` for `principal`, who is both the payer and what `query` runs as.
    pub async fn run_as<T, F, Fut>(&self, principal: &Principal, query: F) -> ApiResult<T>
    where
        F: FnOnce(Principal, DatabaseConnection) -> Fut,
        Fut: Future<Output = ApiResult<T>>,
    {
        self.run(Payer::of(principal), |db| query(principal.clone(), db)).await
    }

    async fn turn(&self, payer: Payer) -> ApiResult<Turn> {
        let shared = &self.shared;
        let own = shared.caller(payer);
        let deadline = tokio::time::Instant::now() + shared.wait;
        let busy = || {
            crate::telemetry::count_rate_limited("metrics");
            ApiError::Throttled {
                message: "too many metric queries are running; retry in 1 s".into(),
                retry_after_secs: 1,
            }
        };
        let own = tokio::time::timeout_at(deadline, own.acquire_owned()).await.map_err(|_| busy())?;
        let lane = tokio::time::timeout_at(deadline, shared.turns.clone().acquire_owned()).await.map_err(|_| busy())?;
        let (Ok(own), Ok(lane_permit)) = (own, lane) else {
            return Err(ApiError::internal("the metric turns were closed"));
        };
        let index = shared.lock_free().pop().ok_or_else(|| ApiError::internal("a lane permit without a lane"))?;
        Ok(Turn { shared: shared.clone(), index, permits: Some((own, lane_permit)), finished: false })
    }
}

impl Shared {
    fn lock_free(&self) -> std::sync::MutexGuard<'_, Vec<usize>> {
        self.free.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn caller(&self, payer: Payer) -> Arc<Semaphore> {
        let mut callers = self.callers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if callers.len() > FORGET_ABOVE {
            callers.retain(|_, turns| Arc::strong_count(turns) > 1);
        }
        callers.entry(payer).or_insert_with(|| Arc::new(Semaphore::new(self.per_caller))).clone()
    }

    fn release(&self, index: usize, permits: Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)>) {
        self.lock_free().push(index);
        drop(permits);
    }
}

/// A running metric query's lane and permits.
struct Turn {
    shared: Arc<Shared>,
    index: usize,
    permits: Option<(OwnedSemaphorePermit, OwnedSemaphorePermit)>,
    finished: bool,
}

impl Turn {
    fn db(&self) -> &DatabaseConnection {
        &self.shared.lanes[self.index].db
    }

    fn finish(mut self) {
        self.finished = true;
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let (shared, index, permits) = (self.shared.clone(), self.index, self.permits.take());
        if self.finished {
            return shared.release(index, permits);
        }
        // The query was dropped mid-way: stop its SQL, and hand the lane on once it is quiet.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return shared.release(index, permits);
        };
        runtime.spawn(async move {
            let lane = &shared.lanes[index];
            lane.stop(&shared.other).await;
            let give_up = tokio::time::Instant::now() + QUIET_WITHIN;
            while !lane.is_quiet() && tokio::time::Instant::now() < give_up {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            lane.resume();
            crate::telemetry::count_metric_cancel();
            shared.release(index, permits);
        });
    }
}
