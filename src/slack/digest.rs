//! Channel digests: the daily summary and the weekly deep dive, built from a report as of the
//! scheduled time and queued for the channel through the outbox (with the stored report, in
//! one transaction). The outbox key names the schedule and slot, so a run that is taken over
//! after its replica died posts nothing twice.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::outbox;
use super::render::{self, TestLine};
use crate::analytics::report::PeriodKind;
use crate::analytics::service::{self, ReportError, ReportRequest};
use crate::experiments::design::Status;
use crate::server::AppState;

pub use crate::scheduler::DigestKind;

impl DigestKind {
    fn period(self) -> PeriodKind {
        match self {
            DigestKind::Daily => PeriodKind::Daily,
            DigestKind::Weekly => PeriodKind::Weekly,
        }
    }

    /// How far back a concluded test still counts as news.
    fn lookback_secs(self) -> i64 {
        match self {
            DigestKind::Daily => 86_400,
            DigestKind::Weekly => 7 * 86_400,
        }
    }
}

/// Tests worth a line: running ones with where they stand, and those concluded recently.
async fn test_lines(
    app: &AppState,
    kind: DigestKind,
    at: DateTime<Utc>,
) -> Result<Vec<TestLine>, String> {
    let mut out = Vec::new();
    let since = at.timestamp() - kind.lookback_secs();
    let concluded = app
        .store
        .experiments_with_status(Status::Concluded)
        .await
        .map_err(|e| e.to_string())?;
    for e in concluded
        .into_iter()
        .filter(|e| e.ended_at.is_some_and(|t| t > since && t <= at.timestamp()))
    {
        out.push(TestLine {
            id: e.id,
            name: e.design.name.clone(),
            status: e.status,
            line: e.verdict.clone().unwrap_or_else(|| "concluded".into()),
        });
    }
    let running = crate::experiments::results_of_running(&app.store, at)
        .await
        .map_err(|e| e.to_string())?;
    for (e, r) in running {
        let line = match r {
            Ok(r) => crate::experiments::render::verdict_sentence(&e, &r),
            Err(err) => format!("can't be analysed: {err}"),
        };
        out.push(TestLine {
            id: e.id,
            name: e.design.name.clone(),
            status: e.status,
            line,
        });
    }
    Ok(out)
}

impl crate::scheduler::Digests for AppState {
    fn post<'a>(
        &'a self,
        kind: DigestKind,
        channel: &'a str,
        tz: Tz,
        at: DateTime<Utc>,
        key: &'a str,
    ) -> futures_util::future::BoxFuture<'a, Result<bool, String>> {
        Box::pin(post(self, kind, channel, tz, at, key))
    }
}

/// Builds the digest as of `at` (the scheduled time) and queues it for `channel` under `key`.
/// Returns false when nothing was queued: already queued under this key, or no data yet.
pub async fn post(
    app: &AppState,
    kind: DigestKind,
    channel: &str,
    tz: Tz,
    at: DateTime<Utc>,
    key: &str,
) -> Result<bool, String> {
    if app.store.outbox_has(key).await.map_err(|e| e.to_string())? {
        return Ok(false);
    }
    let req = ReportRequest {
        kind: kind.period(),
        brand: app.settings.slack.brand_of(channel).map(str::to_string),
        platform: None,
        from: None,
        to: None,
        timezone: tz,
    };
    let r = match service::build_report(&app.store, &app.settings, &req, at).await {
        Ok(r) => r,
        Err(ReportError::NoAccounts(scope)) => {
            tracing::info!(channel, scope, "digest skipped: no accounts yet");
            return Ok(false);
        }
        Err(e @ ReportError::NoData { .. }) => {
            tracing::info!(channel, "digest skipped: {e}");
            return Ok(false);
        }
        Err(e) => return Err(e.to_string()),
    };
    let tests = test_lines(app, kind, at).await?;
    let symbol = app.settings.report.currency.symbol();
    let mut rows = Vec::new();
    match kind {
        DigestKind::Daily => {
            let m = render::daily_digest(&r, &tests, symbol);
            rows.push(outbox::post(key, channel, None, &m, None));
        }
        DigestKind::Weekly => {
            let m = render::weekly_digest(&r, &tests, symbol);
            rows.push(outbox::post(key, channel, None, &m.parent, None));
            for c in crate::analytics::charts::charts(&r) {
                rows.push(outbox::file(
                    &format!("{key}:chart:{}", c.stem),
                    channel,
                    key,
                    &format!("vibe-{}-{}.png", c.stem, r.period.to),
                    &c.title,
                    &c.alt,
                    &c.png,
                ));
            }
            for (i, t) in m.thread.iter().enumerate() {
                rows.push(outbox::post(
                    &format!("{key}:thread:{i}"),
                    channel,
                    Some(key),
                    t,
                    None,
                ));
            }
        }
    }
    app.store
        .save_report_and_enqueue(&r, &rows)
        .await
        .map_err(|e| e.to_string())?;
    app.wake.notify_one();
    Ok(true)
}
