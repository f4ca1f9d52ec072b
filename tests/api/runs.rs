//! Agent runs: streamed to every watcher alike, replayed after a
//! disconnect, cancelled, bounded by their reservation, and never left
//! RUNNING by a server that died.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::process::Process;
use crate::ws_client::{Got, WsClient};

pub const START: &str = "mutation($wr: ID!, $agent: ID, $input: String!, $max: Int) {
  startRun(input: {workroomId: $wr, agentId: $agent, input: $input, maxCredits: $max}) {
    id status creditsReserved agentVersion startedBy { kind name }
  }
}";
const WATCH: &str = "subscription($run: ID!, $after: Int) { runEvents(runId: $run, afterSeq: $after) { runId seq type data } }";
pub const RUN: &str = "query($run: ID!) { agentRun(id: $run) { status output error creditsUsed creditsReserved events { seq type data } } }";
pub const POOL: &str = "query($ws: ID!) { workspace(id: $ws) { credits { balance reserved available entries(first: 100) { nodes { kind amount balanceAfter run { id } by { kind name } } pageInfo { hasNextPage } } } } }";

/// A team with a workroom and `credits` granted by the owner.
pub async fn funded(app: &TestApp, credits: i64) -> (Team, String) {
    let team = app.team().await;
    let room = app
        .create_workroom(&team.owner, &team.workspace, "Studio")
        .await;
    let room = room["data"]["createWorkroom"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    if credits > 0 {
        app.data(
            Some(&team.owner.token),
            "mutation($ws: ID!, $n: Int!) { grantCredits(workspaceId: $ws, amount: $n, reason: \"top-up\") { balanceAfter } }",
            json!({ "ws": team.workspace, "n": credits }),
        )
        .await;
    }
    (team, room)
}

pub async fn wait_for_status(app: &TestApp, token: &str, run: &str, wanted: &[&str]) -> Value {
    for _ in 0..300 {
        let data = app.data(Some(token), RUN, json!({ "run": run })).await;
        if wanted.contains(&data["agentRun"]["status"].as_str().unwrap_or_default()) {
            return data["agentRun"].clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {run} never reached {wanted:?}");
}

/// Every event of a subscription until it completes.
async fn collect(ws: &mut WsClient, id: &str) -> Vec<Value> {
    let mut events = Vec::new();
    loop {
        match ws.next(id, Duration::from_secs(20)).await {
            Got::Next(payload) => {
                assert!(
                    payload.get("errors").is_none_or(Value::is_null),
                    "{payload}"
                );
                events.push(payload["data"]["runEvents"].clone());
            }
            Got::Complete => return events,
            other => panic!("runEvents ended with {other:?} after {events:?}"),
        }
    }
}

/// The ledger's invariants: GRANT and DEBIT sum to the balance, RESERVE and
/// RELEASE to what is reserved, and nothing is below zero.
pub fn assert_ledger_sums(pool: &Value) {
    let entries = pool["entries"]["nodes"].as_array().unwrap();
    let sum = |kinds: &[&str]| -> i64 {
        entries
            .iter()
            .filter(|e| kinds.contains(&e["kind"].as_str().unwrap()))
            .map(|e| e["amount"].as_i64().unwrap())
            .sum()
    };
    assert_eq!(
        sum(&["GRANT", "DEBIT"]),
        pool["balance"].as_i64().unwrap(),
        "{pool}"
    );
    assert_eq!(
        sum(&["RESERVE", "RELEASE"]),
        pool["reserved"].as_i64().unwrap(),
        "{pool}"
    );
    assert!(pool["balance"].as_i64().unwrap() >= 0);
    assert!(pool["available"].as_i64().unwrap() >= 0);
}

#[tokio::test]
async fn two_watchers_see_the_same_run_and_a_late_one_replays_it() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 100).await;
        let agent = app
            .data(
                Some(&team.member.token),
                "mutation($ws: ID!) { createAgent(input: {workspaceId: $ws, name: \"Aurora\", instructions: \"Warm and brief.\", styleMemory: {tone: \"warm\"}}) { id version } }",
                json!({ "ws": team.workspace }),
            )
            .await["createAgent"]
            .clone();
        let input = "Launch notes for the spring catalogue, with\ttabs and\n  two lines";
        let started = app
            .data(
                Some(&team.member.token),
                START,
                json!({ "wr": room, "agent": agent["id"], "input": input, "max": 50 }),
            )
            .await["startRun"]
            .clone();
        assert_eq!(started["status"], "QUEUED");
        assert_eq!(started["creditsReserved"], 50);
        assert_eq!(started["agentVersion"], 1);
        assert_eq!(started["startedBy"]["kind"], "USER");
        let run = started["id"].as_str().unwrap();
        let vars = json!({ "run": run });
        let mut a = WsClient::subscribed(&app, &team.viewer.token, "a", WATCH, vars.clone()).await;
        let mut b = WsClient::subscribed(&app, &team.owner.token, "b", WATCH, vars.clone()).await;
        let (seen_a, seen_b) = tokio::join!(collect(&mut a, "a"), collect(&mut b, "b"));
        assert_eq!(seen_a, seen_b, "both watchers see the same events");
        let seqs: Vec<i64> = seen_a.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "no gap, no duplicate");
        assert_eq!(seen_a[0]["type"], "run.queued");
        assert_eq!(seen_a[1]["type"], "run.started");
        assert_eq!(seen_a.last().unwrap()["type"], "run.succeeded");
        let text: String = seen_a
            .iter()
            .filter(|e| e["type"] == "run.delta")
            .map(|e| e["data"]["text"].as_str().unwrap())
            .collect();
        assert!(text.contains(input.trim()), "the reply quotes the input: {text:?}");

        let done = app.data(Some(&team.viewer.token), RUN, vars.clone()).await["agentRun"].clone();
        assert_eq!(done["status"], "SUCCEEDED");
        assert_eq!(done["output"].as_str().unwrap(), text);
        let deltas = seen_a.iter().filter(|e| e["type"] == "run.delta").count() as i64;
        assert_eq!(done["creditsUsed"].as_i64().unwrap(), deltas, "one credit per chunk");
        assert_eq!(done["events"].as_array().unwrap().len(), seen_a.len());

        // A watcher arriving late (or reconnecting) replays after its seq.
        let mut late = WsClient::subscribed(&app, &team.member.token, "c", WATCH, json!({ "run": run, "after": 3 })).await;
        let replayed = collect(&mut late, "c").await;
        assert_eq!(replayed, seen_a[3..].to_vec());
        let mut ended = WsClient::subscribed(&app, &team.member.token, "d", WATCH, json!({ "run": run, "after": seqs.len() })).await;
        assert!(collect(&mut ended, "d").await.is_empty());

        let pool = app.data(Some(&team.owner.token), POOL, json!({ "ws": team.workspace })).await["workspace"]["credits"].clone();
        assert_eq!(pool["balance"].as_i64().unwrap(), 100 - deltas);
        assert_eq!(pool["reserved"], 0);
        assert_ledger_sums(&pool);
        let kinds: Vec<&str> = pool["entries"]["nodes"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
        assert_eq!(kinds, ["RELEASE", "DEBIT", "RESERVE", "GRANT"]);
        assert_eq!(pool["entries"]["nodes"][0]["run"]["id"], run);
        assert_eq!(pool["entries"]["nodes"][0]["by"]["name"], "Member");

        // The workroom's subscribers and its activity hear of the run.
        let activity = app
            .data(
                Some(&team.owner.token),
                "query($wr: ID!) { workroom(id: $wr) { runs { id status } activity { nodes { action } } } }",
                json!({ "wr": room }),
            )
            .await;
        let actions: Vec<&str> = activity["workroom"]["activity"]["nodes"].as_array().unwrap().iter().map(|n| n["action"].as_str().unwrap()).collect();
        assert!(actions.starts_with(&["run.succeeded", "run.started"]), "{actions:?}");
        assert_eq!(activity["workroom"]["runs"][0]["id"], run);
    })
    .await;
}

