//! Our datagram parser: bytes straight into [`SipMessage`].
//!
//! Why not `sipx-sip`'s `parse_datagram`, which we used before: measured
//! with callgrind on a REGISTER (BENCHMARKS.md, "Our own datagram parser"),
//! it cost about 26 000 instructions, and converting its message into ours
//! another 13 000 — a quarter of all the work the server did per request,
//! where the target is twice Kamailio's rate. Its cost is in what we do not
//! use: a reference-counted view per line, a typed URI, a linear name table
//! and a second copy of every value.
//!
//! The rules are sipx's, in sipx's order, so that the same bytes get the
//! same verdict (a test in `wire/mod.rs` holds the two parsers to that over
//! the RFC 4475/5118 corpus, its truncations and edits):
//!
//! 1. at most 64 KiB, else too large;
//! 2. the header section ends at the first CRLFCRLF; before it, every CR is
//!    followed by LF and every LF preceded by CR (no bare line ends);
//! 3. the first line may not start with a fold; at most 16 folds per field
//!    (else too large);
//! 4. a request line is exactly three parts separated by one SP: a token,
//!    a URI (checked by sipx's own `Uri::parse`, which is exact and, for one
//!    URI, cheap), a version; a status line is a version, three digits in
//!    100..=699 and an optional reason;
//! 5. at most 256 fields of at most 8 KiB each (else too large); each
//!    `name HCOLON value` with a token name; values unfolded and trimmed;
//! 6. one Content-Length at most, digits only; a body of at most 64 KiB
//!    (else too large) that the datagram holds in full; without
//!    Content-Length the body is the rest of the datagram (RFC 3261 §18.3
//!    and §20.14: octets after the body are ignored);
//! 7. a request in another SIP version parses, so that it can be answered
//!    505; a response in another version is malformed.

use super::{WireError, text};
use crate::header_names::canonical_bytes;
use crate::message::{Header, Method, SipMessage, StartLine, Text};
use bytes::Bytes;
use std::sync::Arc;

/// Largest datagram, largest body (sipx `Limits::datagram`).
const MAX_MESSAGE_BYTES: usize = 64 * 1024;
/// Most header fields.
const MAX_HEADERS: usize = 256;
/// Largest single field, folds included.
const MAX_HEADER_BYTES: usize = 8 * 1024;
/// Most continuation lines in one field.
const MAX_FOLDS: usize = 16;

fn malformed(why: &str) -> WireError {
    WireError::Malformed(why.to_owned())
}

/// Parses one datagram.
pub(super) fn parse(bytes: &[u8]) -> Result<SipMessage, WireError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(WireError::TooLarge);
    }
    let (head_end, too_many_folds) = scan_head(bytes)?;
    let head = &bytes[..head_end];
    if matches!(head.first(), Some(b' ' | b'\t')) {
        return Err(malformed("the header section starts with a fold"));
    }
    if too_many_folds {
        return Err(WireError::TooLarge);
    }
    let mut lines = LogicalLines { head, at: 0 };
    let start = match lines.next() {
        Some(line) => parse_start_line(line)?,
        None => return Err(malformed("empty start line")),
    };
    // The header section copied once: each value is a range of it (see
    // `message::Text`), unless it is folded or not UTF-8.
    let shared: Option<Arc<str>> = std::str::from_utf8(head).ok().map(Arc::from);
    let mut headers: Vec<Header> = Vec::with_capacity(16);
    for line in lines {
        if headers.len() >= MAX_HEADERS || line.len() > MAX_HEADER_BYTES {
            return Err(WireError::TooLarge);
        }
        headers.push(parse_header_line(line, head, shared.as_ref())?);
    }
    let content_length = content_length(&headers)?;
    let rest = bytes.get(head_end + 4..).unwrap_or_default();
    let body = match content_length {
        Some(declared) if declared > MAX_MESSAGE_BYTES as u64 => return Err(WireError::TooLarge),
        Some(declared) => {
            let declared = usize::try_from(declared).unwrap_or(usize::MAX);
            rest.get(..declared)
                .ok_or_else(|| malformed("the body is shorter than Content-Length"))?
        }
        None => rest,
    };
    let body = if body.is_empty() {
        Bytes::new()
    } else {
        Bytes::copy_from_slice(body)
    };
    let (start, version_supported) = start;
    let message = SipMessage {
        start,
        headers,
        body,
    };
    match (version_supported, message.is_request()) {
        (true, _) => Ok(message),
        (false, true) => Err(WireError::Version(Box::new(message))),
        (false, false) => Err(malformed("unsupported version")),
    }
}

