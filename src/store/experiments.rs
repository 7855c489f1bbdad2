//! Experiments in the store: designs, state transitions with their audit trail, observations,
//! analyses and notifications. Every transition is one conditional UPDATE, so two concurrent
//! attempts can't both succeed, and its event row and notification commit with it.

use sqlx::any::AnyRow;
use sqlx::Row;

use super::{opt_f64, unix_now, Result, Store, StoreError};
use crate::domain::{Count, PostMetrics, POST_METRIC_NAMES};
use crate::experiments::design::{Design, GuardrailSpec, Kind, MetricType, Status, VariantSpec};

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

/// A state change to make, if the experiment is in one of `from`.
#[derive(Debug, Clone)]
pub struct Transition<'a> {
    pub from: &'a [Status],
    pub to: Status,
    pub actor: &'a str,
    pub note: Option<String>,
    pub at: i64,
    pub verdict: Option<String>,
    /// A notification to write with the change: (kind, JSON body).
    pub notify: Option<(&'static str, String)>,
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

const EXPERIMENT_COLUMNS: &str = "SELECT id, name, hypothesis, kind, metric_type, target_metric, \
     higher_is_better, alpha, power, baseline, baseline_sd, mde, min_effect, planned_units, daily_traffic, \
     planned_days, status, start_at, started_at, ended_at, verdict, channel_id, created_by, created_at \
     FROM experiments";

fn parse<T: std::str::FromStr<Err = String>>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|e: String| StoreError::Conflict(format!("stored value: {e}")))
}

