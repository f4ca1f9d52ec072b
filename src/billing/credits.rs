//! The credit pool as a ledger. Every grant, reservation, debit and release
//! is a row with the balance after it, written in the transaction of the
//! change it records. GRANT (+) and DEBIT (−) move `credit_balance`;
//! RESERVE (+) and RELEASE (−) move only `credits_reserved`. Each change is
//! a conditional update of the workspace row, so neither the balance nor
//! what is available ever goes below zero, whatever runs at once.

use chrono::{DateTime, Datelike, TimeZone, Utc};
use entity::enums::{CreditEntryKind, RunStatus};
use entity::{agent_run, credit_entry, member_credit_limit, workspace};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, FromQueryResult,
    NotSet, QueryFilter, QueryOrder, QuerySelect,
};

use crate::access::{Capability, Membership, Principal};
use crate::activity::{self, Action, Changes, NewEvent};
use crate::context::PageInfo;
use crate::error::{AppError, AppResult};
use crate::tokens::new_id;

/// Largest single grant.
pub const GRANT_MAX: i64 = 1_000_000_000;
/// Largest monthly limit of a member.
pub const LIMIT_MAX: i64 = 1_000_000_000;

/// Who a ledger row is by: as recorded on activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spender {
    /// USER, API_KEY or SYSTEM.
    pub kind: String,
    /// The person (for a personal key, its owner).
    pub user_id: Option<String>,
    pub api_key_id: Option<String>,
}

impl Spender {
    pub fn of(viewer: &Membership) -> Self {
        Self::of_principal(&viewer.principal)
    }

    pub fn of_principal(principal: &Principal) -> Self {
        Self {
            kind: principal.kind().to_owned(),
            user_id: principal.person_id().map(str::to_owned),
            api_key_id: principal.key().map(|k| k.id.clone()),
        }
    }

    pub fn of_run(run: &agent_run::Model) -> Self {
        Self {
            kind: run.actor_kind.clone(),
            user_id: run.started_by.clone(),
            api_key_id: run.api_key_id.clone(),
        }
    }
}

struct Entry<'a> {
    workspace_id: &'a str,
    kind: CreditEntryKind,
    amount: i64,
    balance_after: i64,
    by: &'a Spender,
    run_id: Option<&'a str>,
    reason: Option<String>,
}

