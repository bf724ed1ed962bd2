//! The text of WHIP and WHEP signalling: what an offer asks for, trickle ICE fragments
//! (RFC 8840) and `Link` headers for ICE servers (RFC 9725 §4.4). Pure; tested with plain
//! strings.

use crate::config::IceServerConfig;

/// The media an offer sends (for WHIP) or wants (for WHEP), by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OfferedKinds {
    pub audio: bool,
    pub video: bool,
}

/// The most media sections an offer may have; WHIP and WHEP need one of each kind.
const MAX_MEDIA_SECTIONS: usize = 8;

/// Why an offer was refused before the engine saw it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OfferError {
    #[error("the body is not an SDP offer (it must start with v=0)")]
    NotSdp,
    #[error("the offer has no audio or video section")]
    NoMedia,
    #[error("the offer has more than {MAX_MEDIA_SECTIONS} media sections")]
    TooManySections,
    #[error("simulcast is not supported: send one stream (turn simulcast off in the encoder)")]
    Simulcast,
}

/// Reads which kinds an offer carries, skipping sections that are disabled (port 0) or
/// inactive. `sending` is true for a publisher's offer (sendonly or sendrecv), false for a
/// viewer's (recvonly or sendrecv).
pub fn offered_kinds(sdp: &str, sending: bool) -> Result<OfferedKinds, OfferError> {
    if !sdp.trim_start().starts_with("v=0") {
        return Err(OfferError::NotSdp);
    }
    let mut kinds = OfferedKinds::default();
    let mut sections = 0;
    let mut current: Option<(&str, bool, &str)> = None; // kind, enabled, direction
    let close = |section: Option<(&str, bool, &str)>, kinds: &mut OfferedKinds| {
        if let Some((kind, true, direction)) = section {
            let wanted = match direction {
                "sendrecv" => true,
                "sendonly" => sending,
                "recvonly" => !sending,
                _ => false,
            };
            match kind {
                "audio" if wanted => kinds.audio = true,
                "video" if wanted => kinds.video = true,
                _ => {}
            }
        }
    };
    for line in sdp.lines().map(str::trim_end) {
        // The forwarder sends one stream per kind; layers would be mixed under one SSRC.
        if sending && (line.starts_with("a=simulcast:") || line.starts_with("a=rid:")) {
            return Err(OfferError::Simulcast);
        }
        if let Some(media) = line.strip_prefix("m=") {
            close(current.take(), &mut kinds);
            sections += 1;
            if sections > MAX_MEDIA_SECTIONS {
                return Err(OfferError::TooManySections);
            }
            let mut fields = media.split(' ');
            let kind = fields.next().unwrap_or_default();
            let enabled = fields.next().is_some_and(|port| port != "0");
            // RFC 8866: sendrecv when no direction is given.
            current = Some((kind, enabled, "sendrecv"));
        } else if let Some((_, _, direction)) = current.as_mut()
            && let Some(value) = line.strip_prefix("a=")
            && matches!(value, "sendrecv" | "sendonly" | "recvonly" | "inactive")
        {
            *direction = value;
        }
    }
    close(current, &mut kinds);
    if !kinds.audio && !kinds.video {
        return Err(OfferError::NoMedia);
    }
    Ok(kinds)
}

/// Whether a viewer's offer can take a codec as the publisher sends it, in the section of
/// `kind` (`audio` or `video`). The engine would match a codec by its name alone and answer
/// with the viewer's own parameters; for H.264 that is not enough: the viewer must take the
/// same packetization mode and profile (`profile_idc`; the level may differ, as
/// `level-asymmetry-allowed` lets it), or it gets packets it cannot decode.
pub fn accepts_codec(offer: &str, kind: &str, mime_type: &str, fmtp: &str) -> bool {
    let Some((_, name)) = mime_type.split_once('/') else { return false };
    let mut in_kind = false;
    let mut payload_types: Vec<&str> = Vec::new();
    let mut parameters: Vec<(&str, &str)> = Vec::new();
    for line in offer.lines().map(str::trim_end) {
        if let Some(media) = line.strip_prefix("m=") {
            in_kind = media.split(' ').next() == Some(kind);
        } else if !in_kind {
            continue;
        } else if let Some(map) = line.strip_prefix("a=rtpmap:") {
            let Some((payload_type, encoding)) = map.split_once(' ') else { continue };
            if encoding.split('/').next().is_some_and(|encoding| encoding.eq_ignore_ascii_case(name)) {
                payload_types.push(payload_type);
            }
        } else if let Some(format) = line.strip_prefix("a=fmtp:")
            && let Some((payload_type, values)) = format.split_once(' ')
        {
            parameters.push((payload_type, values));
        }
    }
    if !name.eq_ignore_ascii_case("h264") {
        return !payload_types.is_empty();
    }
    let wanted = H264Format::of(fmtp);
    payload_types.iter().any(|payload_type| {
        let offered = parameters.iter().find(|(pt, _)| pt == payload_type).map_or("", |(_, values)| values);
        H264Format::of(offered) == wanted
    })
}

