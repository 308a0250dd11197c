//! Digest authentication, server side (RFC 3261 §22, RFC 7616, RFC 8760).
//!
//! - Challenges offer SHA-256 first and MD5 second (RFC 8760 §2.4), both
//!   with `qop=auth`.
//! - Nonces are stateless: `hex(issued-at seconds) . hex(H(secret, issued-at))`,
//!   so a restart or a second node can check them; past `nonce_ttl` the
//!   client is re-challenged with `stale=true` (RFC 7616 §3.3).
//! - Replays: for each nonce the highest nonce-count seen is kept and a
//!   request must exceed it (RFC 7616 §3.4 / §5.11).
//! - Throttling: a source with too many failed attempts in a window is
//!   refused for that window, whatever it sends.

use crate::directory::SipUser;
use crate::headers::DigestItems;
use md5::Md5;
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

/// Digest algorithms we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// `SHA-256` (RFC 8760).
    Sha256,
    /// `MD5`.
    Md5,
}

impl Algorithm {
    /// The hex digest of `parts` joined by `:`, fed to the hasher one by
    /// one (a `format!` of the joined text was a string per hash, twice per
    /// checked request), written on the stack (a `String` pushed a
    /// character at a time was a third of a hash's cost).
    fn hash(self, parts: &[&[u8]]) -> HexDigest {
        fn joined<D: Digest>(parts: &[&[u8]]) -> HexDigest {
            let mut hasher = D::new();
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    hasher.update(b":");
                }
                hasher.update(part);
            }
            HexDigest::of(&hasher.finalize())
        }
        match self {
            Algorithm::Sha256 => joined::<Sha256>(parts),
            Algorithm::Md5 => joined::<Md5>(parts),
        }
    }

    fn ha1(self, user: &SipUser) -> &str {
        match self {
            Algorithm::Sha256 => &user.ha1_sha256,
            Algorithm::Md5 => &user.ha1_md5,
        }
    }
}

/// A digest in lower-case hex, on the stack (32 digits for MD5, 64 for
/// SHA-256).
#[derive(Debug, Clone, Copy)]
struct HexDigest {
    digits: [u8; 64],
    len: usize,
}

impl HexDigest {
    fn of(digest: &[u8]) -> HexDigest {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut digits = [0u8; 64];
        let mut len = 0;
        for (&byte, pair) in digest.iter().zip(digits.chunks_exact_mut(2)) {
            pair[0] = DIGITS[usize::from(byte >> 4)];
            pair[1] = DIGITS[usize::from(byte & 0xf)];
            len += 2;
        }
        HexDigest { digits, len }
    }

    fn as_bytes(&self) -> &[u8] {
        self.digits.get(..self.len).unwrap_or_default()
    }

    fn to_text(self) -> String {
        String::from_utf8_lossy(self.as_bytes()).into_owned()
    }
}

/// Credentials parsed from an `Authorization` / `Proxy-Authorization`
/// value, borrowing from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials<'a> {
    /// The user name (UPN or its local part).
    pub username: Cow<'a, str>,
    /// The realm.
    pub realm: Cow<'a, str>,
    /// The nonce.
    pub nonce: Cow<'a, str>,
    /// The digest-uri.
    pub uri: Cow<'a, str>,
    /// The response, lower-cased.
    pub response: Cow<'a, str>,
    /// The algorithm.
    pub algorithm: Algorithm,
    /// `qop`, nonce-count and cnonce, when qop is used.
    pub qop: Option<(Cow<'a, str>, u32, Cow<'a, str>)>,
}

