//! Read benchmark: seeds 100 workspaces, 2,000 users with 20 members per
//! workspace and 200,000 activity events on the database it is given, starts
//! the release server on it, and runs B1–B4 as a member of 10 workspaces
//! with a fixed number of concurrent clients after a warm-up (the reads on
//! `wrk -t1` when it is installed, the writes and otherwise the reads on
//! in-process `reqwest` clients). For each it
//! prints requests per second, p50/p99 latency, server CPU per request
//! (Atrium's process and PostgreSQL's, from `/proc/<pid>/stat`) and SQL
//! statements per request (from `/metrics`). With `PEER_URL` set it runs the
//! peer's equivalent queries (`../shared/bench/peer-queries.json`) in
//! alternating rounds on the same database and prints the ratios.
//!
//! cargo bench --bench reads                                   # SQLite
//! BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/atrium_bench cargo bench --bench reads
//! PEER_URL=$(../shared/bench/postgraphile.sh start postgres://postgres@127.0.0.1:5432/atrium_bench) \
//!   BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/atrium_bench cargo bench --bench reads
//!
//! BENCH_SEED_ONLY=1 seeds and stops (so that a peer can start on the
//! tables), BENCH_CONCURRENCY (32), BENCH_SECONDS per round (5), BENCH_ROUNDS (3),
//! BENCH_WARMUP_SECONDS (2), PEER_PID (the peer's process, for its CPU;
//! read from PostGraphile's pid file when absent), PEER_QUERIES (path),
//! BENCH_ONLY=B3 (one benchmark), BENCH_PROFILE=perf.data (records the
//! server with `perf` during the first measured round), BENCH_CLIENT=reqwest
//! (measure on the in-process clients even when wrk is installed).

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use entity::enums::{MemberStatus, Plan, Role, Visibility};
use entity::{activity_event, member, user, workspace};
use sea_orm::{ActiveModelTrait, ConnectionTrait, EntityTrait, IntoActiveModel, TransactionTrait};
use serde_json::{Value, json};

#[path = "support/mod.rs"]
mod support;
use support::{JWT_SECRET, TempDir, env_or};

