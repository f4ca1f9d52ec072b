//! Fan-out benchmark: starts the release server, holds N subscribers of one
//! workspace's activity feed over graphql-transport-ws, performs a stream of
//! mutations and prints delivery figures.
//!
//! cargo bench --bench fanout                     # 10,000 subscribers, SQLite
//! BENCH_SUBSCRIBERS=2000 BENCH_MUTATIONS=50 cargo bench --bench fanout
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/atrium_bench cargo bench --bench fanout
//! BENCH_ADDR=127.0.0.1:8080 BENCH_PID=1234 cargo bench --bench fanout   # a running server

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{Semaphore, oneshot, watch};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[path = "support/mod.rs"]
mod support;
use support::{Server, TempDir, env_or};

const SUBSCRIPTION: &str =
    "subscription($ws: ID!) { activity(workspaceId: $ws) { cursor changes } }";

fn env_usize(name: &str, default: usize) -> usize {
    env_or(name, default)
}

/// The server under test: `BENCH_ADDR` (with `BENCH_PID` for its memory)
/// names one already running, e.g. under a profiler; else one is started.
fn start_server() -> Server {
    if let Ok(addr) = std::env::var("BENCH_ADDR") {
        return Server {
            child: None,
            pid: env_usize("BENCH_PID", 0) as u32,
            addr,
            _dir: None,
        };
    }
    let dir = TempDir::new("atrium-bench");
    let database = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| dir.sqlite_url());
    support::spawn(&database, dir)
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}

async fn gql(
    client: &reqwest::Client,
    addr: &str,
    token: Option<&str>,
    query: &str,
    variables: Value,
) -> Value {
    let mut request = client
        .post(format!("http://{addr}/graphql"))
        .json(&json!({ "query": query, "variables": variables }));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json")
}

/// One received event: which mutation it was, and when it arrived.
struct Receipt {
    mutation: usize,
    seq: i64,
    at: Instant,
}

/// What every subscriber needs to know.
struct Setup {
    addr: String,
    token: String,
    workspace: String,
    /// Gets a permit from each subscriber once it is live.
    ready: Semaphore,
    expected: usize,
}

async fn subscriber(
    setup: Arc<Setup>,
    opening: tokio::sync::OwnedSemaphorePermit,
    report: oneshot::Sender<Vec<Receipt>>,
    mut done: watch::Receiver<bool>,
) {
    let mut request = format!("ws://{}/graphql/ws", setup.addr)
        .into_client_request()
        .expect("request");
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().expect("header"),
    );
    let mut config = WebSocketConfig::default();
    config.read_buffer_size = 4096;
    config.write_buffer_size = 0;
    let (mut ws, _) = tokio_tungstenite::connect_async_with_config(request, Some(config), false)
        .await
        .expect("websocket");
    let init = json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {}", setup.token) } });
    ws.send(Message::Text(init.to_string().into()))
        .await
        .expect("init");
    let subscribe = json!({ "id": "1", "type": "subscribe", "payload": { "query": SUBSCRIPTION, "variables": { "ws": setup.workspace } } });
    ws.send(Message::Text(subscribe.to_string().into()))
        .await
        .expect("subscribe");
    drop(opening);
    let mut receipts = Vec::with_capacity(setup.expected + 1);
    let mut warmed = false;
    while let Some(Ok(message)) = ws.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let at = Instant::now();
        // Events are recognised by scanning, not parsing: the clients share
        // the machine with the server and should cost it as little as possible.
        if text.contains("\"type\":\"ping\"") {
            let _ = ws
                .send(Message::Text(json!({ "type": "pong" }).to_string().into()))
                .await;
            continue;
        }
        if !text.contains("\"type\":\"next\"") {
            continue;
        }
        let name = between(&text, "\"after\":\"", "\"").unwrap_or_default();
        let seq = between(&text, "\"cursor\":\"", "\"")
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        if name == "warm-up" {
            if !warmed {
                warmed = true;
                setup.ready.add_permits(1);
            }
        } else if let Some(index) = name.strip_prefix('m').and_then(|i| i.parse().ok()) {
            receipts.push(Receipt {
                mutation: index,
                seq,
                at,
            });
            if receipts.len() == setup.expected {
                break;
            }
        }
    }
    let _ = report.send(receipts);
    // Stay connected until every subscriber has reported: a socket closing
    // early would load the server while others still wait for the last event.
    let _ = done.wait_for(|done| *done).await;
}

