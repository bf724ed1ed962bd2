//! A meeting's recording over HTTP, on both stores: the manifest, the replay's file with range
//! requests, the problems of a meeting with none, and an admin's deletion. The rows and the
//! file are put in place as the recorder would leave them; recording a real broadcast with
//! ffmpeg is `tests/media/test_recording.py`.

use crate::support::{TestServer, assert_problem, password_of, rand_suffix, read, writable_database};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

/// A replay of `bytes` bytes (not a real MP4: these tests read bytes, not pictures), with two
/// recorded periods, the second 6 s into the file.
async fn seed_ready_recording(server: &TestServer, meeting: i64, bytes: &[u8]) {
    let folder = server.data_dir().join("recordings").join(format!("meeting-{meeting}"));
    std::fs::create_dir_all(&folder).expect("the recordings folder");
    std::fs::write(folder.join("replay-1.mp4"), bytes).expect("the replay file");
    let database = writable_database(server).await;
    let at = jiff::Timestamp::now().as_millisecond();
    sqlx::query(
        "INSERT INTO recordings (meeting_id, state, version, created_at, updated_at) VALUES ($1, 'ready', 3, $2, $2)",
    )
    .bind(meeting)
    .bind(at)
    .execute(&database)
    .await
    .expect("the recording");
    for (number, started, duration, offset) in
        [(1_i64, at - 60_000, 6_000_i64, 0_i64), (2, at - 30_000, 5_500, 6_000)]
    {
        sqlx::query(
            "INSERT INTO recording_parts (meeting_id, number, node, video_codec, audio_codec, started_at, alive_until, \
             ended_at, duration_ms, bytes, file_number, offset_ms) \
             VALUES ($1, $2, 'node-a', 'video/H264', 'audio/opus', $3, $4, $4, $5, 1000, 1, $6)",
        )
        .bind(meeting)
        .bind(number)
        .bind(started)
        .bind(started + duration)
        .bind(duration)
        .bind(offset)
        .execute(&database)
        .await
        .expect("a part");
    }
    sqlx::query(
        "INSERT INTO recording_files (meeting_id, number, path, content_type, bytes, duration_ms) \
         VALUES ($1, 1, $2, 'video/mp4', $3, 11500)",
    )
    .bind(meeting)
    .bind(format!("meeting-{meeting}/replay-1.mp4"))
    .bind(bytes.len() as i64)
    .execute(&database)
    .await
    .expect("the file");
}

fn replay_bytes() -> Vec<u8> {
    (0..4096_u32).map(|index| (index * 7 % 251) as u8).collect()
}

