//! Restreaming: the broadcast pushed by RTMP(S) to the akimat's social-media accounts.
//!
//! # Design
//!
//! Egress is one more consumer of a meeting's broadcast, beside the WebRTC viewers, and it
//! runs where the publisher is (the media origin): it follows the media's status changes, and
//! starts when a meeting goes on air with its publisher on this node, stops when it goes off
//! air. A publisher who reconnects to another node takes the egress with it.
//!
//! Per meeting on air with any enabled destination:
//! - one ffmpeg ([`transcoder`]) reads the broadcast's RTP from loopback UDP and writes FLV
//!   (H.264 copied, or encoded from VP8; Opus to AAC) to a pipe, whatever the number of
//!   destinations;
//! - the FLV tags ([`flv`]) go into a broadcast channel, and the stream's configuration (the
//!   metadata and the AVC and AAC sequence headers) is kept for destinations that connect later;
//! - each destination is a task of its own with its own RTMP(S) session ([`rtmp`]), its own
//!   receiver of the channel and its own timestamps: a slow or dead platform loses only its own
//!   frames (it skips to the next keyframe), never the others' or the WebRTC viewers'.
//!
//! A destination's supervision follows the core's rule (`kezdesu_core::restream`): one that
//! never got as far as publishing fails at once; one that dropped after being live is tried
//! again with growing pauses for `egress.retry_for_seconds`. Its state is kept here and
//! announced to the meeting's event stream, live channel and `/metrics`.
//!
//! The same FLV feeds the meeting's HLS rendition ([`hls`]), a local consumer that copies it
//! into segments: the transcoder runs while HLS is on, destinations or not, and its AAC is the
//! only one.
//!
//! Stream keys are opened from their sealed form only in the destination's task, go only into
//! the RTMP `publish` command, and are never logged nor given to another process.

pub mod flv;
pub mod hls;
pub mod rtmp;
pub mod transcoder;

use crate::config::{Config, EgressConfig};
use crate::media::rtp_source::RtpSource;
use crate::media::{Media, PublisherChange};
use crate::metrics::{EgressMetrics, RestreamLabels};
use crate::secrets::Sealer;
use crate::store::{Destination, DestinationOwner, Store};
use crate::wire::{Clockface, RestreamState, RestreamStatus};
use jiff::{SignedDuration, Timestamp};
use kezdesu_core::MeetingId;
use kezdesu_core::restream::{self, AfterFailure, IngestUrl, RetryPolicy};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio::sync::{Notify, broadcast};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// FLV tags a destination may fall behind before it skips to the next keyframe: about ten
/// seconds of video and audio at 30 fps.
const TAG_QUEUE: usize = 1024;
/// How long the publisher's codecs are waited for when the meeting goes on air.
const CODEC_WAIT: Duration = Duration::from_secs(10);
/// Keyframes are asked for this often until ffmpeg has produced its first video tag: ffmpeg
/// may bind its ports after the first request went out.
const KEYFRAME_RETRY: Duration = Duration::from_millis(700);
/// The pause before ffmpeg is started again after it ended while the meeting was on air.
const TRANSCODER_RESTART: Duration = Duration::from_secs(2);
/// A session that lasts this long after its first frame went out has been live.
const LIVE_AFTER: Duration = Duration::from_secs(3);
/// A session live this long ends a spell of trouble: its drop starts the retry time anew.
const STABLE_AFTER: Duration = Duration::from_secs(60);
/// How long a meeting's new egress waits for its previous one to end.
const PREVIOUS_EGRESS_LIMIT: Duration = Duration::from_secs(15);
/// How often a meeting's destinations are read again, for edits made on another node.
const RECHECK_DESTINATIONS: Duration = Duration::from_secs(5);
/// How long ffmpeg may take to open its input ports.
const TRANSCODER_BIND_LIMIT: Duration = Duration::from_secs(10);
/// A write to a platform that does not complete within this is a drop.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// A change of a destination's state, serialized once for every stream that carries it.
#[derive(Debug, Clone)]
pub struct RestreamChange {
    pub meeting: MeetingId,
    pub status: RestreamStatus,
    pub json: Arc<str>,
}

/// The restreaming service. Cloning shares it.
#[derive(Clone)]
pub struct Egress {
    shared: Arc<Shared>,
}

