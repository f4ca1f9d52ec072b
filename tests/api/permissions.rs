//! The role × operation matrix. Expectations are written out by hand from the
//! product rules in DESIGN.md, not read from the policy code.

use serde_json::{Value, json};

use crate::helpers::*;

const OK: &str = "ok";
const FORBIDDEN: &str = "FORBIDDEN";
const NOT_FOUND: &str = "NOT_FOUND";

/// One guarded operation: the capability it is guarded by (as named in the
/// schema's `@requires`), the operation, and the outcome for owner, admin,
/// member, viewer and a non-member.
struct Row {
    capability: &'static str,
    name: &'static str,
    query: &'static str,
    expected: [&'static str; 5],
}

fn rows() -> Vec<Row> {
    vec![
        Row {
            capability: "workspace.read",
            name: "read workspace",
            query: "query($ws: ID!) { workspace(id: $ws) { id name plan viewerMember { role } } }",
            expected: [OK, OK, OK, OK, NOT_FOUND],
        },
        Row {
            capability: "seats.read",
            name: "read seats",
            query: "query($ws: ID!) { workspace(id: $ws) { seats { used limit } } }",
            expected: [OK, OK, OK, OK, NOT_FOUND],
        },
        Row {
            capability: "members.read",
            name: "read members",
            query: "query($ws: ID!) { workspace(id: $ws) { members { totalCount } } }",
            expected: [OK, OK, OK, OK, NOT_FOUND],
        },
        Row {
            capability: "credits.read",
            name: "read credit balance",
            query: "query($ws: ID!) { workspace(id: $ws) { creditBalance } }",
            expected: [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        },
        Row {
            capability: "workrooms.read",
            name: "list workrooms",
            query: "query($ws: ID!) { workspace(id: $ws) { workrooms { id } } }",
            expected: [OK, OK, OK, OK, NOT_FOUND],
        },
        Row {
            capability: "workrooms.read",
            name: "read one workroom",
            query: "query($wr: ID!) { workroom(id: $wr) { id name workspace { id } } }",
            expected: [OK, OK, OK, OK, NOT_FOUND],
        },
        Row {
            capability: "activity.read",
            name: "read workspace activity",
            query: "query($ws: ID!) { workspace(id: $ws) { activity { nodes { action } } } }",
            expected: [OK, OK, OK, OK, NOT_FOUND],
        },
        Row {
            capability: "activity.read",
            name: "read workroom activity",
            query: "query($wr: ID!) { workroom(id: $wr) { activity { nodes { action } } } }",
            expected: [OK, OK, OK, OK, NOT_FOUND],
        },
        Row {
            capability: "workspace.update",
            name: "update workspace",
            query: "mutation($ws: ID!) { updateWorkspace(input: {id: $ws, description: \"x\"}) { id } }",
            expected: [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        },
        Row {
            capability: "workspace.change_plan",
            name: "change plan",
            query: "mutation($ws: ID!) { changePlan(workspaceId: $ws, plan: GROWTH) { plan } }",
            expected: [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        },
        Row {
            capability: "workroom.create",
            name: "create workroom",
            query: "mutation($ws: ID!) { createWorkroom(input: {workspaceId: $ws, name: \"New\"}) { id } }",
            expected: [OK, OK, OK, FORBIDDEN, NOT_FOUND],
        },
        Row {
            capability: "workroom.update",
            name: "update a workroom the owner made",
            query: "mutation($wr: ID!) { updateWorkroom(input: {id: $wr, description: \"y\"}) { id } }",
            expected: [OK, OK, FORBIDDEN, FORBIDDEN, NOT_FOUND],
        },
    ]
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

#[tokio::test]
async fn every_role_gets_exactly_the_expected_outcome() {
    each_backend(async |app| {
        let team = app.team().await;
        let workroom = app
            .create_workroom(&team.owner, &team.workspace, "Owner's room")
            .await;
        let workroom = workroom["data"]["createWorkroom"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let vars = json!({ "ws": team.workspace, "wr": workroom });

        let mut failures = Vec::new();
        for row in rows() {
            for ((who, user), expected) in team.callers().into_iter().zip(row.expected) {
                let response = app.gql(Some(&user.token), row.query, vars.clone()).await;
                let got = outcome(&response);
                if got != expected {
                    failures.push(format!(
                        "{} as {who}: expected {expected}, got {got}: {response}",
                        row.name
                    ));
                }
            }
            // Without a session every operation is UNAUTHENTICATED.
            let anonymous = app.gql(None, row.query, vars.clone()).await;
            if code(&anonymous).as_deref() != Some("UNAUTHENTICATED") {
                failures.push(format!("{} anonymously: {anonymous}", row.name));
            }
        }
        assert!(
            failures.is_empty(),
            "{:?}:\n{}",
            app.backend,
            failures.join("\n")
        );
    })
    .await;
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
