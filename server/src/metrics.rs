//! Prometheus metrics: requests, open connections, meetings live and store latency.
//!
//! Each server owns its own registry rather than a process-wide one, so that several servers in
//! one test process count separately.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    pub method: String,
    /// The matched route (`/api/meetings/{id}`), never the raw path, so ids do not explode
    /// the number of series.
    pub route: String,
    pub status: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct OperationLabels {
    pub operation: &'static str,
}

fn latency_histogram() -> Histogram {
    // 100 µs to about 6.5 s.
    Histogram::new(exponential_buckets(0.0001, 3.0, 11))
}

/// The store's latency per operation; cheap to clone into the store.
#[derive(Clone)]
pub struct StoreLatency {
    family: Family<OperationLabels, Histogram, fn() -> Histogram>,
}

impl Default for StoreLatency {
    fn default() -> StoreLatency {
        StoreLatency { family: Family::new_with_constructor(latency_histogram) }
    }
}

impl StoreLatency {
    pub fn observe(&self, operation: &'static str, elapsed: Duration) {
        self.family.get_or_create(&OperationLabels { operation }).observe(elapsed.as_secs_f64());
    }
}

/// The server's metrics. Cloning shares the same series.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    pub requests: Family<RequestLabels, Counter>,
    pub request_seconds: Family<RequestLabels, Histogram, fn() -> Histogram>,
    pub open_connections: Gauge,
    pub meetings_live: Gauge,
    pub event_subscribers: Gauge,
    pub live_connections: Gauge,
    pub store_latency: StoreLatency,
    pub media: MediaMetrics,
    pub cluster: ClusterMetrics,
    pub egress: EgressMetrics,
    pub recording: RecordingMetrics,
    pub platforms: PlatformMetrics,
    pub alive_tasks: Gauge,
    pub resident_memory_bytes: Gauge,
}

/// What a node of several counts (zero on a node alone).
#[derive(Clone, Default)]
pub struct ClusterMetrics {
    /// Commands this node forwarded to a meeting's owner on another node.
    pub forwarded_commands: Counter,
    /// Forwarded commands that got no answer in time.
    pub forward_timeouts: Counter,
    /// Meetings this node took over after their owner's lease lapsed.
    pub takeovers: Counter,
    /// Committed batches this node, as an owner, could not append to a meeting's stream.
    pub stream_append_failures: Counter,
}

