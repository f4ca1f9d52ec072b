//! How clients see an export.

use async_graphql::{Context, ID, Object};
use chrono::{DateTime, Utc};

use crate::auth::User;
use crate::context::ContextExt;
use crate::error::AppResult;
use crate::exports::{Export, ExportFormat};
use crate::runs::AgentRun;
use crate::tasks::Task;
use crate::workrooms::Workroom;

/// A rendered deliverable.
#[Object]
impl Export {
    /// Unique across every type.
    pub async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    /// The workroom it is from.
    async fn workroom(&self, ctx: &Context<'_>) -> AppResult<Workroom> {
        Workroom::by_id(ctx.db(), &self.viewer, &self.model.workroom_id).await
    }

    /// The task it is the output of.
    async fn task(&self, ctx: &Context<'_>) -> AppResult<Option<Task>> {
        Task::by_id(ctx.db(), &self.viewer, self.model.task_id.as_ref()).await
    }

    /// The run whose output it renders.
    async fn run(&self, ctx: &Context<'_>) -> AppResult<Option<AgentRun>> {
        AgentRun::by_id(ctx.db(), &self.viewer, self.model.run_id.as_ref()).await
    }

    /// MARKDOWN, HTML or TEXT.
    async fn format(&self) -> ExportFormat {
        self.model.format.into()
    }

    /// Who asked for it.
    async fn created_by(&self, ctx: &Context<'_>) -> AppResult<Option<User>> {
        let Some(id) = &self.model.created_by else {
            return Ok(None);
        };
        Ok(entity::user::Person::find(ctx.db(), id).await?.map(User))
    }

    /// When it was rendered.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }

    /// GET it with the same `Authorization` header; each download is
    /// counted and audited (`export.downloaded`).
    async fn download_url(&self, ctx: &Context<'_>) -> String {
        let base = ctx.state().config.public_url.clone().unwrap_or_default();
        format!("{base}/exports/{}", self.model.id)
    }

    /// How often it was downloaded.
    async fn downloads(&self) -> i32 {
        self.model.downloads
    }
}
