//! What the HTTP endpoint accepts, and the limits that stop abusive requests
//! before any resolver runs.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::helpers::*;

const SIGN_UP_EVE: &str = r#"mutation { signUp(input: {email: "eve@example.com", password: "longenough", name: "Eve"}) { user { id } } }"#;

async fn eve_exists(app: &TestApp) -> bool {
    let response = app
        .gql(
            None,
            r#"mutation { logIn(input: {email: "eve@example.com", password: "longenough"}) { user { id } } }"#,
            json!({}),
        )
        .await;
    code(&response).is_none()
}

#[tokio::test]
async fn get_runs_queries_never_mutations_and_serves_graphiql_to_browsers() {
    each_backend(async |app| {
        // A browser navigating to the endpoint gets GraphiQL.
        let page = app
            .http()
            .get(app.url("/graphql"))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        assert!(page.text().await.unwrap().to_lowercase().contains("graphiql"));
        // A mutation by GET is refused and never runs.
        let response = app
            .http()
            .get(app.url("/graphql"))
            .query(&[("query", SIGN_UP_EVE)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(response.headers()["allow"], "POST");
        let body: Value = response.json().await.unwrap();
        assert_code(&body, "BAD_USER_INPUT");
        assert!(!eve_exists(&app).await);
        // A query runs, with variables, as an API client sends it.
        let user = app.sign_up("Getter").await;
        let response = app
            .http()
            .get(app.url("/graphql"))
            .bearer_auth(&user.token)
            .header("accept", "application/graphql-response+json, application/json")
            .query(&[
                ("query", "query Me($n: Int) { me { id } workspaces { activity(first: $n) { nodes { id } } } }"),
                ("variables", r#"{"n": 1}"#),
                ("operationName", "Me"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["data"]["me"]["id"], user.id.as_str());
    })
    .await;
}

#[tokio::test]
async fn post_needs_json_content_type() {
    each_backend(async |app| {
        let body = json!({ "query": SIGN_UP_EVE }).to_string();
        for content_type in [
            None,
            Some("text/plain"),
            Some("application/x-www-form-urlencoded"),
        ] {
            let mut request = app.http().post(app.url("/graphql")).body(body.clone());
            if let Some(ct) = content_type {
                request = request.header("content-type", ct);
            }
            let response = request.send().await.unwrap();
            assert_eq!(
                response.status(),
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "{content_type:?}"
            );
        }
        assert!(!eve_exists(&app).await);
        let ok = app
            .http()
            .post(app.url("/graphql"))
            .header("content-type", "application/json; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        assert!(eve_exists(&app).await);
    })
    .await;
}

#[tokio::test]
async fn batches_and_oversized_bodies_are_refused() {
    each_backend(async |app| {
        let batch: Vec<Value> = (0..1000)
            .map(|_| json!({ "query": "{ __typename }" }))
            .collect();
        let response = app
            .http()
            .post(app.url("/graphql"))
            .json(&batch)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let body: Value = response.json().await.unwrap();
        assert_code(&body, "BAD_USER_INPUT");

        let padding = " ".repeat(2 << 20);
        let big = format!(r#"{{"query": "{{ __typename }}"{padding}}}"#);
        let response = app
            .http()
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body(big)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);

        let not_json = app
            .http()
            .post(app.url("/graphql"))
            .header("content-type", "application/json")
            .body("{ nope")
            .send()
            .await
            .unwrap();
        assert_eq!(not_json.status(), StatusCode::BAD_REQUEST);
    })
    .await;
}

#[tokio::test]
async fn deep_wide_and_directive_heavy_queries_are_refused_before_running() {
    each_backend(async |app| {
        let user = app.sign_up("Limits").await;
        let ws = &user.personal_workspace;
        app.change_plan(&user, ws, "AGENCY").await;

        // 1,000 aliased mutations: refused whole, nothing created.
        let aliases: String = (0..1000)
            .map(|i| {
                format!(
                    r#"a{i}: createWorkroom(input: {{workspaceId: "{ws}", name: "x"}}) {{ id }} "#
                )
            })
            .collect();
        let bomb = app
            .gql(
                Some(&user.token),
                &format!("mutation {{ {aliases} }}"),
                json!({}),
            )
            .await;
        assert_code(&bomb, "QUERY_TOO_COMPLEX");
        let rooms = app
            .data(
                Some(&user.token),
                "query($ws: ID!) { workspace(id: $ws) { workrooms { id } } }",
                json!({ "ws": ws }),
            )
            .await;
        assert_eq!(rooms["workspace"]["workrooms"], json!([]));

        // 30 levels deep.
        let mut deep = "id".to_owned();
        for _ in 0..15 {
            deep = format!("workrooms {{ workspace {{ {deep} }} }}");
        }
        let deep = app
            .gql(
                Some(&user.token),
                &format!("query($ws: ID!) {{ workspace(id: $ws) {{ {deep} }} }}"),
                json!({ "ws": ws }),
            )
            .await;
        assert_code(&deep, "QUERY_TOO_COMPLEX");

        // 50 directives on one field.
        let directives = "@include(if: true) ".repeat(50);
        let many = app
            .gql(
                Some(&user.token),
                &format!("{{ me {{ id {directives} }} }}"),
                json!({}),
            )
            .await;
        assert_code(&many, "QUERY_TOO_COMPLEX");

        // Malformed and invalid operations carry a code too.
        assert_code(
            &app.gql(Some(&user.token), "{ me { id ", json!({})).await,
            "BAD_USER_INPUT",
        );
        assert_code(
            &app.gql(Some(&user.token), "{ me { nope } }", json!({}))
                .await,
            "BAD_USER_INPUT",
        );
    })
    .await;
}

/// The introspection query GraphiQL sends must pass the limits.
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }
}
"#;

#[tokio::test]
async fn graphiql_introspection_passes_the_limits() {
    each_backend(async |app| {
        let data = app.data(None, INTROSPECTION, json!({})).await;
        let types = data["__schema"]["types"].as_array().unwrap();
        assert!(types.iter().any(|t| t["name"] == "Workspace"));
        let directives = data["__schema"]["directives"].as_array().unwrap();
        assert!(directives.iter().any(|d| d["name"] == "requires"));
    })
    .await;
}

#[tokio::test]
async fn health_readiness_and_request_ids() {
    each_backend(async |app| {
        let health = app.http().get(app.url("/healthz")).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
        assert!(health.headers().contains_key("x-request-id"));
        let ready = app.http().get(app.url("/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), StatusCode::OK);
        let given = app
            .http()
            .get(app.url("/healthz"))
            .header("x-request-id", "trace-me-123")
            .send()
            .await
            .unwrap();
        assert_eq!(given.headers()["x-request-id"], "trace-me-123");
    })
    .await;
}