struct Shared {
    config: EgressConfig,
    hls: hls::HlsSettings,
    /// Each meeting's HLS on air here, or ended less than a minute ago. Never held across an
    /// await.
    hls_renditions: Mutex<HashMap<MeetingId, hls::HlsEntry>>,
    /// Numbers each run of a meeting's HLS.
    hls_runs: std::sync::atomic::AtomicU64,
    store: Arc<dyn Store>,
    sealer: Sealer,
    media: Media,
    clock: Clockface,
    metrics: EgressMetrics,
    tls: rtmp::TlsConnector,
    /// The meetings being restreamed. Never held across an await.
    meetings: Mutex<HashMap<MeetingId, Arc<MeetingEgress>>>,
    /// Every destination's last state, kept after it stops so that the page can show it.
    statuses: Mutex<HashMap<(MeetingId, i64), RestreamStatus>>,
    changes: broadcast::Sender<RestreamChange>,
    stop: CancellationToken,
    tasks: TaskTracker,
}

/// One meeting's restream while it is on air.
struct MeetingEgress {
    meeting: MeetingId,
    source: RtpSource,
    tags: broadcast::Sender<Arc<flv::Tag>>,
    /// The metadata and sequence headers of the stream now, for destinations joining.
    configuration: Mutex<Vec<Arc<flv::Tag>>>,
    /// The destinations running, by id, with what they were started from.
    running: Mutex<HashMap<i64, RunningDestination>>,
    /// Woken when the meeting's destinations were edited.
    edited: Notify,
    /// Whether the stream has video (known once ffmpeg is started): an audio-only one starts
    /// at its first audio tag rather than at a keyframe.
    has_video: std::sync::atomic::AtomicBool,
    /// HLS will not run for this broadcast (its codec, with `hls.encode_vp8` off): the
    /// transcoder then runs only for destinations.
    hls_declined: std::sync::atomic::AtomicBool,
    stop: CancellationToken,
    /// This egress's destination and ffmpeg tasks: a later egress of the same meeting (the
    /// publisher came back) waits for them to end, so that two never publish one key at once.
    tasks: TaskTracker,
}

struct RunningDestination {
    /// The stored row it was started from: a change of what it publishes restarts it.
    started_from: Destination,
    stop: CancellationToken,
    /// Its task: one started in its place waits for it to end.
    task: Option<tokio::task::JoinHandle<()>>,
}

/// Whether two rows of a destination publish the same way (its name or version alone do not
/// restart it: every restart may make a new video on the platform).
fn publishes_alike(a: &Destination, b: &Destination) -> bool {
    (a.platform, &a.ingest_url, &a.stream_key_sealed, a.enabled)
        == (b.platform, &b.ingest_url, &b.stream_key_sealed, b.enabled)
}

impl Egress {
    /// The service, following `media`'s status changes until `stop` is cancelled, with
    /// `config`'s `egress` and `hls` sections. HLS files a previous run left are removed.
    pub fn new(
        config: &Config,
        store: Arc<dyn Store>,
        sealer: Sealer,
        media: Media,
        clock: Clockface,
        metrics: EgressMetrics,
        stop: CancellationToken,
    ) -> anyhow::Result<Egress> {
        let tls = rtmp::tls_connector(config.egress.extra_ca_file.as_deref())?;
        let hls = hls::HlsSettings { config: config.hls.clone(), root: config.storage.data_dir.join("hls") };
        hls::sweep(&hls.root);
        let egress = Egress {
            shared: Arc::new(Shared {
                config: config.egress.clone(),
                hls,
                hls_renditions: Mutex::new(HashMap::new()),
                hls_runs: std::sync::atomic::AtomicU64::new(0),
                store,
                sealer,
                media,
                clock,
                metrics,
                tls,
                meetings: Mutex::new(HashMap::new()),
                statuses: Mutex::new(HashMap::new()),
                changes: broadcast::channel(256).0,
                stop,
                tasks: TaskTracker::new(),
            }),
        };
        egress.shared.tasks.spawn(follow_media(egress.shared.clone()));
        Ok(egress)
    }

    /// A meeting's destination's state, if it was started since the server started.
    pub fn status(&self, meeting: MeetingId, destination: i64) -> Option<RestreamStatus> {
        self.shared
            .statuses
            .lock()
            .expect("the status map is never left poisoned")
            .get(&(meeting, destination))
            .cloned()
    }

    /// Every started destination's state of a meeting, by destination id.
    pub fn statuses(&self, meeting: MeetingId) -> Vec<RestreamStatus> {
        let statuses = self.shared.statuses.lock().expect("the status map is never left poisoned");
        let mut found: Vec<RestreamStatus> =
            statuses.iter().filter(|((of, _), _)| *of == meeting).map(|(_, status)| status.clone()).collect();
        found.sort_by_key(|status| status.destination_id);
        found
    }

