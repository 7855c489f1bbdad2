//! KPI arithmetic on daily rollups: pure functions, unknowns kept apart from zeros.
//!
//! Engagement rate has three denominators teams disagree on; all are computed and labelled.
//! The default is by reach, falling back to impressions, then views (DESIGN.md §5). Rates over
//! several platforms divide total engagements by the sum of each platform's own default base.

use chrono::NaiveDate;
use serde::Serialize;

use crate::domain::rollup::{accumulate, N};
use crate::domain::RateBase;

/// One account's rollup for one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayRow {
    pub account: i64,
    pub day: NaiveDate,
    pub posts_published: i64,
    /// Counters in `POST_METRIC_NAMES` order: what the day added.
    pub counters: [Option<i64>; N],
    pub followers: Option<i64>,
}

/// Index of each counter in `DayRow::counters`.
pub mod idx {
    pub const IMPRESSIONS: usize = 0;
    pub const REACH: usize = 1;
    pub const VIEWS: usize = 2;
    pub const LIKES: usize = 3;
    pub const COMMENTS: usize = 4;
    pub const SHARES: usize = 5;
    pub const SAVES: usize = 6;
    pub const CLICKS: usize = 7;
}

/// KPIs of a set of accounts over a range of days.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Kpis {
    pub impressions: Option<i64>,
    pub reach: Option<i64>,
    pub views: Option<i64>,
    pub likes: Option<i64>,
    pub comments: Option<i64>,
    pub shares: Option<i64>,
    pub saves: Option<i64>,
    pub clicks: Option<i64>,
    /// Likes + comments + shares + saves.
    pub engagements: Option<i64>,
    pub posts: i64,
    pub followers_start: Option<i64>,
    pub followers_end: Option<i64>,
    /// The denominator of `engagement_rate` (None when several platforms mix bases).
    pub rate_base: Option<RateBase>,
    /// Engagements over the default base.
    pub engagement_rate: Option<f64>,
    /// The base `engagement_rate` divides by: reach, impressions or views, summed.
    pub rate_denominator: Option<i64>,
    pub engagement_rate_by_reach: Option<f64>,
    pub engagement_rate_by_impressions: Option<f64>,
    /// Engagements per post per follower (the benchmark reports' definition).
    pub engagement_rate_per_post_by_followers: Option<f64>,
    /// Clicks over impressions.
    pub click_through_rate: Option<f64>,
    pub follower_growth: Option<i64>,
    pub follower_growth_rate: Option<f64>,
}

fn ratio(num: Option<i64>, den: Option<i64>) -> Option<f64> {
    match (num, den) {
        (Some(n), Some(d)) if d > 0 => Some(n as f64 / d as f64),
        _ => None,
    }
}

/// Sum of known values; unknown when none is known.
pub fn sum_known(values: impl IntoIterator<Item = Option<i64>>) -> Option<i64> {
    values.into_iter().fold(None, |acc, v| match (acc, v) {
        (a, None) => a,
        (None, Some(v)) => Some(v),
        (Some(a), Some(v)) => Some(a.saturating_add(v)),
    })
}

/// Engagements from counters.
pub fn engagements(c: &[Option<i64>; N]) -> Option<i64> {
    sum_known([
        c[idx::LIKES],
        c[idx::COMMENTS],
        c[idx::SHARES],
        c[idx::SAVES],
    ])
}

/// The default base of a counter set: reach, else impressions, else views.
pub fn default_base(c: &[Option<i64>; N]) -> Option<(RateBase, i64)> {
    [
        (idx::REACH, RateBase::Reach),
        (idx::IMPRESSIONS, RateBase::Impressions),
        (idx::VIEWS, RateBase::Views),
    ]
    .into_iter()
    .find_map(|(i, b)| c[i].filter(|v| *v > 0).map(|v| (b, v)))
}

