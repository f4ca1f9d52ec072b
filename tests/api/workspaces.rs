use entity::enums::Role;
use serde_json::json;

use crate::helpers::*;

const CREATE: &str = "mutation($input: CreateWorkspaceInput!) { createWorkspace(input: $input) {
    id slug name description website visibility plan seats { used pending limit } viewerMember { role } } }";

#[tokio::test]
async fn create_workspace_with_a_given_or_derived_slug() {
    each_backend(async |app| {
        let user = app.sign_up("Sam").await;
        let given = app
            .data(
                Some(&user.token),
                CREATE,
                json!({ "input": { "name": "Studio One", "slug": "studio-1", "description": "Films",
                    "website": "https://studio.example", "visibility": "PUBLIC" } }),
            )
            .await;
        let ws = &given["createWorkspace"];
        assert_eq!(ws["slug"], "studio-1");
        assert_eq!(ws["visibility"], "PUBLIC");
        assert_eq!(ws["website"], "https://studio.example");
        assert_eq!(ws["viewerMember"]["role"], "OWNER");
        assert_eq!(ws["seats"], json!({ "used": 1, "pending": 0, "limit": 1 }));

        let derived = app
            .data(
                Some(&user.token),
                CREATE,
                json!({ "input": { "name": "  Ünïcode & Friends!! " } }),
            )
            .await;
        assert_eq!(derived["createWorkspace"]["slug"], "unicode-friends");
        assert_eq!(derived["createWorkspace"]["name"], "Ünïcode & Friends!!");
        assert_eq!(derived["createWorkspace"]["visibility"], "PRIVATE");

        // The same name again gets a different free slug.
        let again = app
            .data(
                Some(&user.token),
                CREATE,
                json!({ "input": { "name": "Ünïcode & Friends!!" } }),
            )
            .await;
        let slug = again["createWorkspace"]["slug"].as_str().unwrap();
        assert_ne!(slug, "unicode-friends");
        assert!(slug.starts_with("unicode-friends-"), "{slug}");

        // A taken slug, given explicitly, is a conflict.
        let taken = app
            .gql(
                Some(&user.token),
                CREATE,
                json!({ "input": { "name": "X", "slug": "STUDIO-1" } }),
            )
            .await;
        assert_code(&taken, "CONFLICT");

        // Found by slug and by id.
        let by_slug = app
            .data(
                Some(&user.token),
                "{ workspace(slug: \"studio-1\") { id name } }",
                json!({}),
            )
            .await;
        assert_eq!(by_slug["workspace"]["id"], ws["id"]);
        let both = app
            .gql(Some(&user.token), "{ workspace { id } }", json!({}))
            .await;
        assert_code(&both, "BAD_USER_INPUT");

        let list = app
            .data(Some(&user.token), "{ workspaces { slug } }", json!({}))
            .await;
        assert_eq!(list["workspaces"].as_array().unwrap().len(), 4);
    })
    .await;
}

#[tokio::test]
async fn workspace_input_is_validated() {
    each_backend(async |app| {
        let user = app.sign_up("Val").await;
        for input in [
            json!({ "name": "Ok", "slug": "ab" }),
            json!({ "name": "Ok", "slug": "a".repeat(49) }),
            json!({ "name": "Ok", "slug": "two--hyphens" }),
            json!({ "name": "Ok", "slug": "-leading" }),
            json!({ "name": "Ok", "slug": "trailing-" }),
            json!({ "name": "Ok", "slug": "has space" }),
            json!({ "name": "Ok", "slug": "ünï" }),
            json!({ "name": "   " }),
            json!({ "name": "x".repeat(81) }),
            json!({ "name": "Ok", "website": "ftp://example.com" }),
            json!({ "name": "Ok", "description": "d".repeat(2001) }),
        ] {
            let response = app
                .gql(Some(&user.token), CREATE, json!({ "input": input }))
                .await;
            assert_code(&response, "BAD_USER_INPUT");
        }
        let ok = app
            .data(
                Some(&user.token),
                CREATE,
                json!({ "input": { "name": "Ok", "slug": "a".repeat(48) } }),
            )
            .await;
        assert_eq!(ok["createWorkspace"]["slug"], "a".repeat(48));
    })
    .await;
}

#[tokio::test]
async fn update_workspace_changes_only_what_is_given() {
    each_backend(async |app| {
        let user = app.sign_up("Una").await;
        let id = app.create_workspace(&user, "Before").await;
        let update = "mutation($input: UpdateWorkspaceInput!) { updateWorkspace(input: $input) {
            name description website visibility } }";
        let data = app
            .data(
                Some(&user.token),
                update,
                json!({ "input": { "id": id, "name": "After", "description": "About us" } }),
            )
            .await;
        assert_eq!(
            data["updateWorkspace"],
            json!({ "name": "After", "description": "About us", "website": null, "visibility": "PRIVATE" })
        );
        let cleared = app
            .data(Some(&user.token), update, json!({ "input": { "id": id, "description": "" } }))
            .await;
        assert_eq!(cleared["updateWorkspace"]["description"], json!(null));
        assert_eq!(cleared["updateWorkspace"]["name"], "After");
    })
    .await;
}

