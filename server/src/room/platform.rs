//! Platform comments inside a room. A platform reader's batch is decided by the live machine
//! (`live_machine.rs`) comment by comment under the same rules as typed comments
//! (`LiveState::decide_platform_comment`), and
//! committed together with the cursor it was read up to, so that a reader that restarts, here
//! or on another node, resumes exactly after the comments already entered. Only the room that
//! writes the meeting takes a batch; a mirror refuses it, and the reader on its node stops.

use super::Room;
use super::live_machine::Input as LiveInput;
pub use super::live_machine::{BatchOutcome, BatchRefusal};
use kezdesu_core::live::IncomingPlatformComment;
use kezdesu_core::platforms::SocialPlatform;
use tokio::sync::oneshot;

/// Comments a platform reader read, and the cursor after them.
pub struct PlatformBatch {
    pub platform: SocialPlatform,
    pub comments: Vec<IncomingPlatformComment>,
    /// Stored with the batch; `None` keeps the stored one.
    pub cursor: Option<String>,
    pub reply: oneshot::Sender<Result<BatchOutcome, BatchRefusal>>,
}

impl Room {
    /// Hands the batch to the live machine, which decides it comment by comment, and does what
    /// it asks (see [`Room::drive_live`]).
    pub(super) async fn run_platform_batch(&mut self, batch: PlatformBatch) {
        let PlatformBatch { platform, comments, cursor, reply } = batch;
        let phase = self.machine.phase();
        self.live.handle(
            LiveInput::Platform { platform, comments, cursor, phase },
            super::now_to_the_millisecond(),
        );
        self.drive_live(Vec::new(), Some(reply)).await;
    }
}
