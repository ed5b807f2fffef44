//! `Principal`: the authenticated caller every service function receives.

use entity::enums::Role;

use crate::error::{ApiError, ApiResult};

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

/// The caller of one request (or of one WebSocket connection): anonymous, a credential not
/// checked yet, or an authenticated principal. The credential is checked the first time a
/// resolver asks for the caller — always after the document passed validation, so a query
/// over the limits is rejected before any SQL runs, the credential lookup included.
#[derive(Debug, Clone, Default)]
pub struct Caller(std::sync::Arc<CallerState>);

#[derive(Debug, Default)]
struct CallerState {
    bearer: Option<String>,
    principal: std::sync::OnceLock<Principal>,
    /// The outcome of checking `bearer`, once it was checked.
    checked: tokio::sync::OnceCell<Result<(), ApiError>>,
}

impl Caller {
    /// A caller who sent `bearer`, to be checked when first needed.
    pub fn with_credential(bearer: String) -> Self {
        Self(std::sync::Arc::new(CallerState { bearer: Some(bearer), ..Default::default() }))
    }

    pub fn bearer(&self) -> Option<&str> {
        self.0.bearer.as_deref()
    }

    pub fn principal(&self) -> Option<&Principal> {
        self.0.principal.get()
    }

    /// The principal, or one that sees nothing if authentication has not happened.
    pub fn principal_or_nobody(&self) -> &Principal {
        self.principal().unwrap_or(&NOBODY)
    }

    /// Records the authenticated principal; the first one set wins.
    pub fn authenticated(&self, principal: Principal) {
        let _ = self.0.principal.set(principal);
    }

    /// The principal, checking the credential with `check` the first time (concurrent
    /// callers wait for that one check). Anonymous callers are UNAUTHENTICATED.
    pub async fn resolve<F, Fut>(&self, check: F) -> ApiResult<&Principal>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = ApiResult<Principal>>,
    {
        if let Some(principal) = self.principal() {
            return Ok(principal);
        }
        let Some(bearer) = self.bearer() else {
            return Err(ApiError::Unauthenticated("sign in first: send Authorization: Bearer <token>".into()));
        };
        let outcome = self
            .0
            .checked
            .get_or_init(|| async {
                let principal = check(bearer.to_owned()).await?;
                self.authenticated(principal);
                Ok(())
            })
            .await;
        match outcome {
            Ok(()) => self.principal().ok_or_else(|| ApiError::internal("authenticated without a principal")),
            Err(err) => Err(err.clone()),
        }
    }

    /// Whether the credential was checked (successfully or not).
    pub fn was_checked(&self) -> bool {
        self.0.checked.initialized()
    }

    /// Why the credential was refused, once it was checked and refused.
    pub fn refusal(&self) -> Option<&ApiError> {
        self.0.checked.get().and_then(|outcome| outcome.as_ref().err())
    }
}
