//! Bytes ↔ [`SipMessage`]: the one place that knows how messages are parsed.
//!
//! Datagrams go through our own parser ([`datagram`]), written for speed
//! to the rules of `sipx-sip`'s, which a test here holds it to. A TCP
//! stream is cut and parsed by `sipx-sip` (pinned `=1.0.1`): on the
//! RFC 4475 corpus it refuses a Content-Length larger than the data
//! (§3.1.2.2) instead of truncating, refuses a negative or repeated one, and
//! keeps unknown methods and headers. What we do not take from it, and why:
//!
//! - its typed headers and `Message` type: the rest of the crate works on
//!   [`SipMessage`] so the parser can be replaced; the conversion is one
//!   copy of each header value.
//! - serialisation: `SipMessage::to_bytes` writes our messages (it always
//!   recomputes Content-Length, so a body edit can never be mis-framed).
//! - answering what does not parse: sipx returns an error only, so
//!   [`salvage_bad_request`] digs the Via/From/To/Call-ID/CSeq lines out of
//!   the raw bytes so the sender gets a 400 rather than silence.

mod datagram;

use crate::header_names::canonical;
use crate::message::{Header, Method, SipMessage, StartLine};
use sipx_sip::{Limits, Message as WireMessage, StreamParser};

/// Why bytes are not a message we can act on.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not a SIP message (or not one that frames); answer 400 if possible.
    #[error("malformed: {0}")]
    Malformed(String),
    /// Parses, but speaks another SIP version: answer 505 (RFC 4475 §3.1.2.16).
    #[error("unsupported SIP version")]
    Version(Box<SipMessage>),
    /// Bigger than our limits: answer 413 if possible, else drop.
    #[error("too large")]
    TooLarge,
}

/// Parses one datagram (trailing octets after the body are ignored, RFC 3261 §18.3).
pub fn parse_datagram(bytes: &[u8]) -> Result<SipMessage, WireError> {
    // An empty line or a CRLF keep-alive (RFC 5626 §4.4.1) is no message.
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(WireError::Malformed("keep-alive".to_owned()));
    }
    datagram::parse(bytes)
}

/// The datagram parser we replaced (`sipx-sip`'s, converted into our
/// type): the reference that a test and the `parse` fuzz target hold
/// [`parse_datagram`] to. Not for the server's use: it is the slow one.
pub fn reference_parse(bytes: &[u8]) -> Result<SipMessage, WireError> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(WireError::Malformed("keep-alive".to_owned()));
    }
    let limits = Limits::datagram();
    match sipx_sip::parse_datagram(bytes::Bytes::copy_from_slice(bytes), &limits) {
        Ok(message) => convert(message),
        Err(sipx_sip::error::ParseError::Limit { .. }) => Err(WireError::TooLarge),
        Err(e) => Err(WireError::Malformed(e.to_string())),
    }
}

/// Where [`parse_datagram`] and [`reference_parse`] disagree on `bytes`,
/// what each decided (the message, or the kind of error: not its wording).
pub fn differs_from_reference(bytes: &[u8]) -> Option<(String, String)> {
    fn verdict(parsed: Result<SipMessage, WireError>) -> String {
        match parsed {
            Ok(message) => format!("parsed {message:?}"),
            Err(WireError::Version(message)) => format!("505 {message:?}"),
            Err(WireError::TooLarge) => "too large".to_owned(),
            Err(WireError::Malformed(_)) => "malformed".to_owned(),
        }
    }
    let (ours, reference) = (
        verdict(parse_datagram(bytes)),
        verdict(reference_parse(bytes)),
    );
    (ours != reference).then_some((ours, reference))
}

/// Cuts a TCP byte stream into messages.
#[derive(Debug)]
pub struct StreamFramer {
    parser: StreamParser,
}

impl Default for StreamFramer {
    fn default() -> Self {
        StreamFramer {
            parser: StreamParser::new(Limits::stream()),
        }
    }
}

