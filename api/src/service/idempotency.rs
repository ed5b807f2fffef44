//! `clientKey` idempotency: a retried mutation returns the first result and changes nothing.
//!
//! The key is claimed (by the unit of work, `work::Writer::begin_keyed`) in the same transaction as the write it guards, so the result and
//! the key commit together. Two copies arriving at once: on SQLite `BEGIN IMMEDIATE`
//! serializes them and the second finds the key; on PostgreSQL the second insert hits the
//! unique index, rolls back, and replays the first result.

use entity::idempotency_key::{self, Column};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, NotSet, QueryFilter, Set, SqlErr};
use sha2::{Digest, Sha256};

use crate::error::{ApiError, ApiResult};

pub const MAX_KEY_LEN: usize = 255;

/// A client key with the operation and payload it was sent with.
pub struct Claim<'a> {
    pub user_id: i64,
    pub key: &'a str,
    pub operation: &'static str,
    pub request_hash: String,
}

impl<'a> Claim<'a> {
    /// `payload` is anything that describes the request exactly (its serialized input).
    pub fn new(
        user_id: i64,
        key: &'a str,
        operation: &'static str,
        payload: &impl serde::Serialize,
    ) -> ApiResult<Self> {
        if key.is_empty() || key.chars().count() > MAX_KEY_LEN {
            return Err(ApiError::bad_input("clientKey", format!("must be 1 to {MAX_KEY_LEN} characters")));
        }
        let bytes = serde_json::to_vec(payload).map_err(ApiError::internal)?;
        let request_hash = format!("{:x}", Sha256::digest(bytes));
        Ok(Self { user_id, key, operation, request_hash })
    }
}

/// The result remembered for this key, if it was used before. The same key with another
/// operation or payload is a CONFLICT.
pub async fn replay(db: &impl ConnectionTrait, claim: &Claim<'_>) -> ApiResult<Option<String>> {
    let found = idempotency_key::Entity::find()
        .filter(Column::UserId.eq(claim.user_id))
        .filter(Column::ClientKey.eq(claim.key))
        .one(db)
        .await?;
    match found {
        None => Ok(None),
        Some(row) if row.operation == claim.operation && row.request_hash == claim.request_hash => {
            Ok(Some(row.response))
        }
        Some(_) => Err(ApiError::Conflict("this clientKey was already used for a different request".into())),
    }
}

/// Records `response` under the key. `Ok(false)` when another request claimed it first
/// (the caller rolls back and replays).
pub async fn remember(db: &impl ConnectionTrait, claim: &Claim<'_>, response: &str) -> ApiResult<bool> {
    let now = super::now();
    let row = idempotency_key::ActiveModel {
        id: NotSet,
        user_id: Set(claim.user_id),
        client_key: Set(claim.key.to_owned()),
        operation: Set(claim.operation.to_owned()),
        request_hash: Set(claim.request_hash.clone()),
        response: Set(response.to_owned()),
        created_at: Set(now),
        updated_at: Set(now),
    };
    match row.insert(db).await {
        Ok(_) => Ok(true),
        Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// Stores the result under a key claimed by this transaction (see `work::Writer::begin_keyed`).
pub async fn store(db: &impl ConnectionTrait, user_id: i64, key: &str, response: &str) -> ApiResult<()> {
    idempotency_key::Entity::update_many()
        .col_expr(Column::Response, sea_orm::sea_query::Expr::value(response))
        .filter(Column::UserId.eq(user_id))
        .filter(Column::ClientKey.eq(key))
        .exec(db)
        .await?;
    Ok(())
}
