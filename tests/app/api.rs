//! The ingestion API: bearer tokens, all-or-nothing requests, clear errors.

use super::helpers::{dump, stdout};
use super::slack_app::{json, send, TestApp};

fn auth(token: &str) -> String {
    format!("Bearer {token}")
}

async fn post(
    app: &TestApp,
    path: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, serde_json::Value) {
    let a = token.map(auth);
    let mut h = vec![("content-type", "application/json")];
    if let Some(a) = &a {
        h.push(("authorization", a.as_str()));
    }
    let (s, b) = send(&format!("{}{path}", app.base), &h, body).await;
    (
        s,
        serde_json::from_str(&b).unwrap_or(serde_json::Value::String(b)),
    )
}

/// Designs a two-arm test from the terminal; returns its id.
fn new_test(app: &TestApp) -> i64 {
    let out = app.db.vibe(
        &[
            "abtest",
            "new",
            "--name",
            "Hook",
            "--target-metric",
            "ctr",
            "--variant",
            "a",
            "--variant",
            "b",
            "--baseline",
            "0.04",
            "--mde",
            "0.1",
            "--format",
            "json",
        ],
        &[],
    );
    assert!(out.status.success(), "{out:?}");
    json(&stdout(&out))["id"].as_i64().unwrap()
}

const GOOD: &str = r#"{"platform":"instagram","account":"acme.shop","post_id":"p1","observed_at":"2026-03-01T10:00:00Z","views":5200,"reach":3100,"likes":240}"#;
const BAD: &str = r#"{"platform":"instagram","account":"acme.shop","post_id":"p2","observed_at":"2026-03-01T10:00:00Z","likes":"lots"}"#;

#[tokio::test]
async fn metrics_need_a_live_token_with_the_scope() {
    let app = TestApp::start().await;
    let out = app.db.vibe(&["token", "create", "collector"], &[]);
    assert!(out.status.success(), "{out:?}");
    let token = stdout(&out).trim().to_string();
    let narrow = stdout(&app.db.vibe(
        &[
            "token",
            "create",
            "tests-only",
            "--scope",
            "observations:write",
        ],
        &[],
    ))
    .trim()
    .to_string();
    let body = format!("[{GOOD}]");
    assert_eq!(post(&app, "/api/v1/metrics", None, &body).await.0, 401);
    assert_eq!(
        post(&app, "/api/v1/metrics", Some("vibe_0000"), &body)
            .await
            .0,
        401
    );
    assert_eq!(
        post(&app, "/api/v1/metrics", Some(&narrow), &body).await.0,
        403
    );
    let (s, v) = post(&app, "/api/v1/metrics", Some(&token), &body).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["post_snapshots"], 1);
    let listed = stdout(&app.db.vibe(&["token", "list"], &[]));
    assert!(
        listed.contains("collector") && !listed.contains(&token),
        "{listed}"
    );
    assert!(app
        .db
        .vibe(&["token", "revoke", "collector"], &[])
        .status
        .success());
    assert_eq!(
        post(&app, "/api/v1/metrics", Some(&token), &body).await.0,
        401
    );
    // Only a hash is stored.
    let stored: Vec<String> = sqlx::query_scalar("SELECT hash FROM api_tokens")
        .fetch_all(app.store.pool())
        .await
        .unwrap();
    assert!(stored.iter().all(|h| h.len() == 64 && !h.contains(&token)));
    app.cleanup().await;
}

#[tokio::test]
async fn one_bad_record_gets_400_naming_it_and_nothing_is_written() {
    let app = TestApp::start().await;
    let token = stdout(&app.db.vibe(&["token", "create", "collector"], &[]))
        .trim()
        .to_string();
    let before = dump(&app.store).await;
    let (s, v) = post(
        &app,
        "/api/v1/metrics",
        Some(&token),
        &format!("[{GOOD},{BAD},{GOOD}]"),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["problems"][0]["record"], 2, "{v}");
    assert_eq!(v["problems"][0]["field"], "likes", "{v}");
    assert!(v["error"].as_str().unwrap().contains("nothing was written"));
    assert_eq!(dump(&app.store).await, before);
    // Not JSON at all, and JSON Lines with a broken line, are refused the same way.
    assert_eq!(
        post(&app, "/api/v1/metrics", Some(&token), "[{").await.0,
        400
    );
    assert_eq!(
        post(
            &app,
            "/api/v1/metrics",
            Some(&token),
            &format!("{GOOD}\n{{oops")
        )
        .await
        .0,
        400
    );
    assert_eq!(dump(&app.store).await, before);
    app.cleanup().await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let app = TestApp::start_with(&[("VIBE_SERVER__MAX_BODY_BYTES", "2048")]).await;
    let token = stdout(&app.db.vibe(&["token", "create", "collector"], &[]))
        .trim()
        .to_string();
    let big = format!("[{}]", vec![GOOD; 40].join(","));
    assert_eq!(
        post(&app, "/api/v1/metrics", Some(&token), &big).await.0,
        413
    );
    app.cleanup().await;
}

