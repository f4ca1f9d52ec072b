//! PostgreSQL `LISTEN`: news from the other servers sharing the database.

use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;

use super::{ACTIVITY_CHANNEL, Hub, KEYS_CHANNEL, presence, runs};

pub fn spawn(hub: Hub) {
    tokio::spawn(async move {
        loop {
            if let Err(err) = listen(&hub).await {
                tracing::warn!(error = %err, "activity listener lost its connection");
            }
            // Whatever was notified meanwhile is caught up from the database.
            hub.poke();
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
}

async fn listen(hub: &Hub) -> Result<(), sea_orm::sqlx::Error> {
    let pool = hub.inner.db.get_postgres_connection_pool();
    let mut listener = PgListener::connect_with(pool).await?;
    listener
        .listen_all([
            ACTIVITY_CHANNEL,
            presence::CHANNEL,
            KEYS_CHANNEL,
            runs::RUNS_CHANNEL,
            runs::QUEUE_CHANNEL,
        ])
        .await?;
    hub.poke();
    // Revocations sent while the connection was down are lost: subscribers
    // holding keys check theirs again.
    hub.key_revoked(super::ANY_KEY);
    loop {
        match listener.try_recv().await? {
            Some(notification) if notification.channel() == ACTIVITY_CHANNEL => {
                hub.poke_workspace(notification.payload());
            }
            Some(notification) if notification.channel() == KEYS_CHANNEL => {
                hub.key_revoked(notification.payload());
            }
            Some(notification) if notification.channel() == runs::RUNS_CHANNEL => {
                hub.runs().progressed(notification.payload());
            }
            Some(notification) if notification.channel() == runs::QUEUE_CHANNEL => {
                hub.runs().queued();
            }
            Some(notification) => hub.presence().deliver_remote(notification.payload()),
            // The connection dropped and will be made again: catch up.
            None => hub.poke(),
        }
    }
}
