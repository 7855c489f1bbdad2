//! The serving edge under hostile or careless use: body limits enforced on the headers and
//! while reading, the API's token checked before its body, slow clients cut off, readiness
//! without Slack, report ranges bounded and heavy work kept off the request threads, a slow
//! Slack lookup inside the 3 seconds, and a 429 storm that loses and repeats nothing.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::fake_slack::{FakeSlack, Script};
use super::slack_app::{get, json, now, TestApp};

/// Writes `head` (and `body`, if any) on a raw connection and reads what comes back until the
/// server closes or `wait` passes; returns the text and how long the answer took.
async fn raw(base: &str, head: &str, body: &[u8], wait: Duration) -> (String, Duration) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).await.expect("connect");
    let started = Instant::now();
    s.write_all(head.as_bytes()).await.expect("headers");
    if !body.is_empty() {
        // The server may answer and close before the body is all sent: that's the point.
        let _ = s.write_all(body).await;
    }
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(wait, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                out.extend_from_slice(&buf[..n]);
                if out.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    (
        String::from_utf8_lossy(&out).into_owned(),
        started.elapsed(),
    )
}

fn status_of(response: &str) -> Option<u16> {
    response.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::test]
async fn bodies_over_a_routes_limit_are_refused_before_they_are_read() {
    let app = TestApp::start().await;
    // 2 MiB announced to a Slack endpoint: 413 on the headers, with only 1 KiB sent.
    let head = format!(
        "POST /slack/commands HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         x-slack-request-timestamp: {}\r\nx-slack-signature: v0=00\r\ncontent-length: {}\r\n\r\n",
        now(),
        2 * 1024 * 1024
    );
    let (answer, _) = raw(&app.base, &head, &[b'a'; 1024], Duration::from_secs(5)).await;
    assert_eq!(status_of(&answer), Some(413), "{answer}");

    // 8 MiB announced to the API without a token: 401 before any of the body is read.
    let head = format!(
        "POST /api/v1/metrics HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        8 * 1024 * 1024
    );
    let (answer, _) = raw(&app.base, &head, &[], Duration::from_secs(5)).await;
    assert_eq!(status_of(&answer), Some(401), "{answer}");

    // A body with no announced length is cut off at the limit while it is read: 2 MiB of a
    // chunked body to a Slack endpoint gets 413 and nothing acts on it.
    let chunk = vec![b'a'; 64 * 1024];
    let mut body = Vec::new();
    for _ in 0..32 {
        body.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        body.extend_from_slice(&chunk);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"0\r\n\r\n");
    let head = format!(
        "POST /slack/commands HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         x-slack-request-timestamp: {}\r\nx-slack-signature: v0=00\r\ntransfer-encoding: chunked\r\n\r\n",
        now()
    );
    let (answer, _) = raw(&app.base, &head, &body, Duration::from_secs(5)).await;
    assert_eq!(status_of(&answer), Some(413), "{answer}");

    // Without a signature, or with a timestamp that can't be fresh, 401 comes on the headers:
    // nothing of the (announced 1 MiB) body is read.
    for (ts, sig) in [
        (now().to_string(), None),
        (i64::MIN.to_string(), Some("v0=00")),
        ((now() - 301).to_string(), Some("v0=00")),
        ("soon".to_string(), Some("v0=00")),
    ] {
        let sig = sig
            .map(|s| format!("x-slack-signature: {s}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "POST /slack/commands HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
             x-slack-request-timestamp: {ts}\r\n{sig}content-length: {}\r\n\r\n",
            1024 * 1024
        );
        let (answer, took) = raw(&app.base, &head, &[], Duration::from_secs(5)).await;
        assert_eq!(status_of(&answer), Some(401), "{ts}: {answer}");
        assert!(took < Duration::from_secs(2), "{ts}: {took:?}");
    }

    // Just under the limit is read and judged on its signature (unsigned: 401).
    let head = format!(
        "POST /slack/interactions HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         x-slack-request-timestamp: {}\r\nx-slack-signature: v0=00\r\ncontent-length: {}\r\n\r\n",
        now(),
        1024 * 1024
    );
    let (answer, _) = raw(
        &app.base,
        &head,
        &vec![b'a'; 1024 * 1024],
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(status_of(&answer), Some(401), "{answer}");
    assert!(app.outbox().await.is_empty());
    app.cleanup().await;
}

#[tokio::test]
async fn slow_clients_are_cut_off_instead_of_piling_up() {
    let app = TestApp::start_with(&[
        ("VIBE_SERVER__HEADER_TIMEOUT_MS", "300"),
        ("VIBE_SERVER__BODY_TIMEOUT_MS", "300"),
    ])
    .await;
    // Headers that never finish: the connection is closed.
    let (answer, took) = raw(
        &app.base,
        "POST /slack/commands HTTP/1.1\r\nhost: x\r\n",
        &[],
        Duration::from_secs(10),
    )
    .await;
    assert!(took < Duration::from_secs(5), "held for {took:?}: {answer}");
    assert!(
        answer.is_empty() || status_of(&answer) == Some(408),
        "{answer}"
    );
    // A body that stops halfway: 408.
    let head = format!(
        "POST /slack/commands HTTP/1.1\r\nhost: x\r\ncontent-type: application/x-www-form-urlencoded\r\n\
         x-slack-request-timestamp: {}\r\nx-slack-signature: v0=00\r\ncontent-length: 100\r\n\r\n",
        now()
    );
    let (answer, took) = raw(
        &app.base,
        &head,
        b"command=%2Fvibe",
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(status_of(&answer), Some(408), "{answer}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    app.cleanup().await;
}

#[tokio::test]
async fn readiness_asks_the_database_only_and_tells_strangers_nothing() {
    let app = TestApp::start().await;
    let (code, body) = get(&format!("{}/readyz", app.base)).await;
    assert_eq!((code, body.as_str()), (200, "ready"));
    let (code, body) = get(&format!("{}/healthz", app.base)).await;
    assert_eq!((code, body.as_str()), (200, "ok"));
    assert!(
        app.fake.calls("auth.test").is_empty(),
        "a probe must not call Slack"
    );
    // From this machine /metrics answers; it holds no team or bot ids either way.
    let (code, body) = get(&format!("{}/metrics", app.base)).await;
    assert_eq!(code, 200);
    assert!(!body.contains("T0TEAM0001") && !body.contains("U0BOT00001"));
    // A closed database makes the probe fail, clearly.
    app.store.close().await;
    app.state().store.close().await;
    let (code, body) = get(&format!("{}/readyz", app.base)).await;
    assert_eq!(code, 503, "{body}");
    assert!(body.contains("database"), "{body}");
    app.cleanup().await;
}

#[tokio::test]
async fn report_ranges_beyond_reason_are_refused_at_once() {
    let app = TestApp::start().await;
    let cases = [
        (
            "report --from 1990-01-01 --to 2200-12-31",
            "at most 1096 days",
        ),
        (
            "report --from 2020-01-01 --to 2026-01-01",
            "at most 1096 days",
        ),
        ("report --from 0001-01-01 --to 9999-12-31", "out of range"),
        ("report --to 0001-01-01", "out of range"),
        ("report --from 2026-03-02 --to 2026-03-01", "after"),
        // Words that aren't a period or a platform, or a time zone that isn't one, are said
        // now rather than after "on its way".
        ("report nonsense", "neither a period"),
        ("report weekly --tz Mars/Olympus", "not a time zone"),
        // A zone whose days vibe doesn't keep: the kept ones are named.
        (
            "report weekly --tz Asia/Kolkata",
            "doesn't count days in Asia/Kolkata yet; it keeps days in Etc/UTC",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let started = Instant::now();
        let (code, body) = app.command(text, &format!("range.{i}")).await;
        assert_eq!(code, 200, "{text}");
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{text} took {:?}",
            started.elapsed()
        );
        let reply = json(&body);
        assert!(
            reply["text"].as_str().unwrap().contains(want),
            "{text}: {body}"
        );
    }
    assert!(app.outbox().await.is_empty(), "nothing was built");
    app.cleanup().await;
}

#[tokio::test]
async fn heavy_reports_in_flight_leave_help_and_health_answering() {
    let app = TestApp::start().await;
    let demo = app.db.vibe(&["demo"], &[]);
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );
    let today = chrono::Utc::now().date_naive();
    let from = today - chrono::Days::new(1095);
    let heavy = format!("report --from {from} --to {today}");
    let (code, body) = app.command_as(&heavy, "heavy.1", "U0HEAVY001").await;
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("Building the report"), "{body}");
    let (_, body) = app.command_as(&heavy, "heavy.2", "U0HEAVY002").await;
    assert!(body.contains("Building the report"), "{body}");
    // (One person's second report while the first is built is refused: see heavy.rs.)
    // Meanwhile the bot answers.
    for i in 0..3 {
        let started = Instant::now();
        let (code, body) = app.command("help", &format!("heavy.help.{i}")).await;
        assert_eq!(code, 200);
        assert!(body.contains("report"), "{body}");
        let (code, _) = get(&format!("{}/healthz", app.base)).await;
        assert_eq!(code, 200);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "help and healthz took {:?} with two heavy reports in flight",
            started.elapsed()
        );
    }
    // Both reports arrive, once each.
    let rows = super::slack::wait_outbox(&app.store, 120, |rows| {
        ["report:heavy.1", "report:heavy.2"].iter().all(|k| {
            rows.iter()
                .any(|r| r.key == *k && r.status == vibe::store::OutboxState::Delivered)
        })
    })
    .await;
    assert_eq!(
        rows.iter().filter(|r| r.key == "report:heavy.1").count(),
        1,
        "{rows:?}"
    );
    assert_eq!(app.state().heavy.running("U0HEAVY001"), 0);
    app.cleanup().await;
}

#[tokio::test]
async fn a_hanging_user_group_lookup_still_gets_an_answer_within_three_seconds() {
    let app = TestApp::start_with(&[("VIBE_ROLES__ANALYST", "[\"S0SLOWGRP1\"]")]).await;
    app.fake
        .script("usergroups.users.list", Script::AcceptAndHang);
    let started = Instant::now();
    let (code, body) = app.command("abtest new", "slow.group.1").await;
    let took = started.elapsed();
    assert_eq!(code, 200);
    assert!(took < Duration::from_secs(3), "acknowledged after {took:?}");
    let reply = json(&body);
    let text = reply["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("Slack was slow") && text.contains("nothing was changed"),
        "{body}"
    );
    assert!(
        app.fake.calls("views.open").is_empty(),
        "no form without a role"
    );
    app.cleanup().await;
}

/// A store and a Web API client on the fake, with no worker of its own: the test drives
/// delivery and its clock.
async fn worker_parts() -> (
    super::helpers::TestDb,
    vibe::store::Store,
    FakeSlack,
    vibe::slack::web::SlackWeb,
) {
    let db = super::helpers::TestDb::new().await;
    let store = db.store().await;
    let fake = FakeSlack::start().await;
    let token = secrecy::SecretString::from(super::slack_app::BOT_TOKEN.to_string());
    let web =
        vibe::slack::web::SlackWeb::new(&fake.api_url(), Some(&token), Duration::from_secs(2))
            .expect("web client");
    (db, store, fake, web)
}

#[tokio::test]
async fn a_429_storm_longer_than_any_attempt_budget_loses_nothing_and_posts_once() {
    use vibe::slack::blocks::{section, Message};
    use vibe::slack::outbox::{self, Policy, Step};
    let (db, store, fake, web) = worker_parts().await;
    let policy = Policy {
        lease_secs: 60,
        lifetime_secs: 6 * 3600,
    };
    let m = Message::new("Weekly report", vec![section("*Weekly report*")]);
    store
        .enqueue(&[outbox::post("storm:1", "C0STORM001", None, &m, None)])
        .await
        .unwrap();
    // Slack answers 429 (Retry-After: 10 minutes) twenty times: over three hours of storm.
    for _ in 0..20 {
        fake.script("chat.postMessage", Script::RateLimited(600));
    }
    let mut clock = now();
    let started = clock;
    let mut retries = 0;
    loop {
        match outbox::try_deliver_one(&store, &web, policy, clock)
            .await
            .unwrap()
        {
            Step::Retry { after, .. } => {
                retries += 1;
                assert!(after >= Duration::from_secs(600), "{after:?}");
                assert!(after <= Duration::from_secs(605), "{after:?}");
                // Not due before its time.
                assert_eq!(
                    outbox::try_deliver_one(&store, &web, policy, clock + 599)
                        .await
                        .unwrap(),
                    Step::Idle
                );
                clock += after.as_secs() as i64 + 1;
            }
            Step::Delivered { .. } => break,
            other => panic!("{other:?}"),
        }
        assert!(retries <= 20);
    }
    assert_eq!(retries, 20);
    assert!(clock - started > 3 * 3600);
    assert_eq!(fake.messages().len(), 1, "posted once");
    let rows = store.outbox().await.unwrap();
    assert_eq!(rows[0].status, vibe::store::OutboxState::Delivered);
    assert_eq!(rows[0].attempts, 21);

    // A storm that outlasts the message's lifetime gives it up, and says so.
    let short = Policy {
        lease_secs: 60,
        lifetime_secs: 3600,
    };
    store
        .enqueue(&[outbox::post("storm:2", "C0STORM001", None, &m, None)])
        .await
        .unwrap();
    for _ in 0..20 {
        fake.script("chat.postMessage", Script::RateLimited(600));
    }
    let mut clock = now();
    let outcome = loop {
        match outbox::try_deliver_one(&store, &web, short, clock)
            .await
            .unwrap()
        {
            Step::Retry { after, .. } => clock += after.as_secs() as i64 + 1,
            other => break other,
        }
    };
    match outcome {
        Step::Failed { key, error } => {
            assert_eq!(key, "storm:2");
            assert!(error.contains("lifetime"), "{error}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(fake.messages().len(), 1, "the expired one was never posted");
    let health = vibe::health::check(&store, None, clock).await;
    assert!(!health.healthy, "{health:?}");
    assert!(health.text().contains("given up"), "{}", health.text());
    assert!(vibe::metrics::render(&[]).contains("vibe_outbox_given_up_total{reason=\"expired\"}"));
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_database_error_during_delivery_is_retried_not_taken_for_a_refusal() {
    use vibe::slack::outbox::{self, Policy, Step};
    let (db, store, fake, web) = worker_parts().await;
    let policy = Policy {
        lease_secs: 60,
        lifetime_secs: 3600,
    };
    let post = outbox::post(
        "db:parent",
        "C0DBERR001",
        None,
        &vibe::slack::blocks::Message::new("parent", vec![]),
        None,
    );
    let file = outbox::file(
        "db:file",
        "C0DBERR001",
        "db:parent",
        "c.png",
        "Chart",
        "alt",
        &[1, 2, 3],
    );
    store.enqueue(&[post, file]).await.unwrap();
    let t = now();
    assert!(matches!(
        outbox::try_deliver_one(&store, &web, policy, t)
            .await
            .unwrap(),
        Step::Delivered { .. }
    ));
    // The upload's id can't be recorded: the database refuses that one write.
    let undo =
        super::helpers::refuse_writes(&store, "slack_outbox", "UPDATE OF file_id", "1 = 1").await;
    let step = outbox::try_deliver_one(&store, &web, policy, t + 1)
        .await
        .unwrap();
    super::helpers::allow_writes(&store, undo).await;
    match step {
        Step::Retry { key, error, .. } => {
            assert_eq!(key, "db:file");
            assert!(error.contains("database"), "{error}");
        }
        other => panic!("a database error must not give the message up: {other:?}"),
    }
    let rows = store.outbox().await.unwrap();
    let file = rows.iter().find(|r| r.key == "db:file").unwrap();
    assert_ne!(file.status, vibe::store::OutboxState::Failed, "{file:?}");
    // Once the database is back it is delivered.
    let mut clock = t + 2;
    let done = loop {
        match outbox::try_deliver_one(&store, &web, policy, clock)
            .await
            .unwrap()
        {
            Step::Delivered { key, .. } if key == "db:file" => break true,
            Step::Idle if clock > t + 600 => break false,
            _ => clock += 10,
        }
    };
    assert!(done, "{:?}", store.outbox().await.unwrap());
    let top = fake
        .messages()
        .into_iter()
        .filter(|m| m.thread_ts.is_none())
        .count();
    assert_eq!(top, 1);
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_test_name_with_mentions_is_escaped_in_the_top_level_text_too() {
    let app = TestApp::start_with(&[("VIBE_ROLES__ANALYST", "[\"U0USER0001\"]")]).await;
    let (code, body) = app
        .command_as(
            "abtest new name=\"<!channel> <http://evil|click>\" metric=ctr variants=A,B baseline=4% mde=20% traffic=2000",
            "escape.1",
            "U0USER0001",
        )
        .await;
    assert_eq!(code, 200, "{body}");
    app.fake
        .wait_for(20, "the test's card", |f| !f.messages().is_empty())
        .await;
    for m in app.fake.messages() {
        assert!(!m.text.contains("<!channel>"), "{}", m.text);
        assert!(!m.text.contains("<http://evil"), "{}", m.text);
        assert!(m.text.contains("&lt;!channel&gt;"), "{}", m.text);
        // Markdown fields are escaped; plain-text ones (the header) aren't read for mentions.
        for text in mrkdwn_texts(&m.blocks) {
            assert!(!text.contains("<!channel>"), "{text}");
        }
    }
    app.cleanup().await;
}

#[tokio::test]
async fn one_log_search_follows_a_command_from_its_ack_to_its_delivery() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    use std::sync::{Arc, Mutex};
    let db = super::helpers::TestDb::new().await;
    let store = db.store().await;
    let fake = FakeSlack::start().await;
    let csv = super::helpers::facebook_csv();
    assert!(db
        .vibe(&["import", csv.to_str().unwrap()], &[])
        .status
        .success());
    let mut child = Command::new(env!("CARGO_BIN_EXE_vibe"))
        .arg("serve")
        .current_dir(db.dir.path())
        .env("VIBE_DATABASE__URL", &db.url)
        .env("VIBE_SERVER__LISTEN", "127.0.0.1:0")
        .env("VIBE_SLACK__API_URL", fake.api_url())
        .env("VIBE_SCHEDULER__ENABLED", "false")
        .env("VIBE_LOG__FORMAT", "json")
        .env("VIBE_LOG__LEVEL", "info")
        .env("SLACK_BOT_TOKEN", super::slack_app::BOT_TOKEN)
        .env("SLACK_SIGNING_SECRET", super::slack_app::SECRET)
        .env_remove("DATABASE_URL")
        .env_remove("RUST_LOG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start vibe serve");
    let lines = Arc::new(Mutex::new(Vec::<String>::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    let seen = lines.clone();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if let Some(at) = line.split("http://").nth(1) {
                let _ = tx.send(at.split_whitespace().next().unwrap_or("").to_string());
            }
            seen.lock().unwrap().push(line);
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("vibe serve didn't start listening");
    let trigger = "trace.4242.abcd";
    let body = serde_urlencoded::to_string(super::slack_app::command_fields(
        &fake,
        "report weekly",
        trigger,
        "C0TRACE001",
        "U0TRACE001",
    ))
    .unwrap();
    let ts = now();
    let (code, answer) = super::slack_app::send(
        &format!("http://{addr}/slack/commands"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("x-slack-request-timestamp", &ts.to_string()),
            (
                "x-slack-signature",
                &super::slack_app::sign(super::slack_app::SECRET, ts, &body),
            ),
        ],
        &body,
    )
    .await;
    assert_eq!(code, 200, "{answer}");
    super::slack::wait_outbox(&store, 60, |rows| {
        !rows.is_empty()
            && rows
                .iter()
                .all(|r| r.status == vibe::store::OutboxState::Delivered)
    })
    .await;
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    assert!(super::helpers::wait_exit(&mut child, 30).await.success());
    let lines = lines.lock().unwrap().clone();
    let found: Vec<&String> = lines.iter().filter(|l| l.contains(trigger)).collect();
    let has = |what: &str| found.iter().any(|l| l.contains(what));
    assert!(has("slash command"), "the acknowledgement: {found:#?}");
    assert!(has("delivered to Slack"), "the delivery: {found:#?}");
    // Every line about it is one JSON object carrying the request's id.
    let ack = found
        .iter()
        .find(|l| l.contains("slash command"))
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON log line"))
        .unwrap();
    assert_eq!(ack["span"]["trigger"], trigger, "{ack}");
    assert!(
        ack["span"]["id"].as_str().is_some_and(|id| id.len() == 16),
        "{ack}"
    );
    store.close().await;
    db.cleanup().await;
}

#[tokio::test]
async fn a_notification_that_cannot_be_rendered_is_set_aside_not_retried_forever() {
    let app = TestApp::start_with(&[
        ("VIBE_SLACK__ALERTS_CHANNEL", "C0ALERTS01"),
        ("VIBE_SCHEDULER__ENABLED", "false"),
    ])
    .await;
    // An alert notification whose alert is gone, and one of a kind vibe doesn't know.
    for (kind, subject) in [("alert_opened", 9999), ("proposal_made", 1)] {
        sqlx::query(
            "INSERT INTO notifications (kind, subject_id, body, created_at) VALUES ($1, $2, '{}', $3)",
        )
        .bind(kind)
        .bind(subject as i64)
        .bind(now())
        .execute(app.store.pool())
        .await
        .unwrap();
    }
    let state = app.state();
    assert_eq!(vibe::slack::notify::hand_over(&state).await.unwrap(), 0);
    assert!(app.store.pending_notifications().await.unwrap().is_empty());
    let reasons: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, error FROM notifications WHERE set_aside_at IS NOT NULL ORDER BY id",
    )
    .fetch_all(app.store.pool())
    .await
    .unwrap();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].1.contains("alert 9999 no longer exists"),
        "{reasons:?}"
    );
    assert!(reasons[1].1.contains("proposal_made"), "{reasons:?}");
    let health = vibe::health::check(&app.store, None, now()).await;
    assert!(
        health.text().contains("2 notification(s) set aside"),
        "{}",
        health.text()
    );
    assert!(app.outbox().await.is_empty());
    app.cleanup().await;
}

/// Every `mrkdwn` text object in a message's blocks.
fn mrkdwn_texts(v: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    match v {
        serde_json::Value::Object(o) => {
            if o.get("type").and_then(|t| t.as_str()) == Some("mrkdwn") {
                if let Some(t) = o.get("text").and_then(|t| t.as_str()) {
                    out.push(t.to_string());
                }
            }
            for x in o.values() {
                out.extend(mrkdwn_texts(x));
            }
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| out.extend(mrkdwn_texts(x))),
        _ => {}
    }
    out
}
