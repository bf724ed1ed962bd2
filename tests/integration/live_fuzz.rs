//! The live channel, fuzzed through the real server binary. Generated frames go to a viewer's
//! connection and to a reader's (who has not joined): JSON of every message type with wrong
//! types, missing and extra fields, huge numbers, deep nesting and broken text; binary frames,
//! 1 MiB frames, invalid UTF-8, pings, and closes at odd moments. Every frame must get an
//! `error` with a code (or, for a well-formed command, its `ack` or `done`), or a close with a
//! code; the server must never panic; and meanwhile another viewer's comments reach a watcher,
//! every event in order with no gap.
//!
//! The cases come from a fixed seed, so a failure repeats; `KEZDESU_FUZZ_CASES` runs more of
//! them (the default keeps `tests/run` quick).

use crate::binary::{Running, kezdesu};
use crate::support::{ADMIN_PASSWORD, LiveClient, TestServer};
use futures_util::{SinkExt, StreamExt};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config as ProptestConfig, RngAlgorithm, TestRng, TestRunner};
use serde_json::Value;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// Every client message type of docs/protocol.md, and the fields any of them has.
const TYPES: &[&str] = &[
    "auth",
    "comment",
    "vote",
    "hide",
    "restore",
    "release",
    "time_out",
    "ban",
    "unban",
    "slow_mode",
    "hold_first_comments",
    "promote",
    "merge",
    "edit_question",
    "pin",
    "put_on_air",
    "answer",
    "dismiss",
];
const FIELDS: &[&str] = &[
    "client_id",
    "request_id",
    "text",
    "question",
    "up",
    "comment",
    "comments",
    "reason",
    "viewer",
    "minutes",
    "seconds",
    "on",
    "into",
    "position",
    "summary",
    "token",
    "since",
];

/// JSON text that a typed client would never send: any shape, with numbers beyond every
/// integer type and nesting deeper than a parser should follow.
fn raw_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(|f| format!("{f:e}")),
        Just("1e400".to_owned()),
        Just("-1e400".to_owned()),
        Just("123456789012345678901234567890123456789".to_owned()),
        Just("-0".to_owned()),
        "\\PC{0,40}".prop_map(|s| Value::String(s).to_string()),
        (1usize..5000).prop_map(|n| Value::String("ж".repeat(n)).to_string()),
        (1usize..400).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
        (1usize..200).prop_map(|depth| format!("{}1{}", "{\"a\":".repeat(depth), "}".repeat(depth))),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec(("[a-z_]{1,12}", inner), 0..6).prop_map(|pairs| {
                let body: Vec<String> =
                    pairs.into_iter().map(|(key, value)| format!("{}:{value}", Value::String(key))).collect();
                format!("{{{}}}", body.join(","))
            }),
        ]
    })
}

/// A message: a known or unknown type, some of the protocol's fields (right or wrong types)
/// and some it does not have; or not an object at all; or cut short.
fn message_text() -> impl Strategy<Value = String> {
    let object = message_object().boxed();
    prop_oneof![
        6 => object.clone(),
        1 => raw_value(),
        1 => (object, any::<prop::sample::Index>()).prop_map(|(text, cut)| {
            let chars: Vec<char> = text.chars().collect();
            chars[..cut.index(chars.len().max(1)).min(chars.len())].iter().collect()
        }),
        1 => "\\PC{0,64}",
    ]
}

fn message_object() -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        4 => prop::sample::select(TYPES).prop_map(|t| Value::String(t.to_owned()).to_string()),
        1 => raw_value(),
    ];
    let field = prop_oneof![
        4 => prop::sample::select(FIELDS).prop_map(str::to_owned),
        1 => "[a-zA-Z_]{1,20}",
    ];
    (kind, prop::collection::vec((field, raw_value()), 0..6), any::<bool>()).prop_map(
        |(kind, fields, type_last)| {
            let mut parts: Vec<String> =
                fields.into_iter().map(|(key, value)| format!("{}:{value}", Value::String(key))).collect();
            let typed = format!("\"type\":{kind}");
            if type_last {
                parts.push(typed);
            } else {
                parts.insert(0, typed);
            }
            format!("{{{}}}", parts.join(","))
        },
    )
}

