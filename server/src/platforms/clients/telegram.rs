//! Telegram Bot API: the comments under one channel post.
//!
//! A channel's comments live in its linked discussion group: each post appears there as a
//! message with `is_automatic_forward`, and a comment is a message of the group that replies
//! to that forward, or (a reply to another comment) carries the forward's id as its
//! `message_thread_id`. The bot, an admin of the group, reads the group's messages with
//! `getUpdates` long polling; the cursor keeps the next update's offset and, once the forward
//! was seen, its id in the group, so a restart still knows the thread.
//!
//! The bot token is part of every method's path, so no URL is ever shown (see
//! [`super::send`]).

use super::{ClientSettings, SendError, excerpt, lock, reason, scrub_error, send, unix_seconds};
use crate::platforms::connector::{
    ActionError, ActionOutcome, Connector, FetchError, Fetched, PlatformAction, PlatformComment,
};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::sync::Mutex;
use std::time::Duration;

/// The post followed: its discussion group and its id in the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Post {
    pub chat_id: i64,
    pub post_id: i64,
}

/// Where reading resumes (stored by the supervisor as JSON `{"offset":N,"thread":M|null}`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cursor {
    /// The next `getUpdates` offset: one past the last update read; 0 before any.
    #[serde(default)]
    pub offset: i64,
    /// The id, in the group, of the post's automatic forward, once seen.
    #[serde(default)]
    pub thread: Option<i64>,
}

impl Cursor {
    /// A stored cursor; one that does not read (another version's) starts afresh, which at
    /// worst reads again the updates Telegram still keeps.
    pub fn parse(stored: Option<&str>) -> Cursor {
        let Some(stored) = stored else { return Cursor::default() };
        serde_json::from_str(stored).unwrap_or_else(|error| {
            tracing::warn!(platform = "telegram", %error, "a stored cursor did not read; starting afresh");
            Cursor::default()
        })
    }

    fn to_json(self) -> String {
        serde_json::json!({ "offset": self.offset, "thread": self.thread }).to_string()
    }
}

/// A [`Connector`] for the comments of one channel post.
pub struct TelegramClient {
    http: reqwest::Client,
    api: String,
    token: String,
    post: Post,
    request_timeout: Duration,
    long_poll_seconds: u32,
    /// The channel's public username, for links, once a forward of its post showed it.
    channel: Mutex<Option<String>>,
}

impl TelegramClient {
    pub fn new(
        http: reqwest::Client,
        settings: &ClientSettings,
        token: String,
        chat_id: i64,
        post_id: i64,
    ) -> TelegramClient {
        TelegramClient {
            http,
            api: settings.endpoints.telegram_api.trim_end_matches('/').to_owned(),
            token,
            post: Post { chat_id, post_id },
            request_timeout: settings.request_timeout,
            long_poll_seconds: settings.long_poll_seconds,
            channel: Mutex::new(None),
        }
    }

    fn method(&self, name: &str) -> String {
        format!("{}/bot{}/{name}", self.api, self.token)
    }

    /// A moderation method: `true` on `{"ok":true}`, the description as the refusal
    /// otherwise.
    async fn moderate(&self, method: &str, body: serde_json::Value) -> Result<ActionOutcome, ActionError> {
        let request = self.http.post(self.method(method)).json(&body);
        let answer = send(request, self.request_timeout).await.map_err(SendError::into_action)?;
        match parse_answer(answer.status, &answer.body) {
            Ok(_) => Ok(ActionOutcome::default()),
            Err(error) => Err(ActionError::Refused { reason: reason(scrub_error(error, &self.token)) }),
        }
    }
}

