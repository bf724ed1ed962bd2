//! `kezdesu-load`: the live channel's load generator, and the bare baseline it is compared with.
//!
//! ```text
//! kezdesu-load live --server http://127.0.0.1:18700 --admin-password … --server-pid PID
//! kezdesu-load bare-server --listen 127.0.0.1:18701
//! kezdesu-load bare --server http://127.0.0.1:18701 --server-pid PID
//! kezdesu-load live --server http://127.0.0.1:18700 --also http://127.0.0.2:18700,… --server-pid PID,PID,…
//! ```
//!
//! With `--also`, the server's other nodes (a cluster): the meeting is set up through
//! `--server`, and the connections are spread over all the nodes in turn.
//!
//! Both `live` and `bare` open `--viewers` WebSocket connections that only read, and have
//! `--posters` more post `--rate` comments per second in all, for `--seconds`. Each comment
//! carries the instant it was sent, so every viewer measures end-to-end latency; every viewer
//! also checks that `seq` has no gap and no duplicate. The report has connections held,
//! deliveries per second, latency p50/p99/max, gaps and duplicates, and the server's RSS (idle
//! per connection, and under load) and CPU, read from `/proc/PID`.
//!
//! The `bare-server` is the baseline: the same axum and tokio broadcast stack and frame shape,
//! with no store, no rules, no moderation and no authentication.

use anyhow::{Context, bail};
use axum::extract::State;
use axum::extract::ws::{Message as ServerMessage, WebSocket, WebSocketUpgrade};
use clap::{Args, Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use kezdesu::procfs::{self, Process};
use serde_json::{Value, json};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast;
use tokio_tungstenite::tungstenite::Message;

#[path = "load/platforms.rs"]
mod platforms;

/// How many viewers also record when each platform comment reached them.
const PLATFORM_SAMPLERS: usize = 100;

#[derive(Parser)]
#[command(name = "kezdesu-load", about = "Load generator for Kezdesu's live channel")]
struct Cli {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Loads a Kezdesu server: creates a meeting, viewers and posters through its API.
    Live(Load),
    /// Loads the bare baseline server.
    Bare(Load),
    /// Runs the bare baseline server.
    BareServer {
        #[arg(long, default_value = "127.0.0.1:18701")]
        listen: SocketAddr,
    },
}

#[derive(Args, Clone)]
struct Load {
    /// The server's base URL, e.g. http://127.0.0.1:18700.
    #[arg(long)]
    server: String,
    /// For `live`: the admin's password, to set up the meeting.
    #[arg(long, default_value = "")]
    admin_password: String,
    /// Other nodes of the same cluster, to spread the connections over.
    #[arg(long, value_delimiter = ',')]
    also: Vec<String>,
    /// The server's process ids (one per node), to read their memory and CPU, summed.
    #[arg(long, value_delimiter = ',')]
    server_pid: Vec<u32>,
    #[arg(long, default_value_t = 5000)]
    viewers: usize,
    #[arg(long, default_value_t = 20)]
    posters: usize,
    /// Comments per second, all posters together.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Source addresses to spread connections over (past ~28,000 ports per address).
    #[arg(long, value_delimiter = ',', default_value = "127.0.0.1")]
    sources: Vec<IpAddr>,
    /// For `live`: this many more live meetings with no traffic, made live before the load.
    /// Every node of a cluster mirrors each, so their streams are read beside the loaded one.
    #[arg(long, default_value_t = 0)]
    quiet_meetings: usize,
    /// For `live`: the fake platforms' URL (tests/services/platforms); the meeting then also
    /// follows a YouTube chat, a Telegram post, a VK video and a Facebook live video there.
    #[arg(long)]
    platforms_fake: Option<String>,
    /// Comments per second written on each of the four platforms.
    #[arg(long, default_value_t = 25.0)]
    platform_rate: f64,
}

fn main() -> anyhow::Result<()> {
    // Each connection is a file descriptor; use all the process may have.
    let _ = rlimit::increase_nofile_limit(u64::MAX);
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        match cli.command {
            Mode::BareServer { listen } => bare_server(listen).await,
            Mode::Live(load) => {
                let setup = live_setup(&load).await?;
                run_load(&load, setup).await
            }
            Mode::Bare(load) => {
                let base = load.server.replacen("http", "ws", 1);
                let setup = Setup {
                    viewer_urls: vec![format!("{base}/ws"); load.viewers],
                    poster_urls: vec![format!("{base}/ws"); load.posters],
                    platforms: None,
                };
                run_load(&load, setup).await
            }
        }
    })
}

