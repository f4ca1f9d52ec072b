use sea_orm::entity::prelude::*;

use crate::enums::ExportFormat;

/// How a workspace's deliverables are rendered.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "export_profiles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workspace_id: String,
    pub format: ExportFormat,
    pub include_branding: bool,
    pub header: Option<String>,
    pub footer: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
