//! The pure domain core: the metric model and the arithmetic on it.
//!
//! Nothing in here does IO, reads the clock or touches SQL or Slack types: time is always a
//! parameter, so every function is deterministic and tested with plain tables of cases.

pub mod days;
pub mod metrics;
pub mod rollup;
mod text_enum;

pub(crate) use text_enum::text_enum;
pub use text_enum::UnknownWord;

pub use metrics::*;
