//! The test harness: a real server on a free loopback port, and a small HTTP client.

use futures_util::StreamExt;
use kezdesu::config::{Config, StorageEngine};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sqlx::AnyPool;
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const ADMIN_PASSWORD: &str = "admin password for tests";

/// A rule set whose presentation share is 1/60, so a 1-minute meeting has a 1-second budget
/// and the automatic switch can be watched without long sleeps.
pub const SHORT_RULES: &str = r#"
id = "test-short"
version = 1
source = "integration tests"

[meeting]
presentation_share = "1/60"
min_planned_minutes = 1
max_planned_minutes = 480

[issues]
results_within_days = 10
progress_day_of_following_month = 25
central_collection_days = ["02-15", "08-15"]

[calendar]
approving_akims_of = ["oblast"]
approval_day = "01-15"
submission_day = "01-20"
forwarding_day = "02-01"
coverage = []
announcement = []
"#;

/// A running server and what it needs to be restarted on the same data.
pub struct TestServer {
    pub base: String,
    pub config: Config,
    pub client: reqwest::Client,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<anyhow::Result<()>>>,
    /// Kept so the data folder lives as long as the server (and across restarts).
    data: std::sync::Arc<tempfile::TempDir>,
}

impl TestServer {
    /// A server with test defaults: no demo, a known admin password, the shipped rules.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// A server using [`SHORT_RULES`].
    pub async fn start_short() -> TestServer {
        let data = std::sync::Arc::new(tempfile::tempdir().expect("temporary folder"));
        let rules = data.path().join("short-rules.toml");
        std::fs::write(&rules, SHORT_RULES).expect("writing the rule set");
        TestServer::boot(data, move |config| config.rules.file = Some(rules.clone())).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let data = std::sync::Arc::new(tempfile::tempdir().expect("temporary folder"));
        TestServer::boot(data, adjust).await
    }

    async fn boot(data: std::sync::Arc<tempfile::TempDir>, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config::default();
        config.storage.data_dir = data.path().join("data");
        if let Some(url) = fresh_postgres_database().await {
            config.storage.engine = StorageEngine::Postgres;
            config.storage.postgres_url = Some(url);
            config.storage.postgres_connections = 8;
        }
        config.demo.enabled = false;
        config.admin_password = Some(ADMIN_PASSWORD.to_owned());
        config.server.shutdown_grace_seconds = 3;
        // A wildcard bind skips loopback; the tests' peers are all on this machine.
        config.media.udp_addresses = vec![std::net::IpAddr::from([127, 0, 0, 1])];
        // The synthetic publishers' video is no codec's: nothing to record, and no ffmpeg per
        // broadcast on the test machine's two cores. The recording tests turn it on.
        config.recording.enabled = false;
        config.hls.enabled = false;
        adjust(&mut config);
        TestServer::launch(config, data).await
    }

