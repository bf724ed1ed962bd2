//! One reader per node for the streams of every meeting the node mirrors.
//!
//! Every node keeps a mirror room for every live meeting another node owns. Were each to
//! follow its stream on a blocking connection of its own, Redis would hold nodes × live
//! meetings connections. Instead a node's rooms register here, and one task reads all their
//! streams with a single `XREAD BLOCK` on one connection. A registration wakes that read
//! through the node's own wake stream (`kezdesu:node:{node}:wake`), which every read includes.
//!
//! Each follower keeps its own position, advanced only past entries handed to it: a room that
//! falls behind (its channel is full) is left out of the reads until it has room, and takes
//! up where it stopped, so the reader never blocks on one room and never skips an entry.

use super::{BLOCK, Cluster, MAILBOX_TTL_MS, StreamEntry, events_key, open_blocking};
use kezdesu_core::MeetingId;
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Entries a room may have waiting before the reader leaves its stream out.
const FOLLOWER_QUEUE: usize = 256;
/// Entries read from each stream at once.
const READ_COUNT: usize = 100;
/// How long a read blocks while some follower is full, so that it is read again soon.
const BLOCK_WHILE_FULL: Duration = Duration::from_millis(20);
/// A blocking read costs Redis about 2 µs for every stream it names (it is registered as
/// waiting on each; docs/bench/cluster.md), and any one stream's new batch ends it. With many
/// streams the reader therefore waits this long per stream (up to [`MAX_GATHER`]) after a read
/// that brought entries, gathering the batches of those milliseconds into the next read: a
/// node then costs Redis at most ~2% of a core for up to 500 mirrored meetings, and their
/// viewers wait up to that much longer.
const GATHER_PER_STREAM: Duration = Duration::from_micros(100);
const MAX_GATHER: Duration = Duration::from_millis(50);

/// The rooms of this node that follow a stream, by meeting.
#[derive(Default)]
pub(super) struct Followers {
    by_meeting: HashMap<MeetingId, Follower>,
    next_id: u64,
}

struct Follower {
    /// Tells this registration from a later one of the same meeting.
    id: u64,
    /// The id of the last entry handed to the room.
    position: String,
    sender: mpsc::Sender<StreamEntry>,
    stop: CancellationToken,
}

/// A stream to read this round, as its follower stood when the round began.
struct Reading {
    meeting: MeetingId,
    follower: u64,
    key: String,
    position: String,
    sender: mpsc::Sender<StreamEntry>,
}

impl Followers {
    /// Forgets rooms that closed, and lists the streams to read: those of rooms with room for
    /// more. `full` when some room had none.
    fn round(&mut self) -> (Vec<Reading>, bool) {
        self.by_meeting.retain(|_, follower| !follower.sender.is_closed() && !follower.stop.is_cancelled());
        let mut full = false;
        let mut readings = Vec::with_capacity(self.by_meeting.len());
        for (meeting, follower) in &self.by_meeting {
            if follower.sender.capacity() == 0 {
                full = true;
                continue;
            }
            readings.push(Reading {
                meeting: *meeting,
                follower: follower.id,
                key: events_key(*meeting),
                position: follower.position.clone(),
                sender: follower.sender.clone(),
            });
        }
        (readings, full)
    }

    /// Records that the room registered as `follower` has had every entry up to `position`.
    fn advance(&mut self, meeting: MeetingId, follower: u64, position: String) {
        if let Some(current) = self.by_meeting.get_mut(&meeting)
            && current.id == follower
        {
            current.position = position;
        }
    }
}

impl Cluster {
    /// Follows the meeting's stream from just after `after`, until the receiver is dropped or
    /// `stop` is cancelled. Entries are never skipped: one the room has no room for is read
    /// again later. A later call for the same meeting replaces this one.
    pub fn follow(
        &self,
        meeting: MeetingId,
        after: String,
        stop: CancellationToken,
    ) -> mpsc::Receiver<StreamEntry> {
        let (sender, receiver) = mpsc::channel(FOLLOWER_QUEUE);
        {
            let mut followers = self.inner.followers.lock().expect("never poisoned");
            followers.next_id += 1;
            let id = followers.next_id;
            followers.by_meeting.insert(meeting, Follower { id, position: after, sender, stop });
        }
        // The reader may be blocked on the streams it knew; wake it to add this one. Should
        // the wake fail, the stream is read when the current read times out.
        let cluster = self.clone();
        tokio::spawn(async move {
            let woken = redis::pipe()
                .cmd("XADD")
                .arg(wake_key(&cluster.inner.node))
                .arg("MAXLEN")
                .arg(1)
                .arg("*")
                .arg("follow")
                .arg(meeting.0)
                .ignore()
                .cmd("PEXPIRE")
                .arg(wake_key(&cluster.inner.node))
                .arg(MAILBOX_TTL_MS)
                .ignore()
                .query_async::<()>(&mut cluster.connection())
                .await;
            if let Err(error) = woken {
                tracing::warn!(%meeting, %error, "could not wake the stream reader");
            }
        });
        receiver
    }

