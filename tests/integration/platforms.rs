//! Comments from the social-media platforms through the real server: the API of connected
//! accounts and followed objects (always), and, against the fakes of the platforms' APIs
//! (`tests/services/platforms`, whose URL tests/run gives as `KEZDESU_TEST_PLATFORMS_URL`),
//! comments entering the channel with their source, moderation sent back, restarts without
//! duplicates, and each failure the platforms document.

use crate::support::*;
use base64::Engine as _;
use kezdesu::secrets::SecretKey;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// The fake is one process for every test: the tests that change its faults take turns.
pub static FAKE_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn secret() -> SecretKey {
    SecretKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([7u8; 32])).expect("a valid key")
}

/// The fake platforms' control API.
pub struct Fake {
    pub base: String,
    client: reqwest::Client,
}

impl Fake {
    /// `None` (and the test skipped) when tests/run did not start the fake.
    pub fn from_env() -> Option<Fake> {
        match std::env::var("KEZDESU_TEST_PLATFORMS_URL") {
            Ok(base) => Some(Fake { base, client: reqwest::Client::new() }),
            Err(_) => {
                eprintln!(
                    "skipped: KEZDESU_TEST_PLATFORMS_URL is not set (tests/run starts the fake platforms)"
                );
                None
            }
        }
    }

    pub async fn control(&self, path: &str, body: Value) -> Value {
        let response = self
            .client
            .post(format!("{}/_control/{path}", self.base))
            .json(&body)
            .send()
            .await
            .expect("the fake answers");
        let status = response.status();
        let body: Value = response.json().await.expect("JSON");
        assert!(status.is_success(), "{path}: {status} {body}");
        body
    }

    pub async fn read(&self, path: &str) -> Value {
        self.client
            .get(format!("{}/_control/{path}", self.base))
            .send()
            .await
            .expect("the fake answers")
            .json()
            .await
            .expect("JSON")
    }

    /// The product's calls of `method` on `platform` so far.
    pub async fn calls(&self, platform: &str, method: &str) -> Vec<Value> {
        let calls = self.read(&format!("calls?platform={platform}")).await;
        calls.as_array().expect("a list").iter().filter(|call| call["method"] == method).cloned().collect()
    }

    pub async fn youtube_message(&self, chat: &str, author: &str, text: &str) -> String {
        let message = self
            .control(
                "youtube/messages",
                json!({"live_chat_id": chat, "author_channel_id": author, "author_name": format!("Автор {author}"), "text": text}),
            )
            .await;
        message["id"].as_str().expect("an id").to_owned()
    }

    /// The platforms' settings of a server that talks to this fake, quickly.
    pub fn configure(&self, config: &mut kezdesu::config::Config) {
        let platforms = &mut config.platforms;
        platforms.youtube_api_url = format!("{}/google", self.base);
        platforms.youtube_oauth_url = format!("{}/google-oauth", self.base);
        platforms.telegram_api_url = format!("{}/telegram", self.base);
        platforms.vk_api_url = format!("{}/vk", self.base);
        platforms.facebook_graph_url = format!("{}/facebook", self.base);
        platforms.reconcile_ms = 100;
        platforms.facebook_poll_ms = 200;
        platforms.long_poll_seconds = 2;
        platforms.first_retry_pause_ms = 200;
        platforms.longest_retry_pause_ms = 1000;
        config.secret_key = Some(secret());
    }

    /// The environment of a `kezdesu` process that talks to this fake.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("YOUTUBE_API_URL", format!("{}/google", self.base)),
            ("YOUTUBE_OAUTH_URL", format!("{}/google-oauth", self.base)),
            ("TELEGRAM_API_URL", format!("{}/telegram", self.base)),
            ("VK_API_URL", format!("{}/vk", self.base)),
            ("FACEBOOK_GRAPH_URL", format!("{}/facebook", self.base)),
            ("RECONCILE_MS", "100".to_owned()),
            ("FIRST_RETRY_PAUSE_MS", "200".to_owned()),
            ("LONGEST_RETRY_PAUSE_MS", "1000".to_owned()),
        ]
        .into_iter()
        .map(|(name, value)| (format!("KEZDESU__PLATFORMS__{name}"), value))
        .collect()
    }
}

