//! The detectors: conditions worth an alert, each with its evidence, a dedupe key (the same
//! condition seen again must not raise a second alert while the first is open) and, where one
//! follows, a recommendation.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};

use super::kpi::{self, funnel_total, kpis, median, DayRow, FunnelRow};
use super::model::{AlertKind, Evidence, NewAlert, PostSeries, ScopeAccount, Severity};
use super::report::Recommendation;
use crate::format::{self, money, percent, signed_percent, thousands};

/// Thresholds of the alert detectors (DESIGN.md §5).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorSettings {
    pub drop_threshold: f64,
    pub drop_min_volume: i64,
    pub viral_multiple: f64,
    pub viral_min_engagements: i64,
    pub low_engagement_rate: f64,
    pub low_engagement_min_volume: i64,
    pub cost_per_lead_target: f64,
    pub cost_per_lead_margin: f64,
    /// Hours after an alert resolves during which the same condition raises no new one.
    pub cooldown_hours: u32,
}

/// Days compared by the drop, low-engagement and cost detectors.
pub const WINDOW: u64 = 7;

#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub alert: NewAlert,
    pub recommendation: Option<Recommendation>,
}

pub struct DetectInput<'a> {
    pub accounts: &'a [ScopeAccount],
    /// Rollups covering at least the 14 days to `end`.
    pub days: &'a [DayRow],
    /// Posts with activity in the 30 days to `end`.
    pub posts: &'a [PostSeries],
    /// Funnel days covering at least the 35 days to `end`.
    pub funnel: &'a [FunnelRow],
    /// The last full day to look at.
    pub end: NaiveDate,
    /// The zone whose local days `days`, `posts` and `end` count.
    pub zone: chrono_tz::Tz,
    pub settings: &'a DetectorSettings,
    /// The symbol costs are written with (`$`).
    pub currency_symbol: &'a str,
}

/// Whether the later days' values are lower than the earlier days' by more than their
/// day-to-day variation explains: Welch's t-test, one-sided at [`DROP_ALPHA`]. Days that vary not at all
/// and fell are a fall.
fn beyond_daily_noise(earlier: &[f64], later: &[f64]) -> bool {
    let stats = |v: &[f64]| {
        crate::stats::MeanStats::new(
            v.len() as u64,
            v.iter().sum(),
            v.iter().map(|x| x * x).sum(),
        )
    };
    let (Ok(a), Ok(b)) = (stats(earlier), stats(later)) else {
        return false;
    };
    match crate::stats::hypothesis::welch(a, b, crate::stats::Alternative::Smaller) {
        Ok(r) => r.p_value < DROP_ALPHA,
        Err(crate::stats::StatsError::NoVariation) => {
            b.mean().unwrap_or(0.0) < a.mean().unwrap_or(0.0)
        }
        Err(_) => false,
    }
}

/// How unlikely a fall must be under the weeks' day-to-day variation to be called a drop. Days
/// are not independent (a post earns over several), so this errs towards calling a fall.
const DROP_ALPHA: f64 = 0.05;

/// Posts an account needs in the earlier week before a fall is called a drop: with one or two
/// posts a week, one post's luck moves the whole week.
pub const MIN_POSTS_FOR_DROP: i64 = 3;

/// Leads a campaign needs in a week before its cost per lead is compared with anything.
pub const MIN_LEADS: i64 = 5;

fn name(a: &ScopeAccount) -> String {
    format!(
        "{} @{}",
        a.platform.display_name(),
        a.handle.as_deref().unwrap_or(&a.external_id)
    )
}

