//! Reports as data: the period, KPIs per platform with changes, top and bottom posts, funnel,
//! trends, score, open alerts and recommendations. Renderers (terminal, Markdown, JSON, Slack)
//! turn this into text; nothing here formats.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, Utc};
use serde::Serialize;

use super::detect::DetectorSettings;
use super::detect::{self, Detection};
use super::forecast::{forecast, Forecast};
use super::kpi::{
    self, change, combine, funnel_total, kpis, relative_trend, DayRow, Funnel, FunnelRates,
    FunnelRow, Kpis,
};
use super::model::{PostSeries, ScopeAccount, StoredAlert};
use super::score::{score, Score};
use super::sentiment::{sentiment, Sentiment};
use crate::domain::rollup::daily_deltas;
use crate::domain::{Platform, RateBase};

/// Which span a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeriodKind {
    Daily,
    Weekly,
    Monthly,
    Custom,
}

impl std::str::FromStr for PeriodKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "daily" | "day" => Ok(PeriodKind::Daily),
            "weekly" | "week" => Ok(PeriodKind::Weekly),
            "monthly" | "month" => Ok(PeriodKind::Monthly),
            other => Err(format!(
                "{other:?} is not a period: use daily, weekly or monthly"
            )),
        }
    }
}

/// The days a report covers and the comparable days before them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Period {
    pub kind: PeriodKind,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous_from: NaiveDate,
    pub previous_to: NaiveDate,
}

impl Period {
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days() + 1
    }

    /// A rolling period ending `end`: a day, 7 days or 30 days.
    pub fn ending(kind: PeriodKind, end: NaiveDate) -> Period {
        let len = match kind {
            PeriodKind::Daily => 1,
            PeriodKind::Weekly => 7,
            PeriodKind::Monthly | PeriodKind::Custom => 30,
        };
        Period::range(kind, end - Days::new(len - 1), end)
    }

    pub fn range(kind: PeriodKind, from: NaiveDate, to: NaiveDate) -> Period {
        let len = (to - from).num_days().max(0) as u64 + 1;
        let previous_to = from - Days::new(1);
        Period {
            kind,
            from,
            to,
            previous_from: previous_to - Days::new(len - 1),
            previous_to,
        }
    }
}

/// KPIs of the period, of the one before, and the changes that matter.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct KpiBlock {
    pub current: Kpis,
    pub previous: Kpis,
    pub changes: Changes,
}

#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct Changes {
    pub seen: Option<f64>,
    pub engagements: Option<f64>,
    pub engagement_rate: Option<f64>,
    pub clicks: Option<f64>,
    pub posts: Option<f64>,
    pub follower_growth: Option<f64>,
}