    async fn launch(mut config: Config, data: std::sync::Arc<tempfile::TempDir>) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binding a loopback port");
        let address = listener.local_addr().expect("bound address");
        config.server.listen = address;
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(kezdesu::run(config.clone(), listener, async move {
            let _ = stopped.await;
        }));
        let server = TestServer {
            base: format!("http://{address}"),
            config,
            client: reqwest::Client::builder().cookie_store(true).build().expect("HTTP client"),
            stop: Some(stop),
            task: Some(task),
            data,
        };
        server.wait_ready().await;
        server
    }

    async fn wait_ready(&self) {
        for _ in 0..200 {
            if let Ok(response) = self.client.get(self.url("/healthz")).send().await
                && response.status() == StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        panic!("the server did not become ready");
    }

    /// Talks to a server this harness did not start (a `kezdesu` process), at `base`.
    pub fn remote(base: String, data_dir: PathBuf) -> TestServer {
        let mut config = Config::default();
        config.storage.data_dir = data_dir;
        TestServer {
            base,
            config,
            client: reqwest::Client::new(),
            stop: None,
            task: None,
            data: std::sync::Arc::new(tempfile::tempdir().expect("temporary folder")),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn data_dir(&self) -> PathBuf {
        self.config.storage.data_dir.clone()
    }

    /// Stops the server gracefully and returns how `run` ended.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("the server is running");
        tokio::time::timeout(Duration::from_secs(10), task)
            .await
            .expect("shutdown is bounded")
            .expect("the server task did not panic")
    }

    /// Stops the server and starts a new one on the same data folder and configuration.
    pub async fn restart(mut self) -> TestServer {
        self.stop().await.expect("clean shutdown");
        self.restart_stopped().await
    }

    /// Starts a new server on the data folder and configuration of this stopped one.
    pub async fn restart_stopped(self) -> TestServer {
        assert!(self.task.is_none(), "stop the server first");
        TestServer::launch(self.config.clone(), self.data.clone()).await
    }

    /// Sends a JSON request, with a bearer token when given, and returns status and body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut request = reqwest::Client::new().request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("the server answers");
        read(response).await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> (StatusCode, Value) {
        self.call(Method::GET, path, token, None).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, token, Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
        self.call(Method::PATCH, path, token, Some(body)).await
    }

    pub async fn sign_in(&self, login: &str, password: &str) -> String {
        let (status, body) =
            self.post("/api/session", None, json!({"login": login, "password": password})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["token"].as_str().expect("a token").to_owned()
    }

    pub async fn admin(&self) -> String {
        self.sign_in("admin", ADMIN_PASSWORD).await
    }

    /// Creates an account and returns its id.
    pub async fn create_account(&self, admin: &str, login: &str, role: &str) -> i64 {
        let body =
            json!({"login": login, "display_name": login, "role": role, "password": password_of(login)});
        let (status, account) = self.post("/api/accounts", Some(admin), body).await;
        assert_eq!(status, StatusCode::CREATED, "{account}");
        account["id"].as_i64().expect("an id")
    }

    pub async fn create_territory(&self, admin: &str, kato: &str) -> i64 {
        let body =
            json!({"kato": kato, "kind": "village", "name": {"kk": "Ауыл", "ru": "Село", "en": "Village"}});
        let (status, territory) = self.post("/api/territories", Some(admin), body).await;
        assert_eq!(status, StatusCode::CREATED, "{territory}");
        territory["id"].as_i64().expect("an id")
    }

    /// A territory, an akim and a meeting of `planned_minutes`; returns (meeting id, akim token).
    pub async fn meeting_with_akim(&self, planned_minutes: i64) -> (i64, String) {
        let admin = self.admin().await;
        let login = format!("akim{}", rand_suffix());
        let akim = self.create_account(&admin, &login, "akim").await;
        let territory = self.create_territory(&admin, &format!("75{:07}", rand_suffix() % 10_000_000)).await;
        let (status, meeting) =
            self.post("/api/meetings", Some(&admin), meeting_body(territory, akim, planned_minutes)).await;
        assert_eq!(status, StatusCode::CREATED, "{meeting}");
        let token = self.sign_in(&login, &password_of(&login)).await;
        (meeting["id"].as_i64().expect("an id"), token)
    }

    /// Opens the meeting's event stream.
    pub async fn events(&self, meeting: i64) -> EventStream {
        let response = reqwest::Client::new()
            .get(self.url(&format!("/api/meetings/{meeting}/events")))
            .send()
            .await
            .expect("stream");
        assert_eq!(response.status(), StatusCode::OK);
        EventStream { body: Box::pin(response.bytes_stream()), buffer: String::new() }
    }

    /// Whether this server keeps its state in SQLite, the embedded default.
    pub fn on_sqlite(&self) -> bool {
        self.config.storage.engine == StorageEngine::Sqlite
    }

    /// A read-only connection to the server's database, to check what was stored.
    pub async fn database(&self) -> AnyPool {
        match &self.config.storage.postgres_url {
            Some(url) if !self.on_sqlite() => connect_any(url).await,
            _ => database_at(&self.data_dir()).await,
        }
    }
}

/// A writable connection to the server's database, to move recorded instants into the past
/// as if things had happened then, or to plant what the API would refuse.
pub async fn writable_database(server: &TestServer) -> AnyPool {
    match &server.config.storage.postgres_url {
        Some(url) if !server.on_sqlite() => connect_any(url).await,
        _ => {
            let file = server.data_dir().join(kezdesu::store::sqlite::DATABASE_FILE);
            connect_any(&format!("sqlite://{}", file.display())).await
        }
    }
}

/// A read-only connection to the SQLite file in `data_dir`.
pub async fn database_at(data_dir: &Path) -> AnyPool {
    let file = data_dir.join(kezdesu::store::sqlite::DATABASE_FILE);
    connect_any(&format!("sqlite://{}?mode=ro", file.display())).await
}

/// Through `sqlx::Any`, so one test reads either store with the same `$N` queries.
async fn connect_any(url: &str) -> AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new().max_connections(2).connect(url).await.expect("opening the database")
}

/// Where this run's servers keep their state. The integration suite runs once on SQLite (the
/// default) and once on PostgreSQL: with `KEZDESU_TEST_STORE=postgres`, each server gets a
/// fresh database in the cluster at `KEZDESU_TEST_POSTGRES_URL`, which `tests/run` starts.
async fn fresh_postgres_database() -> Option<String> {
    if std::env::var("KEZDESU_TEST_STORE").ok()?.as_str() != "postgres" {
        return None;
    }
    let url = std::env::var("KEZDESU_TEST_POSTGRES_URL")
        .expect("KEZDESU_TEST_STORE=postgres needs KEZDESU_TEST_POSTGRES_URL");
    Some(create_postgres_database(&url).await)
}

/// Creates an empty database in the PostgreSQL server at `server_url`; returns its URL.
pub async fn create_postgres_database(server_url: &str) -> String {
    let admin = sqlx::PgPool::connect(server_url).await.expect("PostgreSQL answers");
    let database = format!("kezdesu_test_{}_{}", std::process::id(), rand_suffix());
    sqlx::query(&format!("CREATE DATABASE {database}")).execute(&admin).await.expect("a fresh database");
    admin.close().await;
    let mut url = reqwest::Url::parse(server_url).expect("a PostgreSQL URL");
    url.set_path(&database);
    url.to_string()
}

/// Connects to any database the tests read directly, by URL.
pub async fn connect_database(url: &str) -> AnyPool {
    connect_any(url).await
}

pub fn password_of(login: &str) -> String {
    format!("{login} has a long password")
}

pub fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed) * 7919 + u64::from(std::process::id() % 1000)
}

