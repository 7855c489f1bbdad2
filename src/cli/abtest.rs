//! `vibe abtest …` in the terminal: the application's answers as text or JSON. The JSON
//! shapes are read by others' scripts: fields may be added, never renamed or removed.

use std::fmt::Write;
use std::process::ExitCode;

use chrono::Utc;
use serde::Serialize;

use crate::app::abtest::{execute, AbtestAnswer};
use crate::app::grammar::{AbtestCommand, OutputFormat};
use crate::app::AppError;
use crate::experiments::{self as exp, calc, render};
use crate::store::Store;

fn json<T: Serialize>(value: &T, pretty: bool) -> Result<String, AppError> {
    let s = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    s.map(|s| s + "\n")
        .map_err(|e| AppError::Internal(e.into()))
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

/// Runs a command in the terminal: prints the answer, and errors to stderr.
pub async fn run(
    store: &Store,
    command: AbtestCommand,
    format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let actor = match &command {
        AbtestCommand::Start { by, .. } | AbtestCommand::Stop { by, .. } => by.clone(),
        AbtestCommand::New(a) => a.by.clone().unwrap_or_else(|| "cli".into()),
        _ => "cli".into(),
    };
    let result = execute(store, command, &actor, Utc::now())
        .await
        .and_then(|a| {
            if format == OutputFormat::Json {
                answer_json(&a)
            } else {
                Ok(answer_text(&a))
            }
        });
    match result {
        Ok(text) => {
            out!("{text}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => exit_code(e),
    }
}

/// The exit code of a failed command: 2 for usage, 1 for a failure; vibe's own errors go up.
pub fn exit_code(e: AppError) -> anyhow::Result<ExitCode> {
    match e {
        AppError::Usage(m) => {
            eprintln!("error: {m}");
            Ok(ExitCode::from(2))
        }
        e @ AppError::Fields(_) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(2))
        }
        AppError::Failed(m) => {
            eprintln!("error: {m}");
            Ok(ExitCode::FAILURE)
        }
        AppError::Internal(e) => Err(e),
    }
}

/// The answer for scripts.
fn answer_json(a: &AbtestAnswer) -> Result<String, AppError> {
    match a {
        AbtestAnswer::Created(e) | AbtestAnswer::Started(e) | AbtestAnswer::Stopped(e) => {
            json(&experiment_json(e), true)
        }
        AbtestAnswer::List(all) => json(&all.iter().map(experiment_json).collect::<Vec<_>>(), true),
        AbtestAnswer::Show {
            experiment,
            history,
        } => {
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
            json(
                &Show {
                    experiment: experiment_json(experiment),
                    history: history
                        .iter()
                        .map(|v| Event {
                            at: v.at,
                            actor: &v.actor,
                            from: v.from_status.as_deref(),
                            to: &v.to_status,
                            note: v.note.as_deref(),
                        })
                        .collect(),
                },
                true,
            )
        }
        AbtestAnswer::Running(all) => {
            #[derive(Serialize)]
            struct One<'a> {
                #[serde(flatten)]
                result: Option<&'a exp::ExperimentResult>,
                id: i64,
                name: &'a str,
                error: Option<&'a str>,
            }
            let rows: Vec<One> = all
                .iter()
                .map(|(e, r)| One {
                    result: r.as_ref().ok(),
                    id: e.id,
                    name: &e.design.name,
                    error: r.as_ref().err().map(String::as_str),
                })
                .collect();
            // Compact: one test per line would be too long to read anyway.
            json(&rows, false)
        }
        AbtestAnswer::Results { experiment, result } => {
            #[derive(Serialize)]
            struct Results<'a> {
                #[serde(flatten)]
                result: &'a exp::ExperimentResult,
                name: &'a str,
                status: &'a str,
                variants: Vec<&'a str>,
                verdict_text: String,
            }
            json(
                &Results {
                    result,
                    name: &experiment.design.name,
                    status: experiment.status.as_str(),
                    variants: experiment
                        .design
                        .variants
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect(),
                    verdict_text: render::verdict_sentence(experiment, result),
                },
                true,
            )
        }
        AbtestAnswer::Imported { id, observations } => json(
            &serde_json::json!({ "experiment": id, "observations": observations }),
            true,
        ),
        // `link` has always answered in words.
        AbtestAnswer::Linked { .. } => Ok(answer_text(a)),
        AbtestAnswer::Checked { report, .. } => json(report, true),
        AbtestAnswer::Plan(p) => json(p, true),
        AbtestAnswer::Calc(r) => json(r, true),
    }
}