    /// The meeting's HLS rendition, if it is on air here (or ended less than a minute ago).
    pub fn hls(&self, meeting: MeetingId) -> Option<hls::HlsRendition> {
        self.shared.hls_rendition(meeting)
    }

    /// Every later state change, of every meeting.
    pub fn changes(&self) -> broadcast::Receiver<RestreamChange> {
        self.shared.changes.subscribe()
    }

    /// The meeting's destinations were edited: one on air starts, stops or restarts the
    /// destinations that changed.
    pub fn destinations_changed(&self, meeting: MeetingId) {
        if let Some(egress) = self.shared.meeting(meeting) {
            egress.edited.notify_one();
        }
    }

    /// Waits, up to `limit`, for every egress task (and so every ffmpeg) to end after the stop
    /// token was cancelled.
    pub async fn wait_closed(&self, limit: Duration) -> bool {
        self.shared.tasks.close();
        tokio::time::timeout(limit, self.shared.tasks.wait()).await.is_ok()
    }
}

impl Shared {
    fn meeting(&self, meeting: MeetingId) -> Option<Arc<MeetingEgress>> {
        self.meetings.lock().expect("the egress map is never left poisoned").get(&meeting).cloned()
    }

    fn policy(&self) -> RetryPolicy {
        let millis = |ms: u64| SignedDuration::from_millis(i64::try_from(ms).unwrap_or(i64::MAX));
        RetryPolicy {
            first_pause: millis(self.config.first_retry_pause_ms),
            longest_pause: millis(self.config.longest_retry_pause_ms),
            retry_for: millis(self.config.retry_for_seconds.saturating_mul(1000)),
        }
    }

    /// Records and announces a destination's new state, and keeps `/metrics` in step.
    fn set_status(
        &self,
        meeting: MeetingId,
        destination: &Destination,
        state: RestreamState,
        retries: u32,
        last_error: Option<String>,
    ) {
        let status = RestreamStatus {
            meeting_id: meeting.0,
            destination_id: destination.id,
            platform: destination.platform,
            name: destination.name.clone(),
            state,
            retries,
            last_error,
            since: self.clock.format(Timestamp::now()),
        };
        let previous = self
            .statuses
            .lock()
            .expect("the status map is never left poisoned")
            .insert((meeting, destination.id), status.clone());
        if let Some(previous) = previous.as_ref().filter(|previous| counted(previous.state)) {
            self.metrics
                .destinations
                .get_or_create(&RestreamLabels { state: state_name(previous.state) })
                .dec();
        }
        if counted(state) {
            self.metrics.destinations.get_or_create(&RestreamLabels { state: state_name(state) }).inc();
        }
        match state {
            RestreamState::Failed => tracing::warn!(
                %meeting, destination = destination.id, platform = destination.platform.as_str(),
                error = status.last_error.as_deref().unwrap_or_default(), "restream destination failed"
            ),
            _ => tracing::info!(
                %meeting, destination = destination.id, platform = destination.platform.as_str(),
                state = state_name(state), retries, "restream destination"
            ),
        }
        let json = serde_json::to_string(&status).unwrap_or_default();
        // Nobody listening is fine: readers ask for the states when they connect.
        let _ = self.changes.send(RestreamChange { meeting, status, json: Arc::from(json) });
    }
}

/// Whether a state counts in the `restream_destinations` gauge: stopped ones are not running.
fn counted(state: RestreamState) -> bool {
    state != RestreamState::Stopped
}

fn state_name(state: RestreamState) -> &'static str {
    match state {
        RestreamState::Starting => "starting",
        RestreamState::Live => "live",
        RestreamState::Retrying => "retrying",
        RestreamState::Failed => "failed",
        RestreamState::Stopped => "stopped",
    }
}

/// Starts a meeting's egress when it goes on air with its publisher here, and stops it when it
/// goes off air.
async fn follow_media(shared: Arc<Shared>) {
    // A publisher here, connecting or on air: the meeting is restreamed from this node.
    shared
        .media
        .follow_publishers(&shared.stop, |change| match change {
            PublisherChange::Here(meeting) => start_meeting(&shared, meeting),
            PublisherChange::Gone(meeting) => stop_meeting(&shared, meeting),
            PublisherChange::Missed => reconcile_all(&shared),
        })
        .await;
    let running: Vec<Arc<MeetingEgress>> = shared
        .meetings
        .lock()
        .expect("the egress map is never left poisoned")
        .drain()
        .map(|(_, egress)| egress)
        .collect();
    for egress in running {
        egress.stop.cancel();
    }
}

