//! `vibe serve`: the HTTP server (Slack endpoints, ingestion API, health) and the outbox
//! worker, built once so the binary and the tests run the same application.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use secrecy::ExposeSecret;
use slack_morphism::prelude::SlackSigningSecret;
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;
use tokio::sync::{watch, Notify};

use crate::config::{Config, Settings};
use crate::slack::outbox::{self, Policy};
use crate::slack::web::SlackWeb;
use crate::store::Store;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub settings: Settings,
    /// None when SLACK_SIGNING_SECRET is not set: Slack requests are then refused.
    pub verifier: Option<SlackEventSignatureVerifier>,
    pub web: SlackWeb,
    /// Wakes the outbox worker when a message is queued.
    pub wake: Arc<Notify>,
    pub roles: crate::slack::roles::Roles,
    inflight: AtomicUsize,
    idle: Notify,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(store: Store, config: &Config) -> anyhow::Result<AppState> {
        let settings = config.settings.clone();
        let verifier = config.secrets.slack_signing_secret.as_ref().map(|s| {
            SlackEventSignatureVerifier::new(&SlackSigningSecret(s.expose_secret().to_string()))
        });
        let web = SlackWeb::new(
            &settings.slack.api_url,
            config.secrets.slack_bot_token.as_ref(),
            Duration::from_millis(settings.slack.request_timeout_ms),
        )
        .map_err(|e| {
            anyhow::anyhow!("can't load the system's CA certificates for TLS to Slack: {e}")
        })?;
        Ok(AppState(Arc::new(Inner {
            store,
            settings,
            verifier,
            web,
            wake: Arc::new(Notify::new()),
            roles: crate::slack::roles::Roles::new(config.settings.roles.clone()),
            inflight: AtomicUsize::new(0),
            idle: Notify::new(),
        })))
    }

    /// Runs `work` in the background, counted so shutdown can wait for it.
    pub fn spawn<F>(&self, work: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        let app = self.clone();
        tokio::spawn(async move {
            work.await;
            if app.inflight.fetch_sub(1, Ordering::SeqCst) == 1 {
                app.idle.notify_waiters();
            }
        });
    }

    /// Waits until background work started by handlers has finished (at most `limit`).
    pub async fn drain(&self, limit: Duration) {
        let wait = async {
            while self.inflight.load(Ordering::SeqCst) > 0 {
                let notified = self.idle.notified();
                if self.inflight.load(Ordering::SeqCst) == 0 {
                    break;
                }
                notified.await;
            }
        };
        let _ = tokio::time::timeout(limit, wait).await;
    }

    pub fn outbox_policy(&self) -> Policy {
        Policy {
            lease_secs: self.settings.slack.outbox_lease_secs,
            max_attempts: self.settings.slack.outbox_max_attempts,
        }
    }
}

/// The whole router.
pub fn router(app: AppState) -> Router {
    let limit = app.settings.server.max_body_bytes;
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::slack::http::router())
        .merge(crate::api::router())
        .layer(DefaultBodyLimit::max(limit))
        .with_state(app)
}

async fn readyz(State(app): State<AppState>) -> Response {
    let slack = Some(&app.web).filter(|w| w.has_token());
    let health = crate::health::check(&app.store, slack, chrono::Utc::now().timestamp()).await;
    let status = if health.healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health)).into_response()
}

/// Prometheus metrics: the in-process series and the outbox as the database has it.
async fn metrics(State(app): State<AppState>) -> Response {
    let now = chrono::Utc::now().timestamp();
    let mut gauges = Vec::new();
    if let Ok(b) = app.store.outbox_backlog().await {
        gauges.push((
            "vibe_outbox_pending",
            "Channel messages waiting to be delivered.",
            b.pending as f64,
        ));
        gauges.push((
            "vibe_outbox_failed",
            "Channel messages given up on.",
            b.failed as f64,
        ));
        gauges.push((
            "vibe_outbox_oldest_pending_seconds",
            "Age of the oldest undelivered message (0 when none).",
            b.oldest_pending_at
                .map(|t| (now - t).max(0) as f64)
                .unwrap_or(0.0),
        ));
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        crate::metrics::render(&gauges),
    )
        .into_response()
}

/// A bound server, ready to run.
pub struct Application {
    listener: tokio::net::TcpListener,
    addr: SocketAddr,
    app: AppState,
    /// SLACK_APP_TOKEN: Socket Mode is used when it is set.
    app_token: Option<secrecy::SecretString>,
}