pub fn meeting_body(territory: i64, akim: i64, planned_minutes: i64) -> Value {
    let start = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2);
    let start = crate::civil::in_default_zone(start).strftime("%Y-%m-%dT%H:%M:%S%:z");
    json!({
        "title": {"kk": "Кездесу", "ru": "Встреча", "en": "Meeting"},
        "territory_id": territory,
        "akim_account_id": akim,
        "planned_start": start.to_string(),
        "planned_minutes": planned_minutes,
        "kind": "calendar",
    })
}

pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let content_type =
        response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let text = response.text().await.expect("a body");
    if status.is_client_error() || status.is_server_error() {
        assert_eq!(content_type, "application/problem+json", "errors are problems: {status} {text}");
    }
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// Asserts an RFC 9457 problem with the given status and code.
#[track_caller]
pub fn assert_problem(answer: &(StatusCode, Value), status: StatusCode, code: &str) {
    let (got_status, body) = answer;
    assert_eq!(*got_status, status, "{body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()), "{body}");
    assert_eq!(body["type"], format!("urn:kezdesu:problem:{code}"), "{body}");
}

type ByteStream = std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>;

/// A Server-Sent Events reader.
pub struct EventStream {
    body: ByteStream,
    buffer: String,
}

impl EventStream {
    /// The next event's name and JSON data, skipping keep-alive comments; `None` when the
    /// stream ends or nothing arrives within `limit`.
    pub async fn next(&mut self, limit: Duration) -> Option<(String, Value)> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = String::new();
                for line in block.lines() {
                    if let Some(value) = line.strip_prefix("event:") {
                        name = value.trim().to_owned();
                    } else if let Some(value) = line.strip_prefix("data:") {
                        data.push_str(value.trim_start());
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return Some((name, serde_json::from_str(&data).unwrap_or(Value::String(data))));
            }
            let chunk = tokio::time::timeout_at(deadline, self.body.next()).await.ok()??.ok()?;
            self.buffer.push_str(&String::from_utf8_lossy(&chunk));
        }
    }
}

