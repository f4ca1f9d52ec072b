//! Secrets kept at rest (workspaces' provider keys), sealed with
//! ChaCha20-Poly1305 under `SECRETS_KEY`. Each sealed value is bound to
//! what it belongs to (the associated data), so it cannot be moved to
//! another workspace's row and opened there.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand_core::{OsRng, RngCore};

const NONCE_LEN: usize = 12;

pub struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(***)")
    }
}

impl Sealer {
    pub fn new(key: &[u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(key)),
        }
    }

    /// `plaintext` sealed for `owner`: base64 of a fresh nonce and the
    /// ciphertext with its tag.
    pub fn seal(&self, plaintext: &str, owner: &str) -> Option<String> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng.fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext.as_bytes(),
                    aad: owner.as_bytes(),
                },
            )
            .ok()?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&sealed);
        Some(STANDARD.encode(out))
    }

    /// The plaintext of a value sealed for `owner`; None when it was sealed
    /// under another key, for another owner, or altered.
    pub fn open(&self, sealed: &str, owner: &str) -> Option<String> {
        let bytes = STANDARD.decode(sealed).ok()?;
        if bytes.len() <= NONCE_LEN {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: owner.as_bytes(),
                },
            )
            .ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::Sealer;

    #[test]
    fn sealed_values_open_only_for_their_owner_and_key() {
        let sealer = Sealer::new(&[7; 32]);
        let sealed = sealer.seal("sk-secret", "ws-1").expect("sealed");
        assert!(!sealed.contains("sk-secret"));
        assert_eq!(sealer.open(&sealed, "ws-1").as_deref(), Some("sk-secret"));
        assert_eq!(sealer.open(&sealed, "ws-2"), None);
        assert_eq!(Sealer::new(&[8; 32]).open(&sealed, "ws-1"), None);
        assert_ne!(
            sealer.seal("sk-secret", "ws-1").expect("sealed"),
            sealed,
            "fresh nonces"
        );
    }
}
