//! The live channel with real WebSocket clients: posting, acks, resume, moderation, questions.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use std::time::Duration;

fn seqs(events: &[Value]) -> Vec<u64> {
    events.iter().map(|e| e["seq"].as_u64().expect("seq")).collect()
}

#[tokio::test]
async fn a_comment_is_acked_once_durable_and_a_retry_adds_nothing() {
    let server = TestServer::start().await;
    let (meeting, _akim, _moderator) = server.live_meeting().await;
    let (token, viewer_id) = server.viewer(meeting, "Айгүл").await;
    let (other_token, _) = server.viewer(meeting, "Бекзат").await;
    let mut author = server.live(meeting, &token, None).await;
    let mut other = server.live(meeting, &other_token, None).await;
    assert_eq!(author.hello["you"]["viewer_id"], viewer_id);

    let ack = author.comment("c-1", "Когда отремонтируют школу №3?").await;
    assert_eq!(ack["type"], "ack", "{ack}");
    assert_eq!(ack["client_id"], "c-1");
    let seq = ack["seq"].as_u64().expect("seq");
    // Durable before the ack: the row is in the database file.
    let database = server.database().await;
    let stored: i64 = sqlx::query("SELECT COUNT(*) AS n FROM live_events WHERE meeting_id = $1 AND seq = $2")
        .bind(meeting)
        .bind(seq as i64)
        .fetch_one(&database)
        .await
        .expect("query")
        .get("n");
    assert_eq!(stored, 1);

    let retry = author.comment("c-1", "Когда отремонтируют школу №3?").await;
    assert_eq!(retry, ack, "the same ack, and no second comment");

    let seen = other.events_through(seq).await;
    let posted: Vec<_> = seen.iter().filter(|e| e["type"] == "comment_posted").collect();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0]["text"], "Когда отремонтируют школу №3?");
    assert_eq!(posted[0]["author_name"], "Айгүл");
    let count: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM live_events WHERE meeting_id = $1 AND body LIKE '%comment_posted%'",
    )
    .bind(meeting)
    .fetch_one(&database)
    .await
    .expect("query")
    .get("n");
    assert_eq!(count, 1);
}

#[tokio::test]
async fn a_client_resumes_with_no_gap_and_no_duplicate() {
    let server = TestServer::start_with(|config| config.live.comment_burst = 20).await;
    let (meeting, _akim, _moderator) = server.live_meeting().await;
    let (token, _) = server.viewer(meeting, "Author").await;
    let mut author = server.live(meeting, &token, None).await;
    let mut last = 0;
    for index in 0..6 {
        last = author.comment(&format!("c{index}"), &format!("comment {index}")).await["seq"]
            .as_u64()
            .expect("seq");
    }
    let (reader_token, _) = server.viewer(meeting, "Reader").await;
    let mut reader = server.live(meeting, &reader_token, Some(3)).await;
    assert_eq!(reader.hello["last_seq"], last);
    let replayed = reader.events_through(last).await;
    assert_eq!(seqs(&replayed), (4..=last).collect::<Vec<_>>(), "exactly what came after 3");

    // Live events continue right after the replay.
    for index in 6..9 {
        last = author.comment(&format!("c{index}"), &format!("comment {index}")).await["seq"]
            .as_u64()
            .expect("seq");
    }
    let live = reader.events_through(last).await;
    let mut all = replayed.clone();
    all.extend(live);
    assert_eq!(seqs(&all), (4..=last).collect::<Vec<_>>(), "no gap, no duplicate");

    // Without `since`, the recent history.
    let mut fresh = server.live(meeting, &reader_token, None).await;
    let history = fresh.next(Duration::from_secs(5)).await.expect("history");
    assert_eq!(history["type"], "events");
    assert_eq!(
        history["events"].as_array().and_then(|e| e.last()).map(|e| e["seq"].clone()),
        Some(json!(last))
    );
}

