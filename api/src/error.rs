//! `ApiError`: the one error type of the service layer, mapped once to GraphQL `extensions.code`.

use async_graphql::ErrorExtensions;
use sea_orm::{DbErr, RuntimeErr, SqlErr};

#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{message}")]
    BadInput { field: String, message: String },
    /// Several fields of one input are invalid (`service::validate::Checks`).
    #[error("{}", fields_summary(.0))]
    InvalidFields(Vec<(String, String)>),
    #[error("{}", invalid_summary(.0))]
    InvalidRecords(Vec<InvalidRecord>),
    #[error("{0}")]
    Conflict(String),
    /// A limit on how much a caller may use at once (e.g. subscriptions per connection).
    #[error("{0}")]
    RateLimited(String),
    /// Too many attempts for now (e.g. sign-ins for one email): retry after that many seconds.
    #[error("{message}")]
    Throttled { message: String, retry_after_secs: u64 },
    /// A change-feed cursor older than the log's retention: resync from scratch.
    #[error("this cursor is older than the change log's retention; resync from scratch")]
    CursorExpired,
    #[error("the database is unavailable; try again shortly")]
    Unavailable,
    #[error("internal server error")]
    Internal(String),
}

pub type ApiResult<T> = Result<T, ApiError>;

/// One bad record of a batch (an import): where it is and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidRecord {
    /// The list the record is in, e.g. `deals`.
    pub list: &'static str,
    /// Its position in that list, from 0.
    pub index: usize,
    /// The offending field inside the record, e.g. `stageHistory[1].stageId`.
    pub field: String,
    pub message: String,
}

impl InvalidRecord {
    /// `deals[3].stageHistory[1].stageId`
    pub fn path(&self) -> String {
        format!("{}[{}].{}", self.list, self.index, self.field)
    }
}

fn fields_summary(fields: &[(String, String)]) -> String {
    let each: Vec<String> = fields.iter().map(|(field, message)| format!("{field} {message}")).collect();
    format!("{} invalid fields: {}", fields.len(), each.join("; "))
}

fn invalid_summary(records: &[InvalidRecord]) -> String {
    match records.first() {
        None => "the batch is invalid; nothing was written".into(),
        Some(first) => format!(
            "{} invalid record(s); nothing was written. First: {}: {}",
            records.len(),
            first.path(),
            first.message
        ),
    }
}

impl ApiError {
    pub fn bad_input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::BadInput { field: field.into(), message: message.into() }
    }

    /// The same error with its field paths under `prefix` (`contactId` → `input.contactId`),
    /// for a check shared by inputs that spell their fields differently.
    pub fn under(self, prefix: &str) -> Self {
        match self {
            Self::BadInput { field, message } => Self::BadInput { field: format!("{prefix}{field}"), message },
            Self::InvalidFields(fields) => {
                Self::InvalidFields(fields.into_iter().map(|(f, m)| (format!("{prefix}{f}"), m)).collect())
            }
            other => other,
        }
    }

    pub fn internal(detail: impl std::fmt::Display) -> Self {
        Self::Internal(detail.to_string())
    }

    /// The `extensions.code` clients switch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated(_) => "UNAUTHENTICATED",
            Self::Forbidden(_) => "FORBIDDEN",
            Self::NotFound(_) => "NOT_FOUND",
            Self::BadInput { .. } | Self::InvalidFields(_) | Self::InvalidRecords(_) => "BAD_USER_INPUT",
            Self::Conflict(_) => "CONFLICT",
            Self::CursorExpired => "CURSOR_EXPIRED",
            Self::RateLimited(_) | Self::Throttled { .. } => "RATE_LIMITED",
            Self::Unavailable => "UNAVAILABLE",
            Self::Internal(_) => "INTERNAL_SERVER_ERROR",
        }
    }
}

impl From<DbErr> for ApiError {
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            tracing::warn!(error = %err, "database unavailable");
            return Self::Unavailable;
        }
        if let Some(SqlErr::UniqueConstraintViolation(_)) = err.sql_err() {
            return Self::Conflict("a record with the same unique value already exists".into());
        }
        if is_collision(&err) {
            tracing::warn!(error = %err, "write collided with a concurrent one");
            return Self::Conflict("this write collided with a concurrent one and was undone; retry it".into());
        }
        // Logged here, inside the request span (which carries the request id); the client
        // only ever sees the generic message.
        tracing::error!(error = %err, "database error");
        Self::Internal(err.to_string())
    }
}

/// Converts a database error, reporting a unique-constraint violation as BAD_USER_INPUT on
/// `field` (e.g. a duplicate external id) instead of a generic CONFLICT.
pub fn duplicate_as(field: &'static str, message: &'static str) -> impl Fn(DbErr) -> ApiError {
    move |err| match err.sql_err() {
        Some(SqlErr::UniqueConstraintViolation(_)) => ApiError::bad_input(field, message),
        _ => err.into(),
    }
}

/// The driver's error inside a statement's or a connection's failure.
fn driver_error(err: &DbErr) -> Option<&sea_orm::sqlx::Error> {
    match err {
        DbErr::Exec(RuntimeErr::SqlxError(e))
        | DbErr::Query(RuntimeErr::SqlxError(e))
        | DbErr::Conn(RuntimeErr::SqlxError(e)) => Some(e.as_ref()),
        _ => None,
    }
}