/// Runs every detector.
pub fn detect(input: &DetectInput<'_>) -> Vec<Detection> {
    let mut out = Vec::new();
    let s = input.settings;
    let cur_from = input.end - Days::new(WINDOW - 1);
    let prev_to = cur_from - Days::new(1);
    let prev_from = prev_to - Days::new(WINDOW - 1);
    let evidence_days = format!("the {WINDOW} days to {}", input.end);

    for a in input.accounts {
        let rows: Vec<DayRow> = input
            .days
            .iter()
            .filter(|r| r.account == a.id)
            .copied()
            .collect();
        let cur = kpis(&rows, cur_from, input.end);
        let prev = kpis(&rows, prev_from, prev_to);

        // Performance drop: audience reached and engagements against the previous week.
        for (metric, c, p) in [
            ("reach", cur.rate_denominator, prev.rate_denominator),
            ("engagements", cur.engagements, prev.engagements),
        ] {
            let (Some(c), Some(p)) = (c, p) else { continue };
            if prev.posts < MIN_POSTS_FOR_DROP {
                continue;
            }
            let daily = |from: NaiveDate| -> Vec<f64> {
                (0..WINDOW)
                    .filter_map(|i| {
                        let d = from + Days::new(i);
                        let k = kpis(&rows, d, d);
                        if metric == "reach" {
                            k.rate_denominator
                        } else {
                            k.engagements
                        }
                    })
                    .map(|v| v as f64)
                    .collect()
            };
            if !beyond_daily_noise(&daily(prev_from), &daily(cur_from)) {
                continue;
            }
            let min = if metric == "reach" {
                s.drop_min_volume
            } else {
                s.drop_min_volume / 20
            };
            if p < min.max(1) || (c as f64) >= (p as f64) * (1.0 - s.drop_threshold) {
                continue;
            }
            let fall = 1.0 - c as f64 / p as f64;
            let what = if metric == "reach" {
                cur.rate_base
                    .map(base_word)
                    .unwrap_or("audience reached")
                    .to_string()
            } else {
                "engagements".to_string()
            };
            out.push(Detection {
                alert: NewAlert {
                    kind: AlertKind::PerformanceDrop,
                    severity: if fall >= 0.5 { Severity::Critical } else { Severity::Warning },
                    subject: name(a),
                    account_id: Some(a.id),
                    dedupe_key: format!("performance_drop:{}:{metric}", a.id),
                    message: format!(
                        "{}: {what} fell {} ({} → {}) in {evidence_days} vs the week before.",
                        name(a), signed_percent(-fall).trim_start_matches('-'), thousands(p), thousands(c)
                    ),
                    evidence: Evidence::PerformanceDrop {
                        account: a.id,
                        metric: metric.to_string(),
                        current: c,
                        previous: p,
                        fall,
                        current_from: cur_from,
                        current_to: input.end,
                        previous_from: prev_from,
                        previous_to: prev_to,
                    },
                },
                recommendation: Some(Recommendation {
                    text: format!("Look into {}: {what} fell {} week over week. Compare the latest posts' format, timing and topics with the weeks before.", name(a), signed_percent(-fall).trim_start_matches('-')),
                    evidence: format!("{} → {} in {evidence_days}", thousands(p), thousands(c)),
                }),
            });
        }

        // Low engagement: the week's rate under the threshold with enough volume to mean it.
        if let (Some(rate), Some(base)) = (cur.engagement_rate, cur.rate_denominator) {
            if base >= s.low_engagement_min_volume && rate < s.low_engagement_rate {
                out.push(Detection {
                    alert: NewAlert {
                        kind: AlertKind::LowEngagement,
                        severity: Severity::Warning,
                        subject: name(a),
                        account_id: Some(a.id),
                        dedupe_key: format!("low_engagement:{}", a.id),
                        message: format!(
                            "{}: engagement rate {} by {} in {evidence_days}, under the {} threshold.",
                            name(a), percent(rate), cur.rate_base.map(base_word).unwrap_or("reach"), percent(s.low_engagement_rate)
                        ),
                        evidence: Evidence::LowEngagement {
                            account: a.id,
                            rate,
                            base,
                            engagements: cur.engagements,
                            threshold: s.low_engagement_rate,
                        },
                    },
                    recommendation: None,
                });
            }
        }

        // Viral posts: far above the account's median, and fast.
        let posts: Vec<&PostSeries> = input.posts.iter().filter(|p| p.account == a.id).collect();
        let end_ts = crate::domain::days::day_bounds(input.end, input.zone).1;
        let lifetime = |p: &PostSeries| -> Option<(i64, f64)> {
            let last = p.series.iter().rev().find(|d| d.day <= input.end)?;
            let e = kpi::engagements(&last.values)?;
            let published = p.published_at?;
            let hours = ((end_ts - published) as f64 / 3600.0).clamp(1.0, 24.0 * 7.0);
            Some((e, e as f64 / hours))
        };
        let month_from = input.end - Days::new(29);
        let published_on = |p: &PostSeries| {
            p.published_at
                .map(|t| crate::domain::days::local_day(t, input.zone))
        };
        let recent: Vec<(&PostSeries, i64, f64)> = posts
            .iter()
            .filter(|p| published_on(p).is_some_and(|d| d >= month_from && d <= input.end))
            .filter_map(|p| lifetime(p).map(|(e, v)| (*p, e, v)))
            .collect();
        let (Some(med_e), Some(med_v)) = (
            median(&recent.iter().map(|r| r.1 as f64).collect::<Vec<_>>()),
            median(&recent.iter().map(|r| r.2).collect::<Vec<_>>()),
        ) else {
            continue;
        };
        if recent.len() < 5 {
            continue;
        }
        for (p, e, v) in &recent {
            let fresh = published_on(p).is_some_and(|d| d >= cur_from);
            if !fresh
                || *e < s.viral_min_engagements
                || (*e as f64) < s.viral_multiple * med_e
                || *v < s.viral_multiple * med_v
            {
                continue;
            }
            let multiple = *e as f64 / med_e.max(1.0);
            out.push(Detection {
                alert: NewAlert {
                    kind: AlertKind::ViralPost,
                    severity: Severity::Info,
                    subject: format!("{} post {}", name(a), p.external_id),
                    account_id: Some(a.id),
                    dedupe_key: format!("viral_post:{}", p.id),
                    message: format!(
                        "{}: post {} is going viral with {} engagements, {} the account's median.",
                        name(a), p.external_id, thousands(*e), format::multiple(multiple)
                    ),
                    evidence: Evidence::ViralPost {
                        post: p.external_id.clone(),
                        engagements: *e,
                        median: med_e,
                        per_hour: *v,
                        median_per_hour: med_v,
                        posts_compared: recent.len(),
                    },
                },
                recommendation: Some(Recommendation {
                    text: format!("Amplify post {} on {}: {} the account's median engagement; boosting it or reposting the format could extend its reach.", p.external_id, a.platform.display_name(), format::multiple(multiple)),
                    evidence: format!("{} engagements vs a median of {} over {} posts in 30 days", thousands(*e), format::whole(med_e), recent.len()),
                }),
            });
        }
    }

    // High cost per lead: against a target, the campaign's own trailing median, or its peers.
    let mut campaigns: BTreeMap<(String, String), Vec<&FunnelRow>> = BTreeMap::new();
    for r in input.funnel {
        campaigns
            .entry((r.platform.clone(), r.campaign.clone()))
            .or_default()
            .push(r);
    }
    // Spend and leads of a campaign's days in `from..=to`, with leads.
    let totals = |rows: &[&FunnelRow], from: NaiveDate, to: NaiveDate| -> Option<(f64, i64)> {
        let f = funnel_total(rows.iter().copied(), from, to);
        match (f.spend_cents, f.leads) {
            (Some(s), Some(l)) if l > 0 => Some((s as f64 / 100.0, l)),
            _ => None,
        }
    };
    let cpl = |rows: &[&FunnelRow], from: NaiveDate, to: NaiveDate| -> Option<(f64, i64)> {
        totals(rows, from, to).map(|(s, l)| (s / l as f64, l))
    };
    let week: Vec<(&(String, String), f64, i64)> = campaigns
        .iter()
        .filter_map(|(k, rows)| cpl(rows, cur_from, input.end).map(|(c, l)| (k, c, l)))
        .filter(|(_, _, leads)| *leads >= MIN_LEADS)
        .collect();
    for (key, c, leads) in &week {
        let rows = &campaigns[*key];
        let weeks: Vec<(f64, i64)> = (1..=4)
            .filter_map(|w| {
                let to = input.end - Days::new(w * WINDOW);
                totals(rows, to - Days::new(WINDOW - 1), to)
            })
            .collect();
        let trailing: Vec<f64> = weeks.iter().map(|(s, l)| s / *l as f64).collect();
        let own = median(&trailing);
        // Leads per unit of spend, day by day: this week against the four before it.
        let daily_rate = |from: NaiveDate, to: NaiveDate| -> Vec<f64> {
            rows.iter()
                .filter(|r| r.day >= from && r.day <= to)
                .filter_map(|r| match (r.funnel.spend_cents, r.funnel.leads) {
                    (Some(s), Some(l)) if s > 0 => Some(l as f64 / s as f64),
                    _ => None,
                })
                .collect()
        };
        let earlier_from = cur_from - Days::new(4 * WINDOW);
        let fewer_leads = beyond_daily_noise(
            &daily_rate(earlier_from, cur_from - Days::new(1)),
            &daily_rate(cur_from, input.end),
        );
        let others: Vec<f64> = week
            .iter()
            .filter(|(k, _, _)| k != key)
            .map(|x| x.1)
            .collect();
        let peers = median(&others);
        let reason = if s.cost_per_lead_target > 0.0 && *c > s.cost_per_lead_target {
            Some(format!(
                "above the {} target",
                money(s.cost_per_lead_target, input.currency_symbol)
            ))
        } else if own.is_some_and(|m| *c > m * (1.0 + s.cost_per_lead_margin)) && fewer_leads {
            Some(format!(
                "{} above its own median of {}",
                signed_percent(c / own.unwrap_or(*c) - 1.0).trim_start_matches('+'),
                money(own.unwrap_or(0.0), input.currency_symbol)
            ))
        } else if week.len() >= 3 && peers.is_some_and(|m| *c > 2.0 * m) {
            Some(format!(
                "{} the median of the other campaigns ({})",
                format::multiple(c / peers.unwrap_or(*c)),
                money(peers.unwrap_or(0.0), input.currency_symbol)
            ))
        } else {
            None
        };
        let Some(reason) = reason else { continue };
        out.push(Detection {
            alert: NewAlert {
                kind: AlertKind::HighCostPerLead,
                severity: Severity::Warning,
                subject: format!("campaign {} on {}", key.1, key.0),
                account_id: None,
                dedupe_key: format!("high_cost_per_lead:{}:{}", key.0, key.1),
                message: format!(
                    "Campaign {} ({}): cost per lead {} in {evidence_days}, {reason}.",
                    key.1,
                    key.0,
                    money(*c, input.currency_symbol)
                ),
                evidence: Evidence::HighCostPerLead {
                    campaign: key.1.clone(),
                    platform: key.0.clone(),
                    cost_per_lead: *c,
                    leads: *leads,
                    own_median: own,
                    peer_median: peers,
                    trailing_weeks: trailing.clone(),
                },
            },
            recommendation: None,
        });
    }
    out
}

