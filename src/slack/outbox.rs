//! Delivering the outbox (DESIGN.md §8): claim a due row, send it, record Slack's `ts`; back
//! off on 429 (as long as `Retry-After` says), 5xx and timeouts; give up on errors that won't
//! change, telling the person who asked; and before re-sending a row whose earlier attempt may
//! have reached Slack, look for its key in the channel first.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use serde::{Deserialize, Serialize};
use slack_morphism::prelude::SlackBlock;
use tokio::sync::{watch, Notify};

use super::blocks::Message;
use super::web::{SlackWeb, WebError};
use crate::store::{NewOutboxMessage, OutboxKind, OutboxRow, Store, StoreError};

/// What an outbox row holds, as JSON.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboxBody {
    Message {
        text: String,
        blocks: Vec<SlackBlock>,
    },
    File {
        filename: String,
        title: String,
        alt: String,
        png_base64: String,
    },
}

/// A message for the outbox: a top-level post (`parent` None) or a reply in a parent's thread.
pub fn post(
    key: &str,
    channel: &str,
    parent: Option<&str>,
    m: &Message,
    response_url: Option<&str>,
) -> NewOutboxMessage {
    let body = OutboxBody::Message {
        text: m.text.clone(),
        blocks: m.blocks.clone(),
    };
    NewOutboxMessage {
        key: key.to_string(),
        kind: OutboxKind::Post,
        channel: channel.to_string(),
        parent_key: parent.map(str::to_string),
        // Text, blocks and strings always serialise; an empty body would fail visibly on delivery.
        body: serde_json::to_string(&body).unwrap_or_default(),
        response_url: response_url.map(str::to_string),
    }
}

/// A replacement of the parent's message (`chat.update`).
pub fn update(key: &str, channel: &str, parent: &str, m: &Message) -> NewOutboxMessage {
    NewOutboxMessage {
        kind: OutboxKind::Update,
        ..post(key, channel, Some(parent), m, None)
    }
}

/// A PNG shared into the parent's thread.
pub fn file(
    key: &str,
    channel: &str,
    parent: &str,
    filename: &str,
    title: &str,
    alt: &str,
    png: &[u8],
) -> NewOutboxMessage {
    let body = OutboxBody::File {
        filename: filename.to_string(),
        title: title.to_string(),
        alt: alt.to_string(),
        png_base64: base64::engine::general_purpose::STANDARD.encode(png),
    };
    NewOutboxMessage {
        key: key.to_string(),
        kind: OutboxKind::File,
        channel: channel.to_string(),
        parent_key: Some(parent.to_string()),
        body: serde_json::to_string(&body).unwrap_or_default(),
        response_url: None,
    }
}

/// What one step of the worker did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Nothing was due.
    Idle,
    Delivered {
        key: String,
        ts: Option<String>,
    },
    /// Found in Slack from an earlier attempt; not sent again.
    Reconciled {
        key: String,
        ts: String,
    },
    Retry {
        key: String,
        after: Duration,
        error: String,
    },
    Failed {
        key: String,
        error: String,
    },
}

/// Delivery settings.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// How long a claim lasts, in seconds.
    pub lease_secs: i64,
    /// How long after it was queued a message that keeps failing (429, 5xx, timeouts) is
    /// given up on, in seconds.
    pub lifetime_secs: i64,
}

/// Why a delivery attempt didn't finish.
#[derive(Debug)]
enum DeliverError {
    /// Slack's answer (or its absence).
    Web(WebError),
    /// vibe's own database failed mid-delivery: says nothing about the message, so it is
    /// tried again, never given up on for it.
    Store(StoreError),
}

impl From<WebError> for DeliverError {
    fn from(e: WebError) -> Self {
        DeliverError::Web(e)
    }
}