/// What decides whether an H.264 stream can be decoded by a receiver.
#[derive(Debug, PartialEq, Eq)]
struct H264Format {
    packetization_mode: String,
    /// The first byte of `profile-level-id`, lower-case hex; Baseline (42) when absent.
    profile_idc: String,
}

impl H264Format {
    fn of(fmtp: &str) -> H264Format {
        let value = |key: &str| {
            fmtp.split(';').find_map(|parameter| {
                let (name, value) = parameter.trim().split_once('=')?;
                name.eq_ignore_ascii_case(key).then(|| value.trim().to_ascii_lowercase())
            })
        };
        H264Format {
            packetization_mode: value("packetization-mode").unwrap_or_else(|| "0".to_owned()),
            profile_idc: value("profile-level-id")
                .map_or_else(|| "42".to_owned(), |id| id.chars().take(2).collect()),
        }
    }
}

/// A remote ICE candidate from a trickle fragment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrickleCandidate {
    /// `candidate:…`, without the `a=`.
    pub candidate: String,
    pub mid: Option<String>,
    pub mline_index: u16,
}

/// A trickle ICE fragment (`application/trickle-ice-sdpfrag`, RFC 8840).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrickleFragment {
    pub ice_ufrag: Option<String>,
    pub ice_pwd: Option<String>,
    pub candidates: Vec<TrickleCandidate>,
    pub end_of_candidates: bool,
}

/// The most candidates one fragment may carry.
const MAX_TRICKLE_CANDIDATES: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FragmentError {
    #[error("line {0} is not an SDP attribute line")]
    NotAnAttribute(usize),
    #[error("a candidate comes before any a=mid line")]
    CandidateWithoutMid,
    #[error("more than {MAX_TRICKLE_CANDIDATES} candidates")]
    TooManyCandidates,
}

/// Parses a trickle fragment. Unknown attributes are ignored, as RFC 8840 asks.
pub fn parse_trickle_fragment(body: &str) -> Result<TrickleFragment, FragmentError> {
    let mut fragment = TrickleFragment::default();
    let mut mid: Option<String> = None;
    let mut mline_index: Option<u16> = None;
    for (number, line) in body.lines().map(str::trim).enumerate() {
        if line.is_empty() {
            continue;
        }
        let Some(attribute) = line.strip_prefix("a=") else {
            // `m=` lines may appear in fragments; they only separate sections.
            if line.starts_with("m=") {
                mline_index = Some(mline_index.map_or(0, |index| index.saturating_add(1)));
                continue;
            }
            return Err(FragmentError::NotAnAttribute(number + 1));
        };
        if let Some(value) = attribute.strip_prefix("ice-ufrag:") {
            fragment.ice_ufrag = Some(value.to_owned());
        } else if let Some(value) = attribute.strip_prefix("ice-pwd:") {
            fragment.ice_pwd = Some(value.to_owned());
        } else if let Some(value) = attribute.strip_prefix("mid:") {
            mid = Some(value.to_owned());
        } else if attribute.starts_with("candidate:") {
            if mid.is_none() && mline_index.is_none() {
                return Err(FragmentError::CandidateWithoutMid);
            }
            if fragment.candidates.len() == MAX_TRICKLE_CANDIDATES {
                return Err(FragmentError::TooManyCandidates);
            }
            fragment.candidates.push(TrickleCandidate {
                candidate: attribute.to_owned(),
                mid: mid.clone(),
                mline_index: mline_index.unwrap_or(0),
            });
        } else if attribute == "end-of-candidates" {
            fragment.end_of_candidates = true;
        }
    }
    Ok(fragment)
}

/// A TURN username and password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnCredentials {
    pub username: String,
    pub credential: String,
}

