//! Header names: the canonical spelling of every name we know, as a
//! `&'static str`. A parsed header's name then costs no allocation, and a
//! compact form (`v`) reads as its long form (`Via`).

use std::borrow::Cow;

/// Every name we know, canonical spelling: the list that [`long_form`]'s
/// `match` is held to by the tests below.
#[cfg(test)]
const KNOWN: &[&str] = &[
    "Via",
    "From",
    "To",
    "Call-ID",
    "CSeq",
    "Contact",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Expires",
    "Authorization",
    "Proxy-Authorization",
    "User-Agent",
    "Allow",
    "Supported",
    "Event",
    "Route",
    "Record-Route",
    "Require",
    "Proxy-Require",
    "Subscription-State",
    "Accept",
    "Accept-Contact",
    "Accept-Encoding",
    "Accept-Language",
    "Alert-Info",
    "Allow-Events",
    "Authentication-Info",
    "Call-Info",
    "Content-Disposition",
    "Content-Encoding",
    "Content-Language",
    "Date",
    "Error-Info",
    "Feature-Caps",
    "Identity",
    "Identity-Info",
    "Flow-Timer",
    "In-Reply-To",
    "History-Info",
    "MIME-Version",
    "Min-Expires",
    "Min-SE",
    "Organization",
    "Path",
    "P-Asserted-Identity",
    "P-Preferred-Identity",
    "Priority",
    "Privacy",
    "Proxy-Authenticate",
    "RAck",
    "Reason",
    "Refer-Sub",
    "Refer-To",
    "Referred-By",
    "Reject-Contact",
    "Replaces",
    "Reply-To",
    "Request-Disposition",
    "Retry-After",
    "RSeq",
    "Server",
    "Service-Route",
    "Session-Expires",
    "SIP-ETag",
    "SIP-If-Match",
    "Subject",
    "Timestamp",
    "Unsupported",
    "Warning",
    "WWW-Authenticate",
];

/// The long form of a compact name (RFC 3261 §7.3.3; RFC 3265, 3515, 3841,
/// 3892, 4028, 4474).
fn compact(letter: u8) -> Option<&'static str> {
    Some(match letter.to_ascii_lowercase() {
        b'v' => "Via",
        b'f' => "From",
        b't' => "To",
        b'i' => "Call-ID",
        b'm' => "Contact",
        b'l' => "Content-Length",
        b'c' => "Content-Type",
        b'e' => "Content-Encoding",
        b'k' => "Supported",
        b's' => "Subject",
        b'o' => "Event",
        b'u' => "Allow-Events",
        b'r' => "Refer-To",
        b'b' => "Referred-By",
        b'a' => "Accept-Contact",
        b'j' => "Reject-Contact",
        b'd' => "Request-Disposition",
        b'x' => "Session-Expires",
        b'y' => "Identity",
        b'n' => "Identity-Info",
        _ => return None,
    })
}

/// The canonical spelling of a name we know (any case, compact or long).
pub fn known(name: &str) -> Option<&'static str> {
    known_bytes(name.as_bytes())
}

/// [`known`] from the name's bytes (the parser has them).
pub fn known_bytes(name: &[u8]) -> Option<&'static str> {
    match name {
        [letter] => compact(*letter),
        _ => long_form(name),
    }
}

