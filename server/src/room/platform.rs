//! Platform comments inside a room. A platform reader's batch is decided comment by comment
//! under the same rules as typed comments (`LiveState::decide_platform_comment`), and
//! committed together with the cursor it was read up to, so that a reader that restarts, here
//! or on another node, resumes exactly after the comments already entered. Only the room that
//! writes the meeting takes a batch; a mirror refuses it, and the reader on its node stops.

use super::Room;
use crate::store::FeedCursor;
use kezdesu_core::CommentId;
use kezdesu_core::live::{Decision, IncomingPlatformComment, LiveError, Moment, StoredEvent};
use kezdesu_core::platforms::SocialPlatform;
use std::collections::BTreeSet;
use tokio::sync::oneshot;

/// Comments a platform reader read, and the cursor after them.
pub struct PlatformBatch {
    pub platform: SocialPlatform,
    pub comments: Vec<IncomingPlatformComment>,
    /// Stored with the batch; `None` keeps the stored one.
    pub cursor: Option<String>,
    pub reply: oneshot::Sender<Result<BatchOutcome, BatchRefusal>>,
}

/// What became of a batch.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Each comment entered, with its seq.
    pub taken: Vec<(CommentId, u64)>,
    /// Comments that had entered before (read again after a restart).
    pub duplicates: usize,
    /// Comments the channel's rules refused (a banned author, an empty text), by external id.
    pub refused: Vec<(String, LiveError)>,
}

/// Why a batch was not taken at all; the reader keeps its cursor and tries again, or stops.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchRefusal {
    /// Another node writes this meeting now: its node runs the reader.
    #[error("another node writes this meeting")]
    NotOwner,
    /// It could not be stored; nothing was kept.
    #[error("the batch could not be stored")]
    Unavailable,
}

impl Room {
    pub(super) async fn run_platform_batch(&mut self, batch: PlatformBatch) {
        let PlatformBatch { platform, comments, cursor, reply } = batch;
        let phase = self.machine.phase();
        let mut outcome = BatchOutcome::default();
        let mut records = Vec::new();
        let mut public_updates = Vec::new();
        let mut touched = BTreeSet::new();
        for incoming in comments {
            let moment = Moment { now: super::now_to_the_millisecond(), phase };
            let external_id = incoming.source.external_id.clone();
            match self.live.decide_platform_comment(&self.shared.live.settings, incoming, moment) {
                Ok(Decision::AlreadyPosted { .. }) => outcome.duplicates += 1,
                Ok(Decision::Append(events)) => {
                    for event in events {
                        let stored = StoredEvent { seq: self.live.last_seq + 1, at: moment.now, event };
                        if let kezdesu_core::live::LiveEvent::CommentPosted { comment, .. } = &stored.event {
                            outcome.taken.push((*comment, stored.seq));
                        }
                        self.apply_decided(stored, &mut records, &mut public_updates, &mut touched);
                    }
                }
                Err(error) => outcome.refused.push((external_id, error)),
            }
        }
        let cursor = cursor.map(|cursor| FeedCursor { platform, cursor });
        if records.is_empty() && cursor.is_none() {
            let _ = reply.send(Ok(outcome));
            return;
        }
        if self.commit_batch(&records, &public_updates, &touched, cursor.as_ref()).await {
            let _ = reply.send(Ok(outcome));
            self.announce(&records);
        } else {
            let _ = reply.send(Err(BatchRefusal::Unavailable));
        }
    }
}
