//! The server's configuration: one serde struct, loaded in layers and validated at start-up.
//!
//! Layers, later ones winning: the compiled-in defaults ([`Config::default`]), then
//! `config/default.toml` if it exists in the working directory, then the file given with
//! `--config`, then environment variables `KEZDESU__SECTION__KEY`, then command-line flags.
//! An unknown key or an invalid value stops start-up with a message that names the key.
//!
//! Secrets never come from files: the first admin's password is read from the environment
//! (`KEZDESU_ADMIN_PASSWORD`) by `main` and carried in a field that no layer can set.

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

/// The file of shipped defaults, read from the working directory when present.
pub const DEFAULT_FILE: &str = "config/default.toml";
/// Environment variables with this prefix override the files: `KEZDESU__SERVER__LISTEN`.
pub const ENV_PREFIX: &str = "KEZDESU__";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub storage: StorageConfig,
    pub log: LogConfig,
    pub auth: AuthConfig,
    pub meetings: MeetingsConfig,
    pub rules: RulesConfig,
    pub moderation: ModerationConfig,
    pub demo: DemoConfig,
    pub live: LiveConfig,
    pub media: MediaConfig,
    pub register: RegisterConfig,
    pub demands: DemandsConfig,
    pub cluster: ClusterConfig,
    pub egress: EgressConfig,
    pub recording: RecordingConfig,
    pub hls: HlsConfig,
    pub platforms: PlatformsConfig,
    /// The first admin's password, from `KEZDESU_ADMIN_PASSWORD`; never read from a file.
    #[serde(skip)]
    pub admin_password: Option<String>,
    /// The key that seals platform stream keys at rest, from `KEZDESU_SECRET_KEY`; never read
    /// from a file. Without it, restream destinations cannot be stored.
    #[serde(skip)]
    pub secret_key: Option<crate::secrets::SecretKey>,
    /// The key before the last rotation, from `KEZDESU_SECRET_KEY_PREVIOUS`: values sealed
    /// with it still open, and are sealed again with `secret_key` at start-up.
    #[serde(skip)]
    pub previous_secret_key: Option<crate::secrets::SecretKey>,
}

/// Gathering comments from the akimat's social-media accounts. Every API's base URL is a
/// setting, so that tests point them at fakes (`tests/services/platforms`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlatformsConfig {
    /// YouTube Data API v3, under `/youtube/v3/`.
    pub youtube_api_url: String,
    /// Google's OAuth 2.0 token endpoint's base (`POST /token`).
    pub youtube_oauth_url: String,
    /// Telegram Bot API (`/bot<token>/<method>`).
    pub telegram_api_url: String,
    /// VK API (`/method/<name>`).
    pub vk_api_url: String,
    /// Facebook Graph API, and the version in its paths.
    pub facebook_graph_url: String,
    pub facebook_api_version: String,
    /// How often a Facebook live video's comments are read (the Graph API has no push here).
    pub facebook_poll_ms: u64,
    /// How long a Telegram or VK long poll waits on the platform's side.
    pub long_poll_seconds: u32,
    /// Every other request must be answered within this.
    pub request_timeout_seconds: u64,
    /// How often the node looks for feeds to start or stop.
    pub reconcile_ms: u64,
    /// The pause after a failed read starts here and doubles up to the longest.
    pub first_retry_pause_ms: u64,
    pub longest_retry_pause_ms: u64,
}

impl Default for PlatformsConfig {
    fn default() -> PlatformsConfig {
        PlatformsConfig {
            youtube_api_url: "https://www.googleapis.com".to_owned(),
            youtube_oauth_url: "https://oauth2.googleapis.com".to_owned(),
            telegram_api_url: "https://api.telegram.org".to_owned(),
            vk_api_url: "https://api.vk.com".to_owned(),
            facebook_graph_url: "https://graph.facebook.com".to_owned(),
            facebook_api_version: "v19.0".to_owned(),
            facebook_poll_ms: 2000,
            long_poll_seconds: 25,
            request_timeout_seconds: 10,
            reconcile_ms: 1000,
            first_retry_pause_ms: 1000,
            longest_retry_pause_ms: 60_000,
        }
    }
}

