//! What a consumer other than a WebRTC viewer (the restream's transcoder) reads of a
//! broadcast: the publisher's RTP as it arrived, per kind, with its codec, sent as plain RTP
//! datagrams to a loopback port.
//!
//! It reads the same channels as the viewers and, like them, never holds the publisher up: a
//! consumer that lags skips to the live edge and asks for a keyframe.

use super::Broadcast;
use super::engine::{MediaKind, Packet};
use super::keyframe::{self, VideoCodec};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::UdpSocket;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

/// The payload types the datagrams carry, whatever the publisher negotiated: the consumer's
/// SDP names these.
pub const VIDEO_PAYLOAD_TYPE: u8 = 96;
pub const AUDIO_PAYLOAD_TYPE: u8 = 111;

/// A codec of the broadcast as the datagrams carry it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceCodec {
    /// `video/H264`, `video/VP8` or `audio/opus`.
    pub mime_type: String,
    pub clock_rate: u32,
    pub channels: u16,
    pub fmtp: String,
    pub payload_type: u8,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SourceCodecs {
    pub video: Option<SourceCodec>,
    pub audio: Option<SourceCodec>,
}

/// Both kinds' packets from the moment of [`RtpSource::subscribe`].
pub struct Feeds {
    video: broadcast::Receiver<Arc<Packet>>,
    audio: broadcast::Receiver<Arc<Packet>>,
}

/// How far into the video feed its first keyframe came, in the video's RTP clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct VideoStart {
    waited: u32,
    clock: u32,
}

/// The audio RTP timestamp to start at, given the first audio packet's and how long the video
/// waited for its keyframe: both feeds were subscribed at the same moment and RTP timestamps
/// advance with real time, so the audio skips as much time as the video did.
fn audio_start(first_audio: u32, video: VideoStart, audio_clock: u32) -> u32 {
    if video.clock == 0 {
        return first_audio;
    }
    let skipped = u64::from(video.waited) * u64::from(audio_clock) / u64::from(video.clock);
    first_audio.wrapping_add(u32::try_from(skipped).unwrap_or(u32::MAX))
}

/// A publisher's broadcast on this node, for a consumer of its RTP.
pub struct RtpSource {
    broadcast: Arc<Broadcast>,
    /// Cancelled when the broadcast ends.
    pub ended: CancellationToken,
}

impl RtpSource {
    pub(super) fn new(broadcast: Arc<Broadcast>) -> RtpSource {
        RtpSource { ended: broadcast.stop.clone(), broadcast }
    }

    /// The publisher's codecs once they arrived (waiting up to `limit`); `None` if the
    /// broadcast ended first or none arrived.
    pub async fn codecs(&self, limit: Duration) -> Option<SourceCodecs> {
        let codecs = self.broadcast.codecs(limit).await.ok()?;
        let describe = |codec: Option<super::engine::Codec>, payload_type| {
            codec.map(|codec| SourceCodec {
                mime_type: codec.mime_type,
                clock_rate: codec.clock_rate,
                channels: codec.channels,
                fmtp: codec.fmtp,
                payload_type,
            })
        };
        Some(SourceCodecs {
            video: describe(codecs.video, VIDEO_PAYLOAD_TYPE),
            audio: describe(codecs.audio, AUDIO_PAYLOAD_TYPE),
        })
    }

    /// Asks the publisher for a keyframe (throttled for the whole meeting, as for viewers).
    pub async fn request_keyframe(&self) {
        self.broadcast.request_keyframe().await;
    }

    /// Asks for a keyframe on the caller's own schedule, such as HLS's segment cuts: held
    /// back only by a shorter throttle than the viewers' requests.
    pub async fn request_scheduled_keyframe(&self) {
        self.broadcast.request_scheduled_keyframe().await;
    }

    /// Subscribes to both kinds now: what arrives from here on waits in the channels (up to
    /// their capacity) for [`forward`](Self::forward).
    pub fn subscribe(&self) -> Feeds {
        Feeds {
            video: self.broadcast.subscribe(MediaKind::Video),
            audio: self.broadcast.subscribe(MediaKind::Audio),
        }
    }

    /// Sends the video and the audio of `feeds` to `127.0.0.1` at their ports from `socket`,
    /// until the broadcast ends. Video starts at a keyframe, so that the consumer's first
    /// packets hold the codec's parameters (H.264's SPS and PPS) and it learns the picture's
    /// size at once; audio starts at the same moment of the stream (see [`audio_start`]), so
    /// that a consumer which aligns the two by their first packets (ffmpeg without RTCP sender
    /// reports) plays them in sync.
    pub async fn forward(
        &self,
        feeds: Feeds,
        socket: Arc<UdpSocket>,
        video_port: Option<u16>,
        audio_port: Option<u16>,
    ) {
        self.forward_noting_start(feeds, socket, video_port, audio_port, &watch::channel(false).0).await;
    }

