//! Slack's HTTP endpoints. Every request's signature and timestamp are checked before anything
//! reads the body (DESIGN.md §7); a request that fails gets 401 and causes nothing. Commands
//! are acknowledged at once and finished in the background.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use slack_morphism::prelude::*;
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;

use super::{command, commands};
use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/slack/commands", post(command))
        .route("/slack/interactions", post(interaction))
        .route("/slack/events", post(event))
}

/// Why a request from Slack was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// No signing secret is configured, so nothing can be verified.
    NotConfigured,
    /// Missing, wrong or stale signature.
    Unverified(String),
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::NotConfigured => (
                StatusCode::SERVICE_UNAVAILABLE,
                "vibe can't verify Slack requests: SLACK_SIGNING_SECRET is not set",
            )
                .into_response(),
            Refusal::Unverified(why) => {
                crate::metrics::inc("vibe_unverified_requests_total", &[]);
                if let Some(suppressed) = UNVERIFIED_LOG.allow(chrono::Utc::now().timestamp()) {
                    tracing::warn!(%why, suppressed, "refused an unverified Slack request (logged at most once a minute; all are counted in vibe_unverified_requests_total)");
                }
                (
                    StatusCode::UNAUTHORIZED,
                    "request signature is missing, wrong or stale",
                )
                    .into_response()
            }
        }
    }
}

/// Lets a log line through at most once a minute, counting the ones held back: a flood of
/// forged requests must not flood the log too.
pub struct LogLimiter {
    /// The minute of the last line let through, and how many were held back since.
    state: std::sync::Mutex<(i64, u64)>,
}

impl LogLimiter {
    pub const fn new() -> Self {
        LogLimiter {
            state: std::sync::Mutex::new((i64::MIN, 0)),
        }
    }

    /// Some(how many were held back since the last one) when a line may be written at `now`.
    pub fn allow(&self, now: i64) -> Option<u64> {
        let mut g = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let minute = now.div_euclid(60);
        if g.0 == minute {
            g.1 += 1;
            return None;
        }
        let held = g.1;
        *g = (minute, 0);
        Some(held)
    }
}

impl Default for LogLimiter {
    fn default() -> Self {
        Self::new()
    }
}

static UNVERIFIED_LOG: LogLimiter = LogLimiter::new();

/// Reads a Slack request's body (at most [`crate::server::SLACK_BODY_LIMIT`], within the body
/// timeout) and verifies it; the body, or the answer to give.
async fn verified_body(app: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    // Refuse at once what could never verify, before reading anything: no secret, no
    // signature, or a timestamp that isn't a fresh whole number.
    let Some(verifier) = app.verifier.as_ref() else {
        return Err(Refusal::NotConfigured.into_response());
    };
    fresh_headers(headers, chrono::Utc::now().timestamp()).map_err(IntoResponse::into_response)?;
    // A signature can only be checked over the whole body, so bodies are read a few at a time:
    // forged requests trickling large bodies can't pile up memory.
    // The usual case takes a free slot at once; only a crowd waits, at most a second.
    let permit = match app.slack_reads.try_acquire() {
        Ok(p) => Some(p),
        Err(_) => {
            tokio::time::timeout(std::time::Duration::from_secs(1), app.slack_reads.acquire())
                .await
                .ok()
                .and_then(Result::ok)
        }
    };
    let Some(_permit) = permit else {
        return Err((
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "1")],
            "busy reading other requests; try again",
        )
            .into_response());
    };
    // Slack sends its small bodies at once; a slower one is someone else's.
    let timeout = app.body_timeout().min(std::time::Duration::from_secs(10));
    let limit = crate::server::SLACK_BODY_LIMIT;
    let body = crate::server::read_body(headers, body, limit, timeout).await?;
    signature_matches(verifier, headers, &body).map_err(IntoResponse::into_response)?;
    Ok(body)
}

/// How far a request's timestamp may be from now: Slack's five minutes.
const FRESH_SECS: i64 = 300;

