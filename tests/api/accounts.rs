use std::time::Duration;

use serde_json::json;

use crate::helpers::*;

const SIGN_UP: &str = "mutation($input: SignUpInput!) { signUp(input: $input) {
    accessToken refreshToken expiresAt user { id email name } } }";
const LOG_IN: &str = "mutation($input: LogInInput!) { logIn(input: $input) {
    accessToken refreshToken user { id } } }";
const REFRESH: &str = "mutation($t: String!) { refreshSession(refreshToken: $t) {
    accessToken refreshToken user { id } } }";

#[tokio::test]
async fn sign_up_normalizes_email_and_signs_in_with_a_personal_workspace() {
    each_backend(async |app| {
        let data = app
            .data(
                None,
                SIGN_UP,
                json!({ "input": { "email": "  Ada@Example.COM ", "password": PASSWORD, "name": " Ada " } }),
            )
            .await;
        let payload = &data["signUp"];
        assert_eq!(payload["user"]["email"], "ada@example.com");
        assert_eq!(payload["user"]["name"], "Ada");
        let token = payload["accessToken"].as_str().unwrap();
        let me = app
            .data(
                Some(token),
                "{ me { id email } workspaces { name personal plan viewerMember { role } } }",
                json!({}),
            )
            .await;
        assert_eq!(me["me"]["id"], payload["user"]["id"]);
        let workspaces = me["workspaces"].as_array().unwrap();
        assert_eq!(workspaces.len(), 1);
        assert_eq!(workspaces[0]["personal"], true);
        assert_eq!(workspaces[0]["plan"], "FREE_TRIAL");
        assert_eq!(workspaces[0]["viewerMember"]["role"], "OWNER");
        assert_eq!(workspaces[0]["name"], "Ada's workspace");

        // The same address in another case is taken.
        let again = app
            .gql(
                None,
                SIGN_UP,
                json!({ "input": { "email": "ADA@example.com", "password": PASSWORD, "name": "Ada 2" } }),
            )
            .await;
        assert_code(&again, "CONFLICT");
    })
    .await;
}

#[tokio::test]
async fn sign_up_rejects_bad_input() {
    each_backend(async |app| {
        for (email, password, name) in [
            ("not-an-email", PASSWORD, "A"),
            ("a@b", PASSWORD, "A"),
            ("a b@example.com", PASSWORD, "A"),
            ("short@example.com", "1234567", "A"),
            ("noname@example.com", PASSWORD, "   "),
        ] {
            let response = app
                .gql(
                    None,
                    SIGN_UP,
                    json!({ "input": { "email": email, "password": password, "name": name } }),
                )
                .await;
            assert_code(&response, "BAD_USER_INPUT");
        }
        // Nothing was created by the refused sign-ups.
        let log_in = app
            .gql(
                None,
                LOG_IN,
                json!({ "input": { "email": "short@example.com", "password": "1234567" } }),
            )
            .await;
        assert_code(&log_in, "UNAUTHENTICATED");
    })
    .await;
}

#[tokio::test]
async fn log_in_gives_the_same_answer_for_unknown_email_and_wrong_password() {
    each_backend(async |app| {
        let user = app.sign_up("Grace").await;
        let ok = app
            .data(
                None,
                LOG_IN,
                json!({ "input": { "email": user.email.to_uppercase(), "password": PASSWORD } }),
            )
            .await;
        assert_eq!(ok["logIn"]["user"]["id"], user.id.as_str());

        let wrong_password = app
            .gql(
                None,
                LOG_IN,
                json!({ "input": { "email": user.email, "password": "wrong password" } }),
            )
            .await;
        let unknown = app
            .gql(
                None,
                LOG_IN,
                json!({ "input": { "email": "nobody@example.com", "password": PASSWORD } }),
            )
            .await;
        assert_code(&wrong_password, "UNAUTHENTICATED");
        assert_code(&unknown, "UNAUTHENTICATED");
        assert_eq!(
            wrong_password["errors"][0]["message"],
            unknown["errors"][0]["message"]
        );
    })
    .await;
}

#[tokio::test]
async fn me_needs_a_session() {
    each_backend(async |app| {
        let response = app.gql(None, "{ me { id } }", json!({})).await;
        assert_code(&response, "UNAUTHENTICATED");
    })
    .await;
}

