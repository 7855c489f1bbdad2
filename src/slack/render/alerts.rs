//! Alerts in Slack: the open ones with their buttons, one alert's card, its evidence.

use super::super::actions::Action;
use super::super::blocks::{self, escape, Message};
use crate::store::{Evidence, Severity, StoredAlert};
use slack_morphism::prelude::SlackBlock;

/// Open alerts with their evidence, each with Acknowledge and Snooze buttons; `done` is a
/// line saying what was just decided, shown on top.
pub fn alerts(open: &[StoredAlert], done: Option<&str>) -> Message {
    if open.is_empty() {
        let text = match done {
            Some(d) => format!("{d}\nNo other open alerts."),
            None => "No open alerts. vibe checks every 15 minutes while it runs.".into(),
        };
        return Message::new(&text, vec![blocks::section(&text)]);
    }
    let mut b = vec![blocks::header(&format!("🚨 {} open alert(s)", open.len()))];
    if let Some(d) = done {
        b.push(blocks::context(&[d.to_string()]));
    }
    // Each alert takes a section and a row of buttons: 20 fit one message with room to spare.
    for a in open.iter().take(20) {
        b.push(blocks::section(&alert_text(a)));
        b.push(alert_buttons(a.id));
    }
    if open.len() > 20 {
        b.push(blocks::context(&[format!(
            "{} more: `vibe alerts` lists them all",
            open.len() - 20
        )]));
    }
    let mut parts = blocks::split(&format!("{} open alert(s)", open.len()), b);
    parts.remove(0)
}

pub(super) fn severity_icon(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => "🔴",
        Severity::Warning => "🟠",
        Severity::Info => "🔵",
    }
}

fn alert_text(a: &StoredAlert) -> String {
    let icon = severity_icon(a.alert.severity);
    format!(
        "{icon} *#{} {}* · {}\n{}",
        a.id,
        a.alert.kind.words(),
        a.alert.severity,
        escape(&a.alert.message)
    )
}

fn alert_buttons(id: i64) -> SlackBlock {
    blocks::actions(
        &format!("alert:{id}"),
        vec![
            Action::AckAlert(id).button(),
            Action::SnoozeAlert(id).button(),
        ],
    )
}

/// One alert as posted to the alerts channel: severity, evidence, and buttons while it is
/// open; `decided` replaces the buttons with who did what.
pub fn alert_card(a: &StoredAlert, decided: Option<&str>, symbol: &str) -> Message {
    alert_message(a, None, decided, symbol)
}

/// An alert announced again because its snooze ran out while its condition still holds.
pub fn alert_reopened_card(a: &StoredAlert, symbol: &str) -> Message {
    alert_message(
        a,
        Some("🔁 Its snooze ran out and the condition still holds."),
        None,
        symbol,
    )
}

fn alert_message(
    a: &StoredAlert,
    note: Option<&str>,
    decided: Option<&str>,
    symbol: &str,
) -> Message {
    let mut b = vec![blocks::section(&alert_text(a))];
    if let Some(evidence) = evidence_line(&a.alert.evidence, symbol) {
        b.push(blocks::context(&[evidence]));
    }
    if let Some(note) = note {
        b.push(blocks::context(&[note.to_string()]));
    }
    match decided {
        Some(d) => b.push(blocks::context(&[d.to_string()])),
        None => b.push(alert_buttons(a.id)),
    }
    Message::new(
        &format!("{} alert #{}: {}", a.alert.severity, a.id, a.alert.message),
        b,
    )
}

/// The numbers behind an alert, labelled and escaped.
fn evidence_line(e: &Evidence, symbol: &str) -> Option<String> {
    let parts: Vec<String> = e.lines(symbol).iter().map(|l| escape(l)).collect();
    (!parts.is_empty()).then(|| format!("Evidence: {}", parts.join(" · ")))
}