/// Short-lived TURN credentials for one session, as the "TURN REST API" convention that
/// coturn and others implement with a shared secret: the username is the expiry (Unix
/// seconds) and a label, the password the base64 HMAC-SHA1 of the username under the secret.
/// The TURN server checks both without asking Kezdesu; they stop working at the expiry.
pub fn mint_turn_credentials(
    secret: &str,
    now_unix_seconds: i64,
    ttl_seconds: u64,
    label: &str,
) -> TurnCredentials {
    use base64::Engine as _;
    use hmac::{Hmac, Mac};
    let expiry = now_unix_seconds.saturating_add(i64::try_from(ttl_seconds).unwrap_or(i64::MAX));
    let username = format!("{expiry}:{label}");
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac =
        <Hmac<sha1::Sha1> as Mac>::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(username.as_bytes());
    let credential = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    TurnCredentials { username, credential }
}

fn is_turn(url: &str) -> bool {
    url.starts_with("turn:") || url.starts_with("turns:")
}

/// The `Link` header values that tell a WHIP or WHEP client about ICE servers (RFC 9725 §4.4).
///
/// Who the links are for.
#[derive(Debug, Clone, Copy)]
pub enum LinkAudience<'a> {
    /// Anyone asking (`OPTIONS`): STUN only.
    Anyone,
    /// A session just created, with its own minted TURN credentials if a secret is set.
    Session(Option<&'a TurnCredentials>),
}

/// STUN servers are always listed. TURN servers relay traffic, so they are listed only for a
/// session, with their fixed credentials or else the session's minted ones; a TURN server with
/// neither is left out, since nobody could use it.
pub fn ice_server_links(servers: &[IceServerConfig], audience: LinkAudience<'_>) -> Vec<String> {
    let mut links = Vec::new();
    for server in servers {
        let fixed = match (&server.username, &server.credential) {
            (Some(username), Some(credential)) => {
                Some(TurnCredentials { username: username.clone(), credential: credential.clone() })
            }
            _ => None,
        };
        for url in &server.urls {
            let mut link = format!("<{url}>; rel=\"ice-server\"");
            if is_turn(url) {
                let LinkAudience::Session(minted) = audience else { continue };
                let Some(credentials) = fixed.as_ref().or(minted) else { continue };
                link.push_str(&format!(
                    "; username=\"{}\"; credential=\"{}\"; credential-type=\"password\"",
                    credentials.username, credentials.credential
                ));
            }
            links.push(link);
        }
    }
    links
}

