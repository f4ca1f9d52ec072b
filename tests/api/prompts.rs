//! The prompt library: drafts and semantic versions, references apps fetch
//! by, rendering, who may do what, search on both engines, and races.

use serde_json::{Value, json};

use crate::helpers::*;

const CREATE: &str = "mutation($ws: ID!, $name: String!, $title: String!, $body: String!, $d: String, $c: String, $tags: [String!]) {
    createPrompt(input: {workspaceId: $ws, name: $name, title: $title, body: $body, description: $d, category: $c, tags: $tags}) {
        id name reference status draft { id version status body variables } published { version } } }";
const SAVE: &str = "mutation($p: ID!, $body: String!) { savePromptDraft(promptId: $p, body: $body, notes: \"edit\") { id version status body } }";
const PUBLISH: &str = "mutation($p: ID!, $bump: VersionBump!) { publishPrompt(promptId: $p, bump: $bump) { version status publishedAt prompt { status published { version } } } }";
const BY_REFERENCE: &str = "query($r: String!) { promptByReference(reference: $r) { version body status prompt { name } } }";
const RENDER: &str =
    "mutation($r: String!, $v: JSON!) { renderPrompt(reference: $r, variables: $v) }";

async fn create(app: &TestApp, user: &TestUser, ws: &str, name: &str, body: &str) -> Value {
    app.data(
        Some(&user.token),
        CREATE,
        json!({ "ws": ws, "name": name, "title": format!("Title of {name}"), "body": body }),
    )
    .await["createPrompt"]
        .clone()
}

