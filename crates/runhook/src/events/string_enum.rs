//! A macro for the protocol's string enums, which must keep values they do not know.

/// Declares a string enum whose unknown values are kept in an `Unrecognized` variant.
///
/// TinyFish may add a status, an error category or an event type at any time; a receiver built
/// on an older runhook must keep working and keep the new value verbatim, so nothing is rejected
/// and serialization gives back the same string.
macro_rules! string_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
        expecting = $expecting:literal;
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version of runhook does not know, kept verbatim.
            Unrecognized(Box<str>),
        }

        impl $name {
            /// Every documented value, in the order of the documentation.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),+];

            /// The value as it appears on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $text,)+
                    $name::Unrecognized(other) => other,
                }
            }

            /// Maps a wire value to the enum; an unknown value becomes `Unrecognized`.
            pub fn from_wire(text: &str) -> Self {
                match text {
                    $($text => $name::$variant,)+
                    other => $name::Unrecognized(other.into()),
                }
            }

            /// Whether this is one of the documented values.
            pub fn is_recognized(&self) -> bool {
                !matches!(self, $name::Unrecognized(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Ok(Self::from_wire(text))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct Visitor;
                impl ::serde::de::Visitor<'_> for Visitor {
                    type Value = $name;
                    fn expecting(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                        f.write_str($expecting)
                    }
                    fn visit_str<E: ::serde::de::Error>(self, text: &str) -> Result<$name, E> {
                        Ok($name::from_wire(text))
                    }
                }
                deserializer.deserialize_str(Visitor)
            }
        }
    };
}

pub(crate) use string_enum;
