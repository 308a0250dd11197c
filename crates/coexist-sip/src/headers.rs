//! The few header grammars the server interprets: Via, name-addr (From, To,
//! Contact), SIP URIs, and digest credentials. Lenient where RFC 3261 lets
//! a receiver be, and never panicking.

use std::borrow::Cow;
use std::fmt::Write as _;

/// `;name=value` parameters, in order; names compared case-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub Vec<(String, Option<String>)>);

/// The parameters of `;a=b;c` (leading `;` optional) in order, borrowed:
/// names and values trimmed, empty items skipped, `None` for a flag.
pub fn param_items(text: &str) -> impl Iterator<Item = (&str, Option<&str>)> {
    text.split(';')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (p, None),
        })
}

/// A parameter's value in `;a=b;c` (`Some("")` for a flag), the first
/// of that name, compared case-insensitively.
pub fn param_value<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    param_items(text)
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.unwrap_or(""))
}

impl Params {
    /// Parses `;a=b;c` (leading `;` optional).
    pub fn parse(text: &str) -> Params {
        Params(
            param_items(text)
                .map(|(k, v)| (k.to_owned(), v.map(str::to_owned)))
                .collect(),
        )
    }

    /// A parameter's value (`Some("")` for a flag without value).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref().unwrap_or(""))
    }

    /// Sets (or adds) a parameter.
    pub fn set(&mut self, name: &str, value: Option<String>) {
        match self
            .0
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_owned(), value)),
        }
    }

    /// Writes `;a=b;c`.
    pub fn write(&self, out: &mut String) {
        for (k, v) in &self.0 {
            out.push(';');
            out.push_str(k);
            if let Some(v) = v {
                out.push('=');
                out.push_str(v);
            }
        }
    }
}

/// A Via value (RFC 3261 §20.42).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// `UDP`, `TCP`, …, upper-cased.
    pub transport: String,
    /// The sent-by host (brackets kept for IPv6).
    pub host: String,
    /// The sent-by port.
    pub port: Option<u16>,
    /// Parameters (branch, received, rport…).
    pub params: Params,
}

/// A Via value read in place: slices of the header text, nothing copied.
/// The server looks at the top Via several times per request (transaction
/// key, where to answer, sanity, loop check); an owned [`Via`] there cost
/// an allocation per part and parameter (measured with callgrind: about a
/// seventh of a REGISTER's instructions), so those read this view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViaRef<'a> {
    /// The transport, as written (compare case-insensitively).
    pub transport: &'a str,
    /// The sent-by host (brackets kept for IPv6).
    pub host: &'a str,
    /// The sent-by port.
    pub port: Option<u16>,
    /// `;a=b;c`, as written.
    pub params: &'a str,
}

impl<'a> ViaRef<'a> {
    /// Parses one Via value; `None` when it is not `SIP/2.0/TRANSPORT host`.
    pub fn parse(value: &'a str) -> Option<ViaRef<'a>> {
        let (transport, rest) = split_protocol(value)?;
        let (sent_by, params) = match rest.find(';') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        let (host, port) = split_host_port_ref(sent_by.trim())?;
        Some(ViaRef {
            transport,
            host,
            port,
            params,
        })
    }

    /// A parameter's value (`Some("")` for a flag without value), as
    /// [`Params::get`] finds it.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        param_value(self.params, name)
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&'a str> {
        self.param("branch").filter(|b| !b.is_empty())
    }

    /// Whether the sent-by is `sent_by` (`host:port`, as
    /// `SocketAddr::to_string` writes it), hosts compared case-insensitively.
    pub fn sent_by_matches(&self, sent_by: &str) -> bool {
        match self.port {
            None => self.host.eq_ignore_ascii_case(sent_by),
            Some(port) => sent_by.rsplit_once(':').is_some_and(|(host, p)| {
                host.eq_ignore_ascii_case(self.host) && p.parse() == Ok(port)
            }),
        }
    }
}

impl Via {
    /// Parses one Via value; `None` when it is not `SIP/2.0/TRANSPORT host`.
    pub fn parse(value: &str) -> Option<Via> {
        let via = ViaRef::parse(value)?;
        Some(Via {
            transport: via.transport.to_ascii_uppercase(),
            host: via.host.to_owned(),
            port: via.port,
            params: Params::parse(via.params),
        })
    }

