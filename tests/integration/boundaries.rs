//! The boundaries ARCHITECTURE.md claims, checked by reading the sources: what a part of the
//! server names (`use` lines and paths), which store methods it calls, what SQL exists, and
//! what the pages do. Each test names the claim it keeps; a claim with a test of its own
//! elsewhere is pointed to, and the claims no source scan can check are named in ARCHITECTURE.md
//! (`tests/`).
//!
//! - the core does no IO and reads no clock: `server/core/tests/core_is_pure.rs`;
//! - only the media engine names webrtc-rs: `engine_boundary.rs`;
//! - one zone for civil days: `local_zone.rs`.
//!
//! Lines in comments and a file's `#[cfg(test)]` module are not read: a test may do what the
//! code it tests must not.

use crate::sources::{files, repository};
use std::path::Path;

/// A source file: its path relative to the repository (with `/`) and its code lines, numbered
/// from 1, without comment lines and without its `#[cfg(test)]` module.
struct Source {
    name: String,
    lines: Vec<(usize, String)>,
}

fn sources_under(folder: &str, extensions: &[&str]) -> Vec<Source> {
    let root = repository();
    let found = files(&root.join(folder), extensions);
    assert!(!found.is_empty(), "no sources under {folder}");
    found.iter().map(|path| read_source(&root, path)).collect()
}

fn source(file: &str) -> Source {
    let root = repository();
    read_source(&root, &root.join(file))
}

fn read_source(root: &Path, path: &Path) -> Source {
    let name = path.strip_prefix(root).unwrap_or(path).to_string_lossy().replace('\\', "/");
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{name}: {error}"));
    let mut lines = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("#[cfg(test)]") {
            break;
        }
        if trimmed.starts_with("//") || trimmed.starts_with("/*") || trimmed.starts_with('*') {
            continue;
        }
        lines.push((index + 1, line.to_owned()));
    }
    Source { name, lines }
}

/// Every code line of `sources` that contains one of `words`, unless it also contains one of
/// `allowed`, as `file:line: text`.
fn naming(sources: &[Source], words: &[&str], allowed: &[&str]) -> Vec<String> {
    let mut found = Vec::new();
    for source in sources {
        for (number, line) in &source.lines {
            if words.iter().any(|word| line.contains(word)) && !allowed.iter().any(|ok| line.contains(ok)) {
                found.push(format!("{}:{number}: {}", source.name, line.trim()));
            }
        }
    }
    found
}

#[track_caller]
fn assert_none(found: Vec<String>, claim: &str) {
    assert!(found.is_empty(), "ARCHITECTURE.md: {claim}; but:\n{}", found.join("\n"));
}

/// The names of the store methods `sources` call (`store.name(`, `store().name(`).
fn store_calls(sources: &[Source]) -> Vec<(String, String)> {
    let mut calls = Vec::new();
    for source in sources {
        for (number, line) in &source.lines {
            for (at, _) in line.match_indices("store.").chain(line.match_indices("store().")) {
                let rest = &line[at..];
                let rest = &rest[rest.find('.').map_or(0, |dot| dot + 1)..];
                let method: String =
                    rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
                if rest[method.len()..].starts_with('(') && !method.is_empty() {
                    calls.push((format!("{}:{number}", source.name), method));
                }
            }
        }
    }
    calls
}

/// Whether a store method's name says it writes.
fn writes(method: &str) -> bool {
    const VERBS: &[&str] = &[
        "create_", "update_", "add_", "delete_", "set_", "put_", "import_", "merge_", "commit_", "publish_",
        "issue_", "book_", "cancel_", "link_", "unlink_", "replace_", "claim_", "finish_", "close_",
        "renew_", "start_", "mark_", "reseal_", "meet_", "support_", "follow_",
    ];
    VERBS.iter().any(|verb| method.starts_with(verb)) && method != "issue_history"
}

#[test]
fn the_room_does_no_http() {
    // `room`: "It does no HTTP." Its one name from axum is the WebSocket text type its frames
    // are built in once for every connection (`room/live.rs`, `FrameText`).
    let room = sources_under("server/src/room", &[".rs"]);
    assert_none(
        naming(&room, &["crate::http", "reqwest", "hyper::", "axum::"], &["axum::extract::ws::Utf8Bytes"]),
        "the room does no HTTP",
    );
}

