//! YouTube Data API v3: a broadcast's live chat.
//!
//! - The channel owner's refresh token is exchanged for an access token at Google's OAuth
//!   endpoint, which is kept until shortly before it expires and renewed once when the API
//!   answers 401 (a token can be revoked before its time).
//! - The chat to read is the follow's `live_chat_id`, or the `activeLiveChatId` of its video,
//!   or the chat of the channel's active broadcast (`liveBroadcasts.list?broadcastStatus=active`): the one
//!   the restream feeds.
//! - `liveChatMessages.list` is polled with `nextPageToken` as the cursor, waiting
//!   `pollingIntervalMillis` between calls, as the API asks.
//! - Every call costs quota from the akimat's Google project (10,000 units a day by default),
//!   so each fetch and action says what it spent: 5 per list, 1 per lookup, 50 per delete
//!   or ban.

use super::{Answer, ClientSettings, SendError, excerpt, lock, reason, send};
use crate::platforms::connector::{
    ActionError, ActionOutcome, Connector, FetchError, Fetched, PlatformAction, PlatformComment,
};
use async_trait::async_trait;
use jiff::Timestamp;
use serde::Deserialize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Quota costs, from the API's quota calculator.
const LIST_UNITS: u64 = 5;
const LOOKUP_UNITS: u64 = 1;
const DELETE_UNITS: u64 = 50;
const BAN_UNITS: u64 = 50;

/// The polling interval is the API's to set, within bounds that keep a wrong value from
/// spinning on the quota or stalling the chat.
const SHORTEST_POLL: Duration = Duration::from_millis(200);
const LONGEST_POLL: Duration = Duration::from_secs(30);
/// When a page carries no interval (it always should).
const DEFAULT_POLL: Duration = Duration::from_secs(1);
/// `rateLimitExceeded` means the pages were asked for too quickly: a short pause is enough.
const RATE_LIMIT_PAUSE: Duration = Duration::from_secs(5);
/// An access token is renewed this long before Google says it expires.
const RENEW_EARLY: Duration = Duration::from_secs(60);

/// The OAuth client of the akimat's Google project and the channel owner's refresh token.
pub struct OauthClient {
    pub client_id: String,
    pub client_secret: String,
    pub refresh_token: String,
}

/// The chat being read, once known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Chat {
    pub live_chat_id: String,
    /// The broadcast's video, for links; unknown when only the chat id was given.
    pub video_id: Option<String>,
}

impl Chat {
    fn describe(&self) -> String {
        match &self.video_id {
            Some(video) => format!("liveChatId {} (video {video})", self.live_chat_id),
            None => format!("liveChatId {}", self.live_chat_id),
        }
    }
}

struct AccessToken {
    value: String,
    renew_at: Instant,
}

/// A [`Connector`] for one YouTube live chat.
pub struct YoutubeClient {
    http: reqwest::Client,
    api: String,
    oauth: String,
    timeout: Duration,
    client: OauthClient,
    live_chat_id: Option<String>,
    video_id: Option<String>,
    token: Mutex<Option<AccessToken>>,
    chat: Mutex<Option<Chat>>,
    /// The chat last forgotten because it ended: a page token belongs to its chat, so the
    /// stored cursor is not carried over to the next broadcast's.
    ended_chat: Mutex<Option<String>>,
}

impl YoutubeClient {
    pub fn new(
        http: reqwest::Client,
        settings: &ClientSettings,
        client: OauthClient,
        live_chat_id: Option<String>,
        video_id: Option<String>,
    ) -> YoutubeClient {
        YoutubeClient {
            http,
            api: settings.endpoints.youtube_api.trim_end_matches('/').to_owned(),
            oauth: settings.endpoints.youtube_oauth.trim_end_matches('/').to_owned(),
            timeout: settings.request_timeout,
            client,
            live_chat_id,
            video_id,
            token: Mutex::new(None),
            chat: Mutex::new(None),
            ended_chat: Mutex::new(None),
        }
    }

    /// The cached access token, or a new one from the refresh token.
    async fn access_token(&self) -> Result<String, FetchError> {
        if let Some(token) = lock(&self.token).as_ref()
            && Instant::now() < token.renew_at
        {
            return Ok(token.value.clone());
        }
        let form = [
            ("grant_type", "refresh_token"),
            ("client_id", self.client.client_id.as_str()),
            ("client_secret", self.client.client_secret.as_str()),
            ("refresh_token", self.client.refresh_token.as_str()),
        ];
        let request = self.http.post(format!("{}/token", self.oauth)).form(&form);
        let answer = send(request, self.timeout).await.map_err(SendError::into_fetch)?;
        let (value, lifetime) = parse_token(answer.status, &answer.body)?;
        let renew_in = if lifetime > RENEW_EARLY * 2 { lifetime - RENEW_EARLY } else { lifetime / 2 };
        *lock(&self.token) = Some(AccessToken { value: value.clone(), renew_at: Instant::now() + renew_in });
        Ok(value)
    }