/// The akim's account id, from their session.
pub async fn account_of(server: &TestServer, token: &str) -> i64 {
    let (status, session) = server.get("/api/session", Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    session["account"]["id"].as_i64().or_else(|| session["id"].as_i64()).expect("an account id")
}

pub async fn put(server: &TestServer, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    server.call(Method::PUT, path, Some(token), Some(body)).await
}

/// Waits until the meeting's reader of `platform` satisfies `wanted`; returns its status.
pub async fn status_until(
    server: &TestServer,
    meeting: i64,
    token: &str,
    platform: &str,
    wanted: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, list) = server.get(&format!("/api/meetings/{meeting}/platforms"), Some(token)).await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let found = list["platforms"]
            .as_array()
            .expect("a list")
            .iter()
            .find(|feed| feed["platform"] == platform)
            .map(|feed| feed["status"].clone());
        if let Some(found) = found.filter(|found| wanted(found)) {
            return found;
        }
        assert!(Instant::now() < deadline, "the {platform} reader never got there: {list}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Reads the live channel until an event satisfies `wanted`.
async fn event_until(client: &mut LiveClient, wanted: impl Fn(&Value) -> bool) -> Value {
    client.event_where(wanted).await
}

/// The external ids of the platform comments a client has seen posted, in order.
pub fn platform_comments_seen(client: &LiveClient) -> Vec<String> {
    client
        .seen
        .iter()
        .filter(|event| event["type"] == "comment_posted")
        .filter_map(|event| event["source"]["external_id"].as_str().map(str::to_owned))
        .collect()
}

/// A live meeting whose akim connected a YouTube account and follows `chat`.
pub async fn youtube_meeting(
    server: &TestServer,
    fake: &Fake,
    chat: &str,
    refresh_token: &str,
) -> (i64, String, String) {
    fake.control("youtube/broadcasts", json!({"id": format!("vid-{chat}"), "live_chat_id": chat})).await;
    let (meeting, akim, moderator) = server.live_meeting().await;
    let account = account_of(server, &akim).await;
    let (status, connected) = put(
        server,
        &format!("/api/accounts/{account}/platforms/youtube"),
        &akim,
        json!({"client_id": "kezdesu-test.apps.googleusercontent.com", "client_secret": "GOCSPX-test-secret", "refresh_token": refresh_token}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{connected}");
    let (status, feed) = put(
        server,
        &format!("/api/meetings/{meeting}/platforms/youtube"),
        &akim,
        json!({"live_chat_id": chat}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    (meeting, akim, moderator)
}

#[tokio::test]
async fn accounts_and_feeds_are_managed_by_the_akim_and_tokens_are_write_only() {
    let server = TestServer::start_with(|config| config.secret_key = Some(secret())).await;
    let (meeting, akim, moderator) = server.live_meeting().await;
    let account = account_of(&server, &akim).await;
    let accounts = format!("/api/accounts/{account}/platforms");
    let token = "1234567:AAH-secret-bot-token-xyzw";

    let (status, connected) =
        put(&server, &format!("{accounts}/telegram"), &akim, json!({"bot_token": token})).await;
    assert_eq!(status, StatusCode::OK, "{connected}");
    assert_eq!(connected["hint"], "••••xyzw");
    let (_, listed) = server.get(&accounts, Some(&akim)).await;
    assert!(!listed.to_string().contains("secret-bot-token"), "write-only: {listed}");
    assert_eq!(listed["platforms"][0]["platform"], "telegram");
    let database = server.database().await;
    let sealed: String = sqlx::query_scalar("SELECT credential_sealed FROM platform_credentials")
        .fetch_one(&database)
        .await
        .expect("stored");
    assert!(!sealed.contains("secret-bot-token"), "sealed at rest: {sealed}");

    // Who may: a moderator neither connects accounts nor chooses what is followed, but sees it.
    let (status, _) =
        put(&server, &format!("{accounts}/telegram"), &moderator, json!({"bot_token": token})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let feed_path = format!("/api/meetings/{meeting}/platforms/telegram");
    let (status, _) = put(&server, &feed_path, &moderator, json!({"chat_id": -1001, "post_id": 5})).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, feed) = put(&server, &feed_path, &akim, json!({"chat_id": -1001, "post_id": 5})).await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    assert_eq!(feed["connected"], true);
    let (status, list) = server.get(&format!("/api/meetings/{meeting}/platforms"), Some(&moderator)).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(
        list["platforms"][0]["follow"],
        json!({"platform": "telegram", "chat_id": -1001, "post_id": 5})
    );
    let (status, _) = server.get(&format!("/api/meetings/{meeting}/platforms"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Bad input: problems that name what is wrong, and nothing stored.
    // A platform the server does not know is nothing at that path.
    let unknown = put(&server, &format!("{accounts}/myspace"), &akim, json!({"access_token": "x"})).await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "unknown_platform");
    let cases = [
        (format!("{accounts}/youtube"), json!({"refresh_token": "x"}), "invalid_credential"),
        (format!("{accounts}/vk"), json!({"access_token": "has space"}), "invalid_credential"),
        (format!("{accounts}/vk"), json!({"bot_token": "x", "access_token": "y"}), "invalid_credential"),
        (feed_path.clone(), json!({"chat_id": 5, "post_id": 1}), "invalid_follow"),
        (feed_path.clone(), json!({"chat_id": -5}), "invalid_follow"),
        (
            format!("/api/meetings/{meeting}/platforms/vk"),
            json!({"owner_id": -1, "video_id": 2, "post_id": 3}),
            "invalid_follow",
        ),
        (
            format!("/api/meetings/{meeting}/platforms/youtube"),
            json!({"live_chat_id": "<script>"}),
            "invalid_follow",
        ),
        (
            format!("/api/meetings/{meeting}/platforms/facebook"),
            json!({"platform": "vk", "live_video_id": "1"}),
            "invalid_follow",
        ),
    ];
    for (path, body, code) in cases {
        let answer = put(&server, &path, &akim, body.clone()).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    let (_, list) = server.get(&format!("/api/meetings/{meeting}/platforms"), Some(&akim)).await;
    assert_eq!(list["platforms"].as_array().map(Vec::len), Some(1), "{list}");

    // Without a secret key nothing is kept in clear.
    let keyless = TestServer::start().await;
    let (_, keyless_akim, _) = keyless.live_meeting().await;
    let keyless_account = account_of(&keyless, &keyless_akim).await;
    let answer = put(
        &keyless,
        &format!("/api/accounts/{keyless_account}/platforms/telegram"),
        &keyless_akim,
        json!({"bot_token": token}),
    )
    .await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "secret_key_missing");

    // A meeting restreamed to YouTube follows its broadcast's chat by itself once the akim's
    // YouTube account is connected: the restream makes the broadcast knowable.
    let destination = json!({"platform": "youtube", "ingest_url": "rtmp://a.rtmp.youtube.com/live2", "stream_key": "abcd-efgh-ijkl-mnop"});
    let (status, _) =
        server.post(&format!("/api/meetings/{meeting}/destinations"), Some(&akim), destination).await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, list) = server.get(&format!("/api/meetings/{meeting}/platforms"), Some(&akim)).await;
    assert!(list.to_string().contains("\"platform\":\"telegram\""), "{list}");
    assert!(!list.to_string().contains("\"platform\":\"youtube\""), "no YouTube account yet: {list}");
    let youtube =
        json!({"client_id": "c.apps.googleusercontent.com", "client_secret": "s", "refresh_token": "1//r"});
    let (status, _) = put(&server, &format!("{accounts}/youtube"), &akim, youtube).await;
    assert_eq!(status, StatusCode::OK);
    let (_, list) = server.get(&format!("/api/meetings/{meeting}/platforms"), Some(&akim)).await;
    let followed: Vec<&Value> =
        list["platforms"].as_array().expect("a list").iter().map(|feed| &feed["follow"]).collect();
    assert!(followed.contains(&&json!({"platform": "youtube"})), "the active broadcast's chat: {list}");

    // Disconnecting and unfollowing.
    let (status, _) = server.call(Method::DELETE, &format!("{accounts}/telegram"), Some(&akim), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = server.call(Method::DELETE, &feed_path, Some(&akim), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let answer = server.call(Method::DELETE, &feed_path, Some(&akim), None).await;
    assert_eq!(answer.0, StatusCode::NOT_FOUND, "{}", answer.1);
}

#[tokio::test]
async fn a_youtube_comment_enters_with_its_source_and_moderation_goes_back_to_youtube() {
    let Some(fake) = Fake::from_env() else { return };
    let _turn = FAKE_TURN.lock().await;
    fake.control("youtube/polling_interval_ms", json!({"ms": 500})).await;
    let server = TestServer::start_with(|config| fake.configure(config)).await;
    let chat = format!("chat-{}", rand_suffix());
    let (meeting, akim, moderator) =
        youtube_meeting(&server, &fake, &chat, &format!("1//refresh-{chat}")).await;
    status_until(&server, meeting, &akim, "youtube", |status| status["state"] == "live").await;
    let (viewer, _) = server.viewer(meeting, "Айгүл").await;
    let mut watching = server.live(meeting, &viewer, Some(0)).await;
    let mut console = server.live(meeting, &moderator, Some(0)).await;

    // Text with markup, entities, emoji, a right-to-left override and zero-width characters.
    let injected = Instant::now();
    let raw = "Когда\u{200B} починят <b>мост</b> &amp; дорогу?\u{202E} 🚧";
    let message = fake.youtube_message(&chat, "UCauthor1", raw).await;
    let posted = event_until(&mut watching, |event| event["source"]["external_id"] == message.as_str()).await;
    let took = injected.elapsed();
    // Within two seconds plus the polling interval (500 ms).
    assert!(took < Duration::from_millis(2500), "the comment took {took:?}");
    assert_eq!(posted["type"], "comment_posted");
    assert_eq!(posted["text"], "Когда починят <b>мост</b> &amp; дорогу? 🚧", "cleaned like typed text");
    assert_eq!(posted["author_name"], "Автор UCauthor1");
    assert_eq!(posted["source"]["platform"], "youtube");
    assert!(posted["source"].get("author_id").is_none(), "the public form has no platform user id: {posted}");
    let staff_form =
        event_until(&mut console, |event| event["source"]["external_id"] == message.as_str()).await;
    assert_eq!(staff_form["source"]["author_id"], "UCauthor1", "moderators see it");
    let comment = posted["comment"].as_i64().expect("a comment number");

    // Promoted like any comment: the issue names its platform source.
    let done = console.command(json!({"type": "promote", "comments": [comment]})).await;
    assert_eq!(done["type"], "done", "{done}");
    let (_, issues) = server.get(&format!("/api/meetings/{meeting}/issues"), None).await;
    assert_eq!(issues["issues"][0]["sources"][0]["source"]["platform"], "youtube", "{issues}");
    assert_eq!(issues["issues"][0]["sources"][0]["source"]["external_id"], message.as_str());
    assert!(issues["issues"][0]["sources"][0]["source"].get("author_id").is_none());

    // Hiding another comment deletes it on YouTube; the outcome is shown; Kezdesu did not wait.
    let spam = fake.youtube_message(&chat, "UCspammer", "Дешёвые телефоны!").await;
    let spam_posted =
        event_until(&mut console, |event| event["source"]["external_id"] == spam.as_str()).await;
    let spam_comment = spam_posted["comment"].as_i64().expect("a number");
    let done = console.command(json!({"type": "hide", "comment": spam_comment, "reason": "spam"})).await;
    assert_eq!(done["type"], "done", "{done}");
    let status = status_until(&server, meeting, &moderator, "youtube", |status| {
        status["actions"].as_array().is_some_and(|actions| {
            actions.iter().any(|action| action["comment"] == spam_comment && action["outcome"] == "done")
        })
    })
    .await;
    assert!(status["quota_units"].as_u64() >= Some(55), "a list costs 5 and a delete 50: {status}");
    let state = fake.read("state").await;
    assert!(state["youtube"]["deleted"].as_array().expect("a list").contains(&json!(spam)), "{state}");

    // A time-out of its author is a temporary ban on YouTube.
    let spammer = spam_posted["author"].as_i64().expect("the author's viewer");
    let done = console.command(json!({"type": "time_out", "viewer": spammer, "minutes": 10})).await;
    assert_eq!(done["type"], "done", "{done}");
    status_until(&server, meeting, &moderator, "youtube", |status| {
        status["actions"].as_array().is_some_and(|actions| {
            actions.iter().any(|action| action["viewer"] == spammer && action["outcome"] == "done")
        })
    })
    .await;
    let state = fake.read("state").await;
    let ban = state["youtube"]["bans"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|ban| ban["channel_id"] == "UCspammer")
        .cloned()
        .unwrap_or_else(|| panic!("no ban: {state}"));
    assert_eq!(ban["type"], "temporary");

    // The public moderation log and the metrics count by platform.
    let (_, log) = server.get(&format!("/api/meetings/{meeting}/moderation-log"), None).await;
    assert_eq!(
        log["by_platform"],
        json!([{"platform": "youtube", "comments": 2, "held": 0, "hidden": 1, "promoted": 1}]),
        "{log}"
    );
    let metrics = reqwest::get(server.url("/metrics")).await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains(r#"kezdesu_platform_comments_total{platform="youtube"} 2"#), "{metrics}");
    // The meeting's JSON shows the reader.
    let (_, shown) = server.get(&format!("/api/meetings/{meeting}"), None).await;
    assert_eq!(shown["platforms"][0]["platform"], "youtube", "{shown}");
}

#[tokio::test]
async fn a_restarted_reader_resumes_at_its_cursor_and_repeats_no_comment() {
    let Some(fake) = Fake::from_env() else { return };
    let _turn = FAKE_TURN.lock().await;
    fake.control("youtube/polling_interval_ms", json!({"ms": 300})).await;
    let server = TestServer::start_with(|config| fake.configure(config)).await;
    let chat = format!("chat-{}", rand_suffix());
    let (meeting, akim, _) = youtube_meeting(&server, &fake, &chat, &format!("1//refresh-{chat}")).await;
    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(fake.youtube_message(&chat, "UCa", &format!("Вопрос {n}")).await);
    }
    status_until(&server, meeting, &akim, "youtube", |status| status["comments"] == 3).await;
    let server = server.restart().await;
    let restarted_at = fake.calls("youtube", "liveChatMessages.list").await.len();
    for n in 3..5 {
        ids.push(fake.youtube_message(&chat, "UCa", &format!("Вопрос {n}")).await);
    }
    let (viewer, _) = server.viewer(meeting, "Ерлан").await;
    let mut watching = server.live(meeting, &viewer, Some(0)).await;
    let last = ids.last().expect("five").clone();
    event_until(&mut watching, |event| event["source"]["external_id"] == last.as_str()).await;
    assert_eq!(platform_comments_seen(&watching), ids, "each comment once, in order");
    // The first read after the restart carried the stored page token.
    let calls = fake.calls("youtube", "liveChatMessages.list").await;
    let first_after = &calls[restarted_at..];
    assert!(
        first_after.iter().any(|call| call["params"]["pageToken"].is_string()),
        "the reader resumed at its stored cursor: {first_after:?}"
    );
}

#[tokio::test]
async fn quota_revocation_and_malformed_answers_show_in_the_status_and_never_crash() {
    let Some(fake) = Fake::from_env() else { return };
    let _turn = FAKE_TURN.lock().await;
    fake.control("youtube/polling_interval_ms", json!({"ms": 200})).await;
    let server = TestServer::start_with(|config| fake.configure(config)).await;
    let chat = format!("chat-{}", rand_suffix());
    let refresh = format!("1//refresh-{chat}");
    let (meeting, akim, moderator) = youtube_meeting(&server, &fake, &chat, &refresh).await;
    status_until(&server, meeting, &akim, "youtube", |status| status["state"] == "live").await;
    let mut console = server.live(meeting, &moderator, None).await;

    fake.control("faults", json!({"platform": "youtube", "method": "liveChatMessages.list", "fault": "quotaExceeded", "times": 1})).await;
    let backing =
        status_until(&server, meeting, &akim, "youtube", |status| status["state"] == "backing_off").await;
    assert!(backing["reason"].as_str().is_some_and(|reason| reason.contains("quotaExceeded")), "{backing}");
    assert!(backing["until"].is_string(), "{backing}");
    // The moderators' console heard of it too.
    let told = console.until(&mut Vec::new(), |message| message["type"] == "platform").await;
    assert_eq!(told["status"]["platform"], "youtube");

    // A malformed answer: the connector's error status, and the server still answers.
    let server2 = TestServer::start_with(|config| {
        fake.configure(config);
        // The quota back-off above waits long; this reader is another one, on another server.
    })
    .await;
    let chat2 = format!("chat-{}", rand_suffix());
    let (meeting2, akim2, _) = youtube_meeting(&server2, &fake, &chat2, &format!("1//refresh-{chat2}")).await;
    status_until(&server2, meeting2, &akim2, "youtube", |status| status["state"] == "live").await;
    fake.control(
        "faults",
        json!({"platform": "youtube", "method": "liveChatMessages.list", "fault": "malformed", "times": 2}),
    )
    .await;
    let failing =
        status_until(&server2, meeting2, &akim2, "youtube", |status| status["state"] == "failing").await;
    assert!(failing["last_error"].as_str().is_some_and(|error| error.contains("malformed")), "{failing}");
    let (status, _) = server2.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    // And it goes on once the platform answers properly again.
    let message = fake.youtube_message(&chat2, "UCb", "После сбоя").await;
    status_until(&server2, meeting2, &akim2, "youtube", |status| {
        status["state"] == "live" && status["comments"] == 1
    })
    .await;

    // A revoked token: unauthorized, and no further calls.
    fake.control("revoke", json!({"platform": "youtube", "token": format!("1//refresh-{chat2}")})).await;
    // Access tokens already issued are refused too; the reader asks for a new one and is refused.
    let stopped =
        status_until(&server2, meeting2, &akim2, "youtube", |status| status["state"] == "unauthorized").await;
    assert!(stopped["reason"].is_string(), "{stopped}");
    let calls_then = fake.read("calls?platform=youtube").await.as_array().map(Vec::len);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let calls_later = fake.read("calls?platform=youtube").await.as_array().map(Vec::len);
    let _ = message;
    assert!(
        calls_later.unwrap_or(0) - calls_then.unwrap_or(0) <= 2,
        "an unauthorized reader makes no further calls ({calls_then:?} then {calls_later:?})"
    );
    fake.control("faults/clear", json!({})).await;
}

#[tokio::test]
async fn telegram_takes_replies_to_the_broadcast_post_only_and_deletes_hidden_ones() {
    let Some(fake) = Fake::from_env() else { return };
    let _turn = FAKE_TURN.lock().await;
    let server = TestServer::start_with(|config| fake.configure(config)).await;
    let (meeting, akim, moderator) = server.live_meeting().await;
    let account = account_of(&server, &akim).await;
    let bot = format!("{}:AAH-test-bot", rand_suffix() % 1_000_000_000);
    let group = -1_000_000_000_000 - (rand_suffix() % 1_000_000) as i64;
    let channel = -1_000_000_000_001 - (rand_suffix() % 1_000_000) as i64;
    let (status, _) = put(
        &server,
        &format!("/api/accounts/{account}/platforms/telegram"),
        &akim,
        json!({"bot_token": bot}),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, feed) = put(
        &server,
        &format!("/api/meetings/{meeting}/platforms/telegram"),
        &akim,
        json!({"chat_id": group, "post_id": 77}),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{feed}");
    status_until(&server, meeting, &akim, "telegram", |status| status["state"] == "live").await;

    // The channel's posts reach the group as automatic forwards (Bot API: Message.is_automatic_forward).
    let forward = |message_id: i64, post: i64| {
        json!({
            "message_id": message_id, "chat": {"id": group, "type": "supergroup", "title": "Akimat chat"},
            "sender_chat": {"id": channel, "type": "channel", "title": "Akimat", "username": "akimat_test"},
            "is_automatic_forward": true, "text": "Трансляция встречи",
            "forward_origin": {"type": "channel", "chat": {"id": channel, "type": "channel", "title": "Akimat", "username": "akimat_test"}, "message_id": post, "date": 1_800_000_000},
        })
    };
    let reply = |message_id: i64, to: Value, text: &str| {
        json!({
            "message_id": message_id, "chat": {"id": group, "type": "supergroup", "title": "Akimat chat"},
            "from": {"id": 5001, "is_bot": false, "first_name": "Дана", "last_name": "Серік"},
            "text": text, "reply_to_message": to,
        })
    };
    fake.control("telegram/messages", json!({"bot_token": bot, "message": forward(10, 77)})).await;
    fake.control("telegram/messages", json!({"bot_token": bot, "message": forward(11, 78)})).await;
    fake.control(
        "telegram/messages",
        json!({"bot_token": bot, "message": reply(12, forward(11, 78), "Это к другому посту")}),
    )
    .await;
    fake.control(
        "telegram/messages",
        json!({"bot_token": bot, "message": reply(13, forward(10, 77), "Когда откроют школу?")}),
    )
    .await;
    let status = status_until(&server, meeting, &akim, "telegram", |status| status["comments"] == 1).await;
    assert_eq!(status["state"], "live");
    let mut console = server.live(meeting, &moderator, Some(0)).await;
    let posted = event_until(&mut console, |event| event["type"] == "comment_posted").await;
    assert_eq!(posted["text"], "Когда откроют школу?");
    assert_eq!(posted["source"]["external_id"], format!("{group}:13"));
    assert_eq!(posted["author_name"], "Дана Серік");
    assert!(
        console.seen.iter().all(|event| event["text"] != "Это к другому посту"),
        "a reply to another post stays out"
    );

    let comment = posted["comment"].as_i64().expect("a number");
    let done = console.command(json!({"type": "hide", "comment": comment, "reason": "off_topic"})).await;
    assert_eq!(done["type"], "done", "{done}");
    status_until(&server, meeting, &moderator, "telegram", |status| {
        status["actions"]
            .as_array()
            .is_some_and(|actions| actions.iter().any(|action| action["outcome"] == "done"))
    })
    .await;
    let state = fake.read("state").await;
    assert!(
        state["telegram"]["deleted"].as_array().expect("a list").contains(&json!([group, 13])),
        "{state}"
    );
}

#[tokio::test]
async fn vk_refreshes_its_key_on_failed_2_and_facebook_hides_a_hidden_comment() {
    let Some(fake) = Fake::from_env() else { return };
    let _turn = FAKE_TURN.lock().await;
    let server = TestServer::start_with(|config| fake.configure(config)).await;
    let (meeting, akim, moderator) = server.live_meeting().await;
    let account = account_of(&server, &akim).await;
    let group = 100_000 + (rand_suffix() % 100_000) as i64;
    for (platform, body) in [
        ("vk", json!({"access_token": format!("vk1.a.community-{group}")})),
        ("facebook", json!({"access_token": format!("EAAB-page-{group}")})),
    ] {
        let (status, answer) =
            put(&server, &format!("/api/accounts/{account}/platforms/{platform}"), &akim, body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let video = format!("{group}77");
    for (platform, body) in
        [("vk", json!({"owner_id": -group, "video_id": 456})), ("facebook", json!({"live_video_id": video}))]
    {
        let (status, answer) =
            put(&server, &format!("/api/meetings/{meeting}/platforms/{platform}"), &akim, body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    status_until(&server, meeting, &akim, "vk", |status| status["state"] == "live").await;
    status_until(&server, meeting, &akim, "facebook", |status| status["state"] == "live").await;
    let servers_asked = fake.calls("vk", "groups.getLongPollServer").await.len();

    fake.control("vk/users", json!({"id": 7001, "first_name": "Асель", "last_name": "Нұрлан"})).await;
    // The long poll in flight answers when it times out; the next one is told its key expired.
    fake.control(
        "faults",
        json!({"platform": "vk", "method": "a_check", "fault": "vk_failed_2", "times": 1}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while fake.calls("vk", "groups.getLongPollServer").await.len() <= servers_asked {
        assert!(Instant::now() < deadline, "failed 2 asked for a new key");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let vk_comment = json!({"id": 901, "from_id": 7001, "date": 1_800_000_000, "text": "Где новая остановка?", "video_owner_id": -group, "video_id": 456});
    fake.control("vk/events", json!({"group_id": group, "type": "video_comment_new", "object": vk_comment}))
        .await;
    fake.control("facebook/comments", json!({"live_video_id": video, "from": {"id": "10158", "name": "Marat K"}, "message": "Please fix the lights"})).await;

    let mut console = server.live(meeting, &moderator, Some(0)).await;
    let from_vk = event_until(&mut console, |event| event["source"]["platform"] == "vk").await;
    assert_eq!(from_vk["text"], "Где новая остановка?");
    assert_eq!(from_vk["author_name"], "Асель Нұрлан");
    assert_eq!(from_vk["source"]["external_id"], format!("-{group}_901"));
    let from_facebook = event_until(&mut console, |event| event["source"]["platform"] == "facebook").await;
    assert_eq!(from_facebook["text"], "Please fix the lights");

    for (event, platform) in [(&from_vk, "vk"), (&from_facebook, "facebook")] {
        let comment = event["comment"].as_i64().expect("a number");
        let done = console.command(json!({"type": "hide", "comment": comment, "reason": "spam"})).await;
        assert_eq!(done["type"], "done", "{done}");
        status_until(&server, meeting, &moderator, platform, |status| {
            status["actions"].as_array().is_some_and(|actions| {
                actions.iter().any(|action| action["comment"] == comment && action["outcome"] == "done")
            })
        })
        .await;
    }
    let state = fake.read("state").await;
    let facebook_id = from_facebook["source"]["external_id"].clone();
    assert!(state["facebook"]["hidden"].as_array().expect("a list").contains(&facebook_id), "{state}");
    assert!(
        state["vk"]["deleted"].as_array().expect("a list").iter().any(|deleted| deleted["comment_id"] == 901),
        "{state}"
    );
    // A ban of the Facebook author cannot be sent back: said so, not pretended.
    let author = from_facebook["author"].as_i64().expect("a viewer");
    console.command(json!({"type": "ban", "viewer": author})).await;
    status_until(&server, meeting, &moderator, "facebook", |status| {
        status["actions"].as_array().is_some_and(|actions| {
            actions.iter().any(|action| action["viewer"] == author && action["outcome"] == "unsupported")
        })
    })
    .await;
}