/// Where the header section ends (the index of its CRLFCRLF), after
/// checking that no line end before it is bare; and whether a field folds
/// more than [`MAX_FOLDS`] times.
fn scan_head(bytes: &[u8]) -> Result<(usize, bool), WireError> {
    let (mut at, mut folds, mut too_many_folds) = (0, 0, false);
    loop {
        let Some(offset) = bytes
            .get(at..)
            .and_then(|rest| memchr::memchr2(b'\r', b'\n', rest))
        else {
            return Err(malformed("no empty line ends the headers"));
        };
        let end = at + offset;
        if bytes.get(end) == Some(&b'\n') || bytes.get(end + 1) != Some(&b'\n') {
            return Err(malformed("a bare CR or LF in the headers"));
        }
        match bytes.get(end + 2..end + 4) {
            Some(b"\r\n") => return Ok((end, too_many_folds)),
            _ if matches!(bytes.get(end + 2), Some(b' ' | b'\t')) => {
                folds += 1;
                too_many_folds |= folds > MAX_FOLDS;
            }
            _ => folds = 0,
        }
        at = end + 2;
    }
}

/// The lines of a header section (no bare line ends, no final CRLF), a
/// folded field being one line with its folds in it.
struct LogicalLines<'a> {
    head: &'a [u8],
    at: usize,
}

impl<'a> Iterator for LogicalLines<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.head.get(self.at..).filter(|r| !r.is_empty())?;
        let mut end = 0;
        while let Some(offset) = rest.get(end..).and_then(|r| memchr::memchr(b'\r', r)) {
            end += offset;
            if matches!(rest.get(end + 2), Some(b' ' | b'\t')) {
                end += 2;
                continue;
            }
            self.at += end + 2;
            return rest.get(..end);
        }
        self.at = self.head.len();
        Some(rest)
    }
}

/// The start line and whether its version is SIP/2.0.
fn parse_start_line(line: &[u8]) -> Result<(StartLine, bool), WireError> {
    if line.len() >= 4 && line[..4].eq_ignore_ascii_case(b"SIP/") {
        return parse_status_line(line);
    }
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed(
            "the request line is not METHOD SP URI SP VERSION",
        ));
    };
    if method.is_empty() || uri.is_empty() || version.is_empty() {
        return Err(malformed(
            "the request line is not METHOD SP URI SP VERSION",
        ));
    }
    if !method.iter().all(|&b| is_token_char(b)) {
        return Err(malformed("the method is not a token"));
    }
    if !is_plain_sip_uri(uri)
        && let Err(e) = sipx_sip::Uri::parse(Bytes::copy_from_slice(uri))
    {
        return Err(WireError::Malformed(format!("Request-URI: {e}")));
    }
    let start = StartLine::Request {
        // A token is ASCII (checked above).
        method: Method::parse(std::str::from_utf8(method).unwrap_or_default()),
        uri: text(uri),
    };
    Ok((start, version.eq_ignore_ascii_case(b"SIP/2.0")))
}

fn parse_status_line(line: &[u8]) -> Result<(StartLine, bool), WireError> {
    let Some(first) = line.iter().position(|&b| b == b' ') else {
        return Err(malformed("no status code"));
    };
    let (version, after) = (&line[..first], &line[first + 1..]);
    let (code, reason) = match after.iter().position(|&b| b == b' ') {
        Some(second) => (&after[..second], &after[second + 1..]),
        None => (after, &b""[..]),
    };
    let code = match code {
        [a, b, c] if code.iter().all(u8::is_ascii_digit) => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return Err(malformed("the status code is not three digits")),
    };
    if !(100..=699).contains(&code) {
        return Err(malformed("the status code is not in 100..=699"));
    }
    let start = StartLine::Response {
        code,
        reason: text(reason),
    };
    Ok((start, version.eq_ignore_ascii_case(b"SIP/2.0")))
}

/// One field; `head` is the header section `line` lies in, and `shared`
/// the same text as a `str` when it is UTF-8.
fn parse_header_line(
    line: &[u8],
    head: &[u8],
    shared: Option<&Arc<str>>,
) -> Result<Header, WireError> {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return Err(malformed("a header line without a colon"));
    };
    let name = trim_end(&line[..colon]);
    if name.is_empty() {
        return Err(malformed("a header with an empty name"));
    }
    if !name.iter().all(|&b| is_token_char(b)) {
        return Err(malformed("a header name that is not a token"));
    }
    let raw = &line[colon + 1..];
    let value = if raw.contains(&b'\r') {
        Text::from(text(trim(&unfold(raw))))
    } else {
        let value = trim(raw);
        match shared {
            Some(whole) => {
                // `value` is a slice of `head`: its place there.
                let start = value.as_ptr() as usize - head.as_ptr() as usize;
                Text::shared(whole, start..start + value.len())
            }
            None => Text::from(text(value)),
        }
    };
    Ok(Header {
        name: canonical_bytes(name),
        value,
    })
}

/// Each fold (CRLF and the whitespace after it) as one SP (RFC 3261 §7.3.1).
fn unfold(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut at = 0;
    while let Some(&b) = raw.get(at) {
        if b == b'\r' && raw.get(at + 1) == Some(&b'\n') {
            at += 2;
            while matches!(raw.get(at), Some(b' ' | b'\t')) {
                at += 1;
            }
            out.push(b' ');
        } else {
            out.push(b);
            at += 1;
        }
    }
    out
}