fn block(current: Kpis, previous: Kpis) -> KpiBlock {
    let f = |v: Option<i64>| v.map(|x| x as f64);
    let changes = Changes {
        seen: change(f(current.rate_denominator), f(previous.rate_denominator)),
        engagements: change(f(current.engagements), f(previous.engagements)),
        engagement_rate: change(current.engagement_rate, previous.engagement_rate),
        clicks: change(f(current.clicks), f(previous.clicks)),
        posts: change(Some(current.posts as f64), Some(previous.posts as f64)),
        follower_growth: change(f(current.follower_growth), f(previous.follower_growth)),
    };
    KpiBlock {
        current,
        previous,
        changes,
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PlatformBlock {
    pub platform: Platform,
    pub accounts: Vec<String>,
    #[serde(flatten)]
    pub kpis: KpiBlock,
}

/// A post's performance in the period.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PostLine {
    pub platform: Platform,
    pub account: String,
    pub post_id: String,
    pub text: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    pub media_type: Option<String>,
    /// Engagements the period added.
    pub engagements: i64,
    pub engagement_rate: Option<f64>,
    pub rate_base: Option<RateBase>,
    /// The base the rate divides by (reach, impressions or views the period added).
    #[serde(skip)]
    pub base_value: Option<i64>,
}

impl PostLine {
    /// The local day of `zone` the post was published on.
    fn published_on(&self, zone: chrono_tz::Tz) -> Option<NaiveDate> {
        self.published_at
            .map(|t| crate::domain::days::local_day(t.timestamp(), zone))
    }

    /// Whether the post's rate says something about the post: it was published in the period
    /// (so the period holds most of its life) and reached enough people.
    fn rate_is_meaningful(&self, from: NaiveDate, zone: chrono_tz::Tz) -> bool {
        self.published_on(zone).is_some_and(|d| d >= from)
            && self.base_value.is_some_and(|b| b >= 100)
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct FunnelBlock {
    pub current: Funnel,
    pub previous: Funnel,
    pub rates: FunnelRates,
    pub previous_rates: FunnelRates,
    pub campaigns: Vec<CampaignLine>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct CampaignLine {
    pub campaign: String,
    pub platform: String,
    pub funnel: Funnel,
    pub rates: FunnelRates,
}

/// A suggestion tied to the evidence that triggered it.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Recommendation {
    pub text: String,
    pub evidence: String,
}

/// Everything a report says.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Report {
    pub title: String,
    pub period: Period,
    pub brand: Option<String>,
    pub platform: Option<Platform>,
    pub timezone: String,
    pub currency: String,
    pub generated_at: DateTime<Utc>,
    /// The last day the store has data for, when it is before the period's natural end.
    pub data_through: Option<NaiveDate>,
    /// The overall 0–100 performance score (None until there is enough history).
    pub score: Option<u8>,
    /// Its components and the sentence explaining it.
    pub score_detail: Option<Score>,
    pub summary: Vec<String>,
    pub total: KpiBlock,
    pub platforms: Vec<PlatformBlock>,
    pub top_posts: Vec<PostLine>,
    pub bottom_posts: Vec<PostLine>,
    pub funnel: Option<FunnelBlock>,
    /// Daily engagement trend, relative change per day over the last 7 and 30 days.
    pub engagement_trend_7d: Option<f64>,
    pub engagement_trend_30d: Option<f64>,
    /// Engagements per day over the period and the history before it, for charts.
    pub daily_engagements: Vec<(NaiveDate, i64)>,
    pub alerts: Vec<StoredAlert>,
    pub recommendations: Vec<Recommendation>,
    /// Engagements and audience per day and platform over the loaded history, for charts.
    pub daily_by_platform: Vec<PlatformSeries>,
    /// The score of this and earlier comparable periods, oldest first, by period end.
    pub score_history: Vec<(NaiveDate, u8)>,
    /// Followers 30 days ahead and daily engagements 7 and 30 days ahead (80% intervals).
    pub forecasts: Forecasts,
    /// Sentiment of the text of posts published in the period, by platform and overall.
    pub sentiment: Vec<(Option<Platform>, Sentiment)>,
}

/// One platform's daily engagements and audience (reach, else impressions, else views).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct PlatformSeries {
    pub platform: Platform,
    pub days: Vec<(NaiveDate, i64, Option<i64>)>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Forecasts {
    pub followers: Forecast,
    pub engagements: Forecast,
}

/// Daily series for forecasting: followers (last known per account, carried forward, summed)
/// and engagements, from the first day with data to `to`.
fn daily_series(days: &[DayRow], to: NaiveDate) -> (Vec<f64>, Vec<f64>) {
    let Some(first) = days.iter().map(|r| r.day).min() else {
        return (Vec::new(), Vec::new());
    };
    let mut accounts: Vec<i64> = days.iter().map(|r| r.account).collect();
    accounts.sort_unstable();
    accounts.dedup();
    let mut last: BTreeMap<i64, i64> = BTreeMap::new();
    let (mut followers, mut engagements) = (Vec::new(), Vec::new());
    let mut day = first;
    while day <= to {
        let mut e = 0;
        for r in days.iter().filter(|r| r.day == day) {
            if let Some(f) = r.followers {
                last.insert(r.account, f);
            }
            e += kpi::engagements(&r.counters).unwrap_or(0);
        }
        if last.len() == accounts.len() {
            followers.push(last.values().sum::<i64>() as f64);
        }
        engagements.push(e as f64);
        day = day.succ_opt().unwrap_or(to + Days::new(1));
    }
    (followers, engagements)
}

/// What the report is built from, loaded by the caller.
pub struct ReportInput<'a> {
    pub title: String,
    pub period: Period,
    pub brand: Option<String>,
    pub platform: Option<Platform>,
    pub timezone: String,
    pub currency: String,
    pub now: DateTime<Utc>,
    pub data_through: Option<NaiveDate>,
    pub accounts: &'a [ScopeAccount],
    /// Rollups from well before the previous period (history for the score and trends) to the end.
    pub days: &'a [DayRow],
    pub posts: &'a [PostSeries],
    pub funnel: &'a [FunnelRow],
    pub alerts: Vec<StoredAlert>,
    pub detectors: &'a DetectorSettings,
}

/// Each post's engagements and rate base added during `from..=to`.
pub fn post_lines(
    posts: &[PostSeries],
    accounts: &[ScopeAccount],
    from: NaiveDate,
    to: NaiveDate,
) -> Vec<PostLine> {
    let mut out = Vec::new();
    for p in posts {
        let Some(acct) = accounts.iter().find(|a| a.id == p.account) else {
            continue;
        };
        let mut total = [None; 8];
        for d in daily_deltas(&p.series)
            .iter()
            .filter(|d| d.day >= from && d.day <= to)
        {
            crate::domain::rollup::accumulate(&mut total, &d.values);
        }
        let Some(e) = kpi::engagements(&total) else {
            continue;
        };
        let base = kpi::default_base(&total);
        out.push(PostLine {
            platform: acct.platform,
            account: acct
                .handle
                .clone()
                .unwrap_or_else(|| acct.external_id.clone()),
            post_id: p.external_id.clone(),
            text: p.text.clone(),
            published_at: p.published_at.and_then(|t| DateTime::from_timestamp(t, 0)),
            media_type: p.media_type.clone(),
            engagements: e,
            engagement_rate: base.map(|(_, d)| e as f64 / d as f64),
            rate_base: base.map(|(b, _)| b),
            base_value: base.map(|(_, d)| d),
        });
    }
    out
}

/// Builds the report: pure over its input.
impl ReportInput<'_> {
    /// The zone whose local days the period and the rollups count (`timezone` is a name from
    /// `Tz::name`).
    fn zone(&self) -> chrono_tz::Tz {
        self.timezone.parse().unwrap_or(chrono_tz::Etc::UTC)
    }
}

