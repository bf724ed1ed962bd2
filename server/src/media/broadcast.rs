//! One meeting's broadcast: the fan-out of its packets, whatever their source (a publisher, an
//! edge's pull of the origin's stream), to every consumer on this node (viewers, and any
//! other reader of the same feed), with the viewers' sessions, the publisher's codecs and the
//! keyframe requests to it.
//!
//! A consumer needs nothing of WebRTC: it [`subscribe`](Broadcast::subscribe)s to a kind's
//! packets (the engine's [`Packet`], which it can write out as RTP with
//! [`Packet::to_bytes`]), reads the [`codecs`](Broadcast::codecs), asks for a keyframe with
//! [`request_keyframe`](Broadcast::request_keyframe) and notices the end with
//! [`ended`](Broadcast::ended). [`ViewerFeed`] is how a viewer reads a channel without ever
//! holding it up; [`Renumbering`] closes the holes the publisher's dropped packets leave.
//!
//! Nothing here takes a lock across an await, touches the store or the room.

use super::engine::{Codec, IncomingTrack, MediaKind, Packet, Peer};
use super::keyframe::{self, VideoCodec};
use super::signaling::OfferedKinds;
use super::{MediaError, new_session_id};
use crate::config::MediaConfig;
use crate::metrics::MediaMetrics;
use crate::wire::BroadcastStatus;
use kezdesu_core::MeetingId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

/// One meeting's broadcast on this node, while a publisher is on (or, on an edge, while the
/// origin's stream is pulled).
pub struct Broadcast {
    pub(super) meeting: MeetingId,
    /// For an edge: the origin node whose stream this one plays, in place of a publisher.
    pub(super) pulled_from: Option<crate::cluster::MediaOrigin>,
    pub(super) publisher_session: String,
    /// The SHA-256 of the stream key the publisher's session was opened with.
    pub(super) publisher_key_digest: [u8; 32],
    /// The publisher's peer and ICE session, once it has answered.
    pub(super) publisher: Mutex<Option<IceSession>>,
    /// Set while the publisher's peer is connected.
    pub(super) connected: AtomicBool,
    /// The kinds the publisher offered; consumers wait for the codec of each.
    expected: OfferedKinds,
    audio: broadcast::Sender<Arc<Packet>>,
    video: broadcast::Sender<Arc<Packet>>,
    /// The publisher's codec of each kind, known once its track arrives.
    codecs: watch::Sender<Codecs>,
    keyframes: Keyframes,
    metrics: MediaMetrics,
    pub(super) viewers: Mutex<HashMap<String, ViewerEntry>>,
    /// The last status announced, so that counts are announced only when they change.
    pub(super) announced: Mutex<BroadcastStatus>,
    /// Cancelled when the broadcast ends; every viewer's token is a child of it.
    pub(super) stop: CancellationToken,
}

pub(super) struct ViewerEntry {
    pub(super) stop: CancellationToken,
    /// Set once the session has answered.
    pub(super) ice: Option<IceSession>,
    /// When the offer came; the oldest connecting session gives way first.
    pub(super) opened: Instant,
    /// Whether its peer connected: only connected viewers count against the meeting's cap.
    pub(super) connected: bool,
}

/// What trickle ICE needs of a session that has answered.
#[derive(Clone)]
pub(super) struct IceSession {
    pub(super) peer: Peer,
    /// The server's username fragment, quoted: the session's entity tag.
    pub(super) etag: String,
    /// The client's username fragment from its offer; another one in a PATCH is a restart.
    pub(super) remote_ufrag: String,
}

/// The publisher's codec of each kind.
#[derive(Debug, Clone, Default)]
pub struct Codecs {
    pub audio: Option<Codec>,
    pub video: Option<Codec>,
}

impl Codecs {
    fn slot(&mut self, kind: MediaKind) -> &mut Option<Codec> {
        match kind {
            MediaKind::Audio => &mut self.audio,
            MediaKind::Video => &mut self.video,
        }
    }
}

