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
    // It says what it planted next to what the detectors found, and they agree.
    assert!(
        text.contains("What was planted, and what the detectors found:"),
        "{text}"
    );
    assert_eq!(text.matches("  ✓ ").count(), 6, "{text}");
    assert!(
        !text.contains("  ✗ ") && !text.contains("not planted, found"),
        "{text}"
    );
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
    // Each chart says what it shows over which days: the whole history, not only the week.
    assert!(
        html.contains("alt=\"Line chart of daily engagements by platform from ")
            && html.contains(", log scale; the report's period, "),
        "chart alt text"
    );
    assert!(html.contains("alt=\"Bar chart of the paid funnel from "));
    // All five platforms: the footnote says why Reddit has no rate; its rows show a dash.
    assert!(
        text.contains("Reddit reports no reach, impressions or views"),
        "{text}"
    );
    assert!(!text.contains("– mixed"), "{text}");
    // Text columns align left: the campaign table starts each name at the column's edge.
    assert!(text.contains("\n  campaign           platform "), "{text}");

    // The demo's tests read well.
    let results = db.vibe(&["abtest", "results", "1"], &[]);
    assert!(
        stdout(&results).contains("always-valid"),
        "{}",
        stdout(&results)
    );

    // A report in another zone's days: the first one in a zone builds its rollups and says so;
    // a team's configured zone is kept from the start.
    let tokyo = db.vibe(
        &["report", "weekly", "--tz", "Asia/Tokyo", "--format", "json"],
        &[],
    );
    assert!(tokyo.status.success(), "{}", stderr(&tokyo));
    assert!(
        stderr(&tokyo).contains("vibe now keeps days in Asia/Tokyo too"),
        "{}",
        stderr(&tokyo)
    );
    let r: serde_json::Value = serde_json::from_str(&stdout(&tokyo)).expect("report JSON");
    assert_eq!(r["timezone"], "Asia/Tokyo");
    let again = db.vibe(
        &["report", "weekly", "--tz", "Asia/Tokyo", "--format", "json"],
        &[],
    );
    assert!(!stderr(&again).contains("keeps days"), "{}", stderr(&again));
    // The kept zones say what keeps them; one a report added can go, UTC can't.
    let list = stdout(&db.vibe(&["zones", "list"], &[]));
    assert!(
        list.contains("Etc/UTC") && list.contains("always kept"),
        "{list}"
    );
    assert!(
        list.lines()
            .any(|l| l.contains("Asia/Tokyo") && l.contains("added by a report")),
        "{list}"
    );
    let utc = db.vibe(&["zones", "remove", "UTC"], &[]);
    assert_eq!(utc.status.code(), Some(2));
    assert!(stderr(&utc).contains("stays kept"), "{}", stderr(&utc));
    let gone = db.vibe(&["zones", "remove", "Asia/Tokyo"], &[]);
    assert!(gone.status.success(), "{}", stderr(&gone));
    assert!(!stdout(&db.vibe(&["zones", "list"], &[])).contains("Asia/Tokyo"));
    let paris = db.vibe(
        &["report", "weekly", "--format", "json"],
        &[("VIBE_REPORT__TIMEZONE", "Europe/Paris")],
    );
    assert!(paris.status.success(), "{}", stderr(&paris));
    assert!(!stderr(&paris).contains("keeps days"), "{}", stderr(&paris));
    let r: serde_json::Value = serde_json::from_str(&stdout(&paris)).expect("report JSON");
    assert_eq!(r["timezone"], "Europe/Paris");

    // Running it again replaces the demo data rather than adding to it; a length it can't make
    // is named, with what it makes instead.
    let again = db.vibe(&["demo", "--days", "5"], &[]);
    assert!(
        stderr(&again).contains("making 7 instead of 5"),
        "{}",
        stderr(&again)
    );
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

#[tokio::test]
async fn health_neither_creates_a_missing_database_nor_waits_long_for_an_unreachable_one() {
    let db = TestDb::new().await;
    let missing = db.dir.path().join("nowhere/vibe.db");
    let url = format!("sqlite://{}", missing.display());
    let out = db.vibe(&["health"], &[("VIBE_DATABASE__URL", &url)]);
    assert!(!out.status.success());
    assert!(stdout(&out).contains("no database at"), "{}", stdout(&out));
    assert!(!missing.exists(), "health created the database");
    assert!(!missing.parent().unwrap().exists());

    // A server that accepts connections and never answers: health gives up after the
    // configured connect timeout, not after half a minute.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let url = format!("postgres://vibe:hunter2@127.0.0.1:{port}/vibe?password=hunter3");
    let started = std::time::Instant::now();
    let out = db.vibe(
        &["health"],
        &[
            ("VIBE_DATABASE__URL", &url),
            ("VIBE_DATABASE__CONNECT_TIMEOUT_SECS", "1"),
        ],
    );
    let took = started.elapsed();
    drop(silent);
    assert!(!out.status.success());
    assert!(took < std::time::Duration::from_secs(15), "took {took:?}");
    let printed = format!("{}{}", stdout(&out), stderr(&out));
    assert!(printed.contains("FAIL database"), "{printed}");
    assert!(
        !printed.contains("hunter2") && !printed.contains("hunter3"),
        "{printed}"
    );
    db.cleanup().await;
}

#[tokio::test]
async fn a_closed_stdout_ends_quietly_and_loses_no_token() {
    use std::process::{Command, Stdio};
    let db = TestDb::new().await;
    assert!(db.vibe(&["migrate"], &[]).status.success());
    let run = |args: &[&str]| {
        // A pipe whose reading end is closed before vibe writes: like `vibe … | head -0`.
        let mut child = Command::new(env!("CARGO_BIN_EXE_vibe"))
            .args(args)
            .current_dir(db.dir.path())
            .env("VIBE_DATABASE__URL", &db.url)
            .env_remove("DATABASE_URL")
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run vibe");
        drop(child.stdout.take());
        child.wait_with_output().expect("wait")
    };
    for args in [&["config"][..], &["token", "list"][..]] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(141), "{args:?}: {out:?}");
        assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
    }
    let out = run(&["token", "create", "collector"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("revoked"), "{}", stderr(&out));
    // Output that goes nowhere (a closed stdout becomes /dev/null): no token is made at all.
    let nowhere = std::process::Command::new(env!("CARGO_BIN_EXE_vibe"))
        .args(["token", "create", "nowhere"])
        .current_dir(db.dir.path())
        .env("VIBE_DATABASE__URL", &db.url)
        .env_remove("DATABASE_URL")
        .stdout(Stdio::null())
        .output()
        .expect("run vibe");
    assert!(!nowhere.status.success());
    assert!(
        stderr(&nowhere).contains("goes nowhere"),
        "{}",
        stderr(&nowhere)
    );
    // Names are printed in lists and logs: plain ones only.
    for bad in ["", "two words", "bad\nline", "\u{1b}[31mred"] {
        let out = db.vibe(&["token", "create", bad], &[]);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            stderr(&out).contains("not a token name"),
            "{}",
            stderr(&out)
        );
    }
    let list = db.vibe(&["token", "list", "--format", "json"], &[]);
    let tokens: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(tokens.as_array().unwrap().len(), 1, "{tokens}");
    assert!(
        !tokens[0]["revoked_at"].is_null(),
        "a token nobody saw is not left live: {tokens}"
    );
    db.cleanup().await;
}
