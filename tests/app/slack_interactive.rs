//! The interactive half of the bot against the fake Slack, in HTTP mode and over Socket Mode:
//! the `abtest new` modal and its text form, Start / Stop and Acknowledge / Snooze buttons,
//! roles, and a concluded test announced in its channel.

use serde_json::{json, Value};

use super::fake_slack::FakeSlack;
use super::fake_socket::FakeSocket;
use super::slack_app::{now, TestApp, SECRET};
use vibe::experiments::design::Status;
use vibe::store::{NewAlert, Observation, Raised};

const ANALYST: &str = "U0USER0001";
const VIEWER: &str = "U0VIEWER01";
const CHANNEL: &str = "C0REPORTS1";
const ROLES: (&str, &str) = ("VIBE_ROLES__ANALYST", "[\"U0USER0001\"]");

/// The app reached the way Slack reaches it: signed HTTP requests, or envelopes over a Socket
/// Mode connection (then the "body" is the acknowledgement's payload).
struct Bot {
    app: TestApp,
    socket: Option<FakeSocket>,
}

impl std::ops::Deref for Bot {
    type Target = TestApp;
    fn deref(&self) -> &TestApp {
        &self.app
    }
}

impl Bot {
    async fn start(socket_mode: bool, extra: &[(&str, &str)]) -> Bot {
        if !socket_mode {
            return Bot {
                app: TestApp::start_with(extra).await,
                socket: None,
            };
        }
        let socket = FakeSocket::start().await;
        let app = TestApp::start_socket(extra, &socket.url).await;
        socket.wait_connected(1).await;
        Bot {
            app,
            socket: Some(socket),
        }
    }

    fn over_socket(
        &self,
        kind: &str,
        payload: Value,
        accepts: bool,
    ) -> impl std::future::Future<Output = (u16, String)> + '_ {
        let socket = self.socket.as_ref().unwrap();
        let id = socket.send(kind, payload, accepts);
        async move {
            let ack = socket.ack(&id).await;
            let body = match ack.get("payload") {
                None | Some(Value::Null) => String::new(),
                Some(p) => p.to_string(),
            };
            (200, body)
        }
    }

    /// A button or a modal submission.
    async fn interact(&self, payload: &Value) -> (u16, String) {
        if self.socket.is_some() {
            let accepts = payload["type"] == "view_submission";
            return self
                .over_socket("interactive", payload.clone(), accepts)
                .await;
        }
        let body = serde_urlencoded::to_string([("payload", payload.to_string())]).unwrap();
        self.app
            .post_signed(
                "/slack/interactions",
                "application/x-www-form-urlencoded",
                &body,
                SECRET,
                now(),
            )
            .await
    }

    /// `/vibe text` from `user`.
    async fn cmd_as(&self, text: &str, trigger: &str, user: &str) -> (u16, String) {
        if self.socket.is_some() {
            return self
                .over_socket(
                    "slash_commands",
                    self.app.command_json_as(text, trigger, user),
                    true,
                )
                .await;
        }
        self.app.command_as(text, trigger, user).await
    }

    async fn cmd(&self, text: &str, trigger: &str) -> (u16, String) {
        self.cmd_as(text, trigger, ANALYST).await
    }

    async fn done(self) {
        self.app.cleanup().await;
    }
}

/// Runs a flow over HTTP and over Socket Mode.
macro_rules! both_transports {
    ($flow:ident) => {
        mod $flow {
            #[tokio::test]
            async fn http() {
                super::$flow(false).await
            }
            #[tokio::test]
            async fn socket_mode() {
                super::$flow(true).await
            }
        }
    };
}

/// A click on the button `action_id` (value `value`) of the message at `ts` in CHANNEL.
fn click(
    user: &str,
    action_id: &str,
    value: &str,
    ts: &str,
    action_ts: &str,
    response: &str,
) -> Value {
    json!({
        "type": "block_actions",
        "team": {"id": "T0TEAM0001", "domain": "example"},
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM0001"},
        "api_app_id": "A0APP00001",
        "container": {"type": "message", "message_ts": ts, "channel_id": CHANNEL, "is_ephemeral": false},
        "trigger_id": format!("{action_ts}.trigger"),
        "channel": {"id": CHANNEL, "name": "marketing"},
        "message": {"type": "message", "ts": ts, "text": "card"},
        "response_url": response,
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
            "action_ts": action_ts, "text": {"type": "plain_text", "text": "Start"}}],
    })
}