#[async_trait]
impl Connector for TelegramClient {
    async fn fetch(&self, cursor: Option<&str>) -> Result<Fetched, FetchError> {
        let cursor = Cursor::parse(cursor);
        let mut body =
            serde_json::json!({ "timeout": self.long_poll_seconds, "allowed_updates": ["message"] });
        if cursor.offset > 0 {
            body["offset"] = cursor.offset.into();
        }
        // The platform holds the request up to the poll's length: the timeout comes on top.
        let timeout = self.request_timeout + Duration::from_secs(u64::from(self.long_poll_seconds));
        let request = self.http.post(self.method("getUpdates")).json(&body);
        let answer = send(request, timeout).await.map_err(SendError::into_fetch)?;
        let channel = lock(&self.channel).clone();
        let batch =
            parse_updates(answer.status, &answer.body, self.post, cursor, channel).map_err(|error| {
                // Descriptions are Telegram's; it does not echo tokens, but a text shown and
                // logged is not the place to find out.
                scrub_error(error, &self.token)
            })?;
        if batch.channel.is_some() {
            *lock(&self.channel) = batch.channel;
        }
        let cursor = (batch.cursor != cursor).then(|| batch.cursor.to_json());
        Ok(Fetched { comments: batch.comments, cursor, wait: Duration::ZERO, quota_units: 0, resolved: None })
    }

    async fn act(&self, action: &PlatformAction) -> Result<ActionOutcome, ActionError> {
        match action {
            PlatformAction::Remove { external_id } => {
                let Some((chat_id, message_id)) = parse_external_id(external_id) else {
                    return Err(ActionError::Refused {
                        reason: format!("{external_id} is no Telegram comment id"),
                    });
                };
                self.moderate(
                    "deleteMessage",
                    serde_json::json!({ "chat_id": chat_id, "message_id": message_id }),
                )
                .await
            }
            PlatformAction::Ban { author_id, minutes } => {
                let Ok(user_id) = author_id.parse::<i64>() else {
                    return Err(ActionError::Refused {
                        reason: format!("{author_id} is no Telegram user id"),
                    });
                };
                let mut body = serde_json::json!({ "chat_id": self.post.chat_id, "user_id": user_id });
                if let Some(minutes) = minutes {
                    // Telegram bans for good when until_date is absent (or under 30 s away).
                    let until = jiff::Timestamp::now().as_second() + i64::from(*minutes) * 60;
                    body["until_date"] = until.into();
                }
                self.moderate("banChatMember", body).await
            }
        }
    }
}

/// `"<chat_id>:<message_id>"`, as the comments were named.
pub(crate) fn parse_external_id(external_id: &str) -> Option<(i64, i64)> {
    let (chat, message) = external_id.split_once(':')?;
    Some((chat.parse().ok()?, message.parse().ok()?))
}

/// Every Bot API answer: `{"ok":true,"result":..}` or `{"ok":false,"error_code","description",
/// "parameters":{"retry_after"}}`.
#[derive(Deserialize)]
struct Envelope {
    ok: bool,
    result: Option<serde_json::Value>,
    description: Option<String>,
    error_code: Option<u16>,
    parameters: Option<ResponseParameters>,
}

#[derive(Deserialize)]
struct ResponseParameters {
    retry_after: Option<u64>,
}

/// The `result` of a successful answer, or why there was none.
// https://core.telegram.org/bots/api#making-requests (the answer's fields) and
// https://core.telegram.org/bots/api#responseparameters (retry_after).
pub(crate) fn parse_answer(status: u16, body: &[u8]) -> Result<serde_json::Value, FetchError> {
    let envelope = match serde_json::from_slice::<Envelope>(body) {
        Ok(envelope) => envelope,
        Err(error) => {
            let text = excerpt(&String::from_utf8_lossy(body), 200);
            return Err(match status {
                200..=299 => FetchError::Malformed { reason: format!("the Bot API's answer: {error}") },
                401 | 403 => FetchError::Unauthorized { reason: format!("HTTP {status}: {text}") },
                _ => FetchError::Transient { reason: format!("HTTP {status}: {text}") },
            });
        }
    };
    if envelope.ok {
        return envelope.result.ok_or_else(|| FetchError::Malformed {
            reason: "the Bot API's answer has ok but no result".into(),
        });
    }
    let code = envelope.error_code.unwrap_or(status);
    let description = envelope.description.unwrap_or_else(|| format!("error {code}"));
    Err(match code {
        429 => FetchError::BackOff {
            reason: description,
            retry_after: envelope
                .parameters
                .and_then(|parameters| parameters.retry_after)
                .map(Duration::from_secs),
            quota_units: 0,
        },
        // The token was revoked (401), or the bot was removed from the group (403).
        401 | 403 => FetchError::Unauthorized { reason: description },
        _ => FetchError::Transient { reason: description },
    })
}

