//! The register of problem issues, end to end over HTTP and the live channel: sources, the
//! pool, the workflow with plans and progress, imports, exports, Open311, receipts, and the
//! rule that a citizen's name and contact never leave the staff side.

use crate::support::{LiveClient, TestServer, assert_problem, password_of, rand_suffix};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A commission member's token.
async fn commission(server: &TestServer) -> String {
    let admin = server.admin().await;
    let login = format!("commission{}", rand_suffix());
    server.create_account(&admin, &login, "commission").await;
    server.sign_in(&login, &password_of(&login)).await
}

async fn issue(server: &TestServer, id: i64, token: Option<&str>) -> (StatusCode, Value) {
    server.get(&format!("/api/issues/{id}"), token).await
}

async fn set_status(server: &TestServer, id: i64, token: &str, body: Value) -> (StatusCode, Value) {
    server.post(&format!("/api/issues/{id}/status"), Some(token), body).await
}

async fn send_request(server: &TestServer, meeting: i64, name: &str, contact: &str, title: &str) -> Value {
    let body =
        json!({"name": name, "contact": contact, "title": title, "text": format!("{title}: подробности")});
    let (status, received) = server.post(&format!("/api/meetings/{meeting}/requests"), None, body).await;
    assert_eq!(status, StatusCode::CREATED, "{received}");
    received
}

/// The body of a response as text, for checking what it must not contain.
async fn raw(server: &TestServer, path: &str) -> (StatusCode, String) {
    let response = reqwest::get(server.url(path)).await.expect("answers");
    (response.status(), response.text().await.expect("a body"))
}

