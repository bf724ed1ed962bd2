//! The `kezdesu` binary itself: first start, configuration errors and signals.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

fn kezdesu(dir: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kezdesu"));
    command.current_dir(dir).env_remove("KEZDESU_ADMIN_PASSWORD").env_remove("RUST_LOG").env("NO_COLOR", "1");
    command
}

/// A running binary whose standard output is read line by line on a thread.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(mut command: Command) -> Running {
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

    fn address(&mut self) -> String {
        let ready = self.wait_for("kezdesu is ready");
        let start = ready.find("address=").expect("the address is logged") + "address=".len();
        ready[start..].split_whitespace().next().expect("an address").to_owned()
    }

    /// Sends SIGTERM and waits for a clean exit.
    fn terminate(mut self) -> Vec<String> {
        let status =
            Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status().expect("kill runs");
        assert!(status.success());
        for _ in 0..100 {
            if let Some(status) = self.child.try_wait().expect("waiting") {
                assert!(status.success(), "exit status {status}");
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                    self.seen.push(line);
                }
                return self.seen;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        panic!("no exit within 10 s of SIGTERM");
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
