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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredAlert {
    pub id: i64,
    #[serde(flatten)]
    pub alert: NewAlert,
    pub status: AlertStatus,
    pub opened_at: i64,
    pub snoozed_until: Option<i64>,
    pub decided_by: Option<String>,
}

impl StoredAlert {
    /// Most important first: the most severe, then the largest effect, then the newest.
    pub fn importance(a: &StoredAlert, b: &StoredAlert) -> std::cmp::Ordering {
        b.alert
            .severity
            .cmp(&a.alert.severity)
            .then_with(|| {
                b.alert
                    .evidence
                    .magnitude()
                    .total_cmp(&a.alert.evidence.magnitude())
            })
            .then_with(|| b.opened_at.cmp(&a.opened_at))
            .then_with(|| b.id.cmp(&a.id))
    }
}

#[cfg(test)]
impl StoredAlert {
    /// An open performance-drop alert with these fields, for tests of ordering and rendering.
    pub(crate) fn open_for_test(
        id: i64,
        severity: Severity,
        evidence: Evidence,
        opened_at: i64,
        message: String,
    ) -> StoredAlert {
        StoredAlert {
            id,
            alert: NewAlert {
                kind: AlertKind::PerformanceDrop,
                severity,
                subject: String::new(),
                account_id: None,
                dedupe_key: id.to_string(),
                message,
                evidence,
            },
            status: AlertStatus::Open,
            opened_at,
            snoozed_until: None,
            decided_by: None,
        }
    }
}

/// A condition a detector found.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NewAlert {
    pub kind: AlertKind,
    pub severity: Severity,
    pub subject: String,
    pub account_id: Option<i64>,
    pub dedupe_key: String,
    pub message: String,
    /// The numbers behind the alert (stored as JSON; shown to scripts as JSON text, as always).
    #[serde(
        serialize_with = "evidence_text",
        deserialize_with = "evidence_from_text"
    )]
    pub evidence: Evidence,
}

fn evidence_text<S: serde::Serializer>(e: &Evidence, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&e.to_json())
}

