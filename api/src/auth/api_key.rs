//! API key material: `crm_` followed by 43 random URL-safe characters (256 bits). Only the
//! SHA-256 of a key is stored, with its first characters to recognize it in listings.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// What every key starts with, so a leaked key is easy to spot (and to scan for).
pub const PREFIX: &str = "crm_";
/// Characters of a key kept in clear for display: the prefix and 8 random characters.
const SHOWN: usize = PREFIX.len() + 8;

/// A fresh random key.
pub fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of a key: hex SHA-256. Keys are random, so a fast hash is enough
/// (no salt or stretching is needed against guessing 256 bits).
pub fn hash(key: &str) -> String {
    format!("{:x}", Sha256::digest(key.as_bytes()))
}

/// The part of a key shown in listings, e.g. `crm_Ab3dE5gH`.
pub fn shown_prefix(key: &str) -> String {
    key.chars().take(SHOWN).collect()
}

pub fn looks_like_key(bearer: &str) -> bool {
    bearer.starts_with(PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_random_prefixed_and_hashed() {
        let (a, b) = (generate(), generate());
        assert_ne!(a, b);
        assert!(looks_like_key(&a));
        assert_eq!(a.len(), PREFIX.len() + 43);
        assert_eq!(hash(&a).len(), 64);
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(shown_prefix(&a), a[..12]);
    }
}