/// The checks that need no body: a signature header, and a timestamp that is a whole number
/// within five minutes of `now` (also keeps absurd values like i64::MIN away from the
/// verifier's arithmetic).
fn fresh_headers(headers: &HeaderMap, now: i64) -> Result<(), Refusal> {
    if headers
        .get(SlackEventSignatureVerifier::SLACK_SIGNED_HASH_HEADER)
        .is_none()
    {
        return Err(Refusal::Unverified("no signature header".into()));
    }
    let ts = headers
        .get(SlackEventSignatureVerifier::SLACK_SIGNED_TIMESTAMP)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<i64>().ok())
        .ok_or_else(|| Refusal::Unverified("no timestamp, or not a number".into()))?;
    if ts.checked_sub(now).is_none_or(|d| d.abs() > FRESH_SECS) {
        return Err(Refusal::Unverified(format!("stale timestamp {ts}")));
    }
    Ok(())
}

/// Checks `X-Slack-Signature` over the raw body and `X-Slack-Request-Timestamp` within five
/// minutes of now (slack-morphism's verifier does both).
pub fn verify(
    verifier: Option<&SlackEventSignatureVerifier>,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Refusal> {
    let verifier = verifier.ok_or(Refusal::NotConfigured)?;
    fresh_headers(headers, chrono::Utc::now().timestamp())?;
    signature_matches(verifier, headers, body)
}

/// The signature over the body, once [`fresh_headers`] has passed.
fn signature_matches(
    verifier: &SlackEventSignatureVerifier,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), Refusal> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| Refusal::Unverified(format!("no {name} header")))
    };
    let signature = header(SlackEventSignatureVerifier::SLACK_SIGNED_HASH_HEADER)?;
    let timestamp = header(SlackEventSignatureVerifier::SLACK_SIGNED_TIMESTAMP)?;
    let body =
        std::str::from_utf8(body).map_err(|_| Refusal::Unverified("body is not UTF-8".into()))?;
    verifier
        .verify(signature, body, timestamp)
        .map_err(|e| Refusal::Unverified(e.to_string()))
}

fn bad_request(why: &str) -> Response {
    (StatusCode::BAD_REQUEST, why.to_string()).into_response()
}

async fn command(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let body = match verified_body(&app, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    // Slack's certificate check is a form with ssl_check=1 and no command.
    if body.starts_with(b"ssl_check=1") || body.windows(12).any(|w| w == b"&ssl_check=1") {
        return StatusCode::OK.into_response();
    }
    let started = std::time::Instant::now();
    // `/vibe help` is the same for everyone and changes nothing: it is answered from its text
    // alone, without reading the rest of the form (the response URL, the ids).
    let text = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "text")
        .map(|(_, v)| v);
    if text.as_deref().is_some_and(command::is_help) {
        crate::metrics::observe(
            "vibe_command_ack_seconds",
            &[("transport", "http")],
            started.elapsed().as_secs_f64(),
        );
        return json_reply(commands::Reply::Help);
    }
    let event: SlackCommandEvent = match serde_urlencoded::from_bytes(&body) {
        Ok(e) => e,
        Err(e) => return bad_request(&format!("not a slash command: {e}")),
    };
    tracing::Span::current().record("trigger", event.trigger_id.0.as_str());
    let reply = commands::handle(&app, event).await;
    crate::metrics::observe(
        "vibe_command_ack_seconds",
        &[("transport", "http")],
        started.elapsed().as_secs_f64(),
    );
    match reply {
        Some(reply) => json_reply(reply),
        None => StatusCode::OK.into_response(),
    }
}

fn json_reply(reply: commands::Reply) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], reply.json()).into_response()
}

