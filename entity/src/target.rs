//! `targets`: a revenue plan for one user or one team over a half-open period.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "targets")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Exactly one of `user_id` and `team_id` is set.
    pub user_id: Option<i64>,
    pub team_id: Option<i64>,
    pub period_start: DateTimeUtc,
    pub period_end: DateTimeUtc,
    /// Planned won revenue in minor units.
    pub amount: i64,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