fn base_word(b: crate::domain::RateBase) -> &'static str {
    match b {
        crate::domain::RateBase::Reach => "reach",
        crate::domain::RateBase::Impressions => "impressions",
        crate::domain::RateBase::Views => "views",
        crate::domain::RateBase::Followers => "followers",
    }
}

/// Days of rollups and funnel the detectors need before `end`.
pub const HISTORY_DAYS: u64 = 5 * WINDOW;

#[cfg(test)]
mod unit {
    use super::*;

    #[test]
    fn a_drop_must_stand_out_from_day_to_day_variation() {
        let week = |v: [f64; 7]| v.to_vec();
        for (earlier, later, want) in [
            // Every day about a third lower: a drop.
            (
                week([100.0, 120.0, 90.0, 110.0, 105.0, 95.0, 100.0]),
                week([35.0, 40.0, 30.0, 38.0, 36.0, 33.0, 35.0]),
                true,
            ),
            // A quarter lower on the week, but days swing from 20 to 200: luck.
            (
                week([20.0, 200.0, 40.0, 180.0, 30.0, 150.0, 80.0]),
                week([150.0, 25.0, 110.0, 20.0, 90.0, 35.0, 95.0]),
                false,
            ),
            // Flat days that fell are a fall; flat days that rose are not.
            (week([10.0; 7]), week([5.0; 7]), true),
            (week([5.0; 7]), week([10.0; 7]), false),
            // Too few days to say.
            (vec![100.0], vec![10.0], false),
        ] {
            assert_eq!(
                beyond_daily_noise(&earlier, &later),
                want,
                "{earlier:?} → {later:?}"
            );
        }
    }
    use crate::analytics::kpi::{idx, Funnel};
    use crate::domain::rollup::DayValues;
    use crate::domain::Platform;