const WORKSPACES: usize = 100;
const USERS: usize = 2_000;
const MEMBERS_PER_WORKSPACE: usize = 20;
const EVENTS: usize = 200_000;
const BENCH_WORKSPACES: usize = 10;
const BENCH_EMAIL: &str = "bench-reader@bench.example";
fn uuid() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The bench reader's id and the ids of its workspaces, seeding the data set
/// first when the database does not hold it yet.
async fn seed(database: &str) -> (String, Vec<String>) {
    let db = atrium::db::connect(database, 4, atrium::config::DEFAULT_SQLITE_CACHE_MIB)
        .await
        .expect("database");
    atrium::db::migrate(&db).await.expect("migrations");
    let found = user::Entity::find()
        .all(&db)
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.email == BENCH_EMAIL);
    if found.is_none() {
        let started = Instant::now();
        insert_data_set(&db).await;
        if db.get_database_backend() == sea_orm::DbBackend::Postgres {
            db.execute_unprepared("ANALYZE").await.expect("analyze");
        }
        println!(
            "seeded the data set in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let reader = user::Entity::find()
        .all(&db)
        .await
        .expect("users")
        .into_iter()
        .find(|u| u.email == BENCH_EMAIL)
        .expect("bench reader");
    let mut workspaces: Vec<String> = member::Entity::find()
        .all(&db)
        .await
        .expect("members")
        .into_iter()
        .filter(|m| m.user_id == reader.id)
        .map(|m| m.workspace_id)
        .collect();
    workspaces.sort();
    (reader.id, workspaces)
}

async fn insert_data_set(db: &sea_orm::DatabaseConnection) {
    let now = Utc::now();
    let users: Vec<user::Model> = (0..USERS)
        .map(|i| user::Model {
            id: uuid(),
            email: if i == 0 {
                BENCH_EMAIL.to_owned()
            } else {
                format!("user{i}@bench.example")
            },
            name: format!("Bench User {i}"),
            password_hash: "not a hash: these accounts never sign in".to_owned(),
            created_at: now,
        })
        .collect();
    let workspaces: Vec<workspace::Model> = (0..WORKSPACES)
        .map(|i| workspace::Model {
            id: uuid(),
            slug: format!("bench-{i}"),
            name: format!("Bench Workspace {i}"),
            description: None,
            website: None,
            visibility: Visibility::Private,
            plan: Plan::Agency,
            personal: false,
            credit_balance: 0,
            credits_reserved: 0,
            created_at: now,
            deleted_at: None,
            purge_after: None,
            admins_manage_billing: false,
            hidden_navigation: None,
            workspace_type: entity::enums::WorkspaceType::MyBrand,
            mode: entity::enums::WorkspaceMode::Agentic,
            activity_retention_days: None,
            activity_purged_seq: 0,
            logo_file: None,
            avatar_file: None,
            banner_file: None,
        })
        .collect();
    // Every user holds one of the 2,000 places; the reader takes the first
    // place of the first 10 workspaces as a MEMBER, the second is the owner.
    let mut members = Vec::new();
    let mut actors: Vec<Vec<String>> = Vec::new();
    for (w, ws) in workspaces.iter().enumerate() {
        let mut ids = Vec::new();
        for k in 0..MEMBERS_PER_WORKSPACE {
            let user = if k == 0 && w < BENCH_WORKSPACES {
                &users[0]
            } else {
                &users[(w * MEMBERS_PER_WORKSPACE + k) % USERS]
            };
            members.push(member::Model {
                id: uuid(),
                workspace_id: ws.id.clone(),
                user_id: user.id.clone(),
                role: if k == 1 { Role::Owner } else { Role::Member },
                status: MemberStatus::Active,
                joined_at: now,
                custom_role_id: None,
                area_access: None,
                all_workrooms: None,
                workroom_access: None,
            });
            ids.push(user.id.clone());
        }
        actors.push(ids);
    }
    insert_all(
        db,
        users.into_iter().map(IntoActiveModel::into_active_model),
    )
    .await;
    let rows = workspaces.iter().cloned();
    insert_all(db, rows.map(IntoActiveModel::into_active_model)).await;
    insert_all(
        db,
        members.into_iter().map(IntoActiveModel::into_active_model),
    )
    .await;
    let per_workspace = EVENTS / WORKSPACES;
    let mut events = Vec::with_capacity(EVENTS);
    for n in 0..per_workspace {
        for (w, ws) in workspaces.iter().enumerate() {
            let actor = &actors[w][n % MEMBERS_PER_WORKSPACE];
            events.push(activity_event::ActiveModel {
                id: sea_orm::Set(uuid()),
                workspace_id: sea_orm::Set(ws.id.clone()),
                actor_id: sea_orm::Set(Some(actor.clone())),
                actor_kind: sea_orm::Set("USER".to_owned()),
                api_key_id: sea_orm::Set(None),
                action: sea_orm::Set("workroom.created".to_owned()),
                area: sea_orm::Set("PROJECTS".to_owned()),
                target_type: sea_orm::Set("workroom".to_owned()),
                target_id: sea_orm::Set(Some(uuid())),
                workroom_id: sea_orm::Set(None),
                changes: sea_orm::Set(Some(
                    json!({ "name": { "before": null, "after": format!("Room {n}") } }),
                )),
                created_at: sea_orm::Set(now),
                ..Default::default()
            });
        }
    }
    insert_all(db, events.into_iter()).await;
}

/// Inserts rows 500 at a time, in one transaction.
async fn insert_all<A>(db: &sea_orm::DatabaseConnection, rows: impl Iterator<Item = A>)
where
    A: ActiveModelTrait + Send,
{
    let txn = db.begin().await.expect("begin");
    let mut rows = rows.peekable();
    while rows.peek().is_some() {
        let chunk: Vec<A> = rows.by_ref().take(500).collect();
        A::Entity::insert_many(chunk)
            .exec(&txn)
            .await
            .expect("insert");
    }
    txn.commit().await.expect("commit");
}

/// Clock ticks a process (and, with `children`, none else) has run on a CPU.
fn cpu_ticks(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|stat| {
            // Fields after the command (which may hold spaces) in ")".
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let utime: u64 = fields.get(11)?.parse().ok()?;
            let stime: u64 = fields.get(12)?.parse().ok()?;
            Some(utime + stime)
        })
        .unwrap_or(0)
}

