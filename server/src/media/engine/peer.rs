//! A peer connection behind the engine's own types: its offer and answer, its tracks, the
//! candidates trickled to it, and its events as channels a session's task waits on.

use super::EngineError;
use super::track::{Codec, IncomingTrack, MediaKind, OutgoingTrack};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::RTCIceCandidateInit;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodingParameters, RTCRtpEncodingParameters};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionState,
};

/// How long an answer waits for the server's own ICE candidates. Host candidates on bound
/// sockets are gathered at once; this only bounds a misconfigured machine.
const GATHERING_LIMIT: Duration = Duration::from_secs(3);

/// A peer connection. Cloning shares it.
#[derive(Clone)]
pub struct Peer {
    connection: Arc<dyn PeerConnection>,
    /// Turns true when the peer has gathered its own candidates.
    gathered: watch::Receiver<bool>,
}

/// A peer connection's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerState {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

impl PeerState {
    /// Whether the connection is over for good: failed or closed.
    pub fn is_over(self) -> bool {
        matches!(self, PeerState::Failed | PeerState::Closed)
    }

    fn of(state: RTCPeerConnectionState) -> PeerState {
        match state {
            RTCPeerConnectionState::Connecting => PeerState::Connecting,
            RTCPeerConnectionState::Connected => PeerState::Connected,
            RTCPeerConnectionState::Disconnected => PeerState::Disconnected,
            RTCPeerConnectionState::Failed => PeerState::Failed,
            RTCPeerConnectionState::Closed => PeerState::Closed,
            // `New`, and `Unspecified`, which the engine never reports.
            _ => PeerState::New,
        }
    }
}

impl fmt::Display for PeerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PeerState::New => "new",
            PeerState::Connecting => "connecting",
            PeerState::Connected => "connected",
            PeerState::Disconnected => "disconnected",
            PeerState::Failed => "failed",
            PeerState::Closed => "closed",
        })
    }
}

/// A remote ICE candidate trickled to a peer (RFC 8840).
#[derive(Debug, Clone)]
pub struct IceCandidate {
    /// The `candidate` attribute's value.
    pub candidate: String,
    pub sdp_mid: Option<String>,
    pub sdp_mline_index: Option<u16>,
    pub username_fragment: Option<String>,
}

/// What a session's task waits on: a peer's events, as channels.
pub struct PeerHandles {
    /// The connection's state, as it changes.
    pub state: watch::Receiver<PeerState>,
    /// The tracks the remote peer sends, as they arrive: a publisher's, or an edge's pull (a
    /// viewer's peer receives none).
    pub tracks: mpsc::UnboundedReceiver<IncomingTrack>,
}

/// A peer's events, turned into the channels of its [`PeerHandles`].
pub(super) struct PeerEvents {
    state: watch::Sender<PeerState>,
    gathered: watch::Sender<bool>,
    tracks: mpsc::UnboundedSender<IncomingTrack>,
}

