//! Channel digests: scheduled with `/vibe schedule` and `vibe schedule`, fired by the scheduler
//! at the right local time across both daylight-saving changes, once after downtime, posted
//! through the outbox to the fake Slack; retention thinning old snapshots.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::helpers::{facebook_csv, stderr, stdout, TestDb};
use super::slack_app::TestApp;
use vibe::import::{import_file, ImportOptions};
use vibe::scheduler::Scheduler;
use vibe::store::NewSchedule;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// The app with data, its own scheduler off (the test ticks), and only digests scheduled.
async fn app_with(extra: &[(&str, &str)]) -> TestApp {
    let mut vars = vec![
        ("VIBE_SCHEDULER__ENABLED", "false"),
        ("VIBE_SCHEDULER__ANALYSIS", ""),
        ("VIBE_SCHEDULER__ABTESTS", ""),
        ("VIBE_SCHEDULER__RETENTION", ""),
        ("VIBE_ROLES__ADMIN", "[\"U0ADMIN001\"]"),
    ];
    vars.extend_from_slice(extra);
    let app = TestApp::start_with(&vars).await;
    import_file(&app.store, &facebook_csv(), &ImportOptions::default())
        .await
        .expect("import");
    app
}

fn digest_slots(runs: &[vibe::store::JobRun]) -> Vec<DateTime<Utc>> {
    runs.iter()
        .map(|r| DateTime::from_timestamp(r.slot, 0).unwrap())
        .collect()
}

