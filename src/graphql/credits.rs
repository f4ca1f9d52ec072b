//! How clients see the credit pool, its ledger and who spends it, and the
//! mutations on credits.

use async_graphql::{Context, Enum, ID, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::credit_entry;

use crate::access::{Capability, Membership, Redaction, requires};
use crate::billing::credits;
use crate::context::{ContextExt, PageInfo, id_arg, page_size};
use crate::error::AppResult;
use crate::graphql::activity_event::Actor;
use crate::members::{Member, service as members};
use crate::runs::AgentRun;

/// What a ledger row records.
#[derive(Enum, Copy, Clone, Debug, PartialEq, Eq)]
#[graphql(remote = "entity::enums::CreditEntryKind")]
pub enum CreditEntryKind {
    /// Credits added to the balance.
    Grant,
    /// Credits held for a run (changes `reserved` only).
    Reserve,
    /// Credits a run used, taken from the balance.
    Debit,
    /// A run's hold returned (changes `reserved` only).
    Release,
}

/// A workspace's shared credit pool, as a reader with BILLING VIEW sees it.
pub struct CreditPool(pub Membership);

/// The shared credit pool. Ledger rows: GRANT (+) and DEBIT (−) change the
/// balance; RESERVE (+) and RELEASE (−) change only `reserved`. A run
/// reserves r at start, and when it ends takes what it used (DEBIT −used)
/// and returns r (RELEASE −r).
///
/// A value object: it has no id, and client caches keep it inside the
/// workspace that holds it.
#[Object]
impl CreditPool {
    /// Granted minus spent; never below zero.
    async fn balance(&self) -> i64 {
        self.0.workspace.credit_balance
    }

    /// Held by runs in progress.
    async fn reserved(&self) -> i64 {
        self.0.workspace.credits_reserved
    }

    /// `balance - reserved`: what new runs may reserve; never below zero.
    async fn available(&self) -> i64 {
        (self.0.workspace.credit_balance - self.0.workspace.credits_reserved).max(0)
    }

    /// The ledger, newest first; `first` at most 100.
    async fn entries(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0 to 100; 20 when absent.")] first: Option<i32>,
        #[graphql(desc = "Start after this cursor (a previous page's `endCursor`).")] after: Option<
            String,
        >,
    ) -> AppResult<CreditEntryConnection> {
        let (rows, page_info) = credits::entries(
            ctx.db(),
            self.0.workspace_id(),
            page_size(first)?,
            after.as_deref(),
        )
        .await?;
        Ok(CreditEntryConnection {
            nodes: rows
                .into_iter()
                .map(|model| CreditEntry {
                    model,
                    viewer: self.0.clone(),
                })
                .collect(),
            page_info,
        })
    }

    /// What people (with their personal keys) spent on runs started in
    /// `[from, to)`, most first.
    async fn usage_by_member(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "From this instant on; from the first run when absent.")] from: Option<
            DateTime<Utc>,
        >,
        #[graphql(desc = "Before this instant; up to now when absent.")] to: Option<DateTime<Utc>>,
    ) -> AppResult<Vec<MemberUsage>> {
        let rows = credits::usage(ctx.db(), self.0.workspace_id(), from, to, true).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(user_id) = &row.started_by else {
                continue;
            };
            let Some(model) =
                crate::access::load::find_member(ctx.db(), self.0.workspace_id(), user_id).await?
            else {
                continue;
            };
            out.push(MemberUsage {
                member: members::one(ctx.db(), &self.0.workspace, model).await?,
                credits: row.credits,
                runs: row.runs,
            });
        }
        Ok(out)
    }

    /// What every principal spent on runs started in `[from, to)`, workspace
    /// keys included, most first.
    async fn usage_by_actor(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "From this instant on; from the first run when absent.")] from: Option<
            DateTime<Utc>,
        >,
        #[graphql(desc = "Before this instant; up to now when absent.")] to: Option<DateTime<Utc>>,
    ) -> AppResult<Vec<ActorUsage>> {
        let rows = credits::usage(ctx.db(), self.0.workspace_id(), from, to, false).await?;
        let shows_keys = Redaction::for_reader(&self.0).shows_keys();
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(ActorUsage {
                by: Actor::of_row(
                    ctx,
                    &row.actor_kind,
                    row.started_by.as_deref(),
                    row.api_key_id.as_deref(),
                    shows_keys,
                )
                .await?,
                credits: row.credits,
                runs: row.runs,
            });
        }
        Ok(out)
    }
}

