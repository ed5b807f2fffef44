//! Input validation shared by the services: each failure names the offending field.

use chrono::{DateTime, Datelike, SubsecRound, Utc};

use crate::error::{ApiError, ApiResult};

/// The problems of one input, collected so that every invalid field is reported at once
/// (`extensions.fields`) instead of the first only. Values of failed checks are replaced
/// by their defaults, which are never used: `done` fails before anything is written.
#[derive(Debug, Clone, Default)]
pub struct Checks {
    fields: Vec<(String, String)>,
    /// An error that is not about a field (it wins over field problems).
    other: Option<ApiError>,
}

impl Checks {
    /// The checked value, or its default after recording why it is invalid.
    pub fn take<T: Default>(&mut self, checked: ApiResult<T>) -> T {
        match checked {
            Ok(value) => value,
            Err(ApiError::BadInput { field, message }) => {
                self.fields.push((field, message));
                T::default()
            }
            Err(ApiError::InvalidFields(fields)) => {
                self.fields.extend(fields);
                T::default()
            }
            Err(other) => {
                self.other.get_or_insert(other);
                T::default()
            }
        }
    }

    /// BAD_USER_INPUT naming every invalid field, if any was found.
    pub fn done(self) -> ApiResult<()> {
        if let Some(other) = self.other {
            return Err(other);
        }
        invalid(self.fields).map_or(Ok(()), Err)
    }
}

/// BAD_USER_INPUT naming every `(field, why)`, if there is any.
pub fn invalid(mut fields: Vec<(String, String)>) -> Option<ApiError> {
    match fields.len() {
        0 => None,
        1 => fields.pop().map(|(field, message)| ApiError::BadInput { field, message }),
        _ => Some(ApiError::InvalidFields(fields)),
    }
}

/// A required text: trimmed, 1..=max characters.
pub fn required(field: &str, value: &str, max: usize) -> ApiResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(ApiError::bad_input(field, "must not be empty"));
    }
    within(field, trimmed, max)?;
    Ok(trimmed.to_owned())
}

/// An optional text: trimmed; empty becomes null.
pub fn optional(field: &str, value: Option<String>, max: usize) -> ApiResult<Option<String>> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => {
            within(field, v, max)?;
            Ok(Some(v.to_owned()))
        }
    }
}

/// A patch of an optional text: `None` keeps the value, `Some(None)` clears it.
pub fn optional_patch(field: &str, value: Option<Option<String>>, max: usize) -> ApiResult<Option<Option<String>>> {
    value.map(|v| optional(field, v, max)).transpose()
}

fn within(field: &str, value: &str, max: usize) -> ApiResult<()> {
    if value.chars().count() > max {
        Err(ApiError::bad_input(field, format!("must be at most {max} characters")))
    } else {
        Ok(())
    }
}

pub fn non_negative(field: &str, amount: i64) -> ApiResult<i64> {
    if amount < 0 { Err(ApiError::bad_input(field, "must not be negative")) } else { Ok(amount) }
}

pub fn email(field: &str, value: Option<String>) -> ApiResult<Option<String>> {
    let value = optional(field, value, 320)?.map(|e| e.to_lowercase());
    if let Some(e) = &value {
        super::users::validate_email(field, e)?;
    }
    Ok(value)
}

/// Timestamps are kept at microsecond precision on every engine, so a value read back
/// compares equal to the one written.
pub fn micros(at: DateTime<Utc>) -> DateTime<Utc> {
    at.trunc_subsecs(6)
}

/// Refuses dates no calendar would hold (typos such as year 20026).
pub fn plausible(field: &str, at: DateTime<Utc>) -> ApiResult<()> {
    if (1970..=2200).contains(&at.year()) {
        Ok(())
    } else {
        Err(ApiError::bad_input(field, "must be between the years 1970 and 2200"))
    }
}

/// A timestamp of something that already happened: plausible and not in the future
/// (a minute of clock skew allowed).
pub fn past(field: &str, at: DateTime<Utc>) -> ApiResult<DateTime<Utc>> {
    plausible(field, at)?;
    if at > Utc::now() + chrono::Duration::minutes(1) {
        return Err(ApiError::bad_input(field, "must not be in the future"));
    }
    Ok(micros(at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_trimmed_and_bounded() {
        assert_eq!(required("name", "  Ada ", 10).ok(), Some("Ada".to_owned()));
        assert!(required("name", "   ", 10).is_err());
        assert!(required("name", "abcdefghijk", 10).is_err());
        assert_eq!(optional("company", Some("  ".into()), 10).ok(), Some(None));
        assert_eq!(optional_patch("company", None, 10).ok(), Some(None));
        assert_eq!(optional_patch("company", Some(None), 10).ok(), Some(Some(None)));
        assert!(non_negative("amount", -1).is_err());
        assert_eq!(email("email", Some(" A@B.co ".into())).ok(), Some(Some("a@b.co".to_owned())));
        assert!(email("email", Some("nope".into())).is_err());
    }
}
