//! `vibe report`, `vibe alerts` and `vibe analyze`.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::{NaiveDate, Utc};

use super::{OutputFormat, ReportFormat};
use crate::analytics::render::{render, Style};
use crate::analytics::report::PeriodKind;
use crate::analytics::service::{self, ReportError, ReportRequest};
use crate::config::Settings;
use crate::domain::Platform;
use crate::format::thousands;
use crate::store::{KeptZone, Store, StoreError};

pub struct ReportArgs {
    pub period: Option<PeriodKind>,
    pub platform: Option<Platform>,
    pub brand: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub tz: Option<String>,
    pub format: ReportFormat,
    pub output: Option<PathBuf>,
}

fn time_zone(settings: &Settings, tz: Option<&str>) -> Result<chrono_tz::Tz, String> {
    match tz {
        None => Ok(settings.report.timezone.0),
        Some(t) => t.parse().map_err(|_| {
            format!("{t:?} is not an IANA time zone like Europe/Paris or America/New_York")
        }),
    }
}

pub async fn report(store: &Store, settings: &Settings, a: ReportArgs) -> anyhow::Result<ExitCode> {
    let tz = match time_zone(settings, a.tz.as_deref()) {
        Ok(t) => t,
        Err(m) => {
            eprintln!("error: {m}");
            return Ok(ExitCode::from(2));
        }
    };
    // The terminal is the operator's: a report in a zone not kept yet adds it.
    match store.keep_zone(tz).await {
        Ok(KeptZone::Already) => {}
        Ok(KeptZone::Added { snapshots }) => eprintln!(
            "vibe now keeps days in {} too (rollups built from {} snapshots); imports keep them up to date, and `vibe zones remove {}` stops it.",
            tz.name(),
            thousands(snapshots as i64),
            tz.name()
        ),
        Err(StoreError::TooManyZones(m)) => {
            eprintln!("error: {m}");
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(e.into()),
    }
    let req = ReportRequest {
        kind: a.period.unwrap_or(PeriodKind::Weekly),
        brand: a.brand,
        platform: a.platform,
        from: a.from,
        to: a.to,
        timezone: tz,
    };
    let r = match service::build_report(store, settings, &req, Utc::now()).await {
        Ok(r) => r,
        Err(ReportError::Store(e)) => return Err(e.into()),
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(2));
        }
    };
    let id = store.save_report(&r).await?;
    write_report(&r, settings, a.format, a.output)?;
    if a.format == ReportFormat::Text {
        outln!("Stored as report #{id}: `vibe report show {id}` shows it again as generated.");
    }
    Ok(ExitCode::SUCCESS)
}

/// `vibe report show ID`: a stored report as it was generated, in any format.
pub async fn show_report(
    store: &Store,
    settings: &Settings,
    id: &str,
    format: ReportFormat,
    output: Option<PathBuf>,
) -> anyhow::Result<ExitCode> {
    let Some(id) = id.parse::<i64>().ok().filter(|i| *i > 0) else {
        eprintln!("error: {id:?} is not a report number: `vibe report show 12`");
        return Ok(ExitCode::from(2));
    };
    let Some(body) = store.stored_report(id).await? else {
        eprintln!("error: there is no report #{id}");
        return Ok(ExitCode::from(2));
    };
    let r: crate::analytics::report::Report = match serde_json::from_str(&body) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: report #{id} was stored by an earlier version of vibe and can't be shown again ({e})");
            return Ok(ExitCode::FAILURE);
        }
    };
    write_report(&r, settings, format, output)?;
    Ok(ExitCode::SUCCESS)
}

fn write_report(
    r: &crate::analytics::report::Report,
    settings: &Settings,
    format: ReportFormat,
    output: Option<PathBuf>,
) -> anyhow::Result<()> {
    let symbol = settings.report.currency.symbol();
    let body = match format {
        ReportFormat::Text => render(r, Style::Text, symbol),
        ReportFormat::Markdown => render(r, Style::Markdown, symbol),
        ReportFormat::Json => serde_json::to_string_pretty(r)? + "\n",
        ReportFormat::Html => {
            crate::analytics::render::html_page(r, symbol, &crate::analytics::charts::charts(r))
        }
    };
    match output {
        Some(path) => {
            std::fs::write(&path, body)
                .map_err(|e| anyhow::anyhow!("can't write {}: {e}", path.display()))?;
            outln!("Wrote {}", path.display());
        }
        None => out!("{body}"),
    }
    Ok(())
}

