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
//! Stream keys are opened from their sealed form only in the destination's task, go only into
//! the RTMP `publish` command, and are never logged nor given to another process.

pub mod flv;
pub mod rtmp;
pub mod transcoder;

use crate::config::EgressConfig;
use crate::media::rtp_source::{RtpSource, SourceCodec};
use crate::media::{Media, StatusChange};
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
/// A session that lasts this long after the platform accepted it has been live.
const LIVE_AFTER: Duration = Duration::from_secs(3);
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
    store: Arc<dyn Store>,
    sealer: Sealer,
    media: Media,
    clock: Clockface,
    metrics: EgressMetrics,
    tls: Option<Arc<rtmp::TlsConnector>>,
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
    stop: CancellationToken,
}

struct RunningDestination {
    /// The stored row it was started from: an edit of any field restarts it.
    started_from: Destination,
    stop: CancellationToken,
}

impl Egress {
    /// The service, following `media`'s status changes until `stop` is cancelled.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        config: EgressConfig,
        store: Arc<dyn Store>,
        sealer: Sealer,
        media: Media,
        clock: Clockface,
        metrics: EgressMetrics,
        stop: CancellationToken,
    ) -> anyhow::Result<Egress> {
        let tls = rtmp::tls_connector(config.extra_ca_file.as_deref())?;
        let egress = Egress {
            shared: Arc::new(Shared {
                config,
                store,
                sealer,
                media,
                clock,
                metrics,
                tls: Some(Arc::new(tls)),
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
    let mut changes = shared.media.changes();
    loop {
        let change: StatusChange = tokio::select! {
            _ = shared.stop.cancelled() => break,
            change = changes.recv() => match change {
                Ok(change) => change,
                // A missed change is caught up below from the media's own state.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    reconcile_all(&shared);
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => break,
            },
        };
        // A publisher here, connecting or on air: the meeting is restreamed from this node.
        if shared.media.rtp_source(change.meeting).is_some() {
            start_meeting(&shared, change.meeting);
        } else {
            stop_meeting(&shared, change.meeting);
        }
    }
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
    let egress = {
        let mut meetings = shared.meetings.lock().expect("the egress map is never left poisoned");
        if meetings.get(&meeting).is_some_and(|egress| !egress.stop.is_cancelled()) {
            return;
        }
        let egress = Arc::new(MeetingEgress {
            meeting,
            stop: source.ended.child_token(),
            source,
            tags: broadcast::channel(TAG_QUEUE).0,
            configuration: Mutex::new(Vec::new()),
            running: Mutex::new(HashMap::new()),
            edited: Notify::new(),
        });
        meetings.insert(meeting, egress.clone());
        egress
    };
    shared.tasks.spawn(run_meeting(shared.clone(), egress));
}

fn stop_meeting(shared: &Arc<Shared>, meeting: MeetingId) {
    let removed = shared.meetings.lock().expect("the egress map is never left poisoned").remove(&meeting);
    if let Some(egress) = removed {
        egress.stop.cancel();
    }
}

/// One meeting's restream: its destinations, and ffmpeg while any is enabled.
async fn run_meeting(shared: Arc<Shared>, egress: Arc<MeetingEgress>) {
    let stop = egress.stop.clone();
    tokio::select! {
        _ = stop.cancelled() => {}
        _ = supervise_destinations(&shared, &egress) => {}
    }
    egress.stop.cancel();
    // Each destination's task marks itself stopped as it ends.
    let mut meetings = shared.meetings.lock().expect("the egress map is never left poisoned");
    if meetings.get(&egress.meeting).is_some_and(|current| Arc::ptr_eq(current, &egress)) {
        meetings.remove(&egress.meeting);
    }
}

/// Keeps the running destinations equal to the enabled ones stored, and ffmpeg running while
/// there is any.
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
        // ffmpeg runs while any destination may take the stream: not for failed ones only.
        let any = {
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
                shared.tasks.spawn(run_transcoder(shared.clone(), egress.clone(), token.clone()));
                transcoding = Some(token);
            }
            (Some(token), false) => {
                token.cancel();
                transcoding = None;
            }
            _ => {}
        }
        egress.edited.notified().await;
    }
}