#[tokio::test]
async fn a_hide_reaches_every_viewer_and_its_author_sees_the_reason() {
    let server = TestServer::start().await;
    let (meeting, _akim, moderator_token) = server.live_meeting().await;
    let (author_token, _) = server.viewer(meeting, "Author").await;
    let (watcher_token, _) = server.viewer(meeting, "Watcher").await;
    let mut author = server.live(meeting, &author_token, None).await;
    let mut watcher = server.live(meeting, &watcher_token, None).await;
    let mut moderator = server.live(meeting, &moderator_token, None).await;
    let ack = author.comment("x", "Купите мои окна недорого").await;
    let comment = ack["comment"].clone();

    let done = moderator.command(json!({"type": "hide", "comment": comment, "reason": "spam"})).await;
    assert_eq!(done["type"], "done", "{done}");
    let seq = done["seq"].as_u64().expect("seq");
    for client in [&mut author, &mut watcher] {
        let seen = client.events_through(seq).await;
        let hidden = seen.iter().find(|e| e["type"] == "comment_hidden").expect("the hide arrives");
        assert_eq!(hidden["comment"], comment);
        assert_eq!(hidden["reason"], "spam");
    }
    let bad_reason = moderator.command(json!({"type": "hide", "comment": comment, "reason": "ugly"})).await;
    assert_eq!(bad_reason["code"], "invalid_reason");
}

#[tokio::test]
async fn bad_messages_get_errors_and_the_connection_stays() {
    let server = TestServer::start_with(|config| config.live.max_message_bytes = 2048).await;
    let (meeting, _akim, _moderator) = server.live_meeting().await;
    let (token, _) = server.viewer(meeting, "Tester").await;
    let mut viewer = server.live(meeting, &token, None).await;

    viewer.send_raw("not json".into()).await;
    assert_eq!(viewer.answer().await["code"], "malformed_message");
    viewer.send(json!({"type": "shout", "text": "hi"})).await;
    assert_eq!(viewer.answer().await["code"], "invalid_message");
    viewer.send(json!({"type": "comment", "client_id": "a", "text": "x".repeat(3000)})).await;
    assert_eq!(viewer.answer().await["code"], "message_too_large");
    let empty = viewer.comment("b", "  \u{200B} ").await;
    assert_eq!((empty["code"].clone(), empty["client_id"].clone()), (json!("text_empty"), json!("b")));
    let long = viewer.comment("c", &"я".repeat(1001)).await;
    assert_eq!(long["code"], "text_too_long");
    let moderate = viewer.command(json!({"type": "ban", "viewer": 1})).await;
    assert_eq!(moderate["code"], "forbidden");

    // The default allowance is a burst of 3, then one per 5 s.
    for index in 0..3 {
        assert_eq!(viewer.comment(&format!("ok{index}"), "fine").await["type"], "ack");
    }
    let limited = viewer.comment("over", "one too many").await;
    assert_eq!(limited["code"], "rate_limited", "{limited}");
    let wait = limited["retry_after_ms"].as_u64().expect("a retry time");
    assert!((1..=5000).contains(&wait), "{wait}");
    // Still connected: a vote on a missing question is answered, not dropped.
    let vote = viewer.command(json!({"type": "vote", "question": 99, "up": true})).await;
    assert_eq!(vote["code"], "unknown_question");
}

#[tokio::test]
async fn tokens_are_checked_before_and_after_the_upgrade() {
    let server = TestServer::start().await;
    let (meeting, _akim, _moderator) = server.live_meeting().await;
    let (other_meeting, _) = server.meeting_with_akim(60).await;
    let (foreign, _) = server.viewer(other_meeting, "Elsewhere").await;
    let refused = tokio_tungstenite::connect_async(server.live_url(meeting, Some("nonsense"), None)).await;
    assert!(
        matches!(refused, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == 401),
        "{refused:?}"
    );
    let refused = tokio_tungstenite::connect_async(server.live_url(meeting, Some(&foreign), None)).await;
    assert!(
        matches!(refused, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == 403),
        "{refused:?}"
    );

    // A browser sends the token in a message instead: it reads at once, then signs in.
    let (token, viewer_id) = server.viewer(meeting, "Browser").await;
    let (socket, _) =
        tokio_tungstenite::connect_async(server.live_url(meeting, None, None)).await.expect("connects");
    let mut client = LiveClient::new(socket, "");
    client.send(json!({"type": "auth", "token": token})).await;
    let hello = client.next(Duration::from_secs(5)).await.expect("hello");
    assert_eq!((hello["type"].as_str(), hello["you"]["role"].as_str()), (Some("hello"), Some("reader")));
    let signed_in = client.until(&mut Vec::new(), |m| m["type"] == "authenticated").await;
    assert_eq!(signed_in["you"]["viewer_id"], viewer_id);
    client.send(json!({"type": "auth", "token": token})).await;
    let again = client.until(&mut Vec::new(), |m| m["type"] == "error").await;
    assert_eq!(again["code"], "already_authenticated");

    let (socket, _) =
        tokio_tungstenite::connect_async(server.live_url(meeting, None, None)).await.expect("connects");
    let mut stranger = LiveClient::new(socket, "");
    assert_eq!(stranger.next(Duration::from_secs(5)).await.expect("hello")["type"], "hello");
    stranger.send(json!({"type": "auth", "token": "wrong"})).await;
    let refused = stranger.until(&mut Vec::new(), |m| m["type"] == "error").await;
    assert_eq!(refused["code"], "unauthenticated");
    assert_eq!(stranger.close_code(Duration::from_secs(5)).await, Some(4001));
}