pub async fn alerts(store: &Store, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let open = store.open_alerts(Utc::now().timestamp()).await?;
    if format == OutputFormat::Json {
        outln!("{}", serde_json::to_string_pretty(&open)?);
    } else if open.is_empty() {
        outln!("No open alerts. `vibe analyze` runs the detectors.");
    } else {
        for a in &open {
            let when = chrono::DateTime::from_timestamp(a.opened_at, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
                .unwrap_or_default();
            outln!(
                "#{:<4} {:<8} {:<18} {when}\n      {}",
                a.id,
                a.alert.severity,
                a.alert.kind,
                a.alert.message
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn analyze(store: &Store, settings: &Settings) -> anyhow::Result<ExitCode> {
    let now = Utc::now();
    let tz = settings.report.timezone.0;
    let detected = match service::analyse(store, settings, now, tz).await {
        Ok(d) => d,
        Err(ReportError::Store(e)) => return Err(e.into()),
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let tests = crate::experiments::check(store, now).await?;
    outln!(
        "Detectors: {} condition(s) through {}, {} new alert(s), {} resolved.",
        detected.detected,
        detected
            .through
            .map(|d| d.to_string())
            .unwrap_or_else(|| "-".into()),
        detected.opened.len(),
        detected.resolved
    );
    outln!(
        "A/B tests: started {}, analysed {}, concluded {}.",
        tests.started.len(),
        tests.analysed.len(),
        tests.concluded.len()
    );
    let req = ReportRequest::weekly_all(tz);
    match service::build_report(store, settings, &req, now).await {
        Ok(r) => {
            let id = store.save_report(&r).await?;
            outln!(
                "Weekly report #{id} ({} to {}): score {}; {} open alert(s), {} recommendation(s). Show it with: vibe report weekly",
                r.period.from,
                r.period.to,
                r.score.map(|s| format!("{s}/100")).unwrap_or_else(|| "n/a".into()),
                r.alerts.len(),
                r.recommendations.len()
            );
        }
        Err(ReportError::NoAccounts(_)) => outln!("No accounts yet: no report."),
        Err(ReportError::Store(e)) => return Err(e.into()),
        Err(e) => eprintln!("error: {e}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The end of `vibe demo`: the analysis cycle, the weekly report in the terminal and as HTML.
pub async fn demo_report(
    store: &Store,
    settings: &Settings,
    data: &crate::demo::DemoData,
    html: &std::path::Path,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let tz = settings.report.timezone.0;
    let found = match service::analyse(store, settings, now, tz).await {
        Ok(f) => f,
        Err(ReportError::Store(e)) => return Err(e.into()),
        Err(e) => anyhow::bail!("{e}"),
    };
    outln!("\nWhat was planted, and what the detectors found:");
    for f in data.findings(&store.open_alerts(now.timestamp()).await?) {
        match (f.planted, f.alert) {
            (true, Some(id)) => outln!("  ✓ {}: alert #{id}", f.what),
            (true, None) => outln!("  ✗ {}: not found", f.what),
            (false, id) => outln!(
                "  + not planted, found: {} (alert #{})",
                f.what,
                id.unwrap_or_default()
            ),
        }
    }
    let req = ReportRequest::weekly_all(tz);
    let r = match service::build_report(store, settings, &req, now).await {
        Ok(r) => r,
        Err(ReportError::Store(e)) => return Err(e.into()),
        Err(e) => anyhow::bail!("{e}"),
    };
    store.save_report(&r).await?;
    let symbol = settings.report.currency.symbol();
    outln!(
        "\nThe detectors raised {} alert(s). The weekly report:\n",
        found.opened.len()
    );
    out!("{}", render(&r, Style::Text, symbol));
    let page =
        crate::analytics::render::html_page(&r, symbol, &crate::analytics::charts::charts(&r));
    std::fs::write(html, page)
        .map_err(|e| anyhow::anyhow!("can't write {}: {e}", html.display()))?;
    outln!("\nThe report with its charts: {}", html.display());
    Ok(())
}