#[test]
fn the_cluster_knows_no_rooms_media_or_http() {
    // `cluster`: "Redis, and nothing else (no rooms, no HTTP) … so the cluster knows neither"
    // the room's `PeerRequest` nor the media's `MediaRequest`.
    let cluster = sources_under("server/src/cluster", &[".rs"]);
    assert_none(
        naming(
            &cluster,
            &["crate::room", "crate::media", "crate::http", "axum", "PeerRequest", "MediaRequest"],
            &[],
        ),
        "the cluster knows no rooms, media or HTTP",
    );
}

#[test]
fn handlers_never_change_a_phase() {
    // "Handlers never change a meeting's phase: they ask the room." No handler sets a phase
    // instant or moves a timer; only the room commits the live log (and its phase changes).
    let http = sources_under("server/src/http", &[".rs"]);
    assert_none(
        naming(
            &http,
            &[
                "phases =",
                "phases.presentation_started_at =",
                "phases.qa_started_at =",
                "phases.ended_at =",
                ".advance(",
                ".enter(",
                ".commit_live(",
            ],
            &[],
        ),
        "handlers never change a meeting's phase",
    );
    let mut server = sources_under("server/src", &[".rs"]);
    server.retain(|source| {
        !source.name.starts_with("server/src/room/") && !source.name.starts_with("server/src/store/")
    });
    assert_none(
        naming(&server, &[".commit_live(", ".enter(target", "timer.enter("], &[]),
        "only the room writes a meeting's live state",
    );
}

#[test]
fn problem_is_the_one_error_map() {
    // "`problem` is the one place that maps errors to statuses." The media's errors are mapped
    // to `ApiError` (not to statuses) beside their handlers, in `http/media.rs`: the exception.
    let server = sources_under("server/src", &[".rs"]);
    let maps: Vec<String> =
        naming(&server, &["for ApiError", "impl IntoResponse for", "INTERNAL_SERVER_ERROR"], &[])
            .into_iter()
            .filter(|line| !line.starts_with("server/src/http/problem.rs:"))
            .filter(|line| {
                !(line.starts_with("server/src/http/media.rs:")
                    && line.contains("impl From<MediaError> for ApiError"))
            })
            .collect();
    assert_none(
        maps,
        "errors are mapped to statuses in http/problem.rs only (From<MediaError> in http/media.rs)",
    );
    // Every extractor the handlers use answers with a problem: axum's own `Path` and `Query`
    // only inside problem.rs (wrapped as `ApiPath`, `ApiQuery`), and in `web.rs`, whose
    // catch-all path of a page cannot be refused.
    let http = sources_under("server/src/http", &[".rs"]);
    let raw: Vec<String> = naming(
        &http,
        &["extract::Path", "extract::Query", "{Path", " Path,", " Path}", "{Query", " Query,", " Query}"],
        &[],
    )
    .into_iter()
    .filter(|line| line.contains("axum"))
    .filter(|line| {
        !line.starts_with("server/src/http/problem.rs:") && !line.starts_with("server/src/http/web.rs:")
    })
    .collect();
    assert_none(raw, "handlers extract paths and queries with ApiPath and ApiQuery");
}

#[test]
fn openapi_is_a_pure_pass_over_the_document() {
    // "`openapi` … must stay a pure pass over the document."
    let openapi = [source("server/src/http/openapi.rs")];
    assert_none(
        naming(
            &openapi,
            &[
                "async fn",
                "AppState",
                "crate::store",
                "crate::room",
                "crate::media",
                "tokio",
                "std::fs",
                "::now(",
            ],
            &[],
        ),
        "http/openapi.rs is a pure pass over the document",
    );
}

#[test]
fn the_pure_modules_do_no_io() {
    // `keyframe.rs` and `signaling.rs` "are pure"; `egress/flv.rs` is pure; the replay's joining
    // of parts (`recording/replay.rs`) is pure; the room's machines (`room/machine.rs`,
    // `room/live_machine.rs`) and its lease (`room/lease.rs`) read no clock and do no IO.
    let pure: Vec<Source> = [
        "server/src/room/machine.rs",
        "server/src/room/live_machine.rs",
        "server/src/room/lease.rs",
        "server/src/media/keyframe.rs",
        "server/src/media/signaling.rs",
        "server/src/egress/flv.rs",
        "server/src/recording/replay.rs",
    ]
    .into_iter()
    .map(source)
    .collect();
    assert_none(
        naming(
            &pure,
            &[
                "tokio",
                "std::fs",
                "std::net",
                "std::process",
                "std::thread",
                "::now(",
                "async fn",
                "reqwest",
                "sqlx",
                "store.",
            ],
            &[],
        ),
        "the pure modules do no IO and read no clock",
    );
}

