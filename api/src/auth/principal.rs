//! `Principal`: the authenticated caller every service function receives.

use entity::enums::Role;

/// An authenticated caller: a user (through a token) or an integration (through an API key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user acting; for an API key, the user who created it.
    pub user_id: i64,
    pub role: Role,
    pub team_id: Option<i64>,
    /// The API key the caller signed in with, if any (the actor of its changes).
    pub api_key_id: Option<i64>,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Sees nothing and may do nothing: owns no records (no user has id 0) and has no team.
static NOBODY: Principal = Principal { user_id: 0, role: Role::SalesRep, team_id: None, api_key_id: None };

/// The caller of one request. A request that carries a credential is authenticated only
/// after its document passed validation (so a query over the limits is rejected before
/// any SQL, the credential lookup included); the principal is filled in then, before
/// any resolver runs.
#[derive(Debug, Clone, Default)]
pub struct Caller(std::sync::Arc<std::sync::OnceLock<Principal>>);

impl Caller {
    pub fn principal(&self) -> Option<&Principal> {
        self.0.get()
    }

    /// The principal, or one that sees nothing if authentication has not happened.
    pub fn principal_or_nobody(&self) -> &Principal {
        self.principal().unwrap_or(&NOBODY)
    }

    /// Records the authenticated principal; the first one set wins.
    pub fn authenticated(&self, principal: Principal) {
        let _ = self.0.set(principal);
    }
}