/// The modal submitted with `values` (field -> text), as Slack posts it.
fn submission(view: &Value, user: &str, hash: &str, values: &[(&str, &str)]) -> Value {
    let mut state = serde_json::Map::new();
    for (field, v) in values {
        let value = match *field {
            "kind" | "metric_type" => json!({"type": "static_select", "selected_option":
                {"text": {"type": "plain_text", "text": v}, "value": v}}),
            _ => json!({"type": "plain_text_input", "value": v}),
        };
        state.insert(field.to_string(), json!({ "value": value }));
    }
    let mut v = view.clone();
    v["id"] = json!("V0VIEW0001");
    v["team_id"] = json!("T0TEAM0001");
    v["hash"] = json!(hash);
    v["state"] = json!({ "values": state });
    json!({
        "type": "view_submission",
        "team": {"id": "T0TEAM0001", "domain": "example"},
        "user": {"id": user, "username": "someone", "team_id": "T0TEAM0001"},
        "api_app_id": "A0APP00001",
        "trigger_id": "9.9.view",
        "view": v,
    })
}

const GOOD: [(&str, &str); 8] = [
    ("name", "Question hook"),
    ("kind", "randomized"),
    ("metric_type", "proportion"),
    ("target_metric", "click-through rate"),
    ("variants", "Control\nQuestion"),
    ("baseline", "4%"),
    ("mde", "20%"),
    ("daily_traffic", "5000"),
];

/// The posted card of test `id`: its ts and blocks.
async fn card(app: &TestApp, id: i64) -> (String, Value) {
    let want = format!("A/B test #{id}:");
    app.fake
        .wait_for(15, "the test's card", |f| {
            f.messages()
                .iter()
                .any(|m| m.blocks.to_string().contains(&want))
        })
        .await;
    let m = app
        .fake
        .messages()
        .into_iter()
        .find(|m| m.blocks.to_string().contains(&want))
        .unwrap();
    recorded(app, &m).await;
    (m.ts, m.blocks)
}

/// Waits until the outbox has written down the ts Slack gave the message it posted: a click on
/// a message arriving before that (which no person could do) is answered through its
/// response_url instead of updating the message through the outbox.
async fn recorded(app: &TestApp, m: &super::fake_slack::Posted) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while app
        .store
        .outbox_key_at(&m.channel, &m.ts)
        .await
        .unwrap()
        .is_none()
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the outbox never recorded the ts {}",
            m.ts
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

fn has_button(blocks: &Value, action_id: &str) -> bool {
    blocks
        .to_string()
        .contains(&format!("\"action_id\":\"{action_id}\""))
}

async fn status(app: &TestApp, id: i64) -> Status {
    app.store.experiment(id).await.unwrap().unwrap().status
}

/// Creates a draft through the text form as the analyst; returns its id.
async fn text_form_draft(app: &Bot, trigger: &str) -> i64 {
    let (code, body) = app
        .command(
            "abtest new name=\"Question hook\" metric=ctr variants=Control,Question baseline=4% mde=20% traffic=5000",
            trigger,
        )
        .await;
    assert_eq!(code, 200);
    assert!(body.contains("is designed as a draft"), "{body}");
    let ids = app.store.experiment_ids(None).await.unwrap();
    *ids.last().unwrap()
}

both_transports!(abtest_new_opens_a_modal_shows_field_errors_and_a_good_submission_posts_the_design_then_start_runs_it);

