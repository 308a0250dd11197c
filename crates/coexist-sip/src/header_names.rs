//! Header names: the canonical spelling of every name we know, as a
//! `&'static str`. A parsed header's name then costs no allocation, and a
//! compact form (`v`) reads as its long form (`Via`).

use std::borrow::Cow;

/// Every name we know, the ones every request carries first: the lookup
/// stops at the first match.
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
    if let [letter] = name.as_bytes() {
        return compact(*letter);
    }
    KNOWN
        .iter()
        .find(|known| known.len() == name.len() && known.eq_ignore_ascii_case(name))
        .copied()
}

/// The canonical spelling of a name we know, else the name as written.
pub fn canonical(name: &str) -> Cow<'static, str> {
    match known(name) {
        Some(spelling) => Cow::Borrowed(spelling),
        None => Cow::Owned(name.to_owned()),
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
            assert_eq!(KNOWN.iter().filter(|n| *n == name).count(), 1, "{name}");
        }
    }
}