impl Broadcast {
    pub(super) fn new(
        meeting: MeetingId,
        expected: OfferedKinds,
        publisher_key_digest: [u8; 32],
        config: &MediaConfig,
        metrics: MediaMetrics,
        stop: CancellationToken,
    ) -> Broadcast {
        Broadcast {
            meeting,
            pulled_from: None,
            publisher_session: new_session_id(),
            publisher_key_digest,
            publisher: Mutex::new(None),
            connected: AtomicBool::new(false),
            expected,
            // Audio runs at about 50 packets a second against video's hundreds: a queue a
            // quarter the size holds as much time.
            audio: broadcast::channel((config.viewer_queue_packets / 4).max(16)).0,
            video: broadcast::channel(config.viewer_queue_packets).0,
            codecs: watch::Sender::new(Codecs::default()),
            keyframes: Keyframes::new(Duration::from_millis(config.keyframe_interval_ms)),
            metrics,
            viewers: Mutex::new(HashMap::new()),
            announced: Mutex::new(BroadcastStatus::default()),
            stop,
        }
    }

    /// The meeting this broadcast is of.
    pub fn meeting(&self) -> MeetingId {
        self.meeting
    }

    /// Every later packet of `kind`, from the live edge, as the publisher sent it (renumbered
    /// over the packets that were not forwarded). A receiver that falls behind loses the
    /// oldest packets (`Lagged`) and never slows the others; the channel closes when the
    /// broadcast ends. Video is sent whole: a new consumer waits for a keyframe itself (see
    /// [`keyframe::starts_keyframe`]) and asks for one with [`request_keyframe`](Self::request_keyframe).
    pub fn subscribe(&self, kind: MediaKind) -> broadcast::Receiver<Arc<Packet>> {
        self.feed(kind).subscribe()
    }

    /// Asks the publisher for a keyframe, throttled for the whole meeting.
    pub async fn request_keyframe(&self) {
        self.keyframes.request(self.keyframes.interval, &self.metrics).await;
    }

    /// Asks the publisher for a keyframe on a schedule of its own (HLS cuts its segments only
    /// at keyframes), at most one per [`SCHEDULED_KEYFRAME_MIN`] whatever the viewers' throttle:
    /// a schedule every 0.9 s held back by a 1 s throttle would get one every 1.8 s.
    pub async fn request_scheduled_keyframe(&self) {
        self.keyframes.request(self.keyframes.interval.min(SCHEDULED_KEYFRAME_MIN), &self.metrics).await;
    }

    /// Waits until the broadcast ends: the publisher went off air, the meeting ended, or the
    /// server stops.
    pub async fn ended(&self) {
        self.stop.cancelled().await;
    }

    /// Whether the broadcast has ended.
    pub fn is_ended(&self) -> bool {
        self.stop.is_cancelled()
    }

    pub(super) fn status(&self) -> BroadcastStatus {
        let viewers = self
            .viewers
            .lock()
            .expect("the viewer map is never left poisoned")
            .values()
            .filter(|entry| entry.connected)
            .count();
        BroadcastStatus {
            on_air: self.connected.load(Ordering::Relaxed),
            viewers: u32::try_from(viewers).unwrap_or(u32::MAX),
        }
    }

    pub(super) fn feed(&self, kind: MediaKind) -> &broadcast::Sender<Arc<Packet>> {
        match kind {
            MediaKind::Audio => &self.audio,
            MediaKind::Video => &self.video,
        }
    }