    fn settings() -> DetectorSettings {
        DetectorSettings {
            drop_threshold: 0.25,
            drop_min_volume: 1000,
            viral_multiple: 3.0,
            viral_min_engagements: 100,
            low_engagement_rate: 0.01,
            low_engagement_min_volume: 1000,
            cost_per_lead_target: 0.0,
            cost_per_lead_margin: 0.3,
            cooldown_hours: 24,
        }
    }

    fn account() -> ScopeAccount {
        ScopeAccount {
            id: 1,
            platform: Platform::Instagram,
            external_id: "1".into(),
            handle: Some("acme".into()),
            brand: None,
        }
    }

    fn day(i: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, 1).unwrap() + Days::new(i)
    }

    /// 14 days: the first week with `before` reach a day, the second with `after`.
    fn weeks(before: i64, after: i64, likes_per_reach: f64) -> Vec<DayRow> {
        (0..14)
            .map(|i| {
                let reach = if i < 7 { before } else { after };
                let mut counters = [None; 8];
                counters[idx::REACH] = Some(reach);
                counters[idx::LIKES] = Some((reach as f64 * likes_per_reach) as i64);
                DayRow {
                    account: 1,
                    day: day(i),
                    posts_published: 1,
                    counters,
                    followers: None,
                }
            })
            .collect()
    }

    fn run(
        days: &[DayRow],
        posts: &[PostSeries],
        funnel: &[FunnelRow],
        s: &DetectorSettings,
    ) -> Vec<Detection> {
        let accounts = [account()];
        detect(&DetectInput {
            accounts: &accounts,
            days,
            posts,
            funnel,
            end: day(13),
            zone: chrono_tz::Etc::UTC,
            settings: s,
            currency_symbol: "$",
        })
    }

    fn kinds(d: &[Detection]) -> Vec<(String, String)> {
        d.iter()
            .map(|x| (x.alert.kind.to_string(), x.alert.dedupe_key.clone()))
            .collect()
    }

    #[test]
    fn performance_drop_threshold_edges_and_minimum_volume() {
        let s = settings();
        // 1,000 → 760 a day is a 24% fall: no alert; → 740 is 26%: alert.
        assert!(run(&weeks(1000, 760, 0.05), &[], &[], &s)
            .iter()
            .all(|d| d.alert.kind != AlertKind::PerformanceDrop));
        let hit = run(&weeks(1000, 740, 0.05), &[], &[], &s);
        assert!(
            kinds(&hit).contains(&("performance_drop".into(), "performance_drop:1:reach".into())),
            "{:?}",
            kinds(&hit)
        );
        assert_eq!(
            hit.iter()
                .find(|d| d.alert.kind == AlertKind::PerformanceDrop)
                .unwrap()
                .alert
                .severity,
            Severity::Warning
        );
        // Halved: critical.
        let big = run(&weeks(1000, 400, 0.05), &[], &[], &s);
        assert!(big
            .iter()
            .any(|d| d.alert.kind == AlertKind::PerformanceDrop
                && d.alert.severity == Severity::Critical));
        // Too small to matter: 100 a day is 700 a week, under the 1,000 minimum.
        assert!(run(&weeks(100, 10, 0.05), &[], &[], &s)
            .iter()
            .all(|d| d.alert.kind != AlertKind::PerformanceDrop));
    }

    #[test]
    fn low_engagement_threshold_and_volume() {
        let s = settings();
        let low = run(&weeks(1000, 1000, 0.009), &[], &[], &s);
        assert!(kinds(&low).contains(&("low_engagement".into(), "low_engagement:1".into())));
        let ok = run(&weeks(1000, 1000, 0.011), &[], &[], &s);
        assert!(ok.iter().all(|d| d.alert.kind != AlertKind::LowEngagement));
        let tiny = run(&weeks(100, 100, 0.001), &[], &[], &s);
        assert!(
            tiny.iter()
                .all(|d| d.alert.kind != AlertKind::LowEngagement),
            "700 reach is under the minimum volume"
        );
    }

    fn post(id: i64, published_day: u64, likes: i64) -> PostSeries {
        let mut values = [None; 8];
        values[idx::LIKES] = Some(likes);
        values[idx::REACH] = Some(likes * 20);
        PostSeries {
            id,
            account: 1,
            external_id: format!("p{id}"),
            text: None,
            published_at: day(published_day)
                .and_hms_opt(9, 0, 0)
                .map(|t| t.and_utc().timestamp()),
            media_type: None,
            paid: None,
            series: vec![DayValues {
                day: day(published_day),
                values,
            }],
        }
    }

    #[test]
    fn viral_needs_a_multiple_of_the_median_volume_and_freshness() {
        let s = settings();
        let base: Vec<PostSeries> = (0..8u64).map(|i| post(i as i64, i, 60)).collect();
        let with = |p: PostSeries| {
            let mut v = base.clone();
            v.push(p);
            run(&weeks(1000, 1000, 0.05), &v, &[], &s)
        };
        assert!(kinds(&with(post(100, 12, 400)))
            .contains(&("viral_post".into(), "viral_post:100".into())));
        assert!(
            with(post(100, 12, 170))
                .iter()
                .all(|d| d.alert.kind != AlertKind::ViralPost),
            "under 3x the median"
        );
        assert!(
            with(post(100, 2, 400))
                .iter()
                .all(|d| d.alert.kind != AlertKind::ViralPost
                    || d.alert.dedupe_key != "viral_post:100"),
            "not fresh"
        );
        let small: Vec<PostSeries> = (0..8u64)
            .map(|i| post(i as i64, i, 10))
            .chain([post(100, 12, 90)])
            .collect();
        assert!(
            run(&weeks(1000, 1000, 0.05), &small, &[], &s)
                .iter()
                .all(|d| d.alert.kind != AlertKind::ViralPost),
            "under the minimum volume"
        );
    }

    fn funnel_days(
        campaign: &str,
        days: std::ops::Range<u64>,
        spend: i64,
        leads: i64,
    ) -> Vec<FunnelRow> {
        days.map(|i| FunnelRow {
            campaign: campaign.into(),
            platform: "linkedin".into(),
            day: day(i).checked_add_days(Days::new(0)).unwrap(),
            funnel: Funnel {
                spend_cents: Some(spend * 100),
                leads: Some(leads),
                ..Funnel::default()
            },
        })
        .collect()
    }

    #[test]
    fn cost_per_lead_against_target_own_history_and_peers() {
        let mut s = settings();
        let steady = funnel_days("steady", 0..14, 100, 10);
        assert!(run(&[], &[], &steady, &s).is_empty());
        let mut rising = funnel_days("rising", 0..7, 100, 10);
        rising.extend(funnel_days("rising", 7..14, 100, 5));
        assert!(kinds(&run(&[], &[], &rising, &s)).contains(&(
            "high_cost_per_lead".into(),
            "high_cost_per_lead:linkedin:rising".into()
        )));
        s.cost_per_lead_target = 9.0;
        assert!(
            !run(&[], &[], &steady, &s).is_empty(),
            "10 a lead is above a 9 target"
        );
        s.cost_per_lead_target = 0.0;
        let mut peers = funnel_days("a", 0..14, 100, 10);
        peers.extend(funnel_days("b", 0..14, 100, 12));
        peers.extend(funnel_days("costly", 0..14, 300, 10));
        let d = run(&[], &[], &peers, &s);
        assert_eq!(
            kinds(&d),
            vec![(
                "high_cost_per_lead".to_string(),
                "high_cost_per_lead:linkedin:costly".to_string()
            )]
        );
    }
}
