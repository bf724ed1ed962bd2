//! Video beyond one node, the origin's side: the node that receives the publisher's WHIP is
//! the meeting's media *origin* and says so in Redis (claimed before going on air, so that
//! the cluster has one publisher per meeting, renewed while on air, withdrawn after). Other
//! nodes find it there to pull its stream (`edge.rs`), and send it, through its mailbox, the
//! requests only it can serve ([`MediaRequest`]).

use super::MediaError;
use crate::cluster::{Cluster, MediaOrigin, NodeRequest};
use kezdesu_core::MeetingId;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long the origin's record lasts unrenewed; a dead origin's record lapses after this.
const ORIGIN_TTL: Duration = Duration::from_secs(10);

/// A request to the media of another node, through its mailbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MediaRequest {
    /// Sent to the meeting's media origin: end the broadcast whose publisher is connected
    /// there.
    EndBroadcast,
}

/// The media's answer to a [`MediaRequest`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MediaAnswer {
    /// Whether the origin had a broadcast to end.
    Ended(bool),
}

impl NodeRequest for MediaRequest {
    const RECIPIENT: &'static str = "media";
    type Answer = MediaAnswer;
}

/// Where this node is in the cluster, for its media.
pub struct MediaPeers {
    pub cluster: Cluster,
    /// This node as the origin of the broadcasts published to it.
    pub origin: MediaOrigin,
}

/// Claims the meeting's origin for this node before a publisher goes on air here: one
/// publisher per meeting in the whole cluster, as on one node.
pub(super) async fn claim_origin(peers: &MediaPeers, meeting: MeetingId) -> Result<(), MediaError> {
    let claimed = peers
        .cluster
        .claim_media_origin(meeting, &peers.origin, ORIGIN_TTL)
        .await
        .map_err(|error| MediaError::OriginUnreachable(format!("the cluster's Redis: {error}")))?;
    if claimed { Ok(()) } else { Err(MediaError::PublisherPresent) }
}

/// Withdraws this node's claim on the meeting's origin, if it still holds it.
pub(super) async fn release_origin(peers: &MediaPeers, meeting: MeetingId) {
    if let Err(error) = peers.cluster.clear_media_origin(meeting, &peers.origin).await {
        tracing::warn!(%meeting, %error, "could not withdraw the media origin; it lapses by itself");
    }
}

/// Keeps this node's claim on the meeting's origin while `stop` is not cancelled, and
/// withdraws it when the broadcast ends.
pub(super) async fn advertise_origin(peers: Arc<MediaPeers>, meeting: MeetingId, stop: CancellationToken) {
    let mut renew = tokio::time::interval(ORIGIN_TTL / 3);
    renew.tick().await;
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = renew.tick() => {
                match peers.cluster.claim_media_origin(meeting, &peers.origin, ORIGIN_TTL).await {
                    Ok(true) => {}
                    Ok(false) => tracing::error!(%meeting, "another node claimed this broadcast's origin"),
                    Err(error) => tracing::warn!(%meeting, %error, "could not renew the media origin"),
                }
            }
        }
    }
    release_origin(&peers, meeting).await;
}