async fn get_with(
    server: &TestServer,
    path: &str,
    headers: &[(header::HeaderName, &str)],
) -> reqwest::Response {
    let mut request = reqwest::Client::new().get(server.url(path));
    for (name, value) in headers {
        request = request.header(name, *value);
    }
    request.send().await.expect("the server answers")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_never_on_air_has_no_recording() {
    let server = TestServer::start().await;
    let (meeting, _akim) = server.meeting_with_akim(60).await;
    let manifest = server.get(&format!("/api/meetings/{meeting}/recording"), None).await;
    assert_problem(&manifest, StatusCode::NOT_FOUND, "no_recording");
    let file = read(get_with(&server, &format!("/api/meetings/{meeting}/recording/1"), &[]).await).await;
    assert_problem(&file, StatusCode::NOT_FOUND, "no_recording");
    let unknown = server.get("/api/meetings/999999/recording", None).await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "not_found");
    let response = get_with(&server, &format!("/api/meetings/{meeting}/recording"), &[]).await;
    assert_eq!(response.headers()[header::CONTENT_TYPE], "application/problem+json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_replay_is_described_and_served_with_ranges() {
    let server = TestServer::start().await;
    let (meeting, _akim) = server.meeting_with_akim(60).await;
    let bytes = replay_bytes();
    seed_ready_recording(&server, meeting, &bytes).await;

    let (status, manifest) = server.get(&format!("/api/meetings/{meeting}/recording"), None).await;
    assert_eq!(status, StatusCode::OK, "{manifest}");
    assert_eq!(manifest["state"], "ready");
    assert_eq!(manifest["deleted_at"], Value::Null);
    let file = &manifest["files"][0];
    assert_eq!(file["url"], format!("/api/meetings/{meeting}/recording/1"));
    assert_eq!(file["content_type"], "video/mp4");
    assert_eq!(file["bytes"], bytes.len());
    assert_eq!(file["duration_seconds"], 11.5);
    let parts = manifest["parts"].as_array().expect("parts");
    assert_eq!(parts.len(), 2);
    assert_eq!((parts[1]["file"].as_i64(), parts[1]["offset_seconds"].as_f64()), (Some(1), Some(6.0)));
    assert!(
        parts[0]["started_at"].as_str().is_some_and(|at| at.parse::<jiff::Timestamp>().is_ok()),
        "{manifest}"
    );

    let url = format!("/api/meetings/{meeting}/recording/1");
    let whole = get_with(&server, &url, &[]).await;
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()[header::CONTENT_TYPE], "video/mp4");
    assert_eq!(whole.headers()[header::ACCEPT_RANGES], "bytes");
    assert_eq!(whole.bytes().await.expect("the body").as_ref(), bytes.as_slice());

    let range = get_with(&server, &url, &[(header::RANGE, "bytes=100-199")]).await;
    assert_eq!(range.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(range.headers()[header::CONTENT_RANGE], format!("bytes 100-199/{}", bytes.len()));
    assert_eq!(range.headers()[header::CONTENT_TYPE], "video/mp4");
    assert_eq!(range.bytes().await.expect("the body").as_ref(), &bytes[100..200]);

    let tail = get_with(&server, &url, &[(header::RANGE, "bytes=-10")]).await;
    assert_eq!(tail.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(tail.bytes().await.expect("the body").as_ref(), &bytes[bytes.len() - 10..]);

    let beyond = get_with(&server, &url, &[(header::RANGE, "bytes=999999-")]).await;
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);

    let missing = read(get_with(&server, &format!("/api/meetings/{meeting}/recording/2"), &[]).await).await;
    assert_problem(&missing, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_an_admin_deletes_a_recording_and_the_deletion_stays_on_record() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    seed_ready_recording(&server, meeting, &replay_bytes()).await;
    let path = format!("/api/meetings/{meeting}/recording");
    let admin = server.admin().await;
    let login = format!("moderator{}", rand_suffix());
    server.create_account(&admin, &login, "moderator").await;
    let moderator = server.sign_in(&login, &password_of(&login)).await;

    assert_problem(
        &server.call(Method::DELETE, &path, None, None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_problem(
        &server.call(Method::DELETE, &path, Some(&moderator), None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_problem(
        &server.call(Method::DELETE, &path, Some(&akim), None).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (status, body) = server.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let (status, manifest) = server.get(&path, None).await;
    assert_eq!(status, StatusCode::OK, "{manifest}");
    assert_eq!(manifest["state"], "deleted");
    assert!(manifest["deleted_at"].as_str().is_some(), "{manifest}");
    assert_eq!(manifest["files"], serde_json::json!([]));
    let file = read(get_with(&server, &format!("{path}/1"), &[]).await).await;
    assert_problem(&file, StatusCode::GONE, "recording_deleted");
    assert!(!server.data_dir().join("recordings").join(format!("meeting-{meeting}")).exists());
    assert_problem(
        &server.call(Method::DELETE, &path, Some(&admin), None).await,
        StatusCode::GONE,
        "recording_deleted",
    );

    let database = server.database().await;
    let (deleted_by, state): (Option<i64>, String) =
        sqlx::query_as("SELECT deleted_by, state FROM recordings WHERE meeting_id = $1")
            .bind(meeting)
            .fetch_one(&database)
            .await
            .expect("the row stays");
    assert_eq!(state, "deleted");
    let (admin_id,): (i64,) = sqlx::query_as("SELECT id FROM accounts WHERE login = 'admin'")
        .fetch_one(&database)
        .await
        .expect("the admin");
    assert_eq!(deleted_by, Some(admin_id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recording_still_being_made_is_neither_served_nor_deleted() {
    let server = TestServer::start().await;
    let (meeting, _akim) = server.meeting_with_akim(60).await;
    let database = writable_database(&server).await;
    let at = jiff::Timestamp::now().as_millisecond();
    sqlx::query(
        "INSERT INTO recordings (meeting_id, state, version, created_at, updated_at) VALUES ($1, 'recording', 0, $2, $2)",
    )
    .bind(meeting)
    .bind(at)
    .execute(&database)
    .await
    .expect("the recording");
    let path = format!("/api/meetings/{meeting}/recording");
    let (status, manifest) = server.get(&path, None).await;
    assert_eq!((status, manifest["state"].as_str()), (StatusCode::OK, Some("recording")), "{manifest}");
    let file = read(get_with(&server, &format!("{path}/1"), &[]).await).await;
    assert_problem(&file, StatusCode::CONFLICT, "recording_not_ready");
    let admin = server.admin().await;
    let refused = server.call(Method::DELETE, &path, Some(&admin), None).await;
    assert_problem(&refused, StatusCode::CONFLICT, "recording_in_progress");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_log_pages_through_the_meeting_and_never_shows_a_hidden_comment() {
    let server = TestServer::start().await;
    let (meeting, _akim, moderator_token) = server.live_meeting().await;
    let (author_token, _) = server.viewer(meeting, "Author").await;
    let mut author = server.live(meeting, &author_token, None).await;
    let mut moderator = server.live(meeting, &moderator_token, None).await;
    let kept = author.comment("a", "Когда отремонтируют школу №3?").await;
    let hidden = author.comment("b", "Продаю окна недорого, звоните").await;
    let done =
        moderator.command(json!({"type": "hide", "comment": hidden["comment"], "reason": "spam"})).await;
    assert_eq!(done["type"], "done", "{done}");
    let last = done["seq"].as_u64().expect("seq");

    let mut seen = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) =
            server.get(&format!("/api/meetings/{meeting}/log?after={after}&limit=2"), None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let events = page["events"].as_array().expect("events").clone();
        assert!(events.len() <= 2, "{page}");
        after = page["last_seq"].as_u64().expect("last_seq");
        seen.extend(events);
        if !page["more"].as_bool().expect("more") {
            break;
        }
    }
    assert_eq!(after, last);
    let seqs: Vec<u64> = seen.iter().map(|event| event["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "every event once, in order");
    assert!(seen.iter().all(|event| event["at"].as_str().is_some()), "each with its instant");
    let text = serde_json::to_string(&seen).expect("json");
    assert!(text.contains("Когда отремонтируют школу"), "{text}");
    assert!(!text.contains("Продаю окна"), "a hidden comment's text is never in the public log: {text}");
    assert!(
        seen.iter().any(|event| event["type"] == "comment_hidden" && event["comment"] == hidden["comment"])
    );
    assert!(kept["comment"].is_number());

    let response = reqwest::Client::new()
        .get(server.url(&format!("/api/meetings/{meeting}/log")))
        .send()
        .await
        .expect("the server answers");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store", "a meeting under way is read fresh");
    let too_many = server.get(&format!("/api/meetings/{meeting}/log?limit=5000"), None).await;
    assert_problem(&too_many, StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit");
    // Past the store's 64-bit seqs: refused, not a 500 (schemathesis found it).
    let beyond = server.get(&format!("/api/meetings/{meeting}/log?after=9223372036854775808"), None).await;
    assert_problem(&beyond, StatusCode::UNPROCESSABLE_ENTITY, "invalid_after");
    let unknown = server.get("/api/meetings/999999/log", None).await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "not_found");
}
