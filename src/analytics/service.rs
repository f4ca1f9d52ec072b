//! The figures of a period, each from one query over a daily rollup or an
//! index: events and active people per bucket and events per person, summed
//! by the database from `activity_daily`; API calls (the key usage rollup);
//! members by joining date; prompt fetches (their daily rollup). Periods
//! count whole UTC days.

use std::collections::HashMap;

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

/// The SQL for the first day of a bucket, from a `day` column (`YYYY-MM-DD`).
fn bucket_of_day(backend: DbBackend, bucket: Bucket) -> &'static str {
    match (bucket, backend) {
        (Bucket::Day, _) => "day",
        (Bucket::Week, DbBackend::Postgres) => {
            "to_char(date_trunc('week', CAST(day AS date)), 'YYYY-MM-DD')"
        }
        (Bucket::Week, _) => {
            "date(day, '-' || ((CAST(strftime('%w', day) AS INTEGER) + 6) % 7) || ' days')"
        }
        (Bucket::Month, _) => "substr(day, 1, 7) || '-01'",
    }
}

/// Events and distinct acting people per bucket on the days `[from, to]`,
/// summed from the daily rollup by the database.
async fn activity(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    bucket: Bucket,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<(NaiveDate, i64, i64)>> {
    let backend = db.get_database_backend();
    let key = bucket_of_day(backend, bucket);
    let placeholders = match backend {
        DbBackend::Postgres => ["$1", "$2", "$3"],
        _ => ["?", "?", "?"],
    };
    // A row per day and person: by day, the people are its rows; over
    // longer buckets, a person counts once per bucket. Hash aggregation
    // both ways (a DISTINCT count would sort).
    let sql = match bucket {
        Bucket::Day => format!(
            "SELECT day AS bucket, CAST(SUM(events) AS BIGINT) AS n,
                CAST(COUNT(NULLIF(actor_id, '')) AS BIGINT) AS actors
             FROM activity_daily
             WHERE workspace_id = {} AND day >= {} AND day <= {}
             GROUP BY day",
            placeholders[0], placeholders[1], placeholders[2]
        ),
        _ => format!(
            "SELECT bucket, CAST(SUM(n) AS BIGINT) AS n,
                CAST(COUNT(NULLIF(actor_id, '')) AS BIGINT) AS actors
             FROM (SELECT {key} AS bucket, actor_id, SUM(events) AS n
                   FROM activity_daily
                   WHERE workspace_id = {} AND day >= {} AND day <= {}
                   GROUP BY 1, 2) per_person
             GROUP BY bucket",
            placeholders[0], placeholders[1], placeholders[2]
        ),
    };
    let rows = db
        .query_all_raw(Statement::from_sql_and_values(
            backend,
            sql,
            [
                workspace_id.into(),
                from.format("%Y-%m-%d").to_string().into(),
                to.format("%Y-%m-%d").to_string().into(),
            ],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let start: String = get(&row, "bucket")?;
        if let Some(start) = day_of(&start) {
            out.push((start, get(&row, "n")?, get(&row, "actors")?));
        }
    }
    Ok(out)
}

/// Events per acting person on the days `[from, to]`, most first.
async fn per_actor(
    db: &impl ConnectionTrait,
    workspace_id: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> AppResult<Vec<(String, i64)>> {
    let rows = db
        .query_all_raw(statement(
            db.get_database_backend(),
            "SELECT actor_id, CAST(SUM(events) AS BIGINT) AS n FROM activity_daily
             WHERE workspace_id = ? AND day >= ? AND day <= ? AND actor_id <> ''
             GROUP BY actor_id ORDER BY n DESC, actor_id",
            "SELECT actor_id, CAST(SUM(events) AS BIGINT) AS n FROM activity_daily
             WHERE workspace_id = $1 AND day >= $2 AND day <= $3 AND actor_id <> ''
             GROUP BY actor_id ORDER BY n DESC, actor_id",
            vec![
                workspace_id.into(),
                from.format("%Y-%m-%d").to_string().into(),
                to.format("%Y-%m-%d").to_string().into(),
            ],
        ))
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        out.push((get(&row, "actor_id")?, get(&row, "n")?));
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

/// The workspace's active members.
async fn active_members(
    db: &impl ConnectionTrait,
    workspace_id: &str,
) -> AppResult<Vec<member::Model>> {
    Ok(member::Entity::find()
        .filter(member::Column::WorkspaceId.eq(workspace_id))
        .filter(member::Column::Status.eq(entity::enums::MemberStatus::Active))
        .all(db)
        .await?)
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

    let first_day = from.date_naive();
    let last_day = (to - chrono::Duration::nanoseconds(1)).date_naive();
    // Members are shown only to those who may read the member list, and
    // prompts only to those who may read them. The reads are independent:
    // each runs on a connection of its own, at once.
    let see_members = viewer.allows(Capability::ReadMembers);
    let see_prompts = viewer.allows(Capability::ReadPrompts);
    let (per_bucket, calls, mut members, actors, top_prompts) = tokio::try_join!(
        activity(db, workspace_id, bucket, first_day, last_day),
        api_calls(db, workspace_id, first_day, last_day),
        active_members(db, workspace_id),
        async {
            match see_members {
                true => per_actor(db, workspace_id, first_day, last_day).await,
                false => Ok(Vec::new()),
            }
        },
        async {
            match see_prompts {
                true => top_prompts(db, workspace_id, midnight(first_day), to).await,
                false => Ok(Vec::new()),
            }
        },
    )?;

    let mut events = vec![0i64; starts.len()];
    let mut active_members = vec![0i64; starts.len()];
    for (start, n, actors) in per_bucket {
        if let Some(i) = index.get(&start).copied() {
            events[i] = n;
            active_members[i] = actors;
        }
    }

    let mut api = vec![0i64; starts.len()];
    for (day, n) in calls {
        if let Some(i) = slot(day) {
            api[i] += n;
        }
    }

    // Members at the end of each bucket: today's members by when they joined.
    members.sort_by_key(|m| m.joined_at);
    let member_count: Vec<i64> = starts
        .iter()
        .map(|start| {
            let end = end_of(bucket, *start).min(to);
            members.partition_point(|m| m.joined_at < end) as i64
        })
        .collect();

    // The top ones among today's members.
    let top_members = actors
        .into_iter()
        .filter_map(|(user_id, n)| {
            let found = members.iter().find(|m| m.user_id == user_id)?;
            Some((found.clone(), n))
        })
        .take(TOP)
        .collect();

    Ok(Figures {
        starts: starts.into_iter().map(midnight).collect(),
        events,
        active_members,
        api_calls: api,
        member_count,
        top_members,
        top_prompts,
    })
}
