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
//! Both `live` and `bare` open `--readers` read-only WebSocket connections (no token: public
//! readers) and then `--viewers` joined ones (each with its own viewer token), which all only
//! read, and have `--posters` more post `--rate` comments per second in all, for `--seconds`.
//! Each comment carries the instant it was sent, so every connection measures end-to-end
//! latency; every connection also checks that `seq` has no gap and no duplicate. The report has
//! connections held, comments asked for and posted, deliveries per second, latency p50/p99/max,
//! the latency of each comment's first delivery to any connection (`first_delivery_ms`: the
//! path to the fan-out, apart from the fan-out itself), gaps and duplicates, and the server's RSS (idle per read-only and per joined connection, and
//! under load) and CPU, read from `/proc/PID`. For `bare`, readers and viewers are the same
//! plain connections, counted in two groups.
//!
//! The generator shares the machine with the server, so it is kept light, so as to measure the
//! server rather than itself: all the reading connections run on one current-thread runtime
//! (`--viewer-threads` adds more, each a shard with its own counters and histogram, merged at
//! the end), every received frame is only scanned for `"seq":` and the send instant (never
//! parsed as JSON), latencies go into HDR histograms, and the posters run on a thread of their
//! own, sending each comment at its own instant of an absolute schedule so that viewer work
//! cannot delay or thin the load: `--rate` × `--seconds` comments are sent.
//!
//! The `bare-server` is the baseline: the same axum and tokio broadcast stack and frame shape,
//! with no store, no rules, no moderation and no authentication.

use anyhow::{Context, bail};
use axum::extract::State;
use axum::extract::ws::{Message as ServerMessage, WebSocket, WebSocketUpgrade};
use clap::{Args, Parser, Subcommand};
use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use kezdesu::procfs::{self, Process};
use serde_json::{Value, json};
use std::cell::RefCell;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{broadcast, oneshot};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

#[path = "load/platforms.rs"]
mod platforms;

/// How many connections also record when each platform comment reached them.
const PLATFORM_SAMPLERS: usize = 100;
/// WebSocket handshakes in flight at once, per shard.
const CONNECTING_AT_ONCE: usize = 32;
/// Latencies are recorded in microseconds, up to ten minutes, to three significant digits.
const LATENCY_MAX_MICROS: u64 = 600_000_000;
/// How long posters wait after their last send for the last answers.
const ANSWER_GRACE: Duration = Duration::from_secs(10);

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
    /// Joined connections: each first joins the meeting for a viewer token.
    #[arg(long, default_value_t = 5000)]
    viewers: usize,
    /// Read-only connections: public readers, with no token (connected before the viewers).
    #[arg(long, default_value_t = 0)]
    readers: usize,
    #[arg(long, default_value_t = 20)]
    posters: usize,
    /// Comments per second, all posters together.
    #[arg(long, default_value_t = 20.0)]
    rate: f64,
    #[arg(long, default_value_t = 30)]
    seconds: u64,
    /// Seconds to let the server settle after each group connected, before reading its RSS.
    #[arg(long, default_value_t = 3)]
    settle: u64,
    /// Threads (each a current-thread runtime) that the reading connections are spread over.
    #[arg(long, default_value_t = 1)]
    viewer_threads: usize,
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
    match cli.command {
        Mode::BareServer { listen } => {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
            runtime.block_on(bare_server(listen))
        }
        Mode::Live(load) => {
            // This thread only sets up, measures and waits; the connections run elsewhere.
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async move {
                let setup = live_setup(&load).await?;
                run_load(&load, setup).await
            })
        }
        Mode::Bare(load) => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            let base = load.server.replacen("http", "ws", 1);
            let setup = Setup {
                reader_urls: vec![format!("{base}/ws"); load.readers],
                viewer_urls: vec![format!("{base}/ws"); load.viewers],
                poster_urls: vec![format!("{base}/ws"); load.posters],
                platforms: None,
            };
            runtime.block_on(run_load(&load, setup))
        }
    }
}

/// Where each connection goes.
struct Setup {
    reader_urls: Vec<String>,
    viewer_urls: Vec<String>,
    poster_urls: Vec<String>,
    platforms: Option<Arc<platforms::PlatformLoad>>,
}

