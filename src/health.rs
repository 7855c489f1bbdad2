//! Health: is the database reachable and migrated, is the outbox draining, can vibe reach
//! Slack with its token. Shared by `vibe health` and `/vibe health`
//! (`/readyz` only pings the database).

use serde::Serialize;

use crate::app::Workspace;
use crate::store::Store;

/// The state of one part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "state", content = "detail")]
pub enum State {
    Ok(String),
    /// Not set up; not a failure (an unconfigured Slack, say).
    NotConfigured(String),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    #[serde(flatten)]
    pub state: State,
}

/// Every check, in a fixed order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Health {
    pub healthy: bool,
    pub checks: Vec<Check>,
}

impl Health {
    /// As lines for a terminal or a Slack code block.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let (mark, detail) = match &c.state {
                State::Ok(d) => ("ok  ", d),
                State::NotConfigured(d) => ("--  ", d),
                State::Failed(d) => ("FAIL", d),
            };
            out.push_str(&format!("{mark} {:<11} {detail}\n", c.name));
        }
        out.push_str(if self.healthy {
            "Healthy.\n"
        } else {
            "Something configured is failing.\n"
        });
        out
    }
}

/// Each scheduled job's latest run; failed if one's latest run failed.
async fn jobs(store: &Store, now: i64) -> State {
    let mut parts = Vec::new();
    let mut failed = false;
    let latest = match store.latest_runs().await {
        Ok(l) => l,
        Err(e) => return State::Failed(format!("can't read: {e}")),
    };
    for job in crate::scheduler::JOB_NAMES {
        if !latest.iter().any(|r| r.job == job) {
            parts.push(format!("{job}: no run yet"));
        }
    }
    // A removed schedule's runs no longer say anything about health.
    let live: Vec<String> = match store.schedules().await {
        Ok(s) => s.iter().map(|d| format!("digest:{}", d.id)).collect(),
        Err(e) => return State::Failed(format!("can't read: {e}")),
    };
    for r in latest.iter().filter(|r| {
        r.job
            .strip_prefix("digest:")
            .and_then(|id| id.parse::<i64>().ok())
            .is_none()
            || live.contains(&r.job)
    }) {
        let ago = (now - r.finished_at.unwrap_or(r.started_at)).max(0);
        let took = r
            .duration_ms
            .map(|ms| format!(", {ms} ms"))
            .unwrap_or_default();
        let why = r
            .error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        failed |= r.status == crate::store::JobState::Failed;
        parts.push(format!("{}: {} {ago} s ago{took}{why}", r.job, r.status));
    }
    if failed {
        State::Failed(parts.join("; "))
    } else {
        State::Ok(parts.join("; "))
    }
}

/// Runs every check. `slack` is None when no bot token is set.
pub async fn check(store: &Store, slack: Option<&dyn Workspace>, now: i64) -> Health {
    let mut checks = Vec::new();
    let db = match store.ping().await {
        Ok(()) => State::Ok(format!("{:?} reachable", store.backend())),
        Err(e) => State::Failed(format!("unreachable: {e}")),
    };
    let db_ok = matches!(db, State::Ok(_));
    checks.push(Check {
        name: "database",
        state: db,
    });
    if db_ok {
        let known = store.known_migrations();
        let state = match store.applied_migrations().await {
            Ok(n) if n == known => State::Ok(format!("{n} of {known} applied")),
            Ok(n) => State::Failed(format!("{n} of {known} applied: run `vibe migrate`")),
            Err(e) => State::Failed(format!("can't read: {e}")),
        };
        checks.push(Check {
            name: "migrations",
            state,
        });
        let state = match store.outbox_backlog(now - 86_400).await {
            Ok(b) => {
                let oldest = b
                    .oldest_pending_at
                    .map(|t| format!(", oldest queued {} s ago", (now - t).max(0)))
                    .unwrap_or_default();
                let mut text = format!("{} waiting{oldest}; {} failed", b.pending, b.failed);
                if b.given_up_recently > 0 {
                    text.push_str(&format!(
                        "; {} given up in the last 24 h after Slack kept failing for their whole lifetime",
                        b.given_up_recently
                    ));
                }
                if b.notifications_set_aside > 0 {
                    text.push_str(&format!(
                        "; {} notification(s) set aside (see the log)",
                        b.notifications_set_aside
                    ));
                }
                // A message stuck for 10 minutes, or one given up on because Slack never took
                // it, means delivery is not happening.
                if b.oldest_pending_at.is_some_and(|t| now - t > 600) || b.given_up_recently > 0 {
                    State::Failed(text)
                } else {
                    State::Ok(text)
                }
            }
            Err(e) => State::Failed(format!("can't read: {e}")),
        };
        checks.push(Check {
            name: "outbox",
            state,
        });
        checks.push(Check {
            name: "jobs",
            state: jobs(store, now).await,
        });
    }
    let state = match slack {
        None => State::NotConfigured("SLACK_BOT_TOKEN is not set".into()),
        Some(w) => match w.signed_in_as().await {
            Ok(who) => State::Ok(format!("signed in as {who}")),
            Err(e) => State::Failed(format!("auth.test: {e}")),
        },
    };
    checks.push(Check {
        name: "slack",
        state,
    });
    let healthy = checks.iter().all(|c| !matches!(c.state, State::Failed(_)));
    Health { healthy, checks }
}
