//! Loading what reports and detectors need from the store, building reports, and the analysis
//! cycle that raises and resolves alerts.

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;

use super::detect::{self, DetectInput};
use super::report::{self, history_days, period_end, Period, PeriodKind, Report, ReportInput};
use crate::config::Settings;
use crate::domain::Platform;
use crate::store::{Store, StoreError};
use std::collections::HashSet;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("no brand {brand:?}; brands: {known}")]
    UnknownBrand { brand: String, known: String },
    #[error("no accounts{}: import data with `vibe import` or try `vibe demo`", .0)]
    NoAccounts(String),
    #[error("--from {from} is after --to {to}")]
    BadRange { from: NaiveDate, to: NaiveDate },
    #[error("{days} days is too long for one report: a report covers at most {MAX_REPORT_DAYS} days (three years); ask for a shorter range")]
    RangeTooLong { days: i64 },
    #[error("no data from {from} to {to}{}", match .span {
        Some((first, last)) => format!(": the data runs from {first} to {last}; ask for a period inside it"),
        None => ": nothing has been imported for these accounts yet".to_string(),
    })]
    NoData {
        from: NaiveDate,
        to: NaiveDate,
        span: Option<(NaiveDate, NaiveDate)>,
    },
    #[error("vibe doesn't count days in {zone} yet; it keeps days in {}. A digest schedule in {zone}, or `vibe report --tz {zone}` run once in the terminal, adds it", .kept.join(", "))]
    ZoneNotKept { zone: String, kept: Vec<String> },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a report is asked for.
#[derive(Debug, Clone)]
pub struct ReportRequest {
    pub kind: PeriodKind,
    pub brand: Option<String>,
    pub platform: Option<Platform>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
    pub timezone: chrono_tz::Tz,
}

impl ReportRequest {
    /// The weekly report over every account: what `vibe analyze` and the demo produce.
    pub fn weekly_all(timezone: chrono_tz::Tz) -> Self {
        ReportRequest {
            kind: PeriodKind::Weekly,
            brand: None,
            platform: None,
            from: None,
            to: None,
            timezone,
        }
    }
}

/// The longest range one report may cover: three years. Longer ones would load and chart
/// more than anyone reads, and let one request hold the machine.
pub const MAX_REPORT_DAYS: i64 = 3 * 365 + 1;

/// Checks a requested range before any work: `from` not after `to`, and at most
/// [`MAX_REPORT_DAYS`] long (with only `from`, counted to `today`). Cheap, so a command is
/// refused at once rather than after a long build.
pub fn check_range(
    from: Option<NaiveDate>,
    to: Option<NaiveDate>,
    today: NaiveDate,
) -> Result<(), ReportError> {
    let (Some(from), end) = (from, to.unwrap_or(today)) else {
        return Ok(());
    };
    if let Some(to) = to {
        if from > to {
            return Err(ReportError::BadRange { from, to });
        }
    }
    let days = (end - from).num_days() + 1;
    if days > MAX_REPORT_DAYS {
        return Err(ReportError::RangeTooLong { days });
    }
    Ok(())
}

/// Checks that the rollups keep days in `tz` (one query), so a report in it can be built;
/// returns the zone as the rollups name it.
pub async fn check_zone(store: &Store, tz: chrono_tz::Tz) -> Result<chrono_tz::Tz, ReportError> {
    let zone = crate::domain::days::canonical(tz);
    let kept = store.rollup_zones().await?;
    if kept.contains(&zone) {
        return Ok(zone);
    }
    Err(ReportError::ZoneNotKept {
        zone: zone.name().to_string(),
        kept: kept.iter().map(|z| z.name().to_string()).collect(),
    })
}