    /// The branch parameter.
    pub fn branch(&self) -> Option<&str> {
        self.params.get("branch").filter(|b| !b.is_empty())
    }

    /// Writes the value back.
    pub fn to_value(&self) -> String {
        let mut out = format!("SIP/2.0/{} {}", self.transport, self.host);
        if let Some(port) = self.port {
            let _ = write!(out, ":{port}");
        }
        self.params.write(&mut out);
        out
    }
}

/// `SIP / 2.0 / UDP` with any LWS: the transport, then the rest.
fn split_protocol(value: &str) -> Option<(&str, &str)> {
    // What every client writes, `SIP/2.0/UDP host…`, read without the
    // general loop below (its character searches were most of a Via's
    // parse, which runs several times a request): the same answer.
    if let Some(after) = value.strip_prefix("SIP/2.0/") {
        let end = after
            .bytes()
            .position(|b| b == b'/' || b.is_ascii_whitespace() || !b.is_ascii())
            .unwrap_or(after.len());
        if end > 0 && after.as_bytes().get(end).is_some_and(|&b| b == b' ') {
            return Some((&after[..end], after[end..].trim_start()));
        }
    }
    let mut parts = [""; 3];
    let mut rest = value.trim_start();
    for (i, part) in parts.iter_mut().enumerate() {
        let end = rest
            .find(|c: char| c == '/' || c.is_whitespace())
            .unwrap_or(rest.len());
        *part = &rest[..end];
        rest = rest[end..].trim_start();
        if i < 2 {
            rest = rest.strip_prefix('/')?.trim_start();
        }
    }
    let [name, version, transport] = parts;
    if !name.eq_ignore_ascii_case("SIP") || version != "2.0" || transport.is_empty() {
        return None;
    }
    Some((transport, rest))
}

/// `host[:port]`, `[v6]:port`.
pub fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    split_host_port_ref(text).map(|(host, port)| (host.to_owned(), port))
}

/// [`split_host_port`] without copying: the host is a slice of `text`
/// (brackets kept for IPv6).
fn split_host_port_ref(text: &str) -> Option<(&str, Option<u16>)> {
    if text.is_empty() {
        return None;
    }
    if let Some(rest) = text.strip_prefix('[') {
        let close = rest.find(']')?;
        let host = &text[..close + 2];
        let after = &rest[close + 1..];
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.trim().parse().ok()?),
            None if after.trim().is_empty() => None,
            None => return None,
        };
        return Some((host, port));
    }
    match text.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Some((host, Some(port.trim().parse().ok()?))),
        Some(_) => None, // a bare IPv6 address without brackets (RFC 5118 §4.2)
        None => Some((text, None)),
    }
}

/// A name-addr or addr-spec with header parameters (From, To, Contact).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// Display name, unquoted.
    pub display: Option<String>,
    /// The URI text.
    pub uri: String,
    /// Header parameters (after `>`, or after the addr-spec).
    pub params: Params,
}

/// A [`NameAddr`] read in place: slices of the header value. Sanity checks
/// and handlers look at From, To and Contact on every request; the owned
/// form cost an allocation per part and parameter there (callgrind).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameAddrRef<'a> {
    /// Display name, unquoted.
    pub display: Option<&'a str>,
    /// The URI text.
    pub uri: &'a str,
    /// Header parameters (after `>`, or after the addr-spec), as written.
    pub params: &'a str,
}

impl<'a> NameAddrRef<'a> {
    /// Parses one value.
    pub fn parse(value: &'a str) -> Option<NameAddrRef<'a>> {
        let value = value.trim();
        if value == "*" {
            return Some(NameAddrRef {
                display: None,
                uri: value,
                params: "",
            });
        }
        // No display name, the common case: the bracket is at the start
        // (searching for it outside quotes, character by character, was
        // most of the cost of reading a From or To).
        let open = if value.starts_with('<') {
            Some(0)
        } else {
            find_unquoted(value, '<')
        };
        if let Some(open) = open {
            let close = open + value[open..].find('>')?;
            let display = value[..open].trim();
            let display = display.trim_matches('"').trim();
            let uri = &value[open + 1..close];
            // No LWS inside the brackets (RFC 4475 §3.1.2.14 badaspec).
            if uri.is_empty()
                || uri.starts_with(char::is_whitespace)
                || uri.ends_with(char::is_whitespace)
            {
                return None;
            }
            return Some(NameAddrRef {
                display: (!display.is_empty()).then_some(display),
                uri,
                params: &value[close + 1..],
            });
        }
        // addr-spec: parameters after the first `;` belong to the header
        // (RFC 3261 §20.10).
        let (uri, params) = match value.find(';') {
            Some(i) => (value[..i].trim_end(), &value[i..]),
            None => (value, ""),
        };
        // A URI with headers (`?`) must be in angle brackets (RFC 3261
        // §20.10; RFC 4475 §3.1.2.13 regbadct).
        if uri.is_empty() || uri.contains(char::is_whitespace) || uri.contains('?') {
            return None;
        }
        Some(NameAddrRef {
            display: None,
            uri,
            params,
        })
    }

    /// A header parameter's value (`Some("")` for a flag), as
    /// [`Params::get`] finds it.
    pub fn param(&self, name: &str) -> Option<&'a str> {
        param_value(self.params, name)
    }

