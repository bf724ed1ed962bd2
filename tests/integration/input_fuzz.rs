//! The parsers of the bodies other programs send, fuzzed: SDP offers (WHIP, WHEP), trickle ICE
//! fragments (the sessions' PATCH, RFC 8840) and the register's imports (issues and
//! territories, CSV and JSON). The import rows' own checks are fuzzed in the core
//! (`server/core/tests/import_fuzz.rs`); there is no iCalendar input (`ical.rs` only writes).
//!
//! At the function level (`media::signaling`): no input panics, every refusal is the typed
//! error, and what is accepted keeps the parser's promises (a fragment written back out parses
//! to itself; an accepted offer carries a kind). Through the real server, for every route that
//! takes such a body: generated garbage, and real bodies broken by a mutation, get a 4xx
//! `application/problem+json` (or are accepted), never a 5xx, and the server serves on.
//!
//! The cases come from fixed seeds, so a failure repeats. `KEZDESU_FUZZ_CASES` sets the cases
//! per property and per route (by default 256 per property and 24 per route, about two seconds
//! in `tests/run`); docs/api.md ("The bodies other programs send, fuzzed") gives longer runs.

use crate::media::{publisher, stream_key};
use crate::support::TestServer;
use kezdesu::media::engine::synthetic::{SyntheticPublisher, viewer_offer_that_never_connects};
use kezdesu::media::signaling::{
    FragmentError, OfferError, TrickleFragment, accepts_codec, ice_ufrag, offered_kinds,
    parse_trickle_fragment,
};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
use reqwest::StatusCode;
use std::net::{IpAddr, Ipv4Addr};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

/// `KEZDESU_FUZZ_CASES`, or `default`.
fn cases(default: u32) -> u32 {
    std::env::var("KEZDESU_FUZZ_CASES").ok().and_then(|value| value.parse().ok()).unwrap_or(default)
}

/// `count` values of `strategy` from the fixed seed named `seed`.
fn generate<S: Strategy>(strategy: S, count: u32, seed: &str) -> Vec<S::Value> {
    let config = ProptestConfig { cases: 1, ..ProptestConfig::default() };
    let mut bytes = [0u8; 32];
    for (byte, from) in bytes.iter_mut().zip(seed.bytes()) {
        *byte = from;
    }
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes));
    (0..count).map(|_| strategy.new_tree(&mut runner).expect("a case").current()).collect()
}

/// A line of text that is no SDP at all, or almost.
fn noise_line() -> BoxedStrategy<String> {
    prop_oneof![
        "\\PC{0,30}",
        any::<String>(),
        "[a-z]=[ -~]{0,20}",
        Just(String::new()),
        Just("a=".to_owned()),
        Just("m=".to_owned()),
        Just("\u{0}\u{feff}\u{202e}".to_owned()),
    ]
    .boxed()
}

/// A line an offer could have, or noise.
fn offer_line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => (prop_oneof![Just("audio"), Just("video"), Just("application"), Just("")], prop_oneof![Just("9"), Just("0"), Just("")])
            .prop_map(|(kind, port)| format!("m={kind} {port} UDP/TLS/RTP/SAVPF 96 111")),
        3 => prop_oneof![Just("sendrecv"), Just("sendonly"), Just("recvonly"), Just("inactive")].prop_map(|d| format!("a={d}")),
        1 => Just("a=simulcast:send 1;2".to_owned()),
        1 => Just("a=rid:1 send".to_owned()),
        2 => Just("a=rtpmap:96 H264/90000".to_owned()),
        2 => "[0-9a-f=;-]{0,40}".prop_map(|values| format!("a=fmtp:96 {values}")),
        1 => "[ -~]{0,12}".prop_map(|ufrag| format!("a=ice-ufrag:{ufrag}")),
        2 => noise_line(),
    ]
}

/// An offer-like body: maybe `v=0` first, lines joined by CRLF or LF.
fn offer_text() -> impl Strategy<Value = String> {
    (any::<bool>(), prop::collection::vec(offer_line(), 0..14), any::<bool>()).prop_map(
        |(v0, lines, crlf)| {
            let mut all = if v0 { vec!["v=0".to_owned()] } else { Vec::new() };
            all.extend(lines);
            all.join(if crlf { "\r\n" } else { "\n" })
        },
    )
}

