use sea_orm::entity::prelude::*;

use crate::enums::TaskStatus;

/// A work item of a workroom, with ordered steps.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "tasks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub workspace_id: String,
    pub workroom_id: String,
    pub title: String,
    pub description: Option<String>,
    pub status: TaskStatus,
    /// A member of the workspace.
    pub assignee_id: Option<String>,
    pub created_by: Option<String>,
    pub started_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
