//! Activity retention: the owner's setting, the purge that records itself,
//! and cursors older than what is kept.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::ws_client::{Got, WsClient};

const SET: &str = "mutation($ws: ID!, $d: Int) { setActivityRetention(workspaceId: $ws, days: $d) { activityRetentionDays } }";
const FEED: &str = "query($ws: ID!, $after: String, $first: Int) { workspace(id: $ws) { activity(first: $first, after: $after) { nodes { cursor action changes } } } }";

/// Moves the workspace's events with seq at most `seq` 400 days back.
async fn age(app: &TestApp, workspace: &str, seq: &str) {
    let set = match app.backend {
        Backend::Sqlite => "created_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at, '-400 days')",
        Backend::Postgres(_) => "created_at = created_at - interval '400 days'",
    };
    app.query_strings(&format!(
        "UPDATE activity_events SET {set} WHERE workspace_id = '{workspace}' AND seq <= {seq}"
    ))
    .await;
}

#[tokio::test]
async fn the_owner_sets_retention_and_old_events_go_with_a_record_and_expired_cursors() {
    each_backend(async |app| {
        let team = app.team().await;
        let ws = team.workspace.as_str();
        assert_code(&app.gql(Some(&team.admin.token), SET, json!({ "ws": ws, "d": 30 })).await, "FORBIDDEN");
        for days in [0, 6, 3651, -1] {
            assert_code(&app.gql(Some(&team.owner.token), SET, json!({ "ws": ws, "d": days })).await, "BAD_USER_INPUT");
        }
        let set = app.data(Some(&team.owner.token), SET, json!({ "ws": ws, "d": 30 })).await;
        assert_eq!(set["setActivityRetention"]["activityRetentionDays"], 30);
        let read = app.data(Some(&team.viewer.token), "query($ws: ID!) { workspace(id: $ws) { activityRetentionDays } }", json!({ "ws": ws })).await;
        assert_eq!(read["workspace"]["activityRetentionDays"], 30);

        // Three workrooms; the first two events of the feed's tail grow old.
        for name in ["One", "Two", "Three"] {
            app.create_workroom(&team.owner, ws, name).await;
        }
        let feed = app.data(Some(&team.owner.token), FEED, json!({ "ws": ws, "first": 100 })).await;
        let nodes = feed["workspace"]["activity"]["nodes"].as_array().unwrap().clone();
        let total = nodes.len();
        // Everything older than the retention change itself.
        let change = nodes.iter().position(|n| n["action"] == "activity.retention_changed").unwrap();
        let old_cursor = nodes[change + 1]["cursor"].as_str().unwrap().to_owned();
        let kept_cursor = nodes[change]["cursor"].as_str().unwrap().to_owned();
        age(&app, ws, &old_cursor).await;
        let outsider_events = app.query_strings(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM activity_events WHERE workspace_id <> '{ws}'")).await;

        let deleted = atrium::activity::retention::purge_expired(&app.state.db, chrono::Utc::now()).await.unwrap();
        assert_eq!(deleted as usize, total - change - 1);
        // Other workspaces keep theirs (they keep activity for good).
        let after = app.query_strings(&format!("SELECT CAST(COUNT(*) AS TEXT) FROM activity_events WHERE workspace_id <> '{ws}'")).await;
        assert_eq!(after, outsider_events);

        let feed = app.data(Some(&team.viewer.token), FEED, json!({ "ws": ws, "first": 100 })).await;
        let nodes = feed["workspace"]["activity"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), change + 2, "what was kept, and the record of the purge");
        assert_eq!(nodes[0]["action"], "activity.purged");
        assert_eq!(nodes[0]["changes"]["deleted"]["after"], json!(deleted));
        // A second run has nothing to delete and records nothing.
        assert_eq!(atrium::activity::retention::purge_expired(&app.state.db, chrono::Utc::now()).await.unwrap(), 0);

        // Paging on from a purged cursor: CURSOR_EXPIRED; from a kept one: fine.
        let expired = app.gql(Some(&team.owner.token), FEED, json!({ "ws": ws, "after": old_cursor })).await;
        assert_code(&expired, "BAD_USER_INPUT");
        assert_eq!(expired["errors"][0]["extensions"]["reason"], "CURSOR_EXPIRED");
        let kept = app.data(Some(&team.owner.token), FEED, json!({ "ws": ws, "after": kept_cursor })).await;
        assert_eq!(kept["workspace"]["activity"]["nodes"], json!([]));

        // Resuming the live feed from it: CURSOR_EXPIRED too.
        let mut ws_client = WsClient::subscribed(
            &app,
            &team.owner.token,
            "a",
            "subscription($ws: ID!, $after: String) { activity(workspaceId: $ws, after: $after) { action } }",
            json!({ "ws": ws, "after": old_cursor }),
        )
        .await;
        match ws_client.next("a", Duration::from_secs(5)).await {
            Got::Next(payload) => {
                assert_eq!(payload["errors"][0]["extensions"]["reason"], "CURSOR_EXPIRED", "{payload}")
            }
            other => panic!("{other:?}"),
        }
        ws_client.close().await;

        // Null keeps activity for good again; the change is recorded.
        let cleared = app.data(Some(&team.owner.token), SET, json!({ "ws": ws, "d": Value::Null })).await;
        assert_eq!(cleared["setActivityRetention"]["activityRetentionDays"], Value::Null);
        let feed = app.data(Some(&team.owner.token), FEED, json!({ "ws": ws, "first": 1 })).await;
        assert_eq!(feed["workspace"]["activity"]["nodes"][0]["changes"]["activityRetentionDays"], json!({ "before": 30, "after": null }));
    })
    .await;
}
