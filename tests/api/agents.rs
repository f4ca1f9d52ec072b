//! Custom agents: versions on every change of what they are told, and
//! activity that says what changed.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn changes_of_instructions_or_style_make_versions_and_say_what_changed() {
    each_backend(async |app| {
        let team = app.team().await;
        let token = Some(team.member.token.as_str());
        let created = app
            .data(
                token,
                "mutation($ws: ID!) { createAgent(input: {workspaceId: $ws, name: \"Aurora\", description: \"Copy\", instructions: \"Be warm.\", styleMemory: {tone: \"warm\"}}) { id version createdBy { name } } }",
                json!({ "ws": team.workspace }),
            )
            .await["createAgent"]
            .clone();
        assert_eq!(created["version"], 1);
        assert_eq!(created["createdBy"]["name"], "Member");
        let id = created["id"].clone();
        let update = "mutation($id: ID!, $name: String, $i: String, $s: JSON) { updateAgent(input: {id: $id, name: $name, instructions: $i, styleMemory: $s}) { name version instructions styleMemory } }";
        let renamed = app.data(token, update, json!({ "id": id, "name": "Aurora II" })).await;
        assert_eq!(renamed["updateAgent"]["version"], 1, "a rename makes no version");
        let restyled = app.data(token, update, json!({ "id": id, "s": { "tone": "crisp" } })).await;
        assert_eq!(restyled["updateAgent"]["version"], 2);
        let reworded = app.data(token, update, json!({ "id": id, "i": "Be crisp." })).await;
        assert_eq!(reworded["updateAgent"]["version"], 3);
        let same = app.data(token, update, json!({ "id": id, "i": "Be crisp." })).await;
        assert_eq!(same["updateAgent"]["version"], 3, "no change, no version");

        let read = app
            .data(
                Some(&team.viewer.token),
                "query($ws: ID!) { workspace(id: $ws) { agents { name versions { version instructions styleMemory } } } }",
                json!({ "ws": team.workspace }),
            )
            .await;
        let versions = &read["workspace"]["agents"][0]["versions"];
        assert_eq!(versions[0]["version"], 3);
        assert_eq!(versions[1]["styleMemory"], json!({ "tone": "crisp" }));
        assert_eq!(versions[2]["instructions"], "Be warm.");

        // "Why did Aurora's Style Memory change?"
        let feed = app
            .data(
                Some(&team.owner.token),
                "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"agent.updated\"]}) { nodes { changes actor { name } } } } }",
                json!({ "ws": team.workspace }),
            )
            .await;
        let nodes = feed["workspace"]["activity"]["nodes"].as_array().unwrap();
        assert_eq!(nodes.len(), 3);
        assert_eq!(nodes[1]["changes"]["styleMemory"], json!({ "before": { "tone": "warm" }, "after": { "tone": "crisp" } }));
        assert_eq!(nodes[1]["changes"]["version"], json!({ "before": 1, "after": 2 }));
        assert_eq!(nodes[1]["actor"]["name"], "Member");

        // Hostile input is refused with the field named.
        for (vars, field) in [
            (json!({ "id": id, "i": "" }), "instructions"),
            (json!({ "id": id, "name": "x".repeat(121) }), "name"),
            (json!({ "id": id, "s": { "big": "x".repeat(70_000) } }), "styleMemory"),
        ] {
            let response = app.gql(token, update, vars).await;
            assert_code(&response, "BAD_USER_INPUT");
            assert_eq!(response["errors"][0]["extensions"]["field"], field);
        }
        // Archived agents are left out of lists and change no more.
        app.data(token, "mutation($id: ID!) { archiveAgent(id: $id) { id } }", json!({ "id": id })).await;
        let listed = app.data(token, "query($ws: ID!) { workspace(id: $ws) { agents { id } } }", json!({ "ws": team.workspace })).await;
        assert_eq!(listed["workspace"]["agents"], json!([]));
        assert_code(&app.gql(token, update, json!({ "id": id, "i": "x" })).await, "CONFLICT");
        // Another workspace's agent is not there at all.
        let other = app.team().await;
        assert_code(&app.gql(Some(&other.owner.token), update, json!({ "id": id, "i": "x" })).await, "NOT_FOUND");
    })
    .await;
}
