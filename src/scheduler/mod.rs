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

use futures_util::future::BoxFuture;

use crate::config::{SchedulerSettings, Settings};
use crate::store::{DigestSchedule, Store};
pub use cron::{CronError, CronSpec};

/// Why a scheduled run failed (recorded with the run, in words).
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Cron(#[from] CronError),
    /// A stored digest schedule vibe can't read (its kind or time zone).
    #[error("{0}")]
    Schedule(String),
    #[error(transparent)]
    Report(#[from] crate::analytics::service::ReportError),
    #[error(transparent)]
    Experiments(#[from] crate::experiments::ExperimentError),
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error("the digest: {0}")]
    Digest(String),
}

/// Which digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DigestKind {
    /// Compact: score, headline changes, alerts, running tests.
    Daily,
    /// The deep dive: trends, forecasts, funnel, test results and charts.
    Weekly,
}

impl DigestKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestKind::Daily => "daily",
            DigestKind::Weekly => "weekly",
        }
    }
}

impl std::str::FromStr for DigestKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_lowercase().as_str() {
            "daily" => Ok(DigestKind::Daily),
            "weekly" => Ok(DigestKind::Weekly),
            other => Err(format!("{other:?} is not a digest: daily or weekly")),
        }
    }
}

/// What posts a channel digest (the Slack adapter): builds it as of `at` and queues its
/// messages in the outbox under `key`; false when nothing was queued (already queued under
/// `key`, or no data yet).
pub trait Digests: Send + Sync {
    fn post<'a>(
        &'a self,
        kind: DigestKind,
        channel: &'a str,
        tz: Tz,
        at: DateTime<Utc>,
        key: &'a str,
    ) -> BoxFuture<'a, Result<bool, String>>;
}

/// What the jobs work with: the store, the settings, and what posts digests.
#[derive(Clone)]
pub struct Services {
    pub store: Store,
    pub settings: Settings,
    pub digests: std::sync::Arc<dyn Digests>,
}

/// How long a Slack delivery is remembered against retries (Slack retries within minutes).
const SEEN_KEPT_SECS: i64 = 86_400;

/// What a job does.
#[derive(Debug, Clone, PartialEq)]
pub enum JobKind {
    /// The detectors: alerts raised (and posted) and resolved.
    Analysis,
    /// The A/B test check: scheduled starts, analyses, conclusions (announced).
    AbTests,
    /// Thinning old snapshots.
    Retention,
    /// A channel digest.
    Digest { kind: DigestKind, channel: String },
}

/// The configured jobs' names, as recorded in `job_runs` (digests add `digest:daily`,
/// `digest:weekly` and `digest:ID`).
pub const JOB_NAMES: [&str; 3] = ["analysis", "abtests", "retention"];

#[derive(Debug, Clone, PartialEq)]
pub struct Job {
    /// The name runs are recorded under.
    pub name: String,
    pub kind: JobKind,
    pub spec: CronSpec,
    /// The time zone the expression is read in.
    pub tz: Tz,
}

/// The jobs in the configuration (an empty expression turns a job off; the two digests need
/// `digest_channel`).
pub fn jobs(s: &SchedulerSettings) -> Result<Vec<Job>, CronError> {
    let channel = s.digest_channel.trim();
    let mut wanted = vec![
        ("analysis", JobKind::Analysis, &s.analysis),
        ("abtests", JobKind::AbTests, &s.abtests),
        ("retention", JobKind::Retention, &s.retention),
    ];
    if !channel.is_empty() {
        for (name, kind, expr) in [
            ("digest:daily", DigestKind::Daily, &s.daily_digest),
            ("digest:weekly", DigestKind::Weekly, &s.weekly_digest),
        ] {
            let digest = JobKind::Digest {
                kind,
                channel: channel.to_string(),
            };
            wanted.push((name, digest, expr));
        }
    }
    let mut out = Vec::new();
    for (name, kind, expr) in wanted {
        if expr.trim().is_empty() {
            continue;
        }
        out.push(Job {
            name: name.to_string(),
            kind,
            spec: CronSpec::parse_with(expr, s.seconds_field)?,
            tz: s.timezone.0,
        });
    }
    Ok(out)
}

