//! Synthetic peers that talk to a server over WHIP and WHEP as any client would: a publisher
//! that sends a VP8-shaped stream at a set bitrate, and a viewer that counts what it receives.
//! The load generator (`kezdesu-media-load`) and the integration tests use them; they share
//! nothing with the server but the engine.

use super::{Codec, IncomingTrack, MediaKind, OutgoingTrack, Packet, Peer, PeerHandles, PeerState};
use anyhow::{Context, anyhow, bail};
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

/// How long a synthetic peer waits to connect.
const CONNECT_LIMIT: Duration = Duration::from_secs(15);
/// The largest RTP payload the synthetic publisher sends, like a browser's.
const MAX_PAYLOAD: usize = 1100;

/// How the synthetic publisher sends.
#[derive(Debug, Clone)]
pub struct PublisherOptions {
    pub whip_url: String,
    pub stream_key: String,
    /// The local address its socket binds.
    pub address: IpAddr,
    pub video_bits_per_second: u64,
    pub frames_per_second: u32,
    /// Also send a 50-packets-a-second Opus-shaped audio stream.
    pub audio: bool,
    /// The payload type it offers VP8 under.
    pub vp8_payload_type: u8,
}

/// What a synthetic publisher sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct PublisherStats {
    pub video_packets: u64,
    pub audio_packets: u64,
}

/// A publisher connected by WHIP, sending until stopped.
pub struct SyntheticPublisher {
    peer: Peer,
    client: reqwest::Client,
    session_url: String,
    stream_key: String,
    stop: CancellationToken,
    sending: JoinSet<()>,
    video_packets: Arc<AtomicU64>,
    audio_packets: Arc<AtomicU64>,
}

impl SyntheticPublisher {
    /// Offers, posts the offer by WHIP, and starts sending once connected.
    pub async fn start(options: PublisherOptions) -> anyhow::Result<SyntheticPublisher> {
        let (peer, mut handles) = super::client_peer(options.address, options.vp8_payload_type).await?;
        let video = peer.send(&vp8(), "synthetic").await?;
        let audio = if options.audio { Some(peer.send(&opus(), "synthetic").await?) } else { None };
        let client = reqwest::Client::new();
        let answer = offer_and_post(&peer, &client, &options.whip_url, Some(&options.stream_key)).await;
        let (session_url, answer, _links) = match answer {
            Ok(answer) => answer,
            Err(error) => {
                peer.close().await;
                return Err(error);
            }
        };
        peer.set_answer(answer).await?;
        wait_connected(&mut handles).await?;
        let stop = CancellationToken::new();
        let mut sending = JoinSet::new();
        let video_packets = Arc::new(AtomicU64::new(0));
        let audio_packets = Arc::new(AtomicU64::new(0));
        let video_payload_type = negotiated_payload_type(&video).await?;
        sending.spawn(send_video(
            video,
            video_payload_type,
            options.video_bits_per_second,
            options.frames_per_second.max(1),
            video_packets.clone(),
            stop.clone(),
        ));
        if let Some(track) = audio {
            let payload_type = negotiated_payload_type(&track).await?;
            sending.spawn(send_audio(track, payload_type, audio_packets.clone(), stop.clone()));
        }
        Ok(SyntheticPublisher {
            peer,
            client,
            session_url,
            stream_key: options.stream_key,
            stop,
            sending,
            video_packets,
            audio_packets,
        })
    }

    /// What was sent so far.
    pub fn stats(&self) -> PublisherStats {
        PublisherStats {
            video_packets: self.video_packets.load(Ordering::Relaxed),
            audio_packets: self.audio_packets.load(Ordering::Relaxed),
        }
    }

    /// The session's resource URL (the WHIP `Location`).
    pub fn session_url(&self) -> &str {
        &self.session_url
    }

