//! The `kezdesu` binary itself: first start, configuration errors and signals.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub(crate) fn kezdesu(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kezdesu"));
    command.current_dir(dir).env_remove("KEZDESU_ADMIN_PASSWORD").env_remove("RUST_LOG").env("NO_COLOR", "1");
    command
}

/// A running binary whose standard output is read line by line on a thread.
pub(crate) struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    pub(crate) fn start(mut command: Command) -> Running {
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("the binary starts");
        let (sender, lines) = mpsc::channel();
        for stream in [
            Box::new(child.stdout.take().expect("stdout")) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().expect("stderr")),
        ] {
            let sender = sender.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = sender.send(line);
                }
            });
        }
        Running { child, lines, seen: Vec::new() }
    }

    /// Reads lines until one contains `needle`; returns it.
    fn wait_for(&mut self, needle: &str) -> String {
        loop {
            let line = self.lines.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| {
                panic!("no line with {needle:?} in:\n{}", self.seen.join("\n"));
            });
            self.seen.push(line.clone());
            if line.contains(needle) {
                return line;
            }
        }
    }

    pub(crate) fn address(&mut self) -> String {
        let ready = self.wait_for("kezdesu is ready");
        let start = ready.find("address=").expect("the address is logged") + "address=".len();
        ready[start..].split_whitespace().next().expect("an address").to_owned()
    }

    /// Kills the process with SIGKILL, as a crash or an out-of-memory kill would.
    pub(crate) fn kill(mut self) {
        self.child.kill().expect("SIGKILL is delivered");
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub(crate) fn terminate(mut self) -> Vec<String> {
        let status =
            Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("kill runs");
        assert!(status.success());
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().expect("waiting") {
                assert!(status.success(), "exit status {status}");
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return std::mem::take(&mut self.seen);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("no exit within 10 s of SIGTERM");
    }
}

impl Drop for Running {
    /// A test that fails midway leaves no server running behind it.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn finished(mut command: Command) -> (bool, String) {
    let output = command.output().expect("the binary runs");
    let text =
        format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    (output.status.success(), text)
}

#[tokio::test]
async fn the_first_start_prints_the_admin_password_once_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut command = kezdesu(dir.path());
    command.args(["serve", "--listen", "127.0.0.1:0", "--data", "data"]);
    let mut first = Running::start(command);
    let password_line = first.wait_for("password:");
    let password = password_line.split_whitespace().last().expect("a password").to_owned();
    first.wait_for("/meetings/1");
    let address = first.address();

    let client = reqwest::Client::new();
    let signed_in = client
        .post(format!("http://{address}/api/session"))
        .json(&serde_json::json!({"login": "admin", "password": password}))
        .send()
        .await
        .expect("answer");
    assert_eq!(signed_in.status(), 200);
    let demo = client.get(format!("http://{address}/api/meetings/1")).send().await.expect("answer");
    assert_eq!(demo.status(), 200, "the demo meeting exists");
    let demo: serde_json::Value = demo.json().await.expect("json");
    assert_eq!(demo["status"], "scheduled");
    // A planned demo issue shows a newcomer what the register keeps.
    let issues =
        client.get(format!("http://{address}/api/issues?meeting_id=1")).send().await.expect("answer");
    let issues: serde_json::Value = issues.json().await.expect("json");
    assert_eq!(issues["total"], 1, "{issues}");
    assert_eq!(issues["items"][0]["status"], "planned");
    assert_eq!(issues["items"][0]["actions"][0]["executor_organisation"], "ГУ «Отдел ЖКХ»");
    // The demo stands on a real oblast, Ulytau, and its akim governs Zhanaarka district with an
    // agreed calendar for this year that leaves no gap.
    let get = |path: String| {
        let client = client.clone();
        let url = format!("http://{address}{path}");
        async move {
            client.get(url).send().await.expect("answer").json::<serde_json::Value>().await.expect("json")
        }
    };
    let territories = get("/api/territories".into()).await;
    assert_eq!(territories["territories"].as_array().expect("territories").len(), 54);
    let territory = get(format!("/api/territories/{}", demo["territory_id"])).await;
    assert_eq!(territory["kato"], "623630000", "{territory}");
    let year = crate::civil::default_today().year();
    let calendar = get(format!("/api/akims/{}/calendars/{year}", demo["akim_account_id"])).await;
    assert_eq!(calendar["in_force"], 1, "{calendar}");
    let report = get(format!("/api/calendar-revisions/{}/validation", calendar["revisions"][0]["id"])).await;
    assert_eq!(report["gaps"], serde_json::json!([]), "{report}");
    let output = first.terminate();
    assert!(output.iter().any(|line| line.contains("SIGTERM")), "{output:#?}");
    assert!(
        output.iter().all(|line| !line.contains(&password) || line.contains("password:")),
        "no log line repeats the password"
    );

    let mut command = kezdesu(dir.path());
    command.args(["serve", "--listen", "127.0.0.1:0", "--data", "data"]);
    let mut second = Running::start(command);
    second.address();
    let output = second.terminate();
    assert!(output.iter().all(|line| !line.contains("password")), "printed only once: {output:#?}");
}