/// A live-channel client over a real WebSocket.
pub struct LiveClient {
    pub socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
    /// The `hello` the server sent.
    pub hello: Value,
    /// The token it connected with.
    pub token: String,
    /// Every event read so far, in order, whatever call read it.
    pub seen: Vec<Value>,
    /// How many of `seen` [`LiveClient::events_through`] has handed out.
    pub handed_out: usize,
}

impl TestServer {
    pub fn live_url(&self, meeting: i64, token: Option<&str>, since: Option<u64>) -> String {
        let mut url = format!("{}/api/meetings/{meeting}/live", self.base.replacen("http", "ws", 1));
        let mut query = Vec::new();
        if let Some(token) = token {
            query.push(format!("token={token}"));
        }
        if let Some(since) = since {
            query.push(format!("since={since}"));
        }
        if !query.is_empty() {
            url.push('?');
            url.push_str(&query.join("&"));
        }
        url
    }

    /// Connects with the token in the query and reads the `hello`.
    pub async fn live(&self, meeting: i64, token: &str, since: Option<u64>) -> LiveClient {
        let (socket, _) = tokio_tungstenite::connect_async(self.live_url(meeting, Some(token), since))
            .await
            .expect("connects");
        let mut client = LiveClient::new(socket, token);
        let hello = client.next(Duration::from_secs(5)).await.expect("a hello");
        assert_eq!(hello["type"], "hello", "{hello}");
        client.hello = hello;
        client
    }

    /// A viewer token for `meeting`.
    pub async fn viewer(&self, meeting: i64, name: &str) -> (String, i64) {
        let (status, viewer) =
            self.post(&format!("/api/meetings/{meeting}/viewers"), None, json!({"display_name": name})).await;
        assert_eq!(status, StatusCode::CREATED, "{viewer}");
        (viewer["token"].as_str().expect("token").to_owned(), viewer["viewer_id"].as_i64().expect("id"))
    }

