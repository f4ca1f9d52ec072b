//! Delivering notifications through the mail outbox: instant ones as the
//! activity log grows (one reader at a time, under the cursor's lock), and
//! digests when their period is due (each digest and its mark in one
//! transaction, so none is sent twice).

use std::collections::HashMap;

use chrono::{DateTime, Datelike, Duration, Utc};
use entity::enums::MemberStatus;
use entity::{activity_event, digest_mark, member, user, workspace};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, SqlErr,
};

use super::preferences::{self, Choices};
use super::{NotificationCategory, NotificationMode};
use crate::access::{Audience, Membership, Principal};
use crate::db::begin_write;
use crate::error::{AppError, AppResult};

/// Events the instant notifier reads at a time.
const BATCH: u64 = 200;
/// Most events one digest lists.
const DIGEST_MAX: u64 = 500;
/// Events younger than this are left for the next pass, so that one whose
/// transaction committed after a later one's is not skipped.
pub const SETTLE: Duration = Duration::seconds(5);

/// A member who may hear of a workspace's events, with what applies to it.
struct Listener {
    membership: Membership,
    email: String,
    own: Choices,
}

impl Listener {
    /// Whether this event reaches this listener in this mode.
    fn hears(
        &self,
        event: &activity_event::Model,
        defaults: &Choices,
        mode: NotificationMode,
    ) -> bool {
        let Some(category) = NotificationCategory::of_action(&event.action) else {
            return false;
        };
        event.actor_id.as_deref() != self.membership.user_id()
            && preferences::resolve(&self.own, defaults, category) == mode
            && Audience::of(&self.membership).admits(&event.area, event.workroom_id.as_deref())
    }
}

/// The active members of a workspace, as they stand now, with their choices.
async fn listeners(
    db: &impl ConnectionTrait,
    workspace: &workspace::Model,
    only: Option<&str>,
) -> AppResult<Vec<Listener>> {
    let mut query = member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(&workspace.id))
        .filter(member::Column::Status.eq(MemberStatus::Active));
    if let Some(member_id) = only {
        query = query.filter(member::Column::Id.eq(member_id));
    }
    let members = query.all(db).await?;
    let ids: Vec<String> = members.iter().map(|m| m.user_id.clone()).collect();
    let emails: HashMap<String, String> = user::Entity::find()
        .select_only()
        .column(user::Column::Id)
        .column(user::Column::Email)
        .filter(user::Column::Id.is_in(ids))
        .into_tuple::<(String, String)>()
        .all(db)
        .await?
        .into_iter()
        .collect();
    let mut out = Vec::with_capacity(members.len());
    for member in members {
        let Some(email) = emails.get(&member.user_id).cloned() else {
            continue;
        };
        let own = preferences::own(db, &member.id).await?;
        let custom_role = crate::access::load::custom_role_of(db, &member).await?;
        let principal = Principal::Person {
            user_id: member.user_id.clone(),
        };
        let membership =
            Membership::new(workspace.clone(), member, custom_role).held_by(&principal);
        out.push(Listener {
            membership,
            email,
            own,
        });
    }
    Ok(out)
}

fn line(event: &activity_event::Model, names: &HashMap<String, String>) -> String {
    let who = event
        .actor_id
        .as_ref()
        .and_then(|id| names.get(id))
        .map_or_else(|| "Atrium".to_owned(), Clone::clone);
    format!(
        "{} {}: {} {} ({})",
        event.created_at.format("%Y-%m-%d %H:%M UTC"),
        who,
        event.action,
        event.target_type,
        event.target_id.as_deref().unwrap_or("-"),
    )
}

