//! Facebook Graph API: the comments of one live video of the akimat's Page.
//!
//! The Graph API has no push for a live video's comments short of a public webhook, so its
//! `comments` edge is read in chronological order with the `after` cursor every
//! `facebook_poll`. Hiding (`is_hidden=true`) is how a Page removes a comment from view;
//! banning a commenter from a live video has no API.
//!
//! The Page token is a query or form parameter, as the Graph API takes it; no URL is ever
//! shown (see [`super::send`]).

use super::{ClientSettings, SendError, excerpt, reason, scrub_error, send};
use crate::platforms::connector::{
    ActionError, ActionOutcome, Connector, FetchError, Fetched, PlatformAction, PlatformComment,
};
use async_trait::async_trait;
use jiff::Timestamp;
use serde::Deserialize;
use std::time::Duration;

/// The fields read of each comment.
const FIELDS: &str = "id,message,created_time,from,permalink_url";
/// The page size: the Graph API's documented maximum for this edge.
const PAGE: &str = "100";

/// A [`Connector`] for one live video's comments.
pub struct FacebookClient {
    http: reqwest::Client,
    /// `{facebook_graph}/{version}`.
    graph: String,
    token: String,
    live_video_id: String,
    poll: Duration,
    request_timeout: Duration,
}

impl FacebookClient {
    pub fn new(
        http: reqwest::Client,
        settings: &ClientSettings,
        token: String,
        live_video_id: String,
    ) -> FacebookClient {
        let endpoints = &settings.endpoints;
        FacebookClient {
            http,
            graph: format!(
                "{}/{}",
                endpoints.facebook_graph.trim_end_matches('/'),
                endpoints.facebook_version.trim_matches('/')
            ),
            token,
            live_video_id,
            poll: settings.facebook_poll,
            request_timeout: settings.request_timeout,
        }
    }
}

#[async_trait]
impl Connector for FacebookClient {
    async fn fetch(&self, cursor: Option<&str>) -> Result<Fetched, FetchError> {
        if !graph_id(&self.live_video_id) {
            return Err(FetchError::Gone {
                reason: format!("{} is no Facebook live video id", self.live_video_id),
            });
        }
        let mut query = vec![
            ("access_token", self.token.as_str()),
            ("order", "chronological"),
            ("filter", "stream"),
            ("fields", FIELDS),
            ("limit", PAGE),
        ];
        if let Some(cursor) = cursor {
            query.push(("after", cursor));
        }
        let request = self.http.get(format!("{}/{}/comments", self.graph, self.live_video_id)).query(&query);
        let answer = send(request, self.request_timeout).await.map_err(SendError::into_fetch)?;
        let fetched =
            parse_comments(answer.status, &answer.body).map_err(|error| scrub_error(error, &self.token))?;
        Ok(Fetched { wait: self.poll, ..fetched })
    }

    async fn act(&self, action: &PlatformAction) -> Result<ActionOutcome, ActionError> {
        let PlatformAction::Remove { external_id } = action else {
            return Err(ActionError::Unsupported);
        };
        if !graph_id(external_id) {
            return Err(ActionError::Refused { reason: format!("{external_id} is no Facebook comment id") });
        }
        let form = [("is_hidden", "true"), ("access_token", self.token.as_str())];
        let request = self.http.post(format!("{}/{external_id}", self.graph)).form(&form);
        let answer = send(request, self.request_timeout).await.map_err(SendError::into_action)?;
        parse_hidden(answer.status, &answer.body)
            .map(|()| ActionOutcome::default())
            .map_err(|error| ActionError::Refused { reason: reason(scrub_error(error, &self.token)) })
    }
}

/// Graph ids are digits, joined by `_` in a comment's id; they go into the request's path, so
/// nothing else may.
fn graph_id(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|byte| byte.is_ascii_alphanumeric() || byte == b'_')
}

#[derive(Deserialize)]
struct ErrorAnswer {
    error: GraphError,
}

#[derive(Deserialize)]
struct GraphError {
    #[serde(default)]
    message: String,
    #[serde(default, rename = "type")]
    kind: String,
    code: Option<i64>,
    error_subcode: Option<i64>,
}