impl PeerEvents {
    /// The events' handler, the handles they arrive on, and whether gathering is complete.
    pub(super) fn new() -> (PeerEvents, PeerHandles, watch::Receiver<bool>) {
        let (state, state_receiver) = watch::channel(PeerState::New);
        let (gathered, gathered_receiver) = watch::channel(false);
        let (tracks, tracks_receiver) = mpsc::unbounded_channel();
        (
            PeerEvents { state, gathered, tracks },
            PeerHandles { state: state_receiver, tracks: tracks_receiver },
            gathered_receiver,
        )
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for PeerEvents {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.gathered.send_replace(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        self.state.send_replace(PeerState::of(state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        // Only a publisher's peer receives tracks; a viewer's never does.
        let _ = self.tracks.send(IncomingTrack::new(track));
    }
}

impl Peer {
    pub(super) fn new(connection: Arc<dyn PeerConnection>, gathered: watch::Receiver<bool>) -> Peer {
        Peer { connection, gathered }
    }

    /// Adds a receive-only transceiver for `kind`: a publisher's, an edge's pull, a viewer of
    /// another server.
    pub async fn receive(&self, kind: MediaKind) -> Result<(), EngineError> {
        let receive_only =
            RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Recvonly, ..Default::default() };
        self.connection
            .add_transceiver_from_kind(kind.engine_kind(), Some(receive_only))
            .await
            .map(|_| ())
            .map_err(|error| EngineError::Engine(error.to_string()))
    }

    /// Adds a track that sends `codec` under a random SSRC, in the media stream `stream` (its
    /// track is `{stream}-audio` or `{stream}-video`). Its payload type is known once the
    /// offer is answered.
    pub async fn send(&self, codec: &Codec, stream: &str) -> Result<OutgoingTrack, EngineError> {
        let ssrc = rand::random::<u32>();
        let label = codec.kind.label();
        let track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
            stream.to_owned(),
            format!("{stream}-{label}"),
            label.to_owned(),
            codec.kind.engine_kind(),
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
                codec: codec.engine_codec(),
                ..Default::default()
            }],
        )));
        let sender = self
            .connection
            .add_track(track.clone() as Arc<dyn TrackLocal>)
            .await
            .map_err(|error| EngineError::Engine(error.to_string()))?;
        Ok(OutgoingTrack::new(codec.kind, track, sender, ssrc))
    }

    /// Applies `offer`, answers it and waits for the peer's own candidates, so that the answer
    /// is complete (WHIP and WHEP clients need not trickle).
    pub async fn answer(&self, offer: String) -> Result<String, EngineError> {
        let peer = self.connection.as_ref();
        let offer =
            RTCSessionDescription::offer(offer).map_err(|error| EngineError::Offer(error.to_string()))?;
        peer.set_remote_description(offer).await.map_err(|error| EngineError::Offer(error.to_string()))?;
        let answer = peer.create_answer(None).await.map_err(|error| EngineError::Offer(error.to_string()))?;
        peer.set_local_description(answer).await.map_err(|error| EngineError::Engine(error.to_string()))?;
        self.local_description("answering").await
    }

    /// Offers what the peer's transceivers and tracks ask for, waiting for its own candidates:
    /// the offer an edge node sends the origin's WHEP endpoint, or a synthetic client its
    /// server's.
    pub async fn offer(&self) -> Result<String, EngineError> {
        let peer = self.connection.as_ref();
        let offer = peer.create_offer(None).await.map_err(|error| EngineError::Engine(error.to_string()))?;
        peer.set_local_description(offer).await.map_err(|error| EngineError::Engine(error.to_string()))?;
        self.local_description("offering").await
    }

    /// Applies the remote answer to this peer's [`offer`](Peer::offer).
    pub async fn set_answer(&self, answer: String) -> Result<(), EngineError> {
        let answer =
            RTCSessionDescription::answer(answer).map_err(|error| EngineError::Engine(error.to_string()))?;
        self.connection
            .set_remote_description(answer)
            .await
            .map_err(|error| EngineError::Engine(error.to_string()))
    }

    /// Adds a candidate the remote peer trickled.
    pub async fn add_ice_candidate(&self, candidate: IceCandidate) -> Result<(), EngineError> {
        let init = RTCIceCandidateInit {
            candidate: candidate.candidate,
            sdp_mid: candidate.sdp_mid,
            sdp_mline_index: candidate.sdp_mline_index,
            username_fragment: candidate.username_fragment,
            ..Default::default()
        };
        self.connection.add_ice_candidate(init).await.map_err(|error| EngineError::Engine(error.to_string()))
    }

    /// Closes the connection; closing one already closed does nothing.
    pub async fn close(&self) {
        let _ = self.connection.close().await;
    }

    /// The local description once the peer has gathered its own candidates, after `doing`
    /// (answering or offering).
    async fn local_description(&self, doing: &str) -> Result<String, EngineError> {
        // Candidates gathered so far are in the description either way; a slow gatherer is not
        // fatal.
        let mut gathered = self.gathered.clone();
        let _ = tokio::time::timeout(GATHERING_LIMIT, gathered.wait_for(|done| *done)).await;
        self.connection
            .local_description()
            .await
            .map(|description| description.sdp)
            .ok_or_else(|| EngineError::Engine(format!("no local description after {doing}")))
    }
}
