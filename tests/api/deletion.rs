//! Soft deletion, restore within the grace period, and the purge.

use sea_orm::{ConnectionTrait, DbBackend, Statement};
use serde_json::json;

use crate::helpers::*;

const DELETE: &str = "mutation($ws: ID!, $name: String!) { deleteWorkspace(id: $ws, confirmName: $name) { deletedAt purgeAfter } }";

#[tokio::test]
async fn deleted_workspaces_leave_lists_refuse_writes_and_can_be_restored() {
    each_backend(async |app| {
        let team = app.team().await;
        assert_code(&app.gql(Some(&team.owner.token), DELETE, json!({ "ws": team.workspace, "name": "team space" })).await, "BAD_USER_INPUT");
        assert_code(&app.gql(Some(&team.admin.token), DELETE, json!({ "ws": team.workspace, "name": "Team Space" })).await, "FORBIDDEN");
        let deleted = app.data(Some(&team.owner.token), DELETE, json!({ "ws": team.workspace, "name": "Team Space" })).await;
        let deleted_at = chrono::DateTime::parse_from_rfc3339(deleted["deleteWorkspace"]["deletedAt"].as_str().unwrap()).unwrap();
        let purge_after = chrono::DateTime::parse_from_rfc3339(deleted["deleteWorkspace"]["purgeAfter"].as_str().unwrap()).unwrap();
        assert_eq!((purge_after - deleted_at).num_days(), 30);

        for user in [&team.owner, &team.admin] {
            let list = app.data(Some(&user.token), "{ workspaces { id } }", json!({})).await;
            assert!(!list["workspaces"].as_array().unwrap().iter().any(|w| w["id"] == team.workspace.as_str()));
        }
        // The owner still reads it; writes are refused; members are told it is gone.
        let read = app.data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { name deletedAt } }", json!({ "ws": team.workspace })).await;
        assert_eq!(read["workspace"]["name"], "Team Space");
        assert_code(&app.create_workroom(&team.owner, &team.workspace, "No").await, "WORKSPACE_DELETED");
        assert_code(&app.create_workroom(&team.member, &team.workspace, "No").await, "WORKSPACE_DELETED");
        assert_code(&app.gql(Some(&team.outsider.token), "query($ws: ID!) { workspace(id: $ws) { id } }", json!({ "ws": team.workspace })).await, "NOT_FOUND");
        assert_code(&app.gql(Some(&team.owner.token), DELETE, json!({ "ws": team.workspace, "name": "Team Space" })).await, "WORKSPACE_DELETED");

        let restored = app.data(Some(&team.owner.token), "mutation($ws: ID!) { restoreWorkspace(id: $ws) { deletedAt purgeAfter } }", json!({ "ws": team.workspace })).await;
        assert_eq!(restored["restoreWorkspace"], json!({ "deletedAt": null, "purgeAfter": null }));
        assert_eq!(code(&app.create_workroom(&team.member, &team.workspace, "Back").await), None);
        let events = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"workspace.deleted\", \"workspace.restored\"]}) { nodes { action } } } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(events["workspace"]["activity"]["nodes"], json!([{ "action": "workspace.restored" }, { "action": "workspace.deleted" }]));
    })
    .await;
}

async fn rows_of(app: &TestApp, table: &str, column: &str, id: &str) -> i64 {
    let backend = app.state.db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1"),
        _ => format!("SELECT COUNT(*) AS n FROM {table} WHERE {column} = ?"),
    };
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_sql_and_values(backend, sql, [id.into()]))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

#[tokio::test]
async fn purge_removes_everything_of_a_workspace_past_its_grace() {
    each_backend(async |app| {
        let team = app.team().await;
        let ws = team.workspace.clone();
        let room = app.create_workroom(&team.member, &ws, "Doomed").await["data"]["createWorkroom"]["id"].as_str().unwrap().to_owned();
        app.data(Some(&team.owner.token), "mutation($ws: ID!) { inviteMembers(input: {workspaceId: $ws, emails: [\"p@example.com\"]}) { results { outcome } } }", json!({ "ws": ws })).await;
        app.data(Some(&team.owner.token), "mutation($ws: ID!) { createRole(input: {workspaceId: $ws, name: \"Gone\"}) { id } }", json!({ "ws": ws })).await;
        app.data(Some(&team.owner.token), DELETE, json!({ "ws": ws, "name": "Team Space" })).await;

        // Within the grace period nothing is purged.
        assert_eq!(atrium::workspaces::service::purge_expired(&app.state.db, &app.state.storage).await.unwrap(), 0);
        let other = app.sign_up("Bystander").await;
        app.state.db.execute_unprepared("UPDATE workspaces SET purge_after = deleted_at WHERE deleted_at IS NOT NULL").await.unwrap();
        assert_eq!(atrium::workspaces::service::purge_expired(&app.state.db, &app.state.storage).await.unwrap(), 1);

        for (table, column) in [
            ("workspaces", "id"),
            ("members", "workspace_id"),
            ("workrooms", "workspace_id"),
            ("activity_events", "workspace_id"),
            ("invitations", "workspace_id"),
            ("custom_roles", "workspace_id"),
        ] {
            assert_eq!(rows_of(&app, table, column, &ws).await, 0, "{table}");
        }
        assert_eq!(rows_of(&app, "workrooms", "id", &room).await, 0);
        // Accounts and other workspaces stay.
        assert_eq!(rows_of(&app, "users", "id", &team.member.id).await, 1);
        assert_eq!(rows_of(&app, "workspaces", "id", &other.personal_workspace).await, 1);
        assert_code(&app.gql(Some(&team.owner.token), "mutation($ws: ID!) { restoreWorkspace(id: $ws) { id } }", json!({ "ws": ws })).await, "NOT_FOUND");
    })
    .await;
}

#[tokio::test]
async fn the_owner_still_reads_the_settings_of_a_deleted_workspace() {
    each_backend(async |app| {
        let team = app.team().await;
        app.data(
            Some(&team.owner.token),
            "mutation($ws: ID!) { setHiddenNavigation(workspaceId: $ws, role: VIEWER, keys: [\"analytics\"]) { id } }",
            json!({ "ws": team.workspace }),
        )
        .await;
        app.data(Some(&team.owner.token), DELETE, json!({ "ws": team.workspace, "name": "Team Space" })).await;
        let read = app
            .data(
                Some(&team.owner.token),
                "query($ws: ID!) { workspace(id: $ws) { hiddenNavigation { role keys } } }",
                json!({ "ws": team.workspace }),
            )
            .await;
        let viewer = read["workspace"]["hiddenNavigation"]
            .as_array()
            .unwrap()
            .iter()
            .find(|h| h["role"] == "VIEWER")
            .unwrap()
            .clone();
        assert_eq!(viewer["keys"], json!(["analytics"]));
        // Changing them is still refused.
        let write = app
            .gql(
                Some(&team.owner.token),
                "mutation($ws: ID!) { setHiddenNavigation(workspaceId: $ws, role: VIEWER, keys: []) { id } }",
                json!({ "ws": team.workspace }),
            )
            .await;
        assert_code(&write, "WORKSPACE_DELETED");
    })
    .await;
}
