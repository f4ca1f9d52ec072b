//! The log as an operator reads it: with `LOG_FORMAT=json` one JSON object
//! per line, and one line per request with its operation, status, duration
//! and request id.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::TEST_SECRET;

#[tokio::test]
async fn json_logs_have_one_line_per_request() {
    let dir = std::env::temp_dir().join(format!("atrium-logs-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_atrium"))
        .env(
            "DATABASE_URL",
            format!("sqlite://{}/a.db?mode=rwc", dir.display()),
        )
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("JWT_SECRET", TEST_SECRET)
        .env("MAIL_DIR", dir.join("mail"))
        .env("LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let addr = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the server logs");
        let parsed: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        lines.push(parsed.clone());
        if let Some(rest) = parsed["fields"]["message"]
            .as_str()
            .and_then(|m| m.strip_prefix("listening on http://"))
        {
            break rest.to_owned();
        }
    };
    let response: Value = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .header("x-request-id", "log-probe-1")
        .json(&json!({ "query": "query Probe { __typename }", "operationName": "Probe" }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(response["data"]["__typename"], "Query");
    let line = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a request line");
        let parsed: Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if parsed["span"]["request_id"] == "log-probe-1" && parsed["fields"]["status"].is_number() {
            break parsed;
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["span"]["operation"], "Probe");
    assert_eq!(line["span"]["path"], "/graphql");
    assert_eq!(line["fields"]["status"], 200);
    assert!(
        line["fields"]["latency"].is_string() || line["fields"]["latency"].is_number(),
        "{line}"
    );
}
