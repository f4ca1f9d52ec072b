//! Telemetry an operator collects: `/metrics` histograms (requests by
//! operation, database statements, live delivery) and process figures, and
//! traces exported over OTLP/HTTP to a collector the test runs.

use std::time::Duration;

use axum::body::Bytes;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;
use serde_json::json;
use tokio::sync::mpsc;

use crate::helpers::{Backend, PASSWORD, TestApp, each_backend_with};
use crate::process::Process;
use crate::ws_client::{Got, WsClient};

/// The value of the sample `name` whose labels include `labels`.
fn sample(metrics: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    metrics.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (metric, rest) = series.split_once('{').unwrap_or((series, ""));
        let matches = metric == name
            && labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        matches.then(|| value.parse().ok()).flatten()
    })
}

#[tokio::test]
async fn metrics_have_latency_histograms_and_process_figures() {
    each_backend_with(
        |config| config.metrics_operation_names = 2,
        |app| async move {
            let user = app.sign_up("Metrics").await;
            for name in ["Mine", "Mine", "Theirs", "Third", "Fourth"] {
                let query = format!("query {name} {{ me {{ id }} }}");
                let response = app.gql(Some(&user.token), &query, json!({})).await;
                assert_eq!(response["data"]["me"]["id"], user.id.as_str());
            }
            let text = app.metrics().await;
            let count = |labels: &[(&str, &str)]| {
                sample(
                    &text,
                    "atrium_graphql_request_duration_seconds_count",
                    labels,
                )
            };
            assert_eq!(
                count(&[("operation_type", "query"), ("operation", "Mine")]),
                Some(2.0),
                "{text}"
            );
            assert_eq!(
                count(&[("operation_type", "query"), ("operation", "Theirs")]),
                Some(1.0)
            );
            // Past two names, the rest share one label.
            assert_eq!(
                count(&[("operation_type", "query"), ("operation", "other")]),
                Some(2.0)
            );
            assert_eq!(count(&[("operation", "Third")]), None);
            // sign_up's mutation and its anonymous workspace query.
            assert_eq!(
                count(&[("operation_type", "mutation"), ("operation", "anonymous")]),
                Some(1.0)
            );
            let bucket = sample(
                &text,
                "atrium_graphql_request_duration_seconds_bucket",
                &[("operation", "Mine"), ("le", "+Inf")],
            );
            assert_eq!(bucket, Some(2.0));
            for kind in ["select", "insert"] {
                let statements = sample(
                    &text,
                    "atrium_db_statement_duration_seconds_count",
                    &[("statement", kind)],
                );
                assert!(statements.is_some_and(|n| n >= 1.0), "{kind}: {text}");
            }
            let rss = sample(&text, "process_resident_memory_bytes", &[]);
            assert!(rss.is_some_and(|bytes| bytes > 1e6), "{text}");
            assert!(sample(&text, "process_cpu_seconds_total", &[]).is_some());
            assert!(sample(&text, "process_open_fds", &[]).is_some());
        },
    )
    .await;
}

#[tokio::test]
async fn live_delivery_lag_is_measured() {
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    let user = app.sign_up("Lag").await;
    let workspace = app.create_workspace(&user, "Lag Co").await;
    let before = sample(
        &app.metrics().await,
        "atrium_live_delivery_lag_seconds_count",
        &[],
    );
    assert_eq!(before, Some(0.0));
    let mut ws = WsClient::subscribed(
        &app,
        &user.token,
        "1",
        "subscription($ws: ID!) { activity(workspaceId: $ws) { action } }",
        json!({ "ws": workspace }),
    )
    .await;
    // The subscription has no acknowledgement: write until an event arrives.
    let mut delivered = false;
    for attempt in 0..10 {
        app.create_workroom(&user, &workspace, &format!("Lagging {attempt}"))
            .await;
        if let Got::Next(payload) = ws.next("1", Duration::from_secs(1)).await {
            assert_eq!(payload["data"]["activity"]["action"], "workroom.created");
            delivered = true;
            break;
        }
    }
    assert!(delivered, "no event reached the subscriber");
    let after = sample(
        &app.metrics().await,
        "atrium_live_delivery_lag_seconds_count",
        &[],
    );
    assert!(after.is_some_and(|n| n >= 1.0), "{after:?}");
}

/// A collector: accepts OTLP/HTTP protobuf exports and hands over their spans.
async fn collector() -> (String, mpsc::UnboundedReceiver<Span>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let route = axum::routing::post(move |body: Bytes| {
        let tx = tx.clone();
        async move {
            let export = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf export");
            for resource in export.resource_spans {
                for scope in resource.scope_spans {
                    for span in scope.spans {
                        let _ = tx.send(span);
                    }
                }
            }
            (
                [("content-type", "application/x-protobuf")],
                Vec::<u8>::new(),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = axum::Router::new().route("/v1/traces", route);
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), rx)
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .map(|value| match value {
            Any::StringValue(s) => s.clone(),
            other => format!("{other:?}"),
        })
}

#[tokio::test]
async fn traces_reach_an_otlp_collector() {
    let (endpoint, mut spans) = collector().await;
    let process = Process::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_BSP_SCHEDULE_DELAY", "100".into()),
        ("OTEL_SERVICE_NAME", "atrium-under-test".into()),
    ]);
    let response: serde_json::Value = reqwest::Client::new()
        .post(format!("http://{}/graphql", process.addr))
        .json(&json!({
            "query": "mutation Join($input: SignUpInput!) { signUp(input: $input) { user { id } } }",
            "operationName": "Join",
            "variables": { "input": {
                "email": "traced@example.com", "password": PASSWORD, "name": "Traced" } },
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        response["data"]["signUp"]["user"]["id"].is_string(),
        "{response}"
    );

    let mut seen = Vec::new();
    let request = loop {
        let span = match tokio::time::timeout(Duration::from_secs(10), spans.recv()).await {
            Ok(Some(span)) => span,
            _ => panic!(
                "no request span among {:?}",
                seen.iter().map(|s: &Span| &s.name).collect::<Vec<_>>()
            ),
        };
        seen.push(span.clone());
        if span.name == "mutation Join" {
            break span;
        }
    };
    assert_eq!(request.kind, SpanKind::Server as i32);
    assert_eq!(attribute(&request, "operation").as_deref(), Some("Join"));
    // Its statements are its children; they end first, so they came already
    // or come in the next batch.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let is_insert = |s: &Span| {
        s.parent_span_id == request.span_id
            && s.trace_id == request.trace_id
            && s.kind == SpanKind::Client as i32
            && s.name == "insert"
    };
    while !seen.iter().any(is_insert) {
        match tokio::time::timeout_at(deadline, spans.recv()).await {
            Ok(Some(span)) => seen.push(span),
            _ => break,
        }
    }
    let insert = seen
        .iter()
        .find(|s| is_insert(s))
        .unwrap_or_else(|| panic!("no insert under the request: {seen:#?}"));
    let text = attribute(insert, "db.query.text").unwrap();
    assert!(text.to_uppercase().starts_with("INSERT INTO"), "{text}");
    assert_eq!(
        attribute(insert, "db.system.name").as_deref(),
        Some("sqlite")
    );
    assert!(insert.start_time_unix_nano >= request.start_time_unix_nano);
    assert!(insert.end_time_unix_nano <= request.end_time_unix_nano);
    // No statement text carries the values bound to it.
    assert!(seen.iter().all(|s| {
        attribute(s, "db.query.text").is_none_or(|t| !t.contains("traced@example.com"))
    }));
    process.stop();
}
