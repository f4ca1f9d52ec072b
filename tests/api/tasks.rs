//! Tasks with AGENT, APPROVAL and MANUAL steps; N-of-M approvals decided
//! concurrently; exports gated by the workroom's approval policy and
//! audited on download.

use std::time::Duration;

use entity::enums::Role;
use serde_json::{Value, json};

use crate::helpers::*;
use crate::runs::funded;

const TASK: &str = "query($task: ID!) { task(id: $task) { status steps { id kind status run { id status output } approval { id state requiredApprovals eligibleRole approvedBy { name } decisions { decision member { user { name } } } } } } }";
const DECIDE: &str = "mutation($req: ID!, $d: Decision!) { decideApproval(requestId: $req, decision: $d) { state } }";

async fn agent(app: &TestApp, team: &Team) -> Value {
    app.data(
        Some(&team.owner.token),
        "mutation($ws: ID!) { createAgent(input: {workspaceId: $ws, name: \"Aurora\", instructions: \"Polish.\"}) { id } }",
        json!({ "ws": team.workspace }),
    )
    .await["createAgent"]["id"]
        .clone()
}

/// Polls a task until `done` holds.
async fn task_until(
    app: &TestApp,
    token: &str,
    task: &Value,
    done: impl Fn(&Value) -> bool,
) -> Value {
    for _ in 0..300 {
        let data = app.data(Some(token), TASK, json!({ "task": task })).await["task"].clone();
        if done(&data) {
            return data;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the task never got there: {}",
        app.data(Some(token), TASK, json!({ "task": task })).await
    );
}

async fn create_task(app: &TestApp, token: &str, room: &str, steps: Value) -> Value {
    app.data(
        Some(token),
        "mutation($wr: ID!, $steps: [TaskStepInput!]) { createTask(input: {workroomId: $wr, title: \"Spring note\", description: \"Write the spring note\", steps: $steps}) { id status } }",
        json!({ "wr": room, "steps": steps }),
    )
    .await["createTask"]
        .clone()
}

#[tokio::test]
async fn two_of_three_decided_at_once_move_the_task_on_exactly_once() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 1000).await;
        let second = app.sign_up("Second").await;
        app.add_member(&team.workspace, &second, Role::Member).await;
        let agent = agent(&app, &team).await;
        let steps = json!([
            { "kind": "AGENT", "title": "Draft", "agentId": agent },
            { "kind": "APPROVAL", "title": "Two sign-offs", "requiredApprovals": 2, "eligibleRole": "MEMBER" },
            { "kind": "AGENT", "title": "Polish", "agentId": agent },
        ]);
        let task = create_task(&app, &team.member.token, &room, steps).await;
        assert_eq!(task["status"], "OPEN");
        let id = task["id"].clone();
        let started = app.data(Some(&team.member.token), "mutation($t: ID!) { startTask(id: $t) { status } }", json!({ "t": id })).await;
        assert_eq!(started["startTask"]["status"], "IN_PROGRESS");
        let paused = task_until(&app, &team.member.token, &id, |t| t["status"] == "AWAITING_APPROVAL").await;
        assert_eq!(paused["steps"][0]["status"], "DONE");
        assert_eq!(paused["steps"][1]["status"], "WAITING");
        let draft = paused["steps"][0]["run"]["output"].as_str().unwrap().to_owned();
        assert!(draft.contains("Write the spring note"), "{draft}");
        let request = paused["steps"][1]["approval"]["id"].clone();

        // The one who started the task may not approve it; a viewer is
        // below the eligible role.
        assert_code(&app.gql(Some(&team.member.token), DECIDE, json!({ "req": request, "d": "APPROVE" })).await, "FORBIDDEN");
        assert_code(&app.gql(Some(&team.viewer.token), DECIDE, json!({ "req": request, "d": "APPROVE" })).await, "FORBIDDEN");

        let deciders = [&team.owner, &team.admin, &second];
        let calls = deciders.iter().map(|user| {
            let app = &app;
            let request = request.clone();
            async move { app.gql(Some(&user.token), DECIDE, json!({ "req": request, "d": "APPROVE" })).await }
        });
        let outcomes: Vec<Option<String>> = futures_util::future::join_all(calls).await.iter().map(code).collect();
        assert_eq!(outcomes.iter().filter(|c| c.is_none()).count(), 2, "{outcomes:?}");
        assert_eq!(outcomes.iter().filter(|c| c.as_deref() == Some("CONFLICT")).count(), 1, "{outcomes:?}");

        let done = task_until(&app, &team.member.token, &id, |t| t["status"] == "DONE").await;
        let approval = &done["steps"][1]["approval"];
        assert_eq!(approval["state"], "APPROVED");
        assert_eq!(approval["approvedBy"].as_array().unwrap().len(), 2);
        let polish = done["steps"][2]["run"]["output"].as_str().unwrap();
        assert!(polish.contains(draft.trim()), "the second agent step runs on the first one's output");
        // The task moved on once: one run per AGENT step, one resume.
        let runs = app.query_strings(&format!("SELECT id FROM agent_runs WHERE task_id = '{}'", id.as_str().unwrap())).await;
        assert_eq!(runs.len(), 2);
        let feed = app
            .data(Some(&team.owner.token), "query($wr: ID!) { workroom(id: $wr) { activity(first: 100) { nodes { action targetId changes } } } }", json!({ "wr": room }))
            .await;
        let nodes = feed["workroom"]["activity"]["nodes"].as_array().unwrap();
        let count = |action: &str| nodes.iter().filter(|n| n["action"] == action).count();
        assert_eq!(count("approval.decided"), 2);
        assert_eq!(count("approval.approved"), 1);
        assert_eq!(count("approval.requested"), 1);
        assert_eq!(count("task.completed"), 1);
        let resumed = nodes
            .iter()
            .filter(|n| n["action"] == "task.updated" && n["changes"]["status"]["after"] == "IN_PROGRESS")
            .count();
        assert_eq!(resumed, 1, "resumed once");
    })
    .await;
}

