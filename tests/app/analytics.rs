//! Reports and alerts on the configured backend, checked against numbers computed by hand from
//! the Facebook data set and against the demo's planted events.

use chrono::{NaiveDate, TimeZone, Utc};
use vibe::analytics::report::PeriodKind;
use vibe::analytics::service::{self, ReportRequest};
use vibe::config::Config;
use vibe::import::{import_file, ImportOptions};
use vibe::store::{NewAlert, Raised};

use crate::helpers::{facebook_csv, stderr, stdout, TestDb};

fn settings() -> vibe::config::Settings {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.toml");
    std::fs::write(&empty, "").unwrap();
    Config::load_from(Some(&empty), &Default::default())
        .unwrap()
        .settings
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

/// December 2014 of the Facebook export, as a spreadsheet sums the rows with Post Month 12.
#[tokio::test]
async fn facebook_kpis_match_the_spreadsheet() {
    let db = TestDb::new().await;
    let store = db.store().await;
    import_file(&store, &facebook_csv(), &ImportOptions::default())
        .await
        .unwrap();
    let req = ReportRequest {
        kind: PeriodKind::Monthly,
        brand: None,
        platform: None,
        from: Some(day(2014, 12, 1)),
        to: Some(day(2014, 12, 31)),
        timezone: chrono_tz::UTC,
    };
    let r = service::build_report(&store, &settings(), &req, Utc::now())
        .await
        .unwrap();
    let k = &r.total.current;
    assert_eq!(k.posts, 50);
    assert_eq!(k.reach, Some(488_288));
    assert_eq!(k.impressions, Some(887_525));
    assert_eq!(
        (k.likes, k.comments, k.shares),
        (Some(8_609), Some(313), Some(1_145))
    );
    assert_eq!(k.engagements, Some(10_067));
    assert_eq!(k.clicks, Some(58_192));
    assert_eq!(
        k.saves, None,
        "Facebook's export has no saves: unknown, not zero"
    );
    assert!((k.engagement_rate.unwrap() - 10_067.0 / 488_288.0).abs() < 1e-12);
    // The best post of December: 1,777 interactions (58 comments, 1,572 likes, 147 shares).
    assert_eq!(r.top_posts[0].engagements, 1_777);
    assert_eq!(r.platforms.len(), 1);
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn rolling_reports_end_at_the_last_day_with_data() {
    let db = TestDb::new().await;
    let store = db.store().await;
    import_file(&store, &facebook_csv(), &ImportOptions::default())
        .await
        .unwrap();
    let req = ReportRequest {
        kind: PeriodKind::Weekly,
        brand: None,
        platform: None,
        from: None,
        to: None,
        timezone: chrono_tz::UTC,
    };
    let r = service::build_report(
        &store,
        &settings(),
        &req,
        Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(r.period.to, day(2014, 12, 31));
    assert_eq!(r.period.from, day(2014, 12, 25));
    assert_eq!(r.data_through, Some(day(2014, 12, 31)));
    let missing = ReportRequest {
        brand: Some("Nope".into()),
        ..req
    };
    let err = service::build_report(&store, &settings(), &missing, Utc::now())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no brand \"Nope\""), "{err}");
    store.close().await;
    db.cleanup().await;
}

fn alert(key: &str) -> NewAlert {
    NewAlert {
        kind: vibe::store::AlertKind::PerformanceDrop,
        severity: vibe::store::Severity::Warning,
        subject: "X @acme".into(),
        account_id: None,
        dedupe_key: key.into(),
        message: "reach fell".into(),
        evidence: vibe::store::Evidence::Other(Default::default()),
    }
}

const COOLDOWN: i64 = 6 * 3600;

#[tokio::test]
async fn the_same_condition_raises_one_alert_until_resolved_then_cools_down() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let now = Utc::now().timestamp();
    let raise = |key: &'static str, at: i64, cooldown: i64| {
        let store = &store;
        async move { store.raise_alert(&alert(key), at, cooldown).await.unwrap() }
    };
    let Raised::Opened(first) = raise("drop:1", now, COOLDOWN).await else {
        panic!("a new condition opens an alert");
    };
    assert_eq!(
        raise("drop:1", now + 60, COOLDOWN).await,
        Raised::Known(first),
        "open"
    );
    assert!(store
        .decide_alert(
            first,
            vibe::store::AlertStatus::Acknowledged,
            "U123",
            None,
            now
        )
        .await
        .unwrap());
    assert!(
        !store
            .decide_alert(
                first,
                vibe::store::AlertStatus::Acknowledged,
                "U123",
                None,
                now
            )
            .await
            .unwrap(),
        "a second click changes nothing"
    );
    assert_eq!(
        raise("drop:1", now + 120, COOLDOWN).await,
        Raised::Known(first),
        "acknowledged: still known"
    );
    assert_eq!(
        store
            .resolve_alerts_except(&[vibe::store::AlertKind::PerformanceDrop], &[], now + 180)
            .await
            .unwrap(),
        1
    );
    // Back after it cleared: quiet within the cooldown, a new alert after it.
    for (after, want_new) in [(60, false), (COOLDOWN - 1, false), (COOLDOWN, true)] {
        let got = raise("drop:1", now + 180 + after, COOLDOWN).await;
        assert_eq!(
            matches!(got, Raised::Opened(id) if id != first),
            want_new,
            "{after} s after it cleared: {got:?}"
        );
        if !want_new {
            assert_eq!(got, Raised::CoolingDown(first));
        }
    }
    // No cooldown: a condition that clears and comes back is announced at once.
    let Raised::Opened(flap) = raise("drop:3", now, 0).await else {
        panic!("opens");
    };
    store
        .resolve_alerts_except(
            &[vibe::store::AlertKind::PerformanceDrop],
            &["drop:1".into()],
            now + 60,
        )
        .await
        .unwrap();
    assert!(matches!(raise("drop:3", now + 60, 0).await, Raised::Opened(id) if id != flap));

    // A snoozed alert stays quiet until its snooze runs out, then comes back, once.
    let Raised::Opened(snoozed) = raise("drop:2", now, COOLDOWN).await else {
        panic!("opens");
    };
    assert!(store
        .decide_alert(
            snoozed,
            vibe::store::AlertStatus::Snoozed,
            "U1",
            Some(now + 3600),
            now
        )
        .await
        .unwrap());
    assert_eq!(
        raise("drop:2", now + 60, COOLDOWN).await,
        Raised::Known(snoozed),
        "snoozed"
    );
    assert!(!store
        .open_alerts(now + 60)
        .await
        .unwrap()
        .iter()
        .any(|a| a.id == snoozed));
    assert_eq!(
        raise("drop:2", now + 3600, COOLDOWN).await,
        Raised::Reopened(snoozed),
        "the snooze ran out while the condition holds"
    );
    assert_eq!(
        raise("drop:2", now + 3660, COOLDOWN).await,
        Raised::Known(snoozed),
        "reopened once"
    );
    let a = store.alert(snoozed).await.unwrap().unwrap();
    assert_eq!(
        (a.status, a.snoozed_until),
        (vibe::store::AlertStatus::Open, None)
    );
    assert!(store
        .open_alerts(now + 3660)
        .await
        .unwrap()
        .iter()
        .any(|a| a.id == snoozed));
    // Each announcement queued once: five openings and one reopening.
    let kinds: Vec<(String, i64)> = store
        .pending_notifications()
        .await
        .unwrap()
        .into_iter()
        .map(|(_, kind, subject, _)| (kind, subject))
        .collect();
    let opened: Vec<i64> = kinds
        .iter()
        .filter(|(k, _)| k == "alert_opened")
        .map(|(_, s)| *s)
        .collect();
    assert_eq!(opened.len(), 5, "{kinds:?}");
    assert!(opened.contains(&first) && opened.contains(&snoozed));
    assert_eq!(
        kinds
            .iter()
            .filter(|(k, _)| k == "alert_reopened")
            .collect::<Vec<_>>(),
        [&("alert_reopened".to_string(), snoozed)]
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn demo_analysis_finds_the_planted_drop_and_viral_posts_once() {
    let db = TestDb::new().await;
    assert!(db.vibe(&["demo", "--days", "60"], &[]).status.success());
    let first = db.vibe(&["analyze"], &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let again = db.vibe(&["analyze"], &[]);
    assert!(
        stdout(&again).contains(", 0 new alert(s)"),
        "{}",
        stdout(&again)
    );
    let alerts = db.vibe(&["alerts", "--format", "json"], &[]);
    let list: serde_json::Value = serde_json::from_str(&stdout(&alerts)).unwrap();
    let kinds: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["kind"].as_str().unwrap(), a["subject"].as_str().unwrap()))
        .collect();
    assert!(
        kinds.contains(&("performance_drop", "Instagram @lumen.skincare")),
        "{kinds:?}"
    );
    assert!(
        kinds.iter().filter(|(k, _)| *k == "viral_post").count() >= 2,
        "{kinds:?}"
    );
    let report = db.vibe(&["report", "weekly", "--format", "json"], &[]);
    assert!(report.status.success(), "{}", stderr(&report));
    let r: serde_json::Value = serde_json::from_str(&stdout(&report)).unwrap();
    let score = r["score"].as_u64().expect("a 0-100 score at the top level");
    assert!(score <= 100);
    assert_eq!(r["platforms"].as_array().unwrap().len(), 5);
    let md = db.vibe(
        &[
            "report",
            "--period",
            "monthly",
            "instagram",
            "--brand",
            "Lumen Skincare",
            "--format",
            "markdown",
        ],
        &[],
    );
    let text = stdout(&md);
    assert!(
        text.starts_with("# Monthly report: Lumen Skincare on Instagram"),
        "{text}"
    );
    assert!(text.contains("| Instagram |"), "{text}");
    // Only Instagram in this report: its footnote doesn't speak of Reddit.
    assert!(!text.contains("Reddit"), "{text}");
    // 60 days of history can't score a month: the report says why, in one line.
    assert!(
        text.contains("Score: not enough history yet. A score ranks this period against at least 4 earlier periods of 30 days, so it needs data from ")
            && text.contains("; the data starts "),
        "{text}"
    );
    let bad = db.vibe(&["report", "yearly"], &[]);
    assert_eq!(bad.status.code(), Some(2));
    // A stored report shows again as it was generated, not recomputed.
    let weekly = stdout(&db.vibe(&["report", "weekly"], &[]));
    let (body, stored) = weekly
        .rsplit_once("Stored as report #")
        .unwrap_or_else(|| panic!("{weekly}"));
    let id = stored.split(':').next().unwrap();
    let again = db.vibe(&["report", "show", id], &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(stdout(&again), body);
    let missing = db.vibe(&["report", "show", "999999"], &[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).contains("there is no report #999999"));
    // A period with no data says so, and where the data is, instead of empty tables.
    let empty = db.vibe(
        &["report", "--from", "2020-01-01", "--to", "2020-01-31"],
        &[],
    );
    assert_eq!(empty.status.code(), Some(2));
    assert!(
        stderr(&empty).contains("no data from 2020-01-01 to 2020-01-31: the data runs from "),
        "{}",
        stderr(&empty)
    );
    assert!(stdout(&empty).is_empty(), "{}", stdout(&empty));

    // The alerts come most severe first.
    let rank = |s: &str| ["info", "warning", "critical"].iter().position(|x| *x == s);
    let severities: Vec<usize> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| rank(a["severity"].as_str().unwrap()).unwrap())
        .collect();
    assert!(
        severities.windows(2).all(|w| w[0] >= w[1]),
        "{severities:?}"
    );
    // After the demo replaces its data, every condition the detectors count is listed: none
    // is held back by a cooldown for data that was replaced rather than cleared.
    assert!(db.vibe(&["demo", "--days", "60"], &[]).status.success());
    let rerun = stdout(&db.vibe(&["analyze"], &[]));
    let counted: usize = rerun
        .split("Detectors: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{rerun}"));
    let alerts = db.vibe(&["alerts", "--format", "json"], &[]);
    let listed: serde_json::Value = serde_json::from_str(&stdout(&alerts)).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), counted, "{rerun}");
    assert!(counted > 0);
    db.cleanup().await;
}