/// Restreaming to the akimat's social-media accounts (RTMP and RTMPS).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EgressConfig {
    /// The most destinations one meeting, or one akim's defaults, may have.
    pub max_destinations: usize,
    /// The ffmpeg program that turns the broadcast's RTP into FLV (H.264 copied or encoded,
    /// Opus to AAC).
    pub ffmpeg: PathBuf,
    /// After a destination dropped while live, it is tried again for this long, then failed.
    pub retry_for_seconds: u64,
    /// The pause before the first retry; it doubles with each failure, up to the longest.
    pub first_retry_pause_ms: u64,
    pub longest_retry_pause_ms: u64,
    /// A connection and its publish request must succeed within this.
    pub connect_timeout_seconds: u64,
    /// PEM certificates trusted for `rtmps://` besides the bundled web roots (a private
    /// ingest server, or a test's own terminator).
    pub extra_ca_file: Option<PathBuf>,
    /// AAC bitrate of the restreamed audio.
    pub audio_bitrate_kbps: u32,
    /// The x264 preset used when a VP8 publisher's video must be encoded to H.264.
    pub x264_preset: String,
    /// Video bitrate when encoding a VP8 publisher's video.
    pub x264_bitrate_kbps: u32,
}

impl Default for EgressConfig {
    fn default() -> EgressConfig {
        EgressConfig {
            max_destinations: 6,
            ffmpeg: PathBuf::from("ffmpeg"),
            retry_for_seconds: 300,
            first_retry_pause_ms: 1000,
            longest_retry_pause_ms: 15_000,
            connect_timeout_seconds: 10,
            extra_ca_file: None,
            audio_bitrate_kbps: 128,
            x264_preset: "veryfast".to_owned(),
            x264_bitrate_kbps: 2500,
        }
    }
}

/// Recording every on-air period of a meeting, and the replay made of them when it ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingConfig {
    /// Whether the node a publisher is connected to records the broadcast.
    pub enabled: bool,
    /// Where the recordings are kept; empty: `recordings` in the data folder. With several
    /// nodes, one folder every node mounts at the same path (docs/scale.md).
    pub folder: PathBuf,
    /// Keep each on-air period's raw file after the replay is made (they are deleted by
    /// default: the replay holds the same picture and sound).
    pub keep_parts: bool,
    /// The ffprobe program (Debian's `ffprobe`), which measures what was recorded. ffmpeg is
    /// `egress.ffmpeg`.
    pub ffprobe: PathBuf,
}

impl Default for RecordingConfig {
    fn default() -> RecordingConfig {
        RecordingConfig {
            enabled: true,
            folder: PathBuf::new(),
            keep_parts: false,
            ffprobe: PathBuf::from("ffprobe"),
        }
    }
}

impl RecordingConfig {
    /// The folder the recordings are kept in, for a server whose data folder is `data_dir`.
    pub fn folder_in(&self, data_dir: &std::path::Path) -> PathBuf {
        if self.folder.as_os_str().is_empty() { data_dir.join("recordings") } else { self.folder.clone() }
    }
}

/// The HLS rendition of a meeting on air, for viewers without WebRTC and for a CDN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HlsConfig {
    /// Whether the node a publisher is connected to packages the broadcast as HLS.
    pub enabled: bool,
    /// The segment length ffmpeg aims at, in seconds; a segment is cut at the first keyframe
    /// after it, and keyframes are asked for every 0.9 s.
    pub segment_seconds: u32,
    /// Segments listed in the playlist (older ones are deleted).
    pub list_size: u32,
    /// Whether a VP8 publisher's broadcast gets HLS too, which needs its video encoded to
    /// H.264 (about half a core at 720p) when no restream does it already.
    pub encode_vp8: bool,
}

impl Default for HlsConfig {
    fn default() -> HlsConfig {
        HlsConfig { enabled: true, segment_seconds: 1, list_size: 6, encode_vp8: true }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Where the HTTP server listens.
    pub listen: SocketAddr,
    /// How long a shutdown may wait for requests in flight before it cuts them off.
    pub shutdown_grace_seconds: u64,
    /// How long one request may take before it is answered with 408.
    pub request_timeout_seconds: u64,
    /// The largest request body accepted; larger ones get 413.
    pub max_body_bytes: usize,
    /// The most meeting event streams (SSE) open at once; more get 503.
    pub max_event_streams: i64,
    /// The kernel send buffer of each connection, in bytes; 0 leaves it to the kernel. A cap
    /// bounds the memory a slow client can pin and lets the server notice it sooner.
    pub socket_send_buffer_bytes: usize,
    /// Proxies whose `X-Forwarded-For` header is believed. Rate limits are per client address,
    /// so behind a proxy this must name it, or every client shares the proxy's quota.
    pub trusted_proxies: Vec<std::net::IpAddr>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// Which database keeps the durable state.
    pub engine: StorageEngine,
    /// The folder that holds the SQLite database (`kezdesu.sqlite3`) and its WAL.
    pub data_dir: PathBuf,
    /// With `engine = "postgres"`: the database every node shares, as a `postgres://` URL.
    /// It may carry a password, so it is never logged.
    pub postgres_url: Option<String>,
    /// With `engine = "postgres"`: how many connections this node keeps at most.
    pub postgres_connections: u32,
}

/// Several nodes: see `cluster` and docs/scale.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterConfig {
    /// The Redis every node shares, as a `redis://` URL. Unset, the node runs alone with its
    /// in-process bus. It may carry a password, so it is never logged.
    pub redis_url: Option<String>,
    /// How long a meeting's owner lease lasts unrenewed: a dead owner's meetings move to
    /// another node after about this long.
    pub lease_milliseconds: u64,
    /// About how many entries each meeting's event stream keeps; a resume from further back
    /// reads the store.
    pub stream_entries: usize,
    /// How long a command forwarded to a meeting's owner waits for its answer, failovers
    /// included; then the client is told to retry.
    pub forward_timeout_milliseconds: u64,
    /// The base URL the other nodes reach this node's HTTP at (`http://10.0.0.5:8080`), to
    /// pull a broadcast whose publisher is here. Unset: `http://` and the listening address,
    /// which must then not be a wildcard.
    pub advertise_url: Option<String>,
}