#[tokio::test]
async fn a_watcher_that_disconnects_resumes_without_gap_and_the_run_goes_on() {
    let slow = |config: &mut atrium::Config| {
        config.work.builtin_chunk_delay = Duration::from_millis(60);
    };
    each_backend_with(slow, async |app| {
        let (team, room) = funded(&app, 100).await;
        let input = "one two three four five six seven eight nine ten eleven twelve";
        let run = app
            .data(
                Some(&team.member.token),
                START,
                json!({ "wr": room, "input": input }),
            )
            .await["startRun"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut first =
            WsClient::subscribed(&app, &team.member.token, "a", WATCH, json!({ "run": run })).await;
        let mut seen = Vec::new();
        while seen.len() < 4 {
            seen.push(first.event("a").await["runEvents"].clone());
        }
        first.close().await;
        let last = seen.last().unwrap()["seq"].as_i64().unwrap();
        let mut again = WsClient::subscribed(
            &app,
            &team.member.token,
            "b",
            WATCH,
            json!({ "run": run, "after": last }),
        )
        .await;
        seen.extend(collect(&mut again, "b").await);
        let seqs: Vec<i64> = seen.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>());
        assert_eq!(
            seen.last().unwrap()["type"],
            "run.succeeded",
            "disconnecting cancels nothing"
        );
    })
    .await;
}

