//! The edge under abuse: connections that never finish their headers, idle
//! keep-alive connections, oversized bodies, sign-in floods, and the limits
//! per client address.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

fn short_timeouts(config: &mut atrium::Config) {
    config.connections.header_read_timeout = Duration::from_secs(1);
    config.connections.idle_timeout = Duration::from_secs(3);
    config.connections.max_connections = 20;
}

/// Whether the server closed the connection within `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test]
async fn connections_that_never_finish_their_headers_are_cut() {
    each_backend_with(short_timeouts, async |app| {
        // Slowloris: hold every connection the server allows, trickling
        // header bytes and never finishing.
        let mut held = Vec::new();
        for _ in 0..25 {
            let mut stream = TcpStream::connect(app.addr).await.unwrap();
            let _ = stream
                .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\n")
                .await;
            held.push(stream);
        }
        // A real client still gets through once the server cuts them.
        let started = Instant::now();
        let response = tokio::time::timeout(
            Duration::from_secs(10),
            app.gql(None, "{ __typename }", json!({})),
        )
        .await
        .expect("served while the slow connections are held");
        assert_eq!(response["data"]["__typename"], "Query");
        assert!(started.elapsed() < Duration::from_secs(5));
        for stream in &mut held {
            assert!(closed_within(stream, Duration::from_secs(5)).await);
        }
        // One that sends nothing at all is cut too.
        let mut silent = TcpStream::connect(app.addr).await.unwrap();
        assert!(closed_within(&mut silent, Duration::from_secs(3)).await);
    })
    .await;
}

#[tokio::test]
async fn idle_keep_alive_connections_last_their_own_timeout() {
    each_backend_with(short_timeouts, async |app| {
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        let body = r#"{"query":"{ __typename }"}"#;
        let request = format!(
            "POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        for _ in 0..2 {
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut buf = vec![0u8; 4096];
            let n = stream.read(&mut buf).await.unwrap();
            assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
            // Idle past the header timeout, within the idle timeout: open.
            assert!(!closed_within(&mut stream, Duration::from_millis(1_800)).await);
        }
        // Past the idle timeout: closed.
        assert!(closed_within(&mut stream, Duration::from_secs(4)).await);
    })
    .await;
}

#[tokio::test]
async fn an_oversized_body_is_always_answered_413_in_json() {
    each_backend(async |app| {
        let body = format!(r#"{{"query":"{{ __typename }}","pad":"{}"}}"#, "x".repeat(2 << 20));
        for _ in 0..10 {
            let response = app
                .http()
                .post(app.url("/graphql"))
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .expect("the 413 is readable, not a reset connection");
            assert_eq!(response.status(), 413);
            let json: Value = response.json().await.unwrap();
            assert_code(&json, "PAYLOAD_TOO_LARGE");
        }
        // Chunked, with no length given.
        let mut stream = TcpStream::connect(app.addr).await.unwrap();
        stream
            .write_all(b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            .await
            .unwrap();
        let chunk = vec![b' '; 64 << 10];
        for _ in 0..40 {
            stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).await.unwrap();
            stream.write_all(&chunk).await.unwrap();
            stream.write_all(b"\r\n").await.unwrap();
        }
        stream.write_all(b"0\r\n\r\n").await.unwrap();
        let mut head = vec![0u8; 64];
        stream.read_exact(&mut head).await.unwrap();
        assert!(String::from_utf8_lossy(&head).starts_with("HTTP/1.1 413"));
    })
    .await;
}

const LOG_IN: &str = "mutation($e: String!) { logIn(input: {email: $e, password: \"not the password\"}) { accessToken } }";

fn log_in(email: &str) -> Value {
    json!({ "query": LOG_IN, "variables": { "e": email } })
}

fn rss_bytes() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kib| kib * 1024)
}

#[tokio::test]
async fn a_flood_of_sign_ins_stays_within_bounded_memory() {
    each_backend(async |app| {
        let before = rss_bytes();
        let mut peak = before;
        let attempts: Vec<_> = (0..150)
            .map(|i| {
                let client = app.http().clone();
                let url = app.url("/graphql");
                tokio::spawn(async move {
                    let response = client
                        .post(url)
                        .json(&log_in(&format!("nobody-{i}@example.com")))
                        .send()
                        .await
                        .unwrap();
                    response.json::<Value>().await.unwrap()
                })
            })
            .collect();
        let mut codes = std::collections::BTreeMap::new();
        let all = futures_util::future::join_all(attempts);
        tokio::pin!(all);
        let results = loop {
            tokio::select! {
                results = &mut all => break results,
                () = tokio::time::sleep(Duration::from_millis(50)) => peak = peak.max(rss_bytes()),
            }
        };
        for result in results {
            *codes
                .entry(code(&result.unwrap()).unwrap_or_default())
                .or_insert(0) += 1;
        }
        let grew = peak.saturating_sub(before);
        eprintln!(
            "RSS before {} MiB peak {} MiB after {} MiB",
            before >> 20,
            peak >> 20,
            rss_bytes() >> 20
        );
        assert!(grew < 300 << 20, "RSS grew by {} MiB", grew >> 20);
        assert_eq!(codes.get("UNAUTHENTICATED"), Some(&150), "{codes:?}");
    })
    .await;
}

#[tokio::test]
async fn hashing_waits_briefly_for_a_slot_then_refuses() {
    each_backend_with(
        |config| {
            config.password_hash_concurrency = 1;
            config.password_hash_queue = Duration::from_millis(1);
        },
        async |app| {
            let attempts: Vec<_> = (0..20)
                .map(|i| app.gql(None, LOG_IN, json!({ "e": format!("q{i}@example.com") })))
                .collect();
            let results = futures_util::future::join_all(attempts).await;
            let limited = results
                .iter()
                .filter(|r| code(r).as_deref() == Some("RATE_LIMITED"))
                .count();
            let refused = results
                .iter()
                .filter(|r| code(r).as_deref() == Some("UNAUTHENTICATED"))
                .count();
            assert!(limited > 0, "some wait past the queue time");
            assert!(refused > 0, "some are checked");
            assert_eq!(limited + refused, 20);
        },
    )
    .await;
}

