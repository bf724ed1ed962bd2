//! `kezdesu-media-load`: the broadcast's load generator, and the bare forwarding baseline it is
//! compared with.
//!
//! ```text
//! kezdesu-media-load run --whip URL --whep URL --key KEY --viewers 300 --server-pid PID
//! kezdesu-media-load bare-server --listen 127.0.0.1:18711
//! ```
//!
//! `run` publishes a synthetic VP8 stream (1.5 Mbps, 30 frames a second, plus Opus-shaped
//! audio) by WHIP, opens `--viewers` WHEP subscribers, lets them settle, and then counts for
//! `--seconds` what each receives against what was sent: viewers held, packet delivery %,
//! sequence gaps, the server's CPU per viewer and its memory per viewer (read from
//! `/proc/PID`). It prints one JSON line.
//!
//! `bare-server` is the ceiling: the same WebRTC engine, built by the same code, with a
//! forwarding loop that only rewrites SSRC and payload type per viewer (without which the
//! engine drops every packet), and no meeting, room, store, keyframe gating, rate limit or
//! authentication. Its WHIP endpoint is `/whip`, its WHEP endpoint `/whep`.

use anyhow::{Context, bail};
use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use clap::{Args, Parser, Subcommand};
use kezdesu::config::MediaConfig;
use kezdesu::media::engine::synthetic::{CountingViewer, PublisherOptions, SyntheticPublisher};
use kezdesu::media::engine::{
    Codec, Engine, IncomingTrack, MediaKind, OutgoingTrack, Packet, Peer, PeerState,
};
use kezdesu::procfs::{self, Process};
use serde_json::json;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, mpsc, watch};

#[derive(Parser)]
#[command(name = "kezdesu-media-load", about = "Load generator for Kezdesu's WebRTC broadcast")]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Publishes a synthetic stream and opens many viewers against a server.
    Run(Load),
    /// Runs the bare forwarding baseline.
    BareServer {
        #[arg(long, default_value = "127.0.0.1:18711")]
        listen: SocketAddr,
        /// The address its media sockets bind.
        #[arg(long, default_value = "127.0.0.1")]
        udp: IpAddr,
    },
}

#[derive(Args)]
struct Load {
    #[arg(long)]
    whip: String,
    #[arg(long)]
    whep: String,
    /// The stream key (any text for the bare server).
    #[arg(long, default_value = "bare")]
    key: String,
    #[arg(long, default_value_t = 300)]
    viewers: usize,
    /// How long to count, once every viewer has connected.
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    #[arg(long, default_value_t = 1_500_000)]
    bitrate: u64,
    /// Viewers opened at once while ramping up.
    #[arg(long, default_value_t = 10)]
    batch: usize,
    /// The server's process id, to read its CPU and memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The address the generator's peers bind.
    #[arg(long, default_value = "127.0.0.1")]
    address: IpAddr,
}

fn main() -> anyhow::Result<()> {
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Mode::Run(load) => run(load).await,
            Mode::BareServer { listen, udp } => bare_server(listen, udp).await,
        }
    })
}