/// The text between the first `start` and the next `end`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let from = text.find(start)? + start.len();
    let len = text[from..].find(end)?;
    Some(&text[from..from + len])
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Most socket pairs the floor measurement opens: both ends live in this
/// process, within its open-file limit.
const FLOOR_PAIRS: usize = 9_000;
/// About the size of one event as the benchmark's subscribers receive it.
const FLOOR_MESSAGE: usize = 256;

/// What the kernel alone needs on this machine: one message of `size` bytes
/// written by two threads to each of `count` loopback TCP sockets, read by a
/// task per socket; the median of five rounds. Fan-out completion cannot beat
/// it when clients share the machine with the server.
async fn loopback_floor(count: usize, size: usize) -> Duration {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let mut writers = Vec::with_capacity(count);
    let arrived = Arc::new(Semaphore::new(0));
    let mut readers = Vec::with_capacity(count);
    for _ in 0..count {
        let client = std::net::TcpStream::connect(addr).expect("connect");
        let (server, _) = listener.accept().expect("accept");
        server.set_nodelay(true).expect("nodelay");
        client.set_nonblocking(true).expect("nonblocking");
        writers.push(server);
        let mut client = tokio::net::TcpStream::from_std(client).expect("client");
        let arrived = arrived.clone();
        readers.push(tokio::spawn(async move {
            let mut buffer = vec![0u8; size];
            while tokio::io::AsyncReadExt::read_exact(&mut client, &mut buffer)
                .await
                .is_ok()
            {
                arrived.add_permits(1);
            }
        }));
    }
    let message = Arc::new(vec![b'x'; size]);
    let halves: Vec<Arc<Vec<std::net::TcpStream>>> = {
        let second = writers.split_off(count / 2);
        vec![Arc::new(writers), Arc::new(second)]
    };
    let mut rounds = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let threads: Vec<_> = halves
            .iter()
            .map(|half| {
                let (half, message) = (half.clone(), message.clone());
                std::thread::spawn(move || {
                    for mut socket in half.iter() {
                        std::io::Write::write_all(&mut socket, &message).expect("write");
                    }
                })
            })
            .collect();
        arrived
            .acquire_many(count as u32)
            .await
            .expect("all arrived")
            .forget();
        rounds.push(started.elapsed());
        for thread in threads {
            thread.join().expect("writer");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(halves);
    for reader in readers {
        let _ = reader.await;
    }
    rounds.sort();
    rounds[rounds.len() / 2]
}

// The clients run on one thread: they share the machine with the server and
// leave it the other core, much as clients elsewhere would.
#[tokio::main(flavor = "current_thread")]
async fn main() {
    let subscribers = env_usize("BENCH_SUBSCRIBERS", 10_000);
    let mutations = env_usize("BENCH_MUTATIONS", 20);
    let gap = Duration::from_millis(env_usize("BENCH_GAP_MS", 250) as u64);
    let server = start_server();
    let pid = server.pid;
    let addr = server.addr.clone();
    let http = reqwest::Client::new();

    // A fresh account each run: a PostgreSQL database outlives the run.
    let email = format!(
        "bench-{}-{}@example.com",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis())
    );
    let signed = gql(&http, &addr, None,
        "mutation($email: String!) { signUp(input: {email: $email, password: \"bench password\", name: \"Bench\"}) { accessToken } }",
        json!({ "email": email })).await;
    let token = signed["data"]["signUp"]["accessToken"]
        .as_str()
        .expect("token")
        .to_owned();
    let listed = gql(
        &http,
        &addr,
        Some(&token),
        "{ workspaces { id } }",
        json!({}),
    )
    .await;
    let workspace = listed["data"]["workspaces"][0]["id"]
        .as_str()
        .expect("workspace")
        .to_owned();
    let create = "mutation($ws: ID!, $n: String!) { createWorkroom(input: {workspaceId: $ws, name: $n}) { id } }";

    tokio::time::sleep(Duration::from_millis(300)).await;
    let rss_before = rss_kib(pid);
    println!("server pid {pid} at {addr}; RSS before subscribers: {rss_before} KiB");

    let setup = Arc::new(Setup {
        addr: addr.clone(),
        token: token.clone(),
        workspace: workspace.clone(),
        ready: Semaphore::new(0),
        expected: mutations,
    });
    let opening = Arc::new(Semaphore::new(256));
    let connect_started = Instant::now();
    let mut tasks = Vec::with_capacity(subscribers);
    let mut reports = Vec::with_capacity(subscribers);
    let (finish, done) = watch::channel(false);
    for _ in 0..subscribers {
        let permit = opening.clone().acquire_owned().await.expect("permit");
        let (report, receipts) = oneshot::channel();
        reports.push(receipts);
        tasks.push(tokio::spawn(subscriber(
            setup.clone(),
            permit,
            report,
            done.clone(),
        )));
    }
    // Every subscriber is live once it has seen a warm-up event.
    let warm = async {
        loop {
            gql(
                &http,
                &addr,
                Some(&token),
                create,
                json!({ "ws": workspace, "n": "warm-up" }),
            )
            .await;
            if tokio::time::timeout(
                Duration::from_secs(2),
                setup.ready.acquire_many(subscribers as u32),
            )
            .await
            .is_ok()
            {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(600), warm)
        .await
        .expect("all subscribers live");
    println!(
        "{subscribers} subscribers live after {:.1} s",
        connect_started.elapsed().as_secs_f64()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_idle = rss_kib(pid);

    let mut sent_at = Vec::with_capacity(mutations);
    for i in 0..mutations {
        sent_at.push(Instant::now());
        let made = gql(
            &http,
            &addr,
            Some(&token),
            create,
            json!({ "ws": workspace, "n": format!("m{i}") }),
        )
        .await;
        assert!(made.get("errors").is_none(), "{made}");
        tokio::time::sleep(gap).await;
    }

    let mut delivered = 0usize;
    let mut order_violations = 0usize;
    let mut latencies = Vec::with_capacity(subscribers * mutations);
    let mut completion = vec![Duration::ZERO; mutations];
    let mut first = vec![Duration::MAX; mutations];
    let collect = async {
        for report in reports {
            let receipts = report.await.expect("subscriber");
            let mut last = 0;
            for receipt in receipts {
                if receipt.seq <= last {
                    order_violations += 1;
                }
                last = receipt.seq;
                delivered += 1;
                let latency = receipt
                    .at
                    .saturating_duration_since(sent_at[receipt.mutation]);
                latencies.push(latency);
                completion[receipt.mutation] = completion[receipt.mutation].max(latency);
                first[receipt.mutation] = first[receipt.mutation].min(latency);
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(120), collect)
        .await
        .is_err()
    {
        println!("some subscribers did not receive every event within 120 s");
    }
    let _ = finish.send(true);
    for task in tasks {
        let _ = task.await;
    }
    latencies.sort();
    let in_order: Vec<String> = completion
        .iter()
        .map(|d| format!("{:.0}", d.as_secs_f64() * 1000.0))
        .collect();
    completion.sort();
    first.sort();
    let expected = subscribers * mutations;
    println!("subscribers held:            {subscribers}");
    println!(
        "events delivered / expected: {delivered} / {expected} (lost: {})",
        expected.saturating_sub(delivered)
    );
    println!("order violations:            {order_violations}");
    println!(
        "delivery latency p50 / p99:  {} / {}",
        ms(percentile(&latencies, 50.0)),
        ms(percentile(&latencies, 99.0))
    );
    println!(
        "fan-out completion p50 / max: {} / {}",
        ms(percentile(&completion, 50.0)),
        ms(completion.last().copied().unwrap_or_default())
    );
    println!(
        "first receipt p50 (the mutation and its way to the feed): {}",
        ms(percentile(&first, 50.0))
    );
    println!(
        "fan-out completion by mutation (ms): {}",
        in_order.join(" ")
    );
    println!(
        "server RSS: {rss_before} KiB before, {rss_idle} KiB with {subscribers} idle subscribers: {:.1} KiB per idle subscriber",
        (rss_idle.saturating_sub(rss_before)) as f64 / subscribers as f64
    );
    drop(server);
    let pairs = subscribers.min(FLOOR_PAIRS);
    println!(
        "loopback floor: {} to write {FLOOR_MESSAGE} bytes to each of {pairs} TCP sockets and read them",
        ms(loopback_floor(pairs, FLOOR_MESSAGE).await)
    );
}
