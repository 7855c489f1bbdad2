//! What `/vibe …` does, whichever way it arrived (HTTP or Socket Mode): dedupe by trigger_id,
//! parse with the application's grammar, answer within Slack's 3 seconds, and finish slow work
//! in the background: reports go to the channel through the outbox, other answers (the
//! application's, rendered by `answers`) to the person who asked through the command's
//! `response_url`.

use chrono::Utc;
use slack_morphism::prelude::*;

use super::blocks::Message;
use super::command::{self, SlackCommand};
use super::roles::Role;
use super::{actions, answers, modal, outbox, render};
use crate::analytics::report::PeriodKind;
use crate::analytics::service::{self, ReportError, ReportRequest};
use crate::app::grammar::{period_and_platform, AbtestCommand, Command, ScheduleCommand};
use crate::app::schedule::{Origin, ScheduleRequest};
use crate::app::AppError;
use crate::server::AppState;

/// The inline answer to a command: an ephemeral message, as Slack's JSON.
fn ephemeral(m: &Message) -> SlackCommandEventResponse {
    SlackCommandEventResponse::new(m.content())
        .with_response_type(SlackMessageResponseType::Ephemeral)
}

/// `/vibe help`, rendered once (it depends only on the grammar): the reply, and its JSON.
fn help_reply() -> &'static (SlackCommandEventResponse, axum::body::Bytes) {
    static HELP: std::sync::OnceLock<(SlackCommandEventResponse, axum::body::Bytes)> =
        std::sync::OnceLock::new();
    HELP.get_or_init(|| {
        let reply = ephemeral(&render::help(&command::help_lines(), None));
        let json = serde_json::to_vec(&reply).unwrap_or_default();
        (reply, json.into())
    })
}

/// The inline answer to a command.
#[derive(Debug)]
pub enum Reply {
    /// `/vibe help`: the same every time, so it is kept ready, serialized.
    Help,
    Message(Box<SlackCommandEventResponse>),
}

impl Reply {
    /// The reply as slack-morphism's response (Socket Mode acknowledgements).
    pub fn response(self) -> SlackCommandEventResponse {
        match self {
            Reply::Help => help_reply().0.clone(),
            Reply::Message(m) => *m,
        }
    }

    /// The reply as the JSON body of an HTTP answer.
    pub fn json(self) -> axum::body::Bytes {
        match self {
            Reply::Help => help_reply().1.clone(),
            Reply::Message(m) => serde_json::to_vec(&*m).unwrap_or_default().into(),
        }
    }
}

/// Handles a slash command; returns the inline reply (None: an empty 200).
pub async fn handle(app: &AppState, ev: SlackCommandEvent) -> Option<Reply> {
    if command::is_help(ev.text.as_deref().unwrap_or_default()) {
        return Some(Reply::Help);
    }
    handle_other(app, ev)
        .await
        .map(|m| Reply::Message(Box::new(m)))
}

