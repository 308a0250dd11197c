//! The checks a careful proxy makes before acting on a request (RFC 3261
//! §8.2, §16.3; Kamailio's `sanity` module), each mapped to its precise
//! status.

use crate::headers::{NameAddrRef, ViaRef, sip_uri_has_headers, uri_scheme_ref};
use crate::message::{Method, SipMessage};

/// Why a request is answered without being acted on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Status code.
    pub code: u16,
    /// Reason phrase.
    pub reason: String,
    /// Extra headers for the response (e.g. `Unsupported` with 420).
    pub headers: Vec<(&'static str, String)>,
}

impl Rejection {
    fn new(code: u16, reason: impl Into<String>) -> Rejection {
        Rejection {
            code,
            reason: reason.into(),
            headers: Vec::new(),
        }
    }

    /// The response to `request`.
    pub fn respond_to(&self, request: &SipMessage, to_tag: &str) -> SipMessage {
        let mut response = request.response(self.code, &self.reason, Some(to_tag));
        for (name, value) in &self.headers {
            response.push(name, value.clone());
        }
        response
    }
}

/// Option tags we implement (none needs a `Require` from the client).
const SUPPORTED: &[&str] = &[];

/// Checks a request. `our_branch_prefix` and `our_sent_by` identify Via
/// entries this server wrote, for loop detection.
pub fn check_request(
    request: &SipMessage,
    our_sent_by: &str,
    our_branch_prefix: &str,
) -> Result<(), Rejection> {
    let Some(method) = request.method() else {
        return Err(Rejection::new(400, "Bad Request (not a request)"));
    };

    // RFC 3261 §8.1.1: the mandatory headers, once each where singular
    // (RFC 4475 §3.3.1 insuf, §3.3.8 multi01). One pass counts them all and
    // notes the first of each field the checks below read (a lookup per
    // check was a scan of every field each).
    let mut fields = Fields::default();
    for header in &request.headers {
        fields.note(&header.name, &header.value);
    }
    for (name, count) in [
        ("To", fields.to.1),
        ("From", fields.from.1),
        ("Call-ID", fields.call_id),
        ("CSeq", fields.cseq.1),
        ("Via", fields.via),
    ] {
        if count == 0 {
            return Err(Rejection::new(400, format!("Missing {name}")));
        }
    }
    for (name, count) in [
        ("To", fields.to.1),
        ("From", fields.from.1),
        ("Call-ID", fields.call_id),
        ("CSeq", fields.cseq.1),
        ("Max-Forwards", fields.max_forwards.1),
    ] {
        if count > 1 {
            return Err(Rejection::new(400, format!("Multiple {name}")));
        }
    }
    for (name, value) in [("To", fields.to.0), ("From", fields.from.0)] {
        let valid = value
            .and_then(NameAddrRef::parse)
            .is_some_and(|a| uri_scheme_ref(a.uri).is_some());
        if !valid {
            return Err(Rejection::new(400, format!("Malformed {name}")));
        }
    }
    // Every Via well formed; a loop (RFC 3261 §16.3 step 4: a Via this
    // server wrote, coming back) is answered last, after the 400s.
    let mut looped = false;
    for value in request.header_items("Via") {
        let Some(via) = ViaRef::parse(value) else {
            return Err(Rejection::new(400, "Malformed Via"));
        };
        looped |= via.sent_by_matches(our_sent_by)
            && via
                .branch()
                .is_some_and(|b| b.starts_with(our_branch_prefix));
    }
    // Each Contact a name-addr, an addr-spec without headers, or `*`
    // (RFC 3261 §20.10; RFC 4475 §3.1.2.13 regbadct).
    if fields.contact
        && request
            .header_items("Contact")
            .any(|value| NameAddrRef::parse(value).is_none())
    {
        return Err(Rejection::new(400, "Malformed Contact"));
    }
    // Date is an RFC 1123 date in GMT (RFC 3261 §20.17; RFC 4475 §3.1.2.12
    // baddate). We never use it, but a proxy must not pass a bad one on.
    if let Some(value) = fields.date
        && !is_sip_date(value)
    {
        return Err(Rejection::new(400, "Malformed Date"));
    }

    // RFC 3261 §8.1.1.5: CSeq is a 32-bit number below 2^31 and names the
    // request's method (RFC 4475 §3.1.2.4 scalar02, §3.1.2.18 mismatch01/02).
    match fields.cseq.0.and_then(crate::message::parse_cseq) {
        Some((number, cseq_method)) if number < (1 << 31) => {
            if cseq_method != method {
                return Err(Rejection::new(400, "CSeq method does not match"));
            }
        }
        _ => return Err(Rejection::new(400, "Malformed CSeq")),
    }

    // Max-Forwards: a decimal 0..=255 (RFC 4475 §3.1.2.4: 300 is a 400);
    // 0 on a request we would pass on is a 483 (RFC 3261 §16.3 step 2).
    if let Some(value) = fields.max_forwards.0 {
        match value.trim().parse::<u16>() {
            Ok(n) if n <= 255 => {
                if n == 0 && !matches!(method, Method::Register | Method::Options) {
                    return Err(Rejection::new(483, "Too Many Hops"));
                }
            }
            _ => return Err(Rejection::new(400, "Malformed Max-Forwards")),
        }
    }

    // Expires: a delta-seconds (RFC 4475 §3.1.2.4 scalar02 overflows it).
    if let Some(value) = fields.expires
        && value.trim().parse::<u32>().is_err()
    {
        return Err(Rejection::new(400, "Malformed Expires"));
    }

    // Request-URI scheme (RFC 3261 §8.2.2.1; RFC 4475 §3.3.2 unkscm).
    let uri = request.uri().unwrap_or("");
    let is = |scheme: &str, name: &str| scheme.eq_ignore_ascii_case(name);
    match uri_scheme_ref(uri) {
        // Headers have no place in a Request-URI (RFC 3261 §19.1.5; RFC 4475 §3.1.2.11).
        Some(s) if (is(s, "sip") || is(s, "sips")) && sip_uri_has_headers(uri) => {
            return Err(Rejection::new(400, "Malformed Request-URI"));
        }
        Some(s) if is(s, "sip") || is(s, "sips") => {}
        // RFC 3966 numbers, as PSTN gateways and sfb clients dial them: a
        // call (and its CANCEL, and the ACK of a failed one, which share its
        // Request-URI) reaches the phone-network code (R6); nothing else
        // addresses a number.
        Some(s)
            if is(s, "tel") && matches!(method, Method::Invite | Method::Cancel | Method::Ack) =>
        {
            if !is_tel_uri(uri) {
                return Err(Rejection::new(400, "Malformed Request-URI"));
            }
        }
        Some(_) => return Err(Rejection::new(416, "Unsupported URI Scheme")),
        None => return Err(Rejection::new(400, "Malformed Request-URI")),
    }

    // Extensions we do not have (RFC 3261 §8.2.2.3; RFC 4475 §3.3.5 bext01).
    // CANCEL and ACK never carry a Require we may refuse (§8.2.2.3).
    if fields.requires && !matches!(method, Method::Ack | Method::Cancel) {
        let mut unsupported: Vec<&str> = Vec::new();
        for name in ["Proxy-Require", "Require"] {
            for tag in request.header_items(name) {
                if !SUPPORTED.iter().any(|s| s.eq_ignore_ascii_case(tag)) {
                    unsupported.push(tag);
                }
            }
        }
        if !unsupported.is_empty() {
            let mut rejection = Rejection::new(420, "Bad Extension");
            rejection
                .headers
                .push(("Unsupported", unsupported.join(", ")));
            return Err(rejection);
        }
    }

    if looped {
        return Err(Rejection::new(482, "Loop Detected"));
    }
    Ok(())
}

