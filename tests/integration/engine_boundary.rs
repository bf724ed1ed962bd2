//! Only the media engine names the WebRTC crates.
//!
//! `server/src/media/engine/` (or an `engine.rs` in its place) is the only part of the server
//! that may name webrtc-rs (`webrtc::`) or its `rtc` crate (`rtc::`): everything else, the
//! broadcast, the load generator and these tests, uses the engine's own types, so that
//! another engine can replace webrtc-rs behind them. This test reads every Rust file of the
//! server and the tests and names each line outside the engine that uses either crate as a
//! path, with its file and line.

use crate::sources::{files, repository};

/// The crates only the engine may name.
const ENGINE_CRATES: &[&str] = &["webrtc", "rtc"];

/// Whether the file at `path` (relative to the repository, with `/`) is part of the engine.
fn inside_engine(path: &str) -> bool {
    path == "server/src/media/engine.rs" || path.starts_with("server/src/media/engine/")
}

/// Whether `line` names one of the engine's crates as a path (`webrtc::…`, `rtc::…`), and not
/// merely a name that ends with one (`kezdesu_rtc::…`, `libwebrtc::…`).
fn names_engine_crate(line: &str) -> bool {
    ENGINE_CRATES.iter().any(|name| {
        let path = format!("{name}::");
        line.match_indices(&path).any(|(at, _)| {
            let before = line[..at].chars().next_back();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    })
}

/// Every line of `source` outside comments that names an engine crate, as `file:line: line`.
fn violations(file: &str, source: &str) -> Vec<String> {
    source
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim_start().starts_with("//") && names_engine_crate(line))
        .map(|(number, line)| format!("{file}:{}: {}", number + 1, line.trim()))
        .collect()
}

#[test]
fn only_the_engine_names_webrtc() {
    let root = repository();
    let mut sources = files(&root.join("server/src"), &[".rs"]);
    sources.extend(files(&root.join("tests"), &[".rs"]));
    let mut found = Vec::new();
    let (mut checked, mut engine_files_naming_it) = (0, 0);
    for path in sources {
        let name = path.strip_prefix(&root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
        let source = std::fs::read_to_string(&path).expect("the source is readable");
        if inside_engine(&name) {
            engine_files_naming_it += usize::from(!violations(&name, &source).is_empty());
            continue;
        }
        found.extend(violations(&name, &source));
        checked += 1;
    }
    assert!(checked >= 70, "expected the server's and the tests' sources, read {checked} files");
    // The engine does name them: were it moved, this check would pass on nothing.
    assert!(engine_files_naming_it >= 3, "the engine's files were not found where the check looks");
    assert!(
        found.is_empty(),
        "only server/src/media/engine/ may name webrtc-rs; use the engine's types instead:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_check_finds_a_named_engine_crate() {
    // Each planted line is split with concat! before its `::`, so that this file names neither
    // crate as a path and passes its own check.
    let planted = [
        concat!("use webrtc", "::peer_connection::PeerConnection;"),
        concat!("use rtc", "::rtp;"),
        concat!("    let packet: rtc", "::rtp::Packet = source.into();"),
        concat!("fn peer(handler: Arc<dyn webrtc", "::peer_connection::PeerConnectionEventHandler>) {}"),
        concat!("    track: Vec<(u32, webrtc", "::media_stream::MediaStreamTrack)>,"),
        concat!("let bytes = <rtc", "::rtp::Packet as Marshal>::marshal(&packet)?;"),
    ];
    for line in planted {
        assert_eq!(violations("a.rs", line).len(), 1, "not caught: {line}");
    }
    let allowed = [
        concat!("use kezdesu_rtc", "::Packet;"),
        concat!("let client = webrtc_client", "::connect();"),
        concat!("let a = libwebrtc", "::x();"),
        concat!("// engine::Peer wraps webrtc", "::peer_connection::PeerConnection"),
        concat!("    /// as rtc", "::rtp::Packet does"),
        "use kezdesu::media::engine::{Packet, Peer}; // webrtc-rs, the rtc crate",
    ];
    for line in allowed {
        assert_eq!(violations("a.rs", line), Vec::<String>::new(), "wrongly caught: {line}");
    }
    assert!(inside_engine("server/src/media/engine/peer.rs"));
    assert!(inside_engine("server/src/media/engine.rs"));
    assert!(!inside_engine("server/src/media/engine_test.rs"));
    assert!(!inside_engine("server/src/media/mod.rs"));
    assert!(!inside_engine("server/src/bin/kezdesu-media-load.rs"));
}
