//! Nothing crosses workspaces: ids of another tenant read as NOT_FOUND and
//! writes through them change nothing.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn another_workspaces_ids_are_not_found_and_untouched() {
    each_backend(async |app| {
        let alice = app.sign_up("Alice").await;
        let bob = app.sign_up("Bob").await;
        let b_ws = app.create_workspace(&bob, "Bob Space").await;
        let room = app.create_workroom(&bob, &b_ws, "Bob Room").await;
        let b_room = room["data"]["createWorkroom"]["id"].as_str().unwrap().to_owned();
        let snapshot_query = "query($ws: ID!) { workspace(id: $ws) { name slug plan description
            workrooms { id name description } activity(first: 100) { nodes { id } } } }";
        let before = app.data(Some(&bob.token), snapshot_query, json!({ "ws": b_ws })).await;
        let slug = before["workspace"]["slug"].as_str().unwrap().to_owned();

        let attempts = [
            ("query($ws: ID!) { workspace(id: $ws) { id } }", json!({ "ws": b_ws })),
            ("query($s: String!) { workspace(slug: $s) { id } }", json!({ "s": slug })),
            ("query($wr: ID!) { workroom(id: $wr) { id } }", json!({ "wr": b_room })),
            ("mutation($ws: ID!) { updateWorkspace(input: {id: $ws, name: \"Pwned\"}) { id } }", json!({ "ws": b_ws })),
            ("mutation($ws: ID!) { changePlan(workspaceId: $ws, plan: AGENCY) { id } }", json!({ "ws": b_ws })),
            ("mutation($ws: ID!) { createWorkroom(input: {workspaceId: $ws, name: \"Intruder\"}) { id } }", json!({ "ws": b_ws })),
            ("mutation($wr: ID!) { updateWorkroom(input: {id: $wr, name: \"Pwned\"}) { id } }", json!({ "wr": b_room })),
        ];
        for (query, vars) in attempts {
            let response = app.gql(Some(&alice.token), query, vars).await;
            assert_code(&response, "NOT_FOUND");
        }
        let after = app.data(Some(&bob.token), snapshot_query, json!({ "ws": b_ws })).await;
        assert_eq!(before, after);

        // Alice's own lists show nothing of Bob's.
        let mine = app
            .data(Some(&alice.token), "{ workspaces { id workrooms { id } } }", json!({}))
            .await;
        assert_eq!(mine["workspaces"].as_array().unwrap().len(), 1);
        assert_ne!(mine["workspaces"][0]["id"], b_ws.as_str());
    })
    .await;
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    each_backend(async |app| {
        let user = app.sign_up("Ivy").await;
        let query = "query($id: ID!) { workspace(id: $id) { id } }";
        for id in [
            "nope",
            "00000000-0000-0000-0000-000000000000",
            "'; DROP TABLE users; --",
        ] {
            assert_code(
                &app.gql(Some(&user.token), query, json!({ "id": id })).await,
                "NOT_FOUND",
            );
        }
        assert_code(
            &app.gql(Some(&user.token), query, json!({ "id": "x".repeat(65) }))
                .await,
            "BAD_USER_INPUT",
        );
        assert_code(
            &app.gql(
                Some(&user.token),
                "{ workroom(id: \"missing\") { id } }",
                json!({}),
            )
            .await,
            "NOT_FOUND",
        );
        assert_code(
            &app.gql(
                Some(&user.token),
                "{ workspace(slug: \"no-such-slug\") { id } }",
                json!({}),
            )
            .await,
            "NOT_FOUND",
        );
    })
    .await;
}
