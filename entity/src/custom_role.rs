use sea_orm::entity::prelude::*;

use crate::enums::Role;

/// A named preset of area and workroom access, assignable like a role.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "custom_roles")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub workspace_id: String,
    pub name: String,
    /// The built-in role its holders have (MEMBER or VIEWER).
    pub base_role: Role,
    pub area_access: Json,
    pub all_workrooms: bool,
    pub workroom_access: Json,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
