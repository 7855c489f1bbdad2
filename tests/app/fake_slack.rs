//! A fake Slack: the Web API (`/api/{method}`), the file upload host and response URLs, on
//! 127.0.0.1 port 0. It records every call, answers in Slack's shapes
//! (reference/slack-api-shapes.md), and can be told to answer a method with 429, 500, an
//! `ok: false` error, or to accept a message and never answer.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use axum::{Json, Router};
use serde_json::{json, Value};

/// How the fake answers the next call of a method.
#[derive(Debug, Clone)]
pub enum Script {
    /// HTTP 429 with `Retry-After: secs`.
    RateLimited(u64),
    /// HTTP 500.
    ServerError,
    /// `{"ok": false, "error": code}`.
    Error(&'static str),
    /// Do the call (record the message), then never answer.
    AcceptAndHang,
}

/// One call the fake received.
#[derive(Debug, Clone)]
pub struct Call {
    pub method: String,
    pub args: Value,
    pub at: std::time::Instant,
}

/// A message as the fake stores it.
#[derive(Debug, Clone)]
pub struct Posted {
    pub channel: String,
    pub ts: String,
    pub thread_ts: Option<String>,
    pub text: String,
    pub blocks: Value,
    pub metadata: Value,
    pub files: Vec<String>,
}

#[derive(Default)]
struct Inner {
    calls: Vec<Call>,
    messages: Vec<Posted>,
    uploads: HashMap<String, (usize, bool)>,
    scripts: HashMap<String, VecDeque<Script>>,
    responses: Vec<(String, Value)>,
    next: u64,
    groups: HashMap<String, Vec<String>>,
    users: HashMap<String, String>,
    /// (id, name) of the channels `conversations.list` shows, in order.
    channels: Vec<(String, String)>,
    socket_url: Option<String>,
}

#[derive(Clone)]
pub struct FakeSlack {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeSlack {
    pub async fn start() -> FakeSlack {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake");
        let addr = listener.local_addr().expect("addr");
        let fake = FakeSlack { addr, inner };
        let router = Router::new()
            .route("/api/{method}", any(api))
            .route("/upload/{file}", post(upload))
            .route("/response/{id}", post(response))
            .with_state(fake.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        fake
    }

    /// The Web API base URL for vibe's `slack.api_url`.
    pub fn api_url(&self) -> String {
        format!("http://{}/api", self.addr)
    }

    /// A response_url for a command or action.
    pub fn response_url(&self, id: &str) -> String {
        format!("http://{}/response/{id}", self.addr)
    }

    /// Makes a user group with these members (for `usergroups.users.list`).
    pub fn set_group(&self, id: &str, members: &[&str]) {
        self.inner.lock().unwrap().groups.insert(
            id.to_string(),
            members.iter().map(|m| m.to_string()).collect(),
        );
    }

    /// Gives a user a time zone (for `users.info`); unknown users are `user_not_found`.
    pub fn set_user_tz(&self, user: &str, tz: &str) {
        self.inner
            .lock()
            .unwrap()
            .users
            .insert(user.to_string(), tz.to_string());
    }

    /// The channels the workspace has, for `conversations.list`: (id, name).
    pub fn set_channels(&self, channels: &[(&str, &str)]) {
        self.inner.lock().unwrap().channels = channels
            .iter()
            .map(|(id, name)| (id.to_string(), name.to_string()))
            .collect();
    }

    /// Where `apps.connections.open` sends the app (a fake Socket Mode server).
    pub fn set_socket_url(&self, url: &str) {
        self.inner.lock().unwrap().socket_url = Some(url.to_string());
    }

    /// Forgets every scripted answer not given yet.
    pub fn clear_scripts(&self) {
        self.inner.lock().unwrap().scripts.clear();
    }

    /// Answers the next call of `method` as scripted (scripts queue up).
    pub fn script(&self, method: &str, s: Script) {
        self.inner
            .lock()
            .unwrap()
            .scripts
            .entry(method.into())
            .or_default()
            .push_back(s);
    }

    pub fn calls(&self, method: &str) -> Vec<Call> {
        self.inner
            .lock()
            .unwrap()
            .calls
            .iter()
            .filter(|c| c.method == method)
            .cloned()
            .collect()
    }

    pub fn all_calls(&self) -> Vec<Call> {
        self.inner.lock().unwrap().calls.clone()
    }

    pub fn messages(&self) -> Vec<Posted> {
        self.inner.lock().unwrap().messages.clone()
    }

    /// What was posted to response URLs: (id, body).
    pub fn responses(&self) -> Vec<(String, Value)> {
        self.inner.lock().unwrap().responses.clone()
    }

    /// Waits until `f` holds (up to `secs`), polling.
    pub async fn wait_for(&self, secs: u64, what: &str, f: impl Fn(&FakeSlack) -> bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(secs);
        while !f(self) {
            if std::time::Instant::now() > deadline {
                panic!(
                    "timed out waiting for {what}; calls: {:?}",
                    self.all_calls()
                        .iter()
                        .map(|c| &c.method)
                        .collect::<Vec<_>>()
                );
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

/// A message ts as Slack makes them: Unix seconds now, a dot, six digits unique here.
fn fake_ts(n: u64) -> String {
    format!("{}.{:06}", chrono::Utc::now().timestamp(), n % 1_000_000)
}

fn slack_json(v: Value) -> Response {
    (
        StatusCode::OK,
        [("content-type", "application/json; charset=utf-8")],
        v.to_string(),
    )
        .into_response()
}

/// The call's arguments, however they came: query string, JSON body or form.
fn args(query: Option<String>, headers: &HeaderMap, body: &[u8]) -> Value {
    let mut out = serde_json::Map::new();
    if let Some(q) = query {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&q).unwrap_or_default();
        for (k, v) in pairs {
            out.insert(k, Value::String(v));
        }
    }
    let ct = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if ct.starts_with("application/json") {
        if let Ok(Value::Object(o)) = serde_json::from_slice::<Value>(body) {
            out.extend(o);
        }
    } else if !body.is_empty() {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
        for (k, v) in pairs {
            let parsed = serde_json::from_str::<Value>(&v)
                .ok()
                .filter(|x| x.is_object() || x.is_array());
            out.insert(k, parsed.unwrap_or(Value::String(v)));
        }
    }
    Value::Object(out)
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k).and_then(|x| x.as_str()).map(str::to_string)
}

async fn api(
    State(fake): State<FakeSlack>,
    Path(method): Path<String>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let a = args(query, &headers, &body);
    let authed = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer xox") || v.starts_with("Bearer xapp"));
    let script = {
        let mut g = fake.inner.lock().unwrap();
        g.calls.push(Call {
            method: method.clone(),
            args: a.clone(),
            at: std::time::Instant::now(),
        });
        g.scripts.get_mut(&method).and_then(|q| q.pop_front())
    };
    if !authed {
        return slack_json(json!({"ok": false, "error": "not_authed"}));
    }
    let hang = match script {
        Some(Script::RateLimited(secs)) => {
            return (
                StatusCode::TOO_MANY_REQUESTS,
                [
                    ("retry-after", secs.to_string()),
                    ("content-type", "application/json; charset=utf-8".into()),
                ],
                json!({"ok": false, "error": "ratelimited"}).to_string(),
            )
                .into_response()
        }
        Some(Script::ServerError) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
        Some(Script::Error(code)) => return slack_json(json!({"ok": false, "error": code})),
        Some(Script::AcceptAndHang) => true,
        None => false,
    };
    let answer = handle(&fake, &method, &a);
    if hang {
        // The call took effect; the answer never comes (until the client gives up).
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    slack_json(answer)
}

fn handle(fake: &FakeSlack, method: &str, a: &Value) -> Value {
    let mut g = fake.inner.lock().unwrap();
    match method {
        "auth.test" => json!({"ok": true, "url": "https://example.slack.com/", "team": "Example",
            "user": "vibe", "team_id": "T0TEAM0001", "user_id": "U0BOT00001", "bot_id": "B0BOT00001"}),
        "chat.postMessage" => {
            let Some(channel) = s(a, "channel") else {
                return json!({"ok": false, "error": "channel_not_found"});
            };
            let blocks = a.get("blocks").cloned().unwrap_or(Value::Null);
            if blocks.as_array().is_some_and(|b| b.len() > 50) {
                return json!({"ok": false, "error": "invalid_blocks", "errors": ["no more than 50 items allowed [json-pointer:/blocks]"]});
            }
            g.next += 1;
            let ts = fake_ts(g.next);
            let m = Posted {
                channel: channel.clone(),
                ts: ts.clone(),
                thread_ts: s(a, "thread_ts"),
                text: s(a, "text").unwrap_or_default(),
                blocks: blocks.clone(),
                metadata: a.get("metadata").cloned().unwrap_or(Value::Null),
                files: Vec::new(),
            };
            g.messages.push(m.clone());
            let mut message = json!({"type": "message", "user": "U0BOT00001", "bot_id": "B0BOT00001",
                "text": m.text, "ts": ts, "metadata": m.metadata});
            if !blocks.is_null() {
                message["blocks"] = blocks;
            }
            if let Some(t) = &m.thread_ts {
                message["thread_ts"] = json!(t);
            }
            json!({"ok": true, "channel": channel, "ts": ts, "message": message})
        }
        "chat.update" => {
            let (Some(channel), Some(ts)) = (s(a, "channel"), s(a, "ts")) else {
                return json!({"ok": false, "error": "invalid_arguments"});
            };
            let Some(m) = g
                .messages
                .iter_mut()
                .find(|m| m.channel == channel && m.ts == ts)
            else {
                return json!({"ok": false, "error": "message_not_found"});
            };
            m.text = s(a, "text").unwrap_or_default();
            m.blocks = a.get("blocks").cloned().unwrap_or(Value::Null);
            json!({"ok": true, "channel": channel, "ts": ts, "text": m.text, "message": {"text": m.text}})
        }
        "conversations.history" | "conversations.replies" => {
            let channel = s(a, "channel").unwrap_or_default();
            let with_payload = s(a, "include_all_metadata").as_deref() == Some("true");
            let oldest: f64 = s(a, "oldest").and_then(|o| o.parse().ok()).unwrap_or(0.0);
            let thread = s(a, "ts");
            let mut found: Vec<Value> = g
                .messages
                .iter()
                .filter(|m| m.channel == channel)
                .filter(|m| match (&thread, &m.thread_ts) {
                    (None, None) => true,
                    (Some(t), Some(mt)) => t == mt,
                    (Some(t), None) => *t == m.ts,
                    (None, Some(_)) => false,
                })
                .filter(|m| m.ts.parse::<f64>().unwrap_or(0.0) > oldest)
                .map(|m| {
                    let mut md = m.metadata.clone();
                    if !with_payload {
                        if let Some(o) = md.as_object_mut() {
                            o.remove("event_payload");
                        }
                    }
                    let mut v = json!({"type": "message", "user": "U0BOT00001", "bot_id": "B0BOT00001", "text": m.text, "ts": m.ts});
                    if !md.is_null() {
                        v["metadata"] = md;
                    }
                    if !m.files.is_empty() {
                        v["files"] = json!(m.files.iter().map(|f| json!({"id": f})).collect::<Vec<_>>());
                    }
                    v
                })
                .collect();
            found.reverse();
            json!({"ok": true, "messages": found, "has_more": false, "response_metadata": {"next_cursor": ""}})
        }
        "files.getUploadURLExternal" => {
            let length: usize = s(a, "length").and_then(|l| l.parse().ok()).unwrap_or(0);
            if length == 0 || s(a, "filename").is_none() {
                return json!({"ok": false, "error": "missing_argument"});
            }
            g.next += 1;
            let id = format!("F0FILE{:04}", g.next);
            g.uploads.insert(id.clone(), (length, false));
            json!({"ok": true, "upload_url": format!("http://{}/upload/{id}", fake.addr), "file_id": id})
        }
        "files.completeUploadExternal" => {
            let files = a
                .get("files")
                .and_then(|f| f.as_array())
                .cloned()
                .unwrap_or_default();
            let mut out = Vec::new();
            for f in &files {
                let id = s(f, "id").unwrap_or_default();
                match g.uploads.get_mut(&id) {
                    Some((_, done)) if !*done => *done = true,
                    _ => return json!({"ok": false, "error": "file_not_found"}),
                }
                out.push(json!({"id": id, "title": s(f, "title"), "name": s(f, "title")}));
            }
            if let Some(channel) = s(a, "channel_id") {
                g.next += 1;
                let ts = fake_ts(g.next);
                g.messages.push(Posted {
                    channel,
                    ts,
                    thread_ts: s(a, "thread_ts"),
                    text: String::new(),
                    blocks: Value::Null,
                    metadata: Value::Null,
                    files: files.iter().filter_map(|f| s(f, "id")).collect(),
                });
            }
            json!({"ok": true, "files": out})
        }
        "views.open" => {
            let mut view = a.get("view").cloned().unwrap_or(json!({}));
            if s(a, "trigger_id").is_none() || view.get("type").is_none() {
                return json!({"ok": false, "error": "invalid_arguments"});
            }
            g.next += 1;
            view["id"] = json!(format!("V0VIEW{:04}", g.next));
            view["team_id"] = json!("T0TEAM0001");
            view["hash"] = json!(format!("{}.hash", g.next));
            view["state"] = json!({"values": {}});
            json!({"ok": true, "view": view})
        }
        "usergroups.users.list" => match s(a, "usergroup").and_then(|u| g.groups.get(&u)) {
            Some(users) => json!({"ok": true, "users": users}),
            None => json!({"ok": false, "error": "no_such_subteam"}),
        },
        // Paged as Slack pages it: `limit` per page, an opaque cursor, "" on the last page.
        "conversations.list" => {
            let limit = s(a, "limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(100)
                .clamp(1, 1000);
            let from = s(a, "cursor")
                .and_then(|c| c.strip_prefix("dGVhbTpD").map(str::to_string))
                .and_then(|c| c.parse::<usize>().ok())
                .unwrap_or(0);
            let page: Vec<Value> = g
                .channels
                .iter()
                .skip(from)
                .take(limit)
                .map(|(id, name)| {
                    json!({"id": id, "name": name, "is_channel": true, "is_group": false,
                    "is_im": false, "created": 1_700_000_000, "is_archived": false,
                    "is_general": false, "name_normalized": name, "is_member": true})
                })
                .collect();
            let next = if from + limit < g.channels.len() {
                format!("dGVhbTpD{}", from + limit)
            } else {
                String::new()
            };
            json!({"ok": true, "channels": page, "response_metadata": {"next_cursor": next}})
        }
        "users.info" => match s(a, "user").and_then(|u| g.users.get(&u).map(|tz| (u, tz))) {
            Some((id, tz)) => {
                json!({"ok": true, "user": {"id": id, "name": "someone", "team_id": "T0TEAM0001",
                "deleted": false, "tz": tz, "tz_label": "Local", "tz_offset": 0,
                "is_admin": false, "is_owner": false, "is_bot": false, "profile": {}}})
            }
            None => json!({"ok": false, "error": "user_not_found"}),
        },
        "apps.connections.open" => match &g.socket_url {
            Some(url) => json!({"ok": true, "url": url}),
            None => json!({"ok": false, "error": "not_allowed_token_type"}),
        },
        _ => json!({"ok": false, "error": "unknown_method"}),
    }
}

async fn upload(State(fake): State<FakeSlack>, Path(file): Path<String>, body: Bytes) -> Response {
    let mut g = fake.inner.lock().unwrap();
    g.calls.push(Call {
        method: "upload".into(),
        args: json!({"file": file, "bytes": body.len()}),
        at: std::time::Instant::now(),
    });
    match g.uploads.get(&file) {
        Some((len, _)) if *len == body.len() => (
            StatusCode::OK,
            [("content-type", "text/plain")],
            format!("OK - {len}"),
        )
            .into_response(),
        _ => (StatusCode::BAD_REQUEST, "bad upload").into_response(),
    }
}

async fn response(
    State(fake): State<FakeSlack>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    fake.inner.lock().unwrap().responses.push((id, body));
    slack_json(json!({"ok": true}))
}
