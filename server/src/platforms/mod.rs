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

use crate::config::PlatformsConfig;
use crate::metrics::{PlatformLabels, PlatformMetrics, PlatformOutcomeLabels};
use crate::room::Rooms;
use crate::room::live::SentBackRequest;
use crate::room::platform::BatchRefusal;
use crate::secrets::Sealer;
use crate::store::{LiveFeed, Store};
use crate::wire::{ActionResult, PlatformActionView, PlatformState, PlatformStatus};
use clients::ClientSettings;
use connector::{ActionError, Connector, Endpoints, FetchError, PlatformAction, PlatformComment};
use jiff::Timestamp;
use kezdesu_core::live::{IncomingPlatformComment, SentBack};
use kezdesu_core::platforms::{CommentSource, Credential, SocialPlatform};
use kezdesu_core::{AccountId, MeetingId};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How many moderation outcomes a status keeps.
const ACTIONS_KEPT: usize = 50;
/// While only the counts change, a status is announced and stored at most this often.
const COUNTS_EVERY: Duration = Duration::from_secs(5);
/// What is followed has not started (or has ended): look again after this long at least.
const GONE_PAUSE: Duration = Duration::from_secs(5);

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

/// A status with when it was last announced.
struct Tracked {
    status: PlatformStatus,
    announced: Instant,
}

/// How a reader ended.
enum Exit {
    /// Cancelled, or it cannot go on with what it has (no credential, refused credential).
    Done,
    /// Another node writes the meeting now: forget this reader, so that the reconciler looks
    /// again if this node writes it later.
    NotOwner,
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

/// A status nobody has written yet: the reader has not run.
fn idle_status((meeting, platform): FeedKey) -> PlatformStatus {
    PlatformStatus {
        meeting_id: meeting.0,
        platform,
        state: PlatformState::Idle,
        reason: None,
        until: None,
        comments: 0,
        refused: 0,
        quota_units: (platform == SocialPlatform::Youtube).then_some(0),
        last_error: None,
        resolved: None,
        since: Timestamp::now().to_string(),
        actions: Vec::new(),
    }
}

fn labels(platform: SocialPlatform) -> PlatformLabels {
    PlatformLabels { platform: platform.as_str() }
}

impl Shared {
    fn status(&self, key: FeedKey) -> Option<PlatformStatus> {
        let statuses = self.statuses.lock().expect("the status map is never left poisoned");
        statuses.get(&key).map(|tracked| tracked.status.clone())
    }

    /// Changes a status; announces it (and stores it) when its state changed, when `urgent`,
    /// or when the last announcement is a few seconds old.
    fn update(self: &Arc<Self>, key: FeedKey, urgent: bool, change: impl FnOnce(&mut PlatformStatus)) {
        let announce = {
            let mut statuses = self.statuses.lock().expect("the status map is never left poisoned");
            let tracked = statuses
                .entry(key)
                .or_insert_with(|| Tracked { status: idle_status(key), announced: Instant::now() });
            let before =
                (tracked.status.state, tracked.status.reason.clone(), tracked.status.last_error.clone());
            change(&mut tracked.status);
            let after =
                (tracked.status.state, tracked.status.reason.clone(), tracked.status.last_error.clone());
            if before.0 != after.0 {
                tracked.status.since = Timestamp::now().to_string();
            }
            let due = urgent || before != after || tracked.announced.elapsed() >= COUNTS_EVERY;
            if due {
                tracked.announced = Instant::now();
                Some(tracked.status.clone())
            } else {
                None
            }
        };
        let Some(status) = announce else { return };
        // Serializing our own plain structs cannot fail.
        let json: Arc<str> = serde_json::to_string(&status).expect("statuses serialize").into();
        let _ = self.changes.send(PlatformChange { meeting: key.0, json: json.clone() });
        let store = self.store.clone();
        tokio::spawn(async move {
            if let Err(error) = store.set_meeting_platform_status(key.0, key.1, &json).await {
                tracing::warn!(meeting = %key.0, platform = %key.1, %error, "could not store a platform reader's status");
            }
        });
    }

