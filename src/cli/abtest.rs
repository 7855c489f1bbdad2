//! `vibe abtest …`: the experimentation commands.

use std::fmt::Write;
use std::process::ExitCode;

use chrono::Utc;
use serde::Serialize;

use super::{AbtestCommand, NewTestArgs, OutputFormat};
use crate::experiments::calc::{self, parse_arm};
use crate::experiments::design::{DesignInput, VariantSpec};
use crate::experiments::{self as exp, render, ExperimentError};
use crate::import::observations::read_observations;
use crate::import::ImportError;
use crate::stats::Alpha;
use crate::store::Store;

/// Why an `abtest` command didn't complete.
#[derive(Debug)]
pub enum Failure {
    /// The command was wrong: the message says what to change (exit code 2).
    Usage(String),
    /// The command was right but couldn't be done (exit code 1).
    Failed(String),
    /// The database failed.
    Internal(anyhow::Error),
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Failure::Internal(e.into())
    }
}

macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

fn print_json<T: Serialize>(out: &mut String, value: &T) {
    match serde_json::to_string_pretty(value) {
        Ok(s) => say!(out, "{s}"),
        Err(e) => say!(out, "error: can't render JSON: {e}"),
    }
}

/// A usage problem: the message says what to change.
fn usage(message: impl std::fmt::Display) -> Result<(), Failure> {
    Err(Failure::Usage(message.to_string()))
}

fn failed(e: ExperimentError) -> Result<(), Failure> {
    match e {
        ExperimentError::Store(e) => Err(e.into()),
        e @ ExperimentError::Design(_) => usage(e),
        e => Err(Failure::Failed(e.to_string())),
    }
}

fn design_input(a: NewTestArgs) -> Result<DesignInput, String> {
    let mut variants: Vec<VariantSpec> = a.variants.iter().map(|n| VariantSpec::named(n)).collect();
    if !a.weights.is_empty() {
        if a.weights.len() != variants.len() {
            return Err(format!(
                "--weights has {} values for {} variants",
                a.weights.len(),
                variants.len()
            ));
        }
        for (v, w) in variants.iter_mut().zip(&a.weights) {
            v.weight = *w;
        }
    }
    Ok(DesignInput {
        name: a.name,
        hypothesis: a.hypothesis,
        kind: a.kind,
        metric_type: a.metric_type,
        target_metric: a.target_metric,
        variants,
        baseline: a.baseline,
        baseline_sd: a.baseline_sd,
        mde: a.mde,
        min_effect: a.min_effect,
        alpha: a.alpha,
        power: a.power,
        daily_traffic: a.daily_traffic,
        higher_is_better: !a.lower_is_better,
        guardrails: a.guardrails,
        start_at: a.start_at,
        created_by: a.by,
        channel_id: None,
    })
}

#[derive(Serialize)]
struct ExperimentJson<'a> {
    id: i64,
    status: &'a str,
    started_at: Option<i64>,
    ended_at: Option<i64>,
    verdict: Option<&'a str>,
    design: &'a exp::design::Design,
}

fn experiment_json(e: &crate::store::StoredExperiment) -> ExperimentJson<'_> {
    ExperimentJson {
        id: e.id,
        status: e.status.as_str(),
        started_at: e.started_at,
        ended_at: e.ended_at,
        verdict: e.verdict.as_deref(),
        design: &e.design,
    }
}

/// Runs a command in the terminal: prints what it wrote, and errors to stderr.
pub async fn run(
    store: &Store,
    command: AbtestCommand,
    format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let mut out = String::new();
    let result = execute(store, command, format, &mut out).await;
    out!("{out}");
    exit_code(result)
}

/// The exit code of a command's result: 2 for usage, 1 for a failure; database errors go up.
pub fn exit_code(result: Result<(), Failure>) -> anyhow::Result<ExitCode> {
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(Failure::Usage(m)) => {
            eprintln!("error: {m}");
            Ok(ExitCode::from(2))
        }
        Err(Failure::Failed(m)) => {
            eprintln!("error: {m}");
            Ok(ExitCode::FAILURE)
        }
        Err(Failure::Internal(e)) => Err(e),
    }
}