async fn interaction(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let body = match verified_body(&app, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    #[derive(serde::Deserialize)]
    struct Form {
        payload: String,
    }
    let Ok(form) = serde_urlencoded::from_bytes::<Form>(&body) else {
        return bad_request("the body has no payload field");
    };
    let event: SlackInteractionEvent = match serde_json::from_str(&form.payload) {
        Ok(e) => e,
        Err(e) => return bad_request(&format!("not an interaction payload: {e}")),
    };
    match commands::interaction(&app, event).await {
        SlackInteractionResponse::Empty => StatusCode::OK.into_response(),
        reply => Json(reply).into_response(),
    }
}

async fn event(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let body = match verified_body(&app, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let event: SlackPushEvent = match serde_json::from_slice(&body) {
        Ok(e) => e,
        Err(e) => return bad_request(&format!("not an Events API payload: {e}")),
    };
    match event {
        SlackPushEvent::UrlVerification(v) => {
            Json(serde_json::json!({ "challenge": v.challenge })).into_response()
        }
        SlackPushEvent::EventCallback(cb) => {
            commands::push_event(&app, cb).await;
            StatusCode::OK.into_response()
        }
        _ => StatusCode::OK.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac_sign::sign;

    mod hmac_sign {
        use sha2::Digest;

        // HMAC-SHA256 written out, so the test doesn't trust the code it checks.
        pub fn sign(secret: &str, ts: &str, body: &str) -> String {
            let mut key = secret.as_bytes().to_vec();
            if key.len() > 64 {
                key = sha2::Sha256::digest(&key).to_vec();
            }
            key.resize(64, 0);
            let ipad: Vec<u8> = key.iter().map(|b| b ^ 0x36).collect();
            let opad: Vec<u8> = key.iter().map(|b| b ^ 0x5c).collect();
            let base = format!("v0:{ts}:{body}");
            let inner = sha2::Sha256::digest([ipad.as_slice(), base.as_bytes()].concat());
            let outer = sha2::Sha256::digest([opad.as_slice(), inner.as_slice()].concat());
            format!(
                "v0={}",
                outer.iter().map(|b| format!("{b:02x}")).collect::<String>()
            )
        }
    }

    fn headers(sig: Option<&str>, ts: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(s) = sig {
            h.insert("x-slack-signature", s.parse().unwrap());
        }
        if let Some(t) = ts {
            h.insert("x-slack-request-timestamp", t.parse().unwrap());
        }
        h
    }

    #[test]
    fn unverified_requests_are_logged_at_most_once_a_minute() {
        let l = LogLimiter::new();
        let seen: Vec<Option<u64>> = [0, 1, 30, 59, 60, 61, 200]
            .iter()
            .map(|t| l.allow(1_800_000_000 + t))
            .collect();
        // 1_800_000_000 is a whole minute: 0..59 share one, 60 and 61 the next, 200 another.
        assert_eq!(
            seen,
            vec![Some(0), None, None, None, Some(3), None, Some(1)]
        );
    }

    #[test]
    fn verification_accepts_only_signed_fresh_requests() {
        let secret = "8f742231b10e8888abcd99yyyzzz85a5";
        let v = SlackEventSignatureVerifier::new(&SlackSigningSecret(secret.into()));
        let now = chrono::Utc::now().timestamp();
        let body = "command=%2Fvibe&text=help";
        let ts = now.to_string();
        let good = sign(secret, &ts, body);
        let stale_ts = (now - 301).to_string();
        let stale = sign(secret, &stale_ts, body);
        let future_ts = (now + 400).to_string();
        let future = sign(secret, &future_ts, body);
        let other = sign("another secret", &ts, body);
        let min = i64::MIN.to_string();
        let min_signed = sign(secret, &min, body);
        let cases: Vec<(HeaderMap, &str, bool)> = vec![
            // Absurd timestamps are refused before any arithmetic on them.
            (headers(Some(&min_signed), Some(&min)), body, false),
            (headers(Some(&good), Some("12abc")), body, false),
            (
                headers(Some(&good), Some("99999999999999999999")),
                body,
                false,
            ),
            (headers(Some(&good), Some(&ts)), body, true),
            (
                headers(Some(&good), Some(&ts)),
                "command=%2Fvibe&text=report",
                false,
            ),
            (headers(Some(&stale), Some(&stale_ts)), body, false),
            (headers(Some(&future), Some(&future_ts)), body, false),
            (headers(Some(&other), Some(&ts)), body, false),
            (headers(None, Some(&ts)), body, false),
            (headers(Some(&good), None), body, false),
            (headers(Some("v0=zz"), Some(&ts)), body, false),
        ];
        for (i, (h, b, ok)) in cases.into_iter().enumerate() {
            assert_eq!(verify(Some(&v), &h, b.as_bytes()).is_ok(), ok, "case {i}");
        }
        assert_eq!(
            verify(None, &headers(Some(&good), Some(&ts)), body.as_bytes()),
            Err(Refusal::NotConfigured)
        );
    }
}
