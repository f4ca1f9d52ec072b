use sea_orm::entity::prelude::*;

use crate::enums::{MemberStatus, Role};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "members")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub workspace_id: String,
    pub user_id: String,
    pub role: Role,
    pub status: MemberStatus,
    pub joined_at: DateTimeUtc,
    /// A custom role whose preset replaces the built-in role's defaults.
    pub custom_role_id: Option<String>,
    /// This member's own per-area overrides: `{"BILLING": "VIEW"}`.
    pub area_access: Option<Json>,
    /// True: every workroom; false: only `workroom_access`; null: inherit.
    pub all_workrooms: Option<bool>,
    /// Per-workroom levels when not all: `{"<workroom id>": "FULL"}`.
    pub workroom_access: Option<Json>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    /// The workspace the membership is of: read with it in one statement.
    #[sea_orm(
        belongs_to = "super::workspace::Entity",
        from = "Column::WorkspaceId",
        to = "super::workspace::Column::Id"
    )]
    Workspace,
}

impl Related<super::workspace::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Workspace.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

crate::by_position!(
    id,
    workspace_id,
    user_id,
    role,
    status,
    joined_at,
    custom_role_id,
    area_access,
    all_workrooms,
    workroom_access
);
