//! Sign-in throttling (SPEC section 9): `login` attempts are limited per email and per
//! client address, so guessing one account's password or spraying many accounts from one
//! address is slowed to a trickle, while everyone else signs in as usual. In memory, per
//! replica (a guesser spread over N replicas gets N times the budget; documented).

use std::net::IpAddr;
use std::num::NonZeroU32;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::error::{ApiError, ApiResult};

/// Keys kept before the limiters forget the ones that are full again.
const FORGET_ABOVE: usize = 10_000;

#[derive(Debug)]
pub struct LoginThrottle {
    by_email: Option<DefaultKeyedRateLimiter<String>>,
    by_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    clock: DefaultClock,
}

impl LoginThrottle {
    /// Attempts per minute for one email and for one address (each a burst of that many,
    /// refilled evenly over the minute); 0 switches that limit off.
    pub fn new(per_email_per_minute: u32, per_address_per_minute: u32) -> Self {
        Self {
            by_email: keyed(per_email_per_minute),
            by_address: keyed(per_address_per_minute),
            clock: DefaultClock::default(),
        }
    }

    /// Counts one attempt for `email` from `address`; RATE_LIMITED with the wait when either
    /// budget is spent.
    pub fn attempt(&self, email: &str, address: Option<IpAddr>) -> ApiResult<()> {
        if let (Some(limiter), Some(address)) = (&self.by_address, address) {
            self.check(limiter, &address, "too many sign-in attempts from your address")?;
        }
        if let Some(limiter) = &self.by_email {
            let email = crate::service::users::normalize_email(email);
            self.check(limiter, &email, "too many sign-in attempts for this email")?;
        }
        Ok(())
    }

    fn check<K>(&self, limiter: &DefaultKeyedRateLimiter<K>, key: &K, message: &str) -> ApiResult<()>
    where
        K: std::hash::Hash + Eq + Clone,
    {
        if limiter.len() > FORGET_ABOVE {
            limiter.retain_recent();
        }
        limiter.check_key(key).map_err(|not_until| {
            crate::telemetry::count_rate_limited("login");
            let wait = not_until.wait_time_from(self.clock.now());
            let retry_after_secs = crate::service::budget::seconds_up(wait);
            ApiError::Throttled {
                message: format!("{message}; retry in {retry_after_secs} s"),
                retry_after_secs: retry_after_secs.max(1),
            }
        })
    }
}

fn keyed<K: std::hash::Hash + Eq + Clone>(per_minute: u32) -> Option<DefaultKeyedRateLimiter<K>> {
    NonZeroU32::new(per_minute).map(|n| RateLimiter::keyed(Quota::per_minute(n)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_email_and_address_has_its_own_budget() {
        let throttle = LoginThrottle::new(3, 5);
        let home: IpAddr = [192, 0, 2, 1].into();
        for _ in 0..3 {
            assert!(throttle.attempt("Ada@Example.com", Some(home)).is_ok());
        }
        let refused = throttle.attempt("ada@example.com ", Some(home));
        assert!(matches!(refused, Err(ApiError::Throttled { retry_after_secs: 20, .. })), "{refused:?}");
        assert!(throttle.attempt("grace@example.com", Some(home)).is_ok(), "another email goes on");
        // The address has now spent its 5 attempts (the refused one counted there too).
        assert!(throttle.attempt("alan@example.com", Some(home)).is_err());
        assert!(throttle.attempt("alan@example.com", Some([192, 0, 2, 2].into())).is_ok());
        assert!(LoginThrottle::new(0, 0).attempt("x@example.com", None).is_ok());
    }
}
