//! Server-transaction keys (RFC 3261 §17.2.3): written into a reused
//! buffer, hashed once per request, remembered for the reply.
//!
//! A key used to be a `String` built per request (`branch|host:port|METHOD`
//! through `write!`) and hashed with SipHash at each of the eight map
//! operations of a transaction: ≈ 3 700 instructions a request for the key
//! and ≈ 2 800 for hashing (callgrind, `examples/transaction_churn.rs`).
//! Now the parts are copied into one buffer with their lengths, and the
//! hash is computed once and kept with the transaction: ≈ 1 300
//! instructions for a new request's key and hash, ≈ 350 for its reply's.

use crate::headers::{NameAddr, ViaRef};
use crate::message::{Method, SipMessage};
use std::borrow::Cow;
use std::hash::{BuildHasher, RandomState};

/// The first byte of a key: which rule made it.
const RFC_3261: u8 = 1;
const RFC_2543: u8 = 2;

/// Writes the server-transaction key of `request` into `out` (cleared
/// first): the top Via branch and sent-by and the method, ACK matching its
/// INVITE; for a Via without an RFC 3261 branch, the RFC 2543 fallback of
/// Call-ID, CSeq number, From tag, sent-by and method. Variable parts go
/// with their lengths, so no two different sets of parts write the same
/// bytes (with separators, `a|b` + `c` and `a` + `b|c` did). Returns
/// whether the key is an RFC 3261 one (it then depends on the top Via and
/// method alone). `top_via` is the request's, found by the caller.
fn write_server_key(request: &SipMessage, top_via: &str, out: &mut Vec<u8>) -> Option<bool> {
    out.clear();
    let (branch, host, port) = match usual_via(top_via) {
        Some((branch, host, port)) => (Some(branch), host, port),
        None => {
            let via = ViaRef::parse(top_via)?;
            (via.branch(), via.host, via.port.unwrap_or(5060))
        }
    };
    let method = match request.method()? {
        Method::Ack => Method::Invite,
        m => m,
    };
    let port = port.to_be_bytes();
    match branch {
        Some(branch) if branch.starts_with("z9hG4bK") => {
            out.push(RFC_3261);
            push_part(out, branch)?;
            push_part(out, host)?;
            out.extend_from_slice(&port);
            out.extend_from_slice(method.as_str().as_bytes());
            Some(true)
        }
        _ => {
            let from_tag = request
                .header("From")
                .and_then(NameAddr::parse)
                .and_then(|a| a.tag().map(str::to_owned))
                .unwrap_or_default();
            let (cseq, _) = request.cseq()?;
            out.push(RFC_2543);
            push_part(out, request.call_id()?)?;
            out.extend_from_slice(&cseq.to_be_bytes());
            push_part(out, &from_tag)?;
            push_part(out, host)?;
            out.extend_from_slice(&port);
            out.extend_from_slice(method.as_str().as_bytes());
            Some(false)
        }
    }
}