#[tokio::test]
async fn anyone_reads_the_discussion_without_a_name_and_joins_only_to_act() {
    let server = TestServer::start().await;
    let (meeting, _akim, moderator_token) = server.live_meeting().await;
    let viewers_before = viewer_rows(&server).await;
    let (socket, _) =
        tokio_tungstenite::connect_async(server.live_url(meeting, None, None)).await.expect("connects");
    let mut reader = LiveClient::new(socket, "");
    let hello = reader.next(Duration::from_secs(5)).await.expect("hello");
    assert_eq!(hello["you"], json!({"role": "reader"}));
    assert_eq!(hello["meeting"]["phase"], "qa", "the phase is there to read");
    assert_eq!(hello["viewers"], 1, "a reader is counted in viewers");

    let (author_token, _) = server.viewer(meeting, "Author").await;
    let mut author = server.live(meeting, &author_token, None).await;
    let ack = author.comment("r-1", "Когда откроют школу?").await;
    let mut moderator = server.live(meeting, &moderator_token, None).await;
    let promoted = moderator.command(json!({"type": "promote", "comments": [ack["comment"]]})).await;
    author.send(json!({"type": "vote", "question": 1, "up": true})).await;
    let seen = reader.event_where(|event| event["type"] == "votes_changed").await;
    assert_eq!(seen["votes"], 1, "votes are read as counts");
    assert!(promoted["seq"].as_u64().is_some());
    let read = reader.events_through(promoted["seq"].as_u64().expect("seq")).await;
    assert!(
        read.iter().any(|e| e["type"] == "comment_posted" && e["text"] == "Когда откроют школу?"),
        "{read:?}"
    );
    assert!(!read.iter().any(|e| e.get("voter").is_some()), "who voted stays private");

    // Acting needs joining: the command is refused with a code, and nothing is lost.
    reader.send(json!({"type": "comment", "client_id": "r-2", "text": "можно мне?"})).await;
    let refused = reader.until(&mut Vec::new(), |m| m["type"] == "error").await;
    assert_eq!((refused["code"].as_str(), refused["client_id"].as_str()), (Some("join_first"), Some("r-2")));
    assert_eq!(viewer_rows(&server).await, viewers_before + 1, "only the author has a viewer row");

    let (token, viewer_id) = server.viewer(meeting, "Reader").await;
    reader.send(json!({"type": "auth", "token": token})).await;
    let signed_in = reader.until(&mut Vec::new(), |m| m["type"] == "authenticated").await;
    assert_eq!(signed_in["you"]["viewer_id"], viewer_id);
    let ack = reader.comment("r-2", "можно мне?").await;
    assert_eq!(ack["type"], "ack", "{ack}");
}

