use atrium::config::{Config, ConfigArgs};
use atrium::http::Server;
use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;

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
    /// Permanently delete workspaces whose 30-day grace period is over.
    Purge,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    if let Some(Command::Schema) = cli.command {
        print!("{}", atrium::graphql::sdl());
        return Ok(());
    }
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    match std::env::var("LOG_FORMAT").as_deref() {
        // One JSON object per line, for log collectors.
        Ok("json") => tracing_subscriber::fmt()
            .json()
            .with_current_span(true)
            .with_env_filter(filter)
            .init(),
        Ok("text") | Err(_) => tracing_subscriber::fmt()
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
            .with_env_filter(filter)
            .init(),
        Ok(other) => anyhow::bail!("LOG_FORMAT must be text or json, not {other}"),
    }
    let config = Config::from_args(cli.config)?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Migrate => {
            let db = atrium::db::connect(&config.database_url, 1).await?;
            atrium::db::migrate(&db).await?;
            tracing::info!("migrations applied");
        }
        Command::Purge => {
            let db = atrium::db::connect(&config.database_url, 1).await?;
            atrium::db::migrate(&db).await?;
            let purged = atrium::workspaces::service::purge_expired(&db).await?;
            tracing::info!(purged, "purge finished");
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