/// Builds a report from the store as of `now`.
pub async fn build_report(
    store: &Store,
    settings: &Settings,
    req: &ReportRequest,
    now: DateTime<Utc>,
) -> Result<Report, ReportError> {
    let today = now.with_timezone(&req.timezone).date_naive();
    check_range(req.from, req.to, today)?;
    if let Some(b) = &req.brand {
        let brands = store.brands().await?;
        if !brands.contains(b) {
            return Err(ReportError::UnknownBrand {
                brand: b.clone(),
                known: brands.join(", "),
            });
        }
    }
    let accounts = store
        .scope_accounts(req.brand.as_deref(), req.platform)
        .await?;
    if accounts.is_empty() {
        let scope = match (&req.brand, req.platform) {
            (Some(b), Some(p)) => format!(" for {b} on {}", p.display_name()),
            (Some(b), None) => format!(" for {b}"),
            (None, Some(p)) => format!(" on {}", p.display_name()),
            (None, None) => String::new(),
        };
        return Err(ReportError::NoAccounts(scope));
    }
    let ids: Vec<i64> = accounts.iter().map(|a| a.id).collect();
    let zone = check_zone(store, req.timezone).await?;
    let (period, data_through) = match (req.from, req.to) {
        (Some(from), Some(to)) => {
            if from > to {
                return Err(ReportError::BadRange { from, to });
            }
            (Period::range(PeriodKind::Custom, from, to), None)
        }
        (from, to) => {
            let (end, through) = match to {
                Some(t) => (t, None),
                None => period_end(today, store.last_data_day(&ids, zone).await?),
            };
            let p = match from {
                Some(f) if f <= end => Period::range(PeriodKind::Custom, f, end),
                _ => Period::ending(req.kind, end),
            };
            (p, through)
        }
    };
    let load_from = period.previous_from - Days::new(history_days(&period)).min(Days::new(400));
    let load_from = load_from.min(period.to - Days::new(detect::HISTORY_DAYS));
    let days = store.account_days(&ids, zone, load_from, period.to).await?;
    let funnel = store
        .funnel_rows(
            &ids,
            req.brand.as_deref(),
            req.platform,
            load_from,
            period.to,
        )
        .await?;
    // A brand may have campaigns and no posts: either counts as data.
    let in_period = |d: NaiveDate| d >= period.from && d <= period.to;
    if !days.iter().any(|r| in_period(r.day)) && !funnel.iter().any(|r| in_period(r.day)) {
        return Err(ReportError::NoData {
            from: period.from,
            to: period.to,
            span: store.data_span(&ids, zone).await?,
        });
    }
    let posts_from = period.from.min(period.to - Days::new(29));
    let posts = store.post_series(&ids, zone, posts_from, period.to).await?;
    let alerts = store
        .open_alerts(now.timestamp())
        .await?
        .into_iter()
        .filter(|a| match a.alert.account_id {
            Some(id) => ids.contains(&id),
            // Campaign alerts belong to every report that shows the funnel.
            None => a.alert.kind == crate::analytics::model::AlertKind::HighCostPerLead,
        })
        .collect();
    let scope = match (&req.brand, req.platform) {
        (Some(b), Some(p)) => format!("{b} on {}", p.display_name()),
        (Some(b), None) => b.clone(),
        (None, Some(p)) => format!("All accounts on {}", p.display_name()),
        (None, None) => "All accounts".to_string(),
    };
    let kind_word = match period.kind {
        PeriodKind::Daily => "Daily",
        PeriodKind::Weekly => "Weekly",
        PeriodKind::Monthly => "Monthly",
        PeriodKind::Custom => "Custom",
    };
    let title = format!("{kind_word} report: {scope}");
    let (brand, platform) = (req.brand.clone(), req.platform);
    let timezone = req.timezone.name().to_string();
    let currency = settings.report.currency.code().to_string();
    let detectors = settings.detectors.clone();
    // Scoring, forecasting and sentiment are CPU work: on a blocking thread, so the threads
    // that answer requests stay free however long the range.
    off_the_workers(move || {
        report::build(ReportInput {
            title,
            period,
            brand,
            platform,
            timezone,
            currency,
            now,
            data_through,
            accounts: &accounts,
            days: &days,
            posts: &posts,
            funnel: &funnel,
            alerts,
            detectors: &detectors,
        })
    })
    .await
}

/// Runs pure CPU work on tokio's blocking pool.
async fn off_the_workers<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ReportError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| ReportError::Internal(format!("the computation stopped: {e}")))
}

/// What one analysis cycle did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AnalysisReport {
    pub through: Option<NaiveDate>,
    pub detected: usize,
    /// Alerts announced by this cycle: new ones, and snoozed ones whose snooze ran out.
    pub opened: Vec<i64>,
    pub resolved: u64,
}

