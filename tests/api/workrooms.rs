use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn create_list_and_update_workrooms() {
    each_backend(async |app| {
        let team = app.team().await;
        let created = app
            .data(
                Some(&team.member.token),
                "mutation($ws: ID!) { createWorkroom(input: {workspaceId: $ws, name: \"  Launch  \", description: \"Q3\"}) {
                    id name description createdAt createdBy { id } workspace { id } } }",
                json!({ "ws": team.workspace }),
            )
            .await;
        let room = &created["createWorkroom"];
        assert_eq!(room["name"], "Launch");
        assert_eq!(room["description"], "Q3");
        assert_eq!(room["createdBy"]["id"], team.member.id.as_str());
        assert_eq!(room["workspace"]["id"], team.workspace.as_str());

        let listed = app
            .data(Some(&team.viewer.token), "query($ws: ID!) { workspace(id: $ws) { workrooms { id name } } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(listed["workspace"]["workrooms"], json!([{ "id": room["id"], "name": "Launch" }]));

        for input in [json!({ "name": "" }), json!({ "name": "n".repeat(121) }), json!({ "description": "d".repeat(2001) })] {
            let mut input = input;
            input["id"] = room["id"].clone();
            let refused = app
                .gql(Some(&team.member.token), "mutation($input: UpdateWorkroomInput!) { updateWorkroom(input: $input) { id } }", json!({ "input": input }))
                .await;
            assert_code(&refused, "BAD_USER_INPUT");
        }
        let cleared = app
            .data(
                Some(&team.member.token),
                "mutation($id: ID!) { updateWorkroom(input: {id: $id, description: \"\"}) { name description } }",
                json!({ "id": room["id"] }),
            )
            .await;
        assert_eq!(cleared["updateWorkroom"], json!({ "name": "Launch", "description": null }));
    })
    .await;
}
