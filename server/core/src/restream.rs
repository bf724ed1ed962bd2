//! Restreaming a meeting to the akimat's official social-media accounts.
//!
//! The decree asks for the broadcast "on the official accounts in social networks"; every
//! platform takes a stream by RTMP or RTMPS with a stream key. This module holds what a
//! destination may be (its platform, ingest URL and key), how a key is shown once stored, and
//! the supervision rule of a destination's connection: one that never got as far as
//! publishing is a wrong key or URL and fails at once; one that dropped after being live is
//! tried again with a growing pause, for a bounded time (LiveKit Egress's rule: every
//! reconnect makes a new video on YouTube, so retrying for ever is not kind either).

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// Where a meeting is restreamed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Youtube,
    Facebook,
    Instagram,
    Vk,
    Telegram,
    /// Any other RTMP(S) server (a regional TV channel, a CDN, a test receiver).
    Rtmp,
}

impl Platform {
    pub const ALL: [Platform; 6] = [
        Platform::Youtube,
        Platform::Facebook,
        Platform::Instagram,
        Platform::Vk,
        Platform::Telegram,
        Platform::Rtmp,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Platform::Youtube => "youtube",
            Platform::Facebook => "facebook",
            Platform::Instagram => "instagram",
            Platform::Vk => "vk",
            Platform::Telegram => "telegram",
            Platform::Rtmp => "rtmp",
        }
    }

    pub fn parse(text: &str) -> Option<Platform> {
        Platform::ALL.into_iter().find(|platform| platform.as_str() == text)
    }

    /// Facebook and Instagram take RTMPS only: a plain `rtmp://` URL for them is a mistake
    /// the akim should hear about now, not when the meeting goes on air.
    pub fn requires_rtmps(self) -> bool {
        matches!(self, Platform::Facebook | Platform::Instagram)
    }
}

/// The longest ingest URL and stream key accepted. Real ones are far shorter (YouTube's key
/// has 24 characters, Facebook's about 100); the limits only refuse absurd input.
pub const MAX_URL_CHARS: usize = 512;
pub const MAX_KEY_CHARS: usize = 256;

/// What is wrong with a destination's URL or key, for the person typing it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationProblem {
    #[error("the ingest URL must start with rtmp:// or rtmps://")]
    Scheme,
    #[error("the ingest URL names no host")]
    NoHost,
    #[error("the ingest URL's port is not a number from 1 to 65535")]
    Port,
    #[error("the ingest URL must not carry a user name or password; put the secret in the stream key")]
    Credentials,
    #[error("the ingest URL has more than {MAX_URL_CHARS} characters")]
    UrlTooLong,
    #[error("the ingest URL contains spaces or control characters")]
    UrlCharacters,
    #[error("{platform} takes RTMPS only: use the rtmps:// URL it shows", platform = .0.as_str())]
    NeedsRtmps(Platform),
    #[error("the stream key is empty")]
    EmptyKey,
    #[error("the stream key has more than {MAX_KEY_CHARS} characters")]
    KeyTooLong,
    #[error("the stream key may contain only visible ASCII characters (no spaces)")]
    KeyCharacters,
}

/// An ingest URL taken apart as an RTMP client needs it: it connects to `host:port` (over TLS
/// when `secure`), to the application `app`, and publishes the stream key as the stream name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestUrl {
    pub secure: bool,
    pub host: String,
    pub port: u16,
    /// The path without its leading slash, e.g. `live2` for YouTube; may be empty or nested.
    pub app: String,
    /// The URL as given, without a trailing slash: RTMP's `tcUrl`.
    pub url: String,
}

/// Parses and checks an ingest URL (`rtmp://host[:port]/app`), and that it suits `platform`.
pub fn parse_ingest_url(platform: Platform, text: &str) -> Result<IngestUrl, DestinationProblem> {
    if text.chars().count() > MAX_URL_CHARS {
        return Err(DestinationProblem::UrlTooLong);
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(DestinationProblem::UrlCharacters);
    }
    let (secure, rest) = if let Some(rest) = strip_prefix_ignore_case(text, "rtmps://") {
        (true, rest)
    } else if let Some(rest) = strip_prefix_ignore_case(text, "rtmp://") {
        (false, rest)
    } else {
        return Err(DestinationProblem::Scheme);
    };
    if platform.requires_rtmps() && !secure {
        return Err(DestinationProblem::NeedsRtmps(platform));
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    if authority.contains('@') {
        return Err(DestinationProblem::Credentials);
    }
    let default_port = if secure { 443 } else { 1935 };
    let (host, port) = match authority.strip_prefix('[') {
        // An IPv6 literal: `[::1]:1935`.
        Some(bracketed) => {
            let (host, after) = bracketed.split_once(']').ok_or(DestinationProblem::NoHost)?;
            let port = match after.strip_prefix(':') {
                Some(port) => parse_port(port)?,
                None if after.is_empty() => default_port,
                None => return Err(DestinationProblem::Port),
            };
            (host, port)
        }
        None => match authority.rsplit_once(':') {
            Some((host, port)) => (host, parse_port(port)?),
            None => (authority, default_port),
        },
    };
    if host.is_empty() {
        return Err(DestinationProblem::NoHost);
    }
    let trimmed = text.trim_end_matches('/');
    Ok(IngestUrl {
        secure,
        host: host.to_ascii_lowercase(),
        port,
        app: path.trim_matches('/').to_owned(),
        url: trimmed.to_owned(),
    })
}

fn strip_prefix_ignore_case<'a>(text: &'a str, prefix: &str) -> Option<&'a str> {
    let head = text.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &text[prefix.len()..])
}