#[derive(Deserialize)]
struct Update {
    update_id: i64,
    message: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Message {
    message_id: i64,
    chat: Chat,
    date: Option<i64>,
    from: Option<User>,
    sender_chat: Option<Chat>,
    text: Option<String>,
    caption: Option<String>,
    message_thread_id: Option<i64>,
    #[serde(default)]
    is_automatic_forward: bool,
    forward_origin: Option<MessageOrigin>,
    forward_from_chat: Option<Chat>,
    forward_from_message_id: Option<i64>,
    reply_to_message: Option<Box<Message>>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
    username: Option<String>,
}

#[derive(Deserialize)]
struct User {
    id: i64,
    first_name: Option<String>,
    last_name: Option<String>,
    username: Option<String>,
}

/// Bot API 7.0's origin of a forward; a channel's has its chat and message id.
#[derive(Deserialize)]
struct MessageOrigin {
    chat: Option<Chat>,
    message_id: Option<i64>,
}

impl Message {
    /// The channel post this automatic forward copies, by Bot API 7's `forward_origin` or
    /// the older `forward_from_message_id`.
    fn original_post(&self) -> Option<i64> {
        self.forward_origin.as_ref().and_then(|origin| origin.message_id).or(self.forward_from_message_id)
    }

    fn is_forward_of(&self, post_id: i64) -> bool {
        self.is_automatic_forward && self.original_post() == Some(post_id)
    }

    /// The channel's public username, as the forward shows it.
    fn channel_username(&self) -> Option<String> {
        let origin = self.forward_origin.as_ref().and_then(|origin| origin.chat.as_ref());
        [origin, self.forward_from_chat.as_ref(), self.sender_chat.as_ref()]
            .into_iter()
            .flatten()
            .find_map(|chat| chat.username.clone())
            .filter(|name| !name.is_empty())
    }
}

/// What one `getUpdates` answer brought.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Batch {
    pub comments: Vec<PlatformComment>,
    pub cursor: Cursor,
    /// The channel's username if known (given or learnt here).
    pub channel: Option<String>,
}

/// The comments on `post` among the updates of one `getUpdates` answer. Every update moves
/// the offset on, comment or not: the others are the group's other talk. An update that is
/// not a message in the documented shape is passed over, so that one odd update cannot hold
/// the reading back.
// https://core.telegram.org/bots/api#getupdates, https://core.telegram.org/bots/api#update,
// https://core.telegram.org/bots/api#message (is_automatic_forward, forward_origin,
// message_thread_id, reply_to_message) and https://core.telegram.org/bots/api#messageoriginchannel
pub(crate) fn parse_updates(
    status: u16,
    body: &[u8],
    post: Post,
    cursor: Cursor,
    channel: Option<String>,
) -> Result<Batch, FetchError> {
    let result = parse_answer(status, body)?;
    let updates: Vec<serde_json::Value> = serde_json::from_value(result)
        .map_err(|error| FetchError::Malformed { reason: format!("getUpdates' result: {error}") })?;
    let mut batch = Batch { comments: Vec::new(), cursor, channel };
    for update in updates {
        let update: Update = serde_json::from_value(update)
            .map_err(|error| FetchError::Malformed { reason: format!("an update: {error}") })?;
        batch.cursor.offset = batch.cursor.offset.max(update.update_id.saturating_add(1));
        let Some(message) = update.message else { continue };
        let message: Message = match serde_json::from_value(message) {
            Ok(message) => message,
            Err(error) => {
                tracing::warn!(platform = "telegram", update = update.update_id, %error, "an odd message was passed over");
                continue;
            }
        };
        if let Some(comment) = take(message, post, &mut batch) {
            batch.comments.push(comment);
        }
    }
    Ok(batch)
}

