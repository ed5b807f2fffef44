//! Users: authentication of tokens, login, lookups and creation.

use chrono::Utc;
use entity::enums::Role;
use entity::{team, user, user_password};
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};

use crate::auth::Principal;
use crate::auth::password;
use crate::auth::token::TokenKeys;
use crate::error::{ApiError, ApiResult};
use crate::service::credential_cache::CredentialCache;
use crate::service::work::Work;

/// Turns a bearer token into a principal, checking that the user still exists, is active
/// and has not had their tokens revoked since this one was issued. The signature and expiry
/// are checked on every call; the user row may come from `cache`.
pub async fn authenticate_token(
    db: &impl ConnectionTrait,
    cache: &CredentialCache,
    keys: &TokenKeys,
    token: &str,
) -> ApiResult<Principal> {
    let (user_id, token_version) = claimed_user(keys, token)?;
    let user = cache.user_or_read(user_id, user::Entity::find_by_id(user_id).one(db)).await?;
    principal_if_current(user.as_ref(), token_version)
}

/// `authenticate_token` when the user row is in `cache`: `None` when checking the token
/// would need a database read, or when it fails (the full check then says why).
pub fn authenticate_token_cached(cache: &CredentialCache, keys: &TokenKeys, token: &str) -> Option<Principal> {
    let (user_id, token_version) = claimed_user(keys, token).ok()?;
    principal_if_current(Some(&cache.user(user_id)?), token_version).ok()
}

/// The user id and token version a verified token carries.
fn claimed_user(keys: &TokenKeys, token: &str) -> ApiResult<(i64, i32)> {
    let claims = keys.verify(token)?;
    let user_id: i64 = claims.sub.parse().map_err(|_| ApiError::Unauthenticated("invalid token subject".into()))?;
    Ok((user_id, claims.tv))
}

fn principal_if_current(user: Option<&user::Model>, token_version: i32) -> ApiResult<Principal> {
    match user {
        Some(u) if u.active && u.token_version == token_version => Ok(principal_of(u)),
        _ => Err(ApiError::Unauthenticated("this token is no longer valid".into())),
    }
}

pub fn principal_of(user: &user::Model) -> Principal {
    Principal { user_id: user.id, role: user.role, team_id: user.team_id, api_key_id: None }
}

/// A session token for the user with this email and password. Unknown emails, wrong
/// passwords and inactive users get the same error after the same amount of work.
pub async fn login(
    db: &impl ConnectionTrait,
    keys: &TokenKeys,
    email: &str,
    password: &str,
) -> ApiResult<(String, chrono::DateTime<Utc>, user::Model)> {
    let found = user::Entity::find().filter(user::Column::Email.eq(normalize_email(email))).one(db).await?;
    let stored = match &found {
        Some(u) => user_password::Entity::find_by_id(u.id).one(db).await?.map(|p| p.password_hash),
        None => None,
    };
    let verified = password::verify(password, stored.as_deref()).await? && found.as_ref().is_some_and(|u| u.active);
    match found {
        Some(u) if verified => {
            let (token, expires_at) = keys.issue(u.id, u.token_version)?;
            Ok((token, expires_at, u))
        }
        _ => Err(ApiError::Unauthenticated("wrong email or password".into())),
    }
}

pub async fn find_by_id(db: &impl ConnectionTrait, id: i64) -> ApiResult<Option<user::Model>> {
    Ok(user::Entity::find_by_id(id).one(db).await?)
}

/// Users among `ids`. The user directory (names, roles, teams) is visible to every
/// signed-in role; ownership scoping applies to the records users own, not to users.
pub async fn by_ids(db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<Vec<user::Model>> {
    Ok(user::Entity::find().filter(user::Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// What a new user is made of; validated by `create_user`.
#[derive(Debug, Clone)]
pub struct UserForCreate {
    pub email: String,
    pub name: String,
    pub role: Role,
    pub team_id: Option<i64>,
    pub password: Option<String>,
}

pub const MIN_PASSWORD_LEN: usize = 8;

pub async fn create_user(work: &mut Work, input: UserForCreate) -> ApiResult<user::Model> {
    let email = normalize_email(&input.email);
    validate_email("email", &email)?;
    let name = input.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(ApiError::bad_input("name", "must be 1 to 200 characters"));
    }
    let password_hash = match input.password.as_deref() {
        Some(p) if p.chars().count() < MIN_PASSWORD_LEN => {
            return Err(ApiError::bad_input("password", format!("must be at least {MIN_PASSWORD_LEN} characters")));
        }
        Some(p) => Some(password::hash(p).await?),
        None => None,
    };
    if let Some(team_id) = input.team_id
        && team::Entity::find_by_id(team_id).one(work.db()).await?.is_none()
    {
        return Err(ApiError::bad_input("teamId", "no such team"));
    }
    let now = crate::service::now();
    let model = user::ActiveModel {
        email: Set(email),
        name: Set(name.to_owned()),
        role: Set(input.role),
        team_id: Set(input.team_id),
        active: Set(true),
        token_version: Set(0),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    let created = work.insert_unique(model, "email", "a user with this email already exists").await?;
    if let Some(hash) = password_hash {
        set_password_hash(work.db(), created.id, hash).await?;
    }
    Ok(created)
}

/// Stores `hash` as the user's password (the only write of `user_passwords`); the caller's
/// unit of work bumps or creates the user row, which drops cached credentials.
pub async fn set_password_hash(db: &impl ConnectionTrait, user_id: i64, hash: String) -> ApiResult<()> {
    let row = user_password::ActiveModel { user_id: Set(user_id), password_hash: Set(hash) };
    let upsert =
        OnConflict::column(user_password::Column::UserId).update_column(user_password::Column::PasswordHash).to_owned();
    user_password::Entity::insert(row).on_conflict(upsert).exec_without_returning(db).await?;
    Ok(())
}

/// The team with this name, created when missing.
pub async fn ensure_team(work: &mut Work, name: &str) -> ApiResult<team::Model> {
    if let Some(found) = team::Entity::find().filter(team::Column::Name.eq(name)).one(work.db()).await? {
        return Ok(found);
    }
    let now = crate::service::now();
    let row = team::ActiveModel {
        name: Set(name.to_owned()),
        version: Set(1),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    work.insert(row).await
}

pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

/// A pragmatic check: one `@`, a non-empty local part, a dotted domain, no spaces, ≤ 320 chars.
pub fn validate_email(field: &str, email: &str) -> ApiResult<()> {
    let ok = email.len() <= 320
        && !email.contains(char::is_whitespace)
        && match email.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
            }
            None => false,
        };
    if ok { Ok(()) } else { Err(ApiError::bad_input(field, "is not a valid email address")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_validation() {
        for good in ["a@b.co", "first.last+tag@example.com"] {
            assert!(validate_email("email", good).is_ok(), "{good}");
        }
        for bad in ["", "plain", "@b.co", "a@b", "a@.b.co", "a b@c.co", "a@b@c.co", "a@b.co."] {
            assert!(validate_email("email", bad).is_err(), "{bad}");
        }
    }
}
