//! Comments from the akimat's social-media accounts, gathered into the meeting's channel.
//!
//! # Design
//!
//! One [`Platforms`] service per node. Every `platforms.reconcile_ms` (and at once when a
//! meeting's feeds change here) it reads the feeds of live meetings and, for each meeting this
//! node writes ([`Rooms::writes_here`]: alone, or holding the meeting's lease), keeps one
//! reader per followed platform. With several nodes that is one reader in the cluster per
//! (meeting, platform), since one node holds a meeting's lease.
//!
//! A reader reads through its platform's client (`clients`), which follows the platform's
//! documented API and nothing else; it resolves each author to the viewer that stands for
//! them in the meeting, and gives the batch with its cursor to the meeting's room, which
//! decides the comments under the channel's rules and commits them with the cursor in one
//! transaction. A reader that restarts, here or on the node that takes the meeting over,
//! resumes after the last committed batch; a comment read twice enters once, since the live
//! state knows every (platform, external id). A batch refused because another node writes the
//! meeting ends the reader here.
//!
//! Moderation of platform comments reaches this service from the rooms after commit
//! ([`SentBackRequest`]) and is sent to the platform in a task of its own: the room, and the
//! moderator, never wait for a platform. Each attempt's outcome is kept in the reader's status.
//!
//! Statuses live in memory on the node that runs the reader, are announced to its connections
//! ([`Platforms::changes`]), and are written to the store on every change of state (and every
//! few seconds while comments arrive), so that the other nodes answer with them.
//!
//! This module never logs a credential: clients keep tokens out of their error texts, and the
//! credentials are only ever opened here, in memory, from their sealed form.

pub mod clients;
pub mod connector;
mod reader;
mod sent_back;
mod status;

use crate::config::PlatformsConfig;
use crate::metrics::PlatformMetrics;
use crate::room::Rooms;
use crate::secrets::Sealer;
use crate::store::{LiveFeed, Store};
use crate::wire::{PlatformState, PlatformStatus};
use clients::ClientSettings;
use connector::{Connector, Endpoints};
use jiff::Timestamp;
use kezdesu_core::MeetingId;
use kezdesu_core::platforms::{Credential, SocialPlatform};
use reader::{Exit, run_reader};
use sent_back::send_back_forever;
use status::{Tracked, idle_status};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{Notify, broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A reader's status changed; `json` is the `PlatformStatus`.
#[derive(Debug, Clone)]
pub struct PlatformChange {
    pub meeting: MeetingId,
    pub json: Arc<str>,
}

type FeedKey = (MeetingId, SocialPlatform);

/// The node's platform comment readers. Cloning shares them.
#[derive(Clone)]
pub struct Platforms {
    shared: Arc<Shared>,
}

struct Shared {
    config: PlatformsConfig,
    settings: ClientSettings,
    http: reqwest::Client,
    store: Arc<dyn Store>,
    rooms: Rooms,
    sealer: Sealer,
    metrics: PlatformMetrics,
    /// The readers started on this node. Held only for lookups and inserts, never across an await.
    readers: Mutex<HashMap<FeedKey, Reader>>,
    /// Every reader's status, as this node knows it.
    statuses: Mutex<HashMap<FeedKey, Tracked>>,
    /// The connected clients of running readers, which moderation sent back reuses.
    connectors: Mutex<HashMap<FeedKey, Arc<dyn Connector>>>,
    changes: broadcast::Sender<PlatformChange>,
    /// Wakes the reconciler before its next tick (a feed or a credential changed here).
    wake: Notify,
    next_reader: std::sync::atomic::AtomicU64,
    stop: CancellationToken,
    tasks: TaskTracker,
}

/// A reader started for one feed as it stood then.
struct Reader {
    /// Tells this reader's entry from a newer one's for the same feed.
    id: u64,
    /// The feed's version and the credential's connection time it was started with: a change
    /// of either starts it over, and nothing else does (an unauthorized reader stays stopped).
    version: i64,
    credential_at: Option<Timestamp>,
    stop: CancellationToken,
}

impl Platforms {
    /// Starts the node's reconciler and the service that sends moderation back.
    pub fn new(
        config: PlatformsConfig,
        store: Arc<dyn Store>,
        rooms: Rooms,
        sealer: Sealer,
        metrics: PlatformMetrics,
        stop: CancellationToken,
    ) -> anyhow::Result<Platforms> {
        let settings = ClientSettings {
            endpoints: Endpoints {
                youtube_api: config.youtube_api_url.clone(),
                youtube_oauth: config.youtube_oauth_url.clone(),
                telegram_api: config.telegram_api_url.clone(),
                vk_api: config.vk_api_url.clone(),
                facebook_graph: config.facebook_graph_url.clone(),
                facebook_version: config.facebook_api_version.clone(),
            },
            facebook_poll: Duration::from_millis(config.facebook_poll_ms),
            request_timeout: Duration::from_secs(config.request_timeout_seconds),
            long_poll_seconds: config.long_poll_seconds,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(config.request_timeout_seconds))
            .user_agent(concat!("kezdesu/", env!("CARGO_PKG_VERSION")))
            .build()?;
        let (outbox, requests) = mpsc::unbounded_channel();
        rooms.send_back_to(outbox);
        let platforms = Platforms {
            shared: Arc::new(Shared {
                config,
                settings,
                http,
                store,
                rooms,
                sealer,
                metrics,
                readers: Mutex::new(HashMap::new()),
                statuses: Mutex::new(HashMap::new()),
                connectors: Mutex::new(HashMap::new()),
                changes: broadcast::channel(256).0,
                wake: Notify::new(),
                next_reader: std::sync::atomic::AtomicU64::new(0),
                stop,
                tasks: TaskTracker::new(),
            }),
        };
        let shared = platforms.shared.clone();
        platforms.shared.tasks.spawn(reconcile_forever(shared.clone()));
        platforms.shared.tasks.spawn(send_back_forever(shared, requests));
        Ok(platforms)
    }

    /// Status changes of the readers on this node.
    pub fn changes(&self) -> broadcast::Receiver<PlatformChange> {
        self.shared.changes.subscribe()
    }

    /// A meeting's feeds or an akim's credentials changed: look at the readers now.
    pub fn feeds_changed(&self) {
        self.shared.wake.notify_one();
    }

    /// The status of each platform the meeting follows: this node's where it runs the
    /// reader, else the one stored by the node that does, else idle.
    pub async fn statuses(
        &self,
        meeting: MeetingId,
    ) -> Result<Vec<PlatformStatus>, crate::store::StoreError> {
        let feeds = self.shared.store.meeting_platforms(meeting).await?;
        Ok(feeds
            .iter()
            .map(|feed| {
                let key = (meeting, feed.platform());
                self.shared.status(key).unwrap_or_else(|| {
                    feed.status
                        .as_deref()
                        .and_then(|json| serde_json::from_str(json).ok())
                        .unwrap_or_else(|| idle_status(key))
                })
            })
            .collect())
    }

    /// Waits, up to `limit`, for the readers to end after the node's stop was signalled.
    pub async fn wait_closed(&self, limit: Duration) -> bool {
        self.shared.tasks.close();
        tokio::time::timeout(limit, self.shared.tasks.wait()).await.is_ok()
    }
}

impl Shared {
    /// Opens the meeting akim's credential for the feed's platform.
    fn open_credential(&self, live: &LiveFeed) -> Result<Credential, String> {
        let Some(record) = &live.credential else {
            return Err(format!(
                "the meeting's akim has not connected a {} account",
                live.feed.platform().as_str()
            ));
        };
        let opened = self
            .sealer
            .open(&record.credential_sealed)
            .map_err(|_| "the stored credential cannot be opened with this server's secret key".to_owned())?;
        let credential: Credential =
            serde_json::from_str(&opened).map_err(|_| "the stored credential is not readable".to_owned())?;
        if credential.platform() != live.feed.platform() {
            return Err("the stored credential is for another platform".to_owned());
        }
        Ok(credential)
    }
}

async fn reconcile_forever(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_millis(shared.config.reconcile_ms));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shared.stop.cancelled() => break,
            _ = tick.tick() => {}
            _ = shared.wake.notified() => {}
        }
        reconcile(&shared).await;
    }
    let readers = std::mem::take(&mut *shared.readers.lock().expect("the reader map is never left poisoned"));
    for reader in readers.into_values() {
        reader.stop.cancel();
    }
}

