//! Platform credentials at rest: sealed with a key from the environment.
//!
//! A restream destination's stream key lets whoever holds it broadcast on the akimat's
//! official account, so the store never holds it in clear. It is sealed with
//! XChaCha20-Poly1305 (an AEAD: a changed or swapped ciphertext fails to open) under
//! `KEZDESU_SECRET_KEY`, 32 random bytes in base64, which lives only in the server's
//! environment. A sealed value names the key it was sealed with by a short fingerprint, so
//! that a key can be rotated: with the new key in `KEZDESU_SECRET_KEY` and the old one in
//! `KEZDESU_SECRET_KEY_PREVIOUS`, the server opens values of either and reseals the old ones
//! at start-up.
//!
//! Nothing here logs, and [`SecretKey`] prints as `SecretKey(…)`, so a key never reaches a log
//! even through a configuration dump.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};

/// The format's version, first in every sealed value.
const VERSION: &str = "k1";
/// Binds a ciphertext to what it is, so that a sealed value of another kind (should one ever
/// be added) cannot be passed off as a stream key.
const PURPOSE: &[u8] = b"kezdesu restream stream key";
const NONCE_BYTES: usize = 24;

/// A 256-bit sealing key.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey {
    bytes: [u8; 32],
    fingerprint: String,
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("SecretKey(…)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretError {
    #[error(
        "KEZDESU_SECRET_KEY must be 32 random bytes in base64 (44 characters); generate one with `openssl rand -base64 32`"
    )]
    BadKey,
    #[error(
        "no secret key is configured: set KEZDESU_SECRET_KEY (see the README) to store platform stream keys"
    )]
    NoKey,
    #[error("a stored secret was sealed with a key this server does not have (fingerprint {0})")]
    UnknownKey(String),
    #[error("a stored secret is damaged or was not sealed by this server")]
    Damaged,
}

impl SecretKey {
    /// Reads a key from its base64 text (standard alphabet, with or without padding).
    pub fn from_base64(text: &str) -> Result<SecretKey, SecretError> {
        let text = text.trim();
        let decoded = BASE64
            .decode(text)
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
            .map_err(|_| SecretError::BadKey)?;
        let bytes: [u8; 32] = decoded.try_into().map_err(|_| SecretError::BadKey)?;
        let digest = Sha256::digest([b"kezdesu key fingerprint".as_slice(), &bytes].concat());
        let fingerprint = digest[..4].iter().map(|byte| format!("{byte:02x}")).collect();
        Ok(SecretKey { bytes, fingerprint })
    }

    /// A short, non-secret name for the key: which key sealed a value.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new((&self.bytes).into())
    }
}

/// Seals and opens secrets with the current key, and opens those of the previous one.
#[derive(Debug, Clone, Default)]
pub struct Sealer {
    current: Option<SecretKey>,
    previous: Option<SecretKey>,
}

impl Sealer {
    pub fn new(current: Option<SecretKey>, previous: Option<SecretKey>) -> Sealer {
        Sealer { current, previous }
    }

    /// Whether secrets can be stored at all.
    pub fn is_configured(&self) -> bool {
        self.current.is_some()
    }

    /// `k1.<fingerprint>.<base64 of nonce and ciphertext>`, with a fresh random nonce.
    pub fn seal(&self, secret: &str) -> Result<String, SecretError> {
        let key = self.current.as_ref().ok_or(SecretError::NoKey)?;
        let nonce_bytes: [u8; NONCE_BYTES] = rand::random();
        let ciphertext = key
            .cipher()
            .encrypt(XNonce::from_slice(&nonce_bytes), Payload { msg: secret.as_bytes(), aad: PURPOSE })
            // Encryption fails only for messages of gigabytes; a stream key is checked short.
            .map_err(|_| SecretError::Damaged)?;
        let mut sealed = nonce_bytes.to_vec();
        sealed.extend_from_slice(&ciphertext);
        Ok(format!("{VERSION}.{}.{}", key.fingerprint, BASE64.encode(sealed)))
    }

    /// The secret in a sealed value, with either key.
    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some(VERSION), Some(fingerprint), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(SecretError::Damaged);
        };
        let key = [&self.current, &self.previous]
            .into_iter()
            .flatten()
            .find(|key| key.fingerprint == fingerprint)
            .ok_or_else(|| {
                if self.current.is_none() {
                    SecretError::NoKey
                } else {
                    SecretError::UnknownKey(fingerprint.to_owned())
                }
            })?;
        let bytes = BASE64.decode(body).map_err(|_| SecretError::Damaged)?;
        if bytes.len() < NONCE_BYTES {
            return Err(SecretError::Damaged);
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_BYTES);
        let plain = key
            .cipher()
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ciphertext, aad: PURPOSE })
            .map_err(|_| SecretError::Damaged)?;
        String::from_utf8(plain).map_err(|_| SecretError::Damaged)
    }

    /// Whether a sealed value was sealed with an older key and should be sealed again.
    pub fn is_stale(&self, sealed: &str) -> bool {
        self.current.as_ref().is_some_and(|key| sealed.split('.').nth(1) != Some(key.fingerprint.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> SecretKey {
        SecretKey::from_base64(&BASE64.encode([byte; 32])).expect("a valid key")
    }

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_never_shows_in_clear() {
        let sealer = Sealer::new(Some(key(1)), None);
        let sealed = sealer.seal("live-key-f3a9").expect("sealed");
        assert!(!sealed.contains("live-key"), "{sealed}");
        assert_ne!(sealed, sealer.seal("live-key-f3a9").expect("sealed"), "a fresh nonce every time");
        assert_eq!(sealer.open(&sealed).as_deref(), Ok("live-key-f3a9"));
        let other = Sealer::new(Some(key(2)), None);
        assert!(matches!(other.open(&sealed), Err(SecretError::UnknownKey(_))));
        assert_eq!(Sealer::default().open(&sealed), Err(SecretError::NoKey));
        assert_eq!(Sealer::default().seal("x"), Err(SecretError::NoKey));
    }

    #[test]
    fn a_changed_ciphertext_does_not_open() {
        let sealer = Sealer::new(Some(key(1)), None);
        let sealed = sealer.seal("live-key").expect("sealed");
        let (head, body) = sealed.rsplit_once('.').expect("three parts");
        let mut bytes = BASE64.decode(body).expect("base64");
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        let tampered = format!("{head}.{}", BASE64.encode(bytes));
        assert_eq!(sealer.open(&tampered), Err(SecretError::Damaged));
        assert_eq!(sealer.open("k1.zz"), Err(SecretError::Damaged));
        assert_eq!(sealer.open("plain text"), Err(SecretError::Damaged));
    }

    #[test]
    fn after_a_rotation_old_values_open_and_are_stale() {
        let old = Sealer::new(Some(key(1)), None);
        let sealed = old.seal("live-key").expect("sealed");
        let rotated = Sealer::new(Some(key(2)), Some(key(1)));
        assert_eq!(rotated.open(&sealed).as_deref(), Ok("live-key"));
        assert!(rotated.is_stale(&sealed));
        let resealed = rotated.seal("live-key").expect("sealed");
        assert!(!rotated.is_stale(&resealed));
    }

    #[test]
    fn keys_must_be_32_bytes_of_base64_and_never_print() {
        assert_eq!(SecretKey::from_base64("short"), Err(SecretError::BadKey));
        assert_eq!(SecretKey::from_base64(&BASE64.encode([0u8; 16])), Err(SecretError::BadKey));
        assert_eq!(format!("{:?}", key(7)), "SecretKey(…)");
        assert_eq!(key(7).fingerprint().len(), 8);
    }
}
