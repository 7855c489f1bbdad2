//! The experiment lifecycle on the configured backend: transitions act once, the hourly check
//! starts, analyses and concludes, content tests read their posts.

use chrono::{Duration, TimeZone, Utc};
use vibe::experiments::design::{
    DesignInput, GuardrailSpec, Kind, MetricType, Status, VariantSpec,
};
use vibe::experiments::{self as exp, ExperimentError};
use vibe::stats::analysis::Verdict;
use vibe::store::Observation;

use crate::helpers::{scalar, stderr, stdout, TestDb};

fn input() -> DesignInput {
    DesignInput {
        name: "Subject line".into(),
        hypothesis: None,
        kind: Kind::Randomized,
        metric_type: MetricType::Proportion,
        target_metric: "click-through rate".into(),
        variants: vec![VariantSpec::named("control"), VariantSpec::named("emoji")],
        baseline: 0.10,
        baseline_sd: None,
        mde: 0.2,
        min_effect: Some(0.05),
        alpha: 0.05,
        power: 0.8,
        daily_traffic: Some(2000.0),
        higher_is_better: true,
        guardrails: vec![GuardrailSpec {
            name: "unsubscribes".into(),
            metric_type: MetricType::Proportion,
            higher_is_better: false,
        }],
        start_at: None,
        created_by: "ana".into(),
        channel_id: None,
    }
}

fn obs(variant: &str, period: &str, units: u64, conversions: u64) -> Observation {
    Observation {
        variant: variant.into(),
        metric: "primary".into(),
        period: period.into(),
        units,
        conversions: Some(conversions),
        sum: None,
        sum_sq: None,
        exposure: None,
    }
}