/// The answer for people.
fn answer_text(a: &AbtestAnswer) -> String {
    let mut out = String::new();
    match a {
        AbtestAnswer::Created(e) => {
            out.push_str(&render::design_text(e));
            let _ = writeln!(out, "Start it with: vibe abtest start {}", e.id);
        }
        AbtestAnswer::List(all) if all.is_empty() => {
            out.push_str("No tests yet. Design one with: vibe abtest new --help\n");
        }
        AbtestAnswer::List(all) => {
            let _ = writeln!(
                out,
                "{:>4}  {:<10} {:<11} {:<32} {:>9}  verdict",
                "id", "status", "kind", "name", "planned"
            );
            for e in all {
                let _ = writeln!(
                    out,
                    "{:>4}  {:<10} {:<11} {:<32} {:>9}  {}",
                    e.id,
                    e.status.as_str(),
                    e.design.kind.as_str(),
                    e.design.name.chars().take(32).collect::<String>(),
                    crate::format::count(e.design.planned_units),
                    e.verdict.as_deref().unwrap_or("")
                );
            }
        }
        AbtestAnswer::Show {
            experiment,
            history,
        } => out.push_str(&render::show_text(experiment, history)),
        AbtestAnswer::Started(e) => {
            let id = e.id;
            match e
                .design
                .start_at
                .filter(|_| e.status == exp::design::Status::Draft)
            {
                Some(t) => {
                    let _ = writeln!(out, "Experiment {id} will start at {}", t.to_rfc3339());
                }
                None => {
                    let _ = writeln!(out, "Experiment {id} is running. The hourly check analyses it; see it with: vibe abtest results {id}");
                }
            }
        }
        AbtestAnswer::Stopped(e) => {
            let _ = writeln!(out, "Experiment {} stopped.", e.id);
        }
        AbtestAnswer::Running(all) if all.is_empty() => out.push_str("No running tests.\n"),
        AbtestAnswer::Running(all) => {
            for (e, r) in all {
                let line = match r {
                    Ok(r) => render::verdict_sentence(e, r),
                    Err(err) => format!("can't analyse: {err}"),
                };
                let _ = writeln!(out, "{:>4}  {}: {line}", e.id, e.design.name);
            }
        }
        AbtestAnswer::Results { experiment, result } => {
            out.push_str(&render::results_text(experiment, result))
        }
        AbtestAnswer::Imported { id, observations } => {
            let _ = writeln!(
                out,
                "Imported {observations} observation(s) into experiment {id}."
            );
        }
        AbtestAnswer::Linked { id, variant, posts } => {
            let _ = writeln!(
                out,
                "Linked {posts} post(s) to {variant:?} of experiment {id}."
            );
        }
        AbtestAnswer::Checked { report, concluded } => {
            let _ = writeln!(
                out,
                "Started {}, analysed {}, concluded {} test(s).",
                report.started.len(),
                report.analysed.len(),
                report.concluded.len()
            );
            for e in concluded {
                let _ = writeln!(
                    out,
                    "  {} {}: {}",
                    e.id,
                    e.design.name,
                    e.verdict.as_deref().unwrap_or_default()
                );
            }
            for id in &report.sample_ratio_mismatch {
                let _ = writeln!(
                    out,
                    "  {id}: sample ratio mismatch — check the split before trusting its results"
                );
            }
            for (id, why) in &report.failed {
                let _ = writeln!(out, "  {id}: can't analyse: {why}");
            }
        }
        AbtestAnswer::Plan(p) => out.push_str(&calc::plan_text(p)),
        AbtestAnswer::Calc(r) => out.push_str(&calc::calc_text(r)),
    }
    out
}