async fn publish(app: &TestApp, user: &TestUser, prompt: &Value, bump: &str) -> String {
    let data = app
        .data(
            Some(&user.token),
            PUBLISH,
            json!({ "p": prompt, "bump": bump }),
        )
        .await;
    data["publishPrompt"]["version"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn save(app: &TestApp, user: &TestUser, prompt: &Value, body: &str) {
    app.data(
        Some(&user.token),
        SAVE,
        json!({ "p": prompt, "body": body }),
    )
    .await;
}

async fn resolve(app: &TestApp, token: Option<&str>, reference: &str) -> Value {
    app.data(token, BY_REFERENCE, json!({ "r": reference }))
        .await["promptByReference"]
        .clone()
}

#[tokio::test]
async fn publishing_raises_semantic_versions_and_references_resolve_exact_partial_and_latest() {
    each_backend(async |app| {
        let team = app.team().await;
        let member = &team.member;
        let created = create(&app, member, &team.workspace, "launch-email", "Hi {{name}}, v1.0.0").await;
        let id = created["id"].clone();
        let reference = created["reference"].as_str().unwrap().to_owned();
        assert_eq!(reference, "@team-space/launch-email");
        assert_eq!(created["status"], "DRAFT");
        assert_eq!(created["draft"]["version"], Value::Null);
        assert_eq!(created["draft"]["variables"], json!(["name"]));
        assert_eq!(created["published"], Value::Null);
        let token = Some(member.token.as_str());

        // A prompt with only a draft resolves to nothing, like one that does not exist.
        assert_eq!(resolve(&app, token, &reference).await, Value::Null);
        assert_eq!(resolve(&app, token, "@team-space/no-such-prompt").await, Value::Null);
        assert_eq!(resolve(&app, token, "@no-such-space/launch-email").await, Value::Null);
        assert_code(&app.gql(token, RENDER, json!({ "r": reference, "v": {} })).await, "NOT_FOUND");

        // 1.0.0 first, whatever the bump; then each bump raises its part.
        let mut published = Vec::new();
        for (bump, expected) in [
            ("MINOR", "1.0.0"),
            ("MINOR", "1.1.0"),
            ("PATCH", "1.1.1"),
            ("MAJOR", "2.0.0"),
            ("PATCH", "2.0.1"),
        ] {
            if !published.is_empty() {
                save(&app, member, &id, &format!("Hi {{{{name}}}}, v{expected}")).await;
            }
            assert_eq!(publish(&app, member, &id, bump).await, expected);
            published.push(expected);
        }
        // Without a draft there is nothing to publish.
        assert_code(
            &app.gql(token, PUBLISH, json!({ "p": id, "bump": "PATCH" })).await,
            "CONFLICT",
        );
        // An open draft never resolves.
        save(&app, member, &id, "Hi {{name}}, unpublished").await;

        for (suffix, expected) in [
            ("", Some("2.0.1")),
            (":2", Some("2.0.1")),
            (":1", Some("1.1.1")),
            (":1.1", Some("1.1.1")),
            (":1.0", Some("1.0.0")),
            (":1.1.0", Some("1.1.0")),
            (":2.0.0", Some("2.0.0")),
            (":3", None),
            (":1.2", None),
            (":1.1.2", None),
        ] {
            let found = resolve(&app, token, &format!("{reference}{suffix}")).await;
            match expected {
                Some(version) => {
                    assert_eq!(found["version"], version, "{suffix}");
                    assert_eq!(found["status"], "PUBLISHED");
                    assert_eq!(found["body"], format!("Hi {{{{name}}}}, v{version}"), "{suffix}");
                    assert_eq!(found["prompt"]["name"], "launch-email");
                }
                None => assert_eq!(found, Value::Null, "{suffix}"),
            }
        }
        for malformed in ["team-space/launch-email", "@team-space", "@team-space/launch-email:1.x", "@team-space/launch-email:1.2.3.4"] {
            assert_code(&app.gql(token, BY_REFERENCE, json!({ "r": malformed })).await, "BAD_USER_INPUT");
        }

        // Versions read newest first; the viewer sees published ones only.
        let versions = "query($ws: ID!) { workspace(id: $ws) { prompts { nodes { status draft { body } versions { version status } } } } }";
        let read = app.data(token, versions, json!({ "ws": team.workspace })).await;
        let prompt = &read["workspace"]["prompts"]["nodes"][0];
        assert_eq!(prompt["status"], "PUBLISHED");
        assert_eq!(prompt["draft"]["body"], "Hi {{name}}, unpublished");
        let listed: Vec<Value> = prompt["versions"].as_array().unwrap().iter().map(|v| v["version"].clone()).collect();
        assert_eq!(listed, [json!(null), json!("2.0.1"), json!("2.0.0"), json!("1.1.1"), json!("1.1.0"), json!("1.0.0")]);
        let read = app.data(Some(&team.viewer.token), versions, json!({ "ws": team.workspace })).await;
        let prompt = &read["workspace"]["prompts"]["nodes"][0];
        assert_eq!(prompt["draft"], Value::Null);
        assert_eq!(prompt["versions"].as_array().unwrap().len(), 5);
        assert!(prompt["versions"].as_array().unwrap().iter().all(|v| v["status"] == "PUBLISHED"));

        // Outsiders, and keys without PROJECTS, get null; a PROJECTS VIEW key resolves.
        assert_eq!(resolve(&app, Some(&team.outsider.token), &reference).await, Value::Null);
        let key = |scopes: Value| {
            let app = &app;
            let team = &team;
            async move {
                app.data(
                    Some(&team.owner.token),
                    "mutation($ws: ID!, $s: [AreaAccessInput!]) { createApiKey(input: {workspaceId: $ws, name: \"App\", scopes: $s}) { secret } }",
                    json!({ "ws": team.workspace, "s": scopes }),
                )
                .await["createApiKey"]["secret"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            }
        };
        let reader = key(json!([{ "area": "PROJECTS", "access": "VIEW" }])).await;
        assert_eq!(resolve(&app, Some(&reader), &reference).await["version"], "2.0.1");
        let blind = key(json!([{ "area": "GENERAL", "access": "VIEW" }])).await;
        assert_eq!(resolve(&app, Some(&blind), &reference).await, Value::Null);

        // Archived: gone from search, still resolving.
        app.data(token, "mutation($p: ID!) { archivePrompt(id: $p) { status } }", json!({ "p": id })).await;
        let listed = app
            .data(token, "query($ws: ID!) { workspace(id: $ws) { prompts { totalCount } archived: prompts(search: {status: ARCHIVED}) { nodes { status } } } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(listed["workspace"]["prompts"]["totalCount"], 0);
        assert_eq!(listed["workspace"]["archived"]["nodes"][0]["status"], "ARCHIVED");
        assert_eq!(resolve(&app, Some(&reader), &format!("{reference}:1")).await["version"], "1.1.1");
        assert_code(&app.gql(token, SAVE, json!({ "p": id, "body": "x" })).await, "CONFLICT");

        // Every resolution counted: 7 by the member, 1 by the key, 1 after archiving.
        let fetches = app.query_strings("SELECT CAST(SUM(fetches) AS TEXT) FROM prompt_fetches").await;
        assert_eq!(fetches, ["9"]);
    })
    .await;
}

#[tokio::test]
async fn rendering_fills_variables_once_and_names_a_missing_one() {
    each_backend(async |app| {
        let team = app.team().await;
        let created = create(&app, &team.member, &team.workspace, "brief", "Dear {{ name }}, about {{topic}} ({{count}}).").await;
        publish(&app, &team.member, &created["id"], "PATCH").await;
        let reference = created["reference"].as_str().unwrap();
        // Viewers and keys render too; values are not expanded again.
        let rendered = app
            .data(
                Some(&team.viewer.token),
                RENDER,
                json!({ "r": reference, "v": { "name": "Ada", "topic": "{{name}}", "count": 3, "unused": "x" } }),
            )
            .await;
        assert_eq!(rendered["renderPrompt"], "Dear Ada, about {{name}} (3).");
        let missing = app
            .gql(Some(&team.viewer.token), RENDER, json!({ "r": reference, "v": { "name": "Ada", "count": 1 } }))
            .await;
        assert_code(&missing, "BAD_USER_INPUT");
        let message = missing["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains("`topic`"), "{message}");
        for bad in [json!("Ada"), json!({ "name": null, "topic": "t", "count": 1 }), json!({ "name": ["x"], "topic": "t", "count": 1 })] {
            assert_code(&app.gql(Some(&team.viewer.token), RENDER, json!({ "r": reference, "v": bad })).await, "BAD_USER_INPUT");
        }
        assert_code(
            &app.gql(Some(&team.outsider.token), RENDER, json!({ "r": reference, "v": {} })).await,
            "NOT_FOUND",
        );
    })
    .await;
}

/// The render limit holds however often a long value is repeated.
#[tokio::test]
async fn a_render_longer_than_the_limit_is_refused() {
    each_backend_with(
        |c: &mut atrium::Config| c.prompt_render_max_bytes = 1000,
        async |app| {
            let team = app.team().await;
            let created = create(
                &app,
                &team.owner,
                &team.workspace,
                "echo",
                &"{{v}}".repeat(100),
            )
            .await;
            publish(&app, &team.owner, &created["id"], "MAJOR").await;
            let reference = created["reference"].as_str().unwrap();
            let ok = app
                .data(
                    Some(&team.owner.token),
                    RENDER,
                    json!({ "r": reference, "v": { "v": "0123456789" } }),
                )
                .await;
            assert_eq!(ok["renderPrompt"].as_str().unwrap().len(), 1000);
            let long = app
                .gql(
                    Some(&team.owner.token),
                    RENDER,
                    json!({ "r": reference, "v": { "v": "0123456789a" } }),
                )
                .await;
            assert_code(&long, "BAD_USER_INPUT");
        },
    )
    .await;
}

#[tokio::test]
async fn members_edit_their_own_prompts_admins_all_viewers_read_published_ones() {
    each_backend(async |app| {
        let team = app.team().await;
        let mine = create(&app, &team.member, &team.workspace, "members-own", "Mine").await;
        let owners = create(&app, &team.owner, &team.workspace, "owners-own", "Theirs").await;
        let update = "mutation($p: ID!) { updatePrompt(input: {id: $p, title: \"Changed\", tags: [\"Launch\", \"launch\", \"Email\"]}) { title tags } }";
        let changed = app.data(Some(&team.member.token), update, json!({ "p": mine["id"] })).await;
        assert_eq!(changed["updatePrompt"]["tags"], json!(["launch", "email"]));
        assert_code(&app.gql(Some(&team.member.token), update, json!({ "p": owners["id"] })).await, "FORBIDDEN");
        assert_code(&app.gql(Some(&team.member.token), SAVE, json!({ "p": owners["id"], "body": "x" })).await, "FORBIDDEN");
        // The admin changes the member's prompt (to what it already is: no event).
        app.data(Some(&team.admin.token), update, json!({ "p": mine["id"] })).await;
        publish(&app, &team.admin, &mine["id"], "MAJOR").await;

        // The viewer sees the published prompt only, and changes nothing.
        let list = "query($ws: ID!) { workspace(id: $ws) { prompts { totalCount nodes { name } } } }";
        let seen = app.data(Some(&team.viewer.token), list, json!({ "ws": team.workspace })).await;
        assert_eq!(seen["workspace"]["prompts"]["nodes"], json!([{ "name": "members-own" }]));
        assert_eq!(seen["workspace"]["prompts"]["totalCount"], 1);
        assert_code(&app.gql(Some(&team.viewer.token), update, json!({ "p": owners["id"] })).await, "NOT_FOUND");
        assert_code(&app.gql(Some(&team.viewer.token), update, json!({ "p": mine["id"] })).await, "FORBIDDEN");
        let seen = app.data(Some(&team.member.token), list, json!({ "ws": team.workspace })).await;
        assert_eq!(seen["workspace"]["prompts"]["totalCount"], 2);

        // Names are URL-safe and unique in the workspace.
        let again = app
            .gql(Some(&team.admin.token), CREATE, json!({ "ws": team.workspace, "name": "owners-own", "title": "T", "body": "B" }))
            .await;
        assert_code(&again, "CONFLICT");
        for name in ["Upper", "with space", "-lead", "trail-", "double--dash", "", &"x".repeat(81)] {
            let refused = app
                .gql(Some(&team.admin.token), CREATE, json!({ "ws": team.workspace, "name": name, "title": "T", "body": "B" }))
                .await;
            assert_code(&refused, "BAD_USER_INPUT");
        }
        let empty = app
            .gql(Some(&team.admin.token), CREATE, json!({ "ws": team.workspace, "name": "empty", "title": "T", "body": "  " }))
            .await;
        assert_code(&empty, "BAD_USER_INPUT");
        // Another workspace's prompt is NOT_FOUND; its name is free here.
        let other = create(&app, &team.outsider, &team.outsider.personal_workspace, "owners-own", "Elsewhere").await;
        assert_code(&app.gql(Some(&team.owner.token), update, json!({ "p": other["id"] })).await, "NOT_FOUND");

        // Every create, draft save, publication and archive is in the feed.
        app.data(Some(&team.member.token), SAVE, json!({ "p": mine["id"], "body": "Next {{x}}" })).await;
        app.data(Some(&team.owner.token), "mutation($p: ID!) { archivePrompt(id: $p) { id } }", json!({ "p": owners["id"] })).await;
        let feed = app
            .data(
                Some(&team.viewer.token),
                "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"prompt.created\", \"prompt.updated\", \"prompt.draft_saved\", \"prompt.published\", \"prompt.archived\"]}) { nodes { action targetId changes } } } }",
                json!({ "ws": team.workspace }),
            )
            .await;
        let actions: Vec<&str> = feed["workspace"]["activity"]["nodes"].as_array().unwrap().iter().map(|n| n["action"].as_str().unwrap()).collect();
        assert_eq!(actions, ["prompt.archived", "prompt.draft_saved", "prompt.published", "prompt.updated", "prompt.created", "prompt.created"]);
        let published = &feed["workspace"]["activity"]["nodes"][2];
        assert_eq!(published["changes"]["version"], json!({ "before": null, "after": "1.0.0" }));
    })
    .await;
}

#[tokio::test]
async fn search_finds_by_words_tags_category_collection_and_status_and_pages() {
    each_backend(async |app| {
        let team = app.team().await;
        let owner = &team.owner;
        let ws = team.workspace.as_str();
        for (name, title, description, category, tags) in [
            ("alpha", "Launch announcement", "For a product launch", "email", json!(["launch", "b2b"])),
            ("bravo", "Weekly newsletter", "Digest of the week's launches", "email", json!(["newsletter"])),
            ("charlie", "Ad copy", "Short lines for social", "ads", json!(["social", "launch"])),
            ("delta", "Café menu", "Plats du jour", "menu", json!(["français"])),
            ("echo", "Unrelated", "Nothing to see", "misc", json!([])),
        ] {
            let created = app
                .data(
                    Some(&owner.token),
                    CREATE,
                    json!({ "ws": ws, "name": name, "title": title, "body": "Text", "d": description, "c": category, "tags": tags }),
                )
                .await;
            if name != "echo" {
                publish(&app, owner, &created["createPrompt"]["id"], "PATCH").await;
            }
        }
        let search = "query($ws: ID!, $s: PromptSearch, $first: Int, $after: String) { workspace(id: $ws) { prompts(search: $s, first: $first, after: $after) { totalCount nodes { name } pageInfo { hasNextPage endCursor } } } }";
        let names = |s: Value| {
            let app = &app;
            async move {
                let data = app.data(Some(&owner.token), search, json!({ "ws": ws, "s": s })).await;
                data["workspace"]["prompts"]["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
            }
        };
        // Words match whole words and starts of words, in title, description or tags.
        assert_eq!(names(json!({ "text": "launch" })).await, ["alpha", "bravo", "charlie"]);
        assert_eq!(names(json!({ "text": "LAUN" })).await, ["alpha", "bravo", "charlie"]);
        assert_eq!(names(json!({ "text": "launch announcement" })).await, ["alpha"]);
        assert_eq!(names(json!({ "text": "b2b" })).await, ["alpha"]);
        assert_eq!(names(json!({ "text": "digest week" })).await, ["bravo"]);
        assert_eq!(names(json!({ "text": "menu" })).await, ["delta"]);
        assert_eq!(names(json!({ "text": "zebra" })).await, Vec::<String>::new());
        // Search syntax of either engine is plain text here.
        for hostile in ["\"", "launch OR x", "a:* & !b", "NEAR(a b)", "*", "'); DROP TABLE prompts; --", "((("] {
            let data = app.gql(Some(&owner.token), search, json!({ "ws": ws, "s": { "text": hostile } })).await;
            assert_eq!(code(&data), None, "{hostile}: {data}");
        }
        assert_eq!(names(json!({ "tags": ["launch"] })).await, ["alpha", "charlie"]);
        assert_eq!(names(json!({ "tags": ["launch", "social"] })).await, ["charlie"]);
        assert_eq!(names(json!({ "tags": ["Français"] })).await, ["delta"]);
        assert_eq!(names(json!({ "category": "email" })).await, ["alpha", "bravo"]);
        assert_eq!(names(json!({ "category": "email", "text": "weekly" })).await, ["bravo"]);
        assert_eq!(names(json!({ "status": "DRAFT" })).await, ["echo"]);
        assert_eq!(names(json!({ "status": "PUBLISHED", "tags": ["launch"] })).await, ["alpha", "charlie"]);

        // Collections group prompts; search by collection.
        let collection = app
            .data(Some(&owner.token), "mutation($ws: ID!) { createCollection(workspaceId: $ws, name: \"Launches\") { id name } }", json!({ "ws": ws }))
            .await["createCollection"]["id"]
            .clone();
        assert_code(
            &app.gql(Some(&owner.token), "mutation($ws: ID!) { createCollection(workspaceId: $ws, name: \"Launches\") { id } }", json!({ "ws": ws })).await,
            "CONFLICT",
        );
        let list = app.data(Some(&owner.token), "query($ws: ID!) { workspace(id: $ws) { prompts(search: {tags: [\"launch\"]}) { nodes { id } } } }", json!({ "ws": ws })).await;
        for node in list["workspace"]["prompts"]["nodes"].as_array().unwrap() {
            let set = app
                .data(Some(&owner.token), "mutation($p: ID!, $c: [ID!]!) { setPromptCollections(promptId: $p, collectionIds: $c) { collections { name } } }", json!({ "p": node["id"], "c": [collection, collection] }))
                .await;
            assert_eq!(set["setPromptCollections"]["collections"], json!([{ "name": "Launches" }]));
        }
        assert_eq!(names(json!({ "collectionId": collection })).await, ["alpha", "charlie"]);
        let listed = app
            .data(Some(&team.viewer.token), "query($ws: ID!) { workspace(id: $ws) { collections { name prompts { name } } } }", json!({ "ws": ws }))
            .await;
        assert_eq!(listed["workspace"]["collections"], json!([{ "name": "Launches", "prompts": [{ "name": "alpha" }, { "name": "charlie" }] }]));
        // Another workspace's collection cannot be used.
        let foreign = app
            .data(Some(&team.outsider.token), "mutation($ws: ID!) { createCollection(workspaceId: $ws, name: \"Mine\") { id } }", json!({ "ws": team.outsider.personal_workspace }))
            .await["createCollection"]["id"]
            .clone();
        let first = &list["workspace"]["prompts"]["nodes"][0]["id"];
        assert_code(
            &app.gql(Some(&owner.token), "mutation($p: ID!, $c: [ID!]!) { setPromptCollections(promptId: $p, collectionIds: $c) { id } }", json!({ "p": first, "c": [foreign] })).await,
            "NOT_FOUND",
        );

        // Pages of two, by name, with the total counted across pages.
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let data = app.data(Some(&owner.token), search, json!({ "ws": ws, "first": 2, "after": after })).await;
            let page = &data["workspace"]["prompts"];
            assert_eq!(page["totalCount"], 5);
            seen.extend(page["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap().to_owned()));
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = page["pageInfo"]["endCursor"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, ["alpha", "bravo", "charlie", "delta", "echo"]);
        assert_code(&app.gql(Some(&owner.token), search, json!({ "ws": ws, "after": "Not A Cursor" })).await, "BAD_USER_INPUT");
        assert_code(&app.gql(Some(&owner.token), search, json!({ "ws": ws, "s": { "text": "x".repeat(201) } })).await, "BAD_USER_INPUT");
    })
    .await;
}

/// Both engines split text into the same words: letters and digits, split
/// on everything else, case folded, accents kept.
#[tokio::test]
async fn search_splits_words_alike_on_both_engines() {
    each_backend(async |app| {
        let team = app.team().await;
        let owner = &team.owner;
        let ws = team.workspace.as_str();
        for (name, title, description, tags) in [
            ("cafe", "Café CRÈME", "Write to jane.doe@acme.com", json!(["well-known"])),
            ("site", "Landing copy", "For https://docs.example.io/start?x=1", json!(["snake_case"])),
            ("plain", "Cafe menu", "c++ and 🚀rocket v1.4", json!([])),
        ] {
            app.data(
                Some(&owner.token),
                CREATE,
                json!({ "ws": ws, "name": name, "title": title, "body": "Text", "d": description, "tags": tags }),
            )
            .await;
        }
        let search = "query($ws: ID!, $s: PromptSearch) { workspace(id: $ws) { prompts(search: $s) { nodes { name } } } }";
        for (text, expected) in [
            ("café", vec!["cafe"]),
            ("CAFÉ crème", vec!["cafe"]),
            ("cafe", vec!["plain"]),
            ("jane", vec!["cafe"]),
            ("acme com", vec!["cafe"]),
            ("jane.doe@acme.com", vec!["cafe"]),
            ("known", vec!["cafe"]),
            ("well-known", vec!["cafe"]),
            ("docs example", vec!["site"]),
            ("io start", vec!["site"]),
            ("https", vec!["site"]),
            ("case", vec!["site"]),
            ("snake", vec!["site"]),
            ("rocket", vec!["plain"]),
            ("c", vec!["cafe", "plain", "site"]),
            ("v1 4", vec!["plain"]),
            ("mail", vec![]),
        ] {
            let data = app.data(Some(&owner.token), search, json!({ "ws": ws, "s": { "text": text } })).await;
            let names: Vec<&str> = data["workspace"]["prompts"]["nodes"].as_array().unwrap().iter().map(|n| n["name"].as_str().unwrap()).collect();
            assert_eq!(names, expected, "{text}");
        }
    })
    .await;
}

/// Two publications of one draft: one version, the other refused. Many
/// creations of one name: one prompt.
#[tokio::test]
async fn concurrent_publications_and_creations_keep_versions_and_names_unique() {
    each_backend(async |app| {
        let team = app.team().await;
        let created = create(&app, &team.owner, &team.workspace, "raced", "Body").await;
        let id = created["id"].clone();
        let tokens = [&team.owner, &team.admin, &team.owner, &team.admin];
        let attempts = tokens.iter().map(|user| {
            app.gql(
                Some(&user.token),
                PUBLISH,
                json!({ "p": id, "bump": "MAJOR" }),
            )
        });
        let outcomes = futures_util::future::join_all(attempts).await;
        let published: Vec<&Value> = outcomes.iter().filter(|o| code(o).is_none()).collect();
        assert_eq!(published.len(), 1, "{outcomes:?}");
        assert_eq!(published[0]["data"]["publishPrompt"]["version"], "1.0.0");
        assert!(
            outcomes
                .iter()
                .filter(|o| code(o).is_some())
                .all(|o| code(o).as_deref() == Some("CONFLICT")),
            "{outcomes:?}"
        );
        let versions = app
            .query_strings(&format!(
                "SELECT CAST(COUNT(*) AS TEXT) FROM prompt_versions WHERE prompt_id = '{}'",
                id.as_str().unwrap()
            ))
            .await;
        assert_eq!(versions, ["1"]);

        let attempts = tokens.iter().map(|user| {
            app.gql(
                Some(&user.token),
                CREATE,
                json!({ "ws": team.workspace, "name": "same-name", "title": "T", "body": "B" }),
            )
        });
        let outcomes = futures_util::future::join_all(attempts).await;
        assert_eq!(
            outcomes.iter().filter(|o| code(o).is_none()).count(),
            1,
            "{outcomes:?}"
        );
        assert!(
            outcomes
                .iter()
                .filter(|o| code(o).is_some())
                .all(|o| code(o).as_deref() == Some("CONFLICT")),
            "{outcomes:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn the_owner_alone_switches_the_mode_and_type_is_set_at_creation_or_update() {
    each_backend(async |app| {
        let team = app.team().await;
        let set = "mutation($ws: ID!, $m: WorkspaceMode!) { setWorkspaceMode(workspaceId: $ws, mode: $m) { mode } }";
        assert_code(&app.gql(Some(&team.admin.token), set, json!({ "ws": team.workspace, "m": "TRADITIONAL" })).await, "FORBIDDEN");
        let read = "query($ws: ID!) { workspace(id: $ws) { mode type } }";
        assert_eq!(app.data(Some(&team.admin.token), read, json!({ "ws": team.workspace })).await["workspace"], json!({ "mode": "AGENTIC", "type": "MY_BRAND" }));
        let switched = app.data(Some(&team.owner.token), set, json!({ "ws": team.workspace, "m": "TRADITIONAL" })).await;
        assert_eq!(switched["setWorkspaceMode"]["mode"], "TRADITIONAL");
        assert_eq!(app.data(Some(&team.viewer.token), read, json!({ "ws": team.workspace })).await["workspace"]["mode"], "TRADITIONAL");
        let typed = app
            .data(Some(&team.admin.token), "mutation($ws: ID!) { updateWorkspace(input: {id: $ws, type: CLIENT}) { type } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(typed["updateWorkspace"]["type"], "CLIENT");
        let feed = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { activity(first: 2) { nodes { action changes } } } }", json!({ "ws": team.workspace }))
            .await;
        assert_eq!(feed["workspace"]["activity"]["nodes"], json!([
            { "action": "workspace.updated", "changes": { "type": { "before": "MY_BRAND", "after": "CLIENT" } } },
            { "action": "workspace.mode_changed", "changes": { "mode": { "before": "AGENTIC", "after": "TRADITIONAL" } } },
        ]));
        let made = app
            .data(Some(&team.outsider.token), "mutation { createWorkspace(input: {name: \"Client Co\", type: CLIENT, mode: TRADITIONAL}) { type mode } }", json!({}))
            .await;
        assert_eq!(made["createWorkspace"], json!({ "type": "CLIENT", "mode": "TRADITIONAL" }));
    })
    .await;
}

/// The feed shows that a prompt was made or drafted to everyone in
/// PROJECTS, but its title and variables only to those who may edit prompts.
#[tokio::test]
async fn prompt_event_changes_show_only_to_prompt_editors() {
    each_backend(async |app| {
        let team = app.team().await;
        create(&app, &team.member, &team.workspace, "secret-plan", "About {{launch}}").await;
        let feed = "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"prompt.created\"]}) { nodes { action changes } } } }";
        let seen = app.data(Some(&team.admin.token), feed, json!({ "ws": team.workspace })).await;
        assert_eq!(seen["workspace"]["activity"]["nodes"][0]["changes"]["name"]["after"], "secret-plan");
        let seen = app.data(Some(&team.viewer.token), feed, json!({ "ws": team.workspace })).await;
        assert_eq!(seen["workspace"]["activity"]["nodes"][0]["action"], "prompt.created");
        assert_eq!(seen["workspace"]["activity"]["nodes"][0]["changes"], Value::Null);
    })
    .await;
}
