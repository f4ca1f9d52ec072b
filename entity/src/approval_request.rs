use sea_orm::entity::prelude::*;

use crate::enums::{ApprovalState, Role};

/// A request for N approvals of a run, a task step, or both.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "approval_requests")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub workspace_id: String,
    pub workroom_id: String,
    pub task_id: Option<String>,
    pub run_id: Option<String>,
    pub state: ApprovalState,
    pub required_approvals: i32,
    pub eligible_role: Role,
    pub requested_by: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub decided_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
