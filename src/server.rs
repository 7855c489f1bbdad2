//! `vibe serve`: the HTTP server (Slack endpoints, ingestion API, health) and the outbox
//! worker, built once so the binary and the tests run the same application.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use secrecy::ExposeSecret;
use slack_morphism::prelude::SlackSigningSecret;
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;
use tokio::sync::{watch, Notify};
use tracing::Instrument;

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
    /// Heavy work (reports) in flight, in all and per person.
    pub heavy: crate::heavy::Limiter,
    /// Slack request bodies being read at once (each up to 1 MiB before it can be verified).
    pub slack_reads: tokio::sync::Semaphore,
    /// METRICS_TOKEN: lets non-loopback clients read /metrics.
    metrics_token: Option<secrecy::SecretString>,
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
        let web = slack_web(config)?;
        Ok(AppState(Arc::new(Inner {
            store,
            settings,
            verifier,
            web,
            wake: Arc::new(Notify::new()),
            roles: crate::slack::roles::Roles::new(config.settings.roles.clone()),
            heavy: crate::heavy::Limiter::new(
                config.settings.server.heavy_concurrency,
                config.settings.server.heavy_queue,
                config.settings.server.heavy_per_user,
                Duration::from_secs(config.settings.server.heavy_deadline_secs),
            ),
            slack_reads: tokio::sync::Semaphore::new(SLACK_CONCURRENT_READS),
            metrics_token: config.secrets.metrics_token.clone(),
            inflight: AtomicUsize::new(0),
            idle: Notify::new(),
        })))
    }

    /// Runs `work` in the background, counted so shutdown can wait for it, in the current
    /// tracing span (so its log lines carry the request's id and trigger).
    pub fn spawn<F>(&self, work: F)
    where
        F: std::future::Future<Output = ()> + Send + 'static,
    {
        self.inflight.fetch_add(1, Ordering::SeqCst);
        let app = self.clone();
        tokio::spawn(
            async move {
                work.await;
                if app.inflight.fetch_sub(1, Ordering::SeqCst) == 1 {
                    app.idle.notify_waiters();
                }
            }
            .in_current_span(),
        );
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
        // Past the limit, shutdown goes on without the stragglers (their work is idempotent).
        let _ = tokio::time::timeout(limit, wait).await;
    }

    /// The Slack workspace the application layer may ask, when a bot token is set.
    pub fn workspace(&self) -> Option<&dyn crate::app::Workspace> {
        self.web
            .has_token()
            .then_some(&self.web as &dyn crate::app::Workspace)
    }

    /// How long a client may take to send a body once its headers are in.
    pub fn body_timeout(&self) -> Duration {
        Duration::from_millis(self.settings.server.body_timeout_ms)
    }

    pub fn outbox_policy(&self) -> Policy {
        Policy {
            lease_secs: self.settings.slack.outbox_lease_secs,
            lifetime_secs: self.settings.slack.outbox_lifetime_secs,
        }
    }
}

/// What the scheduler's jobs work with: the store, the settings, and the Slack adapter posting
/// digests through the outbox.
pub fn scheduler_services(app: &AppState) -> crate::scheduler::Services {
    crate::scheduler::Services {
        store: app.store.clone(),
        settings: app.settings.clone(),
        digests: Arc::new(app.clone()),
    }
}

/// The Slack Web API client with the configured base URL, bot token and timeout.
pub fn slack_web(config: &Config) -> anyhow::Result<SlackWeb> {
    SlackWeb::new(
        &config.settings.slack.api_url,
        config.secrets.slack_bot_token.as_ref(),
        Duration::from_millis(config.settings.slack.request_timeout_ms),
    )
    .map_err(|e| anyhow::anyhow!("can't load the system's CA certificates for TLS to Slack: {e}"))
}

/// The Slack workspace as the application layer sees it, when a bot token is set (the
/// terminal looks a channel named `#marketing` up through it).
pub fn workspace(config: &Config) -> anyhow::Result<Option<Box<dyn crate::app::Workspace>>> {
    // Without a token there is nothing to ask, and no TLS roots to load.
    if config.secrets.slack_bot_token.is_none() {
        return Ok(None);
    }
    Ok(Some(Box::new(slack_web(config)?)))
}

/// `vibe health`'s checks, Slack's included when a bot token is set.
pub async fn health(config: &Config, store: &Store) -> anyhow::Result<crate::health::Health> {
    let slack = workspace(config)?;
    Ok(crate::health::check(store, slack.as_deref(), chrono::Utc::now().timestamp()).await)
}

/// The largest body a Slack endpoint accepts: an interaction carries its whole message (up to
/// 50 blocks), which stays well under this.
pub const SLACK_BODY_LIMIT: usize = 1024 * 1024;

/// Slack bodies read at once: Slack's own traffic is a few requests at a time, and this bounds
/// what unverified bodies can hold (64 × 1 MiB).
pub const SLACK_CONCURRENT_READS: usize = 64;