#[tokio::test]
async fn comments_become_questions_that_are_voted_on_aired_and_answered() {
    let server = TestServer::start().await;
    let (meeting, _akim, moderator_token) = server.live_meeting().await;
    let mut moderator = server.live(meeting, &moderator_token, None).await;
    let mut viewers = Vec::new();
    let mut comments = Vec::new();
    for (name, text) in [
        ("Асель", "Дорога в микрорайоне разбита"),
        ("Ерлан", "Когда починят дорогу?"),
        ("Мария", "Нет детского сада"),
    ] {
        let (token, _) = server.viewer(meeting, name).await;
        let mut client = server.live(meeting, &token, None).await;
        client.token = token;
        comments.push(client.comment("q", text).await["comment"].clone());
        viewers.push(client);
    }
    let road = moderator
        .command(json!({"type": "promote", "comments": [comments[0]], "text": "Ремонт дорог в микрорайоне"}))
        .await;
    assert_eq!(road["type"], "done", "{road}");
    let duplicate = moderator.command(json!({"type": "promote", "comments": [comments[1]]})).await;
    assert_eq!(duplicate["type"], "done");
    let kindergarten = moderator.command(json!({"type": "promote", "comments": [comments[2]]})).await;
    assert_eq!(kindergarten["type"], "done");

    for (index, question) in [(0, 2), (1, 2), (2, 1)] {
        let vote = viewers[index].command(json!({"type": "vote", "question": question, "up": true})).await;
        assert_eq!(vote["type"], "done", "{vote}");
    }
    let merged = moderator.command(json!({"type": "merge", "question": 2, "into": 1})).await;
    assert_eq!(merged["type"], "done", "{merged}");
    // A viewer replaying the whole log sees each vote as a count, and only its own in full.
    let mut replaying = server.live(meeting, &viewers[2].token, Some(0)).await;
    let seen = replaying.events_through(merged["seq"].as_u64().expect("seq")).await;
    let merge = seen.iter().find(|e| e["type"] == "question_merged").expect("the merge arrives");
    assert_eq!(merge["votes"], 3);
    assert_eq!(merge["sources"], json!([comments[0], comments[1]]));
    // The vote of another viewer arrives as a count, not as who voted.
    let counts: Vec<_> = seen.iter().filter(|e| e["type"] == "votes_changed").collect();
    assert!(!counts.is_empty());
    assert!(
        seen.iter()
            .filter(|e| e["type"] == "vote_cast")
            .all(|e| e["voter"] == viewers[2].hello["you"]["viewer_id"])
    );

    assert_eq!(moderator.command(json!({"type": "put_on_air", "question": 1})).await["type"], "done");
    let answered = moderator
        .command(json!({"type": "answer", "question": 1, "summary": "Ремонт в мае, подрядчик выбран"}))
        .await;
    assert_eq!(answered["type"], "done");
    let dismissed = moderator
        .command(json!({"type": "dismiss", "question": 3, "reason": "Передан в отдел образования"}))
        .await;
    assert_eq!(dismissed["type"], "done");

    let (status, list) = server.get(&format!("/api/meetings/{meeting}/issues"), None).await;
    assert_eq!(status, StatusCode::OK);
    let issues = list["issues"].as_array().expect("issues");
    assert_eq!(issues.len(), 3);
    assert_eq!(issues[0]["text"], "Ремонт дорог в микрорайоне");
    assert_eq!(issues[0]["state"], "answered");
    assert_eq!(issues[0]["outcome"], "Ремонт в мае, подрядчик выбран");
    assert_eq!(issues[0]["votes"], 3);
    let sources: Vec<_> =
        issues[0]["sources"].as_array().expect("sources").iter().map(|s| s["author_name"].clone()).collect();
    assert_eq!(sources, vec![json!("Асель"), json!("Ерлан")]);
    assert_eq!(issues[1]["state"], "merged");
    assert_eq!(issues[2]["state"], "dismissed");
}

