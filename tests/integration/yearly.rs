//! Yearly calendars (revisions, the maslikhat's agreement, validation), the compliance
//! dashboard against a year counted by hand, personal receptions, and the real oblast fixture.

use crate::support::{TestServer, assert_problem, password_of, rand_suffix, writable_database};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// A territory of `kind` under `parent`; returns its id.
async fn territory(server: &TestServer, admin: &str, kind: &str, parent: Option<i64>) -> i64 {
    let body = json!({"kato": format!("19{:07}", rand_suffix() % 10_000_000), "kind": kind, "parent_id": parent,
                      "name": {"kk": format!("{kind} kk"), "ru": format!("{kind} ru"), "en": format!("{kind} en")}});
    let (status, created) = server.post("/api/territories", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created["id"].as_i64().expect("an id")
}

/// An akim governing `governs`: (account id, token).
async fn akim_of(server: &TestServer, admin: &str, governs: i64) -> (i64, String) {
    let login = format!("akim{}", rand_suffix());
    let body = json!({"login": login, "display_name": format!("Аким {login}"), "role": "akim",
                      "password": password_of(&login), "territory_id": governs});
    let (status, account) = server.post("/api/accounts", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{account}");
    (account["id"].as_i64().expect("an id"), server.sign_in(&login, &password_of(&login)).await)
}

fn entry(territory: i64, date: &str) -> Value {
    json!({"territory_id": territory, "date": date, "time": "10:00", "place": "Дом культуры",
           "online_link": "https://example.kz/live"})
}

/// A district with three villages, and its akim.
struct District {
    admin: String,
    villages: [i64; 3],
    akim: i64,
    token: String,
}

async fn district(server: &TestServer) -> District {
    let admin = server.admin().await;
    let district = territory(server, &admin, "district", None).await;
    let mut villages = [0; 3];
    for village in &mut villages {
        *village = territory(server, &admin, "village", Some(district)).await;
    }
    let (akim, token) = akim_of(server, &admin, district).await;
    District { admin, villages, akim, token }
}

/// Every village every quarter of 2027, except the third village in the second quarter.
fn plan_missing_a_village(villages: [i64; 3]) -> Vec<Value> {
    let mut entries = Vec::new();
    for month in ["02", "05", "08", "11"] {
        for (index, village) in villages.iter().enumerate() {
            if !(index == 2 && month == "05") {
                entries.push(entry(*village, &format!("2027-{month}-1{index}")));
            }
        }
    }
    entries
}

#[tokio::test]
async fn a_yearly_calendar_is_drafted_agreed_submitted_corrected_and_every_revision_kept() {
    let server = TestServer::start().await;
    let District { admin, villages, akim, token } = district(&server).await;
    let base = format!("/api/akims/{akim}/calendars/2027");

    let body = json!({"entries": plan_missing_a_village(villages)});
    let (status, first) = server.post(&format!("{base}/revisions"), Some(&token), body).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!((first["revision"].as_i64(), first["state"].as_str()), (Some(1), Some("draft")));
    assert_eq!(first["entries"].as_array().expect("entries").len(), 11);
    assert_eq!(first["entries"][0]["time"], "10:00");
    let first_id = first["id"].as_i64().expect("an id");

    // The missing village is a gap, named, in the second quarter only.
    let (status, report) =
        server.get(&format!("/api/calendar-revisions/{first_id}/validation"), Some(&token)).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let gaps = report["gaps"].as_array().expect("gaps");
    assert_eq!(gaps.len(), 1, "{report}");
    assert_eq!((gaps[0]["period"].as_str(), gaps[0]["index"].as_i64()), (Some("quarter"), Some(2)));
    assert_eq!(
        (gaps[0]["territory_id"].as_i64(), gaps[0]["name"]["ru"].as_str()),
        (Some(villages[2]), Some("village ru"))
    );
    assert_eq!((gaps[0]["required"].as_i64(), gaps[0]["planned"].as_i64()), (Some(1), Some(0)));
    assert_eq!(report["periods"].as_array().expect("periods").len(), 4);
    // A district akim approves no calendar of their own in the shipped rules; the deadlines are
    // still shown.
    assert_eq!(report["deadlines"]["required"], false);
    assert_eq!(report["deadlines"]["approval"]["due"], "2027-01-15");
    assert_eq!(report["deadlines"]["submission"]["due"], "2027-01-20");
    assert_eq!(report["deadlines"]["forwarding_due"], "2027-02-01");

    // A draft is not public.
    let (_, public) = server.get(&base, None).await;
    assert_eq!(public["revisions"], json!([]), "{public}");
    assert!(public["akim_name"].as_str().expect("a name").starts_with("Аким"), "{public}");
    assert_eq!(public["territory_name"]["en"], "district en");
    assert_problem(
        &server.get(&format!("/api/calendar-revisions/{first_id}"), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );

    // Entries are checked all at once: outside the year, outside the akim's territory, no place.
    let outsider = territory(&server, &admin, "village", None).await;
    let bad = json!({"version": 0, "entries": [entry(villages[0], "2028-01-05"), entry(outsider, "2027-03-01"),
                                 {"territory_id": villages[1], "date": "2027-03-01", "place": " "}]});
    let refused = server
        .call(
            reqwest::Method::PUT,
            &format!("/api/calendar-revisions/{first_id}/entries"),
            Some(&token),
            Some(bad),
        )
        .await;
    assert_problem(&refused, StatusCode::UNPROCESSABLE_ENTITY, "invalid_entries");
    let detail = refused.1["detail"].as_str().expect("detail");
    assert!(
        detail.contains("entries[0]") && detail.contains("entries[1]") && detail.contains("entries[2]"),
        "{detail}"
    );

    // To another akim, somebody else's draft does not exist.
    let other_district = territory(&server, &admin, "district", None).await;
    let (_, other_token) = akim_of(&server, &admin, other_district).await;
    let body = json!({"version": 0, "agreed_on": "2026-11-20", "maslikhat_decision": "№ 5"});
    assert_problem(
        &server
            .post(&format!("/api/calendar-revisions/{first_id}/agree"), Some(&other_token), body.clone())
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    // Not agreed on a day to come.
    let tomorrow = server.today().tomorrow().expect("a day").to_string();
    assert_problem(
        &server
            .post(
                &format!("/api/calendar-revisions/{first_id}/agree"),
                Some(&token),
                json!({"version": 0, "agreed_on": tomorrow, "maslikhat_decision": "№ 5"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_date",
    );
    assert_problem(
        &server
            .post(&format!("/api/calendar-revisions/{first_id}/submit"), Some(&token), json!({"version": 0}))
            .await,
        StatusCode::CONFLICT,
        "not_agreed",
    );
    let (status, agreed) =
        server.post(&format!("/api/calendar-revisions/{first_id}/agree"), Some(&token), body).await;
    assert_eq!(status, StatusCode::OK, "{agreed}");
    assert_eq!(
        (agreed["state"].as_str(), agreed["maslikhat_decision"].as_str()),
        (Some("agreed"), Some("№ 5"))
    );
    // Agreed means frozen.
    let frozen = server
        .call(
            reqwest::Method::PUT,
            &format!("/api/calendar-revisions/{first_id}/entries"),
            Some(&token),
            Some(json!({"version": 1, "entries": []})),
        )
        .await;
    assert_problem(&frozen, StatusCode::CONFLICT, "revision_frozen");
    let (status, submitted) = server
        .post(
            &format!("/api/calendar-revisions/{first_id}/submit"),
            Some(&token),
            json!({"version": 1, "submitted_on": "2026-11-21"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{submitted}");
    assert_eq!(submitted["submitted_on"], "2026-11-21");

    // A correction needs a reason, starts from the revision in force, and waits for its own
    // agreement; only one draft at a time, and a stale `after` is refused.
    assert_problem(
        &server.post(&format!("{base}/revisions"), Some(&token), json!({"after": 1})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason_required",
    );
    let body = json!({"after": 1, "reason": "Встреча в третьем селе перенесена на второй квартал"});
    let (status, correction) = server.post(&format!("{base}/revisions"), Some(&token), body).await;
    assert_eq!(status, StatusCode::CREATED, "{correction}");
    assert_eq!((correction["revision"].as_i64(), correction["state"].as_str()), (Some(2), Some("draft")));
    assert_eq!(correction["entries"], first["entries"]);
    assert_problem(
        &server.post(&format!("{base}/revisions"), Some(&token), json!({"after": 2, "reason": "ещё"})).await,
        StatusCode::CONFLICT,
        "draft_open",
    );
    let correction_id = correction["id"].as_i64().expect("an id");
    let mut entries = plan_missing_a_village(villages);
    entries.push(entry(villages[2], "2027-06-01"));
    let (status, corrected) = server
        .call(
            reqwest::Method::PUT,
            &format!("/api/calendar-revisions/{correction_id}/entries"),
            Some(&token),
            Some(json!({"version": correction["version"], "entries": entries})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{corrected}");
    // A stale version loses.
    let stale = server
        .call(
            reqwest::Method::PUT,
            &format!("/api/calendar-revisions/{correction_id}/entries"),
            Some(&token),
            Some(json!({"version": correction["version"], "entries": []})),
        )
        .await;
    assert_problem(&stale, StatusCode::CONFLICT, "edit_conflict");
    let (_, report) =
        server.get(&format!("/api/calendar-revisions/{correction_id}/validation"), Some(&token)).await;
    assert_eq!(report["gaps"], json!([]), "{report}");

    // The public sees the revision in force; the akim sees the draft as well.
    let (_, public) = server.get(&base, None).await;
    assert_eq!(public["in_force"], 1);
    assert_eq!(public["revisions"].as_array().expect("revisions").len(), 1);
    // A correction is not agreed before what it corrects, so the year's approval date cannot be
    // moved back.
    let backdated =
        json!({"version": corrected["version"], "agreed_on": "2026-11-19", "maslikhat_decision": "№ 7/2"});
    assert_problem(
        &server
            .post(&format!("/api/calendar-revisions/{correction_id}/agree"), Some(&admin), backdated)
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_date",
    );
    let (status, agreed) = server
        .post(
            &format!("/api/calendar-revisions/{correction_id}/agree"),
            Some(&admin),
            json!({"version": corrected["version"], "agreed_on": "2026-11-25", "maslikhat_decision": "№ 7/2"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{agreed}");
    let (_, public) = server.get(&base, None).await;
    assert_eq!(public["in_force"], 2);
    let revisions = public["revisions"].as_array().expect("revisions");
    assert_eq!(revisions.len(), 2, "every revision is kept");
    assert_eq!(revisions[0]["entries"], first["entries"], "the first revision is unchanged");
    assert_eq!(revisions[0]["state"], "submitted");
    assert_eq!(revisions[1]["reason"], "Встреча в третьем селе перенесена на второй квартал");
}

#[tokio::test]
async fn calendar_deadlines_say_whether_an_oblast_calendar_was_agreed_and_submitted_in_time() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let oblast = territory(&server, &admin, "oblast", None).await;
    let districts = [
        territory(&server, &admin, "district", Some(oblast)).await,
        territory(&server, &admin, "district", Some(oblast)).await,
    ];
    let (akim, token) = akim_of(&server, &admin, oblast).await;
    // The 2026 calendar: agreed a day late, submitted in time.
    let base = format!("/api/akims/{akim}/calendars/2026");
    let entries: Vec<Value> =
        districts.iter().flat_map(|d| [entry(*d, "2026-03-02"), entry(*d, "2026-09-02")]).collect();
    let (_, draft) =
        server.post(&format!("{base}/revisions"), Some(&token), json!({"entries": entries})).await;
    let id = draft["id"].as_i64().expect("an id");
    let (status, _) = server
        .post(
            &format!("/api/calendar-revisions/{id}/agree"),
            Some(&token),
            json!({"version": 0, "agreed_on": "2026-01-16", "maslikhat_decision": "12"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = server
        .post(
            &format!("/api/calendar-revisions/{id}/submit"),
            Some(&token),
            json!({"version": 1, "submitted_on": "2026-01-19"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, year) = server.get(&base, None).await;
    let deadlines = &year["deadlines"];
    assert_eq!(deadlines["required"], true, "oblast akims approve a calendar");
    assert_eq!(
        (deadlines["approval"]["done_on"].as_str(), deadlines["approval"]["met"].as_bool()),
        (Some("2026-01-16"), Some(false))
    );
    assert_eq!(
        (deadlines["submission"]["done_on"].as_str(), deadlines["submission"]["met"].as_bool()),
        (Some("2026-01-19"), Some(true))
    );
    let (_, report) = server.get(&format!("/api/calendar-revisions/{id}/validation"), None).await;
    assert_eq!(report["periods"].as_array().expect("periods").len(), 2, "half-years for an oblast akim");
    assert_eq!(report["gaps"], json!([]));
    // A calendar nobody agreed, for a year already begun: both deadlines missed.
    let (_, empty) = server.get(&format!("/api/akims/{akim}/calendars/2025"), None).await;
    assert_eq!(
        (empty["deadlines"]["approval"]["met"].as_bool(), empty["deadlines"]["submission"]["met"].as_bool()),
        (Some(false), Some(false))
    );
}

#[tokio::test]
async fn a_switch_of_rule_set_changes_the_validation_of_the_same_calendar() {
    let lenient = TestServer::start_with(|config| {
        config.rules.file = Some(
            concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/rules/lower-frequencies.toml").into(),
        );
    })
    .await;
    let strict = TestServer::start().await;
    let mut gaps = Vec::new();
    for server in [&strict, &lenient] {
        let District { villages, akim, token, .. } = district(server).await;
        let body = json!({"entries": plan_missing_a_village(villages)});
        let (_, draft) =
            server.post(&format!("/api/akims/{akim}/calendars/2027/revisions"), Some(&token), body).await;
        let (_, report) =
            server.get(&format!("/api/calendar-revisions/{}/validation", draft["id"]), Some(&token)).await;
        gaps.push((
            report["periods"].as_array().expect("periods").len(),
            report["gaps"].as_array().expect("gaps").len(),
        ));
    }
    // Quarterly, the third village's second quarter is a gap; by half-years, its meeting in the
    // first half (February) covers it.
    assert_eq!(gaps, [(4, 1), (2, 0)]);
    // Each server says which rules it applies.
    let (_, strict_rules) = strict.get("/api/rules", None).await;
    let (_, lenient_rules) = lenient.get("/api/rules", None).await;
    assert_eq!(strict_rules["id"], "kz-decree-826-2022");
    assert_eq!(strict_rules["meeting"]["presentation_share"], "1/4");
    assert_eq!(strict_rules["calendar"]["coverage"][2]["period"], "quarter", "{strict_rules}");
    assert_eq!(lenient_rules["calendar"]["coverage"][2]["period"], "half_year", "{lenient_rules}");
}

/// Instants in Almaty time, as the store keeps them (Unix milliseconds).
fn at(local: &str) -> i64 {
    let instant: jiff::Timestamp = format!("{local}+05:00").parse().expect("an instant");
    instant.as_millisecond()
}

/// A meeting of the akim in `territory`, made to have happened in the past: phases, announcement
/// and results as given. Returns its id.
struct PastMeeting<'a> {
    territory: i64,
    kind: &'a str,
    presentation: &'a str,
    qa: Option<&'a str>,
    ended: &'a str,
    announced: Option<(&'a str, bool)>,
    results: Option<&'a str>,
}

async fn past_meeting(server: &TestServer, admin: &str, akim: i64, meeting: PastMeeting<'_>) -> i64 {
    let body = json!({"title": {"kk": "К", "ru": "В", "en": "M"}, "territory_id": meeting.territory,
                      "akim_account_id": akim, "planned_start": "2030-01-01T10:00:00+05:00",
                      "planned_minutes": 60, "kind": meeting.kind});
    let (status, created) = server.post("/api/meetings", Some(admin), body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_i64().expect("an id");
    let database = writable_database(server).await;
    sqlx::query(
        "UPDATE meetings SET planned_start = $2, presentation_started_at = $2, qa_started_at = $3, ended_at = $4, \
         announced_at = $5, announced_late = $6 WHERE id = $1",
    )
    .bind(id)
    .bind(at(meeting.presentation))
    .bind(meeting.qa.map(at))
    .bind(at(meeting.ended))
    .bind(meeting.announced.map(|(day, _)| at(day)))
    .bind(meeting.announced.is_some_and(|(_, late)| late))
    .execute(&database)
    .await
    .expect("backdating");
    if let Some(published) = meeting.results {
        let (status, body) = server
            .call(
                reqwest::Method::PUT,
                &format!("/api/meetings/{id}/results"),
                Some(admin),
                Some(json!({"summary": "Итоги"})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        sqlx::query("UPDATE meeting_results SET published_at = $2 WHERE meeting_id = $1")
            .bind(id)
            .bind(at(published))
            .execute(&database)
            .await
            .expect("backdating");
    }
    database.close().await;
    id
}

/// An issue raised at `meeting`, accepted and reported on at the given days.
/// An issue raised at `meeting`, accepted and reported on at the given days, and rejected on
/// `closed` if given. Returns its id.
async fn acted_issue(
    server: &TestServer,
    admin: &str,
    meeting: i64,
    accepted: &str,
    reports: &[&str],
    closed: Option<&str>,
) -> i64 {
    let (status, created) = server
        .post(
            "/api/issues",
            Some(admin),
            json!({"title": format!("Вопрос встречи {meeting}"), "meeting_id": meeting}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["issue"]["id"].as_i64().expect("an id");
    let (status, body) =
        server.post(&format!("/api/issues/{id}/status"), Some(admin), json!({"status": "accepted"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    for _ in reports {
        let (status, body) = server
            .post(&format!("/api/issues/{id}/progress"), Some(admin), json!({"text": "Работы идут"}))
            .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let database = writable_database(server).await;
    if let Some(closed) = closed {
        let body = json!({"status": "rejected", "note": "Не относится к компетенции акимата"});
        let (status, answer) = server.post(&format!("/api/issues/{id}/status"), Some(admin), body).await;
        assert_eq!(status, StatusCode::OK, "{answer}");
        sqlx::query("UPDATE issue_history SET at = $2 WHERE issue_id = $1 AND action = 'status'")
            .bind(id)
            .bind(at(closed))
            .execute(&database)
            .await
            .expect("backdating");
    }
    sqlx::query("UPDATE register_issues SET accepted_at = $2 WHERE id = $1")
        .bind(id)
        .bind(at(accepted))
        .execute(&database)
        .await
        .expect("backdating");
    let updates: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM progress_updates WHERE issue_id = $1 ORDER BY id")
            .bind(id)
            .fetch_all(&database)
            .await
            .expect("updates");
    for (update, day) in updates.iter().zip(reports) {
        sqlx::query("UPDATE progress_updates SET created_at = $2 WHERE id = $1")
            .bind(update)
            .bind(at(day))
            .execute(&database)
            .await
            .expect("backdating");
    }
    database.close().await;
    id
}

fn ratio(figures: &Value, name: &str) -> (i64, i64, Option<f64>) {
    let ratio = &figures[name];
    (ratio["done"].as_i64().expect("done"), ratio["owed"].as_i64().expect("owed"), ratio["percent"].as_f64())
}

/// The fixture year, counted by hand (2025; every deadline has passed):
///
/// | meeting | where | kind | began | announced | split | results |
/// | --- | --- | --- | --- | --- | --- | --- |
/// | M1 | village 1 | calendar | 10 Feb | in time | kept (15 + 45 min) | 15 Feb, in time |
/// | M2 | village 1 | calendar | 5 Mar | never | not kept (ended in the presentation) | 20 Mar, late (due 15 Mar) |
/// | M3 | the district | unscheduled | 28 Mar | late (flagged) | kept | never: late |
/// | M4 | village 2 | calendar | 20 May | in time | kept | 30 May, day 10: in time |
///
/// Issue I1 (from M1) accepted 11 Feb, reported 20 Apr (for Q1) and 30 Jul (late for Q2, so for
/// Q3); issue I2 (from M4) accepted 21 May, never reported; issue I3 (from M1) accepted 12 Feb,
/// never reported, rejected 10 May (it owed Q1's report, and none after).
///
/// - Q1: held 3; coverage 1 of 2 villages (50.0 %, village 2 missing); calendar announcements 1
///   of 2; 1 unscheduled, flagged; split 2 of 3 (66.7 %); results 1 of 3 (33.3 %); progress 1
///   of 2 (50.0 %).
/// - Q2: held 1; coverage 1 of 2 (village 1 missing); announcements 1 of 1; split 1 of 1;
///   results 1 of 1; progress 0 of 2.
/// - Q3: held 0; coverage 0 of 2; progress 1 of 2 (I1's report of 30 July).
/// - Q4: coverage 0 of 2; progress 0 of 2.
/// - The year: coverage 2 of 8 (25.0 %); announcements 2 of 3 (66.7 %); split 3 of 4 (75.0 %);
///   results 2 of 4 (50.0 %); progress 2 of 8 (25.0 %).
#[tokio::test]
async fn compliance_figures_for_a_fixture_year_match_the_hand_count() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let district = territory(&server, &admin, "district", None).await;
    let village_1 = territory(&server, &admin, "village", Some(district)).await;
    let village_2 = territory(&server, &admin, "village", Some(district)).await;
    let (akim, _) = akim_of(&server, &admin, district).await;

    let meeting = |territory, kind, presentation, qa, ended, announced, results| PastMeeting {
        territory,
        kind,
        presentation,
        qa,
        ended,
        announced,
        results,
    };
    let m1 = past_meeting(
        &server,
        &admin,
        akim,
        meeting(
            village_1,
            "calendar",
            "2025-02-10T10:00:00",
            Some("2025-02-10T10:15:00"),
            "2025-02-10T11:00:00",
            Some(("2025-01-20T09:00:00", false)),
            Some("2025-02-15T12:00:00"),
        ),
    )
    .await;
    past_meeting(
        &server,
        &admin,
        akim,
        meeting(
            village_1,
            "calendar",
            "2025-03-05T10:00:00",
            None,
            "2025-03-05T10:10:00",
            None,
            Some("2025-03-20T12:00:00"),
        ),
    )
    .await;
    past_meeting(
        &server,
        &admin,
        akim,
        meeting(
            district,
            "unscheduled",
            "2025-03-28T10:00:00",
            Some("2025-03-28T10:10:00"),
            "2025-03-28T11:00:00",
            Some(("2025-03-27T09:00:00", true)),
            None,
        ),
    )
    .await;
    let m4 = past_meeting(
        &server,
        &admin,
        akim,
        meeting(
            village_2,
            "calendar",
            "2025-05-20T10:00:00",
            Some("2025-05-20T10:15:00"),
            "2025-05-20T11:00:00",
            Some(("2025-05-01T09:00:00", false)),
            Some("2025-05-30T18:00:00"),
        ),
    )
    .await;
    acted_issue(
        &server,
        &admin,
        m1,
        "2025-02-11T10:00:00",
        &["2025-04-20T10:00:00", "2025-07-30T10:00:00"],
        None,
    )
    .await;
    acted_issue(&server, &admin, m4, "2025-05-21T10:00:00", &[], None).await;
    acted_issue(&server, &admin, m1, "2025-02-12T10:00:00", &[], Some("2025-05-10T10:00:00")).await;

    let (status, report) =
        server.get(&format!("/api/compliance?year=2025&akim_account_id={akim}"), None).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    let akims = report["akims"].as_array().expect("akims");
    assert_eq!(akims.len(), 1, "{report}");
    let quarters = akims[0]["periods"].as_array().expect("periods");
    assert_eq!(quarters.len(), 4);
    let [q1, q2, q3, q4] = [&quarters[0], &quarters[1], &quarters[2], &quarters[3]];

    assert_eq!(q1["meetings_held"], 3);
    assert_eq!(ratio(q1, "coverage"), (1, 2, Some(50.0)));
    assert_eq!(q1["coverage_gaps"], json!([village_2]));
    assert_eq!(ratio(q1, "announcements_on_time"), (1, 2, Some(50.0)));
    assert_eq!((q1["unscheduled"].as_i64(), q1["unscheduled_announced_late"].as_i64()), (Some(1), Some(1)));
    assert_eq!(ratio(q1, "split_kept"), (2, 3, Some(66.7)));
    assert_eq!(ratio(q1, "results_on_time"), (1, 3, Some(33.3)));
    assert_eq!(ratio(q1, "progress_on_time"), (1, 2, Some(50.0)));

    assert_eq!(q2["meetings_held"], 1);
    assert_eq!(ratio(q2, "coverage"), (1, 2, Some(50.0)));
    assert_eq!(q2["coverage_gaps"], json!([village_1]));
    assert_eq!(ratio(q2, "announcements_on_time"), (1, 1, Some(100.0)));
    assert_eq!(ratio(q2, "split_kept"), (1, 1, Some(100.0)));
    assert_eq!(ratio(q2, "results_on_time"), (1, 1, Some(100.0)));
    assert_eq!(ratio(q2, "progress_on_time"), (0, 2, Some(0.0)));

    assert_eq!(q3["meetings_held"], 0);
    assert_eq!(ratio(q3, "coverage"), (0, 2, Some(0.0)));
    assert_eq!(ratio(q3, "announcements_on_time"), (0, 0, None));
    assert_eq!(ratio(q3, "progress_on_time"), (1, 2, Some(50.0)));
    assert_eq!(ratio(q4, "progress_on_time"), (0, 2, Some(0.0)));
    assert_eq!((q4["results_pending"].as_i64(), q4["progress_pending"].as_i64()), (Some(0), Some(0)));

    let (_, yearly) =
        server.get(&format!("/api/compliance?year=2025&period=year&akim_account_id={akim}"), None).await;
    let year = &yearly["akims"][0]["periods"][0];
    assert_eq!(year["meetings_held"], 4);
    assert_eq!(ratio(year, "coverage"), (2, 8, Some(25.0)));
    assert_eq!(year["coverage_gaps"], json!([village_1, village_2]), "each territory once");
    assert_eq!(ratio(year, "announcements_on_time"), (2, 3, Some(66.7)));
    assert_eq!(ratio(year, "split_kept"), (3, 4, Some(75.0)));
    assert_eq!(ratio(year, "results_on_time"), (2, 4, Some(50.0)));
    assert_eq!(ratio(year, "progress_on_time"), (2, 8, Some(25.0)));

    // The same figures as CSV: one row per akim and quarter.
    let response = server
        .client
        .get(server.url(&format!("/api/compliance?year=2025&akim_account_id={akim}&format=csv")))
        .send()
        .await
        .expect("csv");
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers()["content-type"].to_str().expect("type").starts_with("text/csv"));
    let text = response.text().await.expect("text");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().expect("headers").clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(|row| row.expect("a row")).collect();
    assert_eq!(rows.len(), 4, "{text}");
    let column = |row: &csv::StringRecord, name: &str| {
        row.get(headers.iter().position(|header| header == name).expect(name)).expect("a cell").to_owned()
    };
    assert_eq!(column(&rows[0], "coverage_percent"), "50.0");
    assert_eq!(column(&rows[0], "split_percent"), "66.7");
    assert_eq!(column(&rows[0], "results_percent"), "33.3");
    assert_eq!(column(&rows[1], "progress_percent"), "0.0");
    assert_eq!(column(&rows[2], "announcements_percent"), "", "nothing owed");

    assert_problem(
        &server.get("/api/compliance?year=2025&format=xml", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_format",
    );
    assert_problem(
        &server.get("/api/compliance?year=2025&territory_id=999999", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_problem(
        &server.get("/api/compliance?year=20", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_year",
    );
}

#[tokio::test]
async fn citizens_book_receptions_up_to_capacity_and_bookings_link_to_issues() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let (_, shown) = server.get(&format!("/api/meetings/{meeting}"), None).await;
    let start: jiff::Timestamp = shown["planned_start"].as_str().expect("start").parse().expect("an instant");
    let after = |hours: i64| (start + jiff::SignedDuration::from_hours(hours)).to_string();
    let slot = json!({"starts_at": after(2), "minutes": 120, "place": "Акимат, каб. 305", "capacity": 2,
                      "officials": [{"name": "Ержан Сейітов", "position": "заместитель акима"}, {"name": "Айгүл Нұрова"}]});
    // Not before the meeting, and not by the public.
    let early = json!({"starts_at": after(-1), "minutes": 60, "place": "Акимат", "capacity": 2, "officials": [{"name": "X"}]});
    assert_problem(
        &server.post(&format!("/api/meetings/{meeting}/receptions"), Some(&akim), early).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reception_before_meeting",
    );
    assert_problem(
        &server.post(&format!("/api/meetings/{meeting}/receptions"), None, slot.clone()).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let (status, created) =
        server.post(&format!("/api/meetings/{meeting}/receptions"), Some(&akim), slot).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let reception = created["id"].as_i64().expect("an id");
    assert_eq!(created["officials"][1], json!({"name": "Айгүл Нұрова", "position": ""}));

    let book = |name: &str, contact: &str| {
        let body = json!({"name": name, "contact": contact, "topic": format!("{name}: ремонт дороги")});
        let server = &server;
        async move { server.post(&format!("/api/receptions/{reception}/bookings"), None, body).await }
    };
    let (status, first) = book("Асан", "+7 701 111 22 33").await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["reception"]["free"], 1);
    let code = first["code"].as_str().expect("a code").to_owned();
    let (status, _) = book("Бота", "bota@example.kz").await;
    assert_eq!(status, StatusCode::CREATED);
    assert_problem(&book("Вера", "+7 702 000 00 00").await, StatusCode::CONFLICT, "reception_full");
    assert_problem(&book("Гани", "not a contact").await, StatusCode::UNPROCESSABLE_ENTITY, "invalid_contact");

    // The public list shows places, never names.
    let (_, public) = server.get(&format!("/api/meetings/{meeting}/receptions"), None).await;
    assert_eq!((public[0]["booked"].as_i64(), public[0]["free"].as_i64()), (Some(2), Some(0)));
    assert!(!public.to_string().contains("Асан"));
    assert_problem(
        &server.get(&format!("/api/receptions/{reception}/bookings"), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );

    // A cancelled booking frees its place.
    let (status, cancelled) =
        server.call(reqwest::Method::DELETE, &format!("/api/bookings/{code}"), None, None).await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    assert_eq!(cancelled["cancelled"], true);
    // One place per person: the same e-mail, typed differently, is the same person.
    assert_problem(&book("Бота", " BOTA@example.kz ").await, StatusCode::CONFLICT, "already_booked");
    let (status, third) = book("Вера", "+7 702 000 00 00").await;
    assert_eq!(status, StatusCode::CREATED, "{third}");
    let booking = third["booking"]["id"].as_i64().expect("an id");
    let third_code = third["code"].as_str().expect("a code").to_owned();

    // The akim reads the bookings and links one to the issue it raised.
    let (status, bookings) = server.get(&format!("/api/receptions/{reception}/bookings"), Some(&akim)).await;
    assert_eq!(status, StatusCode::OK, "{bookings}");
    assert_eq!(bookings.as_array().expect("bookings").len(), 3);
    assert_eq!(bookings[2]["contact"], "+7 702 000 00 00");
    let admin = server.admin().await;
    let (_, issue) = server
        .post(
            "/api/issues",
            Some(&admin),
            json!({"title": "Ремонт дороги на ул. Абая", "meeting_id": meeting}),
        )
        .await;
    let issue = issue["issue"]["id"].as_i64().expect("an id");
    let link = format!("/api/reception-bookings/{booking}/issues");
    let (status, linked) = server.post(&link, Some(&akim), json!({"issue_id": issue})).await;
    assert_eq!(status, StatusCode::OK, "{linked}");
    assert_eq!(linked["issue_ids"], json!([issue]));
    let (_, again) = server.post(&link, Some(&akim), json!({"issue_id": issue})).await;
    assert_eq!(again["issue_ids"], json!([issue]), "linking twice changes nothing");
    assert_problem(
        &server.post(&link, Some(&akim), json!({"issue_id": 999_999})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "missing_reference",
    );
    // The citizen sees what their reception raised.
    let (_, own) = server.get(&format!("/api/bookings/{third_code}"), None).await;
    assert_eq!(own["issue_ids"], json!([issue]));
    assert_problem(&server.get("/api/bookings/not-a-code", None).await, StatusCode::NOT_FOUND, "not_found");
    // Another akim may not read or link.
    let (other_meeting, other) = server.meeting_with_akim(60).await;
    assert_problem(
        &server.get(&format!("/api/receptions/{reception}/bookings"), Some(&other)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    // The akim links only issues they manage, not another akim's.
    let (_, foreign) = server
        .post("/api/issues", Some(&admin), json!({"title": "Чужой вопрос", "meeting_id": other_meeting}))
        .await;
    let foreign = foreign["issue"]["id"].as_i64().expect("an id");
    assert_problem(
        &server.post(&link, Some(&akim), json!({"issue_id": foreign})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let (status, unlinked) =
        server.call(reqwest::Method::DELETE, &format!("{link}/{issue}"), Some(&akim), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(unlinked["issue_ids"], json!([]));

    // A cancelled reception takes no bookings.
    let (status, _) =
        server.post(&format!("/api/receptions/{reception}/cancel"), Some(&akim), json!({})).await;
    assert_eq!(status, StatusCode::OK);
    assert_problem(&book("Дана", "+7 703 000 00 00").await, StatusCode::CONFLICT, "reception_cancelled");

    // The akimat cancels a booking that is not genuine, freeing its place.
    let (status, dropped) =
        server.post(&format!("/api/reception-bookings/{booking}/cancel"), Some(&akim), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{dropped}");
    assert_eq!(dropped["cancelled"], true);
    assert_problem(
        &server.post(&format!("/api/reception-bookings/{booking}/cancel"), None, json!({})).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );

    // A cancelled meeting has no receptions.
    let (status, _) =
        server.patch(&format!("/api/meetings/{meeting}"), Some(&akim), json!({"status": "cancelled"})).await;
    assert_eq!(status, StatusCode::OK);
    let slot = json!({"starts_at": after(3), "minutes": 60, "place": "Акимат", "capacity": 5,
                      "officials": [{"name": "Ержан Сейітов"}]});
    assert_problem(
        &server.post(&format!("/api/meetings/{meeting}/receptions"), Some(&akim), slot).await,
        StatusCode::CONFLICT,
        "meeting_cancelled",
    );
}

#[tokio::test]
async fn the_ulytau_fixture_imports_and_its_oblast_akim_must_cover_its_districts_and_cities() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let file = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/territories/ulytau.csv"))
        .expect("fixture");
    let response = server
        .client
        .post(server.url("/api/territories/import"))
        .bearer_auth(&admin)
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .expect("import");
    let (status, imported) = crate::support::read(response).await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    assert_eq!(imported["created"], 54, "{imported}");
    let (_, territories) = server.get("/api/territories", None).await;
    let id_of = |kato: &str| {
        territories["territories"]
            .as_array()
            .expect("territories")
            .iter()
            .find(|t| t["kato"] == kato)
            .expect(kato)["id"]
            .as_i64()
            .expect("an id")
    };
    let oblast = id_of("620000000");
    let (akim, token) = akim_of(&server, &admin, oblast).await;
    // The first half-year visits Zhezkazgan and both districts; the second half only Satpaev.
    let entries = json!([
        entry(id_of("621000000"), "2027-02-01"),
        entry(id_of("623600000"), "2027-03-01"),
        entry(id_of("623633100"), "2027-04-01"),
        entry(id_of("622000000"), "2027-09-01")
    ]);
    let (status, draft) = server
        .post(
            &format!("/api/akims/{akim}/calendars/2027/revisions"),
            Some(&token),
            json!({"entries": entries}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    let (_, report) =
        server.get(&format!("/api/calendar-revisions/{}/validation", draft["id"]), Some(&token)).await;
    let mut gaps: Vec<(i64, String)> = report["gaps"]
        .as_array()
        .expect("gaps")
        .iter()
        .map(|gap| (gap["index"].as_i64().expect("index"), gap["kato"].as_str().expect("kato").to_owned()))
        .collect();
    gaps.sort();
    // A meeting in a village of Zhanaarka district counts for the district; Ulytau district,
    // Karazhal and Satpaev are missing in the first half, all but Satpaev in the second.
    let expected: Vec<(i64, String)> = [
        (1, "621800000"),
        (1, "622000000"),
        (1, "623800000"),
        (2, "621000000"),
        (2, "621800000"),
        (2, "623600000"),
        (2, "623800000"),
    ]
    .into_iter()
    .map(|(index, kato)| (index, kato.to_owned()))
    .collect();
    assert_eq!(gaps, expected, "{report}");
}

#[tokio::test]
async fn an_announced_meeting_gives_its_place_and_online_link() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let village = territory(&server, &admin, "village", None).await;
    let (akim, token) = akim_of(&server, &admin, village).await;
    let mut body = crate::support::meeting_body(village, akim, 60);
    body["place"] = json!("  Сельский дом культуры, ул. Абая 1 ");
    body["online_link"] = json!("https://www.youtube.com/live/akimat");
    let (status, meeting) = server.post("/api/meetings", Some(&token), body.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{meeting}");
    assert_eq!(meeting["place"], "Сельский дом культуры, ул. Абая 1");
    assert_eq!(meeting["online_link"], "https://www.youtube.com/live/akimat");
    let id = meeting["id"].as_i64().expect("an id");
    let (_, ld) = crate::calendar::json_ld(&server, id).await;
    assert_eq!(ld["location"][0]["address"], "Сельский дом культуры, ул. Абая 1", "{ld}");
    assert_eq!(
        ld["location"][1],
        json!({"@type": "VirtualLocation", "url": "https://www.youtube.com/live/akimat"})
    );

    // The iCalendar feed gives the place before the territory, and the link as the description.
    let feed = server
        .client
        .get(server.url(&format!("/api/akims/{akim}/calendar.ics")))
        .send()
        .await
        .expect("feed")
        .text()
        .await
        .expect("text")
        .replace("\r\n ", "");
    assert!(feed.contains("LOCATION:Сельский дом культуры\\, ул. Абая 1\\, village ru\r\n"), "{feed}");
    assert!(feed.contains("DESCRIPTION:https://www.youtube.com/live/akimat\r\n"), "{feed}");

    body["online_link"] = json!("javascript:alert(1)");
    assert_problem(
        &server.post("/api/meetings", Some(&token), body).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_online_link",
    );
    let (status, cleared) =
        server.patch(&format!("/api/meetings/{id}"), Some(&token), json!({"online_link": ""})).await;
    assert_eq!(status, StatusCode::OK, "{cleared}");
    assert_eq!(cleared["online_link"], "");
    assert_eq!(cleared["place"], "Сельский дом культуры, ул. Абая 1");
}

#[tokio::test]
async fn a_calendar_of_a_thousand_meetings_is_accepted_beyond_the_general_body_limit() {
    let server = TestServer::start().await;
    let District { villages, akim, token, .. } = district(&server).await;
    let start = jiff::civil::date(2027, 1, 1);
    let entries: Vec<Value> = (0..1000)
        .map(|n: i64| {
            let day = start.checked_add(jiff::Span::new().days(n % 365)).expect("a day");
            let place = format!("Сельский дом культуры, улица Абая, дом {n}, большой зал на втором этаже");
            json!({"territory_id": villages[(n % 3) as usize], "date": day.to_string(), "place": place})
        })
        .collect();
    let body = json!({"entries": entries});
    assert!(body.to_string().len() > 64 * 1024, "larger than the general limit");
    let (status, draft) =
        server.post(&format!("/api/akims/{akim}/calendars/2027/revisions"), Some(&token), body).await;
    assert_eq!(status, StatusCode::CREATED, "{draft}");
    assert_eq!(draft["entries"].as_array().expect("entries").len(), 1000);
}
