//! What the analytics work on, as data: the accounts and posts a report covers, and alerts.
//! The store reads and writes these; the pure analytics take them as parameters.

use crate::domain::rollup::DayValues;
use crate::domain::Platform;

/// An account a report covers.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeAccount {
    pub id: i64,
    pub platform: Platform,
    pub external_id: String,
    pub handle: Option<String>,
    pub brand: Option<String>,
}

/// A post with its daily cumulative series up to a report's end.
#[derive(Debug, Clone, PartialEq)]
pub struct PostSeries {
    pub id: i64,
    pub account: i64,
    pub external_id: String,
    pub text: Option<String>,
    pub published_at: Option<i64>,
    pub media_type: Option<String>,
    pub paid: Option<bool>,
    pub series: Vec<DayValues>,
}

/// An alert as stored: the condition and where it stands.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredAlert {
    pub id: i64,
    #[serde(flatten)]
    pub alert: NewAlert,
    pub status: String,
    pub opened_at: i64,
    pub snoozed_until: Option<i64>,
    pub decided_by: Option<String>,
}

/// A condition a detector found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NewAlert {
    pub kind: String,
    pub severity: String,
    pub subject: String,
    pub account_id: Option<i64>,
    pub dedupe_key: String,
    pub message: String,
    /// JSON with the numbers behind the alert.
    pub evidence: String,
}
