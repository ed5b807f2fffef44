//! The change log (SPEC section 8.2) and the caller's view of it, the change feed (8.3).

pub mod feed;
pub mod fields;
pub mod log;
pub mod retention;
