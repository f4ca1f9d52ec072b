//! Library benchmark: seeds one workspace with 20 members, 200,000 activity
//! events over the past year, 50 prompts fetched every day and a key used
//! every day, starts the release server on it, and prints
//! - `Workspace.analytics` over 366 days by DAY, WEEK and MONTH: mean, p50
//!   and p99 latency of sequential requests after a warm-up;
//! - `exportActivity` of the 200,000 events as CSV: time, size, and the
//!   server's resident memory before and at its peak (`/proc/<pid>/status`).
//!
//! cargo bench --bench library                                   # SQLite
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/atrium_library cargo bench --bench library
//!
//! BENCH_REQUESTS (30) per bucket.

use std::time::{Duration, Instant};

use chrono::Utc;
use entity::enums::{MemberStatus, Plan, Role, Visibility, WorkspaceMode, WorkspaceType};
use entity::{member, user, workspace};
use sea_orm::{ConnectionTrait, DbBackend, EntityTrait, IntoActiveModel};
use serde_json::{Value, json};

#[path = "support/mod.rs"]
mod support;
use support::{JWT_SECRET, TempDir, env_or};

const MEMBERS: usize = 20;
const EVENTS: usize = 200_000;
const PROMPTS: usize = 50;
const SLUG: &str = "library-bench";

fn uuid() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The owner's id and the workspace's, seeding them first when missing.
async fn seed(database: &str) -> (String, String) {
    let db = atrium::db::connect(database, 4, atrium::config::DEFAULT_SQLITE_CACHE_MIB)
        .await
        .expect("database");
    atrium::db::migrate(&db).await.expect("migrations");
    if let Some(found) = workspace::Entity::find()
        .all(&db)
        .await
        .expect("workspaces")
        .into_iter()
        .find(|w| w.slug == SLUG)
    {
        let owner = member::Entity::find()
            .all(&db)
            .await
            .expect("members")
            .into_iter()
            .find(|m| m.workspace_id == found.id && m.role == Role::Owner)
            .expect("owner");
        return (owner.user_id, found.id);
    }
    let started = Instant::now();
    let now = Utc::now();
    let users: Vec<user::Model> = (0..MEMBERS)
        .map(|i| user::Model {
            id: uuid(),
            email: format!("library{i}@bench.example"),
            name: format!("Library User {i}"),
            password_hash: "not a hash".to_owned(),
            created_at: now,
        })
        .collect();
    let ws = workspace::Model {
        id: uuid(),
        slug: SLUG.to_owned(),
        name: "Library Bench".to_owned(),
        description: None,
        website: None,
        visibility: Visibility::Private,
        plan: Plan::Agency,
        personal: false,
        credit_balance: 0,
        credits_reserved: 0,
        created_at: now,
        deleted_at: None,
        purge_after: None,
        admins_manage_billing: true,
        hidden_navigation: None,
        workspace_type: WorkspaceType::MyBrand,
        mode: WorkspaceMode::Agentic,
        activity_retention_days: None,
        activity_purged_seq: 0,
        logo_file: None,
        avatar_file: None,
        banner_file: None,
    };
    user::Entity::insert_many(
        users
            .iter()
            .cloned()
            .map(IntoActiveModel::into_active_model),
    )
    .exec(&db)
    .await
    .expect("users");
    workspace::Entity::insert(ws.clone().into_active_model())
        .exec(&db)
        .await
        .expect("workspace");
    let members = users.iter().enumerate().map(|(i, u)| {
        member::Model {
            id: uuid(),
            workspace_id: ws.id.clone(),
            user_id: u.id.clone(),
            role: if i == 0 { Role::Owner } else { Role::Member },
            status: MemberStatus::Active,
            joined_at: now - chrono::Duration::days(400 - i as i64),
            custom_role_id: None,
            area_access: None,
            all_workrooms: None,
            workroom_access: None,
        }
        .into_active_model()
    });
    member::Entity::insert_many(members)
        .exec(&db)
        .await
        .expect("members");
    let postgres = db.get_database_backend() == DbBackend::Postgres;
    // Events every ~158 s over the past year, actors in turn.
    let actors = users
        .iter()
        .enumerate()
        .map(|(i, u)| format!("WHEN {i} THEN '{}'", u.id))
        .collect::<Vec<_>>()
        .join(" ");
    let step = 365 * 24 * 3600 / EVENTS;
    let ws_id = &ws.id;
    let events = if postgres {
        format!(
            "INSERT INTO activity_events (id, workspace_id, actor_id, actor_kind, action, area, target_type, target_id, created_at)
             SELECT 'ev-' || i, '{ws_id}', CASE i % {MEMBERS} {actors} END, 'USER', 'workroom.created', 'PROJECTS', 'workroom', 'room-' || i,
                    now() - make_interval(secs => i * {step})
             FROM generate_series(1, {EVENTS}) AS i"
        )
    } else {
        format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {EVENTS})
             INSERT INTO activity_events (id, workspace_id, actor_id, actor_kind, action, area, target_type, target_id, created_at)
             SELECT 'ev-' || i, '{ws_id}', CASE i % {MEMBERS} {actors} END, 'USER', 'workroom.created', 'PROJECTS', 'workroom', 'room-' || i,
                    strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-' || (i * {step}) || ' seconds')
             FROM n"
        )
    };
    db.execute_unprepared(&events).await.expect("events");
    atrium::activity::rollup::rebuild(&db, &ws.id)
        .await
        .expect("rollup");
    let owner = &users[0].id;
    for p in 0..PROMPTS {
        db.execute_unprepared(&format!(
            "INSERT INTO prompts (id, workspace_id, name, title, tags, published_version, created_by, created_at, updated_at)
             VALUES ('prompt-{p}', '{ws_id}', 'prompt-{p}', 'Prompt {p}', '[]', '1.0.0', '{owner}', '{now}', '{now}')",
            now = now.to_rfc3339()
        ))
        .await
        .expect("prompt");
        let fetches = if postgres {
            format!(
                "INSERT INTO prompt_fetches (prompt_id, day, workspace_id, fetches)
                 SELECT 'prompt-{p}', date_trunc('day', now()) - make_interval(days => d), '{ws_id}', {p} + d % 7
                 FROM generate_series(0, 365) AS d"
            )
        } else {
            format!(
                "WITH RECURSIVE n(d) AS (SELECT 0 UNION ALL SELECT d + 1 FROM n WHERE d < 365)
                 INSERT INTO prompt_fetches (prompt_id, day, workspace_id, fetches)
                 SELECT 'prompt-{p}', strftime('%Y-%m-%dT00:00:00+00:00', 'now', '-' || d || ' days'), '{ws_id}', {p} + d % 7 FROM n"
            )
        };
        db.execute_unprepared(&fetches).await.expect("fetches");
    }
    if postgres {
        db.execute_unprepared("ANALYZE").await.expect("analyze");
    }
    println!(
        "seeded the data set in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    (owner.clone(), ws.id)
}

