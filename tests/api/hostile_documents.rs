//! Documents and values an attacker would send: fragment bombs, giant
//! documents, NUL and control characters in every string argument, values
//! out of range, missing variables; and the order of response keys.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

/// `fragment Fk { ...F(k-1) ...F(k-1) }`: 2^levels fields once expanded.
fn fragment_bomb(levels: usize, leaf: &str) -> String {
    let mut document =
        format!("query {{ me {{ ...F{levels} }} }} fragment F0 on User {{ {leaf} }}");
    for k in 1..=levels {
        document.push_str(&format!(
            " fragment F{k} on User {{ ...F{} ...F{} }}",
            k - 1,
            k - 1
        ));
    }
    document
}

#[tokio::test]
async fn fragment_bombs_are_refused_at_once() {
    each_backend(async |app| {
        for (levels, leaf) in [(25, "id"), (30, "id"), (31, "...Unknown"), (60, "id")] {
            let started = Instant::now();
            let response = app.gql(None, &fragment_bomb(levels, leaf), json!({})).await;
            let took = started.elapsed();
            assert_code(&response, "QUERY_TOO_COMPLEX");
            assert!(
                took < Duration::from_secs(1),
                "{levels} levels took {took:?}"
            );
        }
        // The server is not busy afterwards.
        let started = Instant::now();
        let response = app.gql(None, "{ __typename }", json!({})).await;
        assert_eq!(response["data"]["__typename"], "Query");
        assert!(started.elapsed() < Duration::from_secs(1));
    })
    .await;
}

#[tokio::test]
async fn large_documents_of_every_shape_are_refused_quickly() {
    each_backend(async |app| {
        let near_mib = 1 << 20;
        let shapes = [
            // Deep nesting.
            format!(
                "query {{ me {} }}",
                "{ a ".repeat(20_000) + &"}".repeat(20_000)
            ),
            // Many aliases of one field.
            format!(
                "query {{ {} }}",
                "a: __typename ".repeat(near_mib / 14 - 10)
            ),
            // Many operations.
            (0..20_000)
                .map(|i| format!("query q{i} {{ me {{ id }} }} "))
                .collect(),
            // Many arguments.
            format!(
                "query {{ me(a: 1{}) {{ id }} }}",
                ", a: 1".repeat(near_mib / 7 - 10)
            ),
            // Many unused fragments.
            (0..20_000)
                .map(|i| format!("fragment f{i} on User {{ id }} "))
                .collect::<String>()
                + "query { me { id } }",
        ];
        for document in shapes {
            assert!(document.len() <= near_mib, "{}", document.len());
            let started = Instant::now();
            let response = app.gql(None, &document, json!({})).await;
            let took = started.elapsed();
            let code = code(&response).expect("refused");
            assert!(
                code == "QUERY_TOO_COMPLEX" || code == "BAD_USER_INPUT",
                "{code}"
            );
            assert!(took < Duration::from_secs(1), "took {took:?}");
            let text = response.to_string();
            assert!(text.len() < 32 << 10, "a {} byte answer", text.len());
        }
    })
    .await;
}

#[tokio::test]
async fn every_alias_counts_towards_the_field_limit() {
    each_backend(async |app| {
        let aliases: String = (0..2_000).map(|i| format!(" a{i}: __typename")).collect();
        let response = app.gql(None, &format!("{{{aliases} }}"), json!({})).await;
        assert_code(&response, "QUERY_TOO_COMPLEX");
        let few: String = (0..100).map(|i| format!(" a{i}: __typename")).collect();
        let response = app.gql(None, &format!("{{{few} }}"), json!({})).await;
        assert_eq!(response["data"]["a99"], "Query");
    })
    .await;
}

#[tokio::test]
async fn errors_are_capped() {
    each_backend(async |app| {
        let variables: String = (0..2_000).map(|i| format!(" $v{i}: Int")).collect();
        let document = format!("query({variables}) {{ __typename }}");
        let response = app.gql(None, &document, json!({})).await;
        let errors = response["errors"].as_array().expect("errors");
        assert!(errors.len() <= 20, "{} errors", errors.len());
        assert!(
            errors.last().unwrap()["message"]
                .as_str()
                .unwrap()
                .contains("more errors left out")
        );
        assert!(response.to_string().len() < 8 << 10);
        assert_code(&response, "BAD_USER_INPUT");
    })
    .await;
}

