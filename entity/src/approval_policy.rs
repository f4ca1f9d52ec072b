use sea_orm::entity::prelude::*;

use crate::enums::Role;

/// What must approve before any export of a workroom.
#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "approval_policies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub workroom_id: String,
    pub required_approvals: i32,
    pub eligible_role: Role,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
