//! The clients' requests on the wire: a scripted HTTP server on the loopback answers each
//! documented path in turn and records what was asked, so that the methods, parameters,
//! headers and the token's place are checked along with the flows between calls (a token
//! renewed on a 401, a VK key renewed on `failed: 2`).

use super::*;
use crate::platforms::connector::{ActionError, ActionOutcome, FetchError, PlatformAction};
use axum::body::Bytes as Body;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
struct Call {
    method: String,
    path: String,
    query: String,
    authorization: Option<String>,
    body: String,
}

#[derive(Default)]
struct Script {
    /// (path, status, body) answered once each, the first matching the path first.
    answers: Vec<(String, u16, String)>,
    calls: Vec<Call>,
}

struct Fake {
    base: String,
    script: Arc<Mutex<Script>>,
}

impl Fake {
    async fn start(answers: &[(&str, u16, &str)]) -> Fake {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a port");
        let base = format!("http://{}", listener.local_addr().expect("an address"));
        let answers = answers
            .iter()
            .map(|(path, status, body)| ((*path).to_owned(), *status, body.replace("{base}", &base)))
            .collect();
        let script = Arc::new(Mutex::new(Script { answers, calls: Vec::new() }));
        let router = axum::Router::new().fallback(answer).with_state(script.clone());
        tokio::spawn(async move { axum::serve(listener, router).await });
        Fake { base, script }
    }

    fn calls(&self) -> Vec<Call> {
        lock(&self.script).calls.clone()
    }

    fn settings(&self) -> ClientSettings {
        ClientSettings {
            endpoints: Endpoints {
                youtube_api: format!("{}/google", self.base),
                youtube_oauth: format!("{}/google-oauth", self.base),
                telegram_api: format!("{}/telegram", self.base),
                vk_api: format!("{}/vk", self.base),
                facebook_graph: format!("{}/facebook", self.base),
                facebook_version: "v19.0".into(),
            },
            facebook_poll: Duration::from_millis(1500),
            request_timeout: Duration::from_secs(5),
            long_poll_seconds: 1,
        }
    }
}

