//! The `DateTime` scalar: an instant, RFC 3339. Our own type rather than chrono's built-in
//! one so that output has the form inputs and the README use — UTC written `Z`, fractions
//! of a second only when there are any (`2026-03-01T09:00:00Z`, `…09:00:00.250Z`) — where
//! chrono's writes `+00:00`. Input accepts any RFC 3339 offset, as before.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, SecondsFormat, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

/// An instant, RFC 3339: UTC with `Z`, fractions of a second only when there are any, e.g.
/// `2026-03-01T09:00:00Z`. Inputs may use any offset.
#[Scalar(name = "DateTime", specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339")]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Ok(Timestamp(s.parse::<DateTime<Utc>>()?)),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(at: DateTime<Utc>) -> Self {
        Timestamp(at)
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(at: Timestamp) -> Self {
        at.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants_are_written_in_utc_with_z_and_read_with_any_offset() {
        let at: DateTime<Utc> = "2026-03-01T10:00:00+01:00".parse().expect("RFC 3339");
        assert_eq!(Timestamp(at).to_value(), Value::String("2026-03-01T09:00:00Z".into()));
        let fraction = at + chrono::Duration::milliseconds(250);
        assert_eq!(Timestamp(fraction).to_value(), Value::String("2026-03-01T09:00:00.250Z".into()));
        let parsed = Timestamp::parse(Value::String("2026-03-01T10:00:00+01:00".into())).expect("parses");
        assert_eq!(parsed.0, at);
        assert!(Timestamp::parse(Value::String("2026-03-01".into())).is_err());
    }
}