#[test]
fn the_admin_password_can_come_from_the_environment() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut command = kezdesu(dir.path());
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--data", "data"])
        .env("KEZDESU_ADMIN_PASSWORD", "chosen admin password");
    command.env("KEZDESU__DEMO__ENABLED", "false");
    let mut running = Running::start(command);
    running.address();
    let output = running.terminate();
    assert!(
        output.iter().all(|line| !line.contains("password:") && !line.contains("/meetings/")),
        "{output:#?}"
    );
}

#[test]
fn an_unknown_key_in_a_file_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().expect("temporary folder");
    std::fs::write(dir.path().join("site.toml"), "[server]\nlisen = \"0.0.0.0:80\"\n").expect("write");
    let mut command = kezdesu(dir.path());
    command.args(["serve", "--config", "site.toml"]);
    let (ok, output) = finished(command);
    assert!(!ok);
    assert!(output.contains("server") && output.contains("lisen"), "{output}");
}

#[test]
fn an_invalid_value_from_the_environment_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut command = kezdesu(dir.path());
    command.args(["serve"]).env("KEZDESU__SERVER__MAX_BODY_BYTES", "lots");
    let (ok, output) = finished(command);
    assert!(!ok);
    assert!(output.contains("server.max_body_bytes"), "{output}");

    let mut command = kezdesu(dir.path());
    command.args(["serve"]).env("KEZDESU__MEETINGS__TIME_ZONE", "Mars/Olympus");
    let (ok, output) = finished(command);
    assert!(!ok);
    assert!(output.contains("meetings.time_zone"), "{output}");
    assert!(!dir.path().join("data").exists(), "nothing was created before the configuration was valid");
}

#[test]
fn a_missing_config_file_is_an_error() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut command = kezdesu(dir.path());
    command.args(["serve", "--config", "absent.toml"]);
    let (ok, output) = finished(command);
    assert!(!ok);
    assert!(output.contains("absent.toml"), "{output}");
}

/// A server killed with SIGKILL in the middle of a flood of comments loses none it
/// acknowledged, and its log has no gap.
#[tokio::test]
async fn every_acknowledged_comment_survives_sigkill() {
    use crate::support::{ADMIN_PASSWORD, TestServer};
    use futures_util::{SinkExt, StreamExt};
    use serde_json::{Value, json};
    use tokio_tungstenite::tungstenite::Message;

    let dir = tempfile::tempdir().expect("temporary folder");
    let start = || {
        let mut command = kezdesu(dir.path());
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data", "data"])
            .env("KEZDESU_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("KEZDESU__DEMO__ENABLED", "false")
            .env("KEZDESU__LIVE__COMMENT_BURST", "1000000")
            .env("KEZDESU__LIVE__COMMENTS_PER_MINUTE_PER_ADDRESS", "1000000");
        Running::start(command)
    };
    let mut first = start();
    let address = first.address();
    let server = TestServer::remote(format!("http://{address}"), dir.path().join("data"));
    let (meeting, _akim, _moderator) = server.live_meeting().await;

    // Eight viewers post as fast as they are acknowledged, each keeping what was acked.
    let mut posters = Vec::new();
    for index in 0..8 {
        let (token, _) = server.viewer(meeting, &format!("viewer {index}")).await;
        let url = server.live_url(meeting, Some(&token), None);
        posters.push(tokio::spawn(async move {
            let mut acked: Vec<(String, u64)> = Vec::new();
            let Ok((mut socket, _)) = tokio_tungstenite::connect_async(url).await else { return acked };
            for n in 0.. {
                let client_id = format!("v{index}-{n}");
                let message = json!({"type": "comment", "client_id": client_id, "text": format!("comment {client_id}")});
                if socket.send(Message::Text(message.to_string().into())).await.is_err() {
                    return acked;
                }
                loop {
                    match socket.next().await {
                        Some(Ok(Message::Text(text))) => {
                            let answer: Value = serde_json::from_str(&text).expect("JSON");
                            if answer["type"] == "ack" {
                                acked.push((client_id.clone(), answer["seq"].as_u64().expect("seq")));
                                break;
                            }
                            if answer["type"] == "error" {
                                break;
                            }
                        }
                        Some(Ok(_)) => {}
                        _ => return acked,
                    }
                }
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status =
        Command::new("kill").arg("-KILL").arg(first.child.id().to_string()).status().expect("kill runs");
    assert!(status.success());
    let _ = first.child.wait();
    let mut acked = Vec::new();
    for poster in posters {
        acked.extend(poster.await.expect("a poster"));
    }
    assert!(acked.len() > 50, "the flood was real: {} acks", acked.len());

    let mut second = start();
    let address = second.address();
    let server = TestServer::remote(format!("http://{address}"), dir.path().join("data"));
    let admin = server.admin().await;
    let mut reader = server.live(meeting, &admin, Some(0)).await;
    let last = reader.hello["last_seq"].as_u64().expect("last seq");
    let events = reader.events_through(last).await;
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().expect("seq")).collect();
    assert_eq!(seqs, (1..=last).collect::<Vec<_>>(), "no gap after the restart");
    let stored: std::collections::HashMap<String, u64> = events
        .iter()
        .filter(|e| e["type"] == "comment_posted")
        .map(|e| (e["client_id"].as_str().expect("client id").to_owned(), e["seq"].as_u64().expect("seq")))
        .collect();
    for (client_id, seq) in &acked {
        assert_eq!(stored.get(client_id), Some(seq), "acked {client_id} at {seq} is stored");
    }
    second.terminate();
}