pub fn build(input: ReportInput<'_>) -> Report {
    let p = input.period;
    let zone = input.zone();
    let mut by_platform: BTreeMap<Platform, Vec<&ScopeAccount>> = BTreeMap::new();
    for a in input.accounts {
        by_platform.entry(a.platform).or_default().push(a);
    }
    let rows_of = |accts: &[&ScopeAccount]| -> Vec<DayRow> {
        input
            .days
            .iter()
            .filter(|r| accts.iter().any(|a| a.id == r.account))
            .copied()
            .collect()
    };
    let mut platforms = Vec::new();
    for (platform, accts) in &by_platform {
        let rows = rows_of(accts);
        let cur = kpis(&rows, p.from, p.to);
        let prev = kpis(&rows, p.previous_from, p.previous_to);
        platforms.push(PlatformBlock {
            platform: *platform,
            accounts: accts
                .iter()
                .map(|a| a.handle.clone().unwrap_or_else(|| a.external_id.clone()))
                .collect(),
            kpis: block(cur, prev),
        });
    }
    let total = block(
        combine(
            &platforms
                .iter()
                .map(|b| b.kpis.current.clone())
                .collect::<Vec<_>>(),
        ),
        combine(
            &platforms
                .iter()
                .map(|b| b.kpis.previous.clone())
                .collect::<Vec<_>>(),
        ),
    );

    let mut lines = post_lines(input.posts, input.accounts, p.from, p.to);
    lines.sort_by(|a, b| {
        b.engagements
            .cmp(&a.engagements)
            .then(a.post_id.cmp(&b.post_id))
    });
    let top_posts: Vec<PostLine> = lines.iter().take(5).cloned().collect();
    lines.retain(|l| l.engagements > 0 || l.published_on(zone).is_some_and(|d| d >= p.from));
    let mut rated: Vec<&PostLine> = lines
        .iter()
        .filter(|l| l.rate_is_meaningful(p.from, zone))
        .collect();
    rated.sort_by(|a, b| {
        a.engagement_rate
            .partial_cmp(&b.engagement_rate)
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let bottom_posts: Vec<PostLine> = rated
        .into_iter()
        .filter(|l| !top_posts.iter().any(|t| t.post_id == l.post_id))
        .take(3)
        .cloned()
        .collect();

    let funnel = (!input.funnel.is_empty()).then(|| {
        let current = funnel_total(input.funnel, p.from, p.to);
        let previous = funnel_total(input.funnel, p.previous_from, p.previous_to);
        let mut names: Vec<(String, String)> = input
            .funnel
            .iter()
            .map(|r| (r.campaign.clone(), r.platform.clone()))
            .collect();
        names.sort();
        names.dedup();
        let campaigns = names
            .into_iter()
            .map(|(campaign, platform)| {
                let f = funnel_total(
                    input
                        .funnel
                        .iter()
                        .filter(|r| r.campaign == campaign && r.platform == platform),
                    p.from,
                    p.to,
                );
                CampaignLine {
                    rates: f.rates(),
                    funnel: f,
                    campaign,
                    platform,
                }
            })
            .filter(|c| c.funnel.spend_cents.is_some() || c.funnel.impressions.is_some())
            .collect();
        FunnelBlock {
            rates: current.rates(),
            previous_rates: previous.rates(),
            current,
            previous,
            campaigns,
        }
    });

    // Engagements per day over everything loaded, for trends and charts.
    let mut per_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    for r in input.days.iter().filter(|r| r.day <= p.to) {
        if let Some(e) = kpi::engagements(&r.counters) {
            *per_day.entry(r.day).or_default() += e;
        }
    }
    let daily: Vec<(NaiveDate, i64)> = per_day.into_iter().collect();
    let trend = |n: usize| {
        let tail: Vec<f64> = daily
            .iter()
            .rev()
            .take(n)
            .rev()
            .map(|(_, e)| *e as f64)
            .collect();
        (tail.len() == n).then(|| relative_trend(&tail)).flatten()
    };

    let all_rows: Vec<DayRow> = input.days.to_vec();
    let score = score(&all_rows, input.funnel, p);
    let detection = detect::detect(&detect::DetectInput {
        accounts: input.accounts,
        days: input.days,
        posts: input.posts,
        funnel: input.funnel,
        end: p.to,
        zone,
        settings: input.detectors,
        currency_symbol: crate::format::currency_symbol(&input.currency),
    });
    let recommendations = recommend(&platforms, &lines, funnel.as_ref(), &detection, &input);
    let daily_by_platform: Vec<PlatformSeries> = by_platform
        .iter()
        .map(|(platform, accts)| {
            let mut per_day: BTreeMap<NaiveDate, (i64, Option<i64>)> = BTreeMap::new();
            for r in input
                .days
                .iter()
                .filter(|r| r.day <= p.to && accts.iter().any(|a| a.id == r.account))
            {
                let slot = per_day.entry(r.day).or_insert((0, None));
                slot.0 += kpi::engagements(&r.counters).unwrap_or(0);
                if let Some((_, base)) = kpi::default_base(&r.counters) {
                    slot.1 = Some(slot.1.unwrap_or(0) + base);
                }
            }
            PlatformSeries {
                platform: *platform,
                days: per_day.into_iter().map(|(d, (e, a))| (d, e, a)).collect(),
            }
        })
        .collect();
    let len = p.days() as u64;
    let score_history: Vec<(NaiveDate, u8)> = (0..8u64)
        .rev()
        .filter_map(|i| {
            let end = p.to - Days::new(i * len);
            let w = Period::range(p.kind, end - Days::new(len - 1), end);
            super::score::score(&all_rows, input.funnel, w).map(|s| (end, s.value))
        })
        .collect();
    let (followers_series, engagement_series) = daily_series(input.days, p.to);
    let forecasts = Forecasts {
        followers: forecast(&followers_series, 30, 0.8),
        engagements: forecast(&engagement_series, 30, 0.8),
    };
    let in_period = |post: &PostSeries| {
        post.published_at
            .map(|t| crate::domain::days::local_day(t, zone))
            .is_some_and(|d| d >= p.from && d <= p.to)
    };
    let texts_of = |ids: &[i64]| -> Vec<&str> {
        input
            .posts
            .iter()
            .filter(|post| ids.contains(&post.account) && in_period(post))
            .filter_map(|post| post.text.as_deref())
            .collect()
    };
    let mut sentiments: Vec<(Option<Platform>, Sentiment)> = by_platform
        .iter()
        .map(|(platform, accts)| {
            let ids: Vec<i64> = accts.iter().map(|a| a.id).collect();
            (Some(*platform), sentiment(texts_of(&ids)))
        })
        .filter(|(_, s)| s.posts > 0)
        .collect();
    let all_ids: Vec<i64> = input.accounts.iter().map(|a| a.id).collect();
    let overall = sentiment(texts_of(&all_ids));
    if overall.posts > 0 {
        sentiments.push((None, overall));
    }
    let summary = summarise(&total, &platforms, score.as_ref(), &input.alerts);
    Report {
        title: input.title,
        period: p,
        brand: input.brand,
        platform: input.platform,
        timezone: input.timezone,
        currency: input.currency,
        generated_at: input.now,
        data_through: input.data_through,
        score: score.as_ref().map(|s| s.value),
        score_detail: score,
        summary,
        total,
        platforms,
        top_posts,
        bottom_posts,
        funnel,
        engagement_trend_7d: trend(7),
        engagement_trend_30d: trend(30),
        daily_engagements: daily,
        alerts: input.alerts,
        recommendations,
        daily_by_platform,
        score_history,
        forecasts,
        sentiment: sentiments,
    }
}

fn pct(x: f64) -> String {
    crate::format::signed_percent(x)
}

fn summarise(
    total: &KpiBlock,
    platforms: &[PlatformBlock],
    score: Option<&Score>,
    alerts: &[StoredAlert],
) -> Vec<String> {
    let mut s = Vec::new();
    if let Some(sc) = score {
        s.push(format!(
            "Performance score {}/100: {}",
            sc.value, sc.explanation
        ));
    }
    if let (Some(e), Some(c)) = (total.current.engagements, total.changes.engagements) {
        s.push(format!(
            "{} engagements, {} vs the previous period.",
            crate::format::thousands(e),
            pct(c)
        ));
    }
    if let (Some(r), Some(c)) = (total.current.engagement_rate, total.changes.engagement_rate) {
        s.push(format!(
            "Engagement rate {} ({} relative).",
            crate::format::percent(r),
            pct(c)
        ));
    }
    let mut moves: Vec<(&PlatformBlock, f64)> = platforms
        .iter()
        .filter_map(|b| b.kpis.changes.seen.map(|c| (b, c)))
        .collect();
    moves.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal));
    if let Some((b, c)) = moves.first().filter(|(_, c)| *c < -0.1) {
        s.push(format!(
            "Biggest fall: {} audience reached {}.",
            b.platform.display_name(),
            pct(*c)
        ));
    }
    if let Some((b, c)) = moves.last().filter(|(_, c)| *c > 0.1) {
        s.push(format!(
            "Biggest rise: {} audience reached {}.",
            b.platform.display_name(),
            pct(*c)
        ));
    }
    if !alerts.is_empty() {
        s.push(format!(
            "{} open alert{}.",
            alerts.len(),
            if alerts.len() == 1 { "" } else { "s" }
        ));
    }
    s
}

