//! Several nodes on one Redis: who writes each meeting, the meetings' event streams, the
//! commands forwarded to the writer, and the counters every node shares.
//!
//! Without `cluster.redis_url` none of this runs: a node alone writes every meeting and its
//! rooms fan out in-process. With it, every node shares one PostgreSQL store and one Redis:
//! - **One writer per meeting.** The node whose room holds the meeting's lease
//!   (`kezdesu:meeting:{id}:owner`, a key set with `NX` and a time to live, renewed by a
//!   compare-and-extend script) is the only one that decides and commits its commands and
//!   applies its timer. Rooms on other nodes are mirrors.
//! - **Events.** The owner commits a batch to the store first (acknowledged means durable),
//!   then appends it to the meeting's stream (`…:events`, trimmed to about
//!   `cluster.stream_entries`). Mirrors follow the stream (one reader per node for all of
//!   them, `follow.rs`) and fan each batch out to their own connections, exactly as the owner
//!   does; a batch that skips sequence numbers is completed
//!   from the store, which always has them.
//! - **Forwarding.** A mirror sends comments, votes, moderation and phase changes to the owner
//!   node's inbox list (`kezdesu:node:{node}:inbox`); the answer comes back on the sender's
//!   replies list. Each request names the part of the node that serves it
//!   ([`NodeRequest::RECIPIENT`]: the meeting's room, or the media for a broadcast published
//!   there), so one mailbox carries the requests of several parts without this module knowing
//!   them.
//! - **Failover.** A lease not renewed lapses after `cluster.lease_milliseconds`. A mirror
//!   that finds no owner claims the lease, rebuilds the room from the store, and republishes
//!   what the store has past the stream's last entry before it takes commands.
//! - **Shared counters.** Viewer counts (a hash of per-node counts that lapse) and rate limits
//!   (a GCRA script per key).
//!
//! This module talks to Redis only; it knows nothing of rooms or HTTP.

mod follow;
pub mod limits;

use crate::config::ClusterConfig;
use crate::metrics::ClusterMetrics;
use crate::store::LiveEventRecord;
use kezdesu_core::MeetingId;
use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

/// How long a blocking read waits before it looks at the stop signal again.
const BLOCK: Duration = Duration::from_secs(1);
/// Forwarded requests and answers left behind by a node that died expire after this.
const MAILBOX_TTL_MS: i64 = 30_000;
/// Event streams of meetings nobody writes to any more expire after a day.
const STREAM_TTL_MS: i64 = 24 * 3600 * 1000;
/// A node's viewer count lapses if the node stops reporting it (it died).
const VIEWER_COUNT_TTL_MS: i64 = 10_000;

/// One entry of a meeting's event stream.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum StreamEntry {
    /// Live events committed together, in `seq` order.
    Records { records: Vec<LiveEventRecord> },
    /// The meeting's plan was edited: re-read it. `last_seq` is the owner's last event then.
    MeetingUpdated { last_seq: u64 },
}

impl StreamEntry {
    /// The last event the stream accounts for once this entry is in it.
    fn last_seq(&self) -> u64 {
        match self {
            StreamEntry::Records { records } => records.last().map_or(0, |record| record.seq),
            StreamEntry::MeetingUpdated { last_seq } => *last_seq,
        }
    }
}

/// The node a meeting's publisher is connected to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaOrigin {
    /// Its name, as in [`Cluster::node`].
    pub node: String,
    /// The base URL of its HTTP, where other nodes pull the stream over WHEP.
    pub url: String,
}

impl MediaOrigin {
    /// The record in Redis; the scripts that renew and withdraw it compare it whole, and one
    /// node always writes the same.
    fn record(&self) -> String {
        serde_json::to_string(self).expect("an origin serializes")
    }
}

/// A request that one node puts in another's mailbox. The mailbox carries the requests of
/// several parts of a node (a meeting's room, the broadcast), each with types of its own:
/// `RECIPIENT` names the part that serves a request, and the node that reads it hands it to
/// the part registered under that name in its [`Recipients`]. The cluster knows the names,
/// not the parts.
pub trait NodeRequest: Serialize + for<'de> Deserialize<'de> + Send + 'static {
    /// The part of a node that serves this request; unique among a node's recipients.
    const RECIPIENT: &'static str;
    /// What that part answers.
    type Answer: Serialize + for<'de> Deserialize<'de> + Send + 'static;
}