#[test]
fn media_writes_no_meeting_state() {
    // "The media layer must not write meeting state: it only reads the room's events." It calls
    // no store method and asks the rooms only to subscribe; from the store it names only its
    // error type.
    let media = sources_under("server/src/media", &[".rs"]);
    assert_none(
        store_calls(&media).into_iter().map(|(at, method)| format!("{at}: store.{method}(")).collect(),
        "media calls no store method",
    );
    assert_none(
        naming(&media, &["crate::store"], &["crate::store::StoreError"]),
        "media names only the store's error",
    );
    assert_none(
        naming(&media, &["rooms."], &["rooms.subscribe("]),
        "media only subscribes to the room's events",
    );
    assert_none(naming(&media, &["crate::http", "axum::"], &[]), "media does no HTTP of the API");
}

#[test]
fn egress_reads_destinations_and_touches_no_room() {
    // "Egress reads destinations from the store and writes nothing; it never touches the
    // rooms." (`egress/hls.rs` "never touches a destination or the rooms" either.)
    let egress = sources_under("server/src/egress", &[".rs"]);
    let written: Vec<String> = store_calls(&egress)
        .into_iter()
        .filter(|(_, method)| writes(method))
        .map(|(at, method)| format!("{at}: store.{method}("))
        .collect();
    assert_none(written, "egress writes nothing to the store");
    assert_none(
        naming(&egress, &["crate::room", "Rooms", "rooms.", "crate::http"], &[]),
        "egress never touches the rooms",
    );
    let hls = [source("server/src/egress/hls.rs")];
    assert_none(
        naming(&hls, &["destination", "Destination", "rtmp"], &[]),
        "HLS never touches a destination",
    );
}

#[test]
fn one_process_encodes_the_broadcast() {
    // "One AAC encode per meeting": HLS is packaged by a copy-only ffmpeg, the recorder copies
    // what the publisher sent; only the restream's transcoder names an encoder (x264 for a VP8
    // publisher's video, AAC for Opus). tests/media/test_hls.py counts the processes too.
    let mut server = sources_under("server/src", &[".rs"]);
    server.retain(|source| source.name != "server/src/egress/transcoder.rs");
    assert_none(
        naming(&server, &["\"aac\"", "\"libx264\"", "\"libvpx", "\"libopus\"", "\"libfdk_aac\""], &[]),
        "only egress/transcoder.rs encodes",
    );
    let transcoder = [source("server/src/egress/transcoder.rs")];
    assert_eq!(naming(&transcoder, &["\"aac\""], &[]).len(), 1, "one AAC encoder, in the transcoder");
}

#[test]
fn recording_touches_no_room_or_restream() {
    // `recording`: "never depends on" egress (it shares only egress/transcoder.rs's ffmpeg
    // helpers), "writes its own tables and files only; it never touches the rooms or the
    // restream."
    let recording = sources_under("server/src/recording", &[".rs"]);
    assert_none(
        naming(&recording, &["crate::room", "Rooms", "rooms.", "crate::http"], &[]),
        "recording never touches the rooms",
    );
    assert_none(
        naming(&recording, &["crate::egress", "Egress"], &["crate::egress::transcoder"]),
        "recording uses only the transcoder's helpers of egress",
    );
    let foreign: Vec<String> = store_calls(&recording)
        .into_iter()
        .filter(|(_, method)| writes(method) && !method.contains("recording"))
        .map(|(at, method)| format!("{at}: store.{method}("))
        .collect();
    assert_none(foreign, "recording writes its own tables only");
}

#[test]
fn platform_clients_touch_no_store_or_room() {
    // `platforms/clients/`: each client "never touches the store or a room".
    let clients = sources_under("server/src/platforms/clients", &[".rs"]);
    assert_none(
        naming(&clients, &["crate::store", "crate::room", "Store", "Rooms", "store.", "rooms."], &[]),
        "platform clients never touch the store or a room",
    );
}

#[test]
fn the_compliance_dashboard_writes_nothing() {
    // "The compliance dashboard (`http/compliance.rs`) reads … it writes nothing."
    let compliance = [source("server/src/http/compliance.rs")];
    let calls = store_calls(&compliance);
    assert!(
        calls.iter().any(|(_, method)| method == "acted_issue_dates"),
        "the dashboard's reads were found"
    );
    let written: Vec<String> = calls
        .into_iter()
        .filter(|(_, method)| writes(method))
        .map(|(at, method)| format!("{at}: store.{method}("))
        .collect();
    assert_none(written, "the compliance dashboard writes nothing");
}

