//! API keys: their secrets, what a workspace key and a personal key may do,
//! rotation, revocation (subscriptions included), usage, and who acted.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::ws_client::{TRANSPORT_WS, WsClient};

const CREATE: &str = "mutation($input: CreateApiKeyInput!) {
    createApiKey(input: $input) { secret apiKey { id prefix environment scopes { area access } workspace { id } createdBy { id } } } }";

/// Mints a key as `user`; returns (id, secret, the whole payload).
async fn mint(app: &TestApp, user: &TestUser, input: Value) -> (String, String, Value) {
    let data = app
        .data(Some(&user.token), CREATE, json!({ "input": input }))
        .await;
    let payload = data["createApiKey"].clone();
    (
        payload["apiKey"]["id"].as_str().unwrap().to_owned(),
        payload["secret"].as_str().unwrap().to_owned(),
        payload,
    )
}

fn scopes(list: &[(&str, &str)]) -> Value {
    Value::Array(
        list.iter()
            .map(|(area, access)| json!({ "area": area, "access": access }))
            .collect(),
    )
}

const WORKROOMS: &str = "query($ws: ID!) { workspace(id: $ws) { workrooms { id } } }";
const CREATE_ROOM: &str = "mutation($ws: ID!) { createWorkroom(input: {workspaceId: $ws, name: \"By key\"}) { id createdBy { id } } }";

#[tokio::test]
async fn secrets_have_a_prefix_and_a_checksum_and_only_a_hash_is_kept() {
    each_backend(async |app| {
        let team = app.team().await;
        let (id, secret, payload) = mint(
            &app,
            &team.owner,
            json!({ "workspaceId": team.workspace, "name": "CI", "environment": "TEST" }),
        )
        .await;
        assert!(secret.starts_with("atr_test_"), "{secret}");
        assert_eq!(secret.len(), 9 + 16 + 43 + 6);
        let prefix = payload["apiKey"]["prefix"].as_str().unwrap();
        assert!(secret.starts_with(prefix) && prefix.len() == 17, "{prefix}");
        assert_eq!(payload["apiKey"]["environment"], "TEST");
        assert_eq!(
            payload["apiKey"]["workspace"]["id"],
            team.workspace.as_str()
        );
        assert_eq!(payload["apiKey"]["createdBy"]["id"], team.owner.id.as_str());
        // Absent scopes: VIEW on every area the creator sees.
        assert_eq!(payload["apiKey"]["scopes"].as_array().unwrap().len(), 5);

        // The key works; a typo fails its checksum before any lookup; a
        // well-formed secret that names no key is unknown.
        let ok = app
            .gql(Some(&secret), WORKROOMS, json!({ "ws": team.workspace }))
            .await;
        assert!(ok["data"]["workspace"]["workrooms"].is_array(), "{ok}");
        let mut typo = secret.clone().into_bytes();
        typo[30] = if typo[30] == b'x' { b'y' } else { b'x' };
        let typo = String::from_utf8(typo).unwrap();
        let refused = app
            .gql(Some(&typo), WORKROOMS, json!({ "ws": team.workspace }))
            .await;
        assert_code(&refused, "UNAUTHENTICATED");
        assert!(refused.to_string().contains("checksum"), "{refused}");
        let other =
            atrium::auth::key_secret::generate(atrium::auth::key_secret::Environment::Live, None)
                .secret;
        let unknown = app
            .gql(Some(&other), WORKROOMS, json!({ "ws": team.workspace }))
            .await;
        assert_code(&unknown, "UNAUTHENTICATED");
        assert!(unknown.to_string().contains("unknown API key"), "{unknown}");

        // The secret is never stored, nor shown again.
        let rows = app.query_strings("SELECT secret_hash FROM api_keys").await;
        assert!(rows.iter().all(|hash| !hash.contains(&secret[9..])));
        let listed = app
            .data(
                Some(&team.owner.token),
                "query($ws: ID!) { workspace(id: $ws) { apiKeys { id prefix } } }",
                json!({ "ws": team.workspace }),
            )
            .await;
        assert_eq!(listed["workspace"]["apiKeys"][0]["id"], id.as_str());
        assert!(!listed.to_string().contains(&secret));
    })
    .await;
}