#[tokio::test]
async fn plans_set_seats_and_cannot_drop_below_seats_in_use() {
    each_backend(async |app| {
        let owner = app.sign_up("Petra").await;
        let ws = app.create_workspace(&owner, "Seats").await;
        let second = app.sign_up("Second").await;
        let third = app.sign_up("Third").await;

        // FREE_TRIAL holds the owner alone.
        let full =
            atrium::members::service::add_member(&app.state.db, &ws, &second.id, Role::Member)
                .await;
        assert!(matches!(
            full,
            Err(atrium::AppError::SeatLimitReached {
                used: 1,
                limit: Some(1),
                ..
            })
        ));

        assert_eq!(code(&app.change_plan(&owner, &ws, "STARTER").await), None);
        app.add_member(&ws, &second, Role::Member).await;
        let seats = app
            .data(
                Some(&owner.token),
                "query($id: ID!) { workspace(id: $id) { seats { used pending limit } } }",
                json!({ "id": ws }),
            )
            .await;
        assert_eq!(
            seats["workspace"]["seats"],
            json!({ "used": 2, "pending": 0, "limit": 2 })
        );
        let over =
            atrium::members::service::add_member(&app.state.db, &ws, &third.id, Role::Member).await;
        assert!(matches!(
            over,
            Err(atrium::AppError::SeatLimitReached { .. })
        ));

        // Two seats in use: SOLO (1) is refused with the numbers.
        let lower = app.change_plan(&owner, &ws, "SOLO").await;
        assert_code(&lower, "SEAT_LIMIT_REACHED");
        assert_eq!(lower["errors"][0]["extensions"]["used"], 2);
        assert_eq!(lower["errors"][0]["extensions"]["limit"], 1);

        for (plan, limit) in [
            ("PRO", json!(5)),
            ("GROWTH", json!(15)),
            ("AGENCY", json!(null)),
        ] {
            let changed = app.change_plan(&owner, &ws, plan).await;
            assert_eq!(code(&changed), None, "{changed}");
            let seats = app
                .data(
                    Some(&owner.token),
                    "query($id: ID!) { workspace(id: $id) { plan seats { limit } } }",
                    json!({ "id": ws }),
                )
                .await;
            assert_eq!(seats["workspace"]["plan"], plan);
            assert_eq!(seats["workspace"]["seats"]["limit"], limit);
        }
    })
    .await;
}

#[tokio::test]
async fn members_page_with_cursors() {
    each_backend(async |app| {
        let team = app.team().await;
        let query = "query($id: ID!, $first: Int, $after: String) { workspace(id: $id) {
            members(first: $first, after: $after) { totalCount nodes { id role status joinedAt user { email }
              access { area access } } pageInfo { hasNextPage endCursor } } } }";
        let page1 = app
            .data(Some(&team.viewer.token), query, json!({ "id": team.workspace, "first": 3 }))
            .await;
        let members = &page1["workspace"]["members"];
        assert_eq!(members["totalCount"], 4);
        assert_eq!(members["nodes"].as_array().unwrap().len(), 3);
        assert_eq!(members["pageInfo"]["hasNextPage"], true);
        let roles: Vec<&str> = members["nodes"].as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap()).collect();
        assert_eq!(roles, ["OWNER", "ADMIN", "MEMBER"]);
        assert_eq!(members["nodes"][0]["user"]["email"], team.owner.email.as_str());

        let page2 = app
            .data(
                Some(&team.viewer.token),
                query,
                json!({ "id": team.workspace, "first": 3, "after": members["pageInfo"]["endCursor"] }),
            )
            .await;
        let rest = &page2["workspace"]["members"];
        assert_eq!(rest["nodes"].as_array().unwrap().len(), 1);
        assert_eq!(rest["nodes"][0]["role"], "VIEWER");
        assert_eq!(rest["pageInfo"]["hasNextPage"], false);
        assert_eq!(
            rest["nodes"][0]["access"],
            json!([
                { "area": "GENERAL", "access": "VIEW" },
                { "area": "INTEGRATIONS", "access": "NONE" },
                { "area": "MEMBERS", "access": "VIEW" },
                { "area": "PROJECTS", "access": "VIEW" },
                { "area": "BILLING", "access": "NONE" },
            ])
        );

        for first in [101, -1] {
            let too_many = app
                .gql(Some(&team.owner.token), query, json!({ "id": team.workspace, "first": first }))
                .await;
            assert_code(&too_many, "BAD_USER_INPUT");
        }
    })
    .await;
}