/// What goes on the wire: mostly text messages, and the frames a browser never sends.
#[derive(Debug, Clone)]
enum Frame {
    Text(String),
    Binary(Vec<u8>),
    Huge,
    InvalidUtf8,
    Ping(Vec<u8>),
    Close(u16),
}

fn frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        40 => message_text().prop_map(Frame::Text),
        2 => prop::collection::vec(any::<u8>(), 0..200).prop_map(Frame::Binary),
        1 => Just(Frame::Huge),
        1 => Just(Frame::InvalidUtf8),
        3 => prop::collection::vec(any::<u8>(), 0..125).prop_map(Frame::Ping),
        1 => prop_oneof![Just(1000u16), Just(1002), Just(1011), Just(3000), Just(4999)].prop_map(Frame::Close),
    ]
}

fn frames(count: usize) -> Vec<Frame> {
    let config = ProptestConfig { cases: 1, ..ProptestConfig::default() };
    let seed = *b"kezdesu live channel fuzz seed 1";
    let mut runner = TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
    let strategy = frame();
    (0..count).map(|_| strategy.new_tree(&mut runner).expect("a case").current()).collect()
}

/// What the server did with a frame.
#[derive(Debug)]
enum Outcome {
    /// An answer: `error` with its code, or `ack`/`done`/`authenticated`.
    Answered(Value),
    /// A pong to a ping.
    Pong,
    /// It closed the connection, with this code.
    Closed(Option<u16>),
}

/// Reads until the server answers the frame just sent (events and counts pass by).
async fn outcome(socket: &mut Socket, ping: bool) -> Result<Outcome, String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let next =
            tokio::time::timeout_at(deadline, socket.next()).await.map_err(|_| "no answer within 10 s")?;
        match next {
            None => return Ok(Outcome::Closed(None)),
            Some(Err(error)) => return Err(format!("the connection failed without a close frame: {error}")),
            Some(Ok(Message::Close(frame))) => return Ok(Outcome::Closed(frame.map(|f| u16::from(f.code)))),
            Some(Ok(Message::Pong(_))) if ping => return Ok(Outcome::Pong),
            Some(Ok(Message::Text(text))) => {
                let value: Value =
                    serde_json::from_str(&text).map_err(|e| format!("not JSON from the server: {e}"))?;
                match value["type"].as_str() {
                    Some("events" | "viewers" | "restream" | "platform") => continue,
                    Some(_) => return Ok(Outcome::Answered(value)),
                    None => return Err(format!("a message without a type: {value}")),
                }
            }
            Some(Ok(_)) => continue,
        }
    }
}

async fn send(socket: &mut Socket, frame: &Frame) -> Result<(), String> {
    let message = match frame {
        Frame::Text(text) => Message::Text(text.clone().into()),
        Frame::Binary(bytes) => Message::Binary(bytes.clone().into()),
        Frame::Huge => Message::Text("x".repeat(1 << 20).into()),
        Frame::InvalidUtf8 => {
            Message::Frame(tokio_tungstenite::tungstenite::protocol::frame::Frame::message(
                vec![b'{', 0xC3, 0x28, 0xFF, b'}'],
                tokio_tungstenite::tungstenite::protocol::frame::coding::OpCode::Data(
                    tokio_tungstenite::tungstenite::protocol::frame::coding::Data::Text,
                ),
                true,
            ))
        }
        Frame::Ping(bytes) => Message::Ping(bytes.clone().into()),
        Frame::Close(code) => {
            Message::Close(Some(CloseFrame { code: CloseCode::from(*code), reason: "fuzz".into() }))
        }
    };
    socket.send(message).await.map_err(|error| format!("sending: {error}"))
}

async fn connect(url: &str) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(url).await.expect("connects");
    // The hello first: answers come after it.
    loop {
        match socket.next().await {
            Some(Ok(Message::Text(text))) if text.contains("\"hello\"") => return socket,
            Some(Ok(_)) => continue,
            other => panic!("no hello: {other:?}"),
        }
    }
}

