//! `stages`: one step of a pipeline; `position` is unique within its pipeline.

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "stages")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub pipeline_id: i64,
    pub name: String,
    pub position: i32,
    /// Chance, 0–100, that a deal in this stage is won; weights the pipeline value.
    pub probability: i32,
    /// An open deal in this stage longer than this many days is stale; `None`: never.
    pub stale_after_days: Option<i32>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::pipeline::Entity", from = "Column::PipelineId", to = "super::pipeline::Column::Id")]
    Pipeline,
}

impl Related<super::pipeline::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Pipeline.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