#[tokio::test]
async fn a_workspace_key_acts_within_its_scopes_and_workspace_and_never_as_owner() {
    each_backend(async |app| {
        let team = app.team().await;
        let (_, viewing, _) = mint(
            &app,
            &team.owner,
            json!({ "workspaceId": team.workspace, "name": "Reader",
                    "scopes": scopes(&[("PROJECTS", "VIEW"), ("GENERAL", "VIEW")]) }),
        )
        .await;
        let read = app.gql(Some(&viewing), WORKROOMS, json!({ "ws": team.workspace })).await;
        assert!(read["data"]["workspace"]["workrooms"].is_array(), "{read}");
        let write = app.gql(Some(&viewing), CREATE_ROOM, json!({ "ws": team.workspace })).await;
        assert_code(&write, "FORBIDDEN");
        // Outside its scopes an area reads as forbidden.
        let members = app
            .gql(Some(&viewing), "query($ws: ID!) { workspace(id: $ws) { members { nodes { id } } } }",
                json!({ "ws": team.workspace }))
            .await;
        assert_code(&members, "FORBIDDEN");
        // It is no person, and reaches no other workspace.
        assert_code(&app.gql(Some(&viewing), "{ me { id } }", json!({})).await, "UNAUTHENTICATED");
        let listed = app.data(Some(&viewing), "{ workspaces { id } }", json!({})).await;
        assert_eq!(listed["workspaces"], json!([{ "id": team.workspace }]));
        let elsewhere = app
            .gql(Some(&viewing), WORKROOMS, json!({ "ws": team.owner.personal_workspace }))
            .await;
        assert_code(&elsewhere, "NOT_FOUND");

        let (_, full, _) = mint(
            &app,
            &team.owner,
            json!({ "workspaceId": team.workspace, "name": "Deployer",
                    "scopes": scopes(&[("GENERAL", "FULL"), ("INTEGRATIONS", "FULL"),
                        ("MEMBERS", "FULL"), ("PROJECTS", "FULL"), ("BILLING", "FULL")]) }),
        )
        .await;
        let made = app.data(Some(&full), CREATE_ROOM, json!({ "ws": team.workspace })).await;
        // Made by no person.
        assert_eq!(made["createWorkroom"]["createdBy"], Value::Null);
        for owner_only in [
            "mutation($ws: ID!) { deleteWorkspace(id: $ws, confirmName: \"Team Space\") { id } }",
            "mutation($ws: ID!) { setAdminsManageBilling(workspaceId: $ws, enabled: false) { id } }",
            "mutation($ws: ID!) { leaveWorkspace(workspaceId: $ws) }",
            "mutation($ws: ID!) { createApiKey(input: {workspaceId: $ws, name: \"More\"}) { secret } }",
        ] {
            let refused = app.gql(Some(&full), owner_only, json!({ "ws": team.workspace })).await;
            assert_code(&refused, "FORBIDDEN");
        }
        let refused = app.gql(Some(&full), "mutation { createApiKey(input: {name: \"Mine\"}) { secret } }", json!({})).await;
        assert_code(&refused, "FORBIDDEN");
        // Scopes above the creator's own are refused: a member cannot mint
        // workspace keys at all, an admin not above an admin.
        let by_member = app
            .gql(Some(&team.member.token), CREATE, json!({ "input": { "workspaceId": team.workspace, "name": "x" } }))
            .await;
        assert_code(&by_member, "FORBIDDEN");
        // Even a member given INTEGRATIONS FULL mints none: a workspace key
        // reaches as far as an admin.
        let members = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { members(first: 100) { nodes { id user { id } } } } }",
                json!({ "ws": team.workspace }))
            .await;
        let member_id = members["workspace"]["members"]["nodes"].as_array().unwrap().iter()
            .find(|m| m["user"]["id"] == team.member.id.as_str()).unwrap()["id"].clone();
        app.data(Some(&team.owner.token),
            "mutation($m: ID!) { setMemberAccess(input: {memberId: $m, areas: [{area: INTEGRATIONS, access: FULL}]}) { id } }",
            json!({ "m": member_id })).await;
        let widened = app
            .gql(Some(&team.member.token), CREATE, json!({ "input": { "workspaceId": team.workspace, "name": "x",
                "scopes": scopes(&[("INTEGRATIONS", "FULL")]) } }))
            .await;
        assert_code(&widened, "FORBIDDEN");
        // A key makes no workspaces.
        let (_, personal, _) = mint(&app, &team.owner, json!({ "name": "Mine" })).await;
        let made = app.gql(Some(&personal), "mutation { createWorkspace(input: {name: \"By key\"}) { id } }", json!({})).await;
        assert_code(&made, "FORBIDDEN");
    })
    .await;
}