/// The SQL of the server and its migrations, one string per file, upper-cased.
fn all_sql() -> Vec<(String, String)> {
    let root = repository();
    let mut paths = files(&root.join("server/src"), &[".rs"]);
    paths.extend(files(&root.join("server/migrations"), &[".sql"]));
    paths
        .into_iter()
        .map(|path| {
            let name = path.strip_prefix(&root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&path).expect("readable");
            // Statements are split over lines with `\` continuations and runs of spaces.
            let flat = text.split_whitespace().collect::<Vec<_>>().join(" ").replace("\\ ", "");
            (name, flat.to_uppercase())
        })
        .collect()
}

#[test]
fn history_is_append_only_and_revisions_are_never_deleted() {
    // "The register's history is append-only … nothing updates or deletes history." and
    // "Nothing deletes a revision."
    let mut found = Vec::new();
    for (name, sql) in all_sql() {
        for statement in
            ["UPDATE ISSUE_HISTORY", "DELETE FROM ISSUE_HISTORY", "DELETE FROM CALENDAR_REVISIONS"]
        {
            if sql.contains(statement) {
                found.push(format!("{name}: {statement}"));
            }
        }
    }
    assert_none(found, "issue_history is only appended to, and no revision is deleted");
}

#[test]
fn contacts_are_read_by_one_endpoint() {
    // "Citizens' names and contacts live in `issue_source_contacts`, which only
    // `GET /api/issues/{id}/contacts` reads."
    let readers: Vec<String> = all_sql()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("server/migrations/") && !name.ends_with("store/migrations.rs"))
        .flat_map(|(name, sql)| {
            let reads = sql.matches("FROM ISSUE_SOURCE_CONTACTS").count()
                + sql.matches("JOIN ISSUE_SOURCE_CONTACTS").count();
            std::iter::repeat_n(name, reads)
        })
        .collect();
    assert_eq!(readers, vec!["server/src/store/sql/register.rs".to_owned()], "one query reads the contacts");
    let server = sources_under("server/src", &[".rs"]);
    let callers = naming(&server, &[".source_contacts("], &[]);
    assert_eq!(callers.len(), 1, "one handler reads them: {callers:?}");
    assert!(callers[0].starts_with("server/src/http/register/"), "{callers:?}");
}

#[test]
fn sealed_secrets_are_opened_where_they_are_used() {
    // Stream keys: "Keys are opened only in a destination's task"; credentials "opened only by
    // the supervisor to build a client"; both resealed at start-up (lib.rs) after a rotation.
    let server = sources_under("server/src", &[".rs"]);
    let opened: Vec<String> =
        naming(&server, &["sealer.open(", ".open(&record.credential_sealed", "Sealer::open"], &[])
            .into_iter()
            .filter(|line| {
                ![
                    "server/src/egress/mod.rs:",
                    "server/src/platforms/mod.rs:",
                    "server/src/lib.rs:",
                    "server/src/secrets.rs:",
                ]
                .iter()
                .any(|allowed| line.starts_with(allowed))
            })
            .collect();
    assert_none(
        opened,
        "sealed keys are opened only by egress, the platforms' supervisor and the start-up reseal",
    );
}

#[test]
fn main_is_the_command_line_only() {
    // `main.rs`: "the command line (`kezdesu serve`), logging and signals. Nothing else." It
    // reaches the server only through `run`, the configuration, and the secrets and password
    // checks of its flags.
    let main = [source("server/src/main.rs")];
    let mut named = Vec::new();
    for (number, line) in &main[0].lines {
        for (at, _) in line.match_indices("kezdesu::") {
            let module: String = line[at + "kezdesu::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !["run", "config", "secrets", "auth"].contains(&module.as_str()) {
                named.push(format!("server/src/main.rs:{number}: {}", line.trim()));
            }
        }
    }
    assert_none(named, "main.rs is the command line, logging and signals");
    assert!(main[0].lines.iter().any(|(_, line)| line.contains("kezdesu::run(")), "main calls run");
    let support = [source("tests/integration/support.rs")];
    assert!(
        support[0].lines.iter().any(|(_, line)| line.contains("kezdesu::run(")),
        "the tests boot the server through run"
    );
}