/// The job of a digest schedule added from Slack or the CLI.
pub fn schedule_job(d: &DigestSchedule, seconds_field: bool) -> Result<Job, JobError> {
    Ok(Job {
        name: format!("digest:{}", d.id),
        kind: JobKind::Digest {
            kind: d.kind.parse().map_err(JobError::Schedule)?,
            channel: d.channel.clone(),
        },
        spec: CronSpec::parse_with(&d.cron, seconds_field)?,
        tz: d
            .timezone
            .parse()
            .map_err(|_| JobError::Schedule(format!("{:?} is not a time zone", d.timezone)))?,
    })
}

/// What one run did.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub job: String,
    pub slot: DateTime<Utc>,
    pub error: Option<String>,
}

/// A scheduler for one process.
pub struct Scheduler {
    app: Services,
    /// The jobs from the configuration; digest schedules are read at each pass.
    configured: Vec<Job>,
    owner: String,
    catch_up: chrono::Duration,
    lease_secs: i64,
    /// Slots this process already ran or found finished, so it doesn't ask again.
    seen: Mutex<HashSet<(String, i64)>>,
}

impl Scheduler {
    pub fn new(app: Services, owner: &str) -> Result<Scheduler, CronError> {
        let s = &app.settings.scheduler;
        Ok(Scheduler {
            configured: jobs(s)?,
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

    /// The configured jobs and one per digest schedule in the store.
    async fn current_jobs(&self) -> Vec<Job> {
        let mut all = self.configured.clone();
        match self.app.store.schedules().await {
            Ok(schedules) => {
                for d in &schedules {
                    match schedule_job(d, self.app.settings.scheduler.seconds_field) {
                        Ok(j) => all.push(j),
                        Err(e) => {
                            tracing::warn!(schedule = d.id, error = %e, "scheduler: skipping a schedule")
                        }
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "scheduler: can't read the digest schedules"),
        }
        all
    }

    /// One pass at `now`: for each job, its latest slot in the catch-up window and any run in
    /// the window whose replica died (its lease ran out) are claimed and run, concurrently.
    /// Returns what ran.
    pub async fn tick(&self, now: DateTime<Utc>) -> Vec<RunOutcome> {
        let since = now - self.catch_up;
        let stale = self
            .app
            .store
            .stale_runs(now.timestamp(), since.timestamp())
            .await
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "scheduler: can't look for abandoned runs");
                Vec::new()
            });
        let mut claimed = Vec::new();
        for job in self.current_jobs().await {
            let mut slots: Vec<i64> = stale
                .iter()
                .filter(|(name, _)| *name == job.name)
                .map(|(_, slot)| *slot)
                .collect();
            if let Some(slot) = job.spec.latest_between(job.tz, since, now) {
                slots.push(slot.timestamp());
            }
            slots.sort_unstable();
            slots.dedup();
            for slot in slots {
                if self.claim(&job.name, slot, now).await {
                    claimed.push((job.clone(), slot));
                }
            }
        }
        futures_util::future::join_all(claimed.into_iter().map(|(job, slot)| {
            // One span per run, so its log lines (and the outbox rows it queues) are
            // found by job and slot.
            let span = tracing::info_span!("job", job = %job.name, slot);
            tracing::Instrument::instrument(async move { self.run(job, slot, now).await }, span)
        }))
        .await
    }

    /// Claims (job, slot) for this process unless it is finished or held by a live replica.
    async fn claim(&self, job: &str, slot: i64, now: DateTime<Utc>) -> bool {
        let key = (job.to_string(), slot);
        if self.lock().contains(&key) {
            return false;
        }
        match self
            .app
            .store
            .claim_run(job, slot, &self.owner, now.timestamp(), self.lease_secs)
            .await
        {
            Ok(true) => {
                self.lock().insert(key);
                true
            }
            Ok(false) => {
                // Done, or held by a live replica: that one finishes it (or its lease runs
                // out and a later pass takes over).
                if matches!(
                    self.app.store.run_status(job, slot).await,
                    Ok(Some(s)) if s != crate::store::JobState::Running
                ) {
                    self.lock().insert(key);
                }
                false
            }
            Err(e) => {
                tracing::error!(job, error = %e, "scheduler: can't claim a run");
                false
            }
        }
    }

    /// Runs a claimed slot, renewing its lease while it works, and records how it ended.
    async fn run(&self, job: Job, slot: i64, now: DateTime<Utc>) -> RunOutcome {
        let started = Instant::now();
        let name = job.name.as_str();
        let at = DateTime::from_timestamp(slot, 0).unwrap_or(now);
        let work = execute(&self.app, &job, at, now);
        tokio::pin!(work);
        let mut every =
            tokio::time::interval(Duration::from_secs((self.lease_secs as u64 / 3).max(1)));
        every.tick().await;
        let result = loop {
            tokio::select! {
                r = &mut work => break r,
                _ = every.tick() => {
                    let until = Utc::now().timestamp() + self.lease_secs;
                    if !matches!(self.app.store.renew_run(name, slot, &self.owner, until).await, Ok(true)) {
                        tracing::warn!(job = name, "scheduler: lost the lease of a run");
                    }
                }
            }
        };
        let error = result.err().map(|e| e.to_string());
        crate::memory::release_free_memory();
        let ms = started.elapsed().as_millis() as i64;
        let done_at = Utc::now().timestamp().max(now.timestamp());
        if let Err(e) = self
            .app
            .store
            .finish_run(name, slot, &self.owner, error.as_deref(), done_at, ms)
            .await
        {
            tracing::error!(job = name, error = %e, "scheduler: can't record a run");
        }
        let status = if error.is_some() { "failed" } else { "done" };
        let family = metric_name(name);
        crate::metrics::inc(
            "vibe_job_runs_total",
            &[("job", family), ("status", status)],
        );
        crate::metrics::observe(
            "vibe_job_run_seconds",
            &[("job", family)],
            ms as f64 / 1000.0,
        );
        match &error {
            None => tracing::info!(job = name, slot = %at, ms, "scheduled run done"),
            Some(e) => {
                tracing::error!(job = name, slot = %at, error = %e, "scheduled run failed")
            }
        }
        RunOutcome {
            job: job.name.clone(),
            slot: at,
            error,
        }
    }

    /// When the next slot of any job is due after `now`.
    pub async fn next_due(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.current_jobs()
            .await
            .iter()
            .filter_map(|j| j.spec.next_after(j.tz, now))
            .min()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<(String, i64)>> {
        self.seen.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The metric label of a job: digests share one, so schedules don't multiply the series.
fn metric_name(job: &str) -> &str {
    if job.starts_with("digest:") {
        "digest"
    } else {
        job
    }
}

/// Does a job's work for the slot `at`, at `now`.
async fn execute(
    app: &Services,
    job: &Job,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), JobError> {
    match &job.kind {
        JobKind::Analysis => {
            let tz = app.settings.report.timezone.0;
            crate::analytics::service::analyse(&app.store, &app.settings, now, tz)
                .await
                .map(|_| ())
                .or_else(|e| match e {
                    crate::analytics::service::ReportError::NoAccounts(_) => Ok(()),
                    e => Err(e.into()),
                })
        }
        JobKind::AbTests => Ok(crate::experiments::check(&app.store, now)
            .await
            .map(|_| ())?),
        JobKind::Retention => {
            let days = i64::from(app.settings.retention.snapshot_days);
            let before = now.timestamp() - days * 86_400;
            let thinned = app.store.thin_snapshots(before).await?;
            // A run inside the catch-up window must stay: its row is what keeps it from
            // running again.
            let catch_up = i64::try_from(app.settings.scheduler.catch_up_secs).unwrap_or(i64::MAX);
            let runs_before = before.min(now.timestamp().saturating_sub(catch_up));
            let pruned = app
                .store
                .prune_bookkeeping(runs_before, now.timestamp() - SEEN_KEPT_SECS)
                .await?;
            tracing::info!(
                days,
                post_snapshots = thinned.post_snapshots,
                account_snapshots = thinned.account_snapshots,
                job_runs = pruned.job_runs,
                notifications = pruned.notifications,
                outbox_rows = pruned.outbox_rows,
                deliveries_seen = pruned.deliveries_seen,
                "retention: old snapshots thinned, bookkeeping pruned"
            );
            Ok(())
        }
        JobKind::Digest { kind, channel } => {
            let key = format!("{}:{}", job.name, at.timestamp());
            app.digests
                .post(*kind, channel, job.tz, at, &key)
                .await
                .map(|_| ())
                .map_err(JobError::Digest)
        }
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
            .await
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