#[tokio::test]
async fn values_out_of_range_and_missing_variables_are_bad_input() {
    each_backend(async |app| {
        let user = app.sign_up("Range").await;
        let ws = &user.personal_workspace;
        let inline = app
            .gql(
                Some(&user.token),
                "query($ws: ID!) { workspace(id: $ws) { activity(first: 2147483648) { nodes { id } } } }",
                json!({ "ws": ws }),
            )
            .await;
        assert_code(&inline, "BAD_USER_INPUT");
        let variable = app
            .gql(
                Some(&user.token),
                "query($ws: ID!, $n: Int) { workspace(id: $ws) { activity(first: $n) { nodes { id } } } }",
                json!({ "ws": ws, "n": 2147483648u64 }),
            )
            .await;
        assert_code(&variable, "BAD_USER_INPUT");
        let wrong_type = app
            .gql(
                Some(&user.token),
                "query($ws: ID!, $n: Int) { workspace(id: $ws) { activity(first: $n) { nodes { id } } } }",
                json!({ "ws": ws, "n": "many" }),
            )
            .await;
        assert_code(&wrong_type, "BAD_USER_INPUT");
        let missing = app
            .gql(
                Some(&user.token),
                "query($ws: ID!) { workspace(id: $ws) { id } }",
                json!({}),
            )
            .await;
        assert_code(&missing, "BAD_USER_INPUT");
        assert!(missing["data"].is_null());
    })
    .await;
}

#[tokio::test]
async fn response_keys_follow_the_selection_set() {
    each_backend(async |app| {
        let team = app.team().await;
        let query = "query($ws: ID!) {
            workspaces { id }
            me { name id email }
            z: workspace(id: $ws) { plan ...Names id slug seats { limit used pending }
              members(first: 10) { nodes { role user { name id } id } pageInfo { endCursor hasNextPage } } }
            a: me { id }
        }
        fragment Names on Workspace { name description }";
        let expected = [
            "workspaces", "me", "z", "a",
        ];
        let mut seen = std::collections::HashSet::new();
        for _ in 0..50 {
            let response = app
                .http()
                .post(app.url("/graphql"))
                .bearer_auth(&team.owner.token)
                .json(&json!({ "query": query, "variables": { "ws": team.workspace } }))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            seen.insert(response);
        }
        assert_eq!(seen.len(), 1, "{} different answers", seen.len());
        let text = seen.into_iter().next().unwrap();
        // The order of keys as written, read from the raw text.
        let position = |key: &str| text.find(&format!("\"{key}\":")).unwrap();
        for pair in expected.windows(2) {
            assert!(position(pair[0]) < position(pair[1]), "{text}");
        }
        let ws_keys = ["plan", "name", "description", "id", "slug", "seats", "members"];
        let start = position("z");
        let at = |key: &str| start + text[start..].find(&format!("\"{key}\":")).unwrap();
        for pair in ws_keys.windows(2) {
            assert!(at(pair[0]) < at(pair[1]), "{} before {}: {text}", pair[0], pair[1]);
        }
        assert!(at("limit") < at("used") && at("used") < at("pending"));
        assert!(at("role") < at("user") && at("endCursor") < at("hasNextPage"));
    })
    .await;
}

