//! Encryption of the bank tokens at rest.
//!
//! A customer's access and refresh tokens read their bank account, so the database stores them
//! sealed with AES-256-GCM (ring) under `bank_link.token_key`. Each sealed value has its own
//! random nonce, and the consent's id is the associated data, so a token copied into another
//! consent's row does not open. The stored form is `v1.<nonce hex>.<ciphertext and tag hex>`.

use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};
use uuid::Uuid;

const VERSION: &str = "v1";

/// Seals and opens tokens with the configured key.
pub struct Vault {
    key: LessSafeKey,
    random: SystemRandom,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Vault(***)")
    }
}

/// A sealed token that does not open: another key, another consent, or damaged data.
#[derive(Debug, thiserror::Error)]
#[error("a stored bank token of consent {consent} cannot be decrypted: {reason}")]
pub struct VaultError {
    pub consent: Uuid,
    pub reason: &'static str,
}

impl Vault {
    /// Reads the key: 64 hexadecimal characters, 32 bytes.
    pub fn new(key_hex: &str) -> Result<Self, String> {
        let expected = "expected 64 hexadecimal characters (32 random bytes, for example from `openssl rand -hex 32`)";
        let bytes = hex::decode(key_hex.trim())
            .map_err(|_| format!("bank_link.token_key is not hexadecimal: {expected}"))?;
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| format!("bank_link.token_key has {} bytes: {expected}", bytes.len()))?;
        Ok(Vault {
            key: LessSafeKey::new(unbound),
            random: SystemRandom::new(),
        })
    }

    pub fn seal(&self, consent: Uuid, token: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        self.random
            .fill(&mut nonce)
            .expect("the operating system provides random bytes");
        let mut data = token.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(consent.as_bytes()),
                &mut data,
            )
            .expect("a token is far below AES-GCM's length limit");
        format!("{VERSION}.{}.{}", hex::encode(nonce), hex::encode(data))
    }

    pub fn open(&self, consent: Uuid, sealed: &str) -> Result<String, VaultError> {
        let error = |reason| VaultError { consent, reason };
        let mut parts = sealed.split('.');
        let (Some(VERSION), Some(nonce), Some(data), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(error("not in the form v1.<nonce>.<data>"));
        };
        let nonce: [u8; NONCE_LEN] = hex::decode(nonce)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| error("the nonce is damaged"))?;
        let mut data = hex::decode(data).map_err(|_| error("the data is damaged"))?;
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(consent.as_bytes()),
                &mut data,
            )
            .map_err(|_| error("the key differs or the data was changed"))?;
        String::from_utf8(plain.to_vec()).map_err(|_| error("the token is not text"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    #[test]
    fn sealed_tokens_open_for_their_consent_only() {
        let vault = Vault::new(KEY).unwrap();
        let consent = Uuid::now_v7();
        let sealed = vault.seal(consent, "access-123");
        assert!(sealed.starts_with("v1."), "{sealed}");
        assert!(!sealed.contains("access-123"));
        assert_ne!(
            sealed,
            vault.seal(consent, "access-123"),
            "a fresh nonce each time"
        );
        assert_eq!(vault.open(consent, &sealed).unwrap(), "access-123");
        let other = vault.open(Uuid::now_v7(), &sealed).unwrap_err();
        assert_eq!(other.reason, "the key differs or the data was changed");
        let other_key = Vault::new(&KEY.replace("00", "ff")).unwrap();
        assert!(other_key.open(consent, &sealed).is_err());
        assert!(vault.open(consent, "access-123").is_err());
        let mut damaged = sealed.clone();
        damaged.pop();
        assert!(vault.open(consent, &damaged).is_err());
    }

    #[test]
    fn keys_must_be_32_bytes_of_hex() {
        assert!(Vault::new("zz").unwrap_err().contains("not hexadecimal"));
        assert!(Vault::new("0011").unwrap_err().contains("has 2 bytes"));
    }
}
