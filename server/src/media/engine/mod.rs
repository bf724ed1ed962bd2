//! The WebRTC engine: the only part of the server that names webrtc-rs (`webrtc::`) or its
//! `rtc` crate, and so the only one that builds peer connections.
//!
//! Everything the broadcast needs from WebRTC goes through the types here, which are the
//! engine's own: a [`Peer`] (answer an offer, or offer; trickled candidates; close) with its
//! [`PeerHandles`] (the connection's [`PeerState`] and the tracks it receives), an
//! [`IncomingTrack`] (its [`Codec`], its RTP [`Packet`]s, keyframe requests to its sender), an
//! [`OutgoingTrack`] (packets written to a viewer, and the viewer's keyframe requests), and the
//! codecs a meeting may use. Keeping the engine behind this small surface is what lets
//! another one (the sans-IO `rtc` crate on one socket, or str0m) replace webrtc-rs if the
//! benchmark demands it; `tests/integration/engine_boundary.rs` checks that nothing else names
//! it.
//!
//! - `peer.rs`: [`Peer`], its events and the ICE candidates trickled to it.
//! - `track.rs`: [`Codec`], [`MediaKind`], [`Packet`] and the tracks.
//! - `keyframe_requests.rs`: the interceptor that hands viewers' keyframe requests to the
//!   application.
//! - `synthetic.rs`: the synthetic WHIP publisher and counting WHEP viewer that the load
//!   generator and the tests use, peers of the same engine talking to a server as any client.

mod keyframe_requests;
mod peer;
pub mod synthetic;
mod track;

pub use peer::{IceCandidate, Peer, PeerHandles, PeerState};
pub use track::{Codec, IncomingTrack, MediaKind, OutgoingTrack, Packet};

use crate::config::MediaConfig;
use keyframe_requests::KeyframeRequestsToApplication;
use peer::PeerEvents;
use rtc::interceptor::{Registry, Slot};
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::transport::RTCIceCandidateType;
use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use webrtc::peer_connection::PeerConnectionBuilder;

/// ICE consent: silence for this long makes a session disconnected…
const ICE_DISCONNECTED_AFTER: Duration = Duration::from_secs(4);
/// …and this long, failed, which ends it.
const ICE_FAILED_AFTER: Duration = Duration::from_secs(8);
const ICE_KEEPALIVE_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The remote offer could not be applied or answered: the peer's fault.
    #[error("the offer cannot be answered: {0}")]
    Offer(String),
    /// The engine itself failed, e.g. no free UDP port.
    #[error("the media engine failed: {0}")]
    Engine(String),
}

/// Builds peer connections as configured.
pub struct Engine {
    addresses: Vec<IpAddr>,
    ports: PortPool,
    public_ips: Vec<String>,
}

impl Engine {
    pub fn new(config: &MediaConfig) -> Engine {
        Engine {
            addresses: config.udp_addresses.clone(),
            ports: PortPool::new(config.udp_port_min, config.udp_port_max),
            public_ips: config.public_ips.iter().map(ToString::to_string).collect(),
        }
    }

