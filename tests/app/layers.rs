//! The layers' boundaries (ARCHITECTURE.md), checked on the sources: the pure core names no
//! database, Slack, HTTP or runtime crate, no outer module, and reads no clock; `slack/` never
//! imports `cli/`, `cli/` reaches Slack only through the server's wiring, and the scheduler
//! knows no adapter.

use std::path::{Path, PathBuf};

/// The pure core: the metric model, the statistics, and the parts of analytics and
/// experiments that take their data and the time as parameters.
const CORE: &[&str] = &[
    "src/domain",
    "src/stats",
    "src/format.rs",
    "src/analytics/charts.rs",
    "src/analytics/detect.rs",
    "src/analytics/forecast.rs",
    "src/analytics/kpi.rs",
    "src/analytics/model.rs",
    "src/analytics/render.rs",
    "src/analytics/report.rs",
    "src/analytics/score.rs",
    "src/analytics/sentiment.rs",
    "src/experiments/calc.rs",
    "src/experiments/design.rs",
    "src/experiments/model.rs",
    "src/experiments/render.rs",
];

const NOT_IN_CORE: &[&str] = &[
    "sqlx",
    "slack_morphism",
    "axum",
    "hyper",
    "tokio",
    "crate::store",
    "crate::config",
    "crate::server",
    "crate::slack",
    "crate::cli",
    "crate::app",
    "crate::api",
    "crate::scheduler",
    "crate::import",
    "crate::health",
    "crate::heavy",
    "crate::experiments::check",
    "Utc::now",
    "SystemTime::now",
    "Instant::now",
    "std::fs",
    "std::net",
];

fn files(path: &Path) -> Vec<PathBuf> {
    if path.is_file() {
        return vec![path.to_path_buf()];
    }
    let mut out = Vec::new();
    for entry in std::fs::read_dir(path).expect("a source directory") {
        out.extend(files(&entry.expect("an entry").path()));
    }
    out.sort();
    out
}

/// Every line of the files under `roots` that names one of `names`.
fn offenders(roots: &[&str], names: &[&str]) -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for r in roots {
        let path = root.join(r);
        assert!(path.exists(), "{r} is listed but doesn't exist");
        for f in files(&path) {
            let text = std::fs::read_to_string(&f).expect("a source file");
            for (n, line) in text.lines().enumerate() {
                for name in names {
                    if line.contains(name) {
                        found.push(format!("{}:{}: {name}", f.display(), n + 1));
                    }
                }
            }
        }
    }
    found
}

#[test]
fn the_pure_core_names_no_io_and_no_outer_layer() {
    let found = offenders(CORE, NOT_IN_CORE);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn the_adapters_meet_only_in_the_application_layer() {
    let found = offenders(&["src/slack"], &["crate::cli"]);
    assert!(found.is_empty(), "slack/ imports cli/: {found:#?}");
    let found = offenders(&["src/cli"], &["crate::slack"]);
    assert!(found.is_empty(), "cli/ imports slack/: {found:#?}");
    let found = offenders(
        &["src/app"],
        &["crate::slack", "crate::cli", "slack_morphism"],
    );
    assert!(found.is_empty(), "app/ imports an adapter: {found:#?}");
}
