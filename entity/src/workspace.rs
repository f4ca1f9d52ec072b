use sea_orm::entity::prelude::*;

use crate::enums::{Plan, Visibility, WorkspaceMode, WorkspaceType};

#[derive(Clone, Debug, PartialEq, DeriveEntityModel)]
#[sea_orm(table_name = "workspaces")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: String,
    #[sea_orm(unique)]
    pub slug: String,
    pub name: String,
    pub description: Option<String>,
    pub website: Option<String>,
    pub visibility: Visibility,
    pub plan: Plan,
    pub personal: bool,
    pub credit_balance: i64,
    /// Credits held by runs in progress.
    pub credits_reserved: i64,
    pub created_at: DateTimeUtc,
    pub deleted_at: Option<DateTimeUtc>,
    pub purge_after: Option<DateTimeUtc>,
    /// Whether admins manage billing, or only the owner.
    pub admins_manage_billing: bool,
    /// Navigation keys hidden per role: `{"MEMBER": ["analytics"]}`.
    pub hidden_navigation: Option<Json>,
    /// MY_BRAND or CLIENT; informational.
    pub workspace_type: WorkspaceType,
    /// AGENTIC or TRADITIONAL; only the owner changes it.
    pub mode: WorkspaceMode,
    /// Days of activity kept; null keeps it for good.
    pub activity_retention_days: Option<i32>,
    /// The newest activity seq the retention job deleted (0: none).
    pub activity_purged_seq: i64,
    /// Stored files' keys of the workspace's images.
    pub logo_file: Option<String>,
    pub avatar_file: Option<String>,
    pub banner_file: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

crate::by_position!(
    id,
    slug,
    name,
    description,
    website,
    visibility,
    plan,
    personal,
    credit_balance,
    credits_reserved,
    created_at,
    deleted_at,
    purge_after,
    admins_manage_billing,
    hidden_navigation,
    workspace_type,
    mode,
    activity_retention_days,
    activity_purged_seq,
    logo_file,
    avatar_file,
    banner_file
);
