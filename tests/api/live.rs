//! Subscriptions end to end over a real WebSocket.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::future::join_all;
use sea_orm::ConnectionTrait;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::helpers::*;
use crate::invitations::member_id_of;
use crate::ws_client::*;

const ACTIVITY: &str =
    "subscription($ws: ID!, $after: String) { activity(workspaceId: $ws, after: $after) {
    id cursor action actor { id name } targetType targetId workroomId changes createdAt } }";
const ROOM: &str = "subscription($wr: ID!) { workroomEvents(workroomId: $wr) { kind workroomId actor { id name } data at } }";

async fn workroom(app: &TestApp, user: &TestUser, ws: &str, name: &str) -> String {
    let created = app.create_workroom(user, ws, name).await;
    created["data"]["createWorkroom"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"))
        .to_owned()
}

/// Every activity event id of a workspace after a cursor, oldest first.
async fn events_after(app: &TestApp, user: &TestUser, ws: &str, after: i64) -> Vec<(i64, String)> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = app
            .data(Some(&user.token), "query($ws: ID!, $after: String) { workspace(id: $ws) { activity(first: 100, after: $after) {
                nodes { id cursor } pageInfo { hasNextPage endCursor } } } }", json!({ "ws": ws, "after": cursor }))
            .await;
        let connection = &page["workspace"]["activity"];
        for node in connection["nodes"].as_array().unwrap() {
            let seq: i64 = node["cursor"].as_str().unwrap().parse().unwrap();
            if seq > after {
                all.push((seq, node["id"].as_str().unwrap().to_owned()));
            }
        }
        if connection["pageInfo"]["hasNextPage"] != true {
            break;
        }
        cursor = connection["pageInfo"]["endCursor"]
            .as_str()
            .map(str::to_owned);
    }
    all.reverse();
    all
}

/// The newest cursor of a workspace's feed: subscribing after it receives
/// everything that happens next, however long the subscription takes to start.
async fn latest_cursor(app: &TestApp, user: &TestUser, ws: &str) -> String {
    let page = app
        .data(
            Some(&user.token),
            "query($ws: ID!) { workspace(id: $ws) { activity(first: 1) { nodes { cursor } } } }",
            json!({ "ws": ws }),
        )
        .await;
    page["workspace"]["activity"]["nodes"][0]["cursor"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn activity_is_delivered_live() {
    each_backend(async |app| {
        let team = app.team().await;
        let mut ws = WsClient::connect(&app, TRANSPORT_WS, Some(&team.viewer.token))
            .await
            .unwrap();
        ws.subscribe("a", ACTIVITY, json!({ "ws": team.workspace }))
            .await;
        // Live only: a change made before the subscription is registered is
        // not delivered, so change until one arrives.
        let (room, event) = loop {
            let room = workroom(&app, &team.member, &team.workspace, "Live").await;
            if let Got::Next(payload) = ws.next("a", Duration::from_secs(2)).await {
                break (room, payload["data"].clone());
            }
        };
        assert_eq!(event["activity"]["action"], "workroom.created");
        assert_eq!(event["activity"]["actor"]["name"], "Member");
        assert_eq!(event["activity"]["workroomId"], room.as_str());
        assert_eq!(event["activity"]["changes"]["name"]["after"], "Live");
        ws.stop("a").await;
        assert_eq!(ws.next("a", Duration::from_secs(5)).await, Got::Complete);
    })
    .await;
}

#[tokio::test]
async fn the_legacy_protocol_works_too() {
    each_backend(async |app| {
        let team = app.team().await;
        let mut ws = WsClient::connect(&app, LEGACY_WS, Some(&team.owner.token))
            .await
            .unwrap();
        let after = latest_cursor(&app, &team.owner, &team.workspace).await;
        ws.subscribe(
            "1",
            ACTIVITY,
            json!({ "ws": team.workspace, "after": after }),
        )
        .await;
        workroom(&app, &team.owner, &team.workspace, "Old school").await;
        let event = ws.event("1").await;
        assert_eq!(event["activity"]["action"], "workroom.created");
    })
    .await;
}

#[tokio::test]
async fn unauthenticated_connections_stream_nothing() {
    each_backend(async |app| {
        let team = app.team().await;
        // A bad token is refused at initialisation.
        assert_eq!(
            WsClient::connect(&app, TRANSPORT_WS, Some("not-a-token"))
                .await
                .err(),
            Some(4403)
        );
        // Without a token the operation is refused.
        let mut anonymous = WsClient::connect(&app, TRANSPORT_WS, None).await.unwrap();
        anonymous
            .subscribe("a", ACTIVITY, json!({ "ws": team.workspace }))
            .await;
        let got = anonymous.next("a", Duration::from_secs(5)).await;
        assert_eq!(
            error_code(&got).as_deref(),
            Some("UNAUTHENTICATED"),
            "{got:?}"
        );
        // A subscription before initialisation closes the connection: 4401.
        let mut rude = WsClient::open(app.addr, TRANSPORT_WS).await;
        rude.subscribe("a", ACTIVITY, json!({ "ws": team.workspace }))
            .await;
        assert_eq!(
            rude.next("a", Duration::from_secs(5)).await,
            Got::Closed(4401)
        );
        // Outsiders get NOT_FOUND.
        let mut outsider = WsClient::subscribed(
            &app,
            &team.outsider.token,
            "a",
            ACTIVITY,
            json!({ "ws": team.workspace }),
        )
        .await;
        assert_eq!(
            error_code(&outsider.next("a", Duration::from_secs(5)).await).as_deref(),
            Some("NOT_FOUND")
        );
    })
    .await;
}

#[tokio::test]
async fn connection_limits() {
    each_backend_with(
        |config| config.ws_init_timeout = Duration::from_millis(300),
        async |app| {
            let team = app.team().await;
            let mut silent = WsClient::open(app.addr, TRANSPORT_WS).await;
            assert_eq!(
                silent.next("x", Duration::from_secs(5)).await,
                Got::Closed(4408)
            );

            let mut big = WsClient::connect(&app, TRANSPORT_WS, Some(&team.owner.token))
                .await
                .unwrap();
            big.send_raw(format!(
                "{{\"type\":\"ping\",\"payload\":\"{}\"}}",
                "x".repeat(70 << 10)
            ))
            .await;
            assert!(matches!(
                big.next("x", Duration::from_secs(5)).await,
                Got::Closed(_)
            ));

            let mut greedy = WsClient::connect(&app, TRANSPORT_WS, Some(&team.owner.token))
                .await
                .unwrap();
            // Completing ids that were never opened frees nothing.
            for i in 0..101 {
                greedy
                    .subscribe(&format!("s{i}"), ACTIVITY, json!({ "ws": team.workspace }))
                    .await;
                greedy.stop(&format!("bogus{i}")).await;
            }
            assert_eq!(
                greedy.next("none", Duration::from_secs(5)).await,
                Got::Closed(4429)
            );
        },
    )
    .await;
}

/// One value from `/metrics`.
async fn metric(app: &TestApp, name: &str) -> u64 {
    let text = app.metrics().await;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name} ")))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{name} in {text}"))
}