    /// The tag parameter.
    pub fn tag(&self) -> Option<&'a str> {
        self.param("tag").filter(|t| !t.is_empty())
    }
}

impl NameAddr {
    /// Parses one value.
    pub fn parse(value: &str) -> Option<NameAddr> {
        let address = NameAddrRef::parse(value)?;
        Some(NameAddr {
            display: address.display.map(str::to_owned),
            uri: address.uri.to_owned(),
            params: Params::parse(address.params),
        })
    }

    /// A header parameter.
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name)
    }

    /// The tag parameter.
    pub fn tag(&self) -> Option<&str> {
        self.param("tag").filter(|t| !t.is_empty())
    }

    /// Writes `"Display" <uri>;params`.
    pub fn to_value(&self) -> String {
        let mut out = String::new();
        if let Some(display) = &self.display {
            let _ = write!(out, "\"{display}\" ");
        }
        let _ = write!(out, "<{}>", self.uri);
        self.params.write(&mut out);
        out
    }
}

fn find_unquoted(text: &str, wanted: char) -> Option<usize> {
    let (mut quoted, mut escaped) = (false, false);
    for (i, c) in text.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' && quoted {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if c == wanted && !quoted {
            return Some(i);
        }
    }
    None
}

/// A `sip:`/`sips:` URI, enough to route on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    /// `sip` or `sips`, lower-cased.
    pub scheme: String,
    /// The user part, percent-decoded.
    pub user: Option<String>,
    /// The host, lower-cased (brackets kept for IPv6).
    pub host: String,
    /// The port.
    pub port: Option<u16>,
    /// URI parameters.
    pub params: Params,
}

impl SipUri {
    /// Parses a sip/sips URI; `None` for other schemes or malformed ones.
    pub fn parse(text: &str) -> Option<SipUri> {
        let (scheme, rest) = text.trim().split_once(':')?;
        let scheme = scheme.to_ascii_lowercase();
        if scheme != "sip" && scheme != "sips" {
            return None;
        }
        // The userinfo may hold `?`, `;` and `/` (RFC 3261 §25.1
        // user-unreserved; RFC 4475 §3.1.1.2 intmeth), but `@` appears only
        // as its end: split there first, then cut the headers off the rest.
        let (user, hostpart) = match rest.rfind('@') {
            Some(i) => (Some(percent_decode(&rest[..i])), &rest[i + 1..]),
            None => (None, rest),
        };
        let hostpart = hostpart.split('?').next().unwrap_or(hostpart);
        let user = user.map(|u| u.split(':').next().unwrap_or("").to_owned());
        let (hostport, params) = match hostpart.find(';') {
            Some(i) => (&hostpart[..i], &hostpart[i..]),
            None => (hostpart, ""),
        };
        let (host, port) = split_host_port(hostport)?;
        if host.is_empty() {
            return None;
        }
        Some(SipUri {
            scheme,
            user,
            host: host.to_ascii_lowercase(),
            port,
            params: Params::parse(params),
        })
    }

    /// `user@host`, lower-cased: how a UPN is written.
    pub fn address_of_record(&self) -> Option<String> {
        self.user
            .as_ref()
            .map(|u| format!("{}@{}", u.to_ascii_lowercase(), self.host))
    }

    /// The transport parameter, upper-cased.
    pub fn transport(&self) -> Option<String> {
        self.params.get("transport").map(str::to_ascii_uppercase)
    }
}

