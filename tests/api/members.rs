//! The member lifecycle: roles, removal, bans, leaving, ownership.

use futures_util::future::join_all;
use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
use serde_json::{Value, json};

use crate::helpers::*;
use crate::invitations::member_id_of;

const ROLE: &str =
    "mutation($m: ID!, $r: Role!) { changeMemberRole(memberId: $m, role: $r) { role } }";
const WORKSPACE: &str = "query($ws: ID!) { workspace(id: $ws) { id seats { used } } }";

async fn change_role(app: &TestApp, by: &TestUser, member: &str, role: &str) -> Value {
    app.gql(Some(&by.token), ROLE, json!({ "m": member, "r": role }))
        .await
}

#[tokio::test]
async fn role_changes_follow_the_rules() {
    each_backend(async |app| {
        let team = app.team().await;
        let owner = member_id_of(&app, &team, &team.owner).await;
        let admin = member_id_of(&app, &team, &team.admin).await;
        let member = member_id_of(&app, &team, &team.member).await;
        let viewer = member_id_of(&app, &team, &team.viewer).await;

        assert_code(&change_role(&app, &team.admin, &member, "OWNER").await, "BAD_USER_INPUT");
        assert_code(&change_role(&app, &team.admin, &owner, "MEMBER").await, "FORBIDDEN");
        assert_code(&change_role(&app, &team.owner, &owner, "ADMIN").await, "FORBIDDEN");
        assert_code(&change_role(&app, &team.admin, &admin, "MEMBER").await, "FORBIDDEN");
        assert_code(&change_role(&app, &team.member, &viewer, "MEMBER").await, "FORBIDDEN");

        let promoted = change_role(&app, &team.admin, &member, "ADMIN").await;
        assert_eq!(promoted["data"]["changeMemberRole"]["role"], "ADMIN");
        // A member holding MEMBERS FULL still cannot grant above MEMBER.
        app.data(
            Some(&team.owner.token),
            "mutation($m: ID!) { setMemberAccess(input: {memberId: $m, areas: [{area: MEMBERS, access: FULL}]}) { id } }",
            json!({ "m": member }),
        )
        .await;
        change_role(&app, &team.owner, &member, "MEMBER").await;
        assert_code(&change_role(&app, &team.member, &viewer, "ADMIN").await, "FORBIDDEN");
        assert_eq!(code(&change_role(&app, &team.member, &viewer, "MEMBER").await), None);

        let events = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"member.role_changed\"]}) { nodes { targetId changes } } } }", json!({ "ws": team.workspace }))
            .await;
        let nodes = events["workspace"]["activity"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[2]["changes"], json!({ "role": { "before": "MEMBER", "after": "ADMIN" } }));
        assert_eq!(nodes[2]["targetId"], member.as_str());
    })
    .await;
}