    /// The publisher's codecs, once every kind it offered has arrived; after `limit`, those
    /// that have. Fails if the broadcast ends first or no codec arrived at all.
    pub async fn codecs(&self, limit: Duration) -> Result<Codecs, MediaError> {
        let expected = self.expected;
        let mut codecs = self.codecs.subscribe();
        let complete = |codecs: &Codecs| {
            (!expected.audio || codecs.audio.is_some()) && (!expected.video || codecs.video.is_some())
        };
        tokio::select! {
            _ = self.stop.cancelled() => return Err(MediaError::NotOnAir),
            _ = tokio::time::timeout(limit, codecs.wait_for(complete)) => {}
        }
        let known = codecs.borrow().clone();
        if known.audio.is_none() && known.video.is_none() { Err(MediaError::NotOnAir) } else { Ok(known) }
    }

    /// Takes `codec` as the publisher's codec of its kind, and `track` (its stream `ssrc`)
    /// as the source of video keyframes; false if the kind has a codec already: one track per
    /// kind, as a second one (a simulcast layer the offer check let through) would interleave
    /// two streams under one viewer SSRC.
    pub(super) fn add_source(&self, codec: &Codec, track: &IncomingTrack, ssrc: u32) -> bool {
        let mut first = false;
        self.codecs.send_if_modified(|codecs| {
            let slot = codecs.slot(codec.kind);
            first = slot.is_none();
            if first {
                *slot = Some(codec.clone());
            }
            first
        });
        if first && codec.kind == MediaKind::Video {
            *self.keyframes.source.lock().expect("the keyframe source is never left poisoned") =
                Some((track.clone(), ssrc));
        }
        first
    }

    /// Records the payload type of the publisher's first packet of `kind` in its codec.
    pub(super) fn record_payload_type(&self, kind: MediaKind, payload_type: u8) -> u8 {
        self.codecs.send_modify(|codecs| {
            if let Some(codec) = codecs.slot(kind) {
                codec.payload_type = Some(payload_type);
            }
        });
        payload_type
    }

    /// Takes a place for a new viewing session. Refused when `limit` viewers are connected;
    /// when `connecting_limit` sessions are still connecting, the oldest of them is closed to
    /// make room, so that offers which never connect cannot keep the meeting full.
    pub(super) fn open_viewer_slot(
        &self,
        session: &str,
        stop: CancellationToken,
        limit: usize,
        connecting_limit: usize,
        metrics: &MediaMetrics,
    ) -> Result<(), MediaError> {
        let mut viewers = self.viewers.lock().expect("the viewer map is never left poisoned");
        if viewers.values().filter(|entry| entry.connected).count() >= limit {
            return Err(MediaError::TooManyViewers(limit));
        }
        let connecting = viewers.values().filter(|entry| !entry.connected).count();
        if connecting >= connecting_limit {
            let oldest = viewers
                .iter()
                .filter(|(_, entry)| !entry.connected)
                .min_by_key(|(_, entry)| entry.opened)
                .map(|(session, _)| session.clone());
            if let Some(entry) = oldest.and_then(|oldest| viewers.remove(&oldest)) {
                entry.stop.cancel();
                metrics.viewers.dec();
                tracing::debug!("closed the oldest viewing session still connecting, to make room");
            }
        }
        viewers.insert(
            session.to_owned(),
            ViewerEntry { stop, ice: None, opened: Instant::now(), connected: false },
        );
        Ok(())
    }

    /// Counts a session among the connected viewers, if the meeting still has a place for it;
    /// false (the session is to end) when `limit` others connected first, or it was closed.
    pub(super) fn admit_viewer(&self, session: &str, limit: usize) -> bool {
        let mut viewers = self.viewers.lock().expect("the viewer map is never left poisoned");
        let connected = viewers.values().filter(|entry| entry.connected).count();
        match viewers.get_mut(session) {
            Some(entry) if connected < limit => {
                entry.connected = true;
                true
            }
            _ => false,
        }
    }

    /// Ends a viewing session; false if there was none.
    pub(super) fn remove_viewer(&self, session: &str, metrics: &MediaMetrics) -> bool {
        let entry = self.viewers.lock().expect("the viewer map is never left poisoned").remove(session);
        match entry {
            Some(entry) => {
                entry.stop.cancel();
                metrics.viewers.dec();
                true
            }
            None => false,
        }
    }
}

