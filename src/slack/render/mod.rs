//! vibe's Slack messages, from the same data the terminal shows (layouts from
//! reference/slack-message-design.md): the report, help, errors, command output, alerts.

mod alerts;
mod report;

use alerts::severity_icon;
pub use alerts::{alert_card, alert_reopened_card, alerts};
pub use report::{daily_digest, report, weekly_digest, ReportMessages, TestLine};

use super::actions::Action;
use super::blocks::{self, escape, Message};
use super::command::HelpLine;
use crate::experiments::design::Status;
use crate::store::StoredExperiment;

/// `/vibe help`, from the grammar, opened by a line on what went wrong when that's why.
pub fn help(lines: &[HelpLine], problem: Option<&str>) -> Message {
    let mut b = Vec::new();
    if let Some(p) = problem {
        b.push(blocks::section(&format!("⚠️ {}", escape(p))));
    }
    b.push(blocks::section(
        "👋 *vibe* reports on your social accounts, runs A/B tests and watches for problems.",
    ));
    let body: Vec<String> = lines
        .iter()
        .map(|l| format!("`{}` {}", l.usage, escape(&l.about)))
        .collect();
    b.extend(blocks::sections(&body.join("\n")));
    b.push(blocks::context(&[
        "Only you can see this · the same commands work in the terminal: `vibe report weekly` · options as in the CLI, e.g. `/vibe report weekly --brand Acme`".into(),
    ]));
    Message::new(
        "vibe commands: report, abtest, alerts, health. Try /vibe report weekly.",
        b,
    )
}

/// An ephemeral error: the cause, the fix, what was typed.
pub fn error(message: &str, suggestion: Option<&str>, typed: &str) -> Message {
    let mut text = format!("⚠️ *{}*", escape(message));
    if let Some(s) = suggestion {
        text.push_str(&format!("\nTry `{}`.", escape(s)));
    }
    let b = vec![
        blocks::section(&text),
        blocks::context(&[format!(
            "You typed `/vibe {}` · only you can see this",
            escape(&blocks::truncate(typed, 200))
        )]),
    ];
    Message::new(&format!("Couldn't run /vibe {typed}: {message}"), b)
}

/// A short answer in one section.
pub fn note(text: &str) -> Message {
    Message::new(text, vec![blocks::section(&escape(text))])
}

/// A test's design as posted when it is created, and as updated by its buttons: the plan
/// (sample size, duration, sequential method), its history, and the buttons that apply now.
pub fn test_card(e: &StoredExperiment, history: &[String]) -> Message {
    let status = match e.status {
        Status::Draft => "📝 draft",
        Status::Running => "▶️ running",
        Status::Stopped => "⏹️ stopped",
        Status::Concluded => "🏁 concluded",
    };
    let mut b = vec![
        blocks::header(&format!("🧪 A/B test #{}: {}", e.id, e.design.name)),
        blocks::context(&[format!("Status: *{status}*")]),
    ];
    if let Some(h) = &e.design.hypothesis {
        b.push(blocks::section(&format!("*Hypothesis* {}", escape(h))));
    }
    b.push(blocks::fields(&super::answers::design_fields(e)));
    if !history.is_empty() {
        let tail: Vec<String> = history.iter().rev().take(5).rev().cloned().collect();
        b.push(blocks::context(&[tail.join("\n")]));
    }
    let buttons: Vec<_> = match e.status {
        Status::Draft => vec![
            Action::StartTest(e.id).button(),
            Action::StopTest(e.id).button(),
        ],
        Status::Running => vec![Action::StopTest(e.id).button()],
        Status::Stopped | Status::Concluded => Vec::new(),
    };
    if !buttons.is_empty() {
        b.push(blocks::actions(&format!("test:{}", e.id), buttons));
    }
    let mut parts = blocks::split(
        &format!("A/B test #{} {} ({})", e.id, e.design.name, e.status),
        b,
    );
    parts.remove(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_and_errors_stay_within_limits_and_escape_input() {
        let m = help(
            &super::super::command::help_lines(),
            Some("<!channel> is not a command"),
        );
        assert!(blocks::violations(&m.blocks_json(), false).is_empty());
        assert!(m.blocks_json().to_string().contains("&lt;!channel&gt;"));
        let long = "<!here> ".repeat(1000);
        let e = error(&long, Some(&long), &long);
        assert!(blocks::violations(&e.blocks_json(), false).is_empty());
        assert!(!e.blocks_json().to_string().contains("<!here>"));
    }
}