#[tokio::test]
async fn control_characters_in_text_are_refused() {
    each_backend(async |app| {
        let user = app.sign_up("Text").await;
        let create = "mutation($name: String!) { createWorkspace(input: {name: $name}) { id name } }";
        for name in [
            "Evil\r\nBcc: attacker@evil.io\r\n\r\nInjected body",
            "line\nbreak",
            "tab\there",
            "bell\u{7}",
            "escape\u{1b}[31m",
            "nul\u{0}",
            "next line\u{85}",
        ] {
            let response = app.gql(Some(&user.token), create, json!({ "name": name })).await;
            assert_code(&response, "BAD_USER_INPUT");
        }
        // Trimmed and NFC-normalised: "e" + combining acute is "é".
        let made = app
            .data(Some(&user.token), create, json!({ "name": "  Cafe\u{301}  " }))
            .await;
        assert_eq!(made["createWorkspace"]["name"], "Caf\u{e9}");
        let ws = made["createWorkspace"]["id"].as_str().unwrap().to_owned();

        // Descriptions keep line feeds and tabs, and nothing else of the
        // control characters.
        let update = "mutation($id: ID!, $d: String) { updateWorkspace(input: {id: $id, description: $d}) { description } }";
        let kept = app
            .data(Some(&user.token), update, json!({ "id": ws, "d": "one\n\ttwo" }))
            .await;
        assert_eq!(kept["updateWorkspace"]["description"], "one\n\ttwo");
        for d in ["one\r\ntwo", "bell\u{7}", "\u{1b}[2J"] {
            assert_code(
                &app.gql(Some(&user.token), update, json!({ "id": ws, "d": d })).await,
                "BAD_USER_INPUT",
            );
        }
        // Ids, slugs, e-mails, cursors and confirmations are single lines.
        let checks = [
            ("query($v: ID!) { workspace(id: $v) { id } }", json!({ "v": format!("{ws}\n") })),
            ("query($v: String!) { workspace(slug: $v) { id } }", json!({ "v": "a\tb" })),
            (
                "query($ws: ID!, $v: String) { workspace(id: $ws) { members(after: $v) { nodes { id } } } }",
                json!({ "ws": ws, "v": "x\ny" }),
            ),
            (
                "mutation($ws: ID!, $v: String!) { deleteWorkspace(id: $ws, confirmName: $v) { id } }",
                json!({ "ws": ws, "v": "Caf\u{e9}\n" }),
            ),
            (
                "mutation($v: String!) { logIn(input: {email: $v, password: \"whatever1\"}) { accessToken } }",
                json!({ "v": "a@b.co\nBcc: c@d.co" }),
            ),
        ];
        for (query, vars) in checks {
            assert_code(&app.gql(Some(&user.token), query, vars).await, "BAD_USER_INPUT");
        }
    })
    .await;
}

/// The argument types of every Query and Mutation field, from introspection.
const INTROSPECT: &str = "{ __schema {
    queryType { name } mutationType { name }
    types { name kind
      fields { name args { name type { ...T } } type { ...T } }
      inputFields { name type { ...T } }
      enumValues { name } } } }
  fragment T on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

struct Types(Value);

impl Types {
    fn named(&self, name: &str) -> &Value {
        self.0["types"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap()
    }

    /// A plausible value of a type; `poison` names the path (within it)
    /// whose string gets a NUL, or "" for the value itself.
    fn value(
        &self,
        ty: &Value,
        fill: &Value,
        poison: Option<&[String]>,
        found: &mut Vec<Vec<String>>,
        path: Vec<String>,
    ) -> Value {
        match ty["kind"].as_str().unwrap() {
            "NON_NULL" => self.value(&ty["ofType"], fill, poison, found, path),
            "LIST" => json!([self.value(&ty["ofType"], fill, poison, found, path)]),
            "SCALAR" => match ty["name"].as_str().unwrap() {
                "String" | "ID" => {
                    found.push(path.clone());
                    let base = fill
                        .get(path.last().map(String::as_str).unwrap_or_default())
                        .and_then(Value::as_str)
                        .unwrap_or("x")
                        .to_owned();
                    if poison == Some(&path[..]) {
                        json!(format!("{base}\u{0}"))
                    } else {
                        json!(base)
                    }
                }
                "Int" => json!(1),
                "Boolean" => json!(false),
                "DateTime" => json!("2030-01-01T00:00:00Z"),
                _ => json!("x"),
            },
            "ENUM" => {
                let t = self.named(ty["name"].as_str().unwrap());
                t["enumValues"][0]["name"].clone()
            }
            "INPUT_OBJECT" => {
                let t = self.named(ty["name"].as_str().unwrap());
                let mut object = serde_json::Map::new();
                for field in t["inputFields"].as_array().unwrap() {
                    let name = field["name"].as_str().unwrap().to_owned();
                    let mut inner = path.clone();
                    inner.push(name.clone());
                    if path.len() < 4 {
                        object.insert(name, self.value(&field["type"], fill, poison, found, inner));
                    }
                }
                Value::Object(object)
            }
            other => panic!("input kind {other}"),
        }
    }
}

fn type_text(ty: &Value) -> String {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" => format!("{}!", type_text(&ty["ofType"])),
        "LIST" => format!("[{}]", type_text(&ty["ofType"])),
        _ => ty["name"].as_str().unwrap().to_owned(),
    }
}

fn returns_object(ty: &Value) -> bool {
    match ty["kind"].as_str().unwrap() {
        "NON_NULL" | "LIST" => returns_object(&ty["ofType"]),
        kind => matches!(kind, "OBJECT" | "INTERFACE" | "UNION"),
    }
}

