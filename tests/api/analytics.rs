//! Workspace analytics, checked against data counted by hand: events,
//! active members, API calls, growth and the top lists, by day, week and
//! month.

use serde_json::{Value, json};

use crate::helpers::*;

const ANALYTICS: &str = "query($ws: ID!, $from: DateTime!, $to: DateTime!, $b: Bucket) { workspace(id: $ws) { analytics(from: $from, to: $to, bucket: $b) {
    events { start count } activeMembers { start count } apiCalls { start count } memberCount { start count }
    topMembers { member { user { name } } events } topPrompts { prompt { name } fetches } } } }";

fn counts(series: &Value) -> Vec<(String, i64)> {
    series
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["count"] != 0)
        .map(|b| {
            (
                b["start"].as_str().unwrap()[..10].to_owned(),
                b["count"].as_i64().unwrap(),
            )
        })
        .collect()
}

fn pairs(items: &[(&str, i64)]) -> Vec<(String, i64)> {
    items.iter().map(|(d, n)| ((*d).to_owned(), *n)).collect()
}

#[tokio::test]
async fn figures_match_what_was_counted_by_hand() {
    each_backend(async |app| {
        let team = app.team().await;
        let ws = team.workspace.clone();
        let key = app
            .data(Some(&team.owner.token), "mutation($ws: ID!) { createApiKey(input: {workspaceId: $ws, name: \"App\"}) { apiKey { id } } }", json!({ "ws": ws }))
            .await["createApiKey"]["apiKey"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let prompt = app
            .data(Some(&team.owner.token), "mutation($ws: ID!) { createPrompt(input: {workspaceId: $ws, name: \"brief\", title: \"Brief\", body: \"B\"}) { id } }", json!({ "ws": ws }))
            .await["createPrompt"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        app.query_strings(&format!("DELETE FROM activity_events WHERE workspace_id = '{ws}'")).await;
        for (user, name) in [(&team.owner, "A"), (&team.owner, "B"), (&team.owner, "C"), (&team.admin, "D"), (&team.admin, "E"), (&team.member, "F")] {
            app.create_workroom(user, &ws, name).await;
        }
        let seqs = app.query_strings(&format!("SELECT CAST(seq AS TEXT) FROM activity_events WHERE workspace_id = '{ws}' ORDER BY seq")).await;
        assert_eq!(seqs.len(), 6);
        // Owner: Mar 2, Mar 2, Sun Mar 8; admin: Mon Mar 9, Apr 1; member: Mar 2 (UTC).
        let times = ["2026-03-02T09:00:00+00:00", "2026-03-02T23:59:59+00:00", "2026-03-08T12:00:00+00:00", "2026-03-09T00:00:00+00:00", "2026-04-01T08:00:00+00:00", "2026-03-02T10:00:00+00:00"];
        for (seq, at) in seqs.iter().zip(times) {
            app.query_strings(&format!("UPDATE activity_events SET created_at = '{at}' WHERE seq = {seq}")).await;
        }
        for (user, at) in [(&team.owner, "2026-01-01T00:00:00+00:00"), (&team.admin, "2026-03-05T00:00:00+00:00"), (&team.member, "2026-03-20T00:00:00+00:00"), (&team.viewer, "2026-05-01T00:00:00+00:00")] {
            app.query_strings(&format!("UPDATE members SET joined_at = '{at}' WHERE workspace_id = '{ws}' AND user_id = '{}'", user.id)).await;
        }
        // The events were moved by hand: count their days again.
        atrium::activity::rollup::rebuild(&app.state.db, &ws).await.unwrap();
        app.query_strings(&format!("INSERT INTO api_key_usage (api_key_id, day, requests) VALUES ('{key}', '2026-03-02', 5), ('{key}', '2026-04-01', 2), ('{key}', '2026-04-02', 9)")).await;
        app.query_strings(&format!("INSERT INTO prompt_fetches (prompt_id, day, workspace_id, fetches) VALUES ('{prompt}', '2026-03-02T00:00:00+00:00', '{ws}', 7), ('{prompt}', '2026-05-02T00:00:00+00:00', '{ws}', 100)")).await;

        let period = |bucket: &str| json!({ "ws": ws, "from": "2026-03-01T00:00:00Z", "to": "2026-04-02T00:00:00Z", "b": bucket });
        let days = app.data(Some(&team.viewer.token), ANALYTICS, period("DAY")).await;
        let a = &days["workspace"]["analytics"];
        assert_eq!(a["events"].as_array().unwrap().len(), 32);
        assert_eq!(counts(&a["events"]), pairs(&[("2026-03-02", 3), ("2026-03-08", 1), ("2026-03-09", 1), ("2026-04-01", 1)]));
        assert_eq!(counts(&a["activeMembers"]), pairs(&[("2026-03-02", 2), ("2026-03-08", 1), ("2026-03-09", 1), ("2026-04-01", 1)]));
        assert_eq!(counts(&a["apiCalls"]), pairs(&[("2026-03-02", 5), ("2026-04-01", 2)]));
        assert_eq!(a["memberCount"][0]["count"], 1, "only the owner on Mar 1");
        assert_eq!(a["memberCount"][4]["count"], 2, "the admin joined on Mar 5");
        assert_eq!(a["memberCount"][31]["count"], 3);

        let weeks = app.data(Some(&team.viewer.token), ANALYTICS, period("WEEK")).await;
        let a = &weeks["workspace"]["analytics"];
        assert_eq!(a["events"][0]["start"], "2026-02-23T00:00:00+00:00", "weeks start on Monday");
        assert_eq!(counts(&a["events"]), pairs(&[("2026-03-02", 4), ("2026-03-09", 1), ("2026-03-30", 1)]));
        assert_eq!(counts(&a["activeMembers"]), pairs(&[("2026-03-02", 2), ("2026-03-09", 1), ("2026-03-30", 1)]));
        assert_eq!(counts(&a["memberCount"]), pairs(&[("2026-02-23", 1), ("2026-03-02", 2), ("2026-03-09", 2), ("2026-03-16", 3), ("2026-03-23", 3), ("2026-03-30", 3)]));

        let months = app.data(Some(&team.viewer.token), ANALYTICS, period("MONTH")).await;
        let a = &months["workspace"]["analytics"];
        assert_eq!(counts(&a["events"]), pairs(&[("2026-03-01", 5), ("2026-04-01", 1)]));
        assert_eq!(counts(&a["activeMembers"]), pairs(&[("2026-03-01", 3), ("2026-04-01", 1)]));
        assert_eq!(counts(&a["apiCalls"]), pairs(&[("2026-03-01", 5), ("2026-04-01", 2)]));
        assert_eq!(
            a["topMembers"],
            json!([
                { "member": { "user": { "name": "Owner" } }, "events": 3 },
                { "member": { "user": { "name": "Admin" } }, "events": 2 },
                { "member": { "user": { "name": "Member" } }, "events": 1 },
            ])
        );
        assert_eq!(a["topPrompts"], json!([{ "prompt": { "name": "brief" }, "fetches": 7 }]));

        // Limits and access.
        for (from, to) in [("2026-04-02T00:00:00Z", "2026-03-01T00:00:00Z"), ("2025-01-01T00:00:00Z", "2026-03-01T00:00:00Z")] {
            let refused = app.gql(Some(&team.owner.token), ANALYTICS, json!({ "ws": ws, "from": from, "to": to })).await;
            assert_code(&refused, "BAD_USER_INPUT");
        }
        let outsider = app.gql(Some(&team.outsider.token), ANALYTICS, period("DAY")).await;
        assert_code(&outsider, "NOT_FOUND");

        // Events are counted as they are recorded: today's in the outsider's
        // own workspace match its feed.
        let own = json!(team.outsider.personal_workspace);
        app.create_workroom(&team.outsider, &team.outsider.personal_workspace, "Today").await;
        let today = chrono::Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
        let figures = app
            .data(Some(&team.outsider.token), ANALYTICS, json!({ "ws": own, "from": today, "to": today + chrono::Duration::days(1) }))
            .await;
        let feed = app
            .data(Some(&team.outsider.token), "query($ws: ID!) { workspace(id: $ws) { activity(first: 100) { nodes { id } } } }", json!({ "ws": own }))
            .await;
        let logged = feed["workspace"]["activity"]["nodes"].as_array().unwrap().len() as i64;
        assert!(logged >= 2);
        assert_eq!(figures["workspace"]["analytics"]["events"][0]["count"], logged);
        assert_eq!(figures["workspace"]["analytics"]["activeMembers"][0]["count"], 1);
    })
    .await;
}

/// Without MEMBERS VIEW the top members stay empty; dates outside 1970 to
/// 9999 are refused.
#[tokio::test]
async fn top_members_need_the_member_list_and_dates_are_bounded() {
    each_backend(async |app| {
        let team = app.team().await;
        let ws = json!(team.workspace);
        let key = app
            .data(
                Some(&team.owner.token),
                "mutation($ws: ID!) { createApiKey(input: {workspaceId: $ws, name: \"Stats\", scopes: [{area: GENERAL, access: VIEW}]}) { secret } }",
                json!({ "ws": ws }),
            )
            .await["createApiKey"]["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let today = chrono::Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
        let period = json!({ "ws": ws, "from": today, "to": today + chrono::Duration::days(1) });
        let owner = app.data(Some(&team.owner.token), ANALYTICS, period.clone()).await;
        assert!(!owner["workspace"]["analytics"]["topMembers"].as_array().unwrap().is_empty());
        let stats = app.data(Some(&key), ANALYTICS, period).await;
        assert_eq!(stats["workspace"]["analytics"]["topMembers"], json!([]));
        assert!(stats["workspace"]["analytics"]["events"][0]["count"].as_i64().unwrap() > 0);
        let early = app
            .gql(Some(&team.owner.token), ANALYTICS, json!({ "ws": ws, "from": "1969-12-31T00:00:00Z", "to": "1970-01-02T00:00:00Z" }))
            .await;
        assert_code(&early, "BAD_USER_INPUT");
    })
    .await;
}
