//! The session timer through the API: the split enforced by the server, with nobody connected
//! and across restarts.
//!
//! The room's timing is tested in simulated time, with plain values, where it is decided
//! (`server/src/room/machine/tests.rs`: never a millisecond early, stamped at the deadline, a
//! room opened mid-presentation or after the deadline, commit before announcement). Here one test
//! watches the real server switch by itself in real time; the others wait for no budget: a
//! downtime is simulated by moving the stored instants into the past.

use crate::support::*;
use futures_util::future::join;
use jiff::Timestamp;
use reqwest::StatusCode;
use serde_json::{Value, json};
use sqlx::Row;
use std::time::{Duration, Instant};

fn instant(value: &Value) -> Timestamp {
    value.as_str().expect("an RFC 3339 string").parse().expect("RFC 3339 with offset")
}

/// The stored phase instants, read from the database rather than through the API, which would
/// apply a due switch on reading.
async fn stored_phases(server: &TestServer, meeting: i64) -> (Option<i64>, Option<i64>, Option<i64>) {
    let database = server.database().await;
    let row =
        sqlx::query("SELECT presentation_started_at, qa_started_at, ended_at FROM meetings WHERE id = $1")
            .bind(meeting)
            .fetch_one(&database)
            .await
            .expect("the meeting row");
    let phases = (row.get(0), row.get(1), row.get(2));
    database.close().await;
    phases
}

