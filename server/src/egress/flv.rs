//! FLV as ffmpeg writes it to a pipe: a header, then tags, each followed by its size.
//!
//! ffmpeg turns the broadcast into FLV once per meeting; each tag's body is exactly what an
//! RTMP message of the same type carries, so the destinations' RTMP sessions send the tags as
//! they are. What a destination joining late needs first (the metadata and the audio and video
//! sequence headers) is recognised here, and so are keyframes, where a joining destination
//! starts. Pure: bytes in, tags out; and, for a local consumer such as the HLS packager, tags
//! in, bytes out ([`Writer`]).

use bytes::{Buf, Bytes, BytesMut};

/// The FLV header's length and the first "previous tag size" after it.
const HEADER_BYTES: usize = 9 + 4;
const TAG_HEADER_BYTES: usize = 11;
/// A tag larger than this is not from ffmpeg's FLV muxer at any sane bitrate (a 1080p keyframe
/// at a high bitrate is under a megabyte): the stream is out of step, and reading on would only
/// produce garbage.
const MAX_TAG_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagKind {
    Audio,
    Video,
    /// AMF0 data, such as `onMetaData`.
    Script,
}

impl TagKind {
    /// The RTMP message type id that carries this kind.
    pub fn message_type(self) -> u8 {
        match self {
            TagKind::Audio => 8,
            TagKind::Video => 9,
            TagKind::Script => 18,
        }
    }
}

/// One FLV tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub kind: TagKind,
    /// Milliseconds, as ffmpeg stamped it.
    pub timestamp: u32,
    pub body: Bytes,
}

impl Tag {
    /// A video keyframe (of any codec), where a destination may start.
    pub fn is_keyframe(&self) -> bool {
        self.kind == TagKind::Video && self.body.first().is_some_and(|byte| byte >> 4 == 1)
    }

