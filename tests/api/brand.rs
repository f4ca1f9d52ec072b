//! The brand profile and memory: every member reads them, GENERAL FULL
//! edits them, each change is in the feed.

use serde_json::{Value, json};

use crate::helpers::*;

const READ: &str = "query($ws: ID!) { workspace(id: $ws) { brand { industry website colors voice audience goals mainOffer memory { id text createdBy { name } } } } }";
const UPDATE: &str = "mutation($ws: ID!, $input: BrandProfileInput!) { updateBrandProfile(workspaceId: $ws, input: $input) { industry website colors voice audience goals mainOffer } }";

#[tokio::test]
async fn admins_edit_the_brand_members_read_it_and_changes_are_recorded() {
    each_backend(async |app| {
        let team = app.team().await;
        let ws = json!(team.workspace);
        // Before anything is saved the profile is empty, not missing.
        let empty = app.data(Some(&team.viewer.token), READ, json!({ "ws": ws })).await;
        assert_eq!(
            empty["workspace"]["brand"],
            json!({ "industry": null, "website": null, "colors": [], "voice": [], "audience": null, "goals": null, "mainOffer": null, "memory": [] })
        );
        let input = json!({
            "industry": "Tea", "website": "https://tea.example", "colors": ["#A1B2C3", "#a1b2c3", "#000000"],
            "voice": ["warm", "plain"], "audience": "Tea lovers\nin cities", "goals": "Grow", "mainOffer": "Loose-leaf boxes",
        });
        let saved = app.data(Some(&team.admin.token), UPDATE, json!({ "ws": ws, "input": input })).await;
        assert_eq!(saved["updateBrandProfile"]["colors"], json!(["#a1b2c3", "#000000"]));
        // Absent fields stay; empty clears.
        let changed = app
            .data(Some(&team.owner.token), UPDATE, json!({ "ws": ws, "input": { "goals": "", "voice": ["bold"] } }))
            .await;
        assert_eq!(changed["updateBrandProfile"]["goals"], Value::Null);
        assert_eq!(changed["updateBrandProfile"]["industry"], "Tea");
        assert_eq!(changed["updateBrandProfile"]["voice"], json!(["bold"]));

        for bad in [
            json!({ "colors": ["red"] }),
            json!({ "colors": ["#12345"] }),
            json!({ "website": "javascript:alert(1)" }),
            json!({ "industry": "x".repeat(121) }),
            json!({ "voice": [""] }),
            json!({ "colors": vec!["#000000"; 13] }),
        ] {
            let refused = app.gql(Some(&team.admin.token), UPDATE, json!({ "ws": ws, "input": bad })).await;
            assert_code(&refused, "BAD_USER_INPUT");
        }
        for who in [&team.member, &team.viewer] {
            assert_code(&app.gql(Some(&who.token), UPDATE, json!({ "ws": ws, "input": { "industry": "Coffee" } })).await, "FORBIDDEN");
        }
        assert_code(&app.gql(Some(&team.outsider.token), UPDATE, json!({ "ws": ws, "input": { "industry": "Coffee" } })).await, "NOT_FOUND");

        // Brand memory: added, listed oldest first, removed.
        let add = "mutation($ws: ID!, $t: String!) { addBrandFact(workspaceId: $ws, text: $t) { id text } }";
        let first = app.data(Some(&team.admin.token), add, json!({ "ws": ws, "t": "Founded in 1999" })).await["addBrandFact"]["id"].clone();
        app.data(Some(&team.owner.token), add, json!({ "ws": ws, "t": "Never say \"cheap\"" })).await;
        assert_code(&app.gql(Some(&team.admin.token), add, json!({ "ws": ws, "t": "   " })).await, "BAD_USER_INPUT");
        let read = app.data(Some(&team.member.token), READ, json!({ "ws": ws })).await;
        let memory = read["workspace"]["brand"]["memory"].as_array().unwrap();
        assert_eq!(memory.len(), 2);
        assert_eq!(memory[0]["text"], "Founded in 1999");
        assert_eq!(memory[0]["createdBy"]["name"], "Admin");
        let remove = "mutation($id: ID!) { removeBrandFact(id: $id) { text } }";
        assert_code(&app.gql(Some(&team.member.token), remove, json!({ "id": first })).await, "FORBIDDEN");
        assert_eq!(app.data(Some(&team.admin.token), remove, json!({ "id": first })).await["removeBrandFact"]["text"], "Founded in 1999");
        assert_code(&app.gql(Some(&team.admin.token), remove, json!({ "id": first })).await, "NOT_FOUND");
        // Another workspace's fact is NOT_FOUND.
        let foreign = app
            .data(Some(&team.outsider.token), add, json!({ "ws": team.outsider.personal_workspace, "t": "Mine" }))
            .await["addBrandFact"]["id"]
            .clone();
        assert_code(&app.gql(Some(&team.owner.token), remove, json!({ "id": foreign })).await, "NOT_FOUND");

        let feed = app
            .data(
                Some(&team.viewer.token),
                "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"brand.updated\", \"brand.fact_added\", \"brand.fact_removed\"]}) { nodes { action changes } } } }",
                json!({ "ws": ws }),
            )
            .await;
        let nodes = feed["workspace"]["activity"]["nodes"].as_array().unwrap();
        let actions: Vec<&str> = nodes.iter().map(|n| n["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["brand.fact_removed", "brand.fact_added", "brand.fact_added", "brand.updated", "brand.updated"]);
        assert_eq!(nodes[3]["changes"]["voice"], json!({ "before": ["warm", "plain"], "after": ["bold"] }));
        assert_eq!(nodes[3]["changes"]["goals"], json!({ "before": "Grow", "after": null }));
        assert_eq!(nodes[4]["changes"]["industry"], json!({ "before": null, "after": "Tea" }));
    })
    .await;
}

/// The memory's cap holds when facts are added at once.
#[tokio::test]
async fn the_brand_memory_cap_holds_under_concurrent_additions() {
    each_backend(async |app| {
        let team = app.team().await;
        let add =
            "mutation($ws: ID!, $t: String!) { addBrandFact(workspaceId: $ws, text: $t) { id } }";
        let held = atrium::brand::service::FACTS_MAX - 3;
        for i in 0..held {
            app.data(
                Some(&team.owner.token),
                add,
                json!({ "ws": team.workspace, "t": format!("Fact {i}") }),
            )
            .await;
        }
        let attempts = (0..8).map(|i| {
            let token = if i % 2 == 0 {
                &team.owner.token
            } else {
                &team.admin.token
            };
            app.gql(
                Some(token),
                add,
                json!({ "ws": team.workspace, "t": format!("Raced {i}") }),
            )
        });
        let outcomes = futures_util::future::join_all(attempts).await;
        assert_eq!(
            outcomes.iter().filter(|o| code(o).is_none()).count(),
            3,
            "{outcomes:?}"
        );
        assert!(
            outcomes
                .iter()
                .filter(|o| code(o).is_some())
                .all(|o| code(o).as_deref() == Some("CONFLICT"))
        );
        let count = app
            .query_strings("SELECT CAST(COUNT(*) AS TEXT) FROM brand_facts")
            .await;
        assert_eq!(count, [atrium::brand::service::FACTS_MAX.to_string()]);
    })
    .await;
}
