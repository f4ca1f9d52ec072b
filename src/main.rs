use atrium::config::{Config, ConfigArgs};
use atrium::serve::Server;
use clap::{Parser, Subcommand};

/// Atrium: the GraphQL backend for team workspaces.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Permanently delete workspaces whose 30-day grace period is over, and
    /// activity older than each workspace keeps.
    Purge,
    /// Send the notification digests that are due now (every server also
    /// does this hourly).
    Digest,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Schema) = cli.command {
        print!("{}", atrium::graphql::sdl());
        return Ok(());
    }
    let telemetry = atrium::telemetry::init()?;
    let outcome = run(cli).await;
    // Spans still buffered are sent before the process ends.
    let _ = tokio::task::spawn_blocking(move || telemetry.shutdown()).await;
    outcome
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::from_args(cli.config)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let db = atrium::db::connect(&config.database_url, 1, config.sqlite_cache_mib).await?;
            atrium::db::migrate(&db).await?;
            tracing::info!("migrations applied");
        }
        Command::Purge => {
            let db = atrium::db::connect(&config.database_url, 1, config.sqlite_cache_mib).await?;
            atrium::db::migrate(&db).await?;
            let storage = atrium::storage::Storage::open(&config.storage)?;
            let purged = atrium::workspaces::service::purge_expired(&db, &storage).await?;
            let deleted =
                atrium::activity::retention::purge_expired(&db, chrono::Utc::now()).await?;
            tracing::info!(purged, deleted, "purge finished");
        }
        Command::Digest => {
            let db = atrium::db::connect(&config.database_url, 1, config.sqlite_cache_mib).await?;
            atrium::db::migrate(&db).await?;
            let sent = atrium::notifications::deliver::digests(&db, chrono::Utc::now()).await?;
            tracing::info!(sent, "digests sent");
        }
        Command::Serve | Command::Schema => {
            Server::build(config).await?.run(shutdown_signal()).await?;
        }
    }
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
