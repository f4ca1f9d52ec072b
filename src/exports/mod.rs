//! Deliverables: a run's output (or a task's last output) rendered in the
//! workspace's export profile, allowed only once the workroom's approval
//! policy is met, and downloaded over HTTP with every download audited.

pub mod render;
pub mod service;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};
use entity::export;

use crate::access::{Capability, Membership, requires};
use crate::context::ContextExt;
use crate::error::AppResult;

/// How a deliverable is rendered.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::ExportFormat")]
pub enum ExportFormat {
    /// Markdown.
    Markdown,
    /// A standalone HTML page, every text escaped.
    Html,
    /// Plain text.
    Text,
}

/// How the workspace's deliverables are rendered.
///
/// A value object: it has no id, and client caches keep it inside the
/// workspace that holds it.
#[derive(SimpleObject, Clone, Debug)]
pub struct ExportProfile {
    /// MARKDOWN, HTML or TEXT.
    pub format: ExportFormat,
    /// Whether the workspace's name heads each deliverable.
    pub include_branding: bool,
    /// Text above the content.
    pub header: Option<String>,
    /// Text below the content.
    pub footer: Option<String>,
}

/// Absent fields stay as they are; an empty header or footer clears it.
#[derive(InputObject)]
pub struct ExportProfileInput {
    /// MARKDOWN, HTML or TEXT.
    pub format: Option<ExportFormat>,
    /// Whether the workspace's name heads each deliverable.
    pub include_branding: Option<bool>,
    /// At most 2,000 characters.
    pub header: Option<String>,
    /// At most 2,000 characters.
    pub footer: Option<String>,
}

/// What to export: a run, or a task (its last output); exactly one.
#[derive(InputObject)]
pub struct RequestExportInput {
    /// The workroom it is in.
    pub workroom_id: ID,
    /// A task of the workroom: its last run's output.
    pub task_id: Option<ID>,
    /// A SUCCEEDED run of the workroom.
    pub run_id: Option<ID>,
    /// The profile's format when absent.
    pub format: Option<ExportFormat>,
}

/// A rendered deliverable.
pub struct Export {
    pub model: export::Model,
    pub viewer: Membership,
}

#[derive(Default)]
pub struct ExportMutation;

#[Object]
impl ExportMutation {
    /// Changes how the workspace's deliverables are rendered.
    #[graphql(directive = requires::apply(Capability::UpdateExportProfile))]
    async fn update_export_profile(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "The fields to change; absent ones stay.")] input: ExportProfileInput,
    ) -> AppResult<ExportProfile> {
        service::update_profile(ctx.db(), &ctx.caller().await?, &workspace_id, input).await
    }

    /// Renders a run's output (or a task's last output) for download.
    /// FORBIDDEN, saying which approval is missing, while the workroom's
    /// approval policy is not met.
    #[graphql(directive = requires::apply(Capability::RequestExport))]
    async fn request_export(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workroom, and the task or the run.")] input: RequestExportInput,
    ) -> AppResult<Export> {
        service::request(ctx.state(), &ctx.caller().await?, input).await
    }
}
