//! Run workers: each server runs `RUN_WORKERS` of them. A worker claims the
//! oldest queued run under a lease (`RUN_LEASE_SECS`), renews it as the
//! reply streams in, and ends the run. A sweeper fails runs whose lease
//! lapsed — their server stopped — and settles their credits; a run a live
//! server holds is never touched, since that server keeps renewing it.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use entity::enums::RunStatus;
use entity::{agent, agent_run, agent_version};
use futures_util::StreamExt;
use sea_orm::sea_query::{Expr, ExprTrait, LockBehavior, LockType};
use sea_orm::{
    ActiveEnum, ColumnTrait, DbBackend, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use serde_json::json;

use super::finish::{self, Ender, Ending};
use super::service::append_event;
use crate::access::load::lock_workspace;
use crate::config::ProviderKind;
use crate::db::begin_write;
use crate::error::AppResult;
use crate::events::runs::{RUNS_CHANNEL, notify};
use crate::llm::Prompt;
use crate::state::AppState;
use crate::tokens::new_id;

/// How often an idle worker looks for queued runs of other servers.
const IDLE_POLL: Duration = Duration::from_millis(500);

/// Starts this server's workers and its sweeper. Each worker's lease names
/// this server.
pub fn spawn(state: &AppState) {
    let me: Arc<str> = Arc::from(new_id());
    for _ in 0..state.config.work.run_workers {
        let state = state.clone();
        let me = me.clone();
        tokio::spawn(async move { work(state, me).await });
    }
    // A server without workers still fails runs whose server stopped.
    let state = state.clone();
    tokio::spawn(async move { sweep(state).await });
}

async fn work(state: AppState, me: Arc<str>) {
    loop {
        match claim(&state, &me).await {
            Ok(Some(run)) => {
                let id = run.id.clone();
                let workspace_id = run.workspace_id.clone();
                if let Err(err) = execute(&state, &me, run).await {
                    tracing::warn!(run = %id, error = %err, "a run stopped on an error");
                    // Fail it now; should that fail too, the lease lapses
                    // and the sweeper fails it.
                    let ending =
                        Ending::Failed("the server hit an internal error running it".into());
                    if let Err(err) = end(&state, &me, &id, &workspace_id, ending).await {
                        tracing::warn!(run = %id, error = %err, "failing a run failed");
                    }
                }
            }
            Ok(None) => {
                tokio::select! {
                    () = state.hub.runs().wait_queued() => {}
                    () = tokio::time::sleep(IDLE_POLL) => {}
                }
            }
            Err(err) => {
                tracing::warn!(error = %err, "claiming a queued run failed");
                tokio::time::sleep(IDLE_POLL).await;
            }
        }
    }
}

fn lease_end(state: &AppState) -> chrono::DateTime<Utc> {
    Utc::now() + chrono::Duration::from_std(state.config.work.run_lease).unwrap_or_default()
}

/// Takes the oldest queued run, if any, and marks it RUNNING under this
/// server's lease.
async fn claim(state: &AppState, me: &str) -> AppResult<Option<agent_run::Model>> {
    let db = &state.db;
    // A plain read first, so idle workers take no write lock.
    let queued = agent_run::Entity::find()
        .filter(agent_run::Column::Status.eq(RunStatus::Queued))
        .count(db)
        .await?;
    if queued == 0 {
        return Ok(None);
    }
    let txn = begin_write(db).await?;
    let mut oldest = agent_run::Entity::find()
        .filter(agent_run::Column::Status.eq(RunStatus::Queued))
        .order_by_asc(agent_run::Column::CreatedAt)
        .limit(1);
    if db.get_database_backend() == DbBackend::Postgres {
        oldest = oldest.lock_with_behavior(LockType::Update, LockBehavior::SkipLocked);
    }
    let Some(candidate) = oldest.one(&txn).await? else {
        txn.commit().await?;
        return Ok(None);
    };
    let claimed = agent_run::Entity::update_many()
        .col_expr(
            agent_run::Column::Status,
            Expr::value(RunStatus::Running.to_value()),
        )
        .col_expr(agent_run::Column::LeaseOwner, Expr::value(me))
        .col_expr(
            agent_run::Column::LeaseExpiresAt,
            Expr::value(lease_end(state)),
        )
        .col_expr(agent_run::Column::StartedAt, Expr::value(Utc::now()))
        .col_expr(
            agent_run::Column::LastSeq,
            Expr::col(agent_run::Column::LastSeq).add(1),
        )
        .filter(agent_run::Column::Id.eq(&candidate.id))
        .filter(agent_run::Column::Status.eq(RunStatus::Queued))
        .exec_with_returning(&txn)
        .await?;
    let Some(run) = claimed.into_iter().next() else {
        txn.commit().await?;
        return Ok(None);
    };
    append_event(&txn, &run.id, run.last_seq, "run.started", None).await?;
    notify(&txn, RUNS_CHANNEL, &run.id).await?;
    txn.commit().await?;
    state.hub.runs().progressed(&run.id);
    Ok(Some(run))
}

/// What the model is asked: the agent's version the run was started with;
/// Err with the reason when it cannot be asked.
async fn prompt(state: &AppState, run: &agent_run::Model) -> AppResult<Result<Prompt, String>> {
    let mut prompt = Prompt {
        agent_name: None,
        instructions: None,
        style_memory: None,
        input: run.input.clone(),
        api_key: None,
    };
    if state.config.work.provider == ProviderKind::Openai {
        use crate::provider_keys::service::{RunKey, open_for_run};
        match open_for_run(state, &run.workspace_id, "openai").await? {
            RunKey::Server => {}
            RunKey::Own(key) => prompt.api_key = Some(key),
            RunKey::Unusable => {
                return Ok(Err(
                    "the workspace's provider key cannot be opened on this server (its SECRETS_KEY is not the one the key was set with); set the key again".into(),
                ));
            }
        }
    }
    if let (Some(agent_id), Some(version)) = (&run.agent_id, run.agent_version) {
        if let Some(agent) = agent::Entity::find_by_id(agent_id).one(&state.db).await? {
            prompt.agent_name = Some(agent.name);
        }
        if let Some(v) = agent_version::Entity::find_by_id((agent_id.clone(), version))
            .one(&state.db)
            .await?
        {
            prompt.instructions = Some(v.instructions);
            prompt.style_memory = v.style_memory;
        }
    }
    Ok(Ok(prompt))
}

/// Streams the reply into the run's events until it ends, is cancelled,
/// or spends its reservation.
async fn execute(state: &AppState, me: &str, run: agent_run::Model) -> AppResult<()> {
    let prompt = match prompt(state, &run).await? {
        Ok(prompt) => prompt,
        Err(why) => return end(state, me, &run.id, &run.workspace_id, Ending::Failed(why)).await,
    };
    let mut chunks = state.provider.stream(prompt);
    let mut output = run.output.clone();
    let mut used = run.credits_used;
    let mut renew = tokio::time::interval(state.config.work.run_lease / 3);
    renew.tick().await;
    let deadline = tokio::time::sleep(state.config.work.run_max);
    tokio::pin!(deadline);
    let max_chars = state.config.work.run_output_max_chars;
    let mut chars = output.chars().count();
    let ending = loop {
        tokio::select! {
            next = chunks.next() => match next {
                Some(Ok(chunk)) => {
                    if used + chunk.credits > run.credits_reserved {
                        break Ending::Failed(format!(
                            "the run spent the {} credits it reserved before its reply was complete",
                            run.credits_reserved
                        ));
                    }
                    chars += chunk.text.chars().count();
                    if chars > max_chars {
                        break Ending::Failed(format!(
                            "the reply grew past {max_chars} characters (RUN_OUTPUT_MAX_CHARS)"
                        ));
                    }
                    output.push_str(&chunk.text);
                    used += chunk.credits;
                    if !append_delta(state, me, &run.id, &chunk.text, &output, used).await? {
                        return Ok(());
                    }
                }
                Some(Err(err)) => break Ending::Failed(err.0),
                None => break Ending::Succeeded,
            },
            _ = renew.tick() => {
                if !renew_lease(state, me, &run.id).await? {
                    return Ok(());
                }
            }
            () = &mut deadline => {
                break Ending::Failed(format!(
                    "the run was still streaming after {} s (RUN_MAX_SECS)",
                    state.config.work.run_max.as_secs()
                ));
            }
        }
    };
    end(state, me, &run.id, &run.workspace_id, ending).await
}

/// Writes the next piece of output; false when the run is no longer this
/// worker's (cancelled, or its lease lapsed).
async fn append_delta(
    state: &AppState,
    me: &str,
    run_id: &str,
    text: &str,
    output: &str,
    used: i64,
) -> AppResult<bool> {
    let txn = begin_write(&state.db).await?;
    let updated = agent_run::Entity::update_many()
        .col_expr(agent_run::Column::Output, Expr::value(output))
        .col_expr(agent_run::Column::CreditsUsed, Expr::value(used))
        .col_expr(
            agent_run::Column::LastSeq,
            Expr::col(agent_run::Column::LastSeq).add(1),
        )
        .col_expr(
            agent_run::Column::LeaseExpiresAt,
            Expr::value(lease_end(state)),
        )
        .filter(agent_run::Column::Id.eq(run_id))
        .filter(agent_run::Column::Status.eq(RunStatus::Running))
        .filter(agent_run::Column::LeaseOwner.eq(me))
        .exec_with_returning(&txn)
        .await?;
    let Some(run) = updated.into_iter().next() else {
        txn.commit().await?;
        return Ok(false);
    };
    append_event(
        &txn,
        run_id,
        run.last_seq,
        "run.delta",
        Some(json!({ "text": text })),
    )
    .await?;
    notify(&txn, RUNS_CHANNEL, run_id).await?;
    txn.commit().await?;
    state.hub.runs().progressed(run_id);
    Ok(true)
}

async fn renew_lease(state: &AppState, me: &str, run_id: &str) -> AppResult<bool> {
    let renewed = agent_run::Entity::update_many()
        .col_expr(
            agent_run::Column::LeaseExpiresAt,
            Expr::value(lease_end(state)),
        )
        .filter(agent_run::Column::Id.eq(run_id))
        .filter(agent_run::Column::Status.eq(RunStatus::Running))
        .filter(agent_run::Column::LeaseOwner.eq(me))
        .exec(&state.db)
        .await?;
    Ok(renewed.rows_affected == 1)
}

async fn end(
    state: &AppState,
    me: &str,
    run_id: &str,
    workspace_id: &str,
    ending: Ending,
) -> AppResult<()> {
    let txn = begin_write(&state.db).await?;
    lock_workspace(&txn, workspace_id).await?;
    let ended = finish::end(&txn, run_id, ending, Ender::Worker { lease_owner: me }).await?;
    txn.commit().await?;
    if ended.is_some() {
        state.hub.runs().ended(run_id);
        state.hub.poke();
    }
    Ok(())
}

/// Fails, every half lease, the runs whose lease lapsed.
async fn sweep(state: AppState) {
    let every = (state.config.work.run_lease / 2).max(Duration::from_millis(500));
    loop {
        if let Err(err) = sweep_once(&state).await {
            tracing::warn!(error = %err, "failing runs whose server stopped failed");
        }
        tokio::time::sleep(every).await;
    }
}

/// Fails the runs whose lease lapsed and settles their credits; returns
/// how many.
pub async fn sweep_once(state: &AppState) -> AppResult<usize> {
    let lapsed = agent_run::Entity::find()
        .filter(agent_run::Column::Status.eq(RunStatus::Running))
        .filter(agent_run::Column::LeaseExpiresAt.lt(Utc::now()))
        .all(&state.db)
        .await?;
    let mut failed = 0;
    for run in lapsed {
        let txn = begin_write(&state.db).await?;
        lock_workspace(&txn, &run.workspace_id).await?;
        let error = "the server running it stopped before it finished".to_owned();
        let ended = finish::end(&txn, &run.id, Ending::Failed(error), Ender::Lapsed).await?;
        txn.commit().await?;
        if ended.is_some() {
            failed += 1;
            state.hub.runs().ended(&run.id);
            state.hub.poke();
        }
    }
    Ok(failed)
}
