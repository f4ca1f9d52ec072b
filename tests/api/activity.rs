use std::collections::HashSet;

use sea_orm::ConnectionTrait;
use serde_json::{Value, json};

use crate::helpers::*;

const ACTIVITY: &str = "query($ws: ID!, $first: Int, $after: String, $filter: ActivityFilter) {
    workspace(id: $ws) { activity(first: $first, after: $after, filter: $filter) {
      nodes { id cursor action actor { id } targetType targetId workroomId changes createdAt }
      pageInfo { hasNextPage endCursor } } } }";

fn nodes(data: &Value) -> Vec<Value> {
    data["workspace"]["activity"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test]
async fn every_change_is_recorded_with_before_and_after() {
    each_backend(async |app| {
        let team = app.team().await;
        let room = app.create_workroom(&team.member, &team.workspace, "Draft").await;
        let room = room["data"]["createWorkroom"]["id"].as_str().unwrap().to_owned();
        app.data(
            Some(&team.member.token),
            "mutation($id: ID!) { updateWorkroom(input: {id: $id, name: \"Final\"}) { id } }",
            json!({ "id": room }),
        )
        .await;
        app.data(
            Some(&team.admin.token),
            "mutation($id: ID!) { updateWorkspace(input: {id: $id, name: \"Team Space\", website: \"https://t.example\"}) { id } }",
            json!({ "id": team.workspace }),
        )
        .await;

        let data = app.data(Some(&team.owner.token), ACTIVITY, json!({ "ws": team.workspace })).await;
        let events = nodes(&data);
        let actions: Vec<&str> = events.iter().map(|e| e["action"].as_str().unwrap()).collect();
        assert_eq!(
            actions,
            [
                "workspace.updated",
                "workroom.updated",
                "workroom.created",
                "member.joined",
                "member.joined",
                "member.joined",
                "workspace.plan_changed",
                "workspace.created",
            ]
        );
        // The unchanged name is not reported; the website is.
        assert_eq!(
            events[0]["changes"],
            json!({ "website": { "before": null, "after": "https://t.example" } })
        );
        assert_eq!(events[0]["actor"]["id"], team.admin.id.as_str());
        assert_eq!(events[1]["changes"], json!({ "name": { "before": "Draft", "after": "Final" } }));
        assert_eq!(events[1]["workroomId"], room.as_str());
        assert_eq!(events[1]["targetType"], "workroom");
        assert_eq!(events[6]["changes"], json!({ "plan": { "before": "FREE_TRIAL", "after": "PRO" } }));
        assert_eq!(events[3]["changes"]["role"]["after"], "VIEWER");

        // A change that changes nothing writes no event.
        app.data(
            Some(&team.admin.token),
            "mutation($id: ID!) { updateWorkspace(input: {id: $id, name: \"Team Space\"}) { id } }",
            json!({ "id": team.workspace }),
        )
        .await;
        let again = app.data(Some(&team.owner.token), ACTIVITY, json!({ "ws": team.workspace })).await;
        assert_eq!(nodes(&again).len(), events.len());
    })
    .await;
}

#[tokio::test]
async fn readers_see_only_the_areas_they_may_see() {
    each_backend(async |app| {
        let team = app.team().await;
        let owner_view = app
            .data(
                Some(&team.owner.token),
                ACTIVITY,
                json!({ "ws": team.workspace }),
            )
            .await;
        let viewer_view = app
            .data(
                Some(&team.viewer.token),
                ACTIVITY,
                json!({ "ws": team.workspace }),
            )
            .await;
        let has_plan = |events: &[Value]| {
            events
                .iter()
                .any(|e| e["action"] == "workspace.plan_changed")
        };
        assert!(has_plan(&nodes(&owner_view)));
        // Viewers have no BILLING access: the plan change is absent, not an error.
        assert!(!has_plan(&nodes(&viewer_view)));
        assert_eq!(nodes(&viewer_view).len(), nodes(&owner_view).len() - 1);
    })
    .await;
}

#[tokio::test]
async fn filters_narrow_the_feed() {
    each_backend(async |app| {
        let team = app.team().await;
        let a = app.create_workroom(&team.owner, &team.workspace, "A").await;
        let a = a["data"]["createWorkroom"]["id"].as_str().unwrap().to_owned();
        app.create_workroom(&team.member, &team.workspace, "B").await;
        let by_action = app
            .data(Some(&team.owner.token), ACTIVITY, json!({ "ws": team.workspace, "filter": { "actions": ["workroom.created"] } }))
            .await;
        assert_eq!(nodes(&by_action).len(), 2);
        let by_actor = app
            .data(Some(&team.owner.token), ACTIVITY, json!({ "ws": team.workspace, "filter": { "actions": ["workroom.created"], "actorId": team.member.id } }))
            .await;
        assert_eq!(nodes(&by_actor).len(), 1);
        let by_room = app
            .data(Some(&team.owner.token), ACTIVITY, json!({ "ws": team.workspace, "filter": { "workroomId": a } }))
            .await;
        assert_eq!(nodes(&by_room).len(), 1);
        assert_eq!(nodes(&by_room)[0]["targetId"], a.as_str());
        let room_feed = app
            .data(Some(&team.viewer.token), "query($id: ID!) { workroom(id: $id) { activity { nodes { action workroomId } } } }", json!({ "id": a }))
            .await;
        assert_eq!(room_feed["workroom"]["activity"]["nodes"], json!([{ "action": "workroom.created", "workroomId": a }]));

        let too_many: Vec<String> = (0..51).map(|i| format!("a.{i}")).collect();
        let refused = app
            .gql(Some(&team.owner.token), ACTIVITY, json!({ "ws": team.workspace, "filter": { "actions": too_many } }))
            .await;
        assert_code(&refused, "BAD_USER_INPUT");
        let bad_cursor = app
            .gql(Some(&team.owner.token), ACTIVITY, json!({ "ws": team.workspace, "after": "not-a-cursor" }))
            .await;
        assert_code(&bad_cursor, "BAD_USER_INPUT");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_returns_every_event_once_while_new_ones_arrive() {
    each_backend(async |app| {
        let owner = app.sign_up("Pager").await;
        let ws = owner.personal_workspace.clone();
        for i in 0..24 {
            app.create_workroom(&owner, &ws, &format!("room {i}")).await;
        }
        let initial = app
            .data(
                Some(&owner.token),
                ACTIVITY,
                json!({ "ws": ws, "first": 100 }),
            )
            .await;
        let expected: HashSet<String> = nodes(&initial)
            .iter()
            .map(|e| e["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(expected.len(), 25);

        // Page through 7 at a time while more workrooms are created.
        let writer = async {
            for i in 0..10 {
                app.create_workroom(&owner, &ws, &format!("late {i}")).await;
            }
        };
        let reader = async {
            let mut seen = Vec::new();
            let mut after: Option<String> = None;
            loop {
                let page = app
                    .data(
                        Some(&owner.token),
                        ACTIVITY,
                        json!({ "ws": ws, "first": 7, "after": after }),
                    )
                    .await;
                seen.extend(
                    nodes(&page)
                        .iter()
                        .map(|e| e["id"].as_str().unwrap().to_owned()),
                );
                let info = &page["workspace"]["activity"]["pageInfo"];
                if info["hasNextPage"] != true {
                    break;
                }
                after = info["endCursor"].as_str().map(str::to_owned);
            }
            seen
        };
        let ((), seen) = tokio::join!(writer, reader);
        let unique: HashSet<String> = seen.iter().cloned().collect();
        assert_eq!(unique.len(), seen.len(), "no event twice");
        assert!(
            expected.is_subset(&unique),
            "every event that existed is read"
        );
    })
    .await;
}

/// Makes the activity insert for `workroom.updated` fail inside the database,
/// after the workroom row itself was already updated in the transaction.
async fn break_workroom_updated_events(app: &TestApp) {
    let db = &app.state.db;
    match app.backend {
        Backend::Sqlite => {
            db.execute_unprepared(
                "CREATE TRIGGER fail_event BEFORE INSERT ON activity_events
                 WHEN NEW.action = 'workroom.updated'
                 BEGIN SELECT RAISE(ABORT, 'injected failure'); END",
            )
            .await
            .unwrap();
        }
        Backend::Postgres(_) => {
            db.execute_unprepared(
                "CREATE FUNCTION fail_event() RETURNS trigger AS $$
                 BEGIN
                   IF NEW.action = 'workroom.updated' THEN RAISE EXCEPTION 'injected failure'; END IF;
                   RETURN NEW;
                 END $$ LANGUAGE plpgsql",
            )
            .await
            .unwrap();
            db.execute_unprepared(
                "CREATE TRIGGER fail_event BEFORE INSERT ON activity_events
                 FOR EACH ROW EXECUTE FUNCTION fail_event()",
            )
            .await
            .unwrap();
        }
    }
}

#[tokio::test]
async fn a_change_that_fails_half_way_leaves_neither_change_nor_event() {
    each_backend(async |app| {
        let owner = app.sign_up("Atom").await;
        let ws = owner.personal_workspace.clone();
        let room = app.create_workroom(&owner, &ws, "Original").await;
        let room = room["data"]["createWorkroom"]["id"].as_str().unwrap().to_owned();
        break_workroom_updated_events(&app).await;

        let failed = app
            .gql(
                Some(&owner.token),
                "mutation($id: ID!) { updateWorkroom(input: {id: $id, name: \"Changed\"}) { name } }",
                json!({ "id": room }),
            )
            .await;
        assert_code(&failed, "INTERNAL");
        let message = failed["errors"][0]["message"].as_str().unwrap();
        assert!(!message.contains("injected") && !message.contains("activity_events"), "no internals leak: {message}");

        let after = app
            .data(
                Some(&owner.token),
                "query($id: ID!) { workroom(id: $id) { name activity { nodes { action } } } }",
                json!({ "id": room }),
            )
            .await;
        assert_eq!(after["workroom"]["name"], "Original");
        assert_eq!(after["workroom"]["activity"]["nodes"], json!([{ "action": "workroom.created" }]));
    })
    .await;
}
