//! The time zones whose local days the rollups keep (`rollup_zones`), and adding one: its
//! daily rollups are built from the stored snapshots, then kept on every write like the others.

use chrono::NaiveDate;
use chrono_tz::Tz;
use rustc_hash::FxHashMap as HashMap;
use sqlx::{Any, Transaction};

use super::bulk::{json_err, json_rows};
use super::ingest::{rebuild_account_daily, write_post_daily};
use super::{unix_now, Result, Store, StoreError};
use crate::domain::days::{canonical, DayCutter};
use crate::domain::POST_METRIC_NAMES;

/// At most this many zones are kept: each one adds its rollups to every write.
pub const MAX_ZONES: usize = 8;

/// Snapshots read at once when a zone's rollups are built.
const BACKFILL_ROWS: i64 = 10_000;

/// The kept zones, oldest first, read inside `tx`. A name this build's time-zone database
/// doesn't know (a zone renamed since) is skipped: its rows stay but aren't kept up to date.
pub(crate) async fn kept_zones(tx: &mut Transaction<'static, Any>) -> Result<Vec<(String, Tz)>> {
    let names: Vec<String> =
        sqlx::query_scalar("SELECT zone FROM rollup_zones ORDER BY added_at, zone")
            .fetch_all(&mut **tx)
            .await?;
    Ok(names
        .into_iter()
        .filter_map(|n| match n.parse::<Tz>() {
            Ok(tz) => Some((n, tz)),
            Err(_) => {
                tracing::warn!(zone = %n, "a kept time zone is unknown to this build; its rollups are no longer updated");
                None
            }
        })
        .collect())
}

/// The name a zone's rollup rows are stored under (one for all the names of UTC).
pub(crate) fn zone_key(tz: Tz) -> &'static str {
    canonical(tz).name()
}

/// What [`Store::keep_zone`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeptZone {
    /// Already kept.
    Already,
    /// Added now, its rollups built from this many stored post snapshots.
    Added { snapshots: u64 },
}

impl Store {
    /// The zones whose days the rollups keep.
    pub async fn rollup_zones(&self) -> Result<Vec<Tz>> {
        // Stored names are canonical (see `zone_key`).
        let names: Vec<String> =
            sqlx::query_scalar("SELECT zone FROM rollup_zones ORDER BY added_at, zone")
                .fetch_all(&self.pool)
                .await?;
        Ok(names.iter().filter_map(|n| n.parse().ok()).collect())
    }

    /// Keeps daily rollups in `tz` from now on. A new zone's rollups are built from the stored
    /// snapshots in the same transaction, so a report never sees it half built. Snapshots
    /// thinned by retention before the zone was added leave each old day ending at the last
    /// snapshot kept for the other zones. Refused beyond [`MAX_ZONES`].
    pub async fn keep_zone(&self, tz: Tz) -> Result<KeptZone> {
        // Most calls find the zone kept: a read, so commands that only read never wait for
        // the writer.
        if self.rollup_zones().await?.contains(&canonical(tz)) {
            return Ok(KeptZone::Already);
        }
        let mut tx = self.begin_write().await?;
        let kept = keep_zone_in(&mut tx, self.backend, tz).await?;
        tx.commit().await?;
        Ok(kept)
    }

