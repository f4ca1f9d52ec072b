//! The connection pool: connections go back to it without a round trip, and
//! those the database closes are found and replaced.

use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, Database};
use serde_json::json;

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_the_database_ends_are_replaced() {
    each_backend(|app| async move {
        let Backend::Postgres(admin_url) = &app.backend else {
            return;
        };
        let user = app.sign_up("Pooled").await;
        let me = "{ me { id } }";
        // Open several connections.
        let answers = join_all((0..8).map(|_| app.gql(Some(&user.token), me, json!({})))).await;
        assert!(answers.iter().all(|a| a["data"]["me"]["id"] == user.id));

        let name = app.database_url.rsplit_once('/').unwrap().1.to_owned();
        let admin = Database::connect(admin_url.as_str()).await.unwrap();
        let ended = admin
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                     WHERE datname = '{name}' AND pid <> pg_backend_pid()"
                ),
            ))
            .await
            .unwrap();
        assert!(!ended.is_empty(), "the server held connections");
        admin.close().await.ok();

        // Requests fail at most until each ended connection has been found
        // out, then all succeed.
        let started = std::time::Instant::now();
        let mut in_a_row = 0;
        while in_a_row < 40 {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(10),
                "the pool still hands out ended connections"
            );
            let answers = join_all((0..4).map(|_| app.gql(Some(&user.token), me, json!({})))).await;
            for answer in answers {
                if answer["data"]["me"]["id"] == user.id {
                    in_a_row += 1;
                } else {
                    assert_eq!(
                        answer["errors"][0]["extensions"]["code"], "INTERNAL",
                        "{answer}"
                    );
                    in_a_row = 0;
                }
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_write_leaves_no_transaction_open() {
    each_backend(|app| async move {
        let Backend::Postgres(admin_url) = &app.backend else {
            return;
        };
        let (team, room) = crate::runs::funded(&app, 0).await;
        // The write is refused inside its transaction, which is dropped.
        let refused = app
            .gql(
                Some(&team.member.token),
                crate::runs::START,
                json!({ "wr": room, "input": "brief", "max": 5 }),
            )
            .await;
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "INSUFFICIENT_CREDITS",
            "{refused}"
        );
        // Its rollback reached the database before the connection went
        // back to the pool: no connection sits in a transaction, holding
        // the workspace's lock, until it is next used.
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let name = app.database_url.rsplit_once('/').unwrap().1.to_owned();
        let admin = Database::connect(admin_url.as_str()).await.unwrap();
        let open = admin
            .query_all_raw(sea_orm::Statement::from_string(
                sea_orm::DbBackend::Postgres,
                format!(
                    "SELECT pid FROM pg_stat_activity
                     WHERE datname = '{name}' AND state LIKE 'idle in transaction%'"
                ),
            ))
            .await
            .unwrap();
        admin.close().await.ok();
        assert!(
            open.is_empty(),
            "{} connections left in a transaction",
            open.len()
        );
    })
    .await;
}