/// After missed changes: starts what is on air here and stops what is not.
fn reconcile_all(shared: &Arc<Shared>) {
    let running: Vec<MeetingId> =
        shared.meetings.lock().expect("the egress map is never left poisoned").keys().copied().collect();
    for meeting in running {
        if shared.media.rtp_source(meeting).is_none() {
            stop_meeting(shared, meeting);
        }
    }
    for meeting in shared.media.published_here() {
        start_meeting(shared, meeting);
    }
}

fn start_meeting(shared: &Arc<Shared>, meeting: MeetingId) {
    // Only where the publisher is: an edge's copy is not restreamed again.
    let Some(source) = shared.media.rtp_source(meeting) else { return };
    let (egress, previous) = {
        let mut meetings = shared.meetings.lock().expect("the egress map is never left poisoned");
        if meetings.get(&meeting).is_some_and(|egress| !egress.stop.is_cancelled()) {
            return;
        }
        let previous = meetings.get(&meeting).map(|egress| egress.tasks.clone());
        let egress = Arc::new(MeetingEgress {
            meeting,
            stop: source.ended.child_token(),
            source,
            tags: broadcast::channel(TAG_QUEUE).0,
            configuration: Mutex::new(Vec::new()),
            running: Mutex::new(HashMap::new()),
            edited: Notify::new(),
            has_video: std::sync::atomic::AtomicBool::new(true),
            hls_declined: std::sync::atomic::AtomicBool::new(false),
            tasks: TaskTracker::new(),
        });
        meetings.insert(meeting, egress.clone());
        (egress, previous)
    };
    shared.tasks.spawn(run_meeting(shared.clone(), egress, previous));
}

/// Stops the meeting's egress; it leaves the map when its tasks have ended.
fn stop_meeting(shared: &Arc<Shared>, meeting: MeetingId) {
    let running =
        shared.meetings.lock().expect("the egress map is never left poisoned").get(&meeting).cloned();
    if let Some(egress) = running {
        egress.stop.cancel();
    }
}

/// Spawns `task` as one of `egress`'s, tracked by the service too (for shutdown).
fn spawn_for<F>(shared: &Shared, egress: &MeetingEgress, task: F) -> tokio::task::JoinHandle<()>
where
    F: std::future::Future<Output = ()> + Send + 'static,
{
    shared.tasks.spawn(egress.tasks.track_future(task))
}

/// One meeting's restream: its destinations and its HLS, and ffmpeg while either wants it.
async fn run_meeting(shared: Arc<Shared>, egress: Arc<MeetingEgress>, previous: Option<TaskTracker>) {
    let stop = egress.stop.clone();
    // The meeting's last egress (its publisher came back, here) ends first: each of its
    // destinations says goodbye to its platform within seconds.
    if let Some(previous) = previous {
        previous.close();
        tokio::select! {
            _ = stop.cancelled() => {}
            _ = tokio::time::timeout(PREVIOUS_EGRESS_LIMIT, previous.wait()) => {}
        }
    }
    if shared.hls.config.enabled {
        spawn_for(&shared, &egress, hls::run(shared.clone(), egress.clone()));
    }
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = supervise_destinations(&shared, &egress) => {}
    }
    egress.stop.cancel();
    // Each destination's task marks itself stopped as it ends; then the meeting's entry goes,
    // unless a newer egress has taken its place.
    egress.tasks.close();
    egress.tasks.wait().await;
    let mut meetings = shared.meetings.lock().expect("the egress map is never left poisoned");
    if meetings.get(&egress.meeting).is_some_and(|current| Arc::ptr_eq(current, &egress)) {
        meetings.remove(&egress.meeting);
    }
}

/// Keeps the running destinations equal to the enabled ones stored, and ffmpeg running while
/// there is any, or HLS.
async fn supervise_destinations(shared: &Arc<Shared>, egress: &Arc<MeetingEgress>) {
    let mut transcoding: Option<CancellationToken> = None;
    loop {
        match shared.store.destinations(DestinationOwner::Meeting(egress.meeting)).await {
            Ok(destinations) => {
                reconcile(
                    shared,
                    egress,
                    destinations.into_iter().filter(|destination| destination.enabled).collect(),
                );
            }
            Err(error) => {
                // What runs keeps running; the list is read again shortly.
                tracing::warn!(meeting = %egress.meeting, %error, "could not read the restream destinations");
                tokio::time::sleep(TRANSCODER_RESTART).await;
                continue;
            }
        }
        // ffmpeg runs while any destination may take the stream (not for failed ones only), or
        // while HLS is on for this broadcast.
        let hls =
            shared.hls.config.enabled && !egress.hls_declined.load(std::sync::atomic::Ordering::Relaxed);
        let any = hls || {
            let running = egress.running.lock().expect("the destination map is never left poisoned");
            let statuses = shared.statuses.lock().expect("the status map is never left poisoned");
            running.keys().any(|id| {
                statuses
                    .get(&(egress.meeting, *id))
                    .is_none_or(|status| status.state != RestreamState::Failed)
            })
        };
        match (&transcoding, any) {
            (None, true) => {
                let token = egress.stop.child_token();
                spawn_for(shared, egress, run_transcoder(shared.clone(), egress.clone(), token.clone()));
                transcoding = Some(token);
            }
            (Some(token), false) => {
                token.cancel();
                transcoding = None;
            }
            _ => {}
        }
        // Woken by an edit on this node; an edit on another node is seen at the next look.
        tokio::select! {
            _ = egress.edited.notified() => {}
            _ = tokio::time::sleep(RECHECK_DESTINATIONS) => {}
        }
    }
}