    /// Reads the streams of every meeting this node follows, until `stop` is cancelled.
    pub(super) async fn read_streams(self, stop: CancellationToken) {
        let wake = wake_key(&self.inner.node);
        // From the start of the wake stream: a registration made before the first read wakes it.
        let mut wake_position = "0-0".to_owned();
        let mut connection = None;
        while !stop.is_cancelled() {
            let Some(open) =
                open_blocking(&self.inner.client, &mut connection, "the meetings' streams").await
            else {
                continue;
            };
            let (readings, full) = self.inner.followers.lock().expect("never poisoned").round();
            let block = if full { BLOCK_WHILE_FULL } else { BLOCK };
            let mut command = redis::cmd("XREAD");
            command.arg("COUNT").arg(READ_COUNT).arg("BLOCK").arg(block.as_millis() as u64).arg("STREAMS");
            command.arg(&wake);
            for reading in &readings {
                command.arg(&reading.key);
            }
            command.arg(&wake_position);
            for reading in &readings {
                command.arg(&reading.position);
            }
            let read: redis::RedisResult<Option<redis::streams::StreamReadReply>> =
                command.query_async(open).await;
            let reply = match read {
                Ok(reply) => reply,
                Err(error) => {
                    tracing::warn!(%error, "reading the meetings' streams failed");
                    connection = None;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let by_key: HashMap<&str, &Reading> =
                readings.iter().map(|reading| (reading.key.as_str(), reading)).collect();
            let mut brought_entries = false;
            for stream in reply.map(|reply| reply.keys).unwrap_or_default() {
                if stream.key == wake {
                    if let Some(last) = stream.ids.last() {
                        wake_position = last.id.clone();
                    }
                    continue;
                }
                let Some(reading) = by_key.get(stream.key.as_str()) else { continue };
                brought_entries = true;
                if let Some(position) = hand_over(reading, stream.ids) {
                    self.inner.followers.lock().expect("never poisoned").advance(
                        reading.meeting,
                        reading.follower,
                        position,
                    );
                }
            }
            let gather =
                (GATHER_PER_STREAM * u32::try_from(readings.len()).unwrap_or(u32::MAX)).min(MAX_GATHER);
            // Below a millisecond the timer would round up: few streams are read at once.
            if brought_entries && gather >= Duration::from_millis(1) {
                tokio::time::sleep(gather).await;
            }
        }
    }
}

/// Hands the entries read to the room, in order, until it has no room; the id of the last
/// one it took (or skipped as unreadable), if any.
fn hand_over(reading: &Reading, entries: Vec<redis::streams::StreamId>) -> Option<String> {
    let mut position = None;
    for entry in entries {
        if let Some(body) = entry.get::<String>("entry") {
            match serde_json::from_str::<StreamEntry>(&body) {
                Ok(parsed) => {
                    if reading.sender.try_send(parsed).is_err() {
                        // Full, or the room closed: what is left is read again, or forgotten.
                        break;
                    }
                }
                Err(error) => tracing::error!(meeting = %reading.meeting, %error, "unreadable stream entry"),
            }
        }
        position = Some(entry.id);
    }
    position
}

fn wake_key(node: &str) -> String {
    format!("kezdesu:node:{node}:wake")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(followers: &mut Followers, meeting: i64, queue: usize) -> mpsc::Receiver<StreamEntry> {
        let (sender, receiver) = mpsc::channel(queue);
        followers.next_id += 1;
        let follower = Follower {
            id: followers.next_id,
            position: "0-0".to_owned(),
            sender,
            stop: CancellationToken::new(),
        };
        followers.by_meeting.insert(MeetingId(meeting), follower);
        receiver
    }

    fn entry(id: &str, body: &str) -> redis::streams::StreamId {
        let mut map = HashMap::new();
        map.insert("entry".to_owned(), redis::Value::BulkString(body.as_bytes().to_vec()));
        redis::streams::StreamId { id: id.to_owned(), map, ..Default::default() }
    }

    fn updated(last_seq: u64) -> String {
        serde_json::to_string(&StreamEntry::MeetingUpdated { last_seq }).expect("serializes")
    }

    #[test]
    fn a_room_takes_what_it_has_room_for_and_the_rest_is_read_again() {
        let mut followers = Followers::default();
        let mut receiver = register(&mut followers, 1, 2);
        let (readings, full) = followers.round();
        assert!(!full);
        let [reading] = readings.as_slice() else { panic!("one stream to read") };
        let entries = vec![entry("1-0", &updated(1)), entry("2-0", &updated(2)), entry("3-0", &updated(3))];
        let position = hand_over(reading, entries).expect("some taken");
        assert_eq!(position, "2-0", "the third did not fit");
        followers.advance(MeetingId(1), reading.follower, position);
        // Full now: left out of the next read, which must not wait long for it.
        let (readings, full) = followers.round();
        assert!(readings.is_empty() && full);
        assert!(matches!(receiver.try_recv(), Ok(StreamEntry::MeetingUpdated { last_seq: 1 })));
        let (readings, _) = followers.round();
        assert_eq!(readings[0].position, "2-0", "read again from after the last one taken");
    }

    #[test]
    fn an_unreadable_entry_is_passed_over_and_a_closed_room_forgotten() {
        let mut followers = Followers::default();
        let mut receiver = register(&mut followers, 1, 8);
        let (readings, _) = followers.round();
        let position = hand_over(&readings[0], vec![entry("1-0", "not json"), entry("2-0", &updated(5))]);
        assert_eq!(position.as_deref(), Some("2-0"));
        assert!(matches!(receiver.try_recv(), Ok(StreamEntry::MeetingUpdated { last_seq: 5 })));
        drop(receiver);
        let (readings, full) = followers.round();
        assert!(readings.is_empty() && !full && followers.by_meeting.is_empty());
    }

    #[test]
    fn a_replaced_registration_does_not_move_its_successor() {
        let mut followers = Followers::default();
        let _first = register(&mut followers, 1, 8);
        let (readings, _) = followers.round();
        let stale = readings[0].follower;
        let _second = register(&mut followers, 1, 8);
        followers.advance(MeetingId(1), stale, "9-0".to_owned());
        let (readings, _) = followers.round();
        assert_eq!(readings[0].position, "0-0");
    }
}
