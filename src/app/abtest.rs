//! `abtest …` from either adapter: runs the command and returns what happened as data.

use chrono::{DateTime, Utc};

use super::grammar::AbtestCommand;
use super::AppError;
use crate::experiments::calc::{self, parse_arm, CalcResult, PlanResult};
use crate::experiments::{self as exp, CheckReport, ExperimentError, ExperimentResult};
use crate::import::observations::read_observations;
use crate::import::ImportError;
use crate::stats::Alpha;
use crate::store::{ExperimentEvent, Store, StoreError, StoredExperiment};

/// What an `abtest` command did.
#[derive(Debug)]
pub enum AbtestAnswer {
    /// A draft was designed (`new` in the terminal; Slack posts its card instead).
    Created(StoredExperiment),
    /// Newest first.
    List(Vec<StoredExperiment>),
    Show {
        experiment: StoredExperiment,
        history: Vec<ExperimentEvent>,
    },
    /// Running now, or a draft with its start time set.
    Started(StoredExperiment),
    Stopped(StoredExperiment),
    Results {
        experiment: StoredExperiment,
        result: ExperimentResult,
    },
    /// Every running test, each with its result or why it couldn't be analysed.
    Running(Vec<(StoredExperiment, Result<ExperimentResult, String>)>),
    Imported {
        id: i64,
        observations: usize,
    },
    Linked {
        id: i64,
        variant: String,
        posts: usize,
    },
    Checked {
        report: CheckReport,
        concluded: Vec<StoredExperiment>,
    },
    Plan(PlanResult),
    Calc(CalcResult),
}

impl From<ExperimentError> for AppError {
    fn from(e: ExperimentError) -> Self {
        match e {
            ExperimentError::Store(e) => e.into(),
            e @ ExperimentError::Design(_) => AppError::Usage(e.to_string()),
            e => AppError::Failed(e.to_string()),
        }
    }
}

/// A conflict the store reports (a stopped test, an unknown variant) is the person's to fix.
fn conflict(e: StoreError) -> AppError {
    match e {
        StoreError::Conflict(m) => AppError::Usage(m),
        e => e.into(),
    }
}

/// Runs an `abtest` command as of `now`. `actor` names who is acting, for the audit trail of
/// `new` (`created_by`), `start` and `stop`.
pub async fn execute(
    store: &Store,
    command: AbtestCommand,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<AbtestAnswer, AppError> {
    Ok(match command {
        AbtestCommand::New(args) => {
            // Validated field by field first, so every problem is named as it was typed.
            let input = super::new_test::from_args(&args, actor, None)?;
            AbtestAnswer::Created(exp::create(store, input, now).await?)
        }
        AbtestCommand::List { status } => {
            let mut all = Vec::new();
            for id in store.experiment_ids(status).await? {
                if let Some(e) = store.experiment(id).await? {
                    all.push(e);
                }
            }
            AbtestAnswer::List(all)
        }
        AbtestCommand::Show { id } => AbtestAnswer::Show {
            experiment: exp::load(store, id).await?,
            history: store.experiment_events(id).await?,
        },
        AbtestCommand::Start { id, at, .. } => {
            AbtestAnswer::Started(exp::start(store, id, actor, now, at).await?)
        }
        AbtestCommand::Stop { id, reason, .. } => {
            AbtestAnswer::Stopped(exp::stop(store, id, actor, now, reason).await?)
        }
        AbtestCommand::Results { id: None, .. } => AbtestAnswer::Running(
            exp::results_of_running(store, now)
                .await?
                .into_iter()
                .map(|(e, r)| (e, r.map_err(|x| x.to_string())))
                .collect(),
        ),
        AbtestCommand::Results { id: Some(id), .. } => {
            let experiment = exp::load(store, id).await?;
            let result = exp::results(store, id, now).await?;
            AbtestAnswer::Results { experiment, result }
        }
        AbtestCommand::Import { id, file } => {
            let e = exp::load(store, id).await?;
            let types = |metric: &str| e.metric_type_of(metric);
            let variants = e.variant_names();
            let rows = match read_observations(&file, &variants, &types) {
                Ok(r) => r,
                Err(ImportError::Invalid { path, issues }) => {
                    let mut m = format!(
                        "{}: {} invalid row(s); nothing was written",
                        path.display(),
                        issues.len()
                    );
                    for i in &issues {
                        m.push_str(&format!("\n  {}", i.located(&path)));
                    }
                    return Err(AppError::Failed(m));
                }
                Err(err) => return Err(AppError::Usage(err.to_string())),
            };
            let n = store.add_observations(&e, &rows).await.map_err(conflict)?;
            AbtestAnswer::Imported {
                id,
                observations: n,
            }
        }
        AbtestCommand::Link { id, variant, posts } => {
            let e = exp::load(store, id).await?;
            for post in &posts {
                store
                    .link_variant_post(&e, &variant, post)
                    .await
                    .map_err(conflict)?;
            }
            AbtestAnswer::Linked {
                id,
                variant,
                posts: posts.len(),
            }
        }
        AbtestCommand::Check { now: at } => {
            let report = exp::check(store, at.unwrap_or(now)).await?;
            let mut concluded = Vec::new();
            for id in &report.concluded {
                if let Some(e) = store.experiment(*id).await? {
                    concluded.push(e);
                }
            }
            AbtestAnswer::Checked { report, concluded }
        }
        AbtestCommand::Plan {
            metric_type,
            baseline,
            baseline_sd,
            mde,
            units,
            alpha,
            power,
            arms,
            daily_traffic,
        } => AbtestAnswer::Plan(
            calc::plan(
                metric_type,
                baseline,
                baseline_sd,
                mde,
                units,
                alpha,
                power,
                arms,
                daily_traffic,
            )
            .map_err(|e| AppError::Usage(e.to_string()))?,
        ),
        AbtestCommand::Calc { arms, alpha } => {
            let alpha = Alpha::new(alpha).map_err(|e| AppError::Usage(e.to_string()))?;
            let parsed = arms
                .iter()
                .map(|a| parse_arm(a))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| AppError::Usage(e.to_string()))?;
            AbtestAnswer::Calc(
                calc::calc(&parsed, alpha).map_err(|e| AppError::Usage(e.to_string()))?,
            )
        }
    })
}