#[tokio::test]
async fn refresh_rotates_the_token() {
    each_backend(async |app| {
        let user = app.sign_up("Rita").await;
        let first = app
            .data(None, REFRESH, json!({ "t": user.refresh_token }))
            .await;
        let next = first["refreshSession"]["refreshToken"].as_str().unwrap();
        assert_ne!(next, user.refresh_token);
        let access = first["refreshSession"]["accessToken"].as_str().unwrap();
        let me = app.data(Some(access), "{ me { id } }", json!({})).await;
        assert_eq!(me["me"]["id"], user.id.as_str());
        // The new token renews again.
        let second = app.data(None, REFRESH, json!({ "t": next })).await;
        assert!(second["refreshSession"]["refreshToken"].is_string());
        // A made-up token is refused.
        let bogus = app.gql(None, REFRESH, json!({ "t": "f".repeat(64) })).await;
        assert_code(&bogus, "UNAUTHENTICATED");
    })
    .await;
}

#[tokio::test]
async fn reusing_a_rotated_refresh_token_revokes_the_session() {
    each_backend_with(
        |config| config.refresh_reuse_grace = Duration::ZERO,
        async |app| {
            let user = app.sign_up("Mallory").await;
            let rotated = app
                .data(None, REFRESH, json!({ "t": user.refresh_token }))
                .await;
            let head = rotated["refreshSession"]["refreshToken"]
                .as_str()
                .unwrap()
                .to_owned();
            tokio::time::sleep(Duration::from_millis(20)).await;

            let reuse = app
                .gql(None, REFRESH, json!({ "t": user.refresh_token }))
                .await;
            assert_code(&reuse, "UNAUTHENTICATED");
            // The whole family is revoked: the newest token no longer works.
            let after = app.gql(None, REFRESH, json!({ "t": head })).await;
            assert_code(&after, "UNAUTHENTICATED");
            // Another session of the same user is untouched.
            let other = app
                .data(
                    None,
                    LOG_IN,
                    json!({ "input": { "email": user.email, "password": PASSWORD } }),
                )
                .await;
            let other_refresh = other["logIn"]["refreshToken"].as_str().unwrap();
            app.data(None, REFRESH, json!({ "t": other_refresh })).await;
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_of_one_token_yield_one_new_head() {
    each_backend(async |app| {
        let user = app.sign_up("Twin").await;
        let attempts = (0..6).map(|_| app.gql(None, REFRESH, json!({ "t": user.refresh_token })));
        let results = futures_util::future::join_all(attempts).await;
        let heads: Vec<&str> = results
            .iter()
            .filter_map(|r| r["data"]["refreshSession"]["refreshToken"].as_str())
            .collect();
        assert_eq!(heads.len(), 1, "exactly one refresh wins: {results:?}");
        for loser in results.iter().filter(|r| r["data"].is_null()) {
            assert_code(loser, "UNAUTHENTICATED");
        }
        // The winner's token is a live head of the session.
        app.data(None, REFRESH, json!({ "t": heads[0] })).await;
    })
    .await;
}

#[tokio::test]
async fn log_out_ends_the_session() {
    each_backend(async |app| {
        let user = app.sign_up("Leo").await;
        let out = app
            .data(
                None,
                "mutation($t: String!) { logOut(refreshToken: $t) }",
                json!({ "t": user.refresh_token }),
            )
            .await;
        assert_eq!(out["logOut"], true);
        let refresh = app
            .gql(None, REFRESH, json!({ "t": user.refresh_token }))
            .await;
        assert_code(&refresh, "UNAUTHENTICATED");
    })
    .await;
}

#[tokio::test]
async fn repeated_wrong_passwords_are_rate_limited() {
    each_backend(async |app| {
        let user = app.sign_up("Guessed").await;
        for _ in 0..10 {
            let wrong = app
                .gql(
                    None,
                    LOG_IN,
                    json!({ "input": { "email": user.email, "password": "guess guess" } }),
                )
                .await;
            assert_code(&wrong, "UNAUTHENTICATED");
        }
        // Even the right password waits now; other addresses are untouched.
        let right = app
            .gql(
                None,
                LOG_IN,
                json!({ "input": { "email": user.email, "password": PASSWORD } }),
            )
            .await;
        assert_code(&right, "RATE_LIMITED");
        let other = app.sign_up("Other").await;
        app.data(
            None,
            LOG_IN,
            json!({ "input": { "email": other.email, "password": PASSWORD } }),
        )
        .await;
    })
    .await;
}
