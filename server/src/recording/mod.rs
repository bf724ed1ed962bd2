//! Recording: every on-air period of a meeting written to a file as it goes, and, once the
//! meeting has ended, the replay browsers play.
//!
//! # Design
//!
//! Recording is one more consumer of a broadcast, like the restream, and runs where the
//! publisher is (the media origin): it follows the media's status changes and records while a
//! meeting's publisher is on this node. It never depends on the restream: its own ffmpeg
//! copies the publisher's RTP, H.264 or VP8 and Opus as they came, into Matroska.
//!
//! - **A part** is one on-air period (or its rest, after the recorder's ffmpeg ended and was
//!   started again). Its row is written before its file, and its lease (`alive_until`) is
//!   renewed while it is written. A server killed mid-broadcast leaves the file readable up to
//!   its last second (one cluster a second, each flushed), a recorder that ends by itself some
//!   20 s after the last packet (ffmpeg's RTP input gives up, and writes its file's end) and
//!   a lease that lapses: whichever node sweeps next, this one after its restart included,
//!   closes the part by measuring the file (remuxing it first if its length was never written).
//! - **The replay** is made once the meeting has ended and no part is open, by whichever node
//!   claims it first (a claim with a deadline, so that a node dying half-way leaves it to
//!   another). The parts are joined without re-encoding ([`replay::plan`]): H.264 into MP4,
//!   VP8 into WebM. Each part's offset in its file places the discussion's moments on the
//!   video.
//! - **Files** are named from the meeting and the part or file number, never from a request;
//!   only finished files are renamed into place, so a reader (another node, over a shared
//!   folder) never sees one half-written.

pub mod ffmpeg;
pub mod replay;

use crate::config::{Config, RecordingConfig};
use crate::egress::transcoder::{self, Input};
use crate::media::rtp_source::RtpSource;
use crate::media::{Media, PublisherChange};
use crate::metrics::RecordingMetrics;
use crate::store::{self, PartCodecs, PartEnd, PartPlacement, RecordingFile, RecordingPart, Store};
use jiff::{SignedDuration, Timestamp};
use kezdesu_core::MeetingId;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How long a part's lease lasts unrenewed, and how often it is renewed.
const PART_LEASE: Duration = Duration::from_secs(30);
const PART_RENEWAL: Duration = Duration::from_secs(10);
/// How often every node looks for lapsed parts and replays to make.
const SWEEP_EVERY: Duration = Duration::from_secs(10);
/// How long one node may take to make a replay before another may take it over.
const REPLAY_CLAIM: Duration = Duration::from_secs(30 * 60);
/// How long the publisher's codecs are waited for when the meeting goes on air.
const CODEC_WAIT: Duration = Duration::from_secs(10);
/// How long ffmpeg may take to open its input ports.
const BIND_LIMIT: Duration = Duration::from_secs(10);
/// Keyframes are asked for this often until the recording has started.
const KEYFRAME_RETRY: Duration = Duration::from_millis(700);
/// How long a recorder has to write its file's end after its goodbye, then after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(3);
/// The pause before a recorder that ended on air is started again.
const RESTART_PAUSE: Duration = Duration::from_secs(2);
/// The longest a remux or join of a meeting's parts may take (hours of video are copied).
const JOIN_LIMIT: Duration = Duration::from_secs(20 * 60);

/// The recording service. Cloning shares it.
#[derive(Clone)]
pub struct Recordings {
    shared: Arc<Shared>,
}

