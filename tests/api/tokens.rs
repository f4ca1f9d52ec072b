//! Access tokens: only a well-signed HS256 token with the right issuer,
//! audience and times identifies a caller; anything else is UNAUTHENTICATED.

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use serde_json::{Value, json};

use crate::helpers::*;

fn sign(claims: &Value, secret: &str, alg: Algorithm) -> String {
    encode(
        &Header::new(alg),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("token signs")
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

fn claims(sub: &str) -> Value {
    let now = Utc::now().timestamp();
    json!({ "sub": sub, "iss": "atrium", "aud": "atrium-api", "iat": now, "nbf": now, "exp": now + 600 })
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base[key] = value;
    base
}

fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().expect("object").remove(key);
    base
}

#[tokio::test]
async fn invalid_access_tokens_are_refused() {
    each_backend(async |app| {
        let user = app.sign_up("Tess").await;
        let good = claims(&user.id);
        let now = Utc::now().timestamp();

        // A token we sign ourselves with the server's key works.
        let valid = sign(&good, TEST_SECRET, Algorithm::HS256);
        let me = app.data(Some(&valid), "{ me { id } }", json!({})).await;
        assert_eq!(me["me"]["id"], user.id.as_str());

        let header_none = base64url(br#"{"alg":"none","typ":"JWT"}"#);
        let body = base64url(good.to_string().as_bytes());
        let unsigned = format!("{header_none}.{body}.");

        let cases = [
            ("alg none", unsigned),
            (
                "bad signature",
                sign(
                    &good,
                    "another-secret-another-secret-another",
                    Algorithm::HS256,
                ),
            ),
            ("HS512", sign(&good, TEST_SECRET, Algorithm::HS512)),
            (
                "wrong audience",
                sign(
                    &with(good.clone(), "aud", json!("other")),
                    TEST_SECRET,
                    Algorithm::HS256,
                ),
            ),
            (
                "wrong issuer",
                sign(
                    &with(good.clone(), "iss", json!("evil")),
                    TEST_SECRET,
                    Algorithm::HS256,
                ),
            ),
            (
                "no audience",
                sign(&without(good.clone(), "aud"), TEST_SECRET, Algorithm::HS256),
            ),
            (
                "no issuer",
                sign(&without(good.clone(), "iss"), TEST_SECRET, Algorithm::HS256),
            ),
            (
                "no subject",
                sign(&without(good.clone(), "sub"), TEST_SECRET, Algorithm::HS256),
            ),
            (
                "no expiry",
                sign(&without(good.clone(), "exp"), TEST_SECRET, Algorithm::HS256),
            ),
            (
                "expired beyond leeway",
                sign(
                    &with(good.clone(), "exp", json!(now - 31)),
                    TEST_SECRET,
                    Algorithm::HS256,
                ),
            ),
            (
                "not yet valid",
                sign(
                    &with(good.clone(), "nbf", json!(now + 120)),
                    TEST_SECRET,
                    Algorithm::HS256,
                ),
            ),
            ("garbage", "not.a.token".to_owned()),
        ];
        for (name, token) in cases {
            let response = app.gql(Some(&token), "{ me { id } }", json!({})).await;
            assert_eq!(
                code(&response).as_deref(),
                Some("UNAUTHENTICATED"),
                "{name}: {response}"
            );
            assert!(response["data"].is_null(), "{name}: nothing runs");
        }
    })
    .await;
}

#[tokio::test]
async fn a_malformed_authorization_header_is_an_error_not_anonymous() {
    each_backend(async |app| {
        let user = app.sign_up("Hal").await;
        let response = app
            .http()
            .post(app.url("/graphql"))
            .header("authorization", format!("Basic {}", user.token))
            .json(&json!({ "query": "mutation { signUp(input: {email: \"x@example.com\", password: \"longenough\", name: \"X\"}) { user { id } } }" }))
            .send()
            .await
            .unwrap()
            .json::<Value>()
            .await
            .unwrap();
        assert_code(&response, "UNAUTHENTICATED");
        // The mutation did not run.
        let log_in = app
            .gql(
                None,
                "mutation { logIn(input: {email: \"x@example.com\", password: \"longenough\"}) { user { id } } }",
                json!({}),
            )
            .await;
        assert_code(&log_in, "UNAUTHENTICATED");
    })
    .await;
}

#[tokio::test]
async fn the_token_says_who_not_what_roles_come_from_the_database() {
    use entity::member;
    use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, sea_query::Expr};

    each_backend(async |app| {
        let team = app.team().await;
        let rename =
            "mutation($id: ID!) { updateWorkspace(input: {id: $id, name: \"Renamed\"}) { name } }";
        let ok = app
            .gql(
                Some(&team.admin.token),
                rename,
                json!({ "id": team.workspace }),
            )
            .await;
        assert_eq!(code(&ok), None, "{ok}");

        // Demote the admin in the database; the same token loses the right at once.
        member::Entity::update_many()
            .col_expr(member::Column::Role, Expr::value("VIEWER"))
            .filter(member::Column::UserId.eq(&team.admin.id))
            .filter(member::Column::WorkspaceId.eq(&team.workspace))
            .exec(&app.state.db)
            .await
            .unwrap();
        let refused = app
            .gql(
                Some(&team.admin.token),
                rename,
                json!({ "id": team.workspace }),
            )
            .await;
        assert_code(&refused, "FORBIDDEN");

        // Remove the membership; the workspace disappears for that token.
        member::Entity::delete_many()
            .filter(member::Column::UserId.eq(&team.admin.id))
            .filter(member::Column::WorkspaceId.eq(&team.workspace))
            .exec(&app.state.db)
            .await
            .unwrap();
        let gone = app
            .gql(
                Some(&team.admin.token),
                "query($id: ID!) { workspace(id: $id) { id } }",
                json!({ "id": team.workspace }),
            )
            .await;
        assert_code(&gone, "NOT_FOUND");
    })
    .await;
}
