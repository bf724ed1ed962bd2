//! A meeting's results: published after it ends, by the commission, its akim or an admin, and
//! checked against the decree's ten calendar days.

use crate::support::{TestServer, assert_problem, password_of, rand_suffix, writable_database};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Moves every phase instant of the meeting `days` back, as if it had ended that long ago.
async fn backdate(server: &TestServer, meeting: i64, days: i64) {
    let database = writable_database(server).await;
    let shift = days * 86_400_000;
    sqlx::query(
        "UPDATE meetings SET planned_start = planned_start - $1, \
         presentation_started_at = presentation_started_at - $1, qa_started_at = qa_started_at - $1, \
         ended_at = ended_at - $1 WHERE id = $2",
    )
    .bind(shift)
    .bind(meeting)
    .execute(&database)
    .await
    .expect("backdating");
    database.close().await;
}

async fn put_results(
    server: &TestServer,
    meeting: i64,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut request = server.client.put(server.url(&format!("/api/meetings/{meeting}/results"))).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    crate::support::read(request.send().await.expect("request")).await
}

/// A meeting that ran and ended, with its akim's token.
async fn ended_meeting(server: &TestServer) -> (i64, String) {
    let (meeting, akim) = server.meeting_with_akim(60).await;
    for phase in ["presentation", "ended"] {
        let (status, body) = server
            .post(&format!("/api/meetings/{meeting}/phase"), Some(&akim), json!({"phase": phase}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
    (meeting, akim)
}

#[tokio::test]
async fn results_are_overdue_on_day_eleven_and_a_late_publication_stays_late() {
    let server = TestServer::start().await;
    let (in_time, akim) = ended_meeting(&server).await;
    let (late, _) = ended_meeting(&server).await;
    backdate(&server, in_time, 10).await;
    backdate(&server, late, 11).await;

    let deadlines = |meeting: i64| {
        let server = &server;
        async move {
            let (status, body) = server.get(&format!("/api/meetings/{meeting}"), None).await;
            assert_eq!(status, StatusCode::OK);
            body["deadlines"].clone()
        }
    };
    let day_ten = deadlines(in_time).await;
    assert_eq!(day_ten["results_overdue"], false, "{day_ten}");
    assert_eq!(day_ten["results_published_at"], Value::Null);
    let ended_on: jiff::civil::Date = day_ten["ended_on"].as_str().expect("a date").parse().expect("a date");
    let due: jiff::civil::Date = day_ten["results_due"].as_str().expect("a date").parse().expect("a date");
    assert_eq!(ended_on.until(due).expect("a span").get_days(), 10);
    let day_eleven = deadlines(late).await;
    assert_eq!(day_eleven["results_overdue"], true, "{day_eleven}");
    // The list shows the same, for every ended meeting on the page.
    let (_, list) = server.get("/api/meetings?status=ended", None).await;
    let overdue_of = |id: i64| {
        list["meetings"].as_array().expect("meetings").iter().find(|m| m["id"] == id).expect("listed")["deadlines"]
            ["results_overdue"]
            .clone()
    };
    assert_eq!((overdue_of(in_time), overdue_of(late)), (json!(false), json!(true)));

    // Publishing on day 10 is in time; on day 11 it is published, but late.
    let (status, published) =
        put_results(&server, in_time, Some(&akim), json!({"summary": "Итоги встречи"})).await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["deadlines"]["results_overdue"], false);
    let admin = server.admin().await;
    let (status, published) =
        put_results(&server, late, Some(&admin), json!({"summary": "Late results"})).await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["deadlines"]["results_overdue"], true, "a late publication stays late");
    assert_eq!(deadlines(late).await["results_published_at"], published["published_at"]);

    // An edit keeps the first publication instant.
    let (_, edited) = put_results(&server, in_time, Some(&akim), json!({"summary": "Итоги, уточнено"})).await;
    let (status, shown) = server.get(&format!("/api/meetings/{in_time}/results"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["summary"], "Итоги, уточнено");
    assert_eq!(shown["published_at"], edited["published_at"]);
}

#[tokio::test]
async fn only_the_commission_the_akim_and_admins_publish_after_the_end() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    // Not before the meeting has ended.
    let early = put_results(&server, meeting, Some(&akim), json!({"summary": "too soon"})).await;
    assert_problem(&early, StatusCode::CONFLICT, "meeting_not_ended");
    let (status, _) = server.get(&format!("/api/meetings/{meeting}/results"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    let (meeting, _) = ended_meeting(&server).await;
    let admin = server.admin().await;
    let token_of = |role: &'static str| {
        let server = &server;
        let admin = admin.clone();
        async move {
            let login = format!("{role}{}", rand_suffix());
            server.create_account(&admin, &login, role).await;
            server.sign_in(&login, &password_of(&login)).await
        }
    };
    let moderator = token_of("moderator").await;
    let commission = token_of("commission").await;
    assert_problem(
        &put_results(&server, meeting, None, json!({"summary": "x"})).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_problem(
        &put_results(&server, meeting, Some(&moderator), json!({"summary": "x"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (_, other_akim) = server.meeting_with_akim(60).await;
    assert_problem(
        &put_results(&server, meeting, Some(&other_akim), json!({"summary": "x"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_problem(
        &put_results(&server, meeting, Some(&commission), json!({"summary": "  "})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_summary",
    );
    assert_problem(
        &put_results(&server, meeting, Some(&commission), json!({"text": "x"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
    let (status, published) =
        put_results(&server, meeting, Some(&commission), json!({"summary": "Line one\nLine two"})).await;
    assert_eq!(status, StatusCode::OK, "{published}");
    assert_eq!(published["summary"], "Line one\nLine two");
}