/// A line a trickle fragment could have, or noise.
fn fragment_line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => "[ -~]{0,10}".prop_map(|mid| format!("a=mid:{mid}")),
        4 => "[ -~]{0,40}".prop_map(|rest| format!("a=candidate:{rest}")),
        1 => Just("a=candidate:1 1 udp 2130706431 127.0.0.1 50000 typ host".to_owned()),
        2 => "[ -~]{0,12}".prop_map(|ufrag| format!("a=ice-ufrag:{ufrag}")),
        1 => "[ -~]{0,24}".prop_map(|pwd| format!("a=ice-pwd:{pwd}")),
        1 => Just("a=end-of-candidates".to_owned()),
        1 => Just("m=audio 9 RTP/AVP 0".to_owned()),
        1 => "[a-z-]{1,12}(:[ -~]{0,10})?".prop_map(|unknown| format!("a={unknown}")),
        1 => Just(String::new()),
        1 => noise_line(),
    ]
}

fn fragment_text() -> impl Strategy<Value = String> {
    (prop::collection::vec(fragment_line(), 0..80), any::<bool>())
        .prop_map(|(lines, crlf)| lines.join(if crlf { "\r\n" } else { "\n" }))
}

/// A fragment written back out as RFC 8840 text; parsing it gives the fragment again.
fn write_fragment(fragment: &TrickleFragment) -> String {
    let mut lines = Vec::new();
    if let Some(ufrag) = &fragment.ice_ufrag {
        lines.push(format!("a=ice-ufrag:{ufrag}"));
    }
    if let Some(pwd) = &fragment.ice_pwd {
        lines.push(format!("a=ice-pwd:{pwd}"));
    }
    let (mut section, mut mid): (Option<u16>, Option<&str>) = (None, None);
    for candidate in &fragment.candidates {
        while section.is_none_or(|index| index < candidate.mline_index) {
            lines.push("m=audio 9 UDP/TLS/RTP/SAVPF 0".to_owned());
            section = Some(section.map_or(0, |index| index + 1));
        }
        if candidate.mid.as_deref() != mid {
            mid = candidate.mid.as_deref();
            lines.push(format!("a=mid:{}", mid.unwrap_or_default()));
        }
        lines.push(format!("a={}", candidate.candidate));
    }
    if fragment.end_of_candidates {
        lines.push("a=end-of-candidates".to_owned());
    }
    lines.join("\r\n")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(256), ..ProptestConfig::default() })]

    #[test]
    fn an_offer_is_read_or_refused_by_kind(text in offer_text(), sending in any::<bool>()) {
        let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
        match offered_kinds(&text, sending) {
            Ok(kinds) => {
                prop_assert!(kinds.audio || kinds.video, "an accepted offer carries media");
                prop_assert!(text.trim_start().starts_with("v=0"));
                prop_assert!(lines.iter().filter(|line| line.starts_with("m=")).count() <= 8);
                prop_assert!(!(sending && lines.iter().any(|line| line.starts_with("a=simulcast:") || line.starts_with("a=rid:"))));
            }
            Err(OfferError::NotSdp) => prop_assert!(!text.trim_start().starts_with("v=0")),
            Err(OfferError::NoMedia) => prop_assert!(text.trim_start().starts_with("v=0")),
            Err(OfferError::TooManySections) => {
                prop_assert!(lines.iter().filter(|line| line.starts_with("m=")).count() > 8);
            }
            Err(OfferError::Simulcast) => {
                prop_assert!(sending);
                prop_assert!(lines.iter().any(|line| line.starts_with("a=simulcast:") || line.starts_with("a=rid:")));
            }
        }
        // The other readers of an offer take anything too.
        let _ = accepts_codec(&text, "video", "video/H264", "packetization-mode=1;profile-level-id=42e01f");
        let _ = accepts_codec(&text, "audio", "audio/opus", "");
        let _ = accepts_codec(&text, "video", "nonsense", "");
        if let Some(ufrag) = ice_ufrag(&text) {
            let line = format!("a=ice-ufrag:{ufrag}");
            prop_assert!(lines.contains(&line.as_str()));
        }
    }

    #[test]
    fn a_fragment_is_read_back_or_refused_by_kind(text in fragment_text()) {
        match parse_trickle_fragment(&text) {
            Ok(fragment) => {
                prop_assert!(fragment.candidates.len() <= 64);
                let lines: Vec<&str> = text.lines().map(str::trim).collect();
                for candidate in &fragment.candidates {
                    prop_assert!(candidate.candidate.starts_with("candidate:"));
                    let line = format!("a={}", candidate.candidate);
                    prop_assert!(lines.contains(&line.as_str()), "{line} is a line of the body");
                }
                prop_assert_eq!(parse_trickle_fragment(&write_fragment(&fragment)), Ok(fragment));
            }
            Err(FragmentError::NotAnAttribute(line)) => {
                let found = text.lines().nth(line - 1).map(str::trim);
                prop_assert!(found.is_some_and(|l| !l.starts_with("a=") && !l.starts_with("m=") && !l.is_empty()));
            }
            Err(FragmentError::CandidateWithoutMid) => {}
            Err(FragmentError::TooManyCandidates) => {
                prop_assert!(text.lines().filter(|l| l.trim().starts_with("a=candidate:")).count() > 64);
            }
        }
    }
}

