//! The four platform clients, each a [`Connector`] over its platform's documented HTTP API:
//! [`youtube`] (Data API v3 live chat), [`telegram`] (Bot API long polling), [`vk`] (Bots Long
//! Poll API) and [`facebook`] (Graph API live video comments).
//!
//! What they share lives here: one bounded, timed HTTP exchange ([`send`]), error texts that
//! never carry a request URL or a token, and [`connect`], which picks the client for a follow.
//! Each client keeps its parsing in pure functions (status and bytes in, [`Fetched`] or
//! [`FetchError`] out) so that the tests read the platforms' documented samples without a
//! server.

pub mod facebook;
pub mod telegram;
pub mod vk;
pub mod youtube;

use super::connector::{Connector, Endpoints};
use bytes::Bytes;
use kezdesu_core::platforms::{Credential, Follow, SocialPlatform};
use std::time::Duration;

/// What the clients need besides a credential and a follow.
#[derive(Debug, Clone)]
pub struct ClientSettings {
    pub endpoints: Endpoints,
    /// How often Facebook's comments are read: the Graph API has no long poll and no
    /// polling hint of its own.
    pub facebook_poll: Duration,
    /// The longest any one request may take, its body included; a long poll gets its wait on
    /// top of this.
    pub request_timeout: Duration,
    /// How long Telegram's `getUpdates` and VK's `a_check` hold a request open on the
    /// platform's side when nothing new has come.
    pub long_poll_seconds: u32,
}

/// Why no client could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a {credential} credential cannot follow a {follow} object")]
pub struct ConnectError {
    pub credential: SocialPlatform,
    pub follow: SocialPlatform,
}

/// The client for `follow`, reading with `credential` through `http` (one shared pool; each
/// request sets its own timeout).
pub fn connect(
    http: reqwest::Client,
    settings: &ClientSettings,
    credential: Credential,
    follow: Follow,
) -> Result<Box<dyn Connector>, ConnectError> {
    let mismatch = ConnectError { credential: credential.platform(), follow: follow.platform() };
    let connector: Box<dyn Connector> = match (credential, follow) {
        (
            Credential::Youtube { client_id, client_secret, refresh_token },
            Follow::Youtube { live_chat_id, video_id },
        ) => Box::new(youtube::YoutubeClient::new(
            http,
            settings,
            youtube::OauthClient { client_id, client_secret, refresh_token },
            live_chat_id,
            video_id,
        )),
        (Credential::Telegram { bot_token }, Follow::Telegram { chat_id, post_id }) => {
            Box::new(telegram::TelegramClient::new(http, settings, bot_token, chat_id, post_id))
        }
        (Credential::Vk { access_token }, Follow::Vk { owner_id, video_id, post_id }) => {
            let object = match (video_id, post_id) {
                (Some(video_id), _) => vk::VkObject::Video(video_id),
                (None, Some(post_id)) => vk::VkObject::Post(post_id),
                // `Follow::check` refuses this before a follow is stored; a client for it
                // would read nothing, so it is a mismatch like any other.
                (None, None) => return Err(mismatch),
            };
            Box::new(vk::VkClient::new(http, settings, access_token, owner_id, object))
        }
        (Credential::Facebook { access_token }, Follow::Facebook { live_video_id }) => {
            Box::new(facebook::FacebookClient::new(http, settings, access_token, live_video_id))
        }
        _ => return Err(mismatch),
    };
    Ok(connector)
}

/// The largest answer read from a platform. Real pages are far smaller (2,000 YouTube
/// messages are about 1.5 MB); a larger one is not what the API documents.
pub(crate) const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// One answer, read whole.
#[derive(Debug, Clone)]
pub(crate) struct Answer {
    pub status: u16,
    pub body: Bytes,
}

/// Why no answer could be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SendError {
    /// Connecting, sending or reading failed, or the timeout passed: worth another try.
    Transport(String),
    /// The body was larger than [`MAX_BODY_BYTES`].
    TooLarge,
}

impl SendError {
    pub fn into_fetch(self) -> super::connector::FetchError {
        use super::connector::FetchError;
        match self {
            SendError::Transport(reason) => FetchError::Transient { reason },
            SendError::TooLarge => FetchError::Malformed { reason: too_large() },
        }
    }

    pub fn into_action(self) -> super::connector::ActionError {
        let reason = match self {
            SendError::Transport(reason) => reason,
            SendError::TooLarge => too_large(),
        };
        super::connector::ActionError::Refused { reason }
    }
}

fn too_large() -> String {
    format!("the answer was larger than {} MB", MAX_BODY_BYTES / (1024 * 1024))
}