#[tokio::test]
async fn the_moderation_log_is_public_and_hidden_text_is_for_admins() {
    let server = TestServer::start().await;
    let (meeting, _akim, moderator_token) = server.live_meeting().await;
    let mut moderator = server.live(meeting, &moderator_token, None).await;
    let (token, viewer_id) = server.viewer(meeting, "Troll").await;
    let mut troll = server.live(meeting, &token, None).await;
    let first = troll.comment("1", "оскорбление").await["comment"].clone();
    let second = troll.comment("2", "реклама").await["comment"].clone();
    moderator.command(json!({"type": "hide", "comment": first, "reason": "insult"})).await;
    moderator.command(json!({"type": "hide", "comment": second, "reason": "spam"})).await;
    moderator.command(json!({"type": "time_out", "viewer": viewer_id, "minutes": 10})).await;
    let refused = troll.comment("3", "снова").await;
    assert_eq!(refused["code"], "timed_out");
    assert!(refused["retry_after_ms"].as_u64().is_some_and(|ms| ms > 500_000));

    let path = format!("/api/meetings/{meeting}/moderation-log");
    let (status, log) = server.get(&path, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(log["by_action"], json!([{"action": "hide", "count": 2}, {"action": "time_out", "count": 1}]));
    assert_eq!(
        log["hidden_by_reason"],
        json!([{"reason": "insult", "count": 1}, {"reason": "spam", "count": 1}])
    );
    let entries = log["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 3);
    assert!(entries[0]["moderator"].as_str().is_some_and(|name| name.starts_with("moderator")));
    assert_eq!(entries[0]["target_kind"], "comment");
    assert!(!log.to_string().contains("оскорбление"), "the public never sees hidden text");

    let admin = server.admin().await;
    let (_, for_admin) = server.get(&path, Some(&admin)).await;
    assert_eq!(for_admin["entries"][0]["comment_text"], "оскорбление");
}

#[tokio::test]
async fn held_comments_are_seen_by_moderators_and_their_author_only() {
    let server = TestServer::start().await;
    let (meeting, _akim, moderator_token) = server.live_meeting().await;
    let mut moderator = server.live(meeting, &moderator_token, None).await;
    assert_eq!(moderator.command(json!({"type": "hold_first_comments", "on": true})).await["type"], "done");
    let (author_token, _) = server.viewer(meeting, "Newcomer").await;
    let (watcher_token, _) = server.viewer(meeting, "Watcher").await;
    let mut author = server.live(meeting, &author_token, None).await;
    let mut watcher = server.live(meeting, &watcher_token, None).await;
    let ack = author.comment("1", "мой первый вопрос").await;
    let seq = ack["seq"].as_u64().expect("seq");

    let own = author.events_through(seq).await;
    assert_eq!(
        own.last().map(|e| (e["type"].clone(), e["held"].clone())),
        Some((json!("comment_posted"), json!(true)))
    );
    let others = watcher.events_through(seq).await;
    assert_eq!(
        others.last().map(|e| e["type"].clone()),
        Some(json!("redacted")),
        "the sequence stays gap-free"
    );
    assert!(!others.iter().any(|e| e["text"] == "мой первый вопрос"));
    let staff = moderator.events_through(seq).await;
    assert_eq!(staff.last().map(|e| e["text"].clone()), Some(json!("мой первый вопрос")));

    let released = moderator.command(json!({"type": "release", "comment": ack["comment"]})).await;
    let seen = watcher.events_through(released["seq"].as_u64().expect("seq")).await;
    assert!(seen.iter().any(|e| e["type"] == "comment_released"));
}

#[tokio::test]
async fn phase_changes_are_in_the_live_log() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let (token, _) = server.viewer(meeting, "Early").await;
    let mut viewer = server.live(meeting, &token, None).await;
    let refused = viewer.comment("1", "too early").await;
    assert_eq!(refused["code"], "not_live");
    server
        .post(&format!("/api/meetings/{meeting}/phase"), Some(&akim), json!({"phase": "presentation"}))
        .await;
    let mut seen = Vec::new();
    viewer.until(&mut seen, |m| m["type"] == "events").await;
    assert_eq!(seen[0]["type"], "phase_changed");
    assert_eq!(seen[0]["phase"], "presentation");
    assert_eq!(seen[0]["seq"], 1);
    assert_eq!(viewer.comment("2", "now it is live").await["type"], "ack");
}

#[tokio::test]
async fn a_slow_client_is_told_to_resume_while_the_others_keep_going() {
    let server = TestServer::start_with(|config| {
        config.live.connection_queue_frames = 4;
        config.server.socket_send_buffer_bytes = 8192;
        config.live.comment_burst = 10_000;
        config.live.comments_per_minute_per_address = 100_000;
    })
    .await;
    let (meeting, _akim, _moderator) = server.live_meeting().await;
    let (slow_token, _) = server.viewer(meeting, "Slow").await;
    // A tiny receive window: the server's writes to this client soon block.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(2048).expect("buffer size");
    let address = server.base.trim_start_matches("http://").parse().expect("address");
    let stream = socket.connect(address).await.expect("connects");
    let (slow_socket, _) = tokio_tungstenite::client_async(
        server.live_url(meeting, Some(&slow_token), None),
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
    )
    .await
    .expect("upgrade");
    let mut slow = LiveClient::new(slow_socket, &slow_token);

    let (fast_token, _) = server.viewer(meeting, "Fast").await;
    let mut fast = server.live(meeting, &fast_token, None).await;
    // Seq 1 is the switch to Q&A; the 150 comments are 2 to 151. The fast client reads as
    // they come, while the slow one reads nothing.
    const LAST: u64 = 151;
    let fast_reader = tokio::spawn(async move { fast.events_through(LAST).await });
    let (author_token, _) = server.viewer(meeting, "Author").await;
    let mut author = server.live(meeting, &author_token, None).await;
    let text = "слово ".repeat(150);
    let mut last = 0;
    for index in 0..150 {
        last = author.comment(&format!("c{index}"), &text).await["seq"].as_u64().expect("seq");
    }
    assert_eq!(last, LAST);
    let seen = fast_reader.await.expect("the reader finished");
    assert_eq!(seqs(&seen), (1..=last).collect::<Vec<_>>(), "the fast client got every event");
    assert_eq!(slow.close_code(Duration::from_secs(10)).await, Some(4000), "the slow one was told to resume");
}

#[tokio::test]
async fn hidden_text_is_not_replayed_and_released_text_reaches_everyone() {
    let server = TestServer::start().await;
    let (meeting, akim_token, moderator_token) = server.live_meeting().await;
    let mut moderator = server.live(meeting, &moderator_token, None).await;
    let (author_token, _) = server.viewer(meeting, "Author").await;
    let mut author = server.live(meeting, &author_token, None).await;
    let hidden = author.comment("1", "телефон +7 701 000 00 00").await;
    moderator.command(json!({"type": "hide", "comment": hidden["comment"], "reason": "personal_data"})).await;

    assert_eq!(moderator.command(json!({"type": "hold_first_comments", "on": true})).await["type"], "done");
    let (newcomer_token, _) = server.viewer(meeting, "Newcomer").await;
    let mut newcomer = server.live(meeting, &newcomer_token, None).await;
    let held = newcomer.comment("1", "вопрос про школу").await;
    let (watcher_token, _) = server.viewer(meeting, "Watcher").await;
    let mut watcher = server.live(meeting, &watcher_token, None).await;
    let released = moderator.command(json!({"type": "release", "comment": held["comment"]})).await;
    let seen = watcher.events_through(released["seq"].as_u64().expect("seq")).await;
    let release = seen.iter().find(|e| e["type"] == "comment_released").expect("the release");
    assert_eq!(release["text"], "вопрос про школу", "the release carries the text");

    // A late viewer replays the whole log: the hidden text is not in it, the released one is.
    let (late_token, _) = server.viewer(meeting, "Late").await;
    let last = released["seq"].as_u64().expect("seq");
    for (token, who) in [(late_token.as_str(), "a viewer"), (akim_token.as_str(), "the akim")] {
        let mut late = server.live(meeting, token, Some(0)).await;
        let replay = late.events_through(last).await;
        let text = serde_json::to_string(&replay).expect("json");
        assert!(!text.contains("+7 701"), "{who} replays hidden text: {text}");
        let posted = replay.iter().find(|e| e["seq"] == held["seq"]).expect("the held comment's seq");
        assert_eq!(posted["text"], "вопрос про школу", "{who} replays the released comment");
        assert_eq!(seqs(&replay), (1..=last).collect::<Vec<_>>(), "still gap-free for {who}");
        let mut recent = server.live(meeting, token, None).await;
        let history = recent.next(Duration::from_secs(5)).await.expect("history");
        assert!(!history.to_string().contains("+7 701"), "{who}'s history has no hidden text");
    }
    // The author and moderators still see it.
    let mut again = server.live(meeting, &author_token, Some(0)).await;
    assert!(serde_json::to_string(&again.events_through(last).await).expect("json").contains("+7 701"));
}

#[tokio::test]
async fn a_silent_connection_is_closed_as_idle() {
    let server = TestServer::start_with(|config| {
        config.live.ping_interval_seconds = 1;
        config.live.idle_timeout_seconds = 2;
    })
    .await;
    let (meeting, _akim, _moderator) = server.live_meeting().await;
    let (token, _) = server.viewer(meeting, "Sleepy").await;
    let mut sleepy = server.live(meeting, &token, None).await;
    // Reading nothing means answering no ping either.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut last = Value::Null;
    let code = loop {
        use futures_util::StreamExt;
        match tokio::time::timeout(Duration::from_secs(5), sleepy.socket.next()).await {
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame)))) => {
                break frame.map(|f| u16::from(f.code));
            }
            Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text)))) => {
                last = serde_json::from_str(&text).expect("json")
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("no close: {other:?}"),
        }
    };
    assert_eq!(code, Some(4008));
    assert_eq!(last["code"], "idle");
}