fn recommend(
    platforms: &[PlatformBlock],
    posts: &[PostLine],
    funnel: Option<&FunnelBlock>,
    detection: &[Detection],
    input: &ReportInput<'_>,
) -> Vec<Recommendation> {
    let mut out = Vec::new();
    let zone = input.zone();
    for d in detection {
        if let Some(r) = &d.recommendation {
            out.push(r.clone());
        }
    }
    // Which media type earns the best rate on each platform, from the period's posts.
    for b in platforms {
        let mut by_media: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for l in posts
            .iter()
            .filter(|l| l.platform == b.platform && l.rate_is_meaningful(input.period.from, zone))
        {
            if let (Some(m), Some(r)) = (l.media_type.as_deref(), l.engagement_rate) {
                by_media.entry(m).or_default().push(r);
            }
        }
        let mut means: Vec<(&str, f64, usize)> = by_media
            .into_iter()
            .filter(|(_, v)| v.len() >= 3)
            .map(|(m, v)| (m, v.iter().sum::<f64>() / v.len() as f64, v.len()))
            .collect();
        means.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
        if let (Some(best), Some(worst)) = (means.first(), means.last()) {
            if means.len() >= 2 && best.1 > 1.3 * worst.1 {
                out.push(Recommendation {
                    text: format!(
                        "On {}, favour {} posts: they earned {} the engagement rate of {} posts this period.",
                        b.platform.display_name(),
                        best.0,
                        crate::format::multiple(best.1 / worst.1),
                        worst.0
                    ),
                    evidence: format!(
                        "{} {} posts averaged {}, {} {} posts {} (observational: not a controlled test)",
                        best.2, best.0, crate::format::percent(best.1), worst.2, worst.0, crate::format::percent(worst.1)
                    ),
                });
            }
        }
    }
    if let Some(f) = funnel {
        let mut cpls: Vec<(&CampaignLine, f64)> = f
            .campaigns
            .iter()
            .filter_map(|c| c.rates.cost_per_lead.map(|v| (c, v)))
            .collect();
        cpls.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
        cpls.retain(|(c, _)| c.funnel.leads.unwrap_or(0) >= detect::MIN_LEADS);
        // The worst campaign against the median of the others, as the cost-per-lead alert
        // compares them (over the report's period rather than the alert's week).
        if cpls.len() >= 3 {
            let (worst, cpl) = cpls[0];
            let others: Vec<f64> = cpls[1..].iter().map(|(_, x)| *x).collect();
            if let Some(median) = kpi::median(&others).filter(|m| *m > 0.0 && cpl > 2.0 * m) {
                let symbol = crate::format::currency_symbol(&input.currency);
                out.push(Recommendation {
                    text: format!(
                        "Rework or cut campaign {}: its leads cost {} the median of the other campaigns.",
                        worst.campaign,
                        crate::format::multiple(cpl / median)
                    ),
                    evidence: format!(
                        "cost per lead {} vs {} for the other campaigns' median, {} to {}",
                        crate::format::money(cpl, symbol),
                        crate::format::money(median, symbol),
                        input.period.from,
                        input.period.to
                    ),
                });
            }
        }
    }
    // Posting time: the best publish hour among the period's posts, with enough posts.
    let mut by_hour: BTreeMap<u32, Vec<f64>> = BTreeMap::new();
    for l in posts
        .iter()
        .filter(|l| l.rate_is_meaningful(input.period.from, zone))
    {
        if let (Some(t), Some(r)) = (l.published_at, l.engagement_rate) {
            let bucket = t.hour_bucket();
            by_hour.entry(bucket).or_default().push(r);
        }
    }
    let overall: Vec<f64> = by_hour.values().flatten().copied().collect();
    if overall.len() >= 12 {
        let mean_all = overall.iter().sum::<f64>() / overall.len() as f64;
        if let Some((h, v)) = by_hour
            .iter()
            .filter(|(_, v)| v.len() >= 4)
            .map(|(h, v)| (*h, v.iter().sum::<f64>() / v.len() as f64))
            .max_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal))
        {
            if v > 1.2 * mean_all {
                out.push(Recommendation {
                    text: format!("Publish more between {:02}:00 and {:02}:00 UTC: posts then earned {} more engagement than average.", h, h + 3, crate::format::signed_percent(v / mean_all - 1.0).trim_start_matches('+')),
                    evidence: format!("{} posts in that window vs {} in all (observational)", by_hour[&h].len(), overall.len()),
                });
            }
        }
    }
    out
}

