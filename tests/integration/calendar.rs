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

#[tokio::test]
async fn a_calendar_meeting_announced_later_than_its_lead_time_is_refused() {
    use crate::support::{password_of, rand_suffix};
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let territory = |kato: String, kind: &str, parent: Option<i64>| {
        let admin = admin.clone();
        let server = &server;
        let kind = kind.to_owned();
        async move {
            let body = json!({"kato": kato, "kind": kind, "parent_id": parent,
                              "name": {"kk": "Жер", "ru": "Место", "en": "Place"}});
            let (status, created) = server.post("/api/territories", Some(&admin), body).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            created["id"].as_i64().expect("an id")
        }
    };
    let district = territory(format!("19{:07}", rand_suffix() % 10_000_000), "district", None).await;
    let village = territory(format!("19{:07}", rand_suffix() % 10_000_000), "village", Some(district)).await;
    let akim_of = |governs: i64| {
        let admin = admin.clone();
        let server = &server;
        async move {
            let login = format!("akim{}", rand_suffix());
            let body = json!({"login": login, "display_name": login, "role": "akim",
                              "password": password_of(&login), "territory_id": governs});
            let (status, account) = server.post("/api/accounts", Some(&admin), body).await;
            assert_eq!(status, StatusCode::CREATED, "{account}");
            assert_eq!(account["territory_id"], governs);
            (account["id"].as_i64().expect("an id"), server.sign_in(&login, &password_of(&login)).await)
        }
    };
    let (district_akim, district_token) = akim_of(district).await;
    let (village_akim, village_token) = akim_of(village).await;
    let plan = |akim: i64, days: i64, kind: &str| {
        let server = &server;
        let admin = admin.clone();
        let kind = kind.to_owned();
        async move {
            let start = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(days * 24 + 2))
                .round(jiff::Unit::Minute)
                .expect("rounds");
            let body = json!({"title": {"kk": "К", "ru": "В", "en": "M"}, "territory_id": village,
                              "akim_account_id": akim, "planned_start": start.to_string(),
                              "planned_minutes": 60, "kind": kind});
            let (status, meeting) = server.post("/api/meetings", Some(&admin), body).await;
            assert_eq!(status, StatusCode::CREATED, "{meeting}");
            meeting["id"].as_i64().expect("an id")
        }
    };
    let announce = |meeting: i64, token: String| {
        let server = &server;
        async move { server.post(&format!("/api/meetings/{meeting}/announce"), Some(&token), json!({})).await }
    };

    // A district akim announces 14 days ahead: 8 days is too late for a calendar meeting…
    let soon = plan(district_akim, 8, "calendar").await;
    let refused = announce(soon, district_token.clone()).await;
    assert_problem(&refused, StatusCode::CONFLICT, "announcement_too_late");
    assert!(refused.1["detail"].as_str().expect("detail").contains("14 days"), "{}", refused.1);
    let (_, unannounced) = server.get(&format!("/api/meetings/{soon}"), None).await;
    assert_eq!(unannounced["announced_at"], serde_json::Value::Null);
    // …but in time for a village akim, who announces 7 days ahead.
    let village_meeting = plan(village_akim, 8, "calendar").await;
    let (status, announced) = announce(village_meeting, village_token.clone()).await;
    assert_eq!(status, StatusCode::OK, "{announced}");
    assert_eq!(announced["announced_late"], false);
    assert!(announced["announced_at"].is_string());
    // An unscheduled meeting may be announced at short notice, and says so.
    let urgent = plan(district_akim, 0, "unscheduled").await;
    let (status, flagged) = announce(urgent, district_token.clone()).await;
    assert_eq!(status, StatusCode::OK, "{flagged}");
    assert_eq!(flagged["announced_late"], true);
    // In time, and announcing twice changes nothing.
    let planned = plan(district_akim, 20, "calendar").await;
    let (status, first) = announce(planned, district_token.clone()).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    let (_, again) = announce(planned, district_token.clone()).await;
    assert_eq!(again["announced_at"], first["announced_at"]);
    // Only the meeting's akim and admins announce it.
    assert_problem(&announce(planned, village_token).await, StatusCode::FORBIDDEN, "forbidden");

    // Moving an announced calendar meeting announces it anew: to 8 days ahead is too late…
    let in_days = |days: i64| {
        (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(days * 24 + 2))
            .round(jiff::Unit::Minute)
            .expect("rounds")
            .to_string()
    };
    let moved = server
        .patch(
            &format!("/api/meetings/{planned}"),
            Some(&district_token),
            json!({"planned_start": in_days(8)}),
        )
        .await;
    assert_problem(&moved, StatusCode::CONFLICT, "announcement_too_late");
    let (_, kept) = server.get(&format!("/api/meetings/{planned}"), None).await;
    assert_eq!(kept["planned_start"], first["planned_start"], "a refused move changes nothing");
    // …30 days ahead is in time, and the announcement is dated today.
    let (status, moved) = server
        .patch(
            &format!("/api/meetings/{planned}"),
            Some(&district_token),
            json!({"planned_start": in_days(30)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{moved}");
    assert_eq!(moved["announced_late"], false);
    assert_ne!(moved["announced_at"], first["announced_at"]);
    // An unscheduled meeting moved at short notice stays allowed, and flagged.
    let (status, urgent_moved) = server
        .patch(
            &format!("/api/meetings/{urgent}"),
            Some(&district_token),
            json!({"planned_start": in_days(1)}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{urgent_moved}");
    assert_eq!(urgent_moved["announced_late"], true);
}

#[tokio::test]
async fn reaching_the_demand_threshold_obliges_the_akim_to_hold_a_meeting() {
    let server = TestServer::start_with(|config| config.demands.supporters_threshold = 3).await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let (_, shown) = server.get(&format!("/api/meetings/{meeting}"), None).await;
    let territory = shown["territory_id"].as_i64().expect("a territory");
    let (status, raised) = server
        .post(
            "/api/demands",
            None,
            json!({"territory_id": territory, "title": "Встреча по воде", "text": "Нет воды третью неделю",
                   "name": "Гульнара Сейткалиева", "contact": "+7 701 555 12 34"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{raised}");
    assert_eq!(raised["supporters"], 1);
    assert_eq!(raised["state"], json!({"state": "open", "missing": 2}));
    let id = raised["id"].as_i64().expect("an id");
    let support = |name: &str, contact: &str| {
        let server = &server;
        let body = json!({"name": name, "contact": contact});
        async move { server.post(&format!("/api/demands/{id}/support"), None, body).await }
    };
    // The same person, however they type their number, supports once.
    assert_problem(
        &support("Гульнара", "+7 (701) 555-12-34").await,
        StatusCode::CONFLICT,
        "already_supported",
    );
    assert_problem(
        &support("Кто-то", "позвоните мне").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_contact",
    );
    let (status, second) = support("Ерлан", "erlan@example.kz").await;
    assert_eq!(status, StatusCode::OK, "{second}");
    assert_eq!(second["state"], json!({"state": "open", "missing": 1}));
    let (_, third) = support("Асель", "87017771122").await;
    assert_eq!(third["supporters"], 3);
    assert_eq!(third["state"]["state"], "obliged", "{third}");
    assert_eq!(third["state"]["overdue"], false);
    let today = server.today();
    let due = today.checked_add(jiff::Span::new().days(30)).expect("a date");
    assert_eq!(third["state"]["due"], due.to_string());
    assert!(third["reached_at"].is_string());
    // A fourth supporter does not move the obligation.
    let (_, fourth) = support("Марат", "marat@example.kz").await;
    assert_eq!(fourth["state"]["due"], due.to_string());

    // Supporters' names and contacts are nowhere in the public answers.
    for path in ["/api/demands".to_owned(), format!("/api/demands/{id}")] {
        let body = reqwest::get(server.url(&path)).await.expect("answers").text().await.expect("text");
        for secret in ["Гульнара", "555 12 34", "erlan@example.kz", "Асель"] {
            assert!(!body.contains(secret), "{path} shows {secret}");
        }
    }
    let (_, listed) = server.get(&format!("/api/demands?territory_id={territory}"), None).await;
    assert_eq!(listed.as_array().expect("a list").len(), 1);

    // A cancelled meeting answers nothing.
    let (other_meeting, other_akim) = server.meeting_with_akim(60).await;
    let admin = server.admin().await;
    let (status, _) = server
        .patch(&format!("/api/meetings/{other_meeting}"), Some(&admin), json!({"status": "cancelled"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_problem(
        &server
            .post(&format!("/api/demands/{id}/meeting"), Some(&admin), json!({"meeting_id": other_meeting}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "meeting_does_not_answer",
    );
    // The akim answers with a meeting on the territory; the obligation is met.
    let answer = json!({"meeting_id": meeting});
    assert_problem(
        &server.post(&format!("/api/demands/{id}/meeting"), Some(&other_akim), answer.clone()).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (status, met) = server.post(&format!("/api/demands/{id}/meeting"), Some(&akim), answer).await;
    assert_eq!(status, StatusCode::OK, "{met}");
    assert_eq!(met["state"], json!({"state": "met"}));
    assert_eq!(met["meeting_id"], meeting);
}

#[tokio::test]
async fn territories_import_all_or_nothing_parents_first_and_once() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let upload = |body: String, content_type: &'static str, token: String| {
        let server = &server;
        async move {
            let response = reqwest::Client::new()
                .post(server.url("/api/territories/import"))
                .bearer_auth(token)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .expect("answers");
            crate::support::read(response).await
        }
    };
    let (status, oblast) = server
        .post(
            "/api/territories",
            Some(&admin),
            json!({"kato": "110000000", "kind": "oblast",
              "name": {"kk": "Ақмола облысы", "ru": "Акмолинская область", "en": "Akmola Region"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{oblast}");
    let count = || async {
        server.get("/api/territories", None).await.1["territories"].as_array().expect("a list").len()
    };
    let before = count().await;

    // Two bad rows: both reported, nothing added.
    let bad = "kato,kind,name_kk,name_ru,name_en,parent_kato\n\
               113200000,district,Аудан,Район,District,110000000\n\
               11320,district,А,Р,D,110000000\n\
               113230000,rural_okrug,Округ,Округ,Okrug,999999999\n";
    let (status, refused) = upload(bad.into(), "text/csv", admin.clone()).await;
    assert_problem(&(status, refused.clone()), StatusCode::UNPROCESSABLE_ENTITY, "import_rejected");
    let rows: Vec<i64> = refused["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["row"].as_i64().expect("row"))
        .collect();
    assert_eq!(rows, [2, 3], "{refused}");
    assert_eq!(count().await, before);

    // Children before their parents in the file: parents are added first.
    let good = "kato,kind,name_kk,name_ru,name_en,parent_kato\n\
                113230100,village,Ауыл,Село,Village,113230000\n\
                113230000,rural_okrug,Округ,Округ,Okrug,113200000\n\
                113200000,district,Аудан,Район,District,110000000\n\
                110000000,oblast,Ақмола облысы,Акмолинская область,Akmola Region,\n";
    let (status, imported) = upload(good.into(), "text/csv", admin.clone()).await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    assert_eq!(imported, json!({"created": 3, "already_present": 1}));
    let (_, again) = upload(good.into(), "text/csv", admin.clone()).await;
    assert_eq!(again, json!({"created": 0, "already_present": 4}));
    let (_, listed) = server.get("/api/territories", None).await;
    let village = listed["territories"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|t| t["kato"] == "113230100")
        .expect("imported");
    let okrug = listed["territories"]
        .as_array()
        .expect("a list")
        .iter()
        .find(|t| t["kato"] == "113230000")
        .expect("imported");
    assert_eq!(village["parent_id"], okrug["id"]);

    let json_rows = json!([{"kato": "113230200", "kind": "village", "name_kk": "Екінші", "name_ru": "Второе",
                            "name_en": "Second", "parent_kato": "113230000"}]);
    let (status, added) = upload(json_rows.to_string(), "application/json", admin.clone()).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["created"], 1);
    let (_, akim) = server.meeting_with_akim(60).await;
    assert_problem(&upload(good.into(), "text/csv", akim).await, StatusCode::FORBIDDEN, "forbidden");
}

/// A district with two villages, its akim, and the akim's calendar meetings of 2027: one village
/// every quarter, the other only in the first. Returns the akim's account id.
async fn district_calendar(server: &TestServer) -> i64 {
    use crate::support::{password_of, rand_suffix};
    let admin = server.admin().await;
    let territory = |kind: &str, parent: Option<i64>| {
        let admin = admin.clone();
        let body = json!({"kato": format!("19{:07}", rand_suffix() % 10_000_000), "kind": kind, "parent_id": parent,
                          "name": {"kk": "Жер", "ru": "Место", "en": "Place"}});
        async move {
            let (status, created) = server.post("/api/territories", Some(&admin), body).await;
            assert_eq!(status, StatusCode::CREATED, "{created}");
            created["id"].as_i64().expect("an id")
        }
    };
    let district = territory("district", None).await;
    let every_quarter = territory("village", Some(district)).await;
    let first_quarter_only = territory("village", Some(district)).await;
    let login = format!("akim{}", rand_suffix());
    let body = json!({"login": login, "display_name": login, "role": "akim", "password": password_of(&login),
                      "territory_id": district});
    let (_, akim) = server.post("/api/accounts", Some(&admin), body).await;
    let akim = akim["id"].as_i64().expect("an id");
    let mut plan = vec![(every_quarter, "2027-02-10"), (first_quarter_only, "2027-03-01")];
    plan.extend(["2027-05-10", "2027-08-10", "2027-11-10"].map(|day| (every_quarter, day)));
    for (village, day) in plan {
        let body = json!({"title": {"kk": "К", "ru": "В", "en": "M"}, "territory_id": village, "akim_account_id": akim,
                          "planned_start": format!("{day}T10:00:00+05:00"), "planned_minutes": 60, "kind": "calendar"});
        let (status, meeting) = server.post("/api/meetings", Some(&admin), body).await;
        assert_eq!(status, StatusCode::CREATED, "{meeting}");
    }
    akim
}

#[tokio::test]
async fn a_village_missing_from_the_calendar_is_a_gap_and_another_rule_set_changes_that() {
    let server = TestServer::start().await;
    let akim = district_calendar(&server).await;
    let (status, report) = server.get(&format!("/api/akims/{akim}/coverage?year=2027"), None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["periods"].as_array().expect("periods").len(), 4, "quarters: {report}");
    assert_eq!(report["gaps"], 3, "the second village in the second, third and fourth quarters");
    let gaps: Vec<(i64, bool)> = report["periods"][1]["units"]
        .as_array()
        .expect("units")
        .iter()
        .map(|unit| (unit["planned"].as_i64().expect("planned"), unit["gap"].as_bool().expect("gap")))
        .collect();
    assert_eq!(gaps, [(1, false), (0, true)]);
    assert!(report["rule_set"].as_str().expect("rule set").starts_with("kz-decree-826-2022"));

    // The same meetings under a rule set with lower frequencies (half-years): one gap.
    let lenient = TestServer::start_with(|config| {
        config.rules.file = Some(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/rules/lower-frequencies.toml").into(),
        );
    })
    .await;
    let akim = district_calendar(&lenient).await;
    let (_, report) = lenient.get(&format!("/api/akims/{akim}/coverage?year=2027"), None).await;
    assert_eq!(report["periods"].as_array().expect("periods").len(), 2, "half-years: {report}");
    assert_eq!(report["gaps"], 1);
    assert!(report["rule_set"].as_str().expect("rule set").starts_with("example-lower-frequencies"));

    assert_problem(
        &server.get("/api/akims/1/coverage?year=2027", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_problem(
        &server.get(&format!("/api/akims/{akim}/coverage?year=99"), None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_year",
    );
}

/// The schema.org JSON-LD block of a meeting page.
pub(crate) async fn json_ld(server: &TestServer, meeting: i64) -> (String, serde_json::Value) {
    let response = reqwest::get(server.url(&format!("/meetings/{meeting}"))).await.expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    let html = response.text().await.expect("html");
    let start = html.find("<script type=\"application/ld+json\">").expect("a JSON-LD block") + 35;
    let end = start + html[start..].find("</script>").expect("closed");
    let value = serde_json::from_str(&html[start..end]).expect("JSON");
    (html, value)
}

#[tokio::test]
async fn meeting_pages_describe_the_meeting_as_a_schema_org_event_and_a_live_broadcast() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let admin = server.admin().await;
    let title = json!({"kk": "Кездесу", "ru": "Встреча </script><b>жирно</b>", "en": "Meeting"});
    let (status, _) =
        server.patch(&format!("/api/meetings/{meeting}"), Some(&admin), json!({"title": title})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, shown) = server.get(&format!("/api/meetings/{meeting}"), None).await;
    let (html, event) = json_ld(&server, meeting).await;
    assert!(!html.contains("</script><b>"), "the title cannot close the block");
    assert_eq!(event["@type"], "Event");
    assert_eq!(event["name"], "Встреча </script><b>жирно</b>");
    assert_eq!(event["startDate"], shown["planned_start"]);
    assert_eq!(event["eventStatus"], "https://schema.org/EventScheduled");
    assert_eq!(event.get("publication"), None, "not live yet");

    let (status, _) = server
        .post(&format!("/api/meetings/{meeting}/phase"), Some(&akim), json!({"phase": "presentation"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, live) = json_ld(&server, meeting).await;
    assert_eq!(live["publication"]["@type"], "BroadcastEvent");
    assert_eq!(live["publication"]["isLiveBroadcast"], true);

    let (other, _) = server.meeting_with_akim(60).await;
    server.patch(&format!("/api/meetings/{other}"), Some(&admin), json!({"status": "cancelled"})).await;
    assert_eq!(json_ld(&server, other).await.1["eventStatus"], "https://schema.org/EventCancelled");
}