#[tokio::test]
async fn removal_is_immediate_and_keeps_what_they_wrote() {
    each_backend(async |app| {
        let team = app.team().await;
        let room = app.create_workroom(&team.member, &team.workspace, "Theirs").await;
        let room = room["data"]["createWorkroom"]["id"].as_str().unwrap().to_owned();
        let member = member_id_of(&app, &team, &team.member).await;
        let owner = member_id_of(&app, &team, &team.owner).await;
        let admin = member_id_of(&app, &team, &team.admin).await;
        let remove = "mutation($m: ID!) { removeMember(memberId: $m) { user { email } } }";

        assert_code(&app.gql(Some(&team.admin.token), remove, json!({ "m": owner })).await, "FORBIDDEN");
        assert_code(&app.gql(Some(&team.admin.token), remove, json!({ "m": admin })).await, "BAD_USER_INPUT");
        assert_code(&app.gql(Some(&team.viewer.token), remove, json!({ "m": member })).await, "FORBIDDEN");
        let removed = app.data(Some(&team.admin.token), remove, json!({ "m": member })).await;
        assert_eq!(removed["removeMember"]["user"]["email"], team.member.email.as_str());

        // The very next request with the same token finds nothing.
        let gone = app.gql(Some(&team.member.token), WORKSPACE, json!({ "ws": team.workspace })).await;
        assert_code(&gone, "NOT_FOUND");
        let room_after = app
            .data(Some(&team.owner.token), "query($id: ID!) { workroom(id: $id) { name createdBy { id } } }", json!({ "id": room }))
            .await;
        assert_eq!(room_after["workroom"]["createdBy"]["id"], team.member.id.as_str());
        let trail = app
            .data(Some(&team.owner.token), "query($ws: ID!, $a: ID!) { workspace(id: $ws) { seats { used } activity(filter: {actorId: $a}) { nodes { action } } } }", json!({ "ws": team.workspace, "a": team.member.id }))
            .await;
        assert_eq!(trail["workspace"]["seats"]["used"], 3);
        let actions: Vec<&str> = trail["workspace"]["activity"]["nodes"].as_array().unwrap().iter().map(|n| n["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["workroom.created", "member.joined"]);
    })
    .await;
}

#[tokio::test]
async fn banned_members_cannot_act_hold_no_seat_and_come_back_when_unbanned() {
    each_backend(async |app| {
        let team = app.team().await;
        let member = member_id_of(&app, &team, &team.member).await;
        let ban = "mutation($m: ID!) { banMember(memberId: $m) { status } }";
        let unban = "mutation($m: ID!) { unbanMember(memberId: $m) { status } }";
        assert_eq!(
            app.data(Some(&team.admin.token), ban, json!({ "m": member }))
                .await["banMember"]["status"],
            "BANNED"
        );
        let refused = app
            .create_workroom(&team.member, &team.workspace, "No")
            .await;
        assert_code(&refused, "FORBIDDEN");
        assert_code(
            &app.gql(
                Some(&team.member.token),
                WORKSPACE,
                json!({ "ws": team.workspace }),
            )
            .await,
            "FORBIDDEN",
        );
        let listed = app
            .data(Some(&team.member.token), "{ workspaces { id } }", json!({}))
            .await;
        assert_eq!(
            listed["workspaces"].as_array().unwrap().len(),
            1,
            "only the personal one"
        );
        let seats = app
            .data(
                Some(&team.owner.token),
                WORKSPACE,
                json!({ "ws": team.workspace }),
            )
            .await;
        assert_eq!(seats["workspace"]["seats"]["used"], 3);

        // The freed seat is taken; unbanning then needs a seat.
        let filler = app.sign_up("Filler").await;
        app.add_member(&team.workspace, &filler, entity::enums::Role::Member)
            .await;
        let second = app.sign_up("Second").await;
        app.add_member(&team.workspace, &second, entity::enums::Role::Viewer)
            .await;
        assert_code(
            &app.gql(Some(&team.admin.token), unban, json!({ "m": member }))
                .await,
            "SEAT_LIMIT_REACHED",
        );
        app.change_plan(&team.owner, &team.workspace, "GROWTH")
            .await;
        assert_eq!(
            app.data(Some(&team.admin.token), unban, json!({ "m": member }))
                .await["unbanMember"]["status"],
            "ACTIVE"
        );
        assert_eq!(
            code(
                &app.create_workroom(&team.member, &team.workspace, "Back")
                    .await
            ),
            None
        );
    })
    .await;
}

#[tokio::test]
async fn anyone_but_the_owner_may_leave() {
    each_backend(async |app| {
        let team = app.team().await;
        let leave = "mutation($ws: ID!) { leaveWorkspace(workspaceId: $ws) }";
        assert_code(&app.gql(Some(&team.owner.token), leave, json!({ "ws": team.workspace })).await, "FORBIDDEN");
        assert_eq!(app.data(Some(&team.viewer.token), leave, json!({ "ws": team.workspace })).await["leaveWorkspace"], true);
        assert_code(&app.gql(Some(&team.viewer.token), WORKSPACE, json!({ "ws": team.workspace })).await, "NOT_FOUND");
        let left = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"member.left\"]}) { nodes { actor { id } } } } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(left["workspace"]["activity"]["nodes"][0]["actor"]["id"], team.viewer.id.as_str());
    })
    .await;
}

async fn owners(app: &TestApp, ws: &str) -> u64 {
    entity::member::Entity::find()
        .filter(entity::member::Column::WorkspaceId.eq(ws))
        .filter(entity::member::Column::Role.eq(entity::enums::Role::Owner))
        .count(&app.state.db)
        .await
        .unwrap()
}

#[tokio::test]
async fn ownership_moves_whole() {
    each_backend(async |app| {
        let team = app.team().await;
        let member = member_id_of(&app, &team, &team.member).await;
        let transfer = "mutation($ws: ID!, $m: ID!) { transferOwnership(workspaceId: $ws, toMemberId: $m) { viewerMember { role } } }";
        assert_code(&app.gql(Some(&team.admin.token), transfer, json!({ "ws": team.workspace, "m": member })).await, "FORBIDDEN");
        let done = app.data(Some(&team.owner.token), transfer, json!({ "ws": team.workspace, "m": member })).await;
        assert_eq!(done["transferOwnership"]["viewerMember"]["role"], "ADMIN");
        assert_eq!(owners(&app, &team.workspace).await, 1);
        let new_owner = app.data(Some(&team.member.token), "query($ws: ID!) { workspace(id: $ws) { viewerMember { role } } }", json!({ "ws": team.workspace })).await;
        assert_eq!(new_owner["workspace"]["viewerMember"]["role"], "OWNER");
        // The old owner, now an admin, cannot take it back.
        let old = member_id_of(&app, &team, &team.owner).await;
        assert_code(&app.gql(Some(&team.owner.token), transfer, json!({ "ws": team.workspace, "m": old })).await, "FORBIDDEN");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_transfers_leave_exactly_one_owner() {
    each_backend(async |app| {
        let team = app.team().await;
        let targets = [
            member_id_of(&app, &team, &team.admin).await,
            member_id_of(&app, &team, &team.member).await,
            member_id_of(&app, &team, &team.viewer).await,
        ];
        let transfer = "mutation($ws: ID!, $m: ID!) { transferOwnership(workspaceId: $ws, toMemberId: $m) { id } }";
        let attempts = (0..12).map(|i| {
            app.gql(Some(&team.owner.token), transfer, json!({ "ws": team.workspace, "m": targets[i % 3] }))
        });
        let results = join_all(attempts).await;
        assert_eq!(results.iter().filter(|r| code(r).is_none()).count(), 1, "{results:?}");
        for lost in results.iter().filter(|r| code(r).is_some()) {
            assert_code(lost, "FORBIDDEN");
        }
        assert_eq!(owners(&app, &team.workspace).await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_members_cursor_that_is_no_cursor_is_bad_input() {
    each_backend(async |app| {
        let team = app.team().await;
        let page = "query($ws: ID!, $after: String) { workspace(id: $ws) { members(first: 2, after: $after) { nodes { id } pageInfo { endCursor hasNextPage } } } }";
        for after in ["abc", "", "' OR 1=1 --"] {
            let response = app
                .gql(Some(&team.owner.token), page, json!({ "ws": team.workspace, "after": after }))
                .await;
            assert_code(&response, "BAD_USER_INPUT");
        }
        let first = app
            .data(Some(&team.owner.token), page, json!({ "ws": team.workspace }))
            .await;
        let cursor = first["workspace"]["members"]["pageInfo"]["endCursor"].clone();
        let second = app
            .data(Some(&team.owner.token), page, json!({ "ws": team.workspace, "after": cursor }))
            .await;
        assert_eq!(second["workspace"]["members"]["nodes"].as_array().unwrap().len(), 2);
    })
    .await;
}
