//! Server-transaction keys (RFC 3261 §17.2.3): written into a reused
//! buffer, hashed once per request, remembered for the reply.
//!
//! A key used to be a `String` built per request (`branch|host:port|METHOD`
//! through `write!`) and hashed with SipHash at each of the eight map
//! operations of a transaction: ≈ 3 700 instructions a request for the key
//! and ≈ 2 800 for hashing (callgrind, `examples/transaction_churn.rs`).
//! Now the parts are copied into one buffer with their lengths, and the
//! hash is computed once and kept with the transaction.

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
/// method alone).
pub(super) fn write_server_key(request: &SipMessage, out: &mut Vec<u8>) -> Option<bool> {
    out.clear();
    let via = ViaRef::parse(request.top_via()?)?;
    let method = match request.method()? {
        Method::Ack => Method::Invite,
        m => m,
    };
    let port = via.port.unwrap_or(5060).to_be_bytes();
    match via.branch() {
        Some(branch) if branch.starts_with("z9hG4bK") => {
            out.push(RFC_3261);
            push_part(out, branch)?;
            push_part(out, via.host)?;
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
            push_part(out, via.host)?;
            out.extend_from_slice(&port);
            out.extend_from_slice(method.as_str().as_bytes());
            Some(false)
        }
    }
}

/// Appends `part` after its length.
fn push_part(out: &mut Vec<u8>, part: &str) -> Option<()> {
    out.extend_from_slice(&u32::try_from(part.len()).ok()?.to_be_bytes());
    out.extend_from_slice(part.as_bytes());
    Some(())
}

/// The key last computed for a request with an RFC 3261 branch, with the
/// top Via text and method it came from. A handler's reply finds its
/// transaction by comparing that text instead of parsing the Via and
/// building the key again (about 4 500 instructions a request, callgrind);
/// the buffers are reused, so a hit or a miss allocates nothing.
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
        let rfc_3261 = write_server_key(request, &mut self.key)?;
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
        write_server_key(request, &mut key)?;
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
        write_server_key(request, &mut out).unwrap();
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
        assert_eq!(write_server_key(&first, &mut out), Some(false));
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
