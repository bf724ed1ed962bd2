//! Video beyond one node, the edge's side: a node with a viewer but no publisher becomes an
//! *edge*: it finds the meeting's origin (`origin.rs`), plays the origin's stream over WHEP,
//! as any viewer would, and serves its own viewers from that one copy exactly as the origin
//! serves its own from the publisher. Video capacity then grows with the nodes: the origin
//! sends one stream per edge, each edge one per viewer.
//!
//! An edge's [`Broadcast`] is an ordinary one whose "publisher" is the pulling peer, read by
//! the same task as a real publisher's; keyframe requests go up to the origin, which relays
//! them to the publisher. It ends when the origin ends the stream or the meeting ends.

use super::publisher::{receive, run_publisher};
use super::{Broadcast, MediaError, Shared, signaling};
use kezdesu_core::MeetingId;
use std::sync::Arc;
use std::time::Duration;

/// An edge asks for both kinds; one the origin does not send is given up after
/// `codec_wait_seconds`, as for a publisher that offered it and sent none.
const EDGE_KINDS: signaling::OfferedKinds = signaling::OfferedKinds { audio: true, video: true };
/// How long an edge waits for the origin to answer its WHEP offer.
const PULL_TIMEOUT: Duration = Duration::from_secs(15);

/// The meeting's broadcast pulled from its origin on another node: an existing pull, or a new
/// one. `NotOnAir` when no other node has a publisher.
pub(super) async fn pull(shared: &Arc<Shared>, meeting: MeetingId) -> Result<Arc<Broadcast>, MediaError> {
    let Some(peers) = shared.peers.clone() else { return Err(MediaError::NotOnAir) };
    let origin = peers
        .cluster
        .media_origin(meeting)
        .await
        .map_err(|error| MediaError::OriginUnreachable(format!("the cluster's Redis: {error}")))?;
    let Some(origin) = origin.filter(|origin| origin.node != peers.origin.node) else {
        return Err(MediaError::NotOnAir);
    };
    // The room's events end the pull with the meeting, as they end a publisher.
    let subscription = shared
        .rooms
        .subscribe(meeting)
        .await
        .map_err(|error| MediaError::LiveChannelDown(error.to_string()))?;
    let broadcast = {
        let mut broadcasts = shared.broadcasts.lock().expect("the broadcast map is never left poisoned");
        if let Some(existing) = broadcasts.get(&meeting) {
            return Ok(existing.clone());
        }
        let mut broadcast = Broadcast::new(
            meeting,
            EDGE_KINDS,
            [0; 32],
            &shared.config,
            shared.metrics.clone(),
            shared.stop.child_token(),
        );
        broadcast.pulled_from = Some(origin.clone());
        let broadcast = Arc::new(broadcast);
        broadcasts.insert(meeting, broadcast.clone());
        broadcast
    };
    match start_pull(shared, &broadcast, &origin.url, subscription.events).await {
        Ok(()) => {
            tracing::info!(%meeting, origin = origin.url, "pulling the broadcast from its origin");
            Ok(broadcast)
        }
        Err(error) => {
            tracing::warn!(%meeting, origin = origin.url, %error, "could not pull the broadcast from its origin");
            broadcast.stop.cancel();
            shared.remove(&broadcast);
            Err(error)
        }
    }
}

/// Offers to play the origin's stream over WHEP and hands the connected peer to the same task
/// that reads a publisher.
async fn start_pull(
    shared: &Arc<Shared>,
    broadcast: &Arc<Broadcast>,
    origin: &str,
    room_events: tokio::sync::broadcast::Receiver<crate::room::RoomEvent>,
) -> Result<(), MediaError> {
    let (peer, handles) = shared.engine.peer(None).await?;
    let offered = async {
        receive(&peer, EDGE_KINDS).await?;
        let offer = peer.offer().await?;
        let url = format!("{origin}/api/meetings/{}/whep", broadcast.meeting.0);
        let response = reqwest::Client::new()
            .post(&url)
            .header("content-type", "application/sdp")
            .body(offer)
            .timeout(PULL_TIMEOUT)
            .send()
            .await
            .map_err(|error| MediaError::OriginUnreachable(format!("{origin}: {error}")))?;
        let status = response.status();
        let answer = response.text().await.map_err(|error| MediaError::Engine(error.to_string()))?;
        if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::CONFLICT {
            // The origin went off air since it was recorded.
            return Err(MediaError::NotOnAir);
        }
        if status != reqwest::StatusCode::CREATED {
            return Err(MediaError::OriginUnreachable(format!("{origin} answered {status}: {answer}")));
        }
        peer.set_answer(answer).await?;
        Ok(())
    };
    if let Err(error) = offered.await {
        peer.close().await;
        return Err(error);
    }
    shared.metrics.publishers.inc();
    shared.tasks.spawn(run_publisher(shared.clone(), broadcast.clone(), peer, handles, room_events));
    Ok(())
}
