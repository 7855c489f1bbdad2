//! Buttons. Each is a typed [`Action`] on one subject; a click is checked against the role the
//! action needs, then makes one conditional state transition in the database, written in the
//! same transaction as its audit row and the update of the message it came from. A second click
//! or a retried delivery finds the state already changed, changes nothing and says so. The
//! optimizer's Approve / Reject will be two more actions on the same machinery.

use chrono::Utc;
use slack_morphism::prelude::SlackBlockButtonElement;

use super::blocks::{self, ButtonStyle, Message};
use super::modal::{when, who};
use super::roles::Role;
use super::{outbox, render};
use crate::experiments::design::Status;
use crate::server::AppState;
use crate::store::AlertStatus;
use crate::store::{AuditEntry, Effects, StoreError, StoredExperiment, Transition};

/// How long Snooze silences an alert.
pub const SNOOZE_SECS: i64 = 24 * 3600;

const PREFIX: &str = "vibe:";

/// What a button does, to what.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    StartTest(i64),
    StopTest(i64),
    AckAlert(i64),
    SnoozeAlert(i64),
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::StartTest(_) => "test.start",
            Action::StopTest(_) => "test.stop",
            Action::AckAlert(_) => "alert.ack",
            Action::SnoozeAlert(_) => "alert.snooze",
        }
    }

    /// The kind and id of what it acts on.
    pub fn subject(self) -> (&'static str, i64) {
        match self {
            Action::StartTest(id) | Action::StopTest(id) => ("experiment", id),
            Action::AckAlert(id) | Action::SnoozeAlert(id) => ("alert", id),
        }
    }

    /// The role a person needs to press it.
    pub fn role(self) -> Role {
        Role::Analyst
    }

    /// What it does, as in "… needs the analyst role".
    fn doing(self) -> &'static str {
        match self {
            Action::StartTest(_) => "Starting a test",
            Action::StopTest(_) => "Stopping a test",
            Action::AckAlert(_) => "Acknowledging an alert",
            Action::SnoozeAlert(_) => "Snoozing an alert",
        }
    }

    pub fn action_id(self) -> String {
        format!("{PREFIX}{}", self.name())
    }

    /// Reads a click's action_id and value back into an action.
    pub fn parse(action_id: &str, value: Option<&str>) -> Option<Action> {
        let id: i64 = value?.trim().parse().ok()?;
        Some(match action_id.strip_prefix(PREFIX)? {
            "test.start" => Action::StartTest(id),
            "test.stop" => Action::StopTest(id),
            "alert.ack" => Action::AckAlert(id),
            "alert.snooze" => Action::SnoozeAlert(id),
            _ => return None,
        })
    }

    pub fn button(self) -> SlackBlockButtonElement {
        let (text, style) = match self {
            Action::StartTest(_) => ("▶️ Start test", ButtonStyle::Primary),
            Action::StopTest(_) => ("⏹️ Stop test", ButtonStyle::Danger),
            Action::AckAlert(_) => ("✅ Acknowledge", ButtonStyle::Primary),
            Action::SnoozeAlert(_) => ("💤 Snooze 24 h", ButtonStyle::Default),
        };
        blocks::button(
            &self.action_id(),
            text,
            &self.subject().1.to_string(),
            style,
        )
    }
}

/// Where a click came from.
#[derive(Debug, Clone)]
pub struct Click {
    pub user: String,
    pub channel: Option<String>,
    /// The ts of the message the button is on (absent on ephemeral messages).
    pub message_ts: Option<String>,
    pub response_url: Option<String>,
    /// Unique per click.
    pub action_ts: String,
}

/// What came of a click.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Changed; the message now says who did what.
    Done(String),
    /// Already in that state: nothing changed.
    NoChange(String),
    /// The person lacks the role: nothing changed.
    Refused(String),
    /// Couldn't be done (no such subject, a lookup failed).
    Failed(String),
}

