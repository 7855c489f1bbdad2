//! The real app (`vibe serve`'s Application) on 127.0.0.1 port 0, a fresh database and the
//! fake Slack, with requests signed exactly as Slack signs them.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::sync::watch;

use super::fake_slack::FakeSlack;
use super::helpers::TestDb;
use vibe::config::Config;
use vibe::store::Store;

pub const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
pub const BOT_TOKEN: &str = "xoxb-test-token";

pub struct TestApp {
    pub base: String,
    pub db: TestDb,
    pub store: Store,
    pub fake: FakeSlack,
    state: vibe::server::AppState,
    stop: watch::Sender<bool>,
    handle: tokio::task::JoinHandle<anyhow::Result<()>>,
}

/// The configuration a test runs with: the test database, the fake, port 0.
pub fn test_config(db: &TestDb, fake: &FakeSlack, extra: &[(&str, &str)]) -> Config {
    let mut vars: BTreeMap<String, String> = [
        ("VIBE_DATABASE__URL", db.url.as_str()),
        ("VIBE_SERVER__LISTEN", "127.0.0.1:0"),
        ("VIBE_SLACK__REQUEST_TIMEOUT_MS", "2000"),
        ("SLACK_SIGNING_SECRET", SECRET),
        ("SLACK_BOT_TOKEN", BOT_TOKEN),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    vars.insert("VIBE_SLACK__API_URL".into(), fake.api_url());
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    let empty = db.dir.path().join("empty.toml");
    std::fs::write(&empty, "").expect("empty config");
    Config::load_from(Some(&empty), &vars).expect("test config")
}

impl TestApp {
    pub async fn start() -> TestApp {
        Self::start_with(&[]).await
    }

    pub async fn start_with(extra: &[(&str, &str)]) -> TestApp {
        Self::start_inner(extra, None).await
    }

    /// With an app-level token, so the app connects over Socket Mode to `socket_url`.
    pub async fn start_socket(extra: &[(&str, &str)], socket_url: &str) -> TestApp {
        let mut vars = extra.to_vec();
        vars.push(("SLACK_APP_TOKEN", "xapp-1-test"));
        Self::start_inner(&vars, Some(socket_url)).await
    }

    async fn start_inner(extra: &[(&str, &str)], socket_url: Option<&str>) -> TestApp {
        let db = TestDb::new().await;
        let fake = FakeSlack::start().await;
        if let Some(url) = socket_url {
            fake.set_socket_url(url);
        }
        let store = db.store().await;
        let config = test_config(&db, &fake, extra);
        let app = vibe::server::Application::build(store.clone(), &config)
            .await
            .expect("build");
        let base = format!("http://{}", app.addr());
        let state = app.state();
        let (stop, rx) = watch::channel(false);
        let handle = tokio::spawn(app.run(rx));
        TestApp {
            base,
            db,
            store,
            fake,
            state,
            stop,
            handle,
        }
    }

    /// The running application's shared state.
    pub fn state(&self) -> vibe::server::AppState {
        self.state.clone()
    }

    /// Waits until the app has done all it will about what it received: the work handlers
    /// started in the background has finished, every notification is handed over, and no
    /// outbox row is waiting or being sent. Then "nothing else happened" can be asserted.
    pub async fn settle(&self) {
        self.state.drain(std::time::Duration::from_secs(20)).await;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let waiting = super::helpers::scalar(
                &self.store,
                "SELECT COUNT(*) FROM notifications WHERE delivered_at IS NULL AND set_aside_at IS NULL",
            )
            .await;
            let rows = self.outbox().await;
            let busy = rows
                .iter()
                .filter(|r| {
                    r.status == vibe::store::OutboxState::Pending
                        || r.status == vibe::store::OutboxState::Sending
                })
                .count();
            if waiting == Some(0) && busy == 0 {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the app never settled: {waiting:?} notifications, outbox {rows:?}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        // What the last delivery started (a thread reply's parent just got its ts) is done too.
        self.state.drain(std::time::Duration::from_secs(20)).await;
    }

    /// Stops the app as SIGTERM would and waits for it.
    pub async fn stop(self) -> (TestDb, FakeSlack) {
        let _ = self.stop.send(true);
        let _ = self.handle.await;
        self.store.close().await;
        (self.db, self.fake)
    }

    pub async fn cleanup(self) {
        let (db, _) = self.stop().await;
        db.cleanup().await;
    }

    /// POSTs `body` signed with `secret` at `ts`.
    pub async fn post_signed(
        &self,
        path: &str,
        content_type: &str,
        body: &str,
        secret: &str,
        ts: i64,
    ) -> (u16, String) {
        let sig = sign(secret, ts, body);
        send(
            &format!("{}{path}", self.base),
            &[
                ("content-type", content_type),
                ("x-slack-request-timestamp", &ts.to_string()),
                ("x-slack-signature", &sig),
            ],
            body,
        )
        .await
    }

    /// A `/vibe` command as Slack sends it, signed now; returns status and body.
    pub async fn command(&self, text: &str, trigger: &str) -> (u16, String) {
        let body = self.command_body(text, trigger, "C0REPORTS1");
        self.post_signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            &body,
            SECRET,
            now(),
        )
        .await
    }

    /// A `/vibe` command from `user`, signed now.
    pub async fn command_as(&self, text: &str, trigger: &str, user: &str) -> (u16, String) {
        let body =
            serde_urlencoded::to_string(self.command_fields(text, trigger, "C0REPORTS1", user))
                .expect("form");
        self.post_signed(
            "/slack/commands",
            "application/x-www-form-urlencoded",
            &body,
            SECRET,
            now(),
        )
        .await
    }

    /// A command as a Socket Mode envelope carries it.
    pub fn command_json(&self, text: &str, trigger: &str) -> Value {
        self.command_json_as(text, trigger, "U0USER0001")
    }

    /// A command from `user` as a Socket Mode envelope carries it.
    pub fn command_json_as(&self, text: &str, trigger: &str, user: &str) -> Value {
        let fields = self.command_fields(text, trigger, "C0REPORTS1", user);
        Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::String(v)))
                .collect(),
        )
    }

    fn command_fields(
        &self,
        text: &str,
        trigger: &str,
        channel: &str,
        user: &str,
    ) -> Vec<(&'static str, String)> {
        command_fields(&self.fake, text, trigger, channel, user)
    }

    pub fn command_body(&self, text: &str, trigger: &str, channel: &str) -> String {
        serde_urlencoded::to_string(self.command_fields(text, trigger, channel, "U0USER0001"))
            .expect("form")
    }

    /// The outbox, for assertions.
    pub async fn outbox(&self) -> Vec<vibe::store::OutboxStatus> {
        self.store.outbox().await.expect("outbox")
    }
}