fn resident_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with(field))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

async fn post(client: &reqwest::Client, url: &str, token: &str, body: &Value) -> Value {
    client
        .post(url)
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

#[tokio::main]
async fn main() {
    let requests: usize = env_or("BENCH_REQUESTS", 30);
    let dir = TempDir::new("atrium-library");
    let database = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| dir.sqlite_url());
    let (owner, ws) = seed(&database).await;
    let server = support::spawn(&database, dir);
    let keys = atrium::auth::jwt::Keys::new(JWT_SECRET);
    let (token, _) = keys
        .issue(&owner, Duration::from_secs(3600))
        .expect("token");
    let url = format!("http://{}/graphql", server.addr);
    let client = reqwest::Client::new();
    let engine = if database.starts_with("postgres") {
        "PostgreSQL"
    } else {
        "SQLite"
    };
    println!("Atrium on {engine}: {EVENTS} events, {MEMBERS} members, {PROMPTS} prompts");
    let to = Utc::now();
    let from = to - chrono::Duration::days(366);
    let query = "query($ws: ID!, $from: DateTime!, $to: DateTime!, $b: Bucket) { workspace(id: $ws) { analytics(from: $from, to: $to, bucket: $b) {
        events { count } activeMembers { count } apiCalls { count } memberCount { count } topMembers { events member { id } } topPrompts { fetches prompt { name } } } } }";
    println!("| analytics, 366 days | mean ms | p50 ms | p99 ms |");
    println!("| --- | --- | --- | --- |");
    for bucket in ["DAY", "WEEK", "MONTH"] {
        let body = json!({ "query": query, "variables": { "ws": ws, "from": from, "to": to, "b": bucket } });
        for _ in 0..3 {
            let answer = post(&client, &url, &token, &body).await;
            assert!(answer["errors"].is_null(), "{answer}");
        }
        let mut times = Vec::with_capacity(requests);
        for _ in 0..requests {
            let started = Instant::now();
            let answer = post(&client, &url, &token, &body).await;
            times.push(started.elapsed().as_secs_f64() * 1000.0);
            assert!(answer["errors"].is_null(), "{answer}");
        }
        times.sort_by(f64::total_cmp);
        let mean = times.iter().sum::<f64>() / times.len() as f64;
        let at = |q: f64| times[((times.len() - 1) as f64 * q).round() as usize];
        println!(
            "| {bucket} | {mean:.1} | {:.1} | {:.1} |",
            at(0.5),
            at(0.99)
        );
    }

    let before = resident_kib(server.pid, "VmRSS:");
    let anon_before = resident_kib(server.pid, "RssAnon:");
    let link = post(
        &client,
        &url,
        &token,
        &json!({ "query": "mutation($ws: ID!) { exportActivity(workspaceId: $ws, format: CSV) }", "variables": { "ws": ws } }),
    )
    .await;
    let link = link["data"]["exportActivity"]
        .as_str()
        .expect("a link")
        .to_owned();
    let started = Instant::now();
    let mut response = client.get(&link).send().await.expect("download");
    let (mut bytes, mut lines, mut peak, mut anon_peak) = (0usize, 0usize, before, anon_before);
    while let Some(chunk) = response.chunk().await.expect("chunk") {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
        peak = peak.max(resident_kib(server.pid, "VmRSS:"));
        anon_peak = anon_peak.max(resident_kib(server.pid, "RssAnon:"));
    }
    println!(
        "export: {} events as CSV ({:.1} MB) in {:.2} s; server resident memory {:.1} MB before, {:.1} MB at its peak while streaming (of which heap, RssAnon: {:.1} MB before, {:.1} MB at its peak)",
        lines - 1,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64(),
        before as f64 / 1024.0,
        peak as f64 / 1024.0,
        anon_before as f64 / 1024.0,
        anon_peak as f64 / 1024.0,
    );
}
