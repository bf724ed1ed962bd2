//! The viewer's side of a broadcast: a WHEP session's peer, and the task that forwards the
//! broadcast's packets to it from the live edge, each under the viewer's own SSRC and
//! negotiated payload type, starting (for video) at a keyframe.

use super::broadcast::{Broadcast, IceSession, Next, ViewerFeed};
use super::engine::{Codec, OutgoingTrack, Packet, Peer, PeerHandles, PeerState};
use super::keyframe::VideoCodec;
use super::signaling::{self, OfferedKinds};
use super::{Media, MediaError, SessionAnswer, Shared, edge, etag_of, new_session_id};
use crate::metrics::MediaMetrics;
use kezdesu_core::MeetingId;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// A viewer asks for a keyframe on connecting and again this much later, in case the first
/// request was throttled or lost.
const SECOND_KEYFRAME_REQUEST: Duration = Duration::from_secs(1);

impl Media {
    /// Opens a viewing session: a place among the broadcast's viewers (pulling the stream
    /// from its origin first if it is published on another node), a peer that sends the
    /// publisher's codecs the viewer accepts, and [`run_viewer`] once answered.
    pub(super) async fn start_viewer(
        &self,
        meeting: MeetingId,
        offer: String,
    ) -> Result<SessionAnswer, MediaError> {
        let shared = &self.shared;
        let wants = signaling::offered_kinds(&offer, false)?;
        let remote_ufrag = signaling::ice_ufrag(&offer).unwrap_or_default().to_owned();
        let broadcast = match shared.broadcast(meeting) {
            Some(broadcast) => broadcast,
            // The publisher may be on another node: pull its stream from there.
            None => edge::pull(shared, meeting).await?,
        };
        let session = new_session_id();
        let stop = broadcast.stop.child_token();
        broadcast.open_viewer_slot(
            &session,
            stop.clone(),
            shared.config.max_viewers_per_meeting,
            shared.config.max_connecting_viewers_per_meeting,
            &shared.metrics,
        )?;
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
}

/// What one viewer is sent of one kind.
struct Output {
    /// For video: the codec, to find keyframes in.
    video: Option<VideoCodec>,
    track: OutgoingTrack,
    /// The payload type the viewer negotiated.
    payload_type: u8,
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
    // Only now does it take one of the meeting's places; it gives way if they filled meanwhile.
    let connected = connected && broadcast.admit_viewer(&session, shared.config.max_viewers_per_meeting);
    if connected {
        // Subscribed only now, at the live edge: writing before the peer is connected only
        // makes the engine drop packets, and a backlog would be stale.
        let forwarding = futures_util::future::join_all(outputs.iter().map(|output| {
            let feed = broadcast.subscribe(output.track.kind());
            forward(&broadcast, &shared.metrics, output, feed)
        }));
        // The viewer's own keyframe requests (after a loss), passed up by the engine's chain.
        let feedback = futures_util::future::join_all(outputs.iter().map(|output| async {
            while output.track.keyframe_requested().await {
                broadcast.request_keyframe().await;
            }
        }));
        broadcast.request_keyframe().await;
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
                    broadcast.request_keyframe().await;
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
                    broadcast.request_keyframe().await;
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

/// `packet` as one viewer must receive it: under its own SSRC and negotiated payload type.
fn rewritten(packet: &Packet, ssrc: u32, payload_type: u8) -> Packet {
    Packet { ssrc, payload_type, ..packet.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
