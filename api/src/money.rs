//! Money as integer minor units (cents) and its decimal text form ("1250.50"): exact, never a float.

/// Parses "1250", "1250.5" or "-3.25" into minor units; at most two decimals.
pub fn parse_minor_units(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let well_formed = !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.len() <= 2
        && fraction.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && fraction.is_empty());
    if !well_formed {
        return Err(format!("`{text}` is not a decimal amount with at most two decimals"));
    }
    let cents = format!("{fraction:0<2}").parse::<i64>().unwrap_or(0);
    let value = whole
        .parse::<i64>()
        .ok()
        .and_then(|w| w.checked_mul(100))
        .and_then(|w| w.checked_add(cents))
        .ok_or_else(|| format!("`{text}` is too large"))?;
    Ok(if negative { -value } else { value })
}

/// Formats minor units with exactly two decimals.
pub fn format_minor_units(value: i64) -> String {
    let sign = if value < 0 { "-" } else { "" };
    let abs = value.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exactly() {
        assert_eq!(parse_minor_units("1250.50"), Ok(125_050));
        assert_eq!(parse_minor_units("1250.5"), Ok(125_050));
        assert_eq!(parse_minor_units("0.07"), Ok(7));
        assert_eq!(parse_minor_units("42"), Ok(4_200));
        assert_eq!(parse_minor_units("-3.25"), Ok(-325));
        for bad in ["", "1.234", "abc", "1e3", "1.", ".5", "--1", "1,000", "99999999999999999999"] {
            assert!(parse_minor_units(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_with_two_decimals() {
        assert_eq!(format_minor_units(125_050), "1250.50");
        assert_eq!(format_minor_units(7), "0.07");
        assert_eq!(format_minor_units(-325), "-3.25");
        assert_eq!(format_minor_units(0), "0.00");
        assert_eq!(format_minor_units(i64::MIN), "-92233720368547758.08");
    }
}
