//! Our own SIP message type: what the rest of the crate sees. The parser
//! behind it (`wire.rs`, today over `sipx-sip`) can be replaced without
//! touching anything else.
//!
//! Header names are stored in their canonical long form (`v` → `Via`), so
//! lookups are one case-insensitive comparison. Values are unfolded.

use bytes::Bytes;
use std::borrow::Cow;
use std::fmt;

mod text;

pub use text::Text;

/// A SIP method. Unknown methods are methods too (RFC 3261 §7.1).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Method {
    /// INVITE
    Invite,
    /// ACK
    Ack,
    /// BYE
    Bye,
    /// CANCEL
    Cancel,
    /// REGISTER
    Register,
    /// OPTIONS
    Options,
    /// MESSAGE (RFC 3428)
    Message,
    /// SUBSCRIBE (RFC 6665)
    Subscribe,
    /// NOTIFY (RFC 6665)
    Notify,
    /// PUBLISH (RFC 3903)
    Publish,
    /// REFER (RFC 3515)
    Refer,
    /// INFO
    Info,
    /// UPDATE
    Update,
    /// PRACK
    Prack,
    /// Any other token, verbatim.
    Other(String),
}

impl Method {
    /// From a method token (case-sensitive, RFC 3261 §7.1).
    pub fn parse(token: &str) -> Method {
        match token {
            "INVITE" => Method::Invite,
            "ACK" => Method::Ack,
            "BYE" => Method::Bye,
            "CANCEL" => Method::Cancel,
            "REGISTER" => Method::Register,
            "OPTIONS" => Method::Options,
            "MESSAGE" => Method::Message,
            "SUBSCRIBE" => Method::Subscribe,
            "NOTIFY" => Method::Notify,
            "PUBLISH" => Method::Publish,
            "REFER" => Method::Refer,
            "INFO" => Method::Info,
            "UPDATE" => Method::Update,
            "PRACK" => Method::Prack,
            other => Method::Other(other.to_owned()),
        }
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Invite => "INVITE",
            Method::Ack => "ACK",
            Method::Bye => "BYE",
            Method::Cancel => "CANCEL",
            Method::Register => "REGISTER",
            Method::Options => "OPTIONS",
            Method::Message => "MESSAGE",
            Method::Subscribe => "SUBSCRIBE",
            Method::Notify => "NOTIFY",
            Method::Publish => "PUBLISH",
            Method::Refer => "REFER",
            Method::Info => "INFO",
            Method::Update => "UPDATE",
            Method::Prack => "PRACK",
            Method::Other(token) => token,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The first line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    /// `METHOD uri SIP/2.0`
    Request {
        /// The method.
        method: Method,
        /// The Request-URI, as text.
        uri: String,
    },
    /// `SIP/2.0 code reason`
    Response {
        /// The status code.
        code: u16,
        /// The reason phrase.
        reason: String,
    },
}

/// One header field (one line; a comma list stays one field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Canonical long name (static for every name we know, so a parsed
    /// header allocates only its value).
    pub name: Cow<'static, str>,
    /// Unfolded value.
    pub value: Text,
}

/// A request or a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage {
    /// Request or status line.
    pub start: StartLine,
    /// Header fields in order.
    pub headers: Vec<Header>,
    /// The body (Content-Length is derived from it when written).
    pub body: Bytes,
}

/// Headers whose values may be comma lists (RFC 3261 §7.3.1).
fn is_list_header(name: &str) -> bool {
    [
        "Via",
        "Contact",
        "Route",
        "Record-Route",
        "Proxy-Require",
        "Require",
        "Supported",
        "Allow",
        "Unsupported",
        "Allow-Events",
    ]
    .iter()
    .any(|h| h.eq_ignore_ascii_case(name))
}

/// The items of a comma list (outside quotes and angle brackets), trimmed,
/// empty ones skipped; each a slice of the value. An iterator so that the
/// top Via is found without collecting the rest (it is looked up several
/// times per request).
#[derive(Debug, Clone)]
pub struct ListItems<'a> {
    value: &'a str,
    start: usize,
}

impl<'a> ListItems<'a> {
    /// The items of `value`.
    pub fn new(value: &'a str) -> ListItems<'a> {
        ListItems { value, start: 0 }
    }
}

impl<'a> Iterator for ListItems<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        while self.start <= self.value.len() {
            let rest = &self.value[self.start..];
            let end = list_item_end(rest);
            let item = rest[..end].trim();
            self.start += end + 1;
            if !item.is_empty() {
                return Some(item);
            }
        }
        None
    }
}

