//! Notifications: which categories of activity each member hears of, and
//! how (at once, in a daily or weekly digest, or not at all), with
//! workspace defaults members override. Delivered by e-mail through the
//! outbox; a member only hears of events it may see, and never of its own.

pub mod deliver;
pub mod preferences;

use async_graphql::{Context, Enum, ID, InputObject, Object, SimpleObject};

use crate::access::{Capability, requires};
use crate::context::{ContextExt, id_arg};
use crate::error::AppResult;

/// A kind of activity one can be told of.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum NotificationCategory {
    /// A prompt version was published.
    PromptPublished,
    /// A prompt was changed, drafted or archived.
    PromptUpdated,
    /// Someone was invited.
    MemberInvited,
    /// Someone joined.
    MemberJoined,
    /// Workspace settings, plan, mode, brand or retention changed.
    SettingsChanged,
    /// A run succeeded or failed.
    RunFinished,
    /// An approval was asked for.
    ApprovalRequested,
}

/// How a category is delivered.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum NotificationMode {
    /// An e-mail per event, within seconds.
    Instant,
    /// One e-mail a day (UTC) gathering the day's events.
    Daily,
    /// One e-mail a week (from Monday, UTC).
    Weekly,
    /// Not at all.
    Off,
}

impl NotificationCategory {
    pub const ALL: [NotificationCategory; 7] = [
        Self::PromptPublished,
        Self::PromptUpdated,
        Self::MemberInvited,
        Self::MemberJoined,
        Self::SettingsChanged,
        Self::RunFinished,
        Self::ApprovalRequested,
    ];

    /// As stored.
    pub fn name(self) -> &'static str {
        match self {
            Self::PromptPublished => "PROMPT_PUBLISHED",
            Self::PromptUpdated => "PROMPT_UPDATED",
            Self::MemberInvited => "MEMBER_INVITED",
            Self::MemberJoined => "MEMBER_JOINED",
            Self::SettingsChanged => "SETTINGS_CHANGED",
            Self::RunFinished => "RUN_FINISHED",
            Self::ApprovalRequested => "APPROVAL_REQUESTED",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The category an activity event belongs to, if any.
    pub fn of_action(action: &str) -> Option<Self> {
        Some(match action {
            "prompt.published" => Self::PromptPublished,
            "prompt.updated" | "prompt.draft_saved" | "prompt.archived" => Self::PromptUpdated,
            "member.invited" => Self::MemberInvited,
            "member.joined" => Self::MemberJoined,
            "workspace.updated"
            | "workspace.plan_changed"
            | "workspace.mode_changed"
            | "workspace.billing_setting_changed"
            | "workspace.navigation_changed"
            | "brand.updated"
            | "export_profile.updated"
            | "activity.retention_changed"
            | "notification.defaults_changed" => Self::SettingsChanged,
            "run.succeeded" | "run.failed" => Self::RunFinished,
            "approval.requested" => Self::ApprovalRequested,
            _ => return None,
        })
    }

    /// Where neither the workspace nor the member chose: approvals at once,
    /// the rest in the daily digest.
    pub fn built_in(self) -> NotificationMode {
        match self {
            Self::ApprovalRequested => NotificationMode::Instant,
            _ => NotificationMode::Daily,
        }
    }
}

impl NotificationMode {
    pub const ALL: [NotificationMode; 4] = [Self::Instant, Self::Daily, Self::Weekly, Self::Off];

    pub fn name(self) -> &'static str {
        match self {
            Self::Instant => "INSTANT",
            Self::Daily => "DAILY",
            Self::Weekly => "WEEKLY",
            Self::Off => "OFF",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// How one category reaches the caller.
///
/// A value object: it has no id, and client caches keep it inside the
/// workspace that holds it.
#[derive(SimpleObject, Clone, Copy, Debug, PartialEq, Eq)]
pub struct NotificationPreference {
    /// The category.
    pub category: NotificationCategory,
    /// How it is delivered.
    pub mode: NotificationMode,
}

/// How one category should be delivered.
#[derive(InputObject, Clone, Copy)]
pub struct NotificationPreferenceInput {
    /// The category.
    pub category: NotificationCategory,
    /// INSTANT, DAILY, WEEKLY or OFF.
    pub mode: NotificationMode,
}

#[derive(Default)]
pub struct NotificationMutation;

#[Object]
impl NotificationMutation {
    /// Sets how the caller hears of these categories in this workspace;
    /// the others stay. Returns every category, after defaults. Needs a
    /// person (a workspace key has no inbox).
    #[graphql(directive = requires::apply(Capability::ReadWorkspace))]
    async fn set_notification_preferences(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "Each category at most once.")] preferences: Vec<
            NotificationPreferenceInput,
        >,
    ) -> AppResult<Vec<NotificationPreference>> {
        let id = id_arg("workspaceId", &workspace_id)?;
        preferences::set_own(ctx.db(), &ctx.caller().await?, id, &preferences).await
    }

    /// Sets the workspace's defaults for these categories (members' own
    /// choices win); the others stay. Returns every category's default.
    #[graphql(directive = requires::apply(Capability::ManageNotificationDefaults))]
    async fn set_default_notification_preferences(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "Each category at most once.")] preferences: Vec<
            NotificationPreferenceInput,
        >,
    ) -> AppResult<Vec<NotificationPreference>> {
        let id = id_arg("workspaceId", &workspace_id)?;
        preferences::set_defaults(ctx.db(), &ctx.caller().await?, id, &preferences).await
    }
}