/// The branch, host and port of a top Via in the shape nearly every
/// client writes, `SIP/2.0/TRANSPORT host[:port];branch=…`, with nothing
/// for `ViaRef` to trim or decode; `None` for any other shape, which
/// `ViaRef` then reads. Where this answers, `ViaRef::parse` and `branch`
/// answer the same (a test holds them to it). Written for speed, in one
/// pass over the bytes: `ViaRef`'s character-by-character scans and
/// Unicode trims were ≈ 1 500 of the ≈ 2 500 instructions a key cost,
/// and `str`'s searches for single characters ≈ 700 more when this was
/// written with them (callgrind, `transaction_churn`).
fn usual_via(via: &str) -> Option<(&str, &str, u16)> {
    let rest = via.strip_prefix("SIP/2.0/")?;
    let (transport, rest) = split_before(rest, |b| !b.is_ascii_alphanumeric())?;
    let rest = rest.strip_prefix(' ')?;
    let (host, rest) = split_before(rest, |b| {
        !(b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
    })?;
    let (port, rest) = match rest.strip_prefix(':') {
        Some(rest) => {
            let (digits, rest) = split_before(rest, |b| !b.is_ascii_digit())?;
            (digits.parse().ok()?, rest)
        }
        None => (5060, rest),
    };
    let branch = rest.strip_prefix(";branch=")?;
    let (branch, rest) =
        split_before(branch, |b| b == b';' || !b.is_ascii_graphic()).unwrap_or((branch, ""));
    let usual = !transport.is_empty()
        && !host.is_empty()
        && !branch.is_empty()
        && (rest.is_empty() || rest.starts_with(';'));
    usual.then_some((branch, host, port))
}

/// `text` split before its first byte that `stop` accepts; `None` when
/// none does. (Every byte before it is ASCII: `stop` must accept any
/// other, so the split is at a character boundary.)
fn split_before(text: &str, stop: impl Fn(u8) -> bool) -> Option<(&str, &str)> {
    let at = text.bytes().position(stop)?;
    Some(text.split_at(at))
}

/// Appends `part` after its length.
fn push_part(out: &mut Vec<u8>, part: &str) -> Option<()> {
    out.extend_from_slice(&u32::try_from(part.len()).ok()?.to_be_bytes());
    out.extend_from_slice(part.as_bytes());
    Some(())
}

/// The key last computed for a request with an RFC 3261 branch, with the
/// top Via text and method it came from. A handler's reply finds its
/// transaction by comparing that text instead of reading the Via,
/// building and hashing the key again; the buffers are reused, so a hit or
/// a miss allocates nothing.
///
/// Hashes are keyed SipHash-1-3 (`RandomState`, the standard map's
/// hasher): the branch is chosen by whoever sends the request, and an
/// unkeyed fast hash would let a sender aim every key at one bucket.
/// Hashing once per request instead of once per map operation made a
/// faster hasher unnecessary.
#[derive(Debug, Default)]
pub(super) struct KeyMemo {
    /// Whether `via` and `method` identify `key` (false after an RFC 2543
    /// key, which also depends on Call-ID, CSeq and From).
    valid: bool,
    via: String,
    method: Option<Method>,
    key: Vec<u8>,
    hash: u64,
    hasher: RandomState,
}

impl KeyMemo {
    /// The hash and key of `request` (see [`write_server_key`]).
    pub(super) fn key_of(&mut self, request: &SipMessage) -> Option<(u64, &[u8])> {
        let via = request.top_via()?;
        let method = request.method();
        if self.valid && self.via == via && self.method == method {
            return Some((self.hash, &self.key));
        }
        self.valid = false;
        let rfc_3261 = write_server_key(request, via, &mut self.key)?;
        self.hash = self.hasher.hash_one(&self.key[..]);
        self.valid = rfc_3261;
        self.via.clear();
        self.via.push_str(via);
        self.method = method;
        Some((self.hash, &self.key))
    }

    /// [`key_of`](Self::key_of) without remembering: the memo's key when
    /// it is `request`'s, else a new one.
    pub(super) fn key_for(&self, request: &SipMessage) -> Option<(u64, Cow<'_, [u8]>)> {
        let via = request.top_via()?;
        if self.valid && self.via == via && self.method == request.method() {
            return Some((self.hash, Cow::Borrowed(&self.key)));
        }
        let mut key = Vec::new();
        write_server_key(request, via, &mut key)?;
        Some((self.hasher.hash_one(&key[..]), Cow::Owned(key)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::wire::parse_datagram;

    fn request(method: &str, via: &str, call_id: &str) -> SipMessage {
        let text = format!(
            "{method} sip:b@x.test SIP/2.0\r\nVia: SIP/2.0/UDP {via}\r\nFrom: <sip:a@x.test>;tag=1\r\nTo: <sip:b@x.test>\r\nCall-ID: {call_id}\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
        );
        parse_datagram(text.as_bytes()).unwrap()
    }

    fn key(request: &SipMessage) -> Vec<u8> {
        let mut out = Vec::new();
        write_server_key(request, request.top_via().unwrap(), &mut out).unwrap();
        out
    }

    #[test]
    fn branch_sent_by_and_method_make_the_key_and_ack_matches_its_invite_rfc3261_17_2_3() {
        let invite = request("INVITE", "h.test:5070;branch=z9hG4bKa", "c1");
        // Call-ID is not part of an RFC 3261 key.
        assert_eq!(
            key(&invite),
            key(&request("ACK", "h.test:5070;branch=z9hG4bKa", "c2"))
        );
        for other in [
            request("CANCEL", "h.test:5070;branch=z9hG4bKa", "c1"),
            request("INVITE", "h.test:5071;branch=z9hG4bKa", "c1"),
            request("INVITE", "g.test:5070;branch=z9hG4bKa", "c1"),
            request("INVITE", "h.test:5070;branch=z9hG4bKb", "c1"),
        ] {
            assert_ne!(key(&invite), key(&other));
        }
        // No port is port 5060 (RFC 3261 §18.2.1).
        assert_eq!(
            key(&request("INVITE", "h.test;branch=z9hG4bKa", "c1")),
            key(&request("INVITE", "h.test:5060;branch=z9hG4bKa", "c1"))
        );
    }

    /// What `ViaRef` reads from a top Via.
    fn read_by_via_ref(via: &str) -> Option<(&str, &str, u16)> {
        let parsed = ViaRef::parse(via)?;
        Some((parsed.branch()?, parsed.host, parsed.port.unwrap_or(5060)))
    }

    #[test]
    fn the_usual_via_is_read_as_via_ref_reads_it_and_the_rest_is_left_to_it() {
        let vias = [
            "SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-4242-1-0;rport=5061;received=127.0.0.1",
            "SIP/2.0/TLS sip.contoso.test;branch=z9hG4bK.aB3~x!%*_+`'",
            "SIP/2.0/TCP h-1.test:65535;branch=z9hG4bKa=b;rport",
            "SIP/2.0/UDP h.test:65536;branch=z9hG4bKa",
            "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bKv6",
            "SIP/2.0/UDP h.test:+5060;branch=z9hG4bKplus",
            "SIP/2.0/UDP h.test:5060;rport;branch=z9hG4bKlater",
            "SIP/2.0/UDP h.test;BRANCH=z9hG4bKupper",
            "sip/2.0/udp h.test;branch=z9hG4bKlower",
            "SIP / 2.0 / UDP h.test ; branch = z9hG4bKspaced ;rport",
            "SIP/2.0/UDP h.test:5060;branch=",
            "SIP/2.0/UDP h.test:5060;branch=1234",
            "SIP/2.0/UDP :5060;branch=z9hG4bKnohost",
            "SIP/2.0/UDP h\u{e9}.test;branch=z9hG4bK\u{e9}",
            "SIP/2.0/UDP h.test;branch=z9hG4bKa\u{e9}",
            "SIP/2.0/UDP h.test;branch=z9hG4bKa b;rport",
        ];
        let mut usual = 0;
        for via in vias {
            // Every one-byte edit too: spaces, tabs, separators, brackets.
            let edits = (0..=via.len())
                .filter(|at| via.is_char_boundary(*at))
                .flat_map(|at| {
                    [" ", "\t", ";", ":", "[", "]", "/", "=", ",", "\u{a0}"]
                        .map(|insert| format!("{}{insert}{}", &via[..at], &via[at..]))
                });
            for text in std::iter::once(via.to_owned()).chain(edits) {
                if let Some(parts) = usual_via(&text) {
                    assert_eq!(Some(parts), read_by_via_ref(&text), "{text:?}");
                    usual += 1;
                }
            }
        }
        assert!(usual_via(vias[0]).is_some() && usual_via(vias[1]).is_some());
        assert!(usual > 100, "{usual}");
    }

    #[test]
    fn parts_that_run_together_do_not_make_one_key() {
        // With `|` between the parts both were `z9hG4bKa|b|c:5060|MESSAGE`.
        let first = request("MESSAGE", "c;branch=z9hG4bKa|b", "x");
        let second = request("MESSAGE", "b|c;branch=z9hG4bKa", "x");
        assert_ne!(key(&first), key(&second));
    }

    #[test]
    fn a_key_without_an_rfc3261_branch_depends_on_call_id_rfc3261_17_2_3() {
        let first = request("MESSAGE", "h.test", "one");
        let mut out = Vec::new();
        let via = first.top_via().unwrap();
        assert_eq!(write_server_key(&first, via, &mut out), Some(false));
        assert_ne!(key(&first), key(&request("MESSAGE", "h.test", "two")));
        // Such a key is not remembered by its Via: the memo computes it again.
        let mut memo = KeyMemo::default();
        let (hash, _) = memo.key_of(&first).unwrap();
        let second = request("MESSAGE", "h.test", "two");
        let (other, _) = memo.key_of(&second).unwrap();
        assert_ne!(hash, other);
        assert_eq!(memo.key_for(&first).unwrap().0, hash);
    }
}
