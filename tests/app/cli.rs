//! The `vibe` binary as a newcomer runs it.

use crate::helpers::{stderr, stdout, TestDb};

#[tokio::test]
async fn demo_stores_and_summarises_then_guards_other_data() {
    let db = TestDb::new().await;
    let out = db.vibe(&["demo", "--days", "30"], &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for needle in [
        "vibe demo: 30 days",
        "Northwind Coffee",
        "Lumen Skincare",
        "viral post",
        "performance drop",
        "costly campaign",
        "10 accounts",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    // It ends with the weekly report, in the terminal and as HTML with charts.
    for needle in [
        "KPIs by platform",
        "Top posts",
        "Paid funnel",
        "Forecasts",
        "Recommendations",
        "The report with its charts: vibe-report.html",
    ] {
        assert!(text.contains(needle), "missing {needle:?}");
    }
    let html =
        std::fs::read_to_string(db.dir.path().join("vibe-report.html")).expect("HTML report");
    assert!(
        html.matches("data:image/png;base64,").count() >= 3,
        "charts embedded"
    );

    // The demo's tests read well.
    let results = db.vibe(&["abtest", "results", "1"], &[]);
    assert!(
        stdout(&results).contains("always-valid"),
        "{}",
        stdout(&results)
    );

    // Running it again replaces the demo data rather than adding to it.
    let again = db.vibe(&["demo", "--days", "30"], &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(stdout(&again).contains("10 accounts"));

    // With a team's own account in the database, demo refuses unless forced.
    let file = db.write(
        "mine.csv",
        "platform,account,followers,observed_at\nx,our_brand,100,2026-03-01\n",
    );
    let import = db.vibe(&["import", file.to_str().unwrap()], &[]);
    assert!(import.status.success(), "{}", stderr(&import));
    let refused = db.vibe(&["demo", "--days", "30"], &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(stderr(&refused).contains("--force"), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("x/our_brand"));
    let forced = db.vibe(&["demo", "--days", "30", "--force"], &[]);
    assert!(forced.status.success());
    assert!(stdout(&forced).contains("11 accounts"));
    db.cleanup().await;
}

#[tokio::test]
async fn import_reports_errors_with_file_line_and_column() {
    let db = TestDb::new().await;
    let file = db.write(
        "bad.csv",
        "platform,account,post_id,observed_at,likes\nx,a,1,2026-03-01,3\nx,a,2,2026-03-01,-3\n",
    );
    let out = db.vibe(&["import", file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("bad.csv:3: column likes: -3 is negative"),
        "{err}"
    );
    assert!(err.contains("nothing from this file was written"), "{err}");
}

#[tokio::test]
async fn config_prints_settings_without_secrets() {
    let db = TestDb::new().await;
    let out = db.vibe(
        &["config"],
        &[
            ("SLACK_BOT_TOKEN", "xoxb-top-secret"),
            ("VIBE_IMPORT__BATCH_SIZE", "64"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains("top-secret"));
    assert!(text.contains("SLACK_BOT_TOKEN: set (redacted)"));
    assert!(text.contains("batch_size = 64"));
    db.cleanup().await;
}

#[tokio::test]
async fn a_wrong_setting_stops_start_up_naming_the_key() {
    let db = TestDb::new().await;
    for (var, value, needle) in [
        ("VIBE_DATABASE__URLL", "x", "database.urll"),
        ("VIBE_IMPORT__BATCH_SIZE", "-5", "import.batch_size"),
        ("VIBE_DATABASE__URL", "mysql://db", "database.url"),
    ] {
        let out = db.vibe(&["migrate"], &[(var, value)]);
        assert_eq!(out.status.code(), Some(2), "{var}");
        assert!(stderr(&out).contains(needle), "{var}: {}", stderr(&out));
    }
    db.cleanup().await;
}