trait HourBucket {
    fn hour_bucket(&self) -> u32;
}

impl HourBucket for DateTime<Utc> {
    /// Three-hour windows: 0, 3, 6, … 21.
    fn hour_bucket(&self) -> u32 {
        use chrono::Timelike;
        self.hour() / 3 * 3
    }
}

/// The end of a rolling period: yesterday in the report's time zone, or the last day with
/// data when that is earlier (an imported history ending years ago still gets a report).
pub fn period_end(
    today_local: NaiveDate,
    last_data: Option<NaiveDate>,
) -> (NaiveDate, Option<NaiveDate>) {
    let yesterday = today_local.pred_opt().unwrap_or(today_local);
    match last_data {
        Some(d) if d < yesterday => (d, Some(d)),
        _ => (yesterday, None),
    }
}

/// Days of history to load before the period for scores and trends.
pub fn history_days(p: &Period) -> u64 {
    // Enough for the score of this period and of the seven before it (the score chart).
    (p.days() as u64 * (super::score::HISTORY_PERIODS as u64 + 8)).max(60)
}

#[cfg(test)]
mod unit {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn periods() {
        let w = Period::ending(PeriodKind::Weekly, d(3, 10));
        assert_eq!(
            (w.from, w.to, w.previous_from, w.previous_to),
            (d(3, 4), d(3, 10), d(2, 25), d(3, 3))
        );
        let day = Period::ending(PeriodKind::Daily, d(3, 1));
        assert_eq!((day.from, day.previous_from), (d(3, 1), d(2, 28)));
        assert_eq!(
            Period::range(PeriodKind::Custom, d(3, 1), d(3, 31)).previous_from,
            d(1, 29)
        );
        assert_eq!(Period::ending(PeriodKind::Monthly, d(3, 30)).days(), 30);
        assert_eq!("Weekly".parse::<PeriodKind>(), Ok(PeriodKind::Weekly));
        assert!("yearly".parse::<PeriodKind>().is_err());
    }

    #[test]
    fn period_end_follows_the_data() {
        assert_eq!(period_end(d(3, 10), Some(d(3, 10))), (d(3, 9), None));
        assert_eq!(
            period_end(d(3, 10), Some(d(1, 5))),
            (d(1, 5), Some(d(1, 5)))
        );
        assert_eq!(period_end(d(3, 10), None), (d(3, 9), None));
    }
}
