//! Finding where a decoder can start: the first packet of a keyframe.
//!
//! A viewer that joins, or that fell behind and skipped ahead, must not be sent the middle of a
//! frame sequence: the decoder would show garbage or nothing until the next keyframe. These
//! functions read just enough of the RTP payload to tell. They never panic on any input.

/// The video codecs the forwarder understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    Vp8,
    H264,
}

impl VideoCodec {
    /// From an RTP MIME type such as `video/VP8`, case-insensitively.
    pub fn from_mime(mime: &str) -> Option<VideoCodec> {
        if mime.eq_ignore_ascii_case("video/vp8") {
            Some(VideoCodec::Vp8)
        } else if mime.eq_ignore_ascii_case("video/h264") {
            Some(VideoCodec::H264)
        } else {
            None
        }
    }
}

/// Whether `payload` (an RTP payload of `codec`) begins a keyframe.
pub fn starts_keyframe(codec: VideoCodec, payload: &[u8]) -> bool {
    match codec {
        VideoCodec::Vp8 => vp8_starts_keyframe(payload),
        VideoCodec::H264 => h264_starts_keyframe(payload),
    }
}

/// RFC 7741: the payload descriptor, then (at the start of a partition) the VP8 payload header
/// whose lowest bit P is 0 for a keyframe.
fn vp8_starts_keyframe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else { return false };
    let extended = first & 0x80 != 0;
    let start_of_partition = first & 0x10 != 0;
    let partition_index = first & 0x07;
    if !start_of_partition || partition_index != 0 {
        return false;
    }
    let mut offset = 1;
    if extended {
        let Some(&flags) = payload.get(offset) else { return false };
        offset += 1;
        if flags & 0x80 != 0 {
            // PictureID: one byte, or two when its M bit is set.
            let Some(&picture_id) = payload.get(offset) else { return false };
            offset += if picture_id & 0x80 != 0 { 2 } else { 1 };
        }
        if flags & 0x40 != 0 {
            offset += 1; // TL0PICIDX
        }
        if flags & 0x30 != 0 {
            offset += 1; // TID/Y/KEYIDX
        }
    }
    payload.get(offset).is_some_and(|header| header & 0x01 == 0)
}

const H264_IDR: u8 = 5;
const H264_SPS: u8 = 7;
const H264_STAP_A: u8 = 24;
const H264_FU_A: u8 = 28;

/// RFC 6184: a single IDR or SPS unit, an aggregate (STAP-A) holding one, or the first
/// fragment (FU-A with S set) of an IDR.
fn h264_starts_keyframe(payload: &[u8]) -> bool {
    let Some(&header) = payload.first() else { return false };
    match header & 0x1F {
        H264_IDR | H264_SPS => true,
        H264_STAP_A => {
            let mut rest = &payload[1..];
            while rest.len() > 2 {
                let size = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
                let Some(unit) = rest.get(2..2 + size) else { return false };
                if unit.first().is_some_and(|nal| matches!(nal & 0x1F, H264_IDR | H264_SPS)) {
                    return true;
                }
                rest = &rest[2 + size..];
            }
            false
        }
        H264_FU_A => payload.get(1).is_some_and(|fu| fu & 0x80 != 0 && fu & 0x1F == H264_IDR),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vp8_keyframes_and_interframes() {
        // S=1, PID=0, no extension; VP8 header P=0: keyframe.
        assert!(starts_keyframe(VideoCodec::Vp8, &[0x10, 0x90, 0x01, 0x00]));
        // Same with P=1: an interframe.
        assert!(!starts_keyframe(VideoCodec::Vp8, &[0x10, 0x91]));
        // A continuation packet (S=0) never starts anything.
        assert!(!starts_keyframe(VideoCodec::Vp8, &[0x00, 0x90]));
        // Extended: I (15-bit picture id), L, T: the header is after 1+1+2+1+1 bytes.
        assert!(starts_keyframe(VideoCodec::Vp8, &[0x90, 0xE0, 0x81, 0x23, 0x05, 0x40, 0x50]));
        assert!(!starts_keyframe(VideoCodec::Vp8, &[0x90, 0xE0, 0x81, 0x23, 0x05, 0x40, 0x51]));
        // Extended with a 7-bit picture id only.
        assert!(starts_keyframe(VideoCodec::Vp8, &[0x90, 0x80, 0x12, 0x00]));
        // Truncated descriptors are not keyframes.
        assert!(!starts_keyframe(VideoCodec::Vp8, &[0x90, 0x80, 0x12]));
        assert!(!starts_keyframe(VideoCodec::Vp8, &[]));
    }

    #[test]
    fn h264_keyframes_and_interframes() {
        assert!(starts_keyframe(VideoCodec::H264, &[0x65, 0x88])); // IDR
        assert!(starts_keyframe(VideoCodec::H264, &[0x67, 0x42])); // SPS
        assert!(!starts_keyframe(VideoCodec::H264, &[0x41, 0x9A])); // non-IDR slice
        // STAP-A holding SPS and PPS.
        assert!(starts_keyframe(VideoCodec::H264, &[0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x01, 0x68]));
        // STAP-A holding only a PPS, and one whose size runs past the end.
        assert!(!starts_keyframe(VideoCodec::H264, &[0x78, 0x00, 0x01, 0x68]));
        assert!(!starts_keyframe(VideoCodec::H264, &[0x78, 0x00, 0x09, 0x67]));
        // FU-A: the first fragment of an IDR, a middle one, and the first of a P slice.
        assert!(starts_keyframe(VideoCodec::H264, &[0x7C, 0x85, 0x00]));
        assert!(!starts_keyframe(VideoCodec::H264, &[0x7C, 0x05, 0x00]));
        assert!(!starts_keyframe(VideoCodec::H264, &[0x7C, 0x81, 0x00]));
        assert!(!starts_keyframe(VideoCodec::H264, &[0x7C]));
    }

    #[test]
    fn codecs_by_mime_type() {
        assert_eq!(VideoCodec::from_mime("video/VP8"), Some(VideoCodec::Vp8));
        assert_eq!(VideoCodec::from_mime("video/h264"), Some(VideoCodec::H264));
        assert_eq!(VideoCodec::from_mime("audio/opus"), None);
    }

    proptest! {
        #[test]
        fn never_panics_on_any_payload(payload in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = starts_keyframe(VideoCodec::Vp8, &payload);
            let _ = starts_keyframe(VideoCodec::H264, &payload);
        }
    }
}