async fn answer(
    State(script): State<Arc<Mutex<Script>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> (StatusCode, String) {
    let mut script = lock(&script);
    script.calls.push(Call {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().unwrap_or("").to_owned(),
        authorization: headers.get("authorization").and_then(|value| value.to_str().ok()).map(str::to_owned),
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let Some(index) = script.answers.iter().position(|(path, ..)| path == uri.path()) else {
        return (StatusCode::NOT_FOUND, format!("nothing scripted for {}", uri.path()));
    };
    let (_, status, body) = script.answers.remove(index);
    (StatusCode::from_u16(status).expect("a status"), body)
}

fn client(fake: &Fake, credential: Credential, follow: Follow) -> Box<dyn Connector> {
    connect(reqwest::Client::new(), &fake.settings(), credential, follow).expect("a client")
}

const MESSAGE_PAGE: &str = r#"{"nextPageToken": "p2", "pollingIntervalMillis": 500, "items": [
  {"id": "LCC.1", "snippet": {"type": "textMessageEvent", "displayMessage": "сәлем",
   "textMessageDetails": {"messageText": "сәлем"}}, "authorDetails": {"channelId": "UC1", "displayName": "Асель"}}]}"#;

#[tokio::test]
async fn youtube_renews_a_revoked_access_token_once_and_counts_its_quota() {
    let fake = Fake::start(&[
        (
            "/google-oauth/token",
            200,
            r#"{"access_token": "at1", "expires_in": 3600, "token_type": "Bearer"}"#,
        ),
        (
            "/google/youtube/v3/liveBroadcasts",
            200,
            r#"{"items": [{"id": "vid1", "snippet": {"liveChatId": "chat1"}}]}"#,
        ),
        (
            "/google/youtube/v3/liveChat/messages",
            401,
            r#"{"error": {"code": 401, "message": "Invalid Credentials",
            "errors": [{"reason": "authError", "domain": "global"}]}}"#,
        ),
        ("/google-oauth/token", 200, r#"{"access_token": "at2", "expires_in": 3600}"#),
        ("/google/youtube/v3/liveChat/messages", 200, MESSAGE_PAGE),
        (
            "/google/youtube/v3/liveChat/messages",
            403,
            r#"{"error": {"code": 403, "message": "quota",
            "errors": [{"reason": "quotaExceeded", "domain": "youtube.quota"}]}}"#,
        ),
        ("/google/youtube/v3/liveChat/bans", 200, r#"{"kind": "youtube#liveChatBan", "id": "ban1"}"#),
        ("/google/youtube/v3/liveChat/messages", 204, ""),
    ])
    .await;
    let credential = Credential::Youtube {
        client_id: "cid".into(),
        client_secret: "csecret".into(),
        refresh_token: "rtoken".into(),
    };
    let youtube = client(&fake, credential, Follow::Youtube { live_chat_id: None, video_id: None });

    let fetched = youtube.fetch(None).await.expect("a page");
    assert_eq!(fetched.comments.len(), 1);
    assert_eq!(fetched.comments[0].url.as_deref(), Some("https://www.youtube.com/watch?v=vid1"));
    assert_eq!(fetched.cursor.as_deref(), Some("p2"));
    assert_eq!(fetched.wait, Duration::from_millis(500));
    assert_eq!(fetched.quota_units, 1 + 5 + 5, "the lookup, the refused list and the list again");
    assert_eq!(fetched.resolved.as_deref(), Some("liveChatId chat1 (video vid1)"));

    let Err(FetchError::BackOff { quota_units, retry_after, .. }) = youtube.fetch(Some("p2")).await else {
        panic!("quotaExceeded backs off");
    };
    assert_eq!(quota_units, 5);
    assert!(retry_after.is_some_and(|wait| wait <= Duration::from_secs(25 * 3600)));

    let ban = PlatformAction::Ban { author_id: "UC1".into(), minutes: Some(5) };
    assert_eq!(youtube.act(&ban).await, Ok(ActionOutcome { quota_units: 50 }));
    let remove = PlatformAction::Remove { external_id: "LCC.1".into() };
    assert_eq!(youtube.act(&remove).await, Ok(ActionOutcome { quota_units: 50 }));

    let calls = fake.calls();
    let token = &calls[0];
    assert_eq!(token.method, "POST");
    for part in ["grant_type=refresh_token", "client_id=cid", "client_secret=csecret", "refresh_token=rtoken"]
    {
        assert!(token.body.contains(part), "{}", token.body);
    }
    assert_eq!(calls[1].query, "part=snippet&broadcastStatus=active&broadcastType=all");
    assert_eq!(calls[1].authorization.as_deref(), Some("Bearer at1"));
    assert_eq!(calls[4].authorization.as_deref(), Some("Bearer at2"));
    assert_eq!(calls[4].query, "liveChatId=chat1&part=snippet%2CauthorDetails&maxResults=2000");
    assert!(calls[5].query.ends_with("&pageToken=p2"), "{}", calls[5].query);
    assert_eq!((calls[6].method.as_str(), calls[6].query.as_str()), ("POST", "part=snippet"));
    let ban: serde_json::Value = serde_json::from_str(&calls[6].body).expect("JSON");
    assert_eq!(ban["snippet"]["banDurationSeconds"], 300);
    assert_eq!(ban["snippet"]["liveChatId"], "chat1");
    assert_eq!((calls[7].method.as_str(), calls[7].query.as_str()), ("DELETE", "id=LCC.1"));
    assert_eq!(calls.len(), 8, "the access token was kept between calls");
}

#[tokio::test]
async fn youtube_stops_on_a_revoked_refresh_token() {
    let fake = Fake::start(&[(
        "/google-oauth/token",
        400,
        r#"{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}"#,
    )])
    .await;
    let credential =
        Credential::Youtube { client_id: "c".into(), client_secret: "s".into(), refresh_token: "r".into() };
    let follow = Follow::Youtube { live_chat_id: Some("chat1".into()), video_id: None };
    let result = client(&fake, credential, follow).fetch(None).await;
    assert!(matches!(result, Err(FetchError::Unauthorized { .. })), "{result:?}");
}