/// The SQLSTATE (PostgreSQL) or result code (SQLite) of a database's own error.
fn sql_state(err: &DbErr) -> Option<String> {
    match driver_error(err)? {
        sea_orm::sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    }
}

/// PostgreSQL broke a deadlock (40P01) or a serialization conflict (40001) by aborting this
/// transaction: nothing was written, and the same request may simply be sent again.
fn is_collision(err: &DbErr) -> bool {
    matches!(sql_state(err).as_deref(), Some("40P01" | "40001"))
}

/// Errors that mean "the database cannot be reached right now", as opposed to a bad
/// statement: by the driver's error kind (a connection lost mid-request is an I/O error) and
/// PostgreSQL's SQLSTATE (class 08 connection exceptions, 57P01–57P03 shutting down or not
/// accepting connections, 53300 too many connections), never by message text.
pub fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as Driver;
    if matches!(err, DbErr::ConnectionAcquire(_) | DbErr::Conn(_)) {
        return true;
    }
    match driver_error(err) {
        Some(Driver::Io(_) | Driver::Tls(_) | Driver::PoolTimedOut | Driver::PoolClosed | Driver::WorkerCrashed) => {
            true
        }
        Some(Driver::Database(_)) => {
            let state = sql_state(err).unwrap_or_default();
            state.starts_with("08") || matches!(state.as_str(), "57P01" | "57P02" | "57P03" | "53300")
        }
        _ => false,
    }
}

impl ErrorExtensions for ApiError {
    fn extend(&self) -> async_graphql::Error {
        if let Self::Internal(detail) = self {
            tracing::error!(detail = %detail, "internal error");
        }
        async_graphql::Error::new(self.to_string()).extend_with(|_, ext| {
            ext.set("code", self.code());
            match self {
                Self::BadInput { field, message } => {
                    ext.set("field", field.as_str());
                    ext.set("fields", vec![field_value(field, message)]);
                }
                Self::InvalidFields(fields) => {
                    if let Some((first, _)) = fields.first() {
                        ext.set("field", first.as_str());
                    }
                    ext.set("fields", fields.iter().map(|(f, m)| field_value(f, m)).collect::<Vec<_>>());
                }
                Self::InvalidRecords(records) => {
                    if let Some(first) = records.first() {
                        ext.set("field", first.path());
                    }
                    ext.set("records", records.iter().map(record_value).collect::<Vec<_>>());
                }
                Self::CursorExpired => ext.set("field", "after"),
                Self::Throttled { retry_after_secs, .. } => ext.set("retryAfter", *retry_after_secs),
                _ => {}
            }
        })
    }
}

fn field_value(field: &str, message: &str) -> async_graphql::Value {
    let mut map = async_graphql::indexmap::IndexMap::new();
    map.insert(async_graphql::Name::new("field"), field.into());
    map.insert(async_graphql::Name::new("message"), message.into());
    async_graphql::Value::Object(map)
}

fn record_value(record: &InvalidRecord) -> async_graphql::Value {
    let mut map = async_graphql::indexmap::IndexMap::new();
    let mut put = |key: &str, value: async_graphql::Value| {
        map.insert(async_graphql::Name::new(key), value);
    };
    put("list", record.list.into());
    put("index", (record.index as u64).into());
    put("field", record.field.as_str().into());
    put("path", record.path().into());
    put("message", record.message.as_str().into());
    async_graphql::Value::Object(map)
}

/// An `ApiError` shared by every field waiting on one DataLoader batch.
#[derive(Debug, Clone)]
pub struct SharedError(pub std::sync::Arc<ApiError>);

impl From<ApiError> for SharedError {
    fn from(err: ApiError) -> Self {
        Self(std::sync::Arc::new(err))
    }
}

impl From<SharedError> for async_graphql::Error {
    fn from(err: SharedError) -> Self {
        err.0.extend()
    }
}

impl From<ApiError> for async_graphql::Error {
    fn from(err: ApiError) -> Self {
        err.extend()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_carries_code_and_field() {
        let err = ApiError::bad_input("email", "is not an email address").extend();
        let ext = err.extensions.expect("extensions are set");
        assert_eq!(ext.get("code"), Some(&async_graphql::Value::from("BAD_USER_INPUT")));
        assert_eq!(ext.get("field"), Some(&async_graphql::Value::from("email")));
    }

    #[test]
    fn internal_errors_hide_their_detail() {
        let err = ApiError::internal("SELECT secret FROM users: syntax error").extend();
        assert_eq!(err.message, "internal server error");
    }

    #[test]
    fn a_connection_lost_mid_request_is_unavailable() {
        use std::sync::Arc;
        let eof =
            std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "expected to read 5 bytes, got 0 bytes at EOF");
        let lost = DbErr::Query(RuntimeErr::SqlxError(Arc::new(sea_orm::sqlx::Error::Io(eof))));
        assert!(is_unavailable(&lost));
        assert_eq!(ApiError::from(lost).code(), "UNAVAILABLE");
        let timed_out = DbErr::Exec(RuntimeErr::SqlxError(Arc::new(sea_orm::sqlx::Error::PoolTimedOut)));
        assert!(is_unavailable(&timed_out));
        let bad = DbErr::Query(RuntimeErr::SqlxError(Arc::new(sea_orm::sqlx::Error::RowNotFound)));
        assert!(!is_unavailable(&bad) && !is_collision(&bad));
    }
}