impl Outcome {
    /// What to tell the person who clicked, privately (None when the updated message says it).
    pub fn reply(&self) -> Option<Message> {
        match self {
            Outcome::Done(_) => None,
            Outcome::NoChange(m) | Outcome::Refused(m) | Outcome::Failed(m) => {
                Some(render::note(m))
            }
        }
    }
}

/// Carries out a click: role, transition with its audit row and message update, in that order.
pub async fn perform(app: &AppState, action: Action, click: &Click) -> Outcome {
    match perform_inner(app, action, click).await {
        Ok(o) => o,
        Err(e) => {
            let reference = format!("ref-{:08x}", rand::random::<u32>());
            tracing::error!(error = %e, reference, action = action.name(), "button failed");
            Outcome::Failed(format!(
                "Something went wrong on our side; nothing was changed. Reference {reference}."
            ))
        }
    }
}

async fn perform_inner(
    app: &AppState,
    action: Action,
    click: &Click,
) -> Result<Outcome, StoreError> {
    let now = Utc::now().timestamp();
    let actor = format!("slack:{}", click.user);
    let (kind, id) = action.subject();
    let audit = |outcome: &str, detail: Option<String>| AuditEntry {
        at: now,
        actor: actor.clone(),
        action: action.name().into(),
        subject_kind: kind.into(),
        subject_id: id,
        outcome: outcome.into(),
        detail,
    };
    match app.roles.has(&app.web, &click.user, action.role()).await {
        Ok(true) => {}
        Ok(false) => {
            app.store
                .record_audit(&audit("refused", Some("missing role".into())))
                .await?;
            return Ok(Outcome::Refused(format!(
                "{} needs the {} role, which you don't have; nothing was changed. An admin can add you under [roles] in vibe's config.",
                action.doing(),
                action.role().as_str()
            )));
        }
        Err(e) => {
            return Ok(Outcome::Failed(format!(
                "vibe couldn't check your role ({e}); nothing was changed."
            )))
        }
    }
    // The message to update in place: one vibe posted through the outbox is updated through it,
    // in the transaction; an ephemeral one through the click's response_url, afterwards.
    let posted = match (&click.channel, &click.message_ts) {
        (Some(c), Some(ts)) => app.store.outbox_key_at(c, ts).await?,
        _ => None,
    };
    let update = |m: &Message| -> Vec<crate::store::NewOutboxMessage> {
        match (&posted, &click.channel) {
            (Some(parent), Some(channel)) => vec![outbox::update(
                &format!("{parent}:{}:{}", action.name(), click.action_ts),
                channel,
                parent,
                m,
            )],
            _ => Vec::new(),
        }
    };
    let outcome = match action {
        Action::StartTest(_) | Action::StopTest(_) => {
            let Some(e) = app.store.experiment(id).await? else {
                return Ok(Outcome::Failed(format!("There is no test #{id}.")));
            };
            let (from, to, verb): (&[Status], Status, &str) = match action {
                Action::StartTest(_) => (&[Status::Draft], Status::Running, "Started"),
                _ => (
                    &[Status::Draft, Status::Running],
                    Status::Stopped,
                    "Stopped",
                ),
            };
            let line = format!(
                "{} {verb} by {} · {}",
                if to == Status::Running {
                    "▶️"
                } else {
                    "⏹️"
                },
                who(&actor),
                when(now)
            );
            let mut after = e.clone();
            after.status = to;
            let mut history = test_history(app, &e).await?;
            history.push(line.clone());
            let card = render::test_card(&after, &history);
            let t = Transition {
                from,
                to,
                actor: &actor,
                note: Some(format!("{} from Slack", verb.to_lowercase())),
                at: now,
                verdict: None,
                notify: None,
                effects: Effects {
                    audit: Some(audit("done", None)),
                    outbox: update(&card),
                },
            };
            if app.store.transition_experiment(id, &t).await? {
                if posted.is_none() {
                    respond_in_place(app, click, &card).await;
                }
                Outcome::Done(line)
            } else {
                let status = app
                    .store
                    .experiment(id)
                    .await?
                    .map(|e| e.status)
                    .unwrap_or(e.status);
                app.store
                    .record_audit(&audit("no_change", Some(format!("was {status}"))))
                    .await?;
                Outcome::NoChange(format!(
                    "Test #{id} is already {status}; nothing was changed."
                ))
            }
        }
        Action::AckAlert(_) | Action::SnoozeAlert(_) => {
            let Some(a) = app.store.alert(id).await? else {
                return Ok(Outcome::Failed(format!("There is no alert #{id}.")));
            };
            let (status, until, line) = match action {
                Action::AckAlert(_) => (
                    AlertStatus::Acknowledged,
                    None,
                    format!("✅ #{id} acknowledged by {} · {}", who(&actor), when(now)),
                ),
                _ => (
                    AlertStatus::Snoozed,
                    Some(now + SNOOZE_SECS),
                    format!(
                        "💤 #{id} snoozed for 24 h by {} · until {}",
                        who(&actor),
                        when(now + SNOOZE_SECS)
                    ),
                ),
            };
            let card = render::alert_card(&a, Some(&line), app.settings.report.currency.symbol());
            let effects = Effects {
                audit: Some(audit("done", None)),
                outbox: update(&card),
            };
            if app
                .store
                .decide_alert_with(id, status, &actor, until, now, &effects)
                .await?
            {
                if posted.is_none() {
                    // The ephemeral `/vibe alerts` list: shown again without this alert.
                    let open = app.store.open_alerts(now).await?;
                    respond_in_place(app, click, &render::alerts(&open, Some(&line))).await;
                }
                Outcome::Done(line)
            } else {
                let now_a = app.store.alert(id).await?.unwrap_or(a);
                app.store
                    .record_audit(&audit("no_change", Some(format!("was {}", now_a.status))))
                    .await?;
                let by = now_a
                    .decided_by
                    .as_deref()
                    .map(|b| format!(" by {}", who(b)))
                    .unwrap_or_default();
                Outcome::NoChange(format!(
                    "Alert #{id} is already {}{by}; nothing was changed.",
                    now_a.status
                ))
            }
        }
    };
    app.wake.notify_one();
    Ok(outcome)
}

