//! Starting servers: any number at once on one fresh PostgreSQL database.

use atrium::config::{Config, Secret};
use atrium::serve::Server;
use futures_util::future::join_all;
use sea_orm::{ConnectionTrait, Database};

use crate::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn servers_starting_together_migrate_a_fresh_database_once() {
    let Some(Backend::Postgres(admin_url)) = backends().into_iter().nth(1) else {
        return;
    };
    for trial in 0..3 {
        let name = format!("atrium_start_{}", uuid::Uuid::now_v7().simple());
        let admin = Database::connect(admin_url.as_str()).await.unwrap();
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let base = admin_url.rsplit_once('/').unwrap().0;
        let url = format!("{base}/{name}");
        let dir = std::env::temp_dir().join(&name);
        let servers = (0..4).map(|_| {
            let mut config = Config::new(url.clone(), Secret::new(TEST_SECRET));
            config.bind_addr = "127.0.0.1:0".into();
            config.db_max_connections = 2;
            config.mail_dir = dir.join("mail");
            Server::build(config)
        });
        let built = join_all(servers).await;
        let failures: Vec<String> = built
            .iter()
            .filter_map(|b| b.as_ref().err().map(|e| format!("{e:#}")))
            .collect();
        drop(built);
        admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert!(failures.is_empty(), "trial {trial}: {failures:?}");
    }
}