/// A slash command's form fields as Slack sends them, answering to the fake's response URL.
pub fn command_fields(
    fake: &FakeSlack,
    text: &str,
    trigger: &str,
    channel: &str,
    user: &str,
) -> Vec<(&'static str, String)> {
    [
        ("token", "deprecated"),
        ("team_id", "T0TEAM0001"),
        ("team_domain", "example"),
        ("channel_id", channel),
        ("channel_name", "marketing"),
        ("user_id", user),
        ("user_name", "steve"),
        ("command", "/vibe"),
        ("text", text),
        ("api_app_id", "A0APP00001"),
        ("is_enterprise_install", "false"),
        ("response_url", &fake.response_url(trigger)),
        ("trigger_id", trigger),
    ]
    .iter()
    .map(|(k, v)| (*k, v.to_string()))
    .collect()
}

pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Slack's signature: `v0=` + hex HMAC-SHA256(secret, `v0:{ts}:{body}`).
pub fn sign(secret: &str, ts: i64, body: &str) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).expect("key");
    mac.update(format!("v0:{ts}:{body}").as_bytes());
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// One HTTP POST over loopback; returns status and body.
pub async fn send(url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut req = hyper::Request::post(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req
        .body(Full::new(bytes::Bytes::from(body.to_string())))
        .expect("request");
    let res = client.request(req).await.expect("send");
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// One HTTP GET.
pub async fn get(url: &str) -> (u16, String) {
    let client: Client<_, Full<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let req = hyper::Request::get(url)
        .body(Full::new(bytes::Bytes::new()))
        .expect("request");
    let res = client.request(req).await.expect("send");
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

pub fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}