impl Default for ClusterConfig {
    fn default() -> ClusterConfig {
        ClusterConfig {
            redis_url: None,
            lease_milliseconds: 3000,
            stream_entries: 10_000,
            forward_timeout_milliseconds: 5000,
            advertise_url: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StorageEngine {
    /// One file in `data_dir`: the embedded default, for one node.
    Sqlite,
    /// A PostgreSQL database, shared by several nodes.
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Readable lines, for a terminal.
    Text,
    /// One JSON object per line, for a log collector.
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A tracing filter such as `info` or `kezdesu=debug,info`; `RUST_LOG` overrides it.
    pub level: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// How long a staff sign-in lasts.
    pub session_hours: u32,
    /// How long a viewer token lasts.
    pub viewer_token_hours: u32,
    /// Sign-in attempts allowed per client address per minute, against password guessing.
    pub sign_in_attempts_per_minute: u32,
    /// Viewer tokens handed out per client address per minute.
    pub viewer_tokens_per_minute: u32,
    /// Mark the session cookie `Secure`, so browsers send it only over HTTPS. Off by default so
    /// that the quick start works on plain HTTP; turn on in every deployment behind TLS.
    pub secure_cookie: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MeetingsConfig {
    /// The IANA time zone in which meeting times are shown.
    pub time_zone: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RulesConfig {
    /// A rule-set TOML file; when unset, the shipped `config/rules/kz-decree-826-2022.toml`,
    /// which is compiled into the binary.
    pub file: Option<PathBuf>,
}

/// The automatic moderation of live comments.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModerationConfig {
    /// A `rules.toml` like the shipped `config/moderation/rules.toml` (its term lists and
    /// question words are read relative to its folder); when unset, the shipped files, which
    /// are compiled into the binary.
    pub rules_file: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemoConfig {
    /// On the first start with an empty data folder, create a demo territory and meeting.
    pub enabled: bool,
    /// How soon after the first start the demo meeting is planned to begin.
    pub starts_in_minutes: u32,
    pub planned_minutes: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LiveConfig {
    /// The longest comment, in characters.
    pub max_comment_chars: usize,
    /// Each viewer may comment once per this many seconds on average…
    pub comment_interval_seconds: f64,
    /// …with up to this many at once.
    pub comment_burst: u32,
    /// Comments per minute from one client address, whatever the viewer.
    pub comments_per_minute_per_address: u32,
    /// The reasons a moderator may give for hiding a comment.
    pub hide_reasons: Vec<String>,
    /// Events sent to a client that connects without `since`.
    pub history_events: u32,
    /// The latest comments in the snapshot a page joining with `snapshot=true` gets.
    pub snapshot_comments: usize,
    /// Frames a connection may fall behind before it is told to resume.
    pub connection_queue_frames: usize,
    /// The largest message a client may send, in bytes.
    pub max_message_bytes: usize,
    /// How often the server pings each connection.
    pub ping_interval_seconds: u64,
    /// A connection that sends nothing (not even a pong) for this long is closed.
    pub idle_timeout_seconds: u64,
    /// The most commands a room commits in one transaction (group commit).
    pub max_batch: usize,
    /// The most live connections open at once; more are refused with 503.
    pub max_connections: i64,
}

/// Meetings at the population's demand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DemandsConfig {
    /// Distinct supporters (by contact) that oblige the akim to hold a meeting.
    pub supporters_threshold: u32,
    /// Days from reaching the threshold by which the meeting must be held.
    pub hold_within_days: u32,
}

impl Default for DemandsConfig {
    fn default() -> DemandsConfig {
        DemandsConfig { supporters_threshold: 100, hold_within_days: 30 }
    }
}

impl DemandsConfig {
    pub fn rules(&self) -> kezdesu_core::demand::DemandRules {
        kezdesu_core::demand::DemandRules {
            supporters_threshold: self.supporters_threshold,
            hold_within_days: self.hold_within_days,
        }
    }
}

/// The register of problem issues.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RegisterConfig {
    /// The categories an issue is filed under; their codes are also Open311 service codes.
    pub categories: Vec<CategoryConfig>,
    /// Requests sent through a meeting's public form, per client address per hour.
    pub requests_per_hour_per_address: u32,
    /// The largest import file, in bytes.
    pub import_max_bytes: usize,
    /// The most rows one import may hold.
    pub import_max_rows: usize,
}

/// A category of problem issues, named in the three languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategoryConfig {
    pub code: String,
    pub kk: String,
    pub ru: String,
    pub en: String,
}

impl Default for RegisterConfig {
    fn default() -> RegisterConfig {
        let category = |code: &str, kk: &str, ru: &str, en: &str| CategoryConfig {
            code: code.to_owned(),
            kk: kk.to_owned(),
            ru: ru.to_owned(),
            en: en.to_owned(),
        };
        RegisterConfig {
            categories: vec![
                category("roads", "Жолдар", "Дороги", "Roads"),
                category("utilities", "Тұрғын үй-коммуналдық шаруашылық", "ЖКХ", "Housing and utilities"),
                category("water", "Сумен жабдықтау", "Водоснабжение", "Water supply"),
                category("heating_gas", "Жылу және газ", "Тепло и газ", "Heating and gas"),
                category("transport", "Көлік", "Транспорт", "Public transport"),
                category("landscaping", "Абаттандыру", "Благоустройство", "Public spaces"),
                category("education", "Білім беру", "Образование", "Education"),
                category("healthcare", "Денсаулық сақтау", "Здравоохранение", "Healthcare"),
                category("social", "Әлеуметтік қолдау", "Социальная поддержка", "Social support"),
                category("land", "Жер қатынастары", "Земельные отношения", "Land"),
                category("agriculture", "Ауыл шаруашылығы", "Сельское хозяйство", "Agriculture"),
                category("employment", "Жұмыспен қамту", "Занятость", "Employment"),
                category("safety", "Қоғамдық қауіпсіздік", "Общественная безопасность", "Public safety"),
                category("environment", "Экология", "Экология", "Environment"),
                category("other", "Басқа", "Другое", "Other"),
            ],
            requests_per_hour_per_address: 10,
            import_max_bytes: 4 * 1024 * 1024,
            import_max_rows: 10_000,
        }
    }
}

/// The WebRTC broadcast: WHIP ingest and WHEP playback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MediaConfig {
    /// The IP addresses the media sockets bind. A wildcard (`0.0.0.0`) means every interface
    /// except loopback; tests and single-machine trials bind `127.0.0.1` explicitly.
    pub udp_addresses: Vec<IpAddr>,
    /// The UDP ports sessions take, one per session and address. `0` and `0`: any free port.
    pub udp_port_min: u16,
    pub udp_port_max: u16,
    /// Public addresses announced instead of the bound ones, behind a 1:1 NAT.
    pub public_ips: Vec<IpAddr>,
    /// STUN and TURN servers given to browsers in `Link` headers (RFC 9725 §4.4). TURN servers
    /// are given only with a new session; without fixed credentials, they get short-lived ones
    /// minted from `KEZDESU_TURN_SECRET` (the TURN server's shared secret).
    pub ice_servers: Vec<IceServerConfig>,
    /// How long minted TURN credentials last; a meeting's longest session should fit.
    pub turn_credential_ttl_seconds: u64,
    /// The TURN server's shared secret, from `KEZDESU_TURN_SECRET`; never read from a file.
    #[serde(skip)]
    pub turn_secret: Option<String>,
    /// How long before its planned start a meeting may be put on air (for a sound check).
    pub publish_window_minutes: u32,
    /// The most people watching one meeting at once; more are refused with 503. Only
    /// connected viewers count: an offer whose peer never connects holds no place.
    pub max_viewers_per_meeting: usize,
    /// Sessions of one meeting that have answered but not connected yet, at most. A new offer
    /// beyond it closes the oldest of them, so offers that never connect cannot keep a meeting
    /// full; a real viewer connects within a second or two of its offer.
    pub max_connecting_viewers_per_meeting: usize,
    /// New viewing sessions per minute from one client address.
    pub viewer_sessions_per_minute_per_address: u32,
    /// How long a viewer who arrives as the publisher connects waits for its codecs.
    pub codec_wait_seconds: u64,
    /// A session whose peer has not connected by then is closed.
    pub connect_timeout_seconds: u64,
    /// Keyframe requests to the publisher are at most this frequent.
    pub keyframe_interval_ms: u64,
    /// Packets a viewer may fall behind before it skips ahead to the next keyframe.
    pub viewer_queue_packets: usize,
}

/// A STUN or TURN server, as WHIP and the browser's `RTCIceServer` describe it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IceServerConfig {
    /// `stun:host:port`, `turn:host:port?transport=udp` or `turns:…`.
    pub urls: Vec<String>,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub credential: Option<String>,
}

impl Default for MediaConfig {
    fn default() -> MediaConfig {
        MediaConfig {
            // Like `server.listen`, loopback until configured: the quick start works on any
            // machine, and nothing is exposed by accident.
            udp_addresses: vec![IpAddr::from([127, 0, 0, 1])],
            udp_port_min: 0,
            udp_port_max: 0,
            public_ips: Vec::new(),
            ice_servers: Vec::new(),
            turn_credential_ttl_seconds: 10 * 3600,
            turn_secret: None,
            publish_window_minutes: 30,
            max_viewers_per_meeting: 1000,
            max_connecting_viewers_per_meeting: 100,
            viewer_sessions_per_minute_per_address: 60,
            codec_wait_seconds: 5,
            connect_timeout_seconds: 15,
            keyframe_interval_ms: 1000,
            viewer_queue_packets: 512,
        }
    }
}

impl Default for LiveConfig {
    fn default() -> LiveConfig {
        LiveConfig {
            max_comment_chars: 1000,
            comment_interval_seconds: 5.0,
            comment_burst: 3,
            comments_per_minute_per_address: 120,
            hide_reasons: ["spam", "insult", "personal_data", "off_topic", "unlawful", "duplicate"]
                .map(String::from)
                .to_vec(),
            history_events: 100,
            snapshot_comments: 200,
            connection_queue_frames: 256,
            max_message_bytes: 8192,
            ping_interval_seconds: 20,
            idle_timeout_seconds: 60,
            max_batch: 512,
            max_connections: 50_000,
        }
    }
}

impl Default for ServerConfig {
    fn default() -> ServerConfig {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            shutdown_grace_seconds: 10,
            request_timeout_seconds: 30,
            max_body_bytes: 64 * 1024,
            max_event_streams: 10_000,
            socket_send_buffer_bytes: 0,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Default for StorageConfig {
    fn default() -> StorageConfig {
        StorageConfig {
            engine: StorageEngine::Sqlite,
            data_dir: PathBuf::from("data"),
            postgres_url: None,
            postgres_connections: 16,
        }
    }
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig { format: LogFormat::Text, level: "info".to_owned() }
    }
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            session_hours: 12,
            viewer_token_hours: 24,
            sign_in_attempts_per_minute: 10,
            viewer_tokens_per_minute: 30,
            secure_cookie: false,
        }
    }
}

