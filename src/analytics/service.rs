//! The figures of a period, each from one query over a daily rollup or an
//! index: activity per day and actor (`activity_daily`), API calls (the key
//! usage rollup), members by joining date, prompt fetches (their daily
//! rollup). Periods count whole UTC days.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, NaiveDate, Utc};
use entity::{member, prompt};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter, QueryResult, Statement,
    Value,
};

use super::buckets::{self, end_of, start_of};
use super::{Bucket, Figures};
use crate::access::{Capability, Membership};
use crate::error::AppResult;

/// Most members and prompts in the top lists.
const TOP: usize = 10;

fn statement(backend: DbBackend, sqlite: &str, postgres: &str, values: Vec<Value>) -> Statement {
    let sql = match backend {
        DbBackend::Postgres => postgres,
        _ => sqlite,
    };
    Statement::from_sql_and_values(backend, sql, values)
}

fn day_of(text: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text.get(..10)?, "%Y-%m-%d").ok()
}

fn get<T: sea_orm::TryGetable>(row: &QueryResult, column: &str) -> AppResult<T> {
    Ok(row.try_get::<T>("", column)?)
}

/// Events per UTC day and acting person on the days `[from, to]` (from
/// the daily rollup).
async fn activity(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<(NaiveDate, Option<String>, i64)>> {
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            "SELECT day, actor_id, events FROM activity_daily
             WHERE workspace_id = ? AND day >= ? AND day <= ?",
            "SELECT day, actor_id, events FROM activity_daily
             WHERE workspace_id = $1 AND day >= $2 AND day <= $3",
            vec![
                workspace_id.into(),
                from.format("%Y-%m-%d").to_string().into(),
                to.format("%Y-%m-%d").to_string().into(),
            ],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let day: String = get(&row, "day")?;
        let actor: String = get(&row, "actor_id")?;
        if let Some(day) = day_of(&day) {
            out.push((
                day,
                (!actor.is_empty()).then_some(actor),
                get(&row, "events")?,
            ));
        }
    }
    Ok(out)
}

/// Requests by the workspace's API keys per UTC day, on the days `[from, to)` touches.
async fn api_calls(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<(NaiveDate, i64)>> {
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            "SELECT u.day AS day, CAST(SUM(u.requests) AS BIGINT) AS n FROM api_key_usage u
             JOIN api_keys k ON k.id = u.api_key_id
             WHERE k.workspace_id = ? AND u.day >= ? AND u.day <= ? GROUP BY u.day",
            "SELECT u.day AS day, CAST(SUM(u.requests) AS BIGINT) AS n FROM api_key_usage u
             JOIN api_keys k ON k.id = u.api_key_id
             WHERE k.workspace_id = $1 AND u.day >= $2 AND u.day <= $3 GROUP BY u.day",
            vec![
                workspace_id.into(),
                from.format("%Y-%m-%d").to_string().into(),
                to.format("%Y-%m-%d").to_string().into(),
            ],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let day: String = get(&row, "day")?;
        if let Some(day) = day_of(&day) {
            out.push((day, get(&row, "n")?));
        }
    }
    Ok(out)
}

/// The prompts fetched most in `[from, to)` (whole UTC days), with their fetches.
async fn top_prompts(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> AppResult<Vec<(prompt::Model, i64)>> {
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            "SELECT prompt_id, CAST(SUM(fetches) AS BIGINT) AS n FROM prompt_fetches
             WHERE workspace_id = ? AND day >= ? AND day < ?
             GROUP BY prompt_id ORDER BY n DESC, prompt_id LIMIT 10",
            "SELECT prompt_id, CAST(SUM(fetches) AS BIGINT) AS n FROM prompt_fetches
             WHERE workspace_id = $1 AND day >= $2 AND day < $3
             GROUP BY prompt_id ORDER BY n DESC, prompt_id LIMIT 10",
            vec![workspace_id.into(), from.into(), to.into()],
        ))
        .await?;
    let mut counts = Vec::with_capacity(rows.len());
    for row in rows {
        counts.push((get::<String>(&row, "prompt_id")?, get::<i64>(&row, "n")?));
    }
    let ids: Vec<String> = counts.iter().map(|(id, _)| id.clone()).collect();
    let mut prompts: HashMap<String, prompt::Model> = prompt::Entity::find()
        .filter(prompt::Column::Id.is_in(ids))
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.id.clone(), p))
        .collect();
    Ok(counts
        .into_iter()
        .filter_map(|(id, n)| Some((prompts.remove(&id)?, n)))
        .collect())
}

fn midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Every figure of `[from, to)` for the viewer's workspace.
pub async fn figures(
    db: &impl ConnectionTrait,
    viewer: &Membership,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    bucket: Bucket,
) -> AppResult<Figures> {
    let starts = buckets::starts(bucket, from, to)?;
    let workspace_id = viewer.workspace_id();
    let index: HashMap<NaiveDate, usize> =
        starts.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let slot = |day: NaiveDate| index.get(&start_of(bucket, day)).copied();

    let mut events = vec![0i64; starts.len()];
    let mut actors: Vec<HashSet<String>> = vec![HashSet::new(); starts.len()];
    let mut per_actor: BTreeMap<String, i64> = BTreeMap::new();
    let last_day = (to - chrono::Duration::nanoseconds(1)).date_naive();
    for (day, actor, n) in activity(db, workspace_id, from.date_naive(), last_day).await? {
        let Some(i) = slot(day) else { continue };
        events[i] += n;
        if let Some(actor) = actor {
            *per_actor.entry(actor.clone()).or_default() += n;
            actors[i].insert(actor);
        }
    }

    let mut api = vec![0i64; starts.len()];
    for (day, n) in api_calls(db, workspace_id, from.date_naive(), last_day).await? {
        if let Some(i) = slot(day) {
            api[i] += n;
        }
    }

    // Members at the end of each bucket: today's members by when they joined.
    let mut members = member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .filter(member::Column::Status.eq(entity::enums::MemberStatus::Active))
        .all(db)
        .await?;
    members.sort_by_key(|m| m.joined_at);
    let member_count: Vec<i64> = starts
        .iter()
        .map(|start| {
            let end = end_of(bucket, *start).min(to);
            members.partition_point(|m| m.joined_at < end) as i64
        })
        .collect();

    // Members are shown only to those who may read the member list.
    if !viewer.allows(Capability::ReadMembers) {
        per_actor.clear();
    }
    let mut ranked: Vec<(String, i64)> = per_actor.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut top_members = Vec::new();
    for (user_id, n) in ranked {
        if top_members.len() == TOP {
            break;
        }
        if let Some(found) = members.iter().find(|m| m.user_id == user_id) {
            top_members.push((found.clone(), n));
        }
    }

    // Prompts are shown only to those who may read them.
    let top_prompts = if viewer.allows(Capability::ReadPrompts) {
        top_prompts(db, workspace_id, midnight(from.date_naive()), to).await?
    } else {
        Vec::new()
    };

    Ok(Figures {
        starts: starts.into_iter().map(midnight).collect(),
        events,
        active_members: actors.into_iter().map(|s| s.len() as i64).collect(),
        api_calls: api,
        member_count,
        top_members,
        top_prompts,
    })
}