/// A test's history lines for its card.
pub async fn test_history(app: &AppState, e: &StoredExperiment) -> Result<Vec<String>, StoreError> {
    let events = app.store.experiment_events(e.id).await?;
    Ok(events
        .iter()
        .map(|ev| {
            let icon = match ev.to_status.as_str() {
                "draft" => "📝",
                "running" => "▶️",
                "stopped" => "⏹️",
                _ => "🏁",
            };
            let what = match (ev.from_status.as_deref(), ev.to_status.as_str()) {
                (None, _) => "Designed".to_string(),
                (_, "running") => "Started".into(),
                (_, "stopped") => "Stopped".into(),
                (_, s) => {
                    let mut c = s.chars();
                    c.next()
                        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                        .unwrap_or_default()
                }
            };
            format!("{icon} {what} by {} · {}", who(&ev.actor), when(ev.at))
        })
        .collect())
}

async fn respond_in_place(app: &AppState, click: &Click, m: &Message) {
    if let Some(url) = &click.response_url {
        if let Err(e) = app.web.respond(url, m, false, true).await {
            tracing::warn!(error = %e, "can't update the message through response_url");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_survive_the_round_trip_through_a_button() {
        let all = [
            Action::StartTest(7),
            Action::StopTest(7),
            Action::AckAlert(12),
            Action::SnoozeAlert(12),
        ];
        for a in all {
            let b = a.button();
            assert_eq!(
                Action::parse(&b.action_id.clone().unwrap().0, b.value.as_deref()),
                Some(a),
                "{a:?}"
            );
            assert_eq!(a.role(), Role::Analyst);
        }
        let cases = [
            ("vibe:test.start", Some("x")),
            ("vibe:test.start", None),
            ("vibe:test.launch", Some("1")),
            ("test.start", Some("1")),
        ];
        for (id, value) in cases {
            assert_eq!(Action::parse(id, value), None, "{id} {value:?}");
        }
    }
}