impl<'a> DigestCredentials<'a> {
    /// Parses a Digest credentials value; `None` for other schemes or
    /// unsupported algorithms.
    pub fn parse(value: &'a str) -> Option<DigestCredentials<'a>> {
        // One pass over the items, the first of each name kept (a vector
        // of items searched and drained per field cost about 4 000
        // instructions a REGISTER, callgrind).
        const NAMES: [&str; 9] = [
            "algorithm",
            "qop",
            "nc",
            "cnonce",
            "response",
            "username",
            "realm",
            "nonce",
            "uri",
        ];
        let mut found: [Option<Cow<'a, str>>; 9] = Default::default();
        for item in DigestItems::new(value)? {
            let (name, value) = item?;
            if let Some(at) = NAMES.iter().position(|n| n.eq_ignore_ascii_case(name))
                && found[at].is_none()
            {
                found[at] = Some(value);
            }
        }
        let [
            algorithm,
            qop,
            nc,
            cnonce,
            response,
            username,
            realm,
            nonce,
            uri,
        ] = found;
        let algorithm = match algorithm.as_deref() {
            None => Algorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("MD5") => Algorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("SHA-256") => Algorithm::Sha256,
            Some(_) => return None,
        };
        let qop = match qop {
            Some(qop) => Some((qop, u32::from_str_radix(&nc?, 16).ok()?, cnonce?)),
            None => None,
        };
        let response = response?;
        let response = if response.bytes().any(|b| b.is_ascii_uppercase()) {
            Cow::Owned(response.to_ascii_lowercase())
        } else {
            response
        };
        Some(DigestCredentials {
            username: username?,
            realm: realm?,
            nonce: nonce?,
            uri: uri?,
            response,
            algorithm,
            qop,
        })
    }

    /// The UPN these credentials name, given the realm.
    pub fn upn(&self) -> String {
        let name = self.username.to_ascii_lowercase();
        if name.contains('@') {
            name
        } else {
            format!("{name}@{}", self.realm.to_ascii_lowercase())
        }
    }
}

/// What checking credentials found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Good: the request is from this user.
    Ok,
    /// No usable credentials: challenge.
    Missing,
    /// The nonce expired (or is not ours): challenge with `stale=true`.
    Stale,
    /// Wrong credentials, or a replayed nonce-count: challenge again (and count a failure).
    Failed,
}

/// Auth settings.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// How long a nonce is accepted.
    pub nonce_ttl: Duration,
    /// Failures from one address that trigger the block.
    pub max_failures: u32,
    /// The window failures are counted in, and how long the block lasts.
    pub failure_window: Duration,
}

impl Default for AuthConfig {
    fn default() -> AuthConfig {
        AuthConfig {
            nonce_ttl: Duration::from_secs(300),
            max_failures: 10,
            failure_window: Duration::from_secs(60),
        }
    }
}

/// The digest authenticator: nonces, replay memory, throttling.
#[derive(Debug)]
pub struct Authenticator {
    /// 32 random bytes: one SHA-256 block holds them with the two numbers.
    secret: [u8; 32],
    salt: std::sync::atomic::AtomicU64,
    config: AuthConfig,
    /// Highest nonce-count seen per nonce, and when it was first seen (in
    /// seconds: 16 bytes an entry, one entry per registration for the
    /// nonce's lifetime), keyed by the nonce's unique salt (8 bytes, not
    /// the 64-character nonce); pruned as nonces expire.
    counts: HashMap<u64, (u32, u32)>,
    /// Failures per source: count and window start.
    failures: HashMap<IpAddr, (u32, Duration)>,
}

impl Authenticator {
    /// A new authenticator with a random secret.
    pub fn new(config: AuthConfig) -> Authenticator {
        Authenticator {
            secret: Sha256::digest(coexist_core::credentials::random_secret("")).into(),
            salt: std::sync::atomic::AtomicU64::new(1),
            config,
            counts: HashMap::new(),
            failures: HashMap::new(),
        }
    }

    /// The nonce's MAC: H(secret, issued-at, salt), hashed from the
    /// numbers' bytes (a `format!` here was a tenth of a challenge's cost).
    fn nonce_mac(&self, issued: u64, salt: u64) -> [u8; 16] {
        let digest = Sha256::new()
            .chain_update(self.secret)
            .chain_update(issued.to_be_bytes())
            .chain_update(salt.to_be_bytes())
            .finalize();
        let mut mac = [0u8; 16];
        mac.copy_from_slice(&digest[..16]);
        mac
    }

    /// `hex(issued) hex(salt) hex(mac)`: 64 lower-case hex digits.
    fn nonce_at(&self, issued: u64, salt: u64) -> String {
        let mut raw = [0u8; 32];
        raw[..8].copy_from_slice(&issued.to_be_bytes());
        raw[8..16].copy_from_slice(&salt.to_be_bytes());
        raw[16..].copy_from_slice(&self.nonce_mac(issued, salt));
        lower_hex(&raw)
    }

