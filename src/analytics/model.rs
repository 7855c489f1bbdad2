//! What the analytics work on, as data: the accounts and posts a report covers, and alerts.
//! The store reads and writes these; the pure analytics take them as parameters.

use crate::domain::rollup::DayValues;
use chrono::NaiveDate;

use crate::domain::{text_enum, Platform};

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
    pub status: AlertStatus,
    pub opened_at: i64,
    pub snoozed_until: Option<i64>,
    pub decided_by: Option<String>,
}

/// A condition a detector found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct NewAlert {
    pub kind: AlertKind,
    pub severity: Severity,
    pub subject: String,
    pub account_id: Option<i64>,
    pub dedupe_key: String,
    pub message: String,
    /// The numbers behind the alert (stored as JSON; shown to scripts as JSON text, as always).
    #[serde(serialize_with = "evidence_text")]
    pub evidence: Evidence,
}

fn evidence_text<S: serde::Serializer>(e: &Evidence, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&e.to_json())
}

text_enum!(
    /// What a detector found.
    AlertKind {
        PerformanceDrop => "performance_drop",
        ViralPost => "viral_post",
        LowEngagement => "low_engagement",
        HighCostPerLead => "high_cost_per_lead",
    }
);

text_enum!(
    /// How urgent an alert is, least first.
    Severity {
        Info => "info",
        Warning => "warning",
        Critical => "critical",
    }
);

text_enum!(
    /// Where an alert stands.
    AlertStatus {
        Open => "open",
        Acknowledged => "acknowledged",
        /// Quiet until `snoozed_until`; found again after that, it is reopened.
        Snoozed => "snoozed",
        Resolved => "resolved",
    }
);

impl AlertKind {
    /// The kind in words: "performance drop".
    pub fn words(self) -> &'static str {
        match self {
            AlertKind::PerformanceDrop => "performance drop",
            AlertKind::ViralPost => "viral post",
            AlertKind::LowEngagement => "low engagement",
            AlertKind::HighCostPerLead => "high cost per lead",
        }
    }
}

/// The numbers behind an alert, one shape per kind. Stored as the JSON object of its fields
/// (the shape the detectors have always written); a stored object of no known shape is kept
/// as it is rather than lost.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Evidence {
    PerformanceDrop {
        account: i64,
        /// `reach` or `engagements`.
        metric: String,
        current: i64,
        previous: i64,
        /// The fall as a fraction of the previous week (0.3 for 30%).
        fall: f64,
        current_from: NaiveDate,
        current_to: NaiveDate,
        previous_from: NaiveDate,
        previous_to: NaiveDate,
    },
    LowEngagement {
        account: i64,
        rate: f64,
        /// The rate's denominator over the week.
        base: i64,
        engagements: Option<i64>,
        threshold: f64,
    },
    ViralPost {
        post: String,
        engagements: i64,
        median: f64,
        per_hour: f64,
        median_per_hour: f64,
        posts_compared: usize,
    },
    HighCostPerLead {
        campaign: String,
        platform: String,
        cost_per_lead: f64,
        leads: i64,
        own_median: Option<f64>,
        peer_median: Option<f64>,
        trailing_weeks: Vec<f64>,
    },
    /// A stored object of none of these shapes.
    Other(serde_json::Map<String, serde_json::Value>),
}

impl Evidence {
    /// As stored.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".into())
    }

    /// As stored; text that isn't a JSON object is kept as `Other` with nothing in it.
    pub fn from_json(s: &str) -> Evidence {
        serde_json::from_str(s).unwrap_or_else(|_| Evidence::Other(Default::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_enums_read_what_they_print() {
        for k in AlertKind::ALL {
            assert_eq!(k.as_str().parse::<AlertKind>(), Ok(*k));
        }
        for s in Severity::ALL {
            assert_eq!(s.to_string().parse::<Severity>(), Ok(*s));
        }
        for s in AlertStatus::ALL {
            assert_eq!(s.as_str().parse::<AlertStatus>(), Ok(*s));
        }
        assert!("Critical".parse::<Severity>().is_err());
        assert!(Severity::Critical > Severity::Warning && Severity::Warning > Severity::Info);
    }

    #[test]
    fn evidence_round_trips_and_reads_the_stored_shapes() {
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        let all = [
            Evidence::PerformanceDrop {
                account: 3,
                metric: "reach".into(),
                current: 54,
                previous: 100,
                fall: 0.46,
                current_from: day("2026-11-24"),
                current_to: day("2026-11-30"),
                previous_from: day("2026-11-17"),
                previous_to: day("2026-11-23"),
            },
            Evidence::LowEngagement {
                account: 3,
                rate: 0.004,
                base: 50_000,
                engagements: None,
                threshold: 0.01,
            },
            Evidence::ViralPost {
                post: "p1".into(),
                engagements: 9_000,
                median: 300.0,
                per_hour: 80.5,
                median_per_hour: 4.0,
                posts_compared: 12,
            },
            Evidence::HighCostPerLead {
                campaign: "spring".into(),
                platform: "x".into(),
                cost_per_lead: 42.0,
                leads: 7,
                own_median: Some(20.0),
                peer_median: None,
                trailing_weeks: vec![19.0, 21.0],
            },
        ];
        for e in &all {
            assert_eq!(&Evidence::from_json(&e.to_json()), e);
        }
        // As the detectors have always written it.
        let stored = r#"{"post":"p9","engagements":1200,"median":100,"per_hour":12,"median_per_hour":1,"posts_compared":6}"#;
        assert!(matches!(
            Evidence::from_json(stored),
            Evidence::ViralPost {
                engagements: 1200,
                posts_compared: 6,
                ..
            }
        ));
        // Anything else is kept, not lost; text that isn't an object is kept as nothing.
        let other = Evidence::from_json(r#"{"previous":120000,"change":-0.46}"#);
        assert!(
            matches!(&other, Evidence::Other(o) if o.len() == 2),
            "{other:?}"
        );
        assert_eq!(
            Evidence::from_json("not json"),
            Evidence::Other(Default::default())
        );
    }
}
