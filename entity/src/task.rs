//! `tasks`: something a user is to do ("send the proposal on Friday"), about at most one
//! contact, company or deal.

use sea_orm::entity::prelude::*;

use crate::enums::TaskPriority;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub title: String,
    pub due_at: Option<DateTimeUtc>,
    pub done: bool,
    /// When it was last marked done; null while it is open.
    pub done_at: Option<DateTimeUtc>,
    pub priority: TaskPriority,
    /// Who is to do it: whose scope sees it (besides the linked record's) and hears of its
    /// changes in the change log.
    pub assignee_id: i64,
    pub created_by: i64,
    /// At most one of the three links is set.
    pub contact_id: Option<i64>,
    pub company_id: Option<i64>,
    pub deal_id: Option<i64>,
    #[sea_orm(unique)]
    pub external_id: Option<String>,
    pub version: i32,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(belongs_to = "super::user::Entity", from = "Column::AssigneeId", to = "super::user::Column::Id")]
    Assignee,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Assignee.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
