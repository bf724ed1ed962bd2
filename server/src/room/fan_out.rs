//! How a room's frames reach its live connections: the room hands each frame to a task on
//! the connections' runtime, which sends it on the room's broadcast channel.
//!
//! Why not send from the room: sending wakes the writer task of every connection. From the
//! rooms' thread (see [`super::RoomThread`]) each of those wakes is a locked push onto the
//! connections' runtime's shared queue, contended by its workers: measured at 10,000 viewers,
//! that was 43% of the rooms' thread's time, and a batch took up to 117 ms to announce with
//! the cores busy, while the comments behind it waited. Sent from a task of the connections'
//! runtime, the wakes go onto that worker's own queue, as when a connection's task sends.
//!
//! Why a bell: the hand-over must not itself wait in that shared queue, behind the writers
//! the previous frame woke (which it did, by 70 ms at the median, when the task was woken
//! through a channel). So the room also writes a byte to a socket that the task reads. The
//! runtime's I/O driver, polled by a worker between tasks, wakes the task onto that worker's
//! own queue, ahead of the shared one: the same way a connection's incoming message arrives.

use super::live::LiveFrame;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::Arc;
use tokio::runtime::Handle;
use tokio::sync::{broadcast, mpsc};

/// The room's end: hands frames over, in order.
pub struct FanOut {
    frames: mpsc::UnboundedSender<Arc<LiveFrame>>,
    bell: UnixStream,
}

impl FanOut {
    /// Starts the task on `connections` that sends what it is handed on `frames`; it ends
    /// once this is dropped and it has sent everything handed before.
    pub fn start(connections: &Handle, frames: broadcast::Sender<Arc<LiveFrame>>) -> std::io::Result<FanOut> {
        let (bell, ear) = UnixStream::pair()?;
        bell.set_nonblocking(true)?;
        ear.set_nonblocking(true)?;
        // Registered with the connections' runtime's I/O driver, so that it wakes the task.
        let ear = {
            let _inside = connections.enter();
            tokio::net::UnixStream::from_std(ear)?
        };
        let (handed, to_send) = mpsc::unbounded_channel();
        connections.spawn(send_handed(to_send, ear, frames));
        Ok(FanOut { frames: handed, bell })
    }

    /// Hands a frame over, never waiting: the queue is unbounded, so that a room never waits
    /// for its connections (each of which has its own bound, the broadcast's capacity).
    pub fn send(&self, frame: LiveFrame) {
        if self.frames.send(Arc::new(frame)).is_ok() {
            // A full socket means the task has rings it has not read yet, and will look.
            let _ = (&self.bell).write(&[1]);
        }
    }
}

/// Sends each frame handed over, in order, once the bell rings.
async fn send_handed(
    mut handed: mpsc::UnboundedReceiver<Arc<LiveFrame>>,
    ear: tokio::net::UnixStream,
    frames: broadcast::Sender<Arc<LiveFrame>>,
) {
    let mut rings = [0u8; 256];
    loop {
        if ear.readable().await.is_err() {
            break;
        }
        // Every frame is queued before its ring, so once the rings are read, the queue holds
        // at least their frames; a ring read later finds its frame sent already, harmlessly.
        let room_gone = loop {
            match ear.try_read(&mut rings) {
                Ok(0) => break true,
                Ok(_) => continue,
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break false,
                Err(_) => break true,
            }
        };
        loop {
            match handed.try_recv() {
                // Nobody listening is fine: the events are stored, and clients resume from there.
                Ok(frame) => {
                    let _ = frames.send(frame);
                }
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return,
            }
        }
        if room_gone {
            break;
        }
    }
    // The socket failed or the room closed its end: send the rest without the bell.
    while let Some(frame) = handed.recv().await {
        let _ = frames.send(frame);
    }
}