async fn abtest_new_opens_a_modal_shows_field_errors_and_a_good_submission_posts_the_design_then_start_runs_it(
    socket_mode: bool,
) {
    let app = Bot::start(socket_mode, &[ROLES]).await;
    let (code, body) = app.cmd("abtest new", "1.1.modal").await;
    assert_eq!((code, body.as_str()), (200, ""), "the modal is the answer");
    let opened = app.fake.calls("views.open");
    assert_eq!(opened.len(), 1);
    assert_eq!(opened[0].args["trigger_id"], "1.1.modal");
    let view = opened[0].args["view"].clone();
    assert_eq!(view["callback_id"], "vibe:abtest.new");
    assert_eq!(view["private_metadata"], CHANNEL);

    // A bad field comes back beside that field, and nothing is created.
    let mut bad: Vec<(&str, &str)> = GOOD.to_vec();
    bad[5] = ("baseline", "lots");
    bad[4] = ("variants", "Control");
    let (code, body) = app.interact(&submission(&view, ANALYST, "h1", &bad)).await;
    assert_eq!(code, 200);
    let v: Value = serde_json::from_str(&body).expect("errors JSON");
    assert_eq!(v["response_action"], "errors");
    assert!(
        v["errors"]["baseline"].as_str().unwrap().contains("number"),
        "{v}"
    );
    assert!(v["errors"]["variants"].as_str().is_some(), "{v}");
    assert!(app.store.experiment_ids(None).await.unwrap().is_empty());

    // The corrected form creates a draft and posts its design with a Start button.
    let (code, body) = app.interact(&submission(&view, ANALYST, "h2", &GOOD)).await;
    assert_eq!(
        (code, body.as_str()),
        (200, ""),
        "an empty answer closes the modal"
    );
    let id = *app
        .store
        .experiment_ids(None)
        .await
        .unwrap()
        .last()
        .unwrap();
    assert_eq!(status(&app, id).await, Status::Draft);
    let (ts, blocks) = card(&app, id).await;
    let text = blocks.to_string();
    assert!(text.contains("Sample size"), "{text}");
    assert!(text.contains("confidence sequence"), "{text}");
    assert!(text.contains("days at the expected traffic"), "{text}");
    assert!(has_button(&blocks, "vibe:test.start"));

    // Start: running, the card updated in place (who, and only the Stop button), audited.
    let (code, _) = app
        .interact(&click(
            ANALYST,
            "vibe:test.start",
            &id.to_string(),
            &ts,
            "2.2",
            &app.fake.response_url("c1"),
        ))
        .await;
    assert_eq!(code, 200);
    app.fake
        .wait_for(15, "the card's update", |f| {
            !f.calls("chat.update").is_empty()
        })
        .await;
    assert_eq!(status(&app, id).await, Status::Running);
    let updated = app
        .fake
        .messages()
        .into_iter()
        .find(|m| m.ts == ts)
        .unwrap();
    assert!(!has_button(&updated.blocks, "vibe:test.start"));
    assert!(has_button(&updated.blocks, "vibe:test.stop"));
    assert!(updated
        .blocks
        .to_string()
        .contains(&format!("Started by <@{ANALYST}>")));
    let trail = app.store.audit_trail("experiment", id).await.unwrap();
    let outcomes: Vec<(&str, &str)> = trail
        .iter()
        .map(|a| (a.action.as_str(), a.outcome.as_str()))
        .collect();
    assert_eq!(outcomes, [("test.create", "done"), ("test.start", "done")]);
    app.done().await;
}

both_transports!(a_viewer_pressing_start_is_refused_and_nothing_changes);

async fn a_viewer_pressing_start_is_refused_and_nothing_changes(socket_mode: bool) {
    let app = Bot::start(socket_mode, &[ROLES]).await;
    let id = text_form_draft(&app, "3.3.text").await;
    let (ts, _) = card(&app, id).await;
    let (code, _) = app
        .interact(&click(
            VIEWER,
            "vibe:test.start",
            &id.to_string(),
            &ts,
            "4.4",
            &app.fake.response_url("viewer"),
        ))
        .await;
    assert_eq!(code, 200);
    app.fake
        .wait_for(15, "the refusal", |f| {
            f.responses().iter().any(|(id, _)| id == "viewer")
        })
        .await;
    let (_, refusal) = app
        .fake
        .responses()
        .into_iter()
        .find(|(id, _)| id == "viewer")
        .unwrap();
    assert!(
        refusal.to_string().contains("needs the analyst role"),
        "{refusal}"
    );
    assert_eq!(refusal["response_type"], "ephemeral");
    app.settle().await;
    assert_eq!(status(&app, id).await, Status::Draft);
    assert!(app.fake.calls("chat.update").is_empty());
    let trail = app.store.audit_trail("experiment", id).await.unwrap();
    assert_eq!(trail.last().unwrap().outcome, "refused");
    assert_eq!(trail.last().unwrap().actor, format!("slack:{VIEWER}"));
    // A viewer can't design one either.
    let (_, body) = app
        .command_as("abtest new name=x", "5.5.viewer", VIEWER)
        .await;
    assert!(body.contains("needs the analyst role"), "{body}");
    app.done().await;
}

both_transports!(two_concurrent_start_clicks_make_one_transition_and_one_update);