struct Shared {
    config: RecordingConfig,
    ffmpeg: PathBuf,
    /// The recordings' folder.
    folder: PathBuf,
    /// This node's name in the parts' and claims' rows.
    node: String,
    store: Arc<dyn Store>,
    media: Media,
    metrics: RecordingMetrics,
    /// The meetings being recorded here, each with its stop. Never held across an await.
    recording: Mutex<HashMap<MeetingId, CancellationToken>>,
    /// Woken when a part closed or a meeting ended, so that an ended meeting's replay is made
    /// at once.
    sweep_now: Notify,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Recordings {
    /// The service: records what is on air here (when enabled) and, on every node, closes
    /// lapsed parts and makes the replays of ended meetings, until `stop`.
    /// `config`'s `recording` section, with `storage.data_dir` and `egress.ffmpeg`.
    pub fn new(
        config: &Config,
        node: String,
        store: Arc<dyn Store>,
        media: Media,
        metrics: RecordingMetrics,
        stop: CancellationToken,
    ) -> Recordings {
        let data_dir = &config.storage.data_dir;
        let recordings = Recordings {
            shared: Arc::new(Shared {
                config: config.recording.clone(),
                ffmpeg: config.egress.ffmpeg.clone(),
                folder: config.recording.folder_in(data_dir),
                node,
                store,
                media,
                metrics,
                recording: Mutex::new(HashMap::new()),
                sweep_now: Notify::new(),
                stop,
                tasks: TaskTracker::new(),
            }),
        };
        if recordings.shared.config.enabled {
            recordings.shared.tasks.spawn(follow_media(recordings.shared.clone()));
        }
        recordings.shared.tasks.spawn(sweep(recordings.shared.clone()));
        recordings
    }

    /// A meeting ended: its replay is made at once rather than at the next sweep, if no
    /// part is still open (the broadcast ended before the meeting did, as it usually does).
    pub fn meeting_ended(&self) {
        self.shared.sweep_now.notify_one();
    }

    /// Where a file named in a row (relative to the recordings' folder) is.
    pub fn path_of(&self, relative: &str) -> PathBuf {
        self.shared.folder.join(relative)
    }

    /// Deletes the files of a meeting's recording (its replay and any raw parts kept).
    pub async fn delete_files(&self, meeting: MeetingId) -> std::io::Result<()> {
        let folder = self.shared.folder.join(store::meeting_folder(meeting));
        match tokio::fs::remove_dir_all(&folder).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }

    /// Waits, up to `limit`, for every recorder to end (each writes its file's end) after the
    /// stop token was cancelled.
    pub async fn wait_closed(&self, limit: Duration) -> bool {
        self.shared.tasks.close();
        tokio::time::timeout(limit, self.shared.tasks.wait()).await.is_ok()
    }
}

/// Starts recording a meeting when its publisher is here, and stops when it goes off air.
async fn follow_media(shared: Arc<Shared>) {
    let catch_up = |shared: &Arc<Shared>| {
        for meeting in shared.media.published_here() {
            start_meeting(shared, meeting);
        }
    };
    // Meetings already on air when the service starts.
    catch_up(&shared);
    shared
        .media
        .follow_publishers(&shared.stop, |change| match change {
            PublisherChange::Here(meeting) => start_meeting(&shared, meeting),
            // Going off air ends the broadcast, which ends its recorder (`RtpSource::ended`).
            PublisherChange::Gone(_) => {}
            PublisherChange::Missed => catch_up(&shared),
        })
        .await;
}

fn start_meeting(shared: &Arc<Shared>, meeting: MeetingId) {
    let Some(source) = shared.media.rtp_source(meeting) else { return };
    let stop = {
        let mut recording = shared.recording.lock().expect("the recording map is never left poisoned");
        if recording.get(&meeting).is_some_and(|stop| !stop.is_cancelled()) {
            return;
        }
        let stop = source.ended.child_token();
        recording.insert(meeting, stop.clone());
        stop
    };
    let task_shared = shared.clone();
    shared.tasks.spawn(async move {
        // Not cut short when the server stops: each recorder then writes its file's end.
        record_meeting(&task_shared, meeting, &source, &stop).await;
        stop.cancel();
        let mut recording = task_shared.recording.lock().expect("the recording map is never left poisoned");
        if recording.get(&meeting).is_some_and(|current| current.is_cancelled()) {
            recording.remove(&meeting);
        }
    });
}

/// Records a meeting's broadcast, a part per recorder run, until it ends.
async fn record_meeting(
    shared: &Arc<Shared>,
    meeting: MeetingId,
    source: &RtpSource,
    stop: &CancellationToken,
) {
    while !stop.is_cancelled() && !shared.stop.is_cancelled() {
        shared.metrics.recorders.inc();
        let outcome = record_part(shared, meeting, source, stop).await;
        shared.metrics.recorders.dec();
        match outcome {
            PartOutcome::Ended => break,
            PartOutcome::Deleted => {
                tracing::info!(%meeting, "not recording: the meeting's recording was deleted");
                break;
            }
            PartOutcome::CannotStart(why) => {
                // Said once per broadcast: trying again every few seconds would only repeat it
                // (and leave an empty part each time).
                shared.metrics.recorder_failures.inc();
                tracing::error!(%meeting, reason = %why, "this broadcast is not recorded: its recorder cannot start (egress.ffmpeg)");
                // Held until the broadcast ends, so that its next status change does not start
                // a recorder again.
                tokio::select! {
                    _ = stop.cancelled() => {}
                    _ = shared.stop.cancelled() => {}
                }
                break;
            }
            PartOutcome::Failed(why) => {
                if stop.is_cancelled() || shared.stop.is_cancelled() {
                    break;
                }
                shared.metrics.recorder_failures.inc();
                tracing::warn!(%meeting, reason = %why, "the recorder ended on air; starting a new part");
                tokio::select! {
                    _ = stop.cancelled() => break,
                    _ = shared.stop.cancelled() => break,
                    _ = tokio::time::sleep(RESTART_PAUSE) => {}
                }
            }
        }
    }
}

enum PartOutcome {
    /// The broadcast ended (or the server is stopping).
    Ended,
    /// The meeting's recording was deleted: it is not recorded into again.
    Deleted,
    /// The recorder's program cannot be run (not installed, not executable): trying again
    /// would not help until an operator acts.
    CannotStart(String),
    Failed(String),
}

/// One part: its row, its recorder, its lease, until the broadcast ends or the recorder does.
async fn record_part(
    shared: &Arc<Shared>,
    meeting: MeetingId,
    source: &RtpSource,
    stop: &CancellationToken,
) -> PartOutcome {
    // Subscribed first, so that the first keyframe waits for the recorder in the channel.
    let feeds = source.subscribe();
    let codecs = tokio::select! {
        _ = stop.cancelled() => return PartOutcome::Ended,
        _ = shared.stop.cancelled() => return PartOutcome::Ended,
        codecs = source.codecs(CODEC_WAIT) => codecs,
    };
    let Some(codecs) = codecs else {
        return PartOutcome::Failed("the publisher's codecs never arrived".to_owned());
    };
    let now = Timestamp::now();
    let part_codecs = PartCodecs {
        video: codecs.video.as_ref().map(|codec| codec.mime_type.clone()),
        audio: codecs.audio.as_ref().map(|codec| codec.mime_type.clone()),
    };
    let part = match shared
        .store
        .start_recording_part(meeting, &shared.node, &part_codecs, now, lease_from(now))
        .await
    {
        Ok(Some(part)) => part,
        Ok(None) => return PartOutcome::Deleted,
        Err(error) => return PartOutcome::Failed(format!("could not store the part: {error}")),
    };
    let file = shared.folder.join(part.path());
    let outcome = run_recorder(shared, source, feeds, &codecs, &part, &file, stop).await;
    close_part(shared, &part, &file, Some(Timestamp::now())).await;
    outcome
}

/// Runs the recorder of `part` into `file` until the broadcast ends, the recorder ends or the
/// part's lease is lost.
async fn run_recorder(
    shared: &Arc<Shared>,
    source: &RtpSource,
    feeds: crate::media::rtp_source::Feeds,
    codecs: &crate::media::rtp_source::SourceCodecs,
    part: &RecordingPart,
    file: &Path,
    stop: &CancellationToken,
) -> PartOutcome {
    if let Some(folder) = file.parent()
        && let Err(error) = tokio::fs::create_dir_all(folder).await
    {
        return PartOutcome::Failed(format!("could not make {}: {error}", folder.display()));
    }
    let (video_port, audio_port) =
        match transcoder::free_rtp_ports(codecs.video.is_some(), codecs.audio.is_some()) {
            Ok(ports) => ports,
            Err(error) => return PartOutcome::Failed(format!("no loopback port: {error}")),
        };
    let input = Input {
        video: codecs.video.as_ref().map(transcoder::RtpCodec::from).zip(video_port),
        audio: codecs.audio.as_ref().map(transcoder::RtpCodec::from).zip(audio_port),
    };
    let mut child = match ffmpeg::start_recorder(&shared.ffmpeg, &input, file).await {
        Ok(child) => child,
        Err(error) => {
            let why = format!("could not start {}: {error}", shared.ffmpeg.display());
            return if transcoder::cannot_run(&error) {
                PartOutcome::CannotStart(why)
            } else {
                PartOutcome::Failed(why)
            };
        }
    };
    let outcome = feed_recorder(shared, source, feeds, part, &input, &mut child, stop).await;
    // The broadcast is over: say goodbye on each stream, as a publisher ends RTP, so that the
    // recorder writes what it holds (up to a second) and its file's end. A signal alone is not
    // heard by an ffmpeg waiting for packets that no longer come.
    ffmpeg::say_goodbye(&input).await;
    ffmpeg::stop_gracefully(&mut child, STOP_GRACE).await;
    outcome
}

/// Sends the broadcast to a started recorder and keeps its part's lease, until the broadcast
/// ends, the recorder does or the lease is lost.
async fn feed_recorder(
    shared: &Arc<Shared>,
    source: &RtpSource,
    feeds: crate::media::rtp_source::Feeds,
    part: &RecordingPart,
    input: &Input,
    child: &mut tokio::process::Child,
    stop: &CancellationToken,
) -> PartOutcome {
    let video_port = input.video.as_ref().map(|(_, port)| *port);
    let audio_port = input.audio.as_ref().map(|(_, port)| *port);
    let socket = match tokio::net::UdpSocket::bind((std::net::Ipv4Addr::LOCALHOST, 0)).await {
        Ok(socket) => Arc::new(socket),
        Err(error) => return PartOutcome::Failed(format!("no UDP socket: {error}")),
    };
    let (started_sender, mut started) = watch::channel(false);
    let forward = async {
        for port in [video_port, audio_port].into_iter().flatten() {
            if !transcoder::wait_until_bound(port, BIND_LIMIT).await {
                return PartOutcome::Failed("ffmpeg did not open its input ports".to_owned());
            }
        }
        source.request_keyframe().await;
        source.forward_noting_start(feeds, socket, video_port, audio_port, &started_sender).await;
        PartOutcome::Ended
    };
    // Until the first keyframe went out: the recording is dated from it.
    let begin = async {
        loop {
            tokio::select! {
                // Not the value itself: its guard must not be held across an await.
                began = async { started.wait_for(|started| *started).await.is_ok() } => {
                    if began {
                        return Timestamp::now();
                    }
                    // The forwarding ended first; its own branch reports why.
                    std::future::pending::<()>().await;
                }
                _ = tokio::time::sleep(KEYFRAME_RETRY) => source.request_keyframe().await,
            }
        }
    };
    let lease = async {
        let started_at = begin.await;
        let mut first = Some(started_at);
        loop {
            match shared.store.renew_recording_part(part.id, lease_from(Timestamp::now()), first.take()).await
            {
                Ok(true) => {}
                Ok(false) => return PartOutcome::Failed("the part was closed by a sweep".to_owned()),
                Err(error) => {
                    tracing::warn!(part = part.id, %error, "could not renew a recording part's lease")
                }
            }
            tokio::time::sleep(PART_RENEWAL).await;
        }
    };
    tokio::select! {
        _ = stop.cancelled() => PartOutcome::Ended,
        _ = shared.stop.cancelled() => PartOutcome::Ended,
        outcome = forward => outcome,
        outcome = lease => outcome,
        status = child.wait() => PartOutcome::Failed(match status {
            Ok(status) => format!("ffmpeg ended ({status})"),
            Err(error) => format!("ffmpeg: {error}"),
        }),
    }
}

fn lease_from(now: Timestamp) -> Timestamp {
    now.saturating_add(SignedDuration::try_from(PART_LEASE).unwrap_or(SignedDuration::ZERO)).unwrap_or(now)
}

/// Measures a part's file and closes its row, ended at `ended_at`, or when unknown (its writer
/// is gone) its start plus what the file holds. A file with no length written (its recorder was
/// killed) is remuxed first, which writes it; a missing or unreadable one closes as empty.
async fn close_part(shared: &Arc<Shared>, part: &RecordingPart, file: &Path, ended_at: Option<Timestamp>) {
    let mut duration_ms = ffmpeg::probe_duration(&shared.config.ffprobe, file).await;
    if duration_ms.is_none() && tokio::fs::metadata(file).await.is_ok() {
        let fixed = ffmpeg::temporary_beside(file);
        match ffmpeg::run_ffmpeg(&shared.ffmpeg, &ffmpeg::remux_arguments(file, &fixed), JOIN_LIMIT).await {
            Ok(()) => {
                if let Err(error) = tokio::fs::rename(&fixed, file).await {
                    tracing::warn!(part = part.id, %error, "could not put a remuxed part in place");
                }
                duration_ms = ffmpeg::probe_duration(&shared.config.ffprobe, file).await;
            }
            Err(error) => {
                let _ = tokio::fs::remove_file(&fixed).await;
                tracing::warn!(part = part.id, %error, "could not remux a recording part");
            }
        }
    }
    let bytes = tokio::fs::metadata(file)
        .await
        .map_or(0, |metadata| i64::try_from(metadata.len()).unwrap_or(i64::MAX));
    let duration_ms = duration_ms.unwrap_or(0);
    let ended_at = ended_at.unwrap_or_else(|| {
        part.started_at.saturating_add(SignedDuration::from_millis(duration_ms)).unwrap_or(part.started_at)
    });
    let end = PartEnd { ended_at, duration_ms, bytes };
    match shared.store.close_recording_part(part.id, &end).await {
        Ok(_) => {
            tracing::info!(meeting = %part.meeting, part = part.number, duration_ms = end.duration_ms, bytes, "recording part closed");
            shared.sweep_now.notify_one();
        }
        Err(error) => tracing::warn!(part = part.id, %error, "could not close a recording part"),
    }
}

/// On every node: closes lapsed parts and makes the replays of ended meetings.
async fn sweep(shared: Arc<Shared>) {
    loop {
        sweep_once(&shared).await;
        tokio::select! {
            _ = shared.stop.cancelled() => break,
            _ = shared.sweep_now.notified() => {}
            _ = tokio::time::sleep(SWEEP_EVERY) => {}
        }
    }
}

async fn sweep_once(shared: &Arc<Shared>) {
    let now = Timestamp::now();
    match shared.store.lapsed_recording_parts(now).await {
        Ok(parts) => {
            for part in parts {
                // Its writer is gone (killed, or its node lost): what it wrote is kept.
                let file = shared.folder.join(part.path());
                tracing::info!(meeting = %part.meeting, part = part.number, "closing a recording part whose writer is gone");
                close_part(shared, &part, &file, None).await;
            }
        }
        Err(error) => tracing::warn!(%error, "could not look for lapsed recording parts"),
    }
    let meetings = match shared.store.recordings_to_finish(now).await {
        Ok(meetings) => meetings,
        Err(error) => {
            tracing::warn!(%error, "could not look for recordings to finish");
            return;
        }
    };
    for meeting in meetings {
        if shared.stop.is_cancelled() {
            return;
        }
        let until = Timestamp::now()
            .saturating_add(SignedDuration::try_from(REPLAY_CLAIM).unwrap_or(SignedDuration::ZERO))
            .unwrap_or(now);
        match shared.store.claim_recording(meeting, &shared.node, until, Timestamp::now()).await {
            Ok(true) => make_replay(shared, meeting).await,
            Ok(false) => {}
            Err(error) => tracing::warn!(%meeting, %error, "could not claim a recording"),
        }
    }
}

/// Makes a claimed meeting's replay and stores it (or its failure).
async fn make_replay(shared: &Arc<Shared>, meeting: MeetingId) {
    let parts = match shared.store.recording(meeting).await {
        Ok(Some(recording)) => recording.parts,
        Ok(None) => Vec::new(),
        Err(error) => {
            tracing::warn!(%meeting, %error, "could not read a recording");
            return;
        }
    };
    let outcome = join_parts(shared, meeting, &parts).await;
    match &outcome {
        Ok((files, _)) => {
            shared.metrics.replays.inc();
            tracing::info!(%meeting, files = files.len(), "replay made");
        }
        Err(error) => {
            shared.metrics.replay_failures.inc();
            tracing::warn!(%meeting, %error, "could not make the replay");
        }
    }
    match shared.store.finish_recording(meeting, &shared.node, &outcome, Timestamp::now()).await {
        Ok(true) => {
            if outcome.is_ok() && !shared.config.keep_parts {
                for part in &parts {
                    let _ = tokio::fs::remove_file(shared.folder.join(part.path())).await;
                }
            }
        }
        Ok(false) => tracing::warn!(%meeting, "another node took the replay over meanwhile"),
        Err(error) => tracing::warn!(%meeting, %error, "could not store the replay"),
    }
}

/// Joins the parts into the replay's files, each written under a temporary name and renamed
/// into place when whole.
async fn join_parts(
    shared: &Arc<Shared>,
    meeting: MeetingId,
    parts: &[RecordingPart],
) -> Result<(Vec<RecordingFile>, Vec<PartPlacement>), String> {
    let planned = replay::plan(parts);
    if planned.is_empty() {
        return Err("nothing playable was recorded".to_owned());
    }
    let folder_name = store::meeting_folder(meeting);
    let folder = shared.folder.join(&folder_name);
    let mut files = Vec::new();
    let mut placements = Vec::new();
    for file in planned {
        let paths: Vec<PathBuf> = file
            .parts
            .iter()
            .filter_map(|(id, _)| parts.iter().find(|part| part.id == *id))
            .map(|part| shared.folder.join(part.path()))
            .collect();
        let list = folder.join(format!("replay-{}.txt", file.number));
        let references: Vec<&Path> = paths.iter().map(PathBuf::as_path).collect();
        tokio::fs::write(&list, replay::concat_list(&references))
            .await
            .map_err(|error| format!("could not write {}: {error}", list.display()))?;
        let relative = replay::file_path(&folder_name, file.number, file.container);
        let output = shared.folder.join(&relative);
        let temporary = ffmpeg::temporary_beside(&output);
        let joined = ffmpeg::run_ffmpeg(
            &shared.ffmpeg,
            &replay::concat_arguments(&list, &temporary, file.container),
            JOIN_LIMIT,
        )
        .await;
        let _ = tokio::fs::remove_file(&list).await;
        if let Err(error) = joined {
            let _ = tokio::fs::remove_file(&temporary).await;
            return Err(error);
        }
        tokio::fs::rename(&temporary, &output)
            .await
            .map_err(|error| format!("could not put {} in place: {error}", output.display()))?;
        let bytes = tokio::fs::metadata(&output).await.map_err(|error| error.to_string())?.len();
        let duration_ms =
            ffmpeg::probe_duration(&shared.config.ffprobe, &output).await.unwrap_or(file.duration_ms);
        let has_video = file
            .parts
            .first()
            .and_then(|(id, _)| parts.iter().find(|part| part.id == *id))
            .is_some_and(|part| part.video_codec.is_some());
        files.push(RecordingFile {
            number: file.number,
            path: relative,
            content_type: file.container.content_type(has_video).to_owned(),
            bytes: i64::try_from(bytes).unwrap_or(i64::MAX),
            duration_ms,
        });
        placements.extend(file.parts.iter().map(|(part_id, offset_ms)| PartPlacement {
            part_id: *part_id,
            file_number: file.number,
            offset_ms: *offset_ms,
        }));
    }
    Ok((files, placements))
}