/// Starts a reader for each feed of a live meeting this node writes that has none (or whose
/// feed or credential changed), and stops the readers of feeds no longer wanted here.
async fn reconcile(shared: &Arc<Shared>) {
    let feeds = match shared.store.live_feeds().await {
        Ok(feeds) => feeds,
        Err(error) => {
            tracing::warn!(%error, "could not read the feeds of live meetings");
            return;
        }
    };
    let mut writes: HashMap<MeetingId, bool> = HashMap::new();
    let mut wanted: HashSet<FeedKey> = HashSet::new();
    for live in feeds {
        let meeting = live.feed.meeting;
        let key = (meeting, live.feed.platform());
        let here = match writes.get(&meeting) {
            Some(here) => *here,
            None => {
                let here = shared.rooms.writes_here(meeting).await.unwrap_or(false);
                writes.insert(meeting, here);
                here
            }
        };
        if !here {
            continue;
        }
        wanted.insert(key);
        let credential_at = live.credential.as_ref().map(|credential| credential.connected_at);
        let mut readers = shared.readers.lock().expect("the reader map is never left poisoned");
        if let Some(reader) = readers.get(&key) {
            if reader.version == live.feed.version && reader.credential_at == credential_at {
                continue;
            }
            reader.stop.cancel();
        }
        let stop = shared.stop.child_token();
        let id = shared.next_reader.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        readers.insert(key, Reader { id, version: live.feed.version, credential_at, stop: stop.clone() });
        drop(readers);
        let task_shared = shared.clone();
        shared.tasks.spawn(async move {
            task_shared.metrics.readers.inc();
            let exit = run_reader(&task_shared, key, live, stop.clone()).await;
            task_shared.metrics.readers.dec();
            task_shared.connectors.lock().expect("the connector map is never left poisoned").remove(&key);
            if let Exit::NotOwner = exit {
                let mut readers = task_shared.readers.lock().expect("the reader map is never left poisoned");
                // Only this reader's entry: a newer one may have replaced it.
                if readers.get(&key).is_some_and(|reader| reader.id == id) {
                    readers.remove(&key);
                }
            }
        });
    }
    let gone: Vec<FeedKey> = {
        let mut readers = shared.readers.lock().expect("the reader map is never left poisoned");
        let gone: Vec<FeedKey> = readers.keys().filter(|key| !wanted.contains(key)).copied().collect();
        for key in &gone {
            if let Some(reader) = readers.remove(key) {
                reader.stop.cancel();
            }
        }
        gone
    };
    for key in gone {
        shared.set_state(key, PlatformState::Idle, None, None);
    }
}
