//! Bad input always gets a clear 4xx problem document: never a 500, never a panic.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::json;

async fn raw(
    server: &TestServer,
    method: Method,
    path: &str,
    token: Option<&str>,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, serde_json::Value) {
    let mut request = reqwest::Client::new().request(method, server.url(path)).body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    read(request.send().await.expect("the server answers")).await
}

#[tokio::test]
async fn malformed_and_mistyped_bodies_are_told_apart() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let json_type = Some("application/json");
    let cases: [(&[u8], StatusCode, &str); 7] = [
        (b"{\"login\": ", StatusCode::BAD_REQUEST, "malformed_json"),
        (b"not json", StatusCode::BAD_REQUEST, "malformed_json"),
        (b"{} {}", StatusCode::BAD_REQUEST, "malformed_json"),
        (b"", StatusCode::BAD_REQUEST, "malformed_json"),
        (
            b"{\"login\": 3, \"display_name\": \"x\", \"role\": \"akim\", \"password\": \"long enough pw\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (b"[1, 2]", StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
        (b"{\"login\": \"x\", \"extra\": true}", StatusCode::UNPROCESSABLE_ENTITY, "invalid_body"),
    ];
    for (body, status, code) in cases {
        let answer =
            raw(&server, Method::POST, "/api/accounts", Some(&admin), json_type, body.to_vec()).await;
        assert_problem(&answer, status, code);
    }
    // A number where an enum belongs is JSON of the wrong shape, not broken JSON.
    let answer = raw(
        &server,
        Method::POST,
        "/api/meetings/1/phase",
        Some(&admin),
        json_type,
        b"{\"phase\": 3}".to_vec(),
    )
    .await;
    assert!(answer.0 == StatusCode::UNPROCESSABLE_ENTITY || answer.0 == StatusCode::NOT_FOUND, "{answer:?}");
    let unsupported =
        raw(&server, Method::POST, "/api/accounts", Some(&admin), Some("text/plain"), b"{}".to_vec()).await;
    assert_problem(&unsupported, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    let missing = raw(&server, Method::POST, "/api/accounts", Some(&admin), None, b"{}".to_vec()).await;
    assert_problem(&missing, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let server = TestServer::start_with(|config| config.server.max_body_bytes = 4096).await;
    let admin = server.admin().await;
    let huge = json!({"login": "x".repeat(10_000), "display_name": "x", "role": "akim", "password": "long enough password"});
    let answer = server.post("/api/accounts", Some(&admin), huge).await;
    assert_problem(&answer, StatusCode::PAYLOAD_TOO_LARGE, "body_too_large");
    // Nothing was created, and the server goes on answering.
    let (status, list) = server.get("/api/accounts", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["accounts"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn unknown_ids_routes_and_methods_get_404_and_405() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    for path in [
        "/api/meetings/424242",
        "/api/meetings/abc",
        "/api/meetings/99999999999999999999999",
        "/api/territories/0",
    ] {
        assert_problem(&server.get(path, None).await, StatusCode::NOT_FOUND, "not_found");
    }
    assert_problem(
        &server.post("/api/meetings/424242/phase", Some(&admin), json!({"phase": "qa"})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_problem(
        &server.patch("/api/meetings/424242", Some(&admin), json!({})).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_problem(
        &server.get("/api/meetings/424242/events", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_problem(&server.get("/api/nothing-here", None).await, StatusCode::NOT_FOUND, "route_not_found");
    assert_problem(
        &server.call(Method::PUT, "/api/meetings", Some(&admin), Some(json!({}))).await,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    );
    assert_problem(
        &server.get("/api/meetings?status=bogus", None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
}

#[tokio::test]
async fn bad_credentials_are_401_not_500() {
    let server = TestServer::start().await;
    for header in ["Bearer", "Bearer ", "Basic YWRtaW46YWRtaW4=", "Bearer not-a-token", "Bearer \u{7f}"] {
        let response = reqwest::Client::new()
            .get(server.url("/api/accounts"))
            .header("authorization", header.as_bytes())
            .send()
            .await;
        let Ok(response) = response else { continue };
        assert_problem(&read(response).await, StatusCode::UNAUTHORIZED, "unauthenticated");
    }
}

/// Every endpoint, hit with a spread of wrong bodies: each answer is a 4xx problem.
#[tokio::test]
async fn no_bad_input_reaches_a_500() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let admin = server.admin().await;
    let bodies = [
        json!(null),
        json!(true),
        json!("text"),
        json!(-1),
        json!([]),
        json!({}),
        json!({"phase": null}),
        json!({"title": {"kk": 1}}),
        json!({"planned_minutes": 1e300}),
        json!({"planned_start": "2026-13-45T99:99:99+99:00"}),
        json!({"display_name": "\u{0}\u{0}"}),
        json!({"login": "", "password": ""}),
        json!({"status": "live"}),
        json!({"kato": "1".repeat(100), "kind": "oblast", "name": {}}),
        json!({"into": -1}),
        json!({"into": i64::MAX}),
        json!({"status": "escalated", "level": "mars"}),
        json!({"status": "rejected", "note": "\u{0}"}),
        json!({"measure": "m", "executor_organisation": "o", "executor_person": "p", "deadline": "2026-02-30"}),
        json!({"measure": "m", "executor_organisation": "o", "executor_person": "p", "deadline": "2026-01-01",
               "financing_needed": true, "financing_amount": 1e300}),
        json!({"title": "x".repeat(10_000), "text": "y"}),
        json!({"title": "t", "supporters": 0, "territory_id": -5, "meeting_id": 999_999}),
        json!({"text": "t", "reported_on": "yesterday"}),
        json!([{"channel": "A B", "external_id": null, "title": 5}]),
        json!({"rows": [{"unknown": 1}]}),
        json!({"name": "n", "title": "t", "text": "t", "category": "nope"}),
        json!({"entries": [{"territory_id": 1, "date": "2027-02-30", "place": "x"}]}),
        json!({"entries": [{"territory_id": i64::MAX, "date": "2027-01-01", "time": "25:99", "place": ""}]}),
        json!({"after": -1, "reason": "\u{0}", "entries": "none"}),
        json!({"agreed_on": "2026-99-01", "maslikhat_decision": ""}),
        json!({"submitted_on": "1900-01-01", "version": i64::MIN}),
        json!({"starts_at": "2026-01-01T00:00:00+05:00", "minutes": 1e10, "capacity": -1, "officials": []}),
        json!({"starts_at": "2999-01-01T00:00:00Z", "minutes": 60, "capacity": 1, "place": "p",
               "officials": [{"name": "\u{200B}"}]}),
        json!({"name": "n", "contact": "+7 700 000 00 00", "topic": "t".repeat(5000)}),
        json!({"issue_id": i64::MAX}),
        json!({"place": "x".repeat(1000), "online_link": "http://"}),
    ];
    let body = json!({"kato": "199999998", "kind": "district", "name": {"kk": "А", "ru": "Р", "en": "D"}});
    let (_, district) = server.post("/api/territories", Some(&admin), body).await;
    let body = json!({"login": "sweep-akim", "display_name": "Аким", "role": "akim",
                      "password": "sweep-akim has a long password", "territory_id": district["id"]});
    let (_, calendar_akim) = server.post("/api/accounts", Some(&admin), body).await;
    let calendar = format!("/api/akims/{}/calendars/2027/revisions", calendar_akim["id"]);
    let (_, revision) = server.post(&calendar, Some(&admin), json!({})).await;
    let revision = revision["id"].as_i64().expect("a revision");
    let (_, shown) = server.get(&format!("/api/meetings/{meeting}"), None).await;
    let slot = json!({"starts_at": shown["planned_start"], "minutes": 60, "place": "Акимат", "capacity": 500,
                      "officials": [{"name": "Ержан"}]});
    let (_, slot) = server.post(&format!("/api/meetings/{meeting}/receptions"), Some(&admin), slot).await;
    let slot = slot["id"].as_i64().expect("a reception");
    let booking = json!({"name": "Асан", "contact": "+77011112233", "topic": "Дорога"});
    let (_, booked) = server.post(&format!("/api/receptions/{slot}/bookings"), None, booking).await;
    let booking = booked["booking"]["id"].as_i64().expect("a booking");
    let (_, issue) = server.post("/api/issues", Some(&admin), json!({"title": "Sweep"})).await;
    let issue = issue["issue"]["id"].as_i64().expect("an issue");
    let endpoints = [
        (Method::POST, "/api/session".to_owned()),
        (Method::POST, "/api/accounts".to_owned()),
        (Method::PATCH, "/api/accounts/1".to_owned()),
        (Method::POST, "/api/territories".to_owned()),
        (Method::POST, "/api/meetings".to_owned()),
        (Method::PATCH, format!("/api/meetings/{meeting}")),
        (Method::POST, format!("/api/meetings/{meeting}/phase")),
        (Method::POST, format!("/api/meetings/{meeting}/viewers")),
        (Method::POST, "/api/issues".to_owned()),
        (Method::POST, "/api/issues/import".to_owned()),
        (Method::PATCH, format!("/api/issues/{issue}")),
        (Method::POST, format!("/api/issues/{issue}/status")),
        (Method::POST, format!("/api/issues/{issue}/merge")),
        (Method::POST, format!("/api/issues/{issue}/actions")),
        (Method::PATCH, format!("/api/issues/{issue}/actions/1")),
        (Method::POST, format!("/api/issues/{issue}/progress")),
        (Method::POST, format!("/api/meetings/{meeting}/requests")),
        (Method::POST, format!("/api/meetings/{meeting}/receipt")),
        (Method::POST, calendar.clone()),
        (Method::PUT, format!("/api/calendar-revisions/{revision}/entries")),
        (Method::POST, format!("/api/calendar-revisions/{revision}/agree")),
        (Method::POST, format!("/api/calendar-revisions/{revision}/submit")),
        (Method::POST, format!("/api/meetings/{meeting}/receptions")),
        (Method::POST, format!("/api/receptions/{slot}/bookings")),
        (Method::POST, format!("/api/reception-bookings/{booking}/issues")),
    ];
    for (method, path) in &endpoints {
        for token in [Some(admin.as_str()), Some(akim.as_str()), None] {
            for body in &bodies {
                let (status, answer) = server.call(method.clone(), path, token, Some(body.clone())).await;
                assert!(
                    status.is_client_error() || status.is_success(),
                    "{method} {path} with {body} answered {status}: {answer}"
                );
            }
        }
    }
    let (status, _) = server.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK, "the server is still healthy");
}

#[tokio::test]
async fn a_whole_number_written_with_a_fraction_is_an_integer_as_json_schema_says() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let territory = server.create_territory(&admin, &format!("75{:07}", rand_suffix() % 10_000_000)).await;
    let login = format!("akim{}", rand_suffix());
    let akim = server.create_account(&admin, &login, "akim").await;
    let mut body = meeting_body(territory, akim, 90);
    body["planned_minutes"] = json!(90.0);
    body["territory_id"] = json!(territory as f64);
    let (status, meeting) = server.post("/api/meetings", Some(&admin), body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{meeting}");
    assert_eq!(meeting["planned_minutes"], 90);
    // A fraction is still no integer, and says which field.
    body["planned_minutes"] = json!(90.5);
    let answer = server.post("/api/meetings", Some(&admin), body).await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, "invalid_body");
    assert!(
        answer.1["detail"].as_str().is_some_and(|detail| detail.contains("planned_minutes")),
        "{answer:?}"
    );
}

#[tokio::test]
async fn the_document_s_edges_hold_for_a_plain_client() {
    let server = TestServer::start().await;
    // The live channel without a WebSocket handshake: a problem document, not plain text.
    let response = reqwest::get(server.url("/api/meetings/1/live")).await.expect("an answer");
    let content_type = response.headers().get("content-type").cloned();
    assert_problem(&read(response).await, StatusCode::BAD_REQUEST, "bad_request");
    assert_eq!(content_type.as_ref().and_then(|value| value.to_str().ok()), Some("application/problem+json"));
    // `format` belongs to the export; the list refuses it rather than ignoring it.
    assert_problem(
        &server.get("/api/issues?format=csv", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_format",
    );
    assert_eq!(server.get("/api/issues/export?format=json", None).await.0, StatusCode::OK);
    // And paging belongs to the list: the export holds every issue.
    assert_problem(
        &server.get("/api/issues/export?page_size=0", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_paging",
    );
    // Open311's `status` is checked even when ids make the other filters moot.
    assert_problem(
        &server.get("/open311/v2/requests.json?service_request_id=1&status=ok", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_status",
    );

    let (status, document) = server.get("/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    // The configured categories, on what a client sends, and the event stream's events.
    let category = &document["components"]["schemas"]["CreateIssue"]["properties"]["category"]["pattern"];
    assert!(category.as_str().is_some_and(|pattern| pattern.contains("roads")), "{category}");
    let events = &document["paths"]["/api/meetings/{id}/events"]["get"]["responses"]["200"]["content"]["text/event-stream"]
        ["schema"]["oneOf"];
    let names: Vec<&str> = events
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|event| event["properties"]["event"]["const"].as_str())
        .collect();
    assert_eq!(
        names,
        ["snapshot", "phase_changed", "meeting_updated", "broadcast", "restream", "platform", "lagged"]
    );
}

/// One request with an `Accept-Language`: the problem, its `Content-Language` and `Vary`.
async fn in_language(
    server: &TestServer,
    method: Method,
    path: &str,
    accept_language: Option<&str>,
) -> (StatusCode, serde_json::Value, Option<String>, Vec<String>) {
    let mut request = reqwest::Client::new().request(method, server.url(path));
    if let Some(languages) = accept_language {
        request = request.header("accept-language", languages);
    }
    let response = request.send().await.expect("the server answers");
    let language =
        response.headers().get("content-language").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let vary = response
        .headers()
        .get_all("vary")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(',').map(|name| name.trim().to_ascii_lowercase()))
        .collect();
    let (status, body) = read(response).await;
    (status, body, language, vary)
}

#[tokio::test]
async fn problem_details_follow_accept_language() {
    let server = TestServer::start().await;
    // (Accept-Language, the language answered, the detail of a 422 naming a field and a limit.)
    let cases = [
        (Some("kk"), "kk", "limit 1 мен 500 аралығында болуы керек"),
        (Some("kk-KZ,ru;q=0.5"), "kk", "limit 1 мен 500 аралығында болуы керек"),
        (Some("ru-RU,ru;q=0.9"), "ru", "limit должен быть от 1 до 500"),
        (Some("en"), "en", "limit must be 1 to 500"),
        (Some("de, en;q=0.1, ru;q=0.2"), "ru", "limit должен быть от 1 до 500"),
        (Some("fr"), "en", "limit must be 1 to 500"),
        (None, "en", "limit must be 1 to 500"),
    ];
    for (accept, language, detail) in cases {
        let (status, body, content_language, vary) =
            in_language(&server, Method::GET, "/api/meetings?limit=0", accept).await;
        assert_problem(&(status, body.clone()), StatusCode::UNPROCESSABLE_ENTITY, "invalid_limit");
        assert_eq!(body["detail"], detail, "{accept:?}: {body}");
        assert_eq!(content_language.as_deref(), Some(language), "{accept:?}");
        assert!(vary.iter().any(|name| name == "accept-language"), "{accept:?}: Vary {vary:?}");
        // The title is the HTTP reason phrase, in English whatever the language.
        assert_eq!(body["title"], "Unprocessable Entity", "{body}");
    }

    // A 404 of a handler and one of the router's own, in all three.
    let not_found =
        [(Some("kk"), "кездесу табылмады"), (Some("ru"), "встреча не найдена"), (None, "meeting not found")];
    for (accept, detail) in not_found {
        let (status, body, _, _) = in_language(&server, Method::GET, "/api/meetings/987654", accept).await;
        assert_problem(&(status, body.clone()), StatusCode::NOT_FOUND, "not_found");
        assert_eq!(body["detail"], detail, "{body}");
    }
    let (status, body, content_language, _) =
        in_language(&server, Method::DELETE, "/api/meetings", Some("ru")).await;
    assert_problem(&(status, body.clone()), StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    assert_eq!(body["detail"], "этот маршрут не поддерживает такой метод", "{body}");
    assert_eq!(content_language.as_deref(), Some("ru"));

    // An answer that is not a problem is left as it was.
    let (status, _, content_language, vary) =
        in_language(&server, Method::GET, "/api/meetings", Some("kk")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(content_language, None);
    assert!(!vary.iter().any(|name| name == "accept-language"), "{vary:?}");
}

#[tokio::test]
async fn a_rate_limit_keeps_its_wait_in_every_language() {
    let server = TestServer::start_with(|config| config.auth.sign_in_attempts_per_minute = 1).await;
    let wrong = json!({"login": "nobody", "password": "not the password"});
    let mut answers = Vec::new();
    for accept in ["kk", "ru-RU", "en", "kk", "ru-RU", "en"] {
        let response = reqwest::Client::new()
            .post(server.url("/api/session"))
            .header("accept-language", accept)
            .json(&wrong)
            .send()
            .await
            .expect("the server answers");
        answers.push((accept, read(response).await));
    }
    let limited: Vec<_> =
        answers.iter().filter(|(_, (status, _))| *status == StatusCode::TOO_MANY_REQUESTS).collect();
    assert!(limited.len() >= 3, "{answers:?}");
    for (accept, answer) in limited {
        assert_problem(answer, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
        let body = &answer.1;
        let wait = body["retry_after_seconds"].as_u64().expect("a wait");
        let detail = body["detail"].as_str().expect("a detail");
        let expected = match *accept {
            "kk" => format!("сұраулар тым көп; {wait} с кейін қайталаңыз"),
            "ru-RU" => format!("слишком много запросов; повторите через {wait} с"),
            _ => format!("too many requests; try again in {wait} s"),
        };
        assert_eq!(detail, expected, "{accept}: {body}");
    }
}

/// A live connection whose handshake asks for `accept_language`, past its `hello`.
async fn live_in(server: &TestServer, meeting: i64, token: &str, accept_language: &str) -> LiveClient {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = server.live_url(meeting, Some(token), None).into_client_request().expect("a request");
    request.headers_mut().insert("accept-language", accept_language.parse().expect("a header value"));
    let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("connects");
    let mut client = LiveClient::new(socket, token);
    let hello = client.next(std::time::Duration::from_secs(5)).await.expect("a hello");
    assert_eq!(hello["type"], "hello", "{hello}");
    client
}

#[tokio::test]
async fn live_errors_follow_the_handshakes_accept_language() {
    let server = TestServer::start().await;
    let (meeting, _akim, _moderator) = server.live_meeting().await;
    let (token, _) = server.viewer(meeting, "Тілші").await;
    let cases = [
        ("kk-KZ", "мәтін бос болмауы керек", "мәтін ең көбі 1000 таңба болуы керек, берілгені: 1001"),
        (
            "ru-RU,ru;q=0.9",
            "текст не должен быть пустым",
            "текст должен быть не длиннее 1000 символов, получено 1001",
        ),
        ("en", "text must not be empty", "text must be at most 1000 characters, got 1001"),
    ];
    for (n, (accept, empty_message, long_message)) in cases.into_iter().enumerate() {
        let mut viewer = live_in(&server, meeting, &token, accept).await;
        let empty = viewer.comment(&format!("empty-{n}"), "   ").await;
        assert_eq!(
            (empty["code"].as_str(), empty["message"].as_str()),
            (Some("text_empty"), Some(empty_message))
        );
        let long = viewer.comment(&format!("long-{n}"), &"я".repeat(1001)).await;
        assert_eq!(
            (long["code"].as_str(), long["message"].as_str()),
            (Some("text_too_long"), Some(long_message))
        );
    }
}

#[tokio::test]
async fn a_query_axum_cannot_read_keeps_its_reason_in_the_frame() {
    let server = TestServer::start().await;
    let (status, body, language, _) =
        in_language(&server, Method::GET, "/api/meetings?limit=many", Some("kk")).await;
    assert_problem(&(status, body.clone()), StatusCode::BAD_REQUEST, "bad_request");
    assert_eq!(language.as_deref(), Some("kk"));
    let detail = body["detail"].as_str().expect("a detail");
    assert!(detail.starts_with("сұрау жолын (query string) оқу мүмкін болмады: "), "{detail}");
    assert!(detail.contains("limit"), "the reason is kept as it came: {detail}");
}
