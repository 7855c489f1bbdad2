//! Counters and histograms for `/metrics`, in Prometheus' text format. A small in-process
//! registry: the few series vibe keeps (job runs, Slack API calls and 429s, command latency)
//! don't need a metrics framework; the outbox depth is read from the database at scrape time.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the latency histograms, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 3.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Default)]
struct Registry {
    counters: BTreeMap<(&'static str, String), f64>,
    histograms: BTreeMap<(&'static str, String), Histogram>,
}

static REGISTRY: Mutex<Option<Registry>> = Mutex::new(None);

fn with<R>(f: impl FnOnce(&mut Registry) -> R) -> R {
    let mut g = REGISTRY.lock().unwrap_or_else(|p| p.into_inner());
    f(g.get_or_insert_with(Registry::default))
}

/// `name{labels}` as Prometheus writes labels: `a="x",b="y"`, values escaped (one allocation:
/// this runs on every command).
fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(pairs.iter().map(|(k, v)| k.len() + v.len() + 4).sum());
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(k);
        out.push_str("=\"");
        for c in v.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '"' => out.push_str("\\\""),
                '\n' => out.push_str("\\n"),
                c => out.push(c),
            }
        }
        out.push('"');
    }
    out
}

/// Adds 1 to a counter.
pub fn inc(name: &'static str, pairs: &[(&str, &str)]) {
    with(|r| *r.counters.entry((name, labels(pairs))).or_default() += 1.0);
}

/// Records a duration in a histogram.
pub fn observe(name: &'static str, pairs: &[(&str, &str)], seconds: f64) {
    with(|r| {
        let h = r.histograms.entry((name, labels(pairs))).or_default();
        for (i, b) in BUCKETS.iter().enumerate() {
            if seconds <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += seconds;
    });
}

const HELP: [(&str, &str, &str); 9] = [
    (
        "vibe_job_runs_total",
        "counter",
        "Scheduled runs finished, by job and status.",
    ),
    (
        "vibe_job_run_seconds",
        "histogram",
        "How long scheduled runs took.",
    ),
    (
        "vibe_slack_api_calls_total",
        "counter",
        "Slack Web API calls, by method and outcome.",
    ),
    (
        "vibe_slack_rate_limited_total",
        "counter",
        "Slack Web API calls answered 429, by method.",
    ),
    (
        "vibe_command_ack_seconds",
        "histogram",
        "Time to acknowledge a slash command.",
    ),
    (
        "vibe_outbox_given_up_total",
        "counter",
        "Channel messages given up on, by reason (expired: their lifetime ran out while Slack kept failing; refused: an error that won't change).",
    ),
    (
        "vibe_heavy_work_total",
        "counter",
        "Heavy work started from Slack (reports), by outcome (done, failed, deadline, refused_busy).",
    ),
    (
        "vibe_unverified_requests_total",
        "counter",
        "Slack requests refused for a missing, wrong or stale signature.",
    ),
    (
        "vibe_notifications_set_aside_total",
        "counter",
        "Notifications that couldn't be turned into messages and were set aside.",
    ),
];

fn series(name: &str, l: &str) -> String {
    if l.is_empty() {
        name.to_string()
    } else {
        format!("{name}{{{l}}}")
    }
}

/// Everything in Prometheus' text format, with `extra` gauges (name, help, value) appended.
pub fn render(extra: &[(&str, &str, f64)]) -> String {
    let mut out = String::new();
    with(|r| {
        for (name, kind, help) in HELP {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
            for ((n, l), v) in &r.counters {
                if *n == name {
                    let _ = writeln!(out, "{} {v}", series(name, l));
                }
            }
            for ((n, l), h) in &r.histograms {
                if *n != name {
                    continue;
                }
                let sep = if l.is_empty() { "" } else { "," };
                for (i, b) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(out, "{name}_bucket{{{l}{sep}le=\"{b}\"}} {}", h.counts[i]);
                }
                let _ = writeln!(out, "{name}_bucket{{{l}{sep}le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "{} {}", series(&format!("{name}_sum"), l), h.sum);
                let _ = writeln!(out, "{} {}", series(&format!("{name}_count"), l), h.count);
            }
        }
    });
    for (name, help, v) in extra {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_render_in_prometheus_text_format() {
        inc(
            "vibe_slack_api_calls_total",
            &[("method", "chat.postMessage"), ("outcome", "ok")],
        );
        inc(
            "vibe_slack_api_calls_total",
            &[("method", "chat.postMessage"), ("outcome", "ok")],
        );
        observe("vibe_command_ack_seconds", &[], 0.004);
        observe("vibe_command_ack_seconds", &[], 0.2);
        let text = render(&[("vibe_outbox_pending", "Messages waiting.", 3.0)]);
        assert!(
            text.contains(
                "vibe_slack_api_calls_total{method=\"chat.postMessage\",outcome=\"ok\"} 2"
            ),
            "{text}"
        );
        assert!(
            text.contains("vibe_command_ack_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("vibe_command_ack_seconds_bucket{le=\"0.25\"} 2"),
            "{text}"
        );
        assert!(text.contains("vibe_command_ack_seconds_count 2"), "{text}");
        assert!(
            text.contains("# TYPE vibe_outbox_pending gauge\nvibe_outbox_pending 3"),
            "{text}"
        );
        assert_eq!(labels(&[("a", "x\"y")]), "a=\"x\\\"y\"");
    }
}
