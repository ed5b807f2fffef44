//! The `NaiveDate` scalar: a calendar date, `YYYY-MM-DD` (RFC 3339 `full-date`). Our own
//! type rather than chrono's built-in one, so that the schema says which format it is
//! (`@specifiedBy`) and typed clients can map it.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::NaiveDate;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Deserialize)]
#[serde(transparent)]
pub struct Date(pub NaiveDate);

/// A calendar date without a time zone, `YYYY-MM-DD` (RFC 3339 `full-date`), e.g.
/// `2026-03-31`.
#[Scalar(name = "NaiveDate", specified_by_url = "https://datatracker.ietf.org/doc/html/rfc3339#section-5.6")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Ok(Date(NaiveDate::parse_from_str(s, "%Y-%m-%d")?)),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<NaiveDate> for Date {
    fn from(date: NaiveDate) -> Self {
        Date(date)
    }
}
