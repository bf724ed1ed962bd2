//! The publisher's side of a broadcast: going on air by WHIP, and the task that reads the
//! publisher's tracks into its [`Broadcast`] while following the meeting's room. An edge's
//! pull of the origin's stream is read by the same task (see `edge.rs`).

use super::broadcast::{Broadcast, IceSession, Renumbering};
use super::engine::{IncomingTrack, MediaKind, Peer, PeerHandles, PeerState};
use super::signaling::{self, OfferedKinds};
use super::{Media, MediaError, SessionAnswer, Shared, etag_of, origin};
use crate::room::{RoomError, RoomEvent};
use crate::store::StoreError;
use jiff::Timestamp;
use kezdesu_core::broadcast::may_go_on_air;
use kezdesu_core::{MeetingId, MeetingStatus, SessionTimer};
use serde::Deserialize;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::broadcast;
use tokio::task::JoinSet;

impl Media {
    /// Puts a publisher on air: checks that the meeting may go on air now with its live
    /// channel open, claims the meeting's broadcast (here, and with several nodes in the
    /// cluster), answers the offer, and hands the peer to [`run_publisher`].
    pub(super) async fn start_publisher(
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
            origin::claim_origin(peers, meeting).await?;
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
                shared.metrics.clone(),
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
                    shared.tasks.spawn(origin::advertise_origin(
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
                // Not on air yet; but a consumer of the publisher's packets (the restream) may
                // get ready now, so as not to miss the first keyframe.
                shared.announce(meeting, broadcast.status());
                Ok(SessionAnswer { session: broadcast.publisher_session.clone(), etag, sdp })
            }
            Err(error) => {
                // Viewers already waiting for its codecs give up at once.
                broadcast.stop.cancel();
                shared.remove(&broadcast);
                if let Some(peers) = &shared.peers {
                    origin::release_origin(peers, meeting).await;
                }
                Err(error)
            }
        }
    }
}

/// Adds a receive-only transceiver for each kind in `kinds`: a publisher's, or an edge's pull.
pub(super) async fn receive(peer: &Peer, kinds: OfferedKinds) -> Result<(), MediaError> {
    for (wanted, kind) in [(kinds.audio, MediaKind::Audio), (kinds.video, MediaKind::Video)] {
        if wanted {
            peer.receive(kind).await?;
        }
    }
    Ok(())
}

/// The publisher's session: reads its tracks into the broadcast until it disconnects, the
/// meeting ends, the room closes for good, or the session is deleted.
pub(super) async fn run_publisher(
    shared: Arc<Shared>,
    broadcast: Arc<Broadcast>,
    peer: Peer,
    mut handles: PeerHandles,
    mut room_events: broadcast::Receiver<RoomEvent>,
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
    if !broadcast.add_source(&codec, &track, ssrc) {
        tracing::warn!(meeting = %broadcast.meeting, %kind, "ignored a second publisher track of one kind");
        return;
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

/// Whether a room event says the meeting is over: ended or cancelled.
fn ends_meeting(event: &RoomEvent) -> bool {
    #[derive(Deserialize)]
    struct Status {
        status: Option<MeetingStatus>,
        meeting: Option<Box<Status>>,
    }
    let Ok(parsed) = serde_json::from_str::<Status>(&event.json) else { return false };
    let status = parsed.status.or_else(|| parsed.meeting.and_then(|meeting| meeting.status));
    matches!(status, Some(MeetingStatus::Ended | MeetingStatus::Cancelled))
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
