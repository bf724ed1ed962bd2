//! VK API 5.199: the comments of one community video or wall post, by the Bots Long Poll API.
//!
//! `groups.getLongPollServer` gives a server, a key and a `ts`; the server is then asked for
//! the events after `ts` (`act=a_check`), holding the request until one comes or the wait
//! passes. The cursor is `ts`: a restart resumes from the stored `ts` with a fresh key. The
//! server's `failed` answers say how to go on ([`recovery`]). Authors' names come from
//! `users.get`, once per author for the client's life.
//!
//! The access token goes in the form body of each method call, never in a URL; the
//! long-poll key is in the a_check URL, which is never shown.

use super::{ClientSettings, SendError, excerpt, lock, reason, scrub_error, send, unix_seconds};
use crate::platforms::connector::{
    ActionError, ActionOutcome, Connector, FetchError, Fetched, PlatformAction, PlatformComment,
};
use async_trait::async_trait;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The API version every call names.
const VERSION: &str = "5.199";
/// Error 6, "too many requests per second": a second's pause is what it asks.
const TOO_MANY_PAUSE: Duration = Duration::from_secs(1);
/// At most this many ids in one `users.get` call (the method takes up to 1,000).
const USERS_PER_CALL: usize = 500;

/// What is followed in the community.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VkObject {
    Video(i64),
    Post(i64),
}

/// The followed object with its owner (the community, negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Target {
    pub owner_id: i64,
    pub object: VkObject,
}

/// The long-poll session: where and with which key to ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub server: String,
    pub key: String,
    pub ts: String,
}

/// A [`Connector`] for the comments of one VK video or post.
pub struct VkClient {
    http: reqwest::Client,
    api: String,
    token: String,
    target: Target,
    request_timeout: Duration,
    long_poll_seconds: u32,
    session: Mutex<Option<Session>>,
    /// Authors' names by user id, as `users.get` gave them.
    names: Mutex<HashMap<i64, String>>,
}

impl VkClient {
    pub fn new(
        http: reqwest::Client,
        settings: &ClientSettings,
        token: String,
        owner_id: i64,
        object: VkObject,
    ) -> VkClient {
        VkClient {
            http,
            api: settings.endpoints.vk_api.trim_end_matches('/').to_owned(),
            token,
            target: Target { owner_id, object },
            request_timeout: settings.request_timeout,
            long_poll_seconds: settings.long_poll_seconds,
            session: Mutex::new(None),
            names: Mutex::new(HashMap::new()),
        }
    }

    /// The community's id, for the group methods: the owner id without its minus.
    fn group_id(&self) -> i64 {
        self.target.owner_id.saturating_abs()
    }

    /// One API method, as a POST form with the token and the version.
    async fn method(&self, name: &str, params: &[(&str, String)]) -> Result<serde_json::Value, FetchError> {
        let mut form: Vec<(&str, &str)> = params.iter().map(|(key, value)| (*key, value.as_str())).collect();
        form.push(("access_token", &self.token));
        form.push(("v", VERSION));
        let request = self.http.post(format!("{}/method/{name}", self.api)).form(&form);
        let answer = send(request, self.request_timeout).await.map_err(SendError::into_fetch)?;
        parse_method(answer.status, &answer.body).map_err(|error| scrub_error(error, &self.token))
    }

    /// A new server and key; its `ts` is where the events start if there is no other.
    async fn long_poll_server(&self) -> Result<Session, FetchError> {
        let response =
            self.method("groups.getLongPollServer", &[("group_id", self.group_id().to_string())]).await?;
        let session = parse_session(response)?;
        *lock(&self.session) = Some(session.clone());
        Ok(session)
    }