impl Default for MeetingsConfig {
    fn default() -> MeetingsConfig {
        MeetingsConfig { time_zone: "Asia/Almaty".to_owned() }
    }
}

impl Default for DemoConfig {
    fn default() -> DemoConfig {
        DemoConfig { enabled: true, starts_in_minutes: 10, planned_minutes: 60 }
    }
}

/// Values given on the command line: the last layer.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
}

/// Why the configuration could not be loaded; the message names the key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration file {0} does not exist")]
    MissingFile(PathBuf),
    #[error("invalid configuration: {0}")]
    Invalid(String),
}

impl Config {
    /// Loads every layer from `working_dir` and the given environment, then validates.
    pub fn load(
        working_dir: &Path,
        environment: impl IntoIterator<Item = (String, String)>,
        overrides: &Overrides,
    ) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        let shipped_defaults = working_dir.join(DEFAULT_FILE);
        if shipped_defaults.is_file() {
            figment = figment.merge(Toml::file_exact(shipped_defaults));
        }
        if let Some(file) = &overrides.config_file {
            let file = working_dir.join(file);
            if !file.is_file() {
                return Err(ConfigError::MissingFile(file));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        // The environment is passed in rather than read here, so that tests need not change the
        // process's own. Values are parsed as figment's `Env` provider parses them.
        for (name, value) in environment {
            let Some(path) = name.strip_prefix(ENV_PREFIX) else { continue };
            let key = path.split("__").map(str::to_lowercase).collect::<Vec<_>>().join(".");
            let value: figment::value::Value = value.parse().unwrap_or_else(|never| match never {});
            figment = figment.merge((key, value));
        }
        if let Some(listen) = overrides.listen {
            figment = figment.merge(("server.listen", listen.to_string()));
        }
        if let Some(data_dir) = &overrides.data_dir {
            figment = figment.merge(("storage.data_dir", data_dir));
        }
        let config: Config = figment.extract().map_err(|error| ConfigError::Invalid(describe(error)))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks what the types cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key: &str, why: &str| Err(ConfigError::Invalid(format!("{key}: {why}")));
        if jiff::tz::TimeZone::get(&self.meetings.time_zone).is_err() {
            return invalid("meetings.time_zone", "not a known IANA time zone");
        }
        if self.storage.engine == StorageEngine::Postgres {
            let url = self.storage.postgres_url.as_deref().unwrap_or_default();
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                return invalid("storage.postgres_url", "engine = \"postgres\" needs a postgres:// URL");
            }
            if !(1..=1000).contains(&self.storage.postgres_connections) {
                return invalid("storage.postgres_connections", "must be 1 to 1000");
            }
        }
        let egress = &self.egress;
        if !(1..=50).contains(&egress.max_destinations) {
            return invalid("egress.max_destinations", "must be 1 to 50");
        }
        if egress.first_retry_pause_ms == 0 || egress.longest_retry_pause_ms < egress.first_retry_pause_ms {
            return invalid(
                "egress.first_retry_pause_ms",
                "must be above 0 and at most egress.longest_retry_pause_ms",
            );
        }
        if !(1..=120).contains(&egress.connect_timeout_seconds) {
            return invalid("egress.connect_timeout_seconds", "must be 1 to 120");
        }
        if !(32..=512).contains(&egress.audio_bitrate_kbps)
            || !(300..=20_000).contains(&egress.x264_bitrate_kbps)
        {
            return invalid(
                "egress.audio_bitrate_kbps / x264_bitrate_kbps",
                "must be 32 to 512 / 300 to 20000",
            );
        }
        const PRESETS: [&str; 9] =
            ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"];
        if !PRESETS.contains(&egress.x264_preset.as_str()) {
            return invalid("egress.x264_preset", "must be an x264 preset such as \"veryfast\"");
        }
        if !(1..=2).contains(&self.hls.segment_seconds) || !(3..=30).contains(&self.hls.list_size) {
            return invalid(
                "hls.segment_seconds / hls.list_size",
                "must be 1 to 2 (segments of at most 2 s) / 3 to 30",
            );
        }
        let platforms = &self.platforms;
        for (name, url) in [
            ("platforms.youtube_api_url", &platforms.youtube_api_url),
            ("platforms.youtube_oauth_url", &platforms.youtube_oauth_url),
            ("platforms.telegram_api_url", &platforms.telegram_api_url),
            ("platforms.vk_api_url", &platforms.vk_api_url),
            ("platforms.facebook_graph_url", &platforms.facebook_graph_url),
        ] {
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            if !scheme_ok || url.ends_with('/') || url.chars().any(|c| c.is_whitespace()) {
                return invalid(name, "must be an http(s):// URL without a trailing slash");
            }
        }
        if platforms.facebook_api_version.is_empty()
            || !platforms.facebook_api_version.chars().all(|c| c.is_ascii_alphanumeric() || c == '.')
        {
            return invalid("platforms.facebook_api_version", "must look like \"v19.0\"");
        }
        if !(1..=50).contains(&platforms.long_poll_seconds) {
            return invalid("platforms.long_poll_seconds", "must be 1 to 50");
        }
        if !(1..=120).contains(&platforms.request_timeout_seconds) {
            return invalid("platforms.request_timeout_seconds", "must be 1 to 120");
        }
        if platforms.facebook_poll_ms < 100 || platforms.reconcile_ms < 50 {
            return invalid("platforms.facebook_poll_ms / reconcile_ms", "must be at least 100 / 50");
        }
        if platforms.first_retry_pause_ms == 0
            || platforms.longest_retry_pause_ms < platforms.first_retry_pause_ms
        {
            return invalid(
                "platforms.first_retry_pause_ms",
                "must be above 0 and at most platforms.longest_retry_pause_ms",
            );
        }
        if let Some(url) = &self.cluster.redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return invalid("cluster.redis_url", "must be a redis:// URL");
            }
            if self.storage.engine != StorageEngine::Postgres {
                return invalid("cluster.redis_url", "several nodes need storage.engine = \"postgres\"");
            }
            let cluster = &self.cluster;
            if !(300..=60_000).contains(&cluster.lease_milliseconds)
                || !(100..=1_000_000).contains(&cluster.stream_entries)
                || !(100..=60_000).contains(&cluster.forward_timeout_milliseconds)
            {
                return invalid(
                    "cluster.lease_milliseconds / stream_entries / forward_timeout_milliseconds",
                    "must be 300 to 60000, 100 to 1000000 and 100 to 60000",
                );
            }
        }
        if self.server.max_body_bytes < 1024 {
            return invalid("server.max_body_bytes", "must be at least 1024");
        }
        if self.server.request_timeout_seconds == 0 {
            return invalid("server.request_timeout_seconds", "must be at least 1");
        }
        // Upper bounds keep instants computed from these far inside the representable range.
        if !(1..=8760).contains(&self.auth.session_hours) {
            return invalid("auth.session_hours", "must be 1 to 8760 (a year)");
        }
        if !(1..=8760).contains(&self.auth.viewer_token_hours) {
            return invalid("auth.viewer_token_hours", "must be 1 to 8760 (a year)");
        }
        if self.server.max_event_streams < 1 {
            return invalid("server.max_event_streams", "must be at least 1");
        }
        if self.demo.starts_in_minutes > 7 * 24 * 60 {
            return invalid("demo.starts_in_minutes", "must be at most a week");
        }
        if self.auth.sign_in_attempts_per_minute == 0 || self.auth.viewer_tokens_per_minute == 0 {
            return invalid("auth.*_per_minute", "must be at least 1");
        }
        if self.demo.planned_minutes == 0 {
            return invalid("demo.planned_minutes", "must be at least 1");
        }
        let register = &self.register;
        let mut codes: Vec<&str> =
            register.categories.iter().map(|category| category.code.as_str()).collect();
        codes.sort_unstable();
        codes.dedup();
        let slug = |code: &str| {
            (1..=40).contains(&code.len())
                && code.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        if codes.is_empty()
            || codes.len() != register.categories.len()
            || !codes.iter().all(|code| slug(code))
        {
            return invalid(
                "register.categories",
                "must list at least one category, each code once, in lower-case letters, digits and _",
            );
        }
        if self.demands.supporters_threshold == 0 || !(1..=366).contains(&self.demands.hold_within_days) {
            return invalid(
                "demands.supporters_threshold / hold_within_days",
                "must be at least 1, and 1 to 366 days",
            );
        }
        if register.requests_per_hour_per_address == 0 {
            return invalid("register.requests_per_hour_per_address", "must be at least 1");
        }
        if register.import_max_bytes < 1024 || register.import_max_rows == 0 {
            return invalid("register.import_max_bytes / import_max_rows", "must be at least 1024 and 1");
        }
        let live = &self.live;
        if !(1..=10_000).contains(&live.max_comment_chars) {
            return invalid("live.max_comment_chars", "must be 1 to 10000");
        }
        if !(live.comment_interval_seconds > 0.0 && live.comment_interval_seconds <= 3600.0)
            || live.comment_burst == 0
        {
            return invalid(
                "live.comment_interval_seconds / live.comment_burst",
                "must be above 0 (interval at most 3600)",
            );
        }
        if live.comments_per_minute_per_address == 0 {
            return invalid("live.comments_per_minute_per_address", "must be at least 1");
        }
        if live.hide_reasons.is_empty() || live.hide_reasons.iter().any(|r| r.trim().is_empty()) {
            return invalid("live.hide_reasons", "must list at least one non-empty reason");
        }
        if live.max_connections < 1 {
            return invalid("live.max_connections", "must be at least 1");
        }
        if live.connection_queue_frames < 2
            || live.max_batch == 0
            || live.history_events > 10_000
            || live.snapshot_comments > 10_000
        {
            return invalid(
                "live.connection_queue_frames / live.max_batch / live.history_events",
                "out of range",
            );
        }
        let media = &self.media;
        if media.udp_addresses.is_empty() {
            return invalid("media.udp_addresses", "must list at least one address");
        }
        if media.udp_port_min > media.udp_port_max || (media.udp_port_min == 0) != (media.udp_port_max == 0) {
            return invalid(
                "media.udp_port_min / media.udp_port_max",
                "must both be 0, or a range min ≤ max",
            );
        }
        if media.ice_servers.iter().any(|server| {
            server.urls.is_empty()
                || server.urls.iter().any(|url| {
                    !["stun:", "turn:", "turns:"].iter().any(|scheme| url.starts_with(scheme))
                        || url.contains(['<', '>', '"', ',', ';', ' '])
                })
                || [&server.username, &server.credential]
                    .into_iter()
                    .flatten()
                    .any(|s| s.contains(['"', '\\']))
        }) {
            return invalid(
                "media.ice_servers",
                "each needs urls starting stun:, turn: or turns:, without quotes",
            );
        }
        if !(60..=7 * 24 * 3600).contains(&media.turn_credential_ttl_seconds) {
            return invalid("media.turn_credential_ttl_seconds", "must be a minute to a week");
        }
        if media.max_viewers_per_meeting == 0
            || media.max_connecting_viewers_per_meeting == 0
            || media.viewer_sessions_per_minute_per_address == 0
        {
            return invalid(
                "media.max_viewers_per_meeting / media.max_connecting_viewers_per_meeting / \
                 media.viewer_sessions_per_minute_per_address",
                "must be at least 1",
            );
        }
        if !(1..=60).contains(&media.codec_wait_seconds)
            || !(5..=300).contains(&media.connect_timeout_seconds)
        {
            return invalid(
                "media.codec_wait_seconds / media.connect_timeout_seconds",
                "must be 1 to 60 / 5 to 300",
            );
        }
        if !(100..=10_000).contains(&media.keyframe_interval_ms) || media.viewer_queue_packets < 16 {
            return invalid(
                "media.keyframe_interval_ms / media.viewer_queue_packets",
                "must be 100 to 10000 / at least 16",
            );
        }
        if media.publish_window_minutes > 24 * 60 {
            return invalid("media.publish_window_minutes", "must be at most a day");
        }
        if live.max_message_bytes < 256
            || live.ping_interval_seconds == 0
            || live.idle_timeout_seconds <= live.ping_interval_seconds
        {
            return invalid(
                "live.max_message_bytes / live.ping_interval_seconds / live.idle_timeout_seconds",
                "need at least 256 bytes, and an idle timeout longer than the ping interval",
            );
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log.level).is_err() {
            return invalid("log.level", "not a tracing filter such as `info` or `kezdesu=debug`");
        }
        Ok(())
    }
}

