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