/// Runs the detectors over every account through the last full day with data and stores the
/// alerts: a condition already open is not raised again, nor one that cleared within the
/// cooldown; an open alert whose condition is gone is resolved.
pub async fn analyse(
    store: &Store,
    settings: &Settings,
    now: DateTime<Utc>,
    tz: chrono_tz::Tz,
) -> Result<AnalysisReport, ReportError> {
    let detectors = &settings.detectors;
    let currency = settings.report.currency.clone();
    let tz = check_zone(store, tz).await?;
    let accounts = store.scope_accounts(None, None).await?;
    let ids: Vec<i64> = accounts.iter().map(|a| a.id).collect();
    let today = now.with_timezone(&tz).date_naive();
    let (end, _) = period_end(today, store.last_data_day(&ids, tz).await?);
    if accounts.is_empty() {
        return Ok(AnalysisReport::default());
    }
    let from = end - Days::new(detect::HISTORY_DAYS);
    let days = store.account_days(&ids, tz, from, end).await?;
    let posts = store
        .post_series(&ids, tz, end - Days::new(29), end)
        .await?;
    let funnel = store.funnel_rows(&ids, None, None, from, end).await?;
    let week_from = end - Days::new(detect::WINDOW - 1);
    let known: HashSet<i64> = ids.iter().copied().collect();
    let seen_this_week: HashSet<i64> = days
        .iter()
        .filter(|r| r.day >= week_from)
        .map(|r| r.account)
        .collect();
    // Accounts whose earlier week had enough posts for a drop to be judged.
    let mut earlier_posts: std::collections::HashMap<i64, i64> = Default::default();
    for r in days
        .iter()
        .filter(|r| r.day < week_from && r.day >= week_from - Days::new(detect::WINDOW))
    {
        *earlier_posts.entry(r.account).or_default() += r.posts_published;
    }
    let drop_judged: HashSet<i64> = earlier_posts
        .into_iter()
        .filter(|(_, n)| *n >= detect::MIN_POSTS_FOR_DROP)
        .map(|(a, _)| a)
        .collect();
    // Campaigns with enough leads this week for their cost per lead to be judged.
    let mut leads: std::collections::HashMap<String, i64> = Default::default();
    for r in funnel.iter().filter(|r| r.day >= week_from) {
        *leads
            .entry(format!("high_cost_per_lead:{}:{}", r.platform, r.campaign))
            .or_default() += r.funnel.leads.unwrap_or(0);
    }
    let campaigns_this_week: HashSet<String> = leads
        .into_iter()
        .filter(|(_, n)| *n >= detect::MIN_LEADS)
        .map(|(k, _)| k)
        .collect();
    let settings = detectors.clone();
    let found = off_the_workers(move || {
        detect::detect(&DetectInput {
            accounts: &accounts,
            days: &days,
            posts: &posts,
            funnel: &funnel,
            end,
            zone: tz,
            settings: &settings,
            currency_symbol: currency.symbol(),
        })
    })
    .await?;
    let mut out = AnalysisReport {
        through: Some(end),
        detected: found.len(),
        ..Default::default()
    };
    let cooldown = i64::from(detectors.cooldown_hours) * 3600;
    for d in &found {
        if let Some(id) = store
            .raise_alert(&d.alert, now.timestamp(), cooldown)
            .await?
            .announced()
        {
            out.opened.push(id);
        }
    }
    // An alert not found again is settled only where the detectors could see its subject:
    // cleared when the account (or campaign) has data this week, its data gone when the
    // account no longer exists or the campaign has no data at all; otherwise nothing is known
    // and it stays as it is.
    let found_keys: HashSet<&str> = found.iter().map(|d| d.alert.dedupe_key.as_str()).collect();
    let campaigns: HashSet<String> = store
        .campaign_totals()
        .await?
        .into_iter()
        .map(|c| format!("high_cost_per_lead:{}:{}", c.platform, c.campaign))
        .collect();
    for (id, key, account) in store.unresolved_alerts().await? {
        if found_keys.contains(key.as_str()) {
            continue;
        }
        let cleared = match account {
            Some(a) if !known.contains(&a) => false,
            Some(a) if key.starts_with("performance_drop:") && !drop_judged.contains(&a) => {
                continue
            }
            Some(a) if seen_this_week.contains(&a) => true,
            Some(_) => continue,
            None if campaigns_this_week.contains(&key) => true,
            None if !campaigns.contains(&key) && key.starts_with("high_cost_per_lead:") => false,
            None => continue,
        };
        if store.settle_alert(id, cleared, now.timestamp()).await? {
            out.resolved += 1;
        }
    }
    Ok(out)
}