pub struct CreditEntry {
    model: credit_entry::Model,
    viewer: Membership,
}

/// One row of the credit ledger.
#[Object]
impl CreditEntry {
    /// Unique across every type.
    async fn id(&self) -> ID {
        ID(self.model.id.clone())
    }

    /// GRANT, RESERVE, DEBIT or RELEASE.
    async fn kind(&self) -> CreditEntryKind {
        self.model.kind.into()
    }

    /// Positive adds, negative takes: to the balance (GRANT, DEBIT) or to
    /// what is reserved (RESERVE, RELEASE).
    async fn amount(&self) -> i64 {
        self.model.amount
    }

    /// The balance after this row.
    async fn balance_after(&self) -> i64 {
        self.model.balance_after
    }

    /// Who granted, or who started the run.
    async fn by(&self, ctx: &Context<'_>) -> AppResult<Actor> {
        Actor::of_row(
            ctx,
            &self.model.actor_kind,
            self.model.actor_id.as_deref(),
            self.model.api_key_id.as_deref(),
            Redaction::for_reader(&self.viewer).shows_keys(),
        )
        .await
    }

    /// The run it is for; null for grants, and for runs in workrooms the
    /// reader may not see.
    async fn run(&self, ctx: &Context<'_>) -> AppResult<Option<AgentRun>> {
        let Some(id) = &self.model.run_id else {
            return Ok(None);
        };
        Ok(crate::runs::service::find_visible(ctx, &ID(id.clone()))
            .await
            .ok())
    }

    /// Why credits were granted.
    async fn reason(&self) -> Option<&str> {
        self.model.reason.as_deref()
    }

    /// When it was written.
    async fn created_at(&self) -> DateTime<Utc> {
        self.model.created_at
    }
}

/// A page of the ledger, newest first.
#[derive(SimpleObject)]
pub struct CreditEntryConnection {
    /// The rows of this page.
    pub nodes: Vec<CreditEntry>,
    /// Pass `endCursor` as `after` for older rows.
    pub page_info: PageInfo,
}

/// What one member spent. A value object: it has no id.
#[derive(SimpleObject)]
pub struct MemberUsage {
    /// The member.
    pub member: Member,
    /// Credits its runs used.
    pub credits: i64,
    /// Runs it started.
    pub runs: i64,
}

/// What one principal spent. A value object: it has no id.
#[derive(SimpleObject)]
pub struct ActorUsage {
    /// The person or key.
    pub by: Actor,
    /// Credits its runs used.
    pub credits: i64,
    /// Runs it started.
    pub runs: i64,
}

#[derive(Default)]
pub struct CreditMutation;

#[Object]
impl CreditMutation {
    /// Adds credits to the pool (the hook a billing provider's webhook
    /// calls; send an `Idempotency-Key` so a retry adds them once).
    #[graphql(directive = requires::apply(Capability::GrantCredits))]
    async fn grant_credits(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The workspace's id.")] workspace_id: ID,
        #[graphql(desc = "Credits to add: 1 to 1,000,000,000.")] amount: i64,
        #[graphql(desc = "Why, shown on the ledger: at most 500 characters.")] reason: Option<
            String,
        >,
    ) -> AppResult<CreditEntry> {
        let (viewer, model) = credits::grant_credits(
            ctx.db(),
            &ctx.caller().await?,
            &workspace_id,
            amount,
            reason,
        )
        .await?;
        Ok(CreditEntry { model, viewer })
    }

    /// Sets a member's own monthly cap (calendar months in UTC); null
    /// removes it. A run whose reservation would pass the cap is refused
    /// with INSUFFICIENT_CREDITS even when the pool has credits.
    #[graphql(directive = requires::apply(Capability::SetCreditLimit))]
    async fn set_member_credit_limit(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "The member's id.")] member_id: ID,
        #[graphql(desc = "Credits per month, 0 to 1,000,000,000; null: no cap of its own.")]
        monthly_limit: Option<i64>,
    ) -> AppResult<Member> {
        let member_id = id_arg("memberId", &member_id)?;
        members::credit_limit::set(ctx.db(), &ctx.caller().await?, member_id, monthly_limit).await
    }
}
