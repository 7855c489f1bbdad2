//! The 0–100 performance score: each component is a percentile of this period against the
//! same scope's own recent history, weighted, so the number is explainable component by
//! component.

use std::collections::BTreeMap;

use chrono::Days;
use serde::Serialize;

use super::kpi::{combine, funnel_total, kpis, median, DayRow, FunnelRow, Kpis};
use super::report::Period;

/// Comparable periods before this one that the percentiles are taken against.
pub const HISTORY_PERIODS: usize = 8;
/// Fewer past periods with data than this and a component is left out.
pub const MIN_HISTORY: usize = 4;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Component {
    pub name: String,
    pub weight: f64,
    /// 0–100: share of past periods this one beat (ties count half).
    pub percentile: f64,
    pub value: f64,
    pub history_median: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Score {
    pub value: u8,
    pub components: Vec<Component>,
    pub explanation: String,
}

impl Score {
    /// Each component with its percentile: `engagement 100`, `reach 75`.
    pub fn component_words(&self) -> Vec<String> {
        self.components
            .iter()
            .map(|c| format!("{} {:.0}", c.name, c.percentile))
            .collect()
    }
}

/// Share of `history` below `value`, ties counting half, as 0–100.
pub fn percentile(value: f64, history: &[f64]) -> f64 {
    if history.is_empty() {
        return 50.0;
    }
    let below = history.iter().filter(|h| **h < value).count() as f64;
    let equal = history.iter().filter(|h| **h == value).count() as f64;
    100.0 * (below + 0.5 * equal) / history.len() as f64
}

fn window_kpis(rows: &[DayRow], p: &Period) -> Kpis {
    let mut by_account: BTreeMap<i64, Vec<DayRow>> = BTreeMap::new();
    for r in rows {
        by_account.entry(r.account).or_default().push(*r);
    }
    let parts: Vec<Kpis> = by_account.values().map(|r| kpis(r, p.from, p.to)).collect();
    combine(&parts)
}

/// The score of period `p`, or None when there is too little history for any component.
pub fn score(rows: &[DayRow], funnel: &[FunnelRow], p: Period) -> Option<Score> {
    let len = p.days() as u64;
    let windows: Vec<Period> = (0..=HISTORY_PERIODS as u64)
        .map(|i| {
            Period::range(
                p.kind,
                p.from - Days::new(i * len),
                p.to - Days::new(i * len),
            )
        })
        .collect();
    // (name, weight, value per window: index 0 is the current period)
    type Metric = (&'static str, f64, Vec<Option<f64>>);
    let mut metrics: Vec<Metric> = Vec::new();
    let k: Vec<Kpis> = windows.iter().map(|w| window_kpis(rows, w)).collect();
    let has_rows = |w: &Period| rows.iter().any(|r| r.day >= w.from && r.day <= w.to);
    metrics.push((
        "engagement",
        0.35,
        k.iter().map(|x| x.engagement_rate).collect(),
    ));
    metrics.push((
        "reach",
        0.25,
        k.iter()
            .map(|x| x.rate_denominator.map(|v| v as f64))
            .collect(),
    ));
    metrics.push((
        "conversion efficiency",
        0.25,
        windows
            .iter()
            .map(|w| {
                let f = funnel_total(funnel, w.from, w.to);
                match (f.leads, f.spend_cents) {
                    (Some(l), Some(s)) if s > 0 => Some(l as f64 / (s as f64 / 100.0)),
                    _ => None,
                }
            })
            .collect(),
    ));
    metrics.push((
        "consistency",
        0.15,
        windows
            .iter()
            .map(|w| {
                if !has_rows(w) {
                    return None;
                }
                let mut days: Vec<_> = rows
                    .iter()
                    .filter(|r| r.day >= w.from && r.day <= w.to && r.posts_published > 0)
                    .map(|r| r.day)
                    .collect();
                days.sort();
                days.dedup();
                Some(days.len() as f64 / w.days() as f64)
            })
            .collect(),
    ));
    let mut components = Vec::new();
    for (name, weight, values) in metrics {
        let Some(current) = values[0] else { continue };
        let history: Vec<f64> = values[1..].iter().flatten().copied().collect();
        if history.len() < MIN_HISTORY {
            continue;
        }
        components.push(Component {
            name: name.to_string(),
            weight,
            percentile: percentile(current, &history),
            value: current,
            history_median: median(&history).unwrap_or(0.0),
        });
    }
    if components.is_empty() {
        return None;
    }
    let total_weight: f64 = components.iter().map(|c| c.weight).sum();
    let value = components
        .iter()
        .map(|c| c.weight * c.percentile)
        .sum::<f64>()
        / total_weight;
    let best = components
        .iter()
        .max_by(|a, b| a.percentile.total_cmp(&b.percentile))?;
    let worst = components
        .iter()
        .min_by(|a, b| a.percentile.total_cmp(&b.percentile))?;
    let explanation = if best.name == worst.name {
        format!(
            "{} ranks at the {:.0}th percentile of the last {HISTORY_PERIODS} periods.",
            best.name, best.percentile
        )
    } else {
        format!(
            "strongest {} ({:.0}th percentile of the last {HISTORY_PERIODS} periods), weakest {} ({:.0}th).",
            best.name, best.percentile, worst.name, worst.percentile
        )
    };
    Some(Score {
        value: value.round().clamp(0.0, 100.0) as u8,
        components,
        explanation,
    })
}

#[cfg(test)]
mod unit {
    use super::*;
    use crate::analytics::kpi::idx;
    use crate::analytics::report::PeriodKind;
    use chrono::NaiveDate;

    #[test]
    fn percentiles() {
        let h = [1.0, 2.0, 3.0, 4.0];
        let cases = [(0.5, 0.0), (2.0, 37.5), (2.5, 50.0), (9.0, 100.0)];
        for (v, want) in cases {
            assert_eq!(percentile(v, &h), want, "{v}");
        }
        assert_eq!(percentile(1.0, &[]), 50.0);
    }

    fn rows(days: u32, reach: impl Fn(u32) -> i64) -> Vec<DayRow> {
        let start = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        (0..days)
            .map(|i| {
                let mut counters = [None; 8];
                counters[idx::REACH] = Some(reach(i));
                counters[idx::LIKES] = Some(reach(i) / 20);
                DayRow {
                    account: 1,
                    day: start + Days::new(i as u64),
                    posts_published: i64::from(i % 2 == 0),
                    counters,
                    followers: None,
                }
            })
            .collect()
    }

    #[test]
    fn a_record_week_scores_high_and_a_slump_low() {
        let end = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + Days::new(69);
        let p = Period::ending(PeriodKind::Weekly, end);
        let up = score(&rows(70, |i| if i >= 63 { 5000 } else { 1000 }), &[], p).unwrap();
        let down = score(&rows(70, |i| if i >= 63 { 300 } else { 1000 }), &[], p).unwrap();
        assert!(up.value > 60, "{up:?}");
        assert!(down.value < 40, "{down:?}");
        assert!(
            down.explanation.contains("weakest reach"),
            "{}",
            down.explanation
        );
        assert!(
            up.components
                .iter()
                .all(|c| c.name != "conversion efficiency"),
            "no funnel, no component"
        );
    }

    #[test]
    fn too_little_history_means_no_score() {
        let end = NaiveDate::from_ymd_opt(2026, 1, 14).unwrap();
        assert!(score(
            &rows(14, |_| 1000),
            &[],
            Period::ending(PeriodKind::Weekly, end)
        )
        .is_none());
    }
}
