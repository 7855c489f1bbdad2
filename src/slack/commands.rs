//! What `/vibe …` does, whichever way it arrived (HTTP or Socket Mode): dedupe by trigger_id,
//! parse with the CLI grammar, answer within Slack's 3 seconds, and finish slow work in the
//! background: reports go to the channel through the outbox, other answers to the person who
//! asked through the command's `response_url`.

use chrono::Utc;
use slack_morphism::prelude::*;

use super::blocks::Message;
use super::command::{self, SlackCommand};
use super::{outbox, render};
use crate::analytics::report::PeriodKind;
use crate::analytics::service::{self, ReportError, ReportRequest};
use crate::cli::{AbtestCommand, Command, OutputFormat};
use crate::server::AppState;

/// The inline answer to a command: an ephemeral message, as Slack's JSON.
fn ephemeral(m: &Message) -> serde_json::Value {
    let reply = SlackCommandEventResponse::new(m.content())
        .with_response_type(SlackMessageResponseType::Ephemeral);
    serde_json::to_value(reply).unwrap_or_default()
}

/// Handles a slash command; returns the inline reply (None: an empty 200).
pub async fn handle(app: &AppState, ev: SlackCommandEvent) -> Option<serde_json::Value> {
    let now = Utc::now().timestamp();
    match app
        .store
        .first_delivery("command", &ev.trigger_id.0, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!(trigger = %ev.trigger_id.0, "repeated delivery of a command; ignored");
            return None;
        }
        Err(e) => {
            tracing::error!(error = %e, "can't record a command delivery");
            return Some(ephemeral(&render::note(
                "Something went wrong on our side; nothing was done. Try again in a moment.",
            )));
        }
    }
    let text = ev.text.clone().unwrap_or_default();
    tracing::info!(user = %ev.user_id.0, channel = %ev.channel_id.0, command = %text, "slash command");
    let parsed = match command::parse(&text) {
        Ok(SlackCommand::Help) => {
            return Some(ephemeral(&render::help(&command::help_lines(), None)));
        }
        Ok(SlackCommand::Run(c)) => *c,
        Err(e) => {
            return Some(ephemeral(&render::error(
                &e.message,
                e.suggestion.as_deref(),
                &text,
            )));
        }
    };
    let ack = match &parsed {
        Command::Report { .. } => Some(ephemeral(&render::note(
            "Building the report; it will appear in this channel in a few seconds.",
        ))),
        _ => None,
    };
    let app2 = app.clone();
    app.spawn(async move {
        let reply = run(&app2, parsed, &ev).await;
        if let Some(m) = reply {
            if let Err(e) = app2
                .web
                .respond(ev.response_url.0.as_ref(), &m, false, false)
                .await
            {
                tracing::warn!(error = %e, "can't answer through response_url");
            }
        }
    });
    ack
}

/// Runs a parsed command; returns what to tell the person who asked, if anything.
async fn run(app: &AppState, cmd: Command, ev: &SlackCommandEvent) -> Option<Message> {
    let text = ev.text.clone().unwrap_or_default();
    match cmd {
        Command::Report {
            words,
            period_flag,
            brand,
            from,
            to,
            tz,
            ..
        } => {
            let (period, platform) = match crate::cli::period_and_platform(&words, period_flag) {
                Ok(p) => p,
                Err(m) => return Some(render::error(&m, Some("/vibe report weekly"), &text)),
            };
            let timezone = match tz.as_deref().map(str::parse::<chrono_tz::Tz>) {
                None => app.settings.report.timezone.0,
                Some(Ok(t)) => t,
                Some(Err(_)) => {
                    return Some(render::error(
                        &format!(
                            "{:?} is not a time zone like Europe/Paris",
                            tz.unwrap_or_default()
                        ),
                        None,
                        &text,
                    ))
                }
            };
            let req = ReportRequest {
                kind: period.unwrap_or(PeriodKind::Weekly),
                brand: brand.or_else(|| {
                    app.settings
                        .slack
                        .brand_of(&ev.channel_id.0)
                        .map(str::to_string)
                }),
                platform,
                from,
                to,
                timezone,
            };
            report_to_channel(
                app,
                &req,
                &ev.channel_id.0,
                &ev.trigger_id.0,
                Some(ev.response_url.0.as_ref()),
            )
            .await
            .err()
            .map(|m| render::error(&m, None, &text))
        }
        Command::Alerts { .. } => match app.store.open_alerts(Utc::now().timestamp()).await {
            Ok(open) => Some(render::alerts(&open)),
            Err(e) => Some(internal(e)),
        },
        Command::Health { .. } => {
            let slack = Some(&app.web).filter(|w| w.has_token());
            let h = crate::health::check(&app.store, slack, Utc::now().timestamp()).await;
            Some(render::preformatted("vibe health", &h.text()))
        }
        Command::Abtest { command, .. } => {
            let title = abtest_title(&command);
            let mut out = String::new();
            match crate::cli::abtest::execute(&app.store, command, OutputFormat::Text, &mut out)
                .await
            {
                Ok(()) => Some(render::preformatted(&title, &out)),
                Err(crate::cli::abtest::Failure::Usage(m))
                | Err(crate::cli::abtest::Failure::Failed(m)) => {
                    Some(render::error(&m, None, &text))
                }
                Err(crate::cli::abtest::Failure::Internal(e)) => Some(internal(e)),
            }
        }
        _ => Some(render::error(
            "This command runs in the terminal.",
            Some("/vibe help"),
            &text,
        )),
    }
}