async fn two_concurrent_start_clicks_make_one_transition_and_one_update(socket_mode: bool) {
    let app = Bot::start(socket_mode, &[ROLES]).await;
    let id = text_form_draft(&app, "6.6.text").await;
    let (ts, _) = card(&app, id).await;
    let a = click(
        ANALYST,
        "vibe:test.start",
        &id.to_string(),
        &ts,
        "7.1",
        &app.fake.response_url("a"),
    );
    let b = click(
        ANALYST,
        "vibe:test.start",
        &id.to_string(),
        &ts,
        "7.2",
        &app.fake.response_url("b"),
    );
    let (ra, rb) = tokio::join!(app.interact(&a), app.interact(&b));
    assert_eq!((ra.0, rb.0), (200, 200));
    app.fake
        .wait_for(15, "one update and one 'already'", |f| {
            !f.calls("chat.update").is_empty()
                && f.responses()
                    .iter()
                    .any(|(_, v)| v.to_string().contains("already running"))
        })
        .await;
    app.settle().await;
    assert_eq!(app.fake.calls("chat.update").len(), 1);
    let started = app
        .store
        .experiment_events(id)
        .await
        .unwrap()
        .iter()
        .filter(|e| e.to_status == "running")
        .count();
    assert_eq!(started, 1);
    // The same click delivered again (same action_ts) is not acted on at all.
    app.interact(&a).await;
    app.settle().await;
    let trail = app.store.audit_trail("experiment", id).await.unwrap();
    let outcomes: Vec<&str> = trail.iter().map(|a| a.outcome.as_str()).collect();
    assert_eq!(outcomes, ["done", "done", "no_change"]);
    app.done().await;
}

const COOLDOWN: i64 = 24 * 3600;

fn day(s: &str) -> chrono::NaiveDate {
    s.parse().unwrap()
}

fn drop_alert() -> NewAlert {
    NewAlert {
        kind: vibe::store::AlertKind::PerformanceDrop,
        severity: vibe::store::Severity::Critical,
        subject: "instagram:acme".into(),
        account_id: None,
        dedupe_key: "drop:instagram:acme:reach".into(),
        message: "Instagram reach fell 46% week on week <!channel>".into(),
        evidence: vibe::store::Evidence::PerformanceDrop {
            account: 1,
            metric: "reach".into(),
            current: 64_800,
            previous: 120_000,
            fall: 0.46,
            current_from: day("2026-11-24"),
            current_to: day("2026-11-30"),
            previous_from: day("2026-11-17"),
            previous_to: day("2026-11-23"),
        },
    }
}

/// Raises the drop alert at `at` and waits for its card (with buttons) in the alerts channel.
async fn raise_and_post(app: &Bot, at: i64) -> (i64, super::fake_slack::Posted) {
    let id = app
        .store
        .raise_alert(&drop_alert(), at, COOLDOWN)
        .await
        .unwrap()
        .announced()
        .unwrap();
    let with_buttons = |f: &FakeSlack| {
        f.messages()
            .into_iter()
            .find(|m| m.blocks.to_string().contains("vibe:alert.ack"))
    };
    app.fake
        .wait_for(15, "the alert in its channel", |f| {
            with_buttons(f).is_some()
        })
        .await;
    let posted = with_buttons(&app.fake).unwrap();
    recorded(app, &posted).await;
    (id, posted)
}

/// The analyst clicks `action` (`ack` or `snooze`) on alert `id`'s card at `ts`; the answer
/// goes to the response URL named after the action.
async fn click_alert(app: &Bot, action: &str, id: i64, ts: &str, action_ts: &str) {
    app.interact(&click(
        ANALYST,
        &format!("vibe:alert.{action}"),
        &id.to_string(),
        ts,
        action_ts,
        &app.fake.response_url(action),
    ))
    .await;
}

both_transports!(a_new_alert_is_posted_with_buttons_and_acknowledged_from_one);