    /// [`forward`](Self::forward), setting `started` when the first packet a consumer can
    /// begin with went out: the video's first keyframe, or without video the first audio.
    /// The recorder dates its file from that moment.
    pub async fn forward_noting_start(
        &self,
        feeds: Feeds,
        socket: Arc<UdpSocket>,
        video_port: Option<u16>,
        audio_port: Option<u16>,
        started: &watch::Sender<bool>,
    ) {
        let Feeds { video: mut video_packets, audio: mut audio_packets } = feeds;
        let codecs = self.broadcast.codecs(Duration::ZERO).await.ok().unwrap_or_default();
        let video_codec =
            video_port.and(codecs.video.as_ref()).and_then(|codec| VideoCodec::from_mime(&codec.mime_type));
        let video_clock = codecs.video.as_ref().map_or(90_000, |codec| codec.clock_rate);
        let audio_clock = codecs.audio.as_ref().map_or(48_000, |codec| codec.clock_rate);
        // The RTP time (video clock) the video starts at, and how far into the feed that is;
        // sent once the keyframe is found (at once without video).
        let (video_start, _) =
            watch::channel(if video_codec.is_none() { Some(VideoStart::default()) } else { None });
        let video = async {
            let Some(port) = video_port else { return };
            let mut waiting_for_keyframe = video_codec.is_some();
            let mut first_timestamp = None;
            while let Some(packet) = self.next(&mut video_packets, true, &mut waiting_for_keyframe).await {
                let first = *first_timestamp.get_or_insert(packet.timestamp);
                if waiting_for_keyframe {
                    match video_codec {
                        Some(codec) if !keyframe::starts_keyframe(codec, &packet.payload) => continue,
                        _ => waiting_for_keyframe = false,
                    }
                    video_start.send_if_modified(|start| {
                        let first_time = start.is_none();
                        if first_time {
                            *start = Some(VideoStart {
                                waited: packet.timestamp.wrapping_sub(first),
                                clock: video_clock,
                            });
                        }
                        first_time
                    });
                }
                send(&socket, &packet, VIDEO_SSRC, VIDEO_PAYLOAD_TYPE, port).await;
                started.send_if_modified(|started| !std::mem::replace(started, true));
            }
        };
        let audio = async {
            let Some(port) = audio_port else { return };
            let mut start = video_start.subscribe();
            let waited = tokio::select! {
                _ = self.ended.cancelled() => return,
                started = start.wait_for(Option::is_some) => match started {
                    Ok(started) => (*started).unwrap_or_default(),
                    Err(_) => return,
                },
            };
            let mut never = false;
            let mut threshold: Option<u32> = None;
            while let Some(packet) = self.next(&mut audio_packets, false, &mut never).await {
                let from =
                    *threshold.get_or_insert_with(|| audio_start(packet.timestamp, waited, audio_clock));
                if (packet.timestamp.wrapping_sub(from) as i32) < 0 {
                    continue;
                }
                send(&socket, &packet, AUDIO_SSRC, AUDIO_PAYLOAD_TYPE, port).await;
                if video_port.is_none() {
                    started.send_if_modified(|started| !std::mem::replace(started, true));
                }
            }
        };
        tokio::join!(video, audio);
    }

    /// The next packet of a kind, from the live edge after a lag (video then waits for a
    /// keyframe, asked for now); `None` when the broadcast ended.
    async fn next(
        &self,
        packets: &mut broadcast::Receiver<Arc<Packet>>,
        video: bool,
        waiting_for_keyframe: &mut bool,
    ) -> Option<Arc<Packet>> {
        loop {
            tokio::select! {
                _ = self.ended.cancelled() => return None,
                packet = packets.recv() => match packet {
                    Ok(packet) => return Some(packet),
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        *packets = packets.resubscribe();
                        if video {
                            *waiting_for_keyframe = true;
                            self.request_keyframe().await;
                        }
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
            }
        }
    }
}

const VIDEO_SSRC: u32 = 0x6b65_7a76;
const AUDIO_SSRC: u32 = 0x6b65_7a61;

async fn send(socket: &UdpSocket, packet: &Packet, ssrc: u32, payload_type: u8, port: u16) {
    let Ok(datagram) = packet.to_bytes(payload_type, ssrc) else { return };
    // Loopback datagrams are not lost to a slow reader's absence; an error here (the consumer
    // gone) is noticed by its owner through the consumer itself.
    let _ = socket.send_to(&datagram, SocketAddr::from((Ipv4Addr::LOCALHOST, port))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audio_skips_as_much_time_as_the_video_waited_for_its_keyframe() {
        // The video waited 1.5 s (135,000 ticks at 90 kHz): audio starts 72,000 ticks (48 kHz) on.
        let video = VideoStart { waited: 135_000, clock: 90_000 };
        assert_eq!(audio_start(1_000, video, 48_000), 73_000);
        // Across the timestamp's wrap.
        assert_eq!(audio_start(u32::MAX - 999, video, 48_000), 71_000);
        // No video: the audio starts at once.
        assert_eq!(audio_start(5, VideoStart::default(), 48_000), 5);
    }
}