#[tokio::test]
async fn a_digest_fires_at_its_local_time_across_both_dst_changes_and_once_after_downtime() {
    let app = app_with(&[]).await;
    let id = app
        .store
        .add_schedule(
            &NewSchedule {
                kind: "daily".into(),
                cron: "30 2 * * *".into(),
                timezone: "Europe/Paris".into(),
                channel: "C0DIGEST01".into(),
                created_by: "cli".into(),
            },
            0,
        )
        .await
        .unwrap()
        .unwrap()
        .id;
    let job = format!("digest:{id}");
    let s = Scheduler::new(vibe::server::scheduler_services(&app.state()), "dst-test").unwrap();
    let ticks = [
        // Spring, 2027-03-28: 02:30 doesn't exist in Paris; it runs at 03:00 CEST (01:00Z).
        ("2027-03-28T00:59:00Z", 0),
        ("2027-03-28T01:00:20Z", 1),
        ("2027-03-28T01:40:00Z", 0),
        // An ordinary CEST day: 02:30 CEST is 00:30Z.
        ("2027-03-29T00:30:10Z", 1),
        // Autumn, 2027-10-31: 02:30 happens at 00:30Z (CEST) and again at 01:30Z (CET); once.
        ("2027-10-31T00:30:10Z", 1),
        ("2027-10-31T01:30:10Z", 0),
        ("2027-10-31T02:00:00Z", 0),
        // Down from 2027-11-01 to 2027-11-04 01:45Z: only the 11-04 02:30 CET run happens.
        ("2027-11-04T01:45:00Z", 1),
    ];
    for (at, want) in ticks {
        let ran = s.tick(utc(at)).await;
        assert_eq!(ran.len(), want, "{at}: {ran:?}");
        assert!(ran.iter().all(|r| r.error.is_none()), "{ran:?}");
    }
    let runs = app.store.job_runs(&job).await.unwrap();
    assert_eq!(
        digest_slots(&runs),
        [
            utc("2027-03-28T01:00:00Z"),
            utc("2027-03-29T00:30:00Z"),
            utc("2027-10-31T00:30:00Z"),
            utc("2027-11-04T01:30:00Z"),
        ]
    );
    // Each run posted one daily digest to the channel, once.
    app.fake
        .wait_for(30, "four digests", |f| f.messages().len() == 4)
        .await;
    let messages = app.fake.messages();
    for m in &messages {
        assert_eq!(m.channel, "C0DIGEST01");
        assert!(m.text.starts_with("Daily digest"), "{}", m.text);
        assert!(m.thread_ts.is_none());
        assert!(vibe::slack::blocks::violations(&m.blocks, false).is_empty());
    }
    let mut keys: Vec<String> = messages
        .iter()
        .map(|m| {
            m.metadata["event_payload"]["key"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), 4, "{keys:?}");
    let blocks = messages[0].blocks.to_string();
    for want in ["Daily digest", "Score", "Engagements", "Alerts"] {
        assert!(blocks.contains(want), "{want} missing: {blocks}");
    }
    app.cleanup().await;
}

#[tokio::test]
async fn the_weekly_deep_dive_posts_trends_forecasts_and_charts_in_its_thread() {
    let app = app_with(&[
        ("VIBE_SCHEDULER__DIGEST_CHANNEL", "C0WEEKLY01"),
        ("VIBE_SCHEDULER__DAILY_DIGEST", ""),
        ("VIBE_SCHEDULER__WEEKLY_DIGEST", "0 9 * * 1"),
    ])
    .await;
    let s = Scheduler::new(
        vibe::server::scheduler_services(&app.state()),
        "weekly-test",
    )
    .unwrap();
    // 2026-12-07 is a Monday.
    let ran = s.tick(utc("2026-12-07T09:00:05Z")).await;
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert_eq!(ran[0].job, "digest:weekly");
    assert!(ran[0].error.is_none(), "{ran:?}");
    app.fake
        .wait_for(60, "the deep dive with its charts and thread", |f| {
            f.calls("files.completeUploadExternal").len() >= 3
                && f.messages()
                    .iter()
                    .filter(|m| m.thread_ts.is_some() && m.files.is_empty())
                    .count()
                    >= 1
        })
        .await;
    let messages = app.fake.messages();
    let parent = messages
        .iter()
        .find(|m| m.thread_ts.is_none())
        .expect("the deep dive");
    assert_eq!(parent.channel, "C0WEEKLY01");
    assert!(
        parent.text.starts_with("Weekly deep dive"),
        "{}",
        parent.text
    );
    let blocks = parent.blocks.to_string();
    for want in ["Weekly deep dive", "Score", "Trends", "Forecasts"] {
        assert!(blocks.contains(want), "{want} missing: {blocks}");
    }
    let thread: String = messages
        .iter()
        .filter(|m| m.thread_ts.as_deref() == Some(parent.ts.as_str()))
        .map(|m| m.blocks.to_string())
        .collect();
    assert!(thread.contains("KPIs by platform"), "{thread}");
    // Ticking again in the same slot changes nothing.
    assert!(s.tick(utc("2026-12-07T09:10:00Z")).await.is_empty());
    let rows = app.store.outbox().await.unwrap();
    assert_eq!(
        rows.iter()
            .filter(|r| r.kind == "post" && !r.key.contains(":thread:"))
            .count(),
        1,
        "{rows:?}"
    );
    app.cleanup().await;
}

/// The reply vibe sent to a command's response_url.
async fn reply(app: &TestApp, trigger: &str) -> String {
    app.fake
        .wait_for(10, "the reply", |f| {
            f.responses().iter().any(|(id, _)| id == trigger)
        })
        .await;
    let (_, body): (String, Value) = app
        .fake
        .responses()
        .into_iter()
        .find(|(id, _)| id == trigger)
        .unwrap();
    body.to_string()
}

#[tokio::test]
async fn admins_schedule_digests_from_slack_in_their_own_time_zone() {
    let app = app_with(&[]).await;
    app.fake.set_user_tz("U0ADMIN001", "America/New_York");
    // Not an admin: refused, nothing stored.
    let (code, _) = app
        .command_as("schedule add daily 07:30", "41.1.a", "U0VIEWER01")
        .await;
    assert_eq!(code, 200);
    let refused = reply(&app, "41.1.a").await;
    assert!(refused.contains("admin role"), "{refused}");
    assert!(app.store.schedules().await.unwrap().is_empty());
    // An admin: this channel, their Slack time zone.
    app.command_as("schedule add daily 07:30", "41.1.b", "U0ADMIN001")
        .await;
    let added = reply(&app, "41.1.b").await;
    assert!(added.contains("Schedule #1"), "{added}");
    assert!(added.contains("America/New_York"), "{added}");
    // A time zone and channel given win; a weekday makes it weekly.
    app.command_as(
        "schedule add weekly fri 16:00 <#C0OTHER001|launches> Europe/Paris",
        "41.1.c",
        "U0ADMIN001",
    )
    .await;
    assert!(reply(&app, "41.1.c").await.contains("Schedule #2"));
    let all = app.store.schedules().await.unwrap();
    let got: Vec<(&str, &str, &str, &str, &str)> = all
        .iter()
        .map(|s| {
            (
                s.kind.as_str(),
                s.cron.as_str(),
                s.timezone.as_str(),
                s.channel.as_str(),
                s.created_by.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                "daily",
                "30 7 * * *",
                "America/New_York",
                "C0REPORTS1",
                "slack:U0ADMIN001"
            ),
            (
                "weekly",
                "0 16 * * 5",
                "Europe/Paris",
                "C0OTHER001",
                "slack:U0ADMIN001"
            ),
        ]
    );
    // Bad words get a sentence that says what to write; anyone may list.
    app.command_as("schedule add daily mon", "41.1.d", "U0ADMIN001")
        .await;
    assert!(reply(&app, "41.1.d").await.contains("add weekly"));
    app.command_as("schedule list", "41.1.e", "U0VIEWER01")
        .await;
    let list = reply(&app, "41.1.e").await;
    assert!(list.contains("#1 daily digest"), "{list}");
    assert!(list.contains("Fridays at 16:00"), "{list}");
    // Removing needs the admin role too, and is in the audit trail.
    app.command_as("schedule remove 1", "41.1.f", "U0VIEWER01")
        .await;
    assert!(reply(&app, "41.1.f").await.contains("admin role"));
    app.command_as("schedule remove 1", "41.1.g", "U0ADMIN001")
        .await;
    assert!(reply(&app, "41.1.g").await.contains("removed"));
    assert_eq!(app.store.schedules().await.unwrap().len(), 1);
    let trail = app.store.audit_trail("schedule", 1).await.unwrap();
    let actions: Vec<&str> = trail.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(actions, ["schedule.add", "schedule.remove"]);
    app.cleanup().await;
}

#[tokio::test]
async fn vibe_schedule_adds_lists_and_removes_from_the_terminal() {
    let db = TestDb::new().await;
    let add = db.vibe(
        &[
            "schedule",
            "add",
            "weekly",
            "mon",
            "08:15",
            "C0CLI00001",
            "Asia/Tokyo",
        ],
        &[],
    );
    assert!(add.status.success(), "{}", stderr(&add));
    assert!(stdout(&add).contains("Schedule #1"), "{}", stdout(&add));
    assert!(stdout(&add).contains("Mondays at 08:15 (Asia/Tokyo)"));
    let again = db.vibe(
        &[
            "schedule",
            "add",
            "weekly",
            "08:15",
            "mon",
            "Asia/Tokyo",
            "C0CLI00001",
        ],
        &[],
    );
    assert!(again.status.success());
    assert!(
        stdout(&again).contains("already scheduled as #1"),
        "{}",
        stdout(&again)
    );
    let cron = db.vibe(
        &[
            "schedule",
            "add",
            "daily",
            "--cron",
            "0 9 * * 1-5",
            "C0CLI00001",
        ],
        &[],
    );
    assert!(cron.status.success(), "{}", stderr(&cron));
    // Every minute is no digest.
    let flood = db.vibe(
        &[
            "schedule",
            "add",
            "daily",
            "--cron",
            "* * * * *",
            "C0CLI00001",
        ],
        &[],
    );
    assert_eq!(flood.status.code(), Some(2));
    assert!(
        stderr(&flood).contains("at most once an hour"),
        "{}",
        stderr(&flood)
    );
    let no_channel = db.vibe(&["schedule", "add", "daily", "09:00"], &[]);
    assert_eq!(no_channel.status.code(), Some(2));
    assert!(stderr(&no_channel).contains("name the channel"));
    let list = db.vibe(&["schedule", "list", "--format", "json"], &[]);
    let v: Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[1]["cron"], "0 9 * * 1-5");
    assert_eq!(v[1]["timezone"], "Etc/UTC");
    assert!(db.vibe(&["schedule", "remove", "1"], &[]).status.success());
    let gone = db.vibe(&["schedule", "remove", "1"], &[]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(stderr(&gone).contains("no schedule #1"));
    // (PostgreSQL spends an id on the refused duplicate, so the second one's id varies.)
    let second = v[1]["id"].as_i64().unwrap();
    let list = db.vibe(&["schedule", "list"], &[]);
    let text = stdout(&list);
    assert!(text.contains(&format!("#{second} daily digest")), "{text}");
    assert!(!text.contains("#1 "), "{text}");
    // The terminal shows no Slack markup.
    assert!(!text.contains("<#"), "{text}");
    // A channel by name: without a bot token, vibe says to give its ID; with one, it looks
    // the name up (conversations.list, page after page).
    let by_name = ["schedule", "add", "weekly", "mon", "9am", "#marketing"];
    let no_token = db.vibe(&by_name, &[]);
    assert_eq!(no_token.status.code(), Some(2));
    assert!(
        stderr(&no_token).contains("channel's ID"),
        "{}",
        stderr(&no_token)
    );
    let fake = super::fake_slack::FakeSlack::start().await;
    let mut channels: Vec<(String, String)> = (0..450)
        .map(|i| (format!("C0FILL{i:04}"), format!("filler-{i}")))
        .collect();
    channels.push(("C0MARKET01".into(), "marketing".into()));
    let refs: Vec<(&str, &str)> = channels
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    fake.set_channels(&refs);
    let api = fake.api_url();
    let env = [
        ("SLACK_BOT_TOKEN", "xoxb-test"),
        ("VIBE_SLACK__API_URL", api.as_str()),
    ];
    let found = db.vibe_async(&by_name, &env).await;
    assert!(found.status.success(), "{}", stderr(&found));
    assert!(
        stdout(&found).contains("channel C0MARKET01"),
        "{}",
        stdout(&found)
    );
    assert!(fake.calls("conversations.list").len() >= 3, "paged");
    let unknown = db
        .vibe_async(&["schedule", "add", "daily", "#nowhere"], &env)
        .await;
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        stderr(&unknown).contains("no channel #nowhere"),
        "{}",
        stderr(&unknown)
    );
    db.cleanup().await;
}
