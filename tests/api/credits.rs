//! The credit pool: a ledger that always sums, reservations that never
//! overdraw under concurrency, and members' monthly caps.

use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::helpers::*;
use crate::runs::{POOL, START, assert_ledger_sums, funded, wait_for_status};

#[tokio::test]
async fn fifty_concurrent_runs_on_a_pool_that_affords_ten() {
    // Slow replies, so that no run settles (and hands back what it did not
    // use) while the fifty requests are still arriving; a worker for each
    // of the ten, so that all of them end in one round.
    let slow = |config: &mut atrium::Config| {
        config.work.builtin_chunk_delay = std::time::Duration::from_secs(2);
        config.work.run_workers = 10;
    };
    each_backend_with(slow, async |app| {
        let (team, room) = funded(&app, 50).await;
        let calls = (0..50).map(|i| {
            let app = &app;
            let (token, room) = (team.member.token.clone(), room.clone());
            async move {
                app.gql(
                    Some(&token),
                    START,
                    json!({ "wr": room, "input": format!("brief {i}"), "max": 5 }),
                )
                .await
            }
        });
        let responses = futures_util::future::join_all(calls).await;
        let mut started = Vec::new();
        let mut refused = 0;
        for response in &responses {
            match code(response).as_deref() {
                None => started.push(
                    response["data"]["startRun"]["id"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                ),
                Some("INSUFFICIENT_CREDITS") => {
                    refused += 1;
                    let ext = &response["errors"][0]["extensions"];
                    assert_eq!(ext["requested"], 5);
                    assert!(ext["available"].as_i64().unwrap() < 5, "{response}");
                }
                other => panic!("unexpected {other:?}: {response}"),
            }
        }
        assert_eq!((started.len(), refused), (10, 40), "{:?}", app.backend);
        for run in &started {
            wait_for_status(&app, &team.member.token, run, &["SUCCEEDED", "FAILED"]).await;
        }
        let pool = app
            .data(
                Some(&team.owner.token),
                POOL,
                json!({ "ws": team.workspace }),
            )
            .await["workspace"]["credits"]
            .clone();
        assert_eq!(pool["reserved"], 0);
        assert_ledger_sums(&pool);
        let entries = pool["entries"]["nodes"].as_array().unwrap();
        assert_eq!(
            entries.iter().filter(|e| e["kind"] == "RESERVE").count(),
            10
        );
        assert_eq!(
            entries.iter().filter(|e| e["kind"] == "RELEASE").count(),
            10
        );
    })
    .await;
}

#[tokio::test]
async fn a_members_monthly_cap_refuses_runs_the_pool_could_pay_for() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 1000).await;
        let member_id = app
            .data(
                Some(&team.member.token),
                "query($ws: ID!) { workspace(id: $ws) { viewerMember { id monthlyCreditLimit creditsUsedThisMonth } } }",
                json!({ "ws": team.workspace }),
            )
            .await["workspace"]["viewerMember"]
            .clone();
        assert_eq!(member_id["monthlyCreditLimit"], json!(null));
        assert_eq!(member_id["creditsUsedThisMonth"], 0);
        let set = "mutation($m: ID!, $n: Int) { setMemberCreditLimit(memberId: $m, monthlyLimit: $n) { monthlyCreditLimit } }";
        let capped = app.data(Some(&team.admin.token), set, json!({ "m": member_id["id"], "n": 10 })).await;
        assert_eq!(capped["setMemberCreditLimit"]["monthlyCreditLimit"], 10);
        assert_code(&app.gql(Some(&team.admin.token), set, json!({ "m": member_id["id"], "n": -1 })).await, "BAD_USER_INPUT");

        let first = app.gql(Some(&team.member.token), START, json!({ "wr": room, "input": "a", "max": 8 })).await;
        assert_eq!(code(&first), None, "{first}");
        let second = app.gql(Some(&team.member.token), START, json!({ "wr": room, "input": "b", "max": 5 })).await;
        assert_code(&second, "INSUFFICIENT_CREDITS");
        assert_eq!(second["errors"][0]["extensions"]["available"], 2);
        assert_eq!(second["errors"][0]["extensions"]["requested"], 5);
        // Others are not capped by it; the pool still has plenty.
        let admin_run = app.gql(Some(&team.admin.token), START, json!({ "wr": room, "input": "c", "max": 50 })).await;
        assert_eq!(code(&admin_run), None, "{admin_run}");

        // The member sees its own figures; another member does not.
        let own = app
            .data(
                Some(&team.member.token),
                "query($ws: ID!) { workspace(id: $ws) { viewerMember { id monthlyCreditLimit creditsUsedThisMonth } } }",
                json!({ "ws": team.workspace }),
            )
            .await["workspace"]["viewerMember"]
            .clone();
        // An admin (BILLING VIEW) sees everyone's.
        let listed = app
            .data(
                Some(&team.admin.token),
                "query($ws: ID!) { workspace(id: $ws) { members { nodes { id monthlyCreditLimit } } } }",
                json!({ "ws": team.workspace }),
            )
            .await;
        let row = listed["workspace"]["members"]["nodes"].as_array().unwrap().iter().find(|m| m["id"] == own["id"]).cloned().unwrap();
        assert_eq!(row["monthlyCreditLimit"], 10);
        assert_eq!(own["monthlyCreditLimit"], 10);
        assert!(own["creditsUsedThisMonth"].as_i64().unwrap() >= 1);
        // Another member without BILLING VIEW is refused those two fields,
        // and only those.
        let by_viewer = app
            .gql(
                Some(&team.viewer.token),
                "query($m: ID!) { node(id: $m) { ... on Member { user { name } monthlyCreditLimit creditsUsedThisMonth } } }",
                json!({ "m": own["id"] }),
            )
            .await;
        let errors = by_viewer["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 2, "{by_viewer}");
        assert!(errors.iter().all(|e| e["extensions"]["code"] == "FORBIDDEN"), "{by_viewer}");
        assert_eq!(by_viewer["data"]["node"]["user"]["name"], "Member");
        assert_eq!(by_viewer["data"]["node"]["monthlyCreditLimit"], json!(null));

        // Lifting the cap lets the run start.
        app.data(Some(&team.admin.token), set, json!({ "m": member_id["id"], "n": null })).await;
        let third = app.gql(Some(&team.member.token), START, json!({ "wr": room, "input": "b", "max": 5 })).await;
        assert_eq!(code(&third), None, "{third}");
    })
    .await;
}

