//! `Principal`: the authenticated caller every service function receives.

use entity::enums::Role;

/// An authenticated caller: a user (through a token) or an integration (through an API key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user acting; for an API key, the user who created it.
    pub user_id: i64,
    pub role: Role,
    pub team_id: Option<i64>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// The caller of one request, before any resolver runs.
#[derive(Debug, Clone, Default)]
pub struct Caller(pub Option<Principal>);