fn evidence_from_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Evidence, D::Error> {
    let text = <String as serde::Deserialize>::deserialize(d)?;
    Ok(Evidence::from_json(&text))
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
    /// How far the condition is from normal, as a multiple (1 is normal): a drop of 30% is
    /// 1.43 (the previous week over this one), an engagement rate at a third of its threshold
    /// 3, a post at 8x its account's median 8, a cost per lead at 2.5x the lower of its own
    /// and its peers' medians 2.5. Unknown shapes are 1.
    pub fn magnitude(&self) -> f64 {
        let ratio = |a: f64, b: f64| {
            if a.is_finite() && b.is_finite() && b > 0.0 {
                a / b
            } else {
                1.0
            }
        };
        let m = match self {
            Evidence::PerformanceDrop { fall, .. } => ratio(1.0, 1.0 - fall.clamp(0.0, 0.999)),
            Evidence::LowEngagement {
                rate, threshold, ..
            } => ratio(*threshold, rate.max(threshold * 0.001)),
            Evidence::ViralPost {
                per_hour,
                median_per_hour,
                engagements,
                median,
                ..
            } => ratio(*per_hour, *median_per_hour).max(ratio(*engagements as f64, *median)),
            Evidence::HighCostPerLead {
                cost_per_lead,
                own_median,
                peer_median,
                ..
            } => {
                let base = [*own_median, *peer_median]
                    .into_iter()
                    .flatten()
                    .filter(|m| *m > 0.0)
                    .fold(f64::INFINITY, f64::min);
                ratio(*cost_per_lead, base)
            }
            Evidence::Other(_) => 1.0,
        };
        if m.is_finite() {
            m
        } else {
            1.0
        }
    }

    /// The numbers, labelled, one phrase each, with costs in `symbol`'s currency.
    pub fn lines(&self, symbol: &str) -> Vec<String> {
        use crate::format::{money, percent, signed_percent, thousands, whole};
        match self {
            Evidence::PerformanceDrop {
                metric,
                current,
                previous,
                fall,
                current_from,
                current_to,
                previous_from,
                previous_to,
                ..
            } => vec![
                format!(
                    "{metric} {} → {} ({})",
                    thousands(*previous),
                    thousands(*current),
                    signed_percent(-fall)
                ),
                format!("{current_from} to {current_to} vs {previous_from} to {previous_to}"),
            ],
            Evidence::LowEngagement {
                rate,
                base,
                engagements,
                threshold,
                ..
            } => vec![
                format!(
                    "engagement rate {} (threshold {})",
                    percent(*rate),
                    percent(*threshold)
                ),
                format!(
                    "{} engagements over a base of {}",
                    engagements.map(thousands).unwrap_or_else(|| "–".into()),
                    thousands(*base)
                ),
            ],
            Evidence::ViralPost {
                engagements,
                median,
                per_hour,
                median_per_hour,
                posts_compared,
                ..
            } => vec![
                format!(
                    "{} engagements vs a median of {}",
                    thousands(*engagements),
                    whole(*median)
                ),
                format!(
                    "{} an hour vs {}",
                    crate::format::number(*per_hour),
                    crate::format::number(*median_per_hour)
                ),
                format!(
                    "{} compared",
                    crate::format::counted(*posts_compared as u64, "post", "posts")
                ),
            ],
            Evidence::HighCostPerLead {
                cost_per_lead,
                leads,
                own_median,
                peer_median,
                ..
            } => {
                let mut p = vec![format!(
                    "cost per lead {} over {}",
                    money(*cost_per_lead, symbol),
                    crate::format::counted((*leads).max(0) as u64, "lead", "leads")
                )];
                if let Some(m) = own_median {
                    p.push(format!("its own median {}", money(*m, symbol)));
                }
                if let Some(m) = peer_median {
                    p.push(format!("other campaigns' median {}", money(*m, symbol)));
                }
                p
            }
            Evidence::Other(o) => o
                .iter()
                .filter(|(_, v)| v.is_number() || v.is_string())
                .take(8)
                .map(|(k, v)| match v {
                    serde_json::Value::Number(n) => format!("{k}: {n}"),
                    other => format!("{k}: {}", other.as_str().unwrap_or_default()),
                })
                .collect(),
        }
    }

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

    fn alert(id: i64, severity: Severity, evidence: Evidence, opened_at: i64) -> StoredAlert {
        StoredAlert::open_for_test(id, severity, evidence, opened_at, String::new())
    }

    fn drop(fall: f64) -> Evidence {
        let day = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        Evidence::PerformanceDrop {
            account: 1,
            metric: "reach".into(),
            current: 70,
            previous: 100,
            fall,
            current_from: day,
            current_to: day,
            previous_from: day,
            previous_to: day,
        }
    }

    fn cpl(cost: f64, own: Option<f64>, peers: Option<f64>) -> Evidence {
        Evidence::HighCostPerLead {
            campaign: "c".into(),
            platform: "x".into(),
            cost_per_lead: cost,
            leads: 3,
            own_median: own,
            peer_median: peers,
            trailing_weeks: vec![],
        }
    }

    #[test]
    fn magnitudes_of_each_kind() {
        let viral = Evidence::ViralPost {
            post: "p".into(),
            engagements: 800,
            median: 100.0,
            per_hour: 50.0,
            median_per_hour: 10.0,
            posts_compared: 9,
        };
        let low = Evidence::LowEngagement {
            account: 1,
            rate: 0.002,
            base: 1000,
            engagements: Some(2),
            threshold: 0.006,
        };
        for (e, want) in [
            (drop(0.5), 2.0),
            (drop(0.0), 1.0),
            (drop(1.0), 1000.0),
            (viral, 8.0),
            (low, 3.0),
            (cpl(300.0, None, Some(10.0)), 30.0),
            (cpl(300.0, Some(100.0), Some(10.0)), 30.0),
            (cpl(300.0, None, None), 1.0),
            (Evidence::Other(Default::default()), 1.0),
        ] {
            assert!(
                (e.magnitude() - want).abs() < 1e-9,
                "{e:?}: {}",
                e.magnitude()
            );
        }
    }

    #[test]
    fn evidence_reads_in_the_brands_currency_and_units() {
        assert_eq!(
            cpl(317.4, Some(100.0), Some(9.37)).lines("€"),
            [
                "cost per lead €317.40 over 3 leads",
                "its own median €100.00",
                "other campaigns' median €9.37"
            ]
        );
        assert_eq!(drop(0.3).lines("$")[0], "reach 100 → 70 (-30.0%)");
        let low = Evidence::LowEngagement {
            account: 1,
            rate: 0.0023,
            base: 120000,
            engagements: Some(276),
            threshold: 0.005,
        };
        assert_eq!(
            low.lines("$"),
            [
                "engagement rate 0.23% (threshold 0.50%)",
                "276 engagements over a base of 120,000"
            ]
        );
    }

    #[test]
    fn alerts_sort_by_severity_then_effect_then_age() {
        let mut alerts = [
            alert(1, Severity::Warning, cpl(300.0, None, Some(10.0)), 100),
            alert(2, Severity::Critical, drop(0.4), 50),
            alert(3, Severity::Info, drop(0.9), 300),
            alert(4, Severity::Critical, drop(0.6), 10),
            alert(5, Severity::Warning, drop(0.3), 200),
            alert(6, Severity::Critical, drop(0.4), 90),
        ];
        alerts.sort_by(StoredAlert::importance);
        let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
        assert_eq!(ids, [4, 6, 2, 1, 5, 3]);
    }

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
