//! The store on the configured backend: migrations, upserts and incremental rollups.

use chrono::{DateTime, TimeZone, Utc};
use vibe::domain::{
    AccountInfo, AccountKey, AccountSnapshot, Count, Platform, PostInfo, PostMetrics, PostSnapshot,
    Record,
};
use vibe::store::{Pruned, Source, Store, Thinned};

use crate::helpers::{dump, scalar, TestDb};

fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, hour, 0, 0).unwrap()
}

fn account(id: &str) -> AccountInfo {
    AccountInfo {
        key: AccountKey {
            platform: Platform::Instagram,
            external_id: id.into(),
        },
        handle: Some(id.into()),
        brand: Some("Acme".into()),
    }
}

fn snap(
    acct: &str,
    post: &str,
    published: DateTime<Utc>,
    observed: DateTime<Utc>,
    likes: Option<u64>,
    reach: Option<u64>,
) -> Record {
    Record::Post(PostSnapshot {
        account: account(acct),
        post: PostInfo {
            external_id: post.into(),
            published_at: Some(published),
            text: Some("hello #acme".into()),
            hashtags: vec!["acme".into()],
            ..PostInfo::default()
        },
        observed_at: observed,
        metrics: PostMetrics {
            likes: likes.map(|v| Count::new(v).unwrap()),
            reach: reach.map(|v| Count::new(v).unwrap()),
            ..PostMetrics::default()
        },
    })
}

async fn ingest(store: &Store, records: &[Record]) {
    let mut i = store.begin_ingest(Source::Import, 3).await.unwrap();
    for r in records {
        i.add(r).await.unwrap();
    }
    i.finish().await.unwrap();
}

