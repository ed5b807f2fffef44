//! Turns an `Authorization: Bearer …` credential into a `Principal`: an API key, a session
//! token from `login`, or a token of the configured external identity provider.

use jsonwebtoken::Algorithm;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use super::credential_cache::CredentialCache;
use super::{api_keys, users};
use crate::auth::Principal;
use crate::auth::api_key;
use crate::auth::external::ExternalTokens;
use crate::auth::token::TokenKeys;
use crate::error::{ApiError, ApiResult};

/// The principal of a credential that can be checked without the database: an API key or a
/// session token whose row is in the credential cache. `None` for everything else (other
/// credentials, and ones that fail: `authenticate` then reports why, after validation).
pub fn authenticate_cached(cache: &CredentialCache, session: &TokenKeys, bearer: &str) -> Option<Principal> {
    if api_key::looks_like_key(bearer) {
        return api_keys::authenticate_cached(cache, bearer);
    }
    match jsonwebtoken::decode_header(bearer).ok()?.alg {
        Algorithm::HS256 => users::authenticate_token_cached(cache, session, bearer),
        _ => None,
    }
}

/// Every failure is UNAUTHENTICATED: a credential that was sent but does not verify never
/// falls back to anonymous.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    cache: &CredentialCache,
    session: &TokenKeys,
    external: Option<&ExternalTokens>,
    bearer: &str,
) -> ApiResult<Principal> {
    if api_key::looks_like_key(bearer) {
        return api_keys::authenticate(db, cache, bearer).await;
    }
    let header =
        jsonwebtoken::decode_header(bearer).map_err(|_| ApiError::Unauthenticated("the token is malformed".into()))?;
    // The header only chooses which configured verifier to try; each pins its own
    // algorithm, so a token cannot pick a weaker one (e.g. HS256 keyed with a public key).
    match (header.alg, external) {
        (Algorithm::HS256, _) => users::authenticate_token(db, cache, session, bearer).await,
        (alg, Some(ext)) if alg == ext.algorithm => {
            let email = ext.verify(bearer, header.kid.as_deref())?;
            let user = entity::user::Entity::find()
                .filter(entity::user::Column::Email.eq(email.trim().to_lowercase()))
                .one(db)
                .await?;
            match user {
                Some(u) if u.active => Ok(users::principal_of(&u)),
                _ => Err(ApiError::Unauthenticated("the token names no active user".into())),
            }
        }
        _ => Err(ApiError::Unauthenticated("tokens signed this way are not accepted".into())),
    }
}