#[tokio::test]
async fn observations_go_to_the_experiment_all_or_nothing() {
    let app = TestApp::start().await;
    let token = stdout(&app.db.vibe(&["token", "create", "collector"], &[]))
        .trim()
        .to_string();
    let id = new_test(&app);
    let path = format!("/api/v1/experiments/{id}/observations");
    let bad = r#"[{"variant":"a","period":"d1","units":100,"conversions":5},{"variant":"c","period":"d1","units":100,"conversions":5}]"#;
    let (s, v) = post(&app, &path, Some(&token), bad).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["problems"][0]["record"], 2);
    assert_eq!(
        super::helpers::scalar(&app.store, "SELECT COUNT(*) FROM experiment_observations").await,
        Some(0)
    );
    let good = r#"[{"variant":"a","period":"d1","units":100,"conversions":5},{"variant":"b","period":"d1","units":100,"conversions":7}]"#;
    let (s, v) = post(&app, &path, Some(&token), good).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["observations"], 2);
    assert_eq!(
        post(
            &app,
            "/api/v1/experiments/9999/observations",
            Some(&token),
            good
        )
        .await
        .0,
        404
    );
    // Once a test is stopped (or concluded) its results are final: more data is refused.
    for step in ["start", "stop"] {
        let out = app.db.vibe(&["abtest", step, &id.to_string()], &[]);
        assert!(out.status.success(), "{step}: {out:?}");
    }
    let late = r#"[{"variant":"a","period":"d9","units":100,"conversions":5}]"#;
    let (s, v) = post(&app, &path, Some(&token), late).await;
    assert_eq!(s, 409, "{v}");
    assert!(v["error"].as_str().unwrap().contains("final"), "{v}");
    app.cleanup().await;
}

#[tokio::test]
async fn counters_beyond_any_platform_get_400_not_overflow() {
    let app = TestApp::start().await;
    let token = stdout(&app.db.vibe(&["token", "create", "collector"], &[]))
        .trim()
        .to_string();
    let before = dump(&app.store).await;
    // Two posts at i64::MAX reach once summed into a negative account total.
    let huge = |post: &str| {
        format!(
            r#"{{"platform":"x","account":"acme","post_id":"{post}","observed_at":"2026-03-01T10:00:00Z","reach":9223372036854775807,"likes":1}}"#
        )
    };
    let (s, v) = post(
        &app,
        "/api/v1/metrics",
        Some(&token),
        &format!("[{},{}]", huge("p1"), huge("p2")),
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["problems"][0]["field"], "reach", "{v}");
    assert!(
        v["problems"][0]["message"]
            .as_str()
            .unwrap()
            .contains("larger than any platform reports"),
        "{v}"
    );
    // A funnel day outside the years vibe accepts is refused too.
    let (s, v) = post(
        &app,
        "/api/v1/metrics",
        Some(&token),
        r#"[{"day":"0001-01-01","platform":"x","campaign":"c","spend":"10"}]"#,
    )
    .await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["problems"][0]["field"], "day", "{v}");
    assert_eq!(dump(&app.store).await, before);
    // The same record on a real day goes in.
    let (s, v) = post(
        &app,
        "/api/v1/metrics",
        Some(&token),
        r#"[{"day":"2026-03-01","platform":"x","campaign":"c","spend":"10"}]"#,
    )
    .await;
    assert_eq!(s, 200, "{v}");

    // The same on the observations API: 400, not 500.
    let id = new_test(&app);
    let path = format!("/api/v1/experiments/{id}/observations");
    let body = r#"[{"variant":"a","period":"d1","units":9223372036854775807,"conversions":5},{"variant":"a","period":"d2","units":9223372036854775807,"conversions":5}]"#;
    let (s, v) = post(&app, &path, Some(&token), body).await;
    assert_eq!(s, 400, "{v}");
    assert_eq!(v["problems"][0]["field"], "units", "{v}");
    app.cleanup().await;
}
