//! How clients see a member, and the mutations on members.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::access::{Capability, Role, WorkroomScope, requires};
use crate::auth::User;
use crate::context::{ContextExt, id_arg};
use crate::error::AppResult;
use crate::members::{
    AreaAccess, Member, MemberStatus, SetMemberAccessInput, WorkroomAccess, service,
};
use crate::roles::CustomRole;
use crate::workspaces::Workspace;

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

    /// Its own monthly credit cap (calendar months in UTC); null when it has
    /// none. For the member itself and readers with BILLING VIEW; FORBIDDEN
    /// for others.
    async fn monthly_credit_limit(&self, ctx: &Context<'_>) -> AppResult<Option<i64>> {
        let viewer = ctx.membership(&self.model.workspace_id).await?;
        Ok(
            service::credit_limit::figures(ctx.db(), &viewer, &self.model)
                .await?
                .0,
        )
    }

    /// Credits its runs took this calendar month (UTC): what finished runs
    /// used and what running ones hold. For the member itself and readers
    /// with BILLING VIEW; FORBIDDEN for others.
    async fn credits_used_this_month(&self, ctx: &Context<'_>) -> AppResult<Option<i64>> {
        let viewer = ctx.membership(&self.model.workspace_id).await?;
        Ok(Some(
            service::credit_limit::figures(ctx.db(), &viewer, &self.model)
                .await?
                .1,
        ))
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