#[tokio::test]
async fn cancelling_ends_the_run_once_and_returns_its_reservation() {
    let slow = |config: &mut atrium::Config| {
        config.work.builtin_chunk_delay = Duration::from_millis(200);
    };
    each_backend_with(slow, async |app| {
        let (team, room) = funded(&app, 100).await;
        let run = app
            .data(Some(&team.member.token), START, json!({ "wr": room, "input": "a long brief of many words to write out slowly", "max": 40 }))
            .await["startRun"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        wait_for_status(&app, &team.member.token, &run, &["RUNNING"]).await;
        let mut watcher = WsClient::subscribed(&app, &team.viewer.token, "w", WATCH, json!({ "run": run })).await;
        let cancel = "mutation($run: ID!) { cancelRun(id: $run) { status creditsUsed finishedAt } }";
        let cancelled = app.data(Some(&team.member.token), cancel, json!({ "run": run })).await["cancelRun"].clone();
        assert_eq!(cancelled["status"], "CANCELLED");
        let again = app.data(Some(&team.owner.token), cancel, json!({ "run": run })).await["cancelRun"].clone();
        assert_eq!(again, cancelled, "cancelling again changes nothing");
        let events = collect(&mut watcher, "w").await;
        assert_eq!(events.last().unwrap()["type"], "run.cancelled");
        assert_eq!(events.iter().filter(|e| e["type"] == "run.cancelled").count(), 1);
        tokio::time::sleep(Duration::from_millis(500)).await;
        let after = app.data(Some(&team.member.token), RUN, json!({ "run": run })).await["agentRun"].clone();
        assert_eq!(after["status"], "CANCELLED", "the worker stopped writing");
        assert_eq!(after["events"].as_array().unwrap().last().unwrap()["type"], "run.cancelled");
        let pool = app.data(Some(&team.owner.token), POOL, json!({ "ws": team.workspace })).await["workspace"]["credits"].clone();
        assert_eq!(pool["reserved"], 0);
        assert_eq!(pool["balance"].as_i64().unwrap(), 100 - after["creditsUsed"].as_i64().unwrap());
        assert_ledger_sums(&pool);
    })
    .await;
}

#[tokio::test]
async fn a_run_stops_when_its_reservation_is_spent() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 100).await;
        let run = app
            .data(Some(&team.member.token), START, json!({ "wr": room, "input": "far more words than three credits can pay for", "max": 3 }))
            .await["startRun"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let done = wait_for_status(&app, &team.member.token, &run, &["FAILED", "SUCCEEDED"]).await;
        assert_eq!(done["status"], "FAILED");
        assert!(done["error"].as_str().unwrap().contains("3 credits"), "{done}");
        assert_eq!(done["creditsUsed"], 3);
        let pool = app.data(Some(&team.owner.token), POOL, json!({ "ws": team.workspace })).await["workspace"]["credits"].clone();
        assert_eq!(pool["balance"], 97);
        assert_ledger_sums(&pool);
    })
    .await;
}