/// Starts the destinations that are wanted and not running (or running from an older row), and
/// stops those no longer wanted.
fn reconcile(shared: &Arc<Shared>, egress: &Arc<MeetingEgress>, wanted: Vec<Destination>) {
    let mut running = egress.running.lock().expect("the destination map is never left poisoned");
    running.retain(|id, destination| {
        // A destination that failed stays here, failed, until its own row is edited: editing
        // another one must not start a retry storm against a wrong key.
        let keep = wanted.iter().any(|w| w.id == *id && *w == destination.started_from);
        if !keep {
            destination.stop.cancel();
            // A running task reports itself stopped; a failed one has ended already.
            let failed = shared
                .statuses
                .lock()
                .expect("the status map is never left poisoned")
                .get(&(egress.meeting, *id))
                .is_some_and(|status| status.state == RestreamState::Failed);
            if failed {
                shared.set_status(egress.meeting, &destination.started_from, RestreamState::Stopped, 0, None);
            }
        }
        keep
    });
    for destination in wanted {
        if running.contains_key(&destination.id) {
            continue;
        }
        let stop = egress.stop.child_token();
        running.insert(
            destination.id,
            RunningDestination { started_from: destination.clone(), stop: stop.clone() },
        );
        shared.tasks.spawn(run_destination(shared.clone(), egress.clone(), destination, stop));
    }
}

