//! Several nodes: three `kezdesu` processes on 127.0.0.1, 127.0.0.2 and 127.0.0.3, sharing one
//! PostgreSQL database and one Redis, as a deployment would run them.
//!
//! Redis and PostgreSQL are external services, so these run only when `KEZDESU_TEST_REDIS_URL`
//! and `KEZDESU_TEST_POSTGRES_URL` name them: `tests/run` starts both. Without them each test
//! says so and checks nothing, keeping the default `cargo test` free of services.

use crate::binary::{Running, kezdesu};
use crate::media::{LOOPBACK, publisher, stream_key};
use crate::support::{
    ADMIN_PASSWORD, LiveClient, SHORT_RULES, TestServer, connect_database, create_postgres_database,
    meeting_body, password_of, rand_suffix,
};
use futures_util::{SinkExt, StreamExt};
use kezdesu::media::engine::synthetic::{CountingViewer, SyntheticPublisher};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// How long an edge's viewer may take to end after the origin's broadcast ended. An edge
/// notices by its pull's ICE failing (8 s of silence) when the origin's close is not heard,
/// and its own viewer then by silence (4 s); the rest is margin for a loaded machine.
const EDGE_ENDS_WITHIN: Duration = Duration::from_secs(30);

/// Three nodes and the database they share.
struct Nodes {
    processes: Vec<Option<Running>>,
    servers: Vec<TestServer>,
    database_url: String,
    redis_url: String,
    _dir: tempfile::TempDir,
}

impl Nodes {
    /// Starts three nodes at once on an empty database, as a deployment may: one of them
    /// creates the admin, and the migrations run once. Each listens on its own loopback address. `redis_database` keeps concurrent tests' keys
    /// apart. `None` when the services are not given.
    async fn start(redis_database: u8, rules: Option<&str>) -> Option<Nodes> {
        let (Ok(redis), Ok(postgres)) =
            (std::env::var("KEZDESU_TEST_REDIS_URL"), std::env::var("KEZDESU_TEST_POSTGRES_URL"))
        else {
            eprintln!(
                "skipped: KEZDESU_TEST_REDIS_URL and KEZDESU_TEST_POSTGRES_URL are not set (tests/run sets them)"
            );
            return None;
        };
        let database_url = create_postgres_database(&postgres).await;
        // A database of its own: what an earlier run left (leases, rate limits) goes.
        let redis = format!("{redis}/{redis_database}");
        let mut connection = redis::Client::open(redis.as_str())
            .expect("a Redis URL")
            .get_multiplexed_async_connection()
            .await
            .expect("Redis answers");
        redis::cmd("FLUSHDB").query_async::<()>(&mut connection).await.expect("FLUSHDB");
        let dir = tempfile::tempdir().expect("temporary folder");
        if let Some(rules) = rules {
            std::fs::write(dir.path().join("rules.toml"), rules).expect("writing the rule set");
        }
        let mut processes = Vec::new();
        for node in 1..=3 {
            let mut command = kezdesu(dir.path());
            command
                .args(["serve", "--listen", &format!("127.0.0.{node}:0"), "--data", &format!("data{node}")])
                .env("KEZDESU_ADMIN_PASSWORD", ADMIN_PASSWORD)
                .env("KEZDESU__DEMO__ENABLED", "false")
                .env("KEZDESU__STORAGE__ENGINE", "postgres")
                .env("KEZDESU__STORAGE__POSTGRES_URL", &database_url)
                .env("KEZDESU__CLUSTER__REDIS_URL", &redis)
                .env("KEZDESU__CLUSTER__LEASE_MILLISECONDS", "1500")
                .env("KEZDESU__CLUSTER__FORWARD_TIMEOUT_MILLISECONDS", "3000")
                // Short streams, so that a test's events outgrow them.
                .env("KEZDESU__CLUSTER__STREAM_ENTRIES", "100")
                .env("KEZDESU__LIVE__COMMENT_BURST", "1000000")
                .env("KEZDESU__LIVE__COMMENTS_PER_MINUTE_PER_ADDRESS", "1000000")
                .env("KEZDESU__AUTH__VIEWER_TOKENS_PER_MINUTE", "1000")
                // Restream destinations can be stored; no transcoder is needed to see where
                // their sessions start.
                .env("KEZDESU_SECRET_KEY", "a2V6ZGVzdS1jbHVzdGVyLXRlc3Qtc2VjcmV0LWtleSE=")
                .env("KEZDESU__EGRESS__FFMPEG", "/nonexistent/ffmpeg");
            if rules.is_some() {
                command.env("KEZDESU__RULES__FILE", dir.path().join("rules.toml"));
            }
            if let Some(fake) = crate::platforms::Fake::from_env() {
                command.envs(fake.env());
            }
            processes.push(Running::start(command));
        }
        let mut servers = Vec::new();
        for (index, running) in processes.iter_mut().enumerate() {
            servers.push(TestServer::remote(
                format!("http://{}", running.address()),
                dir.path().join(format!("data{}", index + 1)),
            ));
        }
        let processes = processes.into_iter().map(Some).collect();
        Some(Nodes { processes, servers, database_url, redis_url: redis, _dir: dir })
    }