#[tokio::test]
async fn a_personal_key_acts_as_its_owner_narrowed_and_loses_a_workspace_it_leaves() {
    each_backend(async |app| {
        let team = app.team().await;
        let (_, narrow, payload) = mint(
            &app,
            &team.member,
            json!({ "name": "Laptop", "scopes": scopes(&[("PROJECTS", "VIEW"), ("GENERAL", "VIEW")]) }),
        )
        .await;
        assert_eq!(payload["apiKey"]["workspace"], Value::Null);
        let me = app.data(Some(&narrow), "{ me { id } }", json!({})).await;
        assert_eq!(me["me"]["id"], team.member.id.as_str());
        // The member may create workrooms; the key, at VIEW, may not.
        assert_code(&app.gql(Some(&narrow), CREATE_ROOM, json!({ "ws": team.workspace })).await, "FORBIDDEN");
        let (_, wide, _) = mint(
            &app,
            &team.member,
            json!({ "name": "CI", "scopes": scopes(&[("PROJECTS", "FULL"), ("GENERAL", "VIEW")]) }),
        )
        .await;
        let made = app.data(Some(&wide), CREATE_ROOM, json!({ "ws": team.workspace })).await;
        assert_eq!(made["createWorkroom"]["createdBy"]["id"], team.member.id.as_str());
        // Never above the owner: a member's key at FULL still cannot manage members.
        let (_, all, _) = mint(
            &app,
            &team.member,
            json!({ "name": "All", "scopes": scopes(&[("MEMBERS", "FULL"), ("GENERAL", "FULL")]) }),
        )
        .await;
        let invite = app
            .gql(Some(&all), "mutation($ws: ID!) { inviteMembers(input: {workspaceId: $ws, emails: [\"x@example.com\"], role: VIEWER}) { results { outcome } } }",
                json!({ "ws": team.workspace }))
            .await;
        assert_code(&invite, "FORBIDDEN");

        // Removed from the workspace, the key loses it at the next request.
        let members = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { members(first: 100) { nodes { id user { id } } } } }",
                json!({ "ws": team.workspace }))
            .await;
        let member_id = members["workspace"]["members"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["user"]["id"] == team.member.id.as_str())
            .unwrap()["id"]
            .clone();
        app.data(Some(&team.owner.token), "mutation($m: ID!) { removeMember(memberId: $m) { id } }", json!({ "m": member_id })).await;
        assert_code(&app.gql(Some(&wide), WORKROOMS, json!({ "ws": team.workspace })).await, "NOT_FOUND");
        // Its own personal workspace it still reaches.
        let own = app.gql(Some(&wide), WORKROOMS, json!({ "ws": team.member.personal_workspace })).await;
        assert!(own["data"]["workspace"]["workrooms"].is_array(), "{own}");
    })
    .await;
}

const ROTATE: &str = "mutation($id: ID!, $h: Int) { rotateApiKey(id: $id, graceHours: $h) { secret apiKey { graceEndsAt } } }";

