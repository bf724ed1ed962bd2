//! The live channel over WebSocket: `/api/meetings/{id}/live`.
//!
//! One connection is two tasks: this one reads the client's messages and asks the meeting's
//! room to act on them, and a writer task sends the room's committed events, the answers, the
//! meeting's restream states, and pings. Events come from one broadcast channel per meeting,
//! serialized once; the writer only picks the form (full or public) its reader may see and
//! joins them into one frame.
//!
//! Thousands of connections mostly wait, so what each keeps while it waits is kept small: the
//! steps that pass (the hello and the history, each command) run in futures boxed apart from
//! the connection's task, and the read buffer is 1 KiB (docs/bench/live.md has the figures).
//!
//! A connection that falls more than `live.connection_queue_frames` frames behind is closed
//! with code 4000, which tells the client to reconnect with `since` and resume. The protocol is
//! documented in `docs/protocol.md`.

use super::caller::{Caller, ClientIp, session_cookie, token_owner};
use super::problem::{ApiPath, ApiQuery};
use super::{ApiError, AppState, Problem};
use crate::room::live::{FramedEvent, LiveFailure, LiveFrame, LiveReply, events_frame};
use crate::store::LogReader;
use axum::extract::State;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::http::{HeaderMap, header};
use axum::response::Response;
use futures_util::{SinkExt, StreamExt};
use kezdesu_core::live::{Actor, LiveCommand, LiveError};
use kezdesu_core::{MeetingId, Principal};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, watch};
use utoipa::IntoParams;

/// Close codes, documented in `docs/protocol.md`.
pub mod close {
    /// The connection fell behind; reconnect with `since` and resume.
    pub const RESUME: u16 = 4000;
    /// No valid token.
    pub const UNAUTHENTICATED: u16 = 4001;
    /// The token is for another meeting.
    pub const FORBIDDEN: u16 = 4003;
    /// Nothing arrived for `live.idle_timeout_seconds`.
    pub const IDLE: u16 = 4008;
    /// The server is shutting down; reconnect later and resume.
    pub const GOING_AWAY: u16 = 1001;
    /// A frame broke the WebSocket protocol (RFC 6455 §7.4.1).
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text frame that is not UTF-8.
    pub const INVALID_DATA: u16 = 1007;
    /// A frame or message beyond the connection's hard limit.
    pub const TOO_BIG: u16 = 1009;
}

/// How long a connection closed for a protocol error stays open for its close frame to be
/// read: dropped at once with the rest of an oversized frame unread, the socket would be reset,
/// and a reset loses the close frame on its way.
const LINGER_AFTER_PROTOCOL_ERROR: Duration = Duration::from_secs(2);

/// Events per query when replaying from the store.
const REPLAY_PAGE: u32 = 1000;
/// Answers (acks, errors) a connection may have queued before it counts as too slow.
const DIRECT_QUEUE: usize = 64;
/// Each connection's WebSocket read buffer, allocated up front. Readers send nothing but
/// pongs, and a longer message (a comment) makes it grow; it is read a KiB at a time, so 1 KiB
/// rather than 4 costs a long comment a few more reads and every connection 3 KiB less.
const READ_BUFFER: usize = 1024;
/// Frames joined into one write when several are waiting.
const FRAMES_PER_FLUSH: usize = 16;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LiveQuery {
    /// A viewer or staff token. Browsers cannot set headers on a WebSocket; without this, the
    /// connection reads as the public does, and `{"type":"auth","token":"…"}` signs it in.
    pub token: Option<String>,
    /// The last `seq` the client saw: every event after it is replayed, then the live ones.
    pub since: Option<u64>,
    /// Without `since`: start from a snapshot of the channel (settings, questions with the
    /// queue's pins, the latest comments, and for moderators every held one) instead of the
    /// recent history, so that joining a long meeting costs no more than joining a short one.
    pub snapshot: Option<bool>,
}

/// Who is on the other end, once authenticated.
struct Participant {
    actor: Actor,
    reader: LogReader,
    you: Value,
}