#[tokio::test]
async fn usage_answers_who_is_spending() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 100).await;
        let key = app
            .data(
                Some(&team.owner.token),
                "mutation($ws: ID!) { createApiKey(input: {workspaceId: $ws, name: \"Batch\", scopes: [{area: PROJECTS, access: FULL}]}) { secret } }",
                json!({ "ws": team.workspace }),
            )
            .await["createApiKey"]["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let mut runs = Vec::new();
        for token in [&team.member.token, &team.member.token, &key] {
            let response = app.data(Some(token), START, json!({ "wr": room, "input": "x y", "max": 20 })).await;
            runs.push(response["startRun"]["id"].as_str().unwrap().to_owned());
        }
        for run in &runs {
            wait_for_status(&app, &team.owner.token, run, &["SUCCEEDED"]).await;
        }
        let usage = app
            .data(
                Some(&team.owner.token),
                "query($ws: ID!) { workspace(id: $ws) { credits { usageByMember { member { user { name } } credits runs } usageByActor { by { kind name } credits runs } } } }",
                json!({ "ws": team.workspace }),
            )
            .await["workspace"]["credits"]
            .clone();
        let members = usage["usageByMember"].as_array().unwrap();
        assert_eq!(members.len(), 1, "{usage}");
        assert_eq!(members[0]["member"]["user"]["name"], "Member");
        assert_eq!(members[0]["runs"], 2);
        let actors = usage["usageByActor"].as_array().unwrap();
        assert_eq!(actors.len(), 2, "{usage}");
        assert!(actors.iter().any(|a| a["by"]["kind"] == "API_KEY" && a["by"]["name"] == "Batch" && a["runs"] == 1));
        let total: i64 = actors.iter().map(|a| a["credits"].as_i64().unwrap()).sum();
        let pool = app.data(Some(&team.owner.token), POOL, json!({ "ws": team.workspace })).await["workspace"]["credits"].clone();
        assert_eq!(100 - total, pool["balance"].as_i64().unwrap());
        // Grants are refused outside their bounds, and the feed hears of them.
        let grant = "mutation($ws: ID!, $n: Int!) { grantCredits(workspaceId: $ws, amount: $n) { id } }";
        assert_code(&app.gql(Some(&team.owner.token), grant, json!({ "ws": team.workspace, "n": 0 })).await, "BAD_USER_INPUT");
        let feed = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"credits.granted\"]}) { nodes { changes } } } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(feed["workspace"]["activity"]["nodes"][0]["changes"]["amount"]["after"], 100);
    })
    .await;
}