/// A forwarded request, with the node that waits for its answer and the part of the
/// receiving node that serves it.
#[derive(Debug, Serialize, Deserialize)]
struct Envelope<T> {
    id: u64,
    from: String,
    /// [`NodeRequest::RECIPIENT`].
    to: String,
    meeting: MeetingId,
    body: T,
}

/// Serves one part's requests read from the mailbox, and sends each answer back.
type Recipient = Box<dyn Fn(Cluster, String) + Send + Sync>;

/// The parts of this node that serve requests from its mailbox, by
/// [`NodeRequest::RECIPIENT`].
#[derive(Default)]
pub struct Recipients {
    parts: HashMap<&'static str, Recipient>,
}

impl Recipients {
    pub fn new() -> Recipients {
        Recipients::default()
    }

    /// Serves requests of type `Q` with `serve`, each in a task of its own.
    pub fn with<Q, F, Fut>(mut self, serve: F) -> Recipients
    where
        Q: NodeRequest,
        F: Fn(MeetingId, Q) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Q::Answer> + Send + 'static,
    {
        let serve = Arc::new(serve);
        let recipient: Recipient = Box::new(move |cluster, text| {
            let serve = serve.clone();
            tokio::spawn(async move {
                let envelope: Envelope<Q> = match serde_json::from_str(&text) {
                    Ok(envelope) => envelope,
                    Err(error) => {
                        tracing::error!(%error, recipient = Q::RECIPIENT, "unreadable forwarded request");
                        return;
                    }
                };
                let answer = serve(envelope.meeting, envelope.body).await;
                let reply = Reply { id: envelope.id, body: answer };
                let body = serde_json::to_string(&reply).expect("answers serialize");
                if let Err(error) = cluster.push(&replies_key(&envelope.from), body).await {
                    tracing::warn!(%error, "could not answer a forwarded request");
                }
            });
        });
        self.parts.insert(Q::RECIPIENT, recipient);
        self
    }

    /// Hands a request read from the mailbox to the part it names.
    fn deliver(&self, cluster: Cluster, text: String) {
        /// The envelope's address alone; the part reads the rest.
        #[derive(Deserialize)]
        struct Address {
            to: String,
        }
        match serde_json::from_str::<Address>(&text) {
            Ok(address) => match self.parts.get(address.to.as_str()) {
                Some(recipient) => recipient(cluster, text),
                None => tracing::error!(to = address.to, "a forwarded request for no part of this node"),
            },
            Err(error) => tracing::error!(%error, "unreadable forwarded request"),
        }
    }
}

/// The answer to the forwarded request `id`.
#[derive(Debug, Serialize, Deserialize)]
struct Reply<T> {
    id: u64,
    body: T,
}

/// How waiting for a forwarded request's answer ended.
enum Waited {
    Answer(String),
    /// Another node holds the lease now.
    Moved,
    /// No answer before the deadline.
    Nothing,
}

/// Why a forwarded request got no answer.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("no node answered for the meeting in time")]
    TimedOut,
    #[error("Redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// The shared part of a cluster: this node's name and its Redis connections. Cloning shares it.
#[derive(Clone)]
pub struct Cluster {
    inner: Arc<Inner>,
}

struct Inner {
    node: String,
    client: redis::Client,
    /// Commands that return at once share this connection; blocking reads each open their own.
    connection: ConnectionManager,
    lease_ms: i64,
    stream_entries: usize,
    forward_timeout: Duration,
    /// Forwarded requests waiting for their answers, by request id.
    waiting: Mutex<HashMap<u64, oneshot::Sender<String>>>,
    next_request: AtomicU64,
    /// The streams this node's mirror rooms follow, all read by one task.
    followers: Mutex<follow::Followers>,
    renew: redis::Script,
    release: redis::Script,
    claim: redis::Script,
    viewers: redis::Script,
    pub(crate) take: redis::Script,
    metrics: ClusterMetrics,
}