#[tokio::test]
async fn runs_refuse_bad_input_and_archived_things() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 100).await;
        let token = Some(team.member.token.as_str());
        for (vars, field) in [
            (json!({ "wr": room, "input": "  " }), "input"),
            (json!({ "wr": room, "input": "x", "max": 0 }), "maxCredits"),
            (json!({ "wr": room, "input": "x", "max": 2_000_000 }), "maxCredits"),
            (json!({ "wr": room, "input": "x".repeat(20_001) }), "input"),
        ] {
            let response = app.gql(token, START, vars).await;
            assert_code(&response, "BAD_USER_INPUT");
            assert_eq!(response["errors"][0]["extensions"]["field"], field);
        }
        let elsewhere = app.team().await;
        let foreign = app.create_workroom(&elsewhere.owner, &elsewhere.workspace, "Theirs").await;
        let foreign = foreign["data"]["createWorkroom"]["id"].clone();
        assert_code(&app.gql(token, START, json!({ "wr": foreign, "input": "x" })).await, "NOT_FOUND");
        let agent = app
            .data(token, "mutation($ws: ID!) { createAgent(input: {workspaceId: $ws, name: \"Old\", instructions: \"x\"}) { id } }", json!({ "ws": team.workspace }))
            .await["createAgent"]["id"]
            .clone();
        app.data(token, "mutation($a: ID!) { archiveAgent(id: $a) { id } }", json!({ "a": agent })).await;
        assert_code(&app.gql(token, START, json!({ "wr": room, "agent": agent, "input": "x" })).await, "CONFLICT");
        let their_agent = app
            .data(Some(&elsewhere.owner.token), "mutation($ws: ID!) { createAgent(input: {workspaceId: $ws, name: \"Theirs\", instructions: \"x\"}) { id } }", json!({ "ws": elsewhere.workspace }))
            .await["createAgent"]["id"]
            .clone();
        assert_code(&app.gql(token, START, json!({ "wr": room, "agent": their_agent, "input": "x" })).await, "NOT_FOUND");
    })
    .await;
}

