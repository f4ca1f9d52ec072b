//! Events per workspace, UTC day and acting person (`activity_daily`),
//! counted in the transaction of each event, so that analytics read a few
//! hundred rows instead of the log.

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DbBackend, Statement};

use crate::error::AppResult;

/// Adds one event to its day's count.
pub async fn count(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    actor_id: Option<&str>,
    at: DateTime<Utc>,
) -> AppResult<()> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "INSERT INTO activity_daily (workspace_id, day, actor_id, events) VALUES ($1, $2, $3, 1)
             ON CONFLICT (workspace_id, day, actor_id) DO UPDATE SET events = activity_daily.events + 1"
        }
        _ => {
            "INSERT INTO activity_daily (workspace_id, day, actor_id, events) VALUES (?, ?, ?, 1)
             ON CONFLICT (workspace_id, day, actor_id) DO UPDATE SET events = activity_daily.events + 1"
        }
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [
            workspace_id.into(),
            at.format("%Y-%m-%d").to_string().into(),
            actor_id.unwrap_or("").into(),
        ],
    ))
    .await?;
    Ok(())
}

/// Counts a workspace's days again from its log (after events were moved
/// or loaded outside `record`).
pub async fn rebuild(db: &impl ConnectionTrait, workspace_id: &str) -> AppResult<()> {
    let backend = db.get_database_backend();
    let (clear, fill) = match backend {
        DbBackend::Postgres => (
            "DELETE FROM activity_daily WHERE workspace_id = $1",
            "INSERT INTO activity_daily (workspace_id, day, actor_id, events)
             SELECT workspace_id, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD'), COALESCE(actor_id, ''), COUNT(*)
             FROM activity_events WHERE workspace_id = $1 GROUP BY 1, 2, 3",
        ),
        _ => (
            "DELETE FROM activity_daily WHERE workspace_id = ?",
            "INSERT INTO activity_daily (workspace_id, day, actor_id, events)
             SELECT workspace_id, substr(created_at, 1, 10), COALESCE(actor_id, ''), COUNT(*)
             FROM activity_events WHERE workspace_id = ? GROUP BY 1, 2, 3",
        ),
    };
    for sql in [clear, fill] {
        db.execute_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [workspace_id.into()],
        ))
        .await?;
    }
    Ok(())
}

/// Forgets the days before `day` (`YYYY-MM-DD`), once their events are purged.
pub async fn forget_before(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    day: &str,
) -> AppResult<()> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => "DELETE FROM activity_daily WHERE workspace_id = $1 AND day < $2",
        _ => "DELETE FROM activity_daily WHERE workspace_id = ? AND day < ?",
    };
    db.execute_raw(Statement::from_sql_and_values(
        backend,
        sql,
        [workspace_id.into(), day.into()],
    ))
    .await?;
    Ok(())
}
