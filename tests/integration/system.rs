//! Health, metrics, the OpenAPI document, the web pages and graceful shutdown.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

#[tokio::test]
async fn metrics_expose_requests_connections_live_meetings_and_store_latency() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    server
        .post(&format!("/api/meetings/{meeting}/phase"), Some(&akim), json!({"phase": "presentation"}))
        .await;
    let response = reqwest::get(server.url("/metrics")).await.expect("metrics");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().expect("ascii").starts_with("text/plain"));
    let text = response.text().await.expect("text");
    assert!(
        text.contains(
            r#"kezdesu_http_requests_total{method="POST",route="/api/meetings/{id}/phase",status="200"} 1"#
        ),
        "{text}"
    );
    assert!(text.contains("kezdesu_meetings_live 1"), "{text}");
    assert!(text.lines().any(|l| l.starts_with("kezdesu_open_connections ") && !l.ends_with(" 0")), "{text}");
    assert!(
        text.contains(r#"kezdesu_store_operation_duration_seconds_count{operation="commit_live"}"#),
        "{text}"
    );
}

#[tokio::test]
async fn healthz_answers_once_ready() {
    let server = TestServer::start().await;
    let (status, body) = server.get("/healthz", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, json!({"status": "ok"}));
}

/// Every documented operation is routed, and the documented shape of a meeting is the shape
/// the server sends.
#[tokio::test]
async fn the_openapi_document_is_true() {
    let server = TestServer::start().await;
    let (status, document) = server.get("/api/openapi.json", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(document["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = document["paths"].as_object().expect("paths");
    let mut operations = 0;
    for (path, item) in paths {
        for method in ["get", "post", "patch", "delete", "put"] {
            if item.get(method).is_none() {
                continue;
            }
            operations += 1;
            let concrete = path.replace("{id}", "1");
            let mut request = reqwest::Client::new()
                .request(method.to_uppercase().parse().expect("method"), server.url(&concrete));
            if method != "get" {
                request = request.json(&json!({}));
            }
            let response = tokio::time::timeout(Duration::from_secs(5), request.send())
                .await
                .expect("answers promptly")
                .expect("answers");
            let status = response.status();
            let body =
                if status.is_success() { Value::Null } else { response.json().await.unwrap_or(Value::Null) };
            assert!(
                !matches!(body["code"].as_str(), Some("route_not_found" | "method_not_allowed")),
                "{method} {path} is documented but not routed: {body}"
            );
        }
    }
    assert!(operations >= 16, "expected every operation, found {operations}");

    let mut documented: Vec<String> = Vec::new();
    for (path, item) in paths {
        for method in item.as_object().expect("path item").keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    documented.sort();
    // Every route the server answers under /api, /healthz and /metrics.
    let mut routed = vec![
        "POST /api/session",
        "GET /api/session",
        "DELETE /api/session",
        "GET /api/accounts",
        "POST /api/accounts",
        "GET /api/accounts/{id}",
        "PATCH /api/accounts/{id}",
        "GET /api/territories",
        "POST /api/territories",
        "GET /api/territories/{id}",
        "GET /api/meetings",
        "POST /api/meetings",
        "GET /api/meetings/{id}",
        "PATCH /api/meetings/{id}",
        "POST /api/meetings/{id}/phase",
        "POST /api/meetings/{id}/announce",
        "GET /api/demands",
        "POST /api/demands",
        "GET /api/demands/{id}",
        "POST /api/demands/{id}/support",
        "POST /api/demands/{id}/meeting",
        "GET /api/meetings/{id}/events",
        "POST /api/meetings/{id}/viewers",
        "GET /api/meetings/{id}/live",
        "GET /api/meetings/{id}/moderation-log",
        "GET /api/meetings/{id}/issues",
        "GET /api/meetings/{id}/results",
        "PUT /api/meetings/{id}/results",
        "GET /api/meetings/{id}/stream-key",
        "POST /api/meetings/{id}/stream-key",
        "DELETE /api/meetings/{id}/broadcast",
        "OPTIONS /api/meetings/{id}/whip",
        "POST /api/meetings/{id}/whip",
        "OPTIONS /api/meetings/{id}/whip/{session}",
        "PATCH /api/meetings/{id}/whip/{session}",
        "DELETE /api/meetings/{id}/whip/{session}",
        "OPTIONS /api/meetings/{id}/whep",
        "POST /api/meetings/{id}/whep",
        "OPTIONS /api/meetings/{id}/whep/{session}",
        "PATCH /api/meetings/{id}/whep/{session}",
        "DELETE /api/meetings/{id}/whep/{session}",
        "GET /api/territories/{id}/calendar.ics",
        "POST /api/territories/import",
        "GET /api/akims/{id}/calendar.ics",
        "GET /api/akims/{id}/coverage",
        "GET /api/akims/{id}/calendars/{year}",
        "POST /api/akims/{id}/calendars/{year}/revisions",
        "GET /api/calendar-revisions/{id}",
        "PUT /api/calendar-revisions/{id}/entries",
        "POST /api/calendar-revisions/{id}/agree",
        "POST /api/calendar-revisions/{id}/submit",
        "GET /api/calendar-revisions/{id}/validation",
        "GET /api/compliance",
        "GET /api/meetings/{id}/receptions",
        "POST /api/meetings/{id}/receptions",
        "POST /api/receptions/{id}/cancel",
        "POST /api/receptions/{id}/bookings",
        "GET /api/receptions/{id}/bookings",
        "GET /api/bookings/{code}",
        "DELETE /api/bookings/{code}",
        "POST /api/reception-bookings/{id}/issues",
        "DELETE /api/reception-bookings/{id}/issues/{issue_id}",
        "POST /api/reception-bookings/{id}/cancel",
        "GET /api/issues",
        "POST /api/issues",
        "GET /api/issues/categories",
        "GET /api/issues/{id}",
        "PATCH /api/issues/{id}",
        "POST /api/issues/{id}/status",
        "POST /api/issues/{id}/merge",
        "POST /api/issues/{id}/actions",
        "PATCH /api/issues/{id}/actions/{item}",
        "POST /api/issues/{id}/progress",
        "GET /api/issues/{id}/history",
        "GET /api/issues/{id}/contacts",
        "POST /api/issues/import",
        "GET /api/issues/export",
        "GET /api/issues/central-export",
        "POST /api/meetings/{id}/requests",
        "POST /api/meetings/{id}/receipt",
        "GET /api/meetings/{id}/briefing",
        "GET /api/receipts/{code}",
        "GET /open311/v2/services.json",
        "GET /open311/v2/requests.json",
        "GET /open311/v2/requests/{file}",
        "GET /healthz",
        "GET /metrics",
        "GET /api/rules",
        "GET /api/meetings/{id}/log",
        "GET /api/meetings/{id}/recording",
        "DELETE /api/meetings/{id}/recording",
        "GET /api/meetings/{id}/recording/{number}",
        "GET /api/meetings/{id}/hls/index.m3u8",
        "GET /api/meetings/{id}/hls/{segment}",
        "GET /api/meetings/{id}/destinations",
        "POST /api/meetings/{id}/destinations",
        "PATCH /api/meetings/{id}/destinations/{destination}",
        "DELETE /api/meetings/{id}/destinations/{destination}",
        "GET /api/accounts/{id}/destinations",
        "POST /api/accounts/{id}/destinations",
        "PATCH /api/accounts/{id}/destinations/{destination}",
        "DELETE /api/accounts/{id}/destinations/{destination}",
        "GET /api/accounts/{id}/platforms",
        "PUT /api/accounts/{id}/platforms/{platform}",
        "DELETE /api/accounts/{id}/platforms/{platform}",
        "GET /api/meetings/{id}/platforms",
        "PUT /api/meetings/{id}/platforms/{platform}",
        "DELETE /api/meetings/{id}/platforms/{platform}",
    ];
    routed.sort();
    assert_eq!(documented, routed);

    // What the server sends has the documented shape.
    let admin = server.admin().await;
    let (meeting, _) = server.meeting_with_akim(60).await;
    let (_, signed_in) =
        server.post("/api/session", None, json!({"login": "admin", "password": ADMIN_PASSWORD})).await;
    let (_, viewer) = server
        .post(&format!("/api/meetings/{meeting}/viewers"), None, json!({"display_name": "Ерлан"}))
        .await;
    // An issue with a plan and progress, so that every part of its view is sent.
    let (_, created) = server
        .post(
            "/api/issues",
            Some(&admin),
            json!({"title": "Ремонт", "meeting_id": meeting, "category": "roads"}),
        )
        .await;
    let issue = created["issue"]["id"].as_i64().expect("an issue");
    server.post(&format!("/api/issues/{issue}/status"), Some(&admin), json!({"status": "accepted"})).await;
    let plan = json!({"measure": "m", "executor_organisation": "o", "executor_person": "p", "deadline": "2027-01-01",
                      "financing_needed": true, "financing_amount": 5, "maslikhat_session_on": "2026-12-20"});
    server.post(&format!("/api/issues/{issue}/actions"), Some(&admin), plan).await;
    server.post(&format!("/api/issues/{issue}/progress"), Some(&admin), json!({"text": "t"})).await;
    server.patch(&format!("/api/issues/{issue}"), Some(&admin), json!({"on_briefing": true})).await;
    // A calendar with an agreed revision, and a reception with a booking linked to the issue.
    let body = json!({"kato": "199999999", "kind": "district", "name": {"kk": "А", "ru": "Р", "en": "D"}});
    let (_, district) = server.post("/api/territories", Some(&admin), body).await;
    let body = json!({"login": "calendar-akim", "display_name": "Аким", "role": "akim",
                      "password": "calendar-akim has a long password", "territory_id": district["id"]});
    let (_, calendar_akim) = server.post("/api/accounts", Some(&admin), body).await;
    let calendar = format!("/api/akims/{}/calendars/2027", calendar_akim["id"]);
    let entry =
        json!({"territory_id": district["id"], "date": "2027-03-01", "time": "10:00", "place": "Акимат"});
    let (_, revision) =
        server.post(&format!("{calendar}/revisions"), Some(&admin), json!({"entries": [entry]})).await;
    let revision = revision["id"].as_i64().expect("a revision");
    let agreement = json!({"version": 0, "agreed_on": "2026-11-01", "maslikhat_decision": "№ 1"});
    server.post(&format!("/api/calendar-revisions/{revision}/agree"), Some(&admin), agreement).await;
    let (_, meeting_view) = server.get(&format!("/api/meetings/{meeting}"), None).await;
    let slot = json!({"starts_at": meeting_view["planned_start"], "minutes": 60, "place": "Акимат", "capacity": 3,
                      "officials": [{"name": "Ержан", "position": "заместитель"}]});
    let (_, slot) = server.post(&format!("/api/meetings/{meeting}/receptions"), Some(&admin), slot).await;
    let slot = slot["id"].as_i64().expect("a reception");
    let booking = json!({"name": "Асан", "contact": "+77011112233", "topic": "Дорога"});
    let (_, booked) = server.post(&format!("/api/receptions/{slot}/bookings"), None, booking).await;
    server
        .post(
            &format!("/api/reception-bookings/{}/issues", booked["booking"]["id"]),
            Some(&admin),
            json!({"issue_id": issue}),
        )
        .await;
    // The meeting follows a Telegram post, so that its platforms and its JSON show a reader.
    let follow = json!({"chat_id": -1001, "post_id": 5});
    server
        .call(
            reqwest::Method::PUT,
            &format!("/api/meetings/{meeting}/platforms/telegram"),
            Some(&admin),
            Some(follow),
        )
        .await;
    let array_of =
        |name: &str| json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{name}")}});
    let arrays = [
        ("ServiceRequest", server.get("/open311/v2/requests.json", None).await.1),
        ("Service", server.get("/open311/v2/services.json", None).await.1),
        ("HistoryEntryView", server.get(&format!("/api/issues/{issue}/history"), None).await.1),
        ("Category", server.get("/api/issues/categories", None).await.1),
        ("SlotView", server.get(&format!("/api/meetings/{meeting}/receptions"), None).await.1),
        ("BookingView", server.get(&format!("/api/receptions/{slot}/bookings"), Some(&admin)).await.1),
    ];
    for (name, sample) in arrays {
        assert!(!sample.as_array().expect("an array").is_empty(), "{name}");
        conforms(&document, &array_of(name), &sample, name);
    }
    let samples = [
        ("IssueView", server.get(&format!("/api/issues/{issue}"), None).await.1),
        ("IssuePage", server.get("/api/issues", None).await.1),
        ("Briefing", server.get(&format!("/api/meetings/{meeting}/briefing"), Some(&admin)).await.1),
        ("MeetingView", server.get(&format!("/api/meetings/{meeting}"), None).await.1),
        ("MeetingList", server.get("/api/meetings", None).await.1),
        ("AccountList", server.get("/api/accounts", Some(&admin)).await.1),
        ("AccountView", server.get("/api/accounts/1", Some(&admin)).await.1),
        ("CurrentSession", server.get("/api/session", Some(&admin)).await.1),
        ("SignedIn", signed_in),
        ("ViewerToken", viewer),
        ("TerritoryList", server.get("/api/territories", None).await.1),
        ("TerritoryView", server.get("/api/territories/1", None).await.1),
        ("Problem", server.get("/api/meetings/999", None).await.1),
        ("Health", server.get("/healthz", None).await.1),
        ("ModerationLog", server.get(&format!("/api/meetings/{meeting}/moderation-log"), None).await.1),
        ("IssueList", server.get(&format!("/api/meetings/{meeting}/issues"), None).await.1),
        ("StreamKeyView", server.get(&format!("/api/meetings/{meeting}/stream-key"), Some(&admin)).await.1),
        ("YearCalendarView", server.get(&calendar, None).await.1),
        ("RevisionView", server.get(&format!("/api/calendar-revisions/{revision}"), None).await.1),
        (
            "ValidationReport",
            server.get(&format!("/api/calendar-revisions/{revision}/validation"), None).await.1,
        ),
        ("ComplianceReport", server.get("/api/compliance?year=2026", None).await.1),
        ("BookingReceipt", booked),
        ("PlatformFeedList", server.get(&format!("/api/meetings/{meeting}/platforms"), Some(&admin)).await.1),
    ];
    for (name, sample) in samples {
        conforms(&document, &json!({"$ref": format!("#/components/schemas/{name}")}), &sample, name);
    }
}

/// Checks `value` against `schema`: every key sent is documented, every required key is sent,
/// and nested objects conform too. Enough to catch a field added or renamed on one side only.
fn conforms(document: &Value, schema: &Value, value: &Value, place: &str) {
    let schema = resolve(document, schema);
    if let Some(alternatives) = schema.get("oneOf").or(schema.get("anyOf")).and_then(Value::as_array) {
        // A nullable field is `oneOf: [null, X]`; a null value conforms to the null branch.
        if value.is_null() {
            return;
        }
        let non_null = |b: &&Value| resolve(document, b).get("type") != Some(&json!("null"));
        // A tagged enum's branches differ by a property with one allowed value (its tag).
        let branch = alternatives
            .iter()
            .filter(non_null)
            .find(|b| shallowly_matches(resolve(document, b), value))
            .or_else(|| alternatives.iter().find(non_null));
        return conforms(document, branch.expect("a non-null branch"), value, place);
    }
    match value {
        // A free-form object (a history entry's detail) documents no properties.
        Value::Object(_) if schema.get("properties").is_none() && schema["type"] == "object" => {}
        Value::Object(fields) => {
            let properties =
                schema["properties"].as_object().unwrap_or_else(|| panic!("{place} is an object: {schema}"));
            for (key, field) in fields {
                let field_schema =
                    properties.get(key).unwrap_or_else(|| panic!("{place}.{key} is sent but not documented"));
                conforms(document, field_schema, field, &format!("{place}.{key}"));
            }
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().expect("a name");
                assert!(fields.contains_key(key), "{place}.{key} is documented as required");
            }
        }
        Value::Array(items) => {
            for (index, item) in items.iter().enumerate() {
                conforms(document, &schema["items"], item, &format!("{place}[{index}]"));
            }
        }
        _ => {}
    }
}

/// Whether an object's keys are all the branch's properties, and its values are among those a
/// property allows where it lists them (`enum`).
fn shallowly_matches(branch: &Value, value: &Value) -> bool {
    let (Some(properties), Some(fields)) = (branch["properties"].as_object(), value.as_object()) else {
        return false;
    };
    fields.iter().all(|(key, field)| {
        properties
            .get(key)
            .is_some_and(|property| property["enum"].as_array().is_none_or(|allowed| allowed.contains(field)))
    })
}

fn resolve<'a>(document: &'a Value, schema: &'a Value) -> &'a Value {
    match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/schemas/");
            resolve(document, &document["components"]["schemas"][name])
        }
        None => schema,
    }
}

#[tokio::test]
async fn pages_are_served_from_the_binary_with_a_strict_policy() {
    let server = TestServer::start().await;
    for (path, kind) in [
        ("/", "text/html"),
        ("/meetings/7", "text/html"),
        ("/js/meeting.js", "javascript"),
        ("/css/app.css", "text/css"),
    ] {
        let response = reqwest::get(server.url(path)).await.expect("page");
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let content_type = response.headers()["content-type"].to_str().expect("ascii").to_owned();
        assert!(content_type.contains(kind), "{path}: {content_type}");
        if kind == "text/html" {
            let policy = response.headers()["content-security-policy"].to_str().expect("ascii").to_owned();
            assert!(policy.contains("script-src 'self'"), "{policy}");
        }
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
    }
    assert_problem(&server.get("/no-such-page.html", None).await, StatusCode::NOT_FOUND, "route_not_found");
    assert_problem(&server.get("/../Cargo.toml", None).await, StatusCode::NOT_FOUND, "route_not_found");
}

#[tokio::test]
async fn shutdown_ends_open_streams_and_returns_promptly() {
    let mut server = TestServer::start().await;
    let (meeting, _) = server.meeting_with_akim(60).await;
    let mut events = server.events(meeting).await;
    assert!(events.next(Duration::from_secs(2)).await.is_some(), "the snapshot arrives");
    let started = Instant::now();
    server.stop().await.expect("a clean shutdown");
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
    assert!(events.next(Duration::from_secs(2)).await.is_none(), "the stream ended");
    if !server.on_sqlite() {
        return;
    }
    // The SQLite store was closed cleanly: the WAL was checkpointed into the database file.
    let wal = server.data_dir().join(format!("{}-wal", kezdesu::store::sqlite::DATABASE_FILE));
    assert!(!wal.exists() || std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0) == 0, "WAL left behind");
}