async fn handle_other(app: &AppState, ev: SlackCommandEvent) -> Option<SlackCommandEventResponse> {
    let text = ev.text.clone().unwrap_or_default();
    // Help and malformed commands are answered inline from the text alone: a repeat gives the
    // same answer and changes nothing, so they need no record of the delivery.
    let parsed = match command::parse(&text) {
        Ok(SlackCommand::Help) => return Some(help_reply().0.clone()),
        Ok(SlackCommand::Run(c)) => match *c {
            Command::Abtest {
                command: AbtestCommand::New(args),
                ..
            } => {
                match first_delivery(app, &ev).await {
                    Ok(true) => {}
                    Ok(false) => return None,
                    Err(m) => return Some(ephemeral(&m)),
                }
                return new_test(app, &ev, Some(args.as_ref()))
                    .await
                    .map(|m| ephemeral(&m));
            }
            c => c,
        },
        Ok(SlackCommand::NewTestForm) => {
            match first_delivery(app, &ev).await {
                Ok(true) => {}
                Ok(false) => return None,
                Err(m) => return Some(ephemeral(&m)),
            }
            return new_test(app, &ev, None).await.map(|m| ephemeral(&m));
        }
        Err(e) => {
            return Some(ephemeral(&render::error(
                &e.message,
                e.suggestion.as_deref(),
                &text,
            )));
        }
    };
    match first_delivery(app, &ev).await {
        Ok(true) => {}
        Ok(false) => return None,
        Err(m) => return Some(ephemeral(&m)),
    }
    tracing::info!(user = %ev.user_id.0, channel = %ev.channel_id.0, command = %text, "slash command");
    // A report is heavy: its range is checked and its person's share taken before the ack,
    // so an unreasonable or repeated request is refused at once.
    let mut ticket = None;
    let ack = match &parsed {
        Command::Report {
            from,
            to,
            words,
            period_flag,
            tz,
            ..
        } => {
            // Everything that can be wrong with the words is said now, not after an
            // "on its way" that never arrives.
            if let Err(m) = period_and_platform(words, *period_flag) {
                return Some(ephemeral(&render::error(
                    &m,
                    Some("/vibe report weekly"),
                    &text,
                )));
            }
            if let Some(t) = tz.as_deref() {
                let Ok(zone) = t.parse::<chrono_tz::Tz>() else {
                    return Some(ephemeral(&render::error(
                        &format!("{t:?} is not a time zone like Europe/Paris"),
                        None,
                        &text,
                    )));
                };
                match service::check_zone(&app.store, zone).await {
                    Ok(_) => {}
                    Err(ReportError::Store(e)) => return Some(ephemeral(&internal(e))),
                    Err(e) => return Some(ephemeral(&render::error(&e.to_string(), None, &text))),
                }
            }
            let today = Utc::now().date_naive();
            if let Err(e) = service::check_range(*from, *to, today) {
                return Some(ephemeral(&render::error(&e.to_string(), None, &text)));
            }
            match app.heavy.admit(&ev.user_id.0) {
                Ok(t) => ticket = Some(t),
                Err(e) => {
                    crate::metrics::inc("vibe_heavy_work_total", &[("outcome", "refused_busy")]);
                    return Some(ephemeral(&render::note(&format!("Not started: {e}."))));
                }
            }
            Some(ephemeral(&render::note(
                "Building the report; it will appear in this channel in a few seconds.",
            )))
        }
        _ => None,
    };
    let app2 = app.clone();
    app.spawn(async move {
        let reply = match ticket {
            Some(t) => {
                let heavy = &app2.heavy;
                match heavy.run(t, run(&app2, parsed, &ev)).await {
                    Ok(reply) => {
                        let outcome = if reply.is_some() { "failed" } else { "done" };
                        crate::metrics::inc("vibe_heavy_work_total", &[("outcome", outcome)]);
                        reply
                    }
                    Err(e) => {
                        crate::metrics::inc("vibe_heavy_work_total", &[("outcome", "deadline")]);
                        tracing::warn!(error = %e, "a report passed its deadline");
                        Some(render::note(&format!("The report wasn't posted: {e}.")))
                    }
                }
            }
            None => run(&app2, parsed, &ev).await,
        };
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

/// Records the command's trigger_id: true the first time, false for a repeat (answered with
/// an empty ack), or the reply to give when the database can't say.
async fn first_delivery(app: &AppState, ev: &SlackCommandEvent) -> Result<bool, Message> {
    match app
        .store
        .first_delivery("command", &ev.trigger_id.0, Utc::now().timestamp())
        .await
    {
        Ok(true) => Ok(true),
        Ok(false) => {
            tracing::info!(trigger = %ev.trigger_id.0, "repeated delivery of a command; ignored");
            Ok(false)
        }
        Err(e) => {
            tracing::error!(error = %e, "can't record a command delivery");
            Err(render::note(
                "Something went wrong on our side; nothing was done. Try again in a moment.",
            ))
        }
    }
}

/// How long a role check may take inside Slack's 3 seconds (a user-group lookup is a Web API
/// call); the rest of the budget is for the work and the answer.
const INLINE_ROLE_CHECK: std::time::Duration = std::time::Duration::from_millis(1200);

/// [`require`], time-boxed for answers Slack waits for: if the lookup is slow, the person is
/// told so (nothing was done) and the lookup goes on in the background to fill the cache, so
/// trying again is quick.
async fn require_inline(
    app: &AppState,
    user: &str,
    role: Role,
    doing: &str,
) -> Result<(), Message> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (app2, user2, doing2) = (app.clone(), user.to_string(), doing.to_string());
    app.spawn(async move {
        // The receiver may have given up waiting: then the answer only warms the cache.
        let _ = tx.send(require(&app2, &user2, role, &doing2).await);
    });
    match tokio::time::timeout(INLINE_ROLE_CHECK, rx).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(_)) => Err(render::note(
            "vibe couldn't check your role; nothing was changed. Try again in a moment.",
        )),
        Err(_) => {
            tracing::warn!(user, "role check timed out inside Slack's 3 seconds");
            Err(render::note(&format!(
                "Slack was slow to tell vibe who is in your user groups, so {} didn't start and nothing was changed. Try again in a moment.",
                doing.to_lowercase()
            )))
        }
    }
}

