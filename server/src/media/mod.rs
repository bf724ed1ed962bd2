//! The broadcast: a WebRTC SFU with WHIP ingest and WHEP playback, tied to the meeting.
//!
//! # Design
//!
//! One publisher per meeting sends its camera and microphone; every viewer gets the same RTP
//! packets, never transcoded. Per meeting there is one [`Broadcast`] while a publisher is on:
//!
//! - the publisher's task reads each incoming track and puts every packet, once, into a
//!   `tokio::sync::broadcast` channel per kind (audio, video) as an `Arc`;
//! - each viewer's task waits until its peer is connected, subscribes at the live edge, and
//!   writes each packet with the viewer's own SSRC and negotiated payload type and no header
//!   extensions (the engine silently drops anything else, see DESIGN.md);
//! - a viewer that falls behind the channel skips to the live edge and waits for the next
//!   keyframe, which it asks the publisher for (throttled for the whole meeting), rather than
//!   stalling the others or being dropped. A new viewer waits for a keyframe the same way.
//!
//! The broadcast is bound to the meeting's room: going on air opens the room (so the live
//! comment channel is up, loaded from its log), follows its events, and ends every media
//! session when the meeting ends or is cancelled, or when the room cannot be kept open.
//!
//! [`engine`] is the only part that builds WebRTC peers; [`keyframe`] and [`signaling`] are
//! pure.

pub mod edge;
pub mod engine;
pub mod keyframe;
pub mod signaling;

use crate::config::MediaConfig;
use crate::metrics::MediaMetrics;
use crate::room::{RoomError, Rooms};
use crate::store::StoreError;
use crate::wire::BroadcastStatus;
use engine::{
    Codec, Engine, EngineError, IceCandidate, IncomingTrack, MediaKind, OutgoingTrack, Packet, Peer,
    PeerHandles, PeerState,
};
use jiff::Timestamp;
use keyframe::VideoCodec;
use kezdesu_core::broadcast::{OnAirRefusal, may_go_on_air};
use kezdesu_core::{MeetingId, MeetingStatus, SessionTimer};
use serde::Deserialize;
use signaling::{OfferError, OfferedKinds, TrickleFragment};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{broadcast, watch};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often viewer counts are announced when they changed.
const COUNT_INTERVAL: Duration = Duration::from_secs(1);
/// A viewer asks for a keyframe on connecting and again this much later, in case the first
/// request was throttled or lost.
const SECOND_KEYFRAME_REQUEST: Duration = Duration::from_secs(1);

/// A change of a meeting's [`BroadcastStatus`], for its event stream, serialized once for
/// every stream that carries it.
#[derive(Debug, Clone)]
pub struct StatusChange {
    pub meeting: MeetingId,
    pub status: BroadcastStatus,
    /// `status` as JSON.
    pub json: Arc<str>,
}

