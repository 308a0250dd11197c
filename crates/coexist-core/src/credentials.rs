//! Credentials: never the password itself.
//!
//! - `password_hash`: an argon2id PHC string (OWASP parameters: 19 MiB,
//!   t=2, p=1) for HTTP log-in.
//! - `ha1_md5`, `ha1_sha256`: the SIP digest HA1 values
//!   (`H(username ":" realm ":" password)`, RFC 2617 / RFC 8760) with the
//!   UPN as user name and the tenant's SIP domain as realm.
//!
//! Bulk import stores the HA1 values only and leaves `password_hash` empty:
//! argon2 costs tens of milliseconds per password by design, which cannot
//! fit 100 000 users in seconds. The first successful log-in checks the
//! password against the SHA-256 HA1 and then stores the argon2 hash
//! ([`Credentials::upgrade`]). Note that HA1 is itself a fast, per-user
//! salted hash that SIP digest requires us to keep, so for a user with SIP
//! credentials a stolen database is attackable at SHA-256/MD5 speed whatever
//! the argon2 hash says; see BENCHMARKS.md.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use md5::Md5;
use sha2::{Digest, Sha256};

/// A user's stored verifiers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Credentials {
    /// argon2id PHC string; `None` until first log-in after a bulk import.
    pub password_hash: Option<String>,
    /// SIP digest HA1, MD5 (hex).
    pub ha1_md5: String,
    /// SIP digest HA1, SHA-256 (hex, RFC 8760).
    pub ha1_sha256: String,
}

/// The argon2id instance (OWASP minimum: m=19 MiB, t=2, p=1).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// HA1 = MD5(user:realm:password), hex.
pub fn ha1_md5(user: &str, realm: &str, password: &str) -> String {
    let mut hasher = Md5::new();
    hasher.update(format!("{user}:{realm}:{password}").as_bytes());
    hex::encode(hasher.finalize())
}

/// HA1 = SHA-256(user:realm:password), hex (RFC 8760).
pub fn ha1_sha256(user: &str, realm: &str, password: &str) -> String {
    hex::encode(Sha256::digest(
        format!("{user}:{realm}:{password}").as_bytes(),
    ))
}

/// SHA-256 of a secret, hex: how bearer tokens are stored.
pub fn token_digest(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// A fresh random secret: `prefix` + 32 random bytes in hex.
pub fn random_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Compares two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    constant_time_eq_bytes(a.as_bytes(), b.as_bytes())
}

/// [`constant_time_eq`] for bytes (a MAC, say).
pub fn constant_time_eq_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Credentials {
    /// Both HA1 values only (fast: bulk import).
    pub fn digest_only(upn: &str, realm: &str, password: &str) -> Credentials {
        Credentials {
            password_hash: None,
            ha1_md5: ha1_md5(upn, realm, password),
            ha1_sha256: ha1_sha256(upn, realm, password),
        }
    }

    /// HA1 values and the argon2id hash (slow by design: run it off the
    /// async workers).
    pub fn full(upn: &str, realm: &str, password: &str) -> Credentials {
        let mut credentials = Credentials::digest_only(upn, realm, password);
        credentials.password_hash = hash_password(password);
        credentials
    }

    /// Checks a log-in password. With an argon2 hash, against it; without
    /// one (bulk-imported), against the SHA-256 HA1.
    pub fn verify(&self, upn: &str, realm: &str, password: &str) -> bool {
        match &self.password_hash {
            Some(phc) => PasswordHash::new(phc)
                .map(|parsed| {
                    argon2()
                        .verify_password(password.as_bytes(), &parsed)
                        .is_ok()
                })
                .unwrap_or(false),
            None => constant_time_eq(&ha1_sha256(upn, realm, password), &self.ha1_sha256),
        }
    }

    /// After a successful [`verify`](Self::verify) of an imported user: the
    /// credentials with the argon2 hash filled in, or `None` when there is
    /// nothing to upgrade.
    pub fn upgrade(&self, password: &str) -> Option<Credentials> {
        if self.password_hash.is_some() {
            return None;
        }
        Some(Credentials {
            password_hash: hash_password(password),
            ..self.clone()
        })
    }
}

fn hash_password(password: &str) -> Option<String> {
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .ok()
        .map(|hash| hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ha1_values_match_rfc_definitions() {
        // MD5("alice@contoso.test:contoso.test:secret") and its SHA-256.
        let md5 = ha1_md5("alice@contoso.test", "contoso.test", "secret");
        let sha = ha1_sha256("alice@contoso.test", "contoso.test", "secret");
        assert_eq!(md5.len(), 32);
        assert_eq!(sha.len(), 64);
        assert_eq!(
            ha1_md5("Mufasa", "testrealm@host.com", "Circle Of Life"),
            "939e7578ed9e3c518a452acee763bce9" // RFC 2617 §3.5 example
        );
        assert_ne!(md5, ha1_md5("alice@contoso.test", "contoso.test", "secreT"));
    }

    #[test]
    fn full_credentials_never_hold_the_password_and_verify_it() {
        let credentials = Credentials::full("a@x.test", "x.test", "pa55word!");
        let hash = credentials.password_hash.clone().unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(!hash.contains("pa55word!"));
        assert!(credentials.verify("a@x.test", "x.test", "pa55word!"));
        assert!(!credentials.verify("a@x.test", "x.test", "wrong"));
        assert_eq!(credentials.upgrade("pa55word!"), None);
    }

    #[test]
    fn imported_credentials_verify_by_ha1_and_upgrade_to_argon2() {
        let imported = Credentials::digest_only("a@x.test", "x.test", "pw");
        assert_eq!(imported.password_hash, None);
        assert!(imported.verify("a@x.test", "x.test", "pw"));
        assert!(!imported.verify("a@x.test", "x.test", "pw2"));
        let upgraded = imported.upgrade("pw");
        let upgraded = upgraded.as_ref();
        assert!(upgraded.is_some_and(|c| c.password_hash.is_some()));
        assert!(upgraded.is_some_and(|c| c.verify("a@x.test", "x.test", "pw")));
        assert_eq!(upgraded.map(|c| &c.ha1_sha256), Some(&imported.ha1_sha256));
    }

    #[test]
    fn secrets_are_random_and_digests_stable() {
        let a = random_secret("cxt_");
        assert!(a.starts_with("cxt_") && a.len() == 68);
        assert_ne!(a, random_secret("cxt_"));
        assert_eq!(token_digest("x"), token_digest("x"));
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
    }
}