/// KPIs of the accounts in `rows` (one platform, or several with `mixed` bases) for days in
/// `from..=to`. Follower counts are the last known on or before each end, over accounts known
/// at both ends.
pub fn kpis(rows: &[DayRow], from: NaiveDate, to: NaiveDate) -> Kpis {
    let mut counters = [None; N];
    let mut posts = 0;
    let mut accounts: Vec<i64> = Vec::new();
    for r in rows.iter().filter(|r| r.day >= from && r.day <= to) {
        accumulate(&mut counters, &r.counters);
        posts = r.posts_published.saturating_add(posts);
    }
    for r in rows {
        if !accounts.contains(&r.account) {
            accounts.push(r.account);
        }
    }
    let last_followers = |account: i64, until: NaiveDate, strictly_before: bool| {
        rows.iter()
            .filter(|r| r.account == account && r.followers.is_some())
            .filter(|r| {
                if strictly_before {
                    r.day < until
                } else {
                    r.day <= until
                }
            })
            .max_by_key(|r| r.day)
            .and_then(|r| r.followers)
    };
    let (mut start, mut end): (Option<i64>, Option<i64>) = (None, None);
    for a in accounts {
        if let (Some(s), Some(e)) = (last_followers(a, from, true), last_followers(a, to, false)) {
            start = Some(start.unwrap_or(0).saturating_add(s));
            end = Some(end.unwrap_or(0).saturating_add(e));
        }
    }
    let e = engagements(&counters);
    let base = default_base(&counters);
    let growth = match (start, end) {
        (Some(s), Some(e)) => Some(e - s),
        _ => None,
    };
    Kpis {
        impressions: counters[idx::IMPRESSIONS],
        reach: counters[idx::REACH],
        views: counters[idx::VIEWS],
        likes: counters[idx::LIKES],
        comments: counters[idx::COMMENTS],
        shares: counters[idx::SHARES],
        saves: counters[idx::SAVES],
        clicks: counters[idx::CLICKS],
        engagements: e,
        posts,
        followers_start: start,
        followers_end: end,
        rate_base: base.map(|(b, _)| b),
        engagement_rate: base.and_then(|(_, d)| ratio(e, Some(d))),
        rate_denominator: base.map(|(_, d)| d),
        engagement_rate_by_reach: ratio(e, counters[idx::REACH]),
        engagement_rate_by_impressions: ratio(e, counters[idx::IMPRESSIONS]),
        engagement_rate_per_post_by_followers: match (e, end) {
            (Some(e), Some(f)) if posts > 0 && f > 0 => Some(e as f64 / posts as f64 / f as f64),
            _ => None,
        },
        click_through_rate: ratio(counters[idx::CLICKS], counters[idx::IMPRESSIONS]),
        follower_growth: growth,
        follower_growth_rate: ratio(growth, start),
    }
}

/// Combines per-platform KPIs into a total whose engagement rate divides by each platform's
/// own base.
pub fn combine(parts: &[Kpis]) -> Kpis {
    let s = |f: fn(&Kpis) -> Option<i64>| sum_known(parts.iter().map(f));
    let engagements = s(|k| k.engagements);
    let impressions = s(|k| k.impressions);
    let reach = s(|k| k.reach);
    let clicks = s(|k| k.clicks);
    let posts: i64 = parts.iter().map(|k| k.posts).sum();
    let with_base: Vec<&Kpis> = parts
        .iter()
        .filter(|k| k.rate_denominator.is_some())
        .collect();
    let rate_den = sum_known(with_base.iter().map(|k| k.rate_denominator));
    let rate_num = sum_known(with_base.iter().map(|k| k.engagements));
    let bases: Vec<RateBase> = with_base.iter().filter_map(|k| k.rate_base).collect();
    let one_base = bases
        .first()
        .filter(|b| bases.iter().all(|x| x == *b))
        .copied();
    let start = s(|k| k.followers_start);
    let end = s(|k| k.followers_end);
    let growth = s(|k| k.follower_growth);
    Kpis {
        impressions,
        reach,
        views: s(|k| k.views),
        likes: s(|k| k.likes),
        comments: s(|k| k.comments),
        shares: s(|k| k.shares),
        saves: s(|k| k.saves),
        clicks,
        engagements,
        posts,
        followers_start: start,
        followers_end: end,
        rate_base: one_base,
        engagement_rate: ratio(rate_num, rate_den),
        rate_denominator: rate_den,
        engagement_rate_by_reach: ratio(
            sum_known(
                parts
                    .iter()
                    .filter(|k| k.reach.is_some())
                    .map(|k| k.engagements),
            ),
            reach,
        ),
        engagement_rate_by_impressions: ratio(
            sum_known(
                parts
                    .iter()
                    .filter(|k| k.impressions.is_some())
                    .map(|k| k.engagements),
            ),
            impressions,
        ),
        engagement_rate_per_post_by_followers: match (engagements, end) {
            (Some(e), Some(f)) if posts > 0 && f > 0 => Some(e as f64 / posts as f64 / f as f64),
            _ => None,
        },
        click_through_rate: ratio(
            clicks,
            sum_known(
                parts
                    .iter()
                    .filter(|k| k.clicks.is_some())
                    .map(|k| k.impressions),
            ),
        ),
        follower_growth: growth,
        follower_growth_rate: ratio(growth, start),
    }
}

