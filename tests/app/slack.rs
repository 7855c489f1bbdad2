//! The Slack bot end to end: signed requests in, calls at the fake Slack out.

use std::time::{Duration, Instant};

use super::fake_slack::Script;
use super::helpers::facebook_csv;
use super::slack_app::{get, json, now, sign, TestApp, SECRET};
use vibe::import::{import_file, ImportOptions};

/// Polls the outbox until `f` holds.
pub async fn wait_outbox(
    store: &vibe::store::Store,
    secs: u64,
    f: impl Fn(&[vibe::store::OutboxStatus]) -> bool,
) -> Vec<vibe::store::OutboxStatus> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let rows = store.outbox().await.expect("outbox");
        if f(&rows) {
            return rows;
        }
        assert!(
            Instant::now() < deadline,
            "outbox never got there: {rows:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn with_data() -> TestApp {
    let app = TestApp::start().await;
    import_file(&app.store, &facebook_csv(), &ImportOptions::default())
        .await
        .expect("import");
    app
}

#[tokio::test]
async fn report_weekly_is_acknowledged_fast_then_posted_with_its_chart_in_the_thread() {
    let app = with_data().await;
    let started = Instant::now();
    let (status, body) = app.command("report weekly", "111.222.aaa").await;
    let ack = started.elapsed();
    assert_eq!(status, 200, "{body}");
    assert!(ack < Duration::from_secs(3), "ack took {ack:?}");
    let reply = json(&body);
    assert_eq!(reply["response_type"], "ephemeral");

    app.fake
        .wait_for(30, "the report, its chart and details", |f| {
            f.calls("files.completeUploadExternal").len() == 1
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
        .expect("a top-level message");
    assert_eq!(parent.channel, "C0REPORTS1");
    assert!(parent.text.contains("Weekly report"), "{}", parent.text);
    let blocks = parent.blocks.as_array().expect("blocks");
    assert_eq!(blocks[0]["type"], "header");
    assert!(blocks.len() <= 50);
    assert!(vibe::slack::blocks::violations(&parent.blocks, false).is_empty());
    assert_eq!(parent.metadata["event_type"], "vibe_outbox");
    assert_eq!(
        parent.metadata["event_payload"]["key"],
        "report:111.222.aaa"
    );
    // The chart: uploaded, then shared into the report's thread.
    let upload = &app.fake.calls("files.getUploadURLExternal")[0];
    assert!(upload.args["filename"].as_str().unwrap().ends_with(".png"));
    assert!(upload.args["alt_txt"]
        .as_str()
        .unwrap()
        .contains("engagements"));
    let bytes = app.fake.calls("upload")[0].args["bytes"].as_u64().unwrap();
    assert!(bytes > 1000, "a PNG of {bytes} bytes");
    let complete = &app.fake.calls("files.completeUploadExternal")[0];
    assert_eq!(complete.args["channel_id"], "C0REPORTS1");
    assert_eq!(complete.args["thread_ts"], parent.ts.as_str());
    // Details in the thread, each within limits.
    for m in messages
        .iter()
        .filter(|m| m.thread_ts.as_deref() == Some(&parent.ts) && m.files.is_empty())
    {
        assert!(vibe::slack::blocks::violations(&m.blocks, false).is_empty());
    }
    let rows = wait_outbox(&app.store, 10, |rows| {
        rows.iter()
            .all(|r| r.status == vibe::store::OutboxState::Delivered)
    })
    .await;
    assert!(rows.len() >= 3, "{rows:?}");
    assert_eq!(
        super::helpers::scalar(&app.store, "SELECT COUNT(*) FROM reports").await,
        Some(1)
    );
    app.cleanup().await;
}

#[tokio::test]
async fn forged_altered_and_stale_requests_get_401_and_cause_nothing() {
    let app = with_data().await;
    let body = app.command_body("report weekly", "333.444.bbb", "C0REPORTS1");
    let ts = now();
    let cases = [
        (
            "wrong secret",
            sign("not the secret", ts, &body),
            ts,
            body.clone(),
        ),
        (
            "altered body",
            sign(SECRET, ts, &body),
            ts,
            body.replace("weekly", "monthly"),
        ),
        (
            "stale timestamp",
            sign(SECRET, ts - 600, &body),
            ts - 600,
            body.clone(),
        ),
        ("no signature", String::new(), ts, body.clone()),
    ];
    for (what, sig, ts, body) in cases {
        let mut headers = vec![
            (
                "content-type",
                "application/x-www-form-urlencoded".to_string(),
            ),
            ("x-slack-request-timestamp", ts.to_string()),
        ];
        if !sig.is_empty() {
            headers.push(("x-slack-signature", sig));
        }
        let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        for path in ["/slack/commands", "/slack/interactions", "/slack/events"] {
            let (status, _) =
                super::slack_app::send(&format!("{}{path}", app.base), &h, &body).await;
            assert_eq!(status, 401, "{what} at {path}");
        }
    }
    app.settle().await;
    assert!(
        app.fake.all_calls().is_empty(),
        "{:?}",
        app.fake.all_calls()
    );
    assert!(app.fake.responses().is_empty());
    assert!(app.outbox().await.is_empty());
    assert_eq!(
        super::helpers::scalar(&app.store, "SELECT COUNT(*) FROM slack_deliveries_seen").await,
        Some(0)
    );
    app.cleanup().await;
}

#[tokio::test]
async fn the_same_command_delivered_twice_acts_once() {
    let app = with_data().await;
    let (s1, _) = app.command("report weekly", "555.666.ccc").await;
    let (s2, b2) = app.command("report weekly", "555.666.ccc").await;
    assert_eq!((s1, s2), (200, 200));
    assert!(b2.is_empty(), "a repeated delivery gets an empty ack: {b2}");
    app.fake
        .wait_for(30, "the report", |f| {
            f.calls("files.completeUploadExternal").len() == 1
        })
        .await;
    app.settle().await;
    let top: Vec<_> = app
        .fake
        .messages()
        .into_iter()
        .filter(|m| m.thread_ts.is_none())
        .collect();
    assert_eq!(top.len(), 1, "one report, not two");
    assert_eq!(
        super::helpers::scalar(&app.store, "SELECT COUNT(*) FROM reports").await,
        Some(1)
    );
    app.cleanup().await;
}

#[tokio::test]
async fn a_429_is_retried_after_retry_after_and_delivered_once() {
    let app = with_data().await;
    app.fake.script("chat.postMessage", Script::RateLimited(2));
    app.command("report weekly", "777.888.ddd").await;
    app.fake
        .wait_for(30, "the report after the 429", |f| {
            f.messages().iter().any(|m| m.thread_ts.is_none())
        })
        .await;
    let calls = app.fake.calls("chat.postMessage");
    assert!(calls.len() >= 2);
    let waited = calls[1].at.duration_since(calls[0].at);
    assert!(
        waited >= Duration::from_secs(2),
        "retried after {waited:?}, Retry-After was 2 s"
    );
    let top: Vec<_> = app
        .fake
        .messages()
        .into_iter()
        .filter(|m| m.thread_ts.is_none())
        .collect();
    assert_eq!(top.len(), 1);
    app.cleanup().await;
}

#[tokio::test]
async fn a_500_is_retried_and_not_in_channel_tells_the_user() {
    let app = with_data().await;
    app.fake.script("chat.postMessage", Script::ServerError);
    app.command("report weekly", "999.000.eee").await;
    app.fake
        .wait_for(30, "the report after the 500", |f| {
            f.messages().iter().any(|m| m.thread_ts.is_none())
        })
        .await;
    // In doubt after a 500, the worker looked in the channel before sending again.
    assert!(!app.fake.calls("conversations.history").is_empty());
    assert_eq!(
        app.fake
            .messages()
            .iter()
            .filter(|m| m.thread_ts.is_none())
            .count(),
        1
    );
    wait_outbox(&app.store, 20, |rows| {
        rows.iter()
            .all(|r| r.status == vibe::store::OutboxState::Delivered)
    })
    .await;

    app.fake
        .script("chat.postMessage", Script::Error("not_in_channel"));
    app.command("report weekly", "999.000.fff").await;
    app.fake
        .wait_for(30, "a message to the user", |f| {
            f.responses().iter().any(|(id, _)| id == "999.000.fff")
        })
        .await;
    let said = app
        .fake
        .responses()
        .into_iter()
        .filter(|(id, _)| id == "999.000.fff")
        .map(|(_, b)| b)
        .collect::<Vec<_>>();
    assert!(
        said.iter()
            .any(|b| b["text"].as_str().unwrap_or("").contains("/invite @vibe")),
        "{said:?}"
    );
    let rows = app.outbox().await;
    let failed: Vec<_> = rows
        .iter()
        .filter(|r| r.status == vibe::store::OutboxState::Failed)
        .collect();
    assert!(
        failed.iter().any(|r| r.key == "report:999.000.fff"),
        "{rows:?}"
    );
    // Its chart and details are not orphaned in a thread that doesn't exist.
    assert!(rows
        .iter()
        .filter(|r| r.key.starts_with("report:999.000.fff:"))
        .all(|r| r.status == vibe::store::OutboxState::Failed));
    app.cleanup().await;
}

#[tokio::test]
async fn help_unknown_commands_and_terminal_only_commands_answer_inline() {
    let app = TestApp::start().await;
    let (s, body) = app.command("help", "1.1.a").await;
    assert_eq!(s, 200);
    let v = json(&body);
    assert_eq!(v["response_type"], "ephemeral");
    let text = v["blocks"].to_string();
    for c in [
        "/vibe report",
        "/vibe abtest list",
        "/vibe alerts",
        "/vibe health",
    ] {
        assert!(text.contains(c), "help lacks {c}: {text}");
    }
    let (_, body) = app.command("reprot weekly", "1.1.b").await;
    let v = json(&body);
    assert!(
        v["blocks"].to_string().contains("/vibe report weekly"),
        "{v}"
    );
    let (_, body) = app.command("import data.csv", "1.1.c").await;
    assert!(json(&body)["blocks"].to_string().contains("terminal"));
    // Nothing was posted in a channel for any of them.
    assert!(app.fake.calls("chat.postMessage").is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn queries_answer_the_user_through_the_response_url() {
    let app = TestApp::start().await;
    app.command(
        "abtest plan --baseline 0.04 --mde 0.1 --daily-traffic 5000",
        "2.2.a",
    )
    .await;
    app.command("alerts", "2.2.b").await;
    app.command("health", "2.2.c").await;
    app.command("abtest show 42", "2.2.d").await;
    app.fake
        .wait_for(15, "four answers", |f| f.responses().len() == 4)
        .await;
    let by_id = |id: &str| {
        app.fake
            .responses()
            .into_iter()
            .find(|(i, _)| i == id)
            .map(|(_, b)| b)
            .expect(id)
    };
    assert!(
        by_id("2.2.a")["blocks"].to_string().contains("per arm"),
        "{}",
        by_id("2.2.a")
    );
    assert!(by_id("2.2.b")["text"]
        .as_str()
        .unwrap()
        .contains("No open alerts"));
    assert!(by_id("2.2.c")["blocks"]
        .to_string()
        .contains("signed in as U0BOT00001"));
    assert!(by_id("2.2.d")["text"].as_str().unwrap().contains("42"));
    app.cleanup().await;
}

#[tokio::test]
async fn events_answer_the_url_challenge_and_dedupe_by_event_id() {
    let app = TestApp::start().await;
    let body = r#"{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}"#;
    let (s, b) = app
        .post_signed("/slack/events", "application/json", body, SECRET, now())
        .await;
    assert_eq!(s, 200);
    assert_eq!(
        json(&b)["challenge"],
        "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    );
    let cb = r#"{"token":"x","team_id":"T0TEAM0001","api_app_id":"A0APP00001","type":"event_callback","event":{"type":"app_mention","user":"U0USER0001","text":"hi","ts":"1718000100.000200","channel":"C0123CHAN1","event_ts":"1718000100.000200"},"event_id":"Ev0EVENT001","event_time":1718000100}"#;
    for _ in 0..3 {
        let (s, _) = app
            .post_signed("/slack/events", "application/json", cb, SECRET, now())
            .await;
        assert_eq!(s, 200);
    }
    assert_eq!(
        super::helpers::scalar(
            &app.store,
            "SELECT COUNT(*) FROM slack_deliveries_seen WHERE kind = 'event'"
        )
        .await,
        Some(1)
    );
    let (s, b) = get(&format!("{}/readyz", app.base)).await;
    assert_eq!(s, 200, "{b}");
    assert_eq!(b, "ready");
    app.cleanup().await;
}

#[tokio::test]
async fn a_message_slack_accepted_before_a_crash_is_not_posted_again_after_restart() {
    use super::fake_slack::FakeSlack;
    use vibe::slack::blocks::{section, Message};
    let db = super::helpers::TestDb::new().await;
    let store = db.store().await;
    let fake = FakeSlack::start().await;
    let m = Message::new(
        "Hello from before the crash",
        vec![section("Hello from before the crash")],
    );
    store
        .enqueue(&[vibe::slack::outbox::post(
            "crash-test:1",
            "C0CRASH001",
            None,
            &m,
            None,
        )])
        .await
        .expect("enqueue");
    // Slack takes the message, but the answer never arrives: vibe dies waiting for it.
    fake.script("chat.postMessage", Script::AcceptAndHang);
    let spawn = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_vibe"))
            .arg("serve")
            .current_dir(db.dir.path())
            .env("VIBE_DATABASE__URL", &db.url)
            .env("VIBE_SERVER__LISTEN", "127.0.0.1:0")
            .env("VIBE_SLACK__API_URL", fake.api_url())
            .env("VIBE_SLACK__OUTBOX_LEASE_SECS", "5")
            .env("VIBE_SLACK__REQUEST_TIMEOUT_MS", "60000")
            .env("SLACK_BOT_TOKEN", super::slack_app::BOT_TOKEN)
            .env("SLACK_SIGNING_SECRET", SECRET)
            .env_remove("DATABASE_URL")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start vibe serve")
    };
    let mut first = spawn();
    fake.wait_for(30, "Slack to accept the message", |f| {
        f.messages().len() == 1
    })
    .await;
    first.kill().expect("kill");
    let _ = first.wait();
    let rows = store.outbox().await.expect("outbox");
    assert_eq!(rows[0].status, vibe::store::OutboxState::Sending);
    assert_eq!(rows[0].ts, None, "the ts never reached the database");

    let mut second = spawn();
    let rows = wait_outbox(&store, 40, |rows| {
        rows[0].status == vibe::store::OutboxState::Delivered
    })
    .await;
    second.kill().expect("kill");
    let _ = second.wait();
    let posted = fake.messages();
    assert_eq!(posted.len(), 1, "no second copy");
    assert_eq!(fake.calls("chat.postMessage").len(), 1);
    assert!(
        !fake.calls("conversations.history").is_empty(),
        "it looked before sending"
    );
    assert_eq!(rows[0].ts.as_deref(), Some(posted[0].ts.as_str()));
    store.close().await;
    db.cleanup().await;
}