/// Runs a command, writing its output to `out`.
pub async fn execute(
    store: &Store,
    command: AbtestCommand,
    format: OutputFormat,
    out: &mut String,
) -> Result<(), Failure> {
    let json = format == OutputFormat::Json;
    let now = Utc::now();
    match command {
        AbtestCommand::New(args) => {
            let input = match design_input(args) {
                Ok(i) => i,
                Err(m) => return usage(m),
            };
            match exp::create(store, input, now).await {
                Ok(e) if json => print_json(out, &experiment_json(&e)),
                Ok(e) => {
                    let _ = write!(out, "{}", render::design_text(&e));
                    say!(out, "Start it with: vibe abtest start {}", e.id);
                }
                Err(e) => return failed(e),
            }
        }
        AbtestCommand::List { status } => {
            let mut all = Vec::new();
            for id in store.experiment_ids(status).await? {
                if let Some(e) = store.experiment(id).await? {
                    all.push(e);
                }
            }
            if json {
                print_json(out, &all.iter().map(experiment_json).collect::<Vec<_>>());
            } else if all.is_empty() {
                say!(out, "No tests yet. Design one with: vibe abtest new --help");
            } else {
                say!(out, "{:>4}  {:<10} {:<11} {:<32} {:>9}  verdict", "id", "status", "kind", "name", "planned");
                for e in &all {
                    say!(out,
                        "{:>4}  {:<10} {:<11} {:<32} {:>9}  {}",
                        e.id,
                        e.status.as_str(),
                        e.design.kind.as_str(),
                        e.design.name.chars().take(32).collect::<String>(),
                        e.design.planned_units,
                        e.verdict.as_deref().unwrap_or("")
                    );
                }
            }
        }
        AbtestCommand::Show { id } => {
            let e = match exp::load(store, id).await {
                Ok(e) => e,
                Err(e) => return failed(e),
            };
            let events = store.experiment_events(id).await?;
            if json {
                #[derive(Serialize)]
                struct Event<'a> {
                    at: i64,
                    actor: &'a str,
                    from: Option<&'a str>,
                    to: &'a str,
                    note: Option<&'a str>,
                }
                #[derive(Serialize)]
                struct Show<'a> {
                    #[serde(flatten)]
                    experiment: ExperimentJson<'a>,
                    history: Vec<Event<'a>>,
                }
                print_json(out, &Show {
                    experiment: experiment_json(&e),
                    history: events
                        .iter()
                        .map(|v| Event {
                            at: v.at,
                            actor: &v.actor,
                            from: v.from_status.as_deref(),
                            to: &v.to_status,
                            note: v.note.as_deref(),
                        })
                        .collect(),
                });
            } else {
                let _ = write!(out, "{}", render::show_text(&e, &events));
            }
        }
        AbtestCommand::Start { id, at, by } => match exp::start(store, id, &by, now, at).await {
            Ok(e) if json => print_json(out, &experiment_json(&e)),
            Ok(e) => match e.design.start_at.filter(|_| e.status == exp::design::Status::Draft) {
                Some(t) => say!(out, "Experiment {id} will start at {}", t.to_rfc3339()),
                None => say!(out, "Experiment {id} is running. The hourly check analyses it; see it with: vibe abtest results {id}"),
            },
            Err(e) => return failed(e),
        },
        AbtestCommand::Stop { id, reason, by } => match exp::stop(store, id, &by, now, reason).await {
            Ok(e) if json => print_json(out, &experiment_json(&e)),
            Ok(_) => say!(out, "Experiment {id} stopped."),
            Err(e) => return failed(e),
        },
        AbtestCommand::Results { id: None, .. } => {
            let all = match exp::results_of_running(store, now).await {
                Ok(a) => a,
                Err(e) => return failed(e),
            };
            if json {
                #[derive(Serialize)]
                struct One<'a> {
                    #[serde(flatten)]
                    result: Option<&'a exp::ExperimentResult>,
                    id: i64,
                    name: &'a str,
                    error: Option<String>,
                }
                let rows: Vec<One> = all
                    .iter()
                    .map(|(e, r)| One {
                        result: r.as_ref().ok(),
                        id: e.id,
                        name: &e.design.name,
                        error: r.as_ref().err().map(|x| x.to_string()),
                    })
                    .collect();
                // Compact: one test per line would be too long to read anyway.
                match serde_json::to_string(&rows) {
                    Ok(s) => say!(out, "{s}"),
                    Err(e) => return Err(Failure::Internal(e.into())),
                }
            } else if all.is_empty() {
                say!(out, "No running tests.");
            } else {
                for (e, r) in &all {
                    let line = match r {
                        Ok(r) => render::verdict_sentence(e, r),
                        Err(err) => format!("can't analyse: {err}"),
                    };
                    say!(out, "{:>4}  {}: {line}", e.id, e.design.name);
                }
            }
        }
        AbtestCommand::Results { id: Some(id), .. } => {
            let e = match exp::load(store, id).await {
                Ok(e) => e,
                Err(e) => return failed(e),
            };
            match exp::results(store, id, now).await {
                Ok(r) if json => {
                    #[derive(Serialize)]
                    struct Results<'a> {
                        #[serde(flatten)]
                        result: &'a exp::ExperimentResult,
                        name: &'a str,
                        status: &'a str,
                        variants: Vec<&'a str>,
                        verdict_text: String,
                    }
                    print_json(out, &Results {
                        result: &r,
                        name: &e.design.name,
                        status: e.status.as_str(),
                        variants: e.design.variants.iter().map(|v| v.name.as_str()).collect(),
                        verdict_text: render::verdict_sentence(&e, &r),
                    });
                }
                Ok(r) => {
                    let _ = write!(out, "{}", render::results_text(&e, &r));
                }
                Err(err) => return failed(err),
            }
        }
        AbtestCommand::Import { id, file } => {
            let e = match exp::load(store, id).await {
                Ok(e) => e,
                Err(e) => return failed(e),
            };
            let types = |metric: &str| {
                if metric == "primary" {
                    Some(e.design.metric_type)
                } else {
                    e.design.guardrails.iter().find(|g| g.name == metric).map(|g| g.metric_type)
                }
            };
            let variants: Vec<&str> = e.design.variants.iter().map(|v| v.name.as_str()).collect();
            let rows = match read_observations(&file, &variants, &types) {
                Ok(r) => r,
                Err(ImportError::Invalid { path, issues }) => {
                    let mut m = format!("{}: {} invalid row(s); nothing was written", path.display(), issues.len());
                    for i in &issues {
                        let _ = write!(m, "\n  {}", i.located(&path));
                    }
                    return Err(Failure::Failed(m));
                }
                Err(err) => return usage(err),
            };
            match store.add_observations(&e, &rows).await {
                Ok(n) if json => print_json(out, &serde_json::json!({ "experiment": id, "observations": n })),
                Ok(n) => say!(out, "Imported {n} observation(s) into experiment {id}."),
                Err(crate::store::StoreError::Conflict(m)) => return usage(m),
                Err(err) => return Err(err.into()),
            }
        }
        AbtestCommand::Link { id, variant, posts } => {
            let e = match exp::load(store, id).await {
                Ok(e) => e,
                Err(e) => return failed(e),
            };
            for post in &posts {
                match store.link_variant_post(&e, &variant, post).await {
                    Ok(()) => {}
                    Err(crate::store::StoreError::Conflict(m)) => return usage(m),
                    Err(err) => return Err(err.into()),
                }
            }
            say!(out, "Linked {} post(s) to {variant:?} of experiment {id}.", posts.len());
        }
        AbtestCommand::Check { now: at } => match exp::check(store, at.unwrap_or(now)).await {
            Ok(r) if json => print_json(out, &r),
            Ok(r) => {
                say!(out,
                    "Started {}, analysed {}, concluded {} test(s).",
                    r.started.len(),
                    r.analysed.len(),
                    r.concluded.len()
                );
                for id in &r.concluded {
                    if let Some(e) = store.experiment(*id).await? {
                        say!(out, "  {id} {}: {}", e.design.name, e.verdict.unwrap_or_default());
                    }
                }
                for id in &r.sample_ratio_mismatch {
                    say!(out, "  {id}: sample ratio mismatch — check the split before trusting its results");
                }
                for (id, why) in &r.failed {
                    say!(out, "  {id}: can't analyse: {why}");
                }
            }
            Err(e) => return failed(e),
        },
        AbtestCommand::Plan { metric_type, baseline, baseline_sd, mde, units, alpha, power, arms, daily_traffic } => {
            match calc::plan(metric_type, baseline, baseline_sd, mde, units, alpha, power, arms, daily_traffic) {
                Ok(p) if json => print_json(out, &p),
                Ok(p) => {
                    let _ = write!(out, "{}", calc::plan_text(&p));
                }
                Err(m) => return usage(m),
            }
        }
        AbtestCommand::Calc { arms, alpha } => {
            let alpha = match Alpha::new(alpha) {
                Ok(a) => a,
                Err(e) => return usage(e),
            };
            let parsed: Result<Vec<_>, String> = arms.iter().map(|a| parse_arm(a)).collect();
            let parsed = match parsed {
                Ok(p) => p,
                Err(m) => return usage(m),
            };
            match calc::calc(&parsed, alpha) {
                Ok(r) if json => print_json(out, &r),
                Ok(r) => {
                    let _ = write!(out, "{}", calc::calc_text(&r));
                }
                Err(e) => return usage(e),
            }
        }
    }
    Ok(())
}
