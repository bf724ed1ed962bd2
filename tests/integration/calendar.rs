//! The iCalendar feeds over HTTP: what a calendar application subscribes to. (A real parser
//! reads them in tests/calendar/test_ical.py, run by tests/run.)

use crate::support::{TestServer, assert_problem};
use reqwest::StatusCode;
use serde_json::json;

async fn feed(server: &TestServer, path: &str) -> String {
    let response = reqwest::get(server.url(path)).await.expect("answers");
    assert_eq!(response.status(), StatusCode::OK, "{path}");
    let content_type = response.headers()["content-type"].to_str().expect("ascii").to_owned();
    assert!(content_type.starts_with("text/calendar"), "{content_type}");
    response.text().await.expect("a body")
}

/// The value of the first `NAME:` line (unfolded).
fn property(feed: &str, name: &str) -> Option<String> {
    let unfolded = feed.replace("\r\n ", "");
    unfolded.split("\r\n").find_map(|line| line.strip_prefix(&format!("{name}:")).map(str::to_owned))
}

#[tokio::test]
async fn feeds_follow_a_meeting_through_reschedule_and_cancellation() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let (_, shown) = server.get(&format!("/api/meetings/{meeting}"), None).await;
    let (_, session) = server.get("/api/session", Some(&akim)).await;
    let akim_id = session["account"]["id"].as_i64().expect("the akim's id");
    let territory = shown["territory_id"].as_i64().expect("a territory");

    let first = feed(&server, &format!("/api/akims/{akim_id}/calendar.ics")).await;
    assert!(first.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"), "{first}");
    assert!(first.ends_with("END:VCALENDAR\r\n"));
    assert!(first.split("\r\n").all(|line| line.len() <= 75), "lines are folded at 75 octets");
    assert_eq!(first.matches("BEGIN:VEVENT").count(), 1);
    let uid = property(&first, "UID").expect("a UID");
    let sequence: i64 = property(&first, "SEQUENCE").expect("a SEQUENCE").parse().expect("a number");
    assert_eq!(property(&first, "STATUS").as_deref(), Some("CONFIRMED"));
    assert_eq!(
        feed(&server, &format!("/api/territories/{territory}/calendar.ics"))
            .await
            .matches("BEGIN:VEVENT")
            .count(),
        1
    );

    let admin = server.admin().await;
    let moved = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(30))
        .round(jiff::Unit::Minute)
        .expect("rounds");
    let (status, _) = server
        .patch(&format!("/api/meetings/{meeting}"), Some(&admin), json!({"planned_start": moved.to_string()}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let rescheduled = feed(&server, &format!("/api/akims/{akim_id}/calendar.ics")).await;
    assert_eq!(property(&rescheduled, "UID"), Some(uid.clone()));
    let later: i64 = property(&rescheduled, "SEQUENCE").expect("a SEQUENCE").parse().expect("a number");
    assert!(later > sequence, "{sequence} -> {later}");
    assert_eq!(property(&rescheduled, "DTSTART"), Some(moved.strftime("%Y%m%dT%H%M%SZ").to_string()));

    let (status, _) =
        server.patch(&format!("/api/meetings/{meeting}"), Some(&admin), json!({"status": "cancelled"})).await;
    assert_eq!(status, StatusCode::OK);
    let cancelled = feed(&server, &format!("/api/akims/{akim_id}/calendar.ics")).await;
    assert_eq!(property(&cancelled, "STATUS").as_deref(), Some("CANCELLED"));

    // Another territory's feed is empty; unknown ids, non-akims and bad languages are refused.
    let elsewhere = server.create_territory(&admin, "271234567").await;
    assert!(
        !feed(&server, &format!("/api/territories/{elsewhere}/calendar.ics")).await.contains("BEGIN:VEVENT")
    );
    assert_problem(
        &server.get("/api/territories/999999/calendar.ics", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_problem(&server.get("/api/akims/1/calendar.ics", None).await, StatusCode::NOT_FOUND, "not_found");
    assert_problem(
        &server.get(&format!("/api/akims/{akim_id}/calendar.ics?lang=de"), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_lang",
    );
}
