//! The `kezdesu` command.

use anyhow::Context;
use clap::{Parser, Subcommand};
use kezdesu::config::{Config, LogFormat, Overrides};
use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(
    name = "kezdesu",
    version,
    about = "Live meeting broadcast and moderation server for akims' public meetings"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the server.
    Serve {
        /// A TOML file layered over config/default.toml.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// The address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
        /// The folder that holds the database.
        #[arg(long, value_name = "DIR")]
        data: Option<PathBuf>,
    },
}

fn main() -> std::process::ExitCode {
    match start() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("kezdesu: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn start() -> anyhow::Result<()> {
    let Command::Serve { config, listen, data } = Cli::parse().command;
    let overrides = Overrides { config_file: config, listen, data_dir: data };
    let working_dir = std::env::current_dir().context("reading the working directory")?;
    let mut config = Config::load(&working_dir, std::env::vars(), &overrides)?;
    config.admin_password = std::env::var("KEZDESU_ADMIN_PASSWORD").ok().filter(|p| !p.is_empty());
    config.media.turn_secret = std::env::var("KEZDESU_TURN_SECRET").ok().filter(|s| !s.is_empty());
    let secret = |name: &str| -> anyhow::Result<Option<kezdesu::secrets::SecretKey>> {
        match std::env::var(name).ok().filter(|value| !value.is_empty()) {
            None => Ok(None),
            Some(value) => kezdesu::secrets::SecretKey::from_base64(&value)
                .map(Some)
                .map_err(|why| anyhow::anyhow!("{name}: {why}")),
        }
    };
    config.secret_key = secret("KEZDESU_SECRET_KEY")?;
    config.previous_secret_key = secret("KEZDESU_SECRET_KEY_PREVIOUS")?;
    if let Some(password) = &config.admin_password {
        kezdesu::auth::check_new_password(password)
            .map_err(|why| anyhow::anyhow!("KEZDESU_ADMIN_PASSWORD: {why}"))?;
    }
    init_logging(&config);
    // Every viewer is a file descriptor: use all the process may have.
    if let Err(error) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(%error, "could not raise the open-file limit");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async {
        let shutdown = shutdown_signal()?;
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("server.listen: cannot listen on {}", config.server.listen))?;
        kezdesu::run(config, listener, shutdown).await
    })
}

fn init_logging(config: &Config) {
    // RUST_LOG, when set, wins over the configured level.
    // The WebRTC engine warns once per connection about things that are normal for a server
    // (no DTLS server name, an ICE check before the peer's candidates): keep those quiet unless
    // asked for.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("{},rtc_dtls=error,rtc_ice=error", config.log.level)));
    // Colours only on a terminal, so that piped logs stay plain text.
    let colours = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colours);
    match config.log.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

/// Completes on Ctrl-C (SIGINT) or SIGTERM. The handlers are installed before this returns,
/// so a signal that arrives while the server starts is not lost to the default action.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut interrupt = signal(SignalKind::interrupt()).context("listening for Ctrl-C")?;
    let mut terminate = signal(SignalKind::terminate()).context("listening for SIGTERM")?;
    Ok(async move {
        tokio::select! {
            _ = interrupt.recv() => tracing::info!("Ctrl-C: shutting down"),
            _ = terminate.recv() => tracing::info!("SIGTERM: shutting down"),
        }
    })
}
