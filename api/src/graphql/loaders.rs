//! Per-request DataLoaders: relations and computed fields are fetched in one batch per
//! type, always through the service layer with the caller's principal (so scoping holds).

use std::collections::HashMap;

use async_graphql::dataloader::{DataLoader, Loader};
use entity::{contact, user};
use sea_orm::DatabaseConnection;

use crate::auth::Principal;
use crate::error::SharedError;
use crate::service::{contacts, users};

pub type LoadError = SharedError;

/// Everything a request batch-loads; built once per authenticated request.
pub struct Loaders {
    pub users: DataLoader<UsersById>,
    pub contacts: DataLoader<ContactsById>,
}

impl Loaders {
    pub fn new(db: &DatabaseConnection, principal: &Principal) -> Self {
        let ctx = LoaderCtx { db: db.clone(), principal: principal.clone() };
        Self {
            users: DataLoader::new(UsersById(ctx.clone()), tokio::spawn),
            contacts: DataLoader::new(ContactsById(ctx), tokio::spawn),
        }
    }
}

#[derive(Clone)]
pub struct LoaderCtx {
    db: DatabaseConnection,
    principal: Principal,
}

fn by_id<M>(rows: Vec<M>, id: impl Fn(&M) -> i64) -> HashMap<i64, M> {
    rows.into_iter().map(|m| (id(&m), m)).collect()
}

pub struct UsersById(LoaderCtx);

impl Loader<i64> for UsersById {
    type Value = user::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        Ok(by_id(users::by_ids(&self.0.db, keys).await?, |m| m.id))
    }
}

pub struct ContactsById(LoaderCtx);

impl Loader<i64> for ContactsById {
    type Value = contact::Model;
    type Error = LoadError;

    async fn load(&self, keys: &[i64]) -> Result<HashMap<i64, Self::Value>, Self::Error> {
        Ok(by_id(contacts::by_ids(&self.0.principal, &self.0.db, keys).await?, |m| m.id))
    }
}