async fn a_new_alert_is_posted_with_buttons_and_acknowledged_from_one(socket_mode: bool) {
    let app = Bot::start(
        socket_mode,
        &[ROLES, ("VIBE_SLACK__ALERTS_CHANNEL", CHANNEL)],
    )
    .await;
    let (id, m) = raise_and_post(&app, now()).await;
    assert_eq!(m.channel, CHANNEL);
    let text = m.blocks.to_string();
    assert!(text.contains("Evidence"), "{text}");
    assert!(!text.contains("<!channel>"), "post text is escaped: {text}");
    click_alert(&app, "ack", id, &m.ts, "8.1").await;
    app.fake
        .wait_for(15, "the alert's update", |f| {
            !f.calls("chat.update").is_empty()
        })
        .await;
    let a = app.store.alert(id).await.unwrap().unwrap();
    assert_eq!(a.status, vibe::store::AlertStatus::Acknowledged);
    assert_eq!(a.decided_by.as_deref(), Some("slack:U0USER0001"));
    let updated = app
        .fake
        .messages()
        .into_iter()
        .find(|x| x.ts == m.ts)
        .unwrap();
    assert!(
        !updated.blocks.to_string().contains("vibe:alert.ack"),
        "buttons removed"
    );
    assert!(updated.blocks.to_string().contains("acknowledged by"));
    // Snoozing it now changes nothing, and says so.
    click_alert(&app, "snooze", id, &m.ts, "8.2").await;
    app.fake
        .wait_for(15, "the no-change answer", |f| {
            f.responses().iter().any(|(r, _)| r == "snooze")
        })
        .await;
    let (_, v) = app
        .fake
        .responses()
        .into_iter()
        .find(|(r, _)| r == "snooze")
        .unwrap();
    assert!(v.to_string().contains("already acknowledged"), "{v}");
    assert_eq!(
        app.store.alert(id).await.unwrap().unwrap().status,
        vibe::store::AlertStatus::Acknowledged
    );
    app.done().await;
}

#[tokio::test]
async fn a_snoozed_alert_comes_back_once_its_snooze_runs_out_while_it_still_holds() {
    let app = Bot::start(false, &[ROLES, ("VIBE_SLACK__ALERTS_CHANNEL", CHANNEL)]).await;
    let alert = drop_alert();
    let t0 = now();
    let (id, m) = raise_and_post(&app, t0).await;
    click_alert(&app, "snooze", id, &m.ts, "9.1").await;
    app.fake
        .wait_for(15, "the snoozed card", |f| {
            f.messages()
                .iter()
                .any(|x| x.ts == m.ts && x.blocks.to_string().contains("snoozed for 24 h by"))
        })
        .await;
    let a = app.store.alert(id).await.unwrap().unwrap();
    assert_eq!(a.status, vibe::store::AlertStatus::Snoozed);
    let until = a.snoozed_until.unwrap();
    assert!((until - t0 - 24 * 3600).abs() < 60, "{until} vs {t0}");
    let card = app
        .fake
        .messages()
        .into_iter()
        .find(|x| x.ts == m.ts)
        .unwrap();
    assert!(
        !card.blocks.to_string().contains("vibe:alert.ack"),
        "buttons removed"
    );

    // The monitoring job finds the condition again while it is snoozed: nothing is posted.
    let store = &app.store;
    assert_eq!(
        store
            .raise_alert(&alert, until - 60, COOLDOWN)
            .await
            .unwrap(),
        Raised::Known(id)
    );
    // Then after the snooze: posted again, once, with its buttons.
    assert_eq!(
        store.raise_alert(&alert, until, COOLDOWN).await.unwrap(),
        Raised::Reopened(id)
    );
    assert_eq!(
        store
            .raise_alert(&alert, until + 900, COOLDOWN)
            .await
            .unwrap(),
        Raised::Known(id)
    );
    let again = |f: &FakeSlack| {
        f.messages()
            .into_iter()
            .filter(|x| x.blocks.to_string().contains("snooze ran out"))
            .collect::<Vec<_>>()
    };
    app.fake
        .wait_for(15, "the alert posted again", |f| !again(f).is_empty())
        .await;
    app.settle().await;
    let posted = again(&app.fake);
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_ne!(posted[0].ts, m.ts, "a new message, not the old card");
    assert_eq!(posted[0].channel, CHANNEL);
    assert!(posted[0].blocks.to_string().contains("vibe:alert.ack"));
    assert_eq!(
        store.alert(id).await.unwrap().unwrap().status,
        vibe::store::AlertStatus::Open
    );
    app.done().await;
}

#[tokio::test]
async fn members_of_a_configured_user_group_have_its_role() {
    let socket_mode = false;
    let app = Bot::start(socket_mode, &[("VIBE_ROLES__ANALYST", "[\"S0ANALYSTS\"]")]).await;
    app.fake.set_group("S0ANALYSTS", &[ANALYST]);
    let id = text_form_draft(&app, "9.9.group").await;
    assert_eq!(status(&app, id).await, Status::Draft);
    let (_, body) = app
        .command_as("abtest new name=x", "9.9.other", VIEWER)
        .await;
    assert!(body.contains("needs the analyst role"), "{body}");
    app.cmd("abtest new name=y", "9.9.again").await;
    assert_eq!(
        app.fake.calls("usergroups.users.list").len(),
        1,
        "members are cached"
    );
    app.done().await;
}

