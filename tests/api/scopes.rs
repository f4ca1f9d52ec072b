//! Granular access: per-area overrides, per-workroom access, custom roles,
//! navigation visibility and the billing setting.

use serde_json::{Value, json};

use crate::helpers::*;
use crate::invitations::member_id_of;

const ACCESS: &str = "mutation($input: SetMemberAccessInput!) { setMemberAccess(input: $input) {
    access { area access } allWorkrooms workrooms { workroomId access } } }";

fn level(member: &Value, area: &str) -> String {
    member["access"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["area"] == area)
        .map(|a| a["access"].as_str().unwrap().to_owned())
        .unwrap()
}

#[tokio::test]
async fn area_overrides_widen_and_narrow_but_never_past_the_rules() {
    each_backend(async |app| {
        let team = app.team().await;
        let member = member_id_of(&app, &team, &team.member).await;
        let viewer = member_id_of(&app, &team, &team.viewer).await;
        let credits = "query($ws: ID!) { workspace(id: $ws) { creditBalance } }";
        assert_code(&app.gql(Some(&team.member.token), credits, json!({ "ws": team.workspace })).await, "FORBIDDEN");

        let set = app
            .data(Some(&team.admin.token), ACCESS, json!({ "input": { "memberId": member, "areas": [
                { "area": "BILLING", "access": "VIEW" }, { "area": "PROJECTS", "access": "VIEW" } ] } }))
            .await;
        assert_eq!(level(&set["setMemberAccess"], "BILLING"), "VIEW");
        assert_eq!(level(&set["setMemberAccess"], "PROJECTS"), "VIEW");
        assert_eq!(app.data(Some(&team.member.token), credits, json!({ "ws": team.workspace })).await["workspace"]["creditBalance"], 0);
        assert_code(&app.create_workroom(&team.member, &team.workspace, "Narrowed").await, "FORBIDDEN");

        // A viewer never rises above VIEW.
        let viewer_set = app
            .data(Some(&team.admin.token), ACCESS, json!({ "input": { "memberId": viewer, "areas": [{ "area": "PROJECTS", "access": "FULL" }] } }))
            .await;
        assert_eq!(level(&viewer_set["setMemberAccess"], "PROJECTS"), "VIEW");
        assert_code(&app.create_workroom(&team.viewer, &team.workspace, "Nope").await, "FORBIDDEN");

        // Nobody grants more than they hold: a member with MEMBERS FULL
        // cannot hand out BILLING FULL.
        app.data(Some(&team.owner.token), ACCESS, json!({ "input": { "memberId": member, "areas": [{ "area": "MEMBERS", "access": "FULL" }] } })).await;
        let over = app
            .gql(Some(&team.member.token), ACCESS, json!({ "input": { "memberId": viewer, "areas": [{ "area": "BILLING", "access": "FULL" }] } }))
            .await;
        assert_code(&over, "FORBIDDEN");
        // An empty list drops the overrides.
        let reset = app.data(Some(&team.owner.token), ACCESS, json!({ "input": { "memberId": member, "areas": [] } })).await;
        assert_eq!(level(&reset["setMemberAccess"], "BILLING"), "NONE");
        assert_eq!(level(&reset["setMemberAccess"], "PROJECTS"), "FULL");
    })
    .await;
}