/// The address of record (`user@host`, lower-cased) a From, To or Contact
/// value names: what `NameAddr::parse`, `SipUri::parse` and
/// `SipUri::address_of_record` give, with one allocation instead of one per
/// part (the registrar and the authenticator read it on every request).
pub fn address_of_record(value: &str) -> Option<String> {
    let uri = NameAddrRef::parse(value)?.uri.trim();
    let (scheme, rest) = uri.split_once(':')?;
    if !scheme.eq_ignore_ascii_case("sip") && !scheme.eq_ignore_ascii_case("sips") {
        return None;
    }
    let at = rest.rfind('@')?;
    let (user, hostpart) = (&rest[..at], &rest[at + 1..]);
    let hostpart = hostpart.split('?').next().unwrap_or(hostpart);
    let hostport = hostpart.split(';').next().unwrap_or(hostpart);
    let (host, _) = split_host_port_ref(hostport)?;
    if host.is_empty() {
        return None;
    }
    let mut aor = if user.contains('%') {
        percent_decode(user)
    } else {
        user.to_owned()
    };
    // The password, if any, is not part of the address (RFC 3261 §19.1.1).
    if let Some(colon) = aor.find(':') {
        aor.truncate(colon);
    }
    aor.push('@');
    aor.push_str(host);
    aor.make_ascii_lowercase();
    Some(aor)
}

/// Whether a `sip:`/`sips:` URI carries headers (`?name=value` after the
/// host). A `?` inside the userinfo is not one (RFC 4475 §3.1.1.2 intmeth).
pub fn sip_uri_has_headers(text: &str) -> bool {
    let rest = text.split_once(':').map_or(text, |(_, rest)| rest);
    let hostpart = rest.rfind('@').map_or(rest, |i| &rest[i + 1..]);
    hostpart.contains('?')
}

/// The scheme of a URI (`sip`, `tel`, `http`…), lower-cased.
pub fn uri_scheme(text: &str) -> Option<String> {
    uri_scheme_ref(text).map(str::to_ascii_lowercase)
}

/// [`uri_scheme`] as written (compare case-insensitively), without a copy.
pub fn uri_scheme_ref(text: &str) -> Option<&str> {
    let (scheme, _) = text.trim().split_once(':')?;
    (!scheme.is_empty()
        && scheme
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"+-.".contains(&c)))
    .then_some(scheme)
}

/// Decodes `%XX` escapes (RFC 3261 §19.1.2); invalid escapes stay as they are.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%'
            && let (Some(h), Some(l)) = (
                bytes.get(i + 1).and_then(|c| (*c as char).to_digit(16)),
                bytes.get(i + 2).and_then(|c| (*c as char).to_digit(16)),
            )
        {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The `name=value` pairs of a `Digest …` credentials or challenge value
/// (RFC 7616 §3.4), names lower-cased, values unquoted; `None` when the
/// scheme is not Digest or the list does not parse.
pub fn digest_params(value: &str) -> Option<Vec<(String, String)>> {
    Some(
        digest_items(value)?
            .into_iter()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.into_owned()))
            .collect(),
    )
}

/// [`digest_params`] read in place: names as written (compare them
/// case-insensitively), values unquoted, copied only when they hold
/// escapes. The registrar reads a client's credentials on every REGISTER;
/// an owned pair per parameter cost some 20 000 instructions there
/// (callgrind).
pub fn digest_items(value: &str) -> Option<Vec<(&str, Cow<'_, str>)>> {
    let mut out = Vec::with_capacity(12);
    for item in DigestItems::new(value)? {
        out.push(item?);
    }
    Some(out)
}

/// The `name=value` items of a `Digest …` value one by one, without a
/// vector: `None` for an item where the list stops parsing (the whole
/// value is then not credentials).
#[derive(Debug, Clone)]
pub struct DigestItems<'a> {
    rest: &'a str,
    failed: bool,
}

impl<'a> DigestItems<'a> {
    /// The items of `value`; `None` when its scheme is not Digest.
    pub fn new(value: &'a str) -> Option<DigestItems<'a>> {
        let value = value.trim();
        let (scheme, rest) = value.split_once(char::is_whitespace)?;
        if !scheme.eq_ignore_ascii_case("Digest") {
            return None;
        }
        Some(DigestItems {
            rest: rest.trim_start(),
            failed: false,
        })
    }
}

impl<'a> Iterator for DigestItems<'a> {
    type Item = Option<(&'a str, Cow<'a, str>)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() || self.failed {
            return None;
        }
        let item = digest_item(self.rest);
        match item {
            Some((key, value, rest)) => {
                self.rest = rest;
                Some(Some((key, value)))
            }
            None => {
                self.failed = true;
                Some(None)
            }
        }
    }
}

