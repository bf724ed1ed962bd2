//! Planning meetings: creation, listing, editing, cancelling, and who may do it.

use crate::support::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn an_admin_plans_a_meeting_that_the_public_can_read() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let akim = server.create_account(&admin, "akim.kosshy", "akim").await;
    let territory = server.create_territory(&admin, "111020000").await;
    let mut body = meeting_body(territory, akim, 90);
    body["planned_start"] = json!("2099-03-02T10:00:00Z");
    let (status, meeting) = server.post("/api/meetings", Some(&admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{meeting}");
    // Shown in Asia/Almaty, UTC+5 since March 2024, from the time-zone database.
    assert_eq!(meeting["planned_start"], "2099-03-02T15:00:00+05:00");
    assert_eq!(meeting["time_zone"], "Asia/Almaty");
    assert_eq!(meeting["status"], "scheduled");
    assert_eq!(meeting["phase"], "scheduled");
    assert_eq!(meeting["phase_started_at"], json!(null));
    assert_eq!(meeting["presentation_ends_at"], json!(null));
    assert_eq!(meeting["presentation_share"], "1/4");
    assert_eq!(meeting["presentation_budget_seconds"], 22.5 * 60.0);
    assert_eq!(meeting["compliance"], json!(null));

    let id = meeting["id"].as_i64().expect("id");
    let (status, shown) = server.get(&format!("/api/meetings/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown, meeting);
    let (status, list) = server.get("/api/meetings?status=scheduled", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["meetings"].as_array().map(Vec::len), Some(1));
    let (_, none) = server.get("/api/meetings?status=live", None).await;
    assert_eq!(none["meetings"], json!([]));
    let (_, by_territory) = server.get(&format!("/api/meetings?territory_id={}", territory + 1), None).await;
    assert_eq!(by_territory["meetings"], json!([]));
}

#[tokio::test]
async fn akims_plan_and_edit_only_their_own_meetings() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let first = server.create_account(&admin, "akim.first", "akim").await;
    server.create_account(&admin, "akim.second", "akim").await;
    server.create_account(&admin, "commission", "commission").await;
    let territory = server.create_territory(&admin, "111020001").await;
    let first_token = server.sign_in("akim.first", &password_of("akim.first")).await;
    let second_token = server.sign_in("akim.second", &password_of("akim.second")).await;
    let commission = server.sign_in("commission", &password_of("commission")).await;

    // An akim may leave out akim_account_id: the meeting is theirs.
    let mut body = meeting_body(territory, first, 60);
    body.as_object_mut().expect("object").remove("akim_account_id");
    let (status, meeting) = server.post("/api/meetings", Some(&first_token), body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{meeting}");
    assert_eq!(meeting["akim_account_id"], first);
    let path = format!("/api/meetings/{}", meeting["id"]);

    assert_problem(
        &server.post("/api/meetings", Some(&commission), body).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let for_other = meeting_body(territory, first, 60);
    assert_problem(
        &server.post("/api/meetings", Some(&second_token), for_other).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_problem(
        &server.patch(&path, Some(&second_token), json!({"planned_minutes": 45})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    let (status, edited) = server
        .patch(&path, Some(&first_token), json!({"planned_minutes": 120, "title": {"ru": "Новая тема"}}))
        .await;
    assert_eq!(status, StatusCode::OK, "{edited}");
    assert_eq!(edited["planned_minutes"], 120);
    assert_eq!(edited["title"], json!({"kk": "", "ru": "Новая тема", "en": ""}));
    assert_eq!(edited["presentation_budget_seconds"], 1800.0);
    // Handing the meeting to another akim is for admins.
    assert_problem(
        &server.patch(&path, Some(&first_token), json!({"akim_account_id": 3})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

#[tokio::test]
async fn plans_are_checked_against_the_rule_set_and_references() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let akim = server.create_account(&admin, "akim.check", "akim").await;
    let moderator = server.create_account(&admin, "moderator", "moderator").await;
    let territory = server.create_territory(&admin, "111020002").await;
    let create = |change: serde_json::Value| {
        let mut body = meeting_body(territory, akim, 60);
        for (key, value) in change.as_object().expect("object") {
            body[key] = value.clone();
        }
        body
    };
    let cases = [
        (json!({"planned_minutes": 5}), "invalid_planned_minutes"),
        (json!({"planned_minutes": 481}), "invalid_planned_minutes"),
        (json!({"planned_minutes": -60}), "invalid_planned_minutes"),
        (json!({"planned_start": "2099-03-02T10:00:00"}), "invalid_timestamp"),
        (json!({"planned_start": "2099-02-30T10:00:00+05:00"}), "invalid_timestamp"),
        (json!({"planned_start": "next tuesday"}), "invalid_timestamp"),
        (json!({"planned_start": "2001-03-02T10:00:00+05:00"}), "planned_start_in_past"),
        (json!({"territory_id": 4242}), "missing_reference"),
        (json!({"akim_account_id": 4242}), "missing_reference"),
        (json!({"akim_account_id": moderator}), "not_an_akim"),
        (json!({"title": {"kk": " ", "ru": "", "en": "\u{200B}"}}), "invalid_title"),
        (json!({"title": {"ru": "я".repeat(301)}}), "invalid_title"),
        (json!({"kind": "secret"}), "invalid_body"),
        (json!({"planned_minutes": "sixty"}), "invalid_body"),
    ];
    for (change, code) in cases {
        let answer = server.post("/api/meetings", Some(&admin), create(change.clone())).await;
        assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, code);
    }
    let (_, list) = server.get("/api/meetings", None).await;
    assert_eq!(list["meetings"], json!([]), "nothing invalid was stored");
}

#[tokio::test]
async fn a_cancelled_meeting_cannot_start_and_a_started_one_keeps_its_plan() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let path = format!("/api/meetings/{meeting}");
    let phase = format!("{path}/phase");

    let (status, cancelled) = server.patch(&path, Some(&akim), json!({"status": "cancelled"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(cancelled["status"], "cancelled");
    let answer = server.post(&phase, Some(&akim), json!({"phase": "presentation"})).await;
    assert_problem(&answer, StatusCode::CONFLICT, "meeting_cancelled");
    let joined = server.post(&format!("{path}/viewers"), None, json!({"display_name": "Асқар"})).await;
    assert_problem(&joined, StatusCode::CONFLICT, "meeting_over");

    let (status, restored) = server.patch(&path, Some(&akim), json!({"status": "scheduled"})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(restored["status"], "scheduled");
    let (status, live) = server.post(&phase, Some(&akim), json!({"phase": "presentation"})).await;
    assert_eq!(status, StatusCode::OK, "{live}");
    assert_eq!(live["status"], "live");

    let answer = server.patch(&path, Some(&akim), json!({"planned_minutes": 240})).await;
    assert_problem(&answer, StatusCode::CONFLICT, "meeting_started");
    let (status, retitled) = server.patch(&path, Some(&akim), json!({"title": {"en": "Renamed live"}})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(retitled["title"]["en"], "Renamed live");
    assert_eq!(retitled["phase"], "presentation", "a title edit does not disturb the timer");
}

#[tokio::test]
async fn territories_are_kept_by_admins_and_read_by_anyone() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let oblast = json!({"kato": "110000000", "kind": "oblast", "name": {"kk": "Ақмола облысы", "ru": "Акмолинская область", "en": "Akmola Region"}});
    let (status, parent) = server.post("/api/territories", Some(&admin), oblast.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{parent}");
    let child = json!({"kato": "111000000", "kind": "district", "name": {"ru": "Целиноградский район"}, "parent_id": parent["id"]});
    let (status, child) = server.post("/api/territories", Some(&admin), child).await;
    assert_eq!(status, StatusCode::CREATED, "{child}");
    assert_eq!(child["parent_id"], parent["id"]);

    assert_problem(
        &server.post("/api/territories", Some(&admin), oblast).await,
        StatusCode::CONFLICT,
        "already_taken",
    );
    let bad_kato = json!({"kato": "11", "kind": "village", "name": {"ru": "x"}});
    assert_problem(
        &server.post("/api/territories", Some(&admin), bad_kato).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_kato",
    );
    let orphan = json!({"kato": "111000001", "kind": "village", "name": {"ru": "x"}, "parent_id": 999});
    assert_problem(
        &server.post("/api/territories", Some(&admin), orphan).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_reference",
    );

    let (status, list) = server.get("/api/territories", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["territories"].as_array().map(Vec::len), Some(2));
    let (status, shown) = server.get(&format!("/api/territories/{}", parent["id"]), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(shown["name"]["kk"], "Ақмола облысы");
}

#[tokio::test]
async fn the_list_narrows_by_status_territory_time_and_limit() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let akim = server.create_account(&admin, "akim.list", "akim").await;
    let village = server.create_territory(&admin, "111020003").await;
    let town = server.create_territory(&admin, "111020004").await;
    let mut ids = Vec::new();
    for (territory, start) in [
        (village, "2099-01-10T10:00:00+05:00"),
        (town, "2099-02-10T10:00:00+05:00"),
        (village, "2099-03-10T10:00:00+05:00"),
    ] {
        let mut body = meeting_body(territory, akim, 60);
        body["planned_start"] = json!(start);
        let (status, meeting) = server.post("/api/meetings", Some(&admin), body).await;
        assert_eq!(status, StatusCode::CREATED);
        ids.push(meeting["id"].clone());
    }
    assert_eq!(listed(&server, "").await, ids);
    assert_eq!(
        listed(&server, &format!("?territory_id={village}")).await,
        vec![ids[0].clone(), ids[2].clone()]
    );
    assert_eq!(
        listed(&server, "?from=2099-02-01T00:00:00%2B05:00&to=2099-03-01T00:00:00%2B05:00").await,
        vec![ids[1].clone()]
    );
    assert_eq!(listed(&server, "?limit=2").await, ids[..2].to_vec());
    assert_eq!(listed(&server, "?status=cancelled").await, Vec::<serde_json::Value>::new());

    assert_problem(
        &server.get("/api/meetings?limit=0", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_limit",
    );
    assert_problem(
        &server.get("/api/meetings?limit=501", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_limit",
    );
    assert_problem(
        &server.get("/api/meetings?from=yesterday", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_timestamp",
    );
    assert_problem(
        &server.get("/api/meetings?colour=red", None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
}

async fn listed(server: &TestServer, query: &str) -> Vec<serde_json::Value> {
    let (status, list) = server.get(&format!("/api/meetings{query}"), None).await;
    assert_eq!(status, StatusCode::OK, "{query}: {list}");
    list["meetings"].as_array().expect("list").iter().map(|m| m["id"].clone()).collect()
}
