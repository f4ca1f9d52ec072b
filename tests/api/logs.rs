//! The log as an operator reads it: with `LOG_FORMAT=json` one JSON object
//! per line, and one line per request with its operation, status, duration
//! and request id.

use std::time::Duration;

use serde_json::{Value, json};

use crate::process::Process;

#[tokio::test]
async fn json_logs_have_one_line_per_request() {
    let process = Process::start(&[]);
    let response: Value = reqwest::Client::new()
        .post(format!("http://{}/graphql", process.addr))
        .header("x-request-id", "log-probe-1")
        .json(&json!({ "query": "query Probe { __typename }", "operationName": "Probe" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(response["data"]["__typename"], "Query");
    let line = process.line_where(Duration::from_secs(10), |line| {
        line["span"]["request_id"] == "log-probe-1" && line["fields"]["status"].is_number()
    });
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["span"]["operation"], "Probe");
    assert_eq!(line["span"]["path"], "/graphql");
    assert_eq!(line["fields"]["status"], 200);
    assert!(
        line["fields"]["latency"].is_string() || line["fields"]["latency"].is_number(),
        "{line}"
    );
}