#[tokio::test]
async fn a_retried_grant_with_the_same_idempotency_key_adds_credits_once() {
    each_backend(async |app| {
        let (team, _room) = funded(&app, 0).await;
        let grant = json!({
            "query": "mutation($ws: ID!) { grantCredits(workspaceId: $ws, amount: 70, reason: \"invoice 42\") { id balanceAfter } }",
            "variables": { "ws": team.workspace },
        });
        let mut answers = Vec::new();
        for _ in 0..2 {
            let response = app
                .http()
                .post(app.url("/graphql"))
                .bearer_auth(&team.owner.token)
                .header("idempotency-key", "invoice-42")
                .json(&grant)
                .send()
                .await
                .unwrap();
            let replayed = response.headers().contains_key("idempotent-replayed");
            answers.push((replayed, response.json::<serde_json::Value>().await.unwrap()));
        }
        assert!(!answers[0].0 && answers[1].0, "the retry is a replay");
        assert_eq!(answers[0].1, answers[1].1);
        let pool = app.data(Some(&team.owner.token), POOL, json!({ "ws": team.workspace })).await["workspace"]["credits"].clone();
        assert_eq!(pool["balance"], 70);
        assert_eq!(pool["entries"]["nodes"].as_array().unwrap().len(), 1);
    })
    .await;
}

/// The database itself keeps the pool and each run's spending within their
/// bounds, whatever writes to it.
#[tokio::test]
async fn the_database_refuses_a_pool_below_zero_or_a_run_past_its_reservation() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 100).await;
        let run = app
            .data(
                Some(&team.member.token),
                START,
                json!({ "wr": room, "input": "a", "max": 10 }),
            )
            .await["startRun"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        wait_for_status(&app, &team.member.token, &run, &["SUCCEEDED"]).await;
        let ws = &team.workspace;
        for refused in [
            format!(
                "UPDATE workspaces SET credit_balance = -1, credits_reserved = 0 WHERE id = '{ws}'"
            ),
            format!("UPDATE workspaces SET credits_reserved = -1 WHERE id = '{ws}'"),
            format!(
                "UPDATE workspaces SET credits_reserved = credit_balance + 1 WHERE id = '{ws}'"
            ),
            format!("UPDATE agent_runs SET credits_used = credits_reserved + 1 WHERE id = '{run}'"),
            format!("UPDATE agent_runs SET credits_used = -1 WHERE id = '{run}'"),
        ] {
            let outcome = app.state.db.execute_unprepared(&refused).await;
            assert!(outcome.is_err(), "{refused} was let through");
        }
        let pool = app
            .data(Some(&team.owner.token), POOL, json!({ "ws": ws }))
            .await;
        assert_eq!(pool["workspace"]["credits"]["reserved"], 0);
        assert!(pool["workspace"]["credits"]["balance"].as_i64().unwrap() >= 90);
        // Within bounds, the same columns still change.
        app.state
            .db
            .execute_unprepared(&format!(
                "UPDATE workspaces SET credits_reserved = credit_balance WHERE id = '{ws}'"
            ))
            .await
            .unwrap();
    })
    .await;
}

/// A personal key acts as its owner: its runs count against the owner's
/// monthly cap, and the owner's own runs count against the key's.
#[tokio::test]
async fn a_personal_keys_runs_count_against_its_owners_cap() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 1000).await;
        let member = app
            .data(Some(&team.member.token), "query($ws: ID!) { workspace(id: $ws) { viewerMember { id } } }", json!({ "ws": team.workspace }))
            .await["workspace"]["viewerMember"]["id"]
            .clone();
        let set = "mutation($m: ID!, $n: Int) { setMemberCreditLimit(memberId: $m, monthlyLimit: $n) { monthlyCreditLimit } }";
        app.data(Some(&team.admin.token), set, json!({ "m": member, "n": 10 })).await;
        let personal = app
            .data(Some(&team.member.token), "mutation { createApiKey(input: {name: \"Mine\", scopes: [{area: PROJECTS, access: FULL}]}) { secret } }", json!({}))
            .await["createApiKey"]["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        let by_key = app.gql(Some(&personal), START, json!({ "wr": room, "input": "a", "max": 8 })).await;
        assert_eq!(code(&by_key), None, "{by_key}");
        for token in [&team.member.token, &personal] {
            let over = app.gql(Some(token), START, json!({ "wr": room, "input": "b", "max": 5 })).await;
            assert_code(&over, "INSUFFICIENT_CREDITS");
        }
        // Others are not held by the member's cap.
        let by_admin = app.gql(Some(&team.admin.token), START, json!({ "wr": room, "input": "c", "max": 5 })).await;
        assert_eq!(code(&by_admin), None, "{by_admin}");
    })
    .await;
}
