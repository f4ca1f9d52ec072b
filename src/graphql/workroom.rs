//! How clients see a workroom.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};
use entity::user;

use crate::access::{Capability, Require, Role, requires};
use crate::activity::{self, ActivityConnection, ActivityFilter};
use crate::auth::User;
use crate::context::{ContextExt, page_size};
use crate::error::AppResult;
use crate::exports::{self, Export};
use crate::runs::{self, AgentRun};
use crate::tasks::{self, ApprovalPolicy, Task};
use crate::workrooms::Workroom;
use crate::workspaces::Workspace;

/// A room of a workspace where its members work together.
#[Object]
impl Workroom {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    /// The name shown to members.
    async fn name(&self) -> &str {
        &self.model.name
    }

    /// Free text of several lines; null when there is none.
    async fn description(&self) -> Option<&str> {
        self.model.description.as_deref()
    }

    /// The workspace it belongs to.
    async fn workspace(&self) -> Workspace {
        Workspace::new(self.viewer.clone())
    }

    /// Who made it; null once that account is gone.
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(id) = &self.model.created_by else {
            return Ok(None);
        };
        Ok(user::Person::find(ctx.db(), id).await?.map(User))
    }

    /// When it was made.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// When it was archived: hidden from lists and read-only until restored.
    async fn archived_at(&self) -> Option<DateTime<Utc>> {
        self.model.archived_at
    }

    /// Its tasks, oldest first.
    async fn tasks(&self, ctx: &Context<'_>) -> AppResult<Vec<Task>> {
        tasks::service::list(ctx.db(), &self.viewer, &self.model.id).await
    }

    /// What must approve before any export of this workroom; null: exports
    /// need no approval.
    async fn approval_policy(&self, ctx: &Context<'_>) -> AppResult<Option<ApprovalPolicy>> {
        tasks::approvals::policy(ctx.db(), &self.model.id).await
    }

    /// Its exports, newest first.
    async fn exports(&self, ctx: &Context<'_>) -> AppResult<Vec<Export>> {
        exports::service::list(ctx.db(), &self.viewer, &self.model.id).await
    }

    /// Its agent runs, newest first; `first` 0 to 100, 20 when absent.
    async fn runs(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "How many, 0 to 100 (BAD_USER_INPUT outside); 20 when absent.")]
        first: Option<i32>,
    ) -> AppResult<Vec<AgentRun>> {
        runs::service::list(ctx.db(), &self.viewer, &self.model.id, page_size(first)?).await
    }

    /// Who is watching this workroom now (subscribed to `workroomEvents`).
    async fn viewers(&self, ctx: &Context<'_>) -> AppResult<Vec<User>> {
        Ok(crate::events::presence::viewers(ctx.db(), &self.model.id)
            .await?
            .into_iter()
            .map(User)
            .collect())
    }

    /// Events about this workroom, newest first; `first` at most 100.
    #[graphql(
        guard = "Require::new(Capability::ReadActivity, &self.viewer)",
        directive = requires::apply(Capability::ReadActivity)
    )]
    async fn activity(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0 to 100 (BAD_USER_INPUT outside); 20 when absent.")]
        first: Option<i32>,
        #[graphql(
            desc = "Start after this cursor (a previous page's `endCursor`); from the start when absent."
        )]
        after: Option<String>,
    ) -> AppResult<ActivityConnection> {
        let filter = ActivityFilter {
            workroom_id: Some(ID(self.model.id.clone())),
            ..Default::default()
        };
        activity::service::page(ctx.db(), &self.viewer, filter, page_size(first)?, after).await
    }
}

#[derive(Default)]
pub struct WorkroomArchiveMutation;

#[Object]
impl WorkroomArchiveMutation {
    /// Archives a workroom: hidden from lists, read-only, and its queued and
    /// running runs cancelled with their reservations released. Members
    /// archive the workrooms they made; admins and the owner any.
    #[graphql(directive = requires::apply(Capability::ArchiveWorkroom))]
    async fn archive_workroom(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workroom's id.")] id: ID,
    ) -> AppResult<Workroom> {
        runs::archive::archive(ctx.state(), &ctx.caller().await?, &id).await
    }

    /// Sets what must approve before any export of the workroom:
    /// `requiredApprovals` (1 to 20) members at `eligibleRole` (MEMBER,
    /// ADMIN or OWNER) or above. Admins and the owner set it.
    #[graphql(directive = requires::apply(Capability::SetApprovalPolicy))]
    async fn set_approval_policy(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workroom's id.")] workroom_id: ID,
        #[graphql(desc = "How many approvals, 1 to 20.")] required_approvals: i32,
        #[graphql(desc = "MEMBER, ADMIN or OWNER.")] eligible_role: Role,
    ) -> AppResult<Workroom> {
        tasks::approvals::set_policy(
            ctx.state(),
            &ctx.caller().await?,
            &workroom_id,
            required_approvals,
            eligible_role.into(),
        )
        .await
    }

    /// Opens an archived workroom again.
    #[graphql(directive = requires::apply(Capability::ArchiveWorkroom))]
    async fn restore_workroom(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workroom's id.")] id: ID,
    ) -> AppResult<Workroom> {
        runs::archive::restore(ctx.state(), &ctx.caller().await?, &id).await
    }
}