/// Throws `frames` at connections opened from `url`, reconnecting after each close; returns the
/// failures (a frame with no answer and no close code).
async fn fuzz(url: String, frames: Vec<Frame>) -> Vec<String> {
    let mut failures = Vec::new();
    let mut socket = connect(&url).await;
    for (index, frame) in frames.iter().enumerate() {
        if let Err(error) = send(&mut socket, frame).await {
            failures.push(format!("frame {index} {frame:.80?}: {error}"));
            socket = connect(&url).await;
            continue;
        }
        match outcome(&mut socket, matches!(frame, Frame::Ping(_))).await {
            Ok(Outcome::Answered(answer)) => {
                let fine = match answer["type"].as_str() {
                    Some("error") => answer["code"].as_str().is_some_and(|code| !code.is_empty()),
                    Some("ack" | "done" | "authenticated") => true,
                    _ => false,
                };
                if !fine {
                    failures.push(format!("frame {index} {frame:.80?}: answered {answer}"));
                }
            }
            Ok(Outcome::Pong) => {}
            Ok(Outcome::Closed(Some(_))) => socket = connect(&url).await,
            Ok(Outcome::Closed(None)) => {
                failures.push(format!("frame {index} {frame:.80?}: closed without a code"));
                socket = connect(&url).await;
            }
            Err(error) => {
                failures.push(format!("frame {index} {frame:.200?}: {error}"));
                socket = connect(&url).await;
            }
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_malformed_frame_gets_an_error_or_a_close_and_the_meeting_goes_on() {
    let cases: usize = std::env::var("KEZDESU_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(400);
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut command = kezdesu(dir.path());
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data", "data"])
        .env("KEZDESU_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("KEZDESU__DEMO__ENABLED", "false")
        .env("KEZDESU__RECORDING__ENABLED", "false")
        .env("KEZDESU__LIVE__COMMENT_BURST", "1000000")
        .env("KEZDESU__LIVE__COMMENTS_PER_MINUTE_PER_ADDRESS", "1000000");
    let mut running = Running::start(command);
    let address = running.address();
    let server = TestServer::remote(format!("http://{address}"), dir.path().join("data"));
    let (meeting, _akim, _moderator) = server.live_meeting().await;

    let (fuzzer_token, _) = server.viewer(meeting, "Fuzzer").await;
    let (honest_token, _) = server.viewer(meeting, "Honest").await;
    let mut watcher: LiveClient = {
        let (socket, _) =
            tokio_tungstenite::connect_async(server.live_url(meeting, None, None)).await.expect("connects");
        let mut client = LiveClient::new(socket, "");
        client.hello = client.next(Duration::from_secs(5)).await.expect("a hello");
        client
    };
    let mut honest = server.live(meeting, &honest_token, None).await;

    let all = frames(cases);
    let half = all.len() / 2;
    let as_viewer =
        tokio::spawn(fuzz(server.live_url(meeting, Some(&fuzzer_token), None), all[..half].to_vec()));
    let as_reader = tokio::spawn(fuzz(server.live_url(meeting, None, None), all[half..].to_vec()));

    // Meanwhile an honest viewer comments, and a watcher must see every event in order.
    let mut acked = Vec::new();
    for index in 0..20 {
        let answer = honest.comment(&format!("honest-{index}"), &format!("honest comment {index}")).await;
        assert_eq!(answer["type"], "ack", "{answer}");
        acked.push(answer["seq"].as_u64().expect("a seq"));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut failures = as_viewer.await.expect("the viewer's fuzzing ran");
    failures.extend(as_reader.await.expect("the reader's fuzzing ran"));

    let last = *acked.last().expect("acked");
    let mut events = Vec::new();
    while events.last().and_then(|event: &Value| event["seq"].as_u64()).is_none_or(|seq| seq < last) {
        let message = watcher.next(Duration::from_secs(10)).await.expect("the watcher keeps receiving");
        if message["type"] == "events" {
            events.extend(message["events"].as_array().expect("events").iter().cloned());
        }
    }
    let seqs: Vec<u64> = events.iter().filter_map(|event| event["seq"].as_u64()).collect();
    assert!(
        seqs.windows(2).all(|pair| pair[1] == pair[0] + 1),
        "the watcher's events are in order with no gap: {seqs:?}"
    );
    for seq in &acked {
        assert!(seqs.contains(seq), "the honest comment acked at {seq} reached the watcher");
    }

    let output = running.terminate();
    let panics: Vec<&String> = output.iter().filter(|line| line.contains("panicked")).collect();
    assert!(panics.is_empty(), "the server panicked: {panics:#?}");
    assert!(
        failures.is_empty(),
        "{} of {cases} frames went unanswered:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