    /// Stops sending, ends the session by WHIP DELETE, and closes the peer.
    pub async fn stop(mut self) -> anyhow::Result<PublisherStats> {
        self.stop.cancel();
        while self.sending.join_next().await.is_some() {}
        let response = self.client.delete(&self.session_url).bearer_auth(&self.stream_key).send().await;
        self.peer.close().await;
        let status = response?.status();
        if !status.is_success() {
            bail!("WHIP DELETE answered {status}");
        }
        Ok(self.stats())
    }
}

/// What a counting viewer received.
#[derive(Debug, Default)]
pub struct ViewerCounters {
    pub video_packets: AtomicU64,
    pub audio_packets: AtomicU64,
    /// Packets missing from the video sequence numbers.
    pub video_gaps: AtomicU64,
    /// The payload type of the last video packet.
    pub video_payload_type: AtomicU32,
}

/// A viewer connected by WHEP, counting packets and sequence gaps until stopped.
pub struct CountingViewer {
    peer: Peer,
    client: reqwest::Client,
    session_url: String,
    counting: JoinSet<()>,
    pub counters: Arc<ViewerCounters>,
    state: watch::Receiver<PeerState>,
    answer_sdp: String,
    links: Vec<String>,
    video_track: SharedTrack,
}

/// The viewer's video track and its SSRC, once it arrives.
type SharedTrack = Arc<std::sync::Mutex<Option<(IncomingTrack, u32)>>>;

/// A WHEP offer to receive audio and video from a peer that is closed at once: posted, it is
/// answered, and never connects (what a flood of such offers looks like to the server).
pub async fn viewer_offer_that_never_connects(
    address: IpAddr,
    vp8_payload_type: u8,
) -> anyhow::Result<String> {
    let (peer, _handles) = super::client_peer(address, vp8_payload_type).await?;
    for kind in [MediaKind::Audio, MediaKind::Video] {
        peer.receive(kind).await?;
    }
    let offer = peer.offer().await;
    peer.close().await;
    Ok(offer?)
}