    fn kill(&mut self, node: usize) {
        if let Some(process) = self.processes[node].take() {
            process.kill();
        }
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for process in self.processes.iter_mut().filter_map(Option::take) {
            process.kill();
        }
    }
}

/// Reads the live channel until an event of `kind` satisfying `wanted` has arrived.
async fn until_event(client: &mut LiveClient, kind: &str, wanted: impl Fn(&Value) -> bool) -> Value {
    client.event_where(|event| event["type"] == kind && wanted(event)).await
}

/// Keeps reading a connection's events into `seen` until `until`; the connection must stay
/// open all along.
async fn keep_reading(mut client: LiveClient, until: Instant) -> LiveClient {
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return client;
        }
        let started = Instant::now();
        match client.next(left).await {
            Some(message) if message["type"] == "events" => {
                let events = message["events"].as_array().expect("events").clone();
                client.seen.extend(events);
            }
            Some(_) => {}
            None => assert!(started.elapsed() >= left, "the connection closed: {:?}", client.seen.last()),
        }
    }
}

#[tokio::test]
async fn a_comment_on_one_node_reaches_the_others_and_moderation_on_another_applies_everywhere() {
    let Some(nodes) = Nodes::start(1, None).await else { return };
    let [a, b, c] = [&nodes.servers[0], &nodes.servers[1], &nodes.servers[2]];
    // The three started at once on an empty database: one of them created the admin, whom
    // every node signs in.
    let database = connect_database(&nodes.database_url).await;
    let accounts: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM accounts").fetch_one(&database).await.expect("counting");
    assert_eq!(accounts, 1);
    for server in [a, b, c] {
        server.sign_in("admin", ADMIN_PASSWORD).await;
    }
    // The meeting goes live through node A, whose room becomes its owner.
    let (meeting, _akim, moderator) = a.live_meeting().await;

    let (token_a, _) = a.viewer(meeting, "Асель").await;
    let (token_b, viewer_b) = b.viewer(meeting, "Бауыржан").await;
    let (token_c, _) = c.viewer(meeting, "Серик").await;
    let mut on_a = a.live(meeting, &token_a, None).await;
    let mut on_b = b.live(meeting, &token_b, None).await;
    let mut on_c = c.live(meeting, &token_c, None).await;

    // Posted on A, read on B and C.
    let ack = on_a.comment("a-1", "Когда отремонтируют дорогу на Абая?").await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let posted_seq = ack["seq"].as_u64().expect("seq");
    for reader in [&mut on_b, &mut on_c] {
        let event = until_event(reader, "comment_posted", |event| event["client_id"] == "a-1").await;
        assert_eq!(event["seq"], posted_seq);
    }
    // Posted on B: forwarded to A, acknowledged on B once stored, read on A and C.
    let ack = on_b.comment("b-1", "Нужен свет во дворе дома 12").await;
    assert_eq!(ack["type"], "ack", "{ack}");
    let comment_b = ack["comment"].as_u64().expect("comment id");
    for reader in [&mut on_a, &mut on_c] {
        until_event(reader, "comment_posted", |event| event["client_id"] == "b-1").await;
    }

    // A moderator on C hides B's comment and bans its author: every node applies both.
    let mut moderating = c.live(meeting, &moderator, None).await;
    let hidden = moderating.command(json!({"type": "hide", "comment": comment_b, "reason": "spam"})).await;
    assert_eq!(hidden["type"], "done", "{hidden}");
    for reader in [&mut on_a, &mut on_b, &mut on_c] {
        until_event(reader, "comment_hidden", |event| event["comment"] == comment_b).await;
    }
    let banned = moderating.command(json!({"type": "ban", "viewer": viewer_b})).await;
    assert_eq!(banned["type"], "done", "{banned}");
    let refused = on_b.comment("b-2", "Ещё раз про свет").await;
    assert_eq!(refused["code"], "banned", "{refused}");

    // A reader who joins on A later is replayed the hidden comment without its text.
    let (late, _) = a.viewer(meeting, "Позже").await;
    let mut replay = a.live(meeting, &late, Some(0)).await;
    let replayed = until_event(&mut replay, "comment_hidden", |event| event["comment"] == comment_b).await;
    assert!(
        replay.seen.iter().all(|event| event["text"] != "Нужен свет во дворе дома 12"),
        "{:?}",
        replay.seen
    );
    assert!(replayed["seq"].as_u64().is_some());

    // Viewer counts are summed over the nodes: two connections on A, one on B, two on C.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut counts = Vec::new();
    while counts.last() != Some(&5) {
        assert!(Instant::now() < deadline, "viewer counts seen on C: {counts:?}");
        if let Some(message) = on_c.socket_message(Duration::from_secs(1)).await
            && message["type"] == "viewers"
        {
            counts.push(message["count"].as_u64().expect("a count"));
        }
    }
}

