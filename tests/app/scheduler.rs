//! The scheduler against a real database (SQLite here, PostgreSQL in CI): each scheduled run is
//! claimed once however many processes tick at once, a run whose holder died is taken over
//! after its lease, and after downtime the missed slot runs once.

use chrono::{DateTime, Utc};

use super::helpers::TestDb;
use super::slack_app::TestApp;
use vibe::scheduler::Scheduler;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn a_slot_is_claimed_once_and_taken_over_only_after_its_lease() {
    let db = TestDb::new().await;
    let store = db.store().await;
    let slot = 1_764_572_400;
    let now = slot + 5;
    // Eight claimers at once: one wins.
    let claims = futures_util::future::join_all((0..8).map(|i| {
        let store = store.clone();
        async move {
            store
                .claim_run("abtests", slot, &format!("r{i}"), now, 60)
                .await
                .unwrap()
        }
    }))
    .await;
    assert_eq!(claims.iter().filter(|c| **c).count(), 1, "{claims:?}");
    let holder = format!("r{}", claims.iter().position(|c| *c).unwrap());
    // While the lease runs, nobody else gets it; after, one other does.
    assert!(!store
        .claim_run("abtests", slot, "late", now + 59, 60)
        .await
        .unwrap());
    assert!(store
        .claim_run("abtests", slot, "late", now + 61, 60)
        .await
        .unwrap());
    assert!(!store
        .claim_run("abtests", slot, "later", now + 62, 60)
        .await
        .unwrap());
    // The first holder can't record an end any more; the taker can, and then it is final.
    assert!(!store
        .finish_run("abtests", slot, &holder, None, now + 70, 5)
        .await
        .unwrap());
    assert!(store
        .finish_run("abtests", slot, "late", None, now + 70, 5)
        .await
        .unwrap());
    assert!(!store
        .claim_run("abtests", slot, "again", now + 1000, 60)
        .await
        .unwrap());
    let runs = store.job_runs("abtests").await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(
        (
            runs[0].status.as_str(),
            runs[0].owner.as_str(),
            runs[0].attempts
        ),
        ("done", "late", 2)
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn three_schedulers_run_each_slot_once_and_a_missed_window_once() {
    let app = TestApp::start_with(&[
        ("VIBE_SCHEDULER__ENABLED", "false"),
        ("VIBE_SCHEDULER__ANALYSIS", ""),
        ("VIBE_SCHEDULER__ABTESTS", "0 * * * *"),
    ])
    .await;
    let schedulers: Vec<Scheduler> = (0..3)
        .map(|i| {
            Scheduler::new(
                vibe::server::scheduler_services(&app.state()),
                &format!("replica-{i}"),
            )
            .unwrap()
        })
        .collect();
    // Each replica ticks at 10:00:05 and again at 10:00:40: the 10:00 run happens once.
    for at in ["2026-12-01T10:00:05Z", "2026-12-01T10:00:40Z"] {
        let ran = futures_util::future::join_all(schedulers.iter().map(|s| s.tick(utc(at)))).await;
        let n: usize = ran.iter().map(Vec::len).sum();
        assert!(n <= 1, "{at}: {ran:?}");
    }
    let runs = app.store.job_runs("abtests").await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].slot, utc("2026-12-01T10:00:00Z").timestamp());
    assert_eq!(runs[0].status, vibe::store::JobState::Done);
    // Down from 10:01 to 15:30: five slots passed; only 15:00 runs, once.
    let ran = futures_util::future::join_all(
        schedulers
            .iter()
            .map(|s| s.tick(utc("2026-12-01T15:30:00Z"))),
    )
    .await;
    assert_eq!(ran.iter().map(Vec::len).sum::<usize>(), 1);
    let slots: Vec<i64> = app
        .store
        .job_runs("abtests")
        .await
        .unwrap()
        .iter()
        .map(|r| r.slot)
        .collect();
    assert_eq!(
        slots,
        [
            utc("2026-12-01T10:00:00Z").timestamp(),
            utc("2026-12-01T15:00:00Z").timestamp()
        ]
    );
    // Past the catch-up window (an hour by default) a missed slot doesn't run at all.
    let ran = schedulers[0].tick(utc("2026-12-01T17:10:00Z")).await;
    assert_eq!(ran.len(), 1, "17:00 is within the window at 17:10");
    let ran = schedulers[1].tick(utc("2026-12-01T19:59:00Z")).await;
    assert_eq!(ran.len(), 1, "19:00 runs; 18:00 is skipped");
    let slots: Vec<i64> = app
        .store
        .job_runs("abtests")
        .await
        .unwrap()
        .iter()
        .map(|r| r.slot)
        .collect();
    assert!(!slots.contains(&utc("2026-12-01T18:00:00Z").timestamp()));
    app.cleanup().await;
}