#[test]
fn sql_stays_in_the_store_and_redis_in_the_cluster() {
    // `store` holds the SQL (sqlx) and `cluster` is Redis: no other part queries either. The
    // room names Redis's error type only, to turn it into its own.
    let mut server = sources_under("server/src", &[".rs"]);
    server.retain(|source| !source.name.starts_with("server/src/store/"));
    assert_none(
        naming(&server, &["sqlx::query", "sqlx::Pool", "sqlx::Transaction"], &[]),
        "only the store runs SQL",
    );
    server.retain(|source| !source.name.starts_with("server/src/cluster/"));
    assert_none(naming(&server, &["redis::"], &["redis::RedisError"]), "only the cluster talks to Redis");
    // The SQL is portable: no engine's own functions, `$N` parameters only.
    let store = sources_under("server/src/store/sql", &[".rs"]);
    assert_none(
        naming(
            &store,
            &["datetime(", "julianday(", "NOW()", "CURRENT_TIMESTAMP", "unixepoch(", "?1", "?2"],
            &[],
        ),
        "the SQL is portable",
    );
}

#[test]
fn pages_set_user_text_as_text_and_run_no_inline_script() {
    // "User text is only ever set with `textContent` … pages are served with a
    // Content-Security-Policy that allows no inline script."
    let scripts = sources_under("web/js", &[".js"]);
    assert_none(
        naming(&scripts, &["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("], &[]),
        "pages set text with textContent",
    );
    let root = repository();
    let mut inline = Vec::new();
    for path in files(&root.join("web"), &[".html"]) {
        let text = std::fs::read_to_string(&path).expect("readable");
        let name = path.strip_prefix(&root).unwrap_or(&path).display().to_string();
        for (number, line) in text.lines().enumerate() {
            let script_without_source = line.contains("<script") && !line.contains(" src=");
            let handler = line.split_whitespace().any(|word| {
                word.starts_with("on")
                    && word.contains("=\"")
                    && word[2..].chars().next().is_some_and(|c| c.is_ascii_lowercase())
            });
            if script_without_source || handler {
                inline.push(format!("{name}:{}: {}", number + 1, line.trim()));
            }
        }
    }
    assert_none(inline, "no page has an inline script or event handler");
}

#[test]
fn page_models_have_no_dom_and_the_replay_no_socket() {
    // The pages' rules "with no DOM" (`*-model.js`, `live-state.js`) and the flood helpers
    // "with no DOM of their own" (`frame-batch.js`, `bounded-list.js`, `announce.js`), tested
    // under Node; the replay "must not keep a socket".
    let models: Vec<Source> = sources_under("web/js", &[".js"])
        .into_iter()
        .filter(|source| {
            let file = source.name.rsplit('/').next().unwrap_or_default();
            file.ends_with("-model.js")
                || ["live-state.js", "frame-batch.js", "bounded-list.js", "announce.js"].contains(&file)
        })
        .collect();
    assert!(models.len() >= 12, "the models were found: {}", models.len());
    assert_none(
        naming(&models, &["document.", "window.", "HTMLElement", "localStorage"], &[]),
        "the models have no DOM",
    );
    let replay = [source("web/js/replay.js")];
    assert_none(
        naming(&replay, &["WebSocket", "live-connection.js", "EventSource"], &[]),
        "the replay keeps no socket",
    );
}

#[test]
fn the_checks_catch_what_they_look_for() {
    let planted = Source {
        name: "a.rs".to_owned(),
        lines: vec![
            (1, "use crate::http::ApiError;".to_owned()),
            (2, "    state.store.update_meeting(&meeting, now).await?;".to_owned()),
            (3, "    let x = shared.store().destinations(owner).await;".to_owned()),
        ],
    };
    let planted = [planted];
    assert_eq!(naming(&planted, &["crate::http"], &[]).len(), 1);
    assert_eq!(naming(&planted, &["crate::http"], &["ApiError"]).len(), 0);
    let calls: Vec<String> = store_calls(&planted).into_iter().map(|(_, method)| method).collect();
    assert_eq!(calls, ["update_meeting", "destinations"]);
    assert!(writes("update_meeting") && !writes("destinations") && !writes("issue_history"));
    let skipped = read_source(&repository(), &repository().join("tests/integration/boundaries.rs"));
    assert!(
        !skipped.lines.iter().any(|(_, line)| line.trim_start().starts_with("//")),
        "comments are skipped"
    );
}