/// The shortest time between a scheduled keyframe request and the request before it.
pub const SCHEDULED_KEYFRAME_MIN: Duration = Duration::from_millis(800);

/// Keyframe requests to the publisher, at most one per interval for the whole meeting: a
/// hundred viewers joining at once must not make the camera send a hundred keyframes.
struct Keyframes {
    source: Mutex<Option<(IncomingTrack, u32)>>,
    last: Mutex<Option<Instant>>,
    interval: Duration,
}

impl Keyframes {
    fn new(interval: Duration) -> Keyframes {
        Keyframes { source: Mutex::new(None), last: Mutex::new(None), interval }
    }

    /// Sends a request unless one went out less than `interval` ago.
    async fn request(&self, interval: Duration, metrics: &MediaMetrics) {
        {
            let mut last = self.last.lock().expect("the keyframe clock is never left poisoned");
            if last.is_some_and(|at| at.elapsed() < interval) {
                return;
            }
            *last = Some(Instant::now());
        }
        let source = self.source.lock().expect("the keyframe source is never left poisoned").clone();
        if let Some((track, media_ssrc)) = source
            && track.request_keyframe(media_ssrc).await.is_ok()
        {
            metrics.keyframe_requests.inc();
        }
    }
}

/// One viewer's view of a kind's packets: from the live edge, starting (for video) at a
/// keyframe, and skipping to the live edge and the next keyframe when it falls behind the
/// channel. It never blocks the channel: the sender does not wait for anybody.
pub(super) struct ViewerFeed {
    packets: broadcast::Receiver<Arc<Packet>>,
    /// For video: the codec, whose keyframes the viewer must (re)start at.
    video: Option<VideoCodec>,
    waiting_for_keyframe: bool,
}

pub(super) enum Next {
    Packet(Arc<Packet>),
    /// The viewer fell behind and was moved to the live edge; video waits for a keyframe.
    Skipped,
    /// The broadcast ended.
    Ended,
}

impl ViewerFeed {
    pub(super) fn new(packets: broadcast::Receiver<Arc<Packet>>, video: Option<VideoCodec>) -> ViewerFeed {
        ViewerFeed { packets, video, waiting_for_keyframe: video.is_some() }
    }

    pub(super) async fn next(&mut self) -> Next {
        loop {
            let packet = match self.packets.recv().await {
                Ok(packet) => packet,
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    // The oldest packets still queued are as stale as the ones lost: go to the
                    // live edge instead.
                    self.packets = self.packets.resubscribe();
                    self.waiting_for_keyframe = self.video.is_some();
                    return Next::Skipped;
                }
                Err(broadcast::error::RecvError::Closed) => return Next::Ended,
            };
            if self.waiting_for_keyframe {
                match self.video {
                    Some(codec) if !keyframe::starts_keyframe(codec, &packet.payload) => continue,
                    _ => self.waiting_for_keyframe = false,
                }
            }
            return Next::Packet(packet);
        }
    }
}

/// Closes the holes that dropped packets leave in a stream's sequence numbers, keeping every
/// other step (a real loss stays a gap, reordering stays reordering).
#[derive(Debug, Default)]
pub(super) struct Renumbering {
    /// How many packets were dropped so far; later ones move down by this much.
    dropped: u16,
}

