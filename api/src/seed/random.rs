//! Small helpers over the seeded RNG.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::rngs::StdRng;

/// A uniformly drawn instant in `[from, to)`, whole seconds; `from` when the range is empty.
pub fn instant(rng: &mut StdRng, from: DateTime<Utc>, to: DateTime<Utc>) -> DateTime<Utc> {
    let span = (to - from).num_seconds();
    if span <= 0 { from } else { from + Duration::seconds(rng.random_range(0..span)) }
}

/// An index drawn with the given weights.
pub fn weighted_index(rng: &mut StdRng, weights: impl Iterator<Item = u32> + Clone) -> usize {
    let total: u32 = weights.clone().sum();
    let mut pick = rng.random_range(0..total.max(1));
    for (i, w) in weights.enumerate() {
        if pick < w {
            return i;
        }
        pick -= w;
    }
    0
}

pub fn pick<'a, T>(rng: &mut StdRng, items: &'a [T]) -> &'a T {
    &items[rng.random_range(0..items.len())]
}

pub fn days(rng: &mut StdRng, min: i64, max: i64) -> Duration {
    Duration::seconds(rng.random_range(min * 86_400..max * 86_400))
}