async fn write(db: &impl ConnectionTrait, entry: Entry<'_>) -> AppResult<credit_entry::Model> {
    Ok(credit_entry::ActiveModel {
        seq: NotSet,
        id: Set(new_id()),
        workspace_id: Set(entry.workspace_id.to_owned()),
        kind: Set(entry.kind),
        amount: Set(entry.amount),
        balance_after: Set(entry.balance_after),
        actor_kind: Set(entry.by.kind.clone()),
        actor_id: Set(entry.by.user_id.clone()),
        api_key_id: Set(entry.by.api_key_id.clone()),
        run_id: Set(entry.run_id.map(str::to_owned)),
        reason: Set(entry.reason),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?)
}

/// Adds credits to the pool (GRANT +amount).
pub async fn grant(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    amount: i64,
    reason: Option<String>,
    by: &Spender,
) -> AppResult<credit_entry::Model> {
    if !(1..=GRANT_MAX).contains(&amount) {
        return Err(AppError::bad_input(
            "amount",
            format!("amount must be from 1 to {GRANT_MAX}"),
        ));
    }
    let updated = workspace::Entity::update_many()
        .col_expr(
            workspace::Column::CreditBalance,
            Expr::col(workspace::Column::CreditBalance).add(amount),
        )
        .filter(workspace::Column::Id.eq(workspace_id))
        .filter(workspace::Column::CreditBalance.lte(i64::MAX - amount))
        .exec_with_returning(db)
        .await?;
    let row = updated
        .into_iter()
        .next()
        .ok_or_else(|| AppError::Conflict("the credit balance cannot grow further".into()))?;
    write(
        db,
        Entry {
            workspace_id,
            kind: CreditEntryKind::Grant,
            amount,
            balance_after: row.credit_balance,
            by,
            run_id: None,
            reason,
        },
    )
    .await
}

/// Holds `amount` credits for a run (RESERVE +amount), or
/// INSUFFICIENT_CREDITS when fewer are available.
pub async fn reserve(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    amount: i64,
    run_id: &str,
    by: &Spender,
) -> AppResult<()> {
    let updated = workspace::Entity::update_many()
        .col_expr(
            workspace::Column::CreditsReserved,
            Expr::col(workspace::Column::CreditsReserved).add(amount),
        )
        .filter(workspace::Column::Id.eq(workspace_id))
        .filter(
            Expr::col(workspace::Column::CreditBalance)
                .sub(Expr::col(workspace::Column::CreditsReserved))
                .gte(amount),
        )
        .exec_with_returning(db)
        .await?;
    let Some(row) = updated.into_iter().next() else {
        let pool = workspace::Entity::find_by_id(workspace_id)
            .one(db)
            .await?
            .ok_or(AppError::NotFound("workspace"))?;
        let available = std::cmp::max(pool.credit_balance - pool.credits_reserved, 0);
        return Err(AppError::InsufficientCredits {
            message: format!(
                "the credit pool has {available} credits available; this run asks for {amount}"
            ),
            available,
            requested: amount,
        });
    };
    write(
        db,
        Entry {
            workspace_id,
            kind: CreditEntryKind::Reserve,
            amount,
            balance_after: row.credit_balance,
            by,
            run_id: Some(run_id),
            reason: None,
        },
    )
    .await?;
    Ok(())
}

/// Ends a run's hold: takes what it used (DEBIT −used, never more than
/// reserved) and returns the whole reservation (RELEASE −reserved).
pub async fn settle(db: &impl ConnectionTrait, run: &agent_run::Model) -> AppResult<()> {
    let used = run.credits_used.clamp(0, run.credits_reserved);
    let reserved = run.credits_reserved;
    let updated = workspace::Entity::update_many()
        .col_expr(
            workspace::Column::CreditBalance,
            Expr::col(workspace::Column::CreditBalance).sub(used),
        )
        .col_expr(
            workspace::Column::CreditsReserved,
            Expr::col(workspace::Column::CreditsReserved).sub(reserved),
        )
        .filter(workspace::Column::Id.eq(&run.workspace_id))
        .filter(workspace::Column::CreditsReserved.gte(reserved))
        .filter(workspace::Column::CreditBalance.gte(used))
        .exec_with_returning(db)
        .await?;
    let row = updated.into_iter().next().ok_or_else(|| {
        AppError::internal(anyhow::anyhow!(
            "the pool of workspace {} holds less than run {} reserved",
            run.workspace_id,
            run.id
        ))
    })?;
    let by = Spender::of_run(run);
    if used > 0 {
        write(
            db,
            Entry {
                workspace_id: &run.workspace_id,
                kind: CreditEntryKind::Debit,
                amount: -used,
                balance_after: row.credit_balance,
                by: &by,
                run_id: Some(&run.id),
                reason: None,
            },
        )
        .await?;
    }
    write(
        db,
        Entry {
            workspace_id: &run.workspace_id,
            kind: CreditEntryKind::Release,
            amount: -reserved,
            balance_after: row.credit_balance,
            by: &by,
            run_id: Some(&run.id),
            reason: None,
        },
    )
    .await?;
    Ok(())
}

/// A page of the ledger, newest first; cursors are entry numbers.
pub async fn entries(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    first: u64,
    after: Option<&str>,
) -> AppResult<(Vec<credit_entry::Model>, PageInfo)> {
    let mut query = credit_entry::Entity::find()
        .filter(credit_entry::Column::WorkspaceId.eq(workspace_id))
        .order_by_desc(credit_entry::Column::Seq)
        .limit(first + 1);
    if let Some(after) = after {
        let seq: i64 = after
            .parse()
            .map_err(|_| AppError::bad_input("after", "not a cursor of this list"))?;
        query = query.filter(credit_entry::Column::Seq.lt(seq));
    }
    let mut rows = query.all(db).await?;
    let has_next = rows.len() as u64 > first;
    rows.truncate(first as usize);
    let cursors: Vec<String> = rows.iter().map(|r| r.seq.to_string()).collect();
    Ok((rows, PageInfo::of(&cursors, has_next, after.is_some())))
}

/// The first instant of the calendar month (UTC) that holds `at`.
pub fn month_start(at: DateTime<Utc>) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(at.year(), at.month(), 1, 0, 0, 0)
        .single()
        .unwrap_or(at)
}

/// Credits a person's runs (and their personal keys' runs) took this
/// calendar month: what finished runs used, and what running ones hold.
pub async fn used_this_month(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    user_id: &str,
) -> AppResult<i64> {
    let runs = agent_run::Entity::find()
        .filter(agent_run::Column::WorkspaceId.eq(workspace_id))
        .filter(agent_run::Column::StartedBy.eq(user_id))
        .filter(agent_run::Column::CreatedAt.gte(month_start(Utc::now())))
        .all(db)
        .await?;
    Ok(runs
        .iter()
        .map(|run| match run.status {
            RunStatus::Queued | RunStatus::Running => run.credits_reserved,
            _ => run.credits_used,
        })
        .sum())
}