/// The whole router. Body limits are each route's own (`read_body`, with the limit the
/// route's handler passes); the request span is opened by the connection loop.
pub fn router(app: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .merge(crate::slack::http::router())
        .merge(crate::api::router())
        .with_state(app)
}

/// The length a request announces, if any.
fn announced_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

fn too_large(limit: usize) -> Response {
    (
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("the body is larger than this endpoint accepts ({limit} bytes)"),
    )
        .into_response()
}

/// Reads a request body, at most `limit` bytes and within `timeout`: 413 at once when the
/// headers announce more (nothing is read), 413 when more arrives (the rest isn't read), 408
/// when the client is too slow, 400 when it breaks off.
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, Response> {
    if announced_length(headers).is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    match tokio::time::timeout(timeout, axum::body::to_bytes(body, limit)).await {
        Ok(Ok(b)) => Ok(b),
        Ok(Err(e)) => {
            let too_big = std::error::Error::source(&e)
                .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            if too_big {
                Err(too_large(limit))
            } else {
                Err((StatusCode::BAD_REQUEST, "the body could not be read").into_response())
            }
        }
        Err(_) => Err((
            StatusCode::REQUEST_TIMEOUT,
            "the body took too long to arrive",
        )
            .into_response()),
    }
}

/// Readiness: the database answers. No Slack call (a probe every few seconds must not spend
/// Slack's rate limit) and nothing about the workspace for anonymous callers.
async fn readyz(State(app): State<AppState>) -> Response {
    match app.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "readiness: the database doesn't answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "not ready: the database doesn't answer",
            )
                .into_response()
        }
    }
}

/// Whether a /metrics request may see the figures: from this machine, or with METRICS_TOKEN.
fn may_read_metrics(app: &AppState, peer: Option<SocketAddr>, headers: &HeaderMap) -> bool {
    if peer.is_some_and(|p| p.ip().is_loopback()) {
        return true;
    }
    let Some(token) = &app.metrics_token else {
        return false;
    };
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    use secrecy::ExposeSecret;
    given.is_some_and(|g| {
        let want = token.expose_secret().as_bytes();
        // Compared in full whatever the first difference, so timing says nothing.
        g.len() == want.len() && g.bytes().zip(want).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    })
}

/// Prometheus metrics: the in-process series and the outbox as the database has it. Only
/// loopback clients, or clients with METRICS_TOKEN, may read them.
async fn metrics(
    State(app): State<AppState>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
) -> Response {
    if !may_read_metrics(&app, peer.map(|c| c.0 .0), &headers) {
        return (
            StatusCode::FORBIDDEN,
            "metrics are served to this machine only; set METRICS_TOKEN and send it as a bearer token to read them from elsewhere",
        )
            .into_response();
    }
    let now = chrono::Utc::now().timestamp();
    let mut gauges = Vec::new();
    if let Ok(b) = app.store.outbox_backlog(now - 86_400).await {
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
            "vibe_notifications_set_aside",
            "Notifications set aside because they couldn't be turned into messages.",
            b.notifications_set_aside as f64,
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
        crate::app::keep_configured_zones(&store, &config.settings).await?;
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
                scheduler_services(&app),
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
        serve_http(
            self.listener,
            router(app.clone()),
            Duration::from_millis(app.settings.server.header_timeout_ms),
            stop.clone(),
        )
        .await;
        // Each task logs its own errors; a join error would only be a panic, already printed.
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

/// Accepts connections until `stop`, each served by hyper's HTTP/1 with a deadline for its
/// headers (a client that trickles them is dropped), then lets open requests finish.
async fn serve_http(
    listener: tokio::net::TcpListener,
    router: Router,
    header_timeout: Duration,
    mut stop: watch::Receiver<bool>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    loop {
        if *stop.borrow() {
            break;
        }
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a little rather than spin.
                    tracing::warn!(error = %e, "can't accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            // A closed channel means the owner is gone: stop too.
            changed = stop.changed() => {
                if changed.is_err() {
                    break;
                }
                continue;
            }
        };
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "can't set TCP_NODELAY");
        }
        let router = router.clone();
        let service =
            hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let span = request_span(&req);
                let mut router = router.clone();
                tower_service::Service::call(&mut router, req.map(Body::new)).instrument(span)
            });
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "connection closed with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(Duration::from_secs(30), graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open 30 s after the stop");
    }
}

/// Every request runs in a span with its own id, so one log search follows a command from
/// its acknowledgement through the background work it starts; Slack handlers add the
/// trigger id to it. Nearly free when the span isn't logged.
fn request_span<B>(req: &hyper::Request<B>) -> tracing::Span {
    let span = tracing::info_span!(
        "request",
        id = tracing::field::Empty,
        method = %req.method(),
        path = %req.uri().path(),
        trigger = tracing::field::Empty,
    );
    if !span.is_disabled() {
        span.record(
            "id",
            tracing::field::display(format_args!("{:016x}", rand::random::<u64>())),
        );
    }
    span
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
