use sea_orm::entity::prelude::*;

use crate::enums::ExportFormat;

/// A rendered deliverable, kept as rendered.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "exports")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub workspace_id: String,
    pub workroom_id: String,
    pub task_id: Option<String>,
    pub run_id: Option<String>,
    pub format: ExportFormat,
    pub content: String,
    pub downloads: i32,
    pub created_by: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
