//! The scheduler: jobs on crontab schedules in a time zone, each scheduled run claimed through
//! the database (a row per job and slot, with a lease) so that with several `vibe serve`
//! replicas it happens once, a run whose replica died is taken over when its lease runs out, and
//! after downtime only the latest missed slot within the catch-up window runs, once.

pub mod cron;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use tokio::sync::watch;

use crate::config::SchedulerSettings;
use crate::server::AppState;
pub use cron::CronSpec;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    /// The detectors: alerts raised (and posted) and resolved.
    Analysis,
    /// The A/B test check: scheduled starts, analyses, conclusions (announced).
    AbTests,
}

impl JobKind {
    pub fn name(self) -> &'static str {
        match self {
            JobKind::Analysis => "analysis",
            JobKind::AbTests => "abtests",
        }
    }
}

/// Every job's name, as recorded in `job_runs`.
pub const JOB_NAMES: [&str; 2] = ["analysis", "abtests"];

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    pub kind: JobKind,
    pub spec: CronSpec,
}

/// The configured jobs (an empty expression turns a job off).
pub fn jobs(s: &SchedulerSettings) -> Result<Vec<Job>, String> {
    let mut out = Vec::new();
    for (kind, expr) in [
        (JobKind::Analysis, &s.analysis),
        (JobKind::AbTests, &s.abtests),
    ] {
        if expr.trim().is_empty() {
            continue;
        }
        out.push(Job {
            kind,
            spec: expr.parse()?,
        });
    }
    Ok(out)
}

/// What one run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub job: &'static str,
    pub slot: DateTime<Utc>,
    pub error: Option<String>,
}

/// A scheduler for one process.
pub struct Scheduler {
    app: AppState,
    jobs: Vec<Job>,
    tz: Tz,
    owner: String,
    catch_up: chrono::Duration,
    lease_secs: i64,
    /// Slots this process already found claimed or ran, so it doesn't ask again.
    seen: Mutex<HashSet<(&'static str, i64)>>,
}

impl Scheduler {
    pub fn new(app: AppState, owner: &str) -> Result<Scheduler, String> {
        let s = &app.settings.scheduler;
        Ok(Scheduler {
            jobs: jobs(s)?,
            tz: s.timezone.0,
            owner: owner.to_string(),
            catch_up: chrono::Duration::seconds(s.catch_up_secs as i64),
            lease_secs: s.lease_secs as i64,
            seen: Mutex::new(HashSet::new()),
            app,
        })
    }

    /// A process's owner name: host, pid and a random part.
    pub fn owner_name() -> String {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        format!(
            "{host}:{}:{:08x}",
            std::process::id(),
            rand::random::<u32>()
        )
    }

    /// One pass at `now`: each job whose latest slot in the catch-up window isn't claimed yet
    /// is claimed and run. Returns what ran.
    pub async fn tick(&self, now: DateTime<Utc>) -> Vec<RunOutcome> {
        let mut ran = Vec::new();
        for job in &self.jobs {
            let Some(slot) = job.spec.latest_between(self.tz, now - self.catch_up, now) else {
                continue;
            };
            let key = (job.kind.name(), slot.timestamp());
            if self.lock().contains(&key) {
                continue;
            }
            match self
                .app
                .store
                .claim_run(key.0, key.1, &self.owner, now.timestamp(), self.lease_secs)
                .await
            {
                Ok(true) => {}
                Ok(false) => {
                    // Done, or held by a live replica: that one finishes it (or its lease
                    // runs out and a later pass takes over).
                    if self.finished(key).await {
                        self.lock().insert(key);
                    }
                    continue;
                }
                Err(e) => {
                    tracing::error!(job = key.0, error = %e, "scheduler: can't claim a run");
                    continue;
                }
            }
            self.lock().insert(key);
            ran.push(self.run(job.kind, slot, now).await);
        }
        ran
    }

    async fn finished(&self, key: (&'static str, i64)) -> bool {
        match self.app.store.job_runs(key.0).await {
            Ok(runs) => runs
                .iter()
                .any(|r| r.slot == key.1 && r.status != "running"),
            Err(_) => false,
        }
    }

    /// Runs a claimed slot, renewing its lease while it works, and records how it ended.
    async fn run(&self, kind: JobKind, slot: DateTime<Utc>, now: DateTime<Utc>) -> RunOutcome {
        let started = Instant::now();
        let (name, s) = (kind.name(), slot.timestamp());
        let work = execute(&self.app, kind, now);
        tokio::pin!(work);
        let mut every =
            tokio::time::interval(Duration::from_secs((self.lease_secs as u64 / 3).max(1)));
        every.tick().await;
        let result = loop {
            tokio::select! {
                r = &mut work => break r,
                _ = every.tick() => {
                    let until = Utc::now().timestamp() + self.lease_secs;
                    if !matches!(self.app.store.renew_run(name, s, &self.owner, until).await, Ok(true)) {
                        tracing::warn!(job = name, "scheduler: lost the lease of a run");
                    }
                }
            }
        };
        let error = result.err();
        let ms = started.elapsed().as_millis() as i64;
        let done_at = Utc::now().timestamp().max(now.timestamp());
        if let Err(e) = self
            .app
            .store
            .finish_run(name, s, &self.owner, error.as_deref(), done_at, ms)
            .await
        {
            tracing::error!(job = name, error = %e, "scheduler: can't record a run");
        }
        let status = if error.is_some() { "failed" } else { "done" };
        crate::metrics::inc("vibe_job_runs_total", &[("job", name), ("status", status)]);
        crate::metrics::observe("vibe_job_run_seconds", &[("job", name)], ms as f64 / 1000.0);
        match &error {
            None => tracing::info!(job = name, slot = %slot, ms, "scheduled run done"),
            Some(e) => {
                tracing::error!(job = name, slot = %slot, error = %e, "scheduled run failed")
            }
        }
        RunOutcome {
            job: name,
            slot,
            error,
        }
    }

    /// When the next slot of any job is due after `now`.
    pub fn next_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.jobs
            .iter()
            .filter_map(|j| j.spec.next_after(self.tz, now))
            .min()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<(&'static str, i64)>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Does a job's work at `now`.
async fn execute(app: &AppState, kind: JobKind, now: DateTime<Utc>) -> Result<(), String> {
    match kind {
        JobKind::Analysis => {
            let tz = app.settings.report.timezone.0;
            crate::analytics::service::analyse(&app.store, &app.settings.detectors, now, tz)
                .await
                .map(|_| ())
                .or_else(|e| match e {
                    crate::analytics::service::ReportError::NoAccounts(_) => Ok(()),
                    e => Err(e.to_string()),
                })
        }
        JobKind::AbTests => crate::experiments::check(&app.store, now)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    }
}

/// Ticks until `stop` turns true, sleeping until the next slot (at most 30 s, so a run whose
/// replica died is taken over soon after its lease runs out). A run in progress finishes.
pub async fn run(scheduler: Scheduler, mut stop: watch::Receiver<bool>) {
    loop {
        if *stop.borrow() {
            break;
        }
        let now = Utc::now();
        scheduler.tick(now).await;
        let next = scheduler
            .next_due(now)
            .unwrap_or(now + chrono::Duration::seconds(30));
        let wait = (next - Utc::now())
            .to_std()
            .unwrap_or_default()
            .min(Duration::from_secs(30))
            + Duration::from_millis(50);
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
}
