//! Restream destinations through the API: who may manage them, what is refused, how stream
//! keys are kept (sealed, write-only, masked), an akim's defaults, the secret key's rotation,
//! and a destination's state on every channel that carries it. The restreams themselves, to
//! real RTMP receivers, are tested by tests/media/test_egress.py.

use crate::media::{publisher, stream_key};
use crate::support::*;
use base64::Engine as _;
use kezdesu::media::engine::synthetic::SyntheticPublisher;
use kezdesu::secrets::SecretKey;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::Row;
use std::time::Duration;

const KEY: &str = "abcd-efgh-ijkl-mnop-f3a9";

fn secret(byte: u8) -> SecretKey {
    SecretKey::from_base64(&base64::engine::general_purpose::STANDARD.encode([byte; 32]))
        .expect("a valid key")
}

fn destination(url: &str, key: &str) -> Value {
    json!({"platform": "youtube", "name": "Akimat's channel", "ingest_url": url, "stream_key": key})
}

async fn sealed_keys(server: &TestServer) -> Vec<String> {
    let rows = sqlx::query("SELECT stream_key_sealed FROM restream_destinations ORDER BY id")
        .fetch_all(&server.database().await)
        .await
        .expect("reading the destinations");
    rows.iter().map(|row| row.get::<String, _>(0)).collect()
}