#[tokio::test]
async fn the_timer_switches_phase_exactly_once_whichever_nodes_watch() {
    let Some(nodes) = Nodes::start(2, Some(SHORT_RULES)).await else { return };
    let [a, b, c] = [&nodes.servers[0], &nodes.servers[1], &nodes.servers[2]];
    // A 1-minute meeting under the short rules has a 1-second presentation budget.
    let (meeting, akim) = a.meeting_with_akim(1).await;
    let mut watchers = Vec::new();
    for node in [a, b, c] {
        watchers.push(node.events(meeting).await);
    }
    let (status, body) = b
        .post(&format!("/api/meetings/{meeting}/phase"), Some(&akim), json!({"phase": "presentation"}))
        .await;
    assert_eq!(status, reqwest::StatusCode::OK, "entered through a node that forwards: {body}");
    for watcher in &mut watchers {
        let mut phases = Vec::new();
        while let Some((name, event)) = watcher.next(Duration::from_secs(5)).await {
            if name == "phase_changed" {
                phases.push(event["phase"].as_str().expect("a phase").to_owned());
                if phases.last().map(String::as_str) == Some("qa") {
                    break;
                }
            }
        }
        assert_eq!(phases, ["presentation", "qa"], "each node's subscribers see each change once");
    }
    // Stay a while: no node switches again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let database = connect_database(&nodes.database_url).await;
    let bodies: Vec<String> =
        sqlx::query_scalar("SELECT body FROM live_events WHERE meeting_id = $1 ORDER BY seq")
            .bind(meeting)
            .fetch_all(&database)
            .await
            .expect("the log");
    let switches: Vec<&String> = bodies.iter().filter(|body| body.contains("phase_changed")).collect();
    assert_eq!(switches.len(), 2, "one change to presentation and one to Q&A: {switches:?}");
    assert_eq!(switches.iter().filter(|body| body.contains("\"budget_spent\"")).count(), 1, "{switches:?}");
}