/// CPU ticks of this process and of the children it has waited for (wrk).
fn own_ticks() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let mut sum = 0;
            for i in 11..=14 {
                sum += fields.get(i)?.parse::<i64>().ok()?;
            }
            Some(sum.max(0) as u64)
        })
        .unwrap_or(0)
}

/// CPU ticks of every PostgreSQL process on this machine.
fn postgres_ticks() -> u64 {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "postgres")
        })
        .map(cpu_ticks)
        .sum()
}

fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

async fn statements(client: &reqwest::Client, addr: &str) -> f64 {
    let text = client
        .get(format!("http://{addr}/metrics"))
        .send()
        .await
        .expect("metrics")
        .text()
        .await
        .expect("metrics text");
    text.lines()
        .filter(|l| l.starts_with("atrium_db_statement_duration_seconds_count"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// One request body and where to send it.
#[derive(Clone)]
struct Target {
    url: String,
    token: Option<String>,
    /// Bodies taken in turn by the clients.
    bodies: Arc<Vec<String>>,
}

struct Round {
    requests: u64,
    errors: u64,
    elapsed: Duration,
    /// p50 and p99 latency, in ms.
    p50: f64,
    p99: f64,
    cpu: f64,
    postgres_cpu: f64,
    client_cpu: f64,
}

/// Runs `concurrency` clients in a closed loop for `seconds`.
async fn run(target: &Target, concurrency: usize, seconds: f64, pid: Option<u32>) -> Round {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .expect("client");
    let stop = Arc::new(AtomicBool::new(false));
    let next = Arc::new(AtomicU64::new(0));
    let meter = Meter::start(pid);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let (client, target, stop, next) =
            (client.clone(), target.clone(), stop.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let n = next.fetch_add(1, Ordering::Relaxed) as usize;
                let body = target.bodies[n % target.bodies.len()].clone();
                let mut request = client
                    .post(&target.url)
                    .header("content-type", "application/json")
                    .body(body);
                if let Some(token) = &target.token {
                    request = request.bearer_auth(token);
                }
                let at = Instant::now();
                let ok = match request.send().await {
                    Ok(response) => match response.bytes().await {
                        Ok(bytes) => !bytes.windows(9).any(|w| w == b"\"errors\":"),
                        Err(_) => false,
                    },
                    Err(_) => false,
                };
                latencies.push(at.elapsed());
                if !ok {
                    errors += 1;
                }
            }
            (latencies, errors)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut errors = 0;
    for task in tasks {
        let (l, e) = task.await.expect("client task");
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort();
    meter.round(
        latencies.len() as u64,
        errors,
        elapsed,
        [percentile(&latencies, 0.5), percentile(&latencies, 0.99)],
    )
}

/// CPU ticks of the server, PostgreSQL and the clients at a round's start.
struct Meter {
    pid: Option<u32>,
    server: u64,
    postgres: u64,
    client: u64,
}

impl Meter {
    fn start(pid: Option<u32>) -> Self {
        Self {
            pid,
            server: pid.map(cpu_ticks).unwrap_or(0),
            postgres: postgres_ticks(),
            client: own_ticks(),
        }
    }

    /// The round that ends now, with the CPU each side spent since the start.
    fn round(&self, requests: u64, errors: u64, elapsed: Duration, [p50, p99]: [f64; 2]) -> Round {
        let hz = ticks_per_second();
        Round {
            requests,
            errors,
            elapsed,
            p50,
            p99,
            cpu: self
                .pid
                .map_or(0.0, |p| (cpu_ticks(p) - self.server) as f64 / hz),
            postgres_cpu: (postgres_ticks() - self.postgres) as f64 / hz,
            client_cpu: (own_ticks() - self.client) as f64 / hz,
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// Runs the clients as `wrk -t1 -c<concurrency>` (the load generator of the
/// figures this benchmark answers), sending the target's bodies in turn and
/// counting a response that carries `"errors":` as an error. None when wrk
/// is not installed.
fn run_wrk(target: &Target, concurrency: usize, seconds: f64, pid: Option<u32>) -> Option<Round> {
    let dir = TempDir::new("atrium-wrk");
    let script = dir.0.join("bench.lua");
    let mut lua = String::from("local bodies = {\n");
    for body in target.bodies.iter() {
        lua.push_str(&format!("[==[{body}]==],\n"));
    }
    lua.push_str(
        "}\nwrk.method = \"POST\"\nwrk.headers[\"Content-Type\"] = \"application/json\"\n",
    );
    if let Some(token) = &target.token {
        lua.push_str(&format!(
            "wrk.headers[\"Authorization\"] = \"Bearer {token}\"\n"
        ));
    }
    lua.push_str(WRK_SCRIPT);
    std::fs::write(&script, lua).expect("wrk script");
    let meter = Meter::start(pid);
    let output = Command::new("wrk")
        .args(["-t1", &format!("-c{concurrency}"), &format!("-d{seconds}s")])
        .arg("-s")
        .arg(&script)
        .arg(&target.url)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("ATRIUM_BENCH "))
        .unwrap_or_else(|| {
            panic!(
                "wrk printed no figures: {text}{}",
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let f: Vec<f64> = line
        .split_whitespace()
        .map(|v| v.parse().expect("wrk figure"))
        .collect();
    Some(meter.round(
        f[0] as u64,
        f[4] as u64,
        Duration::from_micros(f[1] as u64),
        [f[2] / 1000.0, f[3] / 1000.0],
    ))
}

/// What the wrk script does after its bodies and headers: send the bodies
/// in turn, count errors, print the figures on one line.
const WRK_SCRIPT: &str = r#"
local n = 0
errors = 0
local threads = {}
function setup(thread) table.insert(threads, thread) end
function request()
  n = n + 1
  return wrk.format(nil, nil, nil, bodies[(n % #bodies) + 1])
end
function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors":', 1, true) then errors = errors + 1 end
end
function done(summary, latency, requests)
  local e = summary.errors
  local failed = e.connect + e.read + e.write + e.timeout
  for _, thread in ipairs(threads) do failed = failed + thread:get("errors") end
  io.write(string.format("ATRIUM_BENCH %d %d %f %f %d\n", summary.requests,
    summary.duration, latency:percentile(50), latency:percentile(99), failed))
end
"#;

/// Whether the measured rounds run on wrk: when it is installed, unless
/// BENCH_CLIENT=reqwest.
fn wrk_available() -> bool {
    std::env::var("BENCH_CLIENT").as_deref() != Ok("reqwest")
        && Command::new("wrk")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
}

/// Measures one round on wrk when it is there, else on the reqwest clients.
async fn measure(
    target: &Target,
    concurrency: usize,
    seconds: f64,
    pid: Option<u32>,
    wrk: bool,
) -> Round {
    if wrk {
        let target = target.clone();
        let round =
            tokio::task::spawn_blocking(move || run_wrk(&target, concurrency, seconds, pid))
                .await
                .expect("wrk round");
        if let Some(round) = round {
            return round;
        }
    }
    run(target, concurrency, seconds, pid).await
}

#[derive(Default)]
struct Figures {
    requests: u64,
    errors: u64,
    seconds: f64,
    /// Request-weighted sums of the rounds' p50 and p99.
    p50: f64,
    p99: f64,
    cpu: f64,
    postgres_cpu: f64,
    client_cpu: f64,
    statements: f64,
}

impl Figures {
    fn add(&mut self, round: Round) {
        self.requests += round.requests;
        self.errors += round.errors;
        self.seconds += round.elapsed.as_secs_f64();
        self.p50 += round.p50 * round.requests as f64;
        self.p99 += round.p99 * round.requests as f64;
        self.cpu += round.cpu;
        self.postgres_cpu += round.postgres_cpu;
        self.client_cpu += round.client_cpu;
    }

    fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds.max(f64::EPSILON)
    }

    /// The rounds' p50 or p99, weighted by their requests.
    fn mean(&self, sum: f64) -> f64 {
        sum / self.requests.max(1) as f64
    }

    fn per_request_us(&self, seconds: f64) -> f64 {
        seconds * 1e6 / (self.requests.max(1) as f64)
    }

    fn line(&self, who: &str, cpu_known: bool) -> String {
        let cpu = if cpu_known {
            format!("{:>7.0}", self.per_request_us(self.cpu))
        } else {
            format!("{:>7}", "-")
        };
        let statements = if self.statements > 0.0 {
            format!("{:>5.2}", self.statements / self.requests.max(1) as f64)
        } else {
            format!("{:>5}", "-")
        };
        format!(
            "  {who:<12} {:>9.0} rps  p50 {:>6.2} ms  p99 {:>6.2} ms  cpu {cpu} µs/req  postgres {:>5.0} µs/req  client {:>4.0} µs/req  statements {statements}  errors {}",
            self.rps(),
            self.mean(self.p50),
            self.mean(self.p99),
            self.per_request_us(self.postgres_cpu),
            self.per_request_us(self.client_cpu),
            self.errors,
        )
    }
}

struct Bench {
    name: &'static str,
    atrium: Target,
    peer: Option<Target>,
}

fn bodies(query: &str, variables: impl Iterator<Item = Value>) -> Arc<Vec<String>> {
    Arc::new(
        variables
            .map(|v| json!({ "query": query, "variables": v }).to_string())
            .collect(),
    )
}

fn peer_queries() -> Value {
    let path = std::env::var("PEER_QUERIES").unwrap_or_else(|_| {
        concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/bench/peer-queries.json"
        )
        .to_owned()
    });
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).expect("peer queries")
}

fn peer_pid() -> Option<u32> {
    if let Ok(pid) = std::env::var("PEER_PID") {
        return pid.parse().ok();
    }
    let dir = std::env::var("PEER_DIR").unwrap_or_else(|_| {
        let cache = std::env::var("XDG_CACHE_HOME")
            .unwrap_or_else(|_| format!("{}/.cache", std::env::var("HOME").unwrap_or_default()));
        format!("{cache}/atrium-peers/postgraphile")
    });
    std::fs::read_to_string(format!("{dir}/pid"))
        .ok()
        .and_then(|p| p.trim().parse().ok())
}

/// Checks that a query answers data without errors before it is measured.
async fn check(target: &Target) {
    let client = reqwest::Client::new();
    let mut request = client
        .post(&target.url)
        .header("content-type", "application/json")
        .body(target.bodies[0].clone());
    if let Some(token) = &target.token {
        request = request.bearer_auth(token);
    }
    let body: Value = request
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("json");
    assert!(
        body.get("errors").is_none() && !body["data"].is_null(),
        "{} answered {body}",
        target.url
    );
}

#[tokio::main]
async fn main() {
    let concurrency: usize = env_or("BENCH_CONCURRENCY", 32);
    let seconds: f64 = env_or("BENCH_SECONDS", 5.0);
    let rounds: usize = env_or("BENCH_ROUNDS", 3);
    let warmup: f64 = env_or("BENCH_WARMUP_SECONDS", 2.0);
    let dir = TempDir::new("atrium-reads");
    let database = std::env::var("BENCH_DATABASE_URL").unwrap_or_else(|_| dir.sqlite_url());
    let (reader, workspaces) = seed(&database).await;
    if std::env::var_os("BENCH_SEED_ONLY").is_some() {
        return;
    }
    let server = support::spawn(&database, dir);
    assert_eq!(
        workspaces.len(),
        BENCH_WORKSPACES,
        "the reader's workspaces"
    );
    let keys = atrium::auth::jwt::Keys::new(JWT_SECRET);
    let (token, _) = keys
        .issue(&reader, Duration::from_secs(24 * 3600))
        .expect("token");
    let url = format!("http://{}/graphql", server.addr);
    let peer_url = std::env::var("PEER_URL").ok();
    let peers = peer_url.as_ref().map(|_| peer_queries());
    let ids = || workspaces.iter().map(|id| json!({ "id": id }));

    let mut benches = Vec::new();
    for (name, key, variables) in [
        ("B1 point read", "B1_point_read", true),
        ("B2 feed page", "B2_feed_page", true),
        ("B3 nested", "B3_nested", false),
    ] {
        let query = peer_queries_or_default(peers.as_ref(), key, "atrium");
        let atrium = Target {
            url: url.clone(),
            token: Some(token.clone()),
            bodies: if variables {
                bodies(&query, ids())
            } else {
                bodies(&query, std::iter::once(json!({})))
            },
        };
        let peer = peer_url.as_ref().map(|peer_url| {
            let query = peer_queries_or_default(peers.as_ref(), key, "postgraphile");
            Target {
                url: peer_url.clone(),
                token: None,
                bodies: if variables {
                    bodies(&query, ids())
                } else {
                    bodies(&query, std::iter::once(json!({ "u": reader })))
                },
            }
        });
        benches.push(Bench { name, atrium, peer });
    }

    let client = reqwest::Client::new();
    println!(
        "Atrium on {}: {concurrency} clients, {rounds} rounds of {seconds} s after {warmup} s of warm-up{}",
        if database.starts_with("postgres") {
            "PostgreSQL"
        } else {
            "SQLite"
        },
        peer_url
            .as_ref()
            .map(|p| format!(", peer {p}"))
            .unwrap_or_default()
    );
    let peer_pid = peer_url.as_ref().and_then(|_| peer_pid());
    let wrk = wrk_available();
    println!(
        "clients: {}",
        if wrk {
            "wrk -t1 (reads), reqwest (writes)"
        } else {
            "reqwest (wrk not installed)"
        }
    );
    let only = std::env::var("BENCH_ONLY").unwrap_or_default();
    for bench in benches.iter().filter(|b| b.name.starts_with(only.as_str())) {
        check(&bench.atrium).await;
        if let Some(peer) = &bench.peer {
            check(peer).await;
        }
        run(&bench.atrium, concurrency, warmup, None).await;
        if let Some(peer) = &bench.peer {
            run(peer, concurrency, warmup, None).await;
        }
        let mut ours = Figures::default();
        let mut theirs = Figures::default();
        for _ in 0..rounds {
            let before = statements(&client, &server.addr).await;
            let perf = std::env::var("BENCH_PROFILE").ok().and_then(|file| {
                Command::new("perf")
                    .args(["record", "--call-graph", "dwarf,16384", "-F", "499"])
                    .args(["-o", &file, "-p", &server.pid.to_string()])
                    .args(["--", "sleep", &seconds.to_string()])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .ok()
            });
            let round = measure(&bench.atrium, concurrency, seconds, Some(server.pid), wrk).await;
            if let Some(mut perf) = perf {
                let _ = perf.wait();
            }
            ours.statements += statements(&client, &server.addr).await - before;
            ours.add(round);
            if let Some(peer) = &bench.peer {
                theirs.add(measure(peer, concurrency, seconds, peer_pid, wrk).await);
            }
        }
        println!("{}", bench.name);
        println!("{}", ours.line("Atrium", true));
        if bench.peer.is_some() {
            println!("{}", theirs.line("PostGraphile", peer_pid.is_some()));
            println!(
                "  ratio        {:.2}× the peer's rps",
                ours.rps() / theirs.rps().max(f64::EPSILON)
            );
        }
    }

    if !"B4".starts_with(only.as_str()) {
        return;
    }
    // B4: createWorkroom in the reader's 10 workspaces at once. The reader is
    // a MEMBER, who may create workrooms.
    let run_id = uuid();
    let writes: Vec<String> = (0..(concurrency * 4_000))
        .map(|n| {
            json!({
                "query": "mutation($input: CreateWorkroomInput!){ createWorkroom(input: $input){ id } }",
                "variables": { "input": {
                    "workspaceId": workspaces[n % workspaces.len()],
                    "name": format!("bench {} {n}", &run_id[24..]),
                } },
            })
            .to_string()
        })
        .collect();
    let target = Target {
        url,
        token: Some(token),
        bodies: Arc::new(writes),
    };
    let mut figures = Figures::default();
    let before = statements(&client, &server.addr).await;
    figures.add(run(&target, concurrency, seconds, Some(server.pid)).await);
    figures.statements = statements(&client, &server.addr).await - before;
    println!("B4 write (createWorkroom in {BENCH_WORKSPACES} workspaces at once)");
    println!("{}", figures.line("Atrium", true).replace(" rps", " w/s"));
}

/// The query text a bench sends: the peer file's, or Atrium's own.
fn peer_queries_or_default(peers: Option<&Value>, key: &str, side: &str) -> String {
    if let Some(text) = peers.and_then(|p| p[key][side].as_str()) {
        return text.to_owned();
    }
    match key {
        "B1_point_read" => "query($id: ID!){ workspace(id:$id){ id name slug plan } }",
        "B2_feed_page" => {
            "query($id: ID!){ workspace(id:$id){ activity(first:20){ nodes{ id action createdAt changes actor{ id name } } } } }"
        }
        _ => "{ workspaces { id name members(first:20){ nodes{ role user{ id name } } } } }",
    }
    .to_owned()
}