/// Creates an akim, a territory and a live meeting, then a viewer token per joined connection
/// (viewers and posters); readers connect with none.
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
    let reader_urls =
        (0..load.readers).map(|n| format!("{}/api/meetings/{id}/live", nodes[n % nodes.len()])).collect();
    Ok(Setup { reader_urls, viewer_urls: viewers.to_vec(), poster_urls: posters.to_vec(), platforms })
}

/// What one shard's connections counted. Only the shard's own thread writes it; the main
/// thread reads it between the phases of the run.
#[derive(Default)]
struct Counters {
    deliveries: AtomicU64,
    gaps: AtomicU64,
    duplicates: AtomicU64,
    /// Connections the server closed or dropped before the end.
    dropped: AtomicU64,
    /// Connections whose hello said `"role":"reader"`.
    reader_hellos: AtomicU64,
}

/// What a shard's thread records for itself while it runs, and hands over when it stops.
struct Recorded {
    /// Send-to-receive latencies in microseconds, of every delivery of every posted comment.
    latencies: Histogram<u64>,
    /// When each platform comment reached a sampled connection: (`platform:external_id`, µs).
    platform_arrivals: Vec<(String, u64)>,
    /// By `seq`, the latency of a comment's first delivery to any connection (0: none yet):
    /// the path to the fan-out, apart from the fan-out itself.
    first_deliveries: Vec<u64>,
}

impl Default for Recorded {
    fn default() -> Recorded {
        Recorded {
            latencies: latency_histogram(),
            platform_arrivals: Vec::new(),
            first_deliveries: Vec::new(),
        }
    }
}

impl Recorded {
    fn record(&mut self, seq: u64, latency: u64) {
        self.latencies.saturating_record(latency);
        let Ok(index) = usize::try_from(seq) else { return };
        if index >= self.first_deliveries.len() {
            self.first_deliveries.resize(index + 1, 0);
        }
        let first = &mut self.first_deliveries[index];
        if *first == 0 || latency < *first {
            *first = latency;
        }
    }
}

fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, LATENCY_MAX_MICROS, 3).expect("valid histogram bounds")
}

thread_local! {
    /// The current shard's record: each shard is one thread, so no lock is taken per frame.
    static RECORDED: RefCell<Recorded> = RefCell::default();
}

/// One thread with a current-thread runtime, running its share of the reading connections.
struct Shard {
    handle: tokio::runtime::Handle,
    counters: Arc<Counters>,
    stop: oneshot::Sender<()>,
    thread: std::thread::JoinHandle<Recorded>,
}

impl Shard {
    fn start(index: usize) -> anyhow::Result<Shard> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let handle = runtime.handle().clone();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name(format!("viewers-{index}")).spawn(move || {
            runtime.block_on(async {
                let _ = stopped.await;
            });
            // Dropping the runtime drops (and so closes) every connection it ran.
            drop(runtime);
            RECORDED.take()
        })?;
        Ok(Shard { handle, counters: Arc::default(), stop, thread })
    }
}

fn sum(shards: &[Shard], counter: impl Fn(&Counters) -> &AtomicU64) -> u64 {
    shards.iter().map(|shard| counter(&shard.counters).load(Ordering::Relaxed)).sum()
}

fn now_micros() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Reads a whole number that starts at `text[at..]`.
fn number_at(text: &str, at: usize) -> Option<u64> {
    let digits = text.as_bytes().get(at..)?;
    let end = digits.iter().position(|b| !b.is_ascii_digit()).unwrap_or(digits.len());
    if end == 0 || end > 19 {
        return None;
    }
    Some(digits[..end].iter().fold(0, |number, digit| number * 10 + u64::from(digit - b'0')))
}

const EVENTS: &str = r#"{"type":"events""#;
const SEQ: &str = r#""seq":"#;
const BENCH: &str = "bench ";

