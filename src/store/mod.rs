//! The store: the only layer that writes SQL.
//!
//! One code path for SQLite and PostgreSQL through sqlx's `Any` driver, chosen at start-up from
//! the URL. Queries are built at run time with numbered `$N` parameters, which both backends accept, and
//! use only types both map the same way (BIGINT, DOUBLE PRECISION, TEXT). DDL differs, so each
//! backend has its own migrations directory.

mod analytics;
mod bulk;
mod experiments;
mod ingest;
mod jobs;
mod notifications;
mod observations;
mod read;
mod schedules;
mod slack;
mod zones;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{AnyPool, Executor};

pub use analytics::{
    AlertKind, AlertStatus, Evidence, NewAlert, PostSeries, Raised, ScopeAccount, Severity,
    StoredAlert,
};
pub use experiments::{ArmTotals, ExperimentEvent, Observation, StoredExperiment, Transition};
pub use ingest::Source;
pub use ingest::{Ingest, IngestStats};
pub use jobs::{JobRun, JobState, Pruned, Thinned};
pub use notifications::NotificationKind;
pub use read::{AccountSummary, CampaignTotals, TableCounts};
pub use schedules::{DigestSchedule, NewSchedule};
pub use slack::{
    ApiToken, AuditEntry, Effects, NewOutboxMessage, OutboxBacklog, OutboxKind, OutboxRow,
    OutboxState, OutboxStatus,
};
pub use zones::{KeptZone, MAX_ZONES};