/// Posts comments as fast as they are acknowledged, retrying a refused one with the same
/// client id, until `stop`; returns what was acknowledged, with when.
async fn flood(url: String, prefix: String, stop: Instant) -> Vec<(String, u64, Instant)> {
    let mut acked = Vec::new();
    let mut socket = None;
    let mut n = 0;
    while Instant::now() < stop {
        if socket.is_none() {
            match tokio_tungstenite::connect_async(&url).await {
                Ok((opened, _)) => socket = Some(opened),
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            }
        }
        let Some(open) = socket.as_mut() else { continue };
        let client_id = format!("{prefix}-{n}");
        let message =
            json!({"type": "comment", "client_id": client_id, "text": format!("comment {client_id}")});
        if open.send(Message::Text(message.to_string().into())).await.is_err() {
            socket = None;
            continue;
        }
        loop {
            match tokio::time::timeout(Duration::from_secs(10), open.next()).await {
                Ok(Some(Ok(Message::Text(text)))) => {
                    let answer: Value = serde_json::from_str(&text).expect("JSON");
                    if answer["type"] == "ack" {
                        acked.push((client_id.clone(), answer["seq"].as_u64().expect("seq"), Instant::now()));
                        n += 1;
                        break;
                    }
                    if answer["type"] == "error" {
                        // "unavailable" while the owner is down: retried with the same id.
                        assert_eq!(answer["code"], "unavailable", "{answer}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        break;
                    }
                }
                Ok(Some(Ok(_))) => {}
                _ => {
                    socket = None;
                    break;
                }
            }
        }
    }
    acked
}

#[tokio::test]
async fn the_owner_killed_mid_flood_is_replaced_and_viewers_see_no_gap_and_no_duplicate() {
    let Some(mut nodes) = Nodes::start(3, None).await else { return };
    let (meeting, _akim, _moderator) = nodes.servers[0].live_meeting().await;
    // Readers on B and C, who stay connected through the failover.
    let mut readers = Vec::new();
    for node in [1, 2] {
        let server = &nodes.servers[node];
        let (token, _) = server.viewer(meeting, &format!("reader {node}")).await;
        readers.push(server.live(meeting, &token, Some(0)).await);
    }
    // Posters on B and C, whose comments go to the owner on A.
    let stop = Instant::now() + Duration::from_secs(9);
    let mut posters = Vec::new();
    for index in 0..6 {
        let server = &nodes.servers[1 + index % 2];
        let (token, _) = server.viewer(meeting, &format!("poster {index}")).await;
        let url = server.live_url(meeting, Some(&token), None);
        posters.push(tokio::spawn(flood(url, format!("p{index}"), stop)));
    }
    let reading: Vec<_> = readers
        .into_iter()
        .map(|reader| tokio::spawn(keep_reading(reader, stop + Duration::from_secs(3))))
        .collect();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let killed_at = Instant::now();
    nodes.kill(0);

    let mut acked = Vec::new();
    for poster in posters {
        acked.extend(poster.await.expect("a poster"));
    }
    let before = acked.iter().filter(|(_, _, at)| *at < killed_at).count();
    let after = acked.len() - before;
    assert!(before > 20 && after > 20, "the flood was real: {before} acks before the kill, {after} after");
    // The longest time no comment was acknowledged: the failover, as the posters saw it.
    let mut times: Vec<Instant> = acked.iter().map(|(_, _, at)| *at).collect();
    times.sort();
    let outage = times.windows(2).map(|pair| pair[1] - pair[0]).max().unwrap_or_default();
    assert!(outage < Duration::from_secs(6), "another node took over within {outage:?}");
    eprintln!("{} acks, {before} before the kill; the longest pause was {outage:?}", acked.len());

    // Every acknowledged comment is stored once, under the sequence number it was acked with.
    let database = connect_database(&nodes.database_url).await;
    let last: i64 = sqlx::query_scalar("SELECT MAX(seq) FROM live_events WHERE meeting_id = $1")
        .bind(meeting)
        .fetch_one(&database)
        .await
        .expect("the last seq");
    let last = u64::try_from(last).expect("positive");
    // Each reader saw every event exactly once, in order, with no gap.
    for (index, reading) in reading.into_iter().enumerate() {
        let reader = reading.await.expect("a reader");
        let seqs: Vec<u64> = reader.seen.iter().filter_map(|event| event["seq"].as_u64()).collect();
        assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "reader {index}: no gap and no duplicate");
        let posted: HashMap<&str, u64> = reader
            .seen
            .iter()
            .filter(|event| event["type"] == "comment_posted")
            .filter_map(|event| Some((event["client_id"].as_str()?, event["seq"].as_u64()?)))
            .collect();
        for (client_id, seq, _) in &acked {
            assert_eq!(
                posted.get(client_id.as_str()),
                Some(seq),
                "reader {index}: acked {client_id} at {seq}"
            );
        }
    }
    // The meeting's stream in Redis keeps about 100 entries; a reader who resumes from the
    // start, past what it holds, reads the rest from the database.
    let mut redis = redis::Client::open(nodes.redis_url.as_str())
        .expect("a Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    let streamed: u64 = redis::cmd("XLEN")
        .arg(format!("kezdesu:meeting:{meeting}:events"))
        .query_async(&mut redis)
        .await
        .expect("XLEN");
    assert!(streamed < 250 && last > 250, "{streamed} stream entries for {last} events");
    let (token, _) = nodes.servers[2].viewer(meeting, "late reader").await;
    let mut late = nodes.servers[2].live(meeting, &token, Some(0)).await;
    let replayed: Vec<u64> =
        late.events_through(last).await.iter().filter_map(|event| event["seq"].as_u64()).collect();
    assert_eq!(replayed, (1..=last).collect::<Vec<_>>(), "the whole log, from the database");

    // The nodes count what they did: one took the meeting over, and both forwarded comments.
    let client = reqwest::Client::new();
    let mut takeovers = 0.0;
    for node in [1, 2] {
        let base = &nodes.servers[node].base;
        takeovers += crate::media::metric(&client, base, "kezdesu_cluster_takeovers_total").await;
        let forwarded = crate::media::metric(&client, base, "kezdesu_cluster_forwarded_commands_total").await;
        assert!(forwarded > 0.0, "node {node} forwarded {forwarded}");
    }
    assert_eq!(takeovers, 1.0, "one node took the meeting over");

    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (client_id, _, _) in &acked {
        *counts.entry(client_id.as_str()).or_default() += 1;
    }
    assert!(counts.values().all(|count| *count == 1), "each comment acknowledged once");
}

#[tokio::test]
async fn rate_limits_count_across_nodes() {
    let Some(nodes) = Nodes::start(4, None).await else { return };
    // Ten sign-in attempts a minute per address (the default), spread over three nodes.
    let wrong = json!({"login": "admin", "password": "not the password"});
    let mut statuses = Vec::new();
    for attempt in 0..11 {
        let (status, _) = nodes.servers[attempt % 3].post("/api/session", None, wrong.clone()).await;
        statuses.push(status.as_u16());
    }
    assert_eq!(statuses[..10], [401; 10], "{statuses:?}");
    assert_eq!(statuses[10], 429, "the eleventh attempt is refused, on whichever node: {statuses:?}");
}

/// Video capacity grows with nodes: a viewer on a node without the publisher plays the stream
/// that node pulls from the origin over WHEP, one copy per node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn viewers_on_other_nodes_play_the_broadcast_their_node_pulls_from_the_origin() {
    use std::sync::atomic::Ordering;

    let Some(nodes) = Nodes::start(5, None).await else { return };
    let [a, b, c] = [&nodes.servers[0], &nodes.servers[1], &nodes.servers[2]];
    let OnAir { meeting, key, publishing, .. } = OnAir::at(a).await;
    let whep = |server: &TestServer| server.url(&format!("/api/meetings/{meeting}/whep"));
    let on_b = CountingViewer::start(&whep(b), LOOPBACK, 96).await.expect("a viewer on B");
    let also_on_b = CountingViewer::start(&whep(b), LOOPBACK, 96).await.expect("another viewer on B");
    let on_c = CountingViewer::start(&whep(c), LOOPBACK, 120).await.expect("a viewer on C");
    tokio::time::sleep(Duration::from_secs(3)).await;
    for (viewer, payload_type) in [(&on_b, 96), (&also_on_b, 96), (&on_c, 120)] {
        let video = viewer.counters.video_packets.load(Ordering::Relaxed);
        let audio = viewer.counters.audio_packets.load(Ordering::Relaxed);
        assert!(video > 100, "video packets received: {video}");
        assert!(audio > 50, "audio packets received: {audio}");
        assert_eq!(viewer.counters.video_payload_type.load(Ordering::Relaxed), payload_type);
    }
    // The origin serves one session per edge, whatever each edge's audience.
    let expected =
        [(a, 2, "A serves the edges B and C"), (b, 2, "B serves its own two"), (c, 1, "C its one")];
    for (server, viewers, why) in expected {
        let wanted = json!({"on_air": true, "viewers": viewers});
        assert_eq!(broadcast_status(server, meeting, &wanted).await, wanted, "{why}");
    }

    // One publisher per meeting in the whole cluster: the same key on another node is refused.
    let second = SyntheticPublisher::start(publisher(c, meeting, &key)).await;
    let error = second.err().expect("a second publisher is refused").to_string();
    assert!(error.contains("409") && error.contains("publisher_present"), "{error}");

    // The publisher going off air at the origin ends the edges' viewers too.
    publishing.stop().await.expect("stopping the publisher");
    let mut on_c = on_c;
    assert!(on_c.wait_ended(EDGE_ENDS_WITHIN).await, "C's viewer ended with the broadcast");
}