    /// A new peer connection, and the handles its events arrive on. Its sockets are bound at
    /// once, on a port from the configured range (trying the next on a port that is taken).
    ///
    /// With `only`, the peer speaks just those codecs: a viewer's answer then offers nothing
    /// the publisher does not send, so no player picks a codec that never arrives.
    pub async fn peer(&self, only: Option<&[Codec]>) -> Result<(Peer, PeerHandles), EngineError> {
        let (events, handles, gathered) = PeerEvents::new();
        let handler = Arc::new(events);
        let mut last_error = String::new();
        for _ in 0..self.ports.attempts() {
            let port = self.ports.next();
            let sockets: Vec<SocketAddr> =
                self.addresses.iter().map(|address| SocketAddr::new(*address, port)).collect();
            let mut media = media_engine(only).map_err(|error| EngineError::Engine(error.to_string()))?;
            let registry = register_default_interceptors(Registry::new(), &mut media)
                .map_err(|error| EngineError::Engine(error.to_string()))?
                // Last in the chain, after every interceptor that reads RTCP.
                .with(Slot::from(14_000), KeyframeRequestsToApplication::default());
            // A peer that vanishes (a phone losing its network) is declared failed after
            // seconds, not the half-minute of the engine's defaults: until then a publisher
            // would look on air with nothing to show.
            let mut settings = SettingEngineBuilder::new().with_ice_timeouts(
                Some(ICE_DISCONNECTED_AFTER),
                Some(ICE_FAILED_AFTER),
                Some(ICE_KEEPALIVE_INTERVAL),
            );
            if !self.public_ips.is_empty() {
                settings = settings.with_nat_1to1_ips(self.public_ips.clone(), RTCIceCandidateType::Host);
            }
            let built = PeerConnectionBuilder::new()
                // The server answers with the candidates of its own sockets; it needs no STUN.
                .with_configuration(RTCConfigurationBuilder::new().build())
                .with_media_engine(media)
                .with_setting_engine(settings.build())
                .with_interceptor_registry(registry)
                .with_handler(handler.clone())
                .with_udp_addrs(sockets)
                .build()
                .await;
            match built {
                Ok(peer) => return Ok((Peer::new(Arc::new(peer), gathered), handles)),
                // A port in the range may be taken by another program: try the next one.
                Err(error) => last_error = error.to_string(),
            }
        }
        Err(EngineError::Engine(format!("could not bind the media sockets: {last_error}")))
    }
}

/// A peer for a client of the server (the load generator's and the tests' synthetic
/// publisher and viewers), bound to `address`. It speaks VP8 under `vp8_payload_type` and Opus
/// under 111, so that a test can give its viewers a payload type other than the publisher's.
async fn client_peer(address: IpAddr, vp8_payload_type: u8) -> Result<(Peer, PeerHandles), EngineError> {
    let (events, handles, gathered) = PeerEvents::new();
    let mut media = MediaEngine::default();
    let codecs = [
        (MIME_TYPE_OPUS, 48000, 2, "minptime=10;useinbandfec=1", 111, RtpCodecKind::Audio),
        (MIME_TYPE_VP8, 90000, 0, "", vp8_payload_type, RtpCodecKind::Video),
    ];
    for (mime_type, clock_rate, channels, fmtp, payload_type, kind) in codecs {
        let feedback = if kind == RtpCodecKind::Video {
            vec![RTCPFeedback { typ: "nack".to_owned(), parameter: "pli".to_owned() }]
        } else {
            vec![]
        };
        let codec = RTCRtpCodec {
            mime_type: mime_type.to_owned(),
            clock_rate,
            channels,
            sdp_fmtp_line: fmtp.to_owned(),
            rtcp_feedback: feedback,
        };
        media
            .register_codec(RTCRtpCodecParameters { rtp_codec: codec, payload_type }, kind)
            .map_err(|error| EngineError::Engine(error.to_string()))?;
    }
    let registry = register_default_interceptors(Registry::new(), &mut media)
        .map_err(|error| EngineError::Engine(error.to_string()))?;
    let peer = PeerConnectionBuilder::new()
        .with_configuration(RTCConfigurationBuilder::new().build())
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(events))
        .with_udp_addrs(vec![SocketAddr::new(address, 0)])
        .build()
        .await
        .map_err(|error| EngineError::Engine(error.to_string()))?;
    Ok((Peer::new(Arc::new(peer), gathered), handles))
}

/// The codecs a meeting may use: Opus, VP8 and H.264, the ones every browser and OBS send and
/// every player decodes, so that the server never transcodes. RTX is left out on purpose: its
/// repair packets travel under their own payload type and SSRC, which a forwarder that
/// rewrites both per viewer would have to map too; NACK retransmits in the media stream.
fn media_engine(only: Option<&[Codec]>) -> Result<MediaEngine, webrtc::error::Error> {
    let mut engine = MediaEngine::default();
    let wanted = |mime_type: &str, fmtp: &str| {
        only.is_none_or(|codecs| {
            codecs.iter().any(|codec| {
                codec.mime_type.eq_ignore_ascii_case(mime_type)
                    && h264_profile(&codec.fmtp) == h264_profile(fmtp)
            })
        })
    };
    let feedback = |kinds: &[(&str, &str)]| -> Vec<RTCPFeedback> {
        kinds
            .iter()
            .map(|(typ, parameter)| RTCPFeedback {
                typ: (*typ).to_owned(),
                parameter: (*parameter).to_owned(),
            })
            .collect()
    };
    let video_feedback = feedback(&[("goog-remb", ""), ("ccm", "fir"), ("nack", ""), ("nack", "pli")]);
    let opus_fmtp = "minptime=10;useinbandfec=1";
    if !wanted(MIME_TYPE_OPUS, opus_fmtp) {
        return register_video(engine, &video_feedback, &wanted);
    }
    engine.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_OPUS.to_owned(),
                clock_rate: 48000,
                channels: 2,
                sdp_fmtp_line: opus_fmtp.to_owned(),
                rtcp_feedback: vec![],
            },
            payload_type: 111,
        },
        RtpCodecKind::Audio,
    )?;
    register_video(engine, &video_feedback, &wanted)
}