/// Words that differ from one comment to the next, as people's do: one poster sending the same
/// text again and again is a flood, which the server's automatic rules hide from the viewers
/// whose deliveries the benchmark counts.
fn topic_of(k: u64) -> String {
    // The words the pages' benchmark (`tests/bench/pages.mjs`) uses too, one per line.
    const WORDS_FILE: &str = include_str!("../../../tests/fixtures/bench-words.txt");
    static WORDS: std::sync::LazyLock<Vec<&str>> =
        std::sync::LazyLock::new(|| WORDS_FILE.lines().filter(|line| !line.is_empty()).collect());
    // A multiplicative hash, so that no two of a poster's comments within the flood window
    // share their words.
    let mixed = k.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (0..5)
        .map(|word| WORDS[((mixed >> (word * 11 + 7)) % WORDS.len() as u64) as usize])
        .collect::<Vec<_>>()
        .join(" ")
}

/// What one connection has seen of the meeting's log.
#[derive(Default)]
struct Seen {
    hello: bool,
    /// The last `seq` when the connection joined (its hello's `last_seq`): the history sent
    /// after the hello is not measured.
    history_through: u64,
    last_seq: u64,
}

impl Seen {
    /// Scans a frame for `seq`s and bench timestamps without parsing the JSON: the generator
    /// shares the machine with the server and must stay cheap.
    fn frame(&mut self, text: &str, counters: &Counters) {
        if !text.starts_with(EVENTS) {
            // Kezdesu's first message (the bare baseline sends none); its keys are sorted, so
            // the first `last_seq` is the top-level one.
            if !self.hello && text.contains(r#""type":"hello""#) {
                self.hello = true;
                if let Some(at) = text.find(r#""last_seq":"#) {
                    self.history_through = number_at(text, at + 11).unwrap_or(0);
                    self.last_seq = self.history_through;
                }
                if text.contains(r#""role":"reader""#) {
                    counters.reader_hellos.fetch_add(1, Ordering::Relaxed);
                }
            }
            return;
        }
        let received = now_micros();
        let (mut delivered, mut gaps, mut duplicates) = (0, 0, 0);
        let mut rest = &text[EVENTS.len()..];
        let mut next = rest.find(SEQ);
        while let Some(found) = next {
            rest = &rest[found + SEQ.len()..];
            next = rest.find(SEQ);
            let event = &rest[..next.unwrap_or(rest.len())];
            let Some(seq) = number_at(event, 0) else { continue };
            if seq <= self.history_through {
                continue;
            }
            if self.last_seq != 0 {
                if seq <= self.last_seq {
                    duplicates += 1;
                    continue;
                }
                gaps += seq - self.last_seq - 1;
            }
            self.last_seq = seq;
            delivered += 1;
            if let Some(mark) = event.find(BENCH)
                && let Some(sent) = number_at(event, mark + BENCH.len())
            {
                let latency = received.saturating_sub(sent).max(1);
                RECORDED.with_borrow_mut(|recorded| recorded.record(seq, latency));
            }
        }
        counters.deliveries.fetch_add(delivered, Ordering::Relaxed);
        if gaps > 0 {
            counters.gaps.fetch_add(gaps, Ordering::Relaxed);
        }
        if duplicates > 0 {
            counters.duplicates.fetch_add(duplicates, Ordering::Relaxed);
        }
    }
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn connect(url: &str, source: IpAddr) -> anyhow::Result<Socket> {
    let host = url.split("//").nth(1).and_then(|rest| rest.split('/').next()).context("a host")?;
    let address: SocketAddr = host.parse()?;
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(source, 0))?;
    let stream = socket.connect(address).await?;
    // Small buffers: ten thousand connections that mostly read small frames.
    let config = WebSocketConfig::default().read_buffer_size(4096).write_buffer_size(0);
    let (socket, _) = tokio_tungstenite::client_async_with_config(url, stream, Some(config)).await?;
    Ok(socket)
}

/// Prints the first few of a kind of message, then only counts them (10,000 alike say nothing more).
fn say_a_few(said: &AtomicU64, message: impl FnOnce() -> String) {
    if said.fetch_add(1, Ordering::Relaxed) < 5 {
        eprintln!("{}", message());
    }
}

static CLOSES_SAID: AtomicU64 = AtomicU64::new(0);
static FAILURES_SAID: AtomicU64 = AtomicU64::new(0);
static ERRORS_SAID: AtomicU64 = AtomicU64::new(0);