impl CountingViewer {
    /// Offers to receive audio and video (VP8 under `vp8_payload_type`), posts the offer by
    /// WHEP and waits until connected.
    pub async fn start(
        whep_url: &str,
        address: IpAddr,
        vp8_payload_type: u8,
    ) -> anyhow::Result<CountingViewer> {
        let (peer, mut handles) = super::client_peer(address, vp8_payload_type).await?;
        for kind in [MediaKind::Audio, MediaKind::Video] {
            peer.receive(kind).await?;
        }
        let client = reqwest::Client::new();
        let (session_url, answer, links) = match offer_and_post(&peer, &client, whep_url, None).await {
            Ok(answer) => answer,
            Err(error) => {
                peer.close().await;
                return Err(error);
            }
        };
        peer.set_answer(answer.clone()).await?;
        if let Err(error) = wait_connected(&mut handles).await {
            peer.close().await;
            return Err(error);
        }
        let counters = Arc::new(ViewerCounters::default());
        let video_track: SharedTrack = Arc::new(std::sync::Mutex::new(None));
        let mut counting = JoinSet::new();
        let mut tracks = handles.tracks;
        let counting_counters = counters.clone();
        let found_video = video_track.clone();
        counting.spawn(async move {
            let mut readers = JoinSet::new();
            while let Some(track) = tracks.recv().await {
                let counters = counting_counters.clone();
                let found_video = found_video.clone();
                readers.spawn(async move {
                    let video = track.kind().await == MediaKind::Video;
                    if video && let Some(ssrc) = track.ssrc().await {
                        *found_video.lock().expect("not poisoned") = Some((track.clone(), ssrc));
                    }
                    let mut last_sequence: Option<u16> = None;
                    while let Some(packet) = track.next_packet().await {
                        if !video {
                            counters.audio_packets.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        counters.video_packets.fetch_add(1, Ordering::Relaxed);
                        counters.video_payload_type.store(u32::from(packet.payload_type), Ordering::Relaxed);
                        let sequence = packet.sequence_number;
                        if let Some(last) = last_sequence {
                            let step = sequence.wrapping_sub(last);
                            // A step back (reordering) is not a gap; a step forward skips step-1.
                            if step == 0 || step >= 0x8000 {
                                continue;
                            }
                            counters.video_gaps.fetch_add(u64::from(step - 1), Ordering::Relaxed);
                        }
                        last_sequence = Some(sequence);
                    }
                });
            }
            while readers.join_next().await.is_some() {}
        });
        Ok(CountingViewer {
            peer,
            client,
            session_url,
            counting,
            counters,
            state: handles.state,
            answer_sdp: answer,
            links,
            video_track,
        })
    }

    /// Whether the peer is still connected.
    pub fn connected(&self) -> bool {
        *self.state.borrow() == PeerState::Connected
    }

    /// The session's resource URL (the WHEP `Location`).
    pub fn session_url(&self) -> &str {
        &self.session_url
    }

    /// The server's SDP answer.
    pub fn answer_sdp(&self) -> &str {
        &self.answer_sdp
    }

    /// Asks the server for a keyframe (PLI), as a player does after losing packets.
    pub async fn request_keyframe(&self) -> anyhow::Result<()> {
        let track = self.video_track.lock().expect("not poisoned").clone();
        let (track, media_ssrc) = track.context("no video track yet")?;
        track.request_keyframe(media_ssrc).await?;
        Ok(())
    }

    /// The `Link` headers of the server's answer (ICE servers).
    pub fn links(&self) -> &[String] {
        &self.links
    }

    /// Waits until the server ends the session (the peer closes or fails), up to `limit`.
    pub async fn wait_ended(&mut self, limit: Duration) -> bool {
        tokio::time::timeout(
            limit,
            self.state.wait_for(|state| {
                matches!(state, PeerState::Closed | PeerState::Failed | PeerState::Disconnected)
            }),
        )
        .await
        .is_ok_and(|state| state.is_ok())
    }

    /// Ends the session by WHEP DELETE (its answer status is returned) and closes the peer.
    pub async fn stop(mut self) -> anyhow::Result<reqwest::StatusCode> {
        let status = self.client.delete(&self.session_url).send().await.map(|response| response.status());
        self.peer.close().await;
        self.counting.shutdown().await;
        Ok(status?)
    }

    /// Closes the peer without telling the server, like a phone that lost its network.
    pub async fn vanish(mut self) {
        self.peer.close().await;
        self.counting.shutdown().await;
    }
}

fn vp8() -> Codec {
    Codec {
        kind: MediaKind::Video,
        mime_type: "video/VP8".to_owned(),
        clock_rate: 90000,
        channels: 0,
        fmtp: String::new(),
        payload_type: None,
    }
}

fn opus() -> Codec {
    Codec {
        kind: MediaKind::Audio,
        mime_type: "audio/opus".to_owned(),
        clock_rate: 48000,
        channels: 2,
        fmtp: "minptime=10;useinbandfec=1".to_owned(),
        payload_type: None,
    }
}

async fn negotiated_payload_type(track: &OutgoingTrack) -> anyhow::Result<u8> {
    track.payload_type().await?.ok_or_else(|| anyhow!("the server declined the track"))
}

/// Creates the offer, waits for local candidates, posts it, and returns the session URL, the
/// answer and the answer's `Link` headers.
async fn offer_and_post(
    peer: &Peer,
    client: &reqwest::Client,
    url: &str,
    bearer: Option<&str>,
) -> anyhow::Result<(String, String, Vec<String>)> {
    let offer = peer.offer().await?;
    let mut request = client.post(url).header("content-type", "application/sdp").body(offer);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    let status = response.status();
    let location =
        response.headers().get("location").and_then(|value| value.to_str().ok()).map(str::to_owned);
    let links = response
        .headers()
        .get_all("link")
        .iter()
        .filter_map(|value| value.to_str().ok().map(str::to_owned))
        .collect();
    let body = response.text().await?;
    if status != reqwest::StatusCode::CREATED {
        bail!("{url} answered {status}: {body}");
    }
    let location = location.context("201 without a Location")?;
    let base = reqwest::Url::parse(url)?;
    Ok((base.join(&location)?.to_string(), body, links))
}

async fn wait_connected(handles: &mut PeerHandles) -> anyhow::Result<()> {
    let state = tokio::time::timeout(
        CONNECT_LIMIT,
        handles
            .state
            .wait_for(|state| matches!(state, PeerState::Connected | PeerState::Failed | PeerState::Closed)),
    )
    .await
    .map_err(|_| anyhow!("the peer did not connect within {CONNECT_LIMIT:?}"))?
    .map(|state| *state)
    .map_err(|_| anyhow!("the peer went away"))?;
    if state == PeerState::Connected { Ok(()) } else { Err(anyhow!("the peer {state}")) }
}

/// Sends a VP8-shaped stream: frames of `bits / 8 / fps` bytes split into packets, a keyframe
/// every second. The payloads are not decodable video, but their descriptors are real, so the
/// server's keyframe detection sees what a browser would send.
async fn send_video(
    track: OutgoingTrack,
    payload_type: u8,
    bits_per_second: u64,
    frames_per_second: u32,
    sent: Arc<AtomicU64>,
    stop: CancellationToken,
) {
    let frame_bytes =
        usize::try_from(bits_per_second / 8 / u64::from(frames_per_second)).unwrap_or(MAX_PAYLOAD).max(2);
    let mut ticker = tokio::time::interval(Duration::from_secs(1) / frames_per_second);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut sequence_number: u16 = rand::random();
    let mut timestamp: u32 = rand::random();
    let filler = bytes::Bytes::from(vec![0x5Au8; MAX_PAYLOAD]);
    for frame in 0u64.. {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let keyframe = frame % u64::from(frames_per_second) == 0;
        let packets = frame_bytes.div_ceil(MAX_PAYLOAD - 2);
        for index in 0..packets {
            let size = (frame_bytes - index * (MAX_PAYLOAD - 2)).min(MAX_PAYLOAD - 2);
            // RFC 7741 descriptor: S set on the first packet; then the VP8 header's P bit,
            // clear for a keyframe.
            let mut payload = bytes::BytesMut::with_capacity(size + 2);
            payload.extend_from_slice(&[
                if index == 0 { 0x10 } else { 0x00 },
                if keyframe { 0x00 } else { 0x01 },
            ]);
            payload.extend_from_slice(&filler[..size]);
            let packet = Packet {
                sequence_number,
                timestamp,
                marker: index + 1 == packets,
                payload_type,
                ssrc: track.ssrc(),
                payload: payload.freeze(),
            };
            sequence_number = sequence_number.wrapping_add(1);
            if track.write(&packet).await.is_err() {
                return;
            }
            sent.fetch_add(1, Ordering::Relaxed);
        }
        timestamp = timestamp.wrapping_add(90_000 / frames_per_second);
    }
}

/// Sends 20 ms Opus-shaped packets.
async fn send_audio(track: OutgoingTrack, payload_type: u8, sent: Arc<AtomicU64>, stop: CancellationToken) {
    let mut ticker = tokio::time::interval(Duration::from_millis(20));
    let mut sequence_number: u16 = rand::random();
    let mut timestamp: u32 = rand::random();
    let payload = bytes::Bytes::from(vec![0xFCu8; 80]);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let packet = Packet {
            sequence_number,
            timestamp,
            marker: false,
            payload_type,
            ssrc: track.ssrc(),
            payload: payload.clone(),
        };
        sequence_number = sequence_number.wrapping_add(1);
        timestamp = timestamp.wrapping_add(960);
        if track.write(&packet).await.is_err() {
            return;
        }
        sent.fetch_add(1, Ordering::Relaxed);
    }
}