fn trim_end(mut bytes: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t'] = bytes {
        bytes = rest;
    }
    bytes
}

fn trim(mut bytes: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = bytes {
        bytes = rest;
    }
    trim_end(bytes)
}

/// The declared body length: one Content-Length at most.
fn content_length(headers: &[Header]) -> Result<Option<u64>, WireError> {
    let mut found = None;
    for header in headers.iter().filter(|h| h.name == "Content-Length") {
        if found.is_some() {
            return Err(malformed("Content-Length repeated"));
        }
        found = Some(parse_content_length(&header.value)?);
    }
    Ok(found)
}

/// Digits only: no sign, so no path makes a negative length (RFC 4475 §3.1.2.3).
fn parse_content_length(value: &str) -> Result<u64, WireError> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed("Content-Length is not a number"));
    }
    value
        .bytes()
        .try_fold(0u64, |n, b| {
            n.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        })
        .ok_or_else(|| malformed("Content-Length is not a number"))
}

/// RFC 3261 §25.1 `token`, by table: it runs for every byte of every
/// header name (about 2 000 instructions a REGISTER as a `matches!`).
fn is_token_char(b: u8) -> bool {
    TOKEN_CHARS[usize::from(b)]
}

const TOKEN_CHARS: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = matches!(
            b as u8,
            b'a'..=b'z'
                | b'A'..=b'Z'
                | b'0'..=b'9'
                | b'-'
                | b'.'
                | b'!'
                | b'%'
                | b'*'
                | b'_'
                | b'+'
                | b'`'
                | b'\''
                | b'~'
        );
        b += 1;
    }
    table
};

/// A Request-URI that `sipx_sip::Uri::parse` surely accepts, checked
/// without it: `sip:` or `sips:`, an optional user of unreserved
/// characters and `@`, a host of letters, digits, `-` and `.`, an optional
/// port of at most 65535; no parameters, headers or escapes. Anything else
/// goes through sipx (its check was about 1 700 instructions a request,
/// with a copy of the URI). A test holds this to a subset of sipx's answer.
fn is_plain_sip_uri(uri: &[u8]) -> bool {
    let rest = match uri {
        [b's', b'i', b'p', b':', rest @ ..] => rest,
        [b's', b'i', b'p', b's', b':', rest @ ..] => rest,
        _ => return false,
    };
    let hostport = match rest.iter().position(|&b| b == b'@') {
        Some(at) => {
            let user = &rest[..at];
            let unreserved = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
            if user.is_empty() || !user.iter().all(unreserved) {
                return false;
            }
            &rest[at + 1..]
        }
        None => rest,
    };
    let (host, port) = match hostport.iter().position(|&b| b == b':') {
        Some(colon) => (&hostport[..colon], Some(&hostport[colon + 1..])),
        None => (hostport, None),
    };
    let host_ok = !host.is_empty()
        && host
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.'));
    let port_ok = port.is_none_or(|digits| {
        (1..=5).contains(&digits.len())
            && digits.iter().all(u8::is_ascii_digit)
            && digits
                .iter()
                .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'))
                <= 65_535
    });
    host_ok && port_ok
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_plain_sip_uri_is_one_sipx_accepts() {
        // Every string up to five characters after the scheme over an
        // alphabet of the characters the fast path looks at: whatever it
        // takes as plain, sipx takes too.
        let alphabet = b"a9.-_@:;%?";
        let mut plain = 0;
        for scheme in [&b"sip:"[..], b"sips:"] {
            let mut stack: Vec<Vec<u8>> = vec![scheme.to_vec()];
            while let Some(uri) = stack.pop() {
                if is_plain_sip_uri(&uri) {
                    plain += 1;
                    assert!(
                        sipx_sip::Uri::parse(Bytes::copy_from_slice(&uri)).is_ok(),
                        "{}",
                        String::from_utf8_lossy(&uri)
                    );
                }
                if uri.len() < scheme.len() + 5 {
                    for &c in alphabet {
                        let mut longer = uri.clone();
                        longer.push(c);
                        stack.push(longer);
                    }
                }
            }
        }
        assert!(plain > 1_000, "{plain} plain URIs checked");
    }

    #[test]
    fn the_uris_clients_send_take_the_fast_path() {
        for uri in [
            "sip:contoso.test",
            "sip:bob@contoso.test",
            "sip:bob@127.0.0.1:5060",
            "sips:alice_1@sip.contoso.test:5061",
        ] {
            assert!(is_plain_sip_uri(uri.as_bytes()), "{uri}");
        }
        for uri in [
            "sip:bob@contoso.test;transport=tcp",
            "sip:b%6fb@contoso.test",
            "SIP:bob@contoso.test",
            "sip:[2001:db8::1]",
            "sip:bob@host:65536",
            "tel:+14255550199",
        ] {
            assert!(!is_plain_sip_uri(uri.as_bytes()), "{uri}");
        }
    }
}
