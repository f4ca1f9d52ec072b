//! Exporting the activity log: signed links without Authorization, what
//! each reader may see, CSV quoting, and 200,000 events streamed.

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::process::Process;
use entity::enums::Role;

const EXPORT: &str = "mutation($ws: ID!, $f: ActivityExportFormat!, $from: DateTime, $to: DateTime) { exportActivity(workspaceId: $ws, format: $f, from: $from, to: $to) }";
const HEADER: &str =
    "id,cursor,createdAt,action,actorKind,actorId,actorName,targetType,targetId,workroomId,changes";

async fn link(app: &TestApp, user: &TestUser, ws: &str, format: &str) -> String {
    app.data(Some(&user.token), EXPORT, json!({ "ws": ws, "f": format }))
        .await["exportActivity"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn fetch(app: &TestApp, url: &str) -> (u16, String, String) {
    let response = app.http().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    let media = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, media, response.text().await.unwrap())
}

/// Splits CSV text into records of fields (RFC 4180 quoting).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    records
}

#[tokio::test]
async fn links_work_without_authorization_and_show_what_the_reader_may_see() {
    each_backend(async |app| {
        let team = app.team().await;
        let ws = team.workspace.clone();
        let hostile = app.sign_up("=HYPERLINK(\"x\")").await;
        app.add_member(&ws, &hostile, Role::Member).await;
        let made = app.create_workroom(&hostile, &ws, "Launch, \"big\" one").await;
        assert_eq!(code(&made), None, "{made}");

        let feed = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { activity(first: 100) { nodes { id action } } } }", json!({ "ws": ws }))
            .await;
        let owner_sees = feed["workspace"]["activity"]["nodes"].as_array().unwrap().len();
        let url = link(&app, &team.owner, &ws, "CSV").await;
        assert!(url.contains("/activity-exports/"), "{url}");
        let (status, media, body) = fetch(&app, &url).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(media, "text/csv; charset=utf-8");
        let records = parse_csv(&body);
        assert_eq!(records[0].join(","), HEADER);
        // Oldest first, ending with the export's own record.
        assert_eq!(records.len() - 1, owner_sees + 1);
        assert_eq!(records.last().unwrap()[3], "activity.exported");
        assert!(records[1..].iter().all(|r| r.len() == 11), "{body}");
        assert_eq!(records[1][3], "workspace.created");
        let room = records.iter().find(|r| r[3] == "workroom.created").unwrap();
        assert_eq!(room[6], "'=HYPERLINK(\"x\")", "a formula is defused");
        let changes: Value = serde_json::from_str(&room[10]).unwrap();
        assert_eq!(changes["name"]["after"], "Launch, \"big\" one");
        let cursors: Vec<i64> = records[1..].iter().map(|r| r[1].parse().unwrap()).collect();
        assert!(cursors.windows(2).all(|w| w[0] < w[1]));

        // The viewer's export leaves out what its feed leaves out (billing).
        let (_, media, body) = fetch(&app, &link(&app, &team.viewer, &ws, "NDJSON").await).await;
        assert_eq!(media, "application/x-ndjson");
        let lines: Vec<Value> = body.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(!lines.is_empty());
        assert!(lines.iter().all(|l| l["action"] != "workspace.plan_changed"));
        assert!(records.iter().any(|r| r[3] == "workspace.plan_changed"));
        assert!(lines.iter().all(|l| l["id"].is_string() && l["cursor"].is_string() && l.get("changes").is_some()));

        // A period narrows it; the request itself is in the feed.
        let (_, _, body) = fetch(
            &app,
            app.data(Some(&team.owner.token), EXPORT, json!({ "ws": ws, "f": "NDJSON", "from": "2000-01-01T00:00:00Z", "to": "2000-01-02T00:00:00Z" }))
                .await["exportActivity"]
                .as_str()
                .unwrap(),
        )
        .await;
        assert_eq!(body, "");
        let feed = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { activity(first: 1) { nodes { action actor { name } changes } } } }", json!({ "ws": ws }))
            .await;
        assert_eq!(feed["workspace"]["activity"]["nodes"][0]["action"], "activity.exported");

        // Altered, foreign or expired links, and access tokens, fetch nothing.
        let (status, _, _) = fetch(&app, &format!("{url}x")).await;
        assert_eq!(status, 404);
        let (status, _, _) = fetch(&app, &app.url(&format!("/activity-exports/{}", team.owner.token))).await;
        assert_eq!(status, 404);
        let past = atrium::activity::export::LinkClaims {
            sub: format!("user:{}", team.owner.id),
            iss: "atrium".into(),
            aud: atrium::activity::export::AUDIENCE.into(),
            iat: 0,
            exp: chrono::Utc::now().timestamp() - 60,
            ws: ws.clone(),
            format: atrium::activity::export::ActivityExportFormat::Csv,
            from: None,
            to: None,
        };
        let expired = app.state.keys.sign(&past).unwrap();
        let (status, _, _) = fetch(&app, &app.url(&format!("/activity-exports/{expired}"))).await;
        assert_eq!(status, 404);
        // A member removed after making a link gets nothing from it.
        let kept = link(&app, &hostile, &ws, "CSV").await;
        let member_id = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { members(first: 100) { nodes { id user { id } } } } }", json!({ "ws": ws }))
            .await["workspace"]["members"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user"]["id"] == hostile.id.as_str())
            .unwrap()["id"]
            .clone();
        app.data(Some(&team.owner.token), "mutation($m: ID!) { removeMember(memberId: $m) { id } }", json!({ "m": member_id })).await;
        let (status, _, _) = fetch(&app, &kept).await;
        assert_eq!(status, 404);
        assert_code(&app.gql(Some(&team.outsider.token), EXPORT, json!({ "ws": ws, "f": "CSV" })).await, "NOT_FOUND");
    })
    .await;
}