#[tokio::test]
async fn workroom_access_limits_what_a_member_sees_and_edits() {
    each_backend(async |app| {
        let team = app.team().await;
        let a = app.create_workroom(&team.owner, &team.workspace, "A").await["data"]["createWorkroom"]["id"].as_str().unwrap().to_owned();
        let b = app.create_workroom(&team.owner, &team.workspace, "B").await["data"]["createWorkroom"]["id"].as_str().unwrap().to_owned();
        let member = member_id_of(&app, &team, &team.member).await;
        let set = app
            .data(Some(&team.admin.token), ACCESS, json!({ "input": { "memberId": member, "allWorkrooms": false,
                "workrooms": [{ "workroomId": a, "access": "VIEW" }] } }))
            .await;
        assert_eq!(set["setMemberAccess"]["allWorkrooms"], false);
        assert_eq!(set["setMemberAccess"]["workrooms"], json!([{ "workroomId": a, "access": "VIEW" }]));

        let listed = app
            .data(Some(&team.member.token), "query($ws: ID!) { workspace(id: $ws) { workrooms { id } activity(first: 100) { nodes { workroomId } } } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(listed["workspace"]["workrooms"], json!([{ "id": a }]));
        let rooms_in_feed: Vec<&Value> = listed["workspace"]["activity"]["nodes"].as_array().unwrap().iter().map(|n| &n["workroomId"]).filter(|w| !w.is_null()).collect();
        assert_eq!(rooms_in_feed, [&json!(a)], "events of B are hidden");
        assert_code(&app.gql(Some(&team.member.token), "query($id: ID!) { workroom(id: $id) { id } }", json!({ "id": b })).await, "NOT_FOUND");

        let rename = "mutation($id: ID!) { updateWorkroom(input: {id: $id, name: \"Renamed\"}) { name } }";
        assert_code(&app.gql(Some(&team.member.token), rename, json!({ "id": a })).await, "FORBIDDEN");
        assert_code(&app.gql(Some(&team.member.token), rename, json!({ "id": b })).await, "NOT_FOUND");

        // A workroom the member makes is theirs to edit.
        let own = app.create_workroom(&team.member, &team.workspace, "Mine").await;
        let own = own["data"]["createWorkroom"]["id"].as_str().unwrap().to_owned();
        assert_eq!(code(&app.gql(Some(&team.member.token), rename, json!({ "id": own })).await), None);

        // Unknown workrooms are refused.
        let unknown = app
            .gql(Some(&team.admin.token), ACCESS, json!({ "input": { "memberId": member, "workrooms": [{ "workroomId": "nope", "access": "VIEW" }] } }))
            .await;
        assert_code(&unknown, "NOT_FOUND");
    })
    .await;
}

const CREATE_ROLE: &str = "mutation($input: CreateRoleInput!) { createRole(input: $input) {
    id name baseRole access { area access } } }";

#[tokio::test]
async fn custom_roles_preset_access_and_are_bounded() {
    each_backend(async |app| {
        let team = app.team().await;
        let created = app
            .data(Some(&team.admin.token), CREATE_ROLE, json!({ "input": { "workspaceId": team.workspace, "name": "Billing clerk",
                "areas": [{ "area": "BILLING", "access": "FULL" }, { "area": "PROJECTS", "access": "VIEW" }] } }))
            .await;
        let role = created["createRole"]["id"].as_str().unwrap().to_owned();
        assert_eq!(created["createRole"]["baseRole"], "MEMBER");
        assert_eq!(level(&created["createRole"], "BILLING"), "FULL");
        assert_eq!(level(&created["createRole"], "GENERAL"), "VIEW");

        let member = member_id_of(&app, &team, &team.member).await;
        let assigned = app
            .data(Some(&team.admin.token), "mutation($m: ID!, $r: ID!) { assignRole(memberId: $m, roleId: $r) { role customRole { name } access { area access } } }", json!({ "m": member, "r": role }))
            .await;
        assert_eq!(assigned["assignRole"]["customRole"]["name"], "Billing clerk");
        assert_eq!(level(&assigned["assignRole"], "BILLING"), "FULL");
        assert_eq!(code(&app.change_plan(&team.member, &team.workspace, "GROWTH").await), None);
        assert_code(&app.create_workroom(&team.member, &team.workspace, "No").await, "FORBIDDEN");

        // Duplicate names, viewer presets above VIEW, and a 21st role are refused.
        let dup = app.gql(Some(&team.admin.token), CREATE_ROLE, json!({ "input": { "workspaceId": team.workspace, "name": "Billing clerk" } })).await;
        assert_code(&dup, "CONFLICT");
        let viewer_full = app
            .gql(Some(&team.admin.token), CREATE_ROLE, json!({ "input": { "workspaceId": team.workspace, "name": "Odd", "baseRole": "VIEWER",
                "areas": [{ "area": "PROJECTS", "access": "FULL" }] } }))
            .await;
        assert_code(&viewer_full, "BAD_USER_INPUT");
        let admin_based = app.gql(Some(&team.admin.token), CREATE_ROLE, json!({ "input": { "workspaceId": team.workspace, "name": "Boss", "baseRole": "ADMIN" } })).await;
        assert_code(&admin_based, "BAD_USER_INPUT");
        for i in 1..20 {
            let made = app.gql(Some(&team.admin.token), CREATE_ROLE, json!({ "input": { "workspaceId": team.workspace, "name": format!("Role {i}") } })).await;
            assert_eq!(code(&made), None, "{made}");
        }
        let over = app.gql(Some(&team.admin.token), CREATE_ROLE, json!({ "input": { "workspaceId": team.workspace, "name": "Role 21" } })).await;
        assert_code(&over, "CONFLICT");

        // Deleting the role returns its holders to their base role's defaults.
        app.data(Some(&team.admin.token), "mutation($r: ID!) { deleteRole(id: $r) { id } }", json!({ "r": role })).await;
        let after = app.data(Some(&team.member.token), "query($ws: ID!) { workspace(id: $ws) { viewerMember { customRole { id } access { area access } } } }", json!({ "ws": team.workspace })).await;
        assert!(after["workspace"]["viewerMember"]["customRole"].is_null());
        assert_eq!(level(&after["workspace"]["viewerMember"], "BILLING"), "NONE");
    })
    .await;
}