/// How long to wait before trying a row again after `e`, or None when `e` won't change by
/// waiting. A 429 waits what Retry-After says; 5xx and timeouts back off exponentially (1 s,
/// 2 s, … at most 5 minutes). Jitter (up to a fifth of the wait, at most 5 s) spreads the
/// retries of many rows and replicas so they don't all come back in the same second.
pub fn retry_delay(e: &WebError, attempts: i64, jitter: f64) -> Option<Duration> {
    let base = match e {
        WebError::RateLimited(d) => *d,
        WebError::Unavailable(_) => {
            Duration::from_secs(1u64 << (attempts.clamp(1, 9) - 1)).min(Duration::from_secs(300))
        }
        _ => return None,
    };
    let spread = (base.as_secs_f64() / 5.0).clamp(0.5, 5.0);
    Some(base + Duration::from_secs_f64(spread * jitter.clamp(0.0, 1.0)))
}

/// Claims and delivers at most one row. `now` is the worker's clock (tests pass their own):
/// the claim, the next attempt's time and the lifetime are all reckoned from it.
pub async fn try_deliver_one(
    store: &Store,
    web: &SlackWeb,
    policy: Policy,
    now: i64,
) -> Result<Step, StoreError> {
    let Some(row) = store.claim_outbox(now, policy.lease_secs).await? else {
        return Ok(Step::Idle);
    };
    let started = std::time::Instant::now();
    let span = tracing::info_span!("outbox", key = %row.key, attempt = row.attempts);
    let result = tracing::Instrument::instrument(deliver(store, web, &row), span).await;
    let now = now + started.elapsed().as_secs() as i64;
    match result {
        Ok(Sent::New(ts)) => {
            store.outbox_delivered(row.id, ts.as_deref(), now).await?;
            tracing::info!(key = %row.key, kind = row.kind.as_str(), "delivered to Slack");
            Ok(Step::Delivered { key: row.key, ts })
        }
        Ok(Sent::Found(ts)) => {
            store.outbox_delivered(row.id, Some(&ts), now).await?;
            tracing::info!(key = %row.key, "found in Slack from an earlier attempt; not sent again");
            Ok(Step::Reconciled { key: row.key, ts })
        }
        Err(DeliverError::Store(e)) => {
            // Whatever reached Slack may have: look before sending again.
            let error = format!("vibe's database failed during delivery: {e}");
            tracing::error!(key = %row.key, %error, "outbox: will try again");
            let after = Duration::from_secs(5);
            store
                .outbox_retry(row.id, now + 5, &error, true, now)
                .await?;
            Ok(Step::Retry {
                key: row.key,
                after,
                error,
            })
        }
        Err(DeliverError::Web(e)) => {
            let error = e.to_string();
            let deadline = row.created_at.saturating_add(policy.lifetime_secs);
            match retry_delay(&e, row.attempts, rand::random::<f64>()) {
                Some(after) => {
                    // Whole seconds in the database, rounded up so the wait is never shorter.
                    let next = now + (after.as_secs_f64().ceil() as i64).max(1);
                    if next <= deadline {
                        store
                            .outbox_retry(row.id, next, &error, e.in_doubt(), now)
                            .await?;
                        tracing::warn!(key = %row.key, %error, ?after, "Slack delivery will be retried");
                        return Ok(Step::Retry {
                            key: row.key,
                            after,
                            error,
                        });
                    }
                    let hours = policy.lifetime_secs as f64 / 3600.0;
                    let error = format!(
                        "gave up: not delivered within its lifetime of {hours:.1} h (slack.outbox_lifetime_secs); last error: {error}"
                    );
                    give_up(store, web, &row, &e, &error, true, now).await
                }
                None => give_up(store, web, &row, &e, &error, false, now).await,
            }
        }
    }
}

/// Gives up on `row`, counts and logs it, and tells the person who asked, if anyone did.
async fn give_up(
    store: &Store,
    web: &SlackWeb,
    row: &OutboxRow,
    e: &WebError,
    error: &str,
    expired: bool,
    now: i64,
) -> Result<Step, StoreError> {
    store.outbox_failed(row.id, error, expired, now).await?;
    let reason = if expired { "expired" } else { "refused" };
    crate::metrics::inc("vibe_outbox_given_up_total", &[("reason", reason)]);
    tracing::error!(key = %row.key, %error, reason, "Slack delivery given up");
    if let Some(url) = &row.response_url {
        // The person's answer is a courtesy: the failure is already recorded and logged.
        if let Err(re) = web
            .respond(url, &failure_message(e, &row.channel), false, false)
            .await
        {
            tracing::warn!(key = %row.key, error = %re, "can't tell the person who asked");
        }
    }
    Ok(Step::Failed {
        key: row.key.clone(),
        error: error.to_string(),
    })
}

