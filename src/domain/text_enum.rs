//! Enums whose variants are stored and printed as snake_case words: one declaration gives
//! `as_str`, `ALL`, `FromStr` (naming the words it knows when it fails), `Display` and serde.

/// Declares a text enum: its variants' names as stored and printed, parsing and display.
macro_rules! text_enum {
    ($(#[$m:meta])* $t:ident { $($(#[$vm:meta])* $v:ident => $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $t { $($(#[$vm])* $v),+ }

        impl $t {
            pub const ALL: &'static [$t] = &[$($t::$v),+];

            pub fn as_str(self) -> &'static str {
                match self { $($t::$v => $s),+ }
            }
        }

        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                match s {
                    $($s => Ok($t::$v),)+
                    other => Err(format!(
                        concat!("{:?} is not a known ", stringify!($t), " ({})"),
                        other,
                        [$($s),+].join(", ")
                    )),
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