    /// One API call with the access token as a bearer header; on a 401 the token is renewed
    /// and the call made once more. Each call made adds `cost` to `units`.
    async fn call(
        &self,
        units: &mut u64,
        cost: u64,
        request: impl Fn() -> reqwest::RequestBuilder,
    ) -> Result<Answer, FetchError> {
        let mut renewed = false;
        loop {
            let token = self.access_token().await?;
            *units += cost;
            let answer =
                send(request().bearer_auth(&token), self.timeout).await.map_err(SendError::into_fetch)?;
            if answer.status == 401 && !renewed {
                // Revoked or expired early: a fresh exchange says which (`invalid_grant`).
                lock(&self.token).take();
                renewed = true;
                continue;
            }
            return Ok(answer);
        }
    }

    /// The chat to read, looked up once (1 unit) when the follow did not name it.
    async fn chat(&self, units: &mut u64) -> Result<Chat, FetchError> {
        if let Some(chat) = lock(&self.chat).clone() {
            return Ok(chat);
        }
        let chat = if let Some(live_chat_id) = &self.live_chat_id {
            Chat { live_chat_id: live_chat_id.clone(), video_id: self.video_id.clone() }
        } else if let Some(video_id) = &self.video_id {
            let url = format!("{}/youtube/v3/videos", self.api);
            let query = [("part", "liveStreamingDetails"), ("id", video_id.as_str())];
            let answer = self.call(units, LOOKUP_UNITS, || self.http.get(&url).query(&query)).await?;
            let live_chat_id = parse_video(answer.status, &answer.body, video_id, Timestamp::now())
                .map_err(|error| with_units(error, *units))?;
            Chat { live_chat_id, video_id: Some(video_id.clone()) }
        } else {
            let url = format!("{}/youtube/v3/liveBroadcasts", self.api);
            // `broadcastStatus` is one of the three filters, of which exactly one may be given: it
            // already means the authorized channel's broadcasts.
            let query = [("part", "snippet"), ("broadcastStatus", "active"), ("broadcastType", "all")];
            let answer = self.call(units, LOOKUP_UNITS, || self.http.get(&url).query(&query)).await?;
            parse_broadcasts(answer.status, &answer.body, Timestamp::now())
                .map_err(|error| with_units(error, *units))?
        };
        tracing::info!(platform = "youtube", resolved = %chat.describe(), "reading the live chat");
        *lock(&self.chat) = Some(chat.clone());
        Ok(chat)
    }

    /// A chat that ended is forgotten when it was found by lookup, so that the channel's next
    /// broadcast (a restarted stream) is found again.
    fn forget_chat(&self) {
        if self.live_chat_id.is_none()
            && let Some(chat) = lock(&self.chat).take()
        {
            *lock(&self.ended_chat) = Some(chat.live_chat_id);
        }
    }

    async fn list(&self, units: &mut u64, cursor: Option<&str>) -> Result<Fetched, FetchError> {
        let chat = self.chat(units).await?;
        let mut cursor = cursor;
        {
            let mut ended = lock(&self.ended_chat);
            if ended.as_ref().is_some_and(|ended| *ended != chat.live_chat_id) {
                tracing::info!(platform = "youtube", "a new broadcast's chat: reading it from its start");
                cursor = None;
                ended.take();
            }
        }
        let url = format!("{}/youtube/v3/liveChat/messages", self.api);
        let mut query = vec![
            ("liveChatId", chat.live_chat_id.as_str()),
            ("part", "snippet,authorDetails"),
            ("maxResults", "2000"),
        ];
        if let Some(cursor) = cursor {
            query.push(("pageToken", cursor));
        }
        let answer = self.call(units, LIST_UNITS, || self.http.get(&url).query(&query)).await?;
        let mut fetched =
            parse_messages(answer.status, &answer.body, chat.video_id.as_deref(), Timestamp::now())
                .map_err(|error| with_units(error, *units))?;
        fetched.resolved = Some(chat.describe());
        Ok(fetched)
    }

