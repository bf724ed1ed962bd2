//! Sign-in, tokens, roles and account management.

use crate::support::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use sha2::{Digest, Sha256};
use sqlx::Row;

#[tokio::test]
async fn sign_in_gives_a_token_and_a_strict_http_only_cookie() {
    let server = TestServer::start().await;
    let response = reqwest::Client::new()
        .post(server.url("/api/session"))
        .json(&json!({"login": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
    let cookie =
        response.headers().get("set-cookie").and_then(|v| v.to_str().ok()).expect("a cookie").to_owned();
    assert!(cookie.starts_with("kezdesu_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Strict"), "{cookie}");
    let body: serde_json::Value = response.json().await.expect("json");
    let token = body["token"].as_str().expect("token");
    assert!(cookie.contains(token), "the cookie carries the same token");
    assert_eq!(body["account"]["role"], "admin");

    let (status, current) = server.get("/api/session", Some(token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(current["account"]["login"], "admin");
}

#[tokio::test]
async fn the_cookie_alone_signs_the_web_pages_in() {
    let server = TestServer::start().await;
    let (status, _) = read(
        server
            .client
            .post(server.url("/api/session"))
            .json(&json!({"login": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .expect("answer"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    // The same client now carries only the cookie, no Authorization header.
    let (status, body) =
        read(server.client.get(server.url("/api/accounts")).send().await.expect("answer")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) =
        read(server.client.delete(server.url("/api/session")).send().await.expect("answer")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let answer = read(server.client.get(server.url("/api/accounts")).send().await.expect("answer")).await;
    assert_problem(&answer, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn wrong_passwords_and_unknown_logins_are_refused_alike() {
    let server = TestServer::start().await;
    let wrong =
        server.post("/api/session", None, json!({"login": "admin", "password": "not it at all"})).await;
    assert_problem(&wrong, StatusCode::UNAUTHORIZED, "wrong_credentials");
    let unknown =
        server.post("/api/session", None, json!({"login": "nobody", "password": "not it at all"})).await;
    assert_problem(&unknown, StatusCode::UNAUTHORIZED, "wrong_credentials");
    assert_eq!(wrong.1["detail"], unknown.1["detail"]);
}

#[tokio::test]
async fn sign_out_ends_the_token_and_tokens_are_stored_hashed() {
    let server = TestServer::start().await;
    let token = server.admin().await;

    let database = server.database().await;
    let stored: Vec<String> = sqlx::query("SELECT token_hash FROM staff_sessions")
        .fetch_all(&database)
        .await
        .expect("query")
        .iter()
        .map(|row| row.get("token_hash"))
        .collect();
    let expected: String = Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(stored, vec![expected]);
    let hash: String = sqlx::query("SELECT password_hash FROM accounts WHERE login = 'admin'")
        .fetch_one(&database)
        .await
        .expect("query")
        .get("password_hash");
    assert!(hash.starts_with("$argon2id$"), "{hash}");

    let (status, _) = server.call(Method::DELETE, "/api/session", Some(&token), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let answer = server.get("/api/session", Some(&token)).await;
    assert_problem(&answer, StatusCode::UNAUTHORIZED, "unauthenticated");
}

#[tokio::test]
async fn only_admins_manage_accounts() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    server.create_account(&admin, "moder", "moderator").await;
    let moderator = server.sign_in("moder", &password_of("moder")).await;

    assert_problem(&server.get("/api/accounts", Some(&moderator)).await, StatusCode::FORBIDDEN, "forbidden");
    let create =
        json!({"login": "sneaky", "display_name": "x", "role": "admin", "password": "long enough password"});
    assert_problem(
        &server.post("/api/accounts", Some(&moderator), create).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_problem(
        &server.patch("/api/accounts/2", Some(&moderator), json!({"role": "admin"})).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_problem(&server.get("/api/accounts", None).await, StatusCode::UNAUTHORIZED, "unauthenticated");

    let (status, list) = server.get("/api/accounts", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    let logins: Vec<_> =
        list["accounts"].as_array().expect("list").iter().map(|a| a["login"].clone()).collect();
    assert_eq!(logins, vec![json!("admin"), json!("moder")]);
    assert!(list.to_string().find("password").is_none(), "no password hash leaves the server: {list}");
}

#[tokio::test]
async fn account_rules_hold() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let id = server.create_account(&admin, "akim.one", "akim").await;

    let taken =
        json!({"login": "akim.one", "display_name": "x", "role": "akim", "password": "long enough password"});
    assert_problem(
        &server.post("/api/accounts", Some(&admin), taken).await,
        StatusCode::CONFLICT,
        "already_taken",
    );
    let weak = json!({"login": "weak", "display_name": "x", "role": "akim", "password": "short"});
    assert_problem(
        &server.post("/api/accounts", Some(&admin), weak).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "weak_password",
    );
    let bad_login = json!({"login": "Has Spaces", "display_name": "x", "role": "akim", "password": "long enough password"});
    assert_problem(
        &server.post("/api/accounts", Some(&admin), bad_login).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_login",
    );
    let bad_role =
        json!({"login": "x1x", "display_name": "x", "role": "viewer", "password": "long enough password"});
    assert_problem(
        &server.post("/api/accounts", Some(&admin), bad_role).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_body",
    );

    // Disabling an account ends its sign-ins and refuses new ones.
    let akim = server.sign_in("akim.one", &password_of("akim.one")).await;
    let (status, account) =
        server.patch(&format!("/api/accounts/{id}"), Some(&admin), json!({"disabled": true})).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(account["disabled"], true);
    assert_problem(
        &server.get("/api/session", Some(&akim)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    let again = server
        .post("/api/session", None, json!({"login": "akim.one", "password": password_of("akim.one")}))
        .await;
    assert_problem(&again, StatusCode::UNAUTHORIZED, "wrong_credentials");

    // The last enabled admin cannot demote themselves (nor may any admin).
    assert_problem(
        &server.patch("/api/accounts/1", Some(&admin), json!({"role": "moderator"})).await,
        StatusCode::CONFLICT,
        "own_account",
    );
    assert_problem(&server.get("/api/accounts/999", Some(&admin)).await, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn sign_in_attempts_are_rate_limited_per_address() {
    let server = TestServer::start_with(|config| config.auth.sign_in_attempts_per_minute = 3).await;
    for _ in 0..3 {
        let answer =
            server.post("/api/session", None, json!({"login": "admin", "password": "wrong password"})).await;
        assert_problem(&answer, StatusCode::UNAUTHORIZED, "wrong_credentials");
    }
    let limited =
        server.post("/api/session", None, json!({"login": "admin", "password": ADMIN_PASSWORD})).await;
    assert_problem(&limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited");
    assert!(limited.1["retry_after_seconds"].as_u64().is_some_and(|s| s >= 1), "{}", limited.1);
}

#[tokio::test]
async fn viewers_get_tokens_without_an_account_but_no_staff_powers() {
    let server = TestServer::start().await;
    let (meeting, _akim) = server.meeting_with_akim(60).await;
    let (status, viewer) = server
        .post(&format!("/api/meetings/{meeting}/viewers"), None, json!({"display_name": "  Айгүл\u{200B} "}))
        .await;
    assert_eq!(status, StatusCode::CREATED, "{viewer}");
    assert_eq!(viewer["display_name"], "Айгүл");
    assert_eq!(viewer["meeting_id"], meeting);
    let token = viewer["token"].as_str().expect("token");

    let answer = server
        .post(&format!("/api/meetings/{meeting}/phase"), Some(token), json!({"phase": "presentation"}))
        .await;
    assert_problem(&answer, StatusCode::FORBIDDEN, "forbidden");
    assert_problem(&server.get("/api/session", Some(token)).await, StatusCode::FORBIDDEN, "forbidden");
    assert_problem(&server.get("/api/accounts", Some(token)).await, StatusCode::FORBIDDEN, "forbidden");

    let empty = server
        .post(&format!("/api/meetings/{meeting}/viewers"), None, json!({"display_name": " \u{7} "}))
        .await;
    assert_problem(&empty, StatusCode::UNPROCESSABLE_ENTITY, "invalid_display_name");
    let unknown = server.post("/api/meetings/9999/viewers", None, json!({"display_name": "Бек"})).await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, "not_found");
}

#[tokio::test]
async fn rate_limits_follow_the_client_behind_a_trusted_proxy() {
    let server = TestServer::start_with(|config| {
        config.auth.sign_in_attempts_per_minute = 2;
        config.server.trusted_proxies = vec!["127.0.0.1".parse().expect("address")];
    })
    .await;
    let attempt = |forwarded_for: &'static str| {
        let url = server.url("/api/session");
        async move {
            let response = reqwest::Client::new()
                .post(url)
                .header("x-forwarded-for", forwarded_for)
                .json(&json!({"login": "admin", "password": "wrong password"}))
                .send()
                .await
                .expect("answer");
            response.status()
        }
    };
    assert_eq!(attempt("203.0.113.7").await, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt("203.0.113.7").await, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt("203.0.113.7").await, StatusCode::TOO_MANY_REQUESTS);
    // Another citizen behind the same proxy has a quota of their own; a forged hop to the left
    // of the proxy's own entry changes nothing.
    assert_eq!(attempt("203.0.113.8").await, StatusCode::UNAUTHORIZED);
    assert_eq!(attempt("198.51.100.1, 203.0.113.7").await, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let server = TestServer::start().await;
    let token = server.admin().await;
    let response = reqwest::Client::new()
        .get(server.url("/api/session"))
        .header("authorization", format!("bearer {token}"))
        .send()
        .await
        .expect("answer");
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn there_is_always_an_enabled_admin() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let second = server.create_account(&admin, "second.admin", "admin").await;
    let (status, _) =
        server.patch(&format!("/api/accounts/{second}"), Some(&admin), json!({"disabled": true})).await;
    assert_eq!(status, StatusCode::OK, "another admin is left");
    // Alone, an admin could only disable themselves, which no admin may do; `last_admin` then
    // guards the race of two admins disabling each other (the next test).
    let answer = server.patch("/api/accounts/1", Some(&admin), json!({"disabled": true})).await;
    assert_problem(&answer, StatusCode::CONFLICT, "own_account");
    let (status, _) =
        server.patch(&format!("/api/accounts/{second}"), Some(&admin), json!({"disabled": false})).await;
    assert_eq!(status, StatusCode::OK);
    let second_token = server.sign_in("second.admin", &password_of("second.admin")).await;
    let (status, _) =
        server.patch("/api/accounts/1", Some(&second_token), json!({"role": "moderator"})).await;
    assert_eq!(status, StatusCode::OK, "the second admin is enabled again");
}

/// Two admins disable each other at the same moment: on either store, one of them must stay.
/// (On PostgreSQL this needs the admins' rows locked before the check; SQLite's single writer
/// gives it for free.)
#[tokio::test]
async fn two_admins_disabling_each_other_at_once_leave_one_enabled() {
    let server = TestServer::start().await;
    let mut admin = server.admin().await;
    // Three rounds keep within the sign-in rate limit.
    for round in 0..3 {
        let login = format!("rival.{round}");
        let rival_id = server.create_account(&admin, &login, "admin").await;
        let rival = server.sign_in(&login, &password_of(&login)).await;
        let rival_path = format!("/api/accounts/{rival_id}");
        let (first, second) = tokio::join!(
            server.patch(&rival_path, Some(&admin), json!({"disabled": true})),
            server.patch("/api/accounts/1", Some(&rival), json!({"disabled": true})),
        );
        // One wins; the other is refused as the last admin, or, when it came second, finds its
        // own sign-in already ended by the winner.
        let statuses = [first.0, second.0];
        assert_eq!(
            statuses.iter().filter(|status| **status == StatusCode::OK).count(),
            1,
            "round {round}: {statuses:?}"
        );
        let remaining = if first.0 == StatusCode::OK { &admin } else { &rival };
        let (_, accounts) = server.get("/api/accounts", Some(remaining)).await;
        let enabled_admins = accounts["accounts"]
            .as_array()
            .expect("a list")
            .iter()
            .filter(|account| account["role"] == "admin" && account["disabled"] == false)
            .count();
        assert_eq!(enabled_admins, 1, "round {round}: {accounts}");
        if first.0 != StatusCode::OK {
            // The rival won: enable this test's admin again and retire the rival.
            let (status, _) = server.patch("/api/accounts/1", Some(&rival), json!({"disabled": false})).await;
            assert_eq!(status, StatusCode::OK);
            admin = server.admin().await;
            let (status, _) = server
                .patch(&format!("/api/accounts/{rival_id}"), Some(&admin), json!({"disabled": true}))
                .await;
            assert_eq!(status, StatusCode::OK);
        }
    }
}

#[tokio::test]
async fn an_admin_cannot_lock_themselves_out_and_keeps_the_sign_in_that_changed_their_password() {
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let (_, current) = server.get("/api/session", Some(&admin)).await;
    let own = current["account"]["id"].as_i64().expect("the admin's id");
    // A second admin exists, so `last_admin` is not what refuses these.
    let other_login = format!("admin{}", rand_suffix());
    let other = server.create_account(&admin, &other_login, "admin").await;

    for change in [json!({"disabled": true}), json!({"role": "moderator"})] {
        let answer = server.patch(&format!("/api/accounts/{own}"), Some(&admin), change.clone()).await;
        assert_problem(&answer, StatusCode::CONFLICT, "own_account");
    }
    let (status, _) = server.get("/api/session", Some(&admin)).await;
    assert_eq!(status, StatusCode::OK, "the refused changes ended nothing");

    // A new password ends the admin's other sign-ins, not the one that set it.
    let elsewhere = server.admin().await;
    let new_password = "a new and long admin password";
    let (status, body) =
        server.patch(&format!("/api/accounts/{own}"), Some(&admin), json!({"password": new_password})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(server.get("/api/session", Some(&admin)).await.0, StatusCode::OK);
    assert_problem(
        &server.get("/api/session", Some(&elsewhere)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    server.sign_in("admin", new_password).await;

    // Another admin may still disable this one, which ends all its sign-ins.
    let other_token = server.sign_in(&other_login, &password_of(&other_login)).await;
    let (status, body) =
        server.patch(&format!("/api/accounts/{own}"), Some(&other_token), json!({"disabled": true})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_problem(
        &server.get("/api/session", Some(&admin)).await,
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
    );
    // And its own password change, through the same route, keeps its own sign-in too.
    let (status, _) = server
        .patch(&format!("/api/accounts/{other}"), Some(&other_token), json!({"password": new_password}))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(server.get("/api/session", Some(&other_token)).await.0, StatusCode::OK);
}
