//! Who is calling: the `Principal`, password hashing, and the tokens `login` issues.

pub mod api_key;
pub mod external;
pub mod password;
pub mod principal;
pub mod token;

pub use principal::{Caller, Principal};

/// The credential of an `Authorization` value, `Bearer <credential>` (HTTP headers and
/// WebSocket `connection_init` payloads alike); `None` when it is not one.
pub fn bearer_token(value: &str) -> Option<&str> {
    let token = value.strip_prefix("Bearer ").or_else(|| value.strip_prefix("bearer "))?.trim();
    (!token.is_empty()).then_some(token)
}