fn abtest_title(c: &AbtestCommand) -> String {
    match c {
        AbtestCommand::List { .. } => "A/B tests".into(),
        AbtestCommand::Show { id } => format!("A/B test #{id}"),
        AbtestCommand::Results { id: Some(id), .. } => format!("Results of A/B test #{id}"),
        AbtestCommand::Results { .. } => "Results of the running A/B tests".into(),
        AbtestCommand::Plan { .. } => "Test plan".into(),
        AbtestCommand::Calc { .. } => "Test calculation".into(),
        _ => "A/B test".into(),
    }
}

fn internal(e: impl std::fmt::Display) -> Message {
    let reference = format!("ref-{:08x}", rand::random::<u32>());
    tracing::error!(error = %e, reference, "command failed");
    render::note(&format!(
        "Something went wrong on our side; nothing was changed. Reference {reference}."
    ))
}

/// Builds a report and queues it for `channel`: the summary, its chart and details in the
/// thread, written with the stored report in one transaction. `key` makes it unique (the
/// trigger_id of the command, or the schedule slot).
pub async fn report_to_channel(
    app: &AppState,
    req: &ReportRequest,
    channel: &str,
    key: &str,
    response_url: Option<&str>,
) -> Result<(), String> {
    let now = Utc::now();
    let r = match service::build_report(&app.store, &app.settings, req, now).await {
        Ok(r) => r,
        Err(ReportError::Store(e)) => return Err(internal(e).text),
        Err(e) => return Err(e.to_string()),
    };
    let symbol = app.settings.report.currency.symbol();
    let messages = render::report(&r, symbol);
    let parent_key = format!("report:{key}");
    let mut rows = vec![outbox::post(
        &parent_key,
        channel,
        None,
        &messages.parent,
        response_url,
    )];
    let period = (r.period.from, r.period.to);
    if let Ok(png) = crate::analytics::charts::trend(
        &r.daily_by_platform,
        |d| Some(d.1),
        "Daily engagements by platform (log scale)",
        period,
    ) {
        let alt = format!(
            "Line chart of daily engagements by platform from {} to {}, log scale.",
            r.period.from, r.period.to
        );
        rows.push(outbox::file(
            &format!("{parent_key}:chart"),
            channel,
            &parent_key,
            &format!("vibe-engagement-{}.png", r.period.to),
            "Daily engagements by platform",
            &alt,
            &png,
        ));
    }
    for (i, m) in messages.thread.iter().enumerate() {
        rows.push(outbox::post(
            &format!("{parent_key}:thread:{i}"),
            channel,
            Some(&parent_key),
            m,
            None,
        ));
    }
    app.store
        .save_report_and_enqueue(&r, &rows)
        .await
        .map_err(|e| internal(e).text)?;
    app.wake.notify_one();
    Ok(())
}

/// Handles a button click or a modal submission; returns the inline answer, if any.
pub async fn interaction(app: &AppState, ev: SlackInteractionEvent) -> Option<serde_json::Value> {
    match ev {
        SlackInteractionEvent::BlockActions(a) => {
            let now = Utc::now().timestamp();
            for action in a.actions.unwrap_or_default() {
                let key = format!(
                    "{}:{}",
                    action.action_id.0,
                    action.action_ts.map(|t| t.0).unwrap_or_default()
                );
                if !app
                    .store
                    .first_delivery("action", &key, now)
                    .await
                    .unwrap_or(false)
                {
                    continue;
                }
                tracing::info!(action = %action.action_id.0, "button with no handler; nothing done");
                if let Some(url) = &a.response_url {
                    let m = render::note(
                        "This button no longer does anything. `/vibe help` lists what vibe can do.",
                    );
                    let _ = app.web.respond(url.0.as_ref(), &m, false, false).await;
                }
            }
            None
        }
        _ => None,
    }
}

/// Handles an Events API callback once per event_id.
pub async fn push_event(app: &AppState, cb: SlackPushEventCallback) {
    let now = Utc::now().timestamp();
    match app.store.first_delivery("event", &cb.event_id.0, now).await {
        Ok(true) => tracing::debug!(event = %cb.event_id.0, "event received"),
        Ok(false) => {
            tracing::info!(event = %cb.event_id.0, "repeated delivery of an event; ignored")
        }
        Err(e) => tracing::error!(error = %e, "can't record an event delivery"),
    }
}