    /// Names for the authors not seen before; on failure they keep their `VK id…` names.
    async fn name(&self, comments: &mut [PlatformComment]) {
        let unknown: Vec<i64> = {
            let names = lock(&self.names);
            let mut ids: Vec<i64> = comments
                .iter()
                .filter_map(|comment| comment.author_id.parse::<i64>().ok())
                .filter(|id| *id > 0 && !names.contains_key(id))
                .collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        for ids in unknown.chunks(USERS_PER_CALL) {
            let joined = ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",");
            match self.method("users.get", &[("user_ids", joined)]).await.and_then(parse_users) {
                Ok(found) => lock(&self.names).extend(found),
                Err(error) => {
                    tracing::warn!(platform = "vk", %error, "users.get failed; authors keep their ids as names")
                }
            }
        }
        let names = lock(&self.names);
        for comment in comments {
            if let Some(name) = comment.author_id.parse::<i64>().ok().and_then(|id| names.get(&id)) {
                comment.author_name = name.clone();
            }
        }
    }

    async fn check(&self, cursor: Option<&str>) -> Result<Fetched, FetchError> {
        let known = lock(&self.session).clone();
        let mut session = match known {
            Some(session) => session,
            None => self.long_poll_server().await?,
        };
        // The stored cursor wins over the new server's ts: a restart resumes where it was.
        if let Some(cursor) = cursor {
            session.ts = cursor.to_owned();
        }
        let query = [
            ("act", "a_check".to_owned()),
            ("key", session.key.clone()),
            ("ts", session.ts.clone()),
            ("wait", self.long_poll_seconds.to_string()),
        ];
        let timeout = self.request_timeout + Duration::from_secs(u64::from(self.long_poll_seconds));
        let request = self.http.get(&session.server).query(&query);
        let answer = send(request, timeout).await.map_err(SendError::into_fetch)?;
        let check = parse_check(answer.status, &answer.body, self.target)
            .map_err(|error| scrub_error(scrub_error(error, &self.token), &session.key))?;
        let ts = match check {
            Check::Events { ts, mut comments } => {
                self.name(&mut comments).await;
                if let Some(known) = lock(&self.session).as_mut() {
                    known.ts = ts.clone();
                }
                return Ok(Fetched { comments, cursor: Some(ts), ..Fetched::default() });
            }
            Check::Failed(Recovery::Resume(ts)) => ts,
            Check::Failed(Recovery::RenewKey) => {
                let mut fresh = self.long_poll_server().await?;
                fresh.ts = session.ts.clone();
                *lock(&self.session) = Some(fresh);
                session.ts
            }
            Check::Failed(Recovery::Restart) => {
                let fresh = self.long_poll_server().await?;
                tracing::warn!(
                    platform = "vk",
                    lost_from = %session.ts,
                    resumed_at = %fresh.ts,
                    "the long-poll server lost its events (failed 3): comments in between may be missed"
                );
                fresh.ts
            }
        };
        if let Some(known) = lock(&self.session).as_mut() {
            known.ts = ts.clone();
        }
        Ok(Fetched { cursor: Some(ts), ..Fetched::default() })
    }

    async fn act_on(&self, action: &PlatformAction) -> Result<(), FetchError> {
        match action {
            PlatformAction::Remove { external_id } => {
                let Some((owner_id, comment_id)) = parse_external_id(external_id) else {
                    return Err(FetchError::Malformed {
                        reason: format!("{external_id} is no VK comment id"),
                    });
                };
                let method = match self.target.object {
                    VkObject::Video(_) => "video.deleteComment",
                    VkObject::Post(_) => "wall.deleteComment",
                };
                let params = [("owner_id", owner_id.to_string()), ("comment_id", comment_id.to_string())];
                self.method(method, &params).await.map(drop)
            }
            PlatformAction::Ban { author_id, minutes } => {
                let Ok(user_id) = author_id.parse::<i64>() else {
                    return Err(FetchError::Malformed { reason: format!("{author_id} is no VK user id") });
                };
                let mut params = vec![
                    ("group_id", self.group_id().to_string()),
                    ("owner_id", user_id.to_string()),
                    ("comment_visible", "1".to_owned()),
                ];
                if let Some(minutes) = minutes {
                    let end = jiff::Timestamp::now().as_second() + i64::from(*minutes) * 60;
                    params.push(("end_date", end.to_string()));
                }
                self.method("groups.ban", &params).await.map(drop)
            }
        }
    }
}