#[tokio::test]
async fn a_rejection_ends_the_task_and_a_demoted_member_can_no_longer_decide() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 1000).await;
        let steps = json!([
            { "kind": "MANUAL", "title": "Gather" },
            { "kind": "APPROVAL", "title": "Sign-off", "requiredApprovals": 1, "eligibleRole": "MEMBER" },
        ]);
        let task = create_task(&app, &team.owner.token, &room, steps).await;
        let id = task["id"].clone();
        app.data(Some(&team.owner.token), "mutation($t: ID!) { startTask(id: $t) { id } }", json!({ "t": id })).await;
        let waiting = app.data(Some(&team.owner.token), TASK, json!({ "task": id })).await["task"].clone();
        assert_eq!(waiting["status"], "IN_PROGRESS");
        assert_eq!(waiting["steps"][0]["status"], "WAITING");
        // Only a waiting MANUAL step completes; statuses never move by updateTask.
        assert_code(&app.gql(Some(&team.owner.token), "mutation($s: ID!) { completeStep(stepId: $s) { id } }", json!({ "s": waiting["steps"][1]["id"] })).await, "CONFLICT");
        let completed = app.data(Some(&team.owner.token), "mutation($s: ID!) { completeStep(stepId: $s) { status } }", json!({ "s": waiting["steps"][0]["id"] })).await;
        assert_eq!(completed["completeStep"]["status"], "AWAITING_APPROVAL");
        let request = app.data(Some(&team.owner.token), TASK, json!({ "task": id })).await["task"]["steps"][1]["approval"]["id"].clone();

        // Demoted to viewer: refused at decision time.
        let member_id = app
            .data(Some(&team.member.token), "query($ws: ID!) { workspace(id: $ws) { viewerMember { id } } }", json!({ "ws": team.workspace }))
            .await["workspace"]["viewerMember"]["id"]
            .clone();
        app.data(Some(&team.owner.token), "mutation($m: ID!) { changeMemberRole(memberId: $m, role: VIEWER) { id } }", json!({ "m": member_id })).await;
        assert_code(&app.gql(Some(&team.member.token), DECIDE, json!({ "req": request, "d": "APPROVE" })).await, "FORBIDDEN");

        let rejected = app.data(Some(&team.admin.token), DECIDE, json!({ "req": request, "d": "REJECT" })).await;
        assert_eq!(rejected["decideApproval"]["state"], "REJECTED");
        let after = app.data(Some(&team.owner.token), TASK, json!({ "task": id })).await["task"].clone();
        assert_eq!(after["status"], "REJECTED");
        assert_eq!(after["steps"][1]["status"], "REJECTED");
        assert_code(&app.gql(Some(&team.admin.token), DECIDE, json!({ "req": request, "d": "APPROVE" })).await, "CONFLICT");
        assert_code(&app.gql(Some(&team.owner.token), "mutation($t: ID!) { cancelTask(id: $t) { id } }", json!({ "t": id })).await, "CONFLICT");
    })
    .await;
}

