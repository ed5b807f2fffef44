//! Who is calling: the `Principal`, password hashing, and the tokens `login` issues.

pub mod api_key;
pub mod external;
pub mod password;
pub mod principal;
pub mod token;

pub use principal::{Caller, Principal};
