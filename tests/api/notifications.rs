//! Notification preferences (defaults members override), instant e-mails
//! of what each member may see, and digests sent once.

use chrono::{Datelike, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::*;

const READ: &str =
    "query($ws: ID!) { workspace(id: $ws) { notificationPreferences { category mode } } }";
const SET_OWN: &str = "mutation($ws: ID!, $p: [NotificationPreferenceInput!]!) { setNotificationPreferences(workspaceId: $ws, preferences: $p) { category mode } }";
const SET_DEFAULTS: &str = "mutation($ws: ID!, $p: [NotificationPreferenceInput!]!) { setDefaultNotificationPreferences(workspaceId: $ws, preferences: $p) { category mode } }";

fn mode_of(list: &Value, category: &str) -> String {
    list.as_array()
        .unwrap()
        .iter()
        .find(|p| p["category"] == category)
        .unwrap()["mode"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn subjects(app: &TestApp, user: &TestUser) -> Vec<String> {
    app.query_strings(&format!(
        "SELECT subject FROM mail_outbox WHERE recipient = '{}' ORDER BY created_at, id",
        user.email
    ))
    .await
}

#[tokio::test]
async fn members_override_the_workspace_defaults() {
    each_backend(async |app| {
        let team = app.team().await;
        let ws = json!(team.workspace);
        let read = app.data(Some(&team.viewer.token), READ, json!({ "ws": ws })).await;
        let list = &read["workspace"]["notificationPreferences"];
        assert_eq!(list.as_array().unwrap().len(), 7);
        assert_eq!(mode_of(list, "APPROVAL_REQUESTED"), "INSTANT");
        assert_eq!(mode_of(list, "PROMPT_PUBLISHED"), "DAILY");

        let defaults = app
            .data(Some(&team.admin.token), SET_DEFAULTS, json!({ "ws": ws, "p": [{ "category": "PROMPT_PUBLISHED", "mode": "WEEKLY" }] }))
            .await;
        assert_eq!(mode_of(&defaults["setDefaultNotificationPreferences"], "PROMPT_PUBLISHED"), "WEEKLY");
        let own = app
            .data(Some(&team.member.token), SET_OWN, json!({ "ws": ws, "p": [{ "category": "PROMPT_PUBLISHED", "mode": "INSTANT" }, { "category": "RUN_FINISHED", "mode": "OFF" }] }))
            .await;
        assert_eq!(mode_of(&own["setNotificationPreferences"], "PROMPT_PUBLISHED"), "INSTANT");
        assert_eq!(mode_of(&own["setNotificationPreferences"], "RUN_FINISHED"), "OFF");
        // Setting again replaces; the viewer keeps the default.
        app.data(Some(&team.member.token), SET_OWN, json!({ "ws": ws, "p": [{ "category": "RUN_FINISHED", "mode": "DAILY" }] })).await;
        let read = app.data(Some(&team.member.token), READ, json!({ "ws": ws })).await;
        assert_eq!(mode_of(&read["workspace"]["notificationPreferences"], "RUN_FINISHED"), "DAILY");
        assert_eq!(mode_of(&read["workspace"]["notificationPreferences"], "PROMPT_PUBLISHED"), "INSTANT");
        let read = app.data(Some(&team.viewer.token), READ, json!({ "ws": ws })).await;
        assert_eq!(mode_of(&read["workspace"]["notificationPreferences"], "PROMPT_PUBLISHED"), "WEEKLY");

        let twice = json!({ "ws": ws, "p": [{ "category": "RUN_FINISHED", "mode": "OFF" }, { "category": "RUN_FINISHED", "mode": "DAILY" }] });
        assert_code(&app.gql(Some(&team.member.token), SET_OWN, twice).await, "BAD_USER_INPUT");
        let one = json!({ "ws": ws, "p": [{ "category": "RUN_FINISHED", "mode": "OFF" }] });
        assert_code(&app.gql(Some(&team.member.token), SET_DEFAULTS, one.clone()).await, "FORBIDDEN");
        assert_code(&app.gql(Some(&team.outsider.token), SET_OWN, one.clone()).await, "NOT_FOUND");
        let key = app
            .data(Some(&team.owner.token), "mutation($ws: ID!) { createApiKey(input: {workspaceId: $ws, name: \"Bot\"}) { secret } }", json!({ "ws": ws }))
            .await["createApiKey"]["secret"]
            .as_str()
            .unwrap()
            .to_owned();
        assert_code(&app.gql(Some(&key), SET_OWN, one).await, "UNAUTHENTICATED");
        let feed = app
            .data(Some(&team.owner.token), "query($ws: ID!) { workspace(id: $ws) { activity(filter: {actions: [\"notification.defaults_changed\"]}) { nodes { changes } } } }", json!({ "ws": ws }))
            .await;
        assert_eq!(feed["workspace"]["activity"]["nodes"][0]["changes"]["PROMPT_PUBLISHED"], json!({ "before": "DAILY", "after": "WEEKLY" }));
    })
    .await;
}

#[tokio::test]
async fn instant_mails_reach_those_who_may_see_the_event_once() {
    each_backend(async |app| {
        let team = app.team().await;
        let ws = json!(team.workspace);
        app.data(Some(&team.member.token), SET_OWN, json!({ "ws": ws, "p": [{ "category": "PROMPT_PUBLISHED", "mode": "INSTANT" }] })).await;
        app.data(Some(&team.viewer.token), SET_OWN, json!({ "ws": ws, "p": [{ "category": "SETTINGS_CHANGED", "mode": "INSTANT" }, { "category": "PROMPT_PUBLISHED", "mode": "OFF" }] })).await;
        app.data(Some(&team.owner.token), SET_OWN, json!({ "ws": ws, "p": [{ "category": "PROMPT_PUBLISHED", "mode": "INSTANT" }] })).await;
        let prompt = app
            .data(Some(&team.owner.token), "mutation($ws: ID!) { createPrompt(input: {workspaceId: $ws, name: \"note\", title: \"Note\", body: \"B\"}) { id } }", json!({ "ws": ws }))
            .await["createPrompt"]["id"]
            .clone();
        app.data(Some(&team.owner.token), "mutation($p: ID!) { publishPrompt(promptId: $p, bump: PATCH) { version } }", json!({ "p": prompt })).await;
        // A plan change is BILLING: the viewer may not see it, so hears nothing of it.
        assert_eq!(code(&app.change_plan(&team.owner, &team.workspace, "GROWTH").await), None);
        app.data(Some(&team.owner.token), "mutation($ws: ID!) { updateWorkspace(input: {id: $ws, name: \"Team Space 2\"}) { id } }", json!({ "ws": ws })).await;

        let settled = Utc::now() + Duration::seconds(1);
        atrium::notifications::deliver::instant(&app.state.db, settled).await.unwrap();
        atrium::notifications::deliver::instant(&app.state.db, settled).await.unwrap();
        let member = subjects(&app, &team.member).await;
        // Named as the workspace is called when the mail goes.
        assert_eq!(member, ["Team Space 2: prompt.published"], "once, of what it chose");
        let viewer = subjects(&app, &team.viewer).await;
        assert_eq!(viewer, ["Team Space 2: workspace.updated"], "not the plan change it may not see");
        // Nobody hears of their own actions.
        assert!(subjects(&app, &team.owner).await.is_empty());
    })
    .await;
}

#[tokio::test]
async fn digests_gather_the_period_and_are_sent_once_even_when_raced() {
    each_backend(async |app| {
        let team = app.team().await;
        let ws = json!(team.workspace);
        let prompt = app
            .data(Some(&team.owner.token), "mutation($ws: ID!) { createPrompt(input: {workspaceId: $ws, name: \"brief\", title: \"Brief\", body: \"B\"}) { id } }", json!({ "ws": ws }))
            .await["createPrompt"]["id"]
            .clone();
        let save = "mutation($p: ID!, $b: String!) { savePromptDraft(promptId: $p, body: $b) { id } }";
        app.data(Some(&team.owner.token), save, json!({ "p": prompt, "b": "Two" })).await;
        app.data(Some(&team.owner.token), save, json!({ "p": prompt, "b": "Three" })).await;
        app.data(Some(&team.member.token), SET_OWN, json!({ "ws": ws, "p": [{ "category": "PROMPT_UPDATED", "mode": "WEEKLY" }] })).await;

        let tomorrow = Utc::now() + Duration::days(1);
        let db = &app.state.db;
        let (a, b) = tokio::join!(
            atrium::notifications::deliver::digests(db, tomorrow),
            atrium::notifications::deliver::digests(db, tomorrow)
        );
        a.unwrap();
        b.unwrap();
        let admin = subjects(&app, &team.admin).await;
        // The plan change and two joins of the team's setup, and the two drafts.
        assert_eq!(admin, ["Team Space: your daily digest (5 events)"], "one digest, raced or not");
        let body = app.query_strings(&format!("SELECT body FROM mail_outbox WHERE recipient = '{}'", team.admin.email)).await;
        assert_eq!(body[0].matches("prompt.draft_saved").count(), 2, "{}", body[0]);
        assert_eq!(body[0].matches("member.joined").count(), 2, "{}", body[0]);
        let owner = app.query_strings(&format!("SELECT body FROM mail_outbox WHERE recipient = '{}'", team.owner.email)).await;
        assert_eq!(owner.len(), 1, "the joins");
        assert!(!owner[0].contains("prompt.draft_saved"), "not its own events: {}", owner[0]);
        // The member chose WEEKLY for these: its daily digest leaves them out.
        let member = app.query_strings(&format!("SELECT body FROM mail_outbox WHERE recipient = '{}'", team.member.email)).await;
        assert!(member.iter().all(|b| !b.contains("prompt.draft_saved")), "{member:?}");

        // Sent already; the next day has nothing new.
        atrium::notifications::deliver::digests(db, tomorrow).await.unwrap();
        atrium::notifications::deliver::digests(db, tomorrow + Duration::days(1)).await.unwrap();
        assert_eq!(subjects(&app, &team.admin).await.len(), 1);
        // A new event goes in the next digest, alone.
        app.data(Some(&team.owner.token), save, json!({ "p": prompt, "b": "Four" })).await;
        atrium::notifications::deliver::digests(db, tomorrow + Duration::days(2)).await.unwrap();
        let admin = subjects(&app, &team.admin).await;
        assert_eq!(admin.len(), 2);
        assert_eq!(admin[1], "Team Space: your daily digest (1 events)");

        // Next Monday, the member's weekly digest holds the three drafts.
        let today = Utc::now().date_naive();
        let monday = today + Duration::days(7 - i64::from(today.weekday().num_days_from_monday()));
        let monday = monday.and_hms_opt(1, 0, 0).unwrap().and_utc();
        atrium::notifications::deliver::digests(db, monday).await.unwrap();
        let weekly = app
            .query_strings(&format!("SELECT body FROM mail_outbox WHERE recipient = '{}' AND subject LIKE '%weekly%'", team.member.email))
            .await;
        assert_eq!(weekly.len(), 1);
        assert_eq!(weekly[0].matches("prompt.draft_saved").count(), 3, "{}", weekly[0]);
    })
    .await;
}

/// `atrium digest` sends what is due now, from the command line.
#[tokio::test]
async fn the_digest_command_sends_what_is_due() {
    each_backend(async |app| {
        let team = app.team().await;
        // Yesterday's events, due in today's digest.
        let set = match app.backend {
            Backend::Sqlite => "created_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-1 day')",
            Backend::Postgres(_) => "created_at = now() - interval '1 day'",
        };
        app.query_strings(&format!(
            "UPDATE activity_events SET {set} WHERE workspace_id = '{}'",
            team.workspace
        ))
        .await;
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_atrium"))
            .arg("digest")
            .env("DATABASE_URL", &app.database_url)
            .env("JWT_SECRET", TEST_SECRET)
            .env("MAIL_DIR", app.dir.join("mail"))
            .env("RUST_LOG", "info")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let admin = subjects(&app, &team.admin).await;
        assert_eq!(admin.len(), 1, "{admin:?}");
        assert!(
            admin[0].starts_with("Team Space: your daily digest"),
            "{admin:?}"
        );
        let again = std::process::Command::new(env!("CARGO_BIN_EXE_atrium"))
            .arg("digest")
            .env("DATABASE_URL", &app.database_url)
            .env("JWT_SECRET", TEST_SECRET)
            .env("MAIL_DIR", app.dir.join("mail"))
            .output()
            .unwrap();
        assert!(again.status.success());
        assert_eq!(subjects(&app, &team.admin).await.len(), 1, "sent once");
    })
    .await;
}

/// A first digest with nothing in its period marks the log's end, so the
/// next one does not reach back into older history.
#[tokio::test]
async fn a_quiet_first_digest_does_not_send_history_later() {
    each_backend(async |app| {
        let team = app.team().await;
        let set = match app.backend {
            Backend::Sqlite => "created_at = strftime('%Y-%m-%dT%H:%M:%S+00:00', 'now', '-5 days')",
            Backend::Postgres(_) => "created_at = now() - interval '5 days'",
        };
        app.query_strings(&format!(
            "UPDATE activity_events SET {set} WHERE workspace_id = '{}'",
            team.workspace
        ))
        .await;
        let db = &app.state.db;
        let now = Utc::now();
        atrium::notifications::deliver::digests(db, now)
            .await
            .unwrap();
        atrium::notifications::deliver::digests(db, now + Duration::days(1))
            .await
            .unwrap();
        let admin = app
            .query_strings(&format!(
                "SELECT subject FROM mail_outbox WHERE recipient = '{}' AND subject LIKE '%daily%'",
                team.admin.email
            ))
            .await;
        assert!(admin.is_empty(), "{admin:?}");
    })
    .await;
}
