//! The experimentation service: creating tests from a design, their lifecycle with an audit
//! trail, analysing them from stored observations, and the management check the scheduler runs
//! every hour (tests call [`check`] directly with the time they want).

pub mod calc;
pub mod design;
pub mod model;
pub mod render;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::stats::analysis::{analyse, Analysis, ArmData, Guardrail, Plan, Verdict};
use crate::stats::{Alpha, MeanStats, Proportion, RateStats, StatsError};
use crate::store::{ArmTotals, Store, StoreError, StoredExperiment, Transition};
use design::{DesignErrors, DesignInput, Kind, MetricType, Status};

#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("no experiment {0}")]
    NotFound(i64),
    #[error("experiment {id} is {status}; it must be {wanted} for that")]
    WrongStatus {
        id: i64,
        status: Status,
        wanted: &'static str,
    },
    #[error("the design needs changes: {0}")]
    Design(#[from] DesignErrors),
    #[error("can't analyse: {0}")]
    Stats(#[from] StatsError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub type Result<T> = std::result::Result<T, ExperimentError>;

/// Validates, plans and stores a new test as a draft, designed at `now`.
pub async fn create(
    store: &Store,
    input: DesignInput,
    now: DateTime<Utc>,
) -> Result<StoredExperiment> {
    let d = design::design(input)?;
    let id = store.create_experiment(&d, now.timestamp()).await?;
    load(store, id).await
}

pub async fn load(store: &Store, id: i64) -> Result<StoredExperiment> {
    store
        .experiment(id)
        .await?
        .ok_or(ExperimentError::NotFound(id))
}

/// Starts a draft now, or schedules it for `at` if that is later than `now`.
pub async fn start(
    store: &Store,
    id: i64,
    actor: &str,
    now: DateTime<Utc>,
    at: Option<DateTime<Utc>>,
) -> Result<StoredExperiment> {
    let e = load(store, id).await?;
    if let Some(at) = at.filter(|at| *at > now) {
        if !store.schedule_experiment(id, Some(at.timestamp())).await? {
            return Err(ExperimentError::WrongStatus {
                id,
                status: e.status,
                wanted: "a draft",
            });
        }
        return load(store, id).await;
    }
    let t = Transition {
        from: &[Status::Draft],
        to: Status::Running,
        actor,
        note: Some("started".into()),
        at: now.timestamp(),
        verdict: None,
        notify: None,
        effects: Default::default(),
    };
    if !store.transition_experiment(id, &t).await? {
        let status = load(store, id).await?.status;
        return Err(ExperimentError::WrongStatus {
            id,
            status,
            wanted: "a draft",
        });
    }
    load(store, id).await
}

/// Stops a running (or not yet started) test by hand.
pub async fn stop(
    store: &Store,
    id: i64,
    actor: &str,
    now: DateTime<Utc>,
    reason: Option<String>,
) -> Result<StoredExperiment> {
    let t = Transition {
        from: &[Status::Draft, Status::Running],
        to: Status::Stopped,
        actor,
        note: Some(reason.unwrap_or_else(|| "stopped by hand".into())),
        at: now.timestamp(),
        verdict: None,
        notify: None,
        effects: Default::default(),
    };
    if !store.transition_experiment(id, &t).await? {
        let status = load(store, id).await?.status;
        return Err(ExperimentError::WrongStatus {
            id,
            status,
            wanted: "a draft or running",
        });
    }
    load(store, id).await
}

/// A test's state of evidence at a moment.
#[derive(Debug, Clone, Serialize)]
pub struct ExperimentResult {
    pub id: i64,
    /// Units (posts for content tests, exposure for rates) seen, all arms together.
    pub units_seen: u64,
    pub planned_units: u64,
    pub budget_spent: bool,
    /// Content tests are observational: posts were not assigned at random.
    pub observational: bool,
    pub analysis: Option<Analysis>,
    /// Why there is no analysis yet, or a caveat about it.
    pub note: Option<String>,
}

fn arm_data(metric: MetricType, t: &ArmTotals) -> std::result::Result<ArmData, StatsError> {
    Ok(match metric {
        MetricType::Proportion => ArmData::Proportion(Proportion::new(t.conversions, t.units)?),
        MetricType::Mean => ArmData::Mean(MeanStats::new(t.units, t.sum, t.sum_sq)?),
        MetricType::Rate => ArmData::Rate(RateStats::new(t.conversions, t.exposure)?),
    })
}

/// Per-post engagement rates of a content test's arms as sufficient statistics.
async fn content_totals(store: &Store, e: &StoredExperiment) -> Result<Vec<ArmTotals>> {
    let mut totals = vec![ArmTotals::default(); e.design.variants.len()];
    for (arm, metrics) in store.variant_post_metrics(e).await? {
        if let (Some(t), Some((rate, _))) = (totals.get_mut(arm), metrics.engagement_rate()) {
            t.units += 1;
            t.sum += rate;
            t.sum_sq += rate * rate;
        }
    }
    Ok(totals)
}

fn plan_of(e: &StoredExperiment) -> Result<Plan> {
    Ok(Plan {
        metric: e.design.metric_type.kind(),
        alpha: Alpha::new(e.design.alpha)?,
        planned_total: e.design.planned_units.max(1) as f64,
        weights: e.design.variants.iter().map(|v| v.weight).collect(),
        randomized: e.design.kind == Kind::Randomized,
        higher_is_better: e.design.higher_is_better,
        min_effect: e.design.min_effect,
    })
}

/// Observation totals of one experiment by metric (`primary` or a guardrail), arms in order.
pub type MetricTotals = std::collections::HashMap<String, Vec<ArmTotals>>;

/// Analyses a test as of `now` without recording anything.
pub async fn results(store: &Store, id: i64, now: DateTime<Utc>) -> Result<ExperimentResult> {
    let e = load(store, id).await?;
    let mut totals = MetricTotals::new();
    let primary = match e.design.kind {
        Kind::Content => content_totals(store, &e).await?,
        Kind::Randomized => store.observation_totals(&e, "primary").await?,
    };
    totals.insert("primary".into(), primary);
    for g in &e.design.guardrails {
        totals.insert(g.name.clone(), store.observation_totals(&e, &g.name).await?);
    }
    evaluate(&e, &totals, now)
}

/// Analyses every running test, loading them and their observations in bulk.
pub async fn results_of_running(
    store: &Store,
    now: DateTime<Utc>,
) -> Result<Vec<(StoredExperiment, Result<ExperimentResult>)>> {
    let started = std::time::Instant::now();
    let experiments = store.experiments_with_status(Status::Running).await?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        n = experiments.len(),
        "running experiments loaded"
    );
    let mut all_totals = store
        .observation_totals_with_status(Status::Running)
        .await?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "observation totals loaded"
    );
    let mut out = Vec::with_capacity(experiments.len());
    for e in experiments {
        let mut totals = all_totals.remove(&e.id).unwrap_or_default();
        for arms in totals.values_mut() {
            arms.resize(e.design.variants.len(), ArmTotals::default());
        }
        if e.design.kind == Kind::Content {
            totals.insert("primary".into(), content_totals(store, &e).await?);
        }
        let r = evaluate(&e, &totals, now);
        out.push((e, r));
    }
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "experiments analysed"
    );
    Ok(out)
}

