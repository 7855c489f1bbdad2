//! What `vibe demo` and `vibe import` print: the data set and its planted findings, the tests,
//! an import's counts and problems.

use crate::config::Settings;
use crate::demo::{self, DemoPlan};
use crate::format::thousands;
use crate::import;
use crate::store::Store;

pub(super) async fn print_demo_tests(store: &Store, ids: &[i64]) -> anyhow::Result<()> {
    outln!();
    outln!("A/B tests:");
    for id in ids {
        let Some(e) = store.experiment(*id).await? else {
            continue;
        };
        let result = crate::experiments::results(store, *id, chrono::Utc::now()).await?;
        let line = match &e.verdict {
            Some(v) => v.clone(),
            None => crate::experiments::render::verdict_sentence(&e, &result),
        };
        outln!(
            "  #{id} {} ({}, {}): {line}",
            e.design.name,
            e.design.kind,
            e.status
        );
    }
    if let Some(first) = ids.first() {
        outln!("  See the analysis with: vibe abtest results {first}");
    }
    Ok(())
}

/// `1 post`, `2,000 posts`.
fn plural(n: usize, noun: &str) -> String {
    crate::format::counted(n as u64, noun, &format!("{noun}s"))
}

pub(super) fn print_import(r: &import::ImportReport) {
    let secs = r.elapsed.as_secs_f64();
    // A rate only where there is enough to measure one.
    let speed = if r.rows >= 1000 && secs > 0.0 {
        format!(" ({} rows/s)", thousands((r.rows as f64 / secs) as i64))
    } else {
        String::new()
    };
    outln!(
        "Imported {} ({}): {} in {secs:.2} s{speed}",
        r.path.display(),
        r.format,
        plural(r.rows as usize, "row"),
    );
    if r.rows == 0 {
        outln!("  warning: the file held no data rows, only a header: nothing was imported");
    }
    let s = &r.stats;
    outln!(
        "  wrote {} of {}, {} and {} for {}; {} of rollups rebuilt",
        plural(s.post_snapshots, "post snapshot"),
        plural(s.posts, "post"),
        plural(s.account_snapshots, "follower count"),
        plural(s.funnel_days, "funnel day"),
        plural(s.accounts, "account"),
        plural(s.rollup_days, "account-day")
    );
    if !r.skipped.is_empty() {
        outln!(
            "  skipped {}:",
            plural(
                r.skipped.iter().filter(|i| i.line > 0).count(),
                "invalid row"
            )
        );
        for issue in &r.skipped {
            outln!("    {}", issue.located(&r.path));
        }
    }
    if r.missing.total() > 0 {
        outln!("  warning: {} empty cell(s):", r.missing.total());
        for line in r.missing.lines() {
            outln!("    {line}");
        }
    }
    for line in r.missing.rounded_lines() {
        outln!("  warning: {line}");
    }
    for note in &r.notes {
        outln!("  note: {note}");
    }
}

pub(super) async fn print_demo(
    store: &Store,
    settings: &Settings,
    plan: &DemoPlan,
    data: &demo::DemoData,
) -> anyhow::Result<()> {
    let today = plan.now.date_naive();
    let first = today - chrono::Days::new(u64::from(plan.days) - 1);
    outln!(
        "vibe demo: {} days of data ({first} to {today}), seed {}, stored in {}",
        plan.days,
        plan.seed,
        settings.database.url.redacted()
    );
    outln!();
    outln!(
        "{:<17} {:<10} {:<17} {:>6} {:>10} {:>20} {:>12} {:>12}",
        "brand",
        "platform",
        "account",
        "posts",
        "snapshots",
        "followers",
        "impr/views",
        "engagements"
    );
    let opt = |v: Option<i64>| v.map(thousands).unwrap_or_else(|| "-".into());
    for a in store.account_summaries(settings.report.timezone.0).await? {
        let followers = match (a.followers_first, a.followers_last) {
            (Some(f), Some(l)) => format!("{} → {}", thousands(f), thousands(l)),
            _ => "-".into(),
        };
        let seen = a.impressions.or(a.views);
        outln!(
            "{:<17} {:<10} {:<17} {:>6} {:>10} {:>20} {:>12} {:>12}",
            a.brand.as_deref().unwrap_or("-"),
            a.platform,
            format!("@{}", a.handle.as_deref().unwrap_or(&a.external_id)),
            thousands(a.posts),
            thousands(a.snapshots),
            followers,
            opt(seen),
            opt(a.engagements),
        );
    }
    outln!();
    let symbol = settings.report.currency.symbol();
    let money = |c: Option<i64>| {
        c.map(|c| format!("{symbol}{}", thousands(c / 100)))
            .unwrap_or_else(|| "-".into())
    };
    outln!("Paid campaigns:");
    for c in store.campaign_totals().await? {
        let cpl = match (c.spend_cents, c.leads) {
            (Some(s), Some(l)) if l > 0 => {
                crate::format::money(s as f64 / 100.0 / l as f64, symbol)
            }
            _ => "-".into(),
        };
        outln!(
            "  {:<20} {:<10} {:>3} days  spend {:>9}  revenue {:>9}  leads {:>6}  cost per lead {cpl}",
            c.campaign,
            c.platform,
            c.days,
            money(c.spend_cents),
            money(c.revenue_cents),
            opt(c.leads),
        );
    }
    outln!();
    outln!("Planted in the data for the analysis to find:");
    for v in &data.viral_posts {
        outln!(
            "  viral post: {} @{} post {} published {} ({}x the usual engagement)",
            v.platform,
            v.handle,
            v.post_id,
            v.published,
            v.boost
        );
    }
    outln!(
        "  performance drop: {} @{} reach down {:.0}% since {}",
        data.drop.platform,
        data.drop.handle,
        data.drop.reach_lost * 100.0,
        data.drop.from
    );
    outln!(
        "  costly campaign: {} (cost per lead far above the others)",
        data.costly_campaign
    );
    let t = store.table_counts().await?;
    outln!();
    outln!(
        "Database totals: {} brands, {} accounts, {} posts, {} post snapshots, {} follower counts, \
         {} funnel days, {} post-days and {} account-days of rollups.",
        t.brands,
        t.accounts,
        thousands(t.posts),
        thousands(t.post_snapshots),
        thousands(t.account_snapshots),
        thousands(t.funnel_days),
        thousands(t.post_days),
        thousands(t.account_days)
    );
    Ok(())
}