async fn run(load: Load) -> anyhow::Result<()> {
    let publisher = SyntheticPublisher::start(PublisherOptions {
        whip_url: load.whip.clone(),
        stream_key: load.key.clone(),
        address: load.address,
        video_bits_per_second: load.bitrate,
        frames_per_second: 30,
        audio: true,
        vp8_payload_type: 96,
    })
    .await
    .context("publishing")?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let memory_before = load.server_pid.and_then(resident_bytes);

    let ramp_started = Instant::now();
    let mut viewers = Vec::with_capacity(load.viewers);
    let mut refused = 0usize;
    let mut first_error = None;
    while viewers.len() + refused < load.viewers {
        let count = load.batch.min(load.viewers - viewers.len() - refused);
        let opened = futures_util::future::join_all(
            (0..count).map(|_| CountingViewer::start(&load.whep, load.address, 96)),
        )
        .await;
        for viewer in opened {
            match viewer {
                Ok(viewer) => viewers.push(viewer),
                Err(error) => {
                    refused += 1;
                    first_error.get_or_insert_with(|| error.to_string());
                }
            }
        }
    }
    let ramp_seconds = ramp_started.elapsed().as_secs_f64();
    // Let every viewer reach its first keyframe before counting.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let sent_before = publisher.stats().video_packets;
    let received_before: Vec<u64> =
        viewers.iter().map(|viewer| viewer.counters.video_packets.load(Ordering::Relaxed)).collect();
    let gaps_before: Vec<u64> =
        viewers.iter().map(|viewer| viewer.counters.video_gaps.load(Ordering::Relaxed)).collect();
    let cpu_before = load.server_pid.and_then(cpu_ticks);
    let window_started = Instant::now();
    tokio::time::sleep(Duration::from_secs(load.seconds)).await;
    let window = window_started.elapsed().as_secs_f64();
    let cpu_after = load.server_pid.and_then(cpu_ticks);
    let sent = publisher.stats().video_packets - sent_before;
    let memory_loaded = load.server_pid.and_then(resident_bytes);

    let held = viewers.iter().filter(|viewer| viewer.connected()).count();
    let mut received = 0u64;
    let mut gaps = 0u64;
    let mut starved = 0usize;
    for (index, viewer) in viewers.iter().enumerate() {
        let got = viewer.counters.video_packets.load(Ordering::Relaxed) - received_before[index];
        received += got;
        gaps += viewer.counters.video_gaps.load(Ordering::Relaxed) - gaps_before[index];
        if got * 2 < sent {
            starved += 1;
        }
    }
    let expected = sent * viewers.len() as u64;
    let delivery = if expected == 0 { 0.0 } else { 100.0 * received as f64 / expected as f64 };
    let ticks_per_second = 100.0; // USER_HZ on Linux
    let cpu_percent = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) => Some(100.0 * (after - before) as f64 / ticks_per_second / window),
        _ => None,
    };
    let memory_per_viewer_kib = match (memory_before, memory_loaded) {
        (Some(before), Some(after)) if !viewers.is_empty() => {
            Some((after.saturating_sub(before)) as f64 / 1024.0 / viewers.len() as f64)
        }
        _ => None,
    };
    let report = json!({
        "viewers_asked": load.viewers,
        "viewers_opened": viewers.len(),
        "viewers_refused": refused,
        "first_error": first_error,
        "viewers_held": held,
        "viewers_starved": starved,
        "ramp_seconds": ramp_seconds,
        "window_seconds": window,
        "bitrate": load.bitrate,
        "packets_sent_per_second": sent as f64 / window,
        "packet_delivery_percent": delivery,
        "sequence_gaps": gaps,
        "server_cpu_percent": cpu_percent,
        "server_cpu_percent_per_viewer": cpu_percent.map(|cpu| cpu / viewers.len().max(1) as f64),
        "server_memory_mib_before_viewers": memory_before.map(|bytes| bytes as f64 / 1_048_576.0),
        "server_memory_mib_loaded": memory_loaded.map(|bytes| bytes as f64 / 1_048_576.0),
        "server_memory_kib_per_viewer": memory_per_viewer_kib,
    });
    println!("{report}");
    for viewer in viewers {
        let _ = viewer.stop().await;
    }
    let _ = publisher.stop().await;
    Ok(())
}

fn resident_bytes(pid: u32) -> Option<u64> {
    procfs::resident_bytes(Process::Id(pid))
}

fn cpu_ticks(pid: u32) -> Option<u64> {
    procfs::cpu_ticks(Process::Id(pid))
}

// ---------------------------------------------------------------------------------------------
// The bare baseline.

struct Bare {
    engine: Engine,
    audio: broadcast::Sender<Arc<Packet>>,
    video: broadcast::Sender<Arc<Packet>>,
    audio_codec: watch::Sender<Option<Codec>>,
    video_codec: watch::Sender<Option<Codec>>,
    peers: Mutex<Vec<Peer>>,
}

