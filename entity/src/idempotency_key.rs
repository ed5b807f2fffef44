//! `idempotency_keys`: remembered results of mutations sent with a `clientKey`, so retries change nothing.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "idempotency_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub user_id: i64,
    pub client_key: String,
    pub operation: String,
    /// Hash of the request payload: the same key with another payload is a CONFLICT.
    pub request_hash: String,
    /// The first result, replayed for retries.
    pub response: String,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