    /// The issued-at and salt of `nonce` when it is one we issued: exactly
    /// what [`nonce_at`](Self::nonce_at) writes (so one nonce has one
    /// spelling), with a MAC that checks (compared in constant time).
    fn our_nonce(&self, nonce: &str) -> Option<(u64, u64)> {
        let text = nonce.as_bytes();
        if text.len() != 64 || !text.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut raw = [0u8; 32];
        hex::decode_to_slice(text, &mut raw).ok()?;
        let number = |at: usize| {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&raw[at..at + 8]);
            u64::from_be_bytes(bytes)
        };
        let (issued, salt) = (number(0), number(8));
        coexist_core::credentials::constant_time_eq_bytes(&self.nonce_mac(issued, salt), &raw[16..])
            .then_some((issued, salt))
    }

    /// A fresh nonce: unique per challenge (the salt), so two clients never
    /// share one and nonce-counts stay per client.
    pub fn nonce(&self, now: Duration) -> String {
        let salt = self.salt.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.nonce_at(now.as_secs(), salt)
    }

    /// The challenge headers' values: SHA-256 first, then MD5 (RFC 8760).
    pub fn challenges(&self, realm: &str, now: Duration, stale: bool) -> [String; 2] {
        let nonce = self.nonce(now);
        [
            challenge_value(realm, &nonce, "SHA-256", stale),
            challenge_value(realm, &nonce, "MD5", stale),
        ]
    }

    /// Whether `source` is blocked for too many failures.
    pub fn is_blocked(&self, source: IpAddr, now: Duration) -> bool {
        self.failures.get(&source).is_some_and(|(count, since)| {
            *count >= self.config.max_failures
                && now.saturating_sub(*since) < self.config.failure_window
        })
    }

    /// How long the block lasts, for Retry-After.
    pub fn block_seconds(&self) -> u64 {
        self.config.failure_window.as_secs().max(1)
    }

    fn fail(&mut self, source: IpAddr, now: Duration) {
        let window = self.config.failure_window;
        let entry = self.failures.entry(source).or_insert((0, now));
        if now.saturating_sub(entry.1) >= window {
            *entry = (0, now);
        }
        entry.0 += 1;
    }

    /// Checks `value` (an Authorization header) for `method` by `user`.
    pub fn check(
        &mut self,
        credentials: &DigestCredentials,
        user: &SipUser,
        method: &str,
        source: IpAddr,
        now: Duration,
    ) -> Check {
        if !credentials.realm.eq_ignore_ascii_case(&user.realm) {
            return Check::Missing;
        }
        // Is it our nonce, and how old?
        let Some((issued, salt)) = self.our_nonce(&credentials.nonce) else {
            return Check::Stale;
        };
        let ha1 = credentials.algorithm.ha1(user);
        if ha1.is_empty() {
            self.fail(source, now);
            return Check::Failed;
        }
        let alg = credentials.algorithm;
        let ha2 = alg.hash(&[method.as_bytes(), credentials.uri.as_bytes()]);
        let (ha1, nonce) = (ha1.as_bytes(), credentials.nonce.as_bytes());
        let expected = match &credentials.qop {
            Some((qop, nc, cnonce)) => {
                let count = nonce_count_hex(*nc);
                alg.hash(&[
                    ha1,
                    nonce,
                    &count,
                    cnonce.as_bytes(),
                    qop.as_bytes(),
                    ha2.as_bytes(),
                ])
            }
            None => alg.hash(&[ha1, nonce, ha2.as_bytes()]),
        };
        if !coexist_core::credentials::constant_time_eq_bytes(
            expected.as_bytes(),
            credentials.response.as_bytes(),
        ) {
            self.fail(source, now);
            return Check::Failed;
        }
        // A good response on an expired nonce: the client knows the password,
        // it only needs a new nonce (RFC 7616 §3.3 stale).
        if now.as_secs().saturating_sub(issued) > self.config.nonce_ttl.as_secs() {
            return Check::Stale;
        }
        if let Some((_, nc, _)) = &credentials.qop {
            let seen = self.counts.entry(salt).or_insert((0, seconds(now)));
            if *nc <= seen.0 {
                self.fail(source, now);
                return Check::Failed;
            }
            seen.0 = *nc;
        }
        self.failures.remove(&source);
        Check::Ok
    }

    /// Forgets expired nonce counts and old failures.
    pub fn prune(&mut self, now: Duration) {
        let ttl = seconds(self.config.nonce_ttl + Duration::from_secs(5));
        let now_seconds = seconds(now);
        self.counts
            .retain(|_, (_, first)| now_seconds.saturating_sub(*first) < ttl);
        let window = self.config.failure_window;
        self.failures
            .retain(|_, (_, since)| now.saturating_sub(*since) < window);
    }
}

/// A nonce-count as a digest hashes it: 8 lower-case hex digits.
fn nonce_count_hex(nc: u32) -> [u8; 8] {
    let mut digits = [0u8; 8];
    for (i, digit) in digits.iter_mut().enumerate() {
        *digit = b"0123456789abcdef"[((nc >> (28 - 4 * i)) & 0xf) as usize];
    }
    digits
}