/// The first `name=value` of `rest`, and what follows its comma. Read a
/// byte at a time (the delimiters are ASCII): the `str` searches and
/// trims it replaced cost about 650 instructions an item, and a REGISTER's
/// credentials have ten.
fn digest_item(rest: &str) -> Option<(&str, Cow<'_, str>, &str)> {
    let bytes = rest.as_bytes();
    let eq = memchr::memchr(b'=', bytes)?;
    let key = rest[..eq].trim();
    let mut at = skip_whitespace(rest, eq + 1);
    let value;
    if bytes.get(at) == Some(&b'"') {
        let open = at + 1;
        let mut escaped = false;
        let mut close = None;
        for (i, &c) in bytes.iter().enumerate().skip(open) {
            if escaped {
                escaped = false;
            } else if c == b'\\' {
                escaped = true;
            } else if c == b'"' {
                close = Some(i);
                break;
            }
        }
        let close = close?;
        let inner = &rest[open..close];
        value = if memchr::memchr(b'\\', inner.as_bytes()).is_some() {
            Cow::Owned(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
        } else {
            Cow::Borrowed(inner)
        };
        at = skip_whitespace(rest, close + 1);
    } else {
        let end = memchr::memchr(b',', &bytes[at..]).map_or(bytes.len(), |i| at + i);
        value = Cow::Borrowed(rest[at..end].trim());
        at = end;
    }
    if bytes.get(at) == Some(&b',') {
        at = skip_whitespace(rest, at + 1);
    }
    Some((key, value, &rest[at..]))
}

/// The index of the first character at or after `at` that is not
/// whitespace: what `trim_start` skips, ASCII read byte by byte.
fn skip_whitespace(text: &str, mut at: usize) -> usize {
    let bytes = text.as_bytes();
    while bytes.get(at).is_some_and(u8::is_ascii_whitespace) {
        at += 1;
    }
    match text.get(at..) {
        Some(rest) if bytes.get(at).is_some_and(|b| !b.is_ascii()) => {
            at + rest.len() - rest.trim_start().len()
        }
        _ => at,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn via_with_lws_and_params_rfc4475_3_1_1_1() {
        let via = Via::parse("SIP  /   2.0 /UDP 192.0.2.2;rport;branch=390skdjuw").unwrap();
        assert_eq!(via.transport, "UDP");
        assert_eq!(via.host, "192.0.2.2");
        assert_eq!(via.port, None);
        assert_eq!(via.params.get("rport"), Some(""));
        assert_eq!(via.branch(), Some("390skdjuw"));
    }

    #[test]
    fn via_ipv6_sent_by_rfc5118() {
        let via = Via::parse("SIP/2.0/UDP [2001:db8::9:1]:5070;branch=z9hG4bKas3").unwrap();
        assert_eq!(via.host, "[2001:db8::9:1]");
        assert_eq!(via.port, Some(5070));
        assert!(Via::parse("SIP/2.0/UDP 2001:db8::9:1;branch=x").is_none());
    }

    #[test]
    fn the_borrowed_via_reads_what_the_owned_one_does() {
        for value in [
            "SIP  /   2.0 /UDP 192.0.2.2;rport;branch=390skdjuw",
            "SIP/2.0/tcp [2001:db8::9:1]:5070 ; Branch = z9hG4bKas3 ;received=192.0.2.1",
            "SIP/2.0/UDP host.example.com:5060;branch=",
        ] {
            let (owned, view) = (Via::parse(value).unwrap(), ViaRef::parse(value).unwrap());
            assert_eq!(owned.transport, view.transport.to_ascii_uppercase());
            assert_eq!((owned.host.as_str(), owned.port), (view.host, view.port));
            assert_eq!(owned.branch(), view.branch());
            for name in ["rport", "RECEIVED", "branch", "maddr"] {
                assert_eq!(owned.params.get(name), view.param(name), "{value}: {name}");
            }
        }
        assert!(ViaRef::parse("SIP/2.0/UDP 2001:db8::9:1;branch=x").is_none());
        assert!(ViaRef::parse("SIP/3.0/UDP h;branch=x").is_none());
    }

    #[test]
    fn the_borrowed_name_addr_reads_what_the_owned_one_does() {
        for value in [
            r#""Bob \"B\" <x>" <sip:bob@b.test;transport=tcp>;tag=9f;expires=60"#,
            "sip:carol@c.test;tag=77 ; q = 0.5",
            "<tel:+15551234567>",
            "*",
        ] {
            let (owned, view) = (
                NameAddr::parse(value).unwrap(),
                NameAddrRef::parse(value).unwrap(),
            );
            assert_eq!(owned.display.as_deref(), view.display, "{value}");
            assert_eq!(owned.uri, view.uri, "{value}");
            assert_eq!(owned.tag(), view.tag(), "{value}");
            for name in ["tag", "TAG", "q", "expires", "transport"] {
                assert_eq!(owned.param(name), view.param(name), "{value}: {name}");
            }
        }
        assert_eq!(
            NameAddrRef::parse("sip:a@b.test;tag=1").unwrap().tag(),
            Some("1")
        );
        assert!(NameAddrRef::parse("sip:a@b.test?subject=x").is_none());
        assert!(NameAddrRef::parse("<sip:a@b.test >").is_none());
    }

    #[test]
    fn the_one_allocation_address_of_record_is_the_parsed_ones() {
        let by_parts = |value: &str| {
            NameAddr::parse(value)
                .and_then(|a| SipUri::parse(&a.uri))
                .and_then(|u| u.address_of_record())
        };
        for value in [
            "<sip:Alice@Contoso.Test>;tag=1",
            r#""Bob" <sips:bob:secret@b.test:5061;transport=tls?subject=x>"#,
            "sip:carol%40home@c.test;tag=2",
            "<sip:%41lice@[2001:db8::1]:5060>",
            "<sip:user;par=u%40example.net@example.com>",
            "<sip:c.test>",
            "<sip:@c.test>",
            "<sip:a@>",
            "<tel:+15551234567>",
            "<SIP:dave@D.TEST:0>",
            "sip:eve@2001:db8::1",
            "nonsense",
        ] {
            assert_eq!(address_of_record(value), by_parts(value), "{value}");
        }
        assert_eq!(
            address_of_record("<sip:Alice@Contoso.Test>").as_deref(),
            Some("alice@contoso.test")
        );
    }

    #[test]
    fn a_via_sent_by_matches_host_and_port_rfc3261_16_3() {
        let via = ViaRef::parse("SIP/2.0/UDP Proxy.Example:05060;branch=z9hG4bK1").unwrap();
        assert!(via.sent_by_matches("proxy.example:5060"));
        assert!(!via.sent_by_matches("proxy.example:5061"));
        assert!(!via.sent_by_matches("proxy.example"));
        let v6 = ViaRef::parse("SIP/2.0/UDP [::1]:5060;branch=z9hG4bK1").unwrap();
        assert!(v6.sent_by_matches("[::1]:5060"));
        let portless = ViaRef::parse("SIP/2.0/UDP proxy.example;branch=z9hG4bK1").unwrap();
        assert!(!portless.sent_by_matches("proxy.example:5060"));
    }

    #[test]
    fn name_addr_forms() {
        let a = NameAddr::parse(r#""J Rosenberg \"" <sip:jdrosen@example.com>;tag=98"#).unwrap();
        assert_eq!(a.uri, "sip:jdrosen@example.com");
        assert_eq!(a.tag(), Some("98"));
        let b = NameAddr::parse("sip:bob@example.com;tag=1").unwrap();
        assert_eq!(b.uri, "sip:bob@example.com");
        assert_eq!(b.tag(), Some("1"));
    }

    #[test]
    fn sip_uri_parts_and_escapes() {
        let u = SipUri::parse("sip:%61lice@Contoso.TEST:5070;transport=tcp").unwrap();
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.host, "contoso.test");
        assert_eq!(u.port, Some(5070));
        assert_eq!(u.transport().as_deref(), Some("TCP"));
        assert_eq!(u.address_of_record().as_deref(), Some("alice@contoso.test"));
        assert!(SipUri::parse("tel:+1234").is_none());
        assert_eq!(uri_scheme("kaplooi:x").as_deref(), Some("kaplooi"));
    }

    #[test]
    fn sip_uri_with_question_mark_and_semicolons_in_the_user_rfc4475_3_1_1_2() {
        let text = "sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com";
        let u = SipUri::parse(text).unwrap();
        assert_eq!(u.host, "example.com");
        assert_eq!(
            u.user.as_deref(),
            Some("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*")
        );
        assert!(u.params.0.is_empty());
        assert!(!sip_uri_has_headers(text));
        assert!(sip_uri_has_headers(
            "sip:user@example.com?Route=%3Csip:sip.example.com%3E"
        ));
        let h = SipUri::parse("sip:user@example.com;lr?Route=x").unwrap();
        assert_eq!(h.host, "example.com");
        assert_eq!(
            h.params.get("lr"),
            Some(""),
            "the headers are not a parameter"
        );
    }

    #[test]
    fn addr_spec_with_headers_must_be_bracketed_rfc4475_3_1_2_13() {
        assert!(NameAddr::parse("sip:user@example.com?Route=%3Csip:sip.example.com%3E").is_none());
        let bracketed = NameAddr::parse("<sip:user@example.com?Route=%3Csip:sip.example.com%3E>");
        assert!(bracketed.is_some());
    }

    #[test]
    fn the_byte_reader_of_digest_items_reads_what_the_str_one_did() {
        /// The reader before it went byte by byte: the reference.
        fn reference(value: &str) -> Option<Vec<(&str, Cow<'_, str>)>> {
            let value = value.trim();
            let (scheme, rest) = value.split_once(char::is_whitespace)?;
            if !scheme.eq_ignore_ascii_case("Digest") {
                return None;
            }
            let mut out = Vec::new();
            let mut rest = rest.trim_start();
            while !rest.is_empty() {
                let eq = rest.find('=')?;
                let key = rest[..eq].trim();
                rest = rest[eq + 1..].trim_start();
                let val;
                if let Some(quoted) = rest.strip_prefix('"') {
                    let mut end = None;
                    let mut escaped = false;
                    for (i, c) in quoted.bytes().enumerate() {
                        if escaped {
                            escaped = false;
                        } else if c == b'\\' {
                            escaped = true;
                        } else if c == b'"' {
                            end = Some(i);
                            break;
                        }
                    }
                    let end = end?;
                    let inner = &quoted[..end];
                    val = if inner.contains('\\') {
                        Cow::Owned(inner.replace("\\\"", "\"").replace("\\\\", "\\"))
                    } else {
                        Cow::Borrowed(inner)
                    };
                    rest = quoted[end + 1..].trim_start();
                } else {
                    let end = rest.find(',').unwrap_or(rest.len());
                    val = Cow::Borrowed(rest[..end].trim());
                    rest = &rest[end..];
                }
                out.push((key, val));
                rest = rest
                    .trim_start()
                    .strip_prefix(',')
                    .unwrap_or(rest)
                    .trim_start();
            }
            Some(out)
        }
        let base = r#"Digest username="u000001@contoso.test",realm="contoso.test", cnonce="6b8b4567",nc=00000001,qop=auth,uri="sip:contoso.test",nonce="0a1b", response="9c0e",algorithm=MD5"#;
        let edits = [
            " ", "\t", ",", "\"", "=", "\\", "\u{3000}", "é", ", ,", "\\\"",
        ];
        let mut inputs = vec![
            base.to_owned(),
            "Digest a=\"x\\\"y\" b=c".to_owned(),
            "Digest ".to_owned(),
        ];
        for at in (0..base.len()).filter(|&i| base.is_char_boundary(i)) {
            for edit in edits {
                inputs.push(format!("{}{edit}{}", &base[..at], &base[at..]));
            }
        }
        for input in &inputs {
            assert_eq!(digest_items(input), reference(input), "{input:?}");
        }
        assert!(inputs.len() > 1_000);
    }

    #[test]
    fn digest_params_quoted_and_bare() {
        let p =
            digest_params(r#"Digest username="a@b", nc=00000001, uri="sip:b", qop=auth"#).unwrap();
        assert_eq!(p[0], ("username".into(), "a@b".into()));
        assert_eq!(p[1], ("nc".into(), "00000001".into()));
        assert_eq!(p[3], ("qop".into(), "auth".into()));
        assert!(digest_params("Basic abc").is_none());
    }
}