/// Relative change from `previous` to `current`; None when there is no base to compare with.
pub fn change(current: Option<f64>, previous: Option<f64>) -> Option<f64> {
    match (current, previous) {
        (Some(c), Some(p)) if p != 0.0 && c.is_finite() && p.is_finite() => Some((c - p) / p.abs()),
        _ => None,
    }
}

/// A paid funnel's totals for a range of days.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct Funnel {
    pub impressions: Option<i64>,
    pub clicks: Option<i64>,
    pub leads: Option<i64>,
    pub conversions: Option<i64>,
    pub revenue_cents: Option<i64>,
    pub spend_cents: Option<i64>,
}

/// One day of one campaign's funnel.
#[derive(Debug, Clone, PartialEq)]
pub struct FunnelRow {
    pub campaign: String,
    pub platform: String,
    pub day: NaiveDate,
    pub funnel: Funnel,
}

impl Funnel {
    pub fn add(&mut self, o: &Funnel) {
        let f = |a: &mut Option<i64>, b: Option<i64>| *a = sum_known([*a, b]);
        f(&mut self.impressions, o.impressions);
        f(&mut self.clicks, o.clicks);
        f(&mut self.leads, o.leads);
        f(&mut self.conversions, o.conversions);
        f(&mut self.revenue_cents, o.revenue_cents);
        f(&mut self.spend_cents, o.spend_cents);
    }

    pub fn rates(&self) -> FunnelRates {
        FunnelRates {
            click_through_rate: ratio(self.clicks, self.impressions),
            lead_rate: ratio(self.leads, self.clicks),
            conversion_rate: ratio(self.conversions, self.leads),
            cost_per_lead: ratio(self.spend_cents, self.leads).map(|c| c / 100.0),
            cost_per_acquisition: ratio(self.spend_cents, self.conversions).map(|c| c / 100.0),
            roas: ratio(self.revenue_cents, self.spend_cents),
            roi: match (self.revenue_cents, self.spend_cents) {
                (Some(r), Some(s)) if s > 0 => Some((r - s) as f64 / s as f64),
                _ => None,
            },
        }
    }
}

/// The funnel's step rates and costs (amounts in currency units).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct FunnelRates {
    pub click_through_rate: Option<f64>,
    pub lead_rate: Option<f64>,
    pub conversion_rate: Option<f64>,
    pub cost_per_lead: Option<f64>,
    pub cost_per_acquisition: Option<f64>,
    pub roas: Option<f64>,
    pub roi: Option<f64>,
}

/// Sum of funnel rows with days in `from..=to`.
pub fn funnel_total<'a>(
    rows: impl IntoIterator<Item = &'a FunnelRow>,
    from: NaiveDate,
    to: NaiveDate,
) -> Funnel {
    let mut f = Funnel::default();
    for r in rows.into_iter().filter(|r| r.day >= from && r.day <= to) {
        f.add(&r.funnel);
    }
    f
}

/// The median of `values`; None when there are none.
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(v[n / 2]),
        _ => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

/// Least-squares slope of `values` per step, relative to their mean (e.g. +0.02 = +2% a day).
pub fn relative_trend(values: &[f64]) -> Option<f64> {
    let n = values.len();
    if n < 3 {
        return None;
    }
    let mean_x = (n - 1) as f64 / 2.0;
    let mean_y = values.iter().sum::<f64>() / n as f64;
    if mean_y == 0.0 {
        return None;
    }
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (i, y) in values.iter().enumerate() {
        let dx = i as f64 - mean_x;
        sxy += dx * (y - mean_y);
        sxx += dx * dx;
    }
    Some(sxy / sxx / mean_y.abs())
}

