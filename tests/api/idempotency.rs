//! `Idempotency-Key` on mutations: replay, conflict, secrets refused, and
//! concurrent requests with one key running once.

use serde_json::{Value, json};

use crate::helpers::*;

const CREATE_ROOM: &str = "mutation($ws: ID!, $name: String!) { createWorkroom(input: {workspaceId: $ws, name: $name}) { id name } }";

async fn send(
    app: &TestApp,
    token: &str,
    key: &str,
    query: &str,
    variables: Value,
) -> (u16, Option<String>, Value) {
    let response = app
        .http()
        .post(app.url("/graphql"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("idempotent-replayed")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, replayed, response.json().await.unwrap())
}

async fn workroom_count(app: &TestApp, token: &str, workspace: &str) -> usize {
    let data = app
        .data(
            Some(token),
            "query($ws: ID!) { workspace(id: $ws) { workrooms { id } } }",
            json!({ "ws": workspace }),
        )
        .await;
    data["workspace"]["workrooms"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_repeated_key_replays_and_a_changed_request_conflicts() {
    each_backend(async |app| {
        let team = app.team().await;
        let token = &team.owner.token;
        let vars = json!({ "ws": team.workspace, "name": "Once" });
        let (status, replayed, first) = send(&app, token, "k-1", CREATE_ROOM, vars.clone()).await;
        assert_eq!((status, replayed), (200, None));
        assert!(first["data"]["createWorkroom"]["id"].is_string(), "{first}");
        let (status, replayed, again) = send(&app, token, "k-1", CREATE_ROOM, vars.clone()).await;
        assert_eq!((status, replayed.as_deref()), (200, Some("true")));
        assert_eq!(again, first);
        assert_eq!(workroom_count(&app, token, &team.workspace).await, 1);

        // The same key with another request.
        let (_, _, changed) = send(
            &app,
            token,
            "k-1",
            CREATE_ROOM,
            json!({ "ws": team.workspace, "name": "Twice" }),
        )
        .await;
        assert_code(&changed, "CONFLICT");
        // Keys are per principal: another member's "k-1" is its own.
        let (_, replayed, theirs) =
            send(&app, &team.admin.token, "k-1", CREATE_ROOM, vars.clone()).await;
        assert_eq!(replayed, None);
        assert_ne!(
            theirs["data"]["createWorkroom"]["id"],
            first["data"]["createWorkroom"]["id"]
        );
        // A refused mutation is not stored: the key can be used again.
        let (_, _, refused) =
            send(&app, &team.viewer.token, "k-2", CREATE_ROOM, vars.clone()).await;
        assert_code(&refused, "FORBIDDEN");
        assert_eq!(workroom_count(&app, token, &team.workspace).await, 2);
        // A request refused before it ran leaves the key free, under either
        // media type.
        let (_, _, invalid) = send(&app, token, "k-4", "mutation { noSuchField }", json!({})).await;
        assert_code(&invalid, "BAD_USER_INPUT");
        let (_, replayed, fixed) = send(
            &app,
            token,
            "k-4",
            CREATE_ROOM,
            json!({ "ws": team.workspace, "name": "Fixed" }),
        )
        .await;
        assert_eq!(replayed, None);
        assert!(fixed["data"]["createWorkroom"]["id"].is_string(), "{fixed}");
        // Queries run as usual.
        let (_, replayed, read) = send(&app, token, "k-3", "{ me { id } }", json!({})).await;
        assert_eq!(
            (replayed, read["data"]["me"]["id"].as_str()),
            (None, Some(team.owner.id.as_str()))
        );
        // A malformed key.
        let (_, _, long) = send(&app, token, &"x".repeat(256), CREATE_ROOM, vars).await;
        assert_code(&long, "BAD_USER_INPUT");
    })
    .await;
}

#[tokio::test]
async fn mutations_that_return_a_secret_refuse_a_key() {
    each_backend(async |app| {
        let team = app.team().await;
        for query in [
            "mutation { createApiKey(input: {name: \"x\"}) { secret } }",
            "mutation { logIn(input: {email: \"a@example.com\", password: \"p\"}) { accessToken } }",
            "mutation { ...Refresh } fragment Refresh on Mutation { refreshSession(refreshToken: \"x\") { accessToken } }",
        ] {
            let (_, _, refused) = send(&app, &team.owner.token, "secret-1", query, json!({})).await;
            assert_code(&refused, "BAD_USER_INPUT");
            assert!(refused.to_string().contains("secret"), "{refused}");
        }
        let keys = app.data(Some(&team.owner.token), "{ personalApiKeys { id } }", json!({})).await;
        assert_eq!(keys["personalApiKeys"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn concurrent_requests_with_one_key_run_once() {
    each_backend(async |app| {
        let team = app.team().await;
        let vars = json!({ "ws": team.workspace, "name": "Raced" });
        let calls =
            (0..10).map(|_| send(&app, &team.owner.token, "race-1", CREATE_ROOM, vars.clone()));
        let results = futures_util::future::join_all(calls).await;
        let bodies: Vec<&Value> = results.iter().map(|(_, _, body)| body).collect();
        assert!(bodies.iter().all(|b| **b == *bodies[0]), "{bodies:#?}");
        assert!(bodies[0]["data"]["createWorkroom"]["id"].is_string());
        let replays = results.iter().filter(|(_, r, _)| r.is_some()).count();
        assert_eq!(replays, 9);
        assert_eq!(
            workroom_count(&app, &team.owner.token, &team.workspace).await,
            1
        );
    })
    .await;
}