impl Cluster {
    /// Connects to the Redis at `redis_url` under a new, random node name.
    pub async fn connect(
        config: &ClusterConfig,
        redis_url: &str,
        metrics: ClusterMetrics,
    ) -> redis::RedisResult<Cluster> {
        let client = redis::Client::open(redis_url)?;
        // Two seconds rather than the default half: a busy node's commands to Redis should
        // wait out a pause, not fail and leave a lease unrenewed.
        let manager =
            redis::aio::ConnectionManagerConfig::new().set_response_timeout(Some(Duration::from_secs(2)));
        let connection = ConnectionManager::new_with_config(client.clone(), manager).await?;
        let node = format!("node-{:016x}", rand::random::<u64>());
        tracing::info!(%node, "joined the cluster");
        Ok(Cluster {
            inner: Arc::new(Inner {
                node,
                client,
                connection,
                lease_ms: i64::try_from(config.lease_milliseconds).unwrap_or(i64::MAX),
                stream_entries: config.stream_entries,
                forward_timeout: Duration::from_millis(config.forward_timeout_milliseconds),
                waiting: Mutex::new(HashMap::new()),
                next_request: AtomicU64::new(1),
                followers: Mutex::new(follow::Followers::default()),
                renew: redis::Script::new(RENEW),
                release: redis::Script::new(RELEASE),
                claim: redis::Script::new(CLAIM),
                viewers: redis::Script::new(VIEWERS),
                take: redis::Script::new(limits::TAKE),
                metrics,
            }),
        })
    }

    /// This node's name in leases and mailboxes.
    pub fn node(&self) -> &str {
        &self.inner.node
    }

    /// This node's cluster counters.
    pub fn metrics(&self) -> &ClusterMetrics {
        &self.inner.metrics
    }

    /// About how many entries each meeting's stream keeps.
    pub fn stream_entries(&self) -> usize {
        self.inner.stream_entries
    }