#[tokio::test]
async fn stream_keys_are_write_only_sealed_and_checked() {
    let server = TestServer::start_with(|config| config.secret_key = Some(secret(1))).await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let path = format!("/api/meetings/{meeting}/destinations");

    let (status, added) =
        server.post(&path, Some(&akim), destination("rtmp://a.rtmp.youtube.com/live2", KEY)).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    assert_eq!(added["stream_key"], "••••f3a9");
    assert_eq!(added["enabled"], true);
    assert!(!added.to_string().contains(KEY));
    let stored = sealed_keys(&server).await;
    assert!(stored[0].starts_with("k1.") && !stored[0].contains(KEY), "stored sealed: {}", stored[0]);

    // Bad input: 422 problems naming what is wrong, and nothing stored.
    let cases = [
        (destination("http://a.rtmp.youtube.com/live2", KEY), "invalid_ingest_url"),
        (destination("rtmp://user:pw@host/live", KEY), "invalid_ingest_url"),
        (destination("rtmp://host/live", &"k".repeat(1000)), "invalid_stream_key"),
        (destination("rtmp://host/live", "has space"), "invalid_stream_key"),
        (
            json!({"platform": "facebook", "ingest_url": "rtmp://live-api-s.facebook.com/rtmp", "stream_key": KEY}),
            "invalid_ingest_url",
        ),
    ];
    for (body, code) in cases {
        assert_problem(&server.post(&path, Some(&akim), body).await, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    let (status, _) = server
        .post(
            &path,
            Some(&akim),
            json!({"platform": "myspace", "ingest_url": "rtmp://h/l", "stream_key": KEY}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    for number in 1..6 {
        let (status, body) = server
            .post(&path, Some(&akim), destination("rtmp://host/live", &format!("key-number-{number}")))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    assert_problem(
        &server.post(&path, Some(&akim), destination("rtmp://host/live", "one-too-many")).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "too_many_destinations",
    );

    // Only the meeting's akim and admins.
    let admin = server.admin().await;
    let (_, other_akim) = server.meeting_with_akim(60).await;
    let login = format!("moderator{}", rand_suffix());
    server.create_account(&admin, &login, "moderator").await;
    let moderator = server.sign_in(&login, &password_of(&login)).await;
    assert_eq!(server.get(&path, None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(server.get(&path, Some(&moderator)).await.0, StatusCode::FORBIDDEN);
    assert_eq!(server.get(&path, Some(&other_akim)).await.0, StatusCode::FORBIDDEN);
    let (status, list) = server.get(&path, Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["destinations"].as_array().map(Vec::len), Some(6));

    // A new key replaces the old one, still write-only; switching off keeps the key.
    let id = added["id"].as_i64().expect("an id");
    let one = format!("{path}/{id}");
    let (status, changed) = server.patch(&one, Some(&akim), json!({"stream_key": "new-key-0000-7777"})).await;
    assert_eq!((status, changed["stream_key"].as_str()), (StatusCode::OK, Some("••••7777")), "{changed}");
    let (status, off) =
        server.patch(&one, Some(&akim), json!({"enabled": false, "version": changed["version"]})).await;
    assert_eq!(
        (status, off["enabled"].as_bool(), off["stream_key"].as_str()),
        (StatusCode::OK, Some(false), Some("••••7777"))
    );
    assert_problem(
        &server.patch(&one, Some(&akim), json!({"enabled": true, "version": changed["version"]})).await,
        StatusCode::CONFLICT,
        "edit_conflict",
    );
    assert_problem(
        &server.patch(&one, Some(&akim), json!({"ingest_url": "ftp://x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_ingest_url",
    );
    // Another meeting's destination is not found through this one.
    let (other_meeting, _) = server.meeting_with_akim(60).await;
    let (status, _) = server
        .call(Method::DELETE, &format!("/api/meetings/{other_meeting}/destinations/{id}"), Some(&admin), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = server.call(Method::DELETE, &one, Some(&akim), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(server.get(&path, Some(&akim)).await.1["destinations"].as_array().map(Vec::len), Some(5));
}

#[tokio::test]
async fn without_a_secret_key_no_stream_key_is_stored() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let answer = server
        .post(
            &format!("/api/meetings/{meeting}/destinations"),
            Some(&akim),
            destination("rtmp://host/live", KEY),
        )
        .await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "secret_key_missing");
    assert!(answer.1["detail"].as_str().is_some_and(|detail| detail.contains("KEZDESU_SECRET_KEY")));
    assert!(sealed_keys(&server).await.is_empty());
}

#[tokio::test]
async fn an_akims_defaults_are_copied_to_each_new_meeting() {
    let server = TestServer::start_with(|config| config.secret_key = Some(secret(2))).await;
    let admin = server.admin().await;
    let login = format!("akim{}", rand_suffix());
    let akim = server.create_account(&admin, &login, "akim").await;
    let akim_token = server.sign_in(&login, &password_of(&login)).await;
    let defaults = format!("/api/accounts/{akim}/destinations");
    let (status, youtube) =
        server.post(&defaults, Some(&akim_token), destination("rtmp://a.rtmp.youtube.com/live2", KEY)).await;
    assert_eq!(status, StatusCode::CREATED, "{youtube}");
    let vk = json!({"platform": "vk", "ingest_url": "rtmp://ovsu.mycdn.me/input", "stream_key": "vk-key-0000-1234", "enabled": false});
    assert_eq!(server.post(&defaults, Some(&akim_token), vk).await.0, StatusCode::CREATED);
    // Another akim may not read or set them; a moderator's account has none.
    let (_, other_akim) = server.meeting_with_akim(60).await;
    assert_eq!(server.get(&defaults, Some(&other_akim)).await.0, StatusCode::FORBIDDEN);
    let moderator = server.create_account(&admin, &format!("moderator{}", rand_suffix()), "moderator").await;
    assert_problem(
        &server.get(&format!("/api/accounts/{moderator}/destinations"), Some(&admin)).await,
        StatusCode::NOT_FOUND,
        "not_an_akim",
    );

    let territory = server.create_territory(&admin, &format!("75{:07}", rand_suffix() % 10_000_000)).await;
    let (status, meeting) =
        server.post("/api/meetings", Some(&admin), meeting_body(territory, akim, 60)).await;
    assert_eq!(status, StatusCode::CREATED, "{meeting}");
    let path = format!("/api/meetings/{}/destinations", meeting["id"]);
    let (_, copied) = server.get(&path, Some(&akim_token)).await;
    let copied = copied["destinations"].as_array().cloned().unwrap_or_default();
    let summary: Vec<(String, String, bool)> = copied
        .iter()
        .map(|d| {
            (
                d["platform"].as_str().unwrap_or_default().to_owned(),
                d["stream_key"].as_str().unwrap_or_default().to_owned(),
                d["enabled"].as_bool().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("youtube".to_owned(), "••••f3a9".to_owned(), true),
            ("vk".to_owned(), "••••1234".to_owned(), false)
        ]
    );
    // Editing the meeting's copy leaves the default alone.
    let copy = copied[0]["id"].as_i64().expect("an id");
    assert_eq!(
        server.patch(&format!("{path}/{copy}"), Some(&akim_token), json!({"enabled": false})).await.0,
        StatusCode::OK
    );
    let (_, defaults_now) = server.get(&defaults, Some(&akim_token)).await;
    assert_eq!(defaults_now["destinations"][0]["enabled"], true);
    assert_ne!(defaults_now["destinations"][0]["id"], copy);
}

#[tokio::test]
async fn a_rotated_secret_key_reseals_every_stored_key_at_start() {
    let mut server = TestServer::start_with(|config| config.secret_key = Some(secret(3))).await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let path = format!("/api/meetings/{meeting}/destinations");
    assert_eq!(
        server.post(&path, Some(&akim), destination("rtmp://host/live", KEY)).await.0,
        StatusCode::CREATED
    );
    let before = sealed_keys(&server).await;
    server.stop().await.expect("a clean stop");
    server.config.secret_key = Some(secret(4));
    server.config.previous_secret_key = Some(secret(3));
    let server = server.restart_stopped().await;
    let after = sealed_keys(&server).await;
    let fingerprint = |sealed: &str| sealed.split('.').nth(1).map(str::to_owned);
    assert_ne!(fingerprint(&before[0]), fingerprint(&after[0]), "resealed with the new key");
    assert_eq!(fingerprint(&after[0]).as_deref(), Some(secret(4).fingerprint()));
    let opened = kezdesu::secrets::Sealer::new(Some(secret(4)), None).open(&after[0]);
    assert_eq!(opened.as_deref(), Ok(KEY));
}

#[tokio::test]
async fn a_destination_that_cannot_be_reached_fails_and_says_so_everywhere() {
    let server = TestServer::start_with(|config| {
        config.secret_key = Some(secret(5));
        // No transcoder is needed to see a destination fail; a missing one is retried quietly.
        config.egress.ffmpeg = "/nonexistent/ffmpeg".into();
    })
    .await;
    let (meeting, akim, moderator) = server.live_meeting().await;
    // Nothing listens on loopback's discard port.
    let (status, added) = server
        .post(
            &format!("/api/meetings/{meeting}/destinations"),
            Some(&akim),
            destination("rtmp://127.0.0.1:9/live2", KEY),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let mut events = server.events(meeting).await;
    let mut live = server.live(meeting, &moderator, None).await;
    let key = stream_key(&server, meeting, &akim).await;
    let publishing = SyntheticPublisher::start(publisher(&server, meeting, &key)).await.expect("publishing");

    let failed = |status: &Value| status["state"] == "failed";
    let mut seen = Vec::new();
    let from_live = tokio::time::timeout(
        Duration::from_secs(20),
        live.until(&mut seen, |message| message["type"] == "restream" && failed(&message["status"])),
    )
    .await
    .expect("a restream message on the live channel");
    let fixture: Value =
        serde_json::from_str(include_str!("../fixtures/protocol/server/restream.json")).expect("the fixture");
    let keys =
        |value: &Value| value.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    assert_eq!(keys(&from_live), keys(&fixture));
    assert_eq!(keys(&from_live["status"]), keys(&fixture["status"]));
    let status = &from_live["status"];
    assert_eq!((status["platform"].as_str(), status["retries"].as_u64()), (Some("youtube"), Some(0)));
    assert!(
        status["last_error"].as_str().is_some_and(|error| error.contains("cannot connect to 127.0.0.1:9")),
        "{status}"
    );
    assert!(!from_live.to_string().contains(KEY));

    let mut from_stream = None;
    while let Some((name, data)) = events.next(Duration::from_secs(10)).await {
        if name == "restream" && failed(&data) {
            from_stream = Some(data);
            break;
        }
    }
    assert!(from_stream.is_some(), "a restream event on the event stream");
    let (_, shown) = server.get(&format!("/api/meetings/{meeting}"), None).await;
    assert_eq!(shown["restream"][0]["state"], "failed", "{shown}");
    let (_, listed) = server.get(&format!("/api/meetings/{meeting}/destinations"), Some(&akim)).await;
    assert_eq!(listed["destinations"][0]["status"]["state"], "failed", "{listed}");
    let metrics = reqwest::get(server.url("/metrics")).await.expect("metrics").text().await.expect("text");
    assert!(metrics.contains(r#"kezdesu_restream_destinations{state="failed"} 1"#), "{metrics}");

    // Switching it off and on tries it once more (an edit is the akim's retry).
    let id = added["id"].as_i64().expect("an id");
    server
        .patch(&format!("/api/meetings/{meeting}/destinations/{id}"), Some(&akim), json!({"enabled": false}))
        .await;
    let stopped = tokio::time::timeout(
        Duration::from_secs(10),
        live.until(&mut seen, |m| m["type"] == "restream" && m["status"]["state"] == "stopped"),
    )
    .await;
    assert!(stopped.is_ok(), "switching a failed destination off stops it");
    drop(publishing);
}
