//! Socket Mode: with an app-level token (xapp-…) vibe opens a WebSocket to Slack
//! (`apps.connections.open`) instead of needing a public URL. slack-morphism's client keeps the
//! connection, reconnects after drops and Slack's `disconnect` messages, and acknowledges each
//! envelope with what the handlers return: the same handlers as HTTP mode. The socket, opened
//! with the app token, stands in for signature checks.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use slack_morphism::prelude::*;
use tokio::sync::watch;

use super::commands;
use crate::server::AppState;

/// The error a command callback returns to be acknowledged without a payload (a repeated
/// delivery): the error handler answers it with success, so the envelope is acked bare.
#[derive(Debug)]
struct NoReply;

impl std::fmt::Display for NoReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("no reply")
    }
}

impl std::error::Error for NoReply {}

fn app_of(states: &SlackClientEventsUserStateStorage) -> Option<AppState> {
    states.get_user_state::<AppState>().cloned()
}

async fn on_command<C: SlackClientHttpConnector + Send + Sync>(
    ev: SlackCommandEvent,
    _client: Arc<SlackClient<C>>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackCommandEventResponse> {
    let Some(app) = app_of(&*states.read().await) else {
        return Err(Box::new(NoReply));
    };
    let started = std::time::Instant::now();
    let span = tracing::info_span!(
        "socket",
        id = %format!("{:016x}", rand::random::<u64>()),
        trigger = %ev.trigger_id.0
    );
    let reply = tracing::Instrument::instrument(commands::handle(&app, ev), span).await;
    crate::metrics::observe(
        "vibe_command_ack_seconds",
        &[("transport", "socket")],
        started.elapsed().as_secs_f64(),
    );
    reply
        .map(commands::Reply::response)
        .ok_or_else(|| Box::new(NoReply) as Box<dyn std::error::Error + Send + Sync>)
}

async fn on_interaction<C: SlackClientHttpConnector + Send + Sync>(
    ev: SlackInteractionEvent,
    _client: Arc<SlackClient<C>>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<SlackInteractionResponse> {
    let Some(app) = app_of(&*states.read().await) else {
        return Ok(SlackInteractionResponse::Empty);
    };
    let span = tracing::info_span!("socket", id = %format!("{:016x}", rand::random::<u64>()));
    Ok(tracing::Instrument::instrument(commands::interaction(&app, ev), span).await)
}

async fn on_push<C: SlackClientHttpConnector + Send + Sync>(
    ev: SlackPushEventCallback,
    _client: Arc<SlackClient<C>>,
    states: SlackClientEventsUserState,
) -> UserCallbackResult<()> {
    if let Some(app) = app_of(&*states.read().await) {
        commands::push_event(&app, ev).await;
    }
    Ok(())
}

fn on_error<C: SlackClientHttpConnector + Send + Sync>(
    err: Box<dyn std::error::Error + Send + Sync>,
    _client: Arc<SlackClient<C>>,
    _states: SlackClientEventsUserState,
) -> HttpStatusCode {
    if err.downcast_ref::<NoReply>().is_none() {
        tracing::warn!(error = %err, "Socket Mode");
    }
    // Acknowledge: what went wrong was handled (and told to the user) by the handlers; a
    // redelivery would not do better.
    HttpStatusCode::OK
}

/// Connects and serves until `stop` turns true.
pub async fn run(
    app: AppState,
    app_token: SecretString,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let client = app.web.client();
    let callbacks = SlackSocketModeListenerCallbacks::new()
        .with_command_events(on_command)
        .with_interaction_events(on_interaction)
        .with_push_events(on_push);
    let env = Arc::new(
        SlackClientEventsListenerEnvironment::new(client)
            .with_error_handler(on_error)
            .with_user_state(app.clone()),
    );
    let config = SlackClientSocketModeConfig::new()
        .with_max_connections_count(1)
        .with_initial_backoff_in_seconds(1)
        .with_reconnect_timeout_in_seconds(5);
    let listener = SlackClientSocketModeListener::new(&config, env, callbacks);
    let token = SlackApiToken::new(SlackApiTokenValue(app_token.expose_secret().to_string()));
    // Slack may be unreachable at start: keep trying (slack-morphism reconnects by itself once
    // a connection has been made).
    let mut wait = 1;
    while let Err(e) = listener.listen_for(&token).await {
        tracing::warn!(error = %e, retry_in_secs = wait, "Socket Mode: apps.connections.open failed");
        tokio::select! {
            _ = tokio::time::sleep(std::time::Duration::from_secs(wait)) => {}
            _ = stop.wait_for(|s| *s) => return Ok(()),
        }
        wait = (wait * 2).min(60);
    }
    listener.start().await;
    tracing::info!("Socket Mode listener started; it connects and reconnects on its own");
    let _ = stop.wait_for(|s| *s).await;
    listener.shutdown().await;
    Ok(())
}
