//! `NoShowStats`: the no-show rate of meetings (SPEC 6.1), for the total and each group.

use async_graphql::{Enum, Object};

use super::Money;
use super::metrics::{MetricGroup, hundredths};
use crate::service::metrics::no_show::NoShowStats as Stats;
use crate::service::metrics::{GroupKey, Grouped};

/// Benchmark band of a no-show rate: ≤ 10 % EXCELLENT, ≤ 15 % ACCEPTABLE, ≤ 20 % ELEVATED,
/// above PROBLEM.
#[derive(Enum, Copy, Clone, Debug, Eq, PartialEq)]
#[graphql(remote = "crate::service::metrics::bands::NoShowBand")]
pub enum NoShowBand {
    /// ≤ 10 %.
    Excellent,
    /// ≤ 15 %: the usual goal.
    Acceptable,
    /// ≤ 20 %.
    Elevated,
    /// Above 20 %: timing, expectations or reminders need work.
    Problem,
}

/// Meetings scheduled in the period (`filter.period` applies to `scheduledAt`), by outcome.
pub struct NoShowStats {
    stats: Stats,
    group: Option<GroupKey>,
    groups: Vec<NoShowStats>,
}

impl NoShowStats {
    pub fn single(stats: Stats) -> Self {
        Self { stats, group: None, groups: Vec::new() }
    }

    pub fn from_grouped(mut grouped: Grouped<Stats>) -> Self {
        let leaf = |(key, stats)| Self { stats, group: Some(key), groups: Vec::new() };
        let groups = grouped
            .groups
            .into_iter()
            .map(|(key, stats)| {
                let inner = grouped.subgroups.remove(&key).unwrap_or_default();
                Self { stats, group: Some(key), groups: inner.into_iter().map(leaf).collect() }
            })
            .collect();
        Self { stats: grouped.total, group: None, groups }
    }
}

/// Meetings scheduled in the period (`filter.period` applies to `scheduledAt`), by outcome.
#[Object]
impl NoShowStats {
    /// The group of this row; null on the total.
    async fn group(&self) -> Option<MetricGroup> {
        self.group.clone().map(MetricGroup)
    }
    /// One row per group when `groupBy` was given (same fields), ordered by group.
    async fn groups(&self) -> &[NoShowStats] {
        &self.groups
    }
    /// All meetings counted.
    async fn meetings(&self) -> i64 {
        self.stats.meetings
    }
    /// Meetings that took place (COMPLETED).
    async fn completed(&self) -> i64 {
        self.stats.completed
    }
    /// Missed without notice.
    async fn no_shows(&self) -> i64 {
        self.stats.no_shows
    }
    /// Cancelled with notice (not a no-show, not in the rate).
    async fn canceled(&self) -> i64 {
        self.stats.canceled
    }
    /// Moved to another time (not in the rate).
    async fn rescheduled(&self) -> i64 {
        self.stats.rescheduled
    }
    /// Still SCHEDULED although their time has passed: outcomes never logged.
    async fn unlogged(&self) -> i64 {
        self.stats.unlogged
    }
    /// SCHEDULED in the future.
    async fn upcoming(&self) -> i64 {
        self.stats.upcoming
    }
    /// `noShows / (completed + noShows) × 100`, two decimals; null when both are zero.
    async fn no_show_rate(&self) -> Option<Money> {
        hundredths(self.stats.no_show_rate())
    }
    /// The band of the (unrounded) rate; null with the rate.
    async fn band(&self) -> Option<NoShowBand> {
        self.stats.band().map(Into::into)
    }
    /// No-shows whose contact got a new meeting booked within 60 minutes of the no-show
    /// being logged.
    async fn followed_up_within_hour(&self) -> i64 {
        self.stats.followed_up_within_hour
    }
    /// `followedUpWithinHour / noShows × 100`; null without no-shows.
    async fn follow_up_rate(&self) -> Option<Money> {
        hundredths(self.stats.follow_up_rate())
    }
}
