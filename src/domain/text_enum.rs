//! Enums whose variants are stored and printed as snake_case words: one declaration gives
//! `as_str`, `ALL`, `FromStr` (naming the words it knows when it fails), `Display` and serde.

/// A word that names none of a text enum's variants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{got:?} is not a known {what} ({})", known.join(", "))]
pub struct UnknownWord {
    pub what: &'static str,
    pub got: String,
    pub known: &'static [&'static str],
}

/// Declares a text enum: its variants' names as stored and printed, parsing and display.
macro_rules! text_enum {
    ($(#[$m:meta])* $t:ident { $($(#[$vm:meta])* $v:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $t { $($(#[$vm])* $v),+ }

        impl $t {
            pub const ALL: &'static [$t] = &[$($t::$v),+];

            pub fn as_str(self) -> &'static str {
                match self { $($t::$v => $s),+ }
            }
        }

        impl std::str::FromStr for $t {
            type Err = $crate::domain::UnknownWord;
            fn from_str(s: &str) -> Result<Self, $crate::domain::UnknownWord> {
                match s {
                    $($s => Ok($t::$v),)+
                    other => Err($crate::domain::UnknownWord {
                        what: stringify!($t),
                        got: other.to_string(),
                        known: &[$($s),+],
                    }),
                }
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use text_enum;