/// Polls the stored record until Q&A has begun, and returns when it was stored as beginning.
async fn wait_for_stored_qa(server: &TestServer, meeting: i64, limit: Duration) -> i64 {
    let started = Instant::now();
    loop {
        if let (_, Some(qa), _) = stored_phases(server, meeting).await {
            return qa;
        }
        assert!(started.elapsed() < limit, "Q&A was not stored within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The one real-time check of the automatic switch: two meetings with a one-second budget,
/// one with nobody connected and one with a subscriber, started together so that the test waits
/// one budget for both.
#[tokio::test]
async fn the_server_switches_to_qa_by_itself_with_nobody_connected_and_subscribers_hear_it() {
    let server = TestServer::start_short().await;
    // One planned minute at a 1/60 share: a one-second presentation.
    let (alone, akim) = server.meeting_with_akim(1).await;
    let (watched, watched_akim) = server.meeting_with_akim(1).await;
    let mut events = server.events(watched).await;
    let (name, snapshot) = events.next(Duration::from_secs(2)).await.expect("a snapshot");
    assert_eq!(name, "snapshot");
    assert_eq!(snapshot["phase"], "scheduled");

    let (status, started) = server
        .post(&format!("/api/meetings/{alone}/phase"), Some(&akim), json!({"phase": "presentation"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{started}");
    assert_eq!(started["phase"], "presentation");
    assert_eq!(started["presentation_budget_seconds"], 1.0);
    let began = instant(&started["phase_started_at"]);
    let ends = instant(&started["presentation_ends_at"]);
    assert_eq!(ends.duration_since(began), jiff::SignedDuration::from_secs(1));
    server
        .post(
            &format!("/api/meetings/{watched}/phase"),
            Some(&watched_akim),
            json!({"phase": "presentation"}),
        )
        .await;

    let nobody_connected = async {
        let qa = wait_for_stored_qa(&server, alone, Duration::from_secs(3)).await;
        (qa, Timestamp::now())
    };
    let subscribed = async {
        let (name, requested) = events.next(Duration::from_secs(2)).await.expect("the requested change");
        assert_eq!(name, "phase_changed");
        assert_eq!(
            (requested["phase"].clone(), requested["cause"].clone()),
            (json!("presentation"), json!("requested"))
        );
        let (name, automatic) = events.next(Duration::from_secs(3)).await.expect("the automatic change");
        (requested, name, automatic, Timestamp::now())
    };
    let ((qa, noticed), (requested, name, automatic, heard)) = join(nobody_connected, subscribed).await;

    // Stored at the instant the budget ran out, and applied within a second of it.
    assert_eq!(qa, ends.as_millisecond());
    assert!(
        noticed.duration_since(ends) < jiff::SignedDuration::from_secs(2),
        "switched late: {noticed} vs {ends}"
    );
    let (_, shown) = server.get(&format!("/api/meetings/{alone}"), None).await;
    assert_eq!(shown["phase"], "qa");
    assert_eq!(shown["status"], "live");
    assert_eq!(instant(&shown["phase_started_at"]), ends);

    // The subscriber hears it as it happens.
    assert_eq!(name, "phase_changed");
    assert_eq!(
        (automatic["phase"].clone(), automatic["cause"].clone()),
        (json!("qa"), json!("budget_spent"))
    );
    let watched_ends = instant(&requested["meeting"]["presentation_ends_at"]);
    assert_eq!(instant(&automatic["at"]), watched_ends);
    assert!(heard.duration_since(watched_ends) < jiff::SignedDuration::from_secs(2), "heard late");
    assert_eq!(automatic["meeting"]["phase"], "qa");
}

#[tokio::test]
async fn phases_only_move_forward_and_the_end_carries_a_compliance_record() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let phase = format!("/api/meetings/{meeting}/phase");

    let unschedule = server.post(&phase, Some(&akim), json!({"phase": "scheduled"})).await;
    assert_problem(&unschedule, StatusCode::UNPROCESSABLE_ENTITY, "invalid_phase");
    let early_end = server.post(&phase, Some(&akim), json!({"phase": "ended"})).await;
    assert_problem(&early_end, StatusCode::CONFLICT, "meeting_not_started");
    let (status, _) = server.post(&phase, Some(&akim), json!({"phase": "presentation"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, qa) = server.post(&phase, Some(&akim), json!({"phase": "qa"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(qa["phase"], "qa");
    let back = server.post(&phase, Some(&akim), json!({"phase": "presentation"})).await;
    assert_problem(&back, StatusCode::CONFLICT, "phase_backwards");
    // Asking again for the phase the meeting is in is a harmless retry.
    let (status, again) = server.post(&phase, Some(&akim), json!({"phase": "qa"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["phase_started_at"], qa["phase_started_at"]);

    let (status, ended) = server.post(&phase, Some(&akim), json!({"phase": "ended"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ended["status"], "ended");
    let compliance = &ended["compliance"];
    assert_eq!(compliance["presentation_budget_seconds"], 900.0);
    assert!(compliance["presentation_seconds"].as_f64().expect("seconds") < 5.0);
    assert!(compliance["qa_seconds"].as_f64().expect("seconds") < 5.0);
    // Kept when the presentation stayed in budget and took at most a quarter of the time the
    // meeting ran; here both phases lasted milliseconds, so check the rule, not a constant.
    let (presentation, qa) = (
        compliance["presentation_seconds"].as_f64().expect("s"),
        compliance["qa_seconds"].as_f64().expect("s"),
    );
    assert_eq!(
        compliance["split_kept"],
        presentation <= 900.0 && presentation * 4.0 <= presentation + qa + 1e-9,
        "{compliance}"
    );
    let after = server.post(&phase, Some(&akim), json!({"phase": "qa"})).await;
    assert_problem(&after, StatusCode::CONFLICT, "phase_backwards");
}

#[tokio::test]
async fn the_timer_is_run_by_its_akim_moderators_and_admins_only() {
    let server = TestServer::start().await;
    let (meeting, _akim) = server.meeting_with_akim(60).await;
    let admin = server.admin().await;
    server.create_account(&admin, "other.akim", "akim").await;
    server.create_account(&admin, "commission", "commission").await;
    server.create_account(&admin, "moderator", "moderator").await;
    let phase = format!("/api/meetings/{meeting}/phase");

    for login in ["other.akim", "commission"] {
        let token = server.sign_in(login, &password_of(login)).await;
        let answer = server.post(&phase, Some(&token), json!({"phase": "presentation"})).await;
        assert_problem(&answer, StatusCode::FORBIDDEN, "forbidden");
    }
    assert_problem(
        &server.post(&phase, None, json!({"phase": "presentation"})).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let moderator = server.sign_in("moderator", &password_of("moderator")).await;
    let (status, _) = server.post(&phase, Some(&moderator), json!({"phase": "presentation"})).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server.post(&phase, Some(&admin), json!({"phase": "qa"})).await;
    assert_eq!(status, StatusCode::OK);
}

/// That the restarted room then switches at that deadline is the machine's test
/// (`a_room_opened_mid_presentation_switches_at_the_stored_deadline`), in simulated time.
#[tokio::test]
async fn a_restart_mid_presentation_resumes_the_same_phase_and_deadline() {
    let server = TestServer::start_short().await;
    // Sixty planned minutes at 1/60: a one-minute presentation, far longer than a restart.
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let (_, started) = server
        .post(&format!("/api/meetings/{meeting}/phase"), Some(&akim), json!({"phase": "presentation"}))
        .await;

    let server = server.restart().await;
    let (status, resumed) = server.get(&format!("/api/meetings/{meeting}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(resumed["phase"], "presentation", "{resumed}");
    assert_eq!(resumed["phase_started_at"], started["phase_started_at"]);
    assert_eq!(resumed["presentation_ends_at"], started["presentation_ends_at"]);
    assert_eq!(stored_phases(&server, meeting).await.1, None, "nothing fell due");
}

#[tokio::test]
async fn a_switch_that_fell_due_while_the_server_was_down_is_applied_at_start() {
    let mut server = TestServer::start_short().await;
    let (meeting, akim) = server.meeting_with_akim(1).await;
    let (_, started) = server
        .post(&format!("/api/meetings/{meeting}/phase"), Some(&akim), json!({"phase": "presentation"}))
        .await;
    server.stop().await.expect("clean shutdown");
    let (_, qa, _) = stored_phases(&server, meeting).await;
    assert_eq!(qa, None, "stopped before the budget ran out");

    // The server stays down past the deadline: rather than wait for it, the presentation is
    // moved a minute into the past, as if it had begun then.
    let database = writable_database(&server).await;
    sqlx::query(
        "UPDATE meetings SET presentation_started_at = presentation_started_at - 60000 WHERE id = $1",
    )
    .bind(meeting)
    .execute(&database)
    .await
    .expect("moving the presentation back");
    database.close().await;
    let ends = instant(&started["presentation_ends_at"]) - jiff::SignedDuration::from_secs(60);

    let server = server.restart_stopped().await;
    // Applied during start-up, before the server answered its first request, at the deadline.
    let (_, qa, _) = stored_phases(&server, meeting).await;
    assert_eq!(qa, Some(ends.as_millisecond()));
}

#[tokio::test]
async fn subscribers_see_edits_to_the_plan() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let path = format!("/api/meetings/{meeting}");
    let mut events = server.events(meeting).await;
    let (_, snapshot) = events.next(Duration::from_secs(2)).await.expect("a snapshot");
    assert_eq!(snapshot["status"], "scheduled");

    server.patch(&path, Some(&akim), json!({"status": "cancelled"})).await;
    let (name, updated) = events.next(Duration::from_secs(2)).await.expect("an update");
    assert_eq!(name, "meeting_updated");
    assert_eq!(updated["status"], "cancelled");

    // A new subscriber's snapshot shows the edit too, not the room's older copy.
    let mut late = server.events(meeting).await;
    let (_, snapshot) = late.next(Duration::from_secs(2)).await.expect("a snapshot");
    assert_eq!(snapshot["status"], "cancelled");
}