/// The message as a comment on `post`, learning the thread and the channel's name on the way.
fn take(message: Message, post: Post, batch: &mut Batch) -> Option<PlatformComment> {
    if message.chat.id != post.chat_id {
        return None;
    }
    if message.is_forward_of(post.post_id) {
        // The post itself, as the group shows it: its id there names the comments' thread.
        batch.cursor.thread = Some(message.message_id);
        batch.channel = message.channel_username().or(batch.channel.take());
        return None;
    }
    if message.is_automatic_forward {
        return None;
    }
    let on_post = match &message.reply_to_message {
        Some(reply) if reply.is_automatic_forward => {
            let ours = reply.is_forward_of(post.post_id);
            if ours {
                batch.cursor.thread = Some(reply.message_id);
                batch.channel = reply.channel_username().or(batch.channel.take());
            }
            ours
        }
        _ => message.message_thread_id.is_some() && message.message_thread_id == batch.cursor.thread,
    };
    // Service messages (members joining, pins) carry neither text nor caption.
    let text = message.text.or(message.caption)?;
    if !on_post {
        return None;
    }
    let (author_id, author_name) = match (&message.from, &message.sender_chat) {
        (Some(user), _) => (user.id.to_string(), user_name(user)),
        (None, Some(chat)) => (chat.id.to_string(), format!("Telegram chat {}", chat.id)),
        (None, None) => (String::new(), "Telegram".to_owned()),
    };
    let url = batch
        .channel
        .as_ref()
        .map(|channel| format!("https://t.me/{channel}/{}?comment={}", post.post_id, message.message_id));
    Some(PlatformComment {
        external_id: format!("{}:{}", post.chat_id, message.message_id),
        author_id,
        author_name,
        text,
        url,
        published_at: message.date.and_then(unix_seconds),
    })
}

