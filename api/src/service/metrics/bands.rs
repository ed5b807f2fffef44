//! The benchmark bands of SPEC section 6, with their thresholds in one place. Bands compare
//! the exact (unrounded) rate, so 10.004 % is ACCEPTABLE even though it prints as 10.00.

/// No-show rate bands: ≤ 10 EXCELLENT, ≤ 15 ACCEPTABLE, ≤ 20 ELEVATED, above PROBLEM.
pub const NO_SHOW_BANDS: [(i64, NoShowBand); 3] =
    [(10, NoShowBand::Excellent), (15, NoShowBand::Acceptable), (20, NoShowBand::Elevated)];

/// Lead rejection bands: ≤ 10 NORMAL, ≤ 25 HIGH, above CRITICAL.
pub const REJECTION_BANDS: [(i64, RejectionBand); 2] = [(10, RejectionBand::Normal), (25, RejectionBand::High)];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoShowBand {
    Excellent,
    Acceptable,
    Elevated,
    Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectionBand {
    Normal,
    High,
    Critical,
}

/// The first band whose upper bound (a whole percent) the rate `numerator / denominator`
/// does not exceed; `None` when the denominator is zero.
fn band<B: Copy>(numerator: i64, denominator: i64, bounds: &[(i64, B)], above: B) -> Option<B> {
    if denominator <= 0 {
        return None;
    }
    let scaled = i128::from(numerator) * 100;
    Some(bounds.iter().find(|(limit, _)| scaled <= i128::from(*limit) * i128::from(denominator)).map_or(above, |b| b.1))
}

pub fn no_show_band(no_shows: i64, held_or_missed: i64) -> Option<NoShowBand> {
    band(no_shows, held_or_missed, &NO_SHOW_BANDS, NoShowBand::Problem)
}

pub fn rejection_band(rejected: i64, leads: i64) -> Option<RejectionBand> {
    band(rejected, leads, &REJECTION_BANDS, RejectionBand::Critical)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_follow_the_spec_thresholds() {
        assert_eq!(no_show_band(20, 100), Some(NoShowBand::Elevated), "SPEC example: 20 of 100");
        assert_eq!(no_show_band(10, 100), Some(NoShowBand::Excellent));
        assert_eq!(no_show_band(1001, 10_000), Some(NoShowBand::Acceptable), "10.01 %");
        assert_eq!(no_show_band(15, 100), Some(NoShowBand::Acceptable));
        assert_eq!(no_show_band(21, 100), Some(NoShowBand::Problem));
        assert_eq!(no_show_band(0, 0), None);
        assert_eq!(rejection_band(10, 100), Some(RejectionBand::Normal));
        assert_eq!(rejection_band(25, 100), Some(RejectionBand::High));
        assert_eq!(rejection_band(40, 100), Some(RejectionBand::Critical));
    }
}