/// A session created by WHIP or WHEP.
#[derive(Debug)]
pub struct SessionAnswer {
    /// The session's id, the last segment of its resource URL; random and unguessable, so it
    /// is the viewer's capability to end or patch its own session.
    pub session: String,
    /// The SDP answer.
    pub sdp: String,
    /// Names the ICE session, for `If-Match` on PATCH (RFC 9725 §4.3.1).
    pub etag: String,
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("meeting not found")]
    MeetingNotFound,
    #[error("another publisher is on air for this meeting")]
    PublisherPresent,
    #[error(transparent)]
    Closed(#[from] OnAirRefusal),
    #[error("the live comment channel is not up: {0}")]
    LiveChannelDown(String),
    #[error("nobody is broadcasting this meeting now")]
    NotOnAir,
    /// With several nodes: the node with the publisher, or Redis, cannot be reached.
    #[error("the broadcast's origin cannot be reached: {0}")]
    OriginUnreachable(String),
    #[error("this meeting has its maximum of {0} viewers")]
    TooManyViewers(usize),
    #[error(transparent)]
    BadOffer(#[from] OfferError),
    #[error("{0}")]
    Unacceptable(String),
    #[error("no such session")]
    NoSession,
    #[error("the ICE session does not match (If-Match)")]
    EtagMismatch,
    #[error("ICE restarts are not supported; start a new session")]
    IceRestart,
    #[error("the media engine failed: {0}")]
    Engine(String),
    #[error("the server is shutting down")]
    ShuttingDown,
}

impl From<EngineError> for MediaError {
    fn from(error: EngineError) -> MediaError {
        match error {
            EngineError::Offer(why) => MediaError::Unacceptable(why),
            EngineError::Engine(why) => MediaError::Engine(why),
        }
    }
}

/// The broadcast service. Cloning shares it.
#[derive(Clone)]
pub struct Media {
    shared: Arc<Shared>,
}

struct Shared {
    config: MediaConfig,
    engine: Engine,
    rooms: Rooms,
    metrics: MediaMetrics,
    /// The broadcast of every meeting with a publisher. Never held across an await.
    broadcasts: Mutex<HashMap<MeetingId, Arc<Broadcast>>>,
    /// Status changes of every meeting; event streams keep their meeting's.
    changes: broadcast::Sender<StatusChange>,
    stop: CancellationToken,
    tasks: TaskTracker,
    /// With several nodes: where this node is, to be an origin or pull from one.
    peers: Option<Arc<edge::MediaPeers>>,
}

impl Media {
    /// The service, with a task that announces viewer counts until `stop` is cancelled.
    pub fn new(
        config: MediaConfig,
        rooms: Rooms,
        metrics: MediaMetrics,
        peers: Option<edge::MediaPeers>,
        stop: CancellationToken,
    ) -> Media {
        let media = Media {
            shared: Arc::new(Shared {
                engine: Engine::new(&config),
                config,
                rooms,
                metrics,
                broadcasts: Mutex::new(HashMap::new()),
                changes: broadcast::channel(256).0,
                stop,
                tasks: TaskTracker::new(),
                peers: peers.map(Arc::new),
            }),
        };
        media.shared.tasks.spawn(announce_counts(media.shared.clone()));
        media
    }

    /// The meeting's broadcast status now.
    pub fn status(&self, meeting: MeetingId) -> BroadcastStatus {
        self.shared.broadcast(meeting).map(|broadcast| broadcast.status()).unwrap_or_default()
    }

    /// Every later status change, of every meeting.
    pub fn changes(&self) -> broadcast::Receiver<StatusChange> {
        self.shared.changes.subscribe()
    }

    /// The configured media settings.
    pub fn config(&self) -> &MediaConfig {
        &self.shared.config
    }

    /// Puts a publisher on air with `offer` (WHIP). The caller has checked the stream key,
    /// whose digest the session keeps: the key it was opened with still ends it after a
    /// rotation, as OBS expects.
    pub async fn publish(
        &self,
        meeting: MeetingId,
        offer: String,
        key_digest: [u8; 32],
        now: Timestamp,
    ) -> Result<SessionAnswer, MediaError> {
        // Set up in a task of its own: if the client goes away (or the request times out)
        // mid-way, the session is still finished or undone, never left half-made; one the
        // client never connects to ends at `connect_timeout_seconds`.
        let media = self.clone();
        let setup = self
            .shared
            .tasks
            .spawn(async move { media.start_publisher(meeting, offer, key_digest, now).await });
        setup.await.unwrap_or(Err(MediaError::ShuttingDown))
    }

    async fn start_publisher(
        &self,
        meeting: MeetingId,
        offer: String,
        key_digest: [u8; 32],
        now: Timestamp,
    ) -> Result<SessionAnswer, MediaError> {
        let shared = &self.shared;
        if shared.stop.is_cancelled() {
            return Err(MediaError::ShuttingDown);
        }
        let kinds = signaling::offered_kinds(&offer, true)?;
        let remote_ufrag = signaling::ice_ufrag(&offer).unwrap_or_default().to_owned();
        if shared.broadcast(meeting).is_some() {
            return Err(MediaError::PublisherPresent);
        }
        // Opening the room loads the live channel from its log: if it cannot be, comments
        // cannot be taken, and the decree does not allow a broadcast without them.
        let subscription = shared.rooms.subscribe(meeting).await.map_err(|error| match error {
            RoomError::Store(StoreError::NotFound(_)) => MediaError::MeetingNotFound,
            RoomError::ShuttingDown => MediaError::ShuttingDown,
            other => MediaError::LiveChannelDown(other.to_string()),
        })?;
        let room_meeting = &subscription.meeting;
        let phase = SessionTimer::new(
            room_meeting.planned_minutes,
            room_meeting.presentation_share,
            room_meeting.phases,
        )
        .map(|mut timer| {
            timer.advance(now);
            timer.phase()
        })
        .map_err(|error| MediaError::LiveChannelDown(error.to_string()))?;
        let status = MeetingStatus::of(phase, room_meeting.cancelled_at.is_some());
        may_go_on_air(status, room_meeting.planned_start, shared.config.publish_window_minutes, now)?;

        // With several nodes: one publisher per meeting in the whole cluster.
        if let Some(peers) = &shared.peers {
            edge::claim_origin(peers, meeting).await?;
        }
        let broadcast = {
            let mut broadcasts = shared.broadcasts.lock().expect("the broadcast map is never left poisoned");
            if broadcasts.contains_key(&meeting) {
                return Err(MediaError::PublisherPresent);
            }
            let broadcast = Arc::new(Broadcast::new(
                meeting,
                kinds,
                key_digest,
                &shared.config,
                shared.stop.child_token(),
            ));
            broadcasts.insert(meeting, broadcast.clone());
            broadcast
        };
        let started = async {
            let (peer, handles) = shared.engine.peer(None).await?;
            let setup = async {
                receive(&peer, kinds).await?;
                Ok::<_, MediaError>(peer.answer(offer).await?)
            };
            match setup.await {
                Ok(sdp) => Ok((peer, handles, sdp)),
                Err(error) => {
                    peer.close().await;
                    Err(error)
                }
            }
        };
        match started.await {
            Ok((peer, handles, sdp)) => {
                let etag = etag_of(&sdp);
                *broadcast.publisher.lock().expect("the publisher slot is never left poisoned") =
                    Some(IceSession { peer: peer.clone(), etag: etag.clone(), remote_ufrag });
                shared.metrics.publishers.inc();
                if let Some(peers) = &shared.peers {
                    shared.tasks.spawn(edge::advertise_origin(
                        peers.clone(),
                        meeting,
                        broadcast.stop.clone(),
                    ));
                }
                shared.tasks.spawn(run_publisher(
                    shared.clone(),
                    broadcast.clone(),
                    peer,
                    handles,
                    subscription.events,
                ));
                tracing::info!(meeting = %meeting, audio = kinds.audio, video = kinds.video, "publisher connecting");
                Ok(SessionAnswer { session: broadcast.publisher_session.clone(), etag, sdp })
            }
            Err(error) => {
                // Viewers already waiting for its codecs give up at once.
                broadcast.stop.cancel();
                shared.remove(&broadcast);
                if let Some(peers) = &shared.peers {
                    edge::release_origin(peers, meeting).await;
                }
                Err(error)
            }
        }
    }

    /// Whether `session` is the meeting's publisher session and was opened with the key whose
    /// digest is `key_digest`.
    pub fn opened_with(&self, meeting: MeetingId, session: &str, key_digest: &[u8; 32]) -> bool {
        self.shared.broadcast(meeting).is_some_and(|broadcast| {
            broadcast.pulled_from.is_none()
                && broadcast.publisher_session == session
                && broadcast.publisher_key_digest == *key_digest
        })
    }

    /// Takes the publisher off air (WHIP DELETE); every viewing session of the meeting ends.
    pub fn end_publisher(&self, meeting: MeetingId, session: &str) -> Result<(), MediaError> {
        let broadcast = self.shared.broadcast(meeting).filter(|b| b.publisher_session == session);
        let broadcast = broadcast.ok_or(MediaError::NoSession)?;
        broadcast.stop.cancel();
        self.shared.remove(&broadcast);
        Ok(())
    }

    /// Takes whoever publishes off air, whatever key they used: for the akim or an admin when
    /// a leaked key was used (rotate it first). False if nobody was on air.
    ///
    /// Among several nodes the publisher may be connected to another: that node, the origin,
    /// is asked to end it, and the edges' copies end with its stream (this node's at once).
    pub async fn end_broadcast(&self, meeting: MeetingId) -> Result<bool, MediaError> {
        let Some(peers) = &self.shared.peers else { return Ok(self.end_local_broadcast(meeting)) };
        // A publisher connected here is ended here, even while Redis cannot be reached: that
        // is when a leaked key must still be taken off air.
        if self.shared.broadcast(meeting).is_some_and(|broadcast| broadcast.pulled_from.is_none()) {
            return Ok(self.end_local_broadcast(meeting));
        }
        let origin = peers
            .cluster
            .media_origin(meeting)
            .await
            .map_err(|error| MediaError::OriginUnreachable(format!("the cluster's Redis: {error}")))?;
        let ended_at_origin = match origin.filter(|origin| origin.node != peers.origin.node) {
            Some(origin) => {
                let answer = peers
                    .cluster
                    .ask_node(&origin.node, meeting, &edge::MediaRequest::EndBroadcast)
                    .await
                    .map_err(|error| MediaError::OriginUnreachable(format!("{}: {error}", origin.url)))?;
                matches!(answer, edge::MediaAnswer::Ended(true))
            }
            None => false,
        };
        // This node's pull, if any, ends at once rather than when the origin's stream stops.
        let ended_here = self.end_local_broadcast(meeting);
        Ok(ended_at_origin || ended_here)
    }

    /// Serves a request another node sent to this one's media (see [`edge::MediaRequest`]).
    pub fn serve_forwarded(&self, meeting: MeetingId, request: edge::MediaRequest) -> edge::MediaAnswer {
        match request {
            // Sent to this node as the meeting's media origin.
            edge::MediaRequest::EndBroadcast => edge::MediaAnswer::Ended(self.end_local_broadcast(meeting)),
        }
    }

    /// Ends the meeting's broadcast on this node: its publisher's, or an edge's pull. False if
    /// this node had none.
    pub fn end_local_broadcast(&self, meeting: MeetingId) -> bool {
        let Some(broadcast) = self.shared.broadcast(meeting) else { return false };
        broadcast.stop.cancel();
        self.shared.remove(&broadcast);
        true
    }

    /// Opens a viewing session with `offer` (WHEP).
    pub async fn play(&self, meeting: MeetingId, offer: String) -> Result<SessionAnswer, MediaError> {
        // In a task of its own, for the same reason as `publish`.
        let media = self.clone();
        let setup = self.shared.tasks.spawn(async move { media.start_viewer(meeting, offer).await });
        setup.await.unwrap_or(Err(MediaError::ShuttingDown))
    }

    async fn start_viewer(&self, meeting: MeetingId, offer: String) -> Result<SessionAnswer, MediaError> {
        let shared = &self.shared;
        let wants = signaling::offered_kinds(&offer, false)?;
        let remote_ufrag = signaling::ice_ufrag(&offer).unwrap_or_default().to_owned();
        let broadcast = match shared.broadcast(meeting) {
            Some(broadcast) => broadcast,
            // The publisher may be on another node: pull its stream from there.
            None => edge::pull(shared, meeting).await?,
        };
        let limit = shared.config.max_viewers_per_meeting;
        let session = new_session_id();
        let stop = broadcast.stop.child_token();
        {
            let mut viewers = broadcast.viewers.lock().expect("the viewer map is never left poisoned");
            if viewers.len() >= limit {
                return Err(MediaError::TooManyViewers(limit));
            }
            viewers.insert(session.clone(), ViewerEntry { stop: stop.clone(), ice: None });
        }
        shared.metrics.viewers.inc();
        let opened = self.open_viewer(&broadcast, wants, offer).await;
        match opened {
            Ok((peer, handles, outputs, sdp)) => {
                let etag = etag_of(&sdp);
                if let Some(entry) =
                    broadcast.viewers.lock().expect("the viewer map is never left poisoned").get_mut(&session)
                {
                    entry.ice = Some(IceSession { peer: peer.clone(), etag: etag.clone(), remote_ufrag });
                }
                shared.tasks.spawn(run_viewer(
                    shared.clone(),
                    broadcast.clone(),
                    session.clone(),
                    stop,
                    peer,
                    handles,
                    outputs,
                ));
                Ok(SessionAnswer { session, etag, sdp })
            }
            Err(error) => {
                broadcast.remove_viewer(&session, &shared.metrics);
                Err(error)
            }
        }
    }

    async fn open_viewer(
        &self,
        broadcast: &Arc<Broadcast>,
        wants: OfferedKinds,
        offer: String,
    ) -> Result<(Peer, PeerHandles, Vec<Output>, String), MediaError> {
        let shared = &self.shared;
        let codecs = broadcast.codecs(Duration::from_secs(shared.config.codec_wait_seconds)).await?;
        // Only the kinds the viewer asks for, in a codec it can take as the publisher sends it.
        let offered: Vec<Codec> = [(wants.audio, codecs.audio), (wants.video, codecs.video)]
            .into_iter()
            .filter_map(|(wanted, codec)| {
                let codec = codec.filter(|_| wanted)?;
                signaling::accepts_codec(&offer, codec.kind.label(), &codec.mime_type, &codec.fmtp)
                    .then_some(codec)
            })
            .collect();
        if offered.is_empty() {
            return Err(MediaError::Unacceptable("the offer asks for none of the media on air".to_owned()));
        }
        let (peer, handles) = shared.engine.peer(Some(&offered)).await?;
        let setup = async {
            let mut tracks = Vec::new();
            for codec in offered {
                let track = peer.send(&codec, "kezdesu").await?;
                tracks.push((codec, track));
            }
            let sdp = peer.answer(offer).await?;
            let mut outputs = Vec::new();
            for (codec, track) in tracks {
                // The payload type this viewer negotiated, which may differ from the
                // publisher's: the engine drops packets carrying any other.
                let Some(payload_type) = track.payload_type().await? else {
                    continue; // The viewer declined this kind.
                };
                outputs.push(Output { video: VideoCodec::from_mime(&codec.mime_type), track, payload_type });
            }
            if outputs.is_empty() {
                return Err(MediaError::Unacceptable(
                    "the offer accepts none of the codecs on air".to_owned(),
                ));
            }
            Ok((sdp, outputs))
        };
        match setup.await {
            Ok((sdp, outputs)) => Ok((peer, handles, outputs, sdp)),
            Err(error) => {
                peer.close().await;
                Err(error)
            }
        }
    }

    /// Ends a viewing session (WHEP DELETE).
    pub fn end_viewer(&self, meeting: MeetingId, session: &str) -> Result<(), MediaError> {
        let broadcast = self.shared.broadcast(meeting).ok_or(MediaError::NoSession)?;
        if broadcast.remove_viewer(session, &self.shared.metrics) {
            Ok(())
        } else {
            Err(MediaError::NoSession)
        }
    }

    /// Applies a trickle-ICE fragment (PATCH) to a publisher's (`publisher` true) or viewer's
    /// session. The server's answer is complete, so remote candidates are only a help; an ICE
    /// restart is refused with 422, as RFC 9725 asks of a server that does not support it.
    pub async fn trickle(
        &self,
        meeting: MeetingId,
        publisher: bool,
        session: &str,
        fragment: &TrickleFragment,
        if_match: Option<&str>,
    ) -> Result<(), MediaError> {
        let broadcast = self.shared.broadcast(meeting).ok_or(MediaError::NoSession)?;
        let found = if publisher {
            (broadcast.publisher_session == session)
                .then(|| {
                    broadcast.publisher.lock().expect("the publisher slot is never left poisoned").clone()
                })
                .flatten()
        } else {
            let viewers = broadcast.viewers.lock().expect("the viewer map is never left poisoned");
            viewers.get(session).and_then(|entry| entry.ice.clone())
        };
        let IceSession { peer, etag, remote_ufrag } = found.ok_or(MediaError::NoSession)?;
        // RFC 9725 §4.3.2: `If-Match: *` or a new username fragment from the client asks for an
        // ICE restart, which this server does not do (the client starts a new session).
        let new_ufrag = fragment.ice_ufrag.as_deref().is_some_and(|ufrag| ufrag != remote_ufrag);
        if if_match == Some("*") || new_ufrag {
            return Err(MediaError::IceRestart);
        }
        if let Some(expected) = if_match
            && expected != etag
        {
            return Err(MediaError::EtagMismatch);
        }
        for candidate in &fragment.candidates {
            let candidate = IceCandidate {
                candidate: candidate.candidate.clone(),
                sdp_mid: candidate.mid.clone(),
                sdp_mline_index: Some(candidate.mline_index),
                username_fragment: fragment.ice_ufrag.clone(),
            };
            // A candidate the engine cannot use is not the client's error to fix: ICE goes on
            // with the others, as it would had the candidate never arrived.
            if let Err(error) = peer.add_ice_candidate(candidate).await {
                tracing::debug!(%error, "a trickled candidate was not added");
            }
        }
        Ok(())
    }

    /// Waits, up to `limit`, for every media task to end after the stop token was cancelled.
    pub async fn wait_closed(&self, limit: Duration) -> bool {
        self.shared.tasks.close();
        tokio::time::timeout(limit, self.shared.tasks.wait()).await.is_ok()
    }
}

impl Shared {
    fn broadcast(&self, meeting: MeetingId) -> Option<Arc<Broadcast>> {
        self.broadcasts.lock().expect("the broadcast map is never left poisoned").get(&meeting).cloned()
    }

    /// Forgets `broadcast` if it is still the meeting's, and announces it off air.
    fn remove(&self, broadcast: &Arc<Broadcast>) {
        let removed = {
            let mut broadcasts = self.broadcasts.lock().expect("the broadcast map is never left poisoned");
            let current = broadcasts.get(&broadcast.meeting).is_some_and(|b| Arc::ptr_eq(b, broadcast));
            current && broadcasts.remove(&broadcast.meeting).is_some()
        };
        if removed {
            self.announce(broadcast.meeting, BroadcastStatus::default());
        }
    }

    fn announce(&self, meeting: MeetingId, status: BroadcastStatus) {
        // Nobody listening is fine: readers ask for the status when they connect.
        let json = serde_json::to_string(&status).unwrap_or_default();
        let _ = self.changes.send(StatusChange { meeting, status, json: Arc::from(json) });
    }
}

/// One meeting's broadcast, while a publisher is on.
struct Broadcast {
    meeting: MeetingId,
    /// For an edge: the origin node whose stream this one plays, in place of a publisher.
    pulled_from: Option<crate::cluster::MediaOrigin>,
    publisher_session: String,
    /// The SHA-256 of the stream key the publisher's session was opened with.
    publisher_key_digest: [u8; 32],
    /// The publisher's peer and ICE session, once it has answered.
    publisher: Mutex<Option<IceSession>>,
    /// Set while the publisher's peer is connected.
    connected: AtomicBool,
    /// The kinds the publisher offered; viewers wait for the codec of each.
    expected: OfferedKinds,
    audio: broadcast::Sender<Arc<Packet>>,
    video: broadcast::Sender<Arc<Packet>>,
    /// The publisher's codec of each kind, known once its track arrives.
    codecs: watch::Sender<Codecs>,
    keyframes: Keyframes,
    viewers: Mutex<HashMap<String, ViewerEntry>>,
    /// The last status announced, so that counts are announced only when they change.
    announced: Mutex<BroadcastStatus>,
    /// Cancelled when the broadcast ends; every viewer's token is a child of it.
    stop: CancellationToken,
}

struct ViewerEntry {
    stop: CancellationToken,
    /// Set once the session has answered.
    ice: Option<IceSession>,
}

/// What trickle ICE needs of a session that has answered.
#[derive(Clone)]
struct IceSession {
    peer: Peer,
    /// The server's username fragment, quoted: the session's entity tag.
    etag: String,
    /// The client's username fragment from its offer; another one in a PATCH is a restart.
    remote_ufrag: String,
}

#[derive(Debug, Clone, Default)]
struct Codecs {
    audio: Option<Codec>,
    video: Option<Codec>,
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
    fn new(
        meeting: MeetingId,
        expected: OfferedKinds,
        publisher_key_digest: [u8; 32],
        config: &MediaConfig,
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
            viewers: Mutex::new(HashMap::new()),
            announced: Mutex::new(BroadcastStatus::default()),
            stop,
        }
    }

    fn status(&self) -> BroadcastStatus {
        let viewers = self.viewers.lock().expect("the viewer map is never left poisoned").len();
        BroadcastStatus {
            on_air: self.connected.load(Ordering::Relaxed),
            viewers: u32::try_from(viewers).unwrap_or(u32::MAX),
        }
    }

    fn feed(&self, kind: MediaKind) -> &broadcast::Sender<Arc<Packet>> {
        match kind {
            MediaKind::Audio => &self.audio,
            MediaKind::Video => &self.video,
        }
    }

    /// The publisher's codecs, once every kind it offered has arrived; after `limit`, those
    /// that have. Fails if the broadcast ends first or no codec arrived at all.
    async fn codecs(&self, limit: Duration) -> Result<Codecs, MediaError> {
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

    /// Records the payload type of the publisher's first packet of `kind` in its codec.
    fn record_payload_type(&self, kind: MediaKind, payload_type: u8) -> u8 {
        self.codecs.send_modify(|codecs| {
            if let Some(codec) = codecs.slot(kind) {
                codec.payload_type = Some(payload_type);
            }
        });
        payload_type
    }

    /// Ends a viewing session; false if there was none.
    fn remove_viewer(&self, session: &str, metrics: &MediaMetrics) -> bool {
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

    async fn request(&self, metrics: &MediaMetrics) {
        {
            let mut last = self.last.lock().expect("the keyframe clock is never left poisoned");
            if last.is_some_and(|at| at.elapsed() < self.interval) {
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

/// What one viewer is sent of one kind.
struct Output {
    /// For video: the codec, to find keyframes in.
    video: Option<VideoCodec>,
    track: OutgoingTrack,
    /// The payload type the viewer negotiated.
    payload_type: u8,
}

/// Whether a room event says the meeting is over: ended or cancelled.
fn ends_meeting(event: &crate::room::RoomEvent) -> bool {
    #[derive(Deserialize)]
    struct Status {
        status: Option<MeetingStatus>,
        meeting: Option<Box<Status>>,
    }
    let Ok(parsed) = serde_json::from_str::<Status>(&event.json) else { return false };
    let status = parsed.status.or_else(|| parsed.meeting.and_then(|meeting| meeting.status));
    matches!(status, Some(MeetingStatus::Ended | MeetingStatus::Cancelled))
}

/// Adds a receive-only transceiver for each kind in `kinds`: a publisher's, or an edge's pull.
async fn receive(peer: &Peer, kinds: OfferedKinds) -> Result<(), MediaError> {
    for (wanted, kind) in [(kinds.audio, MediaKind::Audio), (kinds.video, MediaKind::Video)] {
        if wanted {
            peer.receive(kind).await?;
        }
    }
    Ok(())
}

/// The publisher's session: reads its tracks into the broadcast until it disconnects, the
/// meeting ends, the room closes for good, or the session is deleted.
async fn run_publisher(
    shared: Arc<Shared>,
    broadcast: Arc<Broadcast>,
    peer: Peer,
    mut handles: PeerHandles,
    mut room_events: broadcast::Receiver<crate::room::RoomEvent>,
) {
    let meeting = broadcast.meeting;
    let mut readers = JoinSet::new();
    let connect_by = tokio::time::sleep(Duration::from_secs(shared.config.connect_timeout_seconds));
    tokio::pin!(connect_by);
    let why = loop {
        tokio::select! {
            _ = broadcast.stop.cancelled() => break "ended",
            changed = handles.state.changed() => {
                let state = *handles.state.borrow_and_update();
                if changed.is_err() || state.is_over() {
                    break "the publisher's connection closed or failed";
                }
                if state == PeerState::Connected && !broadcast.connected.swap(true, Ordering::Relaxed) {
                    tracing::info!(meeting = %meeting, "on air");
                    shared.announce(meeting, broadcast.status());
                }
            }
            Some(track) = handles.tracks.recv() => {
                readers.spawn(read_track(broadcast.clone(), track));
            }
            event = room_events.recv() => match event {
                Ok(event) if ends_meeting(&event) => break "the meeting ended",
                Ok(_) => {}
                // Missed events may include the end, and a closed room (it could not commit,
                // or the server stops) is no place for a broadcast: follow the meeting's room
                // afresh if it can be opened and the meeting is not over, else go off air
                // with the comments.
                Err(_) => match shared.rooms.subscribe(meeting).await {
                    Ok(subscription) if subscription.meeting.phases.ended_at.is_some()
                        || subscription.meeting.cancelled_at.is_some() => break "the meeting ended",
                    Ok(subscription) => room_events = subscription.events,
                    Err(_) => break "the live comment channel closed",
                },
            },
            _ = &mut connect_by, if !broadcast.connected.load(Ordering::Relaxed) => {
                break "the publisher did not connect in time";
            }
        }
    };
    tracing::info!(meeting = %meeting, why, "off air");
    broadcast.stop.cancel();
    readers.shutdown().await;
    peer.close().await;
    shared.remove(&broadcast);
    shared.metrics.publishers.dec();
}

/// Reads one of the publisher's tracks into the broadcast's channel of its kind.
async fn read_track(broadcast: Arc<Broadcast>, track: IncomingTrack) {
    let Some(ssrc) = track.ssrc().await else { return };
    let Some(codec) = track.codec(ssrc).await else { return };
    let kind = codec.kind;
    // One track per kind: a second one (a simulcast layer the offer check let through)
    // would interleave two streams under one viewer SSRC.
    let mut first = false;
    broadcast.codecs.send_if_modified(|codecs| {
        let slot = codecs.slot(kind);
        first = slot.is_none();
        if first {
            *slot = Some(codec.clone());
        }
        first
    });
    if !first {
        tracing::warn!(meeting = %broadcast.meeting, %kind, "ignored a second publisher track of one kind");
        return;
    }
    if kind == MediaKind::Video {
        *broadcast.keyframes.source.lock().expect("the keyframe source is never left poisoned") =
            Some((track.clone(), ssrc));
    }
    let feed = broadcast.feed(kind).clone();
    let mut payload_type = None;
    let mut renumber = Renumbering::default();
    while let Some(mut packet) = track.next_packet().await {
        // Padding-only probes carry nothing to forward; another payload type (FEC, RED) is
        // not the negotiated codec the viewers were promised. The packets after a dropped one
        // are renumbered, so that viewers see no hole they would ask to have resent (nobody
        // could) or wait on to assemble a frame.
        let wanted = !packet.payload.is_empty()
            && *payload_type.get_or_insert_with(|| broadcast.record_payload_type(kind, packet.payload_type))
                == packet.payload_type;
        match renumber.next(packet.sequence_number, wanted) {
            Some(sequence_number) => packet.sequence_number = sequence_number,
            None => continue,
        }
        // Nobody watching is fine.
        let _ = feed.send(Arc::new(packet));
    }
}

/// A viewer's session: once connected, forwards every kind from the live edge until the
/// session is deleted, its peer disconnects, or the broadcast ends.
async fn run_viewer(
    shared: Arc<Shared>,
    broadcast: Arc<Broadcast>,
    session: String,
    stop: CancellationToken,
    peer: Peer,
    mut handles: PeerHandles,
    outputs: Vec<Output>,
) {
    let connected = tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(Duration::from_secs(shared.config.connect_timeout_seconds)) => false,
        state = handles.state.wait_for(|state| *state == PeerState::Connected || state.is_over()) => {
            state.is_ok_and(|state| *state == PeerState::Connected)
        }
    };
    if connected {
        // Subscribed only now, at the live edge: writing before the peer is connected only
        // makes the engine drop packets, and a backlog would be stale.
        let forwarding = futures_util::future::join_all(outputs.iter().map(|output| {
            let feed = broadcast.feed(output.track.kind()).subscribe();
            forward(&broadcast, &shared.metrics, output, feed)
        }));
        // The viewer's own keyframe requests (after a loss), passed up by the engine's chain.
        let feedback = futures_util::future::join_all(outputs.iter().map(|output| async {
            while output.track.keyframe_requested().await {
                broadcast.keyframes.request(&shared.metrics).await;
            }
        }));
        broadcast.keyframes.request(&shared.metrics).await;
        let second_request = tokio::time::sleep(SECOND_KEYFRAME_REQUEST);
        tokio::pin!(second_request);
        tokio::pin!(forwarding);
        tokio::pin!(feedback);
        let mut asked_twice = false;
        let mut feedback_ended = false;
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = &mut forwarding => break,
                _ = &mut feedback, if !feedback_ended => feedback_ended = true,
                // The watch guard is dropped inside, so the task stays `Send`.
                _ = async { handles.state.wait_for(|state| state.is_over()).await.is_err() } => break,
                _ = &mut second_request, if !asked_twice => {
                    asked_twice = true;
                    broadcast.keyframes.request(&shared.metrics).await;
                }
            }
        }
    }
    broadcast.remove_viewer(&session, &shared.metrics);
    peer.close().await;
}

/// Forwards one kind to one viewer, rewriting SSRC and payload type and dropping header
/// extensions. Video starts at a keyframe; a viewer that lags skips to the live edge and waits
/// for the next keyframe. Returns when the broadcast ends or the viewer's peer is gone.
async fn forward(
    broadcast: &Broadcast,
    metrics: &MediaMetrics,
    output: &Output,
    feed: broadcast::Receiver<Arc<Packet>>,
) {
    let mut feed = ViewerFeed::new(feed, output.video);
    loop {
        let packet = match feed.next().await {
            Next::Packet(packet) => packet,
            Next::Skipped => {
                metrics.viewer_skips.inc();
                if output.video.is_some() {
                    broadcast.keyframes.request(metrics).await;
                }
                continue;
            }
            Next::Ended => return,
        };
        if output.track.write(&rewritten(&packet, output.track.ssrc(), output.payload_type)).await.is_err() {
            return;
        }
        metrics.packets_forwarded.inc();
    }
}

/// One viewer's view of a kind's packets: from the live edge, starting (for video) at a
/// keyframe, and skipping to the live edge and the next keyframe when it falls behind the
/// channel. It never blocks the channel: the sender does not wait for anybody.
struct ViewerFeed {
    packets: broadcast::Receiver<Arc<Packet>>,
    /// For video: the codec, whose keyframes the viewer must (re)start at.
    video: Option<VideoCodec>,
    waiting_for_keyframe: bool,
}

enum Next {
    Packet(Arc<Packet>),
    /// The viewer fell behind and was moved to the live edge; video waits for a keyframe.
    Skipped,
    /// The broadcast ended.
    Ended,
}

impl ViewerFeed {
    fn new(packets: broadcast::Receiver<Arc<Packet>>, video: Option<VideoCodec>) -> ViewerFeed {
        ViewerFeed { packets, video, waiting_for_keyframe: video.is_some() }
    }

    async fn next(&mut self) -> Next {
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

/// `packet` as one viewer must receive it: under its own SSRC and negotiated payload type.
fn rewritten(packet: &Packet, ssrc: u32, payload_type: u8) -> Packet {
    Packet { ssrc, payload_type, ..packet.clone() }
}

/// Announces each broadcast's viewer count once a second, when it changed.
async fn announce_counts(shared: Arc<Shared>) {
    let mut interval = tokio::time::interval(COUNT_INTERVAL);
    loop {
        tokio::select! {
            _ = shared.stop.cancelled() => return,
            _ = interval.tick() => {}
        }
        let broadcasts: Vec<Arc<Broadcast>> = shared
            .broadcasts
            .lock()
            .expect("the broadcast map is never left poisoned")
            .values()
            .cloned()
            .collect();
        // A broadcast that has ended was announced off air when it was removed.
        for broadcast in broadcasts.into_iter().filter(|broadcast| !broadcast.stop.is_cancelled()) {
            let status = broadcast.status();
            let changed = {
                let mut announced = broadcast.announced.lock().expect("the status is never left poisoned");
                std::mem::replace(&mut *announced, status) != status
            };
            if changed {
                shared.announce(broadcast.meeting, status);
            }
        }
    }
}

/// Closes the holes that dropped packets leave in a stream's sequence numbers, keeping every
/// other step (a real loss stays a gap, reordering stays reordering).
#[derive(Debug, Default)]
struct Renumbering {
    /// How many packets were dropped so far; later ones move down by this much.
    dropped: u16,
}

impl Renumbering {
    /// The forwarded number of the packet numbered `sequence_number`, or `None` when it is
    /// not `forwarded`.
    fn next(&mut self, sequence_number: u16, forwarded: bool) -> Option<u16> {
        if forwarded {
            Some(sequence_number.wrapping_sub(self.dropped))
        } else {
            self.dropped = self.dropped.wrapping_add(1);
            None
        }
    }
}

/// A random, unguessable session id (128 bits, hex).
fn new_session_id() -> String {
    format!("{:032x}", rand::random::<u128>())
}

/// The entity tag of a session: its ICE username fragment, quoted.
fn etag_of(sdp: &str) -> String {
    format!("\"{}\"", signaling::ice_ufrag(sdp).unwrap_or("none"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::room::RoomEvent;

    fn event(name: &'static str, json: &str) -> RoomEvent {
        RoomEvent { name, json: Arc::from(json) }
    }

    #[test]
    fn room_events_that_end_the_broadcast() {
        assert!(ends_meeting(&event("phase_changed", r#"{"phase":"ended","meeting":{"status":"ended"}}"#)));
        assert!(ends_meeting(&event("meeting_updated", r#"{"id":1,"status":"cancelled"}"#)));
        assert!(!ends_meeting(&event("phase_changed", r#"{"phase":"qa","meeting":{"status":"live"}}"#)));
        assert!(!ends_meeting(&event("meeting_updated", "not json")));
    }

    #[test]
    fn rewriting_keeps_timing_and_payload() {
        let source = Packet {
            sequence_number: 65535,
            timestamp: 90_000,
            marker: true,
            payload_type: 97,
            ssrc: 1,
            payload: bytes::Bytes::from_static(b"frame"),
        };
        let viewer = rewritten(&source, 42, 96);
        assert_eq!((viewer.ssrc, viewer.payload_type), (42, 96));
        assert_eq!((viewer.sequence_number, viewer.timestamp, viewer.marker), (65535, 90_000, true));
        assert_eq!(viewer.payload, source.payload);
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

    #[test]
    fn session_ids_are_long_and_distinct() {
        let (a, b) = (new_session_id(), new_session_id());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