#[tokio::test]
async fn a_nul_in_any_string_argument_is_bad_input() {
    each_backend(async |app| {
        let team = app.team().await;
        let schema = app.data(None, INTROSPECT, json!({})).await;
        let types = Types(schema["__schema"].clone());
        // Real ids where an argument names one, so that the NUL is all that
        // is wrong with the request.
        let fill = json!({
            "id": team.workspace, "workspaceId": team.workspace, "ws": team.workspace,
            "email": "fresh@example.com", "password": "long enough password", "name": "Name",
        });
        let mut swept = 0;
        for (root, keyword) in [("queryType", "query"), ("mutationType", "mutation")] {
            let root_name = schema["__schema"][root]["name"].as_str().unwrap();
            for field in types.named(root_name)["fields"].as_array().unwrap() {
                let name = field["name"].as_str().unwrap();
                let args = field["args"].as_array().unwrap();
                // Every string leaf of every argument, one at a time.
                let mut leaves = Vec::new();
                for arg in args {
                    let arg_name = arg["name"].as_str().unwrap().to_owned();
                    types.value(&arg["type"], &fill, None, &mut leaves, vec![arg_name]);
                }
                for leaf in leaves {
                    let mut variables = serde_json::Map::new();
                    let mut definitions = Vec::new();
                    let mut uses = Vec::new();
                    for arg in args {
                        let arg_name = arg["name"].as_str().unwrap().to_owned();
                        let value = types.value(
                            &arg["type"],
                            &fill,
                            Some(&leaf),
                            &mut Vec::new(),
                            vec![arg_name.clone()],
                        );
                        definitions.push(format!("${arg_name}: {}", type_text(&arg["type"])));
                        uses.push(format!("{arg_name}: ${arg_name}"));
                        variables.insert(arg_name, value);
                    }
                    let selection = if returns_object(&field["type"]) {
                        " { __typename }"
                    } else {
                        ""
                    };
                    let document = format!(
                        "{keyword}({}) {{ {name}({}){selection} }}",
                        definitions.join(", "),
                        uses.join(", ")
                    );
                    let response = app
                        .gql(Some(&team.owner.token), &document, Value::Object(variables))
                        .await;
                    assert_eq!(
                        code(&response).as_deref(),
                        Some("BAD_USER_INPUT"),
                        "{name} with a NUL at {leaf:?}: {response}"
                    );
                    swept += 1;
                }
            }
        }
        assert!(swept > 30, "only {swept} string arguments");
        // The workspace is as it was.
        let ws = app
            .data(
                Some(&team.owner.token),
                "query($ws: ID!) { workspace(id: $ws) { name } }",
                json!({ "ws": team.workspace }),
            )
            .await;
        assert_eq!(ws["workspace"]["name"], "Team Space");
    })
    .await;
}

#[tokio::test]
async fn the_whole_document_is_held_to_the_field_limit() {
    each_backend(async |app| {
        // One fragment of ~500 fields, spread by thousands of operations or
        // of unused fragments: each alone is within the limit, the document
        // is not (every operation and fragment is validated).
        let fields: String = (0..500).map(|i| format!(" a{i}: __typename")).collect();
        let operations: String = (0..5_000).map(|i| format!("query q{i} {{ ...G }} ")).collect();
        let unused: String = (0..5_000).map(|i| format!("fragment f{i} on Query {{ ...G }} ")).collect();
        for document in [
            format!("fragment G on Query {{{fields} }} {operations}"),
            format!("fragment G on Query {{{fields} }} {unused} query {{ __typename }}"),
        ] {
            let started = Instant::now();
            let response = app.gql(None, &document, json!({})).await;
            assert_code(&response, "QUERY_TOO_COMPLEX");
            assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
        }
        // Large values count too: in the document and in the variables.
        let actions: Vec<String> = (0..20_000).map(|i| format!("\"a{i}\"")).collect();
        let document = format!(
            "query($ws: ID!) {{ workspace(id: $ws) {{ activity(filter: {{actions: [{}]}}) {{ nodes {{ id }} }} }} }}",
            actions.join(",")
        );
        assert_code(&app.gql(None, &document, json!({ "ws": "x" })).await, "QUERY_TOO_COMPLEX");
        let list: Vec<String> = (0..20_000).map(|i| format!("a{i}")).collect();
        let response = app
            .gql(
                None,
                "query($ws: ID!, $a: [String!]) { workspace(id: $ws) { activity(filter: {actions: $a}) { nodes { id } } } }",
                json!({ "ws": "x", "a": list }),
            )
            .await;
        assert_code(&response, "QUERY_TOO_COMPLEX");
    })
    .await;
}
