use sea_orm::entity::prelude::*;

use crate::enums::{InvitationStatus, Role};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "invitations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    pub workspace_id: String,
    pub email: String,
    pub role: Role,
    pub custom_role_id: Option<String>,
    pub area_access: Option<Json>,
    pub all_workrooms: Option<bool>,
    pub workroom_access: Option<Json>,
    #[sea_orm(unique)]
    pub token_hash: String,
    pub status: InvitationStatus,
    pub expires_at: DateTimeUtc,
    pub created_at: DateTimeUtc,
    pub invited_by: Option<String>,
    pub accepted_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