#[tokio::test]
async fn nobody_assigns_a_role_granting_more_than_they_hold() {
    each_backend(async |app| {
        let team = app.team().await;
        let role = app
            .data(Some(&team.owner.token), CREATE_ROLE, json!({ "input": { "workspaceId": team.workspace, "name": "Payer",
                "areas": [{ "area": "BILLING", "access": "FULL" }] } }))
            .await["createRole"]["id"].as_str().unwrap().to_owned();
        let member = member_id_of(&app, &team, &team.member).await;
        let viewer = member_id_of(&app, &team, &team.viewer).await;
        app.data(Some(&team.owner.token), ACCESS, json!({ "input": { "memberId": member, "areas": [{ "area": "MEMBERS", "access": "FULL" }] } })).await;
        let assign = app
            .gql(Some(&team.member.token), "mutation($m: ID!, $r: ID!) { assignRole(memberId: $m, roleId: $r) { id } }", json!({ "m": viewer, "r": role }))
            .await;
        assert_code(&assign, "FORBIDDEN");
        let create = app
            .gql(Some(&team.member.token), CREATE_ROLE, json!({ "input": { "workspaceId": team.workspace, "name": "Mine" } }))
            .await;
        assert_code(&create, "FORBIDDEN");
    })
    .await;
}

#[tokio::test]
async fn navigation_can_be_hidden_per_role_except_settings_and_the_owner() {
    each_backend(async |app| {
        let team = app.team().await;
        let hide = "mutation($ws: ID!, $r: Role!, $k: [String!]!) { setHiddenNavigation(workspaceId: $ws, role: $r, keys: $k) { hiddenNavigation { role keys } } }";
        let set = app
            .data(Some(&team.admin.token), hide, json!({ "ws": team.workspace, "r": "MEMBER", "k": ["Analytics", "calendar", "analytics"] }))
            .await;
        assert_eq!(
            set["setHiddenNavigation"]["hiddenNavigation"],
            json!([{ "role": "ADMIN", "keys": [] }, { "role": "MEMBER", "keys": ["analytics", "calendar"] }, { "role": "VIEWER", "keys": [] }])
        );
        let nav = "query($ws: ID!) { workspace(id: $ws) { viewerMember { hiddenNavigation } } }";
        assert_eq!(app.data(Some(&team.member.token), nav, json!({ "ws": team.workspace })).await["workspace"]["viewerMember"]["hiddenNavigation"], json!(["analytics", "calendar"]));
        assert_eq!(app.data(Some(&team.viewer.token), nav, json!({ "ws": team.workspace })).await["workspace"]["viewerMember"]["hiddenNavigation"], json!([]));
        assert_code(&app.gql(Some(&team.admin.token), hide, json!({ "ws": team.workspace, "r": "VIEWER", "k": ["settings"] })).await, "BAD_USER_INPUT");
        assert_code(&app.gql(Some(&team.admin.token), hide, json!({ "ws": team.workspace, "r": "OWNER", "k": ["x"] })).await, "BAD_USER_INPUT");
        assert_code(&app.gql(Some(&team.admin.token), hide, json!({ "ws": team.workspace, "r": "VIEWER", "k": ["bad key!"] })).await, "BAD_USER_INPUT");
    })
    .await;
}