/// The broadcast's counters.
#[derive(Clone, Default)]
pub struct MediaMetrics {
    pub publishers: Gauge,
    pub viewers: Gauge,
    pub packets_forwarded: Counter,
    pub viewer_skips: Counter,
    pub keyframe_requests: Counter,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RestreamLabels {
    /// `starting`, `live`, `retrying`, `failed` or `stopped`.
    pub state: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct PlatformLabels {
    /// `youtube`, `telegram`, `vk` or `facebook`.
    pub platform: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct PlatformOutcomeLabels {
    pub platform: &'static str,
    /// For reads: `backing_off`, `unauthorized`, `malformed`, `gone` or `transient`; for
    /// moderation sent back: `done`, `failed` or `unsupported`.
    pub outcome: &'static str,
}

/// Comments gathered from the platforms, and moderation sent back to them.
#[derive(Clone, Default)]
pub struct PlatformMetrics {
    /// Platform comments that entered a meeting's channel.
    pub comments: Family<PlatformLabels, Counter>,
    /// Platform comments read again (after a restart or a takeover) and not entered twice.
    pub duplicates: Family<PlatformLabels, Counter>,
    /// Platform comments the channel's rules refused (banned authors, empty texts).
    pub refused: Family<PlatformLabels, Counter>,
    /// Reads that brought no batch, by why.
    pub read_failures: Family<PlatformOutcomeLabels, Counter>,
    /// Moderation actions sent back, by outcome.
    pub actions: Family<PlatformOutcomeLabels, Counter>,
    /// YouTube quota units spent.
    pub quota_units: Counter,
    /// Readers running on this node.
    pub readers: Gauge,
}

/// Recording the broadcasts, and making their replays.
#[derive(Clone, Default)]
pub struct RecordingMetrics {
    /// Recorders (ffmpeg) running on this node, one per meeting on air here.
    pub recorders: Gauge,
    /// Recorders that ended while their meeting was still on air.
    pub recorder_failures: Counter,
    /// Replays made, and replays that could not be made.
    pub replays: Counter,
    pub replay_failures: Counter,
}

/// Restreaming to the platforms.
#[derive(Clone, Default)]
pub struct EgressMetrics {
    /// Destinations of meetings on air, by state.
    pub destinations: Family<RestreamLabels, Gauge>,
    /// Retries of destinations that dropped after being live.
    pub retries: Counter,
    /// Bytes of FLV tags sent to the platforms.
    pub bytes_sent: Counter,
    /// ffmpeg processes running (one per meeting restreamed).
    pub transcoders: Gauge,
    /// ffmpeg processes that ended while their meeting was still on air.
    pub transcoder_failures: Counter,
    /// HLS packagers (ffmpeg copying the FLV into segments) running, one per meeting.
    pub hls_packagers: Gauge,
    /// HLS packagers that ended while their meeting was still on air.
    pub hls_packager_failures: Counter,
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("kezdesu");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        let request_seconds =
            Family::<RequestLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer an HTTP request",
            request_seconds.clone(),
        );
        let open_connections = Gauge::default();
        registry.register(
            "open_connections",
            "TCP connections open to the HTTP server",
            open_connections.clone(),
        );
        let meetings_live = Gauge::default();
        registry.register("meetings_live", "Meetings in their presentation or Q&A", meetings_live.clone());
        let event_subscribers = Gauge::default();
        registry.register("event_subscribers", "Open event streams of meetings", event_subscribers.clone());
        let live_connections = Gauge::default();
        registry.register(
            "live_connections",
            "Open live-channel WebSocket connections",
            live_connections.clone(),
        );
        let media = MediaMetrics::default();
        registry.register("media_publishers", "Publishers on air (WHIP sessions)", media.publishers.clone());
        registry.register("media_viewers", "Viewing sessions (WHEP)", media.viewers.clone());
        registry.register(
            "media_packets_forwarded",
            "RTP packets written to viewers",
            media.packets_forwarded.clone(),
        );
        registry.register(
            "media_viewer_skips",
            "Times a lagging viewer skipped ahead to the next keyframe",
            media.viewer_skips.clone(),
        );
        registry.register(
            "media_keyframe_requests",
            "Keyframe requests (PLI) sent to publishers",
            media.keyframe_requests.clone(),
        );
        let cluster = ClusterMetrics::default();
        registry.register(
            "cluster_forwarded_commands",
            "Commands forwarded to a meeting's owner on another node",
            cluster.forwarded_commands.clone(),
        );
        registry.register(
            "cluster_forward_timeouts",
            "Forwarded commands that got no answer in time",
            cluster.forward_timeouts.clone(),
        );
        registry.register(
            "cluster_takeovers",
            "Meetings taken over after their owner's lease lapsed",
            cluster.takeovers.clone(),
        );
        registry.register(
            "cluster_stream_append_failures",
            "Committed batches that could not be appended to a meeting's stream",
            cluster.stream_append_failures.clone(),
        );
        let egress = EgressMetrics::default();
        registry.register(
            "restream_destinations",
            "Restream destinations of meetings on air, by state",
            egress.destinations.clone(),
        );
        registry.register(
            "restream_retries",
            "Retries of destinations that dropped after being live",
            egress.retries.clone(),
        );
        registry.register(
            "restream_sent_bytes",
            "Bytes sent to restream destinations",
            egress.bytes_sent.clone(),
        );
        registry.register(
            "restream_transcoders",
            "ffmpeg processes running for restreams",
            egress.transcoders.clone(),
        );
        registry.register(
            "restream_transcoder_failures",
            "ffmpeg processes that ended while their meeting was on air",
            egress.transcoder_failures.clone(),
        );
        registry.register(
            "hls_packagers",
            "HLS packagers (ffmpeg) running on this node",
            egress.hls_packagers.clone(),
        );
        registry.register(
            "hls_packager_failures",
            "HLS packagers that ended while their meeting was on air",
            egress.hls_packager_failures.clone(),
        );
        let recording = RecordingMetrics::default();
        registry.register("recorders", "Recorders running on this node", recording.recorders.clone());
        registry.register(
            "recorder_failures",
            "Recorders that ended while their meeting was on air",
            recording.recorder_failures.clone(),
        );
        registry.register("replays", "Replays made of ended meetings' recordings", recording.replays.clone());
        registry.register(
            "replay_failures",
            "Replays that could not be made",
            recording.replay_failures.clone(),
        );
        let platforms = PlatformMetrics::default();
        registry.register(
            "platform_comments",
            "Platform comments that entered a meeting's channel, by platform",
            platforms.comments.clone(),
        );
        registry.register(
            "platform_duplicates",
            "Platform comments read again and not entered twice, by platform",
            platforms.duplicates.clone(),
        );
        registry.register(
            "platform_refused",
            "Platform comments the channel's rules refused, by platform",
            platforms.refused.clone(),
        );
        registry.register(
            "platform_read_failures",
            "Platform reads that brought no batch, by platform and why",
            platforms.read_failures.clone(),
        );
        registry.register(
            "platform_actions",
            "Moderation actions sent back to the platforms, by platform and outcome",
            platforms.actions.clone(),
        );
        registry.register(
            "platform_youtube_quota_units",
            "YouTube quota units spent",
            platforms.quota_units.clone(),
        );
        registry.register(
            "platform_readers",
            "Platform readers running on this node",
            platforms.readers.clone(),
        );
        let alive_tasks = Gauge::default();
        registry.register(
            "runtime_alive_tasks",
            "Tasks alive in the async runtimes (connections and rooms)",
            alive_tasks.clone(),
        );
        let resident_memory_bytes = Gauge::default();
        registry.register(
            "process_resident_memory_bytes",
            "Resident memory of the server process (Linux)",
            resident_memory_bytes.clone(),
        );
        let store_latency = StoreLatency::default();
        registry.register(
            "store_operation_duration_seconds",
            "Time a store operation took",
            store_latency.family.clone(),
        );
        Metrics {
            registry: Arc::new(registry),
            requests,
            request_seconds,
            open_connections,
            meetings_live,
            media,
            cluster,
            egress,
            recording,
            platforms,
            alive_tasks,
            resident_memory_bytes,
            event_subscribers,
            live_connections,
            store_latency,
        }
    }

    /// The text exposition format that Prometheus scrapes.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String");
        text
    }
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics::new()
    }
}
