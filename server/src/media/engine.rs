//! The WebRTC engine: the only file that builds peer connections.
//!
//! Everything the meeting logic needs from WebRTC goes through here: build a peer for a
//! publisher or a viewer, answer an offer, and the codecs a meeting may use. Keeping the
//! engine behind this small surface is what lets another one (the sans-IO `rtc` crate on one
//! socket, or str0m) replace webrtc-rs if the benchmark demands it.

use crate::config::MediaConfig;
use rtc::interceptor::{
    Attribute, Interceptor, Packet as InterceptorPacket, Registry, Slot, StreamInfo, TaggedPacket,
};
use rtc::peer_connection::configuration::RTCConfigurationBuilder;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8, MediaEngine,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::peer_connection::transport::RTCIceCandidateType;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RtpCodecKind};
use rtc::sansio::Protocol;
use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;
use tokio::sync::watch;
use webrtc::peer_connection::{PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler};

/// An RTP packet as the engine reads and writes it.
pub type RtpPacket = rtc::rtp::Packet;

/// A codec, as any consumer of the broadcast may need it without naming the engine's types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecDescription {
    pub mime_type: String,
    pub clock_rate: u32,
    pub channels: u16,
    pub fmtp: String,
}

pub fn describe(codec: RTCRtpCodec) -> CodecDescription {
    CodecDescription {
        mime_type: codec.mime_type,
        clock_rate: codec.clock_rate,
        channels: codec.channels,
        fmtp: codec.sdp_fmtp_line,
    }
}

/// `packet` as a plain RTP datagram with `ssrc` and `payload_type` and no header extensions;
/// `None` if it cannot be written (it never fails for a packet the engine read).
pub fn datagram(packet: &RtpPacket, ssrc: u32, payload_type: u8) -> Option<bytes::Bytes> {
    use rtc::shared::marshal::Marshal;
    let header = &packet.header;
    let plain = rtc::rtp::Packet {
        header: rtc::rtp::header::Header {
            version: 2,
            marker: header.marker,
            payload_type,
            sequence_number: header.sequence_number,
            timestamp: header.timestamp,
            ssrc,
            ..Default::default()
        },
        payload: packet.payload.clone(),
    };
    plain.marshal().ok().map(bytes::BytesMut::freeze)
}