/// figment's errors carry the key path; put it first so the key at fault is what one reads.
fn describe(error: figment::Error) -> String {
    error
        .into_iter()
        .map(|error| {
            let key = error.path.join(".");
            let source = error.metadata.as_ref().map(|m| format!(" (from {})", m.name)).unwrap_or_default();
            if key.is_empty() {
                format!("{}{source}", error.kind)
            } else {
                format!("{key}: {}{source}", error.kind)
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repository_root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn the_shipped_file_equals_the_compiled_in_defaults() {
        let loaded = Config::load(&repository_root(), env(&[]), &Overrides::default()).expect("valid");
        assert_eq!(loaded, Config::default());
    }

    #[test]
    fn later_layers_win() {
        let dir = tempfile::tempdir().expect("temporary folder");
        std::fs::create_dir(dir.path().join("config")).expect("mkdir");
        std::fs::write(
            dir.path().join(DEFAULT_FILE),
            "[server]\nlisten = \"127.0.0.1:1001\"\nmax_body_bytes = 2000\nrequest_timeout_seconds = 7\n[log]\nlevel = \"debug\"",
        )
        .expect("write");
        std::fs::write(
            dir.path().join("site.toml"),
            "[server]\nlisten = \"127.0.0.1:1002\"\nmax_body_bytes = 3000\n",
        )
        .expect("write");
        let overrides = Overrides {
            config_file: Some("site.toml".into()),
            listen: Some("127.0.0.1:1004".parse().expect("address")),
            data_dir: None,
        };
        let environment = env(&[
            ("KEZDESU__SERVER__LISTEN", "127.0.0.1:1003"),
            ("KEZDESU__SERVER__MAX_BODY_BYTES", "4000"),
            ("KEZDESU__DEMO__ENABLED", "false"),
            ("UNRELATED", "ignored"),
        ]);
        let config = Config::load(dir.path(), environment, &overrides).expect("valid");
        assert_eq!(config.server.listen.port(), 1004, "flags win over everything");
        assert_eq!(config.server.max_body_bytes, 4000, "the environment wins over files");
        assert_eq!(config.server.request_timeout_seconds, 7, "config/default.toml wins over built-ins");
        assert_eq!(config.log.level, "debug");
        assert!(!config.demo.enabled);
        assert_eq!(config.storage.data_dir, PathBuf::from("data"), "untouched keys keep their default");
    }

    #[test]
    fn errors_name_the_key() {
        let dir = tempfile::tempdir().expect("temporary folder");
        let cases = [
            (vec![("KEZDESU__SERVER__LISTEN", "not an address")], "server.listen"),
            (vec![("KEZDESU__SERVER__NOPE", "1")], "nope"),
            (vec![("KEZDESU__AUTH__SESSION_HOURS", "-3")], "auth.session_hours"),
            (vec![("KEZDESU__LOG__FORMAT", "xml")], "log.format"),
            (vec![("KEZDESU__MEETINGS__TIME_ZONE", "Asia/Atlantis")], "meetings.time_zone"),
            (vec![("KEZDESU__SERVER__MAX_BODY_BYTES", "10")], "server.max_body_bytes"),
        ];
        for (environment, key) in cases {
            let error =
                Config::load(dir.path(), env(&environment), &Overrides::default()).expect_err("invalid");
            assert!(error.to_string().contains(key), "{environment:?}: {error}");
        }
    }
}
