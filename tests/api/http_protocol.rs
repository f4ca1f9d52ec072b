//! GraphQL over HTTP as browser apps and their clients speak it: media
//! types and status codes, automatic persisted queries, CORS, and the
//! WebSocket's `Origin`.

use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::*;

const GRAPHQL_RESPONSE: &str = "application/graphql-response+json";

async fn post(app: &TestApp, accept: &str, body: Value) -> (StatusCode, String, Value) {
    let response = app
        .http()
        .post(app.url("/graphql"))
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let media = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    (status, media, response.json().await.unwrap())
}

#[tokio::test]
async fn the_graphql_response_media_type_has_its_status_codes() {
    each_backend(async |app| {
        for (body, status) in [
            (json!({ "query": "{ __typename }" }), StatusCode::OK),
            (json!({ "query": "{ nope" }), StatusCode::BAD_REQUEST),
            (
                json!({ "query": "{ noSuchField }" }),
                StatusCode::BAD_REQUEST,
            ),
            (
                json!({ "query": "query($n: Int!) { __typename }" }),
                StatusCode::BAD_REQUEST,
            ),
            (json!({ "variables": {} }), StatusCode::BAD_REQUEST),
        ] {
            let (got, media, json) = post(&app, GRAPHQL_RESPONSE, body.clone()).await;
            assert_eq!(got, status, "{body}: {json}");
            assert!(media.starts_with(GRAPHQL_RESPONSE), "{media}");
            if status != StatusCode::OK {
                assert!(json.get("data").is_none(), "no data entry: {json}");
                assert_code(&json, "BAD_USER_INPUT");
            }
        }
        // The same requests under application/json: 200 with the errors.
        let (got, media, json) = post(&app, "application/json", json!({ "query": "{ nope" })).await;
        assert_eq!(got, StatusCode::OK);
        assert!(media.starts_with("application/json"));
        assert_code(&json, "BAD_USER_INPUT");
        // Field errors are 200 under both.
        let (got, _, json) =
            post(&app, GRAPHQL_RESPONSE, json!({ "query": "{ me { id } }" })).await;
        assert_eq!(got, StatusCode::OK);
        assert_code(&json, "UNAUTHENTICATED");
    })
    .await;
}

#[tokio::test]
async fn automatic_persisted_queries() {
    each_backend(async |app| {
        let query = "query Persisted { __typename }";
        let hash = format!("{:x}", Sha256::digest(query.as_bytes()));
        let persisted = json!({ "persistedQuery": { "version": 1, "sha256Hash": hash } });
        // The hash alone first: not known yet, so the client sends the text.
        let (status, _, json) =
            post(&app, "application/json", json!({ "extensions": persisted })).await;
        assert_eq!(status, StatusCode::OK);
        assert_code(&json, "PERSISTED_QUERY_NOT_FOUND");
        assert_eq!(json["errors"][0]["message"], "PersistedQueryNotFound");
        let (_, _, json) = post(
            &app,
            "application/json",
            json!({ "query": query, "extensions": persisted }),
        )
        .await;
        assert_eq!(json["data"]["__typename"], "Query");
        // Now the hash is enough, by POST and by GET.
        let (_, _, json) = post(&app, GRAPHQL_RESPONSE, json!({ "extensions": persisted })).await;
        assert_eq!(json["data"]["__typename"], "Query");
        let got: Value = app
            .http()
            .get(app.url("/graphql"))
            .query(&[("extensions", persisted.to_string())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(got["data"]["__typename"], "Query");
        // A hash that is not the query's is refused.
        let wrong = json!({ "persistedQuery": { "version": 1, "sha256Hash": "00".repeat(32) } });
        let (_, _, json) = post(
            &app,
            "application/json",
            json!({ "query": query, "extensions": wrong }),
        )
        .await;
        assert_code(&json, "BAD_USER_INPUT");
    })
    .await;
}

#[tokio::test]
async fn cors_answers_allowed_origins_only() {
    each_backend_with(
        |config| {
            config.origins =
                atrium::config::Origins::parse("http://localhost:5173", false).unwrap();
        },
        async |app| {
            let preflight = |origin: &'static str| {
                app.http()
                    .request(reqwest::Method::OPTIONS, app.url("/graphql"))
                    .header("origin", origin)
                    .header("access-control-request-method", "POST")
                    .header(
                        "access-control-request-headers",
                        "content-type,authorization",
                    )
                    .send()
            };
            let allowed = preflight("http://localhost:5173").await.unwrap();
            assert!(allowed.status().is_success(), "{}", allowed.status());
            assert_eq!(
                allowed.headers()["access-control-allow-origin"],
                "http://localhost:5173"
            );
            let methods = allowed.headers()["access-control-allow-methods"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(methods.contains("POST"), "{methods}");
            let other = preflight("http://evil.example").await.unwrap();
            assert!(other.headers().get("access-control-allow-origin").is_none());
            // A real request from the allowed page carries the header.
            let response = app
                .http()
                .post(app.url("/graphql"))
                .header("origin", "http://localhost:5173")
                .json(&json!({ "query": "{ __typename }" }))
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.headers()["access-control-allow-origin"],
                "http://localhost:5173"
            );
            // The page may read the headers that tell it what happened.
            let exposed = response.headers()["access-control-expose-headers"]
                .to_str()
                .unwrap()
                .to_ascii_lowercase();
            for header in ["x-request-id", "retry-after", "idempotent-replayed"] {
                assert!(exposed.contains(header), "{header} in {exposed}");
            }
        },
    )
    .await;
    assert!(atrium::config::Origins::parse("*", true).is_err());
    assert!(atrium::config::Origins::parse("localhost:5173", false).is_err());
}

#[tokio::test]
async fn the_websocket_checks_the_origin() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    each_backend_with(
        |config| {
            config.origins =
                atrium::config::Origins::parse("http://localhost:5173", false).unwrap();
        },
        async |app| {
            let open = |origin: Option<String>| {
                let mut request = format!("ws://{}/graphql/ws", app.addr)
                    .into_client_request()
                    .unwrap();
                request.headers_mut().insert(
                    "Sec-WebSocket-Protocol",
                    "graphql-transport-ws".parse().unwrap(),
                );
                if let Some(origin) = origin {
                    request
                        .headers_mut()
                        .insert("Origin", origin.parse().unwrap());
                }
                tokio_tungstenite::connect_async(request)
            };
            assert!(open(Some("http://localhost:5173".into())).await.is_ok());
            assert!(
                open(Some(format!("http://{}", app.addr))).await.is_ok(),
                "same origin"
            );
            assert!(open(None).await.is_ok(), "not a browser");
            match open(Some("http://evil.example".into())).await {
                Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                    assert_eq!(response.status(), 403);
                }
                other => panic!("a foreign page's WebSocket opened: {other:?}"),
            }
        },
    )
    .await;
}