#[async_trait]
impl Connector for VkClient {
    async fn fetch(&self, cursor: Option<&str>) -> Result<Fetched, FetchError> {
        let result = self.check(cursor).await;
        if matches!(result, Err(FetchError::Unauthorized { .. })) {
            // A new token comes with a new client, but a stale key is never worth keeping.
            lock(&self.session).take();
        }
        result
    }

    async fn act(&self, action: &PlatformAction) -> Result<ActionOutcome, ActionError> {
        self.act_on(action)
            .await
            .map(|()| ActionOutcome::default())
            .map_err(|error| ActionError::Refused { reason: reason(error) })
    }
}

/// `"<owner_id>_<comment id>"`, as the comments were named.
pub(crate) fn parse_external_id(external_id: &str) -> Option<(i64, i64)> {
    let (owner, id) = external_id.rsplit_once('_')?;
    Some((owner.parse().ok()?, id.parse().ok()?))
}

/// A method's answer: `{"response": ..}` or `{"error": {"error_code", "error_msg"}}`.
#[derive(Deserialize)]
struct MethodAnswer {
    response: Option<serde_json::Value>,
    error: Option<MethodError>,
}

#[derive(Deserialize)]
struct MethodError {
    error_code: i64,
    #[serde(default)]
    error_msg: String,
}

/// A method's `response`, or its error as a [`FetchError`] by the error's code.
// https://dev.vk.com/en/reference/errors (5 authorization failed, 6 too many requests per
// second, 9 flood control, 15 access denied, 27 group authorization failed, 28 application
// authorization failed, 29 rate limit reached) and https://dev.vk.com/en/api/api-requests
pub(crate) fn parse_method(status: u16, body: &[u8]) -> Result<serde_json::Value, FetchError> {
    let answer = match serde_json::from_slice::<MethodAnswer>(body) {
        Ok(answer) => answer,
        Err(error) if (200..300).contains(&status) => {
            return Err(FetchError::Malformed { reason: format!("VK's answer: {error}") });
        }
        Err(_) => {
            let text = excerpt(&String::from_utf8_lossy(body), 200);
            return Err(FetchError::Transient { reason: format!("HTTP {status}: {text}") });
        }
    };
    if let Some(error) = answer.error {
        let described = format!("VK error {}: {}", error.error_code, error.error_msg);
        return Err(match error.error_code {
            5 | 15 | 27 | 28 => FetchError::Unauthorized { reason: described },
            6 => FetchError::BackOff { reason: described, retry_after: Some(TOO_MANY_PAUSE), quota_units: 0 },
            9 | 29 => FetchError::BackOff { reason: described, retry_after: None, quota_units: 0 },
            _ => FetchError::Transient { reason: described },
        });
    }
    answer
        .response
        .ok_or_else(|| FetchError::Malformed { reason: "VK's answer has neither response nor error".into() })
}

/// A `ts` as VK writes it: a string in most answers, a number in some.
fn ts_text(value: &serde_json::Value) -> Option<String> {
    match value {
        serde_json::Value::String(text) if !text.is_empty() => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    }
}

#[derive(Deserialize)]
struct ServerResponse {
    key: String,
    server: String,
    ts: serde_json::Value,
}

/// `groups.getLongPollServer`'s response.
// https://dev.vk.com/en/method/groups.getLongPollServer
pub(crate) fn parse_session(response: serde_json::Value) -> Result<Session, FetchError> {
    let malformed =
        |what: String| FetchError::Malformed { reason: format!("groups.getLongPollServer: {what}") };
    let response: ServerResponse =
        serde_json::from_value(response).map_err(|error| malformed(error.to_string()))?;
    let ts = ts_text(&response.ts).ok_or_else(|| malformed("no ts".into()))?;
    if response.key.is_empty() || response.server.is_empty() {
        return Err(malformed("no key or server".into()));
    }
    Ok(Session { server: response.server, key: response.key, ts })
}

#[derive(Deserialize)]
struct UserItem {
    id: i64,
    #[serde(default)]
    first_name: String,
    #[serde(default)]
    last_name: String,
}