/// Starts the destinations that are wanted and not running (or running from an older row), and
/// stops those no longer wanted.
fn reconcile(shared: &Arc<Shared>, egress: &Arc<MeetingEgress>, wanted: Vec<Destination>) {
    let mut running = egress.running.lock().expect("the destination map is never left poisoned");
    let mut replaced = HashMap::new();
    let ids: Vec<i64> = running.keys().copied().collect();
    for id in ids {
        // A destination that failed stays here, failed, until its own row is edited: editing
        // another one must not start a retry storm against a wrong key.
        let keep = wanted
            .iter()
            .any(|w| w.id == id && running.get(&id).is_some_and(|r| publishes_alike(w, &r.started_from)));
        if keep {
            // A renamed one goes on; only its name in the states changes.
            if let (Some(current), Some(row)) = (running.get_mut(&id), wanted.iter().find(|w| w.id == id)) {
                current.started_from = row.clone();
            }
            continue;
        }
        let Some(mut old) = running.remove(&id) else { continue };
        old.stop.cancel();
        // A running task reports itself stopped; a failed one has ended already.
        let failed = shared
            .statuses
            .lock()
            .expect("the status map is never left poisoned")
            .get(&(egress.meeting, id))
            .is_some_and(|status| status.state == RestreamState::Failed);
        if failed {
            shared.set_status(egress.meeting, &old.started_from, RestreamState::Stopped, 0, None);
        }
        if let Some(task) = old.task.take() {
            replaced.insert(id, task);
        }
    }
    for destination in wanted {
        if running.contains_key(&destination.id) {
            continue;
        }
        let stop = egress.stop.child_token();
        let previous = replaced.remove(&destination.id);
        let task = spawn_for(
            shared,
            egress,
            run_destination(shared.clone(), egress.clone(), destination.clone(), stop.clone(), previous),
        );
        running
            .insert(destination.id, RunningDestination { started_from: destination, stop, task: Some(task) });
    }
}

/// ffmpeg for the meeting, started again if it ends while wanted.
async fn run_transcoder(shared: Arc<Shared>, egress: Arc<MeetingEgress>, stop: CancellationToken) {
    // Timestamps continue across restarts of ffmpeg, whose own begin again at zero.
    let mut offset: u32 = 0;
    let mut last: u32 = 0;
    while !stop.is_cancelled() {
        shared.metrics.transcoders.inc();
        let mut cannot_run = false;
        let outcome = transcode_once(&shared, &egress, &stop, offset, &mut last, &mut cannot_run).await;
        shared.metrics.transcoders.dec();
        if stop.is_cancelled() {
            break;
        }
        shared.metrics.transcoder_failures.inc();
        if cannot_run {
            // Said once: starting it again every 2 s would only repeat it until an operator
            // installs ffmpeg (the quick start's machine may have none).
            tracing::error!(meeting = %egress.meeting, reason = %outcome, "the restream and HLS cannot run for this broadcast (egress.ffmpeg)");
            stop.cancelled().await;
            break;
        }
        tracing::warn!(meeting = %egress.meeting, reason = %outcome, "the restream's ffmpeg ended; starting it again");
        offset = last.saturating_add(40);
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(TRANSCODER_RESTART) => {}
        }
    }
}