/// Reads each of the publisher's tracks into the channel of its kind.
async fn read_publisher(bare: Arc<Bare>, mut tracks: mpsc::UnboundedReceiver<IncomingTrack>) {
    while let Some(track) = tracks.recv().await {
        let Some(ssrc) = track.ssrc().await else { continue };
        let video = track.kind().await == MediaKind::Video;
        let (codec, feed) = if video {
            (&bare.video_codec, bare.video.clone())
        } else {
            (&bare.audio_codec, bare.audio.clone())
        };
        codec.send_replace(track.codec(ssrc).await);
        tokio::spawn(async move {
            while let Some(packet) = track.next_packet().await {
                let _ = feed.send(Arc::new(packet));
            }
        });
    }
}

async fn bare_server(listen: SocketAddr, udp: IpAddr) -> anyhow::Result<()> {
    let config = MediaConfig { udp_addresses: vec![udp], ..MediaConfig::default() };
    let bare = Arc::new(Bare {
        engine: Engine::new(&config),
        audio: broadcast::channel(config.viewer_queue_packets / 4).0,
        video: broadcast::channel(config.viewer_queue_packets).0,
        audio_codec: watch::Sender::new(None),
        video_codec: watch::Sender::new(None),
        peers: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/whip", axum::routing::post(bare_whip))
        .route("/whep", axum::routing::post(bare_whep))
        .route("/session", axum::routing::delete(|| async { StatusCode::OK }))
        .with_state(bare);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("bare forwarding server on {listen}");
    axum::serve(listener, app).await?;
    Ok(())
}

fn answered(result: anyhow::Result<String>) -> Response {
    match result {
        Ok(sdp) => (
            StatusCode::CREATED,
            [(header::CONTENT_TYPE, "application/sdp"), (header::LOCATION, "/session")],
            sdp,
        )
            .into_response(),
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

async fn bare_whip(State(bare): State<Arc<Bare>>, offer: String) -> Response {
    answered(
        async {
            let (peer, handles) = bare.engine.peer(None).await?;
            for kind in [MediaKind::Audio, MediaKind::Video] {
                peer.receive(kind).await?;
            }
            let sdp = peer.answer(offer).await?;
            tokio::spawn(read_publisher(bare.clone(), handles.tracks));
            bare.peers.lock().expect("not poisoned").push(peer);
            Ok(sdp)
        }
        .await,
    )
}

async fn bare_whep(State(bare): State<Arc<Bare>>, offer: String) -> Response {
    answered(
        async {
            let video_codec =
                bare.video_codec.subscribe().wait_for(Option::is_some).await?.clone().context("no codec")?;
            let audio_codec = bare.audio_codec.borrow().clone();
            let (peer, handles) = bare.engine.peer(None).await?;
            let mut outputs = Vec::new();
            for codec in [Some(video_codec), audio_codec].into_iter().flatten() {
                let track = peer.send(&codec, "bare").await?;
                let feed =
                    if codec.kind == MediaKind::Video { bare.video.clone() } else { bare.audio.clone() };
                outputs.push((track, feed));
            }
            let sdp = peer.answer(offer).await?;
            for (track, feed) in outputs {
                let Some(payload_type) = track.payload_type().await? else {
                    bail!("the viewer declined a kind");
                };
                tokio::spawn(bare_forward(track, payload_type, feed, handles.state.clone()));
            }
            bare.peers.lock().expect("not poisoned").push(peer);
            Ok(sdp)
        }
        .await,
    )
}

/// The bare loop: wait until connected, then write every packet with the viewer's SSRC and
/// payload type and no extensions. A lagging viewer just goes on from where the channel is.
async fn bare_forward(
    track: OutgoingTrack,
    payload_type: u8,
    source: broadcast::Sender<Arc<Packet>>,
    mut state: watch::Receiver<PeerState>,
) {
    // Writing before the peer is connected only makes the engine drop packets.
    if state.wait_for(|state| *state == PeerState::Connected).await.is_err() {
        return;
    }
    let mut feed = source.subscribe();
    loop {
        let packet = match feed.recv().await {
            Ok(packet) => packet,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let forwarded = Packet { ssrc: track.ssrc(), payload_type, ..(*packet).clone() };
        if track.write(&forwarded).await.is_err() {
            return;
        }
    }
}