/// `users.get`'s response: names by id.
// https://dev.vk.com/en/method/users.get
pub(crate) fn parse_users(response: serde_json::Value) -> Result<Vec<(i64, String)>, FetchError> {
    let users: Vec<UserItem> = serde_json::from_value(response)
        .map_err(|error| FetchError::Malformed { reason: format!("users.get: {error}") })?;
    Ok(users
        .into_iter()
        .filter_map(|user| {
            let name = format!("{} {}", user.first_name.trim(), user.last_name.trim()).trim().to_owned();
            (!name.is_empty()).then_some((user.id, name))
        })
        .collect())
}

/// What to do after a `failed` answer of the long-poll server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Recovery {
    /// `failed: 1`: the events before this `ts` are gone or the `ts` was out of range; go on
    /// from it with the same key.
    Resume(String),
    /// `failed: 2`: the key expired; a new one from `groups.getLongPollServer`, the same `ts`.
    RenewKey,
    /// `failed: 3`: the server lost the session; a new key and `ts`. Comments written in
    /// between may be missed.
    Restart,
}

/// The decision for a `failed` answer, by the Bots Long Poll API's rules. A `failed: 1`
/// without a usable `ts` is handled as `3`: there is nothing to go on from.
// https://dev.vk.com/en/api/bots-long-poll/getting-started ("failed" 1, 2, 3)
pub(crate) fn recovery(failed: i64, ts: Option<&serde_json::Value>) -> Option<Recovery> {
    match failed {
        1 => Some(ts.and_then(ts_text).map_or(Recovery::Restart, Recovery::Resume)),
        2 => Some(Recovery::RenewKey),
        3 => Some(Recovery::Restart),
        _ => None,
    }
}

/// One a_check answer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// The comments on the target among the events, and the `ts` to ask after next.
    Events {
        ts: String,
        comments: Vec<PlatformComment>,
    },
    Failed(Recovery),
}

#[derive(Deserialize)]
struct CheckAnswer {
    ts: Option<serde_json::Value>,
    failed: Option<i64>,
    updates: Option<Vec<serde_json::Value>>,
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    object: serde_json::Value,
}

/// `video_comment_new`'s object: a comment with its video.
#[derive(Deserialize)]
struct VideoComment {
    id: i64,
    from_id: i64,
    date: Option<i64>,
    #[serde(default)]
    text: String,
    video_owner_id: i64,
    video_id: i64,
}

/// `wall_reply_new`'s object: a comment with its post.
#[derive(Deserialize)]
struct WallReply {
    id: i64,
    from_id: i64,
    date: Option<i64>,
    #[serde(default)]
    text: String,
    post_owner_id: i64,
    post_id: i64,
}

/// An a_check answer: the target's new comments, or what a `failed` asks. Events of other
/// kinds and comments on other videos or posts are passed over; so is an event whose object
/// does not read, so that one odd event cannot hold the reading back. Names are
/// `VK id<from_id>` until `users.get` gives better.
// https://dev.vk.com/en/api/bots-long-poll/getting-started (the answer),
// https://dev.vk.com/en/api/community-events/json-schema (video_comment_new, wall_reply_new)
pub(crate) fn parse_check(status: u16, body: &[u8], target: Target) -> Result<Check, FetchError> {
    if !(200..300).contains(&status) {
        let text = excerpt(&String::from_utf8_lossy(body), 200);
        return Err(FetchError::Transient {
            reason: format!("the long-poll server answered HTTP {status}: {text}"),
        });
    }
    let answer: CheckAnswer = serde_json::from_slice(body)
        .map_err(|error| FetchError::Malformed { reason: format!("the long-poll answer: {error}") })?;
    if let Some(failed) = answer.failed {
        return recovery(failed, answer.ts.as_ref()).map(Check::Failed).ok_or_else(|| {
            FetchError::Malformed { reason: format!("the long-poll server answered failed {failed}") }
        });
    }
    let (Some(ts), Some(updates)) = (answer.ts.as_ref().and_then(ts_text), answer.updates) else {
        return Err(FetchError::Malformed { reason: "the long-poll answer has no ts or no updates".into() });
    };
    let comments = updates.into_iter().filter_map(|update| event_comment(update, target)).collect();
    Ok(Check::Events { ts, comments })
}