#[tokio::test]
async fn a_rotated_secret_works_until_its_grace_ends() {
    each_backend(async |app| {
        let team = app.team().await;
        let (id, first, _) = mint(
            &app,
            &team.owner,
            json!({ "workspaceId": team.workspace, "name": "Rotating" }),
        )
        .await;
        let rotated = app
            .data(
                Some(&team.owner.token),
                ROTATE,
                json!({ "id": id, "h": 24 }),
            )
            .await;
        let second = rotated["rotateApiKey"]["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(rotated["rotateApiKey"]["apiKey"]["graceEndsAt"].is_string());
        assert_ne!(first, second);
        for secret in [&first, &second] {
            let ok = app
                .gql(Some(secret), WORKROOMS, json!({ "ws": team.workspace }))
                .await;
            assert!(ok["data"]["workspace"].is_object(), "{ok}");
        }
        // Without grace the replaced secret stops at once.
        let rotated = app
            .data(Some(&team.owner.token), ROTATE, json!({ "id": id, "h": 0 }))
            .await;
        let third = rotated["rotateApiKey"]["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        for stale in [&first, &second] {
            assert_code(
                &app.gql(Some(stale), WORKROOMS, json!({ "ws": team.workspace }))
                    .await,
                "UNAUTHENTICATED",
            );
        }
        let ok = app
            .gql(Some(&third), WORKROOMS, json!({ "ws": team.workspace }))
            .await;
        assert!(ok["data"]["workspace"].is_object(), "{ok}");
        for bad in [-1, 169] {
            assert_code(
                &app.gql(
                    Some(&team.owner.token),
                    ROTATE,
                    json!({ "id": id, "h": bad }),
                )
                .await,
                "BAD_USER_INPUT",
            );
        }
        // Others' keys read as absent.
        assert_code(
            &app.gql(Some(&team.outsider.token), ROTATE, json!({ "id": id }))
                .await,
            "NOT_FOUND",
        );
        assert_code(
            &app.gql(Some(&team.viewer.token), ROTATE, json!({ "id": id }))
                .await,
            "NOT_FOUND",
        );
        assert_code(
            &app.gql(Some(&team.member.token), ROTATE, json!({ "id": id }))
                .await,
            "FORBIDDEN",
        );
    })
    .await;
}

#[tokio::test]
async fn revoking_a_key_refuses_its_next_request_and_ends_its_subscriptions() {
    each_backend(async |app| {
        let team = app.team().await;
        let (id, secret, _) = mint(
            &app,
            &team.owner,
            json!({ "workspaceId": team.workspace, "name": "Watcher" }),
        )
        .await;
        let mut ws = WsClient::connect(&app, TRANSPORT_WS, Some(&secret))
            .await
            .expect("accepted");
        ws.subscribe(
            "a",
            "subscription($ws: ID!) { activity(workspaceId: $ws) { action by { kind } } }",
            json!({ "ws": team.workspace }),
        )
        .await;
        // Live: an event reaches it.
        let mut seen = None;
        for attempt in 0..10 {
            app.create_workroom(&team.owner, &team.workspace, &format!("Room {attempt}"))
                .await;
            if let crate::ws_client::Got::Next(payload) = ws.next("a", Duration::from_secs(1)).await
            {
                seen = Some(payload);
                break;
            }
        }
        let seen = seen.expect("an event over the key's subscription");
        assert_eq!(seen["data"]["activity"]["by"]["kind"], "USER");

        let revoked = app
            .data(
                Some(&team.owner.token),
                "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
                json!({ "id": id }),
            )
            .await;
        assert!(revoked["revokeApiKey"]["revokedAt"].is_string());
        ws.ends_with("a", "UNAUTHENTICATED").await;
        assert_code(
            &app.gql(Some(&secret), WORKROOMS, json!({ "ws": team.workspace }))
                .await,
            "UNAUTHENTICATED",
        );
        // Revoked keys cannot be rotated; revoking again changes nothing.
        assert_code(
            &app.gql(Some(&team.owner.token), ROTATE, json!({ "id": id }))
                .await,
            "CONFLICT",
        );
        let again = app
            .data(
                Some(&team.owner.token),
                "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
                json!({ "id": id }),
            )
            .await;
        assert_eq!(again, revoked);
    })
    .await;
}

/// A WebSocket presenting an API key that does not act (unknown, or revoked)
/// is refused at `connection_init`, before any subscription.
#[tokio::test]
async fn a_socket_with_an_unknown_or_revoked_key_is_refused_at_init() {
    each_backend(async |app| {
        let team = app.team().await;
        let unknown =
            atrium::auth::key_secret::generate(atrium::auth::key_secret::Environment::Live, None)
                .secret;
        assert_eq!(
            WsClient::connect(&app, TRANSPORT_WS, Some(&unknown))
                .await
                .err(),
            Some(4403)
        );
        let (id, secret, _) = mint(
            &app,
            &team.owner,
            json!({ "workspaceId": team.workspace, "name": "Short-lived" }),
        )
        .await;
        assert!(
            WsClient::connect(&app, TRANSPORT_WS, Some(&secret))
                .await
                .is_ok()
        );
        app.data(
            Some(&team.owner.token),
            "mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }",
            json!({ "id": id }),
        )
        .await;
        assert_eq!(
            WsClient::connect(&app, TRANSPORT_WS, Some(&secret))
                .await
                .err(),
            Some(4403)
        );
    })
    .await;
}

#[tokio::test]
async fn usage_is_counted_per_day_and_last_use_is_recorded() {
    each_backend(async |app| {
        let team = app.team().await;
        let (id, secret, _) = mint(&app, &team.owner, json!({ "workspaceId": team.workspace, "name": "Busy" })).await;
        for _ in 0..3 {
            app.data(Some(&secret), WORKROOMS, json!({ "ws": team.workspace })).await;
        }
        let read = "query($ws: ID!, $d: Int) { workspace(id: $ws) { apiKeys { id lastUsedAt usage(days: $d) { day requests } } } }";
        let data = app.data(Some(&team.owner.token), read, json!({ "ws": team.workspace, "d": 3 })).await;
        let key = &data["workspace"]["apiKeys"][0];
        assert_eq!(key["id"], id.as_str());
        assert!(key["lastUsedAt"].is_string(), "{key}");
        let days = key["usage"].as_array().unwrap();
        assert_eq!(days.len(), 3);
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        assert_eq!(days[0], json!({ "day": today, "requests": 3 }));
        assert_eq!(days[1]["requests"], 0);
        assert!(days[0]["day"].as_str() > days[1]["day"].as_str());
        // Counted again after the rollup was written.
        app.data(Some(&secret), WORKROOMS, json!({ "ws": team.workspace })).await;
        let data = app.data(Some(&team.owner.token), read, json!({ "ws": team.workspace, "d": 1 })).await;
        assert_eq!(data["workspace"]["apiKeys"][0]["usage"], json!([{ "day": today, "requests": 4 }]));
        for bad in [0, 91] {
            let refused = app.gql(Some(&team.owner.token), read, json!({ "ws": team.workspace, "d": bad })).await;
            assert_code(&refused, "BAD_USER_INPUT");
        }
    })
    .await;
}

#[tokio::test]
async fn activity_records_who_acted_and_hides_the_key_from_those_who_may_not_see_keys() {
    each_backend(async |app| {
        let team = app.team().await;
        let (key_id, secret, _) = mint(
            &app,
            &team.owner,
            json!({ "workspaceId": team.workspace, "name": "Bot",
                    "scopes": scopes(&[("PROJECTS", "FULL"), ("GENERAL", "VIEW")]) }),
        )
        .await;
        app.data(Some(&secret), CREATE_ROOM, json!({ "ws": team.workspace })).await;
        let (_, personal, _) = mint(&app, &team.member, json!({ "name": "Member's", "scopes": scopes(&[("PROJECTS", "FULL")]) })).await;
        app.data(Some(&personal), CREATE_ROOM, json!({ "ws": team.workspace })).await;
        let feed = "query($ws: ID!) { workspace(id: $ws) { activity(first: 10) { nodes { action actor { id } by { kind name user { id } apiKey { id } } } } } }";
        let owner_view = app.data(Some(&team.owner.token), feed, json!({ "ws": team.workspace })).await;
        let nodes = owner_view["workspace"]["activity"]["nodes"].as_array().unwrap().clone();
        // Newest first: the personal key's room, the workspace key's room, the key's creation.
        assert_eq!(nodes[0]["action"], "workroom.created");
        assert_eq!(nodes[0]["by"]["kind"], "API_KEY");
        assert_eq!(nodes[0]["by"]["name"], "Member's");
        assert_eq!(nodes[0]["by"]["user"]["id"], team.member.id.as_str());
        assert_eq!(nodes[0]["actor"]["id"], team.member.id.as_str());
        assert_eq!(nodes[1]["by"], json!({ "kind": "API_KEY", "name": "Bot", "user": null, "apiKey": { "id": key_id } }));
        assert_eq!(nodes[1]["actor"], Value::Null);
        assert_eq!(nodes[2]["action"], "api_key.created");
        assert_eq!(nodes[2]["by"]["kind"], "USER");
        assert_eq!(nodes[2]["by"]["user"]["id"], team.owner.id.as_str());
        // A viewer (no INTEGRATIONS access) sees that a key acted, not which.
        let viewer_view = app.data(Some(&team.viewer.token), feed, json!({ "ws": team.workspace })).await;
        let nodes = viewer_view["workspace"]["activity"]["nodes"].as_array().unwrap().clone();
        let by_key = nodes.iter().find(|n| n["by"]["name"] == "Bot").unwrap();
        assert_eq!(by_key["by"]["apiKey"], Value::Null);
        assert!(nodes.iter().all(|n| n["action"] != "api_key.created"));
    })
    .await;
}

#[tokio::test]
async fn a_subscription_ends_when_its_key_expires() {
    each_backend(async |app| {
        let team = app.team().await;
        let soon = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
        let (_, secret, _) = mint(
            &app,
            &team.owner,
            json!({ "workspaceId": team.workspace, "name": "Brief", "expiresAt": soon }),
        )
        .await;
        let mut ws = WsClient::connect(&app, TRANSPORT_WS, Some(&secret))
            .await
            .expect("accepted");
        ws.subscribe(
            "e",
            "subscription($ws: ID!) { activity(workspaceId: $ws) { id } }",
            json!({ "ws": team.workspace }),
        )
        .await;
        let got = ws.next("e", Duration::from_secs(6)).await;
        assert_eq!(
            crate::ws_client::error_code(&got).as_deref(),
            Some("UNAUTHENTICATED"),
            "{got:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn a_workspace_key_watches_a_workroom_unlisted() {
    each_backend(async |app| {
        let team = app.team().await;
        let room = app.create_workroom(&team.owner, &team.workspace, "Watched").await;
        let room = room["data"]["createWorkroom"]["id"].as_str().unwrap().to_owned();
        let (_, secret, _) = mint(&app, &team.owner, json!({ "workspaceId": team.workspace, "name": "Watcher" })).await;
        let mut ws = WsClient::connect(&app, TRANSPORT_WS, Some(&secret)).await.expect("accepted");
        ws.subscribe("w", "subscription($wr: ID!) { workroomEvents(workroomId: $wr) { kind } }", json!({ "wr": room })).await;
        let mut seen = None;
        for attempt in 0..10 {
            app.data(Some(&team.owner.token), "mutation($wr: ID!, $d: String) { updateWorkroom(input: {id: $wr, description: $d}) { id } }",
                json!({ "wr": room, "d": format!("take {attempt}") })).await;
            if let crate::ws_client::Got::Next(payload) = ws.next("w", Duration::from_secs(1)).await {
                seen = Some(payload);
                break;
            }
        }
        assert_eq!(seen.expect("an event")["data"]["workroomEvents"]["kind"], "workroom.updated");
        let viewers = app
            .data(Some(&team.owner.token), "query($wr: ID!) { workroom(id: $wr) { viewers { id } } }", json!({ "wr": room }))
            .await;
        assert_eq!(viewers["workroom"]["viewers"], json!([]));
    })
    .await;
}