#[tokio::test]
async fn exports_wait_for_the_policy_and_every_download_is_audited() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 1000).await;
        app.data(Some(&team.owner.token), "mutation($ws: ID!) { updateExportProfile(workspaceId: $ws, input: {format: HTML, header: \"For <client>\", footer: \"© Team\"}) { format } }", json!({ "ws": team.workspace })).await;
        let policy = app
            .data(Some(&team.admin.token), "mutation($wr: ID!) { setApprovalPolicy(workroomId: $wr, requiredApprovals: 1, eligibleRole: ADMIN) { approvalPolicy { requiredApprovals eligibleRole } } }", json!({ "wr": room }))
            .await;
        assert_eq!(policy["setApprovalPolicy"]["approvalPolicy"]["eligibleRole"], "ADMIN");
        let input = "<script>alert('x')</script> & the launch";
        let run = app
            .data(Some(&team.member.token), crate::runs::START, json!({ "wr": room, "input": input }))
            .await["startRun"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        crate::runs::wait_for_status(&app, &team.member.token, &run, &["SUCCEEDED"]).await;
        let export = "mutation($wr: ID!, $run: ID) { requestExport(input: {workroomId: $wr, runId: $run}) { id format downloadUrl downloads } }";
        let refused = app.gql(Some(&team.member.token), export, json!({ "wr": room, "run": run })).await;
        assert_code(&refused, "FORBIDDEN");
        assert!(refused["errors"][0]["message"].as_str().unwrap().contains("1 approval(s) by members at ADMIN"), "{refused}");

        let request = app.data(Some(&team.member.token), "mutation($run: ID!) { requestApproval(runId: $run) { id state eligibleRole } }", json!({ "run": run })).await["requestApproval"].clone();
        assert_eq!(request["eligibleRole"], "ADMIN");
        // The run's starter may not approve it; a member is below ADMIN.
        assert_code(&app.gql(Some(&team.member.token), DECIDE, json!({ "req": request["id"], "d": "APPROVE" })).await, "FORBIDDEN");
        let approved = app.data(Some(&team.admin.token), DECIDE, json!({ "req": request["id"], "d": "APPROVE" })).await;
        assert_eq!(approved["decideApproval"]["state"], "APPROVED");
        let made = app.data(Some(&team.member.token), export, json!({ "wr": room, "run": run })).await["requestExport"].clone();
        assert_eq!(made["format"], "HTML");
        let url = made["downloadUrl"].as_str().unwrap().to_owned();
        assert!(url.ends_with(&format!("/exports/{}", made["id"].as_str().unwrap())));

        let got = app.http().get(&url).bearer_auth(&team.viewer.token).send().await.unwrap();
        assert_eq!(got.status(), 200);
        assert_eq!(got.headers()["content-type"], "text/html; charset=utf-8");
        assert!(got.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
        let html = got.text().await.unwrap();
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; the launch"), "{html}");
        assert!(!html.contains("<script>") && html.contains("For &lt;client&gt;") && html.contains("Team Space"));
        assert_eq!(app.http().get(&url).send().await.unwrap().status(), 401);
        assert_eq!(app.http().get(&url).bearer_auth(&team.outsider.token).send().await.unwrap().status(), 404);
        app.http().get(&url).bearer_auth(&team.owner.token).send().await.unwrap();

        let listed = app
            .data(Some(&team.owner.token), "query($wr: ID!, $ws: ID!) { workroom(id: $wr) { exports { downloads createdBy { name } run { id } } } workspace(id: $ws) { activity(filter: {workroomId: $wr, actions: [\"export.downloaded\", \"export.requested\"]}) { nodes { action actor { name } } } } }", json!({ "wr": room, "ws": team.workspace }))
            .await;
        assert_eq!(listed["workroom"]["exports"][0]["downloads"], 2);
        assert_eq!(listed["workroom"]["exports"][0]["run"]["id"], run);
        let actions: Vec<(&str, &str)> = listed["workspace"]["activity"]["nodes"].as_array().unwrap().iter().map(|n| (n["action"].as_str().unwrap(), n["actor"]["name"].as_str().unwrap())).collect();
        assert_eq!(actions, [("export.downloaded", "Owner"), ("export.downloaded", "Viewer"), ("export.requested", "Member")]);
        // Exactly one of taskId and runId.
        assert_code(&app.gql(Some(&team.member.token), export, json!({ "wr": room })).await, "BAD_USER_INPUT");
    })
    .await;
}