/// Opens the meeting's live channel (WebSocket). See `docs/protocol.md`.
#[utoipa::path(
    get, path = "/api/meetings/{id}/live", tag = "meetings",
    params(("id" = i64, Path, description = "Meeting id"), LiveQuery),
    responses(
        (status = 101, description = "Switching to the WebSocket protocol"),
        (status = 400, body = Problem, description = "Not a WebSocket handshake (`bad_request`), or a malformed query"),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 503, body = Problem, description = "The server holds its maximum of live connections"),
    )
)]
pub async fn connect(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(query): ApiQuery<LiveQuery>,
    ClientIp(address): ClientIp,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Result<Response, ApiError> {
    // A plain GET (a browser's address bar, a generated client) gets a problem document that
    // says what this is, not axum's plain-text rejection.
    let upgrade = upgrade.map_err(|rejection| {
        ApiError::BadRequest(format!(
            "this is the live channel's WebSocket; open it with a WebSocket client (docs/protocol.md): {}",
            rejection.body_text()
        ))
    })?;
    let meeting = state.store.meeting(MeetingId(id)).await?;
    if state.metrics.live_connections.get() >= state.config.live.max_connections {
        return Err(ApiError::Unavailable);
    }
    // A token in the query is checked before upgrading, so a bad one gets a plain 401/403.
    // A staff page signed in by cookie (the presenter's) may use its cookie instead, but only
    // from this server's own pages: browsers send cookies on cross-site WebSocket handshakes
    // too, so the Origin must match the Host.
    let participant = match (&query.token, same_origin_session_cookie(&headers)) {
        (Some(token), _) => Some(participant(&state, meeting.id, token).await?),
        // A cookie that no longer signs anybody in (expired, signed out elsewhere) leaves the
        // page where any visitor is: connected, and asked to authenticate to act.
        (None, Some(cookie)) => match participant(&state, meeting.id, &cookie).await {
            Ok(participant) => Some(participant),
            Err(ApiError::Unauthenticated | ApiError::Forbidden(_)) => None,
            Err(other) => return Err(other),
        },
        (None, None) => None,
    };
    let lang = super::problem_text::requested(&headers);
    let hard_limit = (state.config.live.max_message_bytes * 4).max(64 * 1024);
    // A small read buffer: thousands of viewers mostly listen, and tungstenite's default
    // (128 KiB each) would dominate the server's memory.
    Ok(upgrade
        .read_buffer_size(READ_BUFFER)
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .on_upgrade(move |socket| async move {
            state.metrics.live_connections.inc();
            let connection = Connection { state: state.clone(), meeting: meeting.id, address };
            let run = connection.run(socket, participant, query.since, query.snapshot.unwrap_or(false));
            super::problem_text::CONNECTION_LANG.scope(lang, run).await;
            state.metrics.live_connections.dec();
        }))
}

/// The session cookie of a handshake whose `Origin` is this server itself.
fn same_origin_session_cookie(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let origin = headers.get(header::ORIGIN)?.to_str().ok()?;
    let origin_host = origin.strip_prefix("https://").or_else(|| origin.strip_prefix("http://"))?;
    if !origin_host.eq_ignore_ascii_case(host) {
        return None;
    }
    session_cookie(headers)
}

async fn participant(state: &AppState, meeting: MeetingId, token: &str) -> Result<Participant, ApiError> {
    let caller: Caller = token_owner(state, token).await?.ok_or(ApiError::Unauthenticated)?;
    match (&caller.principal, &caller.account) {
        (Principal::Viewer { viewer, meeting: own }, _) => {
            if *own != meeting {
                return Err(ApiError::Forbidden("this viewer token is for another meeting"));
            }
            let name = caller.name.clone();
            Ok(Participant {
                you: json!({"role": "viewer", "viewer_id": viewer, "display_name": name}),
                actor: Actor { principal: caller.principal.clone(), name },
                reader: LogReader::Viewer(*viewer),
            })
        }
        (Principal::Staff { account, role }, Some(record)) => Ok(Participant {
            you: json!({"role": role, "account_id": account, "display_name": record.display_name}),
            actor: Actor { principal: caller.principal.clone(), name: record.display_name.clone() },
            // Held comments and who voted are for moderators; akims and the commission see
            // what the public sees.
            reader: if matches!(role, kezdesu_core::Role::Moderator | kezdesu_core::Role::Admin) {
                LogReader::Staff
            } else {
                LogReader::Public
            },
        }),
        (Principal::Staff { .. }, None) => Err(ApiError::Unauthenticated),
    }
}

/// What one connection knows of who reads it, which changes when a reader signs in.
struct Session {
    /// `None` for a reader who has not signed in: they read, but may not act.
    participant: Option<Participant>,
    /// Tells the writer which form of each event this connection may see.
    reader: watch::Sender<LogReader>,
    /// Forwards the platform readers' states, for moderators and admins only.
    platforms: Option<tokio::task::JoinHandle<()>>,
}

impl Session {
    /// The platform readers' states, with the moderation sent back, are for staff.
    fn follow_platforms(&mut self, connection: &Connection, direct: &mpsc::Sender<Utf8Bytes>) {
        let staff = self.participant.as_ref().is_some_and(|p| p.reader == LogReader::Staff);
        if staff && self.platforms.is_none() {
            self.platforms = Some(tokio::spawn(forward_changes(
                connection.state.platforms.changes(),
                "platform",
                connection.meeting,
                direct.clone(),
            )));
        }
    }
}

/// A message from the client: a live command, with an optional id to match the answer.
#[derive(Debug, Deserialize)]
struct Envelope {
    request_id: Option<String>,
    #[serde(flatten)]
    command: Value,
}

/// An answer sent to one connection only.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Answer {
    /// A reader signed in with `auth`; `you` is as in `hello`.
    Authenticated {
        you: Value,
    },
    Ack {
        client_id: String,
        seq: u64,
        comment: i64,
    },
    Done {
        #[serde(skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        seq: Option<u64>,
    },
    Error {
        code: String,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        request_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
}

impl Answer {
    fn error(code: &str, message: impl Into<String>) -> Answer {
        Answer::Error {
            code: code.to_owned(),
            message: message.into(),
            request_id: None,
            client_id: None,
            retry_after_ms: None,
        }
    }

    fn text(&self) -> Utf8Bytes {
        // An error's message is said in the language the handshake asked for.
        if let Answer::Error { code, message, request_id, client_id, retry_after_ms } = self
            && let Some(said) = super::problem_text::in_connection_language(code, message)
        {
            let said = Answer::Error {
                code: code.clone(),
                message: said,
                request_id: request_id.clone(),
                client_id: client_id.clone(),
                retry_after_ms: *retry_after_ms,
            };
            return serde_json::to_string(&said).expect("answers serialize").into();
        }
        // Serializing our own plain enum cannot fail.
        serde_json::to_string(self).expect("answers serialize").into()
    }
}

struct Connection {
    state: AppState,
    meeting: MeetingId,
    address: IpAddr,
}

impl Connection {
    async fn run(
        self,
        socket: WebSocket,
        participant: Option<Participant>,
        since: Option<u64>,
        snapshot: bool,
    ) {
        let (mut sink, mut stream) = socket.split();
        let reader = participant.as_ref().map_or(LogReader::Public, |p| p.reader);
        // Boxed, as every step that does not last: this task lives as long as the connection,
        // and an async function's state is as large as its largest step.
        let opened = Box::pin(self.open(&mut sink, participant.as_ref(), since, snapshot)).await;
        let Some((frames, last_seq)) = opened else { return };
        let (direct, direct_inbox) = mpsc::channel(DIRECT_QUEUE);
        let (reader_changes, reader_now) = watch::channel(reader);
        let writer = tokio::spawn(write_loop(
            sink,
            Feeds { frames, direct: direct_inbox, restreams: self.state.egress.changes() },
            self.meeting,
            reader_now,
            last_seq,
            Duration::from_secs(self.state.config.live.ping_interval_seconds),
            self.state.shutdown.clone(),
        ));
        let mut session = Session { participant, reader: reader_changes, platforms: None };
        session.follow_platforms(&self, &direct);
        let broken = self.read_loop(&mut stream, &mut session, &direct).await;
        if let Some(platforms) = session.platforms.take() {
            platforms.abort();
        }
        drop(direct);
        let _ = writer.await;
        if broken {
            // The close frame is sent; the socket (held by `stream`) stays open a moment for
            // the client to read it. The WebSocket layer reads nothing more after its error.
            tokio::time::sleep(LINGER_AFTER_PROTOCOL_ERROR).await;
            drop(stream);
        }
    }

    /// Joins the meeting's live channel and sends the hello, then the snapshot or what the
    /// client missed. Returns the room's frames from there on and the last `seq` sent, or
    /// `None` when the connection cannot go on (the client was told why).
    async fn open(
        &self,
        sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
        participant: Option<&Participant>,
        since: Option<u64>,
        snapshot: bool,
    ) -> Option<(broadcast::Receiver<Arc<LiveFrame>>, u64)> {
        let reader = participant.map_or(LogReader::Public, |p| p.reader);
        let snapshot_for = (snapshot && since.is_none()).then_some(reader);
        let join = match self.state.rooms.join_live(self.meeting, snapshot_for).await {
            Ok(join) => join,
            Err(error) => {
                tracing::warn!(meeting = %self.meeting, %error, "could not join the live channel");
                let _ = sink.send(close_message(close::GOING_AWAY, "the meeting is unavailable")).await;
                return None;
            }
        };
        // The meeting with its phase and deadlines, so the client counts down from the
        // server's instants rather than its own clock.
        let meeting = match self.state.store.meeting(self.meeting).await {
            Ok(meeting) => crate::wire::MeetingView::of(&meeting, jiff::Timestamp::now(), &self.state.clock),
            Err(error) => {
                tracing::warn!(meeting = %self.meeting, %error, "could not read the meeting");
                let _ = sink.send(close_message(close::GOING_AWAY, "the meeting is unavailable")).await;
                return None;
            }
        };
        // Without a token the connection reads at once, as the public does; it may
        // authenticate later to comment, vote or moderate.
        let you = participant.map_or_else(|| json!({"role": "reader"}), |p| p.you.clone());
        let hello = json!({
            "type": "hello",
            "meeting_id": self.meeting,
            "meeting": meeting,
            "server_time": self.state.clock.format(jiff::Timestamp::now()),
            "you": you,
            "last_seq": join.last_seq,
            "viewers": join.viewers,
            "max_comment_chars": self.state.config.live.max_comment_chars,
            "hide_reasons": self.state.config.live.hide_reasons,
        })
        .to_string();
        if sink.send(Message::Text(hello.into())).await.is_err() {
            return None;
        }
        let caught_up = match &join.snapshot {
            Some(snapshot) => {
                sink.send(Message::Text(snapshot.to_json().into())).await.map_err(anyhow::Error::from)
            }
            None => self.replay(sink, reader, since, join.last_seq).await,
        };
        if let Err(error) = caught_up {
            tracing::warn!(meeting = %self.meeting, %error, "replay failed");
            let _ = sink.send(close_message(close::GOING_AWAY, "replay failed; resume")).await;
            return None;
        }
        Some((join.frames, join.last_seq))
    }

    /// Signs a reader in with `{"type":"auth","token":…}`: from then on it sees events as that
    /// participant and may send commands. A refused token ends the connection, as it always
    /// has, so that a client with a stale token finds out rather than reads on silently.
    async fn authenticate(
        &self,
        session: &mut Session,
        token: &str,
        direct: &mpsc::Sender<Utf8Bytes>,
    ) -> Result<Answer, (u16, Answer)> {
        let participant =
            participant(&self.state, self.meeting, token).await.map_err(|error| match error {
                ApiError::Forbidden(why) => (close::FORBIDDEN, Answer::error("forbidden", why)),
                _ => (
                    close::UNAUTHENTICATED,
                    Answer::error("unauthenticated", "the token does not sign anybody in"),
                ),
            })?;
        let _ = session.reader.send(participant.reader);
        let you = participant.you.clone();
        session.participant = Some(participant);
        session.follow_platforms(self, direct);
        Ok(Answer::Authenticated { you })
    }

    /// Sends what the client missed: everything after `since`, or the recent history.
    async fn replay(
        &self,
        sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
        reader: LogReader,
        since: Option<u64>,
        through: u64,
    ) -> anyhow::Result<()> {
        let store = &self.state.store;
        match since {
            Some(since) => {
                if since > through {
                    let answer = Answer::error(
                        "since_ahead",
                        format!("the last event is {through}; resuming from there"),
                    );
                    sink.send(Message::Text(answer.text())).await?;
                }
                let mut cursor = since;
                while cursor < through {
                    let page = store.live_events(self.meeting, cursor, through, REPLAY_PAGE).await?;
                    let Some(last) = page.last() else { break };
                    cursor = last.seq;
                    let framed: Vec<FramedEvent> = page.iter().map(FramedEvent::from_record).collect();
                    sink.send(Message::Text(events_frame(framed.iter(), reader).into())).await?;
                }
            }
            None => {
                let count = self.state.config.live.history_events;
                let recent = store.recent_live_events(self.meeting, reader, through, count).await?;
                if !recent.is_empty() {
                    let framed: Vec<FramedEvent> = recent.iter().map(FramedEvent::from_record).collect();
                    sink.send(Message::Text(events_frame(framed.iter(), reader).into())).await?;
                }
            }
        }
        Ok(())
    }

    /// Reads and answers the client's messages until the connection ends; true when it ended
    /// for a frame that broke the protocol (the client is sent a close with its code).
    async fn read_loop(
        &self,
        stream: &mut futures_util::stream::SplitStream<WebSocket>,
        session: &mut Session,
        direct: &mpsc::Sender<Utf8Bytes>,
    ) -> bool {
        let idle = Duration::from_secs(self.state.config.live.idle_timeout_seconds);
        let max_bytes = self.state.config.live.max_message_bytes;
        loop {
            let message = tokio::select! {
                _ = self.state.shutdown.cancelled() => return false,
                message = tokio::time::timeout(idle, stream.next()) => message,
            };
            let text = match message {
                Err(_) => {
                    let _ = direct.try_send(Answer::error("idle", "nothing received; closing").text());
                    let _ = direct.try_send(Utf8Bytes::from_static(CLOSE_IDLE));
                    return false;
                }
                Ok(Some(Err(error))) => {
                    let _ = direct.try_send(Utf8Bytes::from_static(close_marker_for(&error.to_string())));
                    return true;
                }
                Ok(None) | Ok(Some(Ok(Message::Close(_)))) => return false,
                Ok(Some(Ok(Message::Text(text)))) => text,
                Ok(Some(Ok(Message::Binary(_)))) => {
                    let answer = Answer::error("binary_not_supported", "send JSON text messages");
                    if !answer_to(direct, answer) {
                        return false;
                    }
                    continue;
                }
                // Pings and pongs only show the client is there.
                Ok(Some(Ok(_))) => continue,
            };
            let answer = if text.len() > max_bytes {
                Answer::error("message_too_large", format!("messages are at most {max_bytes} bytes"))
            } else if let Some(token) = auth_token(&text) {
                match &session.participant {
                    Some(_) => Answer::error("already_authenticated", "this connection is signed in"),
                    None => match Box::pin(self.authenticate(session, &token, direct)).await {
                        Ok(answer) => answer,
                        Err((code, answer)) => {
                            let _ = direct.try_send(answer.text());
                            let _ = direct.try_send(Utf8Bytes::from_static(if code == close::FORBIDDEN {
                                CLOSE_FORBIDDEN
                            } else {
                                CLOSE_UNAUTHENTICATED
                            }));
                            return false;
                        }
                    },
                }
            } else {
                match &session.participant {
                    Some(participant) => Box::pin(self.handle(&participant.actor, &text)).await,
                    None => join_first(&text),
                }
            };
            if !answer_to(direct, answer) {
                return false;
            }
        }
    }

    async fn handle(&self, actor: &Actor, text: &str) -> Answer {
        let envelope: Envelope = match serde_json::from_str(text) {
            Ok(envelope) => envelope,
            Err(error) => return Answer::error("malformed_message", format!("not a JSON object: {error}")),
        };
        let request_id = envelope.request_id;
        let with_request = |mut answer: Answer| {
            if let Answer::Error { request_id: slot, .. } = &mut answer {
                *slot = request_id.clone();
            }
            answer
        };
        let command: LiveCommand = match serde_json::from_value(envelope.command) {
            Ok(command) => command,
            Err(error) => return with_request(Answer::error("invalid_message", error.to_string())),
        };
        let client_id = match &command {
            LiveCommand::Comment { client_id, .. } => Some(client_id.clone()),
            _ => None,
        };
        if client_id.is_some()
            && let Err(answer) = self.check_address_rate().await
        {
            return with_client(with_request(answer), client_id);
        }
        let result = match self.state.rooms.live(self.meeting, actor.clone(), command).await {
            Ok(result) => result,
            Err(error) => {
                tracing::warn!(meeting = %self.meeting, %error, "live command failed");
                Err(LiveFailure::Unavailable)
            }
        };
        match result {
            Ok(LiveReply::Posted { comment, seq }) => {
                Answer::Ack { client_id: client_id.unwrap_or_default(), seq, comment: comment.0 }
            }
            Ok(LiveReply::Done { seq }) => Answer::Done { request_id, seq },
            Err(LiveFailure::Refused(error)) => with_client(with_request(refusal(&error)), client_id),
            Err(LiveFailure::Unavailable) => with_client(
                with_request(Answer::error("unavailable", "not stored; retry with the same client_id")),
                client_id,
            ),
        }
    }

    async fn check_address_rate(&self) -> Result<(), Answer> {
        self.state.live_address_limiter.check(super::rate_key(self.address)).await.map_err(|wait| {
            Answer::Error {
                code: "rate_limited".into(),
                message: "too many comments from this address".into(),
                request_id: None,
                client_id: None,
                retry_after_ms: Some(wait.as_millis().try_into().unwrap_or(u64::MAX).max(1)),
            }
        })
    }
}

/// A change of state announced to a meeting's connections.
pub(crate) trait StatusChange: Clone + Send + 'static {
    fn meeting(&self) -> MeetingId;
    fn json(&self) -> &str;
}

