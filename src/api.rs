//! The HTTP ingestion API: metrics and experiment observations as JSON, with bearer tokens
//! (`vibe token create`) stored as SHA-256 hashes. A request is all or nothing: a bad record
//! gets 400 naming the record and field, and nothing from that request is written.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Digest;

use crate::import::RowIssue;
use crate::server::AppState;

/// Scopes a token can carry.
pub const SCOPES: [&str; 2] = ["metrics:write", "observations:write"];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/metrics", post(metrics))
        .route("/api/v1/experiments/{id}/observations", post(observations))
}

/// A token's name: 1 to 64 letters, digits, `.`, `_` or `-` (it is printed in lists and logs).
pub fn check_token_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{name:?} is not a token name: use 1 to 64 letters, digits, '.', '_' or '-', e.g. instagram-collector"
        ))
    }
}

/// A new token: `vibe_` and 40 hex digits from the OS's random source.
pub fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 20];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!(
        "vibe_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    )
}

/// How a token is stored.
pub fn token_hash(token: &str) -> String {
    sha2::Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// An error answer: `{"error": "...", "problems": [...]}`.
#[derive(Debug, Serialize)]
struct ApiError {
    error: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    problems: Vec<Problem>,
}

#[derive(Debug, Serialize)]
struct Problem {
    /// 1-based position of the record in the request.
    record: u64,
    field: Option<String>,
    message: String,
}

fn fail(status: StatusCode, error: impl Into<String>) -> Response {
    (
        status,
        Json(ApiError {
            error: error.into(),
            problems: Vec::new(),
        }),
    )
        .into_response()
}

fn invalid(issues: Vec<RowIssue>) -> Response {
    let n = issues.len();
    let problems = issues
        .into_iter()
        .map(|i| Problem {
            record: i.line,
            field: i.column,
            message: i.message,
        })
        .collect();
    (
        StatusCode::BAD_REQUEST,
        Json(ApiError {
            error: format!("{n} invalid record(s); nothing was written"),
            problems,
        }),
    )
        .into_response()
}

/// The answer to a failed write: 503 with Retry-After when the database was only busy (other
/// writers held it past the busy timeout), else 500. Nothing was written either way.
fn store_failure(e: &crate::store::StoreError, what: &str) -> Response {
    if e.is_busy() {
        tracing::warn!(error = %e, "{what}: the database is busy");
        let mut r = fail(
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is busy with other writes; nothing was written: send the same request again in a few seconds",
        );
        r.headers_mut()
            .insert("retry-after", axum::http::HeaderValue::from_static("2"));
        return r;
    }
    tracing::error!(error = %e, "{what}");
    fail(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; nothing was written",
    )
}

/// Checks the bearer token and its scope; returns the token's name.
#[allow(clippy::result_large_err)]
async fn authorise(app: &AppState, headers: &HeaderMap, scope: &str) -> Result<String, Response> {
    let Some(token) = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
    else {
        return Err(fail(StatusCode::UNAUTHORIZED, "send a token as `Authorization: Bearer vibe_…` (create one with `vibe token create NAME`)"));
    };
    match app
        .store
        .authenticate_api_token(&token_hash(token), chrono::Utc::now().timestamp())
        .await
    {
        Ok(Some((name, scopes))) if scopes.iter().any(|s| s == scope) => Ok(name),
        Ok(Some((name, _))) => Err(fail(
            StatusCode::FORBIDDEN,
            format!("token {name:?} lacks the {scope} scope"),
        )),
        Ok(None) => Err(fail(StatusCode::UNAUTHORIZED, "unknown or revoked token")),
        Err(e) => {
            tracing::error!(error = %e, "token check failed");
            Err(fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; nothing was written",
            ))
        }
    }
}

/// The records of a body: a JSON array, `{"records": [...]}`, or JSON Lines.
#[allow(clippy::result_large_err)] // the error is the answer itself
fn records(body: &[u8]) -> Result<Vec<Value>, Response> {
    let text = std::str::from_utf8(body)
        .map_err(|_| fail(StatusCode::BAD_REQUEST, "the body is not UTF-8"))?;
    let trimmed = text.trim_start();
    if trimmed.starts_with('[')
        || trimmed.starts_with("{\"records\"")
        || trimmed.starts_with("{ \"records\"")
    {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(a)) => return Ok(a),
            Ok(Value::Object(mut o)) => {
                if let Some(Value::Array(a)) = o.remove("records") {
                    return Ok(a);
                }
            }
            Ok(_) => {}
            Err(e) => {
                return Err(fail(
                    StatusCode::BAD_REQUEST,
                    format!("the body is not JSON: {e}"),
                ))
            }
        }
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "send an array of records, or {\"records\": [...]}",
        ));
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<Value>(line) {
            Ok(v) => out.push(v),
            Err(e) => {
                return Err(invalid(vec![RowIssue::new(
                    i as u64 + 1,
                    None,
                    format!("is not JSON: {e}"),
                )]))
            }
        }
    }
    Ok(out)
}

