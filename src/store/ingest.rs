//! Writing metric records: upserts on natural keys, batched inserts, and the incremental daily
//! rollups, all inside one transaction so a failed import leaves the database as it was.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap as HashMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, Row, Transaction};

use super::zones::zone_key;
use super::{unix_now, Result, Store};
use crate::config::Backend;
use crate::domain::days::{self, DayCutter};
use crate::domain::rollup::{self, DayValues};
use crate::domain::{
    AccountInfo, AccountKey, AccountSnapshot, Count, FunnelDay, PostInfo, PostSnapshot, Record,
    POST_METRIC_NAMES,
};

/// What an ingest wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IngestStats {
    pub accounts: usize,
    pub posts: usize,
    pub post_snapshots: usize,
    pub account_snapshots: usize,
    pub funnel_days: usize,
    pub rollup_days: usize,
}

/// Where ingested accounts come from; stored so demo data can be told apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Import,
    Demo,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Import => "import",
            Source::Demo => "demo",
        }
    }
}

type Metrics8 = [Option<i64>; 8];

/// One open ingest: add records, then [`Ingest::finish`] to build rollups and commit. Dropping it
/// without finishing rolls everything back.
pub struct Ingest {
    tx: Transaction<'static, Any>,
    backend: Backend,
    source: Source,
    batch_size: usize,
    now: i64,
    brands: HashMap<String, i64>,
    accounts: HashMap<AccountKey, i64>,
    /// Post ids by account id, then the post's external id.
    posts: HashMap<i64, HashMap<String, i64>>,
    snapshots: Vec<(i64, i64, Metrics8)>,
    account_snapshots: Vec<(i64, i64, Option<i64>)>,
    funnel: Vec<FunnelRow>,
    /// The zones whose days the rollups keep (`rollup_zones`); indexes below refer to them.
    zones: Vec<DayCutter>,
    /// The latest imported snapshot of each post on each day of each zone, for `post_daily`.
    post_day_last: HashMap<(u8, i64, NaiveDate), (i64, Metrics8)>,
    /// Posts this ingest created: all their daily rows are in `post_day_last`.
    new_posts: rustc_hash::FxHashSet<i64>,
    /// The earliest day whose rollup may have changed, per zone and account.
    dirty_from: HashMap<(u8, i64), NaiveDate>,
    stats: IngestStats,
}

struct FunnelRow {
    platform: &'static str,
    campaign: String,
    day: String,
    account_id: Option<i64>,
    brand_id: Option<i64>,
    counts: [Option<i64>; 4],
    revenue: Option<i64>,
    spend: Option<i64>,
}

