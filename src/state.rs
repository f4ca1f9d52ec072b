//! What every request can reach: the database, the configuration, the keys.

use std::sync::Arc;

use sea_orm::DatabaseConnection;

use crate::auth::jwt::Keys;
use crate::auth::password::Passwords;
use crate::auth::throttle::Throttles;
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
    pub throttles: Arc<Throttles>,
    /// Bounds the memory and CPU that password hashing may take.
    pub passwords: Arc<Passwords>,
    pub metrics: Arc<Metrics>,
    /// Request-rate limits per principal and per workspace.
    pub limits: Arc<crate::limits::RateLimits>,
    /// API keys' request counts and `lastUsedAt` writes.
    pub key_usage: Arc<crate::auth::key_usage::KeyUsage>,
    /// The model provider agent runs call.
    pub provider: Arc<dyn crate::llm::Provider>,
    /// Seals workspaces' provider keys; None without `SECRETS_KEY`.
    pub sealer: Option<Arc<crate::secrets::Sealer>>,
    /// Where uploaded files are kept (`STORAGE_URL`).
    pub storage: crate::storage::Storage,
}

impl AppState {
    /// The state of a server; fails when the file store cannot be opened.
    pub fn new(mut db: DatabaseConnection, config: Config) -> anyhow::Result<Self> {
        let storage = crate::storage::Storage::open(&config.storage)?;
        let metrics = Arc::new(Metrics::new(config.metrics_operation_names));
        let limits = Arc::new(crate::limits::RateLimits::new(
            config.rate_limit_per_minute,
            config.workspace_rate_limit_per_minute,
        ));
        let timed = metrics.clone();
        db.set_metric_callback(move |info| {
            timed.observe_statement(&info.statement.sql, info.elapsed);
            crate::telemetry::statement_span(info);
        });
        let keys = Arc::new(Keys::new(config.jwt_secret.expose()));
        let throttles = Arc::new(Throttles::new(
            config.sign_in_limit_per_minute,
            config.sign_up_limit_per_hour,
        ));
        let passwords = Arc::new(Passwords::new(
            config.password_hash_concurrency,
            config.password_hash_queue,
        ));
        let provider = crate::llm::from_config(&config.work);
        let sealer = config
            .work
            .secrets_key
            .as_ref()
            .and_then(|key| crate::config::decode_key(key.expose()))
            .map(|key| Arc::new(crate::secrets::Sealer::new(&key)));
        Ok(Self {
            provider,
            sealer,
            storage,
            hub: Hub::new(db.clone(), config.feed_capacity, metrics.clone()),
            db,
            config: Arc::new(config),
            keys,
            mail: MailSignal::default(),
            throttles,
            passwords,
            metrics,
            key_usage: Arc::default(),
            limits,
        })
    }
}