#[tokio::test]
async fn an_expired_request_keeps_the_task_paused_until_asked_again() {
    let quick = |config: &mut atrium::Config| {
        config.work.approval_ttl = Duration::from_secs(1);
    };
    each_backend_with(quick, async |app| {
        let (team, room) = funded(&app, 1000).await;
        let agent = agent(&app, &team).await;
        let steps = json!([
            { "kind": "AGENT", "title": "Draft", "agentId": agent },
            { "kind": "APPROVAL", "title": "Sign-off" },
        ]);
        let task = create_task(&app, &team.member.token, &room, steps).await;
        let id = task["id"].clone();
        app.data(Some(&team.member.token), "mutation($t: ID!) { startTask(id: $t) { id } }", json!({ "t": id })).await;
        let paused = task_until(&app, &team.member.token, &id, |t| t["steps"][1]["approval"]["state"] == "EXPIRED").await;
        assert_eq!(paused["status"], "AWAITING_APPROVAL");
        let old = paused["steps"][1]["approval"]["id"].clone();
        assert_code(&app.gql(Some(&team.admin.token), DECIDE, json!({ "req": old, "d": "APPROVE" })).await, "CONFLICT");
        let run = paused["steps"][0]["run"]["id"].clone();
        let renewed = app.data(Some(&team.member.token), "mutation($run: ID!) { requestApproval(runId: $run) { id state } }", json!({ "run": run })).await["requestApproval"].clone();
        assert_eq!(renewed["state"], "PENDING");
        assert_ne!(renewed["id"], old);
        let approved = app.data(Some(&team.admin.token), DECIDE, json!({ "req": renewed["id"], "d": "APPROVE" })).await;
        assert_eq!(approved["decideApproval"]["state"], "APPROVED");
        let done = app.data(Some(&team.member.token), TASK, json!({ "task": id })).await["task"].clone();
        assert_eq!(done["status"], "DONE");
        let expired = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"approval.expired\"]}) { nodes { by { kind } } } } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(expired["workspace"]["activity"]["nodes"][0]["by"]["kind"], "SYSTEM");
    })
    .await;
}

async fn start_task(app: &TestApp, token: &str, task: &Value) -> Value {
    app.gql(
        Some(token),
        "mutation($t: ID!) { startTask(id: $t) { status } }",
        json!({ "t": task }),
    )
    .await
}

async fn member_id(app: &TestApp, team: &Team) -> Value {
    app.data(
        Some(&team.member.token),
        "query($ws: ID!) { workspace(id: $ws) { viewerMember { id } } }",
        json!({ "ws": team.workspace }),
    )
    .await["workspace"]["viewerMember"]["id"]
        .clone()
}

async fn reserved(app: &TestApp, team: &Team) -> String {
    app.query_strings(&format!(
        "SELECT CAST(credits_reserved AS TEXT) FROM workspaces WHERE id = '{}'",
        team.workspace
    ))
    .await
    .remove(0)
}

