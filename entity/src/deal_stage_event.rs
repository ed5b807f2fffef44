//! `deal_stage_events`: the stage history of deals; written in the same transaction as every move.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "deal_stage_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub deal_id: i64,
    /// Null on the event that records the deal's creation.
    pub from_stage_id: Option<i64>,
    pub to_stage_id: i64,
    pub moved_at: DateTimeUtc,
    pub moved_by: Option<i64>,
    /// When the deal moved on (the next event's `moved_at`); null while it is still here.
    pub left_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::deal::Entity", from = "Column::DealId", to = "super::deal::Column::Id")]
    Deal,
}

impl Related<super::deal::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Deal.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
