//! When a failed delivery is tried again (SPEC section 8.6): about 5 s, 30 s, 2 min,
//! 15 min, 1 h, 4 h, then every 8 h until 3 days after it was queued, each with ±10 %
//! jitter so receivers coming back from an outage are not hit by every retry at once.
//! The whole schedule scales with its first step (`CRM_WEBHOOK_RETRY_BASE_MS`), so tests
//! run it in milliseconds.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// The steps as multiples of the first: 5 s × 1, 6, 24, 180, 720, 2880, then 5760 (8 h).
const STEPS: [u32; 7] = [1, 6, 24, 180, 720, 2880, 5760];
/// 3 days in first steps of 5 s.
const WINDOW_STEPS: u32 = 51_840;

#[derive(Debug, Clone, Copy)]
pub struct Schedule {
    pub base: Duration,
}

impl Schedule {
    /// The wait after the `failures`-th failed attempt (1-based), before jitter.
    pub fn delay(&self, failures: u32) -> Duration {
        let step = STEPS[(failures.max(1) as usize - 1).min(STEPS.len() - 1)];
        self.base * step
    }

    /// How long a delivery keeps being retried after it was queued.
    pub fn window(&self) -> Duration {
        self.base * WINDOW_STEPS
    }

    /// When to try again after the `failures`-th failure at `now`, or `None` when that
    /// would be past the window and the delivery fails for good. `retry_after` (the
    /// receiver's `Retry-After`) replaces the step when given. `jitter` is in [0, 1).
    pub fn next_attempt(
        &self,
        queued_at: DateTime<Utc>,
        now: DateTime<Utc>,
        failures: u32,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Option<DateTime<Utc>> {
        let wait = match retry_after {
            Some(asked) => asked,
            None => self.delay(failures).mul_f64(0.9 + 0.2 * jitter.clamp(0.0, 1.0)),
        };
        let at = now + chrono::Duration::from_std(wait).ok()?;
        let deadline = queued_at + chrono::Duration::from_std(self.window()).ok()?;
        (at <= deadline).then_some(at)
    }
}

/// `Retry-After` as seconds or an HTTP date; `None` when absent or unreadable.
pub fn retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value).ok()?.with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + seconds, 0).single().unwrap_or_default()
    }

    #[test]
    fn the_schedule_of_the_spec() {
        let s = Schedule { base: Duration::from_secs(5) };
        let minutes: Vec<u64> = (1..=8).map(|n| s.delay(n).as_secs()).collect();
        assert_eq!(minutes, [5, 30, 120, 900, 3600, 14_400, 28_800, 28_800]);
        assert_eq!(s.window(), Duration::from_secs(3 * 24 * 3600));
    }

    #[test]
    fn jitter_stays_within_ten_percent_and_the_window_ends_retries() {
        let s = Schedule { base: Duration::from_secs(5) };
        let low = s.next_attempt(at(0), at(0), 2, None, 0.0);
        let high = s.next_attempt(at(0), at(0), 2, None, 0.999_999);
        assert_eq!(low, Some(at(27)));
        assert!(high.is_some_and(|h| h > at(32) && h <= at(33)), "{high:?}");
        let three_days = 3 * 24 * 3600;
        assert_eq!(s.next_attempt(at(0), at(three_days - 100), 9, None, 0.5), None);
        let asked = s.next_attempt(at(0), at(10), 1, Some(Duration::from_secs(60)), 0.5);
        assert_eq!(asked, Some(at(70)), "Retry-After replaces the step");
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = Utc.with_ymd_and_hms(2015, 10, 21, 7, 27, 0).single().unwrap_or_default();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now), Some(Duration::from_secs(60)));
        assert_eq!(retry_after("soon", now), None);
    }
}