#[tokio::test]
async fn telegram_long_polls_with_its_offset_and_reports_refusals() {
    let updates = r#"{"ok": true, "result": [
      {"update_id": 500, "message": {"message_id": 70, "chat": {"id": -100777, "type": "supergroup"},
        "is_automatic_forward": true, "sender_chat": {"id": -100555, "type": "channel", "username": "akimat"},
        "forward_origin": {"type": "channel", "chat": {"id": -100555, "type": "channel", "username": "akimat"},
                           "message_id": 9, "date": 1}, "text": "пост"}},
      {"update_id": 501, "message": {"message_id": 71, "chat": {"id": -100777, "type": "supergroup"},
        "from": {"id": 42, "is_bot": false, "first_name": "Дана"}, "message_thread_id": 70, "text": "вопрос"}}]}"#;
    let fake = Fake::start(&[
        ("/telegram/bot1:SECRET/getUpdates", 200, updates),
        ("/telegram/bot1:SECRET/getUpdates", 200, r#"{"ok": true, "result": []}"#),
        (
            "/telegram/bot1:SECRET/deleteMessage",
            400,
            r#"{"ok": false, "error_code": 400,
            "description": "Bad Request: message can't be deleted"}"#,
        ),
        ("/telegram/bot1:SECRET/banChatMember", 200, r#"{"ok": true, "result": true}"#),
    ])
    .await;
    let telegram = client(
        &fake,
        Credential::Telegram { bot_token: "1:SECRET".into() },
        Follow::Telegram { chat_id: -100777, post_id: 9 },
    );
    let fetched = telegram.fetch(None).await.expect("updates");
    assert_eq!(fetched.comments.len(), 1);
    assert_eq!(fetched.comments[0].url.as_deref(), Some("https://t.me/akimat/9?comment=71"));
    let cursor = fetched.cursor.expect("a cursor");
    assert_eq!(cursor, r#"{"offset":502,"thread":70}"#);
    let fetched = telegram.fetch(Some(&cursor)).await.expect("no updates");
    assert!(fetched.comments.is_empty());
    assert_eq!(fetched.cursor, None, "nothing new: the stored cursor stays");

    let remove = PlatformAction::Remove { external_id: "-100777:71".into() };
    assert_eq!(
        telegram.act(&remove).await,
        Err(ActionError::Refused { reason: "Bad Request: message can't be deleted".into() })
    );
    let ban = PlatformAction::Ban { author_id: "42".into(), minutes: None };
    assert_eq!(telegram.act(&ban).await, Ok(ActionOutcome::default()));

    let calls = fake.calls();
    let first: serde_json::Value = serde_json::from_str(&calls[0].body).expect("JSON");
    assert_eq!(first, serde_json::json!({"timeout": 1, "allowed_updates": ["message"]}));
    let second: serde_json::Value = serde_json::from_str(&calls[1].body).expect("JSON");
    assert_eq!(second["offset"], 502);
    let delete: serde_json::Value = serde_json::from_str(&calls[2].body).expect("JSON");
    assert_eq!(delete, serde_json::json!({"chat_id": -100777, "message_id": 71}));
    let ban: serde_json::Value = serde_json::from_str(&calls[3].body).expect("JSON");
    assert_eq!(
        ban,
        serde_json::json!({"chat_id": -100777, "user_id": 42}),
        "a permanent ban has no until_date"
    );
}

#[tokio::test]
async fn vk_renews_its_key_keeping_the_ts_and_names_authors() {
    let fake = Fake::start(&[
        ("/vk/method/groups.getLongPollServer", 200, r#"{"response": {"key": "k1", "server": "{base}/vk/longpoll/1", "ts": "10"}}"#),
        ("/vk/longpoll/1", 200, r#"{"failed": 2}"#),
        ("/vk/method/groups.getLongPollServer", 200, r#"{"response": {"key": "k2", "server": "{base}/vk/longpoll/2", "ts": "99"}}"#),
        ("/vk/longpoll/2", 200, r#"{"ts": "11", "updates": [{"type": "wall_reply_new", "group_id": 123, "event_id": "e",
            "object": {"id": 5, "from_id": 7, "date": 1709668800, "text": "дорога", "post_owner_id": -123, "post_id": 8}}]}"#),
        ("/vk/method/users.get", 200, r#"{"response": [{"id": 7, "first_name": "Болат", "last_name": "С."}]}"#),
        ("/vk/method/wall.deleteComment", 200, r#"{"response": 1}"#),
        ("/vk/method/groups.ban", 200, r#"{"error": {"error_code": 15, "error_msg": "Access denied"}}"#),
    ])
    .await;
    let vk = client(
        &fake,
        Credential::Vk { access_token: "vk1.a.TOKEN".into() },
        Follow::Vk { owner_id: -123, video_id: None, post_id: Some(8) },
    );
    let renewed = vk.fetch(Some("10")).await.expect("a renewed key");
    assert!(renewed.comments.is_empty());
    assert_eq!(renewed.cursor.as_deref(), Some("10"), "failed 2 keeps the ts");
    let fetched = vk.fetch(Some("10")).await.expect("events");
    assert_eq!(fetched.cursor.as_deref(), Some("11"));
    assert_eq!(fetched.comments.len(), 1);
    assert_eq!(fetched.comments[0].author_name, "Болат С.");
    assert_eq!(fetched.comments[0].external_id, "-123_5");

    let remove = PlatformAction::Remove { external_id: "-123_5".into() };
    assert_eq!(vk.act(&remove).await, Ok(ActionOutcome::default()));
    let ban = PlatformAction::Ban { author_id: "7".into(), minutes: Some(60) };
    assert_eq!(vk.act(&ban).await, Err(ActionError::Refused { reason: "VK error 15: Access denied".into() }));

    let calls = fake.calls();
    let paths: Vec<&str> = calls.iter().map(|call| call.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/vk/method/groups.getLongPollServer",
            "/vk/longpoll/1",
            "/vk/method/groups.getLongPollServer",
            "/vk/longpoll/2",
            "/vk/method/users.get",
            "/vk/method/wall.deleteComment",
            "/vk/method/groups.ban",
        ]
    );
    assert!(calls.iter().all(|call| !call.query.contains("TOKEN")), "the token never goes in a URL");
    assert!(calls[0].body.contains("group_id=123") && calls[0].body.contains("v=5.199"), "{}", calls[0].body);
    assert!(calls[0].body.contains("access_token=vk1.a.TOKEN"));
    assert_eq!(calls[1].query, "act=a_check&key=k1&ts=10&wait=1");
    assert_eq!(calls[3].query, "act=a_check&key=k2&ts=10&wait=1");
    assert!(calls[4].body.contains("user_ids=7"));
    assert!(calls[5].body.contains("owner_id=-123") && calls[5].body.contains("comment_id=5"));
    let ban = &calls[6].body;
    assert!(
        ban.contains("group_id=123") && ban.contains("owner_id=7") && ban.contains("comment_visible=1"),
        "{ban}"
    );
    assert!(ban.contains("end_date="), "{ban}");
}

#[tokio::test]
async fn facebook_pages_after_its_cursor_and_hides() {
    let fake = Fake::start(&[
        ("/facebook/v19.0/777/comments", 200, r#"{"data": [{"id": "777_1", "message": "привет",
            "created_time": "2024-03-05T19:59:58+0000"}], "paging": {"cursors": {"before": "b", "after": "a1"}}}"#),
        ("/facebook/v19.0/777/comments", 400, r#"{"error": {"message": "Error validating access token",
            "type": "OAuthException", "code": 190, "fbtrace_id": "x"}}"#),
        ("/facebook/v19.0/777_1", 200, r#"{"success": true}"#),
    ])
    .await;
    let facebook = client(
        &fake,
        Credential::Facebook { access_token: "EAAB.TOKEN".into() },
        Follow::Facebook { live_video_id: "777".into() },
    );
    let fetched = facebook.fetch(None).await.expect("a page");
    assert_eq!(fetched.cursor.as_deref(), Some("a1"));
    assert_eq!(fetched.wait, Duration::from_millis(1500));
    assert_eq!(fetched.comments[0].author_name, "Facebook");
    let refused = facebook.fetch(Some("a1")).await;
    assert!(matches!(refused, Err(FetchError::Unauthorized { .. })), "{refused:?}");
    let remove = PlatformAction::Remove { external_id: "777_1".into() };
    assert_eq!(facebook.act(&remove).await, Ok(ActionOutcome::default()));
    let ban = PlatformAction::Ban { author_id: "1".into(), minutes: None };
    assert_eq!(facebook.act(&ban).await, Err(ActionError::Unsupported));

    let calls = fake.calls();
    assert_eq!(
        calls[0].query,
        "access_token=EAAB.TOKEN&order=chronological&filter=stream\
         &fields=id%2Cmessage%2Ccreated_time%2Cfrom%2Cpermalink_url&limit=100"
    );
    assert!(calls[1].query.ends_with("&after=a1"));
    assert_eq!(calls[2].method, "POST");
    assert_eq!(calls[2].body, "is_hidden=true&access_token=EAAB.TOKEN");
}

#[tokio::test]
async fn youtube_finds_the_next_broadcast_after_a_chat_ends() {
    let fake = Fake::start(&[
        ("/google-oauth/token", 200, r#"{"access_token": "at1", "expires_in": 3600}"#),
        (
            "/google/youtube/v3/liveBroadcasts",
            200,
            r#"{"items": [{"id": "vid1", "snippet": {"liveChatId": "chat1"}}]}"#,
        ),
        (
            "/google/youtube/v3/liveChat/messages",
            403,
            r#"{"error": {"code": 403, "message": "The live chat is no longer live.",
            "errors": [{"reason": "liveChatEnded", "domain": "youtube.liveChat"}]}}"#,
        ),
        (
            "/google/youtube/v3/liveBroadcasts",
            200,
            r#"{"items": [{"id": "vid2", "snippet": {"liveChatId": "chat2"}}]}"#,
        ),
        ("/google/youtube/v3/liveChat/messages", 200, MESSAGE_PAGE),
    ])
    .await;
    let credential =
        Credential::Youtube { client_id: "c".into(), client_secret: "s".into(), refresh_token: "r".into() };
    let youtube = client(&fake, credential, Follow::Youtube { live_chat_id: None, video_id: None });
    let ended = youtube.fetch(Some("old")).await;
    assert!(matches!(ended, Err(FetchError::Gone { .. })), "{ended:?}");
    let fetched = youtube.fetch(Some("old")).await.expect("the next broadcast's chat");
    assert_eq!(fetched.resolved.as_deref(), Some("liveChatId chat2 (video vid2)"));
    let calls = fake.calls();
    assert!(calls[2].query.ends_with("&pageToken=old"));
    assert_eq!(
        calls[4].query, "liveChatId=chat2&part=snippet%2CauthorDetails&maxResults=2000",
        "no old page token"
    );
}