    /// Stops keeping `tz`: its row in `rollup_zones` and its rollups go, in one transaction.
    /// Returns whether it was kept. `Etc/UTC` is always kept and is refused.
    pub async fn forget_zone(&self, tz: Tz) -> Result<bool> {
        let tz = canonical(tz);
        if tz == Tz::Etc__UTC {
            return Err(StoreError::Conflict("UTC days are always kept".into()));
        }
        let mut tx = self.begin_write().await?;
        if self.backend == crate::config::Backend::Postgres {
            sqlx::query("LOCK TABLE rollup_zones IN SHARE ROW EXCLUSIVE MODE")
                .execute(&mut *tx)
                .await?;
        }
        let gone = sqlx::query("DELETE FROM rollup_zones WHERE zone = $1")
            .bind(tz.name())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if gone == 0 {
            return Ok(false);
        }
        for table in ["post_daily", "account_daily"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE zone = $1"))
                .bind(tz.name())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        tracing::info!(zone = tz.name(), "time zone no longer kept in rollups");
        Ok(true)
    }

    /// Keeps every zone in `zones` (see [`Store::keep_zone`]).
    pub async fn keep_zones(&self, zones: impl IntoIterator<Item = Tz>) -> Result<()> {
        for tz in zones {
            self.keep_zone(tz).await?;
        }
        Ok(())
    }
}

/// [`Store::keep_zone`] inside a write transaction.
pub(crate) async fn keep_zone_in(
    tx: &mut Transaction<'static, Any>,
    backend: crate::config::Backend,
    tz: Tz,
) -> Result<KeptZone> {
    let tz = canonical(tz);
    if backend == crate::config::Backend::Postgres {
        // One zone added at a time (the limit holds), and not while an ingest or a thinning
        // runs (see `begin_ingest`). SQLite runs one writer at a time anyway.
        sqlx::query("LOCK TABLE rollup_zones IN SHARE ROW EXCLUSIVE MODE")
            .execute(&mut **tx)
            .await?;
    }
    let kept = kept_zones(tx).await?;
    if kept.iter().any(|(n, _)| n == tz.name()) {
        return Ok(KeptZone::Already);
    }
    // Rows this build can't read count too.
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rollup_zones")
        .fetch_one(&mut **tx)
        .await?;
    if rows >= MAX_ZONES as i64 {
        return Err(StoreError::TooManyZones(format!(
                "vibe already keeps days in {MAX_ZONES} time zones ({}), the most it keeps; {} can't be added (`vibe zones list` shows what keeps each)",
                kept.iter()
                    .map(|(n, _)| n.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                tz.name()
            )));
    }
    let added = sqlx::query(
        "INSERT INTO rollup_zones (zone, added_at) VALUES ($1, $2) ON CONFLICT (zone) DO NOTHING",
    )
    .bind(tz.name())
    .bind(unix_now())
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if added == 0 {
        // Another replica added it first.
        return Ok(KeptZone::Already);
    }
    let snapshots = backfill(tx, backend, tz).await?;
    tracing::info!(zone = tz.name(), snapshots, "time zone kept in rollups");
    Ok(KeptZone::Added { snapshots })
}

type SnapshotJson = (
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

/// Builds `tz`'s `post_daily` from the stored snapshots, read in (post, time) order a bounded
/// page at a time, then every account's `account_daily`. Returns the number of snapshots read.
async fn backfill(
    tx: &mut Transaction<'static, Any>,
    backend: crate::config::Backend,
    tz: Tz,
) -> Result<u64> {
    let mut cols = vec!["post_id".to_string(), "observed_at".into()];
    cols.extend(POST_METRIC_NAMES.iter().map(|m| m.to_string()));
    let page = json_rows(
        backend,
        &cols,
        &format!(
            "(SELECT {} FROM post_snapshots WHERE (post_id, observed_at) > ($1, $2) \
             ORDER BY post_id, observed_at LIMIT {BACKFILL_ROWS}) page",
            cols.join(", ")
        ),
    );
    let mut cut = DayCutter::new(tz);
    let mut read = 0u64;
    // Each post-day's last snapshot; a post's days are written once the pages have passed it.
    let mut last: HashMap<(i64, NaiveDate), (i64, [Option<i64>; 8])> = HashMap::default();
    let mut after = (i64::MIN, i64::MIN);
    loop {
        let json: String = sqlx::query_scalar(&page)
            .bind(after.0)
            .bind(after.1)
            .fetch_one(&mut **tx)
            .await?;
        let rows: Vec<SnapshotJson> = serde_json::from_str(&json).map_err(json_err)?;
        let Some(end) = rows.iter().map(|r| (r.0, r.1)).max() else {
            break;
        };
        read += rows.len() as u64;
        for r in &rows {
            let values = [r.2, r.3, r.4, r.5, r.6, r.7, r.8, r.9];
            let slot = last
                .entry((r.0, cut.day(r.1)))
                .or_insert((i64::MIN, [None; 8]));
            if r.1 >= slot.0 {
                *slot = (r.1, values);
            }
        }
        after = end;
        // Posts before the page's last are complete.
        let done: Vec<_> = last.keys().filter(|k| k.0 < end.0).copied().collect();
        let rows: Vec<_> = done
            .into_iter()
            .filter_map(|k| last.remove(&k).map(|v| (k, v)))
            .collect();
        write_post_daily(tx, backend, tz, rows, 1_000).await?;
    }
    write_post_daily(tx, backend, tz, last.into_iter().collect(), 1_000).await?;
    let accounts: Vec<i64> = sqlx::query_scalar("SELECT id FROM accounts ORDER BY id")
        .fetch_all(&mut **tx)
        .await?;
    // Before any day a stored timestamp can fall on (they are bounded at the edge).
    let first =
        NaiveDate::from_ymd_opt(*crate::domain::YEARS.start() - 1, 1, 1).unwrap_or(NaiveDate::MIN);
    let empty = HashMap::default();
    for account in accounts {
        rebuild_account_daily(tx, backend, tz, account, first, &empty).await?;
    }
    Ok(read)
}