    /// How often an owner renews its leases and a mirror looks for a lapsed one.
    pub fn lease_check_interval(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.inner.lease_ms / 3).unwrap_or(1000).max(50))
    }

    fn connection(&self) -> ConnectionManager {
        self.inner.connection.clone()
    }

    // ---- Ownership -------------------------------------------------------------------------

    /// A new name for one room's hold on a lease: this node's name and a random part, so
    /// that a room closing on this node can never release the lease of a newer room here.
    pub fn lease_holder(&self) -> String {
        format!("{}/{:016x}", self.inner.node, rand::random::<u64>())
    }

    /// How long a lease lasts unrenewed.
    pub fn lease_duration(&self) -> Duration {
        Duration::from_millis(u64::try_from(self.inner.lease_ms).unwrap_or(u64::MAX))
    }

    /// Takes the meeting's lease for `holder` if nobody holds it, or renews it if `holder`
    /// does; true when `holder` owns the meeting now.
    pub async fn claim(&self, meeting: MeetingId, holder: &str) -> redis::RedisResult<bool> {
        let taken: Option<String> = redis::cmd("SET")
            .arg(owner_key(meeting))
            .arg(holder)
            .arg("NX")
            .arg("PX")
            .arg(self.inner.lease_ms)
            .query_async(&mut self.connection())
            .await?;
        if taken.is_some() {
            return Ok(true);
        }
        self.renew(meeting, holder).await
    }

    /// Extends the lease if `holder` still holds it; false when it was lost.
    pub async fn renew(&self, meeting: MeetingId, holder: &str) -> redis::RedisResult<bool> {
        let renewed: i64 = self
            .inner
            .renew
            .key(owner_key(meeting))
            .arg(holder)
            .arg(self.inner.lease_ms)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(renewed == 1)
    }

    /// Gives the lease up, if `holder` holds it, so another node takes over at once.
    pub async fn release(&self, meeting: MeetingId, holder: &str) -> redis::RedisResult<()> {
        let _: i64 = self
            .inner
            .release
            .key(owner_key(meeting))
            .arg(holder)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(())
    }

    /// The node whose room holds the meeting's lease, if any does.
    pub async fn owner(&self, meeting: MeetingId) -> redis::RedisResult<Option<String>> {
        let holder: Option<String> = self.connection().get(owner_key(meeting)).await?;
        Ok(holder.map(|holder| holder.split('/').next().unwrap_or_default().to_owned()))
    }

    // ---- Event streams ---------------------------------------------------------------------

    /// The id of the stream's last entry ("0-0" when it has none), and the last `seq` it
    /// carried. A follower that starts after this id, having read the store after taking it,
    /// misses nothing: the owner commits before it appends.
    pub async fn stream_tail(&self, meeting: MeetingId) -> redis::RedisResult<(String, u64)> {
        let mut connection = self.connection();
        let newest: redis::streams::StreamRangeReply =
            connection.xrevrange_count(events_key(meeting), "+", "-", 1).await?;
        Ok(match newest.ids.into_iter().next() {
            Some(entry) => {
                let last = entry.get("last").unwrap_or(0);
                (entry.id, last)
            }
            None => ("0-0".to_owned(), 0),
        })
    }

    /// Appends an entry to the meeting's stream, trimming it to about `stream_entries`.
    pub async fn append(&self, meeting: MeetingId, entry: &StreamEntry) -> redis::RedisResult<()> {
        let body = serde_json::to_string(entry).expect("stream entries serialize");
        let key = events_key(meeting);
        let mut command = redis::cmd("XADD");
        command.arg(&key).arg("MAXLEN").arg("~").arg(self.inner.stream_entries).arg("*");
        command.arg("entry").arg(body).arg("last").arg(entry.last_seq());
        redis::pipe()
            .add_command(command)
            .ignore()
            .cmd("PEXPIRE")
            .arg(&key)
            .arg(STREAM_TTL_MS)
            .ignore()
            .query_async::<()>(&mut self.connection())
            .await
    }

    // ---- Forwarding ------------------------------------------------------------------------

    /// Sends `request` to the meeting's owner node and waits for its answer. Retries while no
    /// node holds the lease (a failover), and sends again when the lease moves to another node
    /// before the answer came (the owner died), until `cluster.forward_timeout_milliseconds`
    /// have passed. A request sent again may have been served by the owner that died: live
    /// comments are idempotent by their client id; a moderation command may be refused as
    /// already done.
    pub async fn forward<Q: NodeRequest>(
        &self,
        meeting: MeetingId,
        request: &Q,
        not_owner: impl Fn(&Q::Answer) -> bool,
    ) -> Result<Q::Answer, ForwardError> {
        self.inner.metrics.forwarded_commands.inc();
        let deadline = Instant::now() + self.inner.forward_timeout;
        loop {
            let Some(owner) = self.owner(meeting).await? else {
                if Instant::now() >= deadline {
                    return Err(self.timed_out());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let (id, answer) = self.send_to(&owner, meeting, request).await?;
            let waited = self.answer_or_move(meeting, &owner, answer, deadline).await;
            self.inner.waiting.lock().expect("never poisoned").remove(&id);
            match waited {
                Waited::Moved => continue,
                Waited::Answer(text) => match serde_json::from_str::<Q::Answer>(&text) {
                    Ok(answer) if not_owner(&answer) && Instant::now() < deadline => {
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                    Ok(answer) => return Ok(answer),
                    Err(error) => {
                        tracing::error!(%meeting, %error, "unreadable answer from the owner");
                        return Err(self.timed_out());
                    }
                },
                Waited::Nothing => return Err(self.timed_out()),
            }
        }
    }

    /// Sends `request` to `node` itself, whatever the meeting's lease, and waits up to
    /// `cluster.forward_timeout_milliseconds` for its answer: for what only that node can do,
    /// such as taking off air the publisher connected to it.
    pub async fn ask_node<Q: NodeRequest>(
        &self,
        node: &str,
        meeting: MeetingId,
        request: &Q,
    ) -> Result<Q::Answer, ForwardError> {
        self.inner.metrics.forwarded_commands.inc();
        let (id, answer) = self.send_to(node, meeting, request).await?;
        let answered = tokio::time::timeout(self.inner.forward_timeout, answer).await;
        self.inner.waiting.lock().expect("never poisoned").remove(&id);
        let Ok(Ok(text)) = answered else { return Err(self.timed_out()) };
        serde_json::from_str(&text).map_err(|error| {
            tracing::error!(%meeting, node, %error, "unreadable answer from a node");
            self.timed_out()
        })
    }

    /// Puts `request` in `node`'s mailbox; its answer comes on the receiver. The caller
    /// removes the request from `waiting` once it stops waiting.
    async fn send_to<Q: NodeRequest>(
        &self,
        node: &str,
        meeting: MeetingId,
        request: &Q,
    ) -> Result<(u64, oneshot::Receiver<String>), ForwardError> {
        let id = self.inner.next_request.fetch_add(1, Ordering::Relaxed);
        let (reply, answer) = oneshot::channel();
        self.inner.waiting.lock().expect("never poisoned").insert(id, reply);
        let envelope = Envelope {
            id,
            from: self.inner.node.clone(),
            to: Q::RECIPIENT.to_owned(),
            meeting,
            body: request,
        };
        let body = serde_json::to_string(&envelope).expect("requests serialize");
        if let Err(error) = self.push(&inbox_key(node), body).await {
            self.inner.waiting.lock().expect("never poisoned").remove(&id);
            return Err(error.into());
        }
        Ok((id, answer))
    }

    /// Waits for a forwarded request's answer, watching the lease: when it moves away from
    /// `owner` (which then died or lost it), the request must go to the new owner.
    async fn answer_or_move(
        &self,
        meeting: MeetingId,
        owner: &str,
        mut answer: oneshot::Receiver<String>,
        deadline: Instant,
    ) -> Waited {
        let mut check = tokio::time::interval(self.lease_check_interval());
        check.tick().await;
        loop {
            tokio::select! {
                text = &mut answer => return text.map_or(Waited::Nothing, Waited::Answer),
                _ = tokio::time::sleep_until(deadline.into()) => return Waited::Nothing,
                _ = check.tick() => {
                    if let Ok(Some(now)) = self.owner(meeting).await
                        && now != owner
                    {
                        return Waited::Moved;
                    }
                }
            }
        }
    }

    fn timed_out(&self) -> ForwardError {
        self.inner.metrics.forward_timeouts.inc();
        ForwardError::TimedOut
    }

    async fn push(&self, list: &str, body: String) -> redis::RedisResult<()> {
        redis::pipe()
            .rpush(list, body)
            .ignore()
            .pexpire(list, MAILBOX_TTL_MS)
            .ignore()
            .query_async::<()>(&mut self.connection())
            .await
    }

    /// Serves requests forwarded to this node, each by the part of it that `recipients` names,
    /// delivers the answers to this node's own forwarded requests, and reads the streams its
    /// rooms follow, until `stop` is cancelled.
    pub fn serve(&self, recipients: Recipients, stop: CancellationToken) {
        tokio::spawn(self.clone().read_streams(stop.clone()));
        let inbox = self.clone();
        let inbox_stop = stop.clone();
        tokio::spawn(async move {
            inbox
                .drain(inbox_key(&inbox.inner.node), inbox_stop, move |cluster, text| {
                    recipients.deliver(cluster, text);
                })
                .await;
        });
        let replies = self.clone();
        tokio::spawn(async move {
            replies
                .drain(replies_key(&replies.inner.node), stop, |cluster, text| {
                    let Ok(reply) = serde_json::from_str::<Reply<serde_json::Value>>(&text) else {
                        tracing::error!("unreadable answer to a forwarded request");
                        return;
                    };
                    let waiting = cluster.inner.waiting.lock().expect("never poisoned").remove(&reply.id);
                    // Nobody waiting: the request timed out, and its answer is dropped.
                    if let Some(waiting) = waiting {
                        let _ = waiting.send(reply.body.to_string());
                    }
                })
                .await;
        });
    }

    /// Pops `list` with a blocking read on its own connection, handing each item to `handle`.
    async fn drain(&self, list: String, stop: CancellationToken, handle: impl Fn(Cluster, String)) {
        let mut connection = None;
        while !stop.is_cancelled() {
            let Some(open) = open_blocking(&self.inner.client, &mut connection, "the node's mailbox").await
            else {
                continue;
            };
            let popped: redis::RedisResult<Option<(String, String)>> =
                open.blpop(&list, BLOCK.as_secs_f64()).await;
            match popped {
                Ok(Some((_, text))) => handle(self.clone(), text),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(%error, "reading the node's mailbox failed");
                    connection = None;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    // ---- Media origins --------------------------------------------------------------------

    /// This node as a media origin: its name, for requests to its mailbox, and where its HTTP
    /// is reached (`url`), for other nodes' pulls.
    pub fn as_media_origin(&self, url: &str) -> MediaOrigin {
        MediaOrigin { node: self.inner.node.clone(), url: url.to_owned() }
    }

    /// Records `origin` as the node whose publisher sends the meeting's stream, for `ttl`,
    /// unless another node is recorded; true when `origin` is now.
    pub async fn claim_media_origin(
        &self,
        meeting: MeetingId,
        origin: &MediaOrigin,
        ttl: Duration,
    ) -> redis::RedisResult<bool> {
        let ttl = u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX);
        let claimed: i64 = self
            .inner
            .claim
            .key(origin_key(meeting))
            .arg(origin.record())
            .arg(ttl)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(claimed == 1)
    }

    /// The node whose publisher sends the meeting's stream, if any does.
    pub async fn media_origin(&self, meeting: MeetingId) -> redis::RedisResult<Option<MediaOrigin>> {
        let record: Option<String> = self.connection().get(origin_key(meeting)).await?;
        Ok(record.and_then(|record| match serde_json::from_str(&record) {
            Ok(origin) => Some(origin),
            Err(error) => {
                tracing::error!(%meeting, %error, "unreadable media origin record");
                None
            }
        }))
    }

    /// Withdraws the record if it is still `origin`'s.
    pub async fn clear_media_origin(
        &self,
        meeting: MeetingId,
        origin: &MediaOrigin,
    ) -> redis::RedisResult<()> {
        let _: i64 = self
            .inner
            .release
            .key(origin_key(meeting))
            .arg(origin.record())
            .invoke_async(&mut self.connection())
            .await?;
        Ok(())
    }

    // ---- Shared counters -------------------------------------------------------------------

    /// Records how many connections this node has to the meeting and returns the sum over
    /// every node whose count has not lapsed.
    pub async fn viewers(&self, meeting: MeetingId, here: usize) -> redis::RedisResult<usize> {
        let total: i64 = self
            .inner
            .viewers
            .key(format!("kezdesu:meeting:{}:viewers", meeting.0))
            .arg(&self.inner.node)
            .arg(here)
            .arg(VIEWER_COUNT_TTL_MS)
            .invoke_async(&mut self.connection())
            .await?;
        Ok(usize::try_from(total).unwrap_or(0))
    }
}

/// A connection of its own for blocking reads (`BLPOP`, `XREAD BLOCK`): its answers may take
/// the whole blocking time, which the client's default response timeout (half a second) would
/// cut short, dropping an item Redis has already popped for it.
async fn blocking_connection(
    client: &redis::Client,
) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
    let config =
        redis::AsyncConnectionConfig::new().set_response_timeout(Some(BLOCK + Duration::from_secs(5)));
    client.get_multiplexed_async_connection_with_config(&config).await
}

/// The blocking connection in `slot`, opened if it is not; `None`, after a pause, when Redis
/// cannot be reached (the caller tries again).
async fn open_blocking<'slot>(
    client: &redis::Client,
    slot: &'slot mut Option<redis::aio::MultiplexedConnection>,
    reading: &str,
) -> Option<&'slot mut redis::aio::MultiplexedConnection> {
    if slot.is_none() {
        match blocking_connection(client).await {
            Ok(opened) => *slot = Some(opened),
            Err(error) => {
                tracing::warn!(%error, reading, "cannot reach Redis");
                tokio::time::sleep(BLOCK).await;
                return None;
            }
        }
    }
    slot.as_mut()
}

fn owner_key(meeting: MeetingId) -> String {
    format!("kezdesu:meeting:{}:owner", meeting.0)
}

fn origin_key(meeting: MeetingId) -> String {
    format!("kezdesu:meeting:{}:media_origin", meeting.0)
}

fn events_key(meeting: MeetingId) -> String {
    format!("kezdesu:meeting:{}:events", meeting.0)
}

fn inbox_key(node: &str) -> String {
    format!("kezdesu:node:{node}:inbox")
}

fn replies_key(node: &str) -> String {
    format!("kezdesu:node:{node}:replies")
}

/// Extends the lease by ARGV[2] ms if ARGV[1] holds it.
const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
";

/// Sets KEYS[1] to ARGV[1] for ARGV[2] ms if it is unset, or extends it if it holds ARGV[1];
/// 1 when it holds ARGV[1] now.
const CLAIM: &str = r"
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
    return 1
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return 1
end
return 0
";

/// Deletes KEYS[1] (a lease, a media origin) if ARGV[1] holds it.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
";

/// Sets node ARGV[1]'s count ARGV[2], valid for ARGV[3] ms, drops lapsed counts, and returns
/// the sum. Each field holds `count:expires_at_ms`.
const VIEWERS: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. (now + tonumber(ARGV[3])))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local total = 0
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
    local count, expires = string.match(fields[i + 1], '^(%d+):(%d+)$')
    if count and tonumber(expires) > now then
        total = total + tonumber(count)
    else
        redis.call('HDEL', KEYS[1], fields[i])
    end
end
return total
";