    fn set_state(
        self: &Arc<Self>,
        key: FeedKey,
        state: PlatformState,
        reason: Option<String>,
        until: Option<Timestamp>,
    ) {
        self.update(key, false, |status| {
            status.state = state;
            status.reason = reason;
            status.until = until.map(|until| until.to_string());
        });
    }

    fn failed_read(&self, platform: SocialPlatform, outcome: &'static str) {
        self.metrics
            .read_failures
            .get_or_create(&PlatformOutcomeLabels { platform: platform.as_str(), outcome })
            .inc();
    }

    fn spend_quota(self: &Arc<Self>, key: FeedKey, units: u64) {
        if units == 0 {
            return;
        }
        self.metrics.quota_units.inc_by(units);
        self.update(key, false, |status| {
            status.quota_units = Some(status.quota_units.unwrap_or(0) + units);
        });
    }

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

/// Reads one feed until stopped, or until it cannot go on.
async fn run_reader(shared: &Arc<Shared>, key: FeedKey, live: LiveFeed, stop: CancellationToken) -> Exit {
    let (meeting, platform) = key;
    let credential = match shared.open_credential(&live) {
        Ok(credential) => credential,
        Err(reason) => {
            shared.set_state(key, PlatformState::Stopped, Some(reason), None);
            return Exit::Done;
        }
    };
    shared.set_state(key, PlatformState::Connecting, None, None);
    let connector: Arc<dyn Connector> =
        match clients::connect(shared.http.clone(), &shared.settings, credential, live.feed.follow.clone()) {
            Ok(connector) => Arc::from(connector),
            Err(error) => {
                shared.set_state(key, PlatformState::Stopped, Some(error.to_string()), None);
                return Exit::Done;
            }
        };
    shared
        .connectors
        .lock()
        .expect("the connector map is never left poisoned")
        .insert(key, connector.clone());
    tracing::info!(%meeting, %platform, "platform reader started");
    let first_pause = Duration::from_millis(shared.config.first_retry_pause_ms);
    let longest_pause = Duration::from_millis(shared.config.longest_retry_pause_ms);
    let mut pause = first_pause;
    let mut cursor = live.feed.cursor.clone();
    let mut authors: HashMap<String, kezdesu_core::ViewerId> = HashMap::new();
    loop {
        let fetched = tokio::select! {
            _ = stop.cancelled() => return Exit::Done,
            fetched = connector.fetch(cursor.as_deref()) => fetched,
        };
        let wait = match fetched {
            Ok(fetched) => {
                shared.spend_quota(key, fetched.quota_units);
                let advanced = fetched.cursor.is_some() && fetched.cursor != cursor;
                if !fetched.comments.is_empty() || advanced {
                    let incoming =
                        match incoming_of(shared, meeting, platform, fetched.comments, &mut authors).await {
                            Ok(incoming) => incoming,
                            Err(error) => {
                                shared.update(key, false, |status| {
                                    status.state = PlatformState::Failing;
                                    status.last_error =
                                        Some(format!("could not store the comments' authors: {error}"));
                                });
                                sleep_or_stop(&stop, pause).await;
                                pause = (pause * 2).min(longest_pause);
                                continue;
                            }
                        };
                    match shared
                        .rooms
                        .platform_batch(meeting, platform, incoming, fetched.cursor.clone())
                        .await
                    {
                        Ok(outcome) => {
                            let label = labels(platform);
                            shared.metrics.comments.get_or_create(&label).inc_by(outcome.taken.len() as u64);
                            shared.metrics.duplicates.get_or_create(&label).inc_by(outcome.duplicates as u64);
                            shared.metrics.refused.get_or_create(&label).inc_by(outcome.refused.len() as u64);
                            shared.update(key, false, |status| {
                                status.comments += outcome.taken.len() as u64;
                                status.refused += outcome.refused.len() as u64;
                            });
                            if fetched.cursor.is_some() {
                                cursor = fetched.cursor;
                            }
                        }
                        Err(BatchRefusal::NotOwner) => {
                            tracing::info!(%meeting, %platform, "another node writes the meeting: its reader stops here");
                            return Exit::NotOwner;
                        }
                        Err(BatchRefusal::Unavailable) => {
                            shared.update(key, false, |status| {
                                status.state = PlatformState::Failing;
                                status.last_error =
                                    Some("the comments could not be stored; read again".to_owned());
                            });
                            sleep_or_stop(&stop, pause).await;
                            pause = (pause * 2).min(longest_pause);
                            continue;
                        }
                    }
                }
                pause = first_pause;
                shared.update(key, false, |status| {
                    status.state = PlatformState::Live;
                    status.reason = None;
                    status.until = None;
                    if fetched.resolved.is_some() {
                        status.resolved = fetched.resolved.clone();
                    }
                });
                fetched.wait
            }
            Err(FetchError::BackOff { reason, retry_after, quota_units }) => {
                shared.spend_quota(key, quota_units);
                shared.failed_read(platform, "backing_off");
                let wait = retry_after.unwrap_or(pause).max(first_pause);
                pause = (pause * 2).min(longest_pause);
                let until = Timestamp::now() + wait;
                shared.set_state(key, PlatformState::BackingOff, Some(reason), Some(until));
                wait
            }
            Err(FetchError::Unauthorized { reason }) => {
                shared.failed_read(platform, "unauthorized");
                tracing::warn!(%meeting, %platform, "the platform refused the akim's credential: the reader stops");
                shared.update(key, true, |status| {
                    status.state = PlatformState::Unauthorized;
                    status.reason = Some(reason.clone());
                    status.until = None;
                    status.last_error = Some(reason);
                });
                return Exit::Done;
            }
            Err(FetchError::Gone { reason }) => {
                shared.failed_read(platform, "gone");
                let wait = pause.max(GONE_PAUSE);
                pause = (pause * 2).min(longest_pause);
                shared.set_state(key, PlatformState::BackingOff, Some(reason), Some(Timestamp::now() + wait));
                wait
            }
            Err(error @ (FetchError::Malformed { .. } | FetchError::Transient { .. })) => {
                let outcome =
                    if matches!(error, FetchError::Malformed { .. }) { "malformed" } else { "transient" };
                shared.failed_read(platform, outcome);
                let wait = pause;
                pause = (pause * 2).min(longest_pause);
                let until = Timestamp::now() + wait;
                shared.update(key, false, |status| {
                    status.state = PlatformState::Failing;
                    status.reason = None;
                    status.until = Some(until.to_string());
                    status.last_error = Some(error.to_string());
                });
                wait
            }
        };
        if !sleep_or_stop(&stop, wait).await {
            return Exit::Done;
        }
    }
}

/// Sleeps `wait`; false when stopped meanwhile.
async fn sleep_or_stop(stop: &CancellationToken, wait: Duration) -> bool {
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(wait) => true,
    }
}

/// The batch as the room takes it: each author resolved to the viewer standing for them.
async fn incoming_of(
    shared: &Shared,
    meeting: MeetingId,
    platform: SocialPlatform,
    comments: Vec<PlatformComment>,
    authors: &mut HashMap<String, kezdesu_core::ViewerId>,
) -> Result<Vec<IncomingPlatformComment>, crate::store::StoreError> {
    let mut incoming = Vec::with_capacity(comments.len());
    for comment in comments {
        // An author the platform withholds (Facebook without the permission) is one viewer
        // per comment, so that hiding one never silences another.
        let author_key = if comment.author_id.is_empty() {
            format!("comment:{}", comment.external_id)
        } else {
            comment.author_id.clone()
        };
        let author = match authors.get(&author_key) {
            Some(viewer) => *viewer,
            None => {
                let token_hash = crate::auth::token_hash(&crate::auth::new_token());
                let name = comment
                    .author_name
                    .chars()
                    .take(kezdesu_core::platforms::MAX_AUTHOR_NAME_CHARS)
                    .collect::<String>();
                let viewer = shared
                    .store
                    .platform_viewer(meeting, platform, &author_key, &name, &token_hash, Timestamp::now())
                    .await?;
                authors.insert(author_key, viewer);
                viewer
            }
        };
        incoming.push(IncomingPlatformComment {
            author,
            author_name: comment.author_name,
            source: CommentSource {
                platform,
                external_id: comment.external_id,
                url: comment.url,
                author_id: (!comment.author_id.is_empty()).then_some(comment.author_id),
            },
            text: comment.text,
        });
    }
    Ok(incoming)
}

async fn send_back_forever(shared: Arc<Shared>, mut requests: mpsc::UnboundedReceiver<SentBackRequest>) {
    loop {
        let request = tokio::select! {
            _ = shared.stop.cancelled() => break,
            request = requests.recv() => match request {
                Some(request) => request,
                None => break,
            },
        };
        let key = (request.meeting, request.platform);
        let (action, name) = match &request.action {
            SentBack::Remove { external_id } => {
                (PlatformAction::Remove { external_id: external_id.clone() }, "remove")
            }
            SentBack::Ban { author_id, minutes } => (
                PlatformAction::Ban { author_id: author_id.clone(), minutes: *minutes },
                if minutes.is_some() { "time_out" } else { "ban" },
            ),
        };
        let view = PlatformActionView {
            seq: request.seq,
            comment: request.comment.map(|comment| comment.0),
            viewer: request.viewer.map(|viewer| viewer.0),
            action: name.to_owned(),
            outcome: ActionResult::Pending,
            reason: None,
            at: Timestamp::now().to_string(),
        };
        record_action(&shared, key, view.clone());
        let task_shared = shared.clone();
        shared.tasks.spawn(async move {
            let (outcome, reason, units) = match connector_for(&task_shared, key).await {
                Err(reason) => (ActionResult::Failed, Some(reason), 0),
                Ok(connector) => match connector.act(&action).await {
                    Ok(done) => (ActionResult::Done, None, done.quota_units),
                    Err(ActionError::Unsupported) => (ActionResult::Unsupported, None, 0),
                    Err(ActionError::Refused { reason }) => (ActionResult::Failed, Some(reason), 0),
                },
            };
            let outcome_name = match outcome {
                ActionResult::Done => "done",
                ActionResult::Unsupported => "unsupported",
                _ => "failed",
            };
            task_shared
                .metrics
                .actions
                .get_or_create(&PlatformOutcomeLabels { platform: key.1.as_str(), outcome: outcome_name })
                .inc();
            task_shared.spend_quota(key, units);
            record_action(
                &task_shared,
                key,
                PlatformActionView { outcome, reason, at: Timestamp::now().to_string(), ..view },
            );
        });
    }
}

/// Adds or replaces (by seq and action) an action's outcome in the feed's status.
fn record_action(shared: &Arc<Shared>, key: FeedKey, view: PlatformActionView) {
    shared.update(key, true, |status| {
        match status.actions.iter_mut().find(|known| known.seq == view.seq && known.action == view.action) {
            Some(known) => *known = view,
            None => status.actions.push(view),
        }
        let excess = status.actions.len().saturating_sub(ACTIONS_KEPT);
        status.actions.drain(..excess);
    });
}

/// The running reader's client, or one made from the store for this action alone (the
/// meeting has ended, or its reader stopped).
async fn connector_for(shared: &Shared, key: FeedKey) -> Result<Arc<dyn Connector>, String> {
    if let Some(connector) =
        shared.connectors.lock().expect("the connector map is never left poisoned").get(&key)
    {
        return Ok(connector.clone());
    }
    let (meeting, platform) = key;
    let unavailable = |error: crate::store::StoreError| format!("could not read the feed: {error}");
    let feed = shared
        .store
        .meeting_platforms(meeting)
        .await
        .map_err(unavailable)?
        .into_iter()
        .find(|feed| feed.platform() == platform)
        .ok_or_else(|| "the meeting no longer follows this platform".to_owned())?;
    let akim: AccountId = shared.store.meeting(meeting).await.map_err(unavailable)?.akim;
    let credential = shared
        .store
        .platform_credentials(akim)
        .await
        .map_err(unavailable)?
        .into_iter()
        .find(|credential| credential.platform == platform);
    let credential = shared.open_credential(&LiveFeed { feed: feed.clone(), akim, credential })?;
    let connector = clients::connect(shared.http.clone(), &shared.settings, credential, feed.follow)
        .map_err(|error| error.to_string())?;
    Ok(Arc::from(connector))
}