/// The body, read only now that the token is known good: at most `server.max_body_bytes`,
/// within the body timeout.
async fn body_of(app: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, Response> {
    let limit = app.settings.server.max_body_bytes;
    crate::server::read_body(headers, body, limit, app.body_timeout()).await
}

async fn metrics(State(app): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let token = match authorise(&app, &headers, "metrics:write").await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let body = match body_of(&app, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let values = match records(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if values.is_empty() {
        return fail(StatusCode::BAD_REQUEST, "no records");
    }
    let (parsed, notes) = match crate::import::parse_json_records(&values) {
        Ok(p) => p,
        Err(issues) => return invalid(issues),
    };
    match crate::import::ingest_records(&app.store, &parsed, app.settings.import.batch_size).await {
        Ok(stats) => {
            tracing::info!(token, records = values.len(), "metrics ingested");
            (
                StatusCode::OK,
                Json(json!({
                    "records": values.len(),
                    "posts": stats.posts,
                    "post_snapshots": stats.post_snapshots,
                    "follower_counts": stats.account_snapshots,
                    "funnel_days": stats.funnel_days,
                    "notes": notes,
                })),
            )
                .into_response()
        }
        Err(e) => store_failure(&e, "ingest failed"),
    }
}

async fn observations(
    State(app): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    if let Err(r) = authorise(&app, &headers, "observations:write").await {
        return r;
    }
    let body = match body_of(&app, &headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Ok(id) = id.parse::<i64>() else {
        return fail(
            StatusCode::NOT_FOUND,
            format!("{id:?} is not an experiment id"),
        );
    };
    let e = match app.store.experiment(id).await {
        Ok(Some(e)) => e,
        Ok(None) => {
            return fail(
                StatusCode::NOT_FOUND,
                format!("there is no experiment {id}"),
            )
        }
        Err(err) => {
            tracing::error!(error = %err, "experiment lookup failed");
            return fail(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; nothing was written",
            );
        }
    };
    let values = match records(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let types = |metric: &str| e.metric_type_of(metric);
    let variants = e.variant_names();
    let rows =
        match crate::import::observations::parse_observation_objects(&values, &variants, &types) {
            Ok(r) => r,
            Err(issues) => return invalid(issues),
        };
    match app.store.add_observations(&e, &rows).await {
        Ok(n) => (
            StatusCode::OK,
            Json(json!({ "experiment": id, "observations": n })),
        )
            .into_response(),
        Err(crate::store::StoreError::Conflict(m)) => fail(StatusCode::CONFLICT, m),
        Err(err) => store_failure(&err, "observations failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_names_are_short_and_printable() {
        for (name, ok) in [
            ("collector", true),
            ("instagram-collector.v2_a", true),
            ("", false),
            ("two words", false),
            ("bad\nline", false),
            ("\u{1b}[31mred", false),
            (&"x".repeat(65), false),
        ] {
            assert_eq!(check_token_name(name).is_ok(), ok, "{name:?}");
        }
    }

    #[test]
    fn tokens_are_random_and_stored_as_their_hash() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with("vibe_") && a.len() == 45);
        assert_eq!(token_hash(&a), token_hash(&a));
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(token_hash(&a).len(), 64);
    }

    #[test]
    fn bodies_may_be_arrays_wrapped_arrays_or_json_lines() {
        let cases: &[(&str, Option<usize>)] = &[
            ("[{\"a\":1},{\"a\":2}]", Some(2)),
            ("{\"records\": [{\"a\":1}]}", Some(1)),
            ("{\"a\":1}\n\n{\"a\":2}\n", Some(2)),
            ("{\"a\":1}\nnot json\n", None),
            ("[1, 2", None),
            ("{\"records\": 3}", None),
        ];
        for (body, want) in cases {
            assert_eq!(
                records(body.as_bytes()).ok().map(|v| v.len()),
                *want,
                "{body}"
            );
        }
    }
}