/// Runs ffmpeg once, until it ends or `stop`; returns why it ended.
async fn transcode_once(
    shared: &Arc<Shared>,
    egress: &Arc<MeetingEgress>,
    stop: &CancellationToken,
    offset: u32,
    last: &mut u32,
    cannot_run: &mut bool,
) -> String {
    // Subscribed first, so that the packets from now on (the first keyframe among them, which
    // a publisher sending a file cannot repeat on request) wait for ffmpeg in the channel.
    let feeds = egress.source.subscribe();
    let codecs = tokio::select! {
        _ = stop.cancelled() => return "stopped".to_owned(),
        codecs = egress.source.codecs(CODEC_WAIT) => codecs,
    };
    let Some(codecs) = codecs else { return "the publisher's codecs never arrived".to_owned() };
    let (video_port, audio_port) =
        match transcoder::free_rtp_ports(codecs.video.is_some(), codecs.audio.is_some()) {
            Ok(ports) => ports,
            Err(error) => return format!("no loopback port: {error}"),
        };
    egress.has_video.store(codecs.video.is_some(), std::sync::atomic::Ordering::Relaxed);
    let input = transcoder::Input {
        video: codecs.video.as_ref().map(transcoder::RtpCodec::from).zip(video_port),
        audio: codecs.audio.as_ref().map(transcoder::RtpCodec::from).zip(audio_port),
    };
    // HLS cuts its segments at keyframes: x264 makes one a second for it, two for platforms.
    let for_hls = hls::wanted_for(&shared.hls.config, input.video.as_ref().map(|(codec, _)| codec));
    let encoding = transcoder::Encoding {
        audio_bitrate_kbps: shared.config.audio_bitrate_kbps,
        x264_preset: shared.config.x264_preset.clone(),
        x264_bitrate_kbps: shared.config.x264_bitrate_kbps,
        keyframe_seconds: if for_hls { 1 } else { 2 },
    };
    let mut running = match transcoder::start(&shared.config.ffmpeg, &input, &encoding).await {
        Ok(running) => running,
        Err(error) => {
            *cannot_run = transcoder::cannot_run(&error);
            return format!("could not start {}: {error}", shared.config.ffmpeg.display());
        }
    };
    let socket = match tokio::net::UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await {
        Ok(socket) => Arc::new(socket),
        Err(error) => return format!("no UDP socket: {error}"),
    };
    let forward = async {
        for port in [video_port, audio_port].into_iter().flatten() {
            if !transcoder::wait_until_bound(port, TRANSCODER_BIND_LIMIT).await {
                return "ffmpeg did not open its input ports".to_owned();
            }
        }
        egress.source.request_keyframe().await;
        egress.source.forward(feeds, socket, video_port, audio_port).await;
        "the broadcast ended".to_owned()
    };
    let first_video = std::sync::atomic::AtomicBool::new(false);
    let ask_keyframes = async {
        // Until ffmpeg has made its first video tag, which needs a keyframe it received.
        loop {
            egress.source.request_keyframe().await;
            tokio::time::sleep(KEYFRAME_RETRY).await;
        }
    };
    let read = async {
        let mut reader = flv::Reader::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let read = match running.output.read(&mut buffer).await {
                Ok(0) => return "ffmpeg closed its output".to_owned(),
                Ok(read) => read,
                Err(error) => return format!("reading ffmpeg's output: {error}"),
            };
            reader.push(&buffer[..read]);
            loop {
                let tag = match reader.next_tag() {
                    Ok(Some(tag)) => tag,
                    Ok(None) => break,
                    Err(error) => return error.to_string(),
                };
                let tag = flv::Tag { timestamp: tag.timestamp.wrapping_add(offset), ..tag };
                *last = (*last).max(tag.timestamp);
                if tag.kind == flv::TagKind::Video && !tag.is_configuration() {
                    first_video.store(true, std::sync::atomic::Ordering::Relaxed);
                }
                let tag = Arc::new(tag);
                if tag.is_configuration() {
                    let mut configuration =
                        egress.configuration.lock().expect("the configuration is never left poisoned");
                    configuration.retain(|kept| kept.kind != tag.kind);
                    configuration.push(tag.clone());
                }
                // No destination connected yet is fine.
                let _ = egress.tags.send(tag);
            }
        }
    };
    tokio::pin!(forward, read, ask_keyframes);
    let outcome = loop {
        tokio::select! {
            _ = stop.cancelled() => break "stopped".to_owned(),
            outcome = &mut read => break outcome,
            outcome = &mut forward => break outcome,
            _ = &mut ask_keyframes, if !first_video.load(std::sync::atomic::Ordering::Relaxed) => {}
        }
    };
    let _ = running.child.start_kill();
    let _ = running.child.wait().await;
    outcome
}

