//! The OpenAI-compatible provider, streaming from a real HTTP server the
//! test starts, and a workspace's own key: sealed at rest, used for its
//! runs, and never shown in a response or a log line.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::process::Process;
use crate::runs::{RUN, START, funded, wait_for_status};

/// What the model server was sent: each request's Authorization header and body.
#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<(String, Value)>>>);

impl Seen {
    fn authorizations(&self) -> Vec<String> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|(a, _)| a.clone())
            .collect()
    }
}

/// Streams the user's message back word by word, as server-sent events;
/// 401 for the key `bad-key-0000`; for the message `endless line`, 2 MiB
/// without a newline.
async fn completions(State(seen): State<Seen>, headers: HeaderMap, body: String) -> Response {
    let body: Value = serde_json::from_str(&body).unwrap();
    let auth = headers
        .get("authorization")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    seen.0.lock().unwrap().push((auth.clone(), body.clone()));
    if auth == "Bearer bad-key-0000" {
        return (
            StatusCode::UNAUTHORIZED,
            "{\"error\":{\"message\":\"Incorrect API key\"}}",
        )
            .into_response();
    }
    let messages = body["messages"].as_array().unwrap();
    let user = messages.last().unwrap()["content"]
        .as_str()
        .unwrap()
        .to_owned();
    if user == "endless line" {
        let pieces = std::iter::repeat_n("x".repeat(64 * 1024), 32);
        let stream = futures_util::stream::iter(pieces.map(Ok::<_, std::convert::Infallible>));
        return Response::builder()
            .header("content-type", "text/event-stream")
            .body(Body::from_stream(stream))
            .unwrap();
    }
    let mut lines = vec![
        ": keep-alive\n\n".to_owned(),
        format!(
            "data: {}\n\n",
            json!({ "choices": [{ "delta": { "role": "assistant" } }] })
        ),
    ];
    for word in user.split_inclusive(' ') {
        lines.push(format!(
            "data: {}\n\n",
            json!({ "choices": [{ "delta": { "content": word } }] })
        ));
    }
    lines.push("data: [DONE]\n\n".to_owned());
    let stream = futures_util::stream::unfold(lines.into_iter(), |mut lines| async move {
        let line = lines.next()?;
        tokio::time::sleep(Duration::from_millis(5)).await;
        Some((Ok::<_, std::convert::Infallible>(line), lines))
    });
    Response::builder()
        .header("content-type", "text/event-stream")
        .body(Body::from_stream(stream))
        .unwrap()
}

async fn model_server() -> (String, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/v1/chat/completions", post(completions))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/v1"), seen)
}

const SECRETS_KEY: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
const SET_KEY: &str = "mutation($ws: ID!, $key: String!) { setProviderKey(workspaceId: $ws, provider: \"openai\", apiKey: $key) { provider last4 createdAt } }";