#[tokio::test]
async fn a_concluded_test_is_announced_in_the_channel_it_was_designed_in() {
    let socket_mode = false;
    let app = Bot::start(socket_mode, &[ROLES]).await;
    let id = text_form_draft(&app, "10.1.text").await;
    let (ts, _) = card(&app, id).await;
    app.interact(&click(
        ANALYST,
        "vibe:test.start",
        &id.to_string(),
        &ts,
        "10.2",
        &app.fake.response_url("s"),
    ))
    .await;
    app.fake
        .wait_for(15, "started", |f| !f.calls("chat.update").is_empty())
        .await;
    let e = app.store.experiment(id).await.unwrap().unwrap();
    let obs = |variant: &str, conversions: u64| Observation {
        variant: variant.into(),
        metric: "primary".into(),
        period: "2026-12-01".into(),
        units: 40_000,
        conversions: Some(conversions),
        sum: None,
        sum_sq: None,
        exposure: None,
    };
    app.store
        .add_observations(&e, &[obs("Control", 1600), obs("Question", 2400)])
        .await
        .unwrap();
    let report = vibe::experiments::check(&app.store, chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(report.concluded, [id]);
    app.fake
        .wait_for(15, "the conclusion", |f| {
            f.messages().iter().any(|m| m.text.contains(" concluded: "))
        })
        .await;
    let m = app
        .fake
        .messages()
        .into_iter()
        .find(|m| m.text.contains(" concluded: "))
        .unwrap();
    assert_eq!(m.channel, CHANNEL);
    assert!(m.blocks.to_string().contains("Question"), "{}", m.blocks);
    app.fake
        .wait_for(15, "the lift chart in the thread", |f| {
            f.messages()
                .iter()
                .any(|x| x.thread_ts.as_deref() == Some(m.ts.as_str()) && !x.files.is_empty())
        })
        .await;
    app.settle().await;
    let n = app
        .fake
        .messages()
        .iter()
        .filter(|m| m.text.contains(" concluded: "))
        .count();
    assert_eq!(n, 1, "announced once");
    // The design card was updated in place: concluded, and no buttons any more.
    let card = app
        .fake
        .messages()
        .into_iter()
        .find(|m| m.text.contains("(concluded)"))
        .expect("the card, updated");
    let blocks = card.blocks.to_string();
    assert!(blocks.contains("🏁 concluded"), "{blocks}");
    assert!(!blocks.contains("\"actions\""), "{blocks}");
    app.done().await;
}

#[tokio::test]
async fn over_socket_mode_commands_modals_and_buttons_are_acknowledged_on_the_socket() {
    let socket = FakeSocket::start().await;
    let app = TestApp::start_socket(&[ROLES], &socket.url).await;
    socket.wait_connected(1).await;
    assert_eq!(app.fake.calls("apps.connections.open").len(), 1);

    let help = socket.send("slash_commands", app.command_json("help", "20.1"), true);
    let ack = socket.ack(&help).await;
    assert!(ack["payload"]["blocks"].is_array(), "{ack}");

    // The modal: opened, a bad submission answered with errors on the socket, then created.
    let new = socket.send(
        "slash_commands",
        app.command_json("abtest new", "20.2"),
        true,
    );
    socket.ack(&new).await;
    app.fake
        .wait_for(10, "views.open", |f| !f.calls("views.open").is_empty())
        .await;
    let view = app.fake.calls("views.open")[0].args["view"].clone();
    let mut bad: Vec<(&str, &str)> = GOOD.to_vec();
    bad[6] = ("mde", "");
    let sub = socket.send("interactive", submission(&view, ANALYST, "s1", &bad), true);
    let ack = socket.ack(&sub).await;
    assert_eq!(ack["payload"]["response_action"], "errors", "{ack}");
    assert!(ack["payload"]["errors"]["mde"].is_string(), "{ack}");
    let sub = socket.send("interactive", submission(&view, ANALYST, "s2", &GOOD), true);
    let ack = socket.ack(&sub).await;
    assert!(
        ack.get("payload").is_none() || ack["payload"].is_null(),
        "{ack}"
    );
    let id = *app
        .store
        .experiment_ids(None)
        .await
        .unwrap()
        .last()
        .unwrap();
    let (ts, _) = card(&app, id).await;

    // A button over the socket.
    let b = socket.send(
        "interactive",
        click(
            ANALYST,
            "vibe:test.start",
            &id.to_string(),
            &ts,
            "20.3",
            &app.fake.response_url("sock"),
        ),
        false,
    );
    socket.ack(&b).await;
    app.fake
        .wait_for(15, "the card's update", |f| {
            !f.calls("chat.update").is_empty()
        })
        .await;
    assert_eq!(status(&app, id).await, Status::Running);

    // Slack recycles the connection: the app reconnects and keeps answering.
    socket.disconnect();
    socket.wait_connected(2).await;
    let again = socket.send("slash_commands", app.command_json("help", "20.4"), true);
    assert!(socket.ack(&again).await["payload"]["blocks"].is_array());
    app.cleanup().await;
}

#[tokio::test]
async fn a_click_that_meets_a_database_error_is_told_nothing_changed() {
    let app = Bot::start(false, &[ROLES, ("VIBE_SLACK__ALERTS_CHANNEL", CHANNEL)]).await;
    let (id, m) = raise_and_post(&app, now()).await;
    // The database refuses to record the click.
    let undo = super::helpers::refuse_writes(
        &app.store,
        "slack_deliveries_seen",
        "INSERT",
        "NEW.kind = 'action'",
    )
    .await;
    click_alert(&app, "ack", id, &m.ts, "9.1").await;
    app.fake
        .wait_for(15, "an answer to the click", |f| {
            f.responses().iter().any(|(r, _)| r == "ack")
        })
        .await;
    super::helpers::allow_writes(&app.store, undo).await;
    let (_, v) = app
        .fake
        .responses()
        .into_iter()
        .find(|(r, _)| r == "ack")
        .unwrap();
    assert!(v.to_string().contains("nothing was changed"), "{v}");
    assert_eq!(
        app.store.alert(id).await.unwrap().unwrap().status,
        vibe::store::AlertStatus::Open
    );
    // The same click once the database is back goes through.
    click_alert(&app, "ack", id, &m.ts, "9.2").await;
    app.fake
        .wait_for(15, "the alert's update", |f| {
            !f.calls("chat.update").is_empty()
        })
        .await;
    assert_eq!(
        app.store.alert(id).await.unwrap().unwrap().status,
        vibe::store::AlertStatus::Acknowledged
    );
    app.done().await;
}

/// The answer sent to `trigger`'s response_url, once it arrives.
async fn answer(app: &Bot, trigger: &str) -> Value {
    app.fake
        .wait_for(15, trigger, |f| {
            f.responses().iter().any(|(i, _)| i == trigger)
        })
        .await;
    app.fake
        .responses()
        .into_iter()
        .find(|(i, _)| i == trigger)
        .map(|(_, b)| b)
        .unwrap()
}

/// A designed answer: a sentence for notifications, blocks within Slack's limits, no pasted
/// terminal text (code blocks) anywhere.
fn assert_designed(what: &str, v: &Value) {
    assert!(
        v["text"].as_str().is_some_and(|t| !t.trim().is_empty()),
        "{what}: no text: {v}"
    );
    let blocks = &v["blocks"];
    assert!(
        blocks.as_array().is_some_and(|b| !b.is_empty()),
        "{what}: no blocks: {v}"
    );
    let problems = vibe::slack::blocks::violations(blocks, false);
    assert!(problems.is_empty(), "{what}: {problems:?}");
    assert!(!v.to_string().contains("```"), "{what}: a code block: {v}");
}

both_transports!(every_command_answers_in_designed_block_kit);

async fn every_command_answers_in_designed_block_kit(socket_mode: bool) {
    let admin = ("VIBE_ROLES__ADMIN", "[\"U0USER0001\"]");
    let app = Bot::start(socket_mode, &[ROLES, admin]).await;
    // The key=value form and the flag form both design a draft.
    let first = text_form_draft(&app, "30.1").await;
    let (_, body) = app
        .cmd(
            "abtest new --name \"Flag form\" --target-metric ctr --variant A --variant B --baseline 4% --mde 20% --daily-traffic 5000",
            "30.2",
        )
        .await;
    assert!(body.contains("is designed as a draft"), "{body}");
    let second = app
        .store
        .experiment_ids(None)
        .await
        .unwrap()
        .into_iter()
        .max()
        .unwrap();
    assert_ne!(first, second);
    // The same words in the terminal's grammar give the same design.
    use clap::Parser;
    let cli = vibe::app::grammar::Cli::try_parse_from([
        "vibe",
        "abtest",
        "new",
        "name=Question hook",
        "metric=ctr",
        "variants=Control,Question",
        "baseline=4%",
        "mde=20%",
        "traffic=5000",
    ])
    .unwrap();
    let vibe::app::grammar::Command::Abtest {
        command: vibe::app::grammar::AbtestCommand::New(args),
        ..
    } = cli.command
    else {
        panic!("not abtest new")
    };
    let from_cli = vibe::app::new_test::from_args(&args, "cli", None).unwrap();
    let stored = app.store.experiment(first).await.unwrap().unwrap().design;
    let from_cli = vibe::experiments::design::design(from_cli).unwrap();
    assert_eq!(
        (stored.created_by.as_str(), stored.channel_id.as_deref()),
        ("slack:U0USER0001", Some(CHANNEL))
    );
    assert_eq!(
        vibe::experiments::design::Design {
            created_by: "cli".into(),
            channel_id: None,
            ..stored
        },
        from_cli
    );

    // A mistake is named as typed, and nothing else is blamed.
    let (_, body) = app
        .cmd(
            "abtest new name=x metric=ctr variants=A,B baseline=4% mde=-1",
            "30.3",
        )
        .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_designed("a bad design", &v);
    let said = v["blocks"].to_string();
    assert!(said.contains("`mde=-1`"), "{said}");
    assert!(!said.contains("min_effect"), "{said}");

    app.cmd(&format!("abtest start {first}"), "30.4").await;
    let started = answer(&app, "30.4").await;
    assert_designed("start", &started);
    assert!(started["text"].as_str().unwrap().contains("is running"));
    let e = app.store.experiment(first).await.unwrap().unwrap();
    let obs = |variant: &str, conversions: u64| Observation {
        variant: variant.into(),
        metric: "primary".into(),
        period: "2026-12-01".into(),
        units: 2_000,
        conversions: Some(conversions),
        sum: None,
        sum_sq: None,
        exposure: None,
    };
    app.store
        .add_observations(&e, &[obs("Control", 80), obs("Question", 96)])
        .await
        .unwrap();

    let commands = [
        ("abtest list", "30.10"),
        (&*format!("abtest show {first}"), "30.11"),
        (&*format!("abtest results {first}"), "30.12"),
        ("abtest results --all", "30.13"),
        (
            "abtest plan --baseline 4% --mde 10% --daily-traffic 5000",
            "30.14",
        ),
        ("abtest calc 200/2000 250/2000", "30.15"),
        ("alerts", "30.16"),
        ("health", "30.17"),
        ("schedule add daily 07:30 Europe/Paris", "30.18"),
        ("schedule list", "30.19"),
        (&*format!("abtest stop {second}"), "30.20"),
        ("schedule remove 1", "30.21"),
    ];
    for (text, trigger) in commands {
        let (code, _) = app.cmd(text, trigger).await;
        assert_eq!(code, 200, "{text}");
        let v = answer(&app, trigger).await;
        assert_designed(text, &v);
    }
    // Each answer carries the numbers that matter.
    let said = |t: &str| {
        let fake = app.fake.responses();
        fake.into_iter()
            .find(|(i, _)| i == t)
            .map(|(_, b)| b.to_string())
            .unwrap()
    };
    let list = said("30.10");
    assert!(
        list.contains("vibe:test.stop"),
        "a running test's button: {list}"
    );
    assert!(list.contains("vibe:test.start"), "a draft's button: {list}");
    let results = said("30.12");
    for needle in ["*Control* (control)", "*Question*", "lift", "always-valid"] {
        assert!(results.contains(needle), "{needle} in {results}");
    }
    assert!(said("30.14").contains("per arm"));
    assert!(said("30.15").contains("p = 0.0124"), "{}", said("30.15"));
    assert!(said("30.17").contains("signed in as U0BOT00001"));
    assert!(
        said("30.18").contains(&format!("<#{CHANNEL}>")),
        "{}",
        said("30.18")
    );
    assert!(said("30.19").contains("daily digest"), "{}", said("30.19"));
    assert!(said("30.20").contains("is stopped"), "{}", said("30.20"));
    assert!(
        said("30.21").contains("no longer runs"),
        "{}",
        said("30.21")
    );
    app.done().await;
}
