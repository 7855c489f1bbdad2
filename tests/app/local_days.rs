//! Reports count days in their time zone, local midnight to local midnight: on the demo data,
//! weekly and monthly reports in New York, Tokyo and Paris days (weeks that hold a DST change
//! included) equal a recomputation from the raw snapshots, whether the zone was kept while the
//! data came in or added afterwards; and retention leaves every kept zone's old reports as
//! they were.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use vibe::analytics::report::{PeriodKind, Report};
use vibe::analytics::service::{self, ReportError, ReportRequest};
use vibe::config::Config;
use vibe::domain::days::day_bounds;
use vibe::store::{KeptZone, Source, Store};

use crate::helpers::TestDb;

const ZONES: [&str; 3] = ["America/New_York", "Asia/Tokyo", "Europe/Paris"];

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

/// Three months of demo data up to 2026-11-05, which hold Paris's autumn change (25 October)
/// and New York's (1 November). Tokyo is kept before the data comes in, in three imports (the
/// later ones adding older snapshots too); New York and Paris are added afterwards.
async fn demo_store(db: &TestDb) -> (Store, DateTime<Utc>) {
    let store = db.store().await;
    let now = Utc.with_ymd_and_hms(2026, 11, 5, 9, 0, 0).unwrap();
    let plan = vibe::demo::DemoPlan {
        seed: settings().demo.seed,
        now,
        days: 90,
    };
    let data = vibe::demo::generate(&plan);
    assert_eq!(
        store
            .keep_zone("Asia/Tokyo".parse().unwrap())
            .await
            .unwrap(),
        KeptZone::Added { snapshots: 0 }
    );
    let mut records = data.records.clone();
    // Interleaved thirds: each import touches days the others already rolled up.
    for part in 0..3 {
        let mut ingest = store.begin_ingest(Source::Demo, 500).await.unwrap();
        for r in records.iter().skip(part).step_by(3) {
            ingest.add(r).await.unwrap();
        }
        ingest.finish().await.unwrap();
    }
    records.clear();
    for zone in ["America/New_York", "Europe/Paris"] {
        match store.keep_zone(zone.parse().unwrap()).await.unwrap() {
            KeptZone::Added { snapshots } => assert!(snapshots > 10_000, "{snapshots}"),
            KeptZone::Already => panic!("{zone} was kept before"),
        }
    }
    (store, now)
}

async fn report(
    store: &Store,
    tz: Tz,
    kind: PeriodKind,
    to: NaiveDate,
    now: DateTime<Utc>,
) -> Report {
    let req = ReportRequest {
        kind,
        brand: None,
        platform: None,
        from: None,
        to: Some(to),
        timezone: tz,
    };
    service::build_report(store, &settings(), &req, now)
        .await
        .unwrap()
}

/// Every post snapshot: post -> (published at, [(observed at, counters)] in time order).
type Raw = BTreeMap<i64, (Option<i64>, Vec<(i64, [Option<i64>; 8])>)>;