    /// A meeting in Q&A, its akim's token and a moderator's token.
    pub async fn live_meeting(&self) -> (i64, String, String) {
        let (meeting, akim) = self.meeting_with_akim(60).await;
        let (status, body) =
            self.post(&format!("/api/meetings/{meeting}/phase"), Some(&akim), json!({"phase": "qa"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let admin = self.admin().await;
        let login = format!("moderator{}", rand_suffix());
        self.create_account(&admin, &login, "moderator").await;
        let moderator = self.sign_in(&login, &password_of(&login)).await;
        (meeting, akim, moderator)
    }
}

impl LiveClient {
    /// A client on an open socket that has not read its `hello` yet.
    pub fn new(
        socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
        token: &str,
    ) -> LiveClient {
        LiveClient { socket, hello: Value::Null, token: token.to_owned(), seen: Vec::new(), handed_out: 0 }
    }

    pub async fn send(&mut self, message: Value) {
        use futures_util::SinkExt;
        self.socket
            .send(tokio_tungstenite::tungstenite::Message::Text(message.to_string().into()))
            .await
            .expect("sends");
    }

    pub async fn send_raw(&mut self, text: String) {
        use futures_util::SinkExt;
        self.socket.send(tokio_tungstenite::tungstenite::Message::Text(text.into())).await.expect("sends");
    }

    /// The next JSON message of any type, viewer counts included.
    pub async fn socket_message(&mut self, limit: Duration) -> Option<Value> {
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next()).await.ok()?? {
                Ok(Message::Text(text)) => {
                    return Some(serde_json::from_str(&text).expect("JSON from the server"));
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// The next JSON message, skipping pings and viewer counts; `None` on close or timeout.
    pub async fn next(&mut self, limit: Duration) -> Option<Value> {
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next()).await.ok()?? {
                Ok(Message::Text(text)) => {
                    let value: Value = serde_json::from_str(&text).expect("JSON from the server");
                    if value["type"] == "viewers" {
                        continue;
                    }
                    return Some(value);
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// The close code the server ends with, reading (and dropping) everything before it.
    pub async fn close_code(&mut self, limit: Duration) -> Option<u16> {
        use tokio_tungstenite::tungstenite::Message;
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            match tokio::time::timeout_at(deadline, self.socket.next()).await.ok()?? {
                Ok(Message::Close(Some(frame))) => return Some(frame.code.into()),
                Ok(Message::Close(None)) | Err(_) => return None,
                Ok(_) => continue,
            }
        }
    }

    /// Reads until a message satisfies `wanted`, returning it. Events read on the way are kept
    /// in `seen` (and appended to `also`), so no later call misses them.
    pub async fn until(&mut self, also: &mut Vec<Value>, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            let message = self
                .next(Duration::from_secs(5))
                .await
                .unwrap_or_else(|| panic!("nothing more; saw {:#?}", self.seen));
            if message["type"] == "events" {
                let events = message["events"].as_array().expect("events");
                also.extend(events.iter().cloned());
                self.seen.extend(events.iter().cloned());
            }
            if wanted(&message) {
                return message;
            }
        }
    }

    /// The first event, read before or now, that satisfies `wanted`.
    pub async fn event_where(&mut self, wanted: impl Fn(&Value) -> bool) -> Value {
        loop {
            if let Some(found) = self.seen.iter().find(|event| wanted(event)) {
                return found.clone();
            }
            self.until(&mut Vec::new(), |message| message["type"] == "events").await;
        }
    }

    /// The events not handed out before, through the one with `seq`, reading more as needed.
    pub async fn events_through(&mut self, seq: u64) -> Vec<Value> {
        loop {
            let arrived = self.seen[self.handed_out..].iter().position(|e| e["seq"].as_u64() >= Some(seq));
            if let Some(index) = arrived {
                let end = self.handed_out + index + 1;
                let events = self.seen[self.handed_out..end].to_vec();
                self.handed_out = end;
                return events;
            }
            let mut ignored = Vec::new();
            self.until(&mut ignored, |m| m["type"] == "events").await;
        }
    }

    /// The next message that is not an event frame.
    pub async fn answer(&mut self) -> Value {
        let mut ignored = Vec::new();
        self.until(&mut ignored, |m| m["type"] != "events").await
    }

    /// Posts a comment and waits for its ack.
    pub async fn comment(&mut self, client_id: &str, text: &str) -> Value {
        self.send(json!({"type": "comment", "client_id": client_id, "text": text})).await;
        let mut ignored = Vec::new();
        self.until(&mut ignored, |m| m["type"] == "ack" || m["type"] == "error").await
    }

    /// Sends a command with a request id and waits for its answer (`done` or `error`).
    pub async fn command(&mut self, mut command: Value) -> Value {
        let request_id = format!("r{}", rand_suffix());
        command["request_id"] = json!(request_id);
        self.send(command).await;
        let mut ignored = Vec::new();
        self.until(&mut ignored, |m| {
            (m["type"] == "done" || m["type"] == "error") && m["request_id"] == request_id
        })
        .await
    }
}
