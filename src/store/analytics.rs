//! Read queries for reports and detectors: accounts in scope, daily rollups, post series and
//! funnel days, plus the alerts table.

use chrono::NaiveDate;
use chrono_tz::Tz;
use sqlx::Row;

use super::bulk::{json_err, json_rows};
use super::ingest::day_key;
use super::zones::zone_key;
use super::{in_list as list, unix_now, Result, Store};
use crate::analytics::kpi::{DayRow, Funnel, FunnelRow};
pub use crate::analytics::model::{
    AlertKind, AlertStatus, Evidence, NewAlert, PostSeries, ScopeAccount, Severity, StoredAlert,
};
use crate::domain::rollup::DayValues;
use crate::domain::{Platform, POST_METRIC_NAMES};

/// A post's daily row as the bulk read returns it: post, day, then the eight counters.
type PostDayJson = (
    i64,
    String,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

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

    /// The last day of `zone` with rollup data for these accounts.
    pub async fn last_data_day(&self, accounts: &[i64], zone: Tz) -> Result<Option<NaiveDate>> {
        if accounts.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT MAX(day) FROM account_daily WHERE account_id IN ({}) AND zone = ${}",
            list(self.backend, 1, accounts.len()),
            accounts.len() + 1
        );
        let mut q = sqlx::query_scalar::<_, Option<String>>(&sql);
        for a in accounts {
            q = q.bind(*a);
        }
        Ok(q.bind(zone_key(zone))
            .fetch_one(&self.pool)
            .await?
            .as_deref()
            .and_then(parse_day))
    }

    /// The first and last day of `zone` any of the accounts has data.
    pub async fn data_span(
        &self,
        accounts: &[i64],
        zone: Tz,
    ) -> Result<Option<(NaiveDate, NaiveDate)>> {
        if accounts.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "SELECT MIN(day), MAX(day) FROM account_daily WHERE account_id IN ({}) AND zone = ${}",
            list(self.backend, 1, accounts.len()),
            accounts.len() + 1
        );
        let mut q = sqlx::query_as::<_, (Option<String>, Option<String>)>(&sql);
        for a in accounts {
            q = q.bind(*a);
        }
        let (first, last) = q.bind(zone_key(zone)).fetch_one(&self.pool).await?;
        Ok(first
            .as_deref()
            .and_then(parse_day)
            .zip(last.as_deref().and_then(parse_day)))
    }

    /// Daily rollups of the accounts for days of `zone` in `from..=to`.
    pub async fn account_days(
        &self,
        accounts: &[i64],
        zone: Tz,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<DayRow>> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        let n = accounts.len();
        let mut cols = vec![
            "account_id".to_string(),
            "day".into(),
            "posts_published".into(),
        ];
        cols.extend(POST_METRIC_NAMES.iter().map(|m| m.to_string()));
        cols.push("followers".into());
        let sql = json_rows(
            self.backend,
            &cols,
            &format!(
                "account_daily WHERE account_id IN ({ids}) AND day >= ${a} AND day <= ${b} AND zone = ${z}",
                ids = list(self.backend, 1, n),
                a = n + 1,
                b = n + 2,
                z = n + 3,
            ),
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for a in accounts {
            q = q.bind(*a);
        }
        let json = q
            .bind(day_key(from))
            .bind(day_key(to))
            .bind(zone_key(zone))
            .fetch_one(&self.pool)
            .await?;
        type Row = (
            i64,
            String,
            i64,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
            Option<i64>,
        );
        let rows: Vec<Row> = serde_json::from_str(&json).map_err(json_err)?;
        let mut out: Vec<DayRow> = rows
            .into_iter()
            .filter_map(|r| {
                Some(DayRow {
                    account: r.0,
                    day: parse_day(&r.1)?,
                    posts_published: r.2,
                    counters: [r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10],
                    followers: r.11,
                })
            })
            .collect();
        out.sort_by_key(|r| (r.account, r.day));
        Ok(out)
    }

    /// Posts of the accounts with a daily row in `from..=to` (days of `zone`), each with its
    /// series in that zone up to `to`.
    pub async fn post_series(
        &self,
        accounts: &[i64],
        zone: Tz,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<PostSeries>> {
        if accounts.is_empty() {
            return Ok(Vec::new());
        }
        let n = accounts.len();
        let ids = list(self.backend, 1, n);
        let (a, b, z) = (n + 1, n + 2, n + 3);
        let active = format!(
            "EXISTS (SELECT 1 FROM post_daily x WHERE x.post_id = p.id AND x.zone = ${z} AND x.day >= ${a} AND x.day <= ${b})"
        );
        let post_cols: Vec<String> = [
            "p.id",
            "p.account_id",
            "p.external_id",
            "p.text",
            "p.published_at",
            "p.media_type",
            "p.paid",
        ]
        .iter()
        .map(|c| c.to_string())
        .collect();
        let posts_sql = json_rows(
            self.backend,
            &post_cols,
            &format!("posts p WHERE p.account_id IN ({ids}) AND {active}"),
        );
        let mut row_cols = vec!["d.post_id".to_string(), "d.day".into()];
        row_cols.extend(POST_METRIC_NAMES.iter().map(|c| format!("d.{c}")));
        let rows_sql = json_rows(
            self.backend,
            &row_cols,
            // CROSS JOIN keeps SQLite's loop on the accounts' posts, each seeking its rows of
            // the zone (the key is zone, post, day); PostgreSQL plans it as a join.
            &format!("posts p CROSS JOIN post_daily d WHERE d.post_id = p.id AND p.account_id IN ({ids}) AND d.zone = ${z} AND d.day <= ${b} AND {active}"),
        );
        let (from_key, to_key) = (day_key(from), day_key(to));
        let mut q = sqlx::query_scalar::<_, String>(&posts_sql);
        for id in accounts {
            q = q.bind(*id);
        }
        let posts_json = q
            .bind(from_key.as_str())
            .bind(to_key.as_str())
            .bind(zone_key(zone))
            .fetch_one(&self.pool)
            .await?;
        let mut q = sqlx::query_scalar::<_, String>(&rows_sql);
        for id in accounts {
            q = q.bind(*id);
        }
        let rows_json = q
            .bind(from_key.as_str())
            .bind(to_key.as_str())
            .bind(zone_key(zone))
            .fetch_one(&self.pool)
            .await?;
        type PostJson = (
            i64,
            i64,
            String,
            Option<String>,
            Option<i64>,
            Option<String>,
            Option<i64>,
        );
        let mut posts: Vec<PostJson> = serde_json::from_str(&posts_json).map_err(json_err)?;
        posts.sort_by_key(|p| p.0);
        let mut rows: Vec<PostDayJson> = serde_json::from_str(&rows_json).map_err(json_err)?;
        rows.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        let mut out: Vec<PostSeries> = Vec::with_capacity(posts.len());
        let mut index = std::collections::HashMap::new();
        for p in posts {
            index.insert(p.0, out.len());
            out.push(PostSeries {
                id: p.0,
                account: p.1,
                external_id: p.2,
                text: p.3,
                published_at: p.4,
                media_type: p.5,
                paid: p.6.map(|v| v != 0),
                series: Vec::new(),
            });
        }
        for r in rows {
            let (Some(&i), Some(day)) = (index.get(&r.0), parse_day(&r.1)) else {
                continue;
            };
            out[i].series.push(DayValues {
                day,
                values: [r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9],
            });
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

/// What [`Store::raise_alert`] did with a detected condition; each carries the alert's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// A new alert, announced.
    Opened(i64),
    /// A snoozed alert whose snooze ran out while the condition still holds, announced again.
    Reopened(i64),
    /// Already open, acknowledged or snoozed: nothing changed.
    Known(i64),
    /// Resolved within the cooldown: nothing changed.
    CoolingDown(i64),
}

impl Raised {
    /// The alert's id when this raise queued an announcement.
    pub fn announced(self) -> Option<i64> {
        match self {
            Raised::Opened(id) | Raised::Reopened(id) => Some(id),
            Raised::Known(_) | Raised::CoolingDown(_) => None,
        }
    }
}

/// Who resolved an alert whose data went away (deleted or replaced) rather than cleared.
pub const DATA_GONE: &str = "data_gone";

const ALERT_COLUMNS: &str = "id, kind, severity, subject, dedupe_key, message, evidence, status, \
     opened_at, snoozed_until, decided_by, account_id";

fn alert_row(r: &sqlx::any::AnyRow) -> Result<StoredAlert> {
    let evidence: String = r.try_get(6)?;
    Ok(StoredAlert {
        id: r.try_get(0)?,
        alert: NewAlert {
            kind: super::text_column(r, 1)?,
            severity: super::text_column(r, 2)?,
            subject: r.try_get(3)?,
            account_id: r.try_get(11)?,
            dedupe_key: r.try_get(4)?,
            message: r.try_get(5)?,
            evidence: Evidence::from_json(&evidence),
        },
        status: super::text_column(r, 7)?,
        opened_at: r.try_get(8)?,
        snoozed_until: r.try_get(9)?,
        decided_by: r.try_get(10)?,
    })
}

impl Store {
    /// Records that a detector found `a`'s condition at `now`, keeping one alert per condition:
    ///
    /// - an alert with the same dedupe key that is open, acknowledged or still snoozed makes
    ///   this [`Raised::Known`] and changes nothing;
    /// - one whose snooze ran out is opened again with the latest numbers and announced again
    ///   ([`Raised::Reopened`]);
    /// - one resolved less than `cooldown_secs` ago keeps a condition that flaps from being
    ///   announced on every run ([`Raised::CoolingDown`]);
    /// - otherwise a new alert is opened ([`Raised::Opened`]).
    ///
    /// Opening and reopening queue an announcement in the same transaction. Replicas raising
    /// the same condition at once open one alert: the database holds one unresolved alert per
    /// dedupe key, and the reopening is conditional, so the later raise finds it `Known`.
    pub async fn raise_alert(&self, a: &NewAlert, now: i64, cooldown_secs: i64) -> Result<Raised> {
        let mut tx = self.begin_write().await?;
        let latest = sqlx::query(
            "SELECT id, status, snoozed_until, updated_at, decided_by FROM alerts WHERE dedupe_key = $1 \
             ORDER BY CASE WHEN status = 'resolved' THEN 1 ELSE 0 END, id DESC LIMIT 1",
        )
        .bind(a.dedupe_key.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(r) = latest {
            let (id, status, snoozed_until, updated_at): (i64, String, Option<i64>, i64) =
                (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?);
            let decided_by: Option<String> = r.try_get(4)?;
            // Only a condition that really cleared (or that a person resolved) cools down;
            // one resolved because its data went away comes back at once.
            let cleared = decided_by.as_deref() != Some(DATA_GONE);
            match status.as_str() {
                "snoozed" if snoozed_until.is_none_or(|u| u <= now) => {
                    let reopened = sqlx::query(
                        "UPDATE alerts SET status = 'open', snoozed_until = NULL, decided_by = NULL, \
                         severity = $1, message = $2, evidence = $3, updated_at = $4 \
                         WHERE id = $5 AND status = 'snoozed'",
                    )
                    .bind(a.severity.as_str())
                    .bind(a.message.as_str())
                    .bind(a.evidence.to_json())
                    .bind(now)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    if reopened == 0 {
                        return Ok(Raised::Known(id));
                    }
                    super::notifications::insert_notification(
                        &mut tx,
                        super::NotificationKind::AlertReopened,
                        id,
                        &a.message,
                    )
                    .await?;
                    tx.commit().await?;
                    return Ok(Raised::Reopened(id));
                }
                "resolved" if cleared && now - updated_at < cooldown_secs => {
                    return Ok(Raised::CoolingDown(id));
                }
                "resolved" => {}
                _ => return Ok(Raised::Known(id)),
            }
        }
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO alerts (kind, severity, subject, account_id, dedupe_key, message, evidence, status, opened_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $9, $4, $5, $6, 'open', $7, $8, $8) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(a.kind.as_str())
        .bind(a.severity.as_str())
        .bind(a.subject.as_str())
        .bind(a.dedupe_key.as_str())
        .bind(a.message.as_str())
        .bind(a.evidence.to_json())
        .bind(now)
        .bind(unix_now())
        .bind(a.account_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            // Another replica opened it since this one looked.
            let id: i64 = sqlx::query_scalar(
                "SELECT id FROM alerts WHERE dedupe_key = $1 AND status <> 'resolved'",
            )
            .bind(a.dedupe_key.as_str())
            .fetch_one(&mut *tx)
            .await?;
            return Ok(Raised::Known(id));
        };
        super::notifications::insert_notification(
            &mut tx,
            super::NotificationKind::AlertOpened,
            id,
            &a.message,
        )
        .await?;
        tx.commit().await?;
        Ok(Raised::Opened(id))
    }

    /// Open alerts (and snoozed ones whose snooze ran out), most important first
    /// ([`StoredAlert::importance`]).
    pub async fn open_alerts(&self, now: i64) -> Result<Vec<StoredAlert>> {
        let rows = sqlx::query(
            &format!("SELECT {ALERT_COLUMNS} \
             FROM alerts WHERE status = 'open' OR (status = 'snoozed' AND snoozed_until <= $1) ORDER BY opened_at DESC, id DESC"),
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut alerts = rows.iter().map(alert_row).collect::<Result<Vec<_>>>()?;
        alerts.sort_by(StoredAlert::importance);
        Ok(alerts)
    }

    /// One alert, whatever its status.
    pub async fn alert(&self, id: i64) -> Result<Option<StoredAlert>> {
        let row = sqlx::query(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(alert_row).transpose()
    }

    /// Moves an open alert to acknowledged, snoozed (until `until`) or resolved. Returns false
    /// if it wasn't open, changing nothing.
    pub async fn decide_alert(
        &self,
        id: i64,
        status: AlertStatus,
        by: &str,
        until: Option<i64>,
        now: i64,
    ) -> Result<bool> {
        self.decide_alert_with(id, status, by, until, now, &super::Effects::default())
            .await
    }

    /// As [`Store::decide_alert`], writing `effects` in the same transaction when it changes.
    pub async fn decide_alert_with(
        &self,
        id: i64,
        status: AlertStatus,
        by: &str,
        until: Option<i64>,
        now: i64,
        effects: &super::Effects,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE alerts SET status = $1, decided_by = $2, snoozed_until = $3, updated_at = $4 \
             WHERE id = $5 AND (status = 'open' OR (status = 'snoozed' AND snoozed_until <= $4))",
        )
        .bind(status.as_str())
        .bind(by)
        .bind(until)
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            return Ok(false);
        }
        super::slack::write_effects(&mut tx, effects, unix_now()).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Alerts not yet resolved: id, dedupe key and account.
    pub async fn unresolved_alerts(&self) -> Result<Vec<(i64, String, Option<i64>)>> {
        let rows = sqlx::query(
            "SELECT id, dedupe_key, account_id FROM alerts WHERE status <> 'resolved' ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    /// Resolves an alert the detectors settled: `cleared` when they looked at its subject's
    /// data and the condition is gone (a cooldown then holds back its return), otherwise
    /// because the data it describes is gone. Returns false if it was already resolved.
    pub async fn settle_alert(&self, id: i64, cleared: bool, now: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE alerts SET status = 'resolved', decided_by = $1, updated_at = $2 \
             WHERE id = $3 AND status <> 'resolved'",
        )
        .bind(if cleared { "detector" } else { DATA_GONE })
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Resolves alerts of `kinds` not yet resolved whose condition the latest detection didn't
    /// find again, as cleared.
    pub async fn resolve_alerts_except(
        &self,
        kinds: &[AlertKind],
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
            if !kinds.iter().any(|k| k.as_str() == kind) || keep.contains(&key) {
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
        let mut conn = self.pool.acquire().await?;
        insert_report(&mut conn, r).await
    }

    /// Keeps a report and queues the messages that deliver it, in one transaction.
    pub async fn save_report_and_enqueue(
        &self,
        r: &crate::analytics::report::Report,
        messages: &[super::NewOutboxMessage],
    ) -> Result<i64> {
        let mut tx = self.begin_write().await?;
        let id = insert_report(&mut tx, r).await?;
        super::slack::insert_outbox(&mut tx, messages, unix_now()).await?;
        tx.commit().await?;
        Ok(id)
    }
}

impl Store {
    /// A stored report's JSON, as generated.
    pub async fn stored_report(&self, id: i64) -> Result<Option<String>> {
        Ok(sqlx::query_scalar("SELECT body FROM reports WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }
}

async fn insert_report(
    conn: &mut sqlx::AnyConnection,
    r: &crate::analytics::report::Report,
) -> Result<i64> {
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
    .fetch_one(&mut *conn)
    .await?)
}