/// Where the first item of a comma list ends: the first comma outside
/// quotes and angle brackets, or the end.
fn list_item_end(value: &str) -> usize {
    // Most values hold no comma at all (a Via, a Contact): one vectorised
    // search settles them (the top Via is read several times per request).
    if memchr::memchr(b',', value.as_bytes()).is_none() {
        return value.len();
    }
    let (mut quoted, mut angle, mut escaped) = (false, false, false);
    for (i, c) in value.bytes().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            b'<' if !quoted => angle = true,
            b'>' if !quoted => angle = false,
            b',' if !quoted && !angle => return i,
            _ => {}
        }
    }
    value.len()
}

/// A `CSeq` value: `number METHOD`, nothing more.
pub(crate) fn parse_cseq(value: &str) -> Option<(u32, Method)> {
    let mut parts = value.split_whitespace();
    let number = parts.next()?.parse::<u32>().ok()?;
    let method = Method::parse(parts.next()?);
    parts.next().is_none().then_some((number, method))
}

/// Appends `n` in decimal, without a `String` of its own (this runs for
/// every message written).
fn push_decimal(out: &mut Vec<u8>, n: usize) {
    let mut digits = [0u8; 20];
    out.extend_from_slice(decimal(n as u64, &mut digits));
}

/// The decimal digits of `n`, written at the end of `digits`.
pub(crate) fn decimal(mut n: u64, digits: &mut [u8; 20]) -> &[u8] {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    &digits[at..]
}