impl StreamFramer {
    /// Feeds bytes; returns each message they completed. An error means the
    /// stream lost its framing: close the connection.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Result<SipMessage, WireError>>, WireError> {
        match self.parser.push(chunk) {
            Ok(messages) => Ok(messages.into_iter().map(convert).collect()),
            Err(e) => Err(WireError::Malformed(e.to_string())),
        }
    }
}

fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => String::from_utf8_lossy(bytes).into_owned(),
    }
}

fn convert_headers(headers: &sipx_sip::Headers) -> Vec<Header> {
    headers
        .iter()
        .map(|h| Header {
            name: canonical(&text(h.name().canonical())),
            value: text(&h.value()).into(),
        })
        .collect()
}

fn convert(message: WireMessage) -> Result<SipMessage, WireError> {
    match message {
        WireMessage::Request(request) => {
            let converted = SipMessage {
                start: StartLine::Request {
                    method: Method::parse(&text(request.method.as_bytes())),
                    uri: text(&request.uri.to_bytes()),
                },
                headers: convert_headers(&request.headers),
                body: request.body().clone(),
            };
            if request.version.is_supported() {
                Ok(converted)
            } else {
                Err(WireError::Version(Box::new(converted)))
            }
        }
        WireMessage::Response(response) => {
            if !response.version.is_supported() {
                return Err(WireError::Malformed("unsupported version".to_owned()));
            }
            Ok(SipMessage {
                start: StartLine::Response {
                    code: response.status.code(),
                    reason: text(&response.reason),
                },
                headers: convert_headers(&response.headers),
                body: response.body().clone(),
            })
        }
    }
}

/// For a request that does not parse: a 400 built from whatever Via, From,
/// To, Call-ID and CSeq lines can be found, when there is a Via to send it
/// back on. A response that does not parse is dropped (`None`).
pub fn salvage_bad_request(bytes: &[u8], why: &str) -> Option<SipMessage> {
    let head_end = find(bytes, b"\r\n\r\n").unwrap_or(bytes.len());
    let head = String::from_utf8_lossy(&bytes[..head_end]);
    let mut lines = head.split("\r\n");
    let first = lines.next()?;
    if first.starts_with("SIP/") || first.trim().is_empty() {
        return None;
    }
    let mut request = SipMessage::request(Method::Options, "sip:invalid");
    let mut current: Option<(std::borrow::Cow<'static, str>, String)> = None;
    for line in lines {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = current.as_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some((name, value)) = current.take() {
            request.push(&name, value);
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = canonical(name.trim());
            if ["Via", "From", "To", "Call-ID", "CSeq"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&name))
            {
                current = Some((name, value.trim().to_owned()));
            }
        }
    }
    if let Some((name, value)) = current.take() {
        request.push(&name, value);
    }
    request.top_via()?;
    let reason = format!("Bad Request ({})", sanitize_reason(why));
    Some(request.response(400, &reason, None))
}