/// Mails INSTANT notifications of the events logged since the last pass
/// (and before `settled`). Returns how many e-mails were queued.
pub async fn instant(db: &DatabaseConnection, settled: DateTime<Utc>) -> AppResult<usize> {
    let txn = begin_write(db).await?;
    let cursor = entity::notification_cursor::Entity::find_by_id("instant")
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or_else(|| AppError::internal(anyhow::anyhow!("the instant cursor is missing")))?;
    let mut events = activity_event::Entity::find()
        .filter(activity_event::Column::Seq.gt(cursor.seq))
        .order_by_asc(activity_event::Column::Seq)
        .limit(BATCH)
        .all(&txn)
        .await?;
    // Stop at the first event too young to be sure no older seq is still
    // to commit; the next pass starts there.
    if let Some(young) = events.iter().position(|e| e.created_at >= settled) {
        events.truncate(young);
    }
    let Some(last) = events.last().map(|e| e.seq) else {
        txn.commit().await?;
        return Ok(0);
    };
    let names = crate::activity::service::actor_names(&txn, &events).await?;
    let mut audiences: HashMap<String, (workspace::Model, Choices, Vec<Listener>)> = HashMap::new();
    let mut sent = 0;
    for event in &events {
        if NotificationCategory::of_action(&event.action).is_none() {
            continue;
        }
        if !audiences.contains_key(&event.workspace_id) {
            let Some(ws) = workspace::Entity::find_by_id(&event.workspace_id)
                .one(&txn)
                .await?
            else {
                continue;
            };
            let defaults = preferences::defaults(&txn, &ws.id).await?;
            let listening = listeners(&txn, &ws, None).await?;
            audiences.insert(ws.id.clone(), (ws, defaults, listening));
        }
        let Some((ws, defaults, listening)) = audiences.get(&event.workspace_id) else {
            continue;
        };
        if ws.deleted_at.is_some() {
            continue;
        }
        for listener in listening {
            if listener.hears(event, defaults, NotificationMode::Instant) {
                let subject = format!("{}: {}", ws.name, event.action);
                let body = format!(
                    "{}\n\nYou get this because {} notifications of {} are set to INSTANT.\n",
                    line(event, &names),
                    NotificationCategory::of_action(&event.action).map_or("", |c| c.name()),
                    ws.name,
                );
                crate::mail::enqueue(&txn, &listener.email, &subject, body).await?;
                sent += 1;
            }
        }
    }
    let mut row: entity::notification_cursor::ActiveModel = cursor.into();
    row.seq = Set(last);
    row.update(&txn).await?;
    txn.commit().await?;
    Ok(sent)
}

/// The start of the current period (UTC midnight; Monday for weeks).
fn period_start(mode: NotificationMode, now: DateTime<Utc>) -> DateTime<Utc> {
    let day = now.date_naive();
    let day = match mode {
        NotificationMode::Weekly => {
            day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
        }
        _ => day,
    };
    day.and_hms_opt(0, 0, 0).map_or(now, |t| t.and_utc())
}

/// Sends every DAILY and WEEKLY digest due at `now`: one per member and
/// period whose last digest is older than the period's start, gathering
/// the events since that digest (at most 500). Returns the digests sent.
pub async fn digests(db: &DatabaseConnection, now: DateTime<Utc>) -> AppResult<usize> {
    let workspaces = workspace::Entity::find()
        .filter(workspace::Column::DeletedAt.is_null())
        .all(db)
        .await?;
    let mut sent = 0;
    for ws in &workspaces {
        let defaults = preferences::defaults(db, &ws.id).await?;
        let members = member::Entity::find()
            .filter(member::Column::WorkspaceId.eq(&ws.id))
            .filter(member::Column::Status.eq(MemberStatus::Active))
            .all(db)
            .await?;
        for member in members {
            for mode in [NotificationMode::Daily, NotificationMode::Weekly] {
                if digest_one(db, ws, &defaults, &member, mode, now).await? {
                    sent += 1;
                }
            }
        }
    }
    Ok(sent)
}