/// A Graph API error as a [`FetchError`], by its code and type.
// https://developers.facebook.com/docs/graph-api/guides/error-handling (the error object, the
// codes 4, 17, 32, 613 and 80000-80014 to back off on, 190 and OAuthException with 102, 10
// and 200-299 for the token or its permissions) and
// https://developers.facebook.com/docs/graph-api/overview/rate-limiting
pub(crate) fn classify(status: u16, body: &[u8]) -> FetchError {
    let Ok(ErrorAnswer { error }) = serde_json::from_slice::<ErrorAnswer>(body) else {
        let text = format!("HTTP {status}: {}", excerpt(&String::from_utf8_lossy(body), 200));
        return if (200..300).contains(&status) {
            FetchError::Malformed { reason: text }
        } else {
            FetchError::Transient { reason: text }
        };
    };
    let code = error.code.unwrap_or(0);
    let described = match error.error_subcode {
        Some(subcode) => format!("Graph API error {code}/{subcode} ({}): {}", error.kind, error.message),
        None => format!("Graph API error {code} ({}): {}", error.kind, error.message),
    };
    let oauth = error.kind == "OAuthException";
    match code {
        190 => FetchError::Unauthorized { reason: described },
        102 | 10 | 200..=299 if oauth => FetchError::Unauthorized { reason: described },
        4 | 17 | 32 | 613 | 80000..=80014 => {
            FetchError::BackOff { reason: described, retry_after: None, quota_units: 0 }
        }
        // "Object with ID … does not exist": the live video was deleted.
        100 if error.error_subcode == Some(33) => FetchError::Gone { reason: described },
        _ => FetchError::Transient { reason: described },
    }
}

#[derive(Deserialize)]
struct CommentPage {
    data: Vec<Comment>,
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    cursors: Option<Cursors>,
}

#[derive(Deserialize)]
struct Cursors {
    after: Option<String>,
}

#[derive(Deserialize)]
struct Comment {
    id: String,
    message: Option<String>,
    created_time: Option<String>,
    from: Option<Author>,
    permalink_url: Option<String>,
}

#[derive(Deserialize)]
struct Author {
    id: Option<String>,
    name: Option<String>,
}

/// One page of `/{live-video-id}/comments`: its comments and the `after` cursor. An empty
/// page at the end brings no cursor, and the old one is kept. A comment without `from` is
/// from someone the Page's permissions do not show; it is entered as from "Facebook".
// https://developers.facebook.com/docs/graph-api/reference/live-video/comments (reading, with
// order and filter), https://developers.facebook.com/docs/graph-api/reference/comment (fields)
// and https://developers.facebook.com/docs/graph-api/results (cursor-based pagination)
pub(crate) fn parse_comments(status: u16, body: &[u8]) -> Result<Fetched, FetchError> {
    if !(200..300).contains(&status) {
        return Err(classify(status, body));
    }
    let page: CommentPage = serde_json::from_slice(body)
        .map_err(|error| FetchError::Malformed { reason: format!("the comments page: {error}") })?;
    let cursor = page.paging.and_then(|paging| paging.cursors).and_then(|cursors| cursors.after);
    let comments = page
        .data
        .into_iter()
        .filter_map(|comment| {
            // A sticker or a photo alone has no message to moderate.
            let text = comment.message.filter(|text| !text.trim().is_empty())?;
            let (author_id, author_name) = match comment.from {
                Some(author) => (
                    author.id.unwrap_or_default(),
                    author.name.filter(|name| !name.is_empty()).unwrap_or_else(|| "Facebook".to_owned()),
                ),
                None => (String::new(), "Facebook".to_owned()),
            };
            Some(PlatformComment {
                external_id: comment.id,
                author_id,
                author_name,
                text,
                url: comment.permalink_url,
                published_at: comment.created_time.as_deref().and_then(graph_time),
            })
        })
        .collect();
    Ok(Fetched {
        comments,
        cursor: cursor.filter(|after| !after.is_empty()),
        wait: Duration::ZERO,
        quota_units: 0,
        resolved: None,
    })
}

/// The Graph API's times (`2024-03-05T19:59:58+0000`): ISO 8601 with the offset without its
/// colon, which RFC 3339 wants.
fn graph_time(text: &str) -> Option<Timestamp> {
    if let Ok(time) = text.parse() {
        return Some(time);
    }
    let (head, offset) = text.split_at_checked(text.len().checked_sub(5)?)?;
    let (sign, digits) = offset.split_at_checked(1)?;
    if !matches!(sign, "+" | "-") || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    format!("{head}{sign}{}:{}", &digits[..2], &digits[2..]).parse().ok()
}

#[derive(Deserialize)]
struct Success {
    success: bool,
}

