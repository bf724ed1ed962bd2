//! The platforms' share of `kezdesu-load live --platforms-fake URL`: the meeting follows a
//! YouTube chat, a Telegram post, a VK video and a Facebook live video on the fake platforms
//! (`tests/services/platforms`), and while the native posters post, comments are written on
//! each at `--platform-rate` per second. The fake records when it first served each comment to
//! Kezdesu's readers (`/_control/served`); sampled viewers record when it reached them, by the
//! comment's `source.external_id`. Their difference is the latency the benchmark reports: what
//! Kezdesu adds after a platform answered, without the platform's own polling interval.

use anyhow::{Context, bail};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// What the meeting follows on the fake, and how to write comments there.
pub struct PlatformLoad {
    /// One client, so that the writes reuse their connections to the fake.
    client: reqwest::Client,
    fake: String,
    chat: String,
    bot: String,
    group: i64,
    channel: i64,
    vk_group: i64,
    video: String,
}

/// Connects the akim's four accounts (as the admin), makes the broadcast, the post's forward,
/// the VK video and the Facebook live video exist, and follows them in `meeting`.
pub async fn setup(
    http: &reqwest::Client,
    base: &str,
    admin: &str,
    akim: i64,
    meeting: i64,
    fake: &str,
    suffix: u128,
) -> anyhow::Result<PlatformLoad> {
    let load = PlatformLoad {
        client: reqwest::Client::new(),
        fake: fake.trim_end_matches('/').to_owned(),
        chat: format!("bench-chat-{suffix}"),
        bot: format!("{}:AAH-bench-bot", suffix % 1_000_000_000),
        group: -1_000_000_000_000 - (suffix % 1_000_000) as i64,
        channel: -1_000_000_000_001 - (suffix % 1_000_000) as i64,
        vk_group: 100_000 + (suffix % 100_000) as i64,
        video: format!("{}", 900_000 + suffix % 100_000),
    };
    let put = |path: String, body: Value| {
        let request = http.put(format!("{base}{path}")).bearer_auth(admin).json(&body);
        async move {
            let response = request.send().await?;
            let status = response.status();
            if !status.is_success() {
                bail!("{path}: {status}: {}", response.text().await.unwrap_or_default());
            }
            Ok::<(), anyhow::Error>(())
        }
    };
    load.control(
        "youtube/broadcasts",
        json!({"id": format!("vid-{}", load.chat), "live_chat_id": load.chat}),
    )
    .await?;
    load.control("telegram/messages", json!({"bot_token": load.bot, "message": load.forward()})).await?;
    let accounts = [
        (
            "youtube",
            json!({"client_id": "bench", "client_secret": "bench", "refresh_token": format!("1//{}", load.chat)}),
        ),
        ("telegram", json!({"bot_token": load.bot})),
        ("vk", json!({"access_token": format!("vk1.a.bench-{}", load.vk_group)})),
        ("facebook", json!({"access_token": format!("EAAB-bench-{}", load.video)})),
    ];
    for (platform, body) in accounts {
        put(format!("/api/accounts/{akim}/platforms/{platform}"), body).await?;
    }
    let follows = [
        ("youtube", json!({"live_chat_id": load.chat})),
        ("telegram", json!({"chat_id": load.group, "post_id": 1})),
        ("vk", json!({"owner_id": -load.vk_group, "video_id": 1})),
        ("facebook", json!({"live_video_id": load.video})),
    ];
    for (platform, body) in follows {
        put(format!("/api/meetings/{meeting}/platforms/{platform}"), body).await?;
    }
    // Wait until the four readers are live, so that the measured comments find them reading.
    let mut last = Value::Null;
    for _ in 0..100 {
        let feeds: Value = http
            .get(format!("{base}/api/meetings/{meeting}/platforms"))
            .bearer_auth(admin)
            .send()
            .await?
            .json()
            .await?;
        let live = feeds["platforms"]
            .as_array()
            .map(|feeds| feeds.iter().filter(|feed| feed["status"]["state"] == "live").count())
            .unwrap_or(0);
        if live == 4 {
            return Ok(load);
        }
        last = feeds;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    bail!("the four platform readers did not all start: {last}")
}

impl PlatformLoad {
    async fn control(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self
            .client
            .post(format!("{}/_control/{path}", self.fake))
            .json(&body)
            .send()
            .await
            .with_context(|| format!("the fake platforms at {}", self.fake))?;
        let status = response.status();
        let body: Value = response.json().await?;
        if !status.is_success() {
            bail!("{path}: {status}: {body}");
        }
        Ok(body)
    }

    /// The channel's post as its discussion group gets it (Bot API: `is_automatic_forward`).
    fn forward(&self) -> Value {
        json!({
            "message_id": 1, "chat": {"id": self.group, "type": "supergroup", "title": "Bench group"},
            "sender_chat": {"id": self.channel, "type": "channel", "title": "Bench"},
            "is_automatic_forward": true, "text": "The meeting's broadcast",
            "forward_origin": {"type": "channel", "chat": {"id": self.channel, "type": "channel", "title": "Bench"}, "message_id": 1, "date": 1_800_000_000},
        })
    }

    /// Writes comment `n` on `platform`.
    async fn write(&self, platform: usize, n: u64) -> anyhow::Result<()> {
        let text = format!("Bench question {n}: when will the road be repaired?");
        match platform {
            0 => {
                self.control(
                    "youtube/messages",
                    json!({"live_chat_id": self.chat, "author_channel_id": format!("UCbench{}", n % 500), "author_name": format!("Viewer {}", n % 500), "text": text}),
                )
                .await?
            }
            1 => {
                let message = json!({
                    "chat": {"id": self.group, "type": "supergroup", "title": "Bench group"},
                    "from": {"id": 10_000 + n % 500, "is_bot": false, "first_name": "Reader", "last_name": format!("{}", n % 500)},
                    "text": text, "reply_to_message": self.forward(),
                });
                self.control("telegram/messages", json!({"bot_token": self.bot, "message": message})).await?
            }
            2 => {
                let object = json!({"id": n + 1, "from_id": 20_000 + n % 500, "date": 1_800_000_000, "text": text, "video_owner_id": -self.vk_group, "video_id": 1});
                self.control("vk/events", json!({"group_id": self.vk_group, "type": "video_comment_new", "object": object}))
                    .await?
            }
            _ => {
                self.control(
                    "facebook/comments",
                    json!({"live_video_id": self.video, "from": {"id": format!("{}", 30_000 + n % 500), "name": format!("Visitor {}", n % 500)}, "message": text}),
                )
                .await?
            }
        };
        Ok(())
    }

    /// Writes `rate` comments a second on each of the four platforms for `seconds`; returns
    /// how many were written.
    pub async fn inject(self: Arc<Self>, rate: f64, seconds: u64) -> u64 {
        let written = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for platform in 0..4 {
            let (load, written) = (self.clone(), written.clone());
            tasks.push(tokio::spawn(async move {
                let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let deadline = tokio::time::Instant::now() + Duration::from_secs(seconds);
                let mut n = 0;
                let mut writes = Vec::new();
                while tokio::time::Instant::now() < deadline {
                    tick.tick().await;
                    n += 1;
                    // Each write on its own, so that a slow answer of the fake never lowers the rate.
                    let (load, written) = (load.clone(), written.clone());
                    writes.push(tokio::spawn(async move {
                        match load.write(platform, n).await {
                            Ok(()) => {
                                written.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(error) => eprintln!("writing on the fake platform {platform}: {error}"),
                        }
                    }));
                }
                for write in writes {
                    let _ = write.await;
                }
            }));
        }
        for task in tasks {
            let _ = task.await;
        }
        written.load(Ordering::Relaxed)
    }

    /// When the fake first served each comment to Kezdesu, in Unix microseconds, by
    /// `platform:external_id`.
    pub async fn served(&self) -> anyhow::Result<HashMap<String, u64>> {
        let served: HashMap<String, f64> =
            reqwest::get(format!("{}/_control/served", self.fake)).await?.json().await?;
        Ok(served.into_iter().map(|(key, millis)| (key, (millis * 1000.0) as u64)).collect())
    }
}

/// The `platform:external_id` of each platform comment in an events frame, cheaply.
pub fn sources_in(text: &str) -> impl Iterator<Item = String> + '_ {
    text.match_indices(r#""source":{"#).filter_map(move |(at, _)| {
        let rest = &text[at..];
        let field = |name: &str| {
            let key = format!(r#""{name}":""#);
            let start = rest.find(&key)? + key.len();
            let end = rest[start..].find('"')? + start;
            Some(rest[start..end].to_owned())
        };
        Some(format!("{}:{}", field("platform")?, field("external_id")?))
    })
}
