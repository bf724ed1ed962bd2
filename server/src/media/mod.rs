//! The broadcast: a WebRTC SFU with WHIP ingest and WHEP playback, tied to the meeting. This
//! file is the service's facade, [`Media`]: going on air, playing, trickling, ending, and the
//! broadcasts' status.
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
//! The parts:
//! - `broadcast.rs`: [`Broadcast`], one meeting's fan-out of packets to its viewers and any
//!   other consumer, with its codecs and keyframe requests;
//! - `publisher.rs`: going on air, and the task that reads the publisher's tracks (or an
//!   edge's pull) into the broadcast;
//! - `viewer.rs`: a viewing session, and the task that forwards the broadcast to it;
//! - [`origin`] and `edge.rs`: the broadcast among several nodes: the node with the publisher
//!   is the meeting's origin, and another node with viewers pulls its stream as an edge;
//! - [`engine`]: the only part that names webrtc-rs; everything else uses its types;
//! - [`keyframe`] and [`signaling`]: pure.

mod broadcast;
mod edge;
pub mod engine;
pub mod keyframe;
pub mod origin;
mod publisher;
pub mod rtp_source;
pub mod signaling;
mod viewer;

pub use broadcast::{Broadcast, Codecs};

/// A change of the publishers on this node, as [`Media::follow_publishers`] tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublisherChange {
    /// The meeting's publisher is connected to this node (connecting or on air).
    Here(MeetingId),
    /// It is not (any more).
    Gone(MeetingId),
    /// Changes were missed: catch up from [`Media::published_here`].
    Missed,
}

use broadcast::IceSession;

use crate::config::MediaConfig;
use crate::metrics::MediaMetrics;
use crate::room::Rooms;
use crate::wire::BroadcastStatus;
use engine::{Engine, EngineError, IceCandidate};
use jiff::Timestamp;
use kezdesu_core::MeetingId;
use kezdesu_core::broadcast::OnAirRefusal;
use signaling::{OfferError, TrickleFragment};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::broadcast::{Receiver, Sender};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How often viewer counts are announced when they changed.
const COUNT_INTERVAL: Duration = Duration::from_secs(1);

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
    changes: Sender<StatusChange>,
    stop: CancellationToken,
    tasks: TaskTracker,
    /// With several nodes: where this node is, to be an origin or pull from one.
    peers: Option<Arc<origin::MediaPeers>>,
}

impl Media {
    /// The service, with a task that announces viewer counts until `stop` is cancelled.
    pub fn new(
        config: MediaConfig,
        rooms: Rooms,
        metrics: MediaMetrics,
        peers: Option<origin::MediaPeers>,
        stop: CancellationToken,
    ) -> Media {
        let media = Media {
            shared: Arc::new(Shared {
                engine: Engine::new(&config),
                config,
                rooms,
                metrics,
                broadcasts: Mutex::new(HashMap::new()),
                changes: tokio::sync::broadcast::channel(256).0,
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
    pub fn changes(&self) -> Receiver<StatusChange> {
        self.shared.changes.subscribe()
    }

    /// Tells `on_change` of every change of the publishers on this node, until `stop`: a
    /// meeting whose publisher is here (connecting or on air), one whose publisher is not, or
    /// that changes were missed (the follower then catches up from [`Media::published_here`]).
    /// The consumers of a publisher's RTP (the restream, the recorder) follow it.
    pub async fn follow_publishers(
        &self,
        stop: &CancellationToken,
        mut on_change: impl FnMut(PublisherChange),
    ) {
        let mut changes = self.changes();
        loop {
            let change = tokio::select! {
                _ = stop.cancelled() => return,
                change = changes.recv() => match change {
                    Ok(change) => change,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        on_change(PublisherChange::Missed);
                        continue;
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
            };
            on_change(if self.rtp_source(change.meeting).is_some() {
                PublisherChange::Here(change.meeting)
            } else {
                PublisherChange::Gone(change.meeting)
            });
        }
    }

    /// The meeting's broadcast on this node, for a consumer of its packets that needs no
    /// WebRTC (see [`Broadcast`]): `None` while nobody publishes here. (On an edge node it is
    /// the pull of the origin's stream, there only while the node has viewers of it.)
    pub fn broadcast(&self, meeting: MeetingId) -> Option<Arc<Broadcast>> {
        self.shared.broadcast(meeting)
    }

    /// The meeting's broadcast for a consumer of its RTP (the restream), if its publisher is
    /// connected to this node; `None` for an edge's copy, which is restreamed at its origin.
    pub fn rtp_source(&self, meeting: MeetingId) -> Option<rtp_source::RtpSource> {
        let broadcast = self.shared.broadcast(meeting).filter(|broadcast| broadcast.pulled_from.is_none())?;
        Some(rtp_source::RtpSource::new(broadcast))
    }

    /// The meetings whose publisher is at this node now, connecting or on air: those
    /// [`rtp_source`](Self::rtp_source) gives a source for.
    pub fn published_here(&self) -> Vec<MeetingId> {
        let broadcasts = self.shared.broadcasts.lock().expect("the broadcast map is never left poisoned");
        broadcasts
            .values()
            .filter(|broadcast| broadcast.pulled_from.is_none())
            .map(|broadcast| broadcast.meeting)
            .collect()
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
                    .ask_node(&origin.node, meeting, &origin::MediaRequest::EndBroadcast)
                    .await
                    .map_err(|error| MediaError::OriginUnreachable(format!("{}: {error}", origin.url)))?;
                matches!(answer, origin::MediaAnswer::Ended(true))
            }
            None => false,
        };
        // This node's pull, if any, ends at once rather than when the origin's stream stops.
        let ended_here = self.end_local_broadcast(meeting);
        Ok(ended_at_origin || ended_here)
    }

    /// Serves a request another node sent to this one's media (see [`origin::MediaRequest`]).
    pub fn serve_forwarded(&self, meeting: MeetingId, request: origin::MediaRequest) -> origin::MediaAnswer {
        match request {
            // Sent to this node as the meeting's media origin.
            origin::MediaRequest::EndBroadcast => {
                origin::MediaAnswer::Ended(self.end_local_broadcast(meeting))
            }
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

    #[test]
    fn session_ids_are_long_and_distinct() {
        let (a, b) = (new_session_id(), new_session_id());
        assert_eq!(a.len(), 32);
        assert_ne!(a, b);
    }
}