impl Renumbering {
    /// The forwarded number of the packet numbered `sequence_number`, or `None` when it is
    /// not `forwarded`.
    pub(super) fn next(&mut self, sequence_number: u16, forwarded: bool) -> Option<u16> {
        if forwarded {
            Some(sequence_number.wrapping_sub(self.dropped))
        } else {
            self.dropped = self.dropped.wrapping_add(1);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn scheduled_keyframe_requests_pass_the_viewers_throttle_but_not_their_own() {
        let keyframes = Keyframes::new(Duration::from_secs(1));
        let metrics = MediaMetrics::default();
        let last = || *keyframes.last.lock().expect("the keyframe clock");
        keyframes.request(keyframes.interval, &metrics).await;
        let first = last().expect("a request went out");
        keyframes.request(SCHEDULED_KEYFRAME_MIN, &metrics).await;
        assert_eq!(last(), Some(first), "too soon even for the schedule");
        tokio::time::sleep(SCHEDULED_KEYFRAME_MIN + Duration::from_millis(50)).await;
        keyframes.request(keyframes.interval, &metrics).await;
        assert_eq!(last(), Some(first), "a viewer's request is still held back");
        keyframes.request(SCHEDULED_KEYFRAME_MIN, &metrics).await;
        assert!(last().is_some_and(|at| at > first), "the schedule's own throttle lets it through");
    }

    fn vp8_packet(sequence_number: u16, keyframe: bool) -> Arc<Packet> {
        Arc::new(Packet {
            sequence_number,
            payload: bytes::Bytes::from(vec![0x10, if keyframe { 0x00 } else { 0x01 }, 0xAA]),
            ..Packet::default()
        })
    }

    #[tokio::test]
    async fn a_lagging_viewer_skips_to_the_live_edge_and_the_next_keyframe() {
        let (sender, receiver) = broadcast::channel(16);
        let mut feed = ViewerFeed::new(receiver, Some(VideoCodec::Vp8));
        // A new viewer starts at a keyframe: the interframes before it are not sent.
        sender.send(vp8_packet(1, false)).expect("a receiver");
        sender.send(vp8_packet(2, true)).expect("a receiver");
        sender.send(vp8_packet(3, false)).expect("a receiver");
        for expected in [2, 3] {
            let Next::Packet(packet) = feed.next().await else { panic!("a packet") };
            assert_eq!(packet.sequence_number, expected);
        }
        // The viewer stops reading while 40 packets go by, more than the channel holds...
        for sequence_number in 4..44 {
            sender.send(vp8_packet(sequence_number, false)).expect("a receiver");
        }
        // ...so it is told it skipped, and is not stalled on what it missed nor dropped.
        assert!(matches!(feed.next().await, Next::Skipped));
        // From the live edge, it waits for the next keyframe and goes on from there.
        sender.send(vp8_packet(44, false)).expect("a receiver");
        sender.send(vp8_packet(45, true)).expect("a receiver");
        sender.send(vp8_packet(46, false)).expect("a receiver");
        for expected in [45, 46] {
            let Next::Packet(packet) = feed.next().await else { panic!("a packet") };
            assert_eq!(packet.sequence_number, expected);
        }
        drop(sender);
        assert!(matches!(feed.next().await, Next::Ended));
    }

    #[tokio::test]
    async fn audio_needs_no_keyframe_after_a_skip() {
        let (sender, receiver) = broadcast::channel(4);
        let mut feed = ViewerFeed::new(receiver, None);
        for sequence_number in 0..10 {
            sender.send(vp8_packet(sequence_number, false)).expect("a receiver");
        }
        assert!(matches!(feed.next().await, Next::Skipped));
        sender.send(vp8_packet(10, false)).expect("a receiver");
        let Next::Packet(packet) = feed.next().await else { panic!("a packet") };
        assert_eq!(packet.sequence_number, 10);
    }

    #[test]
    fn dropped_packets_leave_no_hole() {
        let mut renumber = Renumbering::default();
        let forwarded: Vec<Option<u16>> =
            [(65534, true), (65535, false), (0, true), (1, false), (2, false), (3, true)]
                .into_iter()
                .map(|(sequence_number, forwarded)| renumber.next(sequence_number, forwarded))
                .collect();
        assert_eq!(forwarded, [Some(65534), None, Some(65535), None, None, Some(0)]);
        // A real loss (4 missing) stays a gap of one after the renumbering.
        assert_eq!(renumber.next(5, true), Some(2));
    }
}