/// What a route answered, as the fuzz expects it: a problem document for a 4xx, never a 5xx.
async fn expect_refused_or_taken(response: reqwest::Response, what: &str) -> (StatusCode, Option<String>) {
    let status = response.status();
    let location = response.headers().get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let body = response.text().await.expect("a body");
    assert!(!status.is_server_error(), "{what}: {status} {body}");
    if status.is_client_error() {
        assert_eq!(content_type, "application/problem+json", "{what}: {status} {body}");
        let problem: serde_json::Value = serde_json::from_str(&body).expect("a problem document");
        assert_eq!(problem["status"], status.as_u16(), "{what}: {body}");
        assert!(problem["code"].as_str().is_some_and(|code| !code.is_empty()), "{what}: {body}");
    }
    (status, location)
}

/// A real body broken by one of the mutations a bad client or a proxy makes.
fn mutated(real: String) -> impl Strategy<Value = String> {
    // `at` and `other` index the real body's lines (`split` gives at least one).
    let lines: Vec<String> = real.split("\r\n").map(str::to_owned).collect();
    let count = lines.len();
    (0..7u8, 0..count, 0..count, noise_line(), 0usize..200).prop_map(move |(how, at, other, noise, cut)| {
        let mut lines = lines.clone();
        match how {
            0 => drop(lines.remove(at)),
            1 => lines.insert(at, noise),
            2 => lines.swap(at, other),
            3 => {
                let copy = lines[at].clone();
                lines.insert(other, copy);
            }
            4 => {
                let line = &mut lines[at];
                let keep =
                    line.char_indices().nth(cut % (line.chars().count() + 1)).map_or(line.len(), |(i, _)| i);
                line.truncate(keep);
            }
            5 => lines[at] = noise,
            _ => {
                let joined = lines.join("\r\n");
                let keep = joined.char_indices().nth(cut * 8).map_or(joined.len(), |(i, _)| i);
                return joined[..keep].to_owned();
            }
        }
        lines.join("\r\n")
    })
}