#[tokio::test]
async fn vibe_start_stops_after_its_duration_and_on_sigterm_and_loses_nothing() {
    use super::fake_slack::{FakeSlack, Script};
    use vibe::slack::blocks::{section, Message};
    let db = TestDb::new().await;
    let store = db.store().await;
    let fake = FakeSlack::start().await;
    for _ in 0..50 {
        fake.script("chat.postMessage", Script::ServerError);
    }
    let m = Message::new(
        "Queued before the stop",
        vec![section("Queued before the stop")],
    );
    store
        .enqueue(&[vibe::slack::outbox::post(
            "start-test:1",
            "C0START001",
            None,
            &m,
            None,
        )])
        .await
        .unwrap();
    let spawn = |duration: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_vibe"))
            .args(["start", "--duration", duration])
            .current_dir(db.dir.path())
            .env("VIBE_DATABASE__URL", &db.url)
            .env("VIBE_SERVER__LISTEN", "127.0.0.1:0")
            .env("VIBE_SLACK__API_URL", fake.api_url())
            .env("SLACK_BOT_TOKEN", super::slack_app::BOT_TOKEN)
            .env_remove("DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start vibe")
    };
    // Slack answers 500 throughout the first run: the message stays queued.
    let started = std::time::Instant::now();
    let mut first = spawn("3s");
    let status = super::helpers::wait_exit(&mut first, 30).await;
    assert!(status.success(), "{status:?}");
    assert!(started.elapsed() >= std::time::Duration::from_secs(3));
    let rows = store.outbox().await.unwrap();
    assert_eq!(
        rows[0].status,
        vibe::store::OutboxState::Pending,
        "{rows:?}"
    );
    assert!(rows[0].attempts >= 1);
    assert!(fake.messages().is_empty());
    // Next start, Slack is back: delivered; then SIGTERM stops it cleanly.
    fake.clear_scripts();
    let mut second = spawn("10m");
    super::slack::wait_outbox(&store, 30, |rows| {
        rows[0].status == vibe::store::OutboxState::Delivered
    })
    .await;
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = super::helpers::wait_exit(&mut second, 30).await;
    assert!(status.success(), "SIGTERM is a clean stop: {status:?}");
    assert_eq!(fake.messages().len(), 1);
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn metrics_show_commands_slack_calls_job_runs_and_the_outbox() {
    let app = TestApp::start_with(&[
        ("VIBE_SCHEDULER__ENABLED", "false"),
        ("VIBE_SCHEDULER__ANALYSIS", "*/15 * * * *"),
        ("VIBE_SCHEDULER__ABTESTS", ""),
    ])
    .await;
    let (code, _) = app.command("help", "30.1.metrics").await;
    assert_eq!(code, 200);
    let (code, _) = super::slack_app::get(&format!("{}/readyz", app.base)).await;
    assert_eq!(code, 200);
    // vibe health calls auth.test (readyz doesn't).
    let h = vibe::health::check(
        &app.store,
        Some(&app.state().web),
        chrono::Utc::now().timestamp(),
    )
    .await;
    assert!(h.healthy, "{h:?}");
    let s = Scheduler::new(
        vibe::server::scheduler_services(&app.state()),
        "metrics-test",
    )
    .unwrap();
    assert_eq!(s.tick(utc("2026-12-01T10:15:30Z")).await.len(), 1);
    let (code, text) = super::slack_app::get(&format!("{}/metrics", app.base)).await;
    assert_eq!(code, 200);
    for want in [
        "# TYPE vibe_command_ack_seconds histogram",
        "vibe_command_ack_seconds_count{transport=\"http\"}",
        "vibe_slack_api_calls_total{method=\"auth.test\",outcome=\"ok\"}",
        "vibe_job_runs_total{job=\"analysis\",status=\"done\"}",
        "vibe_job_run_seconds_count{job=\"analysis\"}",
        "vibe_outbox_pending 0",
        "vibe_outbox_oldest_pending_seconds 0",
    ] {
        assert!(text.contains(want), "{want} missing from:\n{text}");
    }
    app.cleanup().await;
}