/// One destination: connect, publish, stream, and after a drop retry as the rule says.
async fn run_destination(
    shared: Arc<Shared>,
    egress: Arc<MeetingEgress>,
    destination: Destination,
    stop: CancellationToken,
    previous: Option<tokio::task::JoinHandle<()>>,
) {
    // The task it replaces ends first (it was told to stop): one key, one session.
    if let Some(previous) = previous {
        let _ = previous.await;
    }
    let meeting = egress.meeting;
    let set = |state, retries, error: Option<String>| {
        shared.set_status(meeting, &destination, state, retries, error)
    };
    set(RestreamState::Starting, 0, None);
    let target = match open_target(&shared, &destination) {
        Ok(target) => target,
        Err(why) => {
            set(RestreamState::Failed, 0, Some(why));
            egress.edited.notify_one();
            return;
        }
    };
    let policy = shared.policy();
    // When it last stopped being live; `None` while it never was.
    let mut dropped_at: Option<Timestamp> = None;
    let mut failures: u32 = 0;
    loop {
        let ended = publish(&shared, &egress, &target, &stop, || set(RestreamState::Live, 0, None)).await;
        let error = ended.error;
        if error == rtmp::PublishError::Stopped || stop.is_cancelled() {
            set(RestreamState::Stopped, 0, None);
            return;
        }
        let now = Timestamp::now();
        match ended.live_for {
            // Live for a while: the retry time starts again from this drop.
            Some(live_for) if dropped_at.is_none() || live_for >= STABLE_AFTER => {
                dropped_at = Some(now);
                failures = 0;
            }
            // Live again only briefly after a drop: still the same spell of trouble, so that a
            // destination that keeps dropping runs out of retries rather than making a new
            // video on the platform every few seconds for the whole meeting.
            _ => {}
        }
        failures += 1;
        match restream::after_failure(&policy, dropped_at, failures, now) {
            AfterFailure::GiveUp(_) => {
                set(RestreamState::Failed, failures.saturating_sub(1), Some(error.to_string()));
                // The supervisor stops ffmpeg if no destination is left to feed.
                egress.edited.notify_one();
                return;
            }
            AfterFailure::RetryAt(at) => {
                shared.metrics.retries.inc();
                set(RestreamState::Retrying, failures, Some(error.to_string()));
                let pause = Duration::try_from(at.duration_since(now)).unwrap_or_default();
                tokio::select! {
                    _ = stop.cancelled() => {
                        set(RestreamState::Stopped, failures, Some(error.to_string()));
                        return;
                    }
                    _ = tokio::time::sleep(pause) => {}
                }
            }
        }
    }
}

/// Where a destination publishes: its URL and its key, opened from the sealed form.
struct Target {
    url: IngestUrl,
    key: String,
}

fn open_target(shared: &Shared, destination: &Destination) -> Result<Target, String> {
    let url = restream::parse_ingest_url(destination.platform, &destination.ingest_url)
        .map_err(|problem| problem.to_string())?;
    let key = shared.sealer.open(&destination.stream_key_sealed).map_err(|error| error.to_string())?;
    Ok(Target { url, key })
}

/// How a session ended: why, and how long it had been live if it counted as live.
struct SessionEnd {
    error: rtmp::PublishError,
    live_for: Option<Duration>,
}

/// One RTMP session: connects and publishes, then sends the stream from the next keyframe
/// (calling `on_live` once the first frame went out) until an error, which it returns, or until
/// `stop`, when it ends the stream cleanly and returns `Stopped`.
async fn publish(
    shared: &Arc<Shared>,
    egress: &Arc<MeetingEgress>,
    target: &Target,
    stop: &CancellationToken,
    on_live: impl Fn(),
) -> SessionEnd {
    let never = |error| SessionEnd { error, live_for: None };
    let timeout = Duration::from_secs(shared.config.connect_timeout_seconds);
    let connecting = rtmp::Session::publish(&target.url, &target.key, &shared.tls, timeout);
    let mut session = tokio::select! {
        _ = stop.cancelled() => return never(rtmp::PublishError::Stopped),
        connected = connecting => match connected {
            Ok(session) => session,
            Err(error) => return never(error),
        },
    };
    // The stream's configuration first, then frames from the next keyframe, asked for now.
    let (mut feed, configuration) = TagFeed::start(egress);
    let mut timing = SessionTiming::default();
    for tag in &configuration {
        if let Err(error) = send(shared, &mut session, tag, 0, stop).await {
            return never(error);
        }
    }
    egress.source.request_keyframe().await;
    // When the first frame went out. Some servers accept a stream and close it at once when
    // they refuse it (nginx-rtmp's `deny publish`), or on its first frame: only a session that
    // lasted LIVE_AFTER from its first frame counts as having been live, for the rule that
    // fails a destination that never published.
    let mut live_since: Option<std::time::Instant> = None;
    let ended = |error, live_since: Option<std::time::Instant>| SessionEnd {
        error,
        live_for: live_since.map(|since| since.elapsed()).filter(|lasted| *lasted >= LIVE_AFTER),
    };
    loop {
        let tag = tokio::select! {
            _ = stop.cancelled() => {
                session.finish().await;
                return never(rtmp::PublishError::Stopped);
            }
            error = session.closed() => return ended(error, live_since),
            tag = feed.next(egress) => match tag {
                Some(tag) => tag,
                None => return never(rtmp::PublishError::Stopped),
            },
        };
        let timestamp = timing.stamp(tag.timestamp);
        if let Err(error) = send(shared, &mut session, &tag, timestamp, stop).await {
            return ended(error, live_since);
        }
        if !tag.is_configuration() && live_since.is_none() {
            live_since = Some(std::time::Instant::now());
            on_live();
        }
    }
}