async fn raw_snapshots(store: &Store) -> Raw {
    type Row = (
        i64,
        Option<i64>,
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
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT s.post_id, p.published_at, s.observed_at, s.impressions, s.reach, s.views, \
         s.likes, s.comments, s.shares, s.saves, s.clicks \
         FROM post_snapshots s JOIN posts p ON p.id = s.post_id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let mut raw: Raw = BTreeMap::new();
    for r in rows {
        raw.entry(r.0)
            .or_insert_with(|| (r.1, Vec::new()))
            .1
            .push((r.2, [r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10]));
    }
    for (_, snaps) in raw.values_mut() {
        snaps.sort_by_key(|s| s.0);
    }
    raw
}

/// What the posts added in `[start, end)`: each counter's last known value before `end` minus
/// its last known value before `start`, summed over posts; unknown where no post knows it.
fn added(raw: &Raw, start: i64, end: i64) -> [Option<i64>; 8] {
    let mut total = [None; 8];
    for (_, snaps) in raw.values() {
        for (i, t) in total.iter_mut().enumerate() {
            let last_before = |limit: i64| {
                snaps
                    .iter()
                    .filter(|s| s.0 < limit)
                    .filter_map(|s| s.1[i])
                    .next_back()
            };
            if let Some(v) = last_before(end) {
                *t = Some(t.unwrap_or(0) + v - last_before(start).unwrap_or(0));
            }
        }
    }
    total
}

fn engagements(c: &[Option<i64>; 8]) -> Option<i64> {
    // likes, comments, shares, saves
    let parts = [c[3], c[4], c[5], c[6]];
    parts
        .iter()
        .any(Option::is_some)
        .then(|| parts.iter().flatten().sum())
}

/// Checks one report's current and previous period, and its daily engagements, against the
/// raw snapshots counted in local days of `tz`.
fn check(r: &Report, raw: &Raw, tz: Tz, what: &str) {
    let p = &r.period;
    for (name, from, to, k) in [
        ("current", p.from, p.to, &r.total.current),
        (
            "previous",
            p.previous_from,
            p.previous_to,
            &r.total.previous,
        ),
    ] {
        let (start, _) = day_bounds(from, tz);
        let (_, end) = day_bounds(to, tz);
        let want = added(raw, start, end);
        let got = [
            k.impressions,
            k.reach,
            k.views,
            k.likes,
            k.comments,
            k.shares,
            k.saves,
            k.clicks,
        ];
        assert_eq!(got, want, "{what}: {name} {from}..{to} counters");
        assert_eq!(
            k.engagements,
            engagements(&want),
            "{what}: {name} engagements"
        );
        let posts = raw
            .values()
            .filter(|(published, _)| published.is_some_and(|t| t >= start && t < end))
            .count() as i64;
        assert_eq!(k.posts, posts, "{what}: {name} posts published");
    }
    let mut days = 0;
    for (d, e) in &r.daily_engagements {
        if *d < p.from || *d > p.to {
            continue;
        }
        let (start, end) = day_bounds(*d, tz);
        assert_eq!(
            Some(*e),
            engagements(&added(raw, start, end)).or(Some(0)),
            "{what}: engagements on {d}"
        );
        days += 1;
    }
    assert!(days >= 7, "{what}: {days} days checked");
}

#[tokio::test]
async fn weekly_and_monthly_reports_count_local_days_across_dst() {
    let db = TestDb::new().await;
    let (store, now) = demo_store(&db).await;
    let raw = raw_snapshots(&store).await;
    // The week to 3 November holds New York's change; the week before it, Paris's.
    let to = day(2026, 11, 3);
    let mut totals = Vec::new();
    for zone in ZONES {
        let tz: Tz = zone.parse().unwrap();
        for kind in [PeriodKind::Weekly, PeriodKind::Monthly] {
            let r = report(&store, tz, kind, to, now).await;
            check(&r, &raw, tz, &format!("{zone} {kind:?}"));
            totals.push(r.total.current.engagements);
        }
        // A DST day is 23 or 25 hours long, and counted whole.
        let (s, e) = day_bounds(day(2026, 11, 1), tz);
        let want = if zone == "America/New_York" { 25 } else { 24 };
        assert_eq!((e - s) / 3600, want, "{zone}");
    }
    // The zones really do split the days differently.
    totals.sort();
    totals.dedup();
    assert!(totals.len() >= 4, "{totals:?}");
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn retention_leaves_every_kept_zones_old_reports_unchanged() {
    let db = TestDb::new().await;
    let (store, now) = demo_store(&db).await;
    let old = day(2026, 9, 30);
    let mut zones: Vec<Tz> = ZONES.iter().map(|z| z.parse().unwrap()).collect();
    zones.push(chrono_tz::Etc::UTC);
    let mut before = Vec::new();
    for tz in &zones {
        for kind in [PeriodKind::Weekly, PeriodKind::Monthly] {
            let r = report(&store, *tz, kind, old, now).await;
            before.push(serde_json::to_value(&r).unwrap());
        }
    }
    let snapshots = |s: &Store| {
        let s = s.clone();
        async move { crate::helpers::scalar(&s, "SELECT COUNT(*) FROM post_snapshots").await }
    };
    let count_before = snapshots(&store).await.unwrap();
    // Everything observed before 5 October is thinned.
    let cutoff = Utc
        .with_ymd_and_hms(2026, 10, 5, 0, 0, 0)
        .unwrap()
        .timestamp();
    let thinned = store.thin_snapshots(cutoff).await.unwrap();
    assert!(thinned.post_snapshots > 1_000, "{thinned:?}");
    assert_eq!(
        snapshots(&store).await.unwrap(),
        count_before - thinned.post_snapshots as i64
    );
    let mut i = 0;
    for tz in &zones {
        for kind in [PeriodKind::Weekly, PeriodKind::Monthly] {
            let after = serde_json::to_value(report(&store, *tz, kind, old, now).await).unwrap();
            assert_eq!(before[i], after, "{} {kind:?} after thinning", tz.name());
            i += 1;
        }
    }
    // A zone added after thinning is refused nothing, and a report in a zone not kept says
    // which are.
    let req = ReportRequest {
        kind: PeriodKind::Weekly,
        brand: None,
        platform: None,
        from: None,
        to: Some(old),
        timezone: "Asia/Kolkata".parse().unwrap(),
    };
    match service::build_report(&store, &settings(), &req, now).await {
        Err(e @ ReportError::ZoneNotKept { .. }) => {
            let m = e.to_string();
            assert!(
                m.contains("Asia/Kolkata") && m.contains("Europe/Paris"),
                "{m}"
            );
        }
        other => panic!("{other:?}"),
    }
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn zones_are_bounded_and_a_refused_schedule_writes_nothing() {
    let db = TestDb::new().await;
    let store = db.store().await;
    // The names of UTC are one zone, kept from the start.
    assert_eq!(
        store.keep_zone(chrono_tz::UTC).await.unwrap(),
        KeptZone::Already
    );
    let more = [
        "Europe/Paris",
        "America/New_York",
        "Asia/Tokyo",
        "Asia/Kolkata",
        "Australia/Sydney",
        "America/Los_Angeles",
        "Europe/London",
    ];
    for z in more {
        assert!(matches!(
            store.keep_zone(z.parse().unwrap()).await.unwrap(),
            KeptZone::Added { .. }
        ));
    }
    assert_eq!(
        store.rollup_zones().await.unwrap().len(),
        vibe::store::MAX_ZONES
    );
    let refused = store
        .keep_zone("America/Sao_Paulo".parse().unwrap())
        .await
        .unwrap_err();
    assert!(
        refused
            .to_string()
            .contains("already keeps days in 8 time zones"),
        "{refused}"
    );
    let schedule = vibe::store::NewSchedule {
        kind: "daily".into(),
        cron: "0 9 * * *".into(),
        timezone: "America/Sao_Paulo".into(),
        channel: "C0REPORTS1".into(),
        created_by: "slack:U0ANALYST1".into(),
    };
    assert!(store.add_schedule(&schedule, 1_800_000_000).await.is_err());
    assert!(
        store.schedules().await.unwrap().is_empty(),
        "nothing was written"
    );
    // Forgetting a zone frees its place; UTC can't be forgotten.
    assert!(store.forget_zone(chrono_tz::UTC).await.is_err());
    assert!(store
        .forget_zone("Europe/London".parse().unwrap())
        .await
        .unwrap());
    assert!(!store
        .forget_zone("Europe/London".parse().unwrap())
        .await
        .unwrap());
    assert!(store
        .add_schedule(&schedule, 1_800_000_000)
        .await
        .unwrap()
        .is_ok());
    assert!(store
        .rollup_zones()
        .await
        .unwrap()
        .contains(&"America/Sao_Paulo".parse().unwrap()));
    // A schedule in a kept zone is added.
    let kept = vibe::store::NewSchedule {
        timezone: "Asia/Kolkata".into(),
        cron: "0 10 * * *".into(),
        ..schedule
    };
    assert!(store
        .add_schedule(&kept, 1_800_000_000)
        .await
        .unwrap()
        .is_ok());
    store.close().await;
    db.cleanup().await;
}
