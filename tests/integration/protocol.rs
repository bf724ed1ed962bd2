//! The protocol's JSON fixtures (`tests/fixtures/protocol/`), shared with the web tests, are
//! what the server really reads and writes.

use crate::support::*;
use kezdesu_core::live::{LiveCommand, LiveEvent, StoredEvent};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

fn fixtures(kind: &str) -> Vec<(String, Value)> {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/protocol").join(kind);
    let mut found: Vec<(String, Value)> = std::fs::read_dir(&folder)
        .unwrap_or_else(|error| panic!("{}: {error}", folder.display()))
        .map(|entry| {
            let path = entry.expect("entry").path();
            let text = std::fs::read_to_string(&path).expect("readable");
            let name = path.file_stem().expect("a name").to_string_lossy().into_owned();
            (name, serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display())))
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    found
}

fn keys(value: &Value) -> BTreeSet<String> {
    value.as_object().expect("an object").keys().cloned().collect()
}

/// Every event type, by an exhaustive match: a new event does not compile until it is named
/// here, and then this test asks for its fixture.
fn event_name(event: &LiveEvent) -> &'static str {
    match event {
        LiveEvent::CommentPosted { .. } => "comment_posted",
        LiveEvent::CommentHidden { .. } => "comment_hidden",
        LiveEvent::CommentRestored { .. } => "comment_restored",
        LiveEvent::CommentReleased { .. } => "comment_released",
        LiveEvent::AuthorTimedOut { .. } => "author_timed_out",
        LiveEvent::AuthorBanned { .. } => "author_banned",
        LiveEvent::AuthorUnbanned { .. } => "author_unbanned",
        LiveEvent::SlowModeSet { .. } => "slow_mode_set",
        LiveEvent::HoldFirstCommentsSet { .. } => "hold_first_comments_set",
        LiveEvent::QuestionCreated { .. } => "question_created",
        LiveEvent::QuestionMerged { .. } => "question_merged",
        LiveEvent::QuestionEdited { .. } => "question_edited",
        LiveEvent::QueueReordered { .. } => "queue_reordered",
        LiveEvent::QuestionOnAir { .. } => "question_on_air",
        LiveEvent::QuestionAnswered { .. } => "question_answered",
        LiveEvent::QuestionDismissed { .. } => "question_dismissed",
        LiveEvent::VoteCast { .. } => "vote_cast",
        LiveEvent::VotesChanged { .. } => "votes_changed",
        LiveEvent::PhaseChanged { .. } => "phase_changed",
        LiveEvent::Redacted => "redacted",
    }
}

#[test]
fn every_event_fixture_is_an_event_and_round_trips() {
    let mut covered = BTreeSet::new();
    for (name, fixture) in fixtures("events") {
        let event: StoredEvent =
            serde_json::from_value(fixture.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        // `comment_posted.from_platform` is a second example of `comment_posted`.
        let base = name.split('.').next().expect("a name").to_owned();
        assert_eq!(event_name(&event.event), base);
        assert_eq!(serde_json::to_value(&event).expect("serializes"), fixture, "{name} round-trips");
        covered.insert(base);
    }
    assert_eq!(covered.len(), 20, "one fixture per event type: {covered:?}");
}

#[test]
fn every_client_fixture_is_a_command() {
    let fixtures = fixtures("client");
    assert!(fixtures.len() >= 18);
    for (name, mut fixture) in fixtures {
        let object = fixture.as_object_mut().expect("an object");
        object.remove("request_id");
        if name == "auth" {
            assert_eq!(keys(&fixture), ["token", "type"].map(String::from).into());
            continue;
        }
        let command: LiveCommand =
            serde_json::from_value(fixture.clone()).unwrap_or_else(|e| panic!("{name}: {e}"));
        // `promote.into` is a second example of `promote`.
        let base = name.split('.').next().expect("a name");
        assert_eq!(serde_json::to_value(&command).expect("serializes")["type"], base);
    }
}

#[tokio::test]
async fn the_server_sends_what_the_fixtures_show() {
    let server = TestServer::start_with(|config| config.live.comment_burst = 1).await;
    let (meeting, _akim, moderator_token) = server.live_meeting().await;
    let (token, _) = server.viewer(meeting, "Айгүл").await;
    let mut viewer = server.live(meeting, &token, None).await;
    let mut moderator = server.live(meeting, &moderator_token, None).await;
    let fixture = |name: &str| fixtures("server").into_iter().find(|(n, _)| n == name).expect("a fixture").1;

    assert_eq!(keys(&viewer.hello), keys(&fixture("hello")));
    assert_eq!(keys(&viewer.hello["meeting"]), keys(&fixture("hello")["meeting"]));
    assert_eq!(keys(&viewer.hello["you"]), keys(&fixture("hello")["you"]));
    let ack = viewer.comment("3f1c2a-1", "Когда отремонтируют дорогу?").await;
    assert_eq!(keys(&ack), keys(&fixture("ack")));
    let error = viewer.comment("3f1c2a-2", "и ещё").await;
    assert_eq!(keys(&error), keys(&fixture("error")), "{error}");
    let done = moderator.command(json!({"type": "hide", "comment": ack["comment"], "reason": "spam"})).await;
    assert_eq!(keys(&done), keys(&fixture("done")));
    let events = viewer.events_through(done["seq"].as_u64().expect("seq")).await;
    let hidden = events.last().expect("the hide");
    let event_fixture =
        fixtures("events").into_iter().find(|(n, _)| n == "comment_hidden").expect("fixture").1;
    assert_eq!(keys(hidden), keys(&event_fixture));
    let viewers = loop {
        let message = viewer.socket_message(Duration::from_secs(5)).await.expect("a viewer count");
        if message["type"] == "viewers" {
            break message;
        }
    };
    assert_eq!(keys(&viewers), keys(&fixture("viewers")));

    // A moderator joining late gets a snapshot with nothing the fixture does not show.
    let url = format!("{}&snapshot=true", server.live_url(meeting, Some(&moderator_token), None));
    let (socket, _) = tokio_tungstenite::connect_async(url).await.expect("connects");
    let mut late = LiveClient::new(socket, &moderator_token);
    let snapshot = late.until(&mut Vec::new(), |m| m["type"] == "snapshot").await;
    let shown = fixture("snapshot");
    assert!(keys(&snapshot).is_subset(&keys(&shown)), "{snapshot}");
    let shown_comment_keys: BTreeSet<String> =
        shown["comments"].as_array().expect("comments").iter().flat_map(keys).collect();
    for comment in snapshot["comments"].as_array().expect("comments") {
        assert!(keys(comment).is_subset(&shown_comment_keys), "{comment}");
    }
    for question in shown["questions"].as_array().expect("questions") {
        assert!(keys(question).is_superset(
            &["question", "text", "sources", "votes", "state", "created_at"].map(String::from).into()
        ));
    }

    // A reader signs in on the connection it reads from.
    let (socket, _) =
        tokio_tungstenite::connect_async(server.live_url(meeting, None, None)).await.expect("connects");
    let mut reader = LiveClient::new(socket, "");
    reader.send(json!({"type": "auth", "token": token})).await;
    let authenticated = reader.until(&mut Vec::new(), |m| m["type"] == "authenticated").await;
    assert_eq!(keys(&authenticated), keys(&fixture("authenticated")));
    assert_eq!(keys(&authenticated["you"]), keys(&fixture("authenticated")["you"]));
}