/// One member's digest of one period, when due; true when one was queued.
async fn digest_one(
    db: &DatabaseConnection,
    ws: &workspace::Model,
    defaults: &Choices,
    member: &member::Model,
    mode: NotificationMode,
    now: DateTime<Utc>,
) -> AppResult<bool> {
    let own = preferences::own(db, &member.id).await?;
    let wanted: Vec<&str> = NotificationCategory::ALL
        .into_iter()
        .filter(|c| preferences::resolve(&own, defaults, *c) == mode)
        .map(NotificationCategory::name)
        .collect();
    if wanted.is_empty() {
        return Ok(false);
    }
    let start = period_start(mode, now);
    let period = mode.name();
    let txn = begin_write(db).await?;
    let mark = digest_mark::Entity::find_by_id((member.id.clone(), period.to_owned()))
        .one(&txn)
        .await?;
    if mark.as_ref().is_some_and(|m| m.sent_at >= start) {
        txn.commit().await?;
        return Ok(false);
    }
    let mut query = activity_event::Entity::find()
        .filter(activity_event::Column::WorkspaceId.eq(&ws.id))
        .filter(activity_event::Column::CreatedAt.lt(start));
    query = match &mark {
        Some(mark) => query.filter(activity_event::Column::Seq.gt(mark.last_seq)),
        // A first digest covers the period just ended.
        None => {
            let length = if mode == NotificationMode::Weekly {
                7
            } else {
                1
            };
            query.filter(activity_event::Column::CreatedAt.gte(start - Duration::days(length)))
        }
    };
    let events = query
        .order_by_asc(activity_event::Column::Seq)
        .limit(DIGEST_MAX)
        .all(&txn)
        .await?;
    let last_seq = match (events.last(), &mark) {
        (Some(event), _) => event.seq,
        (None, Some(mark)) => mark.last_seq,
        // A quiet first period: the mark starts at the log's end before
        // `start`, so the next digest does not reach back into history.
        (None, None) => {
            let newest: Option<Option<i64>> = activity_event::Entity::find()
                .select_only()
                .expr(Expr::col(activity_event::Column::Seq).max())
                .filter(activity_event::Column::WorkspaceId.eq(&ws.id))
                .filter(activity_event::Column::CreatedAt.lt(start))
                .into_tuple()
                .one(&txn)
                .await?;
            newest.flatten().unwrap_or(0)
        }
    };
    let listener = listeners(&txn, ws, Some(&member.id)).await?.pop();
    let heard: Vec<&activity_event::Model> = match &listener {
        Some(listener) => events
            .iter()
            .filter(|e| listener.hears(e, defaults, mode))
            .collect(),
        None => Vec::new(),
    };
    let row = digest_mark::ActiveModel {
        member_id: Set(member.id.clone()),
        period: Set(period.to_owned()),
        last_seq: Set(last_seq),
        sent_at: Set(now),
    };
    // The mark moves only from what this pass read: a concurrent pass that
    // got there first leaves nothing to update (or makes the insert fail),
    // and this one sends nothing.
    let claimed = match &mark {
        Some(old) => {
            digest_mark::Entity::update_many()
                .set(row)
                .filter(digest_mark::Column::MemberId.eq(&member.id))
                .filter(digest_mark::Column::Period.eq(period))
                .filter(digest_mark::Column::SentAt.eq(old.sent_at))
                .exec(&txn)
                .await?
                .rows_affected
                == 1
        }
        None => match digest_mark::Entity::insert(row)
            .exec_without_returning(&txn)
            .await
        {
            Ok(_) => true,
            Err(err) if matches!(err.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
                false
            }
            Err(err) => return Err(err.into()),
        },
    };
    if !claimed {
        return Ok(false);
    }
    let mut queued = false;
    if let (Some(listener), false) = (&listener, heard.is_empty()) {
        let owned: Vec<activity_event::Model> = heard.iter().map(|e| (*e).clone()).collect();
        let names = crate::activity::service::actor_names(&txn, &owned).await?;
        let lines: Vec<String> = owned.iter().map(|e| line(e, &names)).collect();
        let subject = format!(
            "{}: your {} digest ({} events)",
            ws.name,
            period.to_lowercase(),
            lines.len()
        );
        let body = format!(
            "What happened in {} since your last digest:\n\n{}\n",
            ws.name,
            lines.join("\n")
        );
        crate::mail::enqueue(&txn, &listener.email, &subject, body).await?;
        queued = true;
    }
    txn.commit().await?;
    Ok(queued)
}
