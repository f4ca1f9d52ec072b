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
    for _ in 0..3 {
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
        for count in [2usize, 6] {
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
        assert_eq!(costs[0], costs[1], "statements for 2 and 6 workspaces: {costs:?}");
        assert!(costs[1] <= 5.0, "{costs:?}");
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
