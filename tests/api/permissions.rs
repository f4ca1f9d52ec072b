//! The role × operation matrix. Expectations are written out by hand from the
//! product rules in DESIGN.md, not read from the policy code.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::ws_client::{Got, TRANSPORT_WS, WsClient};

const OK: &str = "ok";
const FORBIDDEN: &str = "FORBIDDEN";
const NOT_FOUND: &str = "NOT_FOUND";

/// What a row needs prepared before each call, so destructive operations
/// act on a target of their own.
#[derive(Clone, Copy, PartialEq)]
enum Prep {
    Nothing,
    /// `$email`: an address nobody used.
    FreshEmail,
    /// `$target`: a new MEMBER of the workspace.
    FreshMember,
    /// `$target`: a new member, banned.
    BannedMember,
    /// `$inv`: a new pending invitation.
    FreshInvitation,
    /// `$role`: a new custom role.
    FreshRole,
    /// `$target` and `$role`.
    MemberAndRole,
    /// `$key`: a new workspace API key.
    FreshKey,
    /// `$agent`: a new agent.
    FreshAgent,
    /// Credits granted, so that a run can start.
    Credits,
    /// `$run`: a new run the owner started (runs stay running: chunks come
    /// slowly in the matrix).
    FreshRun,
    /// `$room`: a new workroom the owner made.
    FreshWorkroom,
    /// `$room`: a new workroom the owner made, archived.
    ArchivedWorkroom,
    /// `$task`: a new task (no steps) the owner made.
    FreshTask,
    /// `$step`: the WAITING manual step of a task the owner started.
    ManualStep,
    /// `$run`: a SUCCEEDED run of the owner's in `$wr`.
    SucceededRun,
    /// `$room` with an approval policy, and `$run`: a SUCCEEDED run in it.
    PolicyRun,
    /// Like `PolicyRun`, and `$req`: a pending request for the run.
    PendingApproval,
    /// `$prompt`: a prompt the owner made, published as 1.0.0 and with a
    /// new draft; `$ref`: its reference.
    FreshPrompt,
    /// `$fact`: a fact of the brand memory the owner added.
    FreshFact,
}