#[cfg(test)]
mod unit {
    use super::*;

    fn d(day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, day).unwrap()
    }

    fn row(
        account: i64,
        day: u32,
        reach: Option<i64>,
        likes: Option<i64>,
        followers: Option<i64>,
    ) -> DayRow {
        let mut counters = [None; N];
        counters[idx::REACH] = reach;
        counters[idx::LIKES] = likes;
        DayRow {
            account,
            day: d(day),
            posts_published: 1,
            counters,
            followers,
        }
    }

    #[test]
    fn kpis_sum_days_in_range_and_take_followers_at_the_ends() {
        let rows = vec![
            row(1, 1, Some(100), Some(10), Some(1000)),
            row(1, 2, Some(200), Some(30), Some(1010)),
            row(1, 3, Some(100), Some(5), None),
            row(1, 4, Some(50), Some(5), Some(1030)),
            row(2, 2, None, Some(7), None),
        ];
        let k = kpis(&rows, d(2), d(3));
        assert_eq!(k.reach, Some(300));
        assert_eq!(k.likes, Some(42));
        assert_eq!(k.engagements, Some(42));
        assert_eq!(k.posts, 3);
        assert_eq!(
            (k.followers_start, k.followers_end, k.follower_growth),
            (Some(1000), Some(1010), Some(10))
        );
        assert_eq!(k.rate_base, Some(RateBase::Reach));
        assert!((k.engagement_rate.unwrap() - 0.14).abs() < 1e-12);
        assert_eq!(k.impressions, None, "never reported stays unknown");
        assert_eq!(k.click_through_rate, None);
    }

    #[test]
    fn combined_rate_divides_by_each_platforms_own_base() {
        let ig = Kpis {
            engagements: Some(50),
            rate_denominator: Some(1000),
            rate_base: Some(RateBase::Reach),
            reach: Some(1000),
            ..Kpis::default()
        };
        let tt = Kpis {
            engagements: Some(150),
            rate_denominator: Some(2000),
            rate_base: Some(RateBase::Views),
            views: Some(2000),
            ..Kpis::default()
        };
        let reddit = Kpis {
            engagements: Some(40),
            ..Kpis::default()
        };
        let t = combine(&[ig, tt, reddit]);
        assert_eq!(t.engagements, Some(240));
        assert!((t.engagement_rate.unwrap() - 200.0 / 3000.0).abs() < 1e-12);
        assert_eq!(t.rate_base, None, "mixed bases");
        assert!((t.engagement_rate_by_reach.unwrap() - 0.05).abs() < 1e-12);
    }

    #[test]
    fn changes_and_trends() {
        let cases: &[(Option<f64>, Option<f64>, Option<f64>)] = &[
            (Some(75.0), Some(100.0), Some(-0.25)),
            (Some(1.0), Some(0.0), None),
            (None, Some(1.0), None),
            (Some(-2.0), Some(-4.0), Some(0.5)),
        ];
        for (c, p, want) in cases {
            assert_eq!(change(*c, *p), *want);
        }
        assert!((relative_trend(&[10.0, 11.0, 12.0]).unwrap() - 0.1 / 1.1).abs() < 1e-12);
        assert_eq!(relative_trend(&[1.0, 2.0]), None);
    }

    #[test]
    fn funnel_rates() {
        let f = Funnel {
            impressions: Some(100_000),
            clicks: Some(1_000),
            leads: Some(50),
            conversions: Some(10),
            revenue_cents: Some(60_000),
            spend_cents: Some(40_000),
        };
        let r = f.rates();
        assert_eq!(r.click_through_rate, Some(0.01));
        assert_eq!(r.lead_rate, Some(0.05));
        assert_eq!(r.conversion_rate, Some(0.2));
        assert_eq!(r.cost_per_lead, Some(8.0));
        assert_eq!(r.cost_per_acquisition, Some(40.0));
        assert_eq!(r.roas, Some(1.5));
        assert_eq!(r.roi, Some(0.5));
        assert_eq!(Funnel::default().rates(), FunnelRates::default());
    }
}