/// What to tell the person who asked when a message can't be posted.
pub fn failure_message(e: &WebError, channel: &str) -> Message {
    // The section may mention the channel; the top-level text is plain (it is escaped).
    let (text, section) = match e.code() {
        Some("not_in_channel") => (
            "I'm not in that channel, so I can't post there. Invite me with /invite @vibe, then try again.".to_string(),
            format!("I'm not in <#{channel}>, so I can't post there. Invite me with `/invite @vibe`, then try again."),
        ),
        Some("channel_not_found") => (
            "I can't see that channel. If it's private, invite me with /invite @vibe, then try again.".to_string(),
            format!("I can't see <#{channel}>. If it's private, invite me with `/invite @vibe`, then try again."),
        ),
        Some("is_archived") => (
            "That channel is archived, so I can't post there.".to_string(),
            format!("<#{channel}> is archived, so I can't post there."),
        ),
        _ => {
            let t = format!("Slack didn't accept the message ({e}). Nothing else was changed.");
            (t.clone(), super::blocks::escape(&t))
        }
    };
    Message::new(
        &text,
        vec![super::blocks::section(&format!("⚠️ {section}"))],
    )
}

enum Sent {
    New(Option<String>),
    Found(String),
}

async fn deliver(store: &Store, web: &SlackWeb, row: &OutboxRow) -> Result<Sent, DeliverError> {
    let body: OutboxBody = serde_json::from_str(&row.body)
        .map_err(|e| WebError::Protocol(format!("outbox body: {e}")))?;
    // Look back from a little before the row was queued.
    let oldest = row.created_at - 120;
    match (row.kind, body) {
        (OutboxKind::Post, OutboxBody::Message { text, blocks }) => {
            let thread = row.parent_ts.as_deref();
            if row.in_doubt {
                if let Some(ts) = web
                    .find_by_key(&row.channel, thread, &row.key, oldest)
                    .await?
                {
                    return Ok(Sent::Found(ts));
                }
            }
            let m = Message { text, blocks };
            Ok(web
                .post_message(&row.channel, thread, &m, &row.key)
                .await
                .map(|ts| Sent::New(Some(ts)))?)
        }
        (OutboxKind::Update, OutboxBody::Message { text, blocks }) => {
            let ts = row
                .parent_ts
                .as_deref()
                .ok_or_else(|| WebError::Protocol("update without the message's ts".into()))?;
            // An update sets the whole message, so repeating it is harmless.
            web.update_message(&row.channel, ts, &Message { text, blocks })
                .await?;
            Ok(Sent::New(Some(ts.to_string())))
        }
        (
            OutboxKind::File,
            OutboxBody::File {
                filename,
                title,
                alt,
                png_base64,
            },
        ) => {
            let thread = row
                .parent_ts
                .as_deref()
                .ok_or_else(|| WebError::Protocol("file without its thread's ts".into()))?;
            let file_id = match &row.file_id {
                Some(id) => {
                    if row.in_doubt {
                        if let Some(ts) = web
                            .find_file_share(&row.channel, thread, id, oldest)
                            .await?
                        {
                            return Ok(Sent::Found(ts));
                        }
                    }
                    id.clone()
                }
                None => {
                    let png = base64::engine::general_purpose::STANDARD
                        .decode(png_base64)
                        .map_err(|e| WebError::Protocol(format!("outbox file: {e}")))?;
                    let id = web.upload_file(&filename, &png, &alt).await?;
                    store
                        .outbox_file_id(row.id, &id)
                        .await
                        .map_err(DeliverError::Store)?;
                    id
                }
            };
            match web.share_file(&file_id, &title, &row.channel, thread).await {
                // Completing twice: the first completion went through.
                Err(WebError::Api { code, .. }) if code == "file_not_found" && row.in_doubt => {
                    Ok(Sent::New(None))
                }
                other => Ok(other.map(|_| Sent::New(None))?),
            }
        }
        (kind, _) => Err(WebError::Protocol(format!(
            "outbox row of kind {} has the wrong body",
            kind.as_str()
        ))
        .into()),
    }
}

