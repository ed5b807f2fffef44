//! The `Decimal` scalar: money as a string ("1250.50"), in the currency its field names.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};

use crate::error::{ApiError, ApiResult};
use crate::money::{format_minor_units, parse_minor_units};

/// A money amount in minor units. Input is checked where its field name is known
/// (`cents`), so a malformed amount is BAD_USER_INPUT naming that field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money(Result<i64, String>);

impl Money {
    pub fn from_cents(cents: i64) -> Self {
        Self(Ok(cents))
    }

    /// The amount in minor units, or BAD_USER_INPUT on `field`.
    pub fn cents(&self, field: &str) -> ApiResult<i64> {
        self.0.clone().map_err(|message| ApiError::bad_input(field, message))
    }
}

/// A money amount — a deal's in its `currency`, a metric's in the base currency — as a string
/// with at most two decimals, e.g. "1250.50". Exact (never a float). Integers are accepted as
/// input too.
#[Scalar(name = "Decimal", specified_by_url = "https://www.w3.org/TR/xmlschema11-2/#decimal")]
impl ScalarType for Money {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => Ok(Money(parse_minor_units(s))),
            Value::Number(n) => Ok(Money(
                n.as_i64()
                    .and_then(|v| v.checked_mul(100))
                    .ok_or_else(|| "use a string such as \"1250.50\" for amounts with decimals".to_owned()),
            )),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        match &self.0 {
            Ok(cents) => Value::String(format_minor_units(*cents)),
            Err(_) => Value::Null,
        }
    }
}
