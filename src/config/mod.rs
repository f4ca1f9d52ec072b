//! One typed configuration, read from environment variables and flags once at
//! start and passed down. Nothing here is global, so tests can run several
//! servers with different settings in one process.

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use clap::Args;

mod origins;
mod work;

pub use origins::Origins;
pub use work::{ProviderKind, WorkArgs, WorkConfig, decode_key};

/// What a connection may hold and for how long.
#[derive(Clone, Copy, Debug)]
pub struct ConnectionLimits {
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub max_connections: usize,
}

/// Events buffered per workspace before a slow subscriber lags and catches up
/// from the database instead (the default of `Config::feed_capacity`).
pub const FEED_CAPACITY: usize = 1024;
/// Operation names are chosen by clients: only this many distinct names get
/// a label of their own; later ones count as `other`.
pub const DEFAULT_OPERATION_NAMES: usize = 200;

/// Database connections per server by default.
pub const DEFAULT_DB_CONNECTIONS: u32 = 10;
/// Default page cache of each SQLite connection, in MiB.
pub const DEFAULT_SQLITE_CACHE_MIB: u32 = 64;

/// A value that must not show up in logs.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The settings as given on the command line or in the environment.
#[derive(Args, Debug, Clone)]
pub struct ConfigArgs {
    /// SQLite file or `postgres://…` URL.
    #[arg(
        long,
        env = "DATABASE_URL",
        default_value = "sqlite://data/atrium.db?mode=rwc"
    )]
    pub database_url: String,
    /// Listen address; port 0 picks a free port.
    #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
    pub bind_addr: String,
    /// Base of links in e-mails; defaults to `http://<BIND_ADDR>`.
    #[arg(long, env = "PUBLIC_URL")]
    pub public_url: Option<String>,
    /// HMAC key for access tokens (at least 32 bytes).
    #[arg(long, env = "JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Directory that receives each outgoing e-mail as an `.eml` file.
    #[arg(long, env = "MAIL_DIR", default_value = "data/mail")]
    pub mail_dir: PathBuf,
    /// When set, mail goes over SMTP instead of into `MAIL_DIR`
    /// (`smtp://user:pass@host:587?tls=required`, `smtps://…`).
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The sender of outgoing mail.
    #[arg(
        long,
        env = "MAIL_FROM",
        default_value = "Atrium <no-reply@atrium.localhost>"
    )]
    pub mail_from: String,
    /// How long an invitation link works, in hours.
    #[arg(long, env = "INVITATION_TTL_HOURS", default_value_t = 168)]
    pub invitation_ttl_hours: u64,
    /// Invitation e-mails (invites and resends) one workspace may send in
    /// any hour.
    #[arg(long, env = "INVITATION_MAILS_PER_HOUR", default_value_t = 200)]
    pub invitation_mails_per_hour: u64,
    /// Passwords hashed or checked at once; the default is the number of
    /// cores.
    #[arg(long, env = "PASSWORD_HASH_CONCURRENCY")]
    pub password_hash_concurrency: Option<usize>,
    /// How long a sign-in or sign-up may wait for a hashing slot before it
    /// is refused with RATE_LIMITED, in milliseconds.
    #[arg(long, env = "PASSWORD_HASH_QUEUE_MS", default_value_t = 10_000)]
    pub password_hash_queue_ms: u64,
    /// Sign-in attempts one client address may make in any minute.
    #[arg(long, env = "SIGN_IN_LIMIT_PER_MINUTE", default_value_t = 30)]
    pub sign_in_limit_per_minute: u32,
    /// Accounts one client address may make in any hour.
    #[arg(long, env = "SIGN_UP_LIMIT_PER_HOUR", default_value_t = 20)]
    pub sign_up_limit_per_hour: u32,
    /// Proxies whose `X-Forwarded-For` is believed: addresses or CIDR
    /// ranges, comma-separated. None by default: the client address is the
    /// peer's.
    #[arg(long, env = "TRUSTED_PROXIES", default_value = "")]
    pub trusted_proxies: String,
    /// Seconds a client has to send a request's headers, from connecting or
    /// from the first byte of a request on a kept-alive connection.
    #[arg(long, env = "HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,
    /// Seconds a kept-alive HTTP connection may stay idle.
    #[arg(long, env = "HTTP_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub http_idle_timeout_secs: u64,
    /// Most connections open at once, WebSockets included; further clients
    /// wait to be accepted.
    #[arg(long, env = "MAX_CONNECTIONS", default_value_t = 20_000)]
    pub max_connections: usize,
    /// Origins whose pages may call the API (exact origins, comma-separated,
    /// or `*`); none by default.
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", default_value = "")]
    pub cors_allowed_origins: String,
    /// Whether those pages may send credentials (never with `*`).
    #[arg(long, env = "CORS_ALLOW_CREDENTIALS", default_value_t = false)]
    pub cors_allow_credentials: bool,
    /// Requests one principal (person, API key, anonymous address) may make
    /// in any minute.
    #[arg(long, env = "RATE_LIMIT_PER_MINUTE", default_value_t = 600)]
    pub rate_limit_per_minute: u32,
    /// Requests all of one workspace's API keys together may make in any
    /// minute.
    #[arg(long, env = "WORKSPACE_RATE_LIMIT_PER_MINUTE", default_value_t = 3000)]
    pub workspace_rate_limit_per_minute: u32,
    /// Database connections each server keeps at most (on SQLite, each is a
    /// thread of its own).
    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = DEFAULT_DB_CONNECTIONS, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub db_max_connections: u32,
    /// Page cache of each SQLite connection, in MiB (what a connection keeps
    /// of the database file in memory beyond the mapped part).
    #[arg(long, env = "SQLITE_CACHE_MIB", default_value_t = DEFAULT_SQLITE_CACHE_MIB, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub sqlite_cache_mib: u32,
    /// Distinct operation names that get a label of their own in the request
    /// latency histogram; later names count as `other`.
    #[arg(long, env = "METRICS_OPERATION_NAMES", default_value_t = DEFAULT_OPERATION_NAMES)]
    pub metrics_operation_names: usize,
    /// The longest text `renderPrompt` returns, in bytes.
    #[arg(long, env = "PROMPT_RENDER_MAX_BYTES", default_value_t = 1 << 20)]
    pub prompt_render_max_bytes: usize,
    /// The largest upload (a workspace image), in bytes; multipart requests
    /// only (JSON bodies keep their 1 MiB).
    #[arg(long, env = "UPLOAD_MAX_BYTES", default_value_t = 2 << 20)]
    pub upload_max_bytes: usize,
    /// Where uploaded files are kept: `file://<dir>` or `s3://bucket/prefix`.
    #[arg(long, env = "STORAGE_URL", default_value = "file://data/files")]
    pub storage_url: String,
    /// An S3-compatible endpoint to use instead of AWS's.
    #[arg(long, env = "AWS_ENDPOINT_URL")]
    pub aws_endpoint_url: Option<String>,
    /// The S3 region.
    #[arg(long, env = "AWS_REGION")]
    pub aws_region: Option<String>,
    /// S3 credentials (else the usual AWS sources).
    #[arg(long, env = "AWS_ACCESS_KEY_ID", hide_env_values = true)]
    pub aws_access_key_id: Option<String>,
    #[arg(long, env = "AWS_SECRET_ACCESS_KEY", hide_env_values = true)]
    pub aws_secret_access_key: Option<String>,
    #[command(flatten)]
    pub work: WorkArgs,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub bind_addr: String,
    pub public_url: Option<String>,
    pub jwt_secret: Secret,
    pub mail_dir: PathBuf,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Whether this process delivers queued mail.
    pub deliver_mail: bool,
    /// How long an invitation link works.
    pub invitation_ttl: Duration,
    /// Invitation e-mails one workspace may send in any hour.
    pub invitation_mails_per_hour: u64,
    /// How long a deleted workspace can be restored before it is purged.
    pub deletion_grace: Duration,
    /// Lifetime of an access token.
    pub access_token_ttl: Duration,
    /// Lifetime of a refresh token.
    pub refresh_token_ttl: Duration,
    /// A refresh token presented again within this window after its rotation
    /// is refused without revoking the session (two tabs refreshing at once);
    /// later, it is treated as stolen and the whole session is revoked.
    pub refresh_reuse_grace: Duration,
    /// Largest connection pool.
    pub db_max_connections: u32,
    /// Page cache of each SQLite connection, in MiB.
    pub sqlite_cache_mib: u32,
    /// Time a WebSocket client has to send `connection_init`.
    pub ws_init_timeout: Duration,
    /// Time a WebSocket client has to take a message the server sends;
    /// a client that takes nothing for this long is disconnected.
    pub ws_send_timeout: Duration,
    /// Events buffered per workspace feed; a subscriber further behind
    /// catches up from the database.
    pub feed_capacity: usize,
    /// Passwords hashed or checked at once.
    pub password_hash_concurrency: usize,
    /// How long a hash may wait for a slot before RATE_LIMITED.
    pub password_hash_queue: Duration,
    /// Sign-in attempts one client address may make in any minute.
    pub sign_in_limit_per_minute: u32,
    /// Accounts one client address may make in any hour.
    pub sign_up_limit_per_hour: u32,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<Cidr>,
    /// What one connection may hold, and for how long.
    pub connections: ConnectionLimits,
    /// Which web pages may call the API.
    pub origins: Origins,
    /// Operation names labelled on their own in `/metrics`.
    pub metrics_operation_names: usize,
    /// Requests per minute per principal.
    pub rate_limit_per_minute: u32,
    /// Requests per minute per workspace, over its workspace keys.
    pub workspace_rate_limit_per_minute: u32,
    /// The longest text `renderPrompt` returns, in bytes.
    pub prompt_render_max_bytes: usize,
    /// The largest upload, in bytes.
    pub upload_max_bytes: usize,
    /// Where uploaded files are kept.
    pub storage: StorageConfig,
    /// Agent runs, their provider, credits and approvals.
    pub work: WorkConfig,
}