/// The worker: delivers until `stop` turns true, waking on `wake` when something is queued.
pub async fn run(
    store: Store,
    web: SlackWeb,
    policy: Policy,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        if *stop.borrow() {
            break;
        }
        let step = try_deliver_one(&store, &web, policy, chrono::Utc::now().timestamp()).await;
        match step {
            Ok(Step::Idle) => {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                    _ = stop.changed() => {}
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::error!(error = %e, "outbox: database error");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stop.changed() => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_what_slack_says_plus_jitter_and_only_for_errors_that_can_pass() {
        let secs = Duration::from_secs;
        let cases: Vec<(WebError, i64, f64, Option<(f64, f64)>)> = vec![
            // 429: Retry-After, plus up to a fifth of it (at least half a second, at most 5 s).
            (WebError::RateLimited(secs(30)), 1, 0.0, Some((30.0, 30.0))),
            (WebError::RateLimited(secs(30)), 1, 1.0, Some((35.0, 35.0))),
            (WebError::RateLimited(secs(10)), 1, 1.0, Some((12.0, 12.0))),
            (WebError::RateLimited(secs(0)), 1, 1.0, Some((0.5, 0.5))),
            (
                WebError::RateLimited(secs(600)),
                40,
                1.0,
                Some((605.0, 605.0)),
            ),
            // 5xx and timeouts: 1 s, 2 s, 4 s … at most 300 s.
            (
                WebError::Unavailable("HTTP 503".into()),
                1,
                0.0,
                Some((1.0, 1.0)),
            ),
            (
                WebError::Unavailable("HTTP 503".into()),
                3,
                0.0,
                Some((4.0, 4.0)),
            ),
            (
                WebError::Unavailable("timeout".into()),
                50,
                0.0,
                Some((256.0, 256.0)),
            ),
            (
                WebError::Unavailable("timeout".into()),
                50,
                1.0,
                Some((261.0, 261.0)),
            ),
            // Refusals don't pass by waiting.
            (
                WebError::Api {
                    code: "not_in_channel".into(),
                    detail: None,
                },
                1,
                0.5,
                None,
            ),
            (WebError::Protocol("bad body".into()), 1, 0.5, None),
        ];
        for (e, attempts, jitter, want) in cases {
            let got = retry_delay(&e, attempts, jitter).map(|d| d.as_secs_f64());
            match (got, want) {
                (Some(g), Some((lo, hi))) => assert!(g >= lo - 1e-9 && g <= hi + 1e-9, "{e}: {g}"),
                (None, None) => {}
                other => panic!("{e} after {attempts}: {other:?}"),
            }
        }
    }

    #[test]
    fn failures_tell_the_user_what_to_do() {
        let cases = [
            ("not_in_channel", "/invite @vibe"),
            ("channel_not_found", "/invite @vibe"),
            ("is_archived", "archived"),
            ("invalid_blocks", "didn't accept"),
        ];
        for (code, want) in cases {
            let m = failure_message(
                &WebError::Api {
                    code: code.into(),
                    detail: None,
                },
                "C1",
            );
            assert!(m.text.contains(want), "{code}: {}", m.text);
        }
    }

    #[test]
    fn bodies_round_trip_through_json() {
        let m = Message::new("hi", vec![super::super::blocks::section("*hi* <@U1>")]);
        let row = post("k", "C1", None, &m, None);
        let back: OutboxBody = serde_json::from_str(&row.body).unwrap();
        match back {
            OutboxBody::Message { text, blocks } => {
                assert_eq!(text, "hi");
                assert_eq!(blocks, m.blocks);
            }
            other => panic!("{other:?}"),
        }
        let f = file("f", "C1", "k", "chart.png", "Chart", "alt", &[1, 2, 3]);
        assert_eq!(f.parent_key.as_deref(), Some("k"));
        assert!(matches!(
            serde_json::from_str(&f.body).unwrap(),
            OutboxBody::File { .. }
        ));
    }
}