use crate::config::{Backend, DatabaseSettings};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("can't open the database at {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("the database at {url} didn't answer within {secs} s (database.connect_timeout_secs)")]
    NoAnswer { url: String, secs: u64 },
    #[error("can't create the directory for the database file {path}: {source}")]
    CreateDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("there is no database at {path}: run `vibe migrate` (or `vibe demo`) to create it")]
    Missing { path: String },
    #[error("{0}")]
    Conflict(String),
    /// A time zone beyond [`MAX_ZONES`]: the message names the kept ones.
    #[error("{0}")]
    TooManyZones(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    /// Whether the database was only busy (SQLite's lock held past the busy timeout, a
    /// PostgreSQL lock timeout, serialization failure or deadlock): the same request can
    /// simply be tried again, and nothing was written.
    pub fn is_busy(&self) -> bool {
        let StoreError::Database(sqlx::Error::Database(db)) = self else {
            return matches!(self, StoreError::Database(sqlx::Error::PoolTimedOut));
        };
        matches!(
            db.code().as_deref(),
            Some("5" | "6" | "517" | "55P03" | "40001" | "40P01")
        )
    }
}

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens a pool on the configured database. An SQLite file (and its directory) is created if
    /// missing and runs in WAL mode with a busy timeout, so readers don't block the writer.
    pub async fn connect(settings: &DatabaseSettings) -> Result<Store> {
        Store::open(settings, true).await
    }

    /// Opens a pool on a database that must already exist: a missing SQLite file is an error,
    /// not a new empty database (for `vibe health`, which must not report a database it just
    /// made as healthy).
    pub async fn connect_existing(settings: &DatabaseSettings) -> Result<Store> {
        Store::open(settings, false).await
    }

    async fn open(settings: &DatabaseSettings, create: bool) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let url = &settings.url;
        let backend = url.backend();
        let conn_url = match backend {
            Backend::Sqlite if create => sqlite_url(url.expose())?,
            Backend::Sqlite => existing_sqlite_url(url.expose())?,
            Backend::Postgres => url.expose().to_string(),
        };
        let timeout = settings.connect_timeout_secs;
        let connect_err = |source| match source {
            sqlx::Error::PoolTimedOut => StoreError::NoAnswer {
                url: url.redacted(),
                secs: timeout,
            },
            source => StoreError::Connect {
                url: url.redacted(),
                source,
            },
        };
        let options = AnyConnectOptions::from_str(&conn_url).map_err(connect_err)?;
        let busy_ms = settings.busy_timeout_ms;
        // Negative cache_size is in KiB. Only pages in use are allocated, so an idle bot stays
        // small, while a large import keeps its B-tree pages in memory instead of spilling them.
        let cache_kib = settings.sqlite_cache_mib.saturating_mul(1024);
        let pool = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .acquire_timeout(Duration::from_secs(settings.connect_timeout_secs))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if conn.backend_name() == "SQLite" {
                        conn.execute(
                            format!(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                                 PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_ms}; \
                                 PRAGMA cache_size = -{cache_kib}; PRAGMA temp_store = MEMORY;"
                            )
                            .as_str(),
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(connect_err)?;
        Ok(Store { pool, backend })
    }

    /// Whether the database answers a trivial query.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query_scalar::<_, i64>("SELECT 1")
            .fetch_one(&self.pool)
            .await?;
        Ok(())
    }

    /// Applies the migrations this backend hasn't run yet; returns how many ran.
    pub async fn migrate(&self) -> Result<usize> {
        let migrator = self.migrator();
        let before = self.applied_migrations().await.unwrap_or(0);
        migrator.run(&self.pool).await?;
        let after = self.applied_migrations().await?;
        Ok(after.saturating_sub(before))
    }

    /// Number of migrations recorded as applied.
    pub async fn applied_migrations(&self) -> Result<usize> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await?;
        Ok(n as usize)
    }

    /// Number of migrations this build knows.
    pub fn known_migrations(&self) -> usize {
        self.migrator().iter().count()
    }

    fn migrator(&self) -> &'static Migrator {
        match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`, waiting up to the busy timeout): a deferred transaction that reads
    /// and then writes fails with "database is locked", without waiting, when another
    /// connection wrote in between.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>> {
        Ok(match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        })
    }

    /// Waits for in-flight queries and closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Adds `mode=rwc` so the file is created, and creates its directory.
fn sqlite_url(url: &str) -> Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let (path, query) = match rest.split_once('?') {
        Some((p, q)) => (p, Some(q)),
        None => (rest, None),
    };
    if path != ":memory:" {
        if let Some(dir) = Path::new(path)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: path.to_string(),
                source,
            })?;
        }
    }
    Ok(match query {
        Some(q) if q.contains("mode=") => url.to_string(),
        Some(_) => format!("{url}&mode=rwc"),
        None => format!("{url}?mode=rwc"),
    })
}

/// The SQLite URL for a file that must exist, opened read-write without creating it.
fn existing_sqlite_url(url: &str) -> Result<String> {
    let rest = url.trim_start_matches("sqlite:").trim_start_matches("//");
    let path = rest.split_once('?').map_or(rest, |(p, _)| p);
    if path != ":memory:" && !Path::new(path).is_file() {
        return Err(StoreError::Missing {
            path: path.to_string(),
        });
    }
    Ok(match rest.split_once('?') {
        Some((_, q)) if q.contains("mode=") => url.to_string(),
        Some(_) => format!("{url}&mode=rw"),
        None => format!("{url}?mode=rw"),
    })
}

/// An optional double as a bind value: missing becomes NaN, which the SQL turns back into NULL
/// with `NULLIF($n, 'NaN')` (SQLite stores a bound NaN as NULL already).
///
/// Binding `Option<f64>` directly is unsafe with sqlx 0.8.6's `Any` driver: it sends a missing
/// `f64` to PostgreSQL as a `float4` NULL (its Real and Double kinds are swapped when converting
/// NULLs), and the cached statement then rejects real `f64` values. vibe never stores NaN, so the
/// sentinel is unambiguous. The PostgreSQL store tests bind NULL then a value to catch regressions.
pub(crate) fn opt_f64(v: Option<f64>) -> f64 {
    v.unwrap_or(f64::NAN)
}

/// The parameters of an IN list of `n` values starting at parameter `start`: `$3, $4, …`
/// (`?3, ?4, …` on SQLite, which numbers them the same way).
pub(crate) fn in_list(backend: Backend, start: usize, n: usize) -> String {
    let mark = match backend {
        Backend::Sqlite => '?',
        Backend::Postgres => '$',
    };
    (0..n)
        .map(|i| format!("{mark}{}", start + i))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Current time as stored: Unix seconds.
pub(crate) fn unix_now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A stored text column as one of vibe's text enums.
pub(crate) fn text_column<T: std::str::FromStr<Err: std::fmt::Display>>(
    r: &sqlx::any::AnyRow,
    i: usize,
) -> Result<T> {
    let s: String = sqlx::Row::try_get(r, i)?;
    parse_stored(&s)
}

/// A stored word (a status, a kind) as the enum it names.
pub(crate) fn parse_stored<T: std::str::FromStr<Err: std::fmt::Display>>(s: &str) -> Result<T> {
    s.parse()
        .map_err(|e| StoreError::Conflict(format!("stored value: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b/vibe.db");
        let url = format!("sqlite://{}", nested.display());
        assert_eq!(sqlite_url(&url).unwrap(), format!("{url}?mode=rwc"));
        assert!(nested.parent().unwrap().is_dir());
        assert_eq!(
            sqlite_url("sqlite://x.db?mode=ro").unwrap(),
            "sqlite://x.db?mode=ro"
        );
        assert_eq!(
            sqlite_url("sqlite://x.db?cache=shared").unwrap(),
            "sqlite://x.db?cache=shared&mode=rwc"
        );
    }
}
