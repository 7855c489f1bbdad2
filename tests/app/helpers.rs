//! Test fixtures: a fresh database per test on the configured backend, table dumps, and a way
//! to run the `vibe` binary against that database.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::{Connection, Executor, Row};
use vibe::config::{DatabaseSettings, DatabaseUrl};
use vibe::store::Store;

/// The variable naming a PostgreSQL server for the store tests (e.g.
/// postgres://postgres@127.0.0.1:5432/test). Unset: the tests run on SQLite.
pub const PG_VAR: &str = "VIBE_TEST_DATABASE_URL";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A database for one test, removed by [`TestDb::cleanup`].
pub struct TestDb {
    pub url: String,
    pg: Option<(String, String)>,
    pub dir: tempfile::TempDir,
}

impl TestDb {
    pub async fn new() -> TestDb {
        let dir = tempfile::tempdir().expect("temp dir");
        let Some(admin) = std::env::var(PG_VAR).ok().filter(|v| !v.is_empty()) else {
            let url = format!("sqlite://{}", dir.path().join("vibe.db").display());
            return TestDb { url, pg: None, dir };
        };
        sqlx::any::install_default_drivers();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let name = format!(
            "vibe_test_{now}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut conn = sqlx::AnyConnection::connect(&admin)
            .await
            .unwrap_or_else(|e| panic!("{PG_VAR}={admin}: can't connect: {e}"));
        // Databases left behind by crashed runs more than an hour old are dropped here.
        let stale: Vec<String> = sqlx::query_scalar(
            "SELECT datname::text FROM pg_database WHERE datname LIKE 'vibe_test_%'",
        )
        .fetch_all(&mut conn)
        .await
        .expect("list databases");
        for old in stale {
            let born: u64 = old
                .split('_')
                .nth(2)
                .and_then(|s| s.parse().ok())
                .unwrap_or(now);
            if born + 3600 < now {
                let _ = conn
                    .execute(format!("DROP DATABASE IF EXISTS {old}").as_str())
                    .await;
            }
        }
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create test database");
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        let url = format!("{base}/{name}");
        TestDb {
            url,
            pg: Some((admin, name)),
            dir,
        }
    }

    pub fn settings(&self) -> DatabaseSettings {
        DatabaseSettings {
            url: DatabaseUrl::parse(&self.url).expect("test url"),
            max_connections: 4,
            busy_timeout_ms: 5000,
            sqlite_cache_mib: 16,
            connect_timeout_secs: 5,
        }
    }

    /// A migrated store on this database.
    pub async fn store(&self) -> Store {
        let store = Store::connect(&self.settings()).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
    }

    pub async fn cleanup(self) {
        if let Some((admin, name)) = &self.pg {
            if let Ok(mut conn) = sqlx::AnyConnection::connect(admin).await {
                let _ = conn
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await;
            }
        }
    }

    /// Runs the vibe binary on this database, in a scratch directory.
    pub fn vibe(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        self.command(args, env).output().expect("run vibe")
    }

    /// [`TestDb::vibe`] off the async workers, for tests whose fakes answer on this runtime.
    pub async fn vibe_async(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = self.command(args, env);
        tokio::task::spawn_blocking(move || cmd.output().expect("run vibe"))
            .await
            .expect("the vibe process")
    }

    fn command(&self, args: &[&str], env: &[(&str, &str)]) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vibe"));
        cmd.args(args)
            .current_dir(self.dir.path())
            .env("VIBE_DATABASE__URL", &self.url)
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Writes a file into the scratch directory.
    pub fn write(&self, name: &str, content: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, content).expect("write test file");
        path
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The repository's copy of the Facebook metrics data set.
pub fn facebook_csv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/facebook_metrics/dataset_Facebook.csv")
}

pub const TABLES: [&str; 8] = [
    "brands",
    "accounts",
    "posts",
    "post_snapshots",
    "account_snapshots",
    "funnel_daily",
    "post_daily",
    "account_daily",
];

/// Every row of every metric table, as text, in a stable order.
pub async fn dump(store: &Store) -> BTreeMap<&'static str, Vec<String>> {
    let mut out = BTreeMap::new();
    for table in TABLES {
        let rows = sqlx::query(&format!("SELECT * FROM {table}"))
            .fetch_all(store.pool())
            .await
            .expect("dump");
        let mut lines: Vec<String> = rows
            .iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        if let Ok(v) = r.try_get::<Option<i64>, _>(i) {
                            format!("{v:?}")
                        } else if let Ok(v) = r.try_get::<Option<String>, _>(i) {
                            format!("{v:?}")
                        } else {
                            format!("{:?}", r.try_get::<Option<f64>, _>(i).ok().flatten())
                        }
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect();
        lines.sort();
        out.insert(table, lines);
    }
    out
}

/// One integer from a query.
pub async fn scalar(store: &Store, sql: &str) -> Option<i64> {
    sqlx::query_scalar::<_, Option<i64>>(sql)
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Makes the database refuse one kind of write, as a full disk or a failing server would:
/// `event` is `INSERT` or `UPDATE OF column`, `when` an optional condition on `NEW`. Returns
/// the statements that undo it.
pub async fn refuse_writes(store: &Store, table: &str, event: &str, when: &str) -> Vec<String> {
    let name = format!("refuse_{table}");
    let (create, undo) = match store.backend() {
        vibe::config::Backend::Sqlite => (
            vec![format!(
                "CREATE TRIGGER {name} BEFORE {event} ON {table} WHEN {when} \
                 BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )],
            vec![format!("DROP TRIGGER {name}")],
        ),
        vibe::config::Backend::Postgres => (
            vec![
                format!(
                    "CREATE FUNCTION {name}() RETURNS trigger AS $$ \
                     BEGIN RAISE EXCEPTION 'disk I/O error'; END $$ LANGUAGE plpgsql"
                ),
                format!(
                    "CREATE TRIGGER {name} BEFORE {event} ON {table} FOR EACH ROW \
                     WHEN ({when}) EXECUTE FUNCTION {name}()"
                ),
            ],
            vec![
                format!("DROP TRIGGER {name} ON {table}"),
                format!("DROP FUNCTION {name}()"),
            ],
        ),
    };
    for q in create {
        sqlx::query(&q)
            .execute(store.pool())
            .await
            .expect("create trigger");
    }
    undo
}

/// Undoes [`refuse_writes`].
pub async fn allow_writes(store: &Store, undo: Vec<String>) {
    for q in undo {
        sqlx::query(&q)
            .execute(store.pool())
            .await
            .expect("drop trigger");
    }
}

/// Waits (without blocking the runtime) for a child process to exit, at most `secs`.
pub async fn wait_exit(child: &mut std::process::Child, secs: u64) -> std::process::ExitStatus {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(std::time::Instant::now() < deadline, "vibe didn't stop");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
