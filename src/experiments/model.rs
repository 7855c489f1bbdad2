//! What a test is, as data: a stored experiment, its audit trail, and its observations. The
//! store reads and writes these; the engine and the renderers take them as parameters.

use super::design::{Design, MetricType, Status};

/// An experiment as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredExperiment {
    pub id: i64,
    pub design: Design,
    pub status: Status,
    pub started_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub verdict: Option<String>,
    pub created_at: i64,
    /// Variant row ids, in arm order.
    pub variant_ids: Vec<i64>,
}

/// One period's observation of one variant, as imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    pub variant: String,
    /// `primary` or a guardrail's name.
    pub metric: String,
    pub period: String,
    pub units: u64,
    pub conversions: Option<u64>,
    pub sum: Option<f64>,
    pub sum_sq: Option<f64>,
    pub exposure: Option<f64>,
}

/// An arm's observations summed over periods.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ArmTotals {
    pub units: u64,
    pub conversions: u64,
    pub sum: f64,
    pub sum_sq: f64,
    pub exposure: f64,
}

/// One row of the audit trail.
#[derive(Debug, Clone, PartialEq)]
pub struct ExperimentEvent {
    pub at: i64,
    pub actor: String,
    pub from_status: Option<String>,
    pub to_status: String,
    pub note: Option<String>,
}

impl StoredExperiment {
    /// The metric type of `metric` (`primary` or a guardrail's name), if the test has it.
    pub fn metric_type_of(&self, metric: &str) -> Option<MetricType> {
        if metric == "primary" {
            Some(self.design.metric_type)
        } else {
            self.design
                .guardrails
                .iter()
                .find(|g| g.name == metric)
                .map(|g| g.metric_type)
        }
    }

    /// The variants' names, control first.
    pub fn variant_names(&self) -> Vec<&str> {
        self.design
            .variants
            .iter()
            .map(|v| v.name.as_str())
            .collect()
    }
}