fn event_comment(update: serde_json::Value, target: Target) -> Option<PlatformComment> {
    let event: Event = serde_json::from_value(update).ok()?;
    let owner = target.owner_id;
    let (id, from_id, date, text, url) = match (event.kind.as_str(), target.object) {
        ("video_comment_new", VkObject::Video(video)) => {
            let comment: VideoComment = read_object(event.object)?;
            if comment.video_owner_id != owner || comment.video_id != video {
                return None;
            }
            (
                comment.id,
                comment.from_id,
                comment.date,
                comment.text,
                format!("https://vk.com/video{owner}_{video}"),
            )
        }
        ("wall_reply_new", VkObject::Post(post)) => {
            let reply: WallReply = read_object(event.object)?;
            if reply.post_owner_id != owner || reply.post_id != post {
                return None;
            }
            let url = format!("https://vk.com/wall{owner}_{post}?reply={}", reply.id);
            (reply.id, reply.from_id, reply.date, reply.text, url)
        }
        _ => return None,
    };
    // A comment of stickers or photos alone has no text to moderate.
    if text.trim().is_empty() {
        return None;
    }
    Some(PlatformComment {
        external_id: format!("{owner}_{id}"),
        author_id: from_id.to_string(),
        author_name: format!("VK id{from_id}"),
        text,
        url: Some(url),
        published_at: date.and_then(unix_seconds),
    })
}