/// Where each connection goes.
struct Setup {
    viewer_urls: Vec<String>,
    poster_urls: Vec<String>,
    platforms: Option<Arc<platforms::PlatformLoad>>,
}

/// Creates an akim, a territory and a live meeting, then a viewer token per connection.
async fn live_setup(load: &Load) -> anyhow::Result<Setup> {
    let http = reqwest::Client::new();
    let base = load.server.trim_end_matches('/').to_owned();
    let post = |path: &str, token: Option<&str>, body: Value| {
        let mut request = http.post(format!("{base}{path}")).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await?;
            let status = response.status();
            let body: Value = response.json().await?;
            if !status.is_success() {
                bail!("{status}: {body}");
            }
            Ok::<Value, anyhow::Error>(body)
        }
    };
    let admin =
        post("/api/session", None, json!({"login": "admin", "password": load.admin_password})).await?;
    let admin = admin["token"].as_str().context("a token")?.to_owned();
    let suffix = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() % 1_000_000_000;
    let login = format!("bench-akim-{suffix}");
    let akim = post(
        "/api/accounts",
        Some(&admin),
        json!({"login": login, "display_name": "Bench akim", "role": "akim", "password": "bench password long"}),
    )
    .await?;
    let territory = post(
        "/api/territories",
        Some(&admin),
        json!({"kato": format!("{:09}", suffix), "kind": "village", "name": {"en": "Bench"}}),
    )
    .await?;
    let start = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    let go_live = async |title: &str| {
        let meeting = post(
            "/api/meetings",
            Some(&admin),
            json!({"title": {"en": title}, "territory_id": territory["id"], "akim_account_id": akim["id"],
                   "planned_start": start.to_string(), "planned_minutes": 120, "kind": "unscheduled"}),
        )
        .await?;
        let id = meeting["id"].as_i64().context("a meeting id")?;
        post(&format!("/api/meetings/{id}/phase"), Some(&admin), json!({"phase": "qa"})).await?;
        Ok::<i64, anyhow::Error>(id)
    };
    for quiet in 0..load.quiet_meetings {
        go_live(&format!("Quiet {quiet}")).await?;
    }
    let id = go_live("Benchmark").await?;
    let platforms = match &load.platforms_fake {
        None => None,
        Some(fake) => {
            let akim = akim["id"].as_i64().context("an akim id")?;
            let setup = platforms::setup(&http, &base, &admin, akim, id, fake, suffix).await?;
            Some(Arc::new(setup))
        }
    };
    let nodes: Vec<String> = std::iter::once(&load.server)
        .chain(&load.also)
        .map(|node| node.trim_end_matches('/').replacen("http", "ws", 1))
        .collect();
    let total = load.viewers + load.posters;
    let urls: Vec<String> = futures_util::stream::iter(0..total)
        .map(|n| {
            let post = &post;
            let ws = &nodes[n % nodes.len()];
            async move {
                let viewer = post(
                    &format!("/api/meetings/{id}/viewers"),
                    None,
                    json!({"display_name": format!("v{n}")}),
                )
                .await?;
                let token = viewer["token"].as_str().context("a viewer token")?;
                Ok::<String, anyhow::Error>(format!("{ws}/api/meetings/{id}/live?token={token}"))
            }
        })
        .buffered(32)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<anyhow::Result<_>>()?;
    let (posters, viewers) = urls.split_at(load.posters);
    eprintln!("setup: meeting {id}, {total} viewer tokens");
    Ok(Setup { viewer_urls: viewers.to_vec(), poster_urls: posters.to_vec(), platforms })
}

/// What all viewers measured together.
#[derive(Default)]
struct Tally {
    deliveries: AtomicU64,
    gaps: AtomicU64,
    duplicates: AtomicU64,
    /// Viewers the server closed or dropped before the end.
    dropped: AtomicU64,
    /// Latencies in microseconds, sampled from every delivery of every posted comment.
    latencies: Mutex<Vec<u64>>,
    /// When each platform comment reached a sampled viewer: (`platform:external_id`, µs).
    platform_arrivals: Mutex<Vec<(String, u64)>>,
}

fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Reads a whole number that starts at `text[at..]`.
fn number_at(text: &str, at: usize) -> Option<u64> {
    let digits: &str = &text[at..];
    let end = digits.find(|c: char| !c.is_ascii_digit()).unwrap_or(digits.len());
    digits[..end].parse().ok()
}

/// Scans a frame for `seq`s and bench timestamps without parsing the JSON: the generator
/// shares the machine with the server and must stay cheap.
fn scan(text: &str, last_seq: &mut u64, tally: &Tally, latencies: &mut Vec<u64>) {
    if !text.starts_with(r#"{"type":"events""#) {
        return;
    }
    let received = now_micros();
    let mut rest = text;
    while let Some(found) = rest.find(r#""seq":"#) {
        rest = &rest[found + 6..];
        let Some(seq) = number_at(rest, 0) else { continue };
        if *last_seq != 0 {
            if seq <= *last_seq {
                tally.duplicates.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            if seq > *last_seq + 1 {
                tally.gaps.fetch_add(seq - *last_seq - 1, Ordering::Relaxed);
            }
        }
        *last_seq = seq;
        tally.deliveries.fetch_add(1, Ordering::Relaxed);
        let event_end = rest.find(r#""seq":"#).unwrap_or(rest.len());
        if let Some(mark) = rest[..event_end].find("bench ")
            && let Some(sent) = number_at(rest, mark + 6)
        {
            latencies.push(received.saturating_sub(sent));
        }
    }
}

async fn connect(
    url: &str,
    source: IpAddr,
) -> anyhow::Result<tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>> {
    let host = url.split("//").nth(1).and_then(|rest| rest.split('/').next()).context("a host")?;
    let address: SocketAddr = host.parse()?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket.connect(address).await?;
    let (socket, _) = tokio_tungstenite::client_async(url, stream).await?;
    Ok(socket)
}

async fn run_load(load: &Load, setup: Setup) -> anyhow::Result<()> {
    let tally = Arc::new(Tally::default());
    let rss_before = rss_kib(&load.server_pid);
    let connected = Arc::new(AtomicU64::new(0));
    let stop = tokio_util::sync::CancellationToken::new();
    let mut viewers = Vec::new();
    for (index, url) in setup.viewer_urls.iter().enumerate() {
        let source = load.sources[index % load.sources.len()];
        let socket = match connect(url, source).await {
            Ok(socket) => socket,
            Err(error) => {
                eprintln!("viewer {index}: {error}");
                continue;
            }
        };
        connected.fetch_add(1, Ordering::Relaxed);
        let (tally, stop) = (tally.clone(), stop.clone());
        let samples_platforms = index < PLATFORM_SAMPLERS;
        viewers.push(tokio::spawn(async move {
            let (_, mut read) = socket.split();
            let mut last_seq = 0;
            let mut latencies = Vec::new();
            let mut arrivals = Vec::new();
            let mut first = true;
            loop {
                let message = tokio::select! {
                    _ = stop.cancelled() => break,
                    message = read.next() => message,
                };
                match message {
                    Some(Ok(Message::Text(text))) => {
                        // The first frame may be history; only what follows is measured.
                        if first && text.starts_with(r#"{"type":"events""#) {
                            first = false;
                            if let Some(at) = text.rfind(r#""seq":"#) {
                                last_seq = number_at(&text, at + 6).unwrap_or(0);
                            }
                            continue;
                        }
                        scan(&text, &mut last_seq, &tally, &mut latencies);
                        if samples_platforms {
                            let received = now_micros();
                            arrivals.extend(platforms::sources_in(&text).map(|key| (key, received)));
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        eprintln!("viewer closed: {frame:?}");
                        tally.dropped.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                    Some(Ok(_)) => {}
                    _ => {
                        tally.dropped.fetch_add(1, Ordering::Relaxed);
                        break;
                    }
                }
            }
            tally.latencies.lock().expect("not poisoned").extend(latencies);
            tally.platform_arrivals.lock().expect("not poisoned").extend(arrivals);
        }));
    }
    let held = connected.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_idle = rss_kib(&load.server_pid);
    let cpu_before = cpu_ticks(&load.server_pid);
    eprintln!("connected {held} viewers; posting for {} s", load.seconds);

    let started = Instant::now();
    let deliveries_before = tally.deliveries.load(Ordering::Relaxed);
    let posted = Arc::new(AtomicU64::new(0));
    let errors = Arc::new(AtomicU64::new(0));
    let per_poster = load.rate / load.posters.max(1) as f64;
    let mut posters = Vec::new();
    for (index, url) in setup.poster_urls.iter().enumerate() {
        let mut socket = connect(url, load.sources[index % load.sources.len()]).await?;
        let (posted, errors, seconds) = (posted.clone(), errors.clone(), load.seconds);
        posters.push(tokio::spawn(async move {
            let interval = Duration::from_secs_f64(1.0 / per_poster);
            let mut tick = tokio::time::interval_at(
                tokio::time::Instant::now() + interval.mul_f64(index as f64 / 20.0),
                interval,
            );
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
            let mut n = 0u64;
            while tokio::time::Instant::now() < deadline {
                tick.tick().await;
                n += 1;
                let text = format!("bench {} from poster {index}", now_micros());
                let message = json!({"type": "comment", "client_id": format!("p{index}-{n}"), "text": text});
                if socket.send(Message::Text(message.to_string().into())).await.is_err() {
                    break;
                }
                // Wait for the answer, reading past event frames.
                while let Some(Ok(reply)) = socket.next().await {
                    if let Message::Text(reply) = reply {
                        if reply.contains(r#""type":"ack""#) {
                            posted.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        if reply.contains(r#""type":"error""#) {
                            errors.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                    }
                }
            }
        }));
    }
    let injector = setup
        .platforms
        .clone()
        .map(|load_of_platforms| tokio::spawn(load_of_platforms.inject(load.platform_rate, load.seconds)));
    for poster in posters {
        let _ = poster.await;
    }
    let platform_written = match injector {
        Some(injector) => injector.await.unwrap_or(0),
        None => 0,
    };
    let elapsed = started.elapsed();
    let rss_loaded = rss_kib(&load.server_pid);
    let cpu_after = cpu_ticks(&load.server_pid);
    // Let the last deliveries land.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.cancel();
    for viewer in viewers {
        let _ = viewer.await;
    }
    let deliveries = tally.deliveries.load(Ordering::Relaxed) - deliveries_before;
    let mut latencies = std::mem::take(&mut *tally.latencies.lock().expect("not poisoned"));
    latencies.sort_unstable();
    let percentile = |p: f64| -> f64 {
        if latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies[index] as f64 / 1000.0
    };
    let platform_latency = match &setup.platforms {
        None => Value::Null,
        Some(load_of_platforms) => {
            let served = load_of_platforms.served().await?;
            let arrivals = std::mem::take(&mut *tally.platform_arrivals.lock().expect("not poisoned"));
            let mut lags: Vec<u64> = arrivals
                .iter()
                .filter_map(|(key, received)| served.get(key).map(|at| received.saturating_sub(*at)))
                .collect();
            lags.sort_unstable();
            let entered: std::collections::HashSet<&str> =
                arrivals.iter().map(|(key, _)| key.as_str()).collect();
            let at = |p: f64| match lags.len() {
                0 => f64::NAN,
                len => lags[((len as f64 - 1.0) * p).round() as usize] as f64 / 1000.0,
            };
            json!({"written": platform_written, "entered": entered.len(), "served": served.len(),
                   "p50": at(0.50), "p99": at(0.99), "max": at(1.0), "samples": lags.len()})
        }
    };
    let ticks_per_second = 100.0;
    let cpu = match (cpu_before, cpu_after) {
        (Some(before), Some(after)) => {
            format!("{:.0}%", (after - before) as f64 / ticks_per_second / elapsed.as_secs_f64() * 100.0)
        }
        _ => "n/a".into(),
    };
    let per_connection = match (rss_before, rss_idle) {
        (Some(before), Some(idle)) if held > 0 => {
            format!("{:.1} KiB", (idle as f64 - before as f64) / held as f64)
        }
        _ => "n/a".into(),
    };
    println!(
        "{}",
        json!({
            "viewers_connected": held,
            "viewers_dropped": tally.dropped.load(Ordering::Relaxed),
            "posted": posted.load(Ordering::Relaxed),
            "post_errors": errors.load(Ordering::Relaxed),
            "seconds": (elapsed.as_secs_f64() * 10.0).round() / 10.0,
            "deliveries": deliveries,
            "deliveries_per_second": (deliveries as f64 / elapsed.as_secs_f64()).round(),
            "latency_ms": {"p50": percentile(0.50), "p99": percentile(0.99), "max": percentile(1.0), "samples": latencies.len()},
            "gaps": tally.gaps.load(Ordering::Relaxed),
            "duplicates": tally.duplicates.load(Ordering::Relaxed),
            "server_rss_kib": {"before": rss_before, "idle_connected": rss_idle, "under_load": rss_loaded},
            "idle_memory_per_connection": per_connection,
            "server_cpu": cpu,
            "platform_latency_ms": platform_latency,
        })
    );
    Ok(())
}

/// The resident memory of every node, summed; `None` without ids or when one cannot be read.
fn rss_kib(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|pid| procfs::resident_bytes(Process::Id(*pid)).map(|bytes| bytes / 1024)).sum()
}

/// The CPU time of every node, summed, in clock ticks.
fn cpu_ticks(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|pid| procfs::cpu_ticks(Process::Id(*pid))).sum()
}

/// The baseline: posts are numbered and broadcast, serialized once, with nothing else.
#[derive(Clone)]
struct Bare {
    frames: broadcast::Sender<Arc<str>>,
    next_seq: Arc<Mutex<u64>>,
}

async fn bare_server(listen: SocketAddr) -> anyhow::Result<()> {
    let state = Bare { frames: broadcast::channel(256).0, next_seq: Arc::new(Mutex::new(0)) };
    let app = axum::Router::new().route("/ws", axum::routing::get(bare_connect)).with_state(state);
    let listener = tokio::net::TcpListener::bind(listen).await?;
    eprintln!("bare baseline listening on {listen}");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn bare_connect(State(state): State<Bare>, upgrade: WebSocketUpgrade) -> axum::response::Response {
    upgrade.read_buffer_size(4096).on_upgrade(move |socket| bare_connection(state, socket))
}

async fn bare_connection(state: Bare, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let mut frames = state.frames.subscribe();
    let (direct, mut direct_inbox) = tokio::sync::mpsc::channel::<String>(16);
    // The same writer as Kezdesu's: feed up to 16 waiting frames, flush once, and close a
    // connection that fell behind.
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                frame = frames.recv() => match frame {
                    Ok(frame) => {
                        let mut ok = sink.feed(ServerMessage::Text(frame.to_string().into())).await.is_ok();
                        for _ in 1..16 {
                            match frames.try_recv() {
                                Ok(next) if ok => ok = sink.feed(ServerMessage::Text(next.to_string().into())).await.is_ok(),
                                Err(broadcast::error::TryRecvError::Lagged(_)) => { ok = false; break }
                                _ => break,
                            }
                        }
                        if !ok || sink.flush().await.is_err() { break }
                    }
                    Err(_) => break,
                },
                answer = direct_inbox.recv() => match answer {
                    Some(answer) => { if sink.send(ServerMessage::Text(answer.into())).await.is_err() { break } }
                    None => break,
                },
            }
        }
    });
    while let Some(Ok(message)) = stream.next().await {
        let ServerMessage::Text(text) = message else { continue };
        let Ok(post) = serde_json::from_str::<Value>(&text) else { continue };
        let (Some(client_id), Some(body)) = (post["client_id"].as_str(), post["text"].as_str()) else {
            continue;
        };
        let seq = {
            let mut next = state.next_seq.lock().expect("not poisoned");
            *next += 1;
            let event = json!({"seq": *next, "type": "comment_posted", "client_id": client_id, "text": body});
            let frame: Arc<str> = format!(r#"{{"type":"events","events":[{event}]}}"#).into();
            let _ = state.frames.send(frame);
            *next
        };
        let _ = direct.send(json!({"type": "ack", "client_id": client_id, "seq": seq}).to_string()).await;
    }
    drop(direct);
    let _ = writer.await;
}
