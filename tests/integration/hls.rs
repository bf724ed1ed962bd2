//! A meeting's HLS rendition over HTTP, on both stores: the problems of a meeting with none, of
//! names that are no segment's, and of a broadcast whose first segment is not made yet. Real
//! segments from a real broadcast are `tests/media/test_hls.py`'s and
//! `tests/browser/hls.test.mjs`'s.

use crate::media::{publisher, stream_key};
use crate::support::{TestServer, assert_problem, read};
use kezdesu::media::engine::synthetic::SyntheticPublisher;
use reqwest::{StatusCode, header};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_not_on_air_has_no_hls() {
    let server = TestServer::start_with(|config| config.hls.enabled = true).await;
    let (meeting, _akim) = server.meeting_with_akim(60).await;
    for path in
        [format!("/api/meetings/{meeting}/hls/index.m3u8"), format!("/api/meetings/{meeting}/hls/1.ts")]
    {
        let response = server.client.get(server.url(&path)).send().await.expect("an answer");
        assert_eq!(response.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*", "{path}");
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store", "{path}");
        assert_problem(&read(response).await, StatusCode::NOT_FOUND, "no_hls");
    }
    let unknown = server.get("/api/meetings/999999/hls/index.m3u8", None).await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "not_found");
    let (status, view) = server.get(&format!("/api/meetings/{meeting}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(view.get("hls").is_none(), "{view}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_a_segments_name_is_looked_up() {
    let server = TestServer::start().await;
    let (meeting, _akim) = server.meeting_with_akim(60).await;
    for name in
        ["index.m3u8.tmp", "..%2Fkezdesu.sqlite3", "1.ts.tmp", "12345678901234567890123.ts", "%20.ts", "x.ts"]
    {
        let answer = server.get(&format!("/api/meetings/{meeting}/hls/{name}"), None).await;
        assert_problem(&answer, StatusCode::NOT_FOUND, "no_segment");
    }
    let outside = server.get(&format!("/api/meetings/{meeting}/hls/../../recording"), None).await;
    assert!(outside.0.is_client_error(), "{outside:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_air_before_the_first_segment_the_playlist_is_coming() {
    // No ffmpeg at all: the broadcast is on air with HLS on, and no segment can ever be made.
    let server = TestServer::start_with(|config| {
        config.hls.enabled = true;
        config.egress.ffmpeg = "/nonexistent/ffmpeg".into();
    })
    .await;
    let (meeting, akim, _moderator) = server.live_meeting().await;
    let key = stream_key(&server, meeting, &akim).await;
    let _publishing = SyntheticPublisher::start(publisher(&server, meeting, &key)).await.expect("publishing");
    let playlist = server.url(&format!("/api/meetings/{meeting}/hls/index.m3u8"));
    let mut answer = None;
    for _ in 0..100 {
        let response = server.client.get(&playlist).send().await.expect("an answer");
        if response.status() == StatusCode::SERVICE_UNAVAILABLE {
            answer = Some(response);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let response = answer.expect("503 while on air without a playlist");
    assert_eq!(response.headers()[header::RETRY_AFTER], "1");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    assert_problem(&read(response).await, StatusCode::SERVICE_UNAVAILABLE, "hls_starting");
    let (_, view) = server.get(&format!("/api/meetings/{meeting}"), None).await;
    assert_eq!(view["hls"], format!("/api/meetings/{meeting}/hls/index.m3u8"), "{view}");
}