/// A reason phrase safe to put on a status line.
pub fn sanitize_reason(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(120)
        .collect()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    const OPTIONS: &[u8] = b"OPTIONS sip:a@b.test SIP/2.0\r\nv: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\r\nf: <sip:c@b.test>;tag=1\r\nt: <sip:a@b.test>\r\ni: abc\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nl: 0\r\n\r\n";

    #[test]
    fn a_datagram_converts_to_our_type_with_long_names() {
        let m = parse_datagram(OPTIONS).unwrap();
        assert_eq!(m.method(), Some(Method::Options));
        assert_eq!(m.call_id(), Some("abc"));
        assert_eq!(m.cseq(), Some((1, Method::Options)));
        assert!(m.top_via().unwrap().contains("z9hG4bKx"));
    }

    #[test]
    fn content_length_beyond_the_packet_is_refused_not_truncated_rfc4475_3_1_2_2() {
        let bad = String::from_utf8_lossy(OPTIONS).replace("l: 0", "l: 500") + "short body";
        assert!(matches!(
            parse_datagram(bad.as_bytes()),
            Err(WireError::Malformed(_))
        ));
        let answer = salvage_bad_request(bad.as_bytes(), "Content-Length").unwrap();
        assert_eq!(answer.status(), Some(400));
        assert_eq!(answer.call_id(), Some("abc"));
    }

    fn torture_corpus() -> Vec<(String, Vec<u8>)> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/torture");
        let mut corpus: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|e| e == "dat"))
            .map(|path| (path.display().to_string(), std::fs::read(&path).unwrap()))
            .collect();
        corpus.sort();
        assert!(corpus.len() >= 61, "the RFC 4475/5118 corpus is there");
        corpus
    }

    fn assert_same_verdict(what: &str, bytes: &[u8]) {
        if let Some((ours, reference)) = differs_from_reference(bytes) {
            panic!(
                "{what}: {:?}\nours:      {ours}\nreference: {reference}",
                String::from_utf8_lossy(bytes)
            );
        }
    }

    #[test]
    fn our_parser_decides_as_sipx_did_on_the_torture_corpus_and_its_edits() {
        let edits: [&[u8]; 7] = [b" ", b"\r", b"\n", b"\r\n ", b":", b"\0", b"\r\n\r\n"];
        let mut compared = 0;
        for (name, bytes) in torture_corpus() {
            assert_same_verdict(&name, &bytes);
            for cut in 0..bytes.len() {
                assert_same_verdict(&format!("{name} cut at {cut}"), &bytes[..cut]);
                compared += 1;
            }
            for at in (0..bytes.len()).step_by(5) {
                for edit in edits {
                    let mut edited = bytes[..at].to_vec();
                    edited.extend_from_slice(edit);
                    edited.extend_from_slice(&bytes[at + 1..]);
                    assert_same_verdict(&format!("{name} with {edit:?} at {at}"), &edited);
                    compared += 1;
                }
            }
        }
        assert!(compared > 20_000, "{compared} inputs compared");
    }

    #[test]
    fn our_parser_keeps_sipx_limits() {
        let with_headers = |count: usize, value: &str| {
            let mut text = String::from_utf8_lossy(OPTIONS).replace("l: 0\r\n\r\n", "");
            for i in 0..count {
                text.push_str(&format!("X-{i}: {value}\r\n"));
            }
            text + "l: 0\r\n\r\n"
        };
        let folded = "a\r\n b".repeat(16);
        let cases = [
            ("256 headers", with_headers(249, "x")),
            ("257 headers", with_headers(250, "x")),
            ("an 8 KiB field", with_headers(1, &"x".repeat(8 * 1024 - 5))),
            (
                "a field over 8 KiB",
                with_headers(1, &"x".repeat(8 * 1024 - 4)),
            ),
            ("16 folds", with_headers(1, &folded)),
            ("17 folds", with_headers(1, &format!("{folded}\r\n c"))),
            (
                "64 KiB declared, not sent",
                String::from_utf8_lossy(OPTIONS).replace("l: 0", "l: 65536"),
            ),
            (
                "a body over 64 KiB declared",
                String::from_utf8_lossy(OPTIONS).replace("l: 0", "l: 65537"),
            ),
            (
                "a datagram of 64 KiB",
                with_headers(1, &"x".repeat(3000)) + &"b".repeat(60 * 1024),
            ),
            (
                "a datagram over 64 KiB",
                with_headers(1, "x") + &"b".repeat(64 * 1024),
            ),
        ];
        for (what, text) in &cases {
            assert_same_verdict(what, text.as_bytes());
        }
        for (at, (what, text)) in cases.iter().enumerate() {
            let too_large = matches!(parse_datagram(text.as_bytes()), Err(WireError::TooLarge));
            assert_eq!(too_large, at % 2 == 1, "{what}");
        }
    }

    #[test]
    fn a_stream_frames_messages_across_chunks() {
        let mut framer = StreamFramer::default();
        let (a, b) = OPTIONS.split_at(40);
        assert!(framer.push(a).unwrap().is_empty());
        let mut out = framer.push(b).unwrap();
        out.extend(framer.push(OPTIONS).unwrap());
        assert_eq!(out.len(), 2);
        assert!(out.iter().all(Result::is_ok));
    }
}