impl Application {
    /// Binds the configured address (port 0 picks a free one).
    pub async fn build(store: Store, config: &Config) -> anyhow::Result<Application> {
        let app = AppState::new(store, config)?;
        let listen = &app.settings.server.listen;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| anyhow::anyhow!("can't listen on {listen}: {e}"))?;
        let addr = listener.local_addr()?;
        Ok(Application {
            listener,
            addr,
            app,
            app_token: config.secrets.slack_app_token.clone(),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn state(&self) -> AppState {
        self.app.clone()
    }

    /// Serves until `stop` turns true: then stops accepting, lets in-flight requests and the
    /// work they started finish, and stops the outbox worker after its current message.
    pub async fn run(self, stop: watch::Receiver<bool>) -> anyhow::Result<()> {
        let app = self.app.clone();
        let worker = app.web.has_token().then(|| {
            tokio::spawn(outbox::run(
                app.store.clone(),
                app.web.clone(),
                app.outbox_policy(),
                app.wake.clone(),
                stop.clone(),
            ))
        });
        let scheduler = if app.settings.scheduler.enabled {
            let s = crate::scheduler::Scheduler::new(
                app.clone(),
                &crate::scheduler::Scheduler::owner_name(),
            )
            .map_err(|e| anyhow::anyhow!("scheduler: {e}"))?;
            Some(tokio::spawn(crate::scheduler::run(s, stop.clone())))
        } else {
            None
        };
        let notices = app
            .web
            .has_token()
            .then(|| tokio::spawn(notifications(app.clone(), stop.clone())));
        let socket = self.app_token.clone().map(|token| {
            let (app, stop) = (app.clone(), stop.clone());
            tokio::spawn(async move {
                if let Err(e) = crate::slack::socket::run(app, token, stop).await {
                    tracing::error!(error = %e, "Socket Mode stopped");
                }
            })
        });
        let mut stop_http = stop.clone();
        axum::serve(self.listener, router(app.clone()))
            .with_graceful_shutdown(async move {
                let _ = stop_http.wait_for(|s| *s).await;
            })
            .await?;
        if let Some(s) = socket {
            let _ = s.await;
        }
        if let Some(s) = scheduler {
            let _ = s.await;
        }
        app.drain(Duration::from_secs(20)).await;
        if let Some(n) = notices {
            let _ = n.await;
        }
        if let Some(w) = worker {
            let _ = w.await;
        }
        Ok(())
    }
}

/// Hands the engines' notifications (concluded tests, new alerts) to the outbox every couple
/// of seconds, until `stop`.
async fn notifications(app: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        if let Err(e) = crate::slack::notify::hand_over(&app).await {
            tracing::error!(error = %e, "notifications: database error");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
}

/// What `vibe serve` says at start about what is and isn't configured.
pub fn describe_setup(config: &Config, addr: SocketAddr) -> Vec<String> {
    let s = &config.secrets;
    let mut lines = vec![format!(
        "vibe is listening on http://{addr} (Slack: /slack/commands, /slack/interactions, /slack/events; API: /api/v1; health: /healthz, /readyz)"
    )];
    if s.slack_signing_secret.is_none() && s.slack_app_token.is_none() {
        lines.push("SLACK_SIGNING_SECRET is not set: requests from Slack will be refused (503) until it is.".into());
    }
    if s.slack_app_token.is_some() {
        lines.push(
            "SLACK_APP_TOKEN is set: connecting to Slack over Socket Mode (no public URL needed)."
                .into(),
        );
    }
    if s.slack_bot_token.is_none() {
        lines.push("SLACK_BOT_TOKEN is not set: vibe can answer commands but can't post reports or messages in channels.".into());
    }
    if s.slack_signing_secret.is_some() && s.slack_bot_token.is_some() {
        lines.push(format!("Slack Web API: {}", config.settings.slack.api_url));
    }
    lines
}

/// Turns SIGTERM or Ctrl-C into `stop`.
pub fn stop_on_signals() -> (watch::Sender<bool>, watch::Receiver<bool>) {
    let (tx, rx) = watch::channel(false);
    let signal_tx = tx.clone();
    // Registered here, before anything is announced, so a SIGTERM that comes right after
    // start-up is a clean stop too.
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        let term = async {
            match term {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {}
            _ = term => {}
        }
        tracing::info!("stopping: finishing in-flight work");
        let _ = signal_tx.send(true);
    });
    (tx, rx)
}
