//! Kezdesu: the server for akims' live public meetings with the population.
//!
//! # Design
//!
//! The meeting rules live in the `kezdesu-core` crate, which does no IO and reads no clock.
//! This crate holds the adapters around it:
//!
//! - [`http`]: the REST API, the OpenAPI document, the event stream and the web pages;
//! - [`room`]: one task per live or watched meeting, the only writer of its phase;
//! - [`store`]: persistence behind a trait, with SQLite as the embedded default;
//! - [`config`], [`metrics`], [`auth`] and [`bootstrap`]: what a server needs around them.
//!
//! [`run`] is the one entry point: `main` calls it with the real signals, and every test calls
//! it with a listener on `127.0.0.1:0` and a temporary data folder.

pub mod auth;
pub mod bootstrap;
pub mod cluster;
pub mod config;
pub mod egress;
pub mod http;
pub mod ical;
pub mod listener;
pub mod media;
pub mod metrics;
pub mod platforms;
pub mod procfs;
pub mod recording;
pub mod room;
pub mod secrets;
pub mod store;
pub mod wire;

use crate::config::Config;
use crate::config::{StorageConfig, StorageEngine};
use crate::http::{AppState, ClientAddress};
use crate::listener::CountingListener;
use crate::metrics::Metrics;
use crate::room::Rooms;
use crate::store::Store;
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::wire::Clockface;
use anyhow::Context;
use jiff::Timestamp;
use kezdesu_core::RuleSet;
use std::future::{Future, IntoFuture};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// The shipped rule set, compiled in so that the binary runs without the `config/` folder.
pub const DECREE_RULES: &str = include_str!("../../config/rules/kz-decree-826-2022.toml");

/// How often expired tokens are swept and rate-limit memory is trimmed.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_secs(600);

/// Loads the rule set named by the configuration, or the shipped one.
pub fn load_rules(config: &Config) -> anyhow::Result<RuleSet> {
    let (text, origin) = match &config.rules.file {
        Some(path) => (
            std::fs::read_to_string(path)
                .with_context(|| format!("rules.file: cannot read {}", path.display()))?,
            path.display().to_string(),
        ),
        None => (DECREE_RULES.to_owned(), "the shipped decree rules".to_owned()),
    };
    let rules: RuleSet =
        toml::from_str(&text).with_context(|| format!("rules.file: {origin} is not a valid rule set"))?;
    rules.validate().with_context(|| format!("rules.file: {origin}"))?;
    Ok(rules)
}

/// Loads the automatic moderation rules named by the configuration, or the shipped ones.
pub fn load_moderation(config: &Config) -> anyhow::Result<kezdesu_core::moderation::ModerationRules> {
    use kezdesu_core::moderation::{ModerationRules, RulesConfig};
    let Some(path) = &config.moderation.rules_file else {
        return ModerationRules::shipped().context("the shipped moderation rules");
    };
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path)
            .with_context(|| format!("moderation.rules_file: cannot read {}", path.display()))
    };
    let folder = path.parent().unwrap_or(std::path::Path::new("."));
    let rules_text = read(path)?;
    let rules = RulesConfig::from_toml(&rules_text)
        .with_context(|| format!("moderation.rules_file: {}", path.display()))?;
    let mut terms = Vec::new();
    for file in &rules.blocked_terms.files {
        terms.push((file.language.clone(), read(&folder.join(&file.path))?));
    }
    let questions = read(&folder.join(&rules.questions.file))?;
    let terms: Vec<(&str, &str)> =
        terms.iter().map(|(language, text)| (language.as_str(), text.as_str())).collect();
    ModerationRules::from_toml(&rules_text, &terms, &questions)
        .with_context(|| format!("moderation.rules_file: {}", path.display()))
}

