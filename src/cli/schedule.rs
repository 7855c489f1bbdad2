//! `vibe schedule …` in the terminal: the application's answers as text or JSON.

use std::process::ExitCode;

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use crate::app::grammar::{OutputFormat, ScheduleCommand};
use crate::app::schedule::{execute, Origin, ScheduleAnswer, ScheduleRequest, Scheduled};
use crate::app::Workspace;
use crate::config::Settings;
use crate::store::Store;

fn when(t: Option<DateTime<Utc>>, tz: &str) -> String {
    let tz: Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    t.map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string())
        .unwrap_or_else(|| "never".into())
}

fn line(s: &Scheduled) -> String {
    let d = &s.schedule;
    format!(
        "#{} {} digest to channel {} {} ({}) · next {} · added by {}",
        d.id,
        d.kind,
        d.channel,
        s.described,
        d.timezone,
        when(s.next, &d.timezone),
        d.created_by
    )
}

/// Runs `vibe schedule …`: prints the answer, and errors to stderr.
pub async fn run(
    store: &Store,
    settings: &Settings,
    workspace: Option<&dyn Workspace>,
    command: ScheduleCommand,
) -> anyhow::Result<ExitCode> {
    let origin = Origin {
        actor: "cli".into(),
        seconds_field: settings.scheduler.seconds_field,
        ..Default::default()
    };
    let (request, format) = match command {
        ScheduleCommand::Add { kind, words, cron } => (
            ScheduleRequest::Add { kind, words, cron },
            OutputFormat::Text,
        ),
        ScheduleCommand::List { format } => (ScheduleRequest::List, format),
        ScheduleCommand::Remove { id } => (ScheduleRequest::Remove { id }, OutputFormat::Text),
    };
    let answer = match execute(
        store,
        settings.report.timezone.0,
        request,
        &origin,
        workspace,
        Utc::now(),
    )
    .await
    {
        Ok(a) => a,
        Err(e) => return super::abtest::exit_code(e),
    };
    let text = match answer {
        ScheduleAnswer::List(all) if format == OutputFormat::Json => {
            let rows: Vec<_> = all.iter().map(|s| &s.schedule).collect();
            serde_json::to_string_pretty(&rows)? + "\n"
        }
        ScheduleAnswer::List(all) if all.is_empty() => {
            "No digest schedules. Add one with: vibe schedule add daily 09:00 C0123ABCD\n".into()
        }
        ScheduleAnswer::List(all) => all.iter().map(|s| line(s) + "\n").collect(),
        ScheduleAnswer::Added(s) => format!(
            "Schedule #{}: the {} digest goes to channel {} {} ({}). First one: {}.\n",
            s.schedule.id,
            s.schedule.kind,
            s.schedule.channel,
            s.described,
            s.schedule.timezone,
            when(s.next, &s.schedule.timezone)
        ),
        ScheduleAnswer::AlreadyScheduled(s) => format!(
            "That digest is already scheduled as #{}; nothing was added. Next one: {}.\n",
            s.schedule.id,
            when(s.next, &s.schedule.timezone)
        ),
        ScheduleAnswer::Removed(s) => format!(
            "Schedule #{} removed: the {} digest to channel {} {} no longer runs.\n",
            s.schedule.id, s.schedule.kind, s.schedule.channel, s.described
        ),
    };
    out!("{text}");
    Ok(ExitCode::SUCCESS)
}
