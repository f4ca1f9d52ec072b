//! Global lookups by id (`node`) and Relay-style pages (`edges`,
//! `pageInfo`), as Apollo's and Relay's caches use them.

use serde_json::json;

use crate::helpers::*;

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename id } }";

#[tokio::test]
async fn node_finds_what_the_caller_may_see_and_nothing_else() {
    each_backend(async |app| {
        let team = app.team().await;
        let room = app.create_workroom(&team.owner, &team.workspace, "Room").await;
        let room = room["data"]["createWorkroom"]["id"].as_str().unwrap().to_owned();
        let ids = app
            .data(
                Some(&team.owner.token),
                "query($ws: ID!) { workspace(id: $ws) { members(first: 1) { nodes { id } } activity(first: 1) { nodes { id } } } }",
                json!({ "ws": team.workspace }),
            )
            .await;
        let member = ids["workspace"]["members"]["nodes"][0]["id"].as_str().unwrap().to_owned();
        let event = ids["workspace"]["activity"]["nodes"][0]["id"].as_str().unwrap().to_owned();
        let invited = app
            .data(
                Some(&team.owner.token),
                "mutation($ws: ID!) { inviteMembers(input: {workspaceId: $ws, emails: [\"node@example.com\"]}) { results { invitation { id } } } }",
                json!({ "ws": team.workspace }),
            )
            .await;
        let invitation = invited["inviteMembers"]["results"][0]["invitation"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for (id, typename) in [
            (&team.workspace, "Workspace"),
            (&room, "Workroom"),
            (&member, "Member"),
            (&invitation, "Invitation"),
            (&event, "ActivityEvent"),
        ] {
            let found = app.data(Some(&team.owner.token), NODE, json!({ "id": id })).await;
            assert_eq!(found["node"]["__typename"], typename);
            assert_eq!(found["node"]["id"], id.as_str());
            // Another tenant, and nobody, see nothing, without an error.
            let hidden = app.data(Some(&team.outsider.token), NODE, json!({ "id": id })).await;
            assert!(hidden["node"].is_null(), "{typename} leaked: {hidden}");
            let anonymous = app.data(None, NODE, json!({ "id": id })).await;
            assert!(anonymous["node"].is_null());
        }
        let unknown = app
            .data(Some(&team.owner.token), NODE, json!({ "id": "00000000-0000-0000-0000-000000000000" }))
            .await;
        assert!(unknown["node"].is_null());
        // Fields of the concrete type through the interface.
        let named = app
            .data(
                Some(&team.member.token),
                "query($id: ID!) { node(id: $id) { ... on Workspace { name } } }",
                json!({ "id": team.workspace }),
            )
            .await;
        assert_eq!(named["node"]["name"], "Team Space");
    })
    .await;
}

#[tokio::test]
async fn pages_carry_relay_edges_and_page_info() {
    each_backend(async |app| {
        let team = app.team().await;
        let page = "query($ws: ID!, $after: String) { workspace(id: $ws) {
            members(first: 2, after: $after) {
              edges { cursor node { id } } nodes { id }
              pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } } }";
        let first = app
            .data(Some(&team.owner.token), page, json!({ "ws": team.workspace }))
            .await;
        let members = &first["workspace"]["members"];
        let edges = members["edges"].as_array().unwrap();
        assert_eq!(edges.len(), 2);
        assert_eq!(edges[0]["node"], members["nodes"][0]);
        assert_eq!(members["pageInfo"]["startCursor"], edges[0]["cursor"]);
        assert_eq!(members["pageInfo"]["endCursor"], edges[1]["cursor"]);
        assert_eq!(members["pageInfo"]["hasPreviousPage"], false);
        assert_eq!(members["pageInfo"]["hasNextPage"], true);
        let second = app
            .data(
                Some(&team.owner.token),
                page,
                json!({ "ws": team.workspace, "after": edges[1]["cursor"] }),
            )
            .await;
        let members = &second["workspace"]["members"];
        assert_eq!(members["pageInfo"]["hasPreviousPage"], true);
        assert_ne!(members["edges"][0]["node"]["id"], edges[0]["node"]["id"]);

        let activity = app
            .data(
                Some(&team.owner.token),
                "query($ws: ID!) { workspace(id: $ws) { activity(first: 1) { edges { cursor node { id cursor } } pageInfo { startCursor } } } }",
                json!({ "ws": team.workspace }),
            )
            .await;
        let edge = &activity["workspace"]["activity"]["edges"][0];
        assert_eq!(edge["cursor"], edge["node"]["cursor"]);
        assert_eq!(activity["workspace"]["activity"]["pageInfo"]["startCursor"], edge["cursor"]);
    })
    .await;
}

/// Agents, runs, tasks, exports and prompts are nodes too, each seen as
/// its own lookup sees it.
#[tokio::test]
async fn node_finds_work_and_library_objects() {
    each_backend(async |app| {
        let (team, room) = crate::runs::funded(&app, 1000).await;
        let owner = Some(team.owner.token.as_str());
        let agent = app
            .data(owner, "mutation($ws: ID!) { createAgent(input: {workspaceId: $ws, name: \"Aurora\", instructions: \"Polish.\"}) { id } }", json!({ "ws": team.workspace }))
            .await["createAgent"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let run = app
            .data(owner, "mutation($wr: ID!, $a: ID) { startRun(input: {workroomId: $wr, agentId: $a, input: \"hello\"}) { id } }", json!({ "wr": room, "a": agent }))
            .await["startRun"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        crate::runs::wait_for_status(&app, &team.owner.token, &run, &["SUCCEEDED"]).await;
        let task = app
            .data(owner, "mutation($wr: ID!) { createTask(input: {workroomId: $wr, title: \"Note\"}) { id } }", json!({ "wr": room }))
            .await["createTask"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let export = app
            .data(owner, "mutation($wr: ID!, $run: ID) { requestExport(input: {workroomId: $wr, runId: $run}) { id } }", json!({ "wr": room, "run": run }))
            .await["requestExport"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let prompt = app
            .data(owner, "mutation($ws: ID!) { createPrompt(input: {workspaceId: $ws, name: \"intro\", title: \"Intro\", body: \"Hi\"}) { id } }", json!({ "ws": team.workspace }))
            .await["createPrompt"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        for (id, typename) in [
            (&agent, "Agent"),
            (&run, "AgentRun"),
            (&task, "Task"),
            (&export, "Export"),
            (&prompt, "Prompt"),
        ] {
            let found = app.data(owner, NODE, json!({ "id": id })).await;
            assert_eq!(found["node"]["__typename"], typename);
            assert_eq!(found["node"]["id"], id.as_str());
            let hidden = app.data(Some(&team.outsider.token), NODE, json!({ "id": id })).await;
            assert!(hidden["node"].is_null(), "{typename} leaked: {hidden}");
        }
        // A viewer reads published prompts only: a prompt that is only a
        // draft is null for it, as `prompts` leaves it out.
        let draft = app.data(Some(&team.viewer.token), NODE, json!({ "id": prompt })).await;
        assert!(draft["node"].is_null(), "{draft}");
        let seen = app.data(Some(&team.viewer.token), NODE, json!({ "id": run })).await;
        assert_eq!(seen["node"]["__typename"], "AgentRun");
    })
    .await;
}