/// The analysis of one test from its totals: pure.
pub fn evaluate(
    e: &StoredExperiment,
    totals: &MetricTotals,
    now: DateTime<Utc>,
) -> Result<ExperimentResult> {
    let empty = vec![ArmTotals::default(); e.design.variants.len()];
    let primary = totals.get("primary").unwrap_or(&empty);
    let units_seen: u64 = match e.design.metric_type {
        MetricType::Rate => primary.iter().map(|t| t.exposure.round() as u64).sum(),
        _ => primary.iter().map(|t| t.units).sum(),
    };
    let duration_over = match (e.started_at, e.design.planned_days) {
        (Some(s), Some(days)) => now.timestamp() >= s + i64::from(days) * 86_400,
        _ => false,
    };
    let budget_spent = units_seen >= e.design.planned_units || duration_over;
    let mut result = ExperimentResult {
        id: e.id,
        units_seen,
        planned_units: e.design.planned_units,
        budget_spent,
        observational: e.design.kind == Kind::Content,
        analysis: None,
        note: None,
    };
    if primary.iter().any(|t| t.units == 0 && t.exposure == 0.0) {
        result.note = Some(match e.design.kind {
            Kind::Content => {
                "every variant needs posts with engagement data: link posts with `vibe abtest link`"
                    .into()
            }
            Kind::Randomized => {
                "no observations for every variant yet: import them with `vibe abtest import`"
                    .into()
            }
        });
        return Ok(result);
    }
    let arms = primary
        .iter()
        .map(|t| arm_data(e.design.metric_type, t))
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let mut guardrails = Vec::new();
    for g in &e.design.guardrails {
        let Some(t) = totals.get(&g.name) else {
            continue;
        };
        if t.len() == arms.len() && t.iter().all(|x| x.units > 0 || x.exposure > 0.0) {
            guardrails.push(Guardrail {
                name: g.name.clone(),
                metric: g.metric_type.kind(),
                higher_is_better: g.higher_is_better,
                arms: t
                    .iter()
                    .map(|x| arm_data(g.metric_type, x))
                    .collect::<std::result::Result<_, _>>()?,
            });
        }
    }
    result.analysis = Some(analyse(&plan_of(e)?, &arms, &guardrails, budget_spent)?);
    Ok(result)
}

