//! A workspace's analytics over a period: activity, active members, API
//! calls, growth, and the top members and prompts.

pub mod buckets;
pub mod service;

use async_graphql::{Context, Enum, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::{member, prompt};

use crate::access::Membership;
use crate::context::ContextExt;
use crate::error::AppResult;
use crate::members::Member;
use crate::prompts::Prompt;

/// The length of one bucket of a period (UTC).
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
pub enum Bucket {
    /// Calendar days.
    Day,
    /// Weeks from Monday.
    Week,
    /// Calendar months.
    Month,
}

/// One bucket's figure.
///
/// A value object: it has no id, and client caches keep it inside the
/// object that holds it.
#[derive(SimpleObject, Clone)]
pub struct TimeCount {
    /// Where the bucket starts (UTC midnight; a Monday for weeks, the 1st for months).
    pub start: DateTime<Utc>,
    /// The figure.
    pub count: i64,
}

/// What the figures were computed from.
pub struct Figures {
    pub starts: Vec<DateTime<Utc>>,
    pub events: Vec<i64>,
    pub active_members: Vec<i64>,
    pub api_calls: Vec<i64>,
    pub member_count: Vec<i64>,
    pub top_members: Vec<(member::Model, i64)>,
    pub top_prompts: Vec<(prompt::Model, i64)>,
}

/// A workspace's figures over a period.
pub struct WorkspaceAnalytics {
    figures: Figures,
    viewer: Membership,
}

/// A member and its events.
pub struct MemberActivityCount {
    member: Member,
    events: i64,
}

/// A prompt and its fetches.
pub struct PromptUsageCount {
    prompt: Prompt,
    fetches: i64,
}

impl WorkspaceAnalytics {
    fn series(&self, counts: &[i64]) -> Vec<TimeCount> {
        self.figures
            .starts
            .iter()
            .zip(counts)
            .map(|(start, count)| TimeCount {
                start: *start,
                count: *count,
            })
            .collect()
    }
}

/// A member and how many events it caused in the period.
///
/// A value object: it has no id, and client caches keep it inside the
/// analytics that hold it.
#[Object]
impl MemberActivityCount {
    /// The member.
    async fn member(&self) -> &Member {
        &self.member
    }

    /// Events it caused (itself or by its personal keys).
    async fn events(&self) -> i64 {
        self.events
    }
}

/// A prompt and how often its references were resolved in the period.
///
/// A value object: it has no id, and client caches keep it inside the
/// analytics that hold it.
#[Object]
impl PromptUsageCount {
    /// The prompt.
    async fn prompt(&self) -> &Prompt {
        &self.prompt
    }

    /// Resolutions of its references (`promptByReference`, `renderPrompt`),
    /// counted by whole UTC days.
    async fn fetches(&self) -> i64 {
        self.fetches
    }
}

/// A workspace's figures over a period, one per bucket, oldest first.
///
/// A value object: it has no id, and client caches keep it inside the
/// workspace that holds it.
#[Object]
impl WorkspaceAnalytics {
    /// Activity events per bucket (every area's).
    async fn events(&self) -> Vec<TimeCount> {
        self.series(&self.figures.events)
    }

    /// Distinct people who caused an event, per bucket.
    async fn active_members(&self) -> Vec<TimeCount> {
        self.series(&self.figures.active_members)
    }

    /// Requests made with the workspace's API keys, per bucket (by whole UTC days).
    async fn api_calls(&self) -> Vec<TimeCount> {
        self.series(&self.figures.api_calls)
    }

    /// Members at the end of each bucket (or at `to`), counting today's
    /// active members by when they joined.
    async fn member_count(&self) -> Vec<TimeCount> {
        self.series(&self.figures.member_count)
    }

    /// The 10 current members who caused the most events in the period;
    /// empty for callers who may not read the member list.
    async fn top_members(&self, ctx: &Context<'_>) -> AppResult<Vec<MemberActivityCount>> {
        let models: Vec<member::Model> = self
            .figures
            .top_members
            .iter()
            .map(|(m, _)| m.clone())
            .collect();
        let members =
            crate::members::service::with_users(ctx.db(), &self.viewer.workspace, models).await?;
        Ok(members
            .into_iter()
            .filter_map(|member| {
                let events = self
                    .figures
                    .top_members
                    .iter()
                    .find(|(m, _)| m.id == member.model.id)?
                    .1;
                Some(MemberActivityCount { member, events })
            })
            .collect())
    }

    /// The 10 prompts fetched most in the period; empty for callers who may
    /// not read prompts.
    async fn top_prompts(&self) -> Vec<PromptUsageCount> {
        self.figures
            .top_prompts
            .iter()
            .map(|(model, fetches)| PromptUsageCount {
                prompt: Prompt {
                    model: model.clone(),
                    viewer: self.viewer.clone(),
                },
                fetches: *fetches,
            })
            .collect()
    }
}

pub async fn of_workspace(
    ctx: &Context<'_>,
    viewer: &Membership,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bucket: Option<Bucket>,
) -> AppResult<WorkspaceAnalytics> {
    let figures =
        service::figures(ctx.db(), viewer, from, to, bucket.unwrap_or(Bucket::Day)).await?;
    Ok(WorkspaceAnalytics {
        figures,
        viewer: viewer.clone(),
    })
}