#[tokio::test]
async fn archiving_a_workroom_cancels_its_runs_and_releases_their_credits() {
    let slow = |config: &mut atrium::Config| {
        config.work.builtin_chunk_delay = Duration::from_secs(5);
    };
    each_backend_with(slow, async |app| {
        let (team, room) = funded(&app, 100).await;
        let run = app
            .data(
                Some(&team.owner.token),
                START,
                json!({ "wr": room, "input": "slow", "max": 30 }),
            )
            .await["startRun"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let archived = app
            .data(
                Some(&team.owner.token),
                "mutation($wr: ID!) { archiveWorkroom(id: $wr) { archivedAt } }",
                json!({ "wr": room }),
            )
            .await;
        assert!(archived["archiveWorkroom"]["archivedAt"].is_string());
        let run_now = app
            .data(Some(&team.owner.token), RUN, json!({ "run": run }))
            .await["agentRun"]
            .clone();
        assert_eq!(run_now["status"], "CANCELLED");
        let pool = app
            .data(
                Some(&team.owner.token),
                POOL,
                json!({ "ws": team.workspace }),
            )
            .await["workspace"]["credits"]
            .clone();
        assert_eq!(pool["reserved"], 0);
        assert_eq!(pool["available"], 100);
        assert_ledger_sums(&pool);
        // Hidden from lists, read-only, and open again once restored.
        let listed = app
            .data(
                Some(&team.owner.token),
                "query($ws: ID!) { workspace(id: $ws) { workrooms { id } } }",
                json!({ "ws": team.workspace }),
            )
            .await;
        assert_eq!(listed["workspace"]["workrooms"], json!([]));
        assert_code(
            &app.gql(
                Some(&team.owner.token),
                START,
                json!({ "wr": room, "input": "x" }),
            )
            .await,
            "CONFLICT",
        );
        assert_code(
            &app.gql(
                Some(&team.owner.token),
                "mutation($wr: ID!) { updateWorkroom(input: {id: $wr, name: \"New\"}) { id } }",
                json!({ "wr": room }),
            )
            .await,
            "CONFLICT",
        );
        app.data(
            Some(&team.owner.token),
            "mutation($wr: ID!) { restoreWorkroom(id: $wr) { archivedAt } }",
            json!({ "wr": room }),
        )
        .await;
        let started = app
            .gql(
                Some(&team.owner.token),
                START,
                json!({ "wr": room, "input": "x", "max": 1 }),
            )
            .await;
        assert_eq!(code(&started), None, "{started}");
        let actions = app
            .data(
                Some(&team.owner.token),
                "query($wr: ID!) { workroom(id: $wr) { activity { nodes { action } } } }",
                json!({ "wr": room }),
            )
            .await;
        let actions: Vec<&str> = actions["workroom"]["activity"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["action"].as_str().unwrap())
            .collect();
        for wanted in ["workroom.archived", "workroom.restored", "run.cancelled"] {
            assert!(actions.contains(&wanted), "{actions:?}");
        }
    })
    .await;
}

/// A server killed mid-run (SIGKILL, no goodbye) leaves its run to the
/// others: once its lease lapses the run is FAILED and its credits settled.
#[tokio::test]
async fn a_run_of_a_killed_server_fails_and_releases_its_reservation() {
    let no_workers = |config: &mut atrium::Config| {
        config.work.run_workers = 0;
        config.work.run_lease = Duration::from_secs(1);
    };
    each_backend_with(no_workers, async |app| {
        let (team, room) = funded(&app, 100).await;
        let process = Process::start(&[
            ("DATABASE_URL", app.database_url.clone()),
            ("RUN_LEASE_SECS", "1".into()),
            ("BUILTIN_LLM_CHUNK_DELAY_MS", "300".into()),
        ]);
        let addr: std::net::SocketAddr = process.addr.parse().unwrap();
        let started = app
            .gql_at(
                addr,
                Some(&team.member.token),
                START,
                json!({ "wr": room, "input": "words that take a while to write out", "max": 40 }),
            )
            .await;
        let run = started["data"]["startRun"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let running = wait_for_status(&app, &team.member.token, &run, &["RUNNING"]).await;
        assert_eq!(running["status"], "RUNNING");
        drop(process); // SIGKILL
        let failed = wait_for_status(&app, &team.member.token, &run, &["FAILED"]).await;
        assert!(
            failed["error"].as_str().unwrap().contains("stopped"),
            "{failed}"
        );
        assert_eq!(
            failed["events"].as_array().unwrap().last().unwrap()["type"],
            "run.failed"
        );
        let pool = app
            .data(
                Some(&team.owner.token),
                POOL,
                json!({ "ws": team.workspace }),
            )
            .await["workspace"]["credits"]
            .clone();
        assert_eq!(pool["reserved"], 0, "no stranded reservation");
        assert_eq!(
            pool["balance"].as_i64().unwrap(),
            100 - failed["creditsUsed"].as_i64().unwrap()
        );
        assert_ledger_sums(&pool);
        let running: Vec<String> = app
            .query_strings("SELECT id FROM agent_runs WHERE status = 'RUNNING'")
            .await;
        assert!(running.is_empty(), "{running:?}");
    })
    .await;
}

/// Reads workroomEvents kinds into `kinds` until `wanted` arrives.
async fn kinds_until(ws: &mut WsClient, kinds: &mut Vec<String>, wanted: &str) {
    while !kinds.iter().any(|k| k == wanted) {
        match ws.next("r", Duration::from_secs(10)).await {
            Got::Next(payload) => kinds.push(
                payload["data"]["workroomEvents"]["kind"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            ),
            other => panic!("workroomEvents ended with {other:?} after {kinds:?}"),
        }
    }
}

#[tokio::test]
async fn workroom_subscribers_hear_of_runs_starting_and_ending() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 100).await;
        let mut room_ws = WsClient::subscribed(
            &app,
            &team.viewer.token,
            "r",
            "subscription($wr: ID!) { workroomEvents(workroomId: $wr) { kind } }",
            json!({ "wr": room }),
        )
        .await;
        // Subscribed before the run starts: wait for the presence event.
        let mut kinds = Vec::new();
        kinds_until(&mut room_ws, &mut kinds, "presence.joined").await;
        let run = app
            .data(
                Some(&team.member.token),
                START,
                json!({ "wr": room, "input": "hello there", "max": 20 }),
            )
            .await["startRun"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        wait_for_status(&app, &team.member.token, &run, &["SUCCEEDED"]).await;
        kinds_until(&mut room_ws, &mut kinds, "run.succeeded").await;
        let runs: Vec<&String> = kinds.iter().filter(|k| k.starts_with("run.")).collect();
        assert_eq!(runs, ["run.started", "run.succeeded"], "{kinds:?}");
    })
    .await;
}

