//! Invariants under real concurrent requests, on both databases.

use entity::enums::Role;
use futures_util::future::join_all;
use serde_json::{Value, json};

use crate::helpers::*;

const ALLOWED: [&str; 3] = ["CONFLICT", "SEAT_LIMIT_REACHED", "BAD_USER_INPUT"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_mutations_on_one_workspace_all_complete_cleanly() {
    each_backend(async |app| {
        let team = app.team().await;
        let ws = team.workspace.clone();
        let mut requests = Vec::new();
        for i in 0..50 {
            let (user, query, vars) = match i % 3 {
                0 => (
                    &team.member,
                    "mutation($ws: ID!, $name: String!) { createWorkroom(input: {workspaceId: $ws, name: $name}) { id } }",
                    json!({ "ws": ws, "name": format!("room {i}") }),
                ),
                1 => (
                    &team.admin,
                    "mutation($ws: ID!, $name: String!) { updateWorkspace(input: {id: $ws, description: $name}) { id } }",
                    json!({ "ws": ws, "name": format!("description {i}") }),
                ),
                _ => (
                    &team.owner,
                    "mutation($ws: ID!, $plan: Plan!) { changePlan(workspaceId: $ws, plan: $plan) { id } }",
                    json!({ "ws": ws, "plan": if i % 2 == 0 { "GROWTH" } else { "AGENCY" } }),
                ),
            };
            requests.push(app.gql(Some(&user.token), query, vars));
        }
        let responses: Vec<Value> = join_all(requests).await;
        let mut ok = 0;
        for response in &responses {
            match code(response) {
                None => ok += 1,
                Some(code) => assert!(ALLOWED.contains(&code.as_str()), "{response}"),
            }
        }
        assert_eq!(ok, 50, "every mutation succeeds: {responses:?}");
        let rooms = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { workrooms { id } } }", json!({ "ws": ws }))
            .await;
        assert_eq!(rooms["workspace"]["workrooms"].as_array().unwrap().len(), 17);
        let created = app
            .data(
                Some(&team.owner.token),
                "query($ws: ID!) { workspace(id: $ws) { activity(first: 100, filter: {actions: [\"workroom.created\"]}) { nodes { id } } } }",
                json!({ "ws": ws }),
            )
            .await;
        assert_eq!(created["workspace"]["activity"]["nodes"].as_array().unwrap().len(), 17);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_joins_never_exceed_the_seat_limit() {
    each_backend(async |app| {
        let owner = app.sign_up("Capped").await;
        let ws = app.create_workspace(&owner, "Capped").await;
        assert_eq!(code(&app.change_plan(&owner, &ws, "PRO").await), None);
        let mut people = Vec::new();
        for i in 0..12 {
            people.push(app.sign_up(&format!("Joiner{i}")).await);
        }
        let joins = people
            .iter()
            .map(|p| atrium::members::service::add_member(&app.state.db, &ws, &p.id, Role::Member));
        let results = join_all(joins).await;
        let joined = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(joined, 4, "PRO holds 5 seats, the owner has one");
        for result in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(result, atrium::AppError::SeatLimitReached { .. }),
                "{result:?}"
            );
        }
        let seats = app
            .data(
                Some(&owner.token),
                "query($ws: ID!) { workspace(id: $ws) { seats { used limit } } }",
                json!({ "ws": ws }),
            )
            .await;
        assert_eq!(
            seats["workspace"]["seats"],
            json!({ "used": 5, "limit": 5 })
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_creates_of_one_slug_yield_one_workspace() {
    each_backend(async |app| {
        let user = app.sign_up("Racer").await;
        let creates = (0..10).map(|_| {
            app.gql(
                Some(&user.token),
                "mutation { createWorkspace(input: {name: \"Race\", slug: \"the-race\"}) { id } }",
                json!({}),
            )
        });
        let responses = join_all(creates).await;
        let won = responses.iter().filter(|r| code(r).is_none()).count();
        assert_eq!(won, 1, "{responses:?}");
        for lost in responses.iter().filter(|r| code(r).is_some()) {
            assert_code(lost, "CONFLICT");
        }
    })
    .await;
}

const REFRESH: &str = "mutation($t: String!) { refreshSession(refreshToken: $t) { refreshToken } }";
const LOG_OUT: &str = "mutation($t: String!) { logOut(refreshToken: $t) }";

/// Whatever a refresh racing a log-out returned, nothing of the session
/// works once the log-out has said true.
async fn session_is_dead(app: &TestApp, refreshed: &Value, logged_out: &Value, context: &str) {
    assert_eq!(
        logged_out["data"]["logOut"], true,
        "{context}: {logged_out}"
    );
    if let Some(next) = refreshed["data"]["refreshSession"]["refreshToken"].as_str() {
        let again = app.gql(None, REFRESH, json!({ "t": next })).await;
        assert_code(&again, "UNAUTHENTICATED");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_racing_a_log_out_never_outlives_it() {
    each_backend(async |app| {
        for run in 0..20 {
            let user = app.sign_up("Racer").await;
            // Log out with the token being refreshed.
            let (refreshed, out) = tokio::join!(
                app.gql(None, REFRESH, json!({ "t": user.refresh_token })),
                app.gql(None, LOG_OUT, json!({ "t": user.refresh_token })),
            );
            session_is_dead(&app, &refreshed, &out, &format!("same token, run {run}")).await;

            // Log out with an older token of the family while its head is
            // refreshed.
            let user = app.sign_up("Racer").await;
            let head = app
                .data(None, REFRESH, json!({ "t": user.refresh_token }))
                .await;
            let head = head["refreshSession"]["refreshToken"]
                .as_str()
                .unwrap()
                .to_owned();
            let (refreshed, out) = tokio::join!(
                app.gql(None, REFRESH, json!({ "t": head })),
                app.gql(None, LOG_OUT, json!({ "t": user.refresh_token })),
            );
            session_is_dead(&app, &refreshed, &out, &format!("older token, run {run}")).await;
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_detection_racing_a_refresh_of_the_head_revokes_the_session() {
    each_backend_with(
        |config| config.refresh_reuse_grace = std::time::Duration::ZERO,
        async |app| {
            for run in 0..20 {
                let user = app.sign_up("Reused").await;
                let head = app
                    .data(None, REFRESH, json!({ "t": user.refresh_token }))
                    .await;
                let head = head["refreshSession"]["refreshToken"]
                    .as_str()
                    .unwrap()
                    .to_owned();
                // The spent token comes back (stolen) while the head is
                // refreshed: the session ends, whatever the head returned.
                let (reused, refreshed) = tokio::join!(
                    app.gql(None, REFRESH, json!({ "t": user.refresh_token })),
                    app.gql(None, REFRESH, json!({ "t": head })),
                );
                assert_code(&reused, "UNAUTHENTICATED");
                if let Some(next) = refreshed["data"]["refreshSession"]["refreshToken"].as_str() {
                    let again = app.gql(None, REFRESH, json!({ "t": next })).await;
                    assert_code(&again, "UNAUTHENTICATED");
                    let _ = run;
                }
            }
        },
    )
    .await;
}