/// (day, likes, reach, posts published) rows of account_daily, in day order.
async fn daily(store: &Store) -> Vec<(String, Option<i64>, Option<i64>, i64)> {
    sqlx::query_as("SELECT day, likes, reach, posts_published FROM account_daily ORDER BY day")
        .fetch_all(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn migrations_apply_once() {
    let db = TestDb::new().await;
    let store = db.store().await;
    assert_eq!(
        store.migrate().await.unwrap(),
        0,
        "second run applies nothing"
    );
    assert_eq!(
        store.applied_migrations().await.unwrap(),
        store.known_migrations()
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn rollups_count_deltas_not_sums_of_snapshots() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let p = at(1, 9);
    ingest(
        &store,
        &[
            snap("a", "1", p, at(1, 10), Some(10), Some(100)),
            snap("a", "1", p, at(1, 20), Some(30), Some(300)),
            snap("a", "1", p, at(2, 9), Some(45), Some(400)),
        ],
    )
    .await;
    assert_eq!(
        daily(&store).await,
        vec![
            ("2026-03-01".into(), Some(30), Some(300), 1),
            ("2026-03-02".into(), Some(15), Some(100), 0)
        ]
    );

    // An older snapshot of day 1 doesn't replace the later one.
    ingest(&store, &[snap("a", "1", p, at(1, 12), Some(20), Some(200))]).await;
    assert_eq!(
        daily(&store).await[0],
        ("2026-03-01".into(), Some(30), Some(300), 1)
    );

    // A later snapshot of day 1 moves likes from day 2's delta into day 1's.
    ingest(&store, &[snap("a", "1", p, at(1, 23), Some(35), Some(320))]).await;
    assert_eq!(
        daily(&store).await,
        vec![
            ("2026-03-01".into(), Some(35), Some(320), 1),
            ("2026-03-02".into(), Some(10), Some(80), 0)
        ]
    );

    // A second post on day 2 adds to that day; the sum of deltas is the lifetime total.
    ingest(
        &store,
        &[
            snap("a", "2", at(2, 8), at(2, 10), Some(7), None),
            snap("a", "1", p, at(4, 9), Some(50), Some(410)),
        ],
    )
    .await;
    let rows = daily(&store).await;
    assert_eq!(rows[1], ("2026-03-02".into(), Some(17), Some(80), 1));
    assert_eq!(rows.iter().filter_map(|r| r.1).sum::<i64>(), 50 + 7);
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM post_snapshots").await,
        Some(7)
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn unknown_counters_stay_unknown() {
    let db = TestDb::new().await;
    let store = db.store().await;
    ingest(
        &store,
        &[snap("a", "1", at(1, 9), at(1, 10), Some(4), None)],
    )
    .await;
    let rows = daily(&store).await;
    assert_eq!(rows, vec![("2026-03-01".into(), Some(4), None, 1)]);
    assert_eq!(
        scalar(
            &store,
            "SELECT COUNT(*) FROM account_daily WHERE impressions IS NULL"
        )
        .await,
        Some(1)
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn the_same_records_twice_change_nothing() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let records = vec![
        snap("a", "1", at(1, 9), at(1, 10), Some(4), Some(40)),
        snap("a", "1", at(1, 9), at(1, 10), Some(5), Some(50)),
        snap("b", "9", at(2, 9), at(3, 10), Some(1), Some(9)),
        Record::Account(AccountSnapshot {
            account: account("a"),
            observed_at: at(1, 22),
            followers: Some(Count::new(1000).unwrap()),
        }),
    ];
    ingest(&store, &records).await;
    let first = dump(&store).await;
    assert_eq!(
        first["post_snapshots"].len(),
        2,
        "the duplicate row is one snapshot"
    );
    ingest(&store, &records).await;
    assert_eq!(dump(&store).await, first);
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn an_unfinished_ingest_writes_nothing() {
    let db = TestDb::new().await;
    let store = db.store().await;
    {
        let mut i = store.begin_ingest(Source::Import, 1).await.unwrap();
        for n in 0..5 {
            i.add(&snap(
                "a",
                &n.to_string(),
                at(1, 9),
                at(1, 10),
                Some(1),
                None,
            ))
            .await
            .unwrap();
        }
        // Dropped without finish: the transaction rolls back.
    }
    assert_eq!(scalar(&store, "SELECT COUNT(*) FROM posts").await, Some(0));
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM accounts").await,
        Some(0)
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn moving_a_post_to_another_day_updates_both_days() {
    let db = TestDb::new().await;
    let store = db.store().await;
    ingest(
        &store,
        &[snap("a", "1", at(3, 9), at(3, 10), Some(1), None)],
    )
    .await;
    ingest(
        &store,
        &[snap("a", "1", at(1, 9), at(3, 11), Some(2), None)],
    )
    .await;
    let published: Vec<(String, i64)> = daily(&store)
        .await
        .into_iter()
        .map(|r| (r.0, r.3))
        .collect();
    assert_eq!(
        published,
        vec![("2026-03-01".into(), 1), ("2026-03-03".into(), 0)]
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn demo_data_is_removed_without_touching_imports() {
    let db = TestDb::new().await;
    let store = db.store().await;
    ingest(
        &store,
        &[snap("mine", "1", at(1, 9), at(1, 10), Some(1), None)],
    )
    .await;
    let mut i = store.begin_ingest(Source::Demo, 10).await.unwrap();
    i.add(&snap("demo", "2", at(1, 9), at(1, 10), Some(1), None))
        .await
        .unwrap();
    i.finish().await.unwrap();
    assert_eq!(
        store.non_demo_accounts().await.unwrap(),
        vec!["instagram/mine".to_string()]
    );
    assert_eq!(store.delete_demo_data().await.unwrap(), 1);
    let counts = store.table_counts().await.unwrap();
    assert_eq!(
        (
            counts.accounts,
            counts.posts,
            counts.post_snapshots,
            counts.brands
        ),
        (1, 1, 1, 1)
    );
    store.close().await;
    db.cleanup().await;
}

/// Snapshots arriving in any order and in any split give the same rollups as computing them
/// from scratch with the pure reference in `domain::rollup`.
#[tokio::test]
async fn incremental_rollups_match_a_from_scratch_computation() {
    use rand::{seq::SliceRandom, Rng, SeedableRng};
    use std::collections::BTreeMap;
    use vibe::domain::rollup::{accumulate, daily_deltas, DayValues};

    let db = TestDb::new().await;
    let store = db.store().await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut records = Vec::new();
    // (account, post) -> observed -> (likes, reach)
    let mut truth: BTreeMap<(String, String), BTreeMap<DateTime<Utc>, (Option<u64>, Option<u64>)>> =
        BTreeMap::new();
    for a in ["a", "b"] {
        for p in 0..4 {
            let post = format!("{a}{p}");
            let published = at(1 + p, 8);
            let mut likes = 0u64;
            for h in 1..(24 * 6) {
                if rng.gen::<f64>() < 0.7 {
                    continue;
                }
                let observed = published + chrono::Duration::hours(h);
                // Mostly growing, sometimes taking likes back, sometimes not reported.
                likes = (likes as i64 + rng.gen_range(-2..10)).max(0) as u64;
                let l = (rng.gen::<f64>() > 0.15).then_some(likes);
                let r = (rng.gen::<f64>() > 0.5).then_some(likes * 10);
                records.push(snap(a, &post, published, observed, l, r));
                truth
                    .entry((a.to_string(), post.clone()))
                    .or_default()
                    .insert(observed, (l, r));
            }
        }
    }
    records.shuffle(&mut rng);
    for chunk in records.chunks(records.len() / 3 + 1) {
        ingest(&store, chunk).await;
    }

    let mut expected: BTreeMap<(String, String), [Option<i64>; 8]> = BTreeMap::new();
    for ((account, _), snaps) in &truth {
        let mut by_day: BTreeMap<chrono::NaiveDate, [Option<i64>; 8]> = BTreeMap::new();
        for (t, (l, r)) in snaps {
            let mut v = [None; 8];
            v[3] = l.map(|x| x as i64);
            v[1] = r.map(|x| x as i64);
            by_day.insert(t.date_naive(), v);
        }
        let series: Vec<DayValues> = by_day
            .into_iter()
            .map(|(day, values)| DayValues { day, values })
            .collect();
        for d in daily_deltas(&series) {
            let e = expected
                .entry((account.clone(), d.day.format("%Y-%m-%d").to_string()))
                .or_insert([None; 8]);
            accumulate(e, &d.values);
        }
    }
    let got: Vec<(String, String, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT a.external_id, d.day, d.likes, d.reach FROM account_daily d JOIN accounts a ON a.id = d.account_id \
         WHERE d.likes IS NOT NULL OR d.reach IS NOT NULL ORDER BY a.external_id, d.day",
    )
    .fetch_all(store.pool())
    .await
    .unwrap();
    let want: Vec<(String, String, Option<i64>, Option<i64>)> = expected
        .into_iter()
        .filter(|(_, v)| v[3].is_some() || v[1].is_some())
        .map(|((a, d), v)| (a, d, v[3], v[1]))
        .collect();
    assert!(want.len() > 10, "the case exercises many account-days");
    assert_eq!(got, want);
    store.close().await;
    db.cleanup().await;
}

/// The account's follower count at `t`, none at 23:00.
fn followers(t: DateTime<Utc>, h: i64) -> Record {
    use chrono::Timelike;
    Record::Account(AccountSnapshot {
        account: account("acme"),
        observed_at: t,
        followers: (t.hour() != 23).then(|| Count::new(10_000 + h as u64).unwrap()),
    })
}

#[tokio::test]
async fn retention_prunes_bookkeeping_nothing_reads_again() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let day = 86_400;
    let now = at(31, 12).timestamp();
    let before = now - 30 * day;
    // Job runs: an old finished one, the job's latest (old too), a recent one of another job,
    // and an old run still marked running whose lease ran out long ago.
    for (job, slot) in [
        ("analysis", before - 2 * day),
        ("retention", before - 3 * day),
        ("retention", before - day),
        ("abtests", now - 3600),
        ("abtests", before - day),
    ] {
        assert!(store.claim_run(job, slot, "me", slot, 300).await.unwrap());
        if slot != before - day || job != "abtests" {
            store
                .finish_run(job, slot, "me", None, slot + 5, 5)
                .await
                .unwrap();
        }
    }
    let sql = |q: String| {
        let store = &store;
        async move {
            sqlx::query(&q).execute(store.pool()).await.unwrap();
        }
    };
    for (i, (kind, status, touched)) in [
        ("file", "delivered", before - day),
        ("update", "failed", before - day),
        ("post", "delivered", before - day),
        ("file", "pending", before - day),
        ("file", "delivered", now - day),
    ]
    .into_iter()
    .enumerate()
    {
        sql(format!(
            "INSERT INTO slack_outbox (key, kind, channel, body, status, next_attempt_at, created_at, updated_at) \
             VALUES ('k{i}', '{kind}', 'C1', '{{}}', '{status}', {touched}, {touched}, {touched})"
        ))
        .await;
    }
    for (i, delivered) in [
        "NULL".to_string(),
        (before - 1).to_string(),
        (now - 60).to_string(),
    ]
    .iter()
    .enumerate()
    {
        sql(format!(
            "INSERT INTO notifications (kind, subject_id, body, created_at, delivered_at) \
             VALUES ('alert_opened', {i}, '', {}, {delivered})",
            before - day
        ))
        .await;
    }
    assert!(store
        .first_delivery("command", "old", now - 2 * day)
        .await
        .unwrap());
    assert!(store
        .first_delivery("command", "new", now - 60)
        .await
        .unwrap());

    let pruned = store.prune_bookkeeping(before, now - day).await.unwrap();
    assert_eq!(
        pruned,
        Pruned {
            job_runs: 2,
            notifications: 1,
            outbox_rows: 2,
            deliveries_seen: 1
        }
    );
    let runs: Vec<(String, i64)> =
        sqlx::query_as("SELECT job, slot FROM job_runs ORDER BY job, slot")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(
        runs,
        [
            ("abtests".to_string(), now - 3600),
            ("analysis".to_string(), before - 2 * day),
            ("retention".to_string(), before - day),
        ],
        "each job's latest run stays; old finished and abandoned ones go"
    );
    let keys: Vec<(String,)> = sqlx::query_as("SELECT key FROM slack_outbox ORDER BY key")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let keys: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
    assert_eq!(
        keys,
        ["k2", "k3", "k4"],
        "posts, undelivered and recent rows stay"
    );
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM notifications").await,
        Some(2),
        "the pending and the recent notification stay"
    );
    // A retry of the delivery still remembered is still recognised.
    assert!(!store.first_delivery("command", "new", now).await.unwrap());
    assert_eq!(
        store.prune_bookkeeping(before, now - day).await.unwrap(),
        Pruned::default()
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn retention_thins_old_hourly_snapshots_and_keeps_rollups_and_latest() {
    let db = TestDb::new().await;
    let store = db.store().await;
    // Two posts, a snapshot every hour for 40 days from 2026-03-01 (likes keep growing), and
    // the account's follower count every hour but the last of each day (23:00 has none).
    let start = at(1, 0);
    let mut records = Vec::new();
    for h in 0..40 * 24 {
        records.push(followers(start + chrono::Duration::hours(h), h));
    }
    for post in ["p1", "p2"] {
        for h in 0..40 * 24 {
            let t = start + chrono::Duration::hours(h);
            records.push(snap(
                "acme",
                post,
                start,
                t,
                Some(h as u64 * 3),
                Some(h as u64 * 50),
            ));
        }
    }
    ingest(&store, &records).await;
    let before = dump(&store).await;
    assert_eq!(before["post_snapshots"].len(), 2 * 40 * 24);
    // The window starts 30 days before "now" (day 41 at 00:00): days 1-10 are old.
    let now = start + chrono::Duration::days(40);
    let cutoff = (now - chrono::Duration::days(30)).timestamp();
    let removed = store.thin_snapshots(cutoff).await.unwrap();
    assert_eq!(
        removed.post_snapshots,
        2 * 10 * 23,
        "each old day keeps only its last snapshot"
    );
    assert_eq!(
        removed.account_snapshots,
        10 * 23,
        "each old day keeps its last follower count (22:00); the 23:00 one has none to keep"
    );
    let after = dump(&store).await;
    assert_eq!(after["post_snapshots"].len(), 2 * (10 + 30 * 24));
    assert_eq!(after["account_snapshots"].len(), 10 + 30 * 24);
    for table in ["post_daily", "account_daily", "posts", "accounts"] {
        assert_eq!(before[table], after[table], "{table} must not change");
    }
    // Each old day's remaining snapshot is its 23:00 one, which post_daily holds.
    let old_kept = scalar(
        &store,
        &format!(
            "SELECT COUNT(*) FROM post_snapshots s WHERE s.observed_at < {cutoff} AND EXISTS \
             (SELECT 1 FROM post_daily d WHERE d.post_id = s.post_id AND d.observed_at = s.observed_at)"
        ),
    )
    .await;
    assert_eq!(old_kept, Some(20));
    // Thinning again changes nothing.
    assert_eq!(
        store.thin_snapshots(cutoff).await.unwrap(),
        Thinned::default()
    );
    // An import touching an old day rebuilds the rollups from what is left, to the same numbers.
    let mut late = followers(at(2, 22) + chrono::Duration::minutes(30), 0);
    if let Record::Account(a) = &mut late {
        a.followers = None;
    }
    ingest(&store, &[late]).await;
    let rebuilt = dump(&store).await;
    assert_eq!(before["account_daily"], rebuilt["account_daily"]);
    assert_eq!(before["post_daily"], rebuilt["post_daily"]);
    // A later import still rolls up on top of what is left.
    ingest(
        &store,
        &[snap("acme", "p1", start, now, Some(5000), Some(90000))],
    )
    .await;
    let last = daily(&store).await;
    assert!(
        last.iter().any(|d| d.1 == Some(5000 - (40 * 24 - 1) * 3)),
        "{last:?}"
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn writers_from_several_processes_wait_for_each_other_instead_of_failing() {
    // Three pools on one database stand in for three replicas. Each raises alerts (a read,
    // then a write, in one transaction) while the others write: on SQLite a transaction that
    // only takes the write lock when it first writes would fail with "database is locked".
    let db = TestDb::new().await;
    let stores = [db.store().await, db.store().await, db.store().await];
    let now = at(1, 0).timestamp();
    let mut tasks = Vec::new();
    for (r, store) in stores.iter().enumerate() {
        for k in 0..8 {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                for round in 0..5 {
                    let alert = vibe::store::NewAlert {
                        kind: vibe::store::AlertKind::PerformanceDrop,
                        severity: vibe::store::Severity::Warning,
                        subject: "X @acme".into(),
                        account_id: None,
                        dedupe_key: format!("drop:{k}"),
                        message: format!("reach fell (replica {r}, round {round})"),
                        evidence: vibe::store::Evidence::Other(Default::default()),
                    };
                    store.raise_alert(&alert, now + round, 3600).await?;
                    store
                        .claim_run("analysis", now + round * 60 + k, &format!("r{r}"), now, 300)
                        .await?;
                }
                Ok::<_, vibe::store::StoreError>(())
            }));
        }
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let store = &stores[0];
    assert_eq!(
        scalar(store, "SELECT COUNT(*) FROM alerts").await,
        Some(8),
        "one alert per condition however many replicas raised it"
    );
    assert_eq!(
        scalar(store, "SELECT COUNT(*) FROM notifications").await,
        Some(8)
    );
    for s in &stores {
        s.close().await;
    }
    db.cleanup().await;
}