/// The answer to `POST /{comment-id}` with `is_hidden=true`: `{"success": true}`.
// https://developers.facebook.com/docs/graph-api/reference/comment#updating
pub(crate) fn parse_hidden(status: u16, body: &[u8]) -> Result<(), FetchError> {
    if !(200..300).contains(&status) {
        return Err(classify(status, body));
    }
    match serde_json::from_slice::<Success>(body) {
        Ok(Success { success: true }) => Ok(()),
        Ok(Success { success: false }) => {
            Err(FetchError::Transient { reason: "Facebook did not hide the comment".into() })
        }
        Err(error) => Err(FetchError::Malformed { reason: format!("the answer to hiding: {error}") }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // https://developers.facebook.com/docs/graph-api/reference/live-video/comments and
    // https://developers.facebook.com/docs/graph-api/results (the paging object)
    const PAGE_ONE: &str = r#"{
      "data": [
        {"id": "123_456", "message": "Когда починят дорогу?", "created_time": "2024-03-05T19:59:58+0000",
         "from": {"name": "Aigerim N", "id": "10220000001"},
         "permalink_url": "https://www.facebook.com/akimat/videos/123/?comment_id=456"},
        {"id": "123_457", "message": "Без имени", "created_time": "2024-03-05T20:00:01+0000"},
        {"id": "123_458", "created_time": "2024-03-05T20:00:02+0000", "from": {"name": "S", "id": "1"}}
      ],
      "paging": {
        "cursors": {"before": "QVFIUmJ", "after": "QVFIUk5"},
        "next": "https://graph.facebook.com/v19.0/123/comments?after=QVFIUk5"
      }
    }"#;

    #[test]
    fn a_page_of_comments_and_its_cursor() {
        let fetched = parse_comments(200, PAGE_ONE.as_bytes()).expect("a page");
        assert_eq!(fetched.cursor.as_deref(), Some("QVFIUk5"));
        assert_eq!(
            fetched.comments,
            vec![
                PlatformComment {
                    external_id: "123_456".into(),
                    author_id: "10220000001".into(),
                    author_name: "Aigerim N".into(),
                    text: "Когда починят дорогу?".into(),
                    url: Some("https://www.facebook.com/akimat/videos/123/?comment_id=456".into()),
                    published_at: Some("2024-03-05T19:59:58Z".parse().expect("a time")),
                },
                PlatformComment {
                    external_id: "123_457".into(),
                    author_id: String::new(),
                    author_name: "Facebook".into(),
                    text: "Без имени".into(),
                    url: None,
                    published_at: Some("2024-03-05T20:00:01Z".parse().expect("a time")),
                },
            ],
            "a comment without a message is passed over"
        );
        // The end of the comments: no data and no cursor; the old one is kept.
        let end = parse_comments(200, br#"{"data": []}"#).expect("an empty page");
        assert!(end.comments.is_empty());
        assert_eq!(end.cursor, None);
    }

    #[test]
    fn a_refused_token_is_unauthorized_and_limits_back_off() {
        // https://developers.facebook.com/docs/graph-api/guides/error-handling (sample error)
        let body =
            br#"{"error": {"message": "Error validating access token: Session has expired on Tuesday.",
          "type": "OAuthException", "code": 190, "error_subcode": 463, "fbtrace_id": "EJplcsCHuLu"}}"#;
        assert!(matches!(parse_comments(400, body), Err(FetchError::Unauthorized { .. })));
        let body = br#"{"error": {"message": "(#200) Requires pages_read_engagement permission", "type": "OAuthException", "code": 200}}"#;
        assert!(matches!(classify(403, body), FetchError::Unauthorized { .. }));
        let body = br#"{"error": {"message": "(#32) Page request limit reached", "type": "OAuthException", "code": 32}}"#;
        assert!(matches!(classify(400, body), FetchError::BackOff { .. }));
        let body = br#"{"error": {"message": "(#4) Application request limit reached", "type": "OAuthException", "code": 4}}"#;
        assert!(matches!(classify(403, body), FetchError::BackOff { .. }));
        let body = br#"{"error": {"message": "An unexpected error has occurred.", "type": "OAuthException", "code": 2}}"#;
        assert!(matches!(classify(500, body), FetchError::Transient { .. }));
        assert!(matches!(classify(502, b"<html>"), FetchError::Transient { .. }));
        assert!(matches!(parse_comments(200, br#"{"data": "x"}"#), Err(FetchError::Malformed { .. })));
    }

    #[test]
    fn hiding_answers_success() {
        assert_eq!(parse_hidden(200, br#"{"success": true}"#), Ok(()));
        assert!(parse_hidden(200, br#"{"success": false}"#).is_err());
        assert!(parse_hidden(200, b"ok").is_err());
    }

    #[test]
    fn graph_times_read_with_or_without_the_colon() {
        let expected: Timestamp = "2024-03-05T19:59:58Z".parse().expect("a time");
        assert_eq!(graph_time("2024-03-05T19:59:58+0000"), Some(expected));
        assert_eq!(graph_time("2024-03-05T21:59:58+0200"), Some(expected));
        assert_eq!(graph_time("2024-03-05T19:59:58+00:00"), Some(expected));
        assert_eq!(graph_time("yesterday"), None);
    }
}