#[tokio::test]
async fn a_promoted_comment_becomes_a_problem_issue_with_the_comment_as_its_source() {
    let server = TestServer::start().await;
    let (meeting, _akim, moderator_token) = server.live_meeting().await;
    let mut moderator = server.live(meeting, &moderator_token, None).await;
    let mut comments = Vec::new();
    let mut viewers: Vec<(String, LiveClient)> = Vec::new();
    for (name, text) in [("Асель", "Дорога на Абая разбита"), ("Ерлан", "Когда починят дорогу на Абая?")]
    {
        let (token, _) = server.viewer(meeting, name).await;
        let mut client = server.live(meeting, &token, None).await;
        comments.push(client.comment("c1", text).await["comment"].clone());
        viewers.push((token, client));
    }
    let promoted = moderator.command(json!({"type": "promote", "comments": [comments[0]]})).await;
    assert_eq!(promoted["type"], "done", "{promoted}");

    let (status, list) = server.get(&format!("/api/issues?meeting_id={meeting}"), None).await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["total"], 1, "{list}");
    let road = &list["items"][0];
    assert_eq!(road["title"], "Дорога на Абая разбита");
    assert_eq!(road["status"], "new");
    assert_eq!(road["public"], true, "a question asked live is public at once");
    assert_eq!(road["sources"][0]["kind"], "live_question");
    assert_eq!(road["sources"][0]["question"], 1);
    assert_eq!(road["sources"][0]["text"], "Дорога на Абая разбита");
    let road_id = road["id"].as_i64().expect("id");

    // The moderator rewords the question: the issue follows until the commission retitles it.
    let reword = |text: &str| json!({"type": "edit_question", "question": 1, "text": text});
    assert_eq!(moderator.command(reword("Ремонт дороги на Абая")).await["type"], "done");
    let (_, view) = issue(&server, road_id, None).await;
    assert_eq!(view["title"], "Ремонт дороги на Абая");
    let keeper = commission(&server).await;
    let (status, _) = server
        .patch(&format!("/api/issues/{road_id}"), Some(&keeper), json!({"title": "Ремонт улицы Абая"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(moderator.command(reword("Дорога")).await["type"], "done");
    let (_, view) = issue(&server, road_id, None).await;
    assert_eq!(view["title"], "Ремонт улицы Абая");
    let (_, history) = server.get(&format!("/api/issues/{road_id}/history"), None).await;
    let actions: Vec<&Value> = history.as_array().expect("history").iter().map(|h| &h["action"]).collect();
    assert_eq!(actions, [&json!("created"), &json!("retitled"), &json!("edited")]);
    assert_eq!(history[0]["by"], Value::Null, "the live channel made it");

    let (token, client) = &mut viewers[1];
    let second = moderator.command(json!({"type": "promote", "comments": [comments[1]]})).await;
    assert_eq!(second["type"], "done", "{second}");
    assert_eq!(client.command(json!({"type": "vote", "question": 2, "up": true})).await["type"], "done");
    let merged = moderator.command(json!({"type": "merge", "question": 2, "into": 1})).await;
    assert_eq!(merged["type"], "done", "{merged}");

    // The live merge merges the issues: one issue, both questions as sources, the votes as
    // supporters.
    let (_, list) = server.get(&format!("/api/issues?meeting_id={meeting}"), None).await;
    assert_eq!(list["total"], 1, "{list}");
    let road = &list["items"][0];
    assert_eq!(road["id"], road_id);
    let questions: Vec<&Value> =
        road["sources"].as_array().expect("sources").iter().map(|s| &s["question"]).collect();
    assert_eq!(questions, [&json!(1), &json!(2)]);
    assert_eq!(road["supporters"], 1, "one voter, counted once: {road}");

    // The second viewer follows their comment by a receipt to the issue it joined.
    let (status, receipt) =
        server.post(&format!("/api/meetings/{meeting}/receipt"), Some(token), json!({})).await;
    assert_eq!(status, StatusCode::OK, "{receipt}");
    let code = receipt["receipt_code"].as_str().expect("code");
    let (_, again) = server.post(&format!("/api/meetings/{meeting}/receipt"), Some(token), json!({})).await;
    assert_eq!(again["receipt_code"], code, "one receipt per viewer");
    let (status, followed) = server.get(&format!("/api/receipts/{code}"), None).await;
    assert_eq!(status, StatusCode::OK, "{followed}");
    assert_eq!(followed["kind"], "comments");
    assert_eq!(followed["issues"][0]["id"], road_id);
    assert_problem(&server.get("/api/receipts/not-a-code", None).await, StatusCode::NOT_FOUND, "not_found");

    // Staff cannot take a viewer's receipt, and viewers cannot change issues.
    assert_problem(
        &server.post(&format!("/api/meetings/{meeting}/receipt"), Some(&moderator_token), json!({})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_problem(
        &set_status(&server, road_id, token, json!({"status": "accepted"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_problem(
        &set_status(&server, road_id, &moderator_token, json!({"status": "accepted"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

#[tokio::test]
async fn the_pool_merges_duplicates_keeping_every_source_and_adding_the_supporters() {
    let server = TestServer::start().await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let keeper = commission(&server).await;
    let first =
        send_request(&server, meeting, "Иван", "+7 700 000 00 01", "Нет освещения на улице Ленина").await;
    let second = send_request(&server, meeting, "Айгуль", "+7 700 000 00 02", "Темно на Ленина").await;
    // An entry for a collective letter signed by five people.
    let (status, entry) = server
        .post(
            "/api/issues",
            Some(&keeper),
            json!({"title": "Освещение улицы Ленина", "text": "Коллективное письмо", "meeting_id": meeting,
                   "category": "landscaping", "supporters": 5, "citizen": {"name": "Совет дома 12"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{entry}");
    let entry_id = entry["issue"]["id"].as_i64().expect("id");
    let (first_id, second_id) =
        (first["issue_id"].as_i64().expect("present"), second["issue_id"].as_i64().expect("present"));

    // New requests are not public yet, but the keepers see the whole pool, by priority.
    let (_, public) = server.get(&format!("/api/issues?meeting_id={meeting}"), None).await;
    assert_eq!(public["total"], 0, "{public}");
    assert_problem(&issue(&server, first_id, None).await, StatusCode::NOT_FOUND, "not_found");
    let (_, pool) = server.get(&format!("/api/issues?meeting_id={meeting}"), Some(&keeper)).await;
    assert_eq!(pool["total"], 3);
    assert_eq!(pool["items"][0]["id"], entry_id, "most supporters first: {pool}");

    let merge = |from: i64, into: i64| {
        let server = &server;
        let keeper = keeper.clone();
        async move {
            server.post(&format!("/api/issues/{from}/merge"), Some(&keeper), json!({"into": into})).await
        }
    };
    let (status, merged) = merge(second_id, entry_id).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["supporters"], 6);
    assert_eq!(merged["sources"].as_array().expect("sources").len(), 2);
    let (status, merged) = merge(entry_id, first_id).await;
    assert_eq!(status, StatusCode::OK, "{merged}");
    assert_eq!(merged["supporters"], 7, "{merged}");
    let kinds: Vec<&Value> =
        merged["sources"].as_array().expect("sources").iter().map(|s| &s["kind"]).collect();
    assert_eq!(kinds, [&json!("request"), &json!("request"), &json!("commission")]);
    // Merged issues point at the one that holds their sources, directly.
    for gone in [second_id, entry_id] {
        let (_, view) = issue(&server, gone, Some(&keeper)).await;
        assert_eq!(view["merged_into"], first_id, "{view}");
        assert!(view["sources"].as_array().expect("sources").is_empty());
    }
    // A receipt shows where the request went, but not another citizen's unpublished words.
    let (_, receipt) =
        server.get(&format!("/api/receipts/{}", second["receipt_code"].as_str().expect("code")), None).await;
    assert_eq!(receipt["issues"][0]["id"], first_id);
    assert_eq!(receipt["issues"][0]["title"], "", "{receipt}");
    assert_eq!(receipt["submitted"]["text"], "Темно на Ленина: подробности");
    // Once the commission takes the issue up it is public, and the receipt names it; the
    // duplicate merged into it, never taken up itself, stays unpublished.
    let (status, _) = set_status(&server, first_id, &keeper, json!({"status": "accepted"})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, receipt) =
        server.get(&format!("/api/receipts/{}", second["receipt_code"].as_str().expect("code")), None).await;
    assert_eq!(receipt["issues"][0]["title"], "Нет освещения на улице Ленина");
    assert_eq!(issue(&server, first_id, None).await.0, StatusCode::OK);
    assert_problem(&issue(&server, second_id, None).await, StatusCode::NOT_FOUND, "not_found");
    assert_problem(&merge(first_id, first_id).await, StatusCode::UNPROCESSABLE_ENTITY, "merge_into_itself");
    assert_problem(&merge(second_id, first_id).await, StatusCode::CONFLICT, "issue_merged");
    let (_, history) = server.get(&format!("/api/issues/{first_id}/history"), Some(&keeper)).await;
    let actions: Vec<&Value> = history.as_array().expect("history").iter().map(|h| &h["action"]).collect();
    assert_eq!(actions, [&json!("created"), &json!("merged_from"), &json!("status")]);
    // The entry first merged into the second request points at the first now, and says so.
    let (_, history) = server.get(&format!("/api/issues/{second_id}/history"), Some(&keeper)).await;
    let actions: Vec<&Value> = history.as_array().expect("history").iter().map(|h| &h["action"]).collect();
    assert_eq!(actions, [&json!("created"), &json!("merged_into"), &json!("merged_into")]);
    assert_eq!(history[2]["detail"], json!({"into": first_id, "via": entry_id}));

    // Category, territory and the briefing mark; the akim's briefing lists what is marked.
    let (status, marked) = server
        .patch(
            &format!("/api/issues/{first_id}"),
            Some(&keeper),
            json!({"category": "landscaping", "on_briefing": true}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{marked}");
    assert_problem(
        &server
            .patch(&format!("/api/issues/{first_id}"), Some(&keeper), json!({"category": "weather"}))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_category",
    );
    let (status, briefing) = server.get(&format!("/api/meetings/{meeting}/briefing"), Some(&akim)).await;
    assert_eq!(status, StatusCode::OK, "{briefing}");
    assert_eq!(briefing["pool_size"], 1);
    assert_eq!(briefing["items"][0]["id"], first_id);
    assert_eq!(briefing["by_category"], json!([{"category": "landscaping", "issues": 1, "supporters": 7}]));
    assert_problem(
        &server.get(&format!("/api/meetings/{meeting}/briefing"), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );

    // Once the meeting starts the form closes.
    let (status, _) = server
        .post(&format!("/api/meetings/{meeting}/phase"), Some(&akim), json!({"phase": "presentation"}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let late = json!({"name": "Поздний", "title": "Поздно", "text": "Поздно"});
    assert_problem(
        &server.post(&format!("/api/meetings/{meeting}/requests"), None, late).await,
        StatusCode::CONFLICT,
        "requests_closed",
    );
}

#[tokio::test]
async fn an_issue_gets_a_plan_with_executors_deadlines_financing_and_quarterly_progress() {
    let server = TestServer::start().await;
    let keeper = commission(&server).await;
    let (status, created) = server
        .post("/api/issues", Some(&keeper), json!({"title": "Ремонт школы №5", "category": "education"}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["issue"]["id"].as_i64().expect("id");

    // The workflow: one step at a time, a reason to reject, a level to escalate.
    assert_problem(
        &set_status(&server, id, &keeper, json!({"status": "resolved"})).await,
        StatusCode::CONFLICT,
        "status_not_allowed",
    );
    assert_problem(
        &set_status(&server, id, &keeper, json!({"status": "rejected"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reason_required",
    );
    assert_problem(
        &set_status(&server, id, &keeper, json!({"status": "escalated"})).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "level_required",
    );
    let plan_item = json!({"measure": "Заменить кровлю", "executor_organisation": "ГУ «Отдел образования»",
        "executor_person": "Ахметов Б.", "deadline": "2027-08-31"});
    assert_problem(
        &server.post(&format!("/api/issues/{id}/actions"), Some(&keeper), plan_item.clone()).await,
        StatusCode::CONFLICT,
        "issue_not_open",
    );
    let (status, accepted) = set_status(&server, id, &keeper, json!({"status": "accepted"})).await;
    assert_eq!(status, StatusCode::OK, "{accepted}");
    assert_eq!(accepted["public"], true, "taken up, so published");
    assert_problem(
        &set_status(&server, id, &keeper, json!({"status": "planned"})).await,
        StatusCode::CONFLICT,
        "plan_required",
    );
    assert!(accepted["deadlines"]["progress_due"].is_string(), "progress is owed once accepted: {accepted}");

    let (status, added) = server.post(&format!("/api/issues/{id}/actions"), Some(&keeper), plan_item).await;
    assert_eq!(status, StatusCode::CREATED, "{added}");
    let financed = json!({"measure": "Капитальный ремонт спортзала", "executor_organisation": "Акимат района",
        "executor_person": "Серикова Д.", "deadline": "2020-01-31", "financing_needed": true,
        "financing_amount": 45_000_000, "maslikhat_session_on": "2027-03-20"});
    let (status, added_late) =
        server.post(&format!("/api/issues/{id}/actions"), Some(&keeper), financed).await;
    assert_eq!(status, StatusCode::CREATED, "{added_late}");
    let late_item = added_late["id"].as_i64().expect("item id");
    let view = &added_late["issue"];
    assert_eq!(view["actions"].as_array().expect("actions").len(), 2);
    let gym =
        view["actions"].as_array().expect("present").iter().find(|a| a["id"] == late_item).expect("the item");
    assert_eq!(gym["financing_amount"], 45_000_000);
    assert_eq!(gym["maslikhat_session_on"], "2027-03-20");
    assert_eq!(gym["overdue"], true);
    assert_eq!(view["deadlines"]["actions_overdue"], 1);
    assert_eq!(view["deadlines"]["overdue"], true);
    assert_problem(
        &server
            .post(
                &format!("/api/issues/{id}/actions"),
                Some(&keeper),
                json!({"measure": "x", "executor_organisation": "y",
                "executor_person": "z", "deadline": "2027-01-01", "financing_amount": 10}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_field",
    );

    // The overdue filter finds it; carrying the item out clears it.
    let (_, overdue) = server.get("/api/issues?overdue=true", None).await;
    assert_eq!(overdue["items"][0]["id"], id, "{overdue}");
    let (status, done) = server
        .patch(
            &format!("/api/issues/{id}/actions/{late_item}"),
            Some(&keeper),
            json!({"done_on": "2020-01-30"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(done["deadlines"]["actions_overdue"], 0);
    let (status, unfinanced) = server
        .patch(
            &format!("/api/issues/{id}/actions/{late_item}"),
            Some(&keeper),
            json!({"financing_needed": false}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{unfinanced}");
    let gym = unfinanced["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["id"] == late_item)
        .expect("item");
    assert_eq!((&gym["financing_amount"], &gym["maslikhat_session_on"]), (&Value::Null, &Value::Null));
    let (_, overdue) = server.get("/api/issues?overdue=true", None).await;
    assert_eq!(overdue["total"], 0, "{overdue}");

    for status in ["planned", "in_progress"] {
        let (code, moved) = set_status(&server, id, &keeper, json!({"status": status})).await;
        assert_eq!(code, StatusCode::OK, "{moved}");
    }
    let (status, reported) = server
        .post(
            &format!("/api/issues/{id}/progress"),
            Some(&keeper),
            json!({"text": "Подрядчик вышел на объект"}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{reported}");
    assert_eq!(reported["progress"][0]["text"], "Подрядчик вышел на объект");
    assert!(reported["progress"][0]["quarter"].as_str().expect("quarter").contains("-Q"));
    assert_eq!(reported["deadlines"]["progress_overdue"], false);
    assert_problem(
        &server
            .post(
                &format!("/api/issues/{id}/progress"),
                Some(&keeper),
                json!({"text": "x", "reported_on": "2999-01-01"}),
            )
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_date",
    );

    // Open311 shows the executor and the plan's end.
    let (status, open311) = server.get(&format!("/open311/v2/requests/{id}.json"), None).await;
    assert_eq!(status, StatusCode::OK, "{open311}");
    assert_eq!(open311[0]["agency_responsible"], "ГУ «Отдел образования»");
    assert!(open311[0]["expected_datetime"].as_str().expect("expected").starts_with("2027-08-31T23:59:59"));
    assert_eq!(open311[0]["status"], "open");

    let (status, resolved) =
        set_status(&server, id, &keeper, json!({"status": "resolved", "note": "Кровля заменена"})).await;
    assert_eq!(status, StatusCode::OK, "{resolved}");
    assert_eq!(resolved["deadlines"]["progress_due"], Value::Null, "a closed issue owes nothing");
    let (_, open311) = server.get(&format!("/open311/v2/requests/{id}.json"), None).await;
    assert_eq!(open311[0]["status"], "closed");
    assert_eq!(open311[0]["status_notes"], "Кровля заменена");

    // Every change is in the history, with who made it.
    let (_, history) = server.get(&format!("/api/issues/{id}/history"), None).await;
    let actions: Vec<&str> =
        history.as_array().expect("present").iter().map(|h| h["action"].as_str().expect("present")).collect();
    assert_eq!(
        actions,
        [
            "created",
            "status",
            "action_added",
            "action_added",
            "action_updated",
            "action_updated",
            "status",
            "status",
            "progress",
            "status"
        ]
    );
    assert!(
        history
            .as_array()
            .expect("present")
            .iter()
            .all(|h| h["by"].as_str().is_some_and(|by| by.starts_with("commission")))
    );
    assert_eq!(history[9]["detail"]["to"], "resolved");
    assert_eq!(history[2]["detail"]["item"], added["id"], "the history names the item it added");
    assert_eq!(history[4]["detail"]["item"], late_item);
    // The first wording is withheld from the public (the commission may have edited a name out
    // of it); the commission sees it.
    assert_eq!(history[0]["detail"].get("title"), None, "{}", history[0]);
    let (_, full) = server.get(&format!("/api/issues/{id}/history"), Some(&keeper)).await;
    assert_eq!(full[0]["detail"]["title"], "Ремонт школы №5");
    let (status, _) =
        server.patch(&format!("/api/issues/{id}"), Some(&keeper), json!({"title": "Ремонт школы № 5"})).await;
    assert_eq!(status, StatusCode::OK);
    let (_, history) = server.get(&format!("/api/issues/{id}/history"), None).await;
    assert_eq!(history[10]["detail"], json!({"changed": ["title"]}));
}

#[tokio::test]
async fn an_import_with_two_bad_rows_reports_both_and_imports_nothing() {
    let server = TestServer::start().await;
    let keeper = commission(&server).await;
    let (meeting, _) = server.meeting_with_akim(60).await;
    let upload = |body: String, content_type: &'static str| {
        let server = &server;
        let keeper = keeper.clone();
        async move {
            let response = reqwest::Client::new()
                .post(server.url("/api/issues/import"))
                .bearer_auth(keeper)
                .header("content-type", content_type)
                .body(body)
                .send()
                .await
                .expect("answers");
            crate::support::read(response).await
        }
    };
    let bad = format!(
        "channel,external_id,title,category,meeting_id,supporters\n\
         opendata,op-1,Яма на Абая,roads,{meeting},12\n\
         opendata,op-2,,roads,,\n\
         opendata,op-3,Нет воды,water,,3\n\
         opendata,op-4,Свалка,weather,999999,0\n"
    );
    let (status, refused) = upload(bad, "text/csv").await;
    assert_problem(&(status, refused.clone()), StatusCode::UNPROCESSABLE_ENTITY, "import_rejected");
    let errors: Vec<(i64, &str)> = refused["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["row"].as_i64().expect("present"), e["field"].as_str().expect("present")))
        .collect();
    assert_eq!(errors, [(2, "title"), (4, "category"), (4, "meeting_id"), (4, "supporters")], "{refused}");
    let (_, all) = server.get("/api/issues", Some(&keeper)).await;
    assert_eq!(all["total"], 0, "nothing imported: {all}");

    let good = format!(
        "\u{feff}channel,external_id,title,category,meeting_id,supporters,received_at\n\
         opendata,op-1,Яма на Абая,roads,{meeting},12,2026-10-01T09:00:00+05:00\n\
         opendata,op-3,Нет воды,water,,3,\n"
    );
    let (status, imported) = upload(good.clone(), "text/csv; charset=utf-8").await;
    assert_eq!(status, StatusCode::OK, "{imported}");
    assert_eq!(imported, json!({"created": 2, "already_imported": 0}));
    let (_, again) = upload(good, "text/csv").await;
    assert_eq!(again, json!({"created": 0, "already_imported": 2}), "idempotent by external id");
    let json_rows = json!([{"channel": "blog", "external_id": 77, "title": "Автобус №12 не ходит", "supporters": 40},
                           {"channel": "opendata", "external_id": "op-1", "title": "Яма на Абая"}]);
    let (status, mixed) = upload(json_rows.to_string(), "application/json").await;
    assert_eq!(status, StatusCode::OK, "{mixed}");
    assert_eq!(mixed, json!({"created": 1, "already_imported": 1}));

    let (_, all) = server.get("/api/issues?sort=priority", Some(&keeper)).await;
    assert_eq!(all["total"], 3);
    assert_eq!(all["items"][0]["supporters"], 40);
    assert_eq!(all["items"][0]["sources"][0]["external_id"], "77");
    let pothole = all["items"]
        .as_array()
        .expect("present")
        .iter()
        .find(|i| i["title"] == "Яма на Абая")
        .expect("imported");
    assert_eq!(pothole["meeting_id"], meeting);
    assert!(
        pothole["sources"][0]["received_at"].as_str().expect("present").starts_with("2026-10-01T09:00:00")
    );

    // Cells are text as written: "007" and "7" are two rows, and no title turns into a number.
    let (status, literal) =
        upload("channel,external_id,title\nsms,007,+7 701 555\nsms,7,1.50\nsms,8,true\n".into(), "text/csv")
            .await;
    assert_eq!(status, StatusCode::OK, "{literal}");
    assert_eq!(literal, json!({"created": 3, "already_imported": 0}));
    let (_, sms) = server.get("/api/issues?sort=newest&page_size=3", Some(&keeper)).await;
    let titles: Vec<&Value> =
        sms["items"].as_array().expect("items").iter().map(|issue| &issue["title"]).collect();
    assert_eq!(titles, [&json!("true"), &json!("1.50"), &json!("+7 701 555")]);
    let (status, _) = upload("channel,external_id,title,title\nx,1,a,b\n".into(), "text/csv").await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    assert_problem(
        &upload("channel,colour\nx,y\n".into(), "text/csv").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unknown_column",
    );
    assert_problem(
        &upload("{}".into(), "application/json").await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );
    assert_problem(
        &upload("a,b".into(), "text/plain").await,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
}

/// The fields GeoReport v2 documents for each document, and the JSON types they may take.
fn check_fields(document: &Value, fields: &[(&str, &[&str])]) {
    let object = document.as_object().expect("an object");
    let names: Vec<&str> = object.keys().map(String::as_str).collect();
    let documented: Vec<&str> = fields.iter().map(|(name, _)| *name).collect();
    for name in &names {
        assert!(documented.contains(name), "undocumented field {name}");
    }
    for (name, types) in fields {
        let value = object.get(*name).unwrap_or_else(|| panic!("missing field {name}"));
        let kind = match value {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        };
        assert!(types.contains(&kind), "{name} is {kind}, documented as {types:?}");
    }
}

#[tokio::test]
async fn open311_documents_carry_exactly_the_documented_fields() {
    let server = TestServer::start().await;
    let keeper = commission(&server).await;
    let (status, services) = server.get("/open311/v2/services.json?locale=kk", None).await;
    assert_eq!(status, StatusCode::OK);
    let services = services.as_array().expect("a list");
    assert!(services.iter().any(|s| s["service_code"] == "roads" && s["service_name"] == "Жолдар"));
    for service in services {
        check_fields(
            service,
            &[
                ("service_code", &["string"]),
                ("service_name", &["string"]),
                ("description", &["string"]),
                ("metadata", &["boolean"]),
                ("type", &["string"]),
                ("keywords", &["string"]),
                ("group", &["string"]),
            ],
        );
        assert!(["realtime", "batch", "blackbox"].contains(&service["type"].as_str().expect("present")));
    }

    let mut ids = Vec::new();
    for (title, category) in [("Яма на Абая", "roads"), ("Нет воды", "water"), ("Не принято", "roads")]
    {
        let (_, created) =
            server.post("/api/issues", Some(&keeper), json!({"title": title, "category": category})).await;
        ids.push(created["issue"]["id"].as_i64().expect("id"));
    }
    for id in &ids[..2] {
        set_status(&server, *id, &keeper, json!({"status": "accepted"})).await;
    }
    set_status(&server, ids[1], &keeper, json!({"status": "rejected", "note": "Не в компетенции"})).await;

    let (status, requests) = server.get("/open311/v2/requests.json", None).await;
    assert_eq!(status, StatusCode::OK, "{requests}");
    let requests = requests.as_array().expect("a list");
    assert_eq!(requests.len(), 2, "only public issues: {requests:?}");
    let fields: &[(&str, &[&str])] = &[
        ("service_request_id", &["string"]),
        ("status", &["string"]),
        ("status_notes", &["string", "null"]),
        ("service_name", &["string", "null"]),
        ("service_code", &["string", "null"]),
        ("description", &["string"]),
        ("agency_responsible", &["string", "null"]),
        ("service_notice", &["string", "null"]),
        ("requested_datetime", &["string"]),
        ("updated_datetime", &["string"]),
        ("expected_datetime", &["string", "null"]),
        ("address", &["string", "null"]),
        ("address_id", &["string", "null"]),
        ("zipcode", &["string", "null"]),
        ("lat", &["number", "null"]),
        ("long", &["number", "null"]),
        ("media_url", &["string", "null"]),
    ];
    for request in requests {
        check_fields(request, fields);
        assert!(["open", "closed"].contains(&request["status"].as_str().expect("present")));
        for field in ["requested_datetime", "updated_datetime"] {
            request[field].as_str().expect("present").parse::<jiff::Timestamp>().expect("a W3C date-time");
        }
    }
    let (_, closed) = server.get("/open311/v2/requests.json?status=closed", None).await;
    assert_eq!(closed[0]["service_request_id"], ids[1].to_string());
    assert_eq!(closed[0]["status_notes"], "Не в компетенции");
    let (_, roads) = server.get("/open311/v2/requests.json?service_code=roads", None).await;
    assert_eq!(roads.as_array().expect("present").len(), 1);
    let (_, by_id) = server
        .get(&format!("/open311/v2/requests.json?service_request_id={},{}", ids[0], ids[2]), None)
        .await;
    assert_eq!(by_id.as_array().expect("present").len(), 1, "the unpublished one is left out");
    let (status, one) = server.get(&format!("/open311/v2/requests/{}.json", ids[0]), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(one.as_array().expect("present").len(), 1);
    check_fields(&one[0], fields);
    assert_problem(
        &server.get(&format!("/open311/v2/requests/{}.json", ids[2]), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_problem(
        &server.get(&format!("/open311/v2/requests/{}.xml", ids[0]), None).await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_problem(
        &server.get("/open311/v2/requests.json?status=maybe", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_status",
    );
}

#[tokio::test]
async fn a_citizens_name_and_contact_never_appear_in_public_responses() {
    let server = TestServer::start().await;
    let keeper = commission(&server).await;
    let (meeting, akim) = server.meeting_with_akim(60).await;
    let (name, phone) = ("Гульнара Сейткалиева", "+7 701 555 12 34");
    let received = send_request(&server, meeting, name, phone, "Нет остановки у школы").await;
    let id = received["issue_id"].as_i64().expect("id");
    let code = received["receipt_code"].as_str().expect("code").to_owned();
    let (_, entered) = server
        .post("/api/issues", Some(&keeper), json!({"title": "Запись на приёме", "citizen": {"name": "Бауыржан Есенов", "contact": "baur@example.kz"}}))
        .await;
    let entered_id = entered["issue"]["id"].as_i64().expect("id");
    for issue in [id, entered_id] {
        let (status, _) = set_status(&server, issue, &keeper, json!({"status": "accepted"})).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) =
            set_status(&server, issue, &keeper, json!({"status": "escalated", "level": "central"})).await;
        assert_eq!(status, StatusCode::OK);
    }
    // The meeting runs and its results are published with the issue.
    let (viewer, _) = server.viewer(meeting, "Зритель").await;
    for phase in ["presentation", "ended"] {
        server.post(&format!("/api/meetings/{meeting}/phase"), Some(&akim), json!({"phase": phase})).await;
    }
    let (status, results) = server
        .call(
            Method::PUT,
            &format!("/api/meetings/{meeting}/results"),
            Some(&akim),
            Some(json!({"summary": "Итоги встречи"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{results}");
    assert_eq!(results["issues"][0]["id"], id, "the results carry the meeting's issues: {results}");

    let public_paths = [
        "/api/issues".to_owned(),
        format!("/api/issues/{id}"),
        format!("/api/issues/{id}/history"),
        format!("/api/issues/{entered_id}"),
        format!("/api/issues/{entered_id}/history"),
        "/api/issues/export?format=json".to_owned(),
        "/api/issues/export?format=csv".to_owned(),
        "/open311/v2/requests.json".to_owned(),
        format!("/open311/v2/requests/{id}.json"),
        format!("/api/receipts/{code}"),
        format!("/api/meetings/{meeting}/results"),
        format!("/api/meetings/{meeting}/issues"),
    ];
    for path in &public_paths {
        let (status, body) = raw(&server, path).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        for secret in [name, phone, "Бауыржан", "baur@example.kz"] {
            assert!(!body.contains(secret), "{path} shows {secret}: {body}");
        }
    }
    // The receipt shows the citizen their own words, and the issue's progress.
    let (_, receipt) = server.get(&format!("/api/receipts/{code}"), None).await;
    assert_eq!(receipt["submitted"]["text"], "Нет остановки у школы: подробности");
    assert_eq!(receipt["issues"][0]["status"], "escalated");

    // Only the keepers read contacts.
    let (status, contacts) = server.get(&format!("/api/issues/{id}/contacts"), Some(&keeper)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(contacts[0]["name"], name);
    assert_eq!(contacts[0]["contact"], phone);
    assert_problem(
        &server.get(&format!("/api/issues/{id}/contacts"), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    assert_problem(
        &server.get(&format!("/api/issues/{id}/contacts"), Some(&viewer)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    // The meeting's akim manages its issues; another akim manages neither them nor the issues
    // raised for no meeting, and imports nothing.
    let (status, _) = server.get(&format!("/api/issues/{id}/contacts"), Some(&akim)).await;
    assert_eq!(status, StatusCode::OK);
    let (_, other_akim) = server.meeting_with_akim(60).await;
    for (path, token) in [
        (format!("/api/issues/{id}/contacts"), &other_akim),
        (format!("/api/issues/{entered_id}/contacts"), &akim),
        (format!("/api/meetings/{meeting}/briefing"), &other_akim),
    ] {
        assert_problem(&server.get(&path, Some(token)).await, StatusCode::FORBIDDEN, "forbidden");
    }
    assert_problem(
        &server.post(&format!("/api/issues/{id}/progress"), Some(&other_akim), json!({"text": "x"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    let import = reqwest::Client::new()
        .post(server.url("/api/issues/import"))
        .bearer_auth(&akim)
        .header("content-type", "text/csv")
        .body("channel,external_id,title\nx,1,t\n")
        .send()
        .await
        .expect("answers");
    assert_eq!(import.status(), StatusCode::FORBIDDEN);

    // The half-yearly central export holds both escalated issues, and no contacts either.
    let today = server.today();
    let due = if (today.month(), today.day()) <= (2, 15) {
        jiff::civil::date(today.year(), 2, 15)
    } else if (today.month(), today.day()) <= (8, 15) {
        jiff::civil::date(today.year(), 8, 15)
    } else {
        jiff::civil::date(today.year() + 1, 2, 15)
    };
    let (status, export) = server.get(&format!("/api/issues/central-export?due={due}"), Some(&keeper)).await;
    assert_eq!(status, StatusCode::OK, "{export}");
    let exported: Vec<&Value> =
        export["issues"].as_array().expect("present").iter().map(|i| &i["id"]).collect();
    assert_eq!(exported, [&json!(id), &json!(entered_id)]);
    assert!(!export.to_string().contains(name));
    assert_problem(
        &server.get("/api/issues/central-export?due=2027-03-01", Some(&keeper)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "not_a_collection_day",
    );
    assert_problem(
        &server.get(&format!("/api/issues/central-export?due={due}"), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
}

#[tokio::test]
async fn the_public_list_filters_by_territory_status_category_and_level_in_pages() {
    let server = TestServer::start().await;
    let keeper = commission(&server).await;
    let admin = server.admin().await;
    let district = server.create_territory(&admin, &format!("19{:07}", rand_suffix() % 10_000_000)).await;
    let (status, village) = server
        .post(
            "/api/territories",
            Some(&admin),
            json!({"kato": format!("19{:07}", rand_suffix() % 10_000_000), "kind": "village", "parent_id": district,
                   "name": {"kk": "Ауыл", "ru": "Село", "en": "Village"}}),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{village}");
    let village = village["id"].as_i64().expect("id");
    let elsewhere = server.create_territory(&admin, &format!("27{:07}", rand_suffix() % 10_000_000)).await;
    for (index, territory) in [village, village, district, elsewhere].into_iter().enumerate() {
        let category = if index == 0 { "water" } else { "roads" };
        let (_, created) = server
            .post(
                "/api/issues",
                Some(&keeper),
                json!({"title": format!("Issue {index}"), "territory_id": territory, "category": category}),
            )
            .await;
        let id = created["issue"]["id"].as_i64().expect("id");
        set_status(&server, id, &keeper, json!({"status": "accepted"})).await;
        if index == 1 {
            set_status(&server, id, &keeper, json!({"status": "escalated", "level": "oblast"})).await;
        }
    }
    let total = |query: &str| {
        let server = &server;
        let query = query.to_owned();
        async move {
            let (status, page) = server.get(&format!("/api/issues?{query}"), None).await;
            assert_eq!(status, StatusCode::OK, "{query}: {page}");
            (page["total"].as_u64().expect("present"), page["items"].as_array().expect("present").len())
        }
    };
    assert_eq!(total(&format!("territory_id={district}")).await.0, 3, "the district and its village");
    assert_eq!(total(&format!("territory_id={village}")).await.0, 2);
    assert_eq!(total(&format!("territory_id={district}&category=water")).await.0, 1);
    assert_eq!(total(&format!("territory_id={district}&status=escalated&level=oblast")).await.0, 1);
    assert_eq!(total(&format!("territory_id={district}&status=accepted")).await.0, 2);
    assert_eq!(total(&format!("territory_id={district}&page=2&page_size=2")).await, (3, 1));
    assert_problem(
        &server.get("/api/issues?page=0", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_paging",
    );
    assert_problem(
        &server.get("/api/issues?status=lost", None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    let (status, categories) = server.get("/api/issues/categories", None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        categories.as_array().expect("present").iter().any(|c| c["code"] == "roads" && c["ru"] == "Дороги")
    );
}

#[tokio::test]
async fn exports_stream_every_matching_issue_in_id_order() {
    let server = TestServer::start().await;
    let keeper = commission(&server).await;
    // More rows than the export reads at a time.
    let mut file = String::from("channel,external_id,title,category\n");
    for n in 0..1234 {
        file.push_str(&format!("bulk,{n},Issue {n},{}\n", if n % 2 == 0 { "roads" } else { "water" }));
    }
    let response = reqwest::Client::new()
        .post(server.url("/api/issues/import"))
        .bearer_auth(&keeper)
        .header("content-type", "text/csv")
        .body(file)
        .send()
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::OK);
    let get = |path: String| {
        let keeper = keeper.clone();
        let url = server.url(&path);
        async move {
            let response = reqwest::Client::new().get(url).bearer_auth(keeper).send().await.expect("answers");
            assert_eq!(response.status(), StatusCode::OK);
            let disposition = response.headers()["content-disposition"].to_str().expect("ascii").to_owned();
            (disposition, response.text().await.expect("a body"))
        }
    };
    let (disposition, json_file) = get("/api/issues/export?format=json".into()).await;
    assert!(disposition.contains("issues.json"), "{disposition}");
    let issues: Vec<Value> = serde_json::from_str(&json_file).expect("a JSON array");
    assert_eq!(issues.len(), 1234);
    let ids: Vec<i64> = issues.iter().map(|issue| issue["id"].as_i64().expect("id")).collect();
    assert!(ids.windows(2).all(|pair| pair[0] < pair[1]), "in id order");
    let (_, csv_file) = get("/api/issues/export?format=csv&category=water".into()).await;
    let mut reader = csv::Reader::from_reader(csv_file.as_bytes());
    assert_eq!(reader.headers().expect("a header").get(0), Some("id"));
    assert_eq!(reader.records().count(), 617);
    // None is public yet, and none is late: both exports are empty, and still well-formed.
    let (status, public) = raw(&server, "/api/issues/export?format=json").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_str::<Value>(&public).expect("JSON"), json!([]));
    let (_, late) = get("/api/issues/export?format=json&overdue=true".into()).await;
    assert_eq!(serde_json::from_str::<Value>(&late).expect("JSON"), json!([]));
    assert_problem(
        &server.get("/api/issues/export?format=xml", None).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_format",
    );
}

/// Two keepers merge a pair of issues into each other at the same moment: one merge happens
/// and the other is refused, on either store; neither issue ends up merged into the other both
/// ways, and no source is lost.
#[tokio::test]
async fn crossed_merges_at_once_merge_one_way_only() {
    let server = TestServer::start().await;
    let (meeting, _akim) = server.meeting_with_akim(60).await;
    let keeper = commission(&server).await;
    for round in 0..3 {
        let a =
            send_request(&server, meeting, "Иван", &format!("+7 700 000 1{round} 01"), "Яма на дороге").await;
        let b = send_request(&server, meeting, "Айгуль", &format!("+7 700 000 1{round} 02"), "Яма на улице")
            .await;
        let (a, b) = (a["issue_id"].as_i64().expect("an id"), b["issue_id"].as_i64().expect("an id"));
        let (a_path, b_path) = (format!("/api/issues/{a}/merge"), format!("/api/issues/{b}/merge"));
        let (one, other) = tokio::join!(
            server.post(&a_path, Some(&keeper), json!({"into": b})),
            server.post(&b_path, Some(&keeper), json!({"into": a})),
        );
        let statuses = [one.0, other.0];
        assert!(statuses.contains(&StatusCode::OK), "round {round}: {statuses:?}");
        assert!(statuses.contains(&StatusCode::CONFLICT), "round {round}: {statuses:?}");
        let kept = if one.0 == StatusCode::OK { b } else { a };
        let (status, view) = server.get(&format!("/api/issues/{kept}"), Some(&keeper)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(view["merged_into"], serde_json::Value::Null, "{view}");
        assert_eq!(view["sources"].as_array().expect("sources").len(), 2, "{view}");
    }
}
