//! What travels on a peer: codecs, RTP packets, and the tracks that carry them, as the
//! engine's own types.

use super::EngineError;
use super::keyframe_requests::is_keyframe_request;
use bytes::Bytes;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{RTCRtpCodec, RtpCodecKind};
use rtc::shared::marshal::Marshal;
use std::sync::Arc;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::rtp_transceiver::RtpSender;

/// Audio or video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    Audio,
    Video,
}

impl MediaKind {
    /// `audio` or `video`, as SDP names the media.
    pub fn label(self) -> &'static str {
        match self {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
        }
    }

    pub(super) fn engine_kind(self) -> RtpCodecKind {
        match self {
            MediaKind::Audio => RtpCodecKind::Audio,
            MediaKind::Video => RtpCodecKind::Video,
        }
    }

    /// A kind the engine leaves unspecified is taken for video, as the broadcast always did.
    fn of(kind: RtpCodecKind) -> MediaKind {
        if kind == RtpCodecKind::Audio { MediaKind::Audio } else { MediaKind::Video }
    }
}

impl std::fmt::Display for MediaKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// A codec as negotiated with a peer: what describes its stream to a player (an SDP
/// `rtpmap` and `fmtp`), whatever the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Codec {
    pub kind: MediaKind,
    /// `audio/opus`, `video/VP8`, `video/H264`… (case as the peer wrote it).
    pub mime_type: String,
    /// The RTP clock rate in Hz: 48000 for Opus, 90000 for video.
    pub clock_rate: u32,
    /// Audio channels; 0 for video.
    pub channels: u16,
    /// The SDP format parameters (`a=fmtp`), such as H.264's profile; may be empty.
    pub fmtp: String,
    /// The payload type the sender's packets carry, where known (a publisher's, once its
    /// first packet arrived).
    pub payload_type: Option<u8>,
}

impl Codec {
    fn of(kind: MediaKind, codec: &RTCRtpCodec) -> Codec {
        Codec {
            kind,
            mime_type: codec.mime_type.clone(),
            clock_rate: codec.clock_rate,
            channels: codec.channels,
            fmtp: codec.sdp_fmtp_line.clone(),
            payload_type: None,
        }
    }

    /// The codec as a track's encoding names it. Its RTCP feedback is left empty: the engine
    /// matches a track's codec to the registered ones by MIME type and format parameters, and
    /// the feedback a peer offers is the registered codec's.
    pub(super) fn engine_codec(&self) -> RTCRtpCodec {
        RTCRtpCodec {
            mime_type: self.mime_type.clone(),
            clock_rate: self.clock_rate,
            channels: self.channels,
            sdp_fmtp_line: self.fmtp.clone(),
            rtcp_feedback: vec![],
        }
    }
}

/// One RTP packet: the header fields the broadcast forwards, and the payload. Header
/// extensions, CSRCs and padding are not kept: nothing downstream may carry them (a viewer's
/// engine silently drops packets with extensions it did not negotiate).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packet {
    pub sequence_number: u16,
    pub timestamp: u32,
    /// The last packet of a video frame, or the start of a talk spurt.
    pub marker: bool,
    pub payload_type: u8,
    pub ssrc: u32,
    pub payload: Bytes,
}

impl Packet {
    /// The packet as RTP on the wire under `payload_type` and `ssrc` (version 2, with no
    /// padding, CSRC or header extension): for writing it to a UDP socket, such as an
    /// encoder's RTP input.
    pub fn to_bytes(&self, payload_type: u8, ssrc: u32) -> Result<Bytes, EngineError> {
        let packet = Packet { payload_type, ssrc, ..self.clone() };
        packet
            .engine_packet()
            .marshal()
            .map(|bytes| bytes.freeze())
            .map_err(|error| EngineError::Engine(error.to_string()))
    }

    fn of(packet: rtp::Packet) -> Packet {
        let header = packet.header;
        Packet {
            sequence_number: header.sequence_number,
            timestamp: header.timestamp,
            marker: header.marker,
            payload_type: header.payload_type,
            ssrc: header.ssrc,
            payload: packet.payload,
        }
    }

    fn engine_packet(&self) -> rtp::Packet {
        rtp::Packet {
            header: rtp::header::Header {
                version: 2,
                marker: self.marker,
                payload_type: self.payload_type,
                sequence_number: self.sequence_number,
                timestamp: self.timestamp,
                ssrc: self.ssrc,
                ..Default::default()
            },
            payload: self.payload.clone(),
        }
    }
}

/// A track the remote peer sends: a publisher's camera or microphone, or an origin's stream
/// that an edge pulls. Cloning shares it.
#[derive(Clone)]
pub struct IncomingTrack {
    track: Arc<dyn TrackRemote>,
}

impl IncomingTrack {
    pub(super) fn new(track: Arc<dyn TrackRemote>) -> IncomingTrack {
        IncomingTrack { track }
    }

    pub async fn kind(&self) -> MediaKind {
        MediaKind::of(self.track.kind().await)
    }

    /// The SSRC of its (first) stream, once known.
    pub async fn ssrc(&self) -> Option<u32> {
        self.track.ssrcs().await.first().copied()
    }