/// How long an answer waits for the server's own ICE candidates. Host candidates on bound
/// sockets are gathered at once; this only bounds a misconfigured machine.
const GATHERING_LIMIT: Duration = Duration::from_secs(3);
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

    /// A new peer connection whose events go to `handler`. Its sockets are bound at once, on a
    /// port from the configured range (trying the next on a port that is taken).
    ///
    /// With `only`, the peer speaks just those codecs: a viewer's answer then offers nothing
    /// the publisher does not send, so no player picks a codec that never arrives.
    pub async fn peer(
        &self,
        handler: Arc<dyn PeerConnectionEventHandler>,
        only: Option<&[RTCRtpCodec]>,
    ) -> Result<Arc<dyn PeerConnection>, EngineError> {
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
                Ok(peer) => return Ok(Arc::new(peer)),
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
pub async fn client_peer(
    address: IpAddr,
    vp8_payload_type: u8,
    handler: Arc<dyn PeerConnectionEventHandler>,
) -> Result<Arc<dyn PeerConnection>, EngineError> {
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
        .with_handler(handler)
        .with_udp_addrs(vec![SocketAddr::new(address, 0)])
        .build()
        .await
        .map_err(|error| EngineError::Engine(error.to_string()))?;
    Ok(Arc::new(peer))
}

/// Applies `offer`, answers it and waits for the server's candidates, so that the answer is
/// complete (WHIP and WHEP clients need not trickle). `gathered` turns true when gathering is
/// complete.
pub async fn answer(
    peer: &dyn PeerConnection,
    offer: String,
    gathered: &mut watch::Receiver<bool>,
) -> Result<String, EngineError> {
    let offer = RTCSessionDescription::offer(offer).map_err(|error| EngineError::Offer(error.to_string()))?;
    peer.set_remote_description(offer).await.map_err(|error| EngineError::Offer(error.to_string()))?;
    let answer = peer.create_answer(None).await.map_err(|error| EngineError::Offer(error.to_string()))?;
    peer.set_local_description(answer).await.map_err(|error| EngineError::Engine(error.to_string()))?;
    // Candidates gathered so far are in the answer either way; a slow gatherer is not fatal.
    let _ = tokio::time::timeout(GATHERING_LIMIT, gathered.wait_for(|done| *done)).await;
    peer.local_description()
        .await
        .map(|description| description.sdp)
        .ok_or_else(|| EngineError::Engine("no local description after answering".to_owned()))
}

/// Offers to receive what `peer`'s transceivers ask for, waiting for its own candidates: the
/// offer an edge node sends the origin's WHEP endpoint.
pub async fn offer(
    peer: &dyn PeerConnection,
    gathered: &mut watch::Receiver<bool>,
) -> Result<String, EngineError> {
    let offer = peer.create_offer(None).await.map_err(|error| EngineError::Engine(error.to_string()))?;
    peer.set_local_description(offer).await.map_err(|error| EngineError::Engine(error.to_string()))?;
    let _ = tokio::time::timeout(GATHERING_LIMIT, gathered.wait_for(|done| *done)).await;
    peer.local_description()
        .await
        .map(|description| description.sdp)
        .ok_or_else(|| EngineError::Engine("no local description after offering".to_owned()))
}

/// The codecs a meeting may use: Opus, VP8 and H.264, the ones every browser and OBS send and
/// every player decodes, so that the server never transcodes. RTX is left out on purpose: its
/// repair packets travel under their own payload type and SSRC, which a forwarder that
/// rewrites both per viewer would have to map too; NACK retransmits in the media stream.
fn media_engine(only: Option<&[RTCRtpCodec]>) -> Result<MediaEngine, webrtc::error::Error> {
    let mut engine = MediaEngine::default();
    let wanted = |mime_type: &str, fmtp: &str| {
        only.is_none_or(|codecs| {
            codecs.iter().any(|codec| {
                codec.mime_type.eq_ignore_ascii_case(mime_type)
                    && h264_profile(&codec.sdp_fmtp_line) == h264_profile(fmtp)
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

/// Passes a viewer's keyframe requests (PLI and FIR) on to the application, which asks the
/// publisher for a keyframe (throttled per meeting), and lets all other inbound RTCP end at the
/// end of the chain as usual. Without it a viewer that lost a keyframe's packets would wait for
/// the next periodic one: the engine's default chain answers NACKs itself but keeps keyframe
/// requests to itself, and an SFU cannot make keyframes.
#[derive(Default)]
struct KeyframeRequestsToApplication {
    read: VecDeque<TaggedPacket>,
    write: VecDeque<TaggedPacket>,
}

/// Whether an RTCP packet asks for a keyframe.
pub fn is_keyframe_request(packet: &dyn rtc::rtcp::Packet) -> bool {
    let any = packet.as_any();
    any.is::<PictureLossIndication>() || any.is::<FullIntraRequest>()
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for KeyframeRequestsToApplication {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = std::time::Instant;

    fn handle_read(&mut self, mut message: TaggedPacket) -> Result<(), Self::Error> {
        if let InterceptorPacket::Rtcp(packets) = &message.message.packet {
            let requests: Vec<Box<dyn rtc::rtcp::Packet>> =
                packets.iter().filter(|packet| is_keyframe_request(packet.as_ref())).cloned().collect();
            if requests.is_empty() {
                // The interceptors before this one have acted on it; nothing for the application.
                return Ok(());
            }
            message.message.packet = InterceptorPacket::Rtcp(requests);
            message.message.add(Attribute::DeliverToApplication);
        }
        self.read.push_back(message);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<TaggedPacket> {
        self.read.pop_front()
    }

    fn handle_write(&mut self, message: TaggedPacket) -> Result<(), Self::Error> {
        self.write.push_back(message);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<TaggedPacket> {
        self.write.pop_front()
    }
}

impl Interceptor for KeyframeRequestsToApplication {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
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
        let vp8 = RTCRtpCodec { mime_type: "video/vp8".to_owned(), clock_rate: 90000, ..Default::default() };
        assert!(media_engine(Some(&[vp8])).is_ok());
        assert_eq!(h264_profile("packetization-mode=1;profile-level-id=42E01F"), Some("42e01f".to_owned()));
        assert_eq!(h264_profile(""), None);
    }
}
