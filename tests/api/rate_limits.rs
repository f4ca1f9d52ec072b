//! Request-rate limits per principal and per workspace, in one process and
//! shared by several servers on one PostgreSQL.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;

const ME: &str = "{ me { id } }";

/// Waits while the current minute window is about to end, so that a test's
/// requests fall in one window.
async fn inside_one_window(needed: u64) {
    let second = chrono::Utc::now().timestamp().rem_euclid(60) as u64;
    if second + needed >= 59 {
        tokio::time::sleep(Duration::from_secs(61 - second)).await;
    }
}

#[tokio::test]
async fn a_principal_past_its_limit_is_told_when_to_retry() {
    each_backend_with(
        |config| config.rate_limit_per_minute = 5,
        async |app| {
            inside_one_window(5).await;
            // Sign-ups are anonymous: they count against the address.
            let user = app.sign_up("Limited").await;
            let bystander = app.sign_up("Bystander").await;
            // sign_up used two requests (the mutation is anonymous; the
            // workspace listing is the person's first).
            for _ in 0..4 {
                let ok = app.gql(Some(&user.token), ME, json!({})).await;
                assert_eq!(ok["data"]["me"]["id"], user.id.as_str(), "{ok}");
            }
            let refused = app.gql(Some(&user.token), ME, json!({})).await;
            assert_code(&refused, "RATE_LIMITED");
            let retry = refused["errors"][0]["extensions"]["retryAfter"]
                .as_u64()
                .unwrap();
            assert!((1..=60).contains(&retry), "{refused}");
            // Other people are not held back by it.
            let other = app.gql(Some(&bystander.token), ME, json!({})).await;
            assert_eq!(other["data"]["me"]["id"], bystander.id.as_str());
            // Nor is the address, which made only two anonymous requests.
            let anonymous = app.gql(None, "{ __typename }", json!({})).await;
            assert_eq!(anonymous["data"]["__typename"], "Query");

            // The header, and the status per media type.
            for (accept, status) in [
                ("application/json", 200),
                ("application/graphql-response+json", 429),
            ] {
                let response = app
                    .http()
                    .post(app.url("/graphql"))
                    .bearer_auth(&user.token)
                    .header("accept", accept)
                    .json(&json!({ "query": ME }))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status().as_u16(), status);
                let header: u64 = response.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=60).contains(&header));
                let body: Value = response.json().await.unwrap();
                assert_code(&body, "RATE_LIMITED");
                assert!(body.get("data").is_none());
            }
        },
    )
    .await;
}

#[tokio::test]
async fn a_workspace_limit_holds_over_all_its_keys() {
    each_backend_with(
        |config| config.workspace_rate_limit_per_minute = 4,
        async |app| {
            let team = app.team().await;
            let mut secrets = Vec::new();
            for name in ["One", "Two"] {
                let data = app
                    .data(
                        Some(&team.owner.token),
                        "mutation($ws: ID!, $n: String!) { createApiKey(input: {workspaceId: $ws, name: $n}) { secret } }",
                        json!({ "ws": team.workspace, "n": name }),
                    )
                    .await;
                secrets.push(data["createApiKey"]["secret"].as_str().unwrap().to_owned());
            }
            inside_one_window(5).await;
            let read = "query($ws: ID!) { workspace(id: $ws) { id } }";
            let vars = json!({ "ws": team.workspace });
            let mut admitted = 0;
            for secret in secrets.iter().cycle().take(6) {
                let response = app.gql(Some(secret), read, vars.clone()).await;
                match code(&response).as_deref() {
                    None => admitted += 1,
                    Some("RATE_LIMITED") => {}
                    other => panic!("{other:?}: {response}"),
                }
            }
            assert_eq!(admitted, 4);
            // People are limited apart from the workspace's keys.
            let person = app.gql(Some(&team.owner.token), read, vars).await;
            assert_eq!(code(&person), None, "{person}");
        },
    )
    .await;
}

/// Two servers on one PostgreSQL admit one limit's worth between them.
#[tokio::test]
async fn servers_on_one_database_share_a_limit() {
    let Some(backend) = backends()
        .into_iter()
        .find(|b| matches!(b, Backend::Postgres(_)))
    else {
        return;
    };
    let limit = 10;
    let app = TestApp::spawn(backend, |config| config.rate_limit_per_minute = limit).await;
    let (other, _stop) = app
        .second_server_with(|config| config.rate_limit_per_minute = limit)
        .await;
    // Wait first, so that sign_up's request counts in the same window.
    inside_one_window(8).await;
    let user = app.sign_up("Shared").await;
    let mut admitted = 0;
    let mut count = |response: &Value| match code(response).as_deref() {
        None => admitted += 1,
        Some("RATE_LIMITED") => {}
        other => panic!("{other:?}: {response}"),
    };
    for _ in 0..6 {
        count(&app.gql(Some(&user.token), ME, json!({})).await);
    }
    // Each server shares its counts once a second.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    count(&app.gql_at(other, Some(&user.token), ME, json!({})).await);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for _ in 0..6 {
        count(&app.gql_at(other, Some(&user.token), ME, json!({})).await);
    }
    // sign_up's workspace listing counted on the first server too.
    assert_eq!(admitted, limit - 1);
}

#[tokio::test]
async fn operations_over_a_socket_and_failed_keys_count_too() {
    each_backend_with(
        |config| config.rate_limit_per_minute = 3,
        async |app| {
            inside_one_window(10).await;
            let user = app.sign_up("Socket").await;
            // sign_up's workspace listing was one; two more over the socket.
            let mut ws = crate::ws_client::WsClient::connect(
                &app,
                crate::ws_client::TRANSPORT_WS,
                Some(&user.token),
            )
            .await
            .unwrap();
            for (i, expected) in [None, None, Some("RATE_LIMITED")].into_iter().enumerate() {
                let id = format!("q{i}");
                ws.subscribe(&id, ME, json!({})).await;
                let got = ws.next(&id, Duration::from_secs(5)).await;
                assert_eq!(
                    crate::ws_client::error_code(&got).as_deref(),
                    expected,
                    "{got:?}"
                );
            }
            // Guessing keys from one address: each failure counts, and past the
            // limit no more keys are looked up.
            let guess = atrium::auth::key_secret::generate(
                atrium::auth::key_secret::Environment::Live,
                None,
            )
            .secret;
            let mut codes = Vec::new();
            for _ in 0..4 {
                let response = app.gql(Some(&guess), ME, json!({})).await;
                codes.push(code(&response).unwrap());
            }
            // The address already made sign_up's anonymous request.
            assert_eq!(
                codes,
                [
                    "UNAUTHENTICATED",
                    "UNAUTHENTICATED",
                    "RATE_LIMITED",
                    "RATE_LIMITED"
                ]
            );
        },
    )
    .await;
}