/// WHIP and WHEP offers and PATCH fragments, through the real server: garbage and broken real
/// offers are refused with a problem (or answered), never with a 5xx; accepted sessions are
/// ended at once; the synthetic publisher stays on air throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_routes_refuse_garbage_with_problems() {
    let count = cases(24);
    let server = TestServer::start_with(|config| {
        config.media.viewer_sessions_per_minute_per_address = 1_000_000;
    })
    .await;
    let (on_air, akim, _moderator) = server.live_meeting().await;
    let key = stream_key(&server, on_air, &akim).await;
    let publishing = SyntheticPublisher::start(publisher(&server, on_air, &key)).await.expect("publishing");
    let real_offer = viewer_offer_that_never_connects(LOOPBACK, 96).await.expect("a real WHEP offer");
    // WHIP goes to a second live meeting, with nobody on air.
    let (idle, idle_akim, _) = server.live_meeting().await;
    let idle_key = stream_key(&server, idle, &idle_akim).await;

    let offers = generate(
        prop_oneof![2 => offer_text(), 2 => mutated(real_offer.clone()), 1 => noise_line()],
        count,
        "sdp offers",
    );
    let fragments = generate(fragment_text(), count, "trickle fragments");

    let post = |path: String, token: Option<&str>, body: &str| {
        let mut request = server
            .client
            .post(server.url(&path))
            .header("content-type", "application/sdp")
            .body(body.to_owned());
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send()
    };
    let mut taken = 0;
    for offer in &offers {
        let response = post(format!("/api/meetings/{on_air}/whep"), None, offer).await.expect("whep");
        let (status, location) = expect_refused_or_taken(response, &format!("WHEP {offer:?}")).await;
        if status == StatusCode::CREATED {
            taken += 1;
            let location = location.expect("a created session has a Location");
            let ended = server.client.delete(server.url(&location)).send().await.expect("delete");
            assert_eq!(ended.status(), StatusCode::OK);
        }
        let response =
            post(format!("/api/meetings/{idle}/whip"), Some(&idle_key), offer).await.expect("whip");
        let (status, location) = expect_refused_or_taken(response, &format!("WHIP {offer:?}")).await;
        if status == StatusCode::CREATED {
            let location = location.expect("a created session has a Location");
            let ended = server
                .client
                .delete(server.url(&location))
                .bearer_auth(&idle_key)
                .send()
                .await
                .expect("delete");
            assert_eq!(ended.status(), StatusCode::OK);
        }
    }

    // PATCH: to a viewer's session that exists (its fragments reach the engine), to the
    // publisher's, and to a session that does not.
    let whep = post(format!("/api/meetings/{on_air}/whep"), None, &real_offer).await.expect("whep");
    assert_eq!(whep.status(), StatusCode::CREATED);
    let viewer = whep.headers()["location"].to_str().expect("text").to_owned();
    let publisher_session = publishing.session_url().to_owned();
    for fragment in &fragments {
        let targets = [
            (server.url(&viewer), None),
            (publisher_session.clone(), Some(key.as_str())),
            (server.url(&format!("/api/meetings/{on_air}/whep/no-such-session")), None),
        ];
        for (url, token) in targets {
            let mut request = server
                .client
                .patch(&url)
                .header("content-type", "application/trickle-ice-sdpfrag")
                .body(fragment.clone());
            if let Some(token) = token {
                request = request.bearer_auth(token);
            }
            let response = request.send().await.expect("patch");
            expect_refused_or_taken(response, &format!("PATCH {url} {fragment:?}")).await;
        }
    }

    // The server serves on, and the broadcast was never disturbed.
    let (status, meeting) = server.get(&format!("/api/meetings/{on_air}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(meeting["broadcast"]["on_air"], true, "{meeting}");
    assert!(taken < offers.len(), "some offers were refused");
    eprintln!(
        "{} offers, {taken} WHEP sessions opened and ended, {} fragments",
        offers.len(),
        fragments.len()
    );
    drop(publishing);
}

/// A CSV cell with its quotes as a spreadsheet writes them.
fn csv_cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// An import file as someone might upload it: a header of known, unknown and repeated columns,
/// rows of any width, any cells, broken quoting, a byte-order mark, or not CSV at all.
fn csv_file(columns: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let column = prop_oneof![
        6 => proptest::sample::select(columns.to_vec()).prop_map(str::to_owned),
        1 => "[a-z_]{0,10}",
        1 => Just("\"unterminated".to_owned()),
    ];
    let cell = prop_oneof![
        3 => "[ -~]{0,12}",
        2 => "\\PC{0,16}",
        1 => Just("351010000".to_owned()),
        1 => Just("\"".to_owned()),
        1 => any::<String>(),
    ];
    (
        any::<bool>(),
        prop::collection::vec(column, 0..10),
        prop::collection::vec(prop::collection::vec(cell, 0..11), 0..6),
        prop_oneof![Just("\n"), Just("\r\n"), Just("\r")],
        0u8..4,
    )
        .prop_map(|(bom, header, rows, newline, raw)| {
            let mut text = if bom { "\u{feff}".to_owned() } else { String::new() };
            text.push_str(&header.iter().map(|name| csv_cell(name)).collect::<Vec<_>>().join(","));
            for row in rows {
                text.push_str(newline);
                // Now and then a row is written without quoting, as a careless export would.
                let cells: Vec<String> =
                    row.iter().map(|cell| if raw == 0 { cell.clone() } else { csv_cell(cell) }).collect();
                text.push_str(&cells.join(","));
            }
            let mut bytes = text.into_bytes();
            if raw == 1 {
                bytes.push(0xff); // not UTF-8
            }
            bytes
        })
}

/// A JSON body for an import: rows of any shape, the wrapped form, or not JSON at all.
fn json_file(columns: &'static [&'static str]) -> impl Strategy<Value = Vec<u8>> {
    let value = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        "\\PC{0,16}".prop_map(serde_json::Value::from),
        Just(serde_json::json!([1, 2])),
        Just(serde_json::json!({"a": "b"})),
    ];
    let key = prop_oneof![5 => proptest::sample::select(columns.to_vec()).prop_map(str::to_owned), 1 => "[a-z_]{1,8}"];
    let row = prop::collection::btree_map(key, value, 0..10)
        .prop_map(|fields| serde_json::Value::Object(fields.into_iter().collect()));
    let rows = prop::collection::vec(row, 0..6).boxed();
    prop_oneof![
        3 => rows.clone().prop_map(|rows| serde_json::to_vec(&rows).expect("json")),
        1 => rows.prop_map(|rows| serde_json::to_vec(&serde_json::json!({"rows": rows})).expect("json")),
        1 => "\\PC{0,40}".prop_map(String::into_bytes),
        1 => Just(b"[{\"title\": \"x\"".to_vec()),
        1 => Just(format!("{}1{}", "[".repeat(200), "]".repeat(200)).into_bytes()),
        1 => Just(b"[1e400]".to_vec()),
    ]
}