/// Whether the person who sent `ev` has `role`; the refusal to show them if not.
async fn require(app: &AppState, user: &str, role: Role, doing: &str) -> Result<(), Message> {
    match app.roles.has(&app.web, user, role).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(render::note(&format!(
            "{doing} needs the {} role, which you don't have; nothing was changed. An admin can add you under [roles] in vibe's config.",
            role.as_str()
        ))),
        Err(e) => Err(render::note(&format!(
            "vibe couldn't check your role ({e}); nothing was changed."
        ))),
    }
}

/// `/vibe abtest new`: the modal when no fields follow (opened inline, as the trigger_id lasts
/// 3 seconds), or the fields as `key=value` words or flags, read by the application's one
/// grammar. Returns the ephemeral reply, if any.
async fn new_test(
    app: &AppState,
    ev: &SlackCommandEvent,
    args: Option<&crate::app::grammar::NewTestArgs>,
) -> Option<Message> {
    if let Err(refusal) =
        require_inline(app, &ev.user_id.0, Role::Analyst, "Designing a test").await
    {
        return Some(refusal);
    }
    let channel = ev.channel_id.0.as_str();
    let Some(args) = args else {
        let open = app.web.open_view(&ev.trigger_id.0, modal::view(channel));
        return match tokio::time::timeout(std::time::Duration::from_millis(1500), open).await {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(render::note(&format!(
                "vibe couldn't open the form ({e}). You can give the fields as text instead: /vibe abtest new name=\"Question hook\" metric=ctr variants=A,B baseline=4% mde=10% traffic=2000"
            ))),
            Err(_) => Some(render::note(
                "Slack didn't open the form in time; try /vibe abtest new again.",
            )),
        };
    };
    let actor = format!("slack:{}", ev.user_id.0);
    let input = match crate::app::new_test::from_args(args, &actor, Some(channel)) {
        Ok(input) => input,
        Err(AppError::Fields(lines)) => return Some(answers::design_errors(&lines)),
        Err(e) => {
            return Some(render::error(
                &e.to_string(),
                Some("/vibe abtest new"),
                &ev.text.clone().unwrap_or_default(),
            ))
        }
    };
    Some(match modal::create(app, input, channel, &ev.trigger_id.0).await {
        Ok(Ok(id)) => render::note(&format!(
            "Test #{id} is designed as a draft; its plan is posted in this channel with a Start button."
        )),
        Ok(Err(errors)) => {
            let fields = crate::app::new_test::fields_from_args(args).unwrap_or_default();
            answers::design_errors(&crate::app::new_test::error_lines(&errors, &fields))
        }
        Err(e) => internal(e),
    })
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
            let (period, platform) = match period_and_platform(&words, period_flag) {
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
            Ok(open) => Some(render::alerts(&open, None)),
            Err(e) => Some(internal(e)),
        },
        Command::Health { .. } => {
            let slack = app.workspace();
            let h = crate::health::check(&app.store, slack, Utc::now().timestamp()).await;
            Some(answers::health(&h))
        }
        Command::Schedule { command } => {
            let user = ev.user_id.0.as_str();
            if !matches!(command, ScheduleCommand::List { .. }) {
                if let Err(refusal) =
                    require(app, user, Role::Admin, "Changing digest schedules").await
                {
                    return Some(refusal);
                }
            }
            // The person's own time zone, for `add` without one.
            let user_tz = match &command {
                ScheduleCommand::Add { .. } => match app.web.user_timezone(user).await {
                    Ok(tz) => tz.and_then(|t| t.parse().ok()),
                    Err(e) => {
                        tracing::warn!(error = %e, "can't read the user's time zone");
                        None
                    }
                },
                _ => None,
            };
            let origin = Origin {
                actor: format!("slack:{user}"),
                channel: Some(ev.channel_id.0.clone()),
                user_tz,
                // What people type in Slack is always 5 fields.
                seconds_field: false,
            };
            let request = match command {
                ScheduleCommand::Add { kind, words, cron } => {
                    ScheduleRequest::Add { kind, words, cron }
                }
                ScheduleCommand::List { .. } => ScheduleRequest::List,
                ScheduleCommand::Remove { id } => ScheduleRequest::Remove { id },
            };
            let workspace = app.workspace();
            match crate::app::schedule::execute(
                &app.store,
                app.settings.report.timezone.0,
                request,
                &origin,
                workspace,
                Utc::now(),
            )
            .await
            {
                Ok(answer) => Some(answers::schedule(&answer)),
                Err(AppError::Internal(e)) => Some(internal(e)),
                Err(e) => Some(render::error(
                    &e.to_string(),
                    Some("/vibe schedule add daily 09:00"),
                    &text,
                )),
            }
        }
        Command::Abtest { command, .. } => {
            if matches!(
                command,
                AbtestCommand::Start { .. } | AbtestCommand::Stop { .. }
            ) {
                if let Err(refusal) = require(
                    app,
                    &ev.user_id.0,
                    Role::Analyst,
                    "Starting or stopping a test",
                )
                .await
                {
                    return Some(refusal);
                }
            }
            // In Slack the audit trail names the person, whatever --by says.
            let actor = format!("slack:{}", ev.user_id.0);
            match crate::app::abtest::execute(&app.store, command, &actor, Utc::now()).await {
                Ok(answer) => Some(answers::abtest(&answer)),
                Err(AppError::Internal(e)) => Some(internal(e)),
                Err(AppError::Fields(lines)) => Some(answers::design_errors(&lines)),
                Err(e) => Some(render::error(&e.to_string(), None, &text)),
            }
        }
        _ => Some(render::error(
            "This command runs in the terminal.",
            Some("/vibe help"),
            &text,
        )),
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
    if let Some(c) = crate::analytics::charts::engagement_chart(&r) {
        rows.push(outbox::file(
            &format!("{parent_key}:chart"),
            channel,
            &parent_key,
            &format!("vibe-engagement-{}.png", r.period.to),
            &c.title,
            &c.alt,
            &c.png,
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

/// Handles a button click or a modal submission; returns the inline answer (a modal's field
/// errors), or Empty. Clicks are acknowledged at once and carried out in the background.
pub async fn interaction(app: &AppState, ev: SlackInteractionEvent) -> SlackInteractionResponse {
    match ev {
        SlackInteractionEvent::BlockActions(a) => {
            let now = Utc::now().timestamp();
            let user = a.user.as_ref().map(|u| u.id.0.clone()).unwrap_or_default();
            for info in a.actions.clone().unwrap_or_default() {
                let action_ts = info.action_ts.map(|t| t.0).unwrap_or_default();
                let key = format!("{}:{}:{}", info.action_id.0, user, action_ts);
                match app.store.first_delivery("action", &key, now).await {
                    Ok(true) => {}
                    Ok(false) => continue,
                    Err(e) => {
                        // Say so rather than drop the click: the person would otherwise wait
                        // for a change that never comes.
                        let m = internal(e);
                        if let Some(url) = a.response_url.as_ref() {
                            let (app2, url) = (app.clone(), url.0.to_string());
                            app.spawn(async move {
                                if let Err(e) = app2.web.respond(&url, &m, false, false).await {
                                    tracing::warn!(error = %e, "can't answer a click through response_url");
                                }
                            });
                        }
                        continue;
                    }
                }
                let click = actions::Click {
                    user: user.clone(),
                    channel: a.channel.as_ref().map(|c| c.id.0.clone()),
                    message_ts: match &a.container {
                        SlackInteractionActionContainer::Message(m) => Some(m.message_ts.0.clone()),
                        _ => None,
                    },
                    response_url: a.response_url.as_ref().map(|u| u.0.to_string()),
                    action_ts,
                };
                let parsed = actions::Action::parse(&info.action_id.0, info.value.as_deref());
                let app2 = app.clone();
                app.spawn(async move {
                    let outcome = match parsed {
                        Some(action) => {
                            let o = actions::perform(&app2, action, &click).await;
                            tracing::info!(action = action.name(), user = %click.user, outcome = ?o, "button");
                            o
                        }
                        None => actions::Outcome::Failed(
                            "This button no longer does anything. `/vibe help` lists what vibe can do."
                                .into(),
                        ),
                    };
                    if let (Some(m), Some(url)) = (outcome.reply(), &click.response_url) {
                        if let Err(e) = app2.web.respond(url, &m, false, false).await {
                            tracing::warn!(error = %e, "can't answer a click through response_url");
                        }
                    }
                });
            }
            SlackInteractionResponse::Empty
        }
        SlackInteractionEvent::ViewSubmission(v) => view_submission(app, v).await,
        _ => SlackInteractionResponse::Empty,
    }
}

/// The `abtest new` modal, submitted: field errors back into the modal, or the draft created
/// and its plan posted (the modal then closes).
async fn view_submission(
    app: &AppState,
    v: SlackInteractionViewSubmissionEvent,
) -> SlackInteractionResponse {
    let (callback, channel) = match &v.view.view {
        SlackView::Modal(m) => (
            m.callback_id.as_ref().map(|c| c.0.clone()),
            m.private_metadata.clone(),
        ),
        _ => (None, None),
    };
    if callback.as_deref() != Some(modal::CALLBACK_ID) {
        return SlackInteractionResponse::Empty;
    }
    let user = v.user.id.0.clone();
    let errors = |e: std::collections::HashMap<String, String>| {
        SlackInteractionResponse::ViewSubmission(SlackViewSubmissionResponse::Errors(
            SlackViewSubmissionErrorsResponse::new(e),
        ))
    };
    if let Err(refusal) = require_inline(app, &user, Role::Analyst, "Designing a test").await {
        return errors([("name".to_string(), refusal.text)].into());
    }
    let Some(channel) = channel.filter(|c| !c.is_empty()) else {
        return errors(
            [(
                "name".to_string(),
                "vibe lost track of the channel; run /vibe abtest new again".to_string(),
            )]
            .into(),
        );
    };
    // A retried submission of the same view must not create a second test.
    let key = format!("{}:{}", v.view.state_params.id.0, v.view.state_params.hash);
    match app
        .store
        .first_delivery("view", &key, Utc::now().timestamp())
        .await
    {
        Ok(true) => {}
        Ok(false) => return SlackInteractionResponse::Empty,
        Err(e) => return errors([("name".to_string(), internal(e).text)].into()),
    }
    let fields = crate::app::new_test::fields_from_form(&modal::fields_from_state(
        v.view.state_params.state.as_ref(),
    ));
    let created =
        match crate::app::new_test::input(&fields, &format!("slack:{user}"), Some(&channel)) {
            Ok(input) => modal::create(app, input, &channel, &key).await,
            Err(e) => Ok(Err(e)),
        };
    match created {
        Ok(Ok(_)) => SlackInteractionResponse::Empty,
        Ok(Err(field_errors)) => {
            // Let the corrected form be submitted: it comes back with a new hash anyway, but
            // the same one must not be refused as a repeat.
            forget_view(app, &key).await;
            errors(modal::errors_by_block(&field_errors))
        }
        Err(e) => {
            forget_view(app, &key).await;
            errors([("name".to_string(), internal(e).text)].into())
        }
    }
}

/// Forgets a submission that created nothing, so the same form can be sent again. If that
/// fails, a resubmission of the identical form is taken for a repeat; the person's edited
/// form has a new hash and goes through, so only the log needs to know.
async fn forget_view(app: &AppState, key: &str) {
    if let Err(e) = app.store.forget_delivery("view", key).await {
        tracing::warn!(error = %e, key, "can't forget a failed form submission");
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