/// Where uploaded files are kept, and how to reach an S3-compatible store.
#[derive(Debug, Clone)]
pub struct StorageConfig {
    /// `file://<dir>` or `s3://bucket/prefix`.
    pub url: String,
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<Secret>,
}

pub const MIN_SECRET_LEN: usize = 32;

impl Config {
    /// Settings for a given database with everything else at its default;
    /// the JWT secret must still be provided.
    pub fn new(database_url: impl Into<String>, jwt_secret: Secret) -> Self {
        Self {
            database_url: database_url.into(),
            bind_addr: "127.0.0.1:8080".into(),
            public_url: None,
            jwt_secret,
            mail_dir: PathBuf::from("data/mail"),
            smtp_url: None,
            mail_from: "Atrium <no-reply@atrium.localhost>".into(),
            deliver_mail: true,
            invitation_ttl: Duration::from_secs(7 * 24 * 3600),
            invitation_mails_per_hour: 200,
            deletion_grace: Duration::from_secs(30 * 24 * 3600),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 24 * 3600),
            refresh_reuse_grace: Duration::from_secs(10),
            db_max_connections: DEFAULT_DB_CONNECTIONS,
            sqlite_cache_mib: DEFAULT_SQLITE_CACHE_MIB,
            ws_init_timeout: Duration::from_secs(10),
            ws_send_timeout: Duration::from_secs(30),
            feed_capacity: FEED_CAPACITY,
            password_hash_concurrency: std::thread::available_parallelism()
                .map_or(1, std::num::NonZeroUsize::get),
            password_hash_queue: Duration::from_secs(10),
            sign_in_limit_per_minute: 30,
            sign_up_limit_per_hour: 20,
            trusted_proxies: Vec::new(),
            connections: ConnectionLimits {
                header_read_timeout: Duration::from_secs(10),
                idle_timeout: Duration::from_secs(60),
                max_connections: 20_000,
            },
            origins: Origins::default(),
            metrics_operation_names: DEFAULT_OPERATION_NAMES,
            rate_limit_per_minute: 600,
            workspace_rate_limit_per_minute: 3000,
            prompt_render_max_bytes: 1 << 20,
            upload_max_bytes: 2 << 20,
            storage: StorageConfig {
                url: "file://data/files".into(),
                s3_endpoint: None,
                s3_region: None,
                s3_access_key_id: None,
                s3_secret_access_key: None,
            },
            work: WorkConfig::default(),
        }
    }

    /// Validates the given settings and resolves the JWT secret: given, or
    /// for SQLite generated once and kept beside the database.
    pub fn from_args(args: ConfigArgs) -> anyhow::Result<Self> {
        let is_postgres = args.database_url.starts_with("postgres");
        if !is_postgres && !args.database_url.starts_with("sqlite:") {
            bail!("DATABASE_URL must start with sqlite: or postgres://");
        }
        let secret = match args.jwt_secret {
            Some(secret) => secret,
            None if is_postgres => bail!("JWT_SECRET is required with PostgreSQL"),
            None => stored_secret(&data_dir(&args.database_url))?,
        };
        if secret.len() < MIN_SECRET_LEN {
            bail!("JWT_SECRET must be at least {MIN_SECRET_LEN} bytes");
        }
        let mut config = Config::new(args.database_url, Secret::new(secret));
        config.bind_addr = args.bind_addr;
        config.public_url = args.public_url.map(|u| u.trim_end_matches('/').to_owned());
        config.mail_dir = args.mail_dir;
        config.smtp_url = args.smtp_url;
        config.mail_from = args.mail_from;
        if args.invitation_ttl_hours == 0 {
            bail!("INVITATION_TTL_HOURS must be at least 1");
        }
        config.invitation_ttl = Duration::from_secs(args.invitation_ttl_hours * 3600);
        config.invitation_mails_per_hour = args.invitation_mails_per_hour;
        if let Some(n) = args.password_hash_concurrency {
            if n == 0 {
                bail!("PASSWORD_HASH_CONCURRENCY must be at least 1");
            }
            config.password_hash_concurrency = n;
        }
        config.password_hash_queue = Duration::from_millis(args.password_hash_queue_ms);
        config.sign_in_limit_per_minute = args.sign_in_limit_per_minute;
        config.sign_up_limit_per_hour = args.sign_up_limit_per_hour;
        config.trusted_proxies = Cidr::parse_list(&args.trusted_proxies)
            .context("TRUSTED_PROXIES must list addresses or CIDR ranges, comma-separated")?;
        let day = 24 * 3600;
        for (name, secs) in [
            ("HEADER_READ_TIMEOUT_SECS", args.header_read_timeout_secs),
            ("HTTP_IDLE_TIMEOUT_SECS", args.http_idle_timeout_secs),
        ] {
            if !(1..=day).contains(&secs) {
                bail!("{name} must be from 1 to {day}");
            }
        }
        if args.max_connections == 0 {
            bail!("MAX_CONNECTIONS must be at least 1");
        }
        config.connections = ConnectionLimits {
            header_read_timeout: Duration::from_secs(args.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(args.http_idle_timeout_secs),
            max_connections: args.max_connections,
        };
        config.origins = Origins::parse(&args.cors_allowed_origins, args.cors_allow_credentials)?;
        config.metrics_operation_names = args.metrics_operation_names;
        config.rate_limit_per_minute = args.rate_limit_per_minute;
        config.db_max_connections = args.db_max_connections;
        config.sqlite_cache_mib = args.sqlite_cache_mib;
        config.workspace_rate_limit_per_minute = args.workspace_rate_limit_per_minute;
        config.prompt_render_max_bytes = args.prompt_render_max_bytes;
        config.upload_max_bytes = args.upload_max_bytes;
        config.storage = StorageConfig {
            url: args.storage_url,
            s3_endpoint: args.aws_endpoint_url,
            s3_region: args.aws_region,
            s3_access_key_id: args.aws_access_key_id,
            s3_secret_access_key: args.aws_secret_access_key.map(Secret::new),
        };
        config.work = WorkConfig::from_args(args.work)?;
        Ok(config)
    }
}