/// The ICE username fragment of a session description, which names its ICE session.
pub fn ice_ufrag(sdp: &str) -> Option<&str> {
    sdp.lines().find_map(|line| line.trim_end().strip_prefix("a=ice-ufrag:"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PUBLISHER_OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendonly\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendonly\r\n";

    #[test]
    fn kinds_of_a_publishers_offer() {
        assert_eq!(offered_kinds(PUBLISHER_OFFER, true), Ok(OfferedKinds { audio: true, video: true }));
        // The same offer asks a viewer's server for nothing.
        assert_eq!(offered_kinds(PUBLISHER_OFFER, false), Err(OfferError::NoMedia));
    }

    #[test]
    fn disabled_and_inactive_sections_do_not_count() {
        let offer = "v=0\r\nm=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\nm=video 9 RTP 96\r\na=inactive\r\n";
        assert_eq!(offered_kinds(offer, false), Ok(OfferedKinds { audio: false, video: true }));
        // No direction means sendrecv.
        assert_eq!(
            offered_kinds("v=0\nm=audio 9 RTP 0\n", true),
            Ok(OfferedKinds { audio: true, video: false })
        );
    }

    #[test]
    fn garbage_is_not_an_offer() {
        assert_eq!(offered_kinds("hello", true), Err(OfferError::NotSdp));
        assert_eq!(offered_kinds("v=0\r\ns=-\r\n", true), Err(OfferError::NoMedia));
        let many = format!("v=0\n{}", "m=video 9 RTP 96\n".repeat(9));
        assert_eq!(offered_kinds(&many, true), Err(OfferError::TooManySections));
        let simulcast =
            "v=0\nm=video 9 RTP 96\na=sendonly\na=rid:h send\na=rid:l send\na=simulcast:send h;l\n";
        assert_eq!(offered_kinds(simulcast, true), Err(OfferError::Simulcast));
    }

    #[test]
    fn a_viewer_must_take_the_codec_as_sent() {
        let offer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96 102 103\r\na=rtpmap:96 VP8/90000\r\n\
            a=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=0;profile-level-id=42e01f\r\n\
            a=rtpmap:103 H264/90000\r\na=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=64001f\r\n";
        assert!(accepts_codec(offer, "video", "video/VP8", ""));
        assert!(accepts_codec(offer, "audio", "audio/opus", "minptime=10;useinbandfec=1"));
        assert!(!accepts_codec(offer, "video", "audio/opus", ""), "kinds are not mixed");
        // High profile in mode 1 is offered (at another level); Baseline in mode 1 is not.
        assert!(accepts_codec(offer, "video", "video/H264", "packetization-mode=1;profile-level-id=640032"));
        assert!(!accepts_codec(offer, "video", "video/H264", "packetization-mode=1;profile-level-id=42e01f"));
        assert!(accepts_codec(offer, "video", "video/H264", "profile-level-id=42E01F;packetization-mode=0"));
        assert!(!accepts_codec(
            "v=0\r\nm=video 9 RTP 96\r\na=rtpmap:96 VP8/90000\r\n",
            "video",
            "video/H264",
            ""
        ));
    }

    #[test]
    fn trickle_fragments() {
        let body = "a=ice-ufrag:EsAw\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1\r\nm=audio 9 RTP/AVP 0\r\n\
            a=mid:0\r\na=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0\r\n\
            a=end-of-candidates\r\n";
        let fragment = parse_trickle_fragment(body).expect("a valid fragment");
        assert_eq!(fragment.ice_ufrag.as_deref(), Some("EsAw"));
        assert_eq!(fragment.candidates.len(), 1);
        assert_eq!(fragment.candidates[0].mid.as_deref(), Some("0"));
        assert!(fragment.candidates[0].candidate.starts_with("candidate:1387637174"));
        assert!(fragment.end_of_candidates);
        assert_eq!(parse_trickle_fragment("hello"), Err(FragmentError::NotAnAttribute(1)));
        assert_eq!(
            parse_trickle_fragment("a=candidate:1 1 udp 1 192.0.2.1 1 typ host"),
            Err(FragmentError::CandidateWithoutMid)
        );
    }

    #[test]
    fn link_headers_for_ice_servers() {
        let servers = [
            IceServerConfig { urls: vec!["stun:stun.example.kz".into()], username: None, credential: None },
            IceServerConfig {
                urls: vec!["turn:turn.example.kz?transport=udp".into()],
                username: Some("user".into()),
                credential: Some("secret".into()),
            },
        ];
        // Without a session, TURN is not offered at all.
        let stun_only = ["<stun:stun.example.kz>; rel=\"ice-server\"".to_owned()];
        assert_eq!(ice_server_links(&servers, LinkAudience::Anyone), stun_only);
        let minted = TurnCredentials { username: "1:x".into(), credential: "c".into() };
        assert_eq!(
            ice_server_links(&servers, LinkAudience::Session(Some(&minted))),
            [
                "<stun:stun.example.kz>; rel=\"ice-server\"".to_owned(),
                "<turn:turn.example.kz?transport=udp>; rel=\"ice-server\"; username=\"user\"; \
                 credential=\"secret\"; credential-type=\"password\""
                    .to_owned(),
            ]
        );
    }

    #[test]
    fn minted_turn_credentials() {
        // The expected value is HMAC-SHA1 computed independently (Python's hmac module).
        let minted = mint_turn_credentials("north-secret", 1_700_000_000, 3600, "kezdesu");
        assert_eq!(minted.username, "1700003600:kezdesu");
        assert_eq!(minted.credential, "EEW130/SuyUAo7jCecAZlaiZR3M=");
        // A TURN server without fixed credentials gets the session's; without them, none.
        let servers = [IceServerConfig {
            urls: vec!["turns:turn.example.kz:5349".into()],
            username: None,
            credential: None,
        }];
        assert_eq!(
            ice_server_links(&servers, LinkAudience::Session(Some(&minted))),
            [format!(
                "<turns:turn.example.kz:5349>; rel=\"ice-server\"; username=\"1700003600:kezdesu\"; \
                 credential=\"{}\"; credential-type=\"password\"",
                minted.credential
            )]
        );
        assert!(ice_server_links(&servers, LinkAudience::Session(None)).is_empty());
    }

    #[test]
    fn ufrag_of_a_description() {
        assert_eq!(ice_ufrag("v=0\r\na=ice-ufrag:abcd\r\n"), Some("abcd"));
        assert_eq!(ice_ufrag("v=0\r\n"), None);
    }
}