/// One guarded operation: the capability it is guarded by (as named in the
/// schema's `@requires`), the operation, and the outcome for owner, admin,
/// member, viewer and a non-member. The owner calls last. Rows marked
/// `own_team` run on a team of their own (they change who owns, or whether
/// the workspace exists).
struct Row {
    capability: &'static str,
    name: &'static str,
    query: &'static str,
    prep: Prep,
    own_team: bool,
    expected: [&'static str; 5],
}

const fn row(
    capability: &'static str,
    name: &'static str,
    query: &'static str,
    expected: [&'static str; 5],
) -> Row {
    Row {
        capability,
        name,
        query,
        prep: Prep::Nothing,
        own_team: false,
        expected,
    }
}

const fn prepped(
    capability: &'static str,
    name: &'static str,
    query: &'static str,
    prep: Prep,
    expected: [&'static str; 5],
) -> Row {
    Row {
        capability,
        name,
        query,
        prep,
        own_team: false,
        expected,
    }
}

const DELETED: &str = "WORKSPACE_DELETED";
const ADMINS: [&str; 5] = [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND];
const EVERYONE: [&str; 5] = [OK, OK, OK, OK, NOT_FOUND];

fn rows() -> Vec<Row> {
    vec![
        row(
            "workspace.read",
            "read workspace",
            "query($ws: ID!) { workspace(id: $ws) { id name plan viewerMember { role hiddenNavigation } } }",
            EVERYONE,
        ),
        row(
            "seats.read",
            "read seats",
            "query($ws: ID!) { workspace(id: $ws) { seats { used limit } } }",
            EVERYONE,
        ),
        row(
            "members.read",
            "read members",
            "query($ws: ID!) { workspace(id: $ws) { members { totalCount } } }",
            EVERYONE,
        ),
        row(
            "invitations.read",
            "read invitations",
            "query($ws: ID!) { workspace(id: $ws) { invitations { id } } }",
            EVERYONE,
        ),
        row(
            "roles.read",
            "read roles",
            "query($ws: ID!) { workspace(id: $ws) { roles { id } } }",
            EVERYONE,
        ),
        row(
            "navigation.read",
            "read hidden navigation",
            "query($ws: ID!) { workspace(id: $ws) { hiddenNavigation { role keys } } }",
            ADMINS,
        ),
        row(
            "credits.read",
            "read credit balance",
            "query($ws: ID!) { workspace(id: $ws) { creditBalance } }",
            ADMINS,
        ),
        row(
            "workrooms.read",
            "list workrooms",
            "query($ws: ID!) { workspace(id: $ws) { workrooms { id } } }",
            EVERYONE,
        ),
        row(
            "workroom.read",
            "read one workroom",
            "query($wr: ID!) { workroom(id: $wr) { id name workspace { id } } }",
            EVERYONE,
        ),
        row(
            "activity.read",
            "read workspace activity",
            "query($ws: ID!) { workspace(id: $ws) { activity { nodes { action } } } }",
            EVERYONE,
        ),
        row(
            "activity.read",
            "read workroom activity",
            "query($wr: ID!) { workroom(id: $wr) { activity { nodes { action } } } }",
            EVERYONE,
        ),
        row(
            "workspace.update",
            "update workspace",
            "mutation($ws: ID!) { updateWorkspace(input: {id: $ws, description: \"x\"}) { id } }",
            ADMINS,
        ),
        row(
            "workspace.change_plan",
            "change plan",
            "mutation($ws: ID!) { changePlan(workspaceId: $ws, plan: AGENCY) { plan } }",
            ADMINS,
        ),
        row(
            "workroom.create",
            "create workroom",
            "mutation($ws: ID!) { createWorkroom(input: {workspaceId: $ws, name: \"New\"}) { id } }",
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        row(
            "workroom.update",
            "update a workroom the owner made",
            "mutation($wr: ID!) { updateWorkroom(input: {id: $wr, description: \"y\"}) { id } }",
            ADMINS,
        ),
        prepped(
            "members.invite",
            "invite",
            "mutation($ws: ID!, $email: String!) { inviteMembers(input: {workspaceId: $ws, emails: [$email]}) { results { outcome } } }",
            Prep::FreshEmail,
            ADMINS,
        ),
        prepped(
            "invitations.manage",
            "resend invitation",
            "mutation($inv: ID!) { resendInvitation(id: $inv) { id } }",
            Prep::FreshInvitation,
            ADMINS,
        ),
        prepped(
            "invitations.manage",
            "revoke invitation",
            "mutation($inv: ID!) { revokeInvitation(id: $inv) { id } }",
            Prep::FreshInvitation,
            ADMINS,
        ),
        prepped(
            "member.change_role",
            "change a member's role",
            "mutation($target: ID!) { changeMemberRole(memberId: $target, role: VIEWER) { role } }",
            Prep::FreshMember,
            ADMINS,
        ),
        prepped(
            "member.set_access",
            "set a member's access",
            "mutation($target: ID!) { setMemberAccess(input: {memberId: $target, areas: [{area: INTEGRATIONS, access: NONE}]}) { id } }",
            Prep::FreshMember,
            ADMINS,
        ),
        prepped(
            "member.remove",
            "remove a member",
            "mutation($target: ID!) { removeMember(memberId: $target) { id } }",
            Prep::FreshMember,
            ADMINS,
        ),
        prepped(
            "member.ban",
            "ban a member",
            "mutation($target: ID!) { banMember(memberId: $target) { status } }",
            Prep::FreshMember,
            ADMINS,
        ),
        prepped(
            "member.ban",
            "unban a member",
            "mutation($target: ID!) { unbanMember(memberId: $target) { status } }",
            Prep::BannedMember,
            ADMINS,
        ),
        prepped(
            "roles.manage",
            "create a role",
            "mutation($ws: ID!, $name: String!) { createRole(input: {workspaceId: $ws, name: $name}) { id } }",
            Prep::FreshEmail,
            ADMINS,
        ),
        prepped(
            "roles.manage",
            "update a role",
            "mutation($role: ID!, $name: String!) { updateRole(input: {id: $role, name: $name}) { id } }",
            Prep::FreshRole,
            ADMINS,
        ),
        prepped(
            "roles.manage",
            "delete a role",
            "mutation($role: ID!) { deleteRole(id: $role) { id } }",
            Prep::FreshRole,
            ADMINS,
        ),
        prepped(
            "role.assign",
            "assign a role",
            "mutation($target: ID!, $role: ID!) { assignRole(memberId: $target, roleId: $role) { id } }",
            Prep::MemberAndRole,
            ADMINS,
        ),
        row(
            "api_keys.read",
            "list the workspace's API keys",
            "query($ws: ID!) { workspace(id: $ws) { apiKeys { id } } }",
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        row(
            "api_keys.manage",
            "create a workspace API key",
            "mutation($ws: ID!) { createApiKey(input: {workspaceId: $ws, name: \"CI\"}) { secret } }",
            ADMINS,
        ),
        prepped(
            "api_keys.manage",
            "rotate a workspace API key",
            "mutation($key: ID!) { rotateApiKey(id: $key) { secret } }",
            Prep::FreshKey,
            [OK, OK, FORBIDDEN, NOT_FOUND, NOT_FOUND],
        ),
        prepped(
            "api_keys.manage",
            "revoke a workspace API key",
            "mutation($key: ID!) { revokeApiKey(id: $key) { revokedAt } }",
            Prep::FreshKey,
            [OK, OK, FORBIDDEN, NOT_FOUND, NOT_FOUND],
        ),
        row(
            "activity.read",
            "subscribe to activity",
            "subscription($ws: ID!) { activity(workspaceId: $ws) { id } }",
            EVERYONE,
        ),
        row(
            "workroom.read",
            "subscribe to a workroom",
            "subscription($wr: ID!) { workroomEvents(workroomId: $wr) { kind } }",
            EVERYONE,
        ),
        row(
            "navigation.manage",
            "hide navigation",
            "mutation($ws: ID!) { setHiddenNavigation(workspaceId: $ws, role: VIEWER, keys: [\"analytics\"]) { id } }",
            ADMINS,
        ),
        row(
            "billing.setting",
            "restrict billing to the owner",
            "mutation($ws: ID!) { setAdminsManageBilling(workspaceId: $ws, enabled: true) { id } }",
            [OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        Row {
            own_team: true,
            ..row(
                "workspace.leave",
                "leave",
                "mutation($ws: ID!) { leaveWorkspace(workspaceId: $ws) }",
                [FORBIDDEN, OK, OK, OK, NOT_FOUND],
            )
        },
        Row {
            own_team: true,
            prep: Prep::FreshMember,
            ..row(
                "workspace.transfer_ownership",
                "transfer ownership",
                "mutation($ws: ID!, $target: ID!) { transferOwnership(workspaceId: $ws, toMemberId: $target) { id } }",
                [OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND],
            )
        },
        Row {
            own_team: true,
            ..row(
                "workspace.delete",
                "delete workspace",
                "mutation($ws: ID!) { deleteWorkspace(id: $ws, confirmName: \"Team Space\") { deletedAt } }",
                [OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND],
            )
        },
        Row {
            own_team: true,
            ..row(
                "workspace.restore",
                "restore a deleted workspace",
                "mutation($ws: ID!) { restoreWorkspace(id: $ws) { deletedAt } }",
                [OK, DELETED, DELETED, DELETED, NOT_FOUND],
            )
        },
        row(
            "agents.read",
            "list agents",
            "query($ws: ID!) { workspace(id: $ws) { agents { id } } }",
            EVERYONE,
        ),
        row(
            "agents.manage",
            "create an agent",
            "mutation($ws: ID!) { createAgent(input: {workspaceId: $ws, name: \"Aurora\", instructions: \"Write.\"}) { id } }",
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "agents.manage",
            "update an agent",
            "mutation($agent: ID!) { updateAgent(input: {id: $agent, instructions: \"Write more.\"}) { version } }",
            Prep::FreshAgent,
            [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "agents.manage",
            "archive an agent",
            "mutation($agent: ID!) { archiveAgent(id: $agent) { archivedAt } }",
            Prep::FreshAgent,
            [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "run.start",
            "start a run",
            "mutation($wr: ID!) { startRun(input: {workroomId: $wr, input: \"Hello\", maxCredits: 5}) { id } }",
            Prep::Credits,
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "run.cancel",
            "cancel the owner's run",
            "mutation($run: ID!) { cancelRun(id: $run) { status } }",
            Prep::FreshRun,
            [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "workroom.read",
            "read a run",
            "query($run: ID!) { agentRun(id: $run) { status } }",
            Prep::FreshRun,
            EVERYONE,
        ),
        prepped(
            "workroom.read",
            "watch a run",
            "subscription($run: ID!) { runEvents(runId: $run) { seq } }",
            Prep::FreshRun,
            EVERYONE,
        ),
        row(
            "credits.read",
            "read the credit pool",
            "query($ws: ID!) { workspace(id: $ws) { credits { balance entries { nodes { kind } } } } }",
            ADMINS,
        ),
        row(
            "credits.grant",
            "grant credits",
            "mutation($ws: ID!) { grantCredits(workspaceId: $ws, amount: 5) { balanceAfter } }",
            ADMINS,
        ),
        prepped(
            "credits.set_limit",
            "set a member's credit limit",
            "mutation($target: ID!) { setMemberCreditLimit(memberId: $target, monthlyLimit: 10) { id } }",
            Prep::FreshMember,
            ADMINS,
        ),
        row(
            "provider_key.read",
            "read the provider key",
            "query($ws: ID!) { workspace(id: $ws) { providerKey { last4 } } }",
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        row(
            "provider_key.manage",
            "set the provider key",
            "mutation($ws: ID!) { setProviderKey(workspaceId: $ws, provider: \"openai\", apiKey: \"sk-matrix-1234\") { last4 } }",
            ADMINS,
        ),
        row(
            "provider_key.manage",
            "clear the provider key",
            "mutation($ws: ID!) { clearProviderKey(workspaceId: $ws) }",
            ADMINS,
        ),
        row(
            "tasks.manage",
            "create a task",
            "mutation($wr: ID!) { createTask(input: {workroomId: $wr, title: \"Brief\"}) { id } }",
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "tasks.manage",
            "update a task",
            "mutation($task: ID!) { updateTask(input: {id: $task, title: \"Renamed\"}) { title } }",
            Prep::FreshTask,
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "tasks.manage",
            "start a task",
            "mutation($task: ID!) { startTask(id: $task) { status } }",
            Prep::FreshTask,
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "tasks.manage",
            "complete a manual step",
            "mutation($step: ID!) { completeStep(stepId: $step) { status } }",
            Prep::ManualStep,
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "tasks.manage",
            "cancel a task",
            "mutation($task: ID!) { cancelTask(id: $task) { status } }",
            Prep::FreshTask,
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "workroom.read",
            "read a task",
            "query($task: ID!) { task(id: $task) { title steps { id } } }",
            Prep::FreshTask,
            EVERYONE,
        ),
        prepped(
            "approval.request",
            "ask for approval of a run",
            "mutation($run: ID!) { requestApproval(runId: $run) { state } }",
            Prep::PolicyRun,
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "approval.decide",
            "reject a request",
            "mutation($req: ID!) { decideApproval(requestId: $req, decision: REJECT) { state } }",
            Prep::PendingApproval,
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "approval.set_policy",
            "set a workroom's approval policy",
            "mutation($room: ID!) { setApprovalPolicy(workroomId: $room, requiredApprovals: 2, eligibleRole: ADMIN) { id } }",
            Prep::FreshWorkroom,
            ADMINS,
        ),
        prepped(
            "export.request",
            "export a run",
            "mutation($wr: ID!, $run: ID!) { requestExport(input: {workroomId: $wr, runId: $run}) { downloadUrl } }",
            Prep::SucceededRun,
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        row(
            "export_profile.update",
            "change the export profile",
            "mutation($ws: ID!) { updateExportProfile(workspaceId: $ws, input: {format: HTML}) { format } }",
            ADMINS,
        ),
        prepped(
            "workroom.archive",
            "archive the owner's workroom",
            "mutation($room: ID!) { archiveWorkroom(id: $room) { archivedAt } }",
            Prep::FreshWorkroom,
            [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "workroom.archive",
            "restore the owner's workroom",
            "mutation($room: ID!) { restoreWorkroom(id: $room) { archivedAt } }",
            Prep::ArchivedWorkroom,
            [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        row(
            "workspace.update",
            "upload a workspace image",
            "mutation($ws: ID!, $file: Upload!) { setWorkspaceImage(workspaceId: $ws, kind: LOGO, file: $file) { logoUrl } }",
            ADMINS,
        ),
        row(
            "workspace.set_mode",
            "switch the workspace's mode",
            "mutation($ws: ID!) { setWorkspaceMode(workspaceId: $ws, mode: TRADITIONAL) { mode } }",
            [OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        row(
            "prompts.read",
            "list prompts",
            "query($ws: ID!) { workspace(id: $ws) { prompts { totalCount nodes { id } } } }",
            EVERYONE,
        ),
        row(
            "prompts.read",
            "list collections",
            "query($ws: ID!) { workspace(id: $ws) { collections { id } } }",
            EVERYONE,
        ),
        // Null, never NOT_FOUND, for what the caller may not read: see prompts.rs.
        prepped(
            "prompts.read",
            "fetch a prompt by reference",
            "query($ref: String!) { promptByReference(reference: $ref) { version } }",
            Prep::FreshPrompt,
            [OK, OK, OK, OK, OK],
        ),
        prepped(
            "prompts.read",
            "render a prompt",
            "mutation($ref: String!) { renderPrompt(reference: $ref, variables: {topic: \"x\"}) }",
            Prep::FreshPrompt,
            EVERYONE,
        ),
        row(
            "prompts.manage",
            "create a prompt",
            "mutation($ws: ID!, $pname: String!) { createPrompt(input: {workspaceId: $ws, name: $pname, title: \"Matrix\", body: \"On {{topic}}\"}) { id } }",
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "prompts.manage",
            "change the owner's prompt",
            "mutation($prompt: ID!) { updatePrompt(input: {id: $prompt, title: \"Matrix II\"}) { title } }",
            Prep::FreshPrompt,
            [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "prompts.manage",
            "save a draft of the owner's prompt",
            "mutation($prompt: ID!) { savePromptDraft(promptId: $prompt, body: \"About {{topic}}\") { status } }",
            Prep::FreshPrompt,
            [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "prompts.manage",
            "publish the owner's prompt",
            "mutation($prompt: ID!) { publishPrompt(promptId: $prompt, bump: MINOR) { version } }",
            Prep::FreshPrompt,
            [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "prompts.manage",
            "archive the owner's prompt",
            "mutation($prompt: ID!) { archivePrompt(id: $prompt) { status } }",
            Prep::FreshPrompt,
            [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        prepped(
            "prompts.manage",
            "set the collections of the owner's prompt",
            "mutation($prompt: ID!) { setPromptCollections(promptId: $prompt, collectionIds: []) { id } }",
            Prep::FreshPrompt,
            [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        row(
            "notifications.set_defaults",
            "set the workspace's notification defaults",
            "mutation($ws: ID!) { setDefaultNotificationPreferences(workspaceId: $ws, preferences: [{category: RUN_FINISHED, mode: WEEKLY}]) { mode } }",
            ADMINS,
        ),
        row(
            "workspace.read",
            "set one's own notification preferences",
            "mutation($ws: ID!) { setNotificationPreferences(workspaceId: $ws, preferences: [{category: RUN_FINISHED, mode: OFF}]) { mode } }",
            EVERYONE,
        ),
        row(
            "activity.export",
            "export the activity log",
            "mutation($ws: ID!) { exportActivity(workspaceId: $ws, format: CSV) }",
            EVERYONE,
        ),
        row(
            "analytics.read",
            "read the workspace's analytics",
            "query($ws: ID!) { workspace(id: $ws) { analytics(from: \"2026-01-01T00:00:00Z\", to: \"2026-02-01T00:00:00Z\", bucket: WEEK) { events { count } topMembers { events } } } }",
            EVERYONE,
        ),
        row(
            "activity.set_retention",
            "set how long activity is kept",
            "mutation($ws: ID!) { setActivityRetention(workspaceId: $ws, days: 3650) { activityRetentionDays } }",
            [OK, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        ),
        row(
            "brand.manage",
            "change the brand profile",
            "mutation($ws: ID!) { updateBrandProfile(workspaceId: $ws, input: {industry: \"Tea\", colors: [\"#112233\"]}) { industry } }",
            ADMINS,
        ),
        row(
            "brand.manage",
            "add a brand fact",
            "mutation($ws: ID!) { addBrandFact(workspaceId: $ws, text: \"Founded in 1999\") { id } }",
            ADMINS,
        ),
        prepped(
            "brand.manage",
            "remove a brand fact",
            "mutation($fact: ID!) { removeBrandFact(id: $fact) { id } }",
            Prep::FreshFact,
            ADMINS,
        ),
        row(
            "prompts.manage",
            "create a collection",
            "mutation($ws: ID!, $pname: String!) { createCollection(workspaceId: $ws, name: $pname) { id } }",
            [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        ),
    ]
}

/// Runs a row's operation: over HTTP, or a subscription over the WebSocket,
/// where an accepted subscription is one that reports no error within a
/// second (it may also send its first event).
async fn call(app: &TestApp, token: Option<&str>, query: &str, vars: Value) -> Value {
    if query.contains("$file: Upload!") {
        let png = crate::images::tiny_png();
        return crate::images::multipart(app, token, query, vars, &png, true)
            .await
            .1;
    }
    if !query.starts_with("subscription") {
        return app.gql(token, query, vars).await;
    }
    let mut ws = WsClient::connect(app, TRANSPORT_WS, token)
        .await
        .expect("the socket accepts anyone; subscriptions decide");
    ws.subscribe("m", query, vars).await;
    let got = ws.next("m", std::time::Duration::from_secs(1)).await;
    ws.close().await;
    match got {
        Got::Next(payload) => payload,
        Got::Silence => json!({ "data": { "subscribed": true } }),
        other => panic!("{query}: {other:?}"),
    }
}

fn outcome(response: &Value) -> String {
    code(response).unwrap_or_else(|| {
        assert!(
            !response["data"].is_null(),
            "no data and no error: {response}"
        );
        OK.to_owned()
    })
}

async fn prepare(app: &TestApp, team: &Team, prep: Prep, vars: &mut Value) {
    let unique = uuid::Uuid::now_v7().simple().to_string();
    let fresh = format!("fresh-{unique}@example.com");
    let short = format!("role {}", &unique[20..]);
    vars["email"] = json!(fresh);
    vars["name"] = json!(short);
    vars["pname"] = json!(format!("p-{}", &unique[16..]));
    match prep {
        Prep::Nothing | Prep::FreshEmail => {}
        Prep::FreshMember | Prep::BannedMember | Prep::MemberAndRole => {
            let user = app.sign_up("Target").await;
            let member = atrium::members::service::add_member(
                &app.state.db,
                &team.workspace,
                &user.id,
                entity::enums::Role::Member,
            )
            .await
            .unwrap();
            if prep == Prep::BannedMember {
                app.data(
                    Some(&team.owner.token),
                    "mutation($m: ID!) { banMember(memberId: $m) { id } }",
                    json!({ "m": member.id }),
                )
                .await;
            }
            vars["target"] = json!(member.id);
            if prep == Prep::MemberAndRole {
                Box::pin(prepare(app, team, Prep::FreshRole, vars)).await;
            }
        }
        Prep::FreshInvitation => {
            let data = app
                .data(
                    Some(&team.owner.token),
                    "mutation($ws: ID!, $e: String!) { inviteMembers(input: {workspaceId: $ws, emails: [$e]}) { results { invitation { id } } } }",
                    json!({ "ws": team.workspace, "e": fresh }),
                )
                .await;
            vars["inv"] = data["inviteMembers"]["results"][0]["invitation"]["id"].clone();
        }
        Prep::FreshKey => {
            let data = app
                .data(
                    Some(&team.owner.token),
                    "mutation($ws: ID!) { createApiKey(input: {workspaceId: $ws, name: \"Matrix\"}) { apiKey { id } } }",
                    json!({ "ws": team.workspace }),
                )
                .await;
            vars["key"] = data["createApiKey"]["apiKey"]["id"].clone();
        }
        Prep::FreshAgent => {
            let data = app
                .data(
                    Some(&team.owner.token),
                    "mutation($ws: ID!) { createAgent(input: {workspaceId: $ws, name: \"Matrix\", instructions: \"Be brief.\"}) { id } }",
                    json!({ "ws": team.workspace }),
                )
                .await;
            vars["agent"] = data["createAgent"]["id"].clone();
        }
        Prep::Credits | Prep::FreshRun => {
            app.data(
                Some(&team.owner.token),
                "mutation($ws: ID!) { grantCredits(workspaceId: $ws, amount: 5) { id } }",
                json!({ "ws": team.workspace }),
            )
            .await;
            if prep == Prep::FreshRun {
                let data = app
                    .data(
                        Some(&team.owner.token),
                        "mutation($wr: ID!) { startRun(input: {workroomId: $wr, input: \"Matrix\", maxCredits: 5}) { id } }",
                        json!({ "wr": vars["wr"] }),
                    )
                    .await;
                vars["run"] = data["startRun"]["id"].clone();
            }
        }
        Prep::FreshTask | Prep::ManualStep => {
            let steps = if prep == Prep::ManualStep {
                json!([{ "kind": "MANUAL", "title": "Check" }])
            } else {
                json!([])
            };
            let data = app
                .data(
                    Some(&team.owner.token),
                    "mutation($wr: ID!, $steps: [TaskStepInput!]) { createTask(input: {workroomId: $wr, title: \"Matrix\", steps: $steps}) { id steps { id } } }",
                    json!({ "wr": vars["wr"], "steps": steps }),
                )
                .await;
            vars["task"] = data["createTask"]["id"].clone();
            if prep == Prep::ManualStep {
                vars["step"] = data["createTask"]["steps"][0]["id"].clone();
                app.data(
                    Some(&team.owner.token),
                    "mutation($task: ID!) { startTask(id: $task) { id } }",
                    json!({ "task": vars["task"] }),
                )
                .await;
            }
        }
        Prep::SucceededRun | Prep::PolicyRun | Prep::PendingApproval => {
            let room = if prep == Prep::SucceededRun {
                vars["wr"].clone()
            } else {
                let data = app
                    .create_workroom(&team.owner, &team.workspace, "Matrix approvals")
                    .await;
                let room = data["data"]["createWorkroom"]["id"].clone();
                app.data(
                    Some(&team.owner.token),
                    "mutation($room: ID!) { setApprovalPolicy(workroomId: $room, requiredApprovals: 1, eligibleRole: MEMBER) { id } }",
                    json!({ "room": room }),
                )
                .await;
                vars["room"] = room.clone();
                room
            };
            app.data(
                Some(&team.owner.token),
                "mutation($ws: ID!) { grantCredits(workspaceId: $ws, amount: 5) { id } }",
                json!({ "ws": team.workspace }),
            )
            .await;
            let data = app
                .data(
                    Some(&team.owner.token),
                    "mutation($wr: ID!) { startRun(input: {workroomId: $wr, input: \"Matrix\", maxCredits: 5}) { id } }",
                    json!({ "wr": room }),
                )
                .await;
            let run = data["startRun"]["id"].as_str().unwrap().to_owned();
            app.query_strings(&format!(
                "UPDATE agent_runs SET status = 'SUCCEEDED', output = 'Matrix output', finished_at = created_at WHERE id = '{run}'"
            ))
            .await;
            vars["run"] = json!(run);
            if prep == Prep::PendingApproval {
                let data = app
                    .data(
                        Some(&team.owner.token),
                        "mutation($run: ID!) { requestApproval(runId: $run) { id } }",
                        json!({ "run": run }),
                    )
                    .await;
                vars["req"] = data["requestApproval"]["id"].clone();
            }
        }
        Prep::FreshWorkroom | Prep::ArchivedWorkroom => {
            let data = app
                .create_workroom(&team.owner, &team.workspace, "Matrix room")
                .await;
            let room = data["data"]["createWorkroom"]["id"].clone();
            if prep == Prep::ArchivedWorkroom {
                app.data(
                    Some(&team.owner.token),
                    "mutation($room: ID!) { archiveWorkroom(id: $room) { id } }",
                    json!({ "room": room }),
                )
                .await;
            }
            vars["room"] = room;
        }
        Prep::FreshPrompt => {
            let data = app
                .data(
                    Some(&team.owner.token),
                    "mutation($ws: ID!, $n: String!) { createPrompt(input: {workspaceId: $ws, name: $n, title: \"Matrix\", body: \"On {{topic}}\"}) { id reference } }",
                    json!({ "ws": team.workspace, "n": vars["pname"] }),
                )
                .await;
            let prompt = data["createPrompt"]["id"].clone();
            app.data(
                Some(&team.owner.token),
                "mutation($p: ID!) { publishPrompt(promptId: $p, bump: PATCH) { id } savePromptDraft(promptId: $p, body: \"Now {{topic}}\") { id } }",
                json!({ "p": prompt }),
            )
            .await;
            vars["ref"] = data["createPrompt"]["reference"].clone();
            vars["prompt"] = prompt;
        }
        Prep::FreshFact => {
            let data = app
                .data(
                    Some(&team.owner.token),
                    "mutation($ws: ID!) { addBrandFact(workspaceId: $ws, text: \"Matrix fact\") { id } }",
                    json!({ "ws": team.workspace }),
                )
                .await;
            vars["fact"] = data["addBrandFact"]["id"].clone();
        }
        Prep::FreshRole => {
            let data = app
                .data(
                    Some(&team.owner.token),
                    "mutation($ws: ID!, $n: String!) { createRole(input: {workspaceId: $ws, name: $n}) { id } }",
                    json!({ "ws": team.workspace, "n": format!("{short}!") }),
                )
                .await;
            vars["role"] = data["createRole"]["id"].clone();
        }
    }
}

async fn matrix_team(app: &TestApp) -> (Team, String) {
    let team = app.team().await;
    assert_eq!(
        code(
            &app.change_plan(&team.owner, &team.workspace, "AGENCY")
                .await
        ),
        None
    );
    let workroom = app
        .create_workroom(&team.owner, &team.workspace, "Owner's room")
        .await;
    let workroom = workroom["data"]["createWorkroom"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (team, workroom)
}

#[tokio::test]
async fn every_role_gets_exactly_the_expected_outcome() {
    // Runs started here stay running, so that cancelling them is a change.
    let slow = |config: &mut atrium::Config| {
        config.work.builtin_chunk_delay = std::time::Duration::from_secs(30);
        config.work.secrets_key = Some(atrium::config::Secret::new(
            "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
        ));
    };
    each_backend_with(slow, async |app| {
        let (shared, shared_room) = matrix_team(&app).await;
        let mut failures = Vec::new();
        for row in rows() {
            let own;
            let (team, workroom) = if row.own_team {
                own = matrix_team(&app).await;
                if row.capability == "workspace.restore" {
                    app.data(
                        Some(&own.0.owner.token),
                        "mutation($ws: ID!) { deleteWorkspace(id: $ws, confirmName: \"Team Space\") { id } }",
                        json!({ "ws": own.0.workspace }),
                    )
                    .await;
                }
                (&own.0, own.1.as_str())
            } else {
                (&shared, shared_room.as_str())
            };
            let mut callers: Vec<_> = team.callers().into_iter().zip(row.expected).collect();
            callers.rotate_left(1); // the owner calls last
            for ((who, user), expected) in callers {
                let mut vars = json!({ "ws": team.workspace, "wr": workroom });
                prepare(&app, team, row.prep, &mut vars).await;
                let response = call(&app, Some(&user.token), row.query, vars).await;
                let got = outcome(&response);
                if got != expected {
                    failures.push(format!("{} as {who}: expected {expected}, got {got}: {response}", row.name));
                }
            }
            // Without a session every operation is UNAUTHENTICATED.
            let mut vars = json!({ "ws": team.workspace, "wr": workroom });
            prepare(&app, team, row.prep, &mut vars).await;
            let anonymous = call(&app, None, row.query, vars).await;
            if code(&anonymous).as_deref() != Some("UNAUTHENTICATED") {
                failures.push(format!("{} anonymously: {anonymous}", row.name));
            }
        }
        assert!(failures.is_empty(), "{:?}:\n{}", app.backend, failures.join("\n"));
    })
    .await;
}

/// Root fields that need no workspace capability: anyone may call them, or
/// any signed-in caller on their own behalf. Each says why.
const PUBLIC: &[(&str, &str)] = &[
    ("Query.me", "the caller's own account"),
    ("Query.workspaces", "the caller's own workspaces"),
    (
        "Query.workspace",
        "reads a workspace the caller belongs to; its fields have rows",
    ),
    (
        "Query.workroom",
        "reads a workroom the caller reaches; `workroom.read` is on its fields",
    ),
    (
        "Query.invitation",
        "an invitation link's preview, by its secret token",
    ),
    (
        "Query.node",
        "any object by id, as its own type's reads allow",
    ),
    ("Query.personalApiKeys", "the caller's own keys"),
    ("Mutation.signUp", "makes an account"),
    ("Mutation.logIn", "starts a session"),
    ("Mutation.refreshSession", "spends a refresh token"),
    ("Mutation.logOut", "ends a session"),
    (
        "Mutation.createWorkspace",
        "any person makes workspaces of their own",
    ),
    (
        "Mutation.acceptInvitation",
        "joins by an invitation's secret token",
    ),
];

/// Every Query, Mutation and Subscription field the server serves
/// (introspection) has a matrix row or a place on the public list.
#[tokio::test]
async fn every_root_field_has_a_row_or_is_public() {
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    let data = app
        .data(
            None,
            "{ __schema { queryType { fields { name } } mutationType { fields { name } } subscriptionType { fields { name } } } }",
            json!({}),
        )
        .await;
    let mut served = Vec::new();
    for (root, ty) in [
        ("Query", "queryType"),
        ("Mutation", "mutationType"),
        ("Subscription", "subscriptionType"),
    ] {
        for field in data["__schema"][ty]["fields"].as_array().unwrap() {
            served.push(format!("{root}.{}", field["name"].as_str().unwrap()));
        }
    }
    assert!(served.len() >= 40, "{served:?}");
    let mut rowed = std::collections::HashSet::new();
    for row in rows() {
        let document = async_graphql::parser::parse_query(row.query).unwrap();
        for (_, operation) in document.operations.iter() {
            let root = match operation.node.ty {
                async_graphql::parser::types::OperationType::Query => "Query",
                async_graphql::parser::types::OperationType::Mutation => "Mutation",
                async_graphql::parser::types::OperationType::Subscription => "Subscription",
            };
            for item in &operation.node.selection_set.node.items {
                if let async_graphql::parser::types::Selection::Field(field) = &item.node {
                    rowed.insert(format!("{root}.{}", field.node.name.node));
                }
            }
        }
    }
    let public: Vec<&str> = PUBLIC.iter().map(|(field, _)| *field).collect();
    let uncovered: Vec<&String> = served
        .iter()
        .filter(|f| !rowed.contains(*f) && !public.contains(&f.as_str()))
        .collect();
    assert!(
        uncovered.is_empty(),
        "neither a matrix row nor public: {uncovered:#?}"
    );
    let stale: Vec<&&str> = public
        .iter()
        .filter(|f| !served.iter().any(|s| s == *f))
        .collect();
    assert!(
        stale.is_empty(),
        "public fields the schema no longer has: {stale:?}"
    );
}

#[test]
fn every_guarded_field_of_the_schema_has_a_row() {
    let sdl = atrium::graphql::sdl();
    let covered: Vec<&str> = rows().iter().map(|r| r.capability).collect();
    let mut guarded = Vec::new();
    for line in sdl.lines() {
        if let Some((_, rest)) = line.split_once("@requires(capability: \"") {
            let capability = rest.split('"').next().unwrap_or_default();
            guarded.push((line.trim().to_owned(), capability.to_owned()));
        }
    }
    assert!(
        !guarded.is_empty(),
        "the schema shows @requires on guarded fields"
    );
    for (field, capability) in guarded {
        assert!(
            covered.contains(&capability.as_str()),
            "no matrix row for `{capability}` guarding `{field}`"
        );
    }
}

#[tokio::test]
async fn members_edit_the_workrooms_they_made() {
    each_backend(async |app| {
        let team = app.team().await;
        let made = app.create_workroom(&team.member, &team.workspace, "Mine").await;
        let id = made["data"]["createWorkroom"]["id"].as_str().unwrap();
        let update = "mutation($id: ID!) { updateWorkroom(input: {id: $id, name: \"Still mine\"}) { name createdBy { id } } }";
        let own = app.data(Some(&team.member.token), update, json!({ "id": id })).await;
        assert_eq!(own["updateWorkroom"]["name"], "Still mine");
        assert_eq!(own["updateWorkroom"]["createdBy"]["id"], team.member.id.as_str());
        // Another member may not; an admin may.
        let other = app.sign_up("Other").await;
        app.add_member(&team.workspace, &other, entity::enums::Role::Member).await;
        assert_code(&app.gql(Some(&other.token), update, json!({ "id": id })).await, "FORBIDDEN");
        assert_eq!(code(&app.gql(Some(&team.admin.token), update, json!({ "id": id })).await), None);
    })
    .await;
}

/// An event's `changes` show a reader no more than the field they describe
/// would: hidden navigation is for admins, in the feed as on the workspace.
#[tokio::test]
async fn the_activity_feed_redacts_what_its_fields_would_refuse() {
    each_backend(async |app| {
        let team = app.team().await;
        app.data(
            Some(&team.owner.token),
            "mutation($ws: ID!) { setHiddenNavigation(workspaceId: $ws, role: ADMIN, keys: [\"secret-admin-key\"]) { id } }",
            json!({ "ws": team.workspace }),
        )
        .await;
        let feed = "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"workspace.navigation_changed\"]}) { nodes { action changes } } } }";
        for (who, user, sees) in [
            ("owner", &team.owner, true),
            ("admin", &team.admin, true),
            ("member", &team.member, false),
            ("viewer", &team.viewer, false),
        ] {
            let read = app.data(Some(&user.token), feed, json!({ "ws": team.workspace })).await;
            let nodes = read["workspace"]["activity"]["nodes"].as_array().unwrap();
            assert_eq!(nodes.len(), 1, "{who} sees that navigation changed");
            let text = nodes[0].to_string();
            assert_eq!(text.contains("secret-admin-key"), sees, "{who}: {text}");
        }
    })
    .await;
}
