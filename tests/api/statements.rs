//! What reads cost in SQL statements, counted by the server itself
//! (`/metrics`): fields that are not selected cost nothing.

use serde_json::json;

use crate::helpers::*;

/// Statements the server has run so far.
async fn statements(app: &TestApp) -> f64 {
    app.metrics()
        .await
        .lines()
        .filter(|l| l.starts_with("atrium_db_statement_duration_seconds_count"))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

/// The fewest statements one request took over a few tries (background
/// jobs may run statements meanwhile; they only add).
async fn cost(app: &TestApp, token: &str, query: &str, vars: serde_json::Value) -> f64 {
    let mut fewest = f64::MAX;
    for _ in 0..5 {
        let before = statements(app).await;
        let response = app.gql(Some(token), query, vars.clone()).await;
        assert_eq!(code(&response), None, "{response}");
        fewest = fewest.min(statements(app).await - before);
    }
    fewest
}

#[tokio::test]
async fn total_count_costs_a_statement_only_when_selected() {
    let app = TestApp::spawn(Backend::Sqlite, |_| {}).await;
    let team = app.team().await;
    let vars = json!({ "ws": team.workspace });
    let without = cost(
        &app,
        &team.owner.token,
        "query($ws: ID!) { workspace(id: $ws) { members(first: 10) { nodes { id } } } }",
        vars.clone(),
    )
    .await;
    let with = cost(
        &app,
        &team.owner.token,
        "query($ws: ID!) { workspace(id: $ws) { members(first: 10) { nodes { id } totalCount } } }",
        vars,
    )
    .await;
    assert_eq!(with - without, 1.0, "without: {without}, with: {with}");
}

/// `workspaces { members { … user } }` costs the same number of statements
/// for 2 workspaces as for 6, and gives what asking each workspace gives.
#[tokio::test]
async fn members_of_every_workspace_load_in_a_fixed_number_of_statements() {
    each_backend(async |app| {
        let user = app.sign_up("Many").await;
        let others = [app.sign_up("OtherA").await, app.sign_up("OtherB").await];
        let nested = "{ workspaces { id members(first: 20) { nodes { id role user { id name } } pageInfo { hasNextPage } } } }";
        let mut costs = Vec::new();
        for count in [2usize, 10] {
            while app.data(Some(&user.token), "{ workspaces { id } }", json!({})).await["workspaces"]
                .as_array()
                .unwrap()
                .len()
                < count
            {
                let ws = app.create_workspace(&user, &format!("W {}", uuid::Uuid::now_v7().simple())).await;
                app.change_plan(&user, &ws, "AGENCY").await;
                for other in &others {
                    app.add_member(&ws, other, entity::enums::Role::Member).await;
                }
            }
            costs.push(cost(&app, &user.token, nested, json!({})).await);
        }
        assert_eq!(costs[0], costs[1], "statements for 2 and 10 workspaces: {costs:?}");
        // Memberships with their workspaces; the first pages with their accounts.
        assert_eq!(costs[1], 2.0, "{costs:?}");
        // The same members as asking each workspace alone.
        let all = app.data(Some(&user.token), nested, json!({})).await;
        for workspace in all["workspaces"].as_array().unwrap() {
            let alone = app
                .data(
                    Some(&user.token),
                    "query($ws: ID!) { workspace(id: $ws) { members(first: 20) { nodes { id role user { id name } } pageInfo { hasNextPage } } } }",
                    json!({ "ws": workspace["id"] }),
                )
                .await;
            assert_eq!(alone["workspace"]["members"], workspace["members"]);
        }
        // A page size other than the one prefetched, or a cursor, is read as asked.
        let small = app.data(Some(&user.token), "{ workspaces { members(first: 1) { nodes { id } pageInfo { hasNextPage } } } }", json!({})).await;
        for workspace in small["workspaces"].as_array().unwrap() {
            assert_eq!(workspace["members"]["nodes"].as_array().unwrap().len(), 1);
        }
        let mixed = app
            .data(Some(&user.token), "{ workspaces { a: members(first: 1) { nodes { id } } b: members(first: 2) { nodes { id } } } }", json!({}))
            .await;
        for workspace in mixed["workspaces"].as_array().unwrap() {
            assert_eq!(workspace["a"]["nodes"].as_array().unwrap().len(), 1);
            assert!(workspace["b"]["nodes"].as_array().unwrap().len() <= 2);
        }
    })
    .await;
}

/// A point read of a workspace is one statement: the caller's membership
/// and the workspace together.
#[tokio::test]
async fn a_workspace_read_is_one_statement() {
    each_backend(async |app| {
        let team = app.team().await;
        let read = "query($ws: ID!) { workspace(id: $ws) { id name slug plan } }";
        for user in [&team.owner, &team.viewer] {
            let statements = cost(&app, &user.token, read, json!({ "ws": team.workspace })).await;
            assert_eq!(statements, 1.0);
        }
        // Outsiders learn nothing, at the same cost.
        let outsider = app
            .gql(
                Some(&team.outsider.token),
                read,
                json!({ "ws": team.workspace }),
            )
            .await;
        assert_code(&outsider, "NOT_FOUND");
    })
    .await;
}

/// The first page of the feed with each event's actor is read with the
/// caller's membership in one statement, whether 2 people acted or 10; a
/// later page is two (the membership, then the events with their actors).
#[tokio::test]
async fn a_feed_page_with_its_actors_is_read_with_the_membership() {
    each_backend(async |app| {
        let team = app.team().await;
        app.change_plan(&team.owner, &team.workspace, "AGENCY").await;
        let feed = "query($ws: ID!) { workspace(id: $ws) { activity(first: 20) { nodes { id action createdAt changes actor { id name } } pageInfo { endCursor } } } }";
        let later = "query($ws: ID!, $after: String) { workspace(id: $ws) { activity(first: 20, after: $after) { nodes { id actor { id name } } } } }";
        let mut costs = Vec::new();
        let mut actors = vec![team.owner.clone(), team.admin.clone()];
        for people in [2usize, 10] {
            while actors.len() < people {
                let person = app.sign_up(&format!("Actor{}", actors.len())).await;
                app.add_member(&team.workspace, &person, entity::enums::Role::Member).await;
                actors.push(person);
            }
            for (n, person) in actors.iter().enumerate() {
                let made = app.create_workroom(person, &team.workspace, &format!("Room {people} {n}")).await;
                assert_eq!(code(&made), None, "{made}");
            }
            let page = app.data(Some(&team.owner.token), feed, json!({ "ws": team.workspace })).await;
            let named: std::collections::HashSet<&str> = page["workspace"]["activity"]["nodes"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(|e| e["actor"]["name"].as_str())
                .collect();
            assert!(named.len() >= people, "{people} actors named: {named:?}");
            costs.push(cost(&app, &team.owner.token, feed, json!({ "ws": team.workspace })).await);
            let after = page["workspace"]["activity"]["pageInfo"]["endCursor"].clone();
            costs.push(cost(&app, &team.owner.token, later, json!({ "ws": team.workspace, "after": after })).await);
        }
        assert_eq!(costs, [1.0, 2.0, 1.0, 2.0]);
    })
    .await;
}

/// The first page read with the membership is the page the reader's
/// audience selects: when an event the reader may not see is among the
/// newest, it is read again under the audience (two statements) and the
/// hidden event leaves no trace; once every newest event is visible, one
/// statement gives the same page as the audience's own.
#[tokio::test]
async fn a_first_page_read_with_the_membership_shows_only_the_audience() {
    each_backend(async |app| {
        let team = app.team().await;
        let made = app.create_workroom(&team.owner, &team.workspace, "Before").await;
        assert_eq!(code(&made), None, "{made}");
        // A billing event, which a VIEWER may not see, is the newest.
        let changed = app.change_plan(&team.owner, &team.workspace, "AGENCY").await;
        assert_eq!(code(&changed), None, "{changed}");
        let first = "query($ws: ID!) { workspace(id: $ws) { activity(first: 3) { nodes { id action } pageInfo { hasNextPage endCursor } } } }";
        let scoped = "query($ws: ID!) { workspace(id: $ws) { activity(first: 3, filter: {}) { nodes { id action } pageInfo { hasNextPage endCursor } } } }";
        let vars = json!({ "ws": team.workspace });
        let viewer = &team.viewer.token;
        let page = app.data(Some(viewer), first, vars.clone()).await;
        let own = app.data(Some(viewer), scoped, vars.clone()).await;
        assert_eq!(page, own);
        let actions: Vec<&str> = page["workspace"]["activity"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["action"].as_str().unwrap())
            .collect();
        assert_eq!(actions.len(), 3, "{page}");
        assert!(!actions.iter().any(|a| a.starts_with("billing.") || a.contains("plan")), "{actions:?}");
        assert_eq!(actions[0], "workroom.created", "{actions:?}");
        assert_eq!(cost(&app, viewer, first, vars.clone()).await, 2.0);
        // The owner sees the billing event on the page read with the membership.
        let owners = app.data(Some(&team.owner.token), first, vars.clone()).await;
        assert_ne!(owners["workspace"]["activity"]["nodes"][0]["action"], "workroom.created", "{owners}");
        for n in 0..4 {
            let made = app.create_workroom(&team.owner, &team.workspace, &format!("After {n}")).await;
            assert_eq!(code(&made), None, "{made}");
        }
        let page = app.data(Some(viewer), first, vars.clone()).await;
        assert_eq!(page, app.data(Some(viewer), scoped, vars.clone()).await);
        assert_eq!(page["workspace"]["activity"]["pageInfo"]["hasNextPage"], true);
        assert_eq!(cost(&app, viewer, first, vars.clone()).await, 1.0);
        // A stranger learns nothing.
        let stranger = app.sign_up("Stranger").await;
        let refused = app.gql(Some(&stranger.token), first, vars.clone()).await;
        assert_eq!(code(&refused).as_deref(), Some("NOT_FOUND"), "{refused}");
    })
    .await;
}

/// The caller's workspaces with the custom roles they hold cost the same for
/// 2 workspaces as for 10: memberships with workspaces, then their roles.
#[tokio::test]
async fn custom_roles_of_listed_workspaces_load_in_one_statement() {
    each_backend(async |app| {
        let owner = app.sign_up("RoleOwner").await;
        let holder = app.sign_up("RoleHolder").await;
        let list = "{ workspaces { id name } }";
        let mut costs = Vec::new();
        let mut held = 0;
        for count in [2usize, 10] {
            while held < count {
                let ws = app.create_workspace(&owner, &format!("R {}", uuid::Uuid::now_v7().simple())).await;
                app.change_plan(&owner, &ws, "AGENCY").await;
                app.add_member(&ws, &holder, entity::enums::Role::Member).await;
                let role = app
                    .data(
                        Some(&owner.token),
                        "mutation($ws: ID!) { createRole(input: {workspaceId: $ws, name: \"Editor\"}) { id } }",
                        json!({ "ws": ws }),
                    )
                    .await["createRole"]["id"]
                    .clone();
                let member = app
                    .data(
                        Some(&owner.token),
                        "query($ws: ID!) { workspace(id: $ws) { members(first: 20) { nodes { id user { id } } } } }",
                        json!({ "ws": ws }),
                    )
                    .await["workspace"]["members"]["nodes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|m| m["user"]["id"] == holder.id)
                    .unwrap()["id"]
                    .clone();
                let assigned = app
                    .gql(
                        Some(&owner.token),
                        "mutation($m: ID!, $r: ID!) { assignRole(memberId: $m, roleId: $r) { id } }",
                        json!({ "m": member, "r": role }),
                    )
                    .await;
                assert_eq!(code(&assigned), None, "{assigned}");
                held += 1;
            }
            costs.push(cost(&app, &holder.token, list, json!({})).await);
        }
        assert_eq!(costs[0], costs[1], "statements for 2 and 10 workspaces: {costs:?}");
        assert!(costs[1] <= 2.0, "{costs:?}");
    })
    .await;
}

/// The models read by position list their entities' columns in declared
/// order, which is the order the statements select them in.
#[test]
fn models_read_by_position_follow_their_columns() {
    use sea_orm::{IdenStatic, Iterable};
    fn names<C: Iterable + IdenStatic>() -> Vec<&'static str> {
        C::iter().map(|c| c.as_str()).collect()
    }
    assert_eq!(
        entity::activity_event::Model::FIELDS,
        names::<entity::activity_event::Column>()
    );
    assert_eq!(
        entity::member::Model::FIELDS,
        names::<entity::member::Column>()
    );
    assert_eq!(
        entity::workspace::Model::FIELDS,
        names::<entity::workspace::Column>()
    );
}

/// The first page read with the membership admits only whom a workspace
/// read admits: a banned member is refused, as is everyone but the owner
/// once the workspace is deleted.
#[tokio::test]
async fn a_first_page_read_with_the_membership_refuses_whom_the_workspace_refuses() {
    each_backend(async |app| {
        let team = app.team().await;
        let feed = "query($ws: ID!) { workspace(id: $ws) { activity(first: 5) { nodes { id } } } }";
        let vars = json!({ "ws": team.workspace });
        let member = crate::invitations::member_id_of(&app, &team, &team.member).await;
        let banned = app
            .gql(Some(&team.admin.token), "mutation($m: ID!) { banMember(memberId: $m) { status } }", json!({ "m": member }))
            .await;
        assert_eq!(code(&banned), None, "{banned}");
        let refused = app.gql(Some(&team.member.token), feed, vars.clone()).await;
        assert_eq!(code(&refused).as_deref(), Some("FORBIDDEN"), "{refused}");
        assert!(refused["data"]["workspace"].is_null(), "{refused}");
        let deleted = app
            .gql(
                Some(&team.owner.token),
                "mutation($id: ID!, $name: String!) { deleteWorkspace(id: $id, confirmName: $name) { deletedAt } }",
                json!({ "id": team.workspace, "name": "Team Space" }),
            )
            .await;
        assert_eq!(code(&deleted), None, "{deleted}");
        let refused = app.gql(Some(&team.admin.token), feed, vars.clone()).await;
        assert_eq!(code(&refused).as_deref(), Some("WORKSPACE_DELETED"), "{refused}");
        let owners = app.data(Some(&team.owner.token), feed, vars.clone()).await;
        assert!(owners["workspace"]["activity"]["nodes"].is_array(), "{owners}");
    })
    .await;
}