#[tokio::test]
async fn a_client_that_stops_reading_is_disconnected() {
    each_backend_with(
        |config| config.ws_send_timeout = Duration::from_millis(300),
        async |app| {
            let owner = app.sign_up("Stalled").await;
            let ws = owner.personal_workspace.clone();
            let cursor = latest_cursor(&app, &owner, &ws).await;
            for i in 0..20 {
                workroom(&app, &owner, &ws, &format!("Room {i}")).await;
            }
            // Wide payloads, replayed on many subscriptions: far more than
            // the socket buffers hold while the client reads nothing.
            let fields: String = (0..200).map(|i| format!(" c{i}: changes")).collect();
            let query = format!(
                "subscription($ws: ID!, $after: String) {{ activity(workspaceId: $ws, after: $after) {{{fields} }} }}"
            );
            let mut stalled = WsClient::connect(&app, TRANSPORT_WS, Some(&owner.token))
                .await
                .unwrap();
            for i in 0..50 {
                stalled
                    .subscribe(&format!("s{i}"), &query, json!({ "ws": ws, "after": cursor }))
                    .await;
            }
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while metric(&app, "atrium_websocket_connections").await > 0 {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "the stalled connection stays open"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(metric(&app, "atrium_activity_subscribers").await, 0);
            // What was already in flight arrives, then the connection ends
            // before all of it was delivered.
            let mut results = 0;
            let ended = loop {
                match stalled.recv(Duration::from_secs(5)).await {
                    Some(Ok(message)) if message["type"] == "next" => results += 1,
                    Some(Ok(message)) => panic!("{message}"),
                    Some(Err(code)) => break code,
                    None => panic!("the connection neither ends nor sends"),
                }
            };
            assert!(results < 50 * 20, "{results} results before it ended");
            assert_ne!(ended, 1000, "not a normal closure");
        },
    )
    .await;
}

#[tokio::test]
async fn protocol_errors_close_with_their_codes() {
    each_backend(async |app| {
        let team = app.team().await;
        let mut ws = WsClient::connect(&app, TRANSPORT_WS, Some(&team.owner.token))
            .await
            .unwrap();
        ws.send(json!({ "type": "ping" })).await;
        let pong = ws.recv(Duration::from_secs(5)).await;
        assert_eq!(pong, Some(Ok(json!({ "type": "pong" }))));
        // A second initialisation is refused.
        ws.send(json!({ "type": "connection_init", "payload": {} }))
            .await;
        assert_eq!(
            ws.next("x", Duration::from_secs(5)).await,
            Got::Closed(4429)
        );

        // An operation that does not validate is answered with a code.
        ws_invalid(&app, &team).await;

        // Two subscriptions may not share an id (however long: the close
        // frame's reason is cut to fit).
        let vars = json!({ "ws": team.workspace });
        let long = "same".repeat(100);
        let mut twice =
            WsClient::subscribed(&app, &team.owner.token, &long, ACTIVITY, vars.clone()).await;
        twice.subscribe(&long, ACTIVITY, vars.clone()).await;
        assert_eq!(
            twice.next("x", Duration::from_secs(5)).await,
            Got::Closed(4409)
        );

        // Something that is not a protocol message.
        let mut garbled = WsClient::connect(&app, TRANSPORT_WS, Some(&team.owner.token))
            .await
            .unwrap();
        garbled
            .send_raw("{\"type\": \"subscribe\"".to_owned())
            .await;
        assert_eq!(
            garbled.next("x", Duration::from_secs(5)).await,
            Got::Closed(4400)
        );

        // The legacy protocol replaces a subscription whose id is reused.
        let mut legacy = WsClient::connect(&app, LEGACY_WS, Some(&team.owner.token))
            .await
            .unwrap();
        legacy
            .subscribe("same", ACTIVITY, json!({ "ws": team.workspace }))
            .await;
        legacy
            .subscribe("same", ACTIVITY, json!({ "ws": team.workspace }))
            .await;
        let got = loop {
            workroom(&app, &team.owner, &team.workspace, "Once").await;
            if let Got::Next(payload) = legacy.next("same", Duration::from_secs(2)).await {
                break payload;
            }
        };
        assert_eq!(got["data"]["activity"]["action"], "workroom.created");
        assert_eq!(
            legacy.next("same", Duration::from_millis(500)).await,
            Got::Silence
        );
    })
    .await;
}

#[tokio::test]
async fn the_handshake_agrees_on_the_protocol_the_connection_speaks() {
    each_backend(async |app| {
        // The client's first choice wins, and is the one spoken: a bad token
        // closes graphql-transport-ws with 4403, and is a `connection_error`
        // message in the legacy protocol.
        for (offered, agreed) in [
            ("graphql-ws, graphql-transport-ws", "graphql-ws"),
            ("graphql-transport-ws, graphql-ws", "graphql-transport-ws"),
            ("chat, graphql-ws", "graphql-ws"),
        ] {
            let mut client = WsClient::open(app.addr, offered).await;
            assert_eq!(client.agreed.as_deref(), Some(agreed), "{offered}");
            client
                .send(json!({ "type": "connection_init", "payload": { "authorization": "Bearer nope" } }))
                .await;
            let got = client.recv(Duration::from_secs(5)).await;
            if agreed == "graphql-ws" {
                let Some(Ok(message)) = got else { panic!("{got:?}") };
                assert_eq!(message["type"], "connection_error", "{offered}");
            } else {
                assert_eq!(got, Some(Err(4403)), "{offered}");
            }
        }
        // Names compare exactly; with nothing to agree on there is no upgrade.
        let mut request = format!("ws://{}/graphql/ws", app.addr)
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert("Sec-WebSocket-Protocol", "GraphQL-WS".parse().unwrap());
        match tokio_tungstenite::connect_async(request).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 400);
            }
            other => panic!("{:?}", other.map(|_| ())),
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workroom_stream_cancelled_while_starting_still_leaves() {
    each_backend(async |app| {
        let team = app.team().await;
        let room = workroom(&app, &team.owner, &team.workspace, "Busy").await;
        let mut watcher =
            WsClient::subscribed(&app, &team.owner.token, "w", ROOM, json!({ "wr": room })).await;
        assert_eq!(
            watcher.event("w").await["workroomEvents"]["kind"],
            "presence.joined"
        );
        // Subscriptions completed at every point of their start.
        let mut fickle = WsClient::connect(&app, TRANSPORT_WS, Some(&team.member.token))
            .await
            .unwrap();
        for i in 0..60u64 {
            let id = format!("f{i}");
            fickle.subscribe(&id, ROOM, json!({ "wr": room })).await;
            // Finer than a timer: the server runs on the other thread.
            let until = std::time::Instant::now() + Duration::from_micros(i * 50);
            while std::time::Instant::now() < until {
                std::hint::spin_loop();
            }
            fickle.stop(&id).await;
        }
        // Every join the watcher was told of is followed by a leave.
        let (mut joined, mut left) = (0, 0);
        loop {
            match watcher.next("w", Duration::from_secs(2)).await {
                Got::Next(payload) => {
                    let event = &payload["data"]["workroomEvents"];
                    assert_eq!(event["actor"]["id"], team.member.id.as_str(), "{payload}");
                    match event["kind"].as_str() {
                        Some("presence.joined") => joined += 1,
                        Some("presence.left") => left += 1,
                        _ => panic!("{payload}"),
                    }
                }
                Got::Silence => break,
                other => panic!("{other:?}"),
            }
        }
        assert!(joined > 0, "some subscriptions got as far as joining");
        assert_eq!(joined, left);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        loop {
            let viewers = app
                .data(
                    Some(&team.owner.token),
                    "query($id: ID!) { workroom(id: $id) { viewers { id } } }",
                    json!({ "id": room }),
                )
                .await;
            if viewers["workroom"]["viewers"] == json!([{ "id": team.owner.id }]) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{viewers}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn many_distinct_operations_each_get_their_own_payload() {
    each_backend(async |app| {
        let team = app.team().await;
        let after = latest_cursor(&app, &team.owner, &team.workspace).await;
        let mut ws = WsClient::connect(&app, TRANSPORT_WS, Some(&team.owner.token))
            .await
            .unwrap();
        // More distinct operations than one event keeps payloads for.
        let count = 40;
        for i in 0..count {
            let query = format!(
                "subscription($ws: ID!, $after: String) {{ a{i}: activity(workspaceId: $ws, after: $after) {{ action }} }}"
            );
            ws.subscribe(&format!("s{i}"), &query, json!({ "ws": team.workspace, "after": after }))
                .await;
        }
        workroom(&app, &team.owner, &team.workspace, "Many").await;
        let mut seen = HashSet::new();
        while seen.len() < count {
            let message = ws.recv(Duration::from_secs(10)).await;
            let Some(Ok(message)) = message else {
                panic!("expected {count} results, got {} and then {message:?}", seen.len());
            };
            let id = message["id"].as_str().unwrap().to_owned();
            let i = id.trim_start_matches('s');
            assert_eq!(message["type"], "next", "{message}");
            assert_eq!(
                message["payload"]["data"],
                json!({ format!("a{i}"): { "action": "workroom.created" } })
            );
            assert!(seen.insert(id), "one result per subscription");
        }
    })
    .await;
}

#[tokio::test]
async fn operations_the_feed_cannot_share_still_stream() {
    each_backend(async |app| {
        let team = app.team().await;
        let second = app.create_workspace(&team.owner, "Second Space").await;
        // Each feed resumes from a cursor, so nothing depends on when it goes live.
        let first_cursor = latest_cursor(&app, &team.owner, &team.workspace).await;
        let second_cursor = latest_cursor(&app, &team.owner, &second).await;
        // Two feeds in one operation, each under its own name.
        let mut ws = WsClient::subscribed(
            &app,
            &team.owner.token,
            "two",
            "subscription($a: ID!, $ca: String, $b: ID!, $cb: String) {
                a: activity(workspaceId: $a, after: $ca) { action workroomId }
                b: activity(workspaceId: $b, after: $cb) { action workroomId } }",
            json!({ "a": team.workspace, "ca": first_cursor, "b": second, "cb": second_cursor }),
        )
        .await;
        // A document that also holds a query, choosing the subscription by name.
        let mut named = WsClient::connect(&app, TRANSPORT_WS, Some(&team.owner.token))
            .await
            .unwrap();
        named.send(json!({ "id": "named", "type": "subscribe", "payload": {
            "query": "query Me { me { id } } subscription Feed($ws: ID!, $after: String) { activity(workspaceId: $ws, after: $after) { action workroomId } }",
            "operationName": "Feed",
            "variables": { "ws": second, "after": second_cursor },
        } }))
        .await;
        let in_second = workroom(&app, &team.owner, &second, "Other").await;
        assert_eq!(
            named.event("named").await,
            json!({ "activity": { "action": "workroom.created", "workroomId": in_second } })
        );
        assert_eq!(
            ws.event("two").await,
            json!({ "b": { "action": "workroom.created", "workroomId": in_second } })
        );
        let in_first = workroom(&app, &team.owner, &team.workspace, "First").await;
        assert_eq!(
            ws.event("two").await,
            json!({ "a": { "action": "workroom.created", "workroomId": in_first } })
        );
    })
    .await;
}

async fn ws_invalid(app: &TestApp, team: &Team) {
    let mut ws = WsClient::subscribed(
        app,
        &team.owner.token,
        "bad",
        "subscription($ws: ID!) { activity(workspaceId: $ws) { nope } }",
        json!({ "ws": team.workspace }),
    )
    .await;
    ws.ends_with("bad", "BAD_USER_INPUT").await;
}

#[tokio::test]
async fn each_operation_gets_its_own_shape_and_errors_name_its_alias() {
    each_backend(async |app| {
        let team = app.team().await;
        let after = latest_cursor(&app, &team.owner, &team.workspace).await;
        let vars = json!({ "ws": team.workspace, "after": after });
        let narrow = "subscription($ws: ID!, $after: String) { activity(workspaceId: $ws, after: $after) { action } }";
        let aliased = "subscription Feed($ws: ID!, $after: String) {
            feed: activity(workspaceId: $ws, after: $after) { ...parts who: actor { name } } }
            fragment parts on ActivityEvent { what: action cursor }";
        // Two subscribers of one operation, and two of others.
        let connect = async |user: &TestUser, id: &str, query: &str| {
            WsClient::subscribed(&app, &user.token, id, query, vars.clone()).await
        };
        let mut first = connect(&team.admin, "n1", narrow).await;
        let mut second = connect(&team.viewer, "n2", narrow).await;
        let mut wide = connect(&team.admin, "full", ACTIVITY).await;
        let mut renamed = connect(&team.member, "alias", aliased).await;

        workroom(&app, &team.owner, &team.workspace, "Shapes").await;
        let n1 = first.event("n1").await;
        let n2 = second.event("n2").await;
        let full = wide.event("full").await;
        let alias = renamed.event("alias").await;
        assert_eq!(n1, json!({ "activity": { "action": "workroom.created" } }));
        assert_eq!(n2, n1);
        assert_eq!(full["activity"]["actor"]["name"], "Owner");
        assert_eq!(full["activity"]["changes"]["name"]["after"], "Shapes");
        assert_eq!(alias["feed"]["what"], "workroom.created");
        assert_eq!(alias["feed"]["who"]["name"], "Owner");
        assert_eq!(alias["feed"]["cursor"], full["activity"]["cursor"]);
        assert!(alias.get("activity").is_none());

        // The stream that ends names the field as the operation did.
        let member = member_id_of(&app, &team, &team.member).await;
        app.data(Some(&team.owner.token), "mutation($m: ID!) { removeMember(memberId: $m) { id } }", json!({ "m": member })).await;
        let payload = renamed.ends_with("alias", "NOT_FOUND").await;
        assert_eq!(payload["errors"][0]["path"], json!(["feed"]));
        // The admin still sees it.
        let removed = first.event("n1").await;
        assert_eq!(removed["activity"]["action"], "member.removed");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_then_live_has_no_gap_and_no_duplicate() {
    each_backend(async |app| {
        let owner = app.sign_up("Replayer").await;
        let ws = owner.personal_workspace.clone();
        for i in 0..10 {
            workroom(&app, &owner, &ws, &format!("before {i}")).await;
        }
        let history = events_after(&app, &owner, &ws, 0).await;
        let (cursor, _) = history[3];
        let mut client = WsClient::connect(&app, TRANSPORT_WS, Some(&owner.token))
            .await
            .unwrap();
        let writer = async {
            for i in 0..20 {
                workroom(&app, &owner, &ws, &format!("during {i}")).await;
            }
        };
        let reader = async {
            client
                .subscribe(
                    "r",
                    ACTIVITY,
                    json!({ "ws": ws, "after": cursor.to_string() }),
                )
                .await;
            let mut got = Vec::new();
            // What followed the cursor before, and the 20 written during.
            while got.len() < history.len() - 4 + 20 {
                let event = client.event("r").await;
                got.push((
                    event["activity"]["cursor"]
                        .as_str()
                        .unwrap()
                        .parse::<i64>()
                        .unwrap(),
                    event["activity"]["id"].as_str().unwrap().to_owned(),
                ));
            }
            got
        };
        let ((), got) = tokio::join!(writer, reader);
        let expected = events_after(&app, &owner, &ws, cursor).await;
        assert_eq!(got, expected);
        assert_eq!(
            client.next("r", Duration::from_millis(300)).await,
            Got::Silence,
            "nothing more"
        );
    })
    .await;
}

/// A subscriber whose client stops reading falls behind its feed's buffer;
/// the others keep up meanwhile, and once it reads again it catches up from
/// the database with nothing lost or repeated.
#[tokio::test]
async fn a_subscriber_that_falls_behind_catches_up_from_the_database() {
    each_backend_with(
        |config| {
            config.feed_capacity = 8;
            // The stalled client must not be dropped however slow the machine.
            config.ws_send_timeout = Duration::from_secs(600);
        },
        async |app| {
            let owner = app.sign_up("Laggard").await;
            let ws = owner.personal_workspace.clone();
            let room = workroom(&app, &owner, &ws, "Renamed").await;
            let cursor = latest_cursor(&app, &owner, &ws).await;
            // Wide payloads: a client that reads nothing soon fills its
            // socket, and its connection stops taking events from the feed.
            let fields: String = (0..400).map(|i| format!(" c{i}: changes")).collect();
            let wide = format!(
                "subscription($ws: ID!, $after: String) {{ activity(workspaceId: $ws, after: $after) {{ cursor{fields} }} }}"
            );
            let vars = json!({ "ws": ws, "after": cursor });
            let mut slow = WsClient::subscribed(&app, &owner.token, "slow", &wide, vars.clone()).await;
            let mut quick = WsClient::subscribed(&app, &owner.token, "quick", ACTIVITY, vars).await;
            const EVENTS: usize = 300;
            let writer = async {
                for i in 0..EVENTS {
                    app.data(
                        Some(&owner.token),
                        "mutation($id: ID!, $n: String!) { updateWorkroom(input: {id: $id, name: $n}) { id } }",
                        json!({ "id": room, "n": format!("Name {i}") }),
                    )
                    .await;
                }
            };
            let reader = async {
                for _ in 0..EVENTS {
                    quick.event("quick").await;
                }
            };
            tokio::join!(writer, reader);

            let after: i64 = cursor.parse().unwrap();
            let expected: Vec<i64> = events_after(&app, &owner, &ws, after)
                .await
                .into_iter()
                .map(|(seq, _)| seq)
                .collect();
            assert_eq!(expected.len(), EVENTS);
            // Only the slow subscriber reads from here on.
            let caught_up = metric(&app, "atrium_activity_catch_ups_total").await;
            let mut got = Vec::with_capacity(EVENTS);
            while got.len() < EVENTS {
                let event = slow.event("slow").await;
                got.push(event["activity"]["cursor"].as_str().unwrap().parse::<i64>().unwrap());
            }
            assert_eq!(got, expected);
            assert!(metric(&app, "atrium_activity_catch_ups_total").await > caught_up);
        },
    )
    .await;
}

#[tokio::test]
async fn cursors_are_checked() {
    each_backend(async |app| {
        let owner = app.sign_up("Cursor").await;
        let other = app.sign_up("Other").await;
        let foreign = events_after(&app, &other, &other.personal_workspace, 0).await;
        let mut client = WsClient::connect(&app, TRANSPORT_WS, Some(&owner.token))
            .await
            .unwrap();
        for (id, cursor) in [
            ("bad", "nope".to_owned()),
            ("foreign", foreign[0].0.to_string()),
        ] {
            client
                .subscribe(
                    id,
                    ACTIVITY,
                    json!({ "ws": owner.personal_workspace, "after": cursor }),
                )
                .await;
            let got = client.next(id, Duration::from_secs(5)).await;
            assert_eq!(
                error_code(&got).as_deref(),
                Some("BAD_USER_INPUT"),
                "{id}: {got:?}"
            );
        }
        // Cursor 0 replays everything.
        client
            .subscribe(
                "all",
                ACTIVITY,
                json!({ "ws": owner.personal_workspace, "after": "0" }),
            )
            .await;
        assert_eq!(
            client.event("all").await["activity"]["action"],
            "workspace.created"
        );
    })
    .await;
}

#[tokio::test]
async fn subscribers_see_only_what_they_may_see() {
    each_backend(async |app| {
        let team = app.team().await;
        let a = workroom(&app, &team.owner, &team.workspace, "A").await;
        let b = workroom(&app, &team.owner, &team.workspace, "B").await;
        let member = member_id_of(&app, &team, &team.member).await;
        app.data(
            Some(&team.owner.token),
            "mutation($m: ID!, $a: ID!) { setMemberAccess(input: {memberId: $m, allWorkrooms: false, workrooms: [{workroomId: $a, access: VIEW}]}) { id } }",
            json!({ "m": member, "a": a }),
        )
        .await;
        let after = latest_cursor(&app, &team.owner, &team.workspace).await;
        let mut member_ws = WsClient::connect(&app, TRANSPORT_WS, Some(&team.member.token)).await.unwrap();
        member_ws.subscribe("m", ACTIVITY, json!({ "ws": team.workspace, "after": after })).await;
        let mut viewer_ws = WsClient::connect(&app, TRANSPORT_WS, Some(&team.viewer.token)).await.unwrap();
        viewer_ws.subscribe("v", ACTIVITY, json!({ "ws": team.workspace, "after": after })).await;

        let rename = "mutation($id: ID!, $n: String!) { updateWorkroom(input: {id: $id, name: $n}) { id } }";
        app.data(Some(&team.owner.token), rename, json!({ "id": b, "n": "B2" })).await;
        app.change_plan(&team.owner, &team.workspace, "GROWTH").await;
        app.data(Some(&team.owner.token), rename, json!({ "id": a, "n": "A2" })).await;

        let seen = member_ws.event("m").await;
        assert_eq!(seen["activity"]["workroomId"], a.as_str(), "B's change and the plan are skipped");
        let first = viewer_ws.event("v").await;
        let second = viewer_ws.event("v").await;
        assert_eq!(first["activity"]["workroomId"], b.as_str());
        assert_eq!(second["activity"]["workroomId"], a.as_str(), "the plan change is skipped");
    })
    .await;
}

#[tokio::test]
async fn streams_end_when_access_ends() {
    each_backend(async |app| {
        let team = app.team().await;
        let room = workroom(&app, &team.owner, &team.workspace, "Watched").await;
        let member = member_id_of(&app, &team, &team.member).await;
        let viewer = member_id_of(&app, &team, &team.viewer).await;
        let admin = member_id_of(&app, &team, &team.admin).await;

        let after = latest_cursor(&app, &team.owner, &team.workspace).await;
        let mut removed = WsClient::connect(&app, TRANSPORT_WS, Some(&team.member.token)).await.unwrap();
        removed.subscribe("a", ACTIVITY, json!({ "ws": team.workspace, "after": after })).await;
        let mut banned = WsClient::connect(&app, TRANSPORT_WS, Some(&team.viewer.token)).await.unwrap();
        banned.subscribe("a", ACTIVITY, json!({ "ws": team.workspace, "after": after })).await;
        let mut narrowed = WsClient::connect(&app, TRANSPORT_WS, Some(&team.admin.token)).await.unwrap();
        narrowed.subscribe("r", ROOM, json!({ "wr": room })).await;
        assert_eq!(narrowed.event("r").await["workroomEvents"]["kind"], "presence.joined");

        app.data(Some(&team.owner.token), "mutation($m: ID!) { removeMember(memberId: $m) { id } }", json!({ "m": member })).await;
        removed.ends_with("a", "NOT_FOUND").await;

        let got = banned.next("a", Duration::from_secs(5)).await;
        assert!(matches!(got, Got::Next(ref p) if p["data"]["activity"]["action"] == "member.removed"), "{got:?}");
        app.data(Some(&team.owner.token), "mutation($m: ID!) { banMember(memberId: $m) { id } }", json!({ "m": viewer })).await;
        let got = banned.next("a", Duration::from_secs(5)).await;
        assert_eq!(error_code(&got).as_deref(), Some("FORBIDDEN"), "{got:?}");

        // Demoted to a member without access to the watched workroom.
        app.data(Some(&team.owner.token), "mutation($m: ID!) { changeMemberRole(memberId: $m, role: MEMBER) { id } }", json!({ "m": admin })).await;
        app.data(
            Some(&team.owner.token),
            "mutation($m: ID!) { setMemberAccess(input: {memberId: $m, allWorkrooms: false, workrooms: []}) { id } }",
            json!({ "m": admin }),
        )
        .await;
        let mut code = None;
        for _ in 0..5 {
            let got = narrowed.next("r", Duration::from_secs(5)).await;
            if let Some(found) = error_code(&got) {
                code = Some(found);
                break;
            }
        }
        assert_eq!(code.as_deref(), Some("NOT_FOUND"));

        // Deleting the workspace ends the owner's own view of the live feed
        // for everyone else.
        let mut doomed = WsClient::connect(&app, TRANSPORT_WS, Some(&team.admin.token)).await.unwrap();
        let after = latest_cursor(&app, &team.owner, &team.workspace).await;
        doomed.subscribe("a", ACTIVITY, json!({ "ws": team.workspace, "after": after })).await;
        app.data(Some(&team.owner.token), "mutation($ws: ID!) { deleteWorkspace(id: $ws, confirmName: \"Team Space\") { id } }", json!({ "ws": team.workspace })).await;
        let got = doomed.next("a", Duration::from_secs(5)).await;
        assert_eq!(error_code(&got).as_deref(), Some("WORKSPACE_DELETED"), "{got:?}");
    })
    .await;
}

#[tokio::test]
async fn an_expired_access_token_ends_the_stream() {
    each_backend_with(
        |config| config.access_token_ttl = Duration::from_secs(3),
        async |app| {
            let owner = app.sign_up("Brief").await;
            // History for a later replay; the live stream watches another,
            // quiet workspace.
            let cursor = latest_cursor(&app, &owner, &owner.personal_workspace).await;
            for i in 0..3 {
                workroom(
                    &app,
                    &owner,
                    &owner.personal_workspace,
                    &format!("Room {i}"),
                )
                .await;
            }
            let quiet = app.create_workspace(&owner, "Quiet Space").await;
            let mut client = WsClient::connect(&app, TRANSPORT_WS, Some(&owner.token))
                .await
                .unwrap();
            client
                .subscribe("a", ACTIVITY, json!({ "ws": quiet }))
                .await;
            // A connection opened while the token is still good.
            let mut late = WsClient::connect(&app, TRANSPORT_WS, Some(&owner.token))
                .await
                .unwrap();
            let got = client.next("a", Duration::from_secs(8)).await;
            assert_eq!(
                error_code(&got).as_deref(),
                Some("UNAUTHENTICATED"),
                "{got:?}"
            );
            // The token has expired: a replay yields none of its events.
            late.subscribe(
                "r",
                ACTIVITY,
                json!({ "ws": owner.personal_workspace, "after": cursor }),
            )
            .await;
            late.ends_with("r", "UNAUTHENTICATED").await;
        },
    )
    .await;
}

#[tokio::test]
async fn presence_and_workroom_changes() {
    each_backend(async |app| {
        let team = app.team().await;
        let room = workroom(&app, &team.owner, &team.workspace, "Studio").await;
        let mut first = WsClient::connect(&app, TRANSPORT_WS, Some(&team.member.token))
            .await
            .unwrap();
        first.subscribe("r", ROOM, json!({ "wr": room })).await;
        let own = first.event("r").await;
        assert_eq!(own["workroomEvents"]["kind"], "presence.joined");

        let mut second = WsClient::connect(&app, TRANSPORT_WS, Some(&team.viewer.token))
            .await
            .unwrap();
        second.subscribe("r", ROOM, json!({ "wr": room })).await;
        let joined = first.event("r").await;
        assert_eq!(joined["workroomEvents"]["kind"], "presence.joined");
        assert_eq!(
            joined["workroomEvents"]["actor"]["id"],
            team.viewer.id.as_str()
        );
        second.event("r").await;

        let viewers = app
            .data(
                Some(&team.owner.token),
                "query($id: ID!) { workroom(id: $id) { viewers { id } } }",
                json!({ "id": room }),
            )
            .await;
        let ids: HashSet<&str> = viewers["workroom"]["viewers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids,
            HashSet::from([team.member.id.as_str(), team.viewer.id.as_str()])
        );

        app.data(
            Some(&team.owner.token),
            "mutation($id: ID!) { updateWorkroom(input: {id: $id, name: \"Studio 2\"}) { id } }",
            json!({ "id": room }),
        )
        .await;
        // An event of another workroom is not part of this stream.
        workroom(&app, &team.owner, &team.workspace, "Elsewhere").await;
        let changed = first.event("r").await;
        assert_eq!(changed["workroomEvents"]["kind"], "workroom.updated");
        assert_eq!(
            changed["workroomEvents"]["data"]["name"]["after"],
            "Studio 2"
        );

        second.close().await;
        let left = first.event("r").await;
        assert_eq!(left["workroomEvents"]["kind"], "presence.left");
        assert_eq!(
            left["workroomEvents"]["actor"]["id"],
            team.viewer.id.as_str()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
        let viewers = app
            .data(
                Some(&team.owner.token),
                "query($id: ID!) { workroom(id: $id) { viewers { id } } }",
                json!({ "id": room }),
            )
            .await;
        assert_eq!(
            viewers["workroom"]["viewers"],
            json!([{ "id": team.member.id }])
        );
    })
    .await;
}

/// 8 writers, and a subscriber that reconnects every 100 ms resuming from its
/// last cursor: it receives every event exactly once, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconnecting_subscriber_misses_nothing_under_concurrent_writers() {
    each_backend(async |app| {
        let owner = app.sign_up("Writer").await;
        let ws = owner.personal_workspace.clone();
        app.change_plan(&owner, &ws, "AGENCY").await;
        let start = events_after(&app, &owner, &ws, 0).await.last().unwrap().0;
        const PER_WRITER: usize = 12;
        let writers = join_all((0..8).map(|w| {
            let app = &app;
            let owner = &owner;
            let ws = ws.clone();
            async move {
                for i in 0..PER_WRITER {
                    workroom(app, owner, &ws, &format!("w{w} {i}")).await;
                }
            }
        }));
        let reader = async {
            let mut got: Vec<(i64, String)> = Vec::new();
            let mut cursor = start;
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            while got.len() < 8 * PER_WRITER && tokio::time::Instant::now() < deadline {
                let mut client = WsClient::connect(&app, TRANSPORT_WS, Some(&owner.token))
                    .await
                    .unwrap();
                client
                    .subscribe(
                        "r",
                        ACTIVITY,
                        json!({ "ws": ws, "after": cursor.to_string() }),
                    )
                    .await;
                let until = tokio::time::Instant::now() + Duration::from_millis(100);
                loop {
                    let left = until.saturating_duration_since(tokio::time::Instant::now());
                    match client.next("r", left).await {
                        Got::Next(payload) => {
                            let event = &payload["data"]["activity"];
                            let seq: i64 = event["cursor"].as_str().unwrap().parse().unwrap();
                            got.push((seq, event["id"].as_str().unwrap().to_owned()));
                            cursor = seq;
                        }
                        _ => break,
                    }
                }
                client.close().await;
            }
            got
        };
        let (_, got) = tokio::join!(writers, reader);
        let expected = events_after(&app, &owner, &ws, start).await;
        assert_eq!(expected.len(), 8 * PER_WRITER);
        assert_eq!(got, expected, "every event once, in commit order");
    })
    .await;
}

/// Two servers on one PostgreSQL database: a change made through one reaches
/// a subscriber of the other, also across a lost listener connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_share_events_through_postgres() {
    let Some(admin_url) = backends().into_iter().find_map(|b| match b {
        Backend::Postgres(url) => Some(url),
        Backend::Sqlite => None,
    }) else {
        // Two servers need a shared database server; SQLite is embedded.
        return;
    };
    let app = TestApp::spawn(Backend::Postgres(admin_url), |_| {}).await;
    let owner = app.sign_up("Shared").await;
    let ws = owner.personal_workspace.clone();
    app.change_plan(&owner, &ws, "AGENCY").await;
    let (other, _stop) = app.second_server().await;

    let mut client = WsClient::connect(&app, TRANSPORT_WS, Some(&owner.token))
        .await
        .unwrap();
    let after = latest_cursor(&app, &owner, &ws).await;
    client
        .subscribe("a", ACTIVITY, json!({ "ws": ws, "after": after }))
        .await;
    let create = "mutation($ws: ID!, $n: String!) { createWorkroom(input: {workspaceId: $ws, name: $n}) { id } }";
    let made = app
        .gql_at(
            other,
            Some(&owner.token),
            create,
            json!({ "ws": ws, "n": "From the other" }),
        )
        .await;
    assert_eq!(code(&made), None, "{made}");
    let event = client.event("a").await;
    assert_eq!(
        event["activity"]["changes"]["name"]["after"],
        "From the other"
    );

    // Cut every listener's connection while the other server keeps writing.
    let mut names = Vec::new();
    for i in 0..10 {
        if i == 3 {
            app.state
                .db
                .execute_unprepared("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()")
                .await
                .unwrap();
        }
        let name = format!("after cut {i}");
        let made = app
            .gql_at(
                other,
                Some(&owner.token),
                create,
                json!({ "ws": ws, "n": name }),
            )
            .await;
        assert_eq!(code(&made), None, "{made}");
        names.push(name);
    }
    let mut got = Vec::new();
    while got.len() < names.len() {
        let event = client.event("a").await;
        got.push(
            event["activity"]["changes"]["name"]["after"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    assert_eq!(got, names);
}

#[tokio::test]
async fn workroom_streams_end_when_access_goes_unseen() {
    each_backend(async |app| {
        let team = app.team().await;
        let room = workroom(&app, &team.owner, &team.workspace, "Quiet").await;
        let member = member_id_of(&app, &team, &team.member).await;
        // The member cannot see the MEMBERS area, so it never sees the
        // event that takes the workroom away.
        app.data(
            Some(&team.owner.token),
            "mutation($m: ID!) { setMemberAccess(input: {memberId: $m, areas: [{area: MEMBERS, access: NONE}]}) { id } }",
            json!({ "m": member }),
        )
        .await;
        let mut client = WsClient::connect(&app, TRANSPORT_WS, Some(&team.member.token)).await.unwrap();
        client.subscribe("r", ROOM, json!({ "wr": room })).await;
        assert_eq!(client.event("r").await["workroomEvents"]["kind"], "presence.joined");
        app.data(
            Some(&team.owner.token),
            "mutation($m: ID!) { setMemberAccess(input: {memberId: $m, allWorkrooms: false, workrooms: []}) { id } }",
            json!({ "m": member }),
        )
        .await;
        let got = client.next("r", Duration::from_secs(5)).await;
        assert_eq!(error_code(&got).as_deref(), Some("NOT_FOUND"), "{got:?}");
    })
    .await;
}

#[tokio::test]
async fn metrics_count_requests_and_live_subscribers() {
    each_backend(async |app| {
        let owner = app.sign_up("Counted").await;
        let mut client = WsClient::connect(&app, TRANSPORT_WS, Some(&owner.token))
            .await
            .unwrap();
        let after = latest_cursor(&app, &owner, &owner.personal_workspace).await;
        client
            .subscribe(
                "a",
                ACTIVITY,
                json!({ "ws": owner.personal_workspace, "after": after }),
            )
            .await;
        // Once an event arrives the subscription is certainly registered.
        workroom(&app, &owner, &owner.personal_workspace, "Counted").await;
        client.event("a").await;
        assert!(metric(&app, "atrium_graphql_requests_total").await >= 4);
        assert_eq!(metric(&app, "atrium_websocket_connections").await, 1);
        assert_eq!(metric(&app, "atrium_activity_subscribers").await, 1);
        assert_eq!(metric(&app, "atrium_activity_feeds").await, 1);
    })
    .await;
}

#[tokio::test]
async fn a_message_too_large_closes_with_1009() {
    each_backend(async |app| {
        let owner = app.sign_up("Big").await;
        let mut client = WsClient::connect(&app, TRANSPORT_WS, Some(&owner.token))
            .await
            .unwrap();
        let padding = "x".repeat(70 << 10);
        client
            .send_raw(format!(
                r#"{{"type":"ping","payload":{{"pad":"{padding}"}}}}"#
            ))
            .await;
        assert_eq!(client.recv(Duration::from_secs(5)).await, Some(Err(1009)));
    })
    .await;
}

#[tokio::test]
async fn a_client_that_answers_nothing_is_cut_within_the_send_timeout() {
    each_backend_with(
        |config| config.ws_send_timeout = Duration::from_secs(2),
        async |app| {
            let owner = app.sign_up("Quiet").await;
            let ws = owner.personal_workspace.clone();
            let mut healthy =
                WsClient::subscribed(&app, &owner.token, "h", ACTIVITY, json!({ "ws": ws })).await;
            let stalled =
                WsClient::subscribed(&app, &owner.token, "s", ACTIVITY, json!({ "ws": ws })).await;
            // From here the stalled client reads nothing, not even pings.
            let started = tokio::time::Instant::now();
            while metric(&app, "atrium_websocket_connections").await > 1 {
                assert!(
                    started.elapsed() < Duration::from_millis(3_500),
                    "a stalled reader stays connected"
                );
                // The healthy one keeps reading and answering pings.
                let _ = healthy.recv(Duration::from_millis(100)).await;
            }
            assert!(
                started.elapsed() >= Duration::from_millis(1_200),
                "cut too early"
            );
            // The healthy client, reading all along, is still served.
            workroom(&app, &owner, &ws, "Still here").await;
            let event = healthy.event("h").await;
            assert_eq!(event["activity"]["action"], "workroom.created");
            drop(stalled);
        },
    )
    .await;
}

#[tokio::test]
async fn live_payloads_are_redacted_per_reader() {
    each_backend(async |app| {
        let team = app.team().await;
        let after = latest_cursor(&app, &team.owner, &team.workspace).await;
        let vars = json!({ "ws": team.workspace, "after": after });
        let mut admin = WsClient::subscribed(&app, &team.admin.token, "a", ACTIVITY, vars.clone()).await;
        let mut viewer = WsClient::subscribed(&app, &team.viewer.token, "v", ACTIVITY, vars).await;
        app.data(
            Some(&team.owner.token),
            "mutation($ws: ID!) { setHiddenNavigation(workspaceId: $ws, role: ADMIN, keys: [\"secret-admin-key\"]) { id } }",
            json!({ "ws": team.workspace }),
        )
        .await;
        let seen_by_admin = admin.event("a").await;
        let seen_by_viewer = viewer.event("v").await;
        assert_eq!(seen_by_admin["activity"]["action"], "workspace.navigation_changed");
        assert_eq!(seen_by_viewer["activity"]["action"], "workspace.navigation_changed");
        assert!(seen_by_admin.to_string().contains("secret-admin-key"));
        assert!(!seen_by_viewer.to_string().contains("secret-admin-key"), "{seen_by_viewer}");
    })
    .await;
}