/// A step moved on by someone else's decision whose run cannot start (the
/// task's starter is over their cap) stays PENDING, says why in the
/// activity, and runs when the task is started again.
#[tokio::test]
async fn a_next_step_that_cannot_start_says_why_and_start_task_retries_it() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 1000).await;
        let agent = agent(&app, &team).await;
        let steps = json!([
            { "kind": "AGENT", "title": "Draft", "agentId": agent },
            { "kind": "APPROVAL", "title": "Sign-off" },
            { "kind": "AGENT", "title": "Polish", "agentId": agent },
        ]);
        let id = create_task(&app, &team.member.token, &room, steps).await["id"].clone();
        assert_eq!(code(&start_task(&app, &team.member.token, &id).await), None);
        let paused = task_until(&app, &team.member.token, &id, |t| t["status"] == "AWAITING_APPROVAL").await;
        let request = paused["steps"][1]["approval"]["id"].clone();
        let limit = "mutation($m: ID!, $n: Int) { setMemberCreditLimit(memberId: $m, monthlyLimit: $n) { monthlyCreditLimit } }";
        let member = member_id(&app, &team).await;
        app.data(Some(&team.admin.token), limit, json!({ "m": member, "n": 1 })).await;

        let approved = app.data(Some(&team.admin.token), DECIDE, json!({ "req": request, "d": "APPROVE" })).await;
        assert_eq!(approved["decideApproval"]["state"], "APPROVED");
        let stalled = app.data(Some(&team.member.token), TASK, json!({ "task": id })).await["task"].clone();
        assert_eq!(stalled["status"], "IN_PROGRESS");
        assert_eq!((stalled["steps"][2]["status"].clone(), stalled["steps"][2]["run"].clone()), (json!("PENDING"), Value::Null));
        let feed = app
            .data(Some(&team.viewer.token), "query($ws: ID!, $wr: ID!) { workspace(id: $ws) { activity(filter: {workroomId: $wr, actions: [\"task.updated\"]}) { nodes { changes } } } }", json!({ "ws": team.workspace, "wr": room }))
            .await;
        let why: Vec<&Value> = feed["workspace"]["activity"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|n| n["changes"]["step"]["after"]["error"].is_string())
            .collect();
        assert_eq!(why.len(), 1, "{feed}");
        assert_eq!(why[0]["changes"]["step"]["after"]["error"], "INSUFFICIENT_CREDITS");
        assert_eq!(why[0]["changes"]["step"]["after"]["id"], stalled["steps"][2]["id"]);

        // Still over the cap: the retry is refused and says so.
        assert_code(&start_task(&app, &team.member.token, &id).await, "INSUFFICIENT_CREDITS");
        app.data(Some(&team.admin.token), limit, json!({ "m": member, "n": null })).await;
        assert_eq!(code(&start_task(&app, &team.member.token, &id).await), None);
        let done = task_until(&app, &team.member.token, &id, |t| t["status"] == "DONE").await;
        assert_eq!(done["steps"][2]["run"]["status"], "SUCCEEDED");
    })
    .await;
}