/// Sends `request` with `timeout` (connecting, sending and reading the body together) and
/// reads at most [`MAX_BODY_BYTES`] of the answer.
pub(crate) async fn send(request: reqwest::RequestBuilder, timeout: Duration) -> Result<Answer, SendError> {
    let mut response = request.timeout(timeout).send().await.map_err(transport)?;
    let status = response.status().as_u16();
    if response.content_length().is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return Err(SendError::TooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(SendError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Answer { status, body: Bytes::from(body) })
}

/// A transport error as text, without the request URL: reqwest's own text names the URL, and
/// Telegram's has the bot token in its path, VK's long-poll URL its key, Graph's the token.
/// The causes are kept ("connection refused", "operation timed out"): they name no URL.
fn transport(error: reqwest::Error) -> SendError {
    let timed_out = error.is_timeout();
    let error = error.without_url();
    let mut text = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    if timed_out && !text.contains("timed out") {
        text.push_str(" (timed out)");
    }
    SendError::Transport(text)
}

/// `text` with every occurrence of `secret` masked: platforms sometimes echo a request's
/// parameters in their error messages, and those texts are shown and logged.
pub(crate) fn scrub(text: &str, secret: &str) -> String {
    if secret.is_empty() { text.to_owned() } else { text.replace(secret, "***") }
}

/// `error` with `secret` masked in its reason (see [`scrub`]).
pub(crate) fn scrub_error(error: super::connector::FetchError, secret: &str) -> super::connector::FetchError {
    use super::connector::FetchError;
    match error {
        FetchError::BackOff { reason, retry_after, quota_units } => {
            FetchError::BackOff { reason: scrub(&reason, secret), retry_after, quota_units }
        }
        FetchError::Unauthorized { reason } => FetchError::Unauthorized { reason: scrub(&reason, secret) },
        FetchError::Malformed { reason } => FetchError::Malformed { reason: scrub(&reason, secret) },
        FetchError::Gone { reason } => FetchError::Gone { reason: scrub(&reason, secret) },
        FetchError::Transient { reason } => FetchError::Transient { reason: scrub(&reason, secret) },
    }
}

/// The platform's own words in an error, without the variant's preamble: what a moderator
/// reads when an action was refused.
pub(crate) fn reason(error: super::connector::FetchError) -> String {
    use super::connector::FetchError;
    match error {
        FetchError::BackOff { reason, .. }
        | FetchError::Unauthorized { reason }
        | FetchError::Malformed { reason }
        | FetchError::Gone { reason }
        | FetchError::Transient { reason } => reason,
    }
}

/// At most `limit` characters of a platform's text, for error reasons: an error page can be
/// a whole HTML document.
pub(crate) fn excerpt(text: &str, limit: usize) -> String {
    let mut chars = text.chars();
    let mut taken: String = chars.by_ref().take(limit).collect();
    if chars.next().is_some() {
        taken.push('…');
    }
    taken
}

/// The guarded value even if another thread panicked while holding the lock: the clients
/// keep only caches behind their locks, each consistent after every write.
pub(crate) fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A Unix time in seconds as a timestamp, when it is one.
pub(crate) fn unix_seconds(seconds: i64) -> Option<jiff::Timestamp> {
    jiff::Timestamp::from_second(seconds).ok()
}

#[cfg(test)]
mod wire_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ClientSettings {
        ClientSettings {
            endpoints: Endpoints {
                youtube_api: "http://127.0.0.1:9/google".into(),
                youtube_oauth: "http://127.0.0.1:9/google-oauth".into(),
                telegram_api: "http://127.0.0.1:9/telegram".into(),
                vk_api: "http://127.0.0.1:9/vk".into(),
                facebook_graph: "http://127.0.0.1:9/facebook".into(),
                facebook_version: "v19.0".into(),
            },
            facebook_poll: Duration::from_secs(2),
            request_timeout: Duration::from_secs(5),
            long_poll_seconds: 25,
        }
    }

    #[test]
    fn a_credential_only_follows_its_own_platform() {
        let http = reqwest::Client::new();
        let telegram = Credential::Telegram { bot_token: "1:A".into() };
        let follow = Follow::Facebook { live_video_id: "1".into() };
        let Err(error) = connect(http.clone(), &settings(), telegram.clone(), follow) else {
            panic!("a Telegram token cannot read Facebook");
        };
        assert_eq!(error.credential, SocialPlatform::Telegram);
        assert_eq!(error.follow, SocialPlatform::Facebook);
        let follow = Follow::Telegram { chat_id: -100, post_id: 3 };
        assert!(connect(http, &settings(), telegram, follow).is_ok());
    }

    #[test]
    fn secrets_and_long_texts_are_cut_from_reasons() {
        assert_eq!(scrub("bad token abc123 given", "abc123"), "bad token *** given");
        assert_eq!(scrub("nothing", ""), "nothing");
        assert_eq!(excerpt("абвгд", 3), "абв…");
        assert_eq!(excerpt("аб", 3), "аб");
    }

    #[tokio::test]
    async fn a_transport_error_names_no_url() {
        // Port 9 (discard) on the loopback refuses connections on any test machine.
        let http = reqwest::Client::new();
        let request = http.get("http://127.0.0.1:9/bot123:SECRET/getUpdates");
        let Err(SendError::Transport(text)) = send(request, Duration::from_secs(5)).await else {
            panic!("nothing listens on port 9");
        };
        assert!(!text.contains("SECRET"), "{text}");
        assert!(!text.contains("127.0.0.1"), "{text}");
    }
}