#[tokio::test]
async fn each_address_has_a_comment_limit_whatever_the_viewer() {
    let server = TestServer::start_with(|config| {
        config.live.comment_burst = 100;
        config.live.comments_per_minute_per_address = 2;
    })
    .await;
    let (meeting, _akim, _moderator) = server.live_meeting().await;
    let (first_token, _) = server.viewer(meeting, "First").await;
    let (second_token, _) = server.viewer(meeting, "Second").await;
    let mut first = server.live(meeting, &first_token, None).await;
    let mut second = server.live(meeting, &second_token, None).await;
    assert_eq!(first.comment("a", "one").await["type"], "ack");
    assert_eq!(second.comment("a", "two").await["type"], "ack");
    let limited = second.comment("b", "three").await;
    assert_eq!(limited["code"], "rate_limited", "{limited}");
    assert!(limited["retry_after_ms"].as_u64().is_some_and(|ms| ms >= 1));
    assert_eq!(limited["client_id"], "b");
}

#[tokio::test]
async fn the_servers_own_staff_pages_join_with_their_cookie() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = TestServer::start().await;
    let (meeting, akim, _moderator) = server.live_meeting().await;
    let host = server.base.trim_start_matches("http://").to_owned();
    let handshake = |origin: &str| {
        let mut request = server.live_url(meeting, None, None).into_client_request().expect("a request");
        let headers = request.headers_mut();
        headers.insert("cookie", format!("kezdesu_session={akim}").parse().expect("a header"));
        headers.insert("origin", origin.parse().expect("a header"));
        request
    };
    // From the server's own page: the cookie signs the connection in at once.
    let (socket, _) =
        tokio_tungstenite::connect_async(handshake(&format!("http://{host}"))).await.expect("connects");
    let mut presenter = LiveClient::new(socket, "");
    let hello = presenter.next(Duration::from_secs(5)).await.expect("a hello");
    assert_eq!(
        (hello["type"].as_str(), hello["you"]["role"].as_str()),
        (Some("hello"), Some("akim")),
        "{hello}"
    );

    // From another site the cookie is ignored: the client reads as the public does, and must
    // still authenticate to act.
    let (socket, _) =
        tokio_tungstenite::connect_async(handshake("https://evil.example")).await.expect("connects");
    let mut foreign = LiveClient::new(socket, "");
    let hello = foreign.next(Duration::from_secs(5)).await.expect("a hello");
    assert_eq!(hello["you"]["role"], "reader", "{hello}");
    foreign.send(json!({"type": "comment", "text": "hi", "client_id": "x"})).await;
    let answer = foreign.until(&mut Vec::new(), |m| m["type"] == "error").await;
    assert_eq!(answer["code"], "join_first", "{answer}");
}

