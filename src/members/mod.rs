//! Memberships: who belongs to a workspace, with which role, and what each
//! member may reach; the member lifecycle.

pub mod service;

use async_graphql::{ComplexObject, Context, Enum, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{custom_role, member, user, workspace};

use crate::access::{
    Access, Area, Capability, Effective, Role, WorkroomScope, requires, workroom_map,
};
use crate::auth::User;
use crate::error::AppResult;
use crate::graphql::{ContextExt, PageInfo, id_arg};
use crate::roles::CustomRole;
use crate::workspaces::Workspace;

/// Whether a member may act.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::MemberStatus")]
pub enum MemberStatus {
    /// Acts in the workspace.
    Active,
    /// Can neither act nor be invited again until unbanned.
    Banned,
}

/// A person's place in a workspace.
#[derive(Clone)]
pub struct Member {
    pub model: member::Model,
    pub user: user::Model,
    pub custom_role: Option<custom_role::Model>,
    effective: Effective,
    hidden_navigation: Vec<String>,
}

impl Member {
    pub fn new(
        workspace: &workspace::Model,
        model: member::Model,
        user: user::Model,
        custom_role: Option<custom_role::Model>,
    ) -> Self {
        let effective = service::effective_of(workspace, &model, custom_role.as_ref());
        let hidden_navigation = service::hidden_navigation(workspace, model.role);
        Self {
            model,
            user,
            custom_role,
            effective,
            hidden_navigation,
        }
    }
}

/// A person's place in a workspace: role, status and access.
#[Object]
impl Member {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    /// The member's account.
    async fn user(&self) -> User {
        User(self.user.clone())
    }

    /// The built-in role (a custom role's base role for its holders).
    async fn role(&self) -> Role {
        self.model.role.into()
    }

    /// The custom role whose preset applies, if any.
    async fn custom_role(&self) -> Option<CustomRole> {
        self.custom_role.clone().map(CustomRole)
    }

    /// ACTIVE, or BANNED: a banned member cannot act and holds no seat.
    async fn status(&self) -> MemberStatus {
        self.model.status.into()
    }

    /// When the member joined the workspace.
    async fn joined_at(&self) -> DateTime<Utc> {
        self.model.joined_at
    }

    /// Effective access per area: role defaults (or the custom role's preset),
    /// then this member's overrides; admins and the owner bypass scopes.
    async fn access(&self) -> Vec<AreaAccess> {
        self.effective
            .areas()
            .map(|(area, access)| AreaAccess { area, access })
            .collect()
    }

    /// True when the member reaches every workroom at its PROJECTS level.
    async fn all_workrooms(&self) -> bool {
        matches!(self.effective.scope(), WorkroomScope::All)
    }

    /// The selected workrooms and their levels, when not all.
    async fn workrooms(&self) -> Vec<WorkroomAccess> {
        match self.effective.scope() {
            WorkroomScope::All => Vec::new(),
            WorkroomScope::Selected(list) => {
                let mut list: Vec<WorkroomAccess> = list
                    .iter()
                    .map(|(id, access)| WorkroomAccess {
                        workroom_id: ID(id.clone()),
                        access: *access,
                    })
                    .collect();
                list.sort_by(|a, b| a.workroom_id.0.cmp(&b.workroom_id.0));
                list
            }
        }
    }

    /// Navigation keys the client should hide for this member.
    async fn hidden_navigation(&self) -> &[String] {
        &self.hidden_navigation
    }
}

/// One area and the access held to it.
///
/// A value object: it has no id, and client caches keep it inside the
/// object that holds it (Apollo: `typePolicies: { AreaAccess: { merge: true } }`).
#[derive(SimpleObject, Clone)]
pub struct AreaAccess {
    /// The settings area.
    pub area: Area,
    /// The level held in it.
    pub access: Access,
}

/// One workroom and the access held to it.
///
/// A value object: it has no id, and client caches keep it inside the
/// object that holds it (Apollo: `typePolicies: { WorkroomAccess: { merge: true } }`).
#[derive(SimpleObject, Clone)]
pub struct WorkroomAccess {
    /// The workroom's id.
    pub workroom_id: ID,
    /// The level held in it.
    pub access: Access,
}

impl WorkroomAccess {
    pub fn list(json: &serde_json::Value) -> Vec<Self> {
        workroom_map(Some(json))
            .into_iter()
            .map(|(id, access)| Self {
                workroom_id: ID(id),
                access,
            })
            .collect()
    }
}

/// A page of members, oldest first.
#[derive(SimpleObject, Clone)]
#[graphql(complex)]
pub struct MemberConnection {
    /// The members of this page, in joining order.
    pub nodes: Vec<Member>,
    /// Where the page starts and ends; pass `endCursor` as `after` for the next page.
    pub page_info: PageInfo,
    #[graphql(skip)]
    pub workspace_id: String,
}

#[ComplexObject]
impl MemberConnection {
    /// Members in the whole workspace, across pages; counted only when asked
    /// for.
    async fn total_count(&self, ctx: &Context<'_>) -> AppResult<u64> {
        service::count(ctx.db(), &self.workspace_id).await
    }

    /// The page as Relay edges: each member with its cursor.
    async fn edges(&self) -> Vec<MemberEdge> {
        self.nodes
            .iter()
            .map(|member| MemberEdge {
                cursor: member.model.id.clone(),
                node: member.clone(),
            })
            .collect()
    }
}

/// A member and the cursor to page on from it.
#[derive(SimpleObject)]
pub struct MemberEdge {
    /// Pass it as `after` to read the members after this one.
    pub cursor: String,
    /// The member.
    pub node: Member,
}

/// The access level of one settings area.
#[derive(InputObject, Clone, Copy)]
pub struct AreaAccessInput {
    /// The settings area; each at most once in a list.
    pub area: Area,
    /// The level to give; never above the caller's own (FORBIDDEN).
    pub access: Access,
}

/// The access level of one workroom.
#[derive(InputObject, Clone)]
pub struct WorkroomAccessInput {
    /// A workroom of the same workspace (NOT_FOUND otherwise); each at most once in a list.
    pub workroom_id: ID,
    /// The level to give; never above the caller's own there (FORBIDDEN).
    pub access: Access,
}

/// Absent fields stay as they are; `areas: []` drops every override.
#[derive(InputObject)]
pub struct SetMemberAccessInput {
    /// The member's id.
    pub member_id: ID,
    /// Overrides of the role's defaults.
    pub areas: Option<Vec<AreaAccessInput>>,
    /// True: every workroom; false: only `workrooms`.
    pub all_workrooms: Option<bool>,
    /// The member's workrooms and levels, replacing its list (at most 500);
    /// listing them without `allWorkrooms` means only these.
    pub workrooms: Option<Vec<WorkroomAccessInput>>,
}

#[derive(Default)]
pub struct MemberMutation;

#[Object]
impl MemberMutation {
    /// Gives a member a built-in role. OWNER is reached only by transfer;
    /// nobody grants a role above their own; admins cannot demote themselves.
    #[graphql(directive = requires::apply(Capability::ChangeMemberRole))]
    async fn change_member_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's id.")] member_id: ID,
        #[graphql(
            desc = "ADMIN, MEMBER or VIEWER; OWNER is BAD_USER_INPUT. Any custom role is dropped."
        )]
        role: Role,
    ) -> AppResult<Member> {
        service::change_role(ctx.db(), &ctx.caller().await?, &member_id, role.into()).await
    }

    /// Gives a member a custom role of the workspace.
    #[graphql(directive = requires::apply(Capability::AssignRole))]
    async fn assign_role(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's id.")] member_id: ID,
        #[graphql(desc = "The id of a custom role of the member's workspace.")] role_id: ID,
    ) -> AppResult<Member> {
        service::assign_role(ctx.db(), &ctx.caller().await?, &member_id, &role_id).await
    }

    /// Sets a member's own area overrides and workroom access.
    #[graphql(directive = requires::apply(Capability::SetMemberAccess))]
    async fn set_member_access(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's id and the scopes to set.")] input: SetMemberAccessInput,
    ) -> AppResult<Member> {
        service::set_access(ctx.db(), &ctx.caller().await?, input).await
    }

    /// Removes a member; access ends with the next request.
    #[graphql(directive = requires::apply(Capability::RemoveMember))]
    async fn remove_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's id; not the caller's own (use `leaveWorkspace`).")]
        member_id: ID,
    ) -> AppResult<Member> {
        service::remove(ctx.db(), &ctx.caller().await?, &member_id).await
    }

    /// Bans a member: it can no longer act or be invited until unbanned.
    #[graphql(directive = requires::apply(Capability::BanMember))]
    async fn ban_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's id; not the caller's own.")] member_id: ID,
    ) -> AppResult<Member> {
        service::set_banned(ctx.db(), &ctx.caller().await?, &member_id, true).await
    }

    /// Lifts a ban; the member takes a seat again.
    #[graphql(directive = requires::apply(Capability::BanMember))]
    async fn unban_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's id; it needs a free seat (SEAT_LIMIT_REACHED).")]
        member_id: ID,
    ) -> AppResult<Member> {
        service::set_banned(ctx.db(), &ctx.caller().await?, &member_id, false).await
    }

    /// Leaves a workspace; the owner must transfer ownership first.
    #[graphql(directive = requires::apply(Capability::LeaveWorkspace))]
    async fn leave_workspace(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
    ) -> AppResult<bool> {
        let id = id_arg("workspaceId", &workspace_id)?;
        service::leave(ctx.db(), &ctx.caller().await?, id).await?;
        Ok(true)
    }

    /// Hands the workspace to another active member; you become ADMIN.
    #[graphql(directive = requires::apply(Capability::TransferOwnership))]
    async fn transfer_ownership(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "The id of an active member of that workspace, who becomes OWNER.")]
        to_member_id: ID,
    ) -> AppResult<Workspace> {
        let id = id_arg("workspaceId", &workspace_id)?;
        let viewer =
            service::transfer_ownership(ctx.db(), &ctx.caller().await?, id, &to_member_id).await?;
        Ok(Workspace::new(viewer))
    }
}
