//! `api_key_hashes`: the SHA-256 of each API key, apart from `api_keys` so that only the
//! key check reads it.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_key_hashes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub api_key_id: i64,
    /// SHA-256 of the whole key, hex; the key itself is never stored.
    #[sea_orm(unique)]
    pub key_hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