    /// An AVC or AAC sequence header (the decoder's configuration), or the stream's metadata:
    /// what every destination needs before any frame, and again after it reconnects.
    pub fn is_configuration(&self) -> bool {
        match self.kind {
            TagKind::Script => true,
            // AVC (codec id 7), packet type 0.
            TagKind::Video => self.body.len() >= 2 && self.body[0] & 0x0f == 7 && self.body[1] == 0,
            // AAC (sound format 10), packet type 0.
            TagKind::Audio => self.body.len() >= 2 && self.body[0] >> 4 == 10 && self.body[1] == 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlvError {
    #[error("the transcoder's output is not FLV")]
    NotFlv,
    #[error("the transcoder's output has a tag of {0} bytes")]
    TagTooLarge(usize),
}

/// Reads tags from the bytes of an FLV stream as they arrive.
#[derive(Debug, Default)]
pub struct Reader {
    buffer: BytesMut,
    header_read: bool,
}

impl Reader {
    pub fn new() -> Reader {
        Reader::default()
    }

    /// Takes more of the stream.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete tag, `Ok(None)` until one has arrived in full.
    pub fn next_tag(&mut self) -> Result<Option<Tag>, FlvError> {
        if !self.header_read {
            if self.buffer.len() < HEADER_BYTES {
                return Ok(None);
            }
            if &self.buffer[..3] != b"FLV" {
                return Err(FlvError::NotFlv);
            }
            let header_size =
                u32::from_be_bytes([self.buffer[5], self.buffer[6], self.buffer[7], self.buffer[8]]);
            // The header's own size field says where the tags begin (9 in every FLV version).
            let skip = usize::try_from(header_size).unwrap_or(usize::MAX).saturating_add(4);
            if self.buffer.len() < skip {
                return Ok(None);
            }
            self.buffer.advance(skip);
            self.header_read = true;
        }
        loop {
            if self.buffer.len() < TAG_HEADER_BYTES {
                return Ok(None);
            }
            let size = usize::from(self.buffer[1]) << 16
                | usize::from(self.buffer[2]) << 8
                | usize::from(self.buffer[3]);
            if size > MAX_TAG_BYTES {
                return Err(FlvError::TagTooLarge(size));
            }
            let whole = TAG_HEADER_BYTES + size + 4;
            if self.buffer.len() < whole {
                return Ok(None);
            }
            let header = self.buffer.split_to(TAG_HEADER_BYTES);
            let body = self.buffer.split_to(size).freeze();
            self.buffer.advance(4);
            // The low 24 bits, then the extension byte as the top 8.
            let timestamp = u32::from_be_bytes([header[7], header[4], header[5], header[6]]);
            let kind = match header[0] & 0x1f {
                8 => TagKind::Audio,
                9 => TagKind::Video,
                18 => TagKind::Script,
                // Another kind (encrypted, or unknown) is not for the platforms: skip it.
                _ => continue,
            };
            return Ok(Some(Tag { kind, timestamp, body }));
        }
    }
}

/// Writes an FLV stream: the header, then tags, each followed by its size, as [`Reader`] reads
/// them.
#[derive(Debug, Default)]
pub struct Writer {
    buffer: BytesMut,
}

impl Writer {
    pub fn new() -> Writer {
        Writer::default()
    }

    /// The file header, saying which kinds the stream has (a reader may wait for each kind it
    /// announces before it starts).
    pub fn header(&mut self, audio: bool, video: bool) {
        let flags = (u8::from(audio) << 2) | u8::from(video);
        self.buffer.extend_from_slice(&[b'F', b'L', b'V', 1, flags, 0, 0, 0, 9]);
        // No tag before the first: its "previous tag size" is zero.
        self.buffer.extend_from_slice(&[0, 0, 0, 0]);
    }

    /// One tag, stamped `timestamp` (milliseconds) rather than its own.
    pub fn tag(&mut self, tag: &Tag, timestamp: u32) {
        let size = tag.body.len().min(MAX_TAG_BYTES);
        let [_, s1, s2, s3] = u32::try_from(size).unwrap_or(u32::MAX).to_be_bytes();
        let [extended, t1, t2, t3] = timestamp.to_be_bytes();
        // Kind, size (24 bits), timestamp (low 24 bits, then the top 8), stream id (always 0).
        self.buffer.extend_from_slice(&[tag.kind.message_type(), s1, s2, s3, t1, t2, t3, extended, 0, 0, 0]);
        self.buffer.extend_from_slice(&tag.body[..size]);
        let previous = u32::try_from(TAG_HEADER_BYTES + size).unwrap_or(u32::MAX);
        self.buffer.extend_from_slice(&previous.to_be_bytes());
    }

    /// The bytes written since the last take.
    pub fn take(&mut self) -> Bytes {
        self.buffer.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag_bytes(kind: u8, timestamp: u32, body: &[u8]) -> Vec<u8> {
        let size = body.len();
        let mut bytes = vec![kind, (size >> 16) as u8, (size >> 8) as u8, size as u8];
        let stamp = timestamp.to_be_bytes();
        bytes.extend_from_slice(&[stamp[1], stamp[2], stamp[3], stamp[0], 0, 0, 0]);
        bytes.extend_from_slice(body);
        bytes.extend_from_slice(&((TAG_HEADER_BYTES + size) as u32).to_be_bytes());
        bytes
    }

    fn stream() -> Vec<u8> {
        let mut bytes = b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00".to_vec();
        bytes.extend(tag_bytes(18, 0, b"\x02\x00\x0aonMetaData"));
        bytes.extend(tag_bytes(9, 0, &[0x17, 0x00, 0, 0, 0, 1, 0x42]));
        bytes.extend(tag_bytes(8, 0, &[0xaf, 0x00, 0x11, 0x90]));
        bytes.extend(tag_bytes(9, 33, &[0x17, 0x01, 0, 0, 0, 0xaa]));
        bytes.extend(tag_bytes(9, 0x0100_0042, &[0x27, 0x01, 0, 0, 0, 0xbb]));
        bytes.extend(tag_bytes(8, 40, &[0xaf, 0x01, 0x21]));
        bytes
    }

    #[test]
    fn tags_are_read_whole_however_the_bytes_arrive() {
        let bytes = stream();
        for chunk in [1, 7, 13, bytes.len()] {
            let mut reader = Reader::new();
            let mut tags = Vec::new();
            for piece in bytes.chunks(chunk) {
                reader.push(piece);
                while let Some(tag) = reader.next_tag().expect("valid FLV") {
                    tags.push(tag);
                }
            }
            let kinds: Vec<TagKind> = tags.iter().map(|tag| tag.kind).collect();
            assert_eq!(
                kinds,
                [
                    TagKind::Script,
                    TagKind::Video,
                    TagKind::Audio,
                    TagKind::Video,
                    TagKind::Video,
                    TagKind::Audio
                ],
                "in chunks of {chunk}"
            );
            assert_eq!(tags[3].timestamp, 33);
            assert_eq!(tags[4].timestamp, 0x0100_0042, "the extended timestamp byte is the top one");
            let configuration: Vec<bool> = tags.iter().map(Tag::is_configuration).collect();
            assert_eq!(configuration, [true, true, true, false, false, false]);
            let keyframes: Vec<bool> = tags.iter().map(Tag::is_keyframe).collect();
            assert_eq!(keyframes, [false, true, false, true, false, false]);
        }
    }

    #[test]
    fn what_the_writer_writes_the_reader_reads_back() {
        let mut original = Reader::new();
        original.push(&stream());
        let mut tags = Vec::new();
        while let Some(tag) = original.next_tag().expect("valid FLV") {
            tags.push(tag);
        }
        let mut writer = Writer::new();
        writer.header(true, true);
        for tag in &tags {
            writer.tag(tag, tag.timestamp);
        }
        let written = writer.take();
        assert_eq!(&written[..], &stream()[..], "byte for byte the stream it was read from");
        let mut reader = Reader::new();
        reader.push(&written);
        let mut read = Vec::new();
        while let Some(tag) = reader.next_tag().expect("valid FLV") {
            read.push(tag);
        }
        assert_eq!(read, tags);
        assert!(writer.take().is_empty(), "taking empties the writer");
        writer.tag(&tags[3], 0x0200_0001);
        let mut restamped = Reader::new();
        restamped.push(&stream()[..HEADER_BYTES]);
        restamped.push(&writer.take());
        let tag = restamped.next_tag().expect("valid FLV").expect("a tag");
        assert_eq!(
            (tag.timestamp, &tag.body),
            (0x0200_0001, &tags[3].body),
            "stamped anew, extended byte too"
        );
    }

    #[test]
    fn output_that_is_not_flv_is_refused() {
        let mut reader = Reader::new();
        reader.push(b"RIFF\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        assert_eq!(reader.next_tag(), Err(FlvError::NotFlv));
        let mut reader = Reader::new();
        let mut bytes = b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00".to_vec();
        bytes.extend_from_slice(&[9, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0]);
        reader.push(&bytes);
        assert_eq!(reader.next_tag(), Err(FlvError::TagTooLarge(0xff_ffff)));
    }
}
