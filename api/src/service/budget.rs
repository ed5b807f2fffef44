//! Cost budgets (SPEC section 9): each payer — a user, an API key, an anonymous address —
//! may spend so many cost points per minute (`graphql::cost`), refilled evenly over the
//! minute (GCRA: a full budget may be spent at once, then it comes back point by point).
//! In memory, per replica: N replicas behind a balancer give a payer up to N budgets
//! (documented).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{Quota, RateLimiter};

use crate::auth::Principal;

/// Keys kept before the limiter forgets the ones whose budget is full again.
const FORGET_ABOVE: usize = 10_000;

/// `d` in whole seconds, rounded up: what `Retry-After` and `RateLimit`'s `t` say.
pub fn seconds_up(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

/// Who pays for an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Payer {
    User(i64),
    ApiKey(i64),
    /// An anonymous caller, by its address.
    Address(IpAddr),
    /// An anonymous caller whose address is unknown (no connection info).
    Anonymous,
}

impl Payer {
    pub fn of(principal: &Principal) -> Self {
        match principal.api_key_id {
            Some(key) => Payer::ApiKey(key),
            None => Payer::User(principal.user_id),
        }
    }

    pub fn anonymous(address: Option<IpAddr>) -> Self {
        address.map_or(Payer::Anonymous, Payer::Address)
    }
}

/// The state of a payer's budget after an operation was charged (or refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    /// What the operation costs.
    pub requested: u64,
    /// Points per minute.
    pub limit: u64,
    /// Points left now.
    pub remaining: u64,
    /// Until the budget is full again.
    pub reset_after: Duration,
}

/// An operation the budget cannot pay for yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub charge: Charge,
    /// Whole seconds until the operation would be paid for; at least 1.
    pub retry_after_secs: u64,
}

type Limiter = RateLimiter<Payer, DefaultKeyedStateStore<Payer>, DefaultClock, StateInformationMiddleware>;

#[derive(Debug)]
pub struct Budgets {
    limiter: Option<Limiter>,
    per_minute: u32,
    clock: DefaultClock,
}

impl Budgets {
    /// `per_minute` points for each payer; 0 switches budgets off.
    pub fn new(per_minute: u32) -> Self {
        let limiter = NonZeroU32::new(per_minute)
            .map(|n| RateLimiter::keyed(Quota::per_minute(n)).with_middleware::<StateInformationMiddleware>());
        Self { limiter, per_minute, clock: DefaultClock::default() }
    }

    /// Points per minute, when budgets are on.
    pub fn per_minute(&self) -> Option<u32> {
        self.limiter.as_ref().map(|_| self.per_minute)
    }

    /// Takes `cost` points (at least 1) from `payer`'s budget; `None` when budgets are off.
    pub fn charge(&self, payer: &Payer, cost: u64) -> Option<Result<Charge, Refusal>> {
        let limiter = self.limiter.as_ref()?;
        if limiter.len() > FORGET_ABOVE {
            limiter.retain_recent();
        }
        let limit = u64::from(self.per_minute);
        let per_point = Duration::from_secs(60) / self.per_minute;
        let refill = |remaining: u64| per_point * u32::try_from(limit.saturating_sub(remaining)).unwrap_or(u32::MAX);
        let points = NonZeroU32::new(u32::try_from(cost.max(1)).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN);
        let refused = |remaining: u64, wait: Duration| Refusal {
            charge: Charge { requested: cost, limit, remaining, reset_after: refill(remaining) },
            retry_after_secs: seconds_up(wait).max(1),
        };
        Some(match limiter.check_key_n(payer, points) {
            Ok(Ok(state)) => {
                let remaining = u64::from(state.remaining_burst_capacity());
                Ok(Charge { requested: cost, limit, remaining, reset_after: refill(remaining) })
            }
            Ok(Err(not_until)) => {
                let wait = not_until.wait_time_from(self.clock.now());
                // The points that are missing come back one per `per_point`.
                let missing = wait.as_nanos().div_ceil(per_point.as_nanos().max(1));
                let remaining = u64::from(points.get()).saturating_sub(u64::try_from(missing).unwrap_or(u64::MAX));
                Err(refused(remaining, wait))
            }
            // More than a whole budget: never payable (the cost limit is below the budget).
            Err(_) => Err(refused(limit, Duration::from_secs(60))),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_payer_spends_its_budget_and_waits_for_it_to_come_back() {
        let budgets = Budgets::new(600); // 10 points a second
        let ada = Payer::User(1);
        let first = budgets.charge(&ada, 400).expect("on").expect("paid");
        assert_eq!((first.requested, first.limit, first.remaining), (400, 600, 200));
        assert!(first.reset_after > Duration::from_secs(39) && first.reset_after <= Duration::from_secs(40));
        let refused = budgets.charge(&ada, 300).expect("on").expect_err("only ~200 left");
        assert!((199..=200).contains(&refused.charge.remaining), "{refused:?}");
        assert!(refused.retry_after_secs >= 10 && refused.retry_after_secs <= 11, "{refused:?}");
        // A refused operation takes nothing; others pay from their own budgets.
        assert!(budgets.charge(&ada, 150).expect("on").is_ok());
        assert!(budgets.charge(&Payer::ApiKey(1), 600).expect("on").is_ok(), "an API key is its own payer");
        assert!(budgets.charge(&Payer::Anonymous, 601).expect("on").is_err(), "more than a budget");
        assert!(Budgets::new(0).charge(&ada, 1_000_000).is_none(), "off");
    }
}