/// `first_name last_name`, or the username, or the id when Telegram gave neither.
fn user_name(user: &User) -> String {
    let full = [user.first_name.as_deref(), user.last_name.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect::<Vec<_>>()
        .join(" ");
    if !full.is_empty() {
        return full;
    }
    match &user.username {
        Some(username) if !username.is_empty() => username.clone(),
        _ => format!("Telegram id{}", user.id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POST: Post = Post { chat_id: -1001234567890, post_id: 42 };

    /// The automatic forward of channel post `post_id` into the group, as message `id` there.
    // https://core.telegram.org/bots/api#message (is_automatic_forward, sender_chat,
    // forward_origin) and https://core.telegram.org/bots/api#messageoriginchannel
    fn forward(id: i64, post_id: i64) -> serde_json::Value {
        serde_json::json!({
            "message_id": id,
            "sender_chat": {"id": -1009876543210_i64, "title": "Акимат", "username": "akimat_news", "type": "channel"},
            "chat": {"id": POST.chat_id, "title": "Акимат: обсуждение", "type": "supergroup"},
            "date": 1709668800,
            "is_automatic_forward": true,
            "forward_origin": {
                "type": "channel",
                "chat": {"id": -1009876543210_i64, "title": "Акимат", "username": "akimat_news", "type": "channel"},
                "message_id": post_id,
                "date": 1709668790
            },
            "text": "Встреча акима с жителями"
        })
    }

    fn from() -> serde_json::Value {
        serde_json::json!({"id": 555, "is_bot": false, "first_name": "Айгерим", "last_name": "Н.", "username": "aigerim"})
    }

    // https://core.telegram.org/bots/api#getupdates: {"ok":true,"result":[Update]}
    fn answer(updates: Vec<serde_json::Value>) -> Vec<u8> {
        let result: Vec<_> = updates
            .into_iter()
            .enumerate()
            .map(|(index, message)| serde_json::json!({"update_id": 1000 + index as i64, "message": message}))
            .collect();
        serde_json::to_vec(&serde_json::json!({"ok": true, "result": result})).expect("JSON")
    }

    fn read(updates: Vec<serde_json::Value>, cursor: Cursor) -> Batch {
        parse_updates(200, &answer(updates), POST, cursor, None).expect("a batch")
    }

    #[test]
    fn a_reply_to_the_posts_forward_is_a_comment() {
        let reply = serde_json::json!({
            "message_id": 77, "from": from(), "chat": {"id": POST.chat_id, "type": "supergroup"},
            "date": 1709668900, "message_thread_id": 70, "reply_to_message": forward(70, 42),
            "text": "Когда починят дорогу?"
        });
        let batch = read(vec![reply], Cursor::default());
        assert_eq!(batch.cursor, Cursor { offset: 1001, thread: Some(70) });
        assert_eq!(batch.channel.as_deref(), Some("akimat_news"));
        assert_eq!(
            batch.comments,
            vec![PlatformComment {
                external_id: "-1001234567890:77".into(),
                author_id: "555".into(),
                author_name: "Айгерим Н.".into(),
                text: "Когда починят дорогу?".into(),
                url: Some("https://t.me/akimat_news/42?comment=77".into()),
                published_at: unix_seconds(1709668900),
            }]
        );
    }

    #[test]
    fn a_reply_to_another_posts_forward_is_not() {
        let reply = serde_json::json!({
            "message_id": 78, "from": from(), "chat": {"id": POST.chat_id, "type": "supergroup"},
            "message_thread_id": 60, "reply_to_message": forward(60, 41), "text": "про другой пост"
        });
        let batch = read(vec![reply], Cursor { offset: 5, thread: Some(70) });
        assert!(batch.comments.is_empty());
        assert_eq!(
            batch.cursor,
            Cursor { offset: 1001, thread: Some(70) },
            "the offset moves on all the same"
        );
    }

    #[test]
    fn a_thread_message_counts_once_the_forward_was_seen() {
        // A reply to a comment replies to that comment, not to the forward: only the thread
        // id ties it to the post.
        let comment = serde_json::json!({"message_id": 77, "from": from(), "chat": {"id": POST.chat_id},
                                         "message_thread_id": 70, "text": "первый"});
        let thread_reply = serde_json::json!({
            "message_id": 79, "from": {"id": 556, "is_bot": false, "first_name": "Ерлан"},
            "chat": {"id": POST.chat_id, "type": "supergroup"}, "message_thread_id": 70,
            "reply_to_message": comment, "text": "согласен"
        });
        let before = read(vec![thread_reply.clone()], Cursor::default());
        assert!(before.comments.is_empty(), "the thread is not known yet");
        let after = read(vec![forward(70, 42), thread_reply], Cursor::default());
        assert_eq!(after.cursor.thread, Some(70));
        assert_eq!(after.comments.len(), 1, "the forward itself is no comment");
        assert_eq!(after.comments[0].external_id, "-1001234567890:79");
        assert_eq!(after.comments[0].author_name, "Ерлан");
        // A thread known from the stored cursor is enough.
        let stored = Cursor::parse(Some(r#"{"offset":1000,"thread":70}"#));
        let comment = serde_json::json!({"message_id": 80, "from": from(), "chat": {"id": POST.chat_id},
                                         "message_thread_id": 70, "caption": "фото ямы"});
        let batch = read(vec![comment], stored);
        assert_eq!(batch.comments.len(), 1);
        assert_eq!(batch.comments[0].text, "фото ямы");
        assert_eq!(batch.comments[0].url, None, "no channel name seen yet");
    }

    #[test]
    fn the_forward_and_service_messages_are_no_comments() {
        let joined = serde_json::json!({"message_id": 81, "from": from(), "chat": {"id": POST.chat_id},
                                        "message_thread_id": 70, "new_chat_members": [from()]});
        let elsewhere = serde_json::json!({"message_id": 82, "from": from(), "chat": {"id": -100999},
                                           "message_thread_id": 70, "text": "другая группа"});
        let batch = read(vec![forward(70, 42), joined, elsewhere], Cursor::default());
        assert!(batch.comments.is_empty());
        assert_eq!(batch.cursor, Cursor { offset: 1003, thread: Some(70) });
    }

    #[test]
    fn older_forward_fields_are_understood() {
        // Bot API before 7.0: forward_from_chat and forward_from_message_id.
        let old = serde_json::json!({
            "message_id": 70, "chat": {"id": POST.chat_id}, "is_automatic_forward": true,
            "forward_from_chat": {"id": -1009876543210_i64, "type": "channel", "username": "akimat_news"},
            "forward_from_message_id": 42, "text": "пост"
        });
        let reply = serde_json::json!({"message_id": 71, "from": {"id": 9, "username": "nick"},
                                       "chat": {"id": POST.chat_id}, "reply_to_message": old, "text": "да"});
        let batch = read(vec![reply], Cursor::default());
        assert_eq!(batch.comments.len(), 1);
        assert_eq!(batch.comments[0].author_name, "nick");
        assert_eq!(batch.comments[0].url.as_deref(), Some("https://t.me/akimat_news/42?comment=71"));
    }

    #[test]
    fn too_many_requests_backs_off_as_long_as_asked() {
        // https://core.telegram.org/bots/api#responseparameters and
        // https://core.telegram.org/bots/faq#my-bot-is-hitting-limits-how-do-i-avoid-this
        let body = br#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 7","parameters":{"retry_after":7}}"#;
        assert_eq!(
            parse_updates(429, body, POST, Cursor::default(), None),
            Err(FetchError::BackOff {
                reason: "Too Many Requests: retry after 7".into(),
                retry_after: Some(Duration::from_secs(7)),
                quota_units: 0
            })
        );
    }

    #[test]
    fn a_revoked_token_or_a_removed_bot_is_unauthorized() {
        // https://core.telegram.org/bots/api#making-requests (error_code, description)
        let body = br#"{"ok":false,"error_code":401,"description":"Unauthorized"}"#;
        assert!(matches!(parse_answer(401, body), Err(FetchError::Unauthorized { .. })));
        let body = br#"{"ok":false,"error_code":403,"description":"Forbidden: bot was kicked from the supergroup chat"}"#;
        assert!(matches!(parse_answer(403, body), Err(FetchError::Unauthorized { .. })));
        let body = br#"{"ok":false,"error_code":409,"description":"Conflict: terminated by other getUpdates request"}"#;
        assert_eq!(
            parse_answer(409, body),
            Err(FetchError::Transient { reason: "Conflict: terminated by other getUpdates request".into() })
        );
        assert!(matches!(parse_answer(200, b"<html>"), Err(FetchError::Malformed { .. })));
        assert!(matches!(parse_answer(502, b"Bad Gateway"), Err(FetchError::Transient { .. })));
        let not_a_list = br#"{"ok":true,"result":{"update_id":1}}"#;
        assert!(matches!(
            parse_updates(200, not_a_list, POST, Cursor::default(), None),
            Err(FetchError::Malformed { .. })
        ));
    }

    #[test]
    fn cursors_and_ids_read_back() {
        let cursor = Cursor { offset: 12, thread: None };
        assert_eq!(cursor.to_json(), r#"{"offset":12,"thread":null}"#);
        assert_eq!(Cursor::parse(Some(&cursor.to_json())), cursor);
        assert_eq!(Cursor::parse(Some("garbage")), Cursor::default());
        assert_eq!(parse_external_id("-1001234567890:77"), Some((-1001234567890, 77)));
        assert_eq!(parse_external_id("77"), None);
    }
}
