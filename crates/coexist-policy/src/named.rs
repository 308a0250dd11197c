//! A small macro for the vocabulary enums: each variant has one canonical
//! spelling (the PowerShell or API spelling), parsing is case-insensitive,
//! and an unknown value is an error that lists the valid ones.

use std::fmt;

/// An input string that is not one of a vocabulary's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was being parsed ("mode", "client", …).
    pub kind: &'static str,
    /// The value that was given.
    pub given: String,
    /// Every accepted spelling.
    pub valid: &'static [&'static str],
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown {} '{}'; valid values: {}",
            self.kind,
            self.given,
            self.valid.join(", ")
        )
    }
}

impl std::error::Error for ParseError {}

/// Declares a fieldless enum with canonical names, `ALL`, `as_str`,
/// case-insensitive `FromStr`, `Display`, and serde as the canonical name.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident as $kind:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[ $( $name::$variant ),+ ];
            /// Every canonical spelling, in declaration order.
            pub const NAMES: &'static [&'static str] = &[ $( $text ),+ ];

            /// The canonical spelling.
            pub const fn as_str(self) -> &'static str {
                match self { $( $name::$variant => $text ),+ }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::named::ParseError;
            fn from_str(given: &str) -> Result<Self, Self::Err> {
                let trimmed = given.trim();
                $( if trimmed.eq_ignore_ascii_case($text) { return Ok($name::$variant); } )+
                Err($crate::named::ParseError {
                    kind: $kind,
                    given: given.to_owned(),
                    valid: Self::NAMES,
                })
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <::std::borrow::Cow<'de, str> as ::serde::Deserialize>::deserialize(deserializer)?;
                text.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use named_enum;