fn parse_port(text: &str) -> Result<u16, DestinationProblem> {
    text.parse::<u16>().ok().filter(|port| *port != 0).ok_or(DestinationProblem::Port)
}

/// Checks a stream key: what platforms issue is visible ASCII, and never very long.
pub fn check_stream_key(key: &str) -> Result<(), DestinationProblem> {
    if key.is_empty() {
        return Err(DestinationProblem::EmptyKey);
    }
    if key.chars().count() > MAX_KEY_CHARS {
        return Err(DestinationProblem::KeyTooLong);
    }
    if !key.chars().all(|c| c.is_ascii_graphic()) {
        return Err(DestinationProblem::KeyCharacters);
    }
    Ok(())
}

/// How a stored key is shown: four dots and its last four characters (`••••f3a9`), enough to
/// tell two keys apart; a key of eight characters or fewer shows none of them.
pub fn masked_key(key: &str) -> String {
    let count = key.chars().count();
    if count <= 8 {
        return "••••".to_owned();
    }
    let tail: String = key.chars().skip(count - 4).collect();
    format!("••••{tail}")
}

/// When a destination that dropped is tried again, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The pause before the first retry; each next one doubles it…
    pub first_pause: SignedDuration,
    /// …up to this.
    pub longest_pause: SignedDuration,
    /// Retries stop this long after the drop, and the destination is failed.
    pub retry_for: SignedDuration,
}

