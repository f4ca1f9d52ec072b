use sea_orm::entity::prelude::*;

/// One row of the audit log. `seq` orders events; within a workspace it grows
/// in commit order because every write locks the workspace first.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "activity_events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub seq: i64,
    #[sea_orm(unique)]
    pub id: String,
    pub workspace_id: String,
    pub actor_id: Option<String>,
    /// USER, API_KEY, AGENT or SYSTEM.
    pub actor_kind: String,
    /// The key that acted, for API_KEY.
    pub api_key_id: Option<String>,
    pub action: String,
    /// The settings area the event belongs to; readers need VIEW on it.
    pub area: String,
    pub target_type: String,
    pub target_id: Option<String>,
    pub workroom_id: Option<String>,
    pub changes: Option<Json>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::by_position!(
    seq,
    id,
    workspace_id,
    actor_id,
    actor_kind,
    api_key_id,
    action,
    area,
    target_type,
    target_id,
    workroom_id,
    changes,
    created_at
);