#[tokio::test]
async fn transitions_happen_once_and_leave_an_audit_trail() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let now = Utc::now();
    let e = exp::create(&store, input(), Utc::now()).await.unwrap();
    assert_eq!(e.status, Status::Draft);
    assert_eq!(e.design.planned_units, 7682);

    // Two starts at once: exactly one wins.
    let (a, b) = tokio::join!(
        exp::start(&store, e.id, "ana", now, None),
        exp::start(&store, e.id, "ben", now, None)
    );
    assert_eq!(u8::from(a.is_ok()) + u8::from(b.is_ok()), 1, "{a:?} {b:?}");
    let loser = if a.is_err() { a } else { b };
    assert!(matches!(
        loser,
        Err(ExperimentError::WrongStatus {
            status: Status::Running,
            ..
        })
    ));

    exp::stop(&store, e.id, "ana", now, Some("budget cut".into()))
        .await
        .unwrap();
    assert!(
        exp::stop(&store, e.id, "ana", now, None).await.is_err(),
        "a stopped test can't stop again"
    );
    let events = store.experiment_events(e.id).await.unwrap();
    let trail: Vec<(Option<&str>, &str)> = events
        .iter()
        .map(|v| (v.from_status.as_deref(), v.to_status.as_str()))
        .collect();
    assert_eq!(
        trail,
        vec![
            (None, "draft"),
            (Some("draft"), "running"),
            (Some("running"), "stopped")
        ]
    );
    assert_eq!(events[2].note.as_deref(), Some("budget cut"));
    assert!(["ana", "ben"].contains(&events[1].actor.as_str()));
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn the_hourly_check_starts_analyses_and_concludes() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();

    // A scheduled test starts when its time comes, not before.
    let scheduled = exp::create(
        &store,
        DesignInput {
            start_at: Some(t0 + Duration::hours(2)),
            ..input()
        },
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(exp::check(&store, t0).await.unwrap().started.is_empty());
    let draft = exp::load(&store, scheduled.id).await.unwrap();
    assert!(
        vibe::experiments::render::show_text(&draft, &[])
            .contains("Starts 2026-03-02 11:00 UTC (the hourly check starts it"),
        "{}",
        vibe::experiments::render::show_text(&draft, &[])
    );
    let report = exp::check(&store, t0 + Duration::hours(3)).await.unwrap();
    assert_eq!(report.started, vec![scheduled.id]);

    // A running test with a clear winner is concluded once, with a notification.
    let clear = exp::create(&store, input(), Utc::now()).await.unwrap();
    exp::start(&store, clear.id, "ana", t0, None).await.unwrap();
    let stored = exp::load(&store, clear.id).await.unwrap();
    store
        .add_observations(
            &stored,
            &[
                obs("control", "d1", 4000, 400),
                obs("emoji", "d1", 4000, 560),
            ],
        )
        .await
        .unwrap();
    let report = exp::check(&store, t0 + Duration::hours(4)).await.unwrap();
    assert_eq!(report.concluded, vec![clear.id]);
    assert!(
        !report.analysed.contains(&scheduled.id),
        "a test without data has nothing to analyse"
    );
    assert_eq!(
        exp::load(&store, scheduled.id).await.unwrap().status,
        Status::Running
    );
    let done = exp::load(&store, clear.id).await.unwrap();
    assert_eq!(done.status, Status::Concluded);
    assert!(
        done.verdict
            .as_deref()
            .unwrap()
            .starts_with("Ship \"emoji\""),
        "{:?}",
        done.verdict
    );
    let notes = store.pending_notifications().await.unwrap();
    assert_eq!(notes.len(), 1);
    assert_eq!(
        (notes[0].1.as_str(), notes[0].2),
        ("experiment_concluded", clear.id)
    );
    let body: serde_json::Value = serde_json::from_str(&notes[0].3).unwrap();
    assert_eq!(body["analysis"]["verdict"]["code"], "ship");

    // Checking again concludes nothing twice.
    let again = exp::check(&store, t0 + Duration::hours(5)).await.unwrap();
    assert!(again.concluded.is_empty());
    assert_eq!(store.pending_notifications().await.unwrap().len(), 1);
    assert_eq!(store.analysis_count(clear.id).await.unwrap(), 1);
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_spent_plan_without_a_decision_is_inconclusive() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap();
    let e = exp::create(&store, input(), Utc::now()).await.unwrap();
    exp::start(&store, e.id, "ana", t0, None).await.unwrap();
    let stored = exp::load(&store, e.id).await.unwrap();
    store
        .add_observations(
            &stored,
            &[
                obs("control", "d1", 1000, 100),
                obs("emoji", "d1", 1000, 104),
            ],
        )
        .await
        .unwrap();
    let running = exp::results(&store, e.id, t0 + Duration::days(1))
        .await
        .unwrap();
    assert_eq!(running.analysis.unwrap().verdict, Verdict::KeepRunning);
    // The planned 4 days have passed.
    let report = exp::check(&store, t0 + Duration::days(5)).await.unwrap();
    assert_eq!(report.concluded, vec![e.id]);
    let done = exp::load(&store, e.id).await.unwrap();
    assert!(done.verdict.unwrap().starts_with("Inconclusive"));
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn content_tests_use_their_posts_and_say_they_are_observational() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let mut csv =
        String::from("platform,account,post_id,observed_at,published_at,reach,likes,comments\n");
    for i in 0..12 {
        let likes = if i % 2 == 0 { 40 + i } else { 70 + i };
        csv.push_str(&format!(
            "instagram,acme,p{i},2026-03-0{}T20:00:00Z,2026-03-0{}T09:00:00Z,1000,{likes},5\n",
            1 + i % 5,
            1 + i % 5
        ));
    }
    let file = db.write("posts.csv", &csv);
    vibe::import::import_file(&store, &file, &Default::default())
        .await
        .unwrap();
    let e = exp::create(
        &store,
        DesignInput {
            kind: Kind::Content,
            metric_type: MetricType::Mean,
            target_metric: "engagement rate".into(),
            baseline: 0.05,
            baseline_sd: Some(0.01),
            guardrails: vec![],
            ..input()
        },
        Utc::now(),
    )
    .await
    .unwrap();
    for i in 0..12 {
        let variant = if i % 2 == 0 { "control" } else { "emoji" };
        store
            .link_variant_post(&e, variant, &format!("p{i}"))
            .await
            .unwrap();
    }
    assert!(store
        .link_variant_post(&e, "control", "nope")
        .await
        .is_err());
    let r = exp::results(&store, e.id, Utc::now()).await.unwrap();
    assert!(r.observational);
    assert_eq!(r.units_seen, 12);
    let a = r.analysis.unwrap();
    assert!(a.srm.is_none(), "no sample ratio check for posts");
    // Control posts engage at 4.5–5.5%, emoji posts at 7.6–8.6%.
    assert!(
        (a.arms[0].value - 0.05).abs() < 0.002 && (a.arms[1].value - 0.081).abs() < 0.002,
        "{:?}",
        a.arms
    );
    let text = vibe::experiments::render::verdict_sentence(
        &exp::load(&store, e.id).await.unwrap(),
        &exp::ExperimentResult {
            analysis: Some(a),
            ..r
        },
    );
    assert!(text.contains("Observational"), "{text}");
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn abtest_commands_as_a_user_runs_them() {
    let db = TestDb::new().await;
    let calc = db.vibe(
        &["abtest", "calc", "200/2000", "250/2000", "--format", "json"],
        &[],
    );
    assert!(calc.status.success(), "{}", stderr(&calc));
    let v: serde_json::Value = serde_json::from_str(&stdout(&calc)).unwrap();
    assert!((v["p_value"].as_f64().unwrap() - 0.012351).abs() < 1e-6);

    let bad = db.vibe(
        &[
            "abtest",
            "new",
            "--name",
            "x",
            "--target-metric",
            "ctr",
            "--variant",
            "a",
            "--baseline",
            "2",
            "--mde",
            "0",
        ],
        &[],
    );
    assert_eq!(bad.status.code(), Some(2));
    let err = stderr(&bad);
    // Each problem is named as it was typed.
    for field in ["`--variant a`", "`--baseline 2`", "`--mde 0`"] {
        assert!(err.contains(field), "{field} in {err}");
    }
    assert!(!err.contains("min_effect"), "{err}");

    // A negative MDE is a value, not an unknown flag; the key=value form and 10% work too.
    let negative = db.vibe(
        &[
            "abtest",
            "new",
            "name=x",
            "metric=ctr",
            "variants=A,B",
            "--baseline",
            "4%",
            "--mde",
            "-1",
        ],
        &[],
    );
    assert_eq!(negative.status.code(), Some(2));
    let err = stderr(&negative);
    assert!(err.contains("`--mde -1`"), "{err}");
    assert!(
        !err.contains("unexpected argument") && !err.contains("min_effect"),
        "{err}"
    );
    let words = db.vibe(
        &[
            "abtest",
            "new",
            "name=Words",
            "metric=ctr",
            "variants=A,B",
            "baseline=4%",
            "--mde",
            "10%",
            "--format",
            "json",
        ],
        &[],
    );
    assert!(words.status.success(), "{}", stderr(&words));
    let v: serde_json::Value = serde_json::from_str(&stdout(&words)).unwrap();
    assert_eq!(v["design"]["mde"], 0.1);
    assert_eq!(v["design"]["baseline"], 0.04);
    assert_eq!(v["status"], "draft");

    let new = db.vibe(
        &[
            "abtest",
            "new",
            "--name",
            "Hook",
            "--target-metric",
            "click-through rate",
            "--variant",
            "control",
            "--variant",
            "question",
            "--baseline",
            "0.1",
            "--mde",
            "0.2",
            "--format",
            "json",
        ],
        &[],
    );
    assert!(new.status.success(), "{}", stderr(&new));
    let id = serde_json::from_str::<serde_json::Value>(&stdout(&new)).unwrap()["id"]
        .as_i64()
        .unwrap()
        .to_string();
    assert!(db.vibe(&["abtest", "start", &id], &[]).status.success());
    let obs = db.write(
        "obs.csv",
        "variant,period,units,conversions\ncontrol,d1,3000,300\nquestion,d1,3000,420\n",
    );
    let imported = db.vibe(&["abtest", "import", &id, obs.to_str().unwrap()], &[]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let results = db.vibe(&["abtest", "results", &id], &[]);
    let text = stdout(&results);
    for needle in [
        "question vs control",
        "always-valid",
        "fixed-horizon",
        "for information only",
        "Sample ratio: as planned",
        "Verdict: Ship \"question\"",
    ] {
        assert!(text.contains(needle), "{needle:?} in\n{text}");
    }
    let twice = db.vibe(&["abtest", "start", &id], &[]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(stderr(&twice).contains("is running"), "{}", stderr(&twice));
    assert_eq!(
        db.vibe(&["abtest", "results", "999"], &[]).status.code(),
        Some(1)
    );
    db.cleanup().await;
}

#[tokio::test]
async fn observation_imports_are_all_or_nothing() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let e = exp::create(&store, input(), Utc::now()).await.unwrap();
    let id = e.id.to_string();
    let file = db.write(
        "obs.csv",
        "variant,units,conversions\ncontrol,100,10\nemoji,100,200\nother,5,1\n",
    );
    let out = db.vibe(&["abtest", "import", &id, file.to_str().unwrap()], &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("obs.csv:3: column conversions"), "{err}");
    assert!(err.contains("obs.csv:4: column variant"), "{err}");
    assert_eq!(
        scalar(&store, "SELECT COUNT(*) FROM experiment_observations").await,
        Some(0)
    );
    store.close().await;
    db.cleanup().await;
}

/// Optional doubles bound as NULL and then as values through the same cached statements.
#[tokio::test]
async fn optional_numbers_round_trip_through_cached_statements() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let now = Utc::now();
    let a = exp::create(
        &store,
        DesignInput {
            daily_traffic: None,
            ..input()
        },
        now,
    )
    .await
    .unwrap();
    let b = exp::create(
        &store,
        DesignInput {
            metric_type: MetricType::Mean,
            baseline: 20.0,
            baseline_sd: Some(4.0),
            daily_traffic: Some(300.0),
            guardrails: vec![],
            ..input()
        },
        now,
    )
    .await
    .unwrap();
    assert_eq!((a.design.baseline_sd, a.design.daily_traffic), (None, None));
    assert_eq!(
        (b.design.baseline_sd, b.design.daily_traffic),
        (Some(4.0), Some(300.0))
    );
    store
        .add_observations(&a, &[obs("control", "d1", 10, 1)])
        .await
        .unwrap();
    let mean = |variant: &str, sum: f64| Observation {
        variant: variant.into(),
        metric: "primary".into(),
        period: "d1".into(),
        units: 10,
        conversions: None,
        sum: Some(sum),
        sum_sq: Some(sum * sum / 10.0 + 90.0),
        exposure: None,
    };
    store
        .add_observations(&b, &[mean("control", 200.0), mean("emoji", 230.0)])
        .await
        .unwrap();
    let totals = store.observation_totals(&b, "primary").await.unwrap();
    assert_eq!(totals[1].sum, 230.0);
    store.close().await;
    db.cleanup().await;
}
