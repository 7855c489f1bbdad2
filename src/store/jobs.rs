//! Scheduled runs: claimed once per (job, slot) through a unique row and a lease; and what the
//! retention job removes.

use super::{Result, Store};

crate::domain::text_enum!(
    /// Where a scheduled run is.
    JobState {
        /// Held by a replica under a lease.
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
);

/// One job's most recent run, for health.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct JobRun {
    pub job: String,
    pub slot: i64,
    pub status: JobState,
    pub owner: String,
    pub attempts: i64,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub error: Option<String>,
}

/// What [`Store::thin_snapshots`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Thinned {
    pub post_snapshots: u64,
    pub account_snapshots: u64,
}

/// What [`Store::prune_bookkeeping`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    pub job_runs: u64,
    pub notifications: u64,
    pub outbox_rows: u64,
    pub deliveries_seen: u64,
}

impl Store {
    /// Claims the run of `job` for `slot`: true if this owner now holds it (a new run, or one
    /// whose holder's lease ran out). False if it is done, failed, or held by a live owner.
    pub async fn claim_run(
        &self,
        job: &str,
        slot: i64,
        owner: &str,
        now: i64,
        lease: i64,
    ) -> Result<bool> {
        let inserted = sqlx::query(
            "INSERT INTO job_runs (job, slot, status, owner, lease_until, started_at) \
             VALUES ($1, $2, 'running', $3, $4, $5) ON CONFLICT (job, slot) DO NOTHING",
        )
        .bind(job)
        .bind(slot)
        .bind(owner)
        .bind(now + lease)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(true);
        }
        let taken = sqlx::query(
            "UPDATE job_runs SET owner = $1, lease_until = $2, started_at = $3, attempts = attempts + 1 \
             WHERE job = $4 AND slot = $5 AND status = 'running' AND lease_until < $3",
        )
        .bind(owner)
        .bind(now + lease)
        .bind(now)
        .bind(job)
        .bind(slot)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(taken == 1)
    }

    /// Extends the lease of a run this owner holds; false if it no longer holds it.
    pub async fn renew_run(&self, job: &str, slot: i64, owner: &str, until: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE job_runs SET lease_until = $1 WHERE job = $2 AND slot = $3 AND owner = $4 AND status = 'running'",
        )
        .bind(until)
        .bind(job)
        .bind(slot)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Records how a held run ended.
    pub async fn finish_run(
        &self,
        job: &str,
        slot: i64,
        owner: &str,
        error: Option<&str>,
        now: i64,
        duration_ms: i64,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE job_runs SET status = $1, error = $2, finished_at = $3, duration_ms = $4 \
             WHERE job = $5 AND slot = $6 AND owner = $7 AND status = 'running'",
        )
        .bind(
            if error.is_some() {
                JobState::Failed
            } else {
                JobState::Done
            }
            .as_str(),
        )
        .bind(error)
        .bind(now)
        .bind(duration_ms)
        .bind(job)
        .bind(slot)
        .bind(owner)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Every run of `job`, oldest first (tests, `vibe health`).
    pub async fn job_runs(&self, job: &str) -> Result<Vec<JobRun>> {
        let rows = sqlx::query(
            "SELECT job, slot, status, owner, attempts, started_at, finished_at, duration_ms, error \
             FROM job_runs WHERE job = $1 ORDER BY slot",
        )
        .bind(job)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_run).collect()
    }

    /// The state of one run, if it was claimed.
    pub async fn run_status(&self, job: &str, slot: i64) -> Result<Option<JobState>> {
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM job_runs WHERE job = $1 AND slot = $2")
                .bind(job)
                .bind(slot)
                .fetch_optional(&self.pool)
                .await?;
        status.as_deref().map(super::parse_stored).transpose()
    }

    /// Runs still marked running whose lease ran out (their replica died), for slots at or
    /// after `since`: (job, slot), oldest first.
    pub async fn stale_runs(&self, now: i64, since: i64) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT job, slot FROM job_runs WHERE status = 'running' AND lease_until < $1 AND slot >= $2 \
             ORDER BY slot",
        )
        .bind(now)
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        use sqlx::Row;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    /// Thins snapshots observed before `before` down to what the rollups are made of: a post
    /// snapshot stays when it is some kept zone's last of its day (`post_daily` names it), an
    /// account snapshot when some zone's `account_daily` took its follower count from it. Each
    /// post's latest snapshot is the last of its day in every zone, so it stays too; the
    /// rollups stay whole, so a report on any old period in any kept zone is unchanged, and
    /// rebuilding a rollup later gives the same numbers.
    pub async fn thin_snapshots(&self, before: i64) -> Result<Thinned> {
        let mut tx = self.begin_write().await?;
        if self.backend == crate::config::Backend::Postgres {
            // Not while a zone is being added: its rollups are built from these snapshots.
            sqlx::query("LOCK TABLE rollup_zones IN SHARE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let zones: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rollup_zones")
            .fetch_one(&mut *tx)
            .await?;
        if zones == 0 {
            // No rollups yet: every snapshot is still the only copy of its numbers.
            return Ok(Thinned::default());
        }
        let post_snapshots = sqlx::query(
            "DELETE FROM post_snapshots WHERE observed_at < $1 AND NOT EXISTS (\
               SELECT 1 FROM post_daily d WHERE d.post_id = post_snapshots.post_id \
                 AND d.observed_at = post_snapshots.observed_at)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let account_snapshots = sqlx::query(
            "DELETE FROM account_snapshots WHERE observed_at < $1 AND NOT EXISTS (\
               SELECT 1 FROM account_daily d WHERE d.account_id = account_snapshots.account_id \
                 AND d.followers_at = account_snapshots.observed_at)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(Thinned {
            post_snapshots,
            account_snapshots,
        })
    }

    /// Removes bookkeeping nothing will read again: finished job runs for slots before `before`
    /// (each job's latest run stays, for health), notifications handed over before `before`,
    /// delivered or failed chart uploads and message updates last touched before `before`
    /// (posted messages stay: buttons on them are matched to their rows), and Slack deliveries
    /// seen before `seen_before` (Slack retries within minutes).
    pub async fn prune_bookkeeping(&self, before: i64, seen_before: i64) -> Result<Pruned> {
        let mut tx = self.begin_write().await?;
        let job_runs = sqlx::query(
            "DELETE FROM job_runs WHERE slot < $1 AND (status <> 'running' OR lease_until < $1) \
             AND slot < (SELECT MAX(x.slot) FROM job_runs x WHERE x.job = job_runs.job)",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let notifications = sqlx::query(
            "DELETE FROM notifications WHERE delivered_at IS NOT NULL AND delivered_at < $1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let outbox_rows = sqlx::query(
            "DELETE FROM slack_outbox WHERE kind IN ('file', 'update') \
             AND status IN ('delivered', 'failed') AND updated_at < $1",
        )
        .bind(before)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let deliveries_seen = sqlx::query("DELETE FROM slack_deliveries_seen WHERE seen_at < $1")
            .bind(seen_before)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(Pruned {
            job_runs,
            notifications,
            outbox_rows,
            deliveries_seen,
        })
    }

    /// Each job's latest run (by slot), by job name.
    pub async fn latest_runs(&self) -> Result<Vec<JobRun>> {
        let rows = sqlx::query(
            "SELECT job, slot, status, owner, attempts, started_at, finished_at, duration_ms, error \
             FROM job_runs r WHERE slot = (SELECT MAX(slot) FROM job_runs x WHERE x.job = r.job) \
             ORDER BY job",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(job_run).collect()
    }
}

fn job_run(r: &sqlx::any::AnyRow) -> Result<JobRun> {
    use sqlx::Row;
    Ok(JobRun {
        job: r.try_get(0)?,
        slot: r.try_get(1)?,
        status: super::text_column(r, 2)?,
        owner: r.try_get(3)?,
        attempts: r.try_get(4)?,
        started_at: r.try_get(5)?,
        finished_at: r.try_get(6)?,
        duration_ms: r.try_get(7)?,
        error: r.try_get(8)?,
    })
}