/// One reading connection: scans every frame until the server closes it or the shard stops.
async fn view(mut socket: Socket, counters: Arc<Counters>, samples_platforms: bool) {
    let mut seen = Seen::default();
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) => {
                seen.frame(&text, &counters);
                if samples_platforms {
                    let received = now_micros();
                    RECORDED.with_borrow_mut(|recorded| {
                        recorded
                            .platform_arrivals
                            .extend(platforms::sources_in(&text).map(|key| (key, received)))
                    });
                }
            }
            Some(Ok(Message::Close(frame))) => {
                say_a_few(&CLOSES_SAID, || format!("connection closed by the server: {frame:?}"));
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
            Some(Ok(_)) => {}
            Some(Err(_)) | None => {
                counters.dropped.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
    }
}

/// Connects `urls` (connections `first`, `first + 1`, … of the run), spread over the shards in
/// turn, each connection then reading on its shard; returns how many connected.
async fn connect_group(shards: &[Shard], urls: &[String], first: usize, load: &Load, platforms: bool) -> u64 {
    let mut connecting = Vec::new();
    for (number, shard) in shards.iter().enumerate() {
        let mine: Vec<(usize, String)> = urls
            .iter()
            .enumerate()
            .filter(|(index, _)| index % shards.len() == number)
            .map(|(index, url)| (first + index, url.clone()))
            .collect();
        let (sources, counters) = (load.sources.clone(), shard.counters.clone());
        connecting.push(shard.handle.spawn(async move {
            let mut held = 0;
            let mut handshakes = futures_util::stream::iter(mine)
                .map(|(index, url)| {
                    let source = sources[index % sources.len()];
                    async move { (index, connect(&url, source).await) }
                })
                .buffer_unordered(CONNECTING_AT_ONCE);
            while let Some((index, connected)) = handshakes.next().await {
                match connected {
                    Ok(socket) => {
                        held += 1;
                        let samples_platforms = platforms && index < PLATFORM_SAMPLERS;
                        tokio::spawn(view(socket, counters.clone(), samples_platforms));
                    }
                    Err(error) => say_a_few(&FAILURES_SAID, || format!("connection {index}: {error}")),
                }
            }
            held
        }));
    }
    let mut held = 0;
    for shard in connecting {
        held += shard.await.unwrap_or(0);
    }
    held
}

/// What the posters did.
#[derive(Default)]
struct Posted {
    /// `--rate` × `--seconds`, rounded.
    asked: u64,
    sent: u64,
    /// Acknowledged (committed) by the server.
    acked: u64,
    errors: u64,
    /// The latest a send left after its scheduled instant.
    worst_send_lag: Duration,
}

/// Runs the posters on a thread and runtime of their own, so that the reading connections'
/// work cannot delay their sends.
fn start_posters(
    urls: Vec<String>,
    sources: Vec<IpAddr>,
    rate: f64,
    seconds: u64,
) -> anyhow::Result<oneshot::Receiver<anyhow::Result<Posted>>> {
    let (done, outcome) = oneshot::channel();
    std::thread::Builder::new().name("posters".into()).spawn(move || {
        let posted = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|runtime| runtime.block_on(post_all(urls, sources, rate, seconds)));
        let _ = done.send(posted);
    })?;
    Ok(outcome)
}

async fn post_all(
    urls: Vec<String>,
    sources: Vec<IpAddr>,
    rate: f64,
    seconds: u64,
) -> anyhow::Result<Posted> {
    let asked = (rate * seconds as f64).round() as u64;
    let mut sockets = Vec::new();
    for (index, url) in urls.iter().enumerate() {
        sockets.push(connect(url, sources[index % sources.len()]).await?);
    }
    let posters = sockets.len() as u64;
    let start = tokio::time::Instant::now() + Duration::from_millis(100);
    let mut tasks = Vec::new();
    for (index, socket) in sockets.into_iter().enumerate() {
        tasks.push(tokio::spawn(post(socket, index as u64, posters, asked, rate, start)));
    }
    let mut posted = Posted { asked, ..Posted::default() };
    for task in tasks {
        let one = task.await?;
        posted.sent += one.sent;
        posted.acked += one.acked;
        posted.errors += one.errors;
        posted.worst_send_lag = posted.worst_send_lag.max(one.worst_send_lag);
    }
    Ok(posted)
}