/// What to do after a destination's connection attempt failed or its connection dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again at this instant.
    RetryAt(Timestamp),
    /// Stop trying: the destination is failed.
    GiveUp(GiveUpReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiveUpReason {
    /// It never got as far as publishing: a wrong key or URL, which retrying cannot mend.
    NeverPublished,
    /// It kept failing for the whole retry time after a drop.
    RetriesExhausted,
}

/// The supervision rule: `dropped_at` is when the destination last stopped being live (`None`
/// if it never was live since it started), `failures` the failed attempts since then,
/// counting this one.
pub fn after_failure(
    policy: &RetryPolicy,
    dropped_at: Option<Timestamp>,
    failures: u32,
    now: Timestamp,
) -> AfterFailure {
    let Some(dropped_at) = dropped_at else { return AfterFailure::GiveUp(GiveUpReason::NeverPublished) };
    let pause = retry_pause(policy, failures);
    let next = now.checked_add(pause).unwrap_or(Timestamp::MAX);
    let deadline = dropped_at.checked_add(policy.retry_for).unwrap_or(Timestamp::MAX);
    if next > deadline {
        AfterFailure::GiveUp(GiveUpReason::RetriesExhausted)
    } else {
        AfterFailure::RetryAt(next)
    }
}

/// The pause before the `failures`-th retry: the first pause, doubled each time, capped.
pub fn retry_pause(policy: &RetryPolicy, failures: u32) -> SignedDuration {
    let doublings = failures.saturating_sub(1).min(30);
    let pause = policy.first_pause.checked_mul(1 << doublings).unwrap_or(policy.longest_pause);
    pause.min(policy.longest_pause).max(SignedDuration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn platform_urls_parse_as_an_rtmp_client_needs_them() {
        let youtube = parse_ingest_url(Platform::Youtube, "rtmp://a.rtmp.youtube.com/live2").expect("valid");
        assert_eq!(
            (youtube.secure, youtube.host.as_str(), youtube.port, youtube.app.as_str()),
            (false, "a.rtmp.youtube.com", 1935, "live2")
        );
        let facebook =
            parse_ingest_url(Platform::Facebook, "rtmps://live-api-s.facebook.com:443/rtmp/").expect("valid");
        assert_eq!((facebook.secure, facebook.port, facebook.app.as_str()), (true, 443, "rtmp"));
        assert_eq!(facebook.url, "rtmps://live-api-s.facebook.com:443/rtmp");
        let local = parse_ingest_url(Platform::Rtmp, "RTMP://[::1]:19350/live").expect("valid");
        assert_eq!((local.host.as_str(), local.port), ("::1", 19350));
        let secure_default =
            parse_ingest_url(Platform::Telegram, "rtmps://dc4-1.rtmp.t.me/s/").expect("valid");
        assert_eq!((secure_default.port, secure_default.app.as_str()), (443, "s"));
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        let cases = [
            (Platform::Rtmp, "http://example.org/live", DestinationProblem::Scheme),
            (Platform::Rtmp, "rtmp:///live", DestinationProblem::NoHost),
            (Platform::Rtmp, "rtmp://host:0/live", DestinationProblem::Port),
            (Platform::Rtmp, "rtmp://host:99999/live", DestinationProblem::Port),
            (Platform::Rtmp, "rtmp://user:secret@host/live", DestinationProblem::Credentials),
            (Platform::Rtmp, "rtmp://host/li ve", DestinationProblem::UrlCharacters),
            (
                Platform::Facebook,
                "rtmp://live-api-s.facebook.com/rtmp",
                DestinationProblem::NeedsRtmps(Platform::Facebook),
            ),
            (Platform::Instagram, "rtmp://x/rtmp", DestinationProblem::NeedsRtmps(Platform::Instagram)),
        ];
        for (platform, url, expected) in cases {
            assert_eq!(parse_ingest_url(platform, url), Err(expected), "{url}");
        }
        let long = format!("rtmp://host/{}", "a".repeat(MAX_URL_CHARS));
        assert_eq!(parse_ingest_url(Platform::Rtmp, &long), Err(DestinationProblem::UrlTooLong));
    }

    #[test]
    fn keys_are_checked_and_masked() {
        assert_eq!(check_stream_key("abcd-efgh-ijkl-mnop-qrst"), Ok(()));
        assert_eq!(check_stream_key(""), Err(DestinationProblem::EmptyKey));
        assert_eq!(check_stream_key("with space"), Err(DestinationProblem::KeyCharacters));
        assert_eq!(check_stream_key("ключ"), Err(DestinationProblem::KeyCharacters));
        assert_eq!(check_stream_key(&"k".repeat(MAX_KEY_CHARS + 1)), Err(DestinationProblem::KeyTooLong));
        assert_eq!(masked_key("abcd-efgh-ijkl-f3a9"), "••••f3a9");
        assert_eq!(masked_key("short"), "••••");
    }

    fn policy() -> RetryPolicy {
        RetryPolicy {
            first_pause: SignedDuration::from_secs(1),
            longest_pause: SignedDuration::from_secs(8),
            retry_for: SignedDuration::from_secs(60),
        }
    }

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + seconds).expect("a valid instant")
    }

    #[test]
    fn a_destination_that_never_published_fails_at_once() {
        assert_eq!(
            after_failure(&policy(), None, 1, at(0)),
            AfterFailure::GiveUp(GiveUpReason::NeverPublished)
        );
    }

    #[test]
    fn a_drop_after_being_live_is_retried_with_doubling_pauses_until_the_retry_time_is_up() {
        let dropped = at(0);
        let pauses: Vec<i64> = (1..=6).map(|failures| retry_pause(&policy(), failures).as_secs()).collect();
        assert_eq!(pauses, [1, 2, 4, 8, 8, 8]);
        assert_eq!(after_failure(&policy(), Some(dropped), 1, at(0)), AfterFailure::RetryAt(at(1)));
        assert_eq!(after_failure(&policy(), Some(dropped), 3, at(10)), AfterFailure::RetryAt(at(14)));
        assert_eq!(
            after_failure(&policy(), Some(dropped), 9, at(55)),
            AfterFailure::GiveUp(GiveUpReason::RetriesExhausted)
        );
    }

    proptest! {
        #[test]
        fn retries_never_outlast_the_retry_time(failures in 1u32..1000, elapsed in 0i64..10_000) {
            let dropped = at(0);
            match after_failure(&policy(), Some(dropped), failures, at(elapsed)) {
                AfterFailure::RetryAt(next) => {
                    prop_assert!(next <= at(60));
                    prop_assert!(next > at(elapsed));
                }
                AfterFailure::GiveUp(reason) => prop_assert_eq!(reason, GiveUpReason::RetriesExhausted),
            }
        }

        #[test]
        fn a_parsed_url_keeps_its_host_and_port(host in "[a-z][a-z0-9.-]{0,30}", port in 1u16.., app in "[a-z0-9/]{0,20}") {
            let url = format!("rtmp://{host}:{port}/{app}");
            let parsed = parse_ingest_url(Platform::Rtmp, &url).expect("valid");
            prop_assert_eq!(parsed.host, host);
            prop_assert_eq!(parsed.port, port);
            prop_assert_eq!(parsed.app, app.trim_matches('/'));
        }

        #[test]
        fn masking_never_shows_more_than_four_characters(key in "[!-~]{0,300}") {
            let shown = masked_key(&key);
            prop_assert!(shown.starts_with("••••"));
            prop_assert!(shown.chars().count() <= 8);
        }
    }
}