/// ffmpeg for the meeting, started again if it ends while wanted.
async fn run_transcoder(shared: Arc<Shared>, egress: Arc<MeetingEgress>, stop: CancellationToken) {
    // Timestamps continue across restarts of ffmpeg, whose own begin again at zero.
    let mut offset: u32 = 0;
    let mut last: u32 = 0;
    while !stop.is_cancelled() {
        shared.metrics.transcoders.inc();
        let outcome = transcode_once(&shared, &egress, &stop, offset, &mut last).await;
        shared.metrics.transcoders.dec();
        if stop.is_cancelled() {
            break;
        }
        shared.metrics.transcoder_failures.inc();
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
) -> String {
    // Subscribed first, so that the packets from now on (the first keyframe among them, which
    // a publisher sending a file cannot repeat on request) wait for ffmpeg in the channel.
    let feeds = egress.source.subscribe();
    let codecs = tokio::select! {
        _ = stop.cancelled() => return "stopped".to_owned(),
        codecs = egress.source.codecs(CODEC_WAIT) => codecs,
    };
    let Some(codecs) = codecs else { return "the publisher's codecs never arrived".to_owned() };
    let port = |wanted: bool| if wanted { transcoder::free_rtp_port().map(Some) } else { Ok(None) };
    let (video_port, audio_port) = match (port(codecs.video.is_some()), port(codecs.audio.is_some())) {
        (Ok(video), Ok(audio)) => (video, audio),
        (Err(error), _) | (_, Err(error)) => return format!("no loopback port: {error}"),
    };
    let input = transcoder::Input {
        video: codecs.video.as_ref().map(rtp_codec).zip(video_port),
        audio: codecs.audio.as_ref().map(rtp_codec).zip(audio_port),
    };
    let encoding = transcoder::Encoding {
        audio_bitrate_kbps: shared.config.audio_bitrate_kbps,
        x264_preset: shared.config.x264_preset.clone(),
        x264_bitrate_kbps: shared.config.x264_bitrate_kbps,
    };
    let mut running = match transcoder::start(&shared.config.ffmpeg, &input, &encoding).await {
        Ok(running) => running,
        Err(error) => return format!("could not start {}: {error}", shared.config.ffmpeg.display()),
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

fn rtp_codec(codec: &SourceCodec) -> transcoder::RtpCodec {
    transcoder::RtpCodec {
        mime_type: codec.mime_type.clone(),
        clock_rate: codec.clock_rate,
        channels: codec.channels,
        fmtp: codec.fmtp.clone(),
        payload_type: codec.payload_type,
    }
}

/// One destination: connect, publish, stream, and after a drop retry as the rule says.
async fn run_destination(
    shared: Arc<Shared>,
    egress: Arc<MeetingEgress>,
    destination: Destination,
    stop: CancellationToken,
) {
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
        let went_live = std::sync::atomic::AtomicBool::new(false);
        let error =
            publish(&shared, &egress, &target, &stop, &went_live, || set(RestreamState::Live, 0, None)).await;
        if error == rtmp::PublishError::Stopped || stop.is_cancelled() {
            set(RestreamState::Stopped, 0, None);
            return;
        }
        let now = Timestamp::now();
        if went_live.load(std::sync::atomic::Ordering::Relaxed) {
            dropped_at = Some(now);
            failures = 0;
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

/// One RTMP session: connects and publishes (calling `on_live` once the platform accepted the
/// stream), then sends the stream from the next keyframe until an error, which it returns, or
/// until `stop`, when it ends the stream cleanly and returns `Stopped`.
async fn publish(
    shared: &Arc<Shared>,
    egress: &Arc<MeetingEgress>,
    target: &Target,
    stop: &CancellationToken,
    went_live: &std::sync::atomic::AtomicBool,
    on_live: impl Fn(),
) -> rtmp::PublishError {
    let timeout = Duration::from_secs(shared.config.connect_timeout_seconds);
    let connecting = rtmp::Session::publish(&target.url, &target.key, shared.tls.as_deref(), timeout);
    let mut session = tokio::select! {
        _ = stop.cancelled() => return rtmp::PublishError::Stopped,
        connected = connecting => match connected {
            Ok(session) => session,
            Err(error) => return error,
        },
    };
    on_live();
    let mut tags = egress.tags.subscribe();
    // The stream's configuration first, then frames from the next keyframe, asked for now.
    let configuration =
        egress.configuration.lock().expect("the configuration is never left poisoned").clone();
    let mut timing = SessionTiming::default();
    for tag in &configuration {
        if let Err(error) = session.send(tag, 0).await {
            return error;
        }
    }
    egress.source.request_keyframe().await;
    let mut waiting_for_keyframe = true;
    // Some servers accept the stream and close it at once when they refuse it (nginx-rtmp's
    // `deny publish`): only a session that lasted counts as having been live, for the rule
    // that fails a destination that never published.
    let lasted = tokio::time::sleep(LIVE_AFTER);
    tokio::pin!(lasted);
    loop {
        let tag = tokio::select! {
            _ = stop.cancelled() => {
                session.finish().await;
                return rtmp::PublishError::Stopped;
            }
            error = session.closed() => return error,
            _ = &mut lasted, if !went_live.load(std::sync::atomic::Ordering::Relaxed) => {
                went_live.store(true, std::sync::atomic::Ordering::Relaxed);
                continue;
            }
            tag = tags.recv() => match tag {
                Ok(tag) => tag,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // This platform is slower than the stream: skip to the live edge.
                    tags = tags.resubscribe();
                    waiting_for_keyframe = true;
                    egress.source.request_keyframe().await;
                    continue;
                }
                Err(broadcast::error::RecvError::Closed) => return rtmp::PublishError::Stopped,
            },
        };
        if tag.is_configuration() {
            if let Err(error) = session.send(&tag, timing.stamp(tag.timestamp)).await {
                return error;
            }
            continue;
        }
        if waiting_for_keyframe {
            if !tag.is_keyframe() {
                continue;
            }
            waiting_for_keyframe = false;
        }
        let timestamp = timing.stamp(tag.timestamp);
        match tokio::time::timeout(WRITE_TIMEOUT, session.send(&tag, timestamp)).await {
            Ok(Ok(())) => {
                shared.metrics.bytes_sent.inc_by(tag.body.len() as u64);
            }
            Ok(Err(error)) => return error,
            Err(_) => {
                return rtmp::PublishError::Dropped("the platform stopped taking the stream".to_owned());
            }
        }
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
