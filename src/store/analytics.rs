//! Read queries for reports and detectors: accounts in scope, daily rollups, post series and
//! funnel days, plus the alerts table.

use chrono::NaiveDate;
use sqlx::Row;

use super::ingest::day_key;
use super::{unix_now, Result, Store};
use crate::analytics::kpi::{DayRow, Funnel, FunnelRow};
use crate::config::Backend;
use crate::domain::rollup::DayValues;
use crate::domain::{Platform, POST_METRIC_NAMES};

/// An account a report covers.
#[derive(Debug, Clone, PartialEq)]
pub struct ScopeAccount {
    pub id: i64,
    pub platform: Platform,
    pub external_id: String,
    pub handle: Option<String>,
    pub brand: Option<String>,
}

/// A post with its daily cumulative series up to a report's end.
#[derive(Debug, Clone, PartialEq)]
pub struct PostSeries {
    pub id: i64,
    pub account: i64,
    pub external_id: String,
    pub text: Option<String>,
    pub published_at: Option<i64>,
    pub media_type: Option<String>,
    pub paid: Option<bool>,
    pub series: Vec<DayValues>,
}

/// `$a, $a+1, …` (or `?, ?` on SQLite) for an IN list of `n` values starting at parameter `a`.
fn list(backend: Backend, start: usize, n: usize) -> String {
    (0..n)
        .map(|i| match backend {
            Backend::Sqlite => format!("?{}", start + i),
            Backend::Postgres => format!("${}", start + i),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

impl Store {
    pub async fn brands(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("SELECT name FROM brands ORDER BY name")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Accounts of a brand (all brands when None) on a platform (all when None).
    pub async fn scope_accounts(
        &self,
        brand: Option<&str>,
        platform: Option<Platform>,
    ) -> Result<Vec<ScopeAccount>> {
        let rows = sqlx::query(
            "SELECT a.id, a.platform, a.external_id, a.handle, b.name FROM accounts a \
             LEFT JOIN brands b ON b.id = a.brand_id \
             WHERE ($1 IS NULL OR b.name = $1) AND ($2 IS NULL OR a.platform = $2) ORDER BY a.platform, a.id",
        )
        .bind(brand)
        .bind(platform.map(|p| p.as_str()))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .filter_map(|r| {
                let platform: String = r.try_get(1).ok()?;
                Some(Ok(ScopeAccount {
                    id: r.try_get(0).ok()?,
                    platform: platform.parse().ok()?,
                    external_id: r.try_get(2).ok()?,
                    handle: r.try_get(3).ok()?,
                    brand: r.try_get(4).ok()?,
                }))
            })
            .collect()
    }

    /// The last day with rollup data for these accounts.
    pub async fn last_data_day(&self, accounts: &[i64]) -> Result<Option<NaiveDate>> {
        if accounts.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT MAX(day) FROM account_daily WHERE account_id IN ({})",
            list(self.backend, 1, accounts.len())
        );
        let mut q = sqlx::query_scalar::<_, Option<String>>(&sql);
        for a in accounts {
            q = q.bind(*a);
        }
        Ok(q.fetch_one(&self.pool)
            .await?
            .as_deref()
            .and_then(parse_day))
    }

    /// Daily rollups of the accounts for days in `from..=to`.
    pub async fn account_days(
        &self,
        accounts: &[i64],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayRow>> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        let n = accounts.len();
        let sql = format!(
            "SELECT account_id, day, posts_published, {m}, followers FROM account_daily \
             WHERE account_id IN ({ids}) AND day >= ${a} AND day <= ${b} ORDER BY account_id, day",
            m = POST_METRIC_NAMES.join(", "),
            ids = list(self.backend, 1, n),
            a = n + 1,
            b = n + 2,
        );
        let mut q = sqlx::query(&sql);
        for a in accounts {
            q = q.bind(*a);
        }
        let rows = q
            .bind(day_key(from))
            .bind(day_key(to))
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let day: String = r.try_get(1)?;
            let Some(day) = parse_day(&day) else { continue };
            let mut counters = [None; 8];
            for (i, c) in counters.iter_mut().enumerate() {
                *c = r.try_get(3 + i)?;
            }
            out.push(DayRow {
                account: r.try_get(0)?,
                day,
                posts_published: r.try_get(2)?,
                counters,
                followers: r.try_get(11)?,
            });
        }
        Ok(out)
    }

    /// Posts of the accounts with a daily row in `from..=to`, each with its series up to `to`.
    pub async fn post_series(
        &self,
        accounts: &[i64],
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<PostSeries>> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        let n = accounts.len();
        let ids = list(self.backend, 1, n);
        let (a, b) = (n + 1, n + 2);
        let posts_sql = format!(
            "SELECT p.id, p.account_id, p.external_id, p.text, p.published_at, p.media_type, p.paid FROM posts p \
             WHERE p.account_id IN ({ids}) AND EXISTS (SELECT 1 FROM post_daily d WHERE d.post_id = p.id \
             AND d.day >= ${a} AND d.day <= ${b}) ORDER BY p.id"
        );
        let rows_sql = format!(
            "SELECT d.post_id, d.day, {m} FROM post_daily d JOIN posts p ON p.id = d.post_id \
             WHERE p.account_id IN ({ids}) AND d.day <= ${b} AND EXISTS (SELECT 1 FROM post_daily x \
             WHERE x.post_id = d.post_id AND x.day >= ${a} AND x.day <= ${b}) ORDER BY d.post_id, d.day",
            m = POST_METRIC_NAMES.iter().map(|c| format!("d.{c}")).collect::<Vec<_>>().join(", ")
        );
        let (from_key, to_key) = (day_key(from), day_key(to));
        let mut q = sqlx::query(&posts_sql);
        for id in accounts {
            q = q.bind(*id);
        }
        let posts = q
            .bind(from_key.as_str())
            .bind(to_key.as_str())
            .fetch_all(&self.pool)
            .await?;
        let mut q = sqlx::query(&rows_sql);
        for id in accounts {
            q = q.bind(*id);
        }
        let rows = q
            .bind(from_key.as_str())
            .bind(to_key.as_str())
            .fetch_all(&self.pool)
            .await?;
        let mut out: Vec<PostSeries> = Vec::with_capacity(posts.len());
        let mut index = std::collections::HashMap::new();
        for p in posts {
            let id: i64 = p.try_get(0)?;
            index.insert(id, out.len());
            out.push(PostSeries {
                id,
                account: p.try_get(1)?,
                external_id: p.try_get(2)?,
                text: p.try_get(3)?,
                published_at: p.try_get(4)?,
                media_type: p.try_get(5)?,
                paid: p.try_get::<Option<i64>, _>(6)?.map(|v| v != 0),
                series: Vec::new(),
            });
        }
        for r in rows {
            let id: i64 = r.try_get(0)?;
            let day: String = r.try_get(1)?;
            let (Some(&i), Some(day)) = (index.get(&id), parse_day(&day)) else {
                continue;
            };
            let mut values = [None; 8];
            for (k, v) in values.iter_mut().enumerate() {
                *v = r.try_get(2 + k)?;
            }
            out[i].series.push(DayValues { day, values });
        }
        Ok(out)
    }

    /// Funnel days of campaigns run by the accounts, or (with no account) by the brand, or (with
    /// neither) on the platform, in `from..=to`.
    pub async fn funnel_rows(
        &self,
        accounts: &[i64],
        brand: Option<&str>,
        platform: Option<Platform>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<FunnelRow>> {
        let n = accounts.len();
        let ids = if n == 0 {
            "NULL".to_string()
        } else {
            list(self.backend, 1, n)
        };
        let sql = format!(
            "SELECT f.campaign, f.platform, f.day, f.impressions, f.clicks, f.leads, f.conversions, \
             f.revenue_cents, f.spend_cents FROM funnel_daily f LEFT JOIN brands b ON b.id = f.brand_id \
             WHERE f.day >= ${a} AND f.day <= ${b} AND (${c} IS NULL OR f.platform = ${c}) \
             AND (f.account_id IN ({ids}) OR (f.account_id IS NULL AND (${d} IS NULL OR b.name = ${d}))) \
             ORDER BY f.day, f.campaign",
            a = n + 1,
            b = n + 2,
            c = n + 3,
            d = n + 4,
        );
        let mut q = sqlx::query(&sql);
        for id in accounts {
            q = q.bind(*id);
        }
        let rows = q
            .bind(day_key(from))
            .bind(day_key(to))
            .bind(platform.map(|p| p.as_str()))
            .bind(brand)
            .fetch_all(&self.pool)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let day: String = r.try_get(2)?;
            let Some(day) = parse_day(&day) else { continue };
            out.push(FunnelRow {
                campaign: r.try_get(0)?,
                platform: r.try_get(1)?,
                day,
                funnel: Funnel {
                    impressions: r.try_get(3)?,
                    clicks: r.try_get(4)?,
                    leads: r.try_get(5)?,
                    conversions: r.try_get(6)?,
                    revenue_cents: r.try_get(7)?,
                    spend_cents: r.try_get(8)?,
                },
            });
        }
        Ok(out)
    }
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StoredAlert {
    pub id: i64,
    pub kind: String,
    pub severity: String,
    pub subject: String,
    pub account_id: Option<i64>,
    pub dedupe_key: String,
    pub message: String,
    pub evidence: String,
    pub status: String,
    pub opened_at: i64,
    pub snoozed_until: Option<i64>,
    pub decided_by: Option<String>,
}

/// A condition a detector found.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub kind: String,
    pub severity: String,
    pub subject: String,
    pub account_id: Option<i64>,
    pub dedupe_key: String,
    pub message: String,
    /// JSON with the numbers behind the alert.
    pub evidence: String,
}

impl Store {
    /// Opens an alert unless one with the same dedupe key is open, acknowledged or snoozed (the
    /// condition is known until it is resolved). Returns its id when a new one was opened.
    pub async fn raise_alert(&self, a: &NewAlert, now: i64) -> Result<Option<i64>> {
        let mut tx = self.pool.begin().await?;
        let existing: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM alerts WHERE dedupe_key = $1 \
             AND (status IN ('open', 'acknowledged') OR (status = 'snoozed' AND snoozed_until > $2))",
        )
        .bind(a.dedupe_key.as_str())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        if existing.is_some() {
            return Ok(None);
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO alerts (kind, severity, subject, account_id, dedupe_key, message, evidence, status, opened_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $9, $4, $5, $6, 'open', $7, $8, $8) RETURNING id",
        )
        .bind(a.kind.as_str())
        .bind(a.severity.as_str())
        .bind(a.subject.as_str())
        .bind(a.dedupe_key.as_str())
        .bind(a.message.as_str())
        .bind(a.evidence.as_str())
        .bind(now)
        .bind(unix_now())
        .bind(a.account_id)
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query("INSERT INTO notifications (kind, subject_id, body, created_at) VALUES ('alert_opened', $1, $2, $3)")
            .bind(id)
            .bind(a.message.as_str())
            .bind(unix_now())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(id))
    }

    /// Open alerts (and snoozed ones whose snooze ran out), newest first.
    pub async fn open_alerts(&self, now: i64) -> Result<Vec<StoredAlert>> {
        let rows = sqlx::query(
            "SELECT id, kind, severity, subject, dedupe_key, message, evidence, status, opened_at, snoozed_until, decided_by, account_id \
             FROM alerts WHERE status = 'open' OR (status = 'snoozed' AND snoozed_until <= $1) ORDER BY opened_at DESC, id DESC",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredAlert {
                    id: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    severity: r.try_get(2)?,
                    subject: r.try_get(3)?,
                    dedupe_key: r.try_get(4)?,
                    message: r.try_get(5)?,
                    evidence: r.try_get(6)?,
                    status: r.try_get(7)?,
                    opened_at: r.try_get(8)?,
                    snoozed_until: r.try_get(9)?,
                    decided_by: r.try_get(10)?,
                    account_id: r.try_get(11)?,
                })
            })
            .collect()
    }

    /// Moves an open alert to acknowledged, snoozed (until `until`) or resolved. Returns false
    /// if it wasn't open, changing nothing.
    pub async fn decide_alert(
        &self,
        id: i64,
        status: &str,
        by: &str,
        until: Option<i64>,
        now: i64,
    ) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE alerts SET status = $1, decided_by = $2, snoozed_until = $3, updated_at = $4 \
             WHERE id = $5 AND (status = 'open' OR (status = 'snoozed' AND snoozed_until <= $4))",
        )
        .bind(status)
        .bind(by)
        .bind(until)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Resolves alerts of `kinds` not yet resolved whose condition the latest detection didn't
    /// find again.
    pub async fn resolve_alerts_except(
        &self,
        kinds: &[&str],
        keep: &[String],
        now: i64,
    ) -> Result<u64> {
        let rows =
            sqlx::query("SELECT id, kind, dedupe_key FROM alerts WHERE status <> 'resolved'")
                .fetch_all(&self.pool)
                .await?;
        let mut n = 0;
        for r in rows {
            let (id, kind, key): (i64, String, String) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
            if !kinds.contains(&kind.as_str()) || keep.contains(&key) {
                continue;
            }
            n += sqlx::query(
                "UPDATE alerts SET status = 'resolved', decided_by = 'detector', updated_at = $1 \
                 WHERE id = $2 AND status <> 'resolved'",
            )
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
        }
        Ok(n)
    }
}

impl Store {
    /// Keeps a generated report; returns its id.
    pub async fn save_report(&self, r: &crate::analytics::report::Report) -> Result<i64> {
        let body = serde_json::to_string(r)
            .map_err(|e| super::StoreError::Conflict(format!("can't serialise the report: {e}")))?;
        let kind = serde_json::to_value(r.period.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        Ok(sqlx::query_scalar(
            "INSERT INTO reports (kind, brand, platform, period_from, period_to, generated_at, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        )
        .bind(kind)
        .bind(r.brand.as_deref())
        .bind(r.platform.map(|p| p.as_str()))
        .bind(day_key(r.period.from))
        .bind(day_key(r.period.to))
        .bind(r.generated_at.timestamp())
        .bind(body)
        .bind(unix_now())
        .fetch_one(&self.pool)
        .await?)
    }
}