/// The first value and the count of the fields [`check_request`] reads,
/// noted in one pass over the header fields.
#[derive(Debug, Default)]
struct Fields<'a> {
    to: (Option<&'a str>, usize),
    from: (Option<&'a str>, usize),
    cseq: (Option<&'a str>, usize),
    max_forwards: (Option<&'a str>, usize),
    call_id: usize,
    via: usize,
    expires: Option<&'a str>,
    date: Option<&'a str>,
    contact: bool,
    requires: bool,
}

impl<'a> Fields<'a> {
    /// Notes one field (names are canonical: the parser and `push` spell
    /// every known name one way; the comparison ignores case all the same).
    fn note(&mut self, name: &str, value: &'a str) {
        let first = |slot: &mut (Option<&'a str>, usize)| {
            slot.0.get_or_insert(value);
            slot.1 += 1;
        };
        let is = |known: &str| name.eq_ignore_ascii_case(known);
        match name.len() {
            2 if is("To") => first(&mut self.to),
            3 if is("Via") => self.via += 1,
            4 if is("From") => first(&mut self.from),
            4 if is("CSeq") => first(&mut self.cseq),
            4 if is("Date") => {
                self.date.get_or_insert(value);
            }
            7 if is("Call-ID") => self.call_id += 1,
            7 if is("Expires") => {
                self.expires.get_or_insert(value);
            }
            7 if is("Contact") => self.contact = true,
            7 if is("Require") => self.requires = true,
            12 if is("Max-Forwards") => first(&mut self.max_forwards),
            13 if is("Proxy-Require") => self.requires = true,
            _ => {}
        }
    }
}

/// An RFC 3966 `tel:` URI: a number of digits, visual separators and (for
/// a global number) a leading `+`, then `;`-parameters; no headers.
fn is_tel_uri(uri: &str) -> bool {
    let Some(rest) = uri.get(4..) else {
        return false;
    };
    let number = rest.split(';').next().unwrap_or("");
    let digits = number.strip_prefix('+').unwrap_or(number);
    !digits.is_empty()
        && digits.bytes().any(|b| b.is_ascii_digit())
        && digits
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b"*#-.()".contains(&b))
        && !rest.contains(['?', ' ', '<', '>'])
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 3261 §25.1 SIP-date, RFC 2616
/// rfc1123-date): the shape, the names and the ranges; not the calendar.
fn is_sip_date(value: &str) -> bool {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    fn number(text: &str, digits: usize, max: u32) -> bool {
        text.len() == digits
            && text.bytes().all(|b| b.is_ascii_digit())
            && text.parse::<u32>().is_ok_and(|n| n <= max)
    }
    let Some((day, rest)) = value.trim().split_once(", ") else {
        return false;
    };
    let parts: Vec<&str> = rest.split(' ').collect();
    let [date, month, year, time, zone] = parts.as_slice() else {
        return false;
    };
    let clock: Vec<&str> = time.split(':').collect();
    DAYS.contains(&day)
        && number(date, 2, 31)
        && MONTHS.contains(month)
        && number(year, 4, 9999)
        && matches!(clock.as_slice(), [h, m, s] if number(h, 2, 23) && number(m, 2, 59) && number(s, 2, 60))
        && *zone == "GMT"
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;
    use crate::wire::parse_datagram;

    fn req(extra: &str, cseq: &str) -> SipMessage {
        let text = format!(
            "MESSAGE sip:bob@b.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa\r\nFrom: <sip:a@b.test>;tag=1\r\nTo: <sip:bob@b.test>\r\nCall-ID: c1\r\nCSeq: {cseq}\r\n{extra}Content-Length: 0\r\n\r\n"
        );
        parse_datagram(text.as_bytes()).unwrap()
    }

    fn code(m: &SipMessage) -> Option<u16> {
        check_request(m, "127.0.0.1:5060", "z9hG4bKcx")
            .err()
            .map(|r| r.code)
    }

    #[test]
    fn date_must_be_gmt_rfc4475_3_1_2_12() {
        assert!(is_sip_date("Sat, 13 Nov 2010 23:29:00 GMT"));
        assert!(!is_sip_date("Fri, 01 Jan 2010 16:00:00 EST"));
        assert!(!is_sip_date("01 Jan 2010 16:00:00 GMT"));
        assert!(!is_sip_date("Fri, 1 Jan 2010 16:00:00 GMT"));
        assert_eq!(
            code(&req("Date: Fri, 01 Jan 2010 16:00:00 EST\r\n", "1 MESSAGE")),
            Some(400)
        );
        assert_eq!(
            code(&req("Date: Sat, 13 Nov 2010 23:29:00 GMT\r\n", "1 MESSAGE")),
            None
        );
    }

    #[test]
    fn contact_with_unbracketed_headers_is_400_rfc4475_3_1_2_13() {
        let bad = "Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E\r\n";
        assert_eq!(code(&req(bad, "1 MESSAGE")), Some(400));
        let good = "Contact: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>\r\n";
        assert_eq!(code(&req(good, "1 MESSAGE")), None);
    }

    #[test]
    fn a_question_mark_in_the_request_uri_user_is_not_a_header_rfc4475_3_1_1_2() {
        let text = "MESSAGE sip:a?b;c@b.test SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa\r\nFrom: <sip:a@b.test>;tag=1\r\nTo: <sip:bob@b.test>\r\nCall-ID: c1\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(code(&parse_datagram(text.as_bytes()).unwrap()), None);
    }

    #[test]
    fn a_sane_request_passes() {
        assert_eq!(code(&req("Max-Forwards: 70\r\n", "1 MESSAGE")), None);
    }

    #[test]
    fn max_forwards_zero_is_483_and_300_is_400() {
        assert_eq!(code(&req("Max-Forwards: 0\r\n", "1 MESSAGE")), Some(483));
        assert_eq!(code(&req("Max-Forwards: 300\r\n", "1 MESSAGE")), Some(400));
    }

    #[test]
    fn cseq_method_mismatch_and_overflow_are_400() {
        assert_eq!(code(&req("", "1 INVITE")), Some(400));
        assert_eq!(code(&req("", "4294967296 MESSAGE")), Some(400));
        assert_eq!(code(&req("", "2147483648 MESSAGE")), Some(400));
    }

    #[test]
    fn unknown_proxy_require_is_420_with_unsupported() {
        let m = req("Proxy-Require: noodles\r\n", "1 MESSAGE");
        let r = check_request(&m, "x", "y").unwrap_err();
        assert_eq!(r.code, 420);
        assert_eq!(r.headers, vec![("Unsupported", "noodles".to_owned())]);
    }

    #[test]
    fn our_own_via_coming_back_is_a_loop_482() {
        let m = req(
            "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKcx123\r\n",
            "1 MESSAGE",
        );
        assert_eq!(code(&m), Some(482));
    }

    /// The request, or `None` when the parser already refuses it (a 400).
    fn parsed_with_uri(method: &str, uri: &str) -> Option<SipMessage> {
        let text = format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKa\r\nFrom: <sip:a@b.test>;tag=1\r\nTo: <sip:x@b.test>\r\nCall-ID: c1\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
        );
        parse_datagram(text.as_bytes()).ok()
    }

    fn with_uri(method: &str, uri: &str) -> SipMessage {
        parsed_with_uri(method, uri).unwrap()
    }

    #[test]
    fn r6_tel_request_uris_reach_the_call_code_rfc3966() {
        for uri in [
            "tel:+15551234567",
            "tel:+1-555-123-4567;phone-context=+1",
            "tel:7042;phone-context=example.com",
        ] {
            assert_eq!(code(&with_uri("INVITE", uri)), None, "{uri}");
            assert_eq!(code(&with_uri("CANCEL", uri)), None, "{uri}");
        }
        // Only calls address numbers; other schemes stay 416 (RFC 3261 §8.2.2.1).
        assert_eq!(code(&with_uri("MESSAGE", "tel:+15551234567")), Some(416));
        assert_eq!(code(&with_uri("SUBSCRIBE", "tel:+15551234567")), Some(416));
        assert_eq!(code(&with_uri("INVITE", "fax:+15551234567")), Some(416));
        for bad in ["tel:", "tel:+;x=y", "tel:+1555?x=y", "tel:abc"] {
            let answer = parsed_with_uri("INVITE", bad).map_or(Some(400), |m| code(&m));
            assert_eq!(answer, Some(400), "{bad}");
        }
    }

    #[test]
    fn missing_call_id_is_400() {
        let mut m = req("", "1 MESSAGE");
        m.remove("Call-ID");
        assert_eq!(code(&m), Some(400));
    }
}