#[tokio::test]
async fn the_owner_can_keep_billing_to_itself() {
    each_backend(async |app| {
        let team = app.team().await;
        let setting = "mutation($ws: ID!, $on: Boolean!) { setAdminsManageBilling(workspaceId: $ws, enabled: $on) { adminsManageBilling } }";
        assert_code(&app.gql(Some(&team.admin.token), setting, json!({ "ws": team.workspace, "on": false })).await, "FORBIDDEN");
        let off = app.data(Some(&team.owner.token), setting, json!({ "ws": team.workspace, "on": false })).await;
        assert_eq!(off["setAdminsManageBilling"]["adminsManageBilling"], false);
        assert_code(&app.change_plan(&team.admin, &team.workspace, "GROWTH").await, "FORBIDDEN");
        let credits = app.data(Some(&team.admin.token), "query($ws: ID!) { workspace(id: $ws) { creditBalance } }", json!({ "ws": team.workspace })).await;
        assert_eq!(credits["workspace"]["creditBalance"], 0, "admins still see billing");
        assert_eq!(code(&app.change_plan(&team.owner, &team.workspace, "GROWTH").await), None);
        app.data(Some(&team.owner.token), setting, json!({ "ws": team.workspace, "on": true })).await;
        assert_eq!(code(&app.change_plan(&team.admin, &team.workspace, "AGENCY").await), None);
    })
    .await;
}

#[tokio::test]
async fn nobody_reaches_past_their_own_access_through_scopes_invites_or_resends() {
    each_backend(async |app| {
        let team = app.team().await;
        app.change_plan(&team.owner, &team.workspace, "GROWTH").await;
        let a = app.create_workroom(&team.owner, &team.workspace, "A").await["data"]["createWorkroom"]["id"].as_str().unwrap().to_owned();
        let b = app.create_workroom(&team.owner, &team.workspace, "B").await["data"]["createWorkroom"]["id"].as_str().unwrap().to_owned();
        let member = member_id_of(&app, &team, &team.member).await;
        let viewer = member_id_of(&app, &team, &team.viewer).await;
        // The member manages members but reaches workroom A alone, at VIEW,
        // with PROJECTS narrowed to VIEW.
        let limited = app
            .data(Some(&team.owner.token), ACCESS, json!({ "input": { "memberId": member,
                "areas": [{ "area": "MEMBERS", "access": "FULL" }, { "area": "PROJECTS", "access": "VIEW" }],
                "workrooms": [{ "workroomId": a, "access": "VIEW" }] } }))
            .await;
        // Listing workrooms means "only these".
        assert_eq!(limited["setMemberAccess"]["allWorkrooms"], false);

        let own_all = app.gql(Some(&team.member.token), ACCESS, json!({ "input": { "memberId": member, "allWorkrooms": true } })).await;
        assert_code(&own_all, "FORBIDDEN");
        let drop_narrowing = app.gql(Some(&team.member.token), ACCESS, json!({ "input": { "memberId": member, "areas": [{ "area": "MEMBERS", "access": "FULL" }] } })).await;
        assert_code(&drop_narrowing, "FORBIDDEN");
        let viewer_b = app.gql(Some(&team.member.token), ACCESS, json!({ "input": { "memberId": viewer, "workrooms": [{ "workroomId": b, "access": "VIEW" }] } })).await;
        assert_code(&viewer_b, "FORBIDDEN");

        // Inviting a MEMBER would hand out PROJECTS FULL on every workroom.
        let invite = "mutation($input: InviteMembersInput!) { inviteMembers(input: $input) { results { outcome } } }";
        let wide = app.gql(Some(&team.member.token), invite, json!({ "input": { "workspaceId": team.workspace, "emails": ["wide@example.com"] } })).await;
        assert_code(&wide, "FORBIDDEN");
        let narrow = app
            .gql(Some(&team.member.token), invite, json!({ "input": { "workspaceId": team.workspace, "emails": ["narrow@example.com"], "role": "VIEWER",
                "workrooms": [{ "workroomId": a, "access": "VIEW" }] } }))
            .await;
        assert_eq!(code(&narrow), None, "{narrow}");

        // Re-sending an admin's invitation is re-granting ADMIN.
        let admin_invite = app
            .data(Some(&team.owner.token), "mutation($ws: ID!) { inviteMembers(input: {workspaceId: $ws, emails: [\"boss@example.com\"], role: ADMIN}) { results { invitation { id } } } }", json!({ "ws": team.workspace }))
            .await;
        let id = admin_invite["inviteMembers"]["results"][0]["invitation"]["id"].clone();
        let resend = app.gql(Some(&team.member.token), "mutation($id: ID!) { resendInvitation(id: $id) { id } }", json!({ "id": id })).await;
        assert_code(&resend, "FORBIDDEN");
    })
    .await;
}