/// Runs the server on `listener` until `shutdown` completes, then shuts down gracefully: stops
/// accepting, lets requests in flight finish for up to `server.shutdown_grace_seconds`, ends
/// event streams, stops the rooms and closes the store.
pub async fn run(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let rules = Arc::new(load_rules(&config)?);
    let zone = jiff::tz::TimeZone::get(&config.meetings.time_zone).context("meetings.time_zone")?;
    let clock = Clockface { zone, zone_name: config.meetings.time_zone.clone() };
    if config.demo.enabled {
        bootstrap::demo_planned_minutes(&config, &rules)?;
    }
    let metrics = Metrics::new();
    let store = open_store(&config.storage, &metrics).await?;
    let address = listener.local_addr()?;
    bootstrap::first_start(&config, address, store.as_ref(), &rules).await?;

    // Two stages: `stopping` stops accepting and ends event streams; `rooms_stop` comes after
    // the server has drained, so that a phase change in flight is still applied and answered.
    let stopping = CancellationToken::new();
    let rooms_stop = CancellationToken::new();
    let live = room::LiveRuntime::from_config(&config.live, Arc::new(load_moderation(&config)?));
    let cluster = match &config.cluster.redis_url {
        None => None,
        // `validate` made sure of the URL's form; it may carry a password, so it is not logged.
        Some(url) => Some(
            cluster::Cluster::connect(&config.cluster, url, metrics.cluster.clone())
                .await
                .context("connecting to the cluster's Redis at cluster.redis_url")?,
        ),
    };
    // Stopped when `run` returns, after the rooms have closed.
    let room_thread = room::RoomThread::start().context("starting the rooms' thread")?;
    let rooms = Rooms::new(
        room_thread.handle(),
        store.clone(),
        rules.clone(),
        clock.clone(),
        live,
        cluster.clone(),
        rooms_stop.clone(),
    );
    let resumed = rooms.resume_live().await.context("resuming live meetings")?;
    // Media sessions end with the rooms, after the HTTP server has drained.
    let media_peers = match &cluster {
        None => None,
        Some(cluster) => Some(media::origin::MediaPeers {
            cluster: cluster.clone(),
            origin: cluster.as_media_origin(&advertise_url(&config, address)?),
        }),
    };
    let media = media::Media::new(
        config.media.clone(),
        rooms.clone(),
        metrics.media.clone(),
        media_peers,
        rooms_stop.clone(),
    );
    let sealer = secrets::Sealer::new(config.secret_key.clone(), config.previous_secret_key.clone());
    reseal_stream_keys(store.as_ref(), &sealer).await;
    let egress = egress::Egress::new(
        &config,
        store.clone(),
        sealer.clone(),
        media.clone(),
        clock.clone(),
        metrics.egress.clone(),
        rooms_stop.clone(),
    )?;
    let platforms = platforms::Platforms::new(
        config.platforms.clone(),
        store.clone(),
        rooms.clone(),
        sealer.clone(),
        metrics.platforms.clone(),
        rooms_stop.clone(),
    )?;
    let node = cluster
        .as_ref()
        .map_or_else(|| format!("node-{:016x}", rand::random::<u64>()), |cluster| cluster.node().to_owned());
    let recordings = recording::Recordings::new(
        &config,
        node,
        store.clone(),
        media.clone(),
        metrics.recording.clone(),
        rooms_stop.clone(),
    );
    let state = AppState::new(
        config.clone(),
        store.clone(),
        rooms.clone(),
        rules,
        clock,
        metrics.clone(),
        media.clone(),
        egress.clone(),
        platforms.clone(),
        recordings.clone(),
        cluster.clone(),
        stopping.clone(),
    );
    if let Some(cluster) = &cluster {
        serve_peers(cluster, &rooms, &media, rooms_stop.clone());
    }
    let app = http::app(state.clone());

    tokio::spawn({
        let stopping = stopping.clone();
        async move {
            shutdown.await;
            stopping.cancel();
        }
    });
    tokio::spawn(housekeeping(state, stopping.clone()));

    tracing::info!(%address, resumed_meetings = resumed, "kezdesu is ready");
    let server = axum::serve(
        CountingListener::new(
            listener,
            metrics.open_connections.clone(),
            config.server.socket_send_buffer_bytes,
        ),
        app.into_make_service_with_connect_info::<ClientAddress>(),
    )
    .with_graceful_shutdown(stopping.clone().cancelled_owned())
    .into_future();
    let grace = Duration::from_secs(config.server.shutdown_grace_seconds);
    tokio::select! {
        result = server => result.context("serving HTTP")?,
        _ = async { stopping.cancelled().await; tokio::time::sleep(grace).await } => {
            tracing::warn!(grace_seconds = grace.as_secs(), "requests still in flight were cut off");
        }
    }
    rooms_stop.cancel();
    // A destination ends its stream with a goodbye to its platform, within two seconds.
    if !egress.wait_closed(Duration::from_secs(4)).await {
        tracing::warn!("some restreams did not stop in time");
    }
    // Each recorder writes its file's end, and its part is measured and closed.
    if !recordings.wait_closed(Duration::from_secs(8)).await {
        tracing::warn!("some recorders did not stop in time");
    }
    if !platforms.wait_closed(Duration::from_secs(2)).await {
        tracing::warn!("some platform readers did not stop in time");
    }
    if !media.wait_closed(Duration::from_secs(2)).await {
        tracing::warn!("some media sessions did not close in time");
    }
    if !rooms.wait_closed(Duration::from_secs(2)).await {
        tracing::warn!("some meeting rooms did not stop in time");
    }
    store.close().await;
    // Only now: store connections a room opened belong to the rooms' runtime.
    drop(room_thread);
    tracing::info!("kezdesu stopped");
    Ok(())
}