pub async fn member_limit(db: &impl ConnectionTrait, member_id: &str) -> AppResult<Option<i64>> {
    Ok(member_credit_limit::Entity::find_by_id(member_id)
        .one(db)
        .await?
        .map(|row| row.monthly_limit))
}

/// Sets (or with None, removes) a member's monthly limit; returns the one before.
pub async fn set_member_limit(
    db: &impl ConnectionTrait,
    member_id: &str,
    limit: Option<i64>,
) -> AppResult<Option<i64>> {
    if let Some(limit) = limit
        && !(0..=LIMIT_MAX).contains(&limit)
    {
        return Err(AppError::bad_input(
            "monthlyLimit",
            format!("monthlyLimit must be from 0 to {LIMIT_MAX}"),
        ));
    }
    let before = member_limit(db, member_id).await?;
    member_credit_limit::Entity::delete_by_id(member_id)
        .exec(db)
        .await?;
    if let Some(limit) = limit {
        member_credit_limit::ActiveModel {
            member_id: Set(member_id.to_owned()),
            monthly_limit: Set(limit),
        }
        .insert(db)
        .await?;
    }
    Ok(before)
}

/// Credits and runs of one spender over a period.
#[derive(Debug, FromQueryResult)]
pub struct Usage {
    pub actor_kind: String,
    pub started_by: Option<String>,
    pub api_key_id: Option<String>,
    pub credits: i64,
    pub runs: i64,
}

/// What runs started in `[from, to)` spent, per spender, most first. With
/// `people_only`, a person's runs and their personal keys' runs count as
/// the person's, and workspace keys are left out.
pub async fn usage(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    people_only: bool,
) -> AppResult<Vec<Usage>> {
    let mut query = agent_run::Entity::find()
        .select_only()
        .filter(agent_run::Column::WorkspaceId.eq(workspace_id));
    if let Some(from) = from {
        query = query.filter(agent_run::Column::CreatedAt.gte(from));
    }
    if let Some(to) = to {
        query = query.filter(agent_run::Column::CreatedAt.lt(to));
    }
    if people_only {
        query = query
            .filter(agent_run::Column::StartedBy.is_not_null())
            .column_as(Expr::val("USER"), "actor_kind")
            .column(agent_run::Column::StartedBy)
            .column_as(Expr::value(Option::<String>::None), "api_key_id")
            .group_by(agent_run::Column::StartedBy);
    } else {
        query = query
            .column(agent_run::Column::ActorKind)
            .column(agent_run::Column::StartedBy)
            .column(agent_run::Column::ApiKeyId)
            .group_by(agent_run::Column::ActorKind)
            .group_by(agent_run::Column::StartedBy)
            .group_by(agent_run::Column::ApiKeyId);
    }
    let mut rows = query
        // PostgreSQL sums BIGINT as NUMERIC.
        .column_as(
            Expr::cust("CAST(COALESCE(SUM(credits_used), 0) AS BIGINT)"),
            "credits",
        )
        .column_as(Expr::cust("CAST(COUNT(*) AS BIGINT)"), "runs")
        .into_model::<Usage>()
        .all(db)
        .await?;
    rows.sort_by(|a, b| b.credits.cmp(&a.credits).then(b.runs.cmp(&a.runs)));
    Ok(rows)
}

/// `grantCredits`: adds credits to a workspace's pool, with its activity
/// event, in one transaction.
pub async fn grant_credits(
    db: &sea_orm::DatabaseConnection,
    caller: &Principal,
    workspace_id: &str,
    amount: i64,
    reason: Option<String>,
) -> AppResult<(Membership, credit_entry::Model)> {
    let workspace_id = crate::context::id_arg("workspaceId", workspace_id)?;
    let reason = reason
        .map(|r| crate::text::optional("reason", &r, REASON_MAX))
        .transpose()?
        .flatten();
    let txn = crate::db::begin_write(db).await?;
    let viewer = crate::access::load::locked(&txn, workspace_id, caller).await?;
    viewer.require(Capability::GrantCredits)?;
    let entry = grant(
        &txn,
        workspace_id,
        amount,
        reason.clone(),
        &Spender::of(&viewer),
    )
    .await?;
    let mut changes = Changes::default().created("amount", amount).field(
        "balance",
        entry.balance_after - amount,
        entry.balance_after,
    );
    if let Some(reason) = reason {
        changes = changes.created("reason", reason);
    }
    activity::service::record(
        &txn,
        NewEvent::by(&viewer, Action::CreditsGranted, workspace_id).with(changes),
    )
    .await?;
    txn.commit().await?;
    Ok((viewer, entry))
}

/// Longest reason of a grant.
pub const REASON_MAX: usize = 500;