/// Whether a verdict ends the test.
pub fn is_final(v: &Verdict) -> bool {
    matches!(
        v,
        Verdict::Ship { .. }
            | Verdict::StopHarm { .. }
            | Verdict::StopFutility
            | Verdict::Inconclusive
    )
}

/// What one management check did.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckReport {
    pub started: Vec<i64>,
    pub analysed: Vec<i64>,
    pub concluded: Vec<i64>,
    pub sample_ratio_mismatch: Vec<i64>,
    /// Tests that couldn't be analysed, with the reason.
    pub failed: Vec<(i64, String)>,
}

/// The hourly management pass: start tests whose time has come, analyse running ones, record
/// each analysis, and conclude a test when its sequence decides or its plan is spent, writing a
/// notification for Slack with the conclusion.
pub async fn check(store: &Store, now: DateTime<Utc>) -> Result<CheckReport> {
    let mut report = CheckReport::default();
    for id in store.experiments_due_to_start(now.timestamp()).await? {
        let t = Transition {
            from: &[Status::Draft],
            to: Status::Running,
            actor: "scheduler",
            note: Some("scheduled start".into()),
            at: now.timestamp(),
            verdict: None,
            notify: None,
            effects: Default::default(),
        };
        if store.transition_experiment(id, &t).await? {
            report.started.push(id);
        }
    }
    for (e, result) in results_of_running(store, now).await? {
        let id = e.id;
        let result = match result {
            Ok(r) => r,
            Err(ExperimentError::Stats(err)) => {
                report.failed.push((id, err.to_string()));
                continue;
            }
            Err(err) => return Err(err),
        };
        let Some(analysis) = &result.analysis else {
            continue;
        };
        let verdict_text = render::verdict_sentence(&e, &result);
        let body = serde_json::to_string(&result).unwrap_or_else(|_| "{}".into());
        store
            .record_analysis(id, now.timestamp(), result.units_seen, &verdict_text, &body)
            .await?;
        report.analysed.push(id);
        if analysis.verdict == Verdict::SampleRatioMismatch {
            report.sample_ratio_mismatch.push(id);
        }
        if is_final(&analysis.verdict) {
            let t = Transition {
                from: &[Status::Running],
                to: Status::Concluded,
                actor: "scheduler",
                note: Some(verdict_text.clone()),
                at: now.timestamp(),
                verdict: Some(verdict_text.clone()),
                notify: Some((crate::store::NotificationKind::ExperimentConcluded, body)),
                effects: Default::default(),
            };
            if store.transition_experiment(id, &t).await? {
                report.concluded.push(id);
            }
        }
    }
    Ok(report)
}