/// The directory holding a SQLite database file (`data` for in-memory ones).
pub fn data_dir(database_url: &str) -> PathBuf {
    let path = database_url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or_default();
    match Path::new(path).parent() {
        Some(parent) if !path.contains(":memory:") && !parent.as_os_str().is_empty() => {
            parent.to_path_buf()
        }
        _ => PathBuf::from("data"),
    }
}

fn stored_secret(dir: &Path) -> anyhow::Result<String> {
    let file = dir.join("jwt_secret");
    if let Ok(secret) = std::fs::read_to_string(&file) {
        return Ok(secret.trim().to_owned());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let secret = crate::tokens::random_token();
    std::fs::write(&file, &secret).with_context(|| format!("writing {}", file.display()))?;
    Ok(secret)
}

/// An address range: `10.0.0.0/8`, `::1/128`, or one address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address.trim().parse()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.trim().parse::<u8>()?,
            None => max,
        };
        if prefix > max {
            bail!("prefix /{prefix} is too long");
        }
        // An IPv4 range written in IPv6 (`::ffff:10.0.0.0/104`) matches the
        // IPv4 addresses it means.
        if let IpAddr::V6(v6) = network
            && let Some(v4) = v6.to_ipv4_mapped()
            && prefix >= 96
        {
            return Ok(Self {
                network: IpAddr::V4(v4),
                prefix: prefix - 96,
            });
        }
        Ok(Self { network, prefix })
    }

    pub fn parse_list(text: &str) -> anyhow::Result<Vec<Self>> {
        text.split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(Self::parse)
            .collect()
    }

    pub fn contains(&self, address: IpAddr) -> bool {
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, address) {
            (IpAddr::V4(net), IpAddr::V4(addr)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(addr) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(addr)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(addr) & mask
            }
            _ => false,
        }
    }
}
