//! A fake Socket Mode server on 127.0.0.1 port 0: it greets each connection with Slack's
//! `hello`, sends envelopes the test asks for, and records the app's acknowledgements.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

#[derive(Default)]
struct Inner {
    /// Sends a frame to the current connection.
    current: Option<mpsc::UnboundedSender<String>>,
    connections: usize,
    acks: HashMap<String, Value>,
    next: u64,
}

#[derive(Clone)]
pub struct FakeSocket {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

impl FakeSocket {
    pub async fn start() -> FakeSocket {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind socket fake");
        let addr = listener.local_addr().expect("addr");
        let fake = FakeSocket {
            url: format!("ws://{addr}/link/?ticket=fake"),
            inner: Arc::new(Mutex::new(Inner::default())),
        };
        let f = fake.clone();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(ws) = tokio_tungstenite::accept_async(tcp).await else {
                    continue;
                };
                let (mut tx, mut rx) = ws.split();
                let (out, mut outq) = mpsc::unbounded_channel::<String>();
                {
                    let mut g = f.inner.lock().unwrap();
                    g.connections += 1;
                    g.current = Some(out.clone());
                }
                let hello = json!({"type": "hello", "num_connections": 1,
                    "debug_info": {"host": "applink-fake", "build_number": 1, "approximate_connection_time": 18060},
                    "connection_info": {"app_id": "A0APP00001"}});
                let _ = out.send(hello.to_string());
                tokio::spawn(async move {
                    while let Some(frame) = outq.recv().await {
                        if tx.send(Message::text(frame)).await.is_err() {
                            break;
                        }
                    }
                });
                let f2 = f.clone();
                tokio::spawn(async move {
                    while let Some(Ok(m)) = rx.next().await {
                        if let Message::Text(t) = m {
                            if let Ok(v) = serde_json::from_str::<Value>(t.as_str()) {
                                if let Some(id) = v["envelope_id"].as_str() {
                                    f2.inner
                                        .lock()
                                        .unwrap()
                                        .acks
                                        .insert(id.to_string(), v.clone());
                                }
                            }
                        }
                    }
                });
            }
        });
        fake
    }

    pub fn connections(&self) -> usize {
        self.inner.lock().unwrap().connections
    }

    /// Waits until the app has connected `n` times.
    pub async fn wait_connected(&self, n: usize) {
        for _ in 0..200 {
            if self.connections() >= n && self.inner.lock().unwrap().current.is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "the app didn't connect over Socket Mode ({} connections)",
            self.connections()
        );
    }

    /// Sends an envelope; returns its id.
    pub fn send(&self, kind: &str, payload: Value, accepts_response_payload: bool) -> String {
        let mut g = self.inner.lock().unwrap();
        g.next += 1;
        let id = format!("env-{}-{}", g.next, kind);
        let frame = json!({"envelope_id": id, "type": kind, "payload": payload,
            "accepts_response_payload": accepts_response_payload, "retry_attempt": 0, "retry_reason": ""});
        g.current
            .as_ref()
            .expect("connected")
            .send(frame.to_string())
            .expect("send envelope");
        id
    }

    /// Asks the app to reconnect, as Slack does before it recycles a connection.
    pub fn disconnect(&self) {
        let g = self.inner.lock().unwrap();
        if let Some(c) = &g.current {
            let _ = c.send(
                json!({"type": "disconnect", "reason": "refresh_requested",
                "debug_info": {"host": "applink-fake"}})
                .to_string(),
            );
        }
    }

    /// Waits for the acknowledgement of an envelope.
    pub async fn ack(&self, id: &str) -> Value {
        for _ in 0..100 {
            if let Some(v) = self.inner.lock().unwrap().acks.get(id) {
                return v.clone();
            }
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        panic!("envelope {id} was never acknowledged");
    }
}