#[tokio::test]
async fn runs_stream_from_an_openai_compatible_server_with_the_workspaces_own_key() {
    let (base_url, seen) = model_server().await;
    let configure = |config: &mut atrium::Config| {
        config.work.provider = atrium::config::ProviderKind::Openai;
        config.work.llm_base_url = base_url.clone();
        config.work.llm_api_key = Some(atrium::config::Secret::new("server-key-1111"));
        config.work.secrets_key = Some(atrium::config::Secret::new(SECRETS_KEY));
    };
    each_backend_with(configure, async |app| {
        let (team, room) = funded(&app, 1000).await;
        let input = "write the spring launch note now";
        let run = app.data(Some(&team.member.token), START, json!({ "wr": room, "input": input })).await["startRun"]["id"].as_str().unwrap().to_owned();
        let done = wait_for_status(&app, &team.member.token, &run, &["SUCCEEDED", "FAILED"]).await;
        assert_eq!(done["status"], "SUCCEEDED", "{done}");
        assert_eq!(done["output"], input);
        assert_eq!(done["creditsUsed"], 6, "one credit per streamed piece");
        assert_eq!(seen.authorizations().last().unwrap(), "Bearer server-key-1111");

        let secret = "sk-byok-SECRET-9876";
        let set = app.data(Some(&team.admin.token), SET_KEY, json!({ "ws": team.workspace, "key": secret })).await;
        assert_eq!(set["setProviderKey"]["last4"], "9876");
        assert_eq!(set["setProviderKey"]["provider"], "openai");
        let shown = app
            .gql(Some(&team.member.token), "query($ws: ID!) { workspace(id: $ws) { providerKey { provider last4 } activity { nodes { action changes } } } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(shown["data"]["workspace"]["providerKey"]["last4"], "9876");
        assert!(!shown.to_string().contains(secret), "{shown}");
        let run = app.data(Some(&team.member.token), START, json!({ "wr": room, "input": input })).await["startRun"]["id"].as_str().unwrap().to_owned();
        wait_for_status(&app, &team.member.token, &run, &["SUCCEEDED"]).await;
        assert_eq!(seen.authorizations().last().unwrap(), &format!("Bearer {secret}"), "the workspace's own key is used");
        let stored = app.query_strings("SELECT sealed FROM provider_keys").await;
        assert_eq!(stored.len(), 1);
        assert!(!stored[0].contains(secret) && !stored[0].contains("9876"), "sealed at rest");

        // A key the provider refuses fails the run with a message that
        // carries no secret.
        app.data(Some(&team.admin.token), SET_KEY, json!({ "ws": team.workspace, "key": "bad-key-0000" })).await;
        let run = app.data(Some(&team.member.token), START, json!({ "wr": room, "input": input })).await["startRun"]["id"].as_str().unwrap().to_owned();
        let failed = wait_for_status(&app, &team.member.token, &run, &["FAILED", "SUCCEEDED"]).await;
        assert_eq!(failed["status"], "FAILED");
        assert_eq!(failed["error"], "the model provider refused the API key");
        assert_eq!(failed["creditsUsed"], 0);

        // A key this server cannot open (sealed under another SECRETS_KEY)
        // fails the run: the server's own key is not spent instead.
        let asked = seen.authorizations().len();
        app.query_strings("UPDATE provider_keys SET sealed = 'c2VhbGVkIHVuZGVyIGFub3RoZXIga2V5'").await;
        let run = app.data(Some(&team.member.token), START, json!({ "wr": room, "input": input })).await["startRun"]["id"].as_str().unwrap().to_owned();
        let failed = wait_for_status(&app, &team.member.token, &run, &["FAILED", "SUCCEEDED"]).await;
        assert_eq!(failed["status"], "FAILED");
        assert!(failed["error"].as_str().unwrap().contains("SECRETS_KEY"), "{failed}");
        assert_eq!(failed["creditsUsed"], 0);
        assert_eq!(seen.authorizations().len(), asked, "the provider was not called");

        let cleared = app.data(Some(&team.admin.token), "mutation($ws: ID!) { clearProviderKey(workspaceId: $ws) }", json!({ "ws": team.workspace })).await;
        assert_eq!(cleared["clearProviderKey"], true);
        let again = app.data(Some(&team.admin.token), "mutation($ws: ID!) { clearProviderKey(workspaceId: $ws) }", json!({ "ws": team.workspace })).await;
        assert_eq!(again["clearProviderKey"], false);
        for (key, field) in [("short", "apiKey"), ("has spaces in it", "apiKey")] {
            let response = app.gql(Some(&team.admin.token), SET_KEY, json!({ "ws": team.workspace, "key": key })).await;
            assert_code(&response, "BAD_USER_INPUT");
            assert_eq!(response["errors"][0]["extensions"]["field"], field);
        }
        assert_code(&app.gql(Some(&team.member.token), SET_KEY, json!({ "ws": team.workspace, "key": "sk-123456789" })).await, "FORBIDDEN");
    })
    .await;
}

#[tokio::test]
async fn a_stream_line_past_one_mebibyte_fails_the_run() {
    let (base_url, _seen) = model_server().await;
    let configure = |config: &mut atrium::Config| {
        config.work.provider = atrium::config::ProviderKind::Openai;
        config.work.llm_base_url = base_url.clone();
        config.work.llm_api_key = Some(atrium::config::Secret::new("server-key-1111"));
    };
    each_backend_with(configure, async |app| {
        let (team, room) = funded(&app, 100).await;
        let token = team.member.token.as_str();
        let run = app
            .data(
                Some(token),
                START,
                json!({ "wr": room, "input": "endless line" }),
            )
            .await;
        let run = run["startRun"]["id"].as_str().unwrap().to_owned();
        let done = wait_for_status(&app, token, &run, &["FAILED", "SUCCEEDED"]).await;
        assert_eq!(done["status"], "FAILED", "{done}");
        assert_eq!(
            done["error"],
            "the model provider sent a line longer than 1 MiB"
        );
        assert_eq!(done["creditsUsed"], 0);
    })
    .await;
}

#[tokio::test]
async fn without_secrets_key_provider_keys_are_refused_saying_why() {
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    let team = app.team().await;
    let response = app
        .gql(
            Some(&team.owner.token),
            SET_KEY,
            json!({ "ws": team.workspace, "key": "sk-123456789" }),
        )
        .await;
    assert_code(&response, "BAD_USER_INPUT");
    assert!(
        response["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("SECRETS_KEY"),
        "{response}"
    );
}

/// The binary logging everything it logs at debug level: the workspace's
/// key shows up in no line, and in no response.
#[tokio::test]
async fn the_workspace_key_never_reaches_a_log_line() {
    let (base_url, _seen) = model_server().await;
    let app = TestApp::spawn(Backend::Sqlite, |config| config.work.run_workers = 0).await;
    let (team, room) = funded(&app, 100).await;
    let process = Process::start(&[
        ("DATABASE_URL", app.database_url.clone()),
        ("RUST_LOG", "debug".into()),
        ("LLM_PROVIDER", "openai".into()),
        ("LLM_BASE_URL", base_url),
        ("SECRETS_KEY", SECRETS_KEY.into()),
    ]);
    let addr: std::net::SocketAddr = process.addr.parse().unwrap();
    let secret = "sk-live-NEVER-LOGGED-4242";
    let mut responses = Vec::new();
    responses.push(
        app.gql_at(
            addr,
            Some(&team.admin.token),
            SET_KEY,
            json!({ "ws": team.workspace, "key": secret }),
        )
        .await,
    );
    responses.push(
        app.gql_at(
            addr,
            Some(&team.member.token),
            START,
            json!({ "wr": room, "input": "say hello" }),
        )
        .await,
    );
    let run = responses[1]["data"]["startRun"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..200 {
        let read = app
            .gql_at(addr, Some(&team.member.token), RUN, json!({ "run": run }))
            .await;
        let status = read["data"]["agentRun"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        responses.push(read);
        if status == "SUCCEEDED" || status == "FAILED" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        responses.last().unwrap()["data"]["agentRun"]["status"],
        "SUCCEEDED",
        "{responses:?}"
    );
    let lines = process.lines_so_far(Duration::from_millis(500));
    assert!(lines.len() > 10, "debug logging is on: {lines:?}");
    for line in &lines {
        assert!(
            !line.contains(secret) && !line.contains("NEVER-LOGGED"),
            "logged: {line}"
        );
    }
    for response in &responses {
        assert!(!response.to_string().contains("NEVER-LOGGED"), "{response}");
    }
}
