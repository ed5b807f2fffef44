//! Every query and write of the API. Each function takes the caller's `Principal` and a
//! connection, and applies the caller's scope through `scope`, so no path can skip it.

pub mod scope;
pub mod users;