const ISSUE_COLUMNS: &[&str] = &[
    "channel",
    "external_id",
    "title",
    "text",
    "category",
    "territory_kato",
    "meeting_id",
    "supporters",
    "received_at",
];
const TERRITORY_COLUMNS: &[&str] = &["kato", "kind", "name_kk", "name_ru", "name_en", "parent_kato"];

/// Imports of issues and territories, CSV and JSON, through the real server: every file gets
/// 200 or a 4xx problem, never a 5xx, and the server serves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_routes_refuse_garbage_with_problems() {
    let count = cases(24);
    let server = TestServer::start().await;
    let admin = server.admin().await;
    let routes = [
        ("/api/issues/import", ISSUE_COLUMNS, "issue imports"),
        ("/api/territories/import", TERRITORY_COLUMNS, "territory imports"),
    ];
    let mut refused = 0;
    for (path, columns, seed) in routes {
        let files = generate(
            prop_oneof![
                (csv_file(columns), Just("text/csv")),
                (json_file(columns), Just("application/json")),
                (json_file(columns), Just("text/csv")),
                (csv_file(columns), Just("application/json")),
            ],
            count,
            seed,
        );
        for (body, content_type) in files {
            let response = server
                .client
                .post(server.url(path))
                .bearer_auth(&admin)
                .header("content-type", content_type)
                .body(body.clone())
                .send()
                .await
                .expect("import");
            let what = format!("{path} {content_type} {:?}", String::from_utf8_lossy(&body));
            let (status, _) = expect_refused_or_taken(response, &what).await;
            refused += usize::from(status.is_client_error());
        }
    }
    assert!(refused > 0, "garbage was refused");
    let (status, _) = server.get("/api/territories", None).await;
    assert_eq!(status, StatusCode::OK, "the server serves on");
}
