//! API keys for integrations (ADMIN): created with a role, shown once, stored hashed,
//! revocable, optionally expiring; each use is recorded in `last_used_at`.

use chrono::{DateTime, Duration, Utc};
use entity::api_key::{self, Column};
use entity::api_key_hash;
use entity::enums::Role;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, Condition, ConnectionTrait, EntityTrait, NotSet, QueryFilter, QueryOrder,
    QuerySelect, QueryTrait, Set,
};

use super::scope::ensure_admin;
use super::validate;
use super::work::{Target, Writer};
use crate::auth::Principal;
use crate::auth::api_key as key_material;
use crate::error::{ApiError, ApiResult};
use crate::service::credential_cache::CredentialCache;

/// `last_used_at` is written at most this often per key, so a busy integration does not
/// turn every read into a write.
const LAST_USED_RESOLUTION: Duration = Duration::seconds(60);

#[derive(Debug, Clone)]
pub struct ApiKeyForCreate {
    pub name: String,
    pub role: Option<Role>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Creates a key; returns the stored record and the key itself (the only time it exists
/// in clear). Keys act with an organization-wide role: ANALYST (the default) or ADMIN.
pub async fn create(principal: &Principal, w: &Writer, input: ApiKeyForCreate) -> ApiResult<(api_key::Model, String)> {
    ensure_admin(principal)?;
    let name = validate::required("name", &input.name, 200)?;
    let role = input.role.unwrap_or(Role::Analyst);
    if !matches!(role, Role::Analyst | Role::Admin) {
        return Err(ApiError::bad_input(
            "role",
            "API keys act for the whole organization: ANALYST or ADMIN (a rep's or manager's scope needs their own login)",
        ));
    }
    let now = super::now();
    if let Some(at) = input.expires_at {
        validate::plausible("expiresAt", at)?;
        if at <= now {
            return Err(ApiError::bad_input("expiresAt", "must be in the future"));
        }
    }
    let key = key_material::generate();
    let row = api_key::ActiveModel {
        id: NotSet,
        name: Set(name),
        role: Set(role),
        key_prefix: Set(key_material::shown_prefix(&key)),
        created_by: Set(Some(principal.user_id)),
        last_used_at: Set(None),
        expires_at: Set(input.expires_at.map(validate::micros)),
        revoked_at: Set(None),
        created_at: Set(now),
        updated_at: Set(now),
    };
    let mut work = w.begin(principal).await?;
    let created = work.insert(row).await?;
    let hash = api_key_hash::ActiveModel { api_key_id: Set(created.id), key_hash: Set(key_material::hash(&key)) };
    hash.insert(work.db()).await?;
    work.commit().await?;
    Ok((created, key))
}

/// Revokes a key at once; revoking it again changes nothing. Requests with the key fail
/// from the next one on, on every replica: the unit of work drops cached credential rows
/// everywhere when it commits.
pub async fn revoke(principal: &Principal, w: &Writer, id: i64) -> ApiResult<api_key::Model> {
    ensure_admin(principal)?;
    let mut work = w.begin(principal).await?;
    let current = api_key::Entity::find_by_id(id).one(work.db()).await?.ok_or(ApiError::NotFound("ApiKey"))?;
    if current.revoked_at.is_some() {
        return Ok(current);
    }
    let now = super::now();
    let changes = api_key::ActiveModel { revoked_at: Set(Some(now)), updated_at: Set(now), ..Default::default() };
    let revoked = work.update::<api_key::Entity>(Target::new(id, "ApiKey"), changes).await?;
    work.commit().await?;
    Ok(revoked)
}

/// Every key, newest first (ADMIN).
pub async fn list(principal: &Principal, db: &impl ConnectionTrait) -> ApiResult<Vec<api_key::Model>> {
    ensure_admin(principal)?;
    Ok(api_key::Entity::find().order_by_desc(Column::Id).all(db).await?)
}

/// Keys by id; nothing for anyone but an ADMIN (they are invisible, not forbidden).
pub async fn by_ids(principal: &Principal, db: &impl ConnectionTrait, ids: &[i64]) -> ApiResult<Vec<api_key::Model>> {
    if !principal.is_admin() {
        return Ok(Vec::new());
    }
    Ok(api_key::Entity::find().filter(Column::Id.is_in(ids.iter().copied())).all(db).await?)
}

/// The caller behind `Authorization: Bearer crm_…`. Unknown, revoked and expired keys are
/// UNAUTHENTICATED. The key acts with its role on behalf of the admin who created it.
/// The key's row may come from `cache`; its revocation and expiry are checked on every call.
pub async fn authenticate(db: &impl ConnectionTrait, cache: &CredentialCache, key: &str) -> ApiResult<Principal> {
    let hash = key_material::hash(key);
    let key_id = api_key_hash::Entity::find()
        .select_only()
        .column(api_key_hash::Column::ApiKeyId)
        .filter(api_key_hash::Column::KeyHash.eq(hash.as_str()))
        .into_query();
    let read = api_key::Entity::find().filter(Column::Id.in_subquery(key_id)).one(db);
    let Some(found) = cache.api_key_or_read(&hash, read).await? else {
        return Err(ApiError::Unauthenticated("unknown API key".into()));
    };
    let now = super::now();
    let principal = principal_of_key(&found, now)?;
    if needs_last_used(&found, now) {
        let stale =
            Condition::any().add(Column::LastUsedAt.is_null()).add(Column::LastUsedAt.lt(now - LAST_USED_RESOLUTION));
        api_key::Entity::update_many()
            .col_expr(Column::LastUsedAt, Expr::value(now))
            .filter(Column::Id.eq(found.id))
            .filter(stale)
            .exec(db)
            .await?;
        // The cached copy learns of the write too, or every cached use would repeat it.
        cache.api_key_used(&hash, now);
    }
    Ok(principal)
}

/// `authenticate` when the key's row is in `cache` and its last use is recent enough not to
/// be recorded again: `None` when it would need the database, or fails (`authenticate`
/// then says why).
pub fn authenticate_cached(cache: &CredentialCache, key: &str) -> Option<Principal> {
    let found = cache.api_key(&key_material::hash(key))?;
    let now = super::now();
    if needs_last_used(&found, now) {
        return None;
    }
    principal_of_key(&found, now).ok()
}

fn needs_last_used(key: &api_key::Model, now: chrono::DateTime<chrono::Utc>) -> bool {
    key.last_used_at.is_none_or(|at| now - at >= LAST_USED_RESOLUTION)
}

/// The principal a live key acts as: revoked and expired keys are UNAUTHENTICATED.
fn principal_of_key(key: &api_key::Model, now: chrono::DateTime<chrono::Utc>) -> ApiResult<Principal> {
    if key.revoked_at.is_some() {
        return Err(ApiError::Unauthenticated("this API key was revoked".into()));
    }
    if key.expires_at.is_some_and(|at| at <= now) {
        return Err(ApiError::Unauthenticated("this API key has expired".into()));
    }
    let Some(user_id) = key.created_by else {
        return Err(ApiError::Unauthenticated("this API key has no creator".into()));
    };
    Ok(Principal { user_id, role: key.role, team_id: None, api_key_id: Some(key.id) })
}
