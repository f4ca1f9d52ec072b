//! Background work of a running server: live feeds, releasing memory after
//! connection bursts, mail delivery, recording expired invitations,
//! purging workspaces past their grace period, and deleting activity past
//! its retention.

use std::time::Duration;

use crate::state::AppState;
use crate::{invitations, mail, notifications, workspaces};

const SWEEP_EVERY: Duration = Duration::from_secs(60);
const PURGE_EVERY: Duration = Duration::from_secs(24 * 3600);
/// How often instant notifications are sent; digests go every hour.
const NOTIFY_EVERY: Duration = Duration::from_secs(5);
const DIGEST_EVERY_TICKS: u64 = 3600 / 5;
/// How often rate counts are shared between servers.
const SHARE_EVERY: Duration = Duration::from_secs(1);

pub fn spawn(state: &AppState) -> anyhow::Result<()> {
    state.hub.start();
    crate::runs::worker::spawn(state);
    crate::tasks::flow::spawn(state);
    crate::memory::spawn_releaser(state.metrics.clone(), state.hub.clone());
    if state.config.deliver_mail {
        let mailer = mail::Mailer::from_config(&state.config)?;
        mail::spawn_worker(state.db.clone(), mailer, state.mail.clone());
    }
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SWEEP_EVERY);
        loop {
            tick.tick().await;
            if let Err(err) = invitations::service::sweep_all(&db).await {
                tracing::warn!(error = %err, "sweeping expired invitations failed");
            }
            if let Err(err) = crate::http::idempotency::sweep(&db).await {
                tracing::warn!(error = %err, "sweeping old idempotency keys failed");
            }
        }
    });
    // Rate counts shared between servers, and key usage added to its
    // rollup.
    let shared = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(SHARE_EVERY);
        let mut ticks = 0u64;
        loop {
            tick.tick().await;
            if let Err(err) = shared.limits.share(&shared.db).await {
                tracing::warn!(error = %err, "sharing rate counts failed");
            }
            ticks += 1;
            if ticks.is_multiple_of(10)
                && let Err(err) = shared.key_usage.flush(&shared.db).await
            {
                tracing::warn!(error = %err, "adding key usage to the rollup failed");
            }
        }
    });
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(NOTIFY_EVERY);
        let mut ticks = 0u64;
        loop {
            tick.tick().await;
            let now = chrono::Utc::now();
            let settled = now - notifications::deliver::SETTLE;
            if let Err(err) = notifications::deliver::instant(&db, settled).await {
                tracing::warn!(error = %err, "sending instant notifications failed");
            }
            ticks += 1;
            if ticks.is_multiple_of(DIGEST_EVERY_TICKS) {
                match notifications::deliver::digests(&db, now).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(digests = n, "sent notification digests"),
                    Err(err) => tracing::warn!(error = %err, "sending digests failed"),
                }
            }
        }
    });
    let db = state.db.clone();
    let storage = state.storage.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(PURGE_EVERY);
        loop {
            tick.tick().await;
            match workspaces::service::purge_expired(&db, &storage).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(purged = n, "purged deleted workspaces"),
                Err(err) => tracing::warn!(error = %err, "purging deleted workspaces failed"),
            }
            match crate::activity::retention::purge_expired(&db, chrono::Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "deleted activity past its retention"),
                Err(err) => tracing::warn!(error = %err, "deleting old activity failed"),
            }
        }
    });
    Ok(())
}