fn read_object<T: serde::de::DeserializeOwned>(object: serde_json::Value) -> Option<T> {
    serde_json::from_value(object)
        .map_err(|error| tracing::warn!(platform = "vk", %error, "an odd event object was passed over"))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIDEO: Target = Target { owner_id: -123, object: VkObject::Video(456) };
    const POST: Target = Target { owner_id: -123, object: VkObject::Post(789) };

    // https://dev.vk.com/en/api/bots-long-poll/getting-started (the answer's form) with objects
    // as https://dev.vk.com/en/api/community-events/json-schema#video_comment_new and
    // #wall_reply_new describe them.
    const EVENTS: &str = r#"{"ts": "4", "updates": [
      {"type": "video_comment_new", "event_id": "e1", "v": "5.199", "group_id": 123,
       "object": {"id": 11, "from_id": 1, "date": 1709668800, "text": "Когда починят дорогу?",
                  "video_owner_id": -123, "video_id": 456}},
      {"type": "video_comment_new", "event_id": "e2", "v": "5.199", "group_id": 123,
       "object": {"id": 12, "from_id": 2, "date": 1709668801, "text": "другое видео",
                  "video_owner_id": -123, "video_id": 999}},
      {"type": "wall_reply_new", "event_id": "e3", "v": "5.199", "group_id": 123,
       "object": {"id": 13, "from_id": 3, "date": 1709668802, "text": "Спасибо за ответ",
                  "post_owner_id": -123, "post_id": 789, "parents_stack": [], "thread": {"count": 0}}},
      {"type": "message_new", "event_id": "e4", "v": "5.199", "group_id": 123,
       "object": {"message": {"id": 1, "text": "в личку"}}},
      {"type": "video_comment_new", "event_id": "e5", "v": "5.199", "group_id": 123,
       "object": {"id": "not a number"}}
    ]}"#;

    #[test]
    fn comment_events_on_the_followed_object_become_comments() {
        let Ok(Check::Events { ts, comments }) = parse_check(200, EVENTS.as_bytes(), VIDEO) else {
            panic!("events");
        };
        assert_eq!(ts, "4");
        assert_eq!(
            comments,
            vec![PlatformComment {
                external_id: "-123_11".into(),
                author_id: "1".into(),
                author_name: "VK id1".into(),
                text: "Когда починят дорогу?".into(),
                url: Some("https://vk.com/video-123_456".into()),
                published_at: unix_seconds(1709668800),
            }]
        );
        let Ok(Check::Events { comments, .. }) = parse_check(200, EVENTS.as_bytes(), POST) else {
            panic!("events");
        };
        assert_eq!(comments.len(), 1);
        assert_eq!(comments[0].external_id, "-123_13");
        assert_eq!(comments[0].url.as_deref(), Some("https://vk.com/wall-123_789?reply=13"));
    }

    #[test]
    fn failed_answers_decide_how_to_go_on() {
        // https://dev.vk.com/en/api/bots-long-poll/getting-started: {"failed":1,"ts":30},
        // {"failed":2}, {"failed":3}
        assert_eq!(
            parse_check(200, br#"{"failed": 1, "ts": 30}"#, VIDEO),
            Ok(Check::Failed(Recovery::Resume("30".into())))
        );
        assert_eq!(parse_check(200, br#"{"failed": 2}"#, VIDEO), Ok(Check::Failed(Recovery::RenewKey)));
        assert_eq!(parse_check(200, br#"{"failed": 3}"#, VIDEO), Ok(Check::Failed(Recovery::Restart)));
        assert_eq!(recovery(1, Some(&serde_json::json!("31"))), Some(Recovery::Resume("31".into())));
        assert_eq!(recovery(1, None), Some(Recovery::Restart));
        assert_eq!(recovery(4, None), None);
        assert!(matches!(parse_check(200, br#"{"failed": 4}"#, VIDEO), Err(FetchError::Malformed { .. })));
    }

    #[test]
    fn odd_long_poll_answers_are_malformed_or_transient() {
        assert!(matches!(parse_check(200, b"<html>", VIDEO), Err(FetchError::Malformed { .. })));
        assert!(matches!(parse_check(200, br#"{"ts": "4"}"#, VIDEO), Err(FetchError::Malformed { .. })));
        assert!(matches!(parse_check(502, b"Bad Gateway", VIDEO), Err(FetchError::Transient { .. })));
    }

    #[test]
    fn api_errors_are_sorted_by_their_codes() {
        // https://dev.vk.com/en/reference/errors (error 5) with the answer's form from
        // https://dev.vk.com/en/api/api-requests
        let body = br#"{"error": {"error_code": 5, "error_msg": "User authorization failed: invalid access_token (4).",
          "request_params": [{"key": "method", "value": "groups.getLongPollServer"}, {"key": "v", "value": "5.199"}]}}"#;
        assert_eq!(
            parse_method(200, body),
            Err(FetchError::Unauthorized {
                reason: "VK error 5: User authorization failed: invalid access_token (4).".into()
            })
        );
        let body = br#"{"error": {"error_code": 6, "error_msg": "Too many requests per second"}}"#;
        assert!(matches!(
            parse_method(200, body),
            Err(FetchError::BackOff { retry_after: Some(TOO_MANY_PAUSE), .. })
        ));
        let body = br#"{"error": {"error_code": 100, "error_msg": "One of the parameters specified was missing or invalid"}}"#;
        assert!(matches!(parse_method(200, body), Err(FetchError::Transient { .. })));
        assert_eq!(parse_method(200, br#"{"response": 1}"#), Ok(serde_json::json!(1)));
        assert!(matches!(parse_method(200, b"{}"), Err(FetchError::Malformed { .. })));
    }

    #[test]
    fn the_long_poll_server_and_names_read() {
        // https://dev.vk.com/en/method/groups.getLongPollServer
        let response = serde_json::json!({"key": "abc", "server": "https://lp.vk.com/whp/123", "ts": "42"});
        assert_eq!(
            parse_session(response),
            Ok(Session { server: "https://lp.vk.com/whp/123".into(), key: "abc".into(), ts: "42".into() })
        );
        assert!(parse_session(serde_json::json!({"key": "abc"})).is_err());
        // https://dev.vk.com/en/method/users.get
        let users = serde_json::json!([{"id": 1, "first_name": "Айгерим", "last_name": "Нурланова",
                                        "can_access_closed": true, "is_closed": false}]);
        assert_eq!(parse_users(users), Ok(vec![(1, "Айгерим Нурланова".to_owned())]));
        assert_eq!(parse_external_id("-123_11"), Some((-123, 11)));
        assert_eq!(parse_external_id("11"), None);
    }
}