impl StatusChange for crate::egress::RestreamChange {
    fn meeting(&self) -> MeetingId {
        self.meeting
    }
    fn json(&self) -> &str {
        &self.json
    }
}

impl StatusChange for crate::platforms::PlatformChange {
    fn meeting(&self) -> MeetingId {
        self.meeting
    }
    fn json(&self) -> &str {
        &self.json
    }
}

/// A state change as sent: `{"type":"restream","status":{…}}` (or `"platform"`), not
/// sequenced (like `viewers`).
fn status_text(kind: &str, change: &impl StatusChange) -> Utf8Bytes {
    format!(r#"{{"type":"{kind}","status":{}}}"#, change.json()).into()
}

/// Passes the meeting's platform reader state changes to a staff connection. They are rare; a
/// connection whose queue is full misses one rather than slowing anything.
async fn forward_changes<C: StatusChange>(
    mut changes: broadcast::Receiver<C>,
    kind: &'static str,
    meeting: MeetingId,
    direct: mpsc::Sender<Utf8Bytes>,
) {
    loop {
        match changes.recv().await {
            Ok(change) if change.meeting() == meeting => {
                if direct.is_closed() {
                    return;
                }
                let _ = direct.try_send(status_text(kind, &change));
            }
            Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Queues an answer for the writer; false when the connection should end, because the writer
/// is gone or the client has stopped reading its answers (the writer then times out).
fn answer_to(direct: &mpsc::Sender<Utf8Bytes>, answer: Answer) -> bool {
    direct.try_send(answer.text()).is_ok()
}

fn with_client(mut answer: Answer, client_id: Option<String>) -> Answer {
    if let Answer::Error { client_id: slot, .. } = &mut answer {
        *slot = client_id;
    }
    answer
}

fn refusal(error: &LiveError) -> Answer {
    Answer::Error {
        code: error.code().to_owned(),
        message: error.to_string(),
        request_id: None,
        client_id: None,
        retry_after_ms: error
            .retry_after()
            .map(|wait| wait.as_millis().clamp(1, i128::from(u64::MAX)) as u64),
    }
}

/// Markers the reader puts in the writer's queue to close the connection with a code.
const CLOSE_IDLE: &str = "\u{0}close-idle";
const CLOSE_UNAUTHENTICATED: &str = "\u{0}close-unauthenticated";
const CLOSE_FORBIDDEN: &str = "\u{0}close-forbidden";
const CLOSE_TOO_BIG: &str = "\u{0}close-too-big";
const CLOSE_INVALID_DATA: &str = "\u{0}close-invalid-data";
const CLOSE_PROTOCOL_ERROR: &str = "\u{0}close-protocol-error";

/// The close for a frame the WebSocket layer refused, from its error's words: axum hides the
/// error's type (and its tungstenite version), but not its message.
fn close_marker_for(error: &str) -> &'static str {
    let error = error.to_ascii_lowercase();
    if error.contains("too long") || error.contains("too big") || error.contains("space limit") {
        CLOSE_TOO_BIG
    } else if error.contains("utf-8") || error.contains("utf8") {
        CLOSE_INVALID_DATA
    } else {
        CLOSE_PROTOCOL_ERROR
    }
}

/// The token of an `{"type":"auth","token":…}` message; `None` for any other message.
fn auth_token(text: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Auth {
        r#type: String,
        token: String,
    }
    // Cheap enough: only a message that parses as exactly this shape is an auth message.
    let auth: Auth = serde_json::from_str(text).ok()?;
    (auth.r#type == "auth").then_some(auth.token)
}

/// The answer to a command from a reader who has not signed in.
fn join_first(text: &str) -> Answer {
    let envelope: Option<Envelope> = serde_json::from_str(text).ok();
    let client_id =
        envelope.as_ref().and_then(|e| e.command.get("client_id")).and_then(Value::as_str).map(str::to_owned);
    Answer::Error {
        code: "join_first".into(),
        message: "reading needs no name; to comment, vote or moderate, send {\"type\":\"auth\",\"token\":\"…\"} first".into(),
        request_id: envelope.and_then(|e| e.request_id),
        client_id,
        retry_after_ms: None,
    }
}

fn close_message(code: u16, reason: &'static str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: Utf8Bytes::from_static(reason) }))
}

/// How long one write may wait on a client that does not read before it counts as gone.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the writer stopped, and what to tell the client.
enum WriterEnd {
    /// Close with this code and reason.
    Close(u16, &'static str),
    /// The socket is gone, or would not take a write in time; nothing more to send.
    Gone,
}

/// What a connection's writer sends from.
struct Feeds {
    /// The room's frames.
    frames: broadcast::Receiver<Arc<LiveFrame>>,
    /// This connection's answers, and the platform readers' states for staff.
    direct: mpsc::Receiver<Utf8Bytes>,
    /// Every meeting's restream state changes; this meeting's are passed on.
    restreams: broadcast::Receiver<crate::egress::RestreamChange>,
}

/// Sends the room's frames, this connection's answers, the meeting's restream states, and
/// pings, until either side ends.
async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    feeds: Feeds,
    meeting: MeetingId,
    reader: watch::Receiver<LogReader>,
    replayed_through: u64,
    ping_every: Duration,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let Feeds { mut frames, mut direct, mut restreams } = feeds;
    let mut restreams_open = true;
    let mut ping = tokio::time::interval(ping_every);
    ping.tick().await;
    let mut sent_through = replayed_through;
    let end = loop {
        let outcome: Result<(), WriterEnd> = tokio::select! {
            biased;
            _ = shutdown.cancelled() => Err(WriterEnd::Close(close::GOING_AWAY, "server shutting down; reconnect and resume")),
            answer = direct.recv() => match answer {
                None => Err(WriterEnd::Gone),
                Some(text) if text.as_str() == CLOSE_IDLE => Err(WriterEnd::Close(close::IDLE, "idle")),
                Some(text) if text.as_str() == CLOSE_UNAUTHENTICATED => Err(WriterEnd::Close(close::UNAUTHENTICATED, "authentication failed")),
                Some(text) if text.as_str() == CLOSE_FORBIDDEN => Err(WriterEnd::Close(close::FORBIDDEN, "authentication failed")),
                Some(text) if text.as_str() == CLOSE_TOO_BIG => Err(WriterEnd::Close(close::TOO_BIG, "frame or message too big")),
                Some(text) if text.as_str() == CLOSE_INVALID_DATA => Err(WriterEnd::Close(close::INVALID_DATA, "text that is not UTF-8")),
                Some(text) if text.as_str() == CLOSE_PROTOCOL_ERROR => Err(WriterEnd::Close(close::PROTOCOL_ERROR, "WebSocket protocol error")),
                Some(text) => write(&mut sink, Message::Text(text)).await,
            },
            frame = frames.recv() => match frame {
                Err(broadcast::error::RecvError::Lagged(_)) => Err(WriterEnd::Close(close::RESUME, "fell behind; reconnect with since and resume")),
                Err(broadcast::error::RecvError::Closed) => Err(WriterEnd::Close(close::GOING_AWAY, "the meeting's channel closed; reconnect and resume")),
                Ok(frame) => {
                    let reader = *reader.borrow();
                    // Feed what else is already waiting, then flush once.
                    let mut result = feed(&mut sink, &frame, reader, &mut sent_through).await;
                    for _ in 1..FRAMES_PER_FLUSH {
                        match frames.try_recv() {
                            Ok(next) if result.is_ok() => result = feed(&mut sink, &next, reader, &mut sent_through).await,
                            Err(broadcast::error::TryRecvError::Lagged(_)) => {
                                result = Err(WriterEnd::Close(close::RESUME, "fell behind; reconnect with since and resume"));
                                break;
                            }
                            _ => break,
                        }
                    }
                    match result {
                        Ok(()) => within_time(sink.flush()).await,
                        Err(end) => Err(end),
                    }
                }
            },
            // Rare: passed on here rather than by a task of their own per connection.
            change = restreams.recv(), if restreams_open => match change {
                Ok(change) if change.meeting() == meeting => write(&mut sink, Message::Text(status_text("restream", &change))).await,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => Ok(()),
                Err(broadcast::error::RecvError::Closed) => {
                    restreams_open = false;
                    Ok(())
                }
            },
            _ = ping.tick() => write(&mut sink, Message::Ping(Default::default())).await,
        };
        if let Err(end) = outcome {
            break end;
        }
    };
    if let WriterEnd::Close(code, reason) = end {
        let _ = within_time(sink.send(close_message(code, reason))).await;
    }
    let _ = within_time(sink.close()).await;
}

/// Runs a socket write, giving up on a client that has not taken anything for a while.
async fn within_time(
    write: impl std::future::Future<Output = Result<(), axum::Error>>,
) -> Result<(), WriterEnd> {
    match tokio::time::timeout(WRITE_TIMEOUT, write).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) | Err(_) => Err(WriterEnd::Gone),
    }
}

async fn write(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    message: Message,
) -> Result<(), WriterEnd> {
    within_time(sink.send(message)).await
}

/// Queues one frame without flushing. Most connections send the frame the room built, shared;
/// one builds its own only when an event is addressed to its viewer, or when its replay
/// already sent some of the frame's events.
async fn feed(
    sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    frame: &LiveFrame,
    reader: LogReader,
    sent_through: &mut u64,
) -> Result<(), WriterEnd> {
    let text = match frame {
        LiveFrame::Viewers(text) => text.clone(),
        LiveFrame::Events { events, staff, public } => {
            let Some(last) = events.last() else { return Ok(()) };
            if last.seq <= *sent_through {
                return Ok(());
            }
            let overlaps = events.first().is_some_and(|first| first.seq <= *sent_through);
            let addressed = matches!(reader, LogReader::Viewer(viewer) if events.iter().any(|e| e.audience == Some(viewer)));
            let text = if overlaps || addressed {
                let fresh = events.iter().filter(|event| event.seq > *sent_through);
                events_frame(fresh, reader).into()
            } else if reader == LogReader::Staff {
                staff.clone()
            } else {
                public.clone()
            };
            *sent_through = last.seq;
            text
        }
    };
    within_time(sink.feed(Message::Text(text))).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_frame_closes_with_the_code_its_error_names() {
        // tungstenite's own wording of each error, as axum passes it on.
        assert_eq!(
            close_marker_for("Space limit exceeded: Message too long: 1048576 > 65536"),
            CLOSE_TOO_BIG
        );
        assert_eq!(close_marker_for("UTF-8 encoding error: invalid utf-8 sequence"), CLOSE_INVALID_DATA);
        assert_eq!(
            close_marker_for("WebSocket protocol error: Reserved bits are non-zero"),
            CLOSE_PROTOCOL_ERROR
        );
        assert_eq!(close_marker_for("IO error: connection reset"), CLOSE_PROTOCOL_ERROR);
    }
}
