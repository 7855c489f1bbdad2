//! Observations of randomized tests (with their running totals), posts linked to a content
//! test's variants, and the analyses the hourly check records.

use sqlx::Row;

use super::{opt_f64, unix_now, Result, Store, StoreError};
use crate::domain::{Count, PostMetrics, POST_METRIC_NAMES};
use crate::experiments::model::{ArmTotals, Observation, StoredExperiment};

impl Store {
    /// Upserts observations in one transaction; an unknown variant name writes nothing.
    pub async fn add_observations(
        &self,
        experiment: &StoredExperiment,
        rows: &[Observation],
    ) -> Result<usize> {
        let now = unix_now();
        let mut tx = self.begin_write().await?;
        // Read in the write transaction, so a conclusion can't slip in between.
        let status: Option<String> =
            sqlx::query_scalar("SELECT status FROM experiments WHERE id = $1")
                .bind(experiment.id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(s) = status.filter(|s| s == "concluded" || s == "stopped") {
            return Err(StoreError::Conflict(format!(
                "test #{} is {s}: its results are final, so observations are no longer accepted",
                experiment.id
            )));
        }
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
        // Bring the touched arms' totals up to date from their periods.
        let mut touched: Vec<(i64, &str)> = Vec::new();
        for o in rows {
            if let Some(pos) = experiment
                .design
                .variants
                .iter()
                .position(|v| v.name == o.variant)
            {
                let key = (experiment.variant_ids[pos], o.metric.as_str());
                if !touched.contains(&key) {
                    touched.push(key);
                }
            }
        }
        for (variant, metric) in touched {
            sqlx::query(
                "INSERT INTO experiment_totals (variant_id, metric, units, conversions, value_sum, value_sum_sq, exposure, updated_at) \
                 SELECT variant_id, metric, CAST(SUM(units) AS BIGINT), CAST(SUM(COALESCE(conversions, 0)) AS BIGINT), \
                 CAST(SUM(COALESCE(value_sum, 0.0)) AS DOUBLE PRECISION), CAST(SUM(COALESCE(value_sum_sq, 0.0)) AS DOUBLE PRECISION), \
                 CAST(SUM(COALESCE(exposure, 0.0)) AS DOUBLE PRECISION), $3 \
                 FROM experiment_observations WHERE variant_id = $1 AND metric = $2 GROUP BY variant_id, metric \
                 ON CONFLICT (variant_id, metric) DO UPDATE SET units = excluded.units, conversions = excluded.conversions, \
                 value_sum = excluded.value_sum, value_sum_sq = excluded.value_sum_sq, exposure = excluded.exposure, \
                 updated_at = excluded.updated_at",
            )
            .bind(variant)
            .bind(metric)
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
            "SELECT v.position, t.units, t.conversions, t.value_sum, t.value_sum_sq, t.exposure \
             FROM experiment_totals t JOIN experiment_variants v ON v.id = t.variant_id \
             WHERE v.experiment_id = $1 AND t.metric = $2",
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
}
