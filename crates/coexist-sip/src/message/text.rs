//! A header value: a slice of the text of the message it was parsed from,
//! or a string of its own.
//!
//! Why not a `String` per value, as before: a parsed request has a dozen
//! fields, and every response copies five of them (Via, From, To, Call-ID,
//! CSeq); an allocation and a copy for each, then a free, was about a
//! tenth of the instructions of a REGISTER (callgrind, BENCHMARKS.md). The
//! parser now copies the header section once into an `Arc<str>` and each
//! value is a range of it: cloning one for a response is a reference
//! count, not a copy.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A header value (see the module documentation).
#[derive(Clone)]
pub struct Text(Repr);

#[derive(Clone)]
enum Repr {
    /// `whole[start..end]`; the range lies on character boundaries.
    Shared {
        whole: Arc<str>,
        start: u32,
        end: u32,
    },
    Owned(String),
}

impl Text {
    /// `whole[range]`, sharing `whole`; a range that is not on character
    /// boundaries of `whole` (never made by the parser) is copied as the
    /// nearest valid text instead, so that a bad range cannot panic.
    pub(crate) fn shared(whole: &Arc<str>, range: std::ops::Range<usize>) -> Text {
        match (
            whole.get(range.clone()),
            u32::try_from(range.start),
            u32::try_from(range.end),
        ) {
            (Some(_), Ok(start), Ok(end)) => Text(Repr::Shared {
                whole: Arc::clone(whole),
                start,
                end,
            }),
            _ => Text(Repr::Owned(
                String::from_utf8_lossy(whole.as_bytes().get(range).unwrap_or_default())
                    .into_owned(),
            )),
        }
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Shared { whole, start, end } => whole
                .get(*start as usize..*end as usize)
                .unwrap_or_default(),
            Repr::Owned(text) => text,
        }
    }
}

impl Deref for Text {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Text {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text(Repr::Owned(text))
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text(Repr::Owned(text.to_owned()))
    }
}

impl From<&String> for Text {
    fn from(text: &String) -> Text {
        Text(Repr::Owned(text.clone()))
    }
}

impl From<std::borrow::Cow<'_, str>> for Text {
    fn from(text: std::borrow::Cow<'_, str>) -> Text {
        Text(Repr::Owned(text.into_owned()))
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Text) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl PartialEq<str> for Text {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Text {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<String> for Text {
    fn eq(&self, other: &String) -> bool {
        self.as_str() == other
    }
}

/// Written as the text's own `Debug`: a shared and an owned value with the
/// same text read the same (the parser's differential test compares them).
impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_shared_value_reads_its_range_and_equals_an_owned_one() {
        let whole: Arc<str> = Arc::from("Via: SIP/2.0/UDP h\r\nTo: <sip:é@x>");
        let via = Text::shared(&whole, 5..18);
        assert_eq!(via.as_str(), "SIP/2.0/UDP h");
        assert_eq!(via, Text::from("SIP/2.0/UDP h"));
        assert_eq!(format!("{via:?}"), format!("{:?}", "SIP/2.0/UDP h"));
        // A clone shares the text instead of copying it.
        assert_eq!(Arc::strong_count(&whole), 2);
        let again = via.clone();
        assert_eq!(Arc::strong_count(&whole), 3);
        assert_eq!(again, via);
    }

    #[test]
    fn a_range_off_the_character_boundaries_does_not_panic() {
        let whole: Arc<str> = Arc::from("To: <sip:é@x>");
        // Inside the two bytes of 'é', and past the end.
        assert_eq!(Text::shared(&whole, 10..11).as_str(), "\u{fffd}");
        assert_eq!(Text::shared(&whole, 5..99).as_str(), "");
    }
}