    /// The codec negotiated for its stream `ssrc`.
    pub async fn codec(&self, ssrc: u32) -> Option<Codec> {
        let kind = self.kind().await;
        self.track.codec(ssrc).await.map(|codec| Codec::of(kind, &codec))
    }

    /// The next RTP packet; `None` once the track has ended.
    pub async fn next_packet(&self) -> Option<Packet> {
        while let Some(event) = self.track.poll().await {
            match event {
                TrackRemoteEvent::OnRtpPacket(packet) => return Some(Packet::of(packet)),
                TrackRemoteEvent::OnEnded => return None,
                _ => {}
            }
        }
        None
    }

    /// Asks the sender for a keyframe of its stream `media_ssrc` (a picture loss indication).
    pub async fn request_keyframe(&self, media_ssrc: u32) -> Result<(), EngineError> {
        let request = PictureLossIndication { sender_ssrc: 0, media_ssrc };
        self.track
            .write_rtcp(vec![Box::new(request)])
            .await
            .map_err(|error| EngineError::Engine(error.to_string()))
    }
}

/// A track sent to the remote peer: one kind of a viewer's broadcast, or a synthetic
/// publisher's stream. Cloning shares it.
#[derive(Clone)]
pub struct OutgoingTrack {
    kind: MediaKind,
    track: Arc<TrackLocalStaticRTP>,
    sender: Arc<dyn RtpSender>,
    ssrc: u32,
}

impl OutgoingTrack {
    pub(super) fn new(
        kind: MediaKind,
        track: Arc<TrackLocalStaticRTP>,
        sender: Arc<dyn RtpSender>,
        ssrc: u32,
    ) -> OutgoingTrack {
        OutgoingTrack { kind, track, sender, ssrc }
    }

    pub fn kind(&self) -> MediaKind {
        self.kind
    }

    /// The SSRC its packets must carry.
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// The payload type the remote peer negotiated for the track's codec, once the offer is
    /// answered; `None` if it declined the track. It may differ from the sender's: the engine
    /// drops packets carrying any other.
    pub async fn payload_type(&self) -> Result<Option<u8>, EngineError> {
        let parameters =
            self.sender.get_parameters().await.map_err(|error| EngineError::Engine(error.to_string()))?;
        Ok(parameters.rtp_parameters.codecs.first().map(|codec| codec.payload_type))
    }

    /// Sends `packet` as it is; its SSRC and payload type must be the track's.
    pub async fn write(&self, packet: &Packet) -> Result<(), EngineError> {
        self.track
            .write_rtp(packet.engine_packet())
            .await
            .map_err(|error| EngineError::Engine(error.to_string()))
    }

    /// Waits for the remote peer's next keyframe request (PLI or FIR, which the engine's chain
    /// hands to the application); false once the track is gone.
    pub async fn keyframe_requested(&self) -> bool {
        while let Some(event) = self.track.poll().await {
            let TrackLocalEvent::OnRtcpPacket(packets) = event else { continue };
            if packets.iter().any(|packet| is_keyframe_request(packet.as_ref())) {
                return true;
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::shared::marshal::Unmarshal;

    fn publishers_packet() -> rtp::Packet {
        let mut source = rtp::Packet::default();
        source.header.version = 2;
        source.header.ssrc = 1;
        source.header.payload_type = 97;
        source.header.sequence_number = 65535;
        source.header.timestamp = 90_000;
        source.header.marker = true;
        source.header.extension = true;
        source.header.extensions = vec![rtp::header::Extension { id: 3, payload: Bytes::from_static(b"x") }];
        source.header.csrc = vec![7];
        source.payload = Bytes::from_static(b"frame");
        source
    }

    #[test]
    fn a_packet_keeps_timing_and_drops_extensions() {
        let packet = Packet::of(publishers_packet());
        assert_eq!((packet.ssrc, packet.payload_type), (1, 97));
        assert_eq!((packet.sequence_number, packet.timestamp, packet.marker), (65535, 90_000, true));
        let written = Packet { ssrc: 42, payload_type: 96, ..packet.clone() }.engine_packet();
        let header = &written.header;
        assert_eq!((header.ssrc, header.payload_type), (42, 96));
        assert_eq!((header.sequence_number, header.timestamp), (65535, 90_000));
        assert!(header.marker && !header.extension && header.extensions.is_empty() && header.csrc.is_empty());
        assert_eq!(written.payload, packet.payload);
    }

    #[test]
    fn a_packet_serializes_as_plain_rtp() {
        let packet = Packet::of(publishers_packet());
        let bytes = packet.to_bytes(96, 0xDEAD_BEEF).expect("a packet marshals");
        // 12 bytes of fixed header (no CSRC, no extension), then the payload.
        assert_eq!(bytes.len(), 12 + b"frame".len());
        assert_eq!(bytes[0], 0x80, "version 2, no padding, no extension, no CSRC");
        assert_eq!(bytes[1], 0x80 | 96, "the marker and the payload type");
        let parsed = rtp::Packet::unmarshal(&mut bytes.clone()).expect("RTP parses");
        assert_eq!(Packet::of(parsed), Packet { payload_type: 96, ssrc: 0xDEAD_BEEF, ..packet });
    }
}
