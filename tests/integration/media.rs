//! The broadcast: WHIP and WHEP against the real server, with real WebRTC peers (webrtc-rs
//! clients; Chromium and aiortc are driven from `tests/run`).

use crate::support::{TestServer, assert_problem, writable_database};
use kezdesu::media::engine::synthetic::{
    CountingViewer, PublisherOptions, SyntheticPublisher, viewer_offer_that_never_connects,
};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub(crate) const LOOPBACK: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

pub(crate) async fn stream_key(server: &TestServer, meeting: i64, token: &str) -> String {
    let (status, body) = server.get(&format!("/api/meetings/{meeting}/stream-key"), Some(token)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["stream_key"].as_str().expect("a key").to_owned()
}

pub(crate) fn publisher(server: &TestServer, meeting: i64, key: &str) -> PublisherOptions {
    PublisherOptions {
        whip_url: server.url(&format!("/api/meetings/{meeting}/whip")),
        stream_key: key.to_owned(),
        address: LOOPBACK,
        video_bits_per_second: 600_000,
        frames_per_second: 30,
        audio: true,
        vp8_payload_type: 96,
    }
}

/// A live meeting with a synthetic publisher on air: (meeting, akim's token, stream key, publisher).
async fn on_air(server: &TestServer) -> (i64, String, String, SyntheticPublisher) {
    let (meeting, akim, _moderator) = server.live_meeting().await;
    let key = stream_key(server, meeting, &akim).await;
    let publishing = SyntheticPublisher::start(publisher(server, meeting, &key)).await.expect("publishing");
    (meeting, akim, key, publishing)
}

async fn broadcast_status(server: &TestServer, meeting: i64) -> Value {
    let (status, body) = server.get(&format!("/api/meetings/{meeting}"), None).await;
    assert_eq!(status, StatusCode::OK);
    body["broadcast"].clone()
}

/// Polls until `check` holds for the meeting's broadcast status.
async fn wait_status(server: &TestServer, meeting: i64, check: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let status = broadcast_status(server, meeting).await;
        if check(&status) {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    broadcast_status(server, meeting).await
}

async fn post_sdp(
    server: &TestServer,
    path: &str,
    bearer: Option<&str>,
    content_type: &str,
    body: &str,
) -> (StatusCode, Value) {
    let mut request =
        server.client.post(server.url(path)).header("content-type", content_type).body(body.to_owned());
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let status = response.status();
    let is_problem = response
        .headers()
        .get("content-type")
        .is_some_and(|value| value.to_str().unwrap_or("") == "application/problem+json");
    let text = response.text().await.expect("body");
    let body =
        if is_problem { serde_json::from_str(&text).expect("a problem document") } else { json!(text) };
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_get_the_publishers_stream_under_their_own_payload_types() {
    let server = TestServer::start().await;
    let (meeting, akim, key, publishing) = on_air(&server).await;
    let whep = server.url(&format!("/api/meetings/{meeting}/whep"));
    // One viewer uses the publisher's payload type for VP8, the other a different one: the
    // forwarder must rewrite it per viewer, or the engine silently drops every packet.
    let same = CountingViewer::start(&whep, LOOPBACK, 96).await.expect("first viewer");
    let other = CountingViewer::start(&whep, LOOPBACK, 120).await.expect("second viewer");
    let status = wait_status(&server, meeting, |s| s["on_air"] == true && s["viewers"] == 2).await;
    assert_eq!(status, json!({"on_air": true, "viewers": 2}));

    // A second publisher, even with the right key, waits for the first to go.
    let (status, body) = post_sdp(
        &server,
        &format!("/api/meetings/{meeting}/whip"),
        Some(&key),
        "application/sdp",
        "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\n",
    )
    .await;
    assert_problem(&(status, body), StatusCode::CONFLICT, "publisher_present");

    // A viewer that can take none of what is on air (H.264 only, while VP8 is sent) is told
    // so, rather than answered with a session that would never show a frame.
    let h264_only = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\n\
        a=fmtp:102 packetization-mode=1;profile-level-id=42e01f\r\na=recvonly\r\n";
    let refused =
        post_sdp(&server, &format!("/api/meetings/{meeting}/whep"), None, "application/sdp", h264_only).await;
    assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "unacceptable_offer");

    tokio::time::sleep(Duration::from_secs(3)).await;
    for (viewer, payload_type) in [(&same, 96), (&other, 120)] {
        let video = viewer.counters.video_packets.load(Ordering::Relaxed);
        let audio = viewer.counters.audio_packets.load(Ordering::Relaxed);
        assert!(video > 100, "video packets received: {video}");
        assert!(audio > 50, "audio packets received: {audio}");
        assert_eq!(viewer.counters.video_payload_type.load(Ordering::Relaxed), payload_type);
    }
    let sent = publishing.stats();
    assert!(sent.video_packets > 100);

    assert_eq!(same.stop().await.expect("deleting"), StatusCode::OK);
    wait_status(&server, meeting, |s| s["viewers"] == 1).await;
    // Taking the publisher off air ends every viewer's session with it. The key it was opened
    // with still ends it after a rotation, as OBS, which knows only that key, expects.
    let (status, _) =
        server.post(&format!("/api/meetings/{meeting}/stream-key"), Some(&akim), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let mut other = other;
    publishing.stop().await.expect("stopping the publisher with the key it was opened with");
    assert!(other.wait_ended(Duration::from_secs(10)).await, "the viewer's session was not ended");
    let status = wait_status(&server, meeting, |s| s["on_air"] == false && s["viewers"] == 0).await;
    assert_eq!(status, json!({"on_air": false, "viewers": 0}));
    // Deleting a session that is gone is a 404 problem.
    let gone = server.client.delete(other.session_url()).send().await.expect("delete");
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_key_guards_publishing() {
    let server = TestServer::start().await;
    let (meeting, akim, _moderator) = server.live_meeting().await;
    let whip = format!("/api/meetings/{meeting}/whip");
    let offer = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendonly\r\n";

    let missing = post_sdp(&server, &whip, None, "application/sdp", offer).await;
    assert_problem(&missing, StatusCode::UNAUTHORIZED, "unauthenticated");
    let wrong = post_sdp(&server, &whip, Some("not-the-key"), "application/sdp", offer).await;
    assert_problem(&wrong, StatusCode::FORBIDDEN, "forbidden");

    let key = stream_key(&server, meeting, &akim).await;
    assert_eq!(stream_key(&server, meeting, &akim).await, key, "reading again shows the same key");
    let garbage = post_sdp(&server, &whip, Some(&key), "application/sdp", "hello").await;
    assert_problem(&garbage, StatusCode::UNPROCESSABLE_ENTITY, "invalid_sdp");
    let json_body = post_sdp(&server, &whip, Some(&key), "application/json", "{}").await;
    assert_problem(&json_body, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    // Well-formed enough to reach the engine, but not an offer it can answer.
    let broken = post_sdp(&server, &whip, Some(&key), "application/sdp", offer).await;
    assert_problem(&broken, StatusCode::UNPROCESSABLE_ENTITY, "unacceptable_offer");
    // Nothing was left on air by the refused offers.
    assert_eq!(broadcast_status(&server, meeting).await, json!({"on_air": false, "viewers": 0}));

    // Only the meeting's akim and admins see the key; another akim does not.
    let (_, other_akim) = server.meeting_with_akim(60).await;
    let (status, body) = server.get(&format!("/api/meetings/{meeting}/stream-key"), Some(&other_akim)).await;
    assert_problem(&(status, body), StatusCode::FORBIDDEN, "forbidden");
    let (status, _) = server.get(&format!("/api/meetings/{meeting}/stream-key"), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // Rotating makes the old key useless.
    let (status, rotated) =
        server.post(&format!("/api/meetings/{meeting}/stream-key"), Some(&akim), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_key = rotated["stream_key"].as_str().expect("a key");
    assert_ne!(new_key, key);
    assert!(rotated["whip_url"].as_str().expect("a url").ends_with(&whip));
    let old = post_sdp(&server, &whip, Some(&key), "application/sdp", offer).await;
    assert_problem(&old, StatusCode::FORBIDDEN, "forbidden");

    // A leaked key: whoever published with it is taken off air by the akim.
    let thief = SyntheticPublisher::start(publisher(&server, meeting, new_key)).await.expect("publishing");
    wait_status(&server, meeting, |s| s["on_air"] == true).await;
    let end = |token: Option<String>| {
        let mut request = server.client.delete(server.url(&format!("/api/meetings/{meeting}/broadcast")));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    assert_eq!(end(Some(other_akim.clone())).await.expect("delete").status(), StatusCode::FORBIDDEN);
    assert_eq!(end(Some(akim.clone())).await.expect("delete").status(), StatusCode::OK);
    assert_eq!(broadcast_status(&server, meeting).await["on_air"], false);
    assert_eq!(end(Some(akim.clone())).await.expect("delete").status(), StatusCode::NOT_FOUND);
    drop(thief);

    // OPTIONS says what the endpoint takes, with CORS for players on other origins.
    let response =
        server.client.request(reqwest::Method::OPTIONS, server.url(&whip)).send().await.expect("options");
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert_eq!(response.headers()["accept-post"], "application/sdp");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn publishing_follows_the_meeting() {
    let server = TestServer::start().await;
    // Planned for next week: far outside the window before its start.
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let key = stream_key(&server, meeting, &akim).await;
    let refused = SyntheticPublisher::start(publisher(&server, meeting, &key)).await;
    let error = refused.err().expect("refused").to_string();
    assert!(error.contains("409") && error.contains("not_open_for_broadcast"), "{error}");

    // Live: on air; a viewer watches; ending the meeting closes every media session.
    let (status, _) = server
        .post(&format!("/api/meetings/{meeting}/phase"), Some(&akim), json!({"phase": "presentation"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let publishing = SyntheticPublisher::start(publisher(&server, meeting, &key)).await.expect("publishing");
    let whep = server.url(&format!("/api/meetings/{meeting}/whep"));
    let mut viewer = CountingViewer::start(&whep, LOOPBACK, 96).await.expect("viewer");
    let mut events = server.events(meeting).await;
    let (status, _) =
        server.post(&format!("/api/meetings/{meeting}/phase"), Some(&akim), json!({"phase": "ended"})).await;
    assert_eq!(status, StatusCode::OK);
    assert!(viewer.wait_ended(Duration::from_secs(10)).await, "the viewer was not disconnected");
    // The event stream says so too.
    let mut saw_off_air = false;
    while let Some((name, data)) = events.next(Duration::from_secs(5)).await {
        if name == "broadcast" && data["on_air"] == false {
            saw_off_air = true;
            break;
        }
    }
    assert!(saw_off_air, "no broadcast event said the meeting went off air");
    assert_eq!(wait_status(&server, meeting, |s| s["on_air"] == false).await["on_air"], false);
    let after = SyntheticPublisher::start(publisher(&server, meeting, &key)).await;
    assert!(after.err().expect("refused").to_string().contains("not_open_for_broadcast"));
    drop(publishing);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_broadcast_without_the_live_comment_channel() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let admin = server.admin().await;
    // Within the window before the start, so that only the live channel can refuse.
    let soon = jiff::Timestamp::now() + jiff::SignedDuration::from_mins(10);
    let (status, body) = server
        .patch(&format!("/api/meetings/{meeting}"), Some(&admin), json!({"planned_start": soon.to_string()}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let key = stream_key(&server, meeting, &akim).await;
    // The meeting's comment log cannot be read back, so its live channel cannot come up.
    let database = writable_database(&server).await;
    sqlx::query("INSERT INTO live_events (meeting_id, seq, at, body) VALUES ($1, 1, 0, 'not an event')")
        .bind(meeting)
        .execute(&database)
        .await
        .expect("inserting");
    let refused = SyntheticPublisher::start(publisher(&server, meeting, &key)).await;
    let error = refused.err().expect("refused").to_string();
    assert!(error.contains("503") && error.contains("live_channel_down"), "{error}");
}

/// A gauge or counter of the server's `/metrics`.
pub(crate) async fn metric(client: &reqwest::Client, base: &str, name: &str) -> f64 {
    let text =
        client.get(format!("{base}/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("no metric {name}"))
}

async fn open_and_close(whep: &str, sessions: usize) {
    for batch in 0..sessions / 10 {
        let mut opened = Vec::new();
        for _ in 0..10 {
            opened.push(CountingViewer::start(whep, LOOPBACK, 96));
        }
        for (index, viewer) in futures_util::future::join_all(opened).await.into_iter().enumerate() {
            let viewer = viewer.unwrap_or_else(|error| panic!("batch {batch} viewer {index}: {error}"));
            assert_eq!(viewer.stop().await.expect("deleting"), StatusCode::OK);
        }
    }
}

/// Runs against a server process of its own, so that its task count and memory are the
/// server's alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_sessions_come_and_go_without_leaks() {
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::write(
        dir.path().join("leak.toml"),
        "[server]\nlisten = \"127.0.0.1:0\"\n[media]\nudp_addresses = [\"127.0.0.1\"]\n\
         viewer_sessions_per_minute_per_address = 10000\n[recording]\nenabled = false\n",
    )
    .expect("writing the config");
    let mut command = crate::binary::kezdesu(dir.path());
    command
        .args(["serve", "--config", "leak.toml"])
        .env("KEZDESU_ADMIN_PASSWORD", crate::support::ADMIN_PASSWORD);
    let mut running = crate::binary::Running::start(command);
    let base = format!("http://{}", running.address());
    let server = TestServer::remote(base.clone(), dir.path().join("data"));
    let admin = server.admin().await;
    // The demo meeting starts in ten minutes: inside the window before its start.
    let key = stream_key(&server, 1, &admin).await;
    let publishing = SyntheticPublisher::start(publisher(&server, 1, &key)).await.expect("publishing");
    let whep = server.url("/api/meetings/1/whep");
    let client = reqwest::Client::new();
    // Warm up allocator arenas and lazily built state, then take the baseline.
    open_and_close(&whep, 20).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let tasks_before = metric(&client, &base, "kezdesu_runtime_alive_tasks").await;
    let memory_before = metric(&client, &base, "kezdesu_process_resident_memory_bytes").await;

    open_and_close(&whep, 200).await;
    let mut settled = false;
    let mut tasks_after = 0.0;
    for _ in 0..100 {
        tasks_after = metric(&client, &base, "kezdesu_runtime_alive_tasks").await;
        if metric(&client, &base, "kezdesu_media_viewers").await == 0.0 && tasks_after <= tasks_before + 3.0 {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let memory_after = metric(&client, &base, "kezdesu_process_resident_memory_bytes").await;
    let grown_mib = (memory_after - memory_before) / 1_048_576.0;
    eprintln!(
        "200 sessions: tasks {tasks_before} -> {tasks_after}, resident memory {:.1} -> {:.1} MiB",
        memory_before / 1_048_576.0,
        memory_after / 1_048_576.0
    );
    assert!(settled, "tasks did not come back down: {tasks_before} -> {tasks_after}");
    // A leaked peer holds its sockets, buffers and tasks: 200 of them would be far more.
    assert!(grown_mib < 16.0, "resident memory grew by {grown_mib:.1} MiB");
    assert_eq!(broadcast_status(&server, 1).await, json!({"on_air": true, "viewers": 0}));
    publishing.stop().await.expect("stopping");
    running.terminate();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_that_vanishes_is_cleaned_up() {
    let server = TestServer::start().await;
    let (meeting, _akim, _key, publishing) = on_air(&server).await;
    let whep = server.url(&format!("/api/meetings/{meeting}/whep"));
    let viewer = CountingViewer::start(&whep, LOOPBACK, 96).await.expect("viewer");
    wait_status(&server, meeting, |s| s["viewers"] == 1).await;
    // No DELETE: the peer just goes, as a phone on a train does.
    viewer.vanish().await;
    let mut gone = false;
    for _ in 0..60 {
        if metric(&server.client, &server.base, "kezdesu_media_viewers").await == 0.0 {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(gone, "the vanished viewer's session is still counted");
    publishing.stop().await.expect("stopping");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ice_servers_and_the_port_range_are_what_clients_see() {
    let server = TestServer::start_with(|config| {
        config.media.udp_port_min = 46100;
        config.media.udp_port_max = 46109;
        config.media.turn_secret = Some("north-secret".to_owned());
        let server =
            |url: &str, username: Option<&str>, credential: Option<&str>| kezdesu::config::IceServerConfig {
                urls: vec![url.to_owned()],
                username: username.map(str::to_owned),
                credential: credential.map(str::to_owned),
            };
        config.media.ice_servers = vec![
            server("stun:stun.example.kz:3478", None, None),
            server("turn:turn.example.kz:3478?transport=udp", Some("kezdesu"), Some("fixed")),
            server("turns:relay.example.kz:5349", None, None),
        ];
    })
    .await;
    let (meeting, akim, _moderator) = server.live_meeting().await;
    let whep = server.url(&format!("/api/meetings/{meeting}/whep"));
    // Anyone asking gets STUN only: a relay is for somebody with a session.
    let response = server.client.request(reqwest::Method::OPTIONS, &whep).send().await.expect("options");
    let links: Vec<&str> =
        response.headers().get_all("link").iter().map(|value| value.to_str().expect("text")).collect();
    assert_eq!(links, ["<stun:stun.example.kz:3478>; rel=\"ice-server\""]);

    // Both the publisher's and a viewer's sessions take ports from the range.
    let key = stream_key(&server, meeting, &akim).await;
    let publishing = SyntheticPublisher::start(publisher(&server, meeting, &key)).await.expect("publishing");
    let viewer = CountingViewer::start(&whep, LOOPBACK, 96).await.expect("viewer");
    // A session gets the TURN servers: fixed credentials, or short-lived minted ones.
    let links = viewer.links();
    assert_eq!(links.len(), 3, "{links:?}");
    assert!(links[1].contains("username=\"kezdesu\"; credential=\"fixed\""), "{links:?}");
    let minted = &links[2];
    let username =
        minted.split("username=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a username");
    let (expiry, label) = username.split_once(':').expect("expiry:label");
    let expiry: i64 = expiry.parse().expect("Unix seconds");
    let now = jiff::Timestamp::now().as_second();
    assert!((now + 36_000 - 5..=now + 36_000 + 5).contains(&expiry) && label == "kezdesu", "{minted}");
    let expected =
        kezdesu::media::signaling::mint_turn_credentials("north-secret", expiry - 36_000, 36_000, "kezdesu");
    assert!(minted.contains(&format!("credential=\"{}\"", expected.credential)), "{minted}");
    // `candidate:<foundation> <component> <transport> <priority> <address> <port> typ …`
    let ports: Vec<u16> = viewer
        .answer_sdp()
        .lines()
        .filter_map(|line| line.strip_prefix("a=candidate:"))
        .filter_map(|candidate| candidate.split_whitespace().nth(5)?.parse().ok())
        .collect();
    assert!(!ports.is_empty() && ports.iter().all(|port| (46100..=46109).contains(port)), "{ports:?}");
    viewer.stop().await.expect("deleting");
    publishing.stop().await.expect("stopping");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trickle_ice_patches_follow_rfc_9725() {
    let server = TestServer::start().await;
    let (meeting, _akim, key, publishing) = on_air(&server).await;
    let session = publishing.session_url().to_owned();
    let patch = |body: &str, if_match: Option<&str>, content_type: &str, bearer: Option<&str>| {
        let mut request =
            server.client.patch(&session).header("content-type", content_type).body(body.to_owned());
        if let Some(tag) = if_match {
            request = request.header("if-match", tag);
        }
        if let Some(token) = bearer {
            request = request.bearer_auth(token);
        }
        async move {
            let response = request.send().await.expect("patch");
            let status = response.status();
            let body: Value = response.json().await.unwrap_or(Value::Null);
            (status, body)
        }
    };
    let trickle = "application/trickle-ice-sdpfrag";
    // End of candidates for the current ICE session: accepted.
    let (status, _) = patch("a=mid:0\r\na=end-of-candidates\r\n", None, trickle, Some(&key)).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    // A new username fragment, or If-Match: *, asks for an ICE restart: not supported.
    let restart = "a=ice-ufrag:newU\r\na=ice-pwd:newpasswordnewpassword12\r\na=mid:0\r\n\
                   a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n";
    assert_problem(
        &patch(restart, None, trickle, Some(&key)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "ice_restart_unsupported",
    );
    assert_problem(
        &patch("a=mid:0\r\na=end-of-candidates\r\n", Some("*"), trickle, Some(&key)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "ice_restart_unsupported",
    );
    // An entity tag of another ICE session fails the precondition.
    assert_problem(
        &patch("a=mid:0\r\na=end-of-candidates\r\n", Some("\"other\""), trickle, Some(&key)).await,
        StatusCode::PRECONDITION_FAILED,
        "precondition_failed",
    );
    assert_problem(&patch("hello", None, trickle, Some(&key)).await, StatusCode::BAD_REQUEST, "bad_request");
    assert_problem(
        &patch("a=mid:0", None, "text/plain", Some(&key)).await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    assert_problem(&patch("a=mid:0", None, trickle, None).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    // The publisher is still on air after all that.
    assert_eq!(broadcast_status(&server, meeting).await["on_air"], true);
    publishing.stop().await.expect("stopping");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewers_keyframe_request_reaches_the_publisher() {
    let server = TestServer::start().await;
    let (meeting, _akim, _key, publishing) = on_air(&server).await;
    let whep = server.url(&format!("/api/meetings/{meeting}/whep"));
    let viewer = CountingViewer::start(&whep, LOOPBACK, 96).await.expect("viewer");
    // Past the requests made for the viewer's start (on connecting and a second later), and
    // past the one-a-second throttle.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let name = "kezdesu_media_keyframe_requests_total";
    let before = metric(&server.client, &server.base, name).await;
    viewer.request_keyframe().await.expect("sending a PLI");
    let mut after = before;
    for _ in 0..20 {
        after = metric(&server.client, &server.base, name).await;
        if after > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(after, before + 1.0, "the viewer's PLI was not passed on to the publisher");
    viewer.stop().await.expect("deleting");
    publishing.stop().await.expect("stopping");
}

/// Offers that never connect hold no viewer's place: they are bounded apart from the cap (the
/// oldest gives way to a new one), and a real viewer still gets in; connected viewers alone
/// count against `max_viewers_per_meeting`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_that_never_connect_leave_room_for_real_viewers() {
    let server = TestServer::start_with(|config| {
        config.media.max_viewers_per_meeting = 2;
        config.media.max_connecting_viewers_per_meeting = 3;
        config.media.viewer_sessions_per_minute_per_address = 10_000;
    })
    .await;
    let (meeting, _akim, _key, publishing) = on_air(&server).await;
    let path = format!("/api/meetings/{meeting}/whep");
    let whep = server.url(&path);
    let never = viewer_offer_that_never_connects(LOOPBACK, 96).await.expect("an offer");
    // A flood of answered sessions that never connect: each is accepted (the oldest connecting
    // ones give way), and none counts as a viewer.
    for attempt in 0..12 {
        let (status, body) = post_sdp(&server, &path, None, "application/sdp", &never).await;
        assert_eq!(status, StatusCode::CREATED, "offer {attempt}: {body}");
    }
    assert_eq!(broadcast_status(&server, meeting).await["viewers"], 0);

    // Real viewers get in, up to the cap, with the flood still connecting.
    let first = CountingViewer::start(&whep, LOOPBACK, 96).await.expect("the first real viewer gets in");
    let (status, _) = post_sdp(&server, &path, None, "application/sdp", &never).await;
    assert_eq!(status, StatusCode::CREATED);
    let second = CountingViewer::start(&whep, LOOPBACK, 96).await.expect("the second real viewer gets in");
    wait_status(&server, meeting, |status| status["viewers"] == 2).await;
    assert_eq!(broadcast_status(&server, meeting).await["viewers"], 2);
    for viewer in [&first, &second] {
        let mut receiving = false;
        for _ in 0..50 {
            if viewer.counters.video_packets.load(Ordering::Relaxed) > 0 {
                receiving = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(receiving, "a real viewer receives the broadcast");
    }

    // The cap counts connected viewers: a third offer is refused while two watch.
    let refused = post_sdp(&server, &path, None, "application/sdp", &never).await;
    assert_problem(&refused, StatusCode::SERVICE_UNAVAILABLE, "too_many_viewers");

    // One leaves: there is a place again.
    assert_eq!(first.stop().await.expect("deleting"), StatusCode::OK);
    wait_status(&server, meeting, |status| status["viewers"] == 1).await;
    let third = CountingViewer::start(&whep, LOOPBACK, 96).await.expect("a place again");
    assert_eq!(third.stop().await.expect("deleting"), StatusCode::OK);
    assert_eq!(second.stop().await.expect("deleting"), StatusCode::OK);
    publishing.stop().await.expect("stopping");
}