#[tokio::test]
async fn a_watcher_who_loses_the_workroom_stops_receiving_the_run() {
    let slow = |config: &mut atrium::Config| {
        config.work.builtin_chunk_delay = Duration::from_millis(300);
    };
    each_backend_with(slow, async |app| {
        let (team, room) = funded(&app, 100).await;
        let run = app
            .data(Some(&team.owner.token), START, json!({ "wr": room, "input": "one two three four five six seven eight nine ten eleven twelve thirteen fourteen", "max": 50 }))
            .await["startRun"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut ws = WsClient::subscribed(&app, &team.viewer.token, "w", WATCH, json!({ "run": run })).await;
        ws.event("w").await;
        let viewer_member = app
            .data(Some(&team.viewer.token), "query($ws: ID!) { workspace(id: $ws) { viewerMember { id } } }", json!({ "ws": team.workspace }))
            .await["workspace"]["viewerMember"]["id"]
            .clone();
        app.data(Some(&team.owner.token), "mutation($m: ID!) { removeMember(memberId: $m) { id } }", json!({ "m": viewer_member })).await;
        let ended = loop {
            match ws.next("w", Duration::from_secs(5)).await {
                Got::Next(payload) if payload["errors"].is_array() => break payload,
                Got::Next(_) => continue,
                other => panic!("expected an error, got {other:?}"),
            }
        };
        assert_eq!(ended["errors"][0]["extensions"]["code"], "NOT_FOUND", "{ended}");
    })
    .await;
}

#[tokio::test]
async fn deleting_a_workspace_cancels_its_runs_and_releases_their_credits() {
    let slow = |config: &mut atrium::Config| {
        config.work.builtin_chunk_delay = Duration::from_secs(5);
    };
    each_backend_with(slow, async |app| {
        let (team, room) = funded(&app, 100).await;
        let token = Some(team.owner.token.as_str());
        let mut runs = Vec::new();
        for _ in 0..2 {
            let run = app
                .data(
                    token,
                    START,
                    json!({ "wr": room, "input": "slow", "max": 30 }),
                )
                .await;
            runs.push(run["startRun"]["id"].as_str().unwrap().to_owned());
        }
        app.data(
            token,
            "mutation($ws: ID!) { deleteWorkspace(id: $ws, confirmName: \"Team Space\") { id } }",
            json!({ "ws": team.workspace }),
        )
        .await;
        let statuses = app
            .query_strings(&format!(
                "SELECT status FROM agent_runs WHERE workspace_id = '{}' ORDER BY id",
                team.workspace
            ))
            .await;
        assert_eq!(statuses, ["CANCELLED", "CANCELLED"]);
        let reserved = app
            .query_strings(&format!(
                "SELECT CAST(credits_reserved AS TEXT) FROM workspaces WHERE id = '{}'",
                team.workspace
            ))
            .await;
        assert_eq!(reserved, ["0"]);
    })
    .await;
}

/// Runs fifteen words on `configure`'d servers and expects each run to
/// fail, naming the setting that stopped it, with its credits settled;
/// `check` looks at the failed run.
async fn fails_naming(
    configure: impl Fn(&mut atrium::Config),
    setting: &str,
    check: impl Fn(&Value),
) {
    each_backend_with(configure, async |app| {
        let (team, room) = funded(&app, 100).await;
        let token = team.member.token.as_str();
        let input = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen";
        let run = app.data(Some(token), START, json!({ "wr": room, "input": input, "max": 100 })).await;
        let run = run["startRun"]["id"].as_str().unwrap().to_owned();
        let done = wait_for_status(&app, token, &run, &["FAILED", "SUCCEEDED"]).await;
        assert_eq!(done["status"], "FAILED", "{done}");
        assert!(done["error"].as_str().unwrap().contains(setting), "{done}");
        let pool = app.data(Some(&team.owner.token), POOL, json!({ "ws": team.workspace })).await["workspace"]["credits"].clone();
        assert_eq!(pool["reserved"], 0);
        assert_ledger_sums(&pool);
        check(&done);
    })
    .await;
}

#[tokio::test]
async fn a_run_fails_when_it_streams_too_long_or_replies_too_much() {
    let too_long = |config: &mut atrium::Config| {
        config.work.builtin_chunk_delay = Duration::from_millis(400);
        config.work.run_max = Duration::from_secs(1);
    };
    fails_naming(too_long, "RUN_MAX_SECS", |_| {}).await;
    let too_much = |config: &mut atrium::Config| {
        config.work.builtin_chunk_delay = Duration::from_millis(1);
        config.work.run_output_max_chars = 40;
    };
    fails_naming(too_much, "RUN_OUTPUT_MAX_CHARS", |done| {
        assert!(
            done["output"].as_str().unwrap().chars().count() <= 40,
            "{done}"
        );
    })
    .await;
}