    async fn remove(&self, units: &mut u64, id: &str) -> Result<(), FetchError> {
        let url = format!("{}/youtube/v3/liveChat/messages", self.api);
        let answer = self.call(units, DELETE_UNITS, || self.http.delete(&url).query(&[("id", id)])).await?;
        expect_success(answer.status, &answer.body)
    }

    async fn ban(&self, units: &mut u64, channel_id: &str, minutes: Option<u32>) -> Result<(), FetchError> {
        let chat = self.chat(units).await?;
        let body = ban_body(&chat.live_chat_id, channel_id, minutes);
        let url = format!("{}/youtube/v3/liveChat/bans", self.api);
        let answer = self
            .call(units, BAN_UNITS, || self.http.post(&url).query(&[("part", "snippet")]).json(&body))
            .await?;
        expect_success(answer.status, &answer.body)
    }
}

#[async_trait]
impl Connector for YoutubeClient {
    async fn fetch(&self, cursor: Option<&str>) -> Result<Fetched, FetchError> {
        let mut units = 0;
        let result = self.list(&mut units, cursor).await;
        match &result {
            Ok(fetched) => {
                tracing::debug!(platform = "youtube", comments = fetched.comments.len(), units, "read")
            }
            Err(FetchError::Gone { .. }) => self.forget_chat(),
            Err(_) => {}
        }
        result
            .map(|fetched| Fetched { quota_units: units, ..fetched })
            .map_err(|error| with_units(error, units))
    }

    async fn act(&self, action: &PlatformAction) -> Result<ActionOutcome, ActionError> {
        let mut units = 0;
        let result = match action {
            PlatformAction::Remove { external_id } => self.remove(&mut units, external_id).await,
            PlatformAction::Ban { author_id, minutes } => self.ban(&mut units, author_id, *minutes).await,
        };
        match result {
            Ok(()) => Ok(ActionOutcome { quota_units: units }),
            Err(error) => Err(ActionError::Refused { reason: reason(error) }),
        }
    }
}

/// `liveChatBans.insert`'s resource: temporary for `minutes`, or permanent.
pub(crate) fn ban_body(live_chat_id: &str, channel_id: &str, minutes: Option<u32>) -> serde_json::Value {
    let mut snippet = serde_json::json!({
        "liveChatId": live_chat_id,
        "type": "permanent",
        "bannedUserDetails": { "channelId": channel_id },
    });
    if let Some(minutes) = minutes {
        snippet["type"] = "temporary".into();
        snippet["banDurationSeconds"] = (u64::from(minutes.max(1)) * 60).into();
    }
    serde_json::json!({ "snippet": snippet })
}