fn register_video(
    mut engine: MediaEngine,
    video_feedback: &[RTCPFeedback],
    wanted: &dyn Fn(&str, &str) -> bool,
) -> Result<MediaEngine, webrtc::error::Error> {
    let video = [
        (MIME_TYPE_VP8, "", 96),
        (MIME_TYPE_H264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f", 102),
        (MIME_TYPE_H264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f", 106),
        (MIME_TYPE_H264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f", 108),
        (MIME_TYPE_H264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032", 112),
    ];
    for (mime_type, fmtp, payload_type) in video {
        if !wanted(mime_type, fmtp) {
            continue;
        }
        engine.register_codec(
            RTCRtpCodecParameters {
                rtp_codec: RTCRtpCodec {
                    mime_type: mime_type.to_owned(),
                    clock_rate: 90000,
                    channels: 0,
                    sdp_fmtp_line: fmtp.to_owned(),
                    rtcp_feedback: video_feedback.to_vec(),
                },
                payload_type,
            },
            RtpCodecKind::Video,
        )?;
    }
    Ok(engine)
}

/// The H.264 profile and level of an fmtp line, which decide whether two H.264 codecs are
/// the same (the parameters' order and the others do not); `None` for other codecs.
fn h264_profile(fmtp: &str) -> Option<String> {
    fmtp.split(';')
        .find_map(|parameter| parameter.trim().strip_prefix("profile-level-id="))
        .map(str::to_ascii_lowercase)
}

/// Hands out UDP ports from the configured range in turn; or port 0 (any free port).
struct PortPool {
    range: Option<(u16, u16)>,
    next: AtomicU32,
}

impl PortPool {
    fn new(min: u16, max: u16) -> PortPool {
        let range = (min != 0 && max != 0).then_some((min, max));
        PortPool { range, next: AtomicU32::new(0) }
    }

    fn next(&self) -> u16 {
        match self.range {
            None => 0,
            Some((min, max)) => {
                let span = u32::from(max - min) + 1;
                let offset = self.next.fetch_add(1, Ordering::Relaxed) % span;
                // `offset < span <= 65536 - min`, so the sum fits in a u16.
                u16::try_from(u32::from(min) + offset).unwrap_or(max)
            }
        }
    }

    /// Every port of the range once, or a single try for any free port.
    fn attempts(&self) -> u32 {
        match self.range {
            None => 1,
            Some((min, max)) => (u32::from(max - min) + 1).min(256),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_cycle_through_the_range() {
        let pool = PortPool::new(40000, 40002);
        let taken: Vec<u16> = (0..5).map(|_| pool.next()).collect();
        assert_eq!(taken, [40000, 40001, 40002, 40000, 40001]);
        assert_eq!(pool.attempts(), 3);
        let top = PortPool::new(65535, 65535);
        assert_eq!((top.next(), top.next()), (65535, 65535));
        let any = PortPool::new(0, 0);
        assert_eq!((any.next(), any.attempts()), (0, 1));
    }

    #[test]
    fn the_codec_list_registers() {
        assert!(media_engine(None).is_ok());
        let vp8 = Codec {
            kind: MediaKind::Video,
            mime_type: "video/vp8".to_owned(),
            clock_rate: 90000,
            channels: 0,
            fmtp: String::new(),
            payload_type: None,
        };
        assert!(media_engine(Some(&[vp8])).is_ok());
        assert_eq!(h264_profile("packetization-mode=1;profile-level-id=42E01F"), Some("42e01f".to_owned()));
        assert_eq!(h264_profile(""), None);
    }
}