/// A local consumer's reading of the meeting's FLV tags (a destination's, or HLS's): frames
/// from a keyframe on, skipping to the live edge and the next keyframe when it falls behind,
/// so that a slow consumer loses only its own frames.
struct TagFeed {
    tags: broadcast::Receiver<Arc<flv::Tag>>,
    waiting_for_keyframe: bool,
}

impl TagFeed {
    /// Subscribes now; returns the feed and the stream's configuration as it is now, which the
    /// consumer sends first (later changes of it come through the feed).
    fn start(egress: &MeetingEgress) -> (TagFeed, Vec<Arc<flv::Tag>>) {
        let tags = egress.tags.subscribe();
        let configuration =
            egress.configuration.lock().expect("the configuration is never left poisoned").clone();
        (TagFeed { tags, waiting_for_keyframe: true }, configuration)
    }

    /// The next tag to send; `None` once the channel closed. Cancel-safe.
    async fn next(&mut self, egress: &MeetingEgress) -> Option<Arc<flv::Tag>> {
        loop {
            let tag = match self.tags.recv().await {
                Ok(tag) => tag,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // Slower than the stream: skip to the live edge.
                    self.tags = self.tags.resubscribe();
                    self.waiting_for_keyframe = true;
                    egress.source.request_keyframe().await;
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            };
            if !tag.is_configuration() && self.waiting_for_keyframe {
                // An audio-only stream has no keyframe to wait for.
                let audio_only = !egress.has_video.load(std::sync::atomic::Ordering::Relaxed);
                if !(tag.is_keyframe() || (audio_only && tag.kind == flv::TagKind::Audio)) {
                    continue;
                }
                self.waiting_for_keyframe = false;
            }
            return Some(tag);
        }
    }
}

/// Sends one tag, giving up on a platform that does not take it within WRITE_TIMEOUT (a drop)
/// or when the destination is stopped.
async fn send(
    shared: &Shared,
    session: &mut rtmp::Session,
    tag: &flv::Tag,
    timestamp: u32,
    stop: &CancellationToken,
) -> Result<(), rtmp::PublishError> {
    tokio::select! {
        _ = stop.cancelled() => Err(rtmp::PublishError::Stopped),
        sent = tokio::time::timeout(WRITE_TIMEOUT, session.send(tag, timestamp)) => match sent {
            Ok(Ok(())) => {
                shared.metrics.bytes_sent.inc_by(tag.body.len() as u64);
                Ok(())
            }
            Ok(Err(error)) => Err(error),
            Err(_) => Err(rtmp::PublishError::Dropped("the platform stopped taking the stream".to_owned())),
        },
    }
}

/// A session's timestamps start at zero at its first frame, and never go backwards.
#[derive(Debug, Default)]
struct SessionTiming {
    first: Option<u32>,
    last: u32,
}

impl SessionTiming {
    fn stamp(&mut self, timestamp: u32) -> u32 {
        let first = *self.first.get_or_insert(timestamp);
        let stamp = timestamp.wrapping_sub(first);
        // Audio and video interleave with small reorderings; a jump back of more than a
        // wrap's half is a wrap.
        if stamp < self.last && self.last - stamp < u32::MAX / 2 {
            return self.last;
        }
        self.last = stamp;
        stamp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sessions_timestamps_start_at_zero_and_never_go_back() {
        let mut timing = SessionTiming::default();
        let stamps: Vec<u32> = [5000, 5033, 5020, 5066, 5100].into_iter().map(|t| timing.stamp(t)).collect();
        assert_eq!(stamps, [0, 33, 33, 66, 100]);
    }
}