/// A back-off carries the units spent so far, since the calls before it were charged.
fn with_units(error: FetchError, units: u64) -> FetchError {
    match error {
        FetchError::BackOff { reason, retry_after, .. } => {
            FetchError::BackOff { reason, retry_after, quota_units: units }
        }
        other => other,
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct TokenRefusal {
    error: String,
    error_description: Option<String>,
}

/// The refresh-token exchange's answer: the access token and how long it lives.
// https://developers.google.com/identity/protocols/oauth2/web-server#offline ("Refreshing an
// access token"), and RFC 6749 section 5.2 for the error answer.
pub(crate) fn parse_token(status: u16, body: &[u8]) -> Result<(String, Duration), FetchError> {
    if (200..300).contains(&status) {
        let answer: TokenAnswer = serde_json::from_slice(body)
            .map_err(|error| FetchError::Malformed { reason: format!("Google's token answer: {error}") })?;
        if answer.access_token.is_empty() {
            return Err(FetchError::Malformed { reason: "Google's token answer has no access_token".into() });
        }
        return Ok((answer.access_token, Duration::from_secs(answer.expires_in.unwrap_or(3600))));
    }
    let refusal = serde_json::from_slice::<TokenRefusal>(body).ok();
    let described = match &refusal {
        Some(TokenRefusal { error, error_description: Some(description) }) => {
            format!("{error}: {description}")
        }
        Some(TokenRefusal { error, error_description: None }) => error.clone(),
        None => format!("HTTP {status}: {}", excerpt(&String::from_utf8_lossy(body), 200)),
    };
    match refusal.as_ref().map(|refusal| refusal.error.as_str()) {
        // The refresh token was revoked or expired, or the OAuth client is gone: only the
        // akim connecting the channel again helps.
        Some("invalid_grant" | "invalid_client" | "unauthorized_client" | "invalid_scope") => {
            Err(FetchError::Unauthorized {
                reason: format!("Google refused the refresh token ({described})"),
            })
        }
        _ if status == 429 => Err(FetchError::BackOff {
            reason: format!("Google's token endpoint: {described}"),
            retry_after: Some(RATE_LIMIT_PAUSE),
            quota_units: 0,
        }),
        _ => Err(FetchError::Transient { reason: format!("Google's token endpoint: {described}") }),
    }
}

/// The API's error answer (`{"error":{"code","message","errors":[{"reason","domain"}]}}`).
#[derive(Deserialize)]
struct ErrorAnswer {
    error: ErrorBody,
}

#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    message: String,
    #[serde(default)]
    errors: Vec<ErrorItem>,
}

#[derive(Deserialize)]
struct ErrorItem {
    #[serde(default)]
    reason: String,
}

/// A refusal from the API as a [`FetchError`], by its HTTP status and its first `reason`.
// https://developers.google.com/youtube/v3/live/docs/liveChatMessages/list#errors and
// https://developers.google.com/youtube/v3/docs/errors (the "core API errors": quotaExceeded,
// rateLimitExceeded, authError, forbidden, insufficientPermissions).
pub(crate) fn classify(status: u16, body: &[u8], now: Timestamp) -> FetchError {
    let answer = serde_json::from_slice::<ErrorAnswer>(body).ok();
    let reason =
        answer.as_ref().and_then(|answer| answer.error.errors.first()).map(|item| item.reason.as_str());
    let message = match &answer {
        Some(answer) => answer.error.message.clone(),
        None => excerpt(&String::from_utf8_lossy(body), 200),
    };
    let described = match reason {
        Some(reason) if !reason.is_empty() => format!("HTTP {status} {reason}: {message}"),
        _ => format!("HTTP {status}: {message}"),
    };
    match (status, reason.unwrap_or("")) {
        (_, "quotaExceeded" | "dailyLimitExceeded") => FetchError::BackOff {
            reason: format!("the Google project's daily YouTube quota is spent ({described})"),
            retry_after: Some(until_quota_reset(now)),
            quota_units: 0,
        },
        (_, "rateLimitExceeded" | "userRateLimitExceeded") | (429, _) => {
            FetchError::BackOff { reason: described, retry_after: Some(RATE_LIMIT_PAUSE), quota_units: 0 }
        }
        (401, _) | (403, "authError" | "forbidden" | "insufficientPermissions" | "accessNotConfigured") => {
            FetchError::Unauthorized { reason: described }
        }
        (_, "liveChatNotFound" | "liveChatEnded" | "liveChatDisabled" | "videoNotFound") | (404, _) => {
            FetchError::Gone { reason: described }
        }
        _ => FetchError::Transient { reason: described },
    }
}

/// How long until YouTube's quota is renewed: at midnight Pacific time. An hour if the time
/// zone is somehow unknown.
fn until_quota_reset(now: Timestamp) -> Duration {
    const FALLBACK: Duration = Duration::from_secs(3600);
    let Ok(pacific) = jiff::tz::TimeZone::get("America/Los_Angeles") else { return FALLBACK };
    let today = now.to_zoned(pacific.clone()).date();
    let Ok(midnight) = today.tomorrow().and_then(|tomorrow| tomorrow.to_zoned(pacific)) else {
        return FALLBACK;
    };
    // A minute past midnight, so the first call after the wait is not just before the reset.
    Duration::try_from(now.duration_until(midnight.timestamp()))
        .map_or(FALLBACK, |wait| wait + Duration::from_secs(60))
}

fn expect_success(status: u16, body: &[u8]) -> Result<(), FetchError> {
    if (200..300).contains(&status) { Ok(()) } else { Err(classify(status, body, Timestamp::now())) }
}

fn malformed(what: &str, error: serde_json::Error) -> FetchError {
    FetchError::Malformed { reason: format!("{what}: {error}") }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VideoList {
    items: Vec<Video>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Video {
    live_streaming_details: Option<LiveStreamingDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LiveStreamingDetails {
    active_live_chat_id: Option<String>,
    actual_end_time: Option<String>,
}

/// `videos.list?part=liveStreamingDetails`: the video's active chat.
// https://developers.google.com/youtube/v3/docs/videos#liveStreamingDetails.activeLiveChatId
pub(crate) fn parse_video(
    status: u16,
    body: &[u8],
    video_id: &str,
    now: Timestamp,
) -> Result<String, FetchError> {
    if !(200..300).contains(&status) {
        return Err(classify(status, body, now));
    }
    let list: VideoList = serde_json::from_slice(body).map_err(|error| malformed("videos.list", error))?;
    let Some(video) = list.items.into_iter().next() else {
        return Err(FetchError::Gone { reason: format!("YouTube has no video {video_id}") });
    };
    let Some(details) = video.live_streaming_details else {
        return Err(FetchError::Gone { reason: format!("the video {video_id} is not a live broadcast") });
    };
    match details.active_live_chat_id {
        Some(chat) if details.actual_end_time.is_none() && !chat.is_empty() => Ok(chat),
        _ if details.actual_end_time.is_some() => {
            Err(FetchError::Gone { reason: format!("the broadcast of video {video_id} has ended") })
        }
        _ => Err(FetchError::Gone { reason: format!("the video {video_id} has no active live chat") }),
    }
}

#[derive(Deserialize)]
struct BroadcastList {
    items: Vec<Broadcast>,
}

#[derive(Deserialize)]
struct Broadcast {
    id: String,
    snippet: BroadcastSnippet,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BroadcastSnippet {
    live_chat_id: Option<String>,
}

/// `liveBroadcasts.list?broadcastStatus=active`: the channel's live broadcast.
// https://developers.google.com/youtube/v3/live/docs/liveBroadcasts/list and
// https://developers.google.com/youtube/v3/live/docs/liveBroadcasts#snippet.liveChatId
pub(crate) fn parse_broadcasts(status: u16, body: &[u8], now: Timestamp) -> Result<Chat, FetchError> {
    if !(200..300).contains(&status) {
        return Err(classify(status, body, now));
    }
    let list: BroadcastList =
        serde_json::from_slice(body).map_err(|error| malformed("liveBroadcasts.list", error))?;
    let Some(broadcast) = list.items.into_iter().find(|item| item.snippet.live_chat_id.is_some()) else {
        return Err(FetchError::Gone {
            reason: "the channel has no active broadcast with a live chat".into(),
        });
    };
    let live_chat_id = broadcast.snippet.live_chat_id.unwrap_or_default();
    Ok(Chat { live_chat_id, video_id: Some(broadcast.id) })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageList {
    next_page_token: Option<String>,
    polling_interval_millis: Option<u64>,
    offline_at: Option<String>,
    items: Vec<Message>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Message {
    id: Option<String>,
    snippet: Option<MessageSnippet>,
    author_details: Option<AuthorDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MessageSnippet {
    #[serde(rename = "type")]
    kind: Option<String>,
    published_at: Option<String>,
    display_message: Option<String>,
    text_message_details: Option<TextMessageDetails>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TextMessageDetails {
    message_text: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuthorDetails {
    channel_id: Option<String>,
    display_name: Option<String>,
}

/// One `liveChatMessages.list` answer: its text messages as comments, the next page's token
/// as the cursor and the asked pause as the wait. Other events (super chats, memberships,
/// deletions, bans) are not comments. A page with no new message after the broadcast went
/// offline (`offlineAt`) means the chat is over.
// https://developers.google.com/youtube/v3/live/docs/liveChatMessages/list#response and
// https://developers.google.com/youtube/v3/live/docs/liveChatMessages#resource
pub(crate) fn parse_messages(
    status: u16,
    body: &[u8],
    video_id: Option<&str>,
    now: Timestamp,
) -> Result<Fetched, FetchError> {
    if !(200..300).contains(&status) {
        return Err(classify(status, body, now));
    }
    let list: MessageList =
        serde_json::from_slice(body).map_err(|error| malformed("liveChatMessages.list", error))?;
    if list.items.is_empty()
        && let Some(offline_at) = &list.offline_at
    {
        return Err(FetchError::Gone { reason: format!("the broadcast went offline at {offline_at}") });
    }
    let url = video_id.map(|video| format!("https://www.youtube.com/watch?v={video}"));
    let comments = list.items.into_iter().filter_map(|item| comment(item, url.as_ref())).collect();
    let wait = list
        .polling_interval_millis
        .map_or(DEFAULT_POLL, Duration::from_millis)
        .clamp(SHORTEST_POLL, LONGEST_POLL);
    Ok(Fetched { comments, cursor: list.next_page_token, wait, quota_units: 0, resolved: None })
}

fn comment(item: Message, url: Option<&String>) -> Option<PlatformComment> {
    let snippet = item.snippet?;
    if snippet.kind.as_deref() != Some("textMessageEvent") {
        return None;
    }
    let text =
        snippet.text_message_details.and_then(|details| details.message_text).or(snippet.display_message)?;
    let (Some(external_id), Some(author)) = (item.id, item.author_details) else {
        tracing::warn!(platform = "youtube", "a text message without its id or author was skipped");
        return None;
    };
    let author_id = author.channel_id.unwrap_or_default();
    let author_name = author.display_name.unwrap_or_else(|| "YouTube".to_owned());
    Some(PlatformComment {
        external_id,
        author_id,
        author_name,
        text,
        url: url.cloned(),
        published_at: snippet.published_at.and_then(|at| at.parse().ok()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        // 2024-03-05T20:00:00Z, noon in Los Angeles (PST, UTC-8).
        "2024-03-05T20:00:00Z".parse().expect("a timestamp")
    }

    // https://developers.google.com/youtube/v3/live/docs/liveChatMessages/list#response,
    // with items shaped as https://developers.google.com/youtube/v3/live/docs/liveChatMessages#resource
    const MESSAGES: &str = r#"{
      "kind": "youtube#liveChatMessageListResponse",
      "etag": "abc",
      "nextPageToken": "GOCs1Zq",
      "pollingIntervalMillis": 3000,
      "pageInfo": {"totalResults": 3, "resultsPerPage": 3},
      "items": [
        {
          "kind": "youtube#liveChatMessage",
          "etag": "e1",
          "id": "LCC.msg1",
          "snippet": {
            "type": "textMessageEvent",
            "liveChatId": "chat1",
            "authorChannelId": "UCauthor1",
            "publishedAt": "2024-03-05T19:59:58.123+00:00",
            "hasDisplayContent": true,
            "displayMessage": "Когда починят дорогу?",
            "textMessageDetails": {"messageText": "Когда починят дорогу?"}
          },
          "authorDetails": {
            "channelId": "UCauthor1",
            "channelUrl": "http://www.youtube.com/channel/UCauthor1",
            "displayName": "Айгерим",
            "profileImageUrl": "https://yt3.ggpht.com/x",
            "isVerified": false, "isChatOwner": false, "isChatSponsor": false, "isChatModerator": false
          }
        },
        {
          "kind": "youtube#liveChatMessage",
          "id": "LCC.msg2",
          "snippet": {
            "type": "superChatEvent",
            "liveChatId": "chat1",
            "publishedAt": "2024-03-05T19:59:59Z",
            "hasDisplayContent": true,
            "displayMessage": "$5.00 from Bob",
            "superChatDetails": {"amountMicros": "5000000", "currency": "USD", "tier": 1}
          },
          "authorDetails": {"channelId": "UCbob", "displayName": "Bob"}
        },
        {
          "kind": "youtube#liveChatMessage",
          "id": "LCC.msg3",
          "snippet": {
            "type": "textMessageEvent",
            "publishedAt": "2024-03-05T20:00:00Z",
            "displayMessage": "only the display message"
          },
          "authorDetails": {"channelId": "UCauthor2", "displayName": "Ерлан"}
        }
      ]
    }"#;

    #[test]
    fn text_messages_become_comments_with_the_next_page_and_the_asked_wait() {
        let fetched = parse_messages(200, MESSAGES.as_bytes(), Some("vid1"), now()).expect("a page");
        assert_eq!(fetched.cursor.as_deref(), Some("GOCs1Zq"));
        assert_eq!(fetched.wait, Duration::from_millis(3000));
        assert_eq!(fetched.comments.len(), 2, "the super chat is no comment");
        let first = &fetched.comments[0];
        assert_eq!(first.external_id, "LCC.msg1");
        assert_eq!(first.author_id, "UCauthor1");
        assert_eq!(first.author_name, "Айгерим");
        assert_eq!(first.text, "Когда починят дорогу?");
        assert_eq!(first.url.as_deref(), Some("https://www.youtube.com/watch?v=vid1"));
        assert_eq!(first.published_at, Some("2024-03-05T19:59:58.123Z".parse().expect("a timestamp")));
        assert_eq!(fetched.comments[1].text, "only the display message");
        assert_eq!(fetched.comments[1].author_id, "UCauthor2");
    }

    #[test]
    fn the_polling_interval_is_kept_within_bounds() {
        let page = |ms: u64| format!(r#"{{"pollingIntervalMillis": {ms}, "items": []}}"#);
        let wait = |ms| parse_messages(200, page(ms).as_bytes(), None, now()).expect("a page").wait;
        assert_eq!(wait(0), SHORTEST_POLL);
        assert_eq!(wait(600_000), LONGEST_POLL);
        assert_eq!(wait(5_000), Duration::from_secs(5));
    }

    #[test]
    fn an_offline_chat_is_gone_once_its_last_messages_are_read() {
        // https://developers.google.com/youtube/v3/live/docs/liveChatMessages/list#response (offlineAt)
        let last = r#"{"offlineAt": "2024-03-05T21:00:00Z", "pollingIntervalMillis": 1000, "nextPageToken": "t2",
          "items": [{"id": "LCC.last", "snippet": {"type": "textMessageEvent", "displayMessage": "пока"},
                     "authorDetails": {"channelId": "UC1", "displayName": "A"}}]}"#;
        let fetched = parse_messages(200, last.as_bytes(), None, now()).expect("the last page");
        assert_eq!(fetched.comments.len(), 1);
        assert_eq!(fetched.comments[0].url, None, "no video, no link");
        let over = r#"{"offlineAt": "2024-03-05T21:00:00Z", "pollingIntervalMillis": 1000, "items": []}"#;
        assert!(matches!(parse_messages(200, over.as_bytes(), None, now()), Err(FetchError::Gone { .. })));
    }

    // https://developers.google.com/youtube/v3/docs/errors#quotaExceeded (the core API error format)
    const QUOTA: &str = r#"{"error": {"code": 403,
      "message": "The request cannot be completed because you have exceeded your <a href=\"/youtube/v3/getting-started#quota\">quota</a>.",
      "errors": [{"message": "The request cannot be completed because you have exceeded your quota.",
                  "domain": "youtube.quota", "reason": "quotaExceeded"}]}}"#;

    #[test]
    fn a_spent_quota_backs_off_until_midnight_in_california() {
        let Err(FetchError::BackOff { reason, retry_after, .. }) =
            parse_messages(403, QUOTA.as_bytes(), None, now())
        else {
            panic!("quotaExceeded backs off");
        };
        assert!(reason.contains("quotaExceeded"), "{reason}");
        // Noon PST: 12 hours to midnight, and the minute after it.
        assert_eq!(retry_after, Some(Duration::from_secs(12 * 3600 + 60)));
    }

    #[test]
    fn a_back_off_reports_the_units_already_spent() {
        let error = with_units(classify(403, QUOTA.as_bytes(), now()), 6);
        assert!(matches!(error, FetchError::BackOff { quota_units: 6, .. }));
    }

    #[test]
    fn asking_too_fast_backs_off_briefly() {
        // https://developers.google.com/youtube/v3/live/docs/liveChatMessages/list#errors (rateLimitExceeded)
        let body = r#"{"error": {"code": 403, "message": "The request was sent too soon after the previous one.",
          "errors": [{"domain": "youtube.liveChat", "reason": "rateLimitExceeded"}]}}"#;
        let error = classify(403, body.as_bytes(), now());
        assert_eq!(
            error,
            FetchError::BackOff {
                reason: "HTTP 403 rateLimitExceeded: The request was sent too soon after the previous one."
                    .into(),
                retry_after: Some(RATE_LIMIT_PAUSE),
                quota_units: 0
            }
        );
    }

    #[test]
    fn a_refused_credential_is_unauthorized() {
        // https://developers.google.com/youtube/v3/docs/errors#authError (401 authError)
        let body = r#"{"error": {"code": 401, "message": "Request had invalid authentication credentials.",
          "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError",
                      "location": "Authorization", "locationType": "header"}], "status": "UNAUTHENTICATED"}}"#;
        assert!(matches!(
            parse_messages(401, body.as_bytes(), None, now()),
            Err(FetchError::Unauthorized { .. })
        ));
        // https://developers.google.com/youtube/v3/live/docs/liveChatMessages/list#errors (forbidden)
        let body = r#"{"error": {"code": 403, "message": "You do not have the permissions required.",
          "errors": [{"domain": "youtube.liveChat", "reason": "forbidden"}]}}"#;
        assert!(matches!(classify(403, body.as_bytes(), now()), FetchError::Unauthorized { .. }));
        // https://developers.google.com/identity/protocols/oauth2/web-server#offline: a revoked
        // refresh token answers RFC 6749's invalid_grant.
        let body = r#"{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}"#;
        assert!(matches!(parse_token(400, body.as_bytes()), Err(FetchError::Unauthorized { .. })));
    }

    #[test]
    fn an_access_token_lives_as_long_as_google_says() {
        // https://developers.google.com/identity/protocols/oauth2/web-server#offline
        let body = r#"{"access_token": "1/fFAGRNJru1FTz70BzhT3Zg", "expires_in": 3920,
          "scope": "https://www.googleapis.com/auth/youtube.force-ssl", "token_type": "Bearer"}"#;
        let (token, lifetime) = parse_token(200, body.as_bytes()).expect("a token");
        assert_eq!(token, "1/fFAGRNJru1FTz70BzhT3Zg");
        assert_eq!(lifetime, Duration::from_secs(3920));
        assert!(matches!(parse_token(200, b"{}"), Err(FetchError::Malformed { .. })));
        assert!(matches!(parse_token(503, b"busy"), Err(FetchError::Transient { .. })));
    }

    #[test]
    fn a_chat_that_is_gone_says_so() {
        // https://developers.google.com/youtube/v3/live/docs/liveChatMessages/list#errors (liveChatNotFound)
        let body = r#"{"error": {"code": 404, "message": "The live chat that you are trying to retrieve cannot be found.",
          "errors": [{"domain": "youtube.liveChat", "reason": "liveChatNotFound"}]}}"#;
        assert!(matches!(classify(404, body.as_bytes(), now()), FetchError::Gone { .. }));
        let body = r#"{"error": {"code": 403, "message": "The live chat is no longer live.",
          "errors": [{"domain": "youtube.liveChat", "reason": "liveChatEnded"}]}}"#;
        assert!(matches!(classify(403, body.as_bytes(), now()), FetchError::Gone { .. }));
        assert!(matches!(
            classify(503, b"<html>Service Unavailable</html>", now()),
            FetchError::Transient { .. }
        ));
    }

    #[test]
    fn an_answer_not_in_the_documented_shape_is_malformed() {
        for body in
            [&b"<html>oops</html>"[..], b"{\"items\": \"none\"}", b"{}", b"", b"{\"items\": [{\"id\": 5}]}"]
        {
            let result = parse_messages(200, body, None, now());
            assert!(
                matches!(result, Err(FetchError::Malformed { .. })),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn the_chat_is_found_from_the_video_or_the_active_broadcast() {
        // https://developers.google.com/youtube/v3/docs/videos#liveStreamingDetails
        let video = r#"{"kind": "youtube#videoListResponse", "items": [{"kind": "youtube#video", "id": "vid1",
          "liveStreamingDetails": {"actualStartTime": "2024-03-05T19:00:00Z", "concurrentViewers": "10",
                                   "activeLiveChatId": "chat1"}}]}"#;
        assert_eq!(parse_video(200, video.as_bytes(), "vid1", now()), Ok("chat1".into()));
        let ended = r#"{"items": [{"id": "vid1", "liveStreamingDetails": {"actualEndTime": "2024-03-05T19:30:00Z"}}]}"#;
        assert!(matches!(parse_video(200, ended.as_bytes(), "vid1", now()), Err(FetchError::Gone { .. })));
        assert!(matches!(parse_video(200, br#"{"items": []}"#, "vid1", now()), Err(FetchError::Gone { .. })));
        // https://developers.google.com/youtube/v3/live/docs/liveBroadcasts#resource
        let broadcasts = r#"{"kind": "youtube#liveBroadcastListResponse", "items": [{"kind": "youtube#liveBroadcast",
          "id": "vid1", "snippet": {"title": "Встреча акима", "liveChatId": "chat1",
          "actualStartTime": "2024-03-05T19:00:00Z"}}]}"#;
        let chat = parse_broadcasts(200, broadcasts.as_bytes(), now()).expect("a chat");
        assert_eq!(chat, Chat { live_chat_id: "chat1".into(), video_id: Some("vid1".into()) });
        assert_eq!(chat.describe(), "liveChatId chat1 (video vid1)");
        assert!(matches!(parse_broadcasts(200, br#"{"items": []}"#, now()), Err(FetchError::Gone { .. })));
    }

    #[test]
    fn a_ban_is_temporary_for_minutes_or_permanent() {
        // https://developers.google.com/youtube/v3/live/docs/liveChatBans#resource
        let temporary = ban_body("chat1", "UCx", Some(10));
        assert_eq!(
            temporary,
            serde_json::json!({"snippet": {"liveChatId": "chat1", "type": "temporary", "banDurationSeconds": 600,
                                           "bannedUserDetails": {"channelId": "UCx"}}})
        );
        let permanent = ban_body("chat1", "UCx", None);
        assert_eq!(permanent["snippet"]["type"], "permanent");
        assert!(permanent["snippet"].get("banDurationSeconds").is_none());
    }
}