/// How much the server's heap may have grown when the first bytes of an
/// export of some 50 MiB leave: a page of events and the allocator's
/// arenas, not the file.
const START_GROWTH_MAX_KIB: u64 = 32 << 10;
/// How much higher the heap may stand in the second half of the file than
/// in the first: memory does not rise with what was sent.
const LATER_GROWTH_MAX_KIB: u64 = 16 << 10;

#[tokio::test]
async fn two_hundred_thousand_events_stream_in_pages() {
    each_backend(async |app| {
        let team = app.team().await;
        let ws = team.workspace.clone();
        let columns = "id, workspace_id, actor_id, actor_kind, action, area, target_type, target_id, created_at";
        let owner = team.owner.id.clone();
        let sql = match app.backend {
            Backend::Sqlite => format!(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
                 INSERT INTO activity_events ({columns})
                 SELECT 'bulk-' || i, '{ws}', '{owner}', 'USER', 'workroom.created', 'PROJECTS', 'workroom', 'room-' || i, '2026-06-01T00:00:00+00:00' FROM n"
            ),
            Backend::Postgres(_) => format!(
                "INSERT INTO activity_events ({columns})
                 SELECT 'bulk-' || i, '{ws}', '{owner}', 'USER', 'workroom.created', 'PROJECTS', 'workroom', 'room-' || i, timestamptz '2026-06-01T00:00:00+00:00'
                 FROM generate_series(1, 200000) AS i"
            ),
        };
        app.query_strings(&sql).await;
        let url = link(&app, &team.owner, &ws, "CSV").await;
        let response = app.http().get(&url).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        assert!(response.headers().get("content-length").is_none(), "streamed, not built whole");
        let mut chunks = 0;
        let mut lines = 0;
        let mut bytes = 0;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.unwrap();
            chunks += 1;
            bytes += chunk.len();
            lines += chunk.iter().filter(|b| **b == b'\n').count();
        }
        let events = app.query_strings(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM activity_events WHERE workspace_id = '{ws}'")).await;
        let events: usize = events[0].parse().unwrap();
        assert!(events > 200_000);
        assert_eq!(lines, events + 1, "the header and every event");
        assert!(chunks >= 200, "one or more chunks per page of 1,000: {chunks} chunks of {bytes} bytes");

        // The same export from the server as a process of its own: its heap
        // holds pages, not the file, and does not rise as the file goes out.
        // (SQLite's page cache, which fills up to its size with what is read
        // from the log, is made small.)
        let server = Process::start(&[
            ("DATABASE_URL", app.database_url.clone()),
            ("SQLITE_CACHE_MIB", "2".into()),
        ]);
        let client = reqwest::Client::new();
        let answer: Value = client
            .post(format!("http://{}/graphql", server.addr))
            .bearer_auth(&team.owner.token)
            .json(&json!({ "query": EXPORT, "variables": { "ws": ws, "f": "NDJSON" } }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let link = answer["data"]["exportActivity"].as_str().unwrap();
        let path = &link[link.find("/activity-exports/").unwrap()..];
        let before = server.rss_anon_kib();
        let response = client.get(format!("http://{}{path}", server.addr)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200);
        // Resident heap sampled as the file arrives: at its first bytes, and
        // the highest in each half of it.
        let mut samples = Vec::new();
        let mut bytes = 0;
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            bytes += chunk.unwrap().len();
            samples.push((bytes, server.rss_anon_kib()));
        }
        assert!(bytes > 30 << 20, "{bytes} bytes");
        let at_start = samples[0].1.saturating_sub(before);
        let half = |first: bool| {
            samples
                .iter()
                .filter(|(at, _)| (*at <= bytes / 2) == first)
                .map(|(_, kib)| *kib)
                .max()
                .unwrap()
        };
        let (first_half, second_half) = (half(true), half(false));
        assert!(
            at_start < START_GROWTH_MAX_KIB,
            "the heap grew by {at_start} KiB before the first bytes of {bytes}: the file was built first"
        );
        assert!(
            second_half <= first_half + LATER_GROWTH_MAX_KIB,
            "the heap rose from {first_half} KiB to {second_half} KiB in the second half of {bytes} bytes"
        );
    })
    .await;
}
