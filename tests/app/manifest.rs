//! The Slack app manifest can't be tried against Slack here, so it is checked against the code:
//! its URLs are routes the app serves, its scopes are those of the Web API methods the code
//! calls, and mentions arrive escaped.

use std::collections::BTreeSet;

use super::slack_app::{send, TestApp};
use vibe::slack::web::WEB_API_METHODS;

fn manifest() -> String {
    read("manifest.yml")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(format!("{}/{name}", env!("CARGO_MANIFEST_DIR"))).expect(name)
}

#[test]
fn the_socket_mode_manifest_is_the_http_one_without_urls() {
    let http = manifest();
    let socket = read("manifest.socket.yml");
    assert_eq!(values(&socket, "socket_mode_enabled"), ["true"]);
    assert_eq!(values(&http, "socket_mode_enabled"), ["false"]);
    assert!(values(&socket, "url").is_empty() && values(&socket, "request_url").is_empty());
    for key in ["bot", "bot_events"] {
        assert_eq!(list(&socket, key), list(&http, key), "{key}");
    }
    assert_eq!(values(&socket, "should_escape"), ["true"]);
    assert_eq!(
        values(&socket, "is_enabled"),
        ["true"],
        "interactivity is on"
    );
}

/// Values of `key:` lines (a plain reading of the YAML this file uses).
fn values(text: &str, key: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter_map(|l| {
            l.strip_prefix("- ")
                .unwrap_or(l)
                .strip_prefix(&format!("{key}:"))
        })
        .map(|v| v.trim().trim_matches('"').to_string())
        .collect()
}

/// The items of the list under `key:`.
fn list(text: &str, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside: Option<usize> = None;
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let t = line.trim();
        if t.starts_with('#') || t.is_empty() {
            continue;
        }
        match inside {
            Some(i) if indent >= i && t.starts_with("- ") => out.push(t[2..].trim().to_string()),
            Some(_) => inside = None,
            None if t == format!("{key}:") => inside = Some(indent),
            None => {}
        }
    }
    out
}

#[test]
fn scopes_are_exactly_those_of_the_methods_the_code_calls() {
    let m = manifest();
    let asked: BTreeSet<String> = list(&m, "bot").into_iter().collect();
    let mut needed: BTreeSet<String> = WEB_API_METHODS
        .iter()
        .filter_map(|(_, s)| s.map(str::to_string))
        .collect();
    needed.insert("commands".into());
    // Private channels need the groups: twin of each channels: scope.
    needed.insert("groups:history".into());
    needed.insert("groups:read".into());
    assert_eq!(asked, needed);
    assert_eq!(values(&m, "should_escape"), ["true"]);
    assert_eq!(values(&m, "command"), ["/vibe"]);
}

#[tokio::test]
async fn every_url_in_the_manifest_is_a_verified_route() {
    let m = manifest();
    let mut urls = values(&m, "url");
    urls.extend(values(&m, "request_url"));
    assert_eq!(urls.len(), 3, "{urls:?}");
    let app = TestApp::start().await;
    for url in urls {
        let path = url.trim_start_matches("https://vibe.example.com");
        assert!(path.starts_with("/slack/"), "{url}");
        // Unsigned: the route exists and refuses it.
        let (status, _) = send(
            &format!("{}{path}", app.base),
            &[("content-type", "application/x-www-form-urlencoded")],
            "x=1",
        )
        .await;
        assert_eq!(status, 401, "{path}");
    }
    app.cleanup().await;
}
