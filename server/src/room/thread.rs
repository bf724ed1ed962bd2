//! The rooms' own thread: every room task runs on a runtime of its own, apart from the HTTP
//! connections' runtime.
//!
//! Why: a comment reaches its viewers only after its room has decided it, committed it and
//! framed it, and each of those steps waits for the room's task to be polled again (the
//! store's thread answers each statement of the transaction by waking the task). On the
//! connections' runtime, a woken room waits in the same run queue as the writer tasks that
//! the previous frame woke, one per connection: with 10,000 viewers each step of a comment
//! waited behind up to 10,000 writes. On its own thread, the room is polled as soon as it is
//! woken, and the writers it wakes run on the connections' runtime as before.
//!
//! The rooms' work per command is small (deciding, applying and serializing an event), so one
//! thread serves every room of a node; a room must still not do long work on it (a room is
//! loaded from the log by the caller that opens it, not on this thread).

use tokio::runtime::{Builder, Handle, Runtime};

/// The runtime the rooms run on, stopped when this is dropped.
pub struct RoomThread {
    /// Taken only when the thread is dropped.
    runtime: Option<Runtime>,
    handle: Handle,
}

impl RoomThread {
    /// Starts the rooms' thread.
    pub fn start() -> std::io::Result<RoomThread> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("kezdesu-rooms")
            .enable_all()
            .build()?;
        Ok(RoomThread { handle: runtime.handle().clone(), runtime: Some(runtime) })
    }

    /// Where room tasks are spawned.
    pub fn handle(&self) -> Handle {
        self.handle.clone()
    }
}

impl Drop for RoomThread {
    /// Stops the thread without waiting for it, as dropping a runtime from async code may not
    /// block. By then the rooms have closed (or were given up on at shutdown).
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