impl SipMessage {
    /// A new request with no headers.
    pub fn request(method: Method, uri: impl Into<String>) -> SipMessage {
        SipMessage {
            start: StartLine::Request {
                method,
                uri: uri.into(),
            },
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// The method of a request, or of the CSeq of a response.
    pub fn method(&self) -> Option<Method> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method.clone()),
            StartLine::Response { .. } => self.cseq().map(|(_, m)| m),
        }
    }

    /// Whether this is a request.
    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The status code of a response.
    pub fn status(&self) -> Option<u16> {
        match self.start {
            StartLine::Response { code, .. } => Some(code),
            StartLine::Request { .. } => None,
        }
    }

    /// The Request-URI of a request.
    pub fn uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The first value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case(name))
            .map(|h| h.value.as_str())
    }

    /// Every value of a header, comma lists split.
    pub fn header_values<'a>(&'a self, name: &'a str) -> Vec<&'a str> {
        self.header_items(name).collect()
    }

    /// [`header_values`](Self::header_values) without collecting them.
    pub fn header_items<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        let list = is_list_header(name);
        self.headers
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .flat_map(move |h| {
                let (items, whole) = if list {
                    (Some(ListItems::new(&h.value)), None)
                } else {
                    (None, Some(h.value.as_str()))
                };
                items.into_iter().flatten().chain(whole)
            })
    }

    /// How many fields carry this name.
    pub fn count(&self, name: &str) -> usize {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case(name))
            .count()
    }

    /// Appends a header.
    pub fn push(&mut self, name: &str, value: impl Into<Text>) {
        self.headers.push(Header {
            name: crate::header_names::canonical(name),
            value: value.into(),
        });
    }

    /// Builder form of [`push`](Self::push).
    pub fn with(mut self, name: &str, value: impl Into<Text>) -> SipMessage {
        self.push(name, value);
        self
    }

    /// Replaces every field of this name by one value.
    pub fn set(&mut self, name: &str, value: impl Into<Text>) {
        self.remove(name);
        self.push(name, value);
    }

    /// Removes every field of this name.
    pub fn remove(&mut self, name: &str) {
        self.headers.retain(|h| !h.name.eq_ignore_ascii_case(name));
    }

    /// Sets the body and its type.
    pub fn set_body(&mut self, content_type: &str, body: impl Into<Bytes>) {
        self.set("Content-Type", content_type);
        self.body = body.into();
    }

    /// `Call-ID`.
    pub fn call_id(&self) -> Option<&str> {
        self.header("Call-ID")
    }

    /// `CSeq` as number and method.
    pub fn cseq(&self) -> Option<(u32, Method)> {
        self.header("CSeq").and_then(parse_cseq)
    }

    /// The topmost Via value.
    pub fn top_via(&self) -> Option<&str> {
        self.headers
            .iter()
            .filter(|h| h.name.eq_ignore_ascii_case("Via"))
            .find_map(|h| ListItems::new(&h.value).next())
    }

    /// Writes the message; Content-Length always says the body's size.
    pub fn to_bytes(&self) -> Vec<u8> {
        let headers: usize = self
            .headers
            .iter()
            .map(|h| h.name.len() + h.value.len() + 4)
            .sum();
        let mut out = Vec::with_capacity(64 + headers + self.body.len());
        match &self.start {
            StartLine::Request { method, uri } => {
                out.extend_from_slice(method.as_str().as_bytes());
                out.push(b' ');
                out.extend_from_slice(uri.as_bytes());
                out.extend_from_slice(b" SIP/2.0\r\n");
            }
            StartLine::Response { code, reason } => {
                out.extend_from_slice(b"SIP/2.0 ");
                push_decimal(&mut out, usize::from(*code));
                out.push(b' ');
                out.extend_from_slice(reason.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
        }
        for h in &self.headers {
            if h.name.eq_ignore_ascii_case("Content-Length") {
                continue;
            }
            out.extend_from_slice(h.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"Content-Length: ");
        push_decimal(&mut out, self.body.len());
        out.extend_from_slice(b"\r\n\r\n");
        out.extend_from_slice(&self.body);
        out
    }

    /// A response to this request (RFC 3261 §8.2.6.2): Via, From, To,
    /// Call-ID and CSeq copied; a To tag added when `to_tag` is given and
    /// the request had none.
    pub fn response(&self, code: u16, reason: &str, to_tag: Option<&str>) -> SipMessage {
        let mut response = SipMessage {
            start: StartLine::Response {
                code,
                reason: reason.to_owned(),
            },
            headers: Vec::with_capacity(8),
            body: Bytes::new(),
        };
        for h in &self.headers {
            let name = &*h.name;
            if ["Via", "From", "Call-ID", "CSeq", "Record-Route"]
                .iter()
                .any(|n| n.eq_ignore_ascii_case(name))
            {
                response.headers.push(h.clone());
            } else if name.eq_ignore_ascii_case("To") {
                let value = match to_tag {
                    Some(tag)
                        if crate::headers::NameAddrRef::parse(&h.value)
                            .and_then(|a| a.param("tag"))
                            .is_none() =>
                    {
                        let mut tagged = String::with_capacity(h.value.len() + 5 + tag.len());
                        tagged.push_str(&h.value);
                        tagged.push_str(";tag=");
                        tagged.push_str(tag);
                        Text::from(tagged)
                    }
                    _ => h.value.clone(),
                };
                response.headers.push(Header {
                    name: Cow::Borrowed("To"),
                    value,
                });
            }
        }
        response
    }
}

impl fmt::Display for SipMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.to_bytes()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_outside_quotes_and_brackets() {
        assert_eq!(
            ListItems::new(r#""a, b" <sip:x@y;p=1,2>, <sip:z@w> , "#).collect::<Vec<_>>(),
            vec![r#""a, b" <sip:x@y;p=1,2>"#, "<sip:z@w>"]
        );
    }

    #[test]
    fn the_top_via_is_the_first_item_of_the_first_non_empty_field() {
        let m = SipMessage::request(Method::Message, "sip:a@b")
            .with("Via", " , ")
            .with(
                "Via",
                r#"SIP/2.0/UDP h1;x="a, b", SIP/2.0/UDP h2;branch=z9hG4bK2"#,
            );
        assert_eq!(m.top_via(), Some(r#"SIP/2.0/UDP h1;x="a, b""#));
        assert_eq!(m.header_values("Via").len(), 2);
        let none = SipMessage::request(Method::Message, "sip:a@b");
        assert_eq!(none.top_via(), None);
    }

    #[test]
    fn numbers_are_written_as_to_string_writes_them() {
        for n in [0, 7, 10, 99, 100, 180, 699, 65_535, 1_000_000, usize::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(String::from_utf8(out).unwrap(), n.to_string());
        }
        let m = SipMessage::request(Method::Options, "sip:a@b").response(180, "Ringing", None);
        assert!(m.to_bytes().starts_with(b"SIP/2.0 180 Ringing\r\n"));
    }

    #[test]
    fn written_content_length_follows_the_body() {
        let mut m = SipMessage::request(Method::Message, "sip:a@b").with("Content-Length", "99");
        m.set_body("text/plain", "hello");
        let text = String::from_utf8(m.to_bytes()).unwrap();
        assert!(text.contains("Content-Length: 5\r\n\r\nhello"));
        assert!(!text.contains("99"));
    }
}
