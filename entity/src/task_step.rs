use sea_orm::entity::prelude::*;

use crate::enums::{Role, StepKind, StepStatus};

/// One step of a task, at its position (from 0).
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "task_steps")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub task_id: String,
    pub position: i32,
    pub kind: StepKind,
    pub title: String,
    pub status: StepStatus,
    pub agent_id: Option<String>,
    pub run_id: Option<String>,
    pub approval_id: Option<String>,
    pub required_approvals: Option<i32>,
    pub eligible_role: Option<Role>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