/// Sends comments `index`, `index + posters`, … of the `asked`, the kth at `start + k / rate`
/// (a late one leaves at once, so that a delay never thins the load), and counts the answers
/// until all are in or a grace period has passed.
async fn post(
    socket: Socket,
    index: u64,
    posters: u64,
    asked: u64,
    rate: f64,
    start: tokio::time::Instant,
) -> Posted {
    let (mut sink, mut stream) = socket.split();
    let due_of = |k: u64| start + Duration::from_secs_f64(k as f64 / rate);
    let mut posted = Posted::default();
    let mut k = index;
    let due = tokio::time::sleep_until(due_of(k));
    let give_up = tokio::time::sleep_until(due_of(asked) + ANSWER_GRACE);
    tokio::pin!(due, give_up);
    loop {
        if k >= asked && posted.acked + posted.errors >= posted.sent {
            break;
        }
        tokio::select! {
            () = &mut due, if k < asked => {
                posted.worst_send_lag = posted.worst_send_lag.max(tokio::time::Instant::now() - due_of(k));
                let text = format!(
                    r#"{{"type":"comment","client_id":"p{index}-{k}","text":"{BENCH}{} {}"}}"#,
                    now_micros(),
                    topic_of(k)
                );
                if sink.send(Message::Text(text.into())).await.is_err() {
                    break;
                }
                posted.sent += 1;
                k += posters;
                due.as_mut().reset(due_of(k));
            }
            message = stream.next() => match message {
                Some(Ok(Message::Text(text))) if !text.starts_with(EVENTS) => {
                    if text.contains(r#""type":"ack""#) {
                        posted.acked += 1;
                    } else if text.contains(r#""type":"error""#) {
                        posted.errors += 1;
                        say_a_few(&ERRORS_SAID, || format!("poster {index}: {text}"));
                    }
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => break,
            },
            () = &mut give_up => break,
        }
    }
    posted
}

fn per_connection(before: Option<u64>, after: Option<u64>, connections: u64) -> Value {
    match (before, after) {
        (Some(before), Some(after)) if connections > 0 => {
            json!(format!("{:.1} KiB", (after as f64 - before as f64) / connections as f64))
        }
        _ => json!("n/a"),
    }
}

fn cpu_share(before: Option<u64>, after: Option<u64>, elapsed: Duration) -> String {
    // Linux counts CPU time in ticks of 1/100 s.
    let ticks_per_second = 100.0;
    match (before, after) {
        (Some(before), Some(after)) => {
            format!("{:.0}%", (after - before) as f64 / ticks_per_second / elapsed.as_secs_f64() * 100.0)
        }
        _ => "n/a".into(),
    }
}

async fn run_load(load: &Load, setup: Setup) -> anyhow::Result<()> {
    let shards = (0..load.viewer_threads.max(1)).map(Shard::start).collect::<anyhow::Result<Vec<_>>>()?;
    let platforms = setup.platforms.is_some();
    let settle = Duration::from_secs(load.settle);
    // Memory is read before and after each group connected and settled: readers first.
    let rss_before = rss_kib(&load.server_pid);
    let readers = connect_group(&shards, &setup.reader_urls, 0, load, platforms).await;
    let rss_readers = if setup.reader_urls.is_empty() {
        rss_before
    } else {
        tokio::time::sleep(settle).await;
        rss_kib(&load.server_pid)
    };
    let joined = connect_group(&shards, &setup.viewer_urls, setup.reader_urls.len(), load, platforms).await;
    tokio::time::sleep(settle).await;
    let rss_idle = rss_kib(&load.server_pid);
    let held = readers + joined;
    eprintln!("connected {readers} readers and {joined} viewers; posting for {} s", load.seconds);

    let cpu_before = cpu_ticks(&load.server_pid);
    let own_cpu_before = procfs::cpu_ticks(Process::Current);
    let deliveries_before = sum(&shards, |c| &c.deliveries);
    let started = Instant::now();
    let posters = start_posters(setup.poster_urls.clone(), load.sources.clone(), load.rate, load.seconds)?;
    let injector = setup
        .platforms
        .clone()
        .map(|load_of_platforms| tokio::spawn(load_of_platforms.inject(load.platform_rate, load.seconds)));
    let posted = posters.await.context("the posters' thread ended")??;
    let platform_written = match injector {
        Some(injector) => injector.await.unwrap_or(0),
        None => 0,
    };
    let elapsed = started.elapsed();
    let rss_loaded = rss_kib(&load.server_pid);
    let cpu_after = cpu_ticks(&load.server_pid);
    let own_cpu_after = procfs::cpu_ticks(Process::Current);
    // Let the last deliveries land.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let deliveries = sum(&shards, |c| &c.deliveries) - deliveries_before;
    let (gaps, duplicates) = (sum(&shards, |c| &c.gaps), sum(&shards, |c| &c.duplicates));
    let (dropped, reader_hellos) = (sum(&shards, |c| &c.dropped), sum(&shards, |c| &c.reader_hellos));
    let mut latencies = latency_histogram();
    let mut arrivals = Vec::new();
    let mut first_deliveries: Vec<u64> = Vec::new();
    for shard in shards {
        let _ = shard.stop.send(());
        let recorded = shard.thread.join().map_err(|_| anyhow::anyhow!("a viewers' thread panicked"))?;
        latencies
            .add(&recorded.latencies)
            .map_err(|error| anyhow::anyhow!("merging latencies: {error:?}"))?;
        arrivals.extend(recorded.platform_arrivals);
        if first_deliveries.len() < recorded.first_deliveries.len() {
            first_deliveries.resize(recorded.first_deliveries.len(), 0);
        }
        for (first, theirs) in first_deliveries.iter_mut().zip(recorded.first_deliveries) {
            if theirs != 0 && (*first == 0 || theirs < *first) {
                *first = theirs;
            }
        }
    }
    let mut firsts = latency_histogram();
    for first in first_deliveries.into_iter().filter(|first| *first != 0) {
        firsts.saturating_record(first);
    }
    let millis = |micros: u64| micros as f64 / 1000.0;
    let latency = if latencies.is_empty() {
        json!({"p50": Value::Null, "p99": Value::Null, "max": Value::Null, "samples": 0})
    } else {
        json!({"p50": millis(latencies.value_at_quantile(0.50)), "p99": millis(latencies.value_at_quantile(0.99)),
               "max": millis(latencies.max()), "samples": latencies.len()})
    };
    let first_delivery = if firsts.is_empty() {
        json!({"p50": Value::Null, "p99": Value::Null, "max": Value::Null, "samples": 0})
    } else {
        json!({"p50": millis(firsts.value_at_quantile(0.50)), "p99": millis(firsts.value_at_quantile(0.99)),
               "max": millis(firsts.max()), "samples": firsts.len()})
    };
    let platform_latency = match &setup.platforms {
        None => Value::Null,
        Some(load_of_platforms) => {
            let served = load_of_platforms.served().await?;
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
    println!(
        "{}",
        json!({
            "viewers_connected": held,
            "readers_connected": readers,
            "joined_connected": joined,
            "reader_hellos": reader_hellos,
            "viewers_dropped": dropped,
            "asked": posted.asked,
            "sent": posted.sent,
            "posted": posted.acked,
            "post_errors": posted.errors,
            "send_lag_max_ms": millis(posted.worst_send_lag.as_micros() as u64),
            "seconds": (elapsed.as_secs_f64() * 10.0).round() / 10.0,
            "deliveries": deliveries,
            "deliveries_per_second": (deliveries as f64 / elapsed.as_secs_f64()).round(),
            "latency_ms": latency,
            "first_delivery_ms": first_delivery,
            "gaps": gaps,
            "duplicates": duplicates,
            "server_rss_kib": {"before": rss_before, "readers_connected": rss_readers, "idle_connected": rss_idle, "under_load": rss_loaded},
            "idle_memory_per_connection": per_connection(rss_before, rss_idle, held),
            "idle_memory_per_reader": per_connection(rss_before, rss_readers, readers),
            "idle_memory_per_joined": per_connection(rss_readers, rss_idle, joined),
            "server_cpu": cpu_share(cpu_before, cpu_after, elapsed),
            "generator_cpu": cpu_share(own_cpu_before, own_cpu_after, elapsed),
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