#[tokio::test]
async fn only_a_condition_that_really_cleared_cools_down() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let now = Utc::now().timestamp();
    // Its data went away (deleted or replaced): back at once when found again.
    let Raised::Opened(gone) = store
        .raise_alert(&alert("drop:9"), now, COOLDOWN)
        .await
        .unwrap()
    else {
        panic!("opens");
    };
    assert!(store.settle_alert(gone, false, now + 60).await.unwrap());
    assert!(
        !store.settle_alert(gone, false, now + 61).await.unwrap(),
        "once"
    );
    assert!(matches!(
        store.raise_alert(&alert("drop:9"), now + 120, COOLDOWN).await.unwrap(),
        Raised::Opened(id) if id != gone
    ));
    // Seen and cleared: the cooldown holds back its return.
    let Raised::Opened(cleared) = store
        .raise_alert(&alert("drop:8"), now, COOLDOWN)
        .await
        .unwrap()
    else {
        panic!("opens");
    };
    assert!(store.settle_alert(cleared, true, now + 60).await.unwrap());
    assert_eq!(
        store
            .raise_alert(&alert("drop:8"), now + 120, COOLDOWN)
            .await
            .unwrap(),
        Raised::CoolingDown(cleared)
    );
    store.close().await;
    db.cleanup().await;
}