impl Store {
    /// Opens an ingest in a new transaction.
    pub async fn begin_ingest(&self, source: Source, batch_size: usize) -> Result<Ingest> {
        let mut tx = self.begin_write().await?;
        if self.backend == Backend::Postgres {
            // A zone being added waits for this ingest, and this ingest for it, so the zone's
            // rollups are built from this ingest's snapshots or kept up by it, never neither.
            // (SQLite runs one writer at a time.)
            sqlx::query("LOCK TABLE rollup_zones IN SHARE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let zones = super::zones::kept_zones(&mut tx)
            .await?
            .into_iter()
            .map(|(_, tz)| DayCutter::new(tz))
            .collect();
        Ok(Ingest {
            tx,
            backend: self.backend,
            source,
            batch_size: batch_size.max(1),
            now: unix_now(),
            brands: HashMap::default(),
            accounts: HashMap::default(),
            posts: HashMap::default(),
            snapshots: Vec::new(),
            account_snapshots: Vec::new(),
            funnel: Vec::new(),
            zones,
            post_day_last: HashMap::default(),
            new_posts: Default::default(),
            dirty_from: HashMap::default(),
            stats: IngestStats::default(),
        })
    }
}

pub(crate) fn day_key(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn opt_i64(c: Option<Count>) -> Option<i64> {
    c.map(Count::as_i64)
}

/// `($1,$2,…),($n+1,…)…` for `rows` rows of `cols` columns; plain `?` on SQLite, whose
/// parameter-name lookup is linear in the number of named parameters, which makes numbered
/// parameters quadratic in a batch.
fn values_clause(backend: Backend, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            match backend {
                Backend::Sqlite => s.push('?'),
                Backend::Postgres => {
                    s.push('$');
                    s.push_str(&(r * cols + c + 1).to_string());
                }
            }
        }
        s.push(')');
    }
    s
}

/// `a = excluded.a, b = excluded.b, …`
fn set_excluded(cols: &[&str]) -> String {
    cols.iter()
        .map(|c| format!("{c} = excluded.{c}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Keeps the last of several rows with the same key, in first-seen order: PostgreSQL refuses an
/// upsert that touches the same row twice in one statement.
fn dedup_last<T, K: std::hash::Hash + Eq>(rows: Vec<T>, key: impl Fn(&T) -> K) -> Vec<T> {
    let mut index: HashMap<K, usize> =
        HashMap::with_capacity_and_hasher(rows.len(), Default::default());
    let mut out: Vec<Option<T>> = Vec::with_capacity(rows.len());
    for row in rows {
        match index.entry(key(&row)) {
            std::collections::hash_map::Entry::Occupied(e) => out[*e.get()] = Some(row),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(out.len());
                out.push(Some(row));
            }
        }
    }
    out.into_iter().flatten().collect()
}

impl Ingest {
    /// Adds one record. Snapshots are buffered and written in batches.
    pub async fn add(&mut self, record: &Record) -> Result<()> {
        match record {
            Record::Post(s) => self.add_post_snapshot(s).await,
            Record::Account(s) => self.add_account_snapshot(s).await,
            Record::Funnel(f) => self.add_funnel(f).await,
        }
    }

    async fn add_post_snapshot(&mut self, s: &PostSnapshot) -> Result<()> {
        let account_id = self.account_id(&s.account).await?;
        let post_id = self.post_id(account_id, &s.post).await?;
        let observed = s.observed_at.timestamp();
        let values = s.metrics.to_array().map(opt_i64);
        for (z, cut) in self.zones.iter_mut().enumerate() {
            let day = cut.day(observed);
            let slot = self
                .post_day_last
                .entry((z as u8, post_id, day))
                .or_insert((i64::MIN, [None; 8]));
            if observed >= slot.0 {
                *slot = (observed, values);
            }
            mark_dirty(&mut self.dirty_from, z, account_id, day);
        }
        self.snapshots.push((post_id, observed, values));
        self.stats.post_snapshots += 1;
        if self.snapshots.len() >= self.batch_size {
            self.flush_snapshots().await?;
        }
        Ok(())
    }

    async fn add_account_snapshot(&mut self, s: &AccountSnapshot) -> Result<()> {
        let account_id = self.account_id(&s.account).await?;
        let observed = s.observed_at.timestamp();
        self.mark_dirty_at(account_id, observed);
        self.account_snapshots
            .push((account_id, observed, opt_i64(s.followers)));
        self.stats.account_snapshots += 1;
        if self.account_snapshots.len() >= self.batch_size {
            self.flush_account_snapshots().await?;
        }
        Ok(())
    }

    async fn add_funnel(&mut self, f: &FunnelDay) -> Result<()> {
        let account_id = match &f.account {
            Some(a) => Some(self.account_id(a).await?),
            None => None,
        };
        let brand_id = match &f.brand {
            Some(b) => Some(self.brand_id(b).await?),
            None => None,
        };
        self.funnel.push(FunnelRow {
            platform: f.platform.as_str(),
            campaign: f.campaign.clone(),
            day: day_key(f.day),
            account_id,
            brand_id,
            counts: [f.impressions, f.clicks, f.leads, f.conversions].map(opt_i64),
            revenue: f.revenue.map(|m| m.cents()),
            spend: f.spend.map(|m| m.cents()),
        });
        self.stats.funnel_days += 1;
        if self.funnel.len() >= self.batch_size {
            self.flush_funnel().await?;
        }
        Ok(())
    }

    /// Marks the day `ts` falls on, in every zone, as changed for the account.
    fn mark_dirty_at(&mut self, account_id: i64, ts: i64) {
        for (z, cut) in self.zones.iter_mut().enumerate() {
            mark_dirty(&mut self.dirty_from, z, account_id, cut.day(ts));
        }
    }

    async fn brand_id(&mut self, name: &str) -> Result<i64> {
        if let Some(id) = self.brands.get(name) {
            return Ok(*id);
        }
        // The no-op update makes RETURNING give the id of an existing brand too.
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO brands (name, created_at, updated_at) VALUES ($1, $2, $2) \
             ON CONFLICT (name) DO UPDATE SET name = excluded.name RETURNING id",
        )
        .bind(name)
        .bind(self.now)
        .fetch_one(&mut *self.tx)
        .await?;
        self.brands.insert(name.to_string(), id);
        Ok(id)
    }

    async fn account_id(&mut self, a: &AccountInfo) -> Result<i64> {
        if let Some(id) = self.accounts.get(&a.key) {
            return Ok(*id);
        }
        let brand_id = match &a.brand {
            Some(b) => Some(self.brand_id(b).await?),
            None => None,
        };
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO accounts (platform, external_id, handle, brand_id, source, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) \
             ON CONFLICT (platform, external_id) DO UPDATE SET \
               handle = COALESCE(excluded.handle, accounts.handle), \
               brand_id = COALESCE(excluded.brand_id, accounts.brand_id), \
               updated_at = CASE WHEN accounts.handle IS NOT DISTINCT FROM COALESCE(excluded.handle, accounts.handle) \
                 AND accounts.brand_id IS NOT DISTINCT FROM COALESCE(excluded.brand_id, accounts.brand_id) \
                 THEN accounts.updated_at ELSE excluded.updated_at END \
             RETURNING id",
        )
        .bind(a.key.platform.as_str())
        .bind(a.key.external_id.as_str())
        .bind(a.handle.as_deref())
        .bind(brand_id)
        .bind(self.source.as_str())
        .bind(self.now)
        .fetch_one(&mut *self.tx)
        .await?;
        self.accounts.insert(a.key.clone(), id);
        self.stats.accounts += 1;
        Ok(id)
    }

    async fn post_id(&mut self, account_id: i64, p: &PostInfo) -> Result<i64> {
        if let Some(id) = self
            .posts
            .get(&account_id)
            .and_then(|m| m.get(p.external_id.as_str()))
        {
            return Ok(*id);
        }
        // A post that moves to another publish day changes the rollups of both days.
        let old_published: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT published_at FROM posts WHERE account_id = $1 AND external_id = $2",
        )
        .bind(account_id)
        .bind(p.external_id.as_str())
        .fetch_optional(&mut *self.tx)
        .await?;
        let published = p.published_at.map(|t| t.timestamp());
        for ts in [published, old_published.flatten()].into_iter().flatten() {
            self.mark_dirty_at(account_id, ts);
        }
        let hashtags = (!p.hashtags.is_empty()).then(|| p.hashtags.join(" "));
        let cols = [
            "published_at",
            "text",
            "hashtags",
            "media_type",
            "paid",
            "campaign",
            "category",
        ];
        let merged = |c: &str| format!("COALESCE(excluded.{c}, posts.{c})");
        let set = cols
            .iter()
            .map(|c| format!("{c} = {}", merged(c)))
            .collect::<Vec<_>>()
            .join(", ");
        let unchanged = cols
            .iter()
            .map(|c| format!("posts.{c} IS NOT DISTINCT FROM {}", merged(c)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let sql = format!(
            "INSERT INTO posts (account_id, external_id, {cols}, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) \
             ON CONFLICT (account_id, external_id) DO UPDATE SET {set}, \
               updated_at = CASE WHEN {unchanged} THEN posts.updated_at ELSE excluded.updated_at END \
             RETURNING id",
            cols = cols.join(", ")
        );
        let id: i64 = sqlx::query_scalar(&sql)
            .bind(account_id)
            .bind(p.external_id.as_str())
            .bind(published)
            .bind(p.text.as_deref())
            .bind(hashtags)
            .bind(p.media_type.map(|m| m.as_str()))
            .bind(p.paid.map(i64::from))
            .bind(p.campaign.as_deref())
            .bind(p.category.as_deref())
            .bind(self.now)
            .fetch_one(&mut *self.tx)
            .await?;
        if old_published.is_none() {
            self.new_posts.insert(id);
        }
        self.posts
            .entry(account_id)
            .or_default()
            .insert(p.external_id.clone(), id);
        self.stats.posts += 1;
        Ok(id)
    }

    async fn flush_snapshots(&mut self) -> Result<()> {
        if self.snapshots.is_empty() {
            return Ok(());
        }
        let rows = dedup_last(std::mem::take(&mut self.snapshots), |r| (r.0, r.1));
        let sql = format!(
            "INSERT INTO post_snapshots (post_id, observed_at, {m}) VALUES {v} \
             ON CONFLICT (post_id, observed_at) DO UPDATE SET {set}",
            m = POST_METRIC_NAMES.join(", "),
            v = values_clause(self.backend, rows.len(), 10),
            set = set_excluded(&POST_METRIC_NAMES),
        );
        let mut q = sqlx::query(&sql);
        for (post, observed, values) in &rows {
            q = bind_metrics(q.bind(*post).bind(*observed), values);
        }
        q.execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn flush_account_snapshots(&mut self) -> Result<()> {
        if self.account_snapshots.is_empty() {
            return Ok(());
        }
        let rows = dedup_last(std::mem::take(&mut self.account_snapshots), |r| (r.0, r.1));
        let sql = format!(
            "INSERT INTO account_snapshots (account_id, observed_at, followers) VALUES {} \
             ON CONFLICT (account_id, observed_at) DO UPDATE SET followers = excluded.followers",
            values_clause(self.backend, rows.len(), 3)
        );
        let mut q = sqlx::query(&sql);
        for (account, observed, followers) in &rows {
            q = q.bind(*account).bind(*observed).bind(*followers);
        }
        q.execute(&mut *self.tx).await?;
        Ok(())
    }

    async fn flush_funnel(&mut self) -> Result<()> {
        if self.funnel.is_empty() {
            return Ok(());
        }
        let rows = dedup_last(std::mem::take(&mut self.funnel), |r| {
            (r.platform, r.campaign.clone(), r.day.clone())
        });
        let cols = [
            "account_id",
            "brand_id",
            "impressions",
            "clicks",
            "leads",
            "conversions",
            "revenue_cents",
            "spend_cents",
        ];
        let merged = |c: &str| {
            if c.ends_with("_id") {
                format!("COALESCE(excluded.{c}, funnel_daily.{c})")
            } else {
                format!("excluded.{c}")
            }
        };
        let set = cols
            .iter()
            .map(|c| format!("{c} = {}", merged(c)))
            .collect::<Vec<_>>()
            .join(", ");
        let unchanged = cols
            .iter()
            .map(|c| format!("funnel_daily.{c} IS NOT DISTINCT FROM {}", merged(c)))
            .collect::<Vec<_>>()
            .join(" AND ");
        let sql = format!(
            "INSERT INTO funnel_daily (platform, campaign, day, {cols}, created_at, updated_at) VALUES {v} \
             ON CONFLICT (platform, campaign, day) DO UPDATE SET {set}, \
               updated_at = CASE WHEN {unchanged} THEN funnel_daily.updated_at ELSE excluded.updated_at END",
            cols = cols.join(", "),
            v = values_clause(self.backend, rows.len(), 13),
        );
        let mut q = sqlx::query(&sql);
        for r in &rows {
            q = q
                .bind(r.platform)
                .bind(r.campaign.as_str())
                .bind(r.day.as_str())
                .bind(r.account_id)
                .bind(r.brand_id);
            for c in r.counts {
                q = q.bind(c);
            }
            q = q
                .bind(r.revenue)
                .bind(r.spend)
                .bind(self.now)
                .bind(self.now);
        }
        q.execute(&mut *self.tx).await?;
        Ok(())
    }

    /// Writes what is buffered, brings the rollups up to date and commits.
    pub async fn finish(mut self) -> Result<IngestStats> {
        self.flush_snapshots().await?;
        self.flush_account_snapshots().await?;
        self.flush_funnel().await?;
        let fresh = self.fresh_series();
        let rows: Vec<_> = self.post_day_last.drain().collect();
        for (z, cut) in self.zones.iter().enumerate() {
            let zone_rows: Vec<_> = rows
                .iter()
                .filter(|((rz, _, _), _)| usize::from(*rz) == z)
                .map(|((_, post, day), last)| ((*post, *day), *last))
                .collect();
            write_post_daily(
                &mut self.tx,
                self.backend,
                cut.tz(),
                zone_rows,
                self.batch_size,
            )
            .await?;
        }
        let dirty: BTreeMap<(u8, i64), NaiveDate> = self.dirty_from.drain().collect();
        let empty = HashMap::default();
        for ((z, account_id), from) in dirty {
            let tz = self.zones[usize::from(z)].tz();
            let fresh = fresh.get(&z).unwrap_or(&empty);
            self.stats.rollup_days +=
                rebuild_account_daily(&mut self.tx, self.backend, tz, account_id, from, fresh)
                    .await?;
        }
        tracing::debug!(
            account_days = self.stats.rollup_days,
            "account_daily rebuilt"
        );
        self.tx.commit().await?;
        Ok(self.stats)
    }

    /// The complete daily series, per zone, of the posts this ingest created, so the rollups
    /// needn't read them back from the database.
    fn fresh_series(&self) -> HashMap<u8, HashMap<i64, Vec<DayValues>>> {
        let mut fresh: HashMap<u8, HashMap<i64, Vec<DayValues>>> = HashMap::default();
        for ((z, post, day), (_, values)) in &self.post_day_last {
            if self.new_posts.contains(post) {
                fresh
                    .entry(*z)
                    .or_default()
                    .entry(*post)
                    .or_default()
                    .push(DayValues {
                        day: *day,
                        values: *values,
                    });
            }
        }
        for series in fresh.values_mut().flat_map(|m| m.values_mut()) {
            series.sort_unstable_by_key(|d| d.day);
        }
        fresh
    }
}

fn mark_dirty(
    dirty: &mut HashMap<(u8, i64), NaiveDate>,
    zone: usize,
    account: i64,
    day: NaiveDate,
) {
    dirty
        .entry((zone as u8, account))
        .and_modify(|d| *d = (*d).min(day))
        .or_insert(day);
}

/// Upserts each (post, day) of `tz` with the day's latest snapshot (observed at, counters),
/// unless the stored one is later (an import of older snapshots must not replace a newer
/// end-of-day value).
pub(crate) async fn write_post_daily(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    tz: Tz,
    mut rows: Vec<((i64, NaiveDate), (i64, Metrics8))>,
    batch_size: usize,
) -> Result<()> {
    rows.sort_unstable_by_key(|((post, day), _)| (*post, *day));
    let days: Vec<String> = rows.iter().map(|((_, d), _)| day_key(*d)).collect();
    for (chunk, days) in rows.chunks(batch_size).zip(days.chunks(batch_size)) {
        let sql = format!(
            "INSERT INTO post_daily (post_id, zone, day, observed_at, {m}) VALUES {v} \
             ON CONFLICT (zone, post_id, day) DO UPDATE SET observed_at = excluded.observed_at, {set} \
             WHERE excluded.observed_at >= post_daily.observed_at",
            m = POST_METRIC_NAMES.join(", "),
            v = values_clause(backend, chunk.len(), 12),
            set = set_excluded(&POST_METRIC_NAMES),
        );
        let mut q = sqlx::query(&sql);
        for (((post, _), (observed, values)), day) in chunk.iter().zip(days) {
            q = bind_metrics(
                q.bind(*post)
                    .bind(zone_key(tz))
                    .bind(day.as_str())
                    .bind(*observed),
                values,
            );
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

fn bind_metrics<'q>(
    mut q: Query<'q, Any, AnyArguments<'q>>,
    values: &Metrics8,
) -> Query<'q, Any, AnyArguments<'q>> {
    for v in values {
        q = q.bind(*v);
    }
    q
}

/// One account-day being rebuilt: summed deltas, posts published, the last follower count and
/// when it was observed.
type DayTotal = ([Option<i64>; 8], i64, Option<(i64, i64)>);

/// Recomputes one account's `account_daily` rows in days of `tz` from `from` on: post deltas
/// summed per day, posts published, and the day's last follower count. Returns the number of
/// rows written.
pub(crate) async fn rebuild_account_daily(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    tz: Tz,
    account_id: i64,
    from: NaiveDate,
    fresh: &HashMap<i64, Vec<DayValues>>,
) -> Result<usize> {
    let zone = zone_key(tz);
    let from_key = day_key(from);
    let from_ts = days::day_start(from, tz);
    let mut cut = DayCutter::new(tz);
    let mut totals: BTreeMap<NaiveDate, DayTotal> = BTreeMap::new();
    let mut add_series = |series: &[DayValues]| {
        for d in rollup::daily_deltas(series) {
            if d.day >= from {
                let t = totals.entry(d.day).or_insert(([None; 8], 0, None));
                rollup::accumulate(&mut t.0, &d.values);
            }
        }
    };
    // Every post with a row on or after `from` counts; its earlier rows are the baseline of its
    // deltas. Posts this ingest created are taken from memory, the rest read back.
    let posts: Vec<i64> = sqlx::query_scalar(
        "SELECT DISTINCT d.post_id FROM posts p CROSS JOIN post_daily d \
         WHERE d.post_id = p.id AND p.account_id = $1 AND d.zone = $2 AND d.day >= $3",
    )
    .bind(account_id)
    .bind(zone)
    .bind(from_key.as_str())
    .fetch_all(&mut **tx)
    .await?;
    let mut stored = Vec::new();
    for post in posts {
        match fresh.get(&post) {
            Some(series) => add_series(series),
            None => stored.push(post),
        }
    }
    let columns = POST_METRIC_NAMES.join(", ");
    for chunk in stored.chunks(500) {
        let ids = super::in_list(backend, 1, chunk.len());
        let sql = format!(
            "SELECT post_id, day, {columns} FROM post_daily WHERE post_id IN ({ids}) \
             AND zone = ${z} ORDER BY post_id, day",
            z = chunk.len() + 1
        );
        let mut q = sqlx::query(&sql);
        for id in chunk {
            q = q.bind(*id);
        }
        let rows = q.bind(zone).fetch_all(&mut **tx).await?;
        let mut series: Vec<DayValues> = Vec::new();
        let mut current: Option<i64> = None;
        for row in &rows {
            let post: i64 = row.try_get(0)?;
            if current != Some(post) {
                add_series(&series);
                series.clear();
                current = Some(post);
            }
            let day: String = row.try_get(1)?;
            let Ok(day) = NaiveDate::parse_from_str(&day, "%Y-%m-%d") else {
                continue;
            };
            let mut values = [None; 8];
            for (i, v) in values.iter_mut().enumerate() {
                *v = row.try_get(i + 2)?;
            }
            series.push(DayValues { day, values });
        }
        add_series(&series);
    }

    let published: Vec<(i64,)> = sqlx::query_as(
        "SELECT published_at FROM posts WHERE account_id = $1 AND published_at >= $2",
    )
    .bind(account_id)
    .bind(from_ts)
    .fetch_all(&mut **tx)
    .await?;
    for (ts,) in published {
        totals.entry(cut.day(ts)).or_insert(([None; 8], 0, None)).1 += 1;
    }

    let followers: Vec<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT observed_at, followers FROM account_snapshots \
         WHERE account_id = $1 AND observed_at >= $2 AND followers IS NOT NULL ORDER BY observed_at",
    )
    .bind(account_id)
    .bind(from_ts)
    .fetch_all(&mut **tx)
    .await?;
    for (ts, f) in followers {
        totals.entry(cut.day(ts)).or_insert(([None; 8], 0, None)).2 = f.map(|f| (f, ts));
    }

    sqlx::query("DELETE FROM account_daily WHERE account_id = $1 AND zone = $2 AND day >= $3")
        .bind(account_id)
        .bind(zone)
        .bind(from_key.as_str())
        .execute(&mut **tx)
        .await?;
    let rows: Vec<_> = totals.into_iter().collect();
    for chunk in rows.chunks(400) {
        let sql = format!(
            "INSERT INTO account_daily (account_id, zone, day, posts_published, {m}, followers, followers_at) \
             VALUES {v}",
            m = POST_METRIC_NAMES.join(", "),
            v = values_clause(backend, chunk.len(), 14),
        );
        let mut q = sqlx::query(&sql);
        for (day, (values, published, followers)) in chunk {
            q = bind_metrics(
                q.bind(account_id)
                    .bind(zone)
                    .bind(day_key(*day))
                    .bind(*published),
                values,
            )
            .bind(followers.map(|f| f.0))
            .bind(followers.map(|f| f.1));
        }
        q.execute(&mut **tx).await?;
    }
    Ok(rows.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_clause_numbers_every_parameter() {
        assert_eq!(
            values_clause(Backend::Postgres, 2, 3),
            "($1,$2,$3),($4,$5,$6)"
        );
        assert_eq!(values_clause(Backend::Postgres, 1, 1), "($1)");
        assert_eq!(values_clause(Backend::Sqlite, 2, 2), "(?,?),(?,?)");
    }

    #[test]
    fn dedup_keeps_last_in_first_seen_order() {
        let rows = vec![(1, "a"), (2, "b"), (1, "c")];
        assert_eq!(dedup_last(rows, |r| r.0), vec![(1, "c"), (2, "b")]);
    }
}