/// Cancelling a task cancels the run its step is on and returns the run's
/// reservation; a step whose run was cancelled alone is PENDING and
/// `startTask` runs it again.
#[tokio::test]
async fn cancelling_a_task_cancels_its_run_and_a_cancelled_step_run_is_retried() {
    let slow = |config: &mut atrium::Config| {
        config.work.builtin_chunk_delay = Duration::from_millis(200);
    };
    each_backend_with(slow, async |app| {
        let (team, room) = funded(&app, 1000).await;
        let agent = agent(&app, &team).await;
        let steps = json!([{ "kind": "AGENT", "title": "Draft", "agentId": agent }]);

        let first = create_task(&app, &team.member.token, &room, steps.clone()).await["id"].clone();
        start_task(&app, &team.member.token, &first).await;
        let running = task_until(&app, &team.member.token, &first, |t| {
            t["steps"][0]["run"]["status"] == "RUNNING"
        })
        .await;
        let run = running["steps"][0]["run"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let cancelled = app
            .data(
                Some(&team.owner.token),
                "mutation($t: ID!) { cancelTask(id: $t) { status } }",
                json!({ "t": first }),
            )
            .await;
        assert_eq!(cancelled["cancelTask"]["status"], "CANCELLED");
        let ended = crate::runs::wait_for_status(
            &app,
            &team.member.token,
            &run,
            &["CANCELLED", "SUCCEEDED", "FAILED"],
        )
        .await;
        assert_eq!(ended["status"], "CANCELLED");
        for _ in 0..100 {
            if reserved(&app, &team).await == "0" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(
            reserved(&app, &team).await,
            "0",
            "the cancelled run's reservation is returned"
        );

        let second = create_task(&app, &team.member.token, &room, steps).await["id"].clone();
        start_task(&app, &team.member.token, &second).await;
        let running = task_until(&app, &team.member.token, &second, |t| {
            t["steps"][0]["run"]["status"] == "RUNNING"
        })
        .await;
        let run = running["steps"][0]["run"]["id"].clone();
        app.data(
            Some(&team.member.token),
            "mutation($run: ID!) { cancelRun(id: $run) { status } }",
            json!({ "run": run }),
        )
        .await;
        let pending = task_until(&app, &team.member.token, &second, |t| {
            t["steps"][0]["status"] == "PENDING"
        })
        .await;
        assert_eq!(pending["status"], "IN_PROGRESS");
        assert_eq!(
            code(&start_task(&app, &team.member.token, &second).await),
            None
        );
        let done = task_until(&app, &team.member.token, &second, |t| t["status"] == "DONE").await;
        assert_ne!(done["steps"][0]["run"]["id"], run, "a new run");
        let runs = app
            .query_strings(&format!(
                "SELECT id FROM agent_runs WHERE task_id = '{}'",
                second.as_str().unwrap()
            ))
            .await;
        assert_eq!(runs.len(), 2);
        // A running step is not started twice.
        assert_code(
            &start_task(&app, &team.member.token, &second).await,
            "CONFLICT",
        );
    })
    .await;
}

/// A new run of a paused task's subject supersedes its pending request: a
/// decision on it is refused.
#[tokio::test]
async fn a_new_run_of_a_task_supersedes_its_pending_request() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 1000).await;
        let agent = agent(&app, &team).await;
        let steps = json!([
            { "kind": "AGENT", "title": "Draft", "agentId": agent },
            { "kind": "APPROVAL", "title": "Sign-off" },
        ]);
        let id = create_task(&app, &team.member.token, &room, steps).await["id"].clone();
        start_task(&app, &team.member.token, &id).await;
        let paused = task_until(&app, &team.member.token, &id, |t| t["status"] == "AWAITING_APPROVAL").await;
        let request = paused["steps"][1]["approval"]["id"].clone();
        let rerun = app
            .gql(
                Some(&team.member.token),
                "mutation($wr: ID!, $t: ID!) { startRun(input: {workroomId: $wr, input: \"a better draft\", taskId: $t}) { id } }",
                json!({ "wr": room, "t": id }),
            )
            .await;
        assert_eq!(code(&rerun), None, "{rerun}");
        let state = app.query_strings(&format!("SELECT state FROM approval_requests WHERE id = '{}'", request.as_str().unwrap())).await;
        assert_eq!(state, ["SUPERSEDED"]);
        assert_code(&app.gql(Some(&team.admin.token), DECIDE, json!({ "req": request, "d": "APPROVE" })).await, "CONFLICT");
    })
    .await;
}

#[tokio::test]
async fn an_approval_policy_needs_an_eligible_role_and_a_sane_count() {
    each_backend(async |app| {
        let (team, room) = funded(&app, 0).await;
        let set = "mutation($wr: ID!, $n: Int!, $role: Role!) { setApprovalPolicy(workroomId: $wr, requiredApprovals: $n, eligibleRole: $role) { approvalPolicy { requiredApprovals eligibleRole } } }";
        for (n, role) in [(1, "VIEWER"), (0, "MEMBER"), (21, "MEMBER"), (-1, "ADMIN")] {
            assert_code(&app.gql(Some(&team.admin.token), set, json!({ "wr": room, "n": n, "role": role })).await, "BAD_USER_INPUT");
        }
        let set_ok = app.data(Some(&team.admin.token), set, json!({ "wr": room, "n": 20, "role": "OWNER" })).await;
        assert_eq!(set_ok["setApprovalPolicy"]["approvalPolicy"], json!({ "requiredApprovals": 20, "eligibleRole": "OWNER" }));
        // Members may not set one.
        assert_code(&app.gql(Some(&team.member.token), set, json!({ "wr": room, "n": 1, "role": "MEMBER" })).await, "FORBIDDEN");
    })
    .await;
}
