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

    /// Sends the video and the audio to `127.0.0.1` at their ports from `socket`, until the
    /// broadcast ends. Video starts at a keyframe, and audio with it: the consumer's first
    /// packets then hold the codec's parameters (H.264's SPS and PPS) and both kinds begin at
    /// the same moment, so it learns the picture's size at once and starts in sync.
    pub async fn forward(&self, socket: Arc<UdpSocket>, video_port: Option<u16>, audio_port: Option<u16>) {
        let video_codec = match video_port {
            Some(_) => self
                .broadcast
                .codecs(Duration::ZERO)
                .await
                .ok()
                .and_then(|codecs| codecs.video)
                .and_then(|codec| VideoCodec::from_mime(&codec.mime_type)),
            None => None,
        };
        // Opened once the first video keyframe went out (at once without video).
        let (started, _) = watch::channel(video_codec.is_none());
        let video = async {
            let Some(port) = video_port else { return };
            let mut waiting_for_keyframe = video_codec.is_some();
            let mut packets = self.broadcast.subscribe(MediaKind::Video);
            while let Some(packet) = self.next(&mut packets, true, &mut waiting_for_keyframe).await {
                if waiting_for_keyframe {
                    match video_codec {
                        Some(codec) if !keyframe::starts_keyframe(codec, &packet.payload) => continue,
                        _ => waiting_for_keyframe = false,
                    }
                    started.send_replace(true);
                }
                send(&socket, &packet, VIDEO_SSRC, VIDEO_PAYLOAD_TYPE, port).await;
            }
        };
        let audio = async {
            let Some(port) = audio_port else { return };
            let mut packets = self.broadcast.subscribe(MediaKind::Audio);
            let mut gate = started.subscribe();
            tokio::select! {
                _ = self.ended.cancelled() => return,
                _ = gate.wait_for(|open| *open) => {}
            }
            // From the live edge at the moment video began.
            packets = packets.resubscribe();
            let mut never = false;
            while let Some(packet) = self.next(&mut packets, false, &mut never).await {
                send(&socket, &packet, AUDIO_SSRC, AUDIO_PAYLOAD_TYPE, port).await;
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