impl Store {
    /// Stores a new design as a draft, with its variants, guardrails and first event, as made
    /// at `now` (Unix seconds).
    pub async fn create_experiment(&self, d: &Design, now: i64) -> Result<i64> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO experiments (name, hypothesis, kind, metric_type, target_metric, higher_is_better, \
             alpha, power, baseline, baseline_sd, mde, min_effect, planned_units, daily_traffic, planned_days, \
             status, start_at, channel_id, created_by, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULLIF($10, 'NaN'), $11, $12, $13, NULLIF($14, 'NaN'), $15, \
             'draft', $16, $17, $18, $19, $19) \
             RETURNING id",
        )
        .bind(d.name.as_str())
        .bind(d.hypothesis.as_deref())
        .bind(d.kind.as_str())
        .bind(d.metric_type.as_str())
        .bind(d.target_metric.as_str())
        .bind(i64::from(d.higher_is_better))
        .bind(d.alpha)
        .bind(d.power)
        .bind(d.baseline)
        .bind(opt_f64(d.baseline_sd))
        .bind(d.mde)
        .bind(d.min_effect)
        .bind(d.planned_units as i64)
        .bind(opt_f64(d.daily_traffic))
        .bind(d.planned_days.map(i64::from))
        .bind(d.start_at.map(|t| t.timestamp()))
        .bind(d.channel_id.as_deref())
        .bind(d.created_by.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        for (pos, v) in d.variants.iter().enumerate() {
            sqlx::query(
                "INSERT INTO experiment_variants (experiment_id, position, name, weight, text, hashtags, media_type, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(id)
            .bind(pos as i64)
            .bind(v.name.trim())
            .bind(v.weight)
            .bind(v.text.as_deref())
            .bind((!v.hashtags.is_empty()).then(|| v.hashtags.join(" ")))
            .bind(v.media_type.map(|m| m.as_str()))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        for g in &d.guardrails {
            sqlx::query(
                "INSERT INTO experiment_guardrails (experiment_id, name, metric_type, higher_is_better, created_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(id)
            .bind(g.name.as_str())
            .bind(g.metric_type.as_str())
            .bind(i64::from(g.higher_is_better))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query(
            "INSERT INTO experiment_events (experiment_id, at, actor, from_status, to_status, note, created_at) \
             VALUES ($1, $2, $3, NULL, 'draft', 'designed', $2)",
        )
        .bind(id)
        .bind(now)
        .bind(d.created_by.as_str())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn experiment(&self, id: i64) -> Result<Option<StoredExperiment>> {
        let Some(row) = sqlx::query(&format!("{EXPERIMENT_COLUMNS} WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let variants = sqlx::query(
            "SELECT id, name, weight, text, hashtags, media_type FROM experiment_variants \
             WHERE experiment_id = $1 ORDER BY position",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        let guardrails = sqlx::query(
            "SELECT name, metric_type, higher_is_better FROM experiment_guardrails WHERE experiment_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(experiment_from_rows(&row, &variants, &guardrails)?))
    }

    /// Every experiment with a status, loaded in three queries.
    pub async fn experiments_with_status(&self, status: Status) -> Result<Vec<StoredExperiment>> {
        let rows = sqlx::query(&format!(
            "{EXPERIMENT_COLUMNS} WHERE status = $1 ORDER BY id"
        ))
        .bind(status.as_str())
        .fetch_all(&self.pool)
        .await?;
        let variants = sqlx::query(
            "SELECT v.id, v.name, v.weight, v.text, v.hashtags, v.media_type, v.experiment_id \
             FROM experiment_variants v JOIN experiments e ON e.id = v.experiment_id \
             WHERE e.status = $1 ORDER BY v.experiment_id, v.position",
        )
        .bind(status.as_str())
        .fetch_all(&self.pool)
        .await?;
        let guardrails = sqlx::query(
            "SELECT g.name, g.metric_type, g.higher_is_better, g.experiment_id \
             FROM experiment_guardrails g JOIN experiments e ON e.id = g.experiment_id \
             WHERE e.status = $1 ORDER BY g.experiment_id, g.id",
        )
        .bind(status.as_str())
        .fetch_all(&self.pool)
        .await?;
        let group = |rows: Vec<AnyRow>,
                     col: usize|
         -> Result<std::collections::HashMap<i64, Vec<AnyRow>>> {
            let mut m: std::collections::HashMap<i64, Vec<AnyRow>> =
                std::collections::HashMap::new();
            for r in rows {
                let id: i64 = r.try_get(col)?;
                m.entry(id).or_default().push(r);
            }
            Ok(m)
        };
        let mut variants = group(variants, 6)?;
        let mut guardrails = group(guardrails, 3)?;
        rows.iter()
            .map(|r| {
                let id: i64 = r.try_get(0)?;
                experiment_from_rows(
                    r,
                    &variants.remove(&id).unwrap_or_default(),
                    &guardrails.remove(&id).unwrap_or_default(),
                )
            })
            .collect()
    }

    /// Observation totals of every experiment with a status: experiment → metric → arms.
    pub async fn observation_totals_with_status(
        &self,
        status: Status,
    ) -> Result<std::collections::HashMap<i64, std::collections::HashMap<String, Vec<ArmTotals>>>>
    {
        let rows = sqlx::query(
            "SELECT v.experiment_id, v.position, o.metric, CAST(SUM(o.units) AS BIGINT), \
             CAST(SUM(COALESCE(o.conversions, 0)) AS BIGINT), \
             CAST(SUM(COALESCE(o.value_sum, 0.0)) AS DOUBLE PRECISION), \
             CAST(SUM(COALESCE(o.value_sum_sq, 0.0)) AS DOUBLE PRECISION), \
             CAST(SUM(COALESCE(o.exposure, 0.0)) AS DOUBLE PRECISION) \
             FROM experiment_observations o JOIN experiment_variants v ON v.id = o.variant_id \
             JOIN experiments e ON e.id = v.experiment_id \
             WHERE e.status = $1 GROUP BY v.experiment_id, v.position, o.metric",
        )
        .bind(status.as_str())
        .fetch_all(&self.pool)
        .await?;
        let mut out: std::collections::HashMap<
            i64,
            std::collections::HashMap<String, Vec<ArmTotals>>,
        > = std::collections::HashMap::new();
        for r in rows {
            let (id, pos, metric): (i64, i64, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            let arms = out.entry(id).or_default().entry(metric).or_default();
            let pos = pos.max(0) as usize;
            if arms.len() <= pos {
                arms.resize(pos + 1, ArmTotals::default());
            }
            arms[pos] = ArmTotals {
                units: r.try_get::<i64, _>(3)?.max(0) as u64,
                conversions: r.try_get::<i64, _>(4)?.max(0) as u64,
                sum: r.try_get(5)?,
                sum_sq: r.try_get(6)?,
                exposure: r.try_get(7)?,
            };
        }
        Ok(out)
    }

    /// Ids of experiments, newest first, optionally only those with a status.
    pub async fn experiment_ids(&self, status: Option<Status>) -> Result<Vec<i64>> {
        let ids = match status {
            Some(s) => {
                sqlx::query_scalar("SELECT id FROM experiments WHERE status = $1 ORDER BY id DESC")
                    .bind(s.as_str())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                sqlx::query_scalar("SELECT id FROM experiments ORDER BY id DESC")
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        Ok(ids)
    }

    /// Drafts whose scheduled start has come.
    pub async fn experiments_due_to_start(&self, now: i64) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar(
            "SELECT id FROM experiments WHERE status = 'draft' AND start_at IS NOT NULL AND start_at <= $1 ORDER BY id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Sets when a draft starts (None: unscheduled).
    pub async fn schedule_experiment(&self, id: i64, start_at: Option<i64>) -> Result<bool> {
        let n = sqlx::query("UPDATE experiments SET start_at = $1, updated_at = $2 WHERE id = $3 AND status = 'draft'")
            .bind(start_at)
            .bind(unix_now())
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(n == 1)
    }

    /// Makes a transition if the experiment is in one of `t.from`. Returns false (and changes
    /// nothing) otherwise, so a repeated or concurrent request acts once.
    pub async fn transition_experiment(&self, id: i64, t: &Transition<'_>) -> Result<bool> {
        // Optimistic: read the status, then change it only if it is still that status. The
        // write is the transaction's first statement, so SQLite takes its write lock at once
        // instead of failing to upgrade a read lock under contention.
        let previous: Option<String> =
            sqlx::query_scalar("SELECT status FROM experiments WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        let Some(previous) = previous else {
            return Ok(false);
        };
        if !t.from.iter().any(|s| s.as_str() == previous) {
            return Ok(false);
        }
        let (started, ended) = match t.to {
            Status::Running => ("COALESCE(started_at, $2)", "ended_at"),
            Status::Stopped | Status::Concluded => ("started_at", "$2"),
            Status::Draft => ("started_at", "ended_at"),
        };
        let sql = format!(
            "UPDATE experiments SET status = $1, started_at = {started}, ended_at = {ended}, \
             verdict = COALESCE($3, verdict), updated_at = $2 WHERE id = $4 AND status = $5"
        );
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(&sql)
            .bind(t.to.as_str())
            .bind(t.at)
            .bind(t.verdict.as_deref())
            .bind(id)
            .bind(previous.as_str())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if changed != 1 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO experiment_events (experiment_id, at, actor, from_status, to_status, note, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(t.at)
        .bind(t.actor)
        .bind(previous)
        .bind(t.to.as_str())
        .bind(t.note.as_deref())
        .bind(unix_now())
        .execute(&mut *tx)
        .await?;
        if let Some((kind, body)) = &t.notify {
            sqlx::query("INSERT INTO notifications (kind, subject_id, body, created_at) VALUES ($1, $2, $3, $4)")
                .bind(*kind)
                .bind(id)
                .bind(body.as_str())
                .bind(unix_now())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    pub async fn experiment_events(&self, id: i64) -> Result<Vec<ExperimentEvent>> {
        let rows = sqlx::query(
            "SELECT at, actor, from_status, to_status, note FROM experiment_events WHERE experiment_id = $1 ORDER BY id",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ExperimentEvent {
                    at: r.try_get(0)?,
                    actor: r.try_get(1)?,
                    from_status: r.try_get(2)?,
                    to_status: r.try_get(3)?,
                    note: r.try_get(4)?,
                })
            })
            .collect()
    }

    /// Upserts observations in one transaction; an unknown variant name writes nothing.
    pub async fn add_observations(
        &self,
        experiment: &StoredExperiment,
        rows: &[Observation],
    ) -> Result<usize> {
        let now = unix_now();
        let mut tx = self.pool.begin().await?;
        for o in rows {
            let Some(pos) = experiment
                .design
                .variants
                .iter()
                .position(|v| v.name == o.variant)
            else {
                return Err(StoreError::Conflict(format!(
                    "experiment {} has no variant {:?} (it has {})",
                    experiment.id,
                    o.variant,
                    experiment
                        .design
                        .variants
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            };
            sqlx::query(
                "INSERT INTO experiment_observations (variant_id, metric, period, units, conversions, value_sum, \
                 value_sum_sq, exposure, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, NULLIF($6, 'NaN'), NULLIF($7, 'NaN'), NULLIF($8, 'NaN'), $9, $9) \
                 ON CONFLICT (variant_id, metric, period) DO UPDATE SET units = excluded.units, \
                 conversions = excluded.conversions, value_sum = excluded.value_sum, \
                 value_sum_sq = excluded.value_sum_sq, exposure = excluded.exposure, updated_at = excluded.updated_at",
            )
            .bind(experiment.variant_ids[pos])
            .bind(o.metric.as_str())
            .bind(o.period.as_str())
            .bind(o.units as i64)
            .bind(o.conversions.map(|c| c as i64))
            .bind(opt_f64(o.sum))
            .bind(opt_f64(o.sum_sq))
            .bind(opt_f64(o.exposure))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(rows.len())
    }

    /// Each arm's observations of `metric` summed over periods, in arm order.
    pub async fn observation_totals(
        &self,
        experiment: &StoredExperiment,
        metric: &str,
    ) -> Result<Vec<ArmTotals>> {
        let rows = sqlx::query(
            "SELECT v.position, CAST(SUM(o.units) AS BIGINT), CAST(SUM(COALESCE(o.conversions, 0)) AS BIGINT), \
             CAST(SUM(COALESCE(o.value_sum, 0.0)) AS DOUBLE PRECISION), \
             CAST(SUM(COALESCE(o.value_sum_sq, 0.0)) AS DOUBLE PRECISION), \
             CAST(SUM(COALESCE(o.exposure, 0.0)) AS DOUBLE PRECISION) \
             FROM experiment_observations o JOIN experiment_variants v ON v.id = o.variant_id \
             WHERE v.experiment_id = $1 AND o.metric = $2 GROUP BY v.position",
        )
        .bind(experiment.id)
        .bind(metric)
        .fetch_all(&self.pool)
        .await?;
        let mut out = vec![ArmTotals::default(); experiment.design.variants.len()];
        for r in rows {
            let pos: i64 = r.try_get(0)?;
            if let Some(slot) = out.get_mut(pos as usize) {
                *slot = ArmTotals {
                    units: r.try_get::<i64, _>(1)?.max(0) as u64,
                    conversions: r.try_get::<i64, _>(2)?.max(0) as u64,
                    sum: r.try_get(3)?,
                    sum_sq: r.try_get(4)?,
                    exposure: r.try_get(5)?,
                };
            }
        }
        Ok(out)
    }

    /// Links an existing post (by its platform id) to a content test's variant.
    pub async fn link_variant_post(
        &self,
        experiment: &StoredExperiment,
        variant: &str,
        post_external_id: &str,
    ) -> Result<()> {
        let Some(pos) = experiment
            .design
            .variants
            .iter()
            .position(|v| v.name == variant)
        else {
            return Err(StoreError::Conflict(format!(
                "experiment {} has no variant {variant:?}",
                experiment.id
            )));
        };
        let posts: Vec<i64> = sqlx::query_scalar("SELECT id FROM posts WHERE external_id = $1")
            .bind(post_external_id)
            .fetch_all(&self.pool)
            .await?;
        let post = match posts.as_slice() {
            [one] => *one,
            [] => {
                return Err(StoreError::Conflict(format!(
                    "no post with id {post_external_id:?}; import it first"
                )))
            }
            _ => {
                return Err(StoreError::Conflict(format!(
                    "{} posts have id {post_external_id:?}",
                    posts.len()
                )))
            }
        };
        sqlx::query(
            "INSERT INTO experiment_variant_posts (variant_id, post_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (variant_id, post_id) DO NOTHING",
        )
        .bind(experiment.variant_ids[pos])
        .bind(post)
        .bind(unix_now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The latest counters of each post linked to a content test, with its arm.
    pub async fn variant_post_metrics(
        &self,
        experiment: &StoredExperiment,
    ) -> Result<Vec<(usize, PostMetrics)>> {
        let cols = POST_METRIC_NAMES
            .iter()
            .map(|c| format!("s.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        let rows = sqlx::query(&format!(
            "SELECT v.position, {cols} FROM experiment_variant_posts vp \
             JOIN experiment_variants v ON v.id = vp.variant_id \
             JOIN post_snapshots s ON s.post_id = vp.post_id \
             WHERE v.experiment_id = $1 \
               AND s.observed_at = (SELECT MAX(observed_at) FROM post_snapshots WHERE post_id = vp.post_id) \
             ORDER BY v.position"
        ))
        .bind(experiment.id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let pos: i64 = r.try_get(0)?;
                let mut values = [None; 8];
                for (i, v) in values.iter_mut().enumerate() {
                    *v = r
                        .try_get::<Option<i64>, _>(i + 1)?
                        .and_then(Count::from_i64);
                }
                Ok((pos as usize, PostMetrics::from_array(values)))
            })
            .collect()
    }

    pub async fn record_analysis(
        &self,
        id: i64,
        at: i64,
        units: u64,
        verdict: &str,
        body: &str,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO experiment_analyses (experiment_id, analysed_at, units, verdict, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(at)
        .bind(units as i64)
        .bind(verdict)
        .bind(body)
        .bind(unix_now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn analysis_count(&self, id: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM experiment_analyses WHERE experiment_id = $1")
                .bind(id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    /// Undelivered notifications: (id, kind, subject, body).
    pub async fn pending_notifications(&self) -> Result<Vec<(i64, String, i64, String)>> {
        let rows = sqlx::query(
            "SELECT id, kind, subject_id, body FROM notifications WHERE delivered_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect()
    }
}

fn experiment_from_rows(
    row: &AnyRow,
    variants: &[AnyRow],
    guardrails: &[AnyRow],
) -> Result<StoredExperiment> {
    let ts = |v: Option<i64>| v.and_then(|t| chrono::DateTime::from_timestamp(t, 0));
    let variant_specs = variants
        .iter()
        .map(|v| {
            let hashtags: Option<String> = v.try_get(4)?;
            let media: Option<String> = v.try_get(5)?;
            Ok(VariantSpec {
                name: v.try_get(1)?,
                weight: v.try_get(2)?,
                text: v.try_get(3)?,
                hashtags: hashtags
                    .map(|h| h.split(' ').map(str::to_string).collect())
                    .unwrap_or_default(),
                media_type: media.and_then(|m| m.parse().ok()),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let guardrail_specs = guardrails
        .iter()
        .map(|g| {
            let t: String = g.try_get(1)?;
            Ok(GuardrailSpec {
                name: g.try_get(0)?,
                metric_type: parse(&t)?,
                higher_is_better: g.try_get::<i64, _>(2)? != 0,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let kind: String = row.try_get(3)?;
    let metric: String = row.try_get(4)?;
    let status: String = row.try_get(16)?;
    let design = Design {
        name: row.try_get(1)?,
        hypothesis: row.try_get(2)?,
        kind: parse::<Kind>(&kind)?,
        metric_type: parse::<MetricType>(&metric)?,
        target_metric: row.try_get(5)?,
        higher_is_better: row.try_get::<i64, _>(6)? != 0,
        alpha: row.try_get(7)?,
        power: row.try_get(8)?,
        baseline: row.try_get(9)?,
        baseline_sd: row.try_get(10)?,
        mde: row.try_get(11)?,
        min_effect: row.try_get(12)?,
        planned_units: row.try_get::<i64, _>(13)?.max(0) as u64,
        daily_traffic: row.try_get(14)?,
        planned_days: row.try_get::<Option<i64>, _>(15)?.map(|d| d.max(0) as u32),
        start_at: ts(row.try_get(17)?),
        channel_id: row.try_get(21)?,
        created_by: row.try_get(22)?,
        planned_per_arm: Vec::new(),
        variants: variant_specs,
        guardrails: guardrail_specs,
    };
    let total_weight: f64 = design.variants.iter().map(|v| v.weight).sum();
    let per_arm = design
        .variants
        .iter()
        .map(|v| (design.planned_units as f64 * v.weight / total_weight).round() as u64)
        .collect();
    Ok(StoredExperiment {
        id: row.try_get(0)?,
        design: Design {
            planned_per_arm: per_arm,
            ..design
        },
        status: parse::<Status>(&status)?,
        started_at: row.try_get(18)?,
        ended_at: row.try_get(19)?,
        verdict: row.try_get(20)?,
        created_at: row.try_get(23)?,
        variant_ids: variants
            .iter()
            .map(|v| v.try_get(0))
            .collect::<std::result::Result<_, _>>()?,
    })
}