/// `bytes` as lower-case hex (what `hex::encode` writes, with one
/// allocation and a table instead of a character iterator: three hashes a
/// checked request).
fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// One challenge value (`WWW-Authenticate` / `Proxy-Authenticate`) for
/// `algorithm` (`SHA-256`, `MD5`), written without `format!`.
pub fn challenge_value(realm: &str, nonce: &str, algorithm: &str, stale: bool) -> String {
    let mut out = String::with_capacity(64 + realm.len() + nonce.len());
    out.push_str("Digest realm=\"");
    out.push_str(realm);
    out.push_str("\", nonce=\"");
    out.push_str(nonce);
    out.push_str("\", algorithm=");
    out.push_str(algorithm);
    out.push_str(", qop=\"auth\"");
    if stale {
        out.push_str(", stale=true");
    }
    out
}

/// Whole seconds of `at` (wall clock since the epoch: fits until 2106).
fn seconds(at: Duration) -> u32 {
    u32::try_from(at.as_secs()).unwrap_or(u32::MAX)
}

/// Computes a client's digest response (tests and the benchmark's clients).
pub fn client_response(
    algorithm: Algorithm,
    ha1: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    nc: u32,
    cnonce: &str,
) -> String {
    // Joined with format! on purpose: the server's check hashes the parts
    // one by one, and this is the independent reference the tests use.
    let ha2 = algorithm
        .hash(&[format!("{method}:{uri}").as_bytes()])
        .to_text();
    algorithm
        .hash(&[format!("{ha1}:{nonce}:{nc:08x}:{cnonce}:auth:{ha2}").as_bytes()])
        .to_text()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::directory::{MemoryDirectory, SipDirectory};
    use coexist_policy::Mode;

    fn user() -> SipUser {
        let d = MemoryDirectory::new();
        d.add("alice@contoso.test", "secret", Mode::Islands);
        d.user("alice@contoso.test").unwrap()
    }

    fn creds(
        auth: &Authenticator,
        u: &SipUser,
        alg: Algorithm,
        now: Duration,
        nc: u32,
    ) -> DigestCredentials<'static> {
        let nonce = auth.nonce(now);
        let ha1 = alg.ha1(u).to_owned();
        DigestCredentials {
            username: "alice".into(),
            realm: "contoso.test".into(),
            response: client_response(alg, &ha1, &nonce, "REGISTER", "sip:contoso.test", nc, "c")
                .into(),
            nonce: nonce.into(),
            uri: "sip:contoso.test".into(),
            algorithm: alg,
            qop: Some(("auth".into(), nc, "c".into())),
        }
    }

    const IP: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn hex_and_challenges_are_written_as_before() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(lower_hex(&bytes), hex::encode(&bytes));
        for stale in [false, true] {
            let suffix = if stale { ", stale=true" } else { "" };
            assert_eq!(
                challenge_value("x.test", "abc", "MD5", stale),
                format!(
                    "Digest realm=\"x.test\", nonce=\"abc\", algorithm=MD5, qop=\"auth\"{suffix}"
                )
            );
        }
    }

    #[test]
    fn challenges_offer_sha256_before_md5_rfc8760() {
        let auth = Authenticator::new(AuthConfig::default());
        let [first, second] = auth.challenges("contoso.test", Duration::from_secs(1), false);
        assert!(first.contains("algorithm=SHA-256"));
        assert!(second.contains("algorithm=MD5"));
    }

    #[test]
    fn the_joined_hash_matches_the_rfc2617_example() {
        // RFC 2617 §3.5: Mufasa, "Circle Of Life", GET /dir/index.html.
        let md5 = Algorithm::Md5;
        let ha1 = md5
            .hash(&[b"Mufasa", b"testrealm@host.com", b"Circle Of Life"])
            .to_text();
        assert_eq!(ha1, "939e7578ed9e3c518a452acee763bce9");
        let ha2 = md5.hash(&[b"GET", b"/dir/index.html"]).to_text();
        let nonce = b"dcd98b7102dd2f0e8b11d0f600bfb0c093";
        let response = md5.hash(&[
            ha1.as_bytes(),
            nonce,
            &nonce_count_hex(1),
            b"0a4f113b",
            b"auth",
            ha2.as_bytes(),
        ]);
        assert_eq!(response.to_text(), "6629fae49393a05397450978507c4ef1");
        // SHA-256 digests are 64 digits.
        let long = Algorithm::Sha256.hash(&[b"a"]).to_text();
        assert_eq!(long, hex::encode(Sha256::digest(b"a")));
        for nc in [0, 1, 0x1a2b_3c4d, u32::MAX] {
            assert_eq!(nonce_count_hex(nc), format!("{nc:08x}").as_bytes());
        }
    }

    #[test]
    fn a_nonce_count_with_hex_letters_verifies_and_another_count_does_not() {
        let mut auth = Authenticator::new(AuthConfig::default());
        let u = user();
        let now = Duration::from_secs(1000);
        let c = creds(&auth, &u, Algorithm::Md5, now, 0x1a2b_3c4d);
        let mut wrong = c.clone();
        wrong.qop = Some(("auth".into(), 0x1a2b_3c4e, "c".into()));
        assert_eq!(auth.check(&wrong, &u, "REGISTER", IP, now), Check::Failed);
        assert_eq!(auth.check(&c, &u, "REGISTER", IP, now), Check::Ok);
    }

    #[test]
    fn both_algorithms_verify_and_nonce_count_replays_fail() {
        let mut auth = Authenticator::new(AuthConfig::default());
        let u = user();
        let now = Duration::from_secs(1000);
        for alg in [Algorithm::Sha256, Algorithm::Md5] {
            let c = creds(&auth, &u, alg, now, 1);
            assert_eq!(auth.check(&c, &u, "REGISTER", IP, now), Check::Ok);
            // The same nonce-count again is a replay.
            assert_eq!(auth.check(&c, &u, "REGISTER", IP, now), Check::Failed);
            let c2 = creds(&auth, &u, alg, now, 2);
            assert_eq!(auth.check(&c2, &u, "REGISTER", IP, now), Check::Ok);
            auth.counts.clear();
        }
    }

    #[test]
    fn an_old_nonce_is_stale_rfc7616_3_3() {
        let mut auth = Authenticator::new(AuthConfig::default());
        let u = user();
        let c = creds(&auth, &u, Algorithm::Sha256, Duration::from_secs(1000), 1);
        let later = Duration::from_secs(1000 + 301);
        assert_eq!(auth.check(&c, &u, "REGISTER", IP, later), Check::Stale);
        let mut forged = c.clone();
        forged.nonce = format!("{:016x}{:016x}{}", 1000, 1, "0".repeat(32)).into();
        assert_eq!(auth.check(&forged, &u, "REGISTER", IP, later), Check::Stale);
    }

    #[test]
    fn only_the_nonce_we_wrote_is_ours_not_a_respelling_or_another_servers() {
        let auth = Authenticator::new(AuthConfig::default());
        let now = Duration::from_secs(1000);
        let nonce = auth.nonce(now);
        let (issued, salt) = auth.our_nonce(&nonce).unwrap();
        assert_eq!(issued, 1000);
        assert_eq!(auth.nonce_at(issued, salt), nonce);
        // The same bytes spelled in capitals, one MAC bit flipped, cut short,
        // or written by a server with another secret: not ours.
        assert_eq!(auth.our_nonce(&nonce.to_ascii_uppercase()), None);
        let last = nonce.chars().last().unwrap();
        let flipped = if last == '0' { '1' } else { '0' };
        assert_eq!(auth.our_nonce(&format!("{}{flipped}", &nonce[..63])), None);
        assert_eq!(auth.our_nonce(&nonce[..62]), None);
        let other = Authenticator::new(AuthConfig::default());
        assert_eq!(other.our_nonce(&nonce), None);
    }

    #[test]
    fn repeated_failures_block_the_source_for_the_window() {
        let mut auth = Authenticator::new(AuthConfig {
            max_failures: 3,
            ..AuthConfig::default()
        });
        let u = user();
        let now = Duration::from_secs(50);
        let mut c = creds(&auth, &u, Algorithm::Md5, now, 1);
        c.response = "0".repeat(32).into();
        for _ in 0..3 {
            assert_eq!(auth.check(&c, &u, "REGISTER", IP, now), Check::Failed);
        }
        assert!(auth.is_blocked(IP, now));
        assert!(!auth.is_blocked(IP, now + Duration::from_secs(61)));
    }

    #[test]
    fn parses_credentials_and_maps_local_part_to_upn() {
        let c = DigestCredentials::parse(
            r#"Digest username="alice", realm="contoso.test", nonce="n", uri="sip:contoso.test", response="AB", algorithm=SHA-256, qop=auth, nc=0000000a, cnonce="x""#,
        )
        .unwrap();
        assert_eq!(c.upn(), "alice@contoso.test");
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(c.qop, Some(("auth".into(), 10, "x".into())));
        assert_eq!(c.response, "ab");
    }
}
