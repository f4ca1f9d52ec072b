//! What every request can reach: the database, the configuration, the keys.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::jwt::Keys;
use crate::auth::throttle::LoginThrottle;
use crate::config::Config;
use crate::events::Hub;
use crate::mail::MailSignal;
use crate::metrics::Metrics;

#[derive(Clone)]
pub struct AppState {
    pub db: DatabaseConnection,
    pub config: Arc<Config>,
    pub keys: Arc<Keys>,
    /// Wakes the mail worker after a commit that queued mail.
    pub mail: MailSignal,
    /// Fans committed activity out to subscribers.
    pub hub: Hub,
    pub login_throttle: Arc<LoginThrottle>,
    pub metrics: Arc<Metrics>,
}

impl AppState {
    pub fn new(db: DatabaseConnection, config: Config) -> Self {
        let keys = Arc::new(Keys::new(config.jwt_secret.expose()));
        Self {
            hub: Hub::new(db.clone(), config.feed_capacity),
            db,
            config: Arc::new(config),
            keys,
            mail: MailSignal::default(),
            login_throttle: Arc::default(),
            metrics: Arc::default(),
        }
    }
}