async fn attempt(app: &TestApp, forwarded_for: Option<&str>, email: &str) -> Value {
    let mut request = app.http().post(app.url("/graphql")).json(&log_in(email));
    if let Some(addr) = forwarded_for {
        request = request.header("x-forwarded-for", addr);
    }
    request.send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn sign_ins_and_sign_ups_are_limited_per_client_address() {
    each_backend_with(
        |config| {
            config.sign_in_limit_per_minute = 3;
            config.sign_up_limit_per_hour = 2;
        },
        async |app| {
            // The peer is not a trusted proxy: what it forwards is ignored.
            for i in 0..3 {
                let got = attempt(&app, Some(&format!("203.0.113.{i}")), "a@example.com").await;
                assert_code(&got, "UNAUTHENTICATED");
            }
            assert_code(&attempt(&app, Some("203.0.113.9"), "b@example.com").await, "RATE_LIMITED");
            let sign_up = "mutation($e: String!) { signUp(input: {email: $e, password: \"long enough pw\", name: \"N\"}) { accessToken } }";
            for i in 0..2 {
                let got = app.gql(None, sign_up, json!({ "e": format!("new{i}@example.com") })).await;
                assert_eq!(code(&got), None, "{got}");
            }
            assert_code(&app.gql(None, sign_up, json!({ "e": "new9@example.com" })).await, "RATE_LIMITED");
        },
    )
    .await;
    each_backend_with(
        |config| {
            config.sign_in_limit_per_minute = 3;
            config.trusted_proxies = atrium::config::Cidr::parse_list("127.0.0.0/8").unwrap();
        },
        async |app| {
            // Behind a trusted proxy each forwarded client has its own count.
            for client in ["198.51.100.1", "198.51.100.2"] {
                for _ in 0..3 {
                    let got =
                        attempt(&app, Some(&format!("{client}, 127.0.0.1")), "c@example.com").await;
                    assert_code(&got, "UNAUTHENTICATED");
                }
                let got =
                    attempt(&app, Some(&format!("{client}, 127.0.0.1")), "c@example.com").await;
                assert_code(&got, "RATE_LIMITED");
            }
            // A client cannot escape by prepending addresses of its own.
            let got = attempt(&app, Some("10.9.9.9, 198.51.100.1"), "c@example.com").await;
            assert_code(&got, "RATE_LIMITED");
        },
    )
    .await;
}

#[tokio::test]
async fn concurrent_guesses_cannot_pass_the_failure_limit_together() {
    each_backend(async |app| {
        let user = app.sign_up("Guessed").await;
        let guesses: Vec<_> = (0..25)
            .map(|_| app.gql(None, LOG_IN, json!({ "e": user.email })))
            .collect();
        let results = futures_util::future::join_all(guesses).await;
        let checked = results
            .iter()
            .filter(|r| code(r).as_deref() == Some("UNAUTHENTICATED"))
            .count();
        let limited = results
            .iter()
            .filter(|r| code(r).as_deref() == Some("RATE_LIMITED"))
            .count();
        assert_eq!(checked, 10, "{checked} guesses were checked");
        assert_eq!(limited, 15);
    })
    .await;
}

#[tokio::test]
async fn sign_ins_over_the_websocket_are_limited_per_client_too() {
    use crate::ws_client::*;
    each_backend_with(
        |config| config.sign_in_limit_per_minute = 3,
        async |app| {
            let mut ws = WsClient::connect(&app, TRANSPORT_WS, None).await.unwrap();
            let mut codes = Vec::new();
            for i in 0..4 {
                let id = format!("l{i}");
                ws.subscribe(&id, LOG_IN, json!({ "e": "nobody@example.com" }))
                    .await;
                match ws.next(&id, Duration::from_secs(10)).await {
                    Got::Next(payload) => codes.push(code(&payload)),
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(
                codes[..3],
                [
                    Some("UNAUTHENTICATED".to_owned()),
                    Some("UNAUTHENTICATED".to_owned()),
                    Some("UNAUTHENTICATED".to_owned())
                ]
            );
            assert_eq!(codes[3].as_deref(), Some("RATE_LIMITED"));
        },
    )
    .await;
}

#[test]
fn address_ranges_match_what_they_mean() {
    use atrium::config::Cidr;
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let all = Cidr::parse("0.0.0.0/0").unwrap();
    assert!(all.contains(ip("203.0.113.7")));
    assert!(!all.contains(ip("2001:db8::1")));
    let ten = Cidr::parse("10.0.0.0/8").unwrap();
    assert!(ten.contains(ip("10.255.0.1")) && !ten.contains(ip("11.0.0.1")));
    assert!(ten.contains(ip("::ffff:10.1.2.3")), "a mapped address");
    let mapped = Cidr::parse("::ffff:10.0.0.0/104").unwrap();
    assert!(mapped.contains(ip("10.9.9.9")));
    let one = Cidr::parse("127.0.0.1").unwrap();
    assert!(one.contains(ip("127.0.0.1")) && !one.contains(ip("127.0.0.2")));
    let v6 = Cidr::parse("2001:db8::/32").unwrap();
    assert!(v6.contains(ip("2001:db8:ffff::1")) && !v6.contains(ip("2001:db9::1")));
    assert!(Cidr::parse("10.0.0.0/33").is_err());
    assert!(Cidr::parse("not an address").is_err());
}
