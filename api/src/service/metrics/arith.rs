//! Exact arithmetic for metric outputs: integer inputs, one rounding (half-up) at the end.

/// `numerator / denominator × 100` in hundredths of a percent (`2000` = 20.00 %), rounded
/// half-up; `None` when the denominator is zero.
pub fn percent(numerator: i64, denominator: i64) -> Option<i64> {
    ratio(i128::from(numerator) * 100, i128::from(denominator))
}

/// `numerator / denominator` in hundredths (money: cents; days: hundredths of a day), rounded
/// half-up (away from zero); `None` when the denominator is zero.
pub fn ratio(numerator: i128, denominator: i128) -> Option<i64> {
    if denominator == 0 {
        return None;
    }
    let scaled = numerator * 100;
    let (n, d) = if denominator < 0 { (-scaled, -denominator) } else { (scaled, denominator) };
    let rounded = if n >= 0 { (2 * n + d) / (2 * d) } else { -((-2 * n + d) / (2 * d)) };
    i64::try_from(rounded).ok()
}

/// Seconds as days, in hundredths of a day, averaged over `count`.
pub fn average_days(total_seconds: i64, count: i64) -> Option<i64> {
    ratio(i128::from(total_seconds), i128::from(count) * 86_400)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_round_half_up_and_zero_denominators_are_null() {
        assert_eq!(percent(20, 100), Some(2000));
        assert_eq!(percent(1, 3), Some(3333));
        assert_eq!(percent(2, 3), Some(6667));
        assert_eq!(percent(1, 8), Some(1250)); // 12.5 exactly
        assert_eq!(percent(1, 16), Some(625)); // 6.25
        assert_eq!(percent(1, 160_000), Some(0)); // 0.000625 → 0.00
        assert_eq!(percent(1, 1600), Some(6)); // 0.0625 → 0.06
        assert_eq!(percent(1, 800), Some(13)); // 0.125 → 0.13 (half-up)
        assert_eq!(percent(0, 0), None);
        assert_eq!(ratio(-5, 1000), Some(-1)); // -0.005 → -0.01 (away from zero)
        assert_eq!(average_days(86_400 * 3 + 43_200, 2), Some(175)); // 3.5 days / 2
    }
}