/// The canonical spelling of a known long name, from its bytes in any
/// case: lower-cased into a buffer on the stack, then one `match` (a
/// length switch and a comparison or two). It runs for every header of
/// every message; the search of [`KNOWN`] it replaces cost about 180
/// instructions a header (callgrind). A test holds it to [`KNOWN`].
fn long_form(name: &[u8]) -> Option<&'static str> {
    let mut lower = [0u8; 24];
    let lower = lower.get_mut(..name.len())?;
    for (to, from) in lower.iter_mut().zip(name) {
        *to = from.to_ascii_lowercase();
    }
    Some(match &*lower {
        b"via" => "Via",
        b"from" => "From",
        b"to" => "To",
        b"call-id" => "Call-ID",
        b"cseq" => "CSeq",
        b"contact" => "Contact",
        b"max-forwards" => "Max-Forwards",
        b"content-length" => "Content-Length",
        b"content-type" => "Content-Type",
        b"expires" => "Expires",
        b"authorization" => "Authorization",
        b"proxy-authorization" => "Proxy-Authorization",
        b"user-agent" => "User-Agent",
        b"allow" => "Allow",
        b"supported" => "Supported",
        b"event" => "Event",
        b"route" => "Route",
        b"record-route" => "Record-Route",
        b"require" => "Require",
        b"proxy-require" => "Proxy-Require",
        b"subscription-state" => "Subscription-State",
        b"accept" => "Accept",
        b"accept-contact" => "Accept-Contact",
        b"accept-encoding" => "Accept-Encoding",
        b"accept-language" => "Accept-Language",
        b"alert-info" => "Alert-Info",
        b"allow-events" => "Allow-Events",
        b"authentication-info" => "Authentication-Info",
        b"call-info" => "Call-Info",
        b"content-disposition" => "Content-Disposition",
        b"content-encoding" => "Content-Encoding",
        b"content-language" => "Content-Language",
        b"date" => "Date",
        b"error-info" => "Error-Info",
        b"feature-caps" => "Feature-Caps",
        b"identity" => "Identity",
        b"identity-info" => "Identity-Info",
        b"flow-timer" => "Flow-Timer",
        b"in-reply-to" => "In-Reply-To",
        b"history-info" => "History-Info",
        b"mime-version" => "MIME-Version",
        b"min-expires" => "Min-Expires",
        b"min-se" => "Min-SE",
        b"organization" => "Organization",
        b"path" => "Path",
        b"p-asserted-identity" => "P-Asserted-Identity",
        b"p-preferred-identity" => "P-Preferred-Identity",
        b"priority" => "Priority",
        b"privacy" => "Privacy",
        b"proxy-authenticate" => "Proxy-Authenticate",
        b"rack" => "RAck",
        b"reason" => "Reason",
        b"refer-sub" => "Refer-Sub",
        b"refer-to" => "Refer-To",
        b"referred-by" => "Referred-By",
        b"reject-contact" => "Reject-Contact",
        b"replaces" => "Replaces",
        b"reply-to" => "Reply-To",
        b"request-disposition" => "Request-Disposition",
        b"retry-after" => "Retry-After",
        b"rseq" => "RSeq",
        b"server" => "Server",
        b"service-route" => "Service-Route",
        b"session-expires" => "Session-Expires",
        b"sip-etag" => "SIP-ETag",
        b"sip-if-match" => "SIP-If-Match",
        b"subject" => "Subject",
        b"timestamp" => "Timestamp",
        b"unsupported" => "Unsupported",
        b"warning" => "Warning",
        b"www-authenticate" => "WWW-Authenticate",
        _ => return None,
    })
}

/// The canonical spelling of a name we know, else the name as written.
pub fn canonical(name: &str) -> Cow<'static, str> {
    match known(name) {
        Some(spelling) => Cow::Borrowed(spelling),
        None => Cow::Owned(name.to_owned()),
    }
}

/// [`canonical`] from bytes; unknown names that are not UTF-8 (never a
/// token) are taken lossily.
pub fn canonical_bytes(name: &[u8]) -> Cow<'static, str> {
    match known_bytes(name) {
        Some(spelling) => Cow::Borrowed(spelling),
        None => Cow::Owned(String::from_utf8_lossy(name).into_owned()),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn compact_and_any_case_names_read_as_the_long_form_rfc3261_7_3_3() {
        assert_eq!(canonical("v"), "Via");
        assert_eq!(canonical("I"), "Call-ID");
        assert_eq!(canonical("o"), "Event");
        assert_eq!(canonical("Via"), "Via");
        assert_eq!(canonical("MaX-fOrWaRdS"), "Max-Forwards");
        assert_eq!(canonical("call-id"), "Call-ID");
        assert!(matches!(canonical("l"), Cow::Borrowed("Content-Length")));
    }

    #[test]
    fn an_unknown_name_keeps_its_spelling() {
        assert_eq!(canonical("X-Custom"), "X-Custom");
        assert_eq!(canonical("q"), "q");
        assert!(matches!(canonical("X-Custom"), Cow::Owned(_)));
    }

    #[test]
    fn every_known_name_is_found_and_listed_once() {
        for name in KNOWN {
            assert_eq!(known(&name.to_ascii_lowercase()), Some(*name));
            assert_eq!(known(&name.to_ascii_uppercase()), Some(*name));
            assert_eq!(known(name), Some(*name));
            assert_eq!(KNOWN.iter().filter(|n| *n == name).count(), 1, "{name}");
        }
    }

    #[test]
    fn only_the_known_names_are_known() {
        // Near misses of every known name: one letter changed, one more, one
        // fewer; and names longer than the longest.
        for name in KNOWN {
            let mut changed = name.to_string().into_bytes();
            changed[0] = if changed[0] == b'x' { b'y' } else { b'x' };
            for miss in [
                String::from_utf8(changed).unwrap(),
                format!("{name}s"),
                name[..name.len() - 1].to_owned(),
            ] {
                let listed = match miss.as_bytes() {
                    [letter] => compact(*letter),
                    _ => KNOWN
                        .iter()
                        .find(|k| k.eq_ignore_ascii_case(&miss))
                        .copied(),
                };
                assert_eq!(known(&miss), listed, "{miss}");
            }
        }
        assert_eq!(known(&"a".repeat(40)), None);
        assert_eq!(canonical_bytes(b"X-Custom"), "X-Custom");
    }
}
