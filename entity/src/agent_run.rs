use sea_orm::entity::prelude::*;

use crate::enums::RunStatus;

/// A run of an agent (or a bare model call) in a workroom. A worker holds a
/// running one by `lease_owner` until `lease_expires_at`.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "agent_runs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub workspace_id: String,
    pub workroom_id: String,
    pub agent_id: Option<String>,
    pub agent_version: Option<i32>,
    pub task_id: Option<String>,
    /// USER or API_KEY.
    pub actor_kind: String,
    /// The person who started it (for a personal key, its owner).
    pub started_by: Option<String>,
    pub api_key_id: Option<String>,
    pub status: RunStatus,
    pub input: String,
    pub output: String,
    pub error: Option<String>,
    pub credits_reserved: i64,
    pub credits_used: i64,
    /// The seq of its newest event.
    pub last_seq: i32,
    pub lease_owner: Option<String>,
    pub lease_expires_at: Option<DateTimeUtc>,
    pub created_at: DateTimeUtc,
    pub started_at: Option<DateTimeUtc>,
    pub finished_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