/// Whatever day and hour it runs, the demo's detectors find exactly what it planted: every
/// viral post (the small Reddit account included), the drop and the costly campaign, and
/// nothing else.
#[tokio::test]
async fn the_demo_finds_what_it_planted_on_every_weekday() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let settings = settings();
    // Every weekday, at several hours, with 60 days of history and with 30 (the shortest the
    // viral detector judges every account with).
    for offset in 0..14i64 {
        let now = Utc
            .with_ymd_and_hms(2026, 6, 1, 7 + 2 * (offset % 7) as u32, 0, 0)
            .unwrap()
            + chrono::Duration::days(offset);
        let plan = vibe::demo::DemoPlan {
            seed: settings.demo.seed,
            now,
            days: if offset < 7 { 60 } else { 30 },
        };
        let data = vibe::demo::generate(&plan);
        store.delete_demo_data().await.unwrap();
        let mut ingest = store
            .begin_ingest(vibe::store::Source::Demo, settings.import.batch_size)
            .await
            .unwrap();
        for r in &data.records {
            ingest.add(r).await.unwrap();
        }
        ingest.finish().await.unwrap();
        service::analyse(&store, &settings, now, chrono_tz::UTC)
            .await
            .unwrap();
        let open = store.open_alerts(now.timestamp()).await.unwrap();
        let findings = data.findings(&open);
        let missed: Vec<_> = findings
            .iter()
            .filter(|f| f.planted && f.alert.is_none())
            .collect();
        let extra: Vec<_> = findings.iter().filter(|f| !f.planted).collect();
        assert!(
            missed.is_empty() && extra.is_empty(),
            "{now}: missed {missed:#?}, not planted {extra:#?}"
        );
        assert_eq!(data.viral_posts.len(), 4);
    }
    store.close().await;
    db.cleanup().await;
}