/// After the secret key was rotated (`KEZDESU_SECRET_KEY_PREVIOUS` set), seals every stored
/// stream key with the new key, so that the previous one can be dropped at the next start.
async fn reseal_stream_keys(store: &dyn Store, sealer: &secrets::Sealer) {
    if !sealer.is_configured() {
        return;
    }
    let sealed = match store.sealed_destination_keys().await {
        Ok(sealed) => sealed,
        Err(error) => {
            tracing::warn!(%error, "could not read the stored stream keys to reseal them");
            return;
        }
    };
    let (mut resealed, mut unreadable) = (0, 0);
    for (id, old) in sealed.into_iter().filter(|(_, old)| sealer.is_stale(old)) {
        let renewed = sealer.open(&old).and_then(|key| sealer.seal(&key));
        match renewed {
            Ok(new) => match store.reseal_destination_key(id, &old, &new).await {
                Ok(()) => resealed += 1,
                Err(error) => tracing::warn!(destination = id, %error, "could not reseal a stream key"),
            },
            Err(_) => unreadable += 1,
        }
    }
    if resealed > 0 {
        tracing::info!(resealed, "stream keys sealed again with the current secret key");
    }
    if unreadable > 0 {
        tracing::warn!(
            unreadable,
            "stream keys sealed with a key this server does not have: set KEZDESU_SECRET_KEY_PREVIOUS to it, or enter those keys again"
        );
    }
    reseal_platform_credentials(store, sealer).await;
}

/// The same for the akims' platform credentials.
async fn reseal_platform_credentials(store: &dyn Store, sealer: &secrets::Sealer) {
    let sealed = match store.sealed_platform_credentials().await {
        Ok(sealed) => sealed,
        Err(error) => {
            tracing::warn!(%error, "could not read the stored platform credentials to reseal them");
            return;
        }
    };
    let (mut resealed, mut unreadable) = (0, 0);
    for (account, platform, old) in sealed.into_iter().filter(|(_, _, old)| sealer.is_stale(old)) {
        match sealer.open(&old).and_then(|credential| sealer.seal(&credential)) {
            Ok(new) => match store.reseal_platform_credential(account, platform, &old, &new).await {
                Ok(()) => resealed += 1,
                Err(error) => {
                    tracing::warn!(%account, %platform, %error, "could not reseal a platform credential")
                }
            },
            Err(_) => unreadable += 1,
        }
    }
    if resealed > 0 {
        tracing::info!(resealed, "platform credentials sealed again with the current secret key");
    }
    if unreadable > 0 {
        tracing::warn!(
            unreadable,
            "platform credentials sealed with a key this server does not have: set KEZDESU_SECRET_KEY_PREVIOUS to it, or connect those accounts again"
        );
    }
}

/// Sweeps expired tokens and trims the rate limiters' memory of idle addresses.
async fn housekeeping(state: AppState, stopping: CancellationToken) {
    let mut interval = tokio::time::interval(HOUSEKEEPING_INTERVAL);
    loop {
        tokio::select! {
            _ = stopping.cancelled() => return,
            _ = interval.tick() => {}
        }
        match state.store.delete_expired_tokens(Timestamp::now()).await {
            Ok(removed) if removed > 0 => tracing::info!(removed, "expired tokens removed"),
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not remove expired tokens"),
        }
        state.sign_in_limiter.retain_recent();
        state.viewer_limiter.retain_recent();
        state.live_address_limiter.retain_recent();
        state.whep_limiter.retain_recent();
    }
}

/// Opens the configured store and applies its pending migrations.
async fn open_store(storage: &StorageConfig, metrics: &Metrics) -> anyhow::Result<Arc<dyn Store>> {
    let latency = metrics.store_latency.clone();
    Ok(match storage.engine {
        StorageEngine::Sqlite => Arc::new(
            SqliteStore::open(&storage.data_dir, latency)
                .await
                .with_context(|| format!("opening the store in {}", storage.data_dir.display()))?,
        ),
        StorageEngine::Postgres => {
            // `validate` made sure there is a URL; it is not put in the message, as it may
            // carry a password.
            let url = storage.postgres_url.as_deref().unwrap_or_default();
            Arc::new(
                PostgresStore::connect(url, storage.postgres_connections, latency)
                    .await
                    .context("opening the PostgreSQL store at storage.postgres_url")?,
            )
        }
    })
}

/// With several nodes: serves the commands other nodes forward to this one's rooms (and to its
/// media, for a broadcast published here), and keeps
/// a room (owner or mirror) open here for every live meeting, so that when an owner dies one
/// of the others takes its meetings over within a lease.
fn serve_peers(cluster: &cluster::Cluster, rooms: &Rooms, media: &media::Media, stop: CancellationToken) {
    let serving = rooms.clone();
    let media = media.clone();
    let recipients = cluster::Recipients::new()
        .with(move |meeting, request: room::PeerRequest| {
            let rooms = serving.clone();
            async move { rooms.serve_forwarded(meeting, request).await }
        })
        .with(move |meeting, request: media::origin::MediaRequest| {
            let answer = media.serve_forwarded(meeting, request);
            async move { answer }
        });
    cluster.serve(recipients, stop.clone());
    let rooms = rooms.clone();
    let every = cluster.lease_check_interval();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => rooms.follow_live_meetings().await,
            }
        }
    });
}

/// The base URL the other nodes of a cluster reach this node's HTTP at.
fn advertise_url(config: &Config, listening: std::net::SocketAddr) -> anyhow::Result<String> {
    match &config.cluster.advertise_url {
        Some(url) => Ok(url.trim_end_matches('/').to_owned()),
        None if listening.ip().is_unspecified() => anyhow::bail!(
            "cluster.advertise_url must be set when server.listen is a wildcard address ({listening})"
        ),
        None => Ok(format!("http://{listening}")),
    }
}
