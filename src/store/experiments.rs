//! Experiments in the store: designs, state transitions with their audit trail, observations,
//! analyses and notifications. Every transition is one conditional UPDATE, so two concurrent
//! attempts can't both succeed, and its event row and notification commit with it.

use sqlx::Row;

use super::bulk::{json_err, json_objects};
use super::notifications::{insert_notification, NotificationKind};
use super::{opt_f64, parse_stored as parse, unix_now, Result, Store, StoreError};
use crate::experiments::design::{Design, GuardrailSpec, Kind, MetricType, Status, VariantSpec};
pub use crate::experiments::model::{ArmTotals, ExperimentEvent, Observation, StoredExperiment};

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
    pub notify: Option<(NotificationKind, String)>,
    /// The audit row and Slack messages to write with the change.
    pub effects: super::Effects,
}

impl Store {
    /// Stores a new design as a draft, with its variants, guardrails and first event, as made
    /// at `now` (Unix seconds).
    pub async fn create_experiment(&self, d: &Design, now: i64) -> Result<i64> {
        self.create_experiment_with(d, now, |_| super::Effects::default())
            .await
    }

    /// As [`Store::create_experiment`], writing in the same transaction what `effects` returns
    /// for the new id (the design posted to Slack, say).
    pub async fn create_experiment_with<F>(&self, d: &Design, now: i64, effects: F) -> Result<i64>
    where
        F: FnOnce(i64) -> super::Effects,
    {
        let mut tx = self.begin_write().await?;
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
        super::slack::write_effects(&mut tx, &effects(id), now).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn experiment(&self, id: i64) -> Result<Option<StoredExperiment>> {
        Ok(self.load_experiments(Filter::Id(id)).await?.pop())
    }

    /// Every experiment with a status.
    pub async fn experiments_with_status(&self, status: Status) -> Result<Vec<StoredExperiment>> {
        self.load_experiments(Filter::Status(status)).await
    }

    /// Experiments with their variants and guardrails, in three queries whose rows come back as
    /// one JSON text each (see `store::bulk::json_objects`).
    async fn load_experiments(&self, filter: Filter) -> Result<Vec<StoredExperiment>> {
        let b = self.backend;
        let (cond, bind): (&str, Bound) = match filter {
            Filter::Id(id) => ("e.id = $1", Bound::Int(id)),
            Filter::Status(s) => ("e.status = $1", Bound::Text(s.as_str())),
        };
        let f = |c: &str| float_text(b, c);
        let exp_cols: Vec<(&str, String)> = vec![
            ("id", "e.id".into()),
            ("name", "e.name".into()),
            ("hypothesis", "e.hypothesis".into()),
            ("kind", "e.kind".into()),
            ("metric_type", "e.metric_type".into()),
            ("target_metric", "e.target_metric".into()),
            ("higher_is_better", "e.higher_is_better".into()),
            ("alpha", f("e.alpha")),
            ("power", f("e.power")),
            ("baseline", f("e.baseline")),
            ("baseline_sd", f("e.baseline_sd")),
            ("mde", f("e.mde")),
            ("min_effect", f("e.min_effect")),
            ("planned_units", "e.planned_units".into()),
            ("daily_traffic", f("e.daily_traffic")),
            ("planned_days", "e.planned_days".into()),
            ("status", "e.status".into()),
            ("start_at", "e.start_at".into()),
            ("started_at", "e.started_at".into()),
            ("ended_at", "e.ended_at".into()),
            ("verdict", "e.verdict".into()),
            ("channel_id", "e.channel_id".into()),
            ("created_by", "e.created_by".into()),
            ("created_at", "e.created_at".into()),
        ];
        let var_cols: Vec<(&str, String)> = vec![
            ("experiment_id", "v.experiment_id".into()),
            ("position", "v.position".into()),
            ("id", "v.id".into()),
            ("name", "v.name".into()),
            ("weight", f("v.weight")),
            ("text", "v.text".into()),
            ("hashtags", "v.hashtags".into()),
            ("media_type", "v.media_type".into()),
        ];
        let guard_cols: Vec<(&str, String)> = vec![
            ("experiment_id", "g.experiment_id".into()),
            ("id", "g.id".into()),
            ("name", "g.name".into()),
            ("metric_type", "g.metric_type".into()),
            ("higher_is_better", "g.higher_is_better".into()),
        ];
        let queries = [
            json_objects(b, &exp_cols, &format!("experiments e WHERE {cond}")),
            json_objects(b, &var_cols, &format!("experiment_variants v JOIN experiments e ON e.id = v.experiment_id WHERE {cond}")),
            json_objects(b, &guard_cols, &format!("experiment_guardrails g JOIN experiments e ON e.id = g.experiment_id WHERE {cond}")),
        ];
        let mut texts = Vec::with_capacity(3);
        for sql in &queries {
            let q = sqlx::query_scalar::<_, String>(sql);
            let q = match bind {
                Bound::Int(v) => q.bind(v),
                Bound::Text(v) => q.bind(v),
            };
            texts.push(q.fetch_one(&self.pool).await?);
        }
        let mut exps: Vec<ExperimentJson> = serde_json::from_str(&texts[0]).map_err(json_err)?;
        let mut variants: Vec<VariantJson> = serde_json::from_str(&texts[1]).map_err(json_err)?;
        let mut guards: Vec<GuardrailJson> = serde_json::from_str(&texts[2]).map_err(json_err)?;
        exps.sort_by_key(|e| e.id);
        variants.sort_by_key(|v| (v.experiment_id, v.position));
        guards.sort_by_key(|g| (g.experiment_id, g.id));
        let mut by_exp_v: std::collections::HashMap<i64, Vec<VariantJson>> =
            std::collections::HashMap::new();
        for v in variants {
            by_exp_v.entry(v.experiment_id).or_default().push(v);
        }
        let mut by_exp_g: std::collections::HashMap<i64, Vec<GuardrailJson>> =
            std::collections::HashMap::new();
        for g in guards {
            by_exp_g.entry(g.experiment_id).or_default().push(g);
        }
        exps.into_iter()
            .map(|e| {
                let id = e.id;
                e.assemble(
                    by_exp_v.remove(&id).unwrap_or_default(),
                    by_exp_g.remove(&id).unwrap_or_default(),
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
        let b = self.backend;
        let cols: Vec<(&str, String)> = vec![
            ("experiment_id", "t.experiment_id".into()),
            ("position", "t.position".into()),
            ("metric", "t.metric".into()),
            ("units", "t.units".into()),
            ("conversions", "t.conversions".into()),
            ("sum", float_text(b, "t.s")),
            ("sum_sq", float_text(b, "t.ss")),
            ("exposure", float_text(b, "t.x")),
        ];
        let inner = "(SELECT v.experiment_id, v.position, o.metric, o.units, o.conversions, o.value_sum AS s, \
             o.value_sum_sq AS ss, o.exposure AS x \
             FROM experiment_totals o JOIN experiment_variants v ON v.id = o.variant_id \
             JOIN experiments e ON e.id = v.experiment_id WHERE e.status = $1) t";
        let text: String = sqlx::query_scalar(&json_objects(b, &cols, inner))
            .bind(status.as_str())
            .fetch_one(&self.pool)
            .await?;
        let rows: Vec<TotalsJson> = serde_json::from_str(&text).map_err(json_err)?;
        let mut out: std::collections::HashMap<
            i64,
            std::collections::HashMap<String, Vec<ArmTotals>>,
        > = std::collections::HashMap::new();
        for r in rows {
            let arms = out
                .entry(r.experiment_id)
                .or_default()
                .entry(r.metric)
                .or_default();
            let pos = r.position.max(0) as usize;
            if arms.len() <= pos {
                arms.resize(pos + 1, ArmTotals::default());
            }
            arms[pos] = ArmTotals {
                units: r.units.max(0) as u64,
                conversions: r.conversions.max(0) as u64,
                sum: num(&r.sum)?.unwrap_or(0.0),
                sum_sq: num(&r.sum_sq)?.unwrap_or(0.0),
                exposure: num(&r.exposure)?.unwrap_or(0.0),
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
        let mut tx = self.begin_write().await?;
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
            insert_notification(&mut tx, *kind, id, body).await?;
        }
        super::slack::write_effects(&mut tx, &t.effects, unix_now()).await?;
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
}

enum Filter {
    Id(i64),
    Status(Status),
}

#[derive(Clone, Copy)]
enum Bound {
    Int(i64),
    Text(&'static str),
}

/// A double as exact text: JSON output of SQLite keeps only 15 digits.
fn float_text(backend: crate::config::Backend, col: &str) -> String {
    match backend {
        crate::config::Backend::Sqlite => {
            format!("CASE WHEN {col} IS NULL THEN NULL WHEN {col} = 0 THEN '0' ELSE printf('%!.17g', {col}) END")
        }
        crate::config::Backend::Postgres => format!("CAST({col} AS TEXT)"),
    }
}

fn num(s: &Option<String>) -> Result<Option<f64>> {
    match s {
        None => Ok(None),
        Some(t) => t
            .parse::<f64>()
            .map(Some)
            .map_err(|_| StoreError::Conflict(format!("stored number {t:?} is unreadable"))),
    }
}

#[derive(serde::Deserialize)]
struct ExperimentJson {
    id: i64,
    name: String,
    hypothesis: Option<String>,
    kind: String,
    metric_type: String,
    target_metric: String,
    higher_is_better: i64,
    alpha: Option<String>,
    power: Option<String>,
    baseline: Option<String>,
    baseline_sd: Option<String>,
    mde: Option<String>,
    min_effect: Option<String>,
    planned_units: i64,
    daily_traffic: Option<String>,
    planned_days: Option<i64>,
    status: String,
    start_at: Option<i64>,
    started_at: Option<i64>,
    ended_at: Option<i64>,
    verdict: Option<String>,
    channel_id: Option<String>,
    created_by: String,
    created_at: i64,
}

#[derive(serde::Deserialize)]
struct VariantJson {
    experiment_id: i64,
    position: i64,
    id: i64,
    name: String,
    weight: Option<String>,
    text: Option<String>,
    hashtags: Option<String>,
    media_type: Option<String>,
}

#[derive(serde::Deserialize)]
struct GuardrailJson {
    experiment_id: i64,
    id: i64,
    name: String,
    metric_type: String,
    higher_is_better: i64,
}

#[derive(serde::Deserialize)]
struct TotalsJson {
    experiment_id: i64,
    position: i64,
    metric: String,
    units: i64,
    conversions: i64,
    sum: Option<String>,
    sum_sq: Option<String>,
    exposure: Option<String>,
}

impl ExperimentJson {
    fn assemble(
        self,
        variants: Vec<VariantJson>,
        guardrails: Vec<GuardrailJson>,
    ) -> Result<StoredExperiment> {
        let ts = |v: Option<i64>| v.and_then(|t| chrono::DateTime::from_timestamp(t, 0));
        let req = |v: &Option<String>, what: &str| -> Result<f64> {
            num(v)?.ok_or_else(|| {
                StoreError::Conflict(format!("experiment {} has no {what}", self.id))
            })
        };
        let variant_ids = variants.iter().map(|v| v.id).collect();
        let variants = variants
            .into_iter()
            .map(|v| {
                Ok(VariantSpec {
                    weight: num(&v.weight)?.unwrap_or(1.0),
                    name: v.name,
                    text: v.text,
                    hashtags: v
                        .hashtags
                        .map(|h| h.split(' ').map(str::to_string).collect())
                        .unwrap_or_default(),
                    media_type: v.media_type.and_then(|m| m.parse().ok()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let guardrails = guardrails
            .into_iter()
            .map(|g| {
                Ok(GuardrailSpec {
                    name: g.name,
                    metric_type: parse(&g.metric_type)?,
                    higher_is_better: g.higher_is_better != 0,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let planned_units = self.planned_units.max(0) as u64;
        let total_weight: f64 = variants.iter().map(|v| v.weight).sum();
        let planned_per_arm = variants
            .iter()
            .map(|v| (planned_units as f64 * v.weight / total_weight).round() as u64)
            .collect();
        let design = Design {
            name: self.name.clone(),
            hypothesis: self.hypothesis.clone(),
            kind: parse::<Kind>(&self.kind)?,
            metric_type: parse::<MetricType>(&self.metric_type)?,
            target_metric: self.target_metric.clone(),
            higher_is_better: self.higher_is_better != 0,
            alpha: req(&self.alpha, "alpha")?,
            power: req(&self.power, "power")?,
            baseline: req(&self.baseline, "baseline")?,
            baseline_sd: num(&self.baseline_sd)?,
            mde: req(&self.mde, "MDE")?,
            min_effect: req(&self.min_effect, "minimum effect")?,
            planned_units,
            daily_traffic: num(&self.daily_traffic)?,
            planned_days: self.planned_days.map(|d| d.max(0) as u32),
            start_at: ts(self.start_at),
            channel_id: self.channel_id.clone(),
            created_by: self.created_by.clone(),
            planned_per_arm,
            variants,
            guardrails,
        };
        Ok(StoredExperiment {
            id: self.id,
            design,
            status: parse::<Status>(&self.status)?,
            started_at: self.started_at,
            ended_at: self.ended_at,
            verdict: self.verdict,
            created_at: self.created_at,
            variant_ids,
        })
    }
}