/// How many viewer rows the server's database holds.
async fn viewer_rows(server: &TestServer) -> i64 {
    let database = server.database().await;
    sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM viewers")
        .fetch_one(&database)
        .await
        .expect("counting viewers")
}

/// Connects with `snapshot=true` (and the token, if any) and reads the `hello` and `snapshot`.
async fn join_with_snapshot(server: &TestServer, meeting: i64, token: Option<&str>) -> (LiveClient, Value) {
    let url = server.live_url(meeting, token, None);
    let url = format!("{url}{}snapshot=true", if url.contains('?') { '&' } else { '?' });
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("connects");
    let mut client = LiveClient::new(socket, token.unwrap_or_default());
    client.hello = client.next(Duration::from_secs(5)).await.expect("a hello");
    let snapshot = client.next(Duration::from_secs(5)).await.expect("a snapshot");
    assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
    assert_eq!(snapshot["seq"], client.hello["last_seq"], "the snapshot is of the log as of hello");
    (client, snapshot)
}

#[tokio::test]
async fn a_page_joining_late_gets_a_snapshot_of_what_it_may_see_then_goes_on_live() {
    let server = TestServer::start_with(|config| {
        config.live.comment_burst = 100;
        config.live.snapshot_comments = 5;
    })
    .await;
    let (meeting, _akim, moderator_token) = server.live_meeting().await;
    let mut moderator = server.live(meeting, &moderator_token, None).await;
    let (author_token, author_id) = server.viewer(meeting, "Асель").await;
    let mut author = server.live(meeting, &author_token, None).await;
    let mut numbers = Vec::new();
    for index in 0..12 {
        numbers.push(
            author.comment(&format!("s{index}"), &format!("Комментарий номер {index}")).await["comment"]
                .clone(),
        );
    }
    for command in [
        json!({"type": "promote", "comments": [numbers[0]]}),
        json!({"type": "promote", "comments": [numbers[1]]}),
        json!({"type": "pin", "question": 2, "position": 0}),
        json!({"type": "slow_mode", "seconds": 30}),
        json!({"type": "hide", "comment": numbers[11], "reason": "spam"}),
        json!({"type": "hold_first_comments", "on": true}),
    ] {
        assert_eq!(moderator.command(command.clone()).await["type"], "done", "{command}");
    }
    assert_eq!(author.command(json!({"type": "vote", "question": 2, "up": true})).await["type"], "done");
    let (newcomer_token, _) = server.viewer(meeting, "Новичок").await;
    let mut newcomer = server.live(meeting, &newcomer_token, None).await;
    let held = newcomer.comment("n1", "Первый раз пишу").await["comment"].clone();

    // Moderators: settings, every question with the pins, the latest comments in any state,
    // and the held one.
    let (_, staff) = join_with_snapshot(&server, meeting, Some(&moderator_token)).await;
    assert_eq!(
        (staff["slow_mode_seconds"].as_u64(), staff["hold_first_comments"].as_bool()),
        (Some(30), Some(true))
    );
    assert_eq!(staff["pinned"], json!([2]));
    let questions: Vec<_> = staff["questions"]
        .as_array()
        .expect("questions")
        .iter()
        .map(|q| (q["question"].clone(), q["state"].clone(), q["votes"].clone()))
        .collect();
    assert_eq!(questions, [(json!(1), json!("queued"), json!(0)), (json!(2), json!("queued"), json!(1))]);
    let comments = staff["comments"].as_array().expect("comments");
    assert_eq!(comments.len(), 5, "the latest five: {comments:?}");
    assert_eq!(
        comments.last().map(|c| (c["comment"].clone(), c["state"].clone())),
        Some((held.clone(), json!("held")))
    );
    assert!(comments.iter().any(|c| c["state"] == "hidden" && c["reason"] == "spam"));

    // The public: no held or hidden comment, nobody's votes.
    let (mut reader, public) = join_with_snapshot(&server, meeting, None).await;
    let public_comments = public["comments"].as_array().expect("comments");
    assert!(public_comments.iter().all(|c| c["state"] == "visible" || c["state"] == "promoted"), "{public}");
    assert!(!public_comments.iter().any(|c| c["comment"] == held));
    assert!(public.get("authors").is_none() && public.get("my_votes").is_none());
    assert_eq!(public["pinned"], json!([2]));

    // A viewer: the public part, and their own.
    let (_, own) = join_with_snapshot(&server, meeting, Some(&author_token)).await;
    assert_eq!(own["my_votes"], json!([2]));
    assert!(
        own["comments"]
            .as_array()
            .expect("comments")
            .iter()
            .any(|c| c["comment"] == numbers[11] && c["state"] == "hidden" && c["author"] == author_id)
    );
    let (_, newcomers) = join_with_snapshot(&server, meeting, Some(&newcomer_token)).await;
    assert!(
        newcomers["comments"]
            .as_array()
            .expect("comments")
            .iter()
            .any(|c| c["comment"] == held && c["state"] == "held")
    );

    // Then live, from the snapshot's seq on.
    let released = moderator.command(json!({"type": "release", "comment": held})).await;
    let seen = reader.events_through(released["seq"].as_u64().expect("seq")).await;
    assert_eq!(
        seen.first().and_then(|e| e["seq"].as_u64()),
        public["seq"].as_u64().map(|seq| seq + 1),
        "{seen:?}"
    );
    assert!(seen.iter().any(|e| e["type"] == "comment_released"));
}