/// A live meeting with a synthetic publisher on air at one node.
struct OnAir {
    meeting: i64,
    akim: String,
    moderator: String,
    key: String,
    publishing: SyntheticPublisher,
}

impl OnAir {
    async fn at(server: &TestServer) -> OnAir {
        let (meeting, akim, moderator) = server.live_meeting().await;
        let key = stream_key(server, meeting, &akim).await;
        let publishing =
            SyntheticPublisher::start(publisher(server, meeting, &key)).await.expect("publishing");
        OnAir { meeting, akim, moderator, key, publishing }
    }
}

/// The meeting's broadcast as `server` shows it, once it is `wanted` or after five seconds.
async fn broadcast_status(server: &TestServer, meeting: i64, wanted: &Value) -> Value {
    let mut status = Value::Null;
    for _ in 0..50 {
        status = server.get(&format!("/api/meetings/{meeting}"), None).await.1["broadcast"].clone();
        if status == *wanted {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    status
}

/// The akim takes the meeting off air on a node that only relays it: the origin ends its
/// publisher, and every edge's viewers end with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taking_the_broadcast_off_air_on_an_edge_ends_it_at_the_origin() {
    let Some(nodes) = Nodes::start(6, None).await else { return };
    let [a, b, c] = [&nodes.servers[0], &nodes.servers[1], &nodes.servers[2]];
    let OnAir { meeting, akim, moderator, publishing: _publishing, .. } = OnAir::at(a).await;
    let whep = |server: &TestServer| server.url(&format!("/api/meetings/{meeting}/whep"));
    let mut on_b = CountingViewer::start(&whep(b), LOOPBACK, 96).await.expect("a viewer on B");
    let mut on_c = CountingViewer::start(&whep(c), LOOPBACK, 96).await.expect("a viewer on C");
    let on_air = json!({"on_air": true, "viewers": 2});
    assert_eq!(broadcast_status(a, meeting, &on_air).await, on_air, "A serves the edges B and C");

    let end = |server: &TestServer, token: &str| {
        server
            .client
            .delete(server.url(&format!("/api/meetings/{meeting}/broadcast")))
            .bearer_auth(token)
            .send()
    };
    // Roles are checked on the node asked, before anything is forwarded.
    let refused = end(b, &moderator).await.expect("DELETE");
    assert_eq!(refused.status(), reqwest::StatusCode::FORBIDDEN);
    let ended = end(b, &akim).await.expect("DELETE");
    assert_eq!(ended.status(), reqwest::StatusCode::OK, "{}", ended.text().await.unwrap_or_default());

    let off_air = json!({"on_air": false, "viewers": 0});
    assert_eq!(
        broadcast_status(a, meeting, &off_air).await,
        off_air,
        "the origin took its publisher off air"
    );
    assert!(on_b.wait_ended(EDGE_ENDS_WITHIN).await, "B's viewer ended");
    assert!(on_c.wait_ended(EDGE_ENDS_WITHIN).await, "C's viewer ended");
    // Nobody is on air any more, whichever node is asked.
    let again = end(c, &akim).await.expect("DELETE");
    assert_eq!(again.status(), reqwest::StatusCode::NOT_FOUND);
}

/// The clients connected to the test's Redis database.
async fn redis_clients(redis_url: &str, database: u8) -> usize {
    let mut connection = redis::Client::open(redis_url)
        .expect("a Redis URL")
        .get_multiplexed_async_connection()
        .await
        .expect("Redis answers");
    let list: String =
        redis::cmd("CLIENT").arg("LIST").query_async(&mut connection).await.expect("CLIENT LIST");
    let mine = format!(" db={database} ");
    list.lines().filter(|line| line.contains(&mine)).count()
}

/// Every node mirrors every live meeting, yet a node's Redis connections do not grow with
/// them: one reader follows all the streams a node mirrors.
#[tokio::test]
async fn a_node_follows_every_meeting_it_mirrors_on_one_connection() {
    const DATABASE: u8 = 7;
    let Some(nodes) = Nodes::start(DATABASE, None).await else { return };
    let [a, b, c] = [&nodes.servers[0], &nodes.servers[1], &nodes.servers[2]];
    // One akim's six meetings, made live through A (sign-ins are few: they are rate limited).
    let admin = a.admin().await;
    let login = format!("akim{}", rand_suffix());
    let akim_id = a.create_account(&admin, &login, "akim").await;
    let akim = a.sign_in(&login, &password_of(&login)).await;
    let go_live = async |index: u64| {
        let territory =
            a.create_territory(&admin, &format!("76{:07}", rand_suffix() % 10_000_000 + index)).await;
        let (status, meeting) =
            a.post("/api/meetings", Some(&admin), meeting_body(territory, akim_id, 60)).await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{meeting}");
        let meeting = meeting["id"].as_i64().expect("an id");
        let (status, body) =
            a.post(&format!("/api/meetings/{meeting}/phase"), Some(&akim), json!({"phase": "qa"})).await;
        assert_eq!(status, reqwest::StatusCode::OK, "{body}");
        meeting
    };
    let mut meetings = vec![go_live(0).await];
    // Two lease checks (every 0.5 s with a 1.5 s lease): B and C mirror the meeting.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let with_one = redis_clients(&nodes.redis_url, DATABASE).await;
    for index in 1..6 {
        meetings.push(go_live(index).await);
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Every meeting reaches the viewers of both mirrors.
    for (index, meeting) in meetings.iter().enumerate() {
        let (token_a, _) = a.viewer(*meeting, "Асель").await;
        let mut readers = Vec::new();
        for node in [b, c] {
            let (token, _) = node.viewer(*meeting, "Бауыржан").await;
            readers.push(node.live(*meeting, &token, None).await);
        }
        let mut on_a = a.live(*meeting, &token_a, None).await;
        let client_id = format!("m-{index}");
        let ack = on_a.comment(&client_id, "Когда отремонтируют дорогу?").await;
        assert_eq!(ack["type"], "ack", "{ack}");
        for reader in &mut readers {
            until_event(reader, "comment_posted", |event| event["client_id"] == client_id.as_str()).await;
        }
    }
    let with_six = redis_clients(&nodes.redis_url, DATABASE).await;
    assert!(with_six <= with_one, "Redis clients with one live meeting: {with_one}; with six: {with_six}");
}

/// A restream runs where the publisher is: an edge's copy is not restreamed again, and when the
/// publisher moves to another node, the restream moves with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restreams_run_at_the_media_origin_and_follow_the_publisher() {
    let Some(nodes) = Nodes::start(7, None).await else { return };
    let [a, b, c] = [&nodes.servers[0], &nodes.servers[1], &nodes.servers[2]];
    // A "platform" that counts who connects, and refuses them all (so each gives up at once).
    let platform = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a listener");
    let port = platform.local_addr().expect("its address").port();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    let accepting = tokio::spawn(async move {
        while let Ok((socket, _)) = platform.accept().await {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(socket);
        }
    });
    let count = || connections.load(std::sync::atomic::Ordering::SeqCst);
    let (meeting, akim, _moderator) = a.live_meeting().await;
    let destination = json!({"platform": "rtmp", "ingest_url": format!("rtmp://127.0.0.1:{port}/live"), "stream_key": "cluster-key-0001"});
    let (status, body) =
        a.post(&format!("/api/meetings/{meeting}/destinations"), Some(&akim), destination).await;
    assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");

    let key = stream_key(a, meeting, &akim).await;
    let first = SyntheticPublisher::start(publisher(a, meeting, &key)).await.expect("publishing at A");
    let _edge_viewer = CountingViewer::start(&b.url(&format!("/api/meetings/{meeting}/whep")), LOOPBACK, 96)
        .await
        .expect("a viewer on B, whose node pulls the broadcast");
    assert!(restream_failed(a, meeting).await, "the origin restreams (and the refusing platform fails it)");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(count(), 1, "only the origin connected to the platform, not B's edge copy");

    // The publisher reconnects at C: the restream starts there.
    first.stop().await.expect("stopping at A");
    let second = SyntheticPublisher::start(publisher(c, meeting, &key)).await.expect("publishing at C");
    assert!(restream_failed(c, meeting).await, "C, the new origin, restreams");
    assert_eq!(count(), 2, "one more connection, from C");
    drop(second);
    accepting.abort();
}

/// Whether `server` shows the meeting's first restream destination failed, within ten seconds.
async fn restream_failed(server: &TestServer, meeting: i64) -> bool {
    for _ in 0..100 {
        let (_, shown) = server.get(&format!("/api/meetings/{meeting}"), None).await;
        if shown["restream"][0]["state"] == "failed" {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// The node that runs the meeting's platform readers: the one whose metrics count one.
async fn reading_node(nodes: &Nodes, alive: &[usize]) -> Option<usize> {
    for &index in alive {
        let metrics = reqwest::get(nodes.servers[index].url("/metrics")).await.ok()?.text().await.ok()?;
        if metrics.lines().any(|line| line == "kezdesu_platform_readers 1") {
            return Some(index);
        }
    }
    None
}

#[tokio::test]
async fn killing_the_owner_repeats_no_platform_comment_and_another_node_reads_on() {
    use crate::platforms::{FAKE_TURN, Fake, platform_comments_seen, youtube_meeting};
    let Some(fake) = Fake::from_env() else { return };
    let _turn = FAKE_TURN.lock().await;
    let Some(mut nodes) = Nodes::start(8, None).await else { return };
    fake.control("youtube/polling_interval_ms", json!({"ms": 200})).await;
    let chat = format!("chat-{}", rand_suffix());
    let (meeting, _, _) =
        youtube_meeting(&nodes.servers[0], &fake, &chat, &format!("1//refresh-{chat}")).await;

    // Exactly one node reads.
    let deadline = Instant::now() + Duration::from_secs(20);
    let owner = loop {
        if let Some(owner) = reading_node(&nodes, &[0, 1, 2]).await {
            break owner;
        }
        assert!(Instant::now() < deadline, "no node started the reader");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(fake.youtube_message(&chat, "UCx", &format!("До {n}")).await);
    }
    let survivor = (owner + 1) % 3;
    let (viewer, _) = nodes.servers[survivor].viewer(meeting, "Наблюдатель").await;
    let mut watching = nodes.servers[survivor].live(meeting, &viewer, Some(0)).await;
    let fifth = ids[4].clone();
    until_event(&mut watching, "comment_posted", |event| event["source"]["external_id"] == fifth.as_str())
        .await;

    // The owner dies mid-chat; the comments written meanwhile arrive once, through another node.
    nodes.kill(owner);
    for n in 5..10 {
        ids.push(fake.youtube_message(&chat, "UCx", &format!("После {n}")).await);
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let alive: Vec<usize> = (0..3).filter(|index| *index != owner).collect();
    let mut reader = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while reader.is_none() {
        reader = reading_node(&nodes, &alive).await;
        assert!(Instant::now() < deadline, "no surviving node took the reader over");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut watching = nodes.servers[survivor].live(meeting, &viewer, Some(0)).await;
    let last = ids[9].clone();
    until_event(&mut watching, "comment_posted", |event| event["source"]["external_id"] == last.as_str())
        .await;
    assert_eq!(platform_comments_seen(&watching), ids, "every comment once, in order, across the failover");
}

/// A meeting's HLS is made on its media origin; any other node answers what the origin
/// answers, and a request forwarded once is not forwarded again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hls_is_asked_of_the_origin_node() {
    let Some(mut nodes) = Nodes::start(9, None).await else { return };
    let servers = std::mem::take(&mut nodes.servers);
    let [a, b] = [&servers[0], &servers[1]];
    let (quiet, _akim) = b.meeting_with_akim(60).await;
    let not_on_air = b.get(&format!("/api/meetings/{quiet}/hls/index.m3u8"), None).await;
    crate::support::assert_problem(&not_on_air, reqwest::StatusCode::NOT_FOUND, "no_hls");

    // These nodes have no ffmpeg: at the origin HLS stays starting, and B passes that on.
    let OnAir { meeting, .. } = OnAir::at(a).await;
    let playlist = format!("/api/meetings/{meeting}/hls/index.m3u8");
    let mut answer = None;
    let mut last = String::new();
    for _ in 0..100 {
        let response = b.client.get(b.url(&playlist)).send().await.expect("B answers");
        if response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE {
            answer = Some(response);
            break;
        }
        let at_a = a.get(&playlist, None).await;
        last = format!("{} {}; A: {at_a:?}", response.status(), response.text().await.unwrap_or_default());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if answer.is_none() {
        let lines = nodes.processes[0].take().expect("A").terminate();
        panic!("B answers 503 from the origin; last {last}; A's log:\n{}", lines.join("\n"));
    }
    let response = answer.expect("an answer");
    assert_eq!(response.headers()["retry-after"], "1");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    assert_eq!(response.headers()["content-type"], "application/problem+json");
    let problem = crate::support::read(response).await;
    crate::support::assert_problem(&problem, reqwest::StatusCode::SERVICE_UNAVAILABLE, "hls_starting");
    let segment = b.get(&format!("/api/meetings/{meeting}/hls/1.ts"), None).await;
    crate::support::assert_problem(&segment, reqwest::StatusCode::NOT_FOUND, "no_segment");

    // A request already forwarded is answered from B's own state, which has no HLS.
    let forwarded = b
        .client
        .get(b.url(&playlist))
        .header("x-kezdesu-hls-forwarded", "1")
        .send()
        .await
        .expect("B answers");
    let forwarded = crate::support::read(forwarded).await;
    crate::support::assert_problem(&forwarded, reqwest::StatusCode::NOT_FOUND, "no_hls");
}
