//! `vibe demo`: a realistic, reproducible data set to try vibe on without any account.
//!
//! Two brands with an account on each of the five platforms, the days ending today: posts with
//! heavy-tailed engagement and weekday and hour seasonality, hourly snapshots that grow fast at
//! first and then flatten, follower growth, a few viral posts, one clear performance drop, and
//! paid campaigns with funnel and spend (one with a costly cost per lead). Each platform gets only
//! the counters it really reports (see `shared/reference/platform-apis.md`).
//!
//! Generation is pure: the same seed and the same `now` give the same records.

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal, Normal};

use crate::domain::{
    hashtags_in, AccountInfo, AccountKey, AccountSnapshot, Count, FunnelDay, MediaType, Money,
    Platform, PostInfo, PostMetrics, PostSnapshot, Record,
};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct DemoPlan {
    pub seed: u64,
    /// The generation instant: the last day is `now`'s UTC day and no snapshot is after it.
    pub now: DateTime<Utc>,
    pub days: u32,
}

/// The generated records and the events planted in them.
#[derive(Debug, Clone)]
pub struct DemoData {
    pub records: Vec<Record>,
    pub viral_posts: Vec<ViralPost>,
    pub drop: PlantedDrop,
    pub costly_campaign: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ViralPost {
    pub platform: Platform,
    pub handle: String,
    pub post_id: String,
    pub published: NaiveDate,
    /// How many times the usual engagement it was given.
    pub boost: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlantedDrop {
    pub platform: Platform,
    pub handle: String,
    pub from: NaiveDate,
    /// Fraction of reach lost, e.g. 0.45.
    pub reach_lost: f64,
}

/// One planted event and whether the detectors found it.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The planted event in words, or the condition found that nothing planted.
    pub what: String,
    /// The alert that found it: `#12`.
    pub alert: Option<i64>,
    pub planted: bool,
}

impl DemoData {
    /// Each planted event next to the alert that found it, then any alert nothing planted.
    pub fn findings(&self, alerts: &[crate::analytics::model::StoredAlert]) -> Vec<Finding> {
        use crate::analytics::model::{AlertKind, Evidence};
        let mut used = std::collections::BTreeSet::new();
        let mut out = Vec::new();
        let mut find =
            |what: String, hit: &dyn Fn(&crate::analytics::model::StoredAlert) -> bool| {
                let alert = alerts.iter().find(|a| hit(a)).map(|a| a.id);
                used.extend(alert);
                out.push(Finding {
                    what,
                    alert,
                    planted: true,
                });
            };
        for v in &self.viral_posts {
            find(
                format!(
                    "viral post on {} @{} ({}x the usual engagement)",
                    v.platform.display_name(),
                    v.handle,
                    v.boost
                ),
                &|a| matches!(&a.alert.evidence, Evidence::ViralPost { post, .. } if *post == v.post_id),
            );
        }
        let d = &self.drop;
        let subject = format!("{} @{}", d.platform.display_name(), d.handle);
        find(
            format!(
                "performance drop on {subject} (reach down {})",
                crate::format::signed_percent(-d.reach_lost).trim_start_matches('-')
            ),
            &|a| a.alert.kind == AlertKind::PerformanceDrop && a.alert.subject == subject,
        );
        find(
            format!("costly campaign {}", self.costly_campaign),
            &|a| matches!(&a.alert.evidence, Evidence::HighCostPerLead { campaign, .. } if *campaign == self.costly_campaign),
        );
        for a in alerts {
            // The drop is one event however many of its measures fell.
            let same_drop =
                a.alert.kind == AlertKind::PerformanceDrop && a.alert.subject == subject;
            if !used.contains(&a.id) && !same_drop {
                out.push(Finding {
                    what: a.alert.message.clone(),
                    alert: Some(a.id),
                    planted: false,
                });
            }
        }
        out
    }
}

struct AccountSpec {
    brand: &'static str,
    platform: Platform,
    handle: &'static str,
    followers: f64,
    /// Daily follower growth rate.
    growth: f64,
    posts_per_day: f64,
    /// Reach of an average post as a fraction of followers.
    reach_rate: f64,
    /// Engagements per person reached.
    engagement_rate: f64,
    /// Hours until a post has about 63% of its lifetime counts.
    tau_hours: f64,
}

const ACCOUNTS: [AccountSpec; 10] = [
    AccountSpec {
        brand: "Northwind Coffee",
        platform: Platform::X,
        handle: "northwindcoffee",
        followers: 18_400.0,
        growth: 0.0012,
        posts_per_day: 1.6,
        reach_rate: 0.09,
        engagement_rate: 0.021,
        tau_hours: 3.0,
    },
    AccountSpec {
        brand: "Northwind Coffee",
        platform: Platform::Instagram,
        handle: "northwind.coffee",
        followers: 42_300.0,
        growth: 0.0021,
        posts_per_day: 0.9,
        reach_rate: 0.22,
        engagement_rate: 0.048,
        tau_hours: 10.0,
    },
    AccountSpec {
        brand: "Northwind Coffee",
        platform: Platform::Tiktok,
        handle: "northwindcoffee",
        followers: 27_900.0,
        growth: 0.0045,
        posts_per_day: 0.7,
        reach_rate: 0.55,
        engagement_rate: 0.071,
        tau_hours: 20.0,
    },
    AccountSpec {
        brand: "Northwind Coffee",
        platform: Platform::Linkedin,
        handle: "northwind-coffee",
        followers: 6_200.0,
        growth: 0.0009,
        posts_per_day: 0.35,
        reach_rate: 0.31,
        engagement_rate: 0.034,
        tau_hours: 14.0,
    },
    AccountSpec {
        brand: "Northwind Coffee",
        platform: Platform::Reddit,
        handle: "northwind_coffee",
        followers: 2_100.0,
        growth: 0.0015,
        posts_per_day: 0.2,
        reach_rate: 1.0,
        engagement_rate: 0.09,
        tau_hours: 6.0,
    },
    AccountSpec {
        brand: "Lumen Skincare",
        platform: Platform::X,
        handle: "lumenskin",
        followers: 9_800.0,
        growth: 0.0010,
        posts_per_day: 1.2,
        reach_rate: 0.08,
        engagement_rate: 0.017,
        tau_hours: 3.0,
    },
    AccountSpec {
        brand: "Lumen Skincare",
        platform: Platform::Instagram,
        handle: "lumen.skincare",
        followers: 118_000.0,
        growth: 0.0018,
        posts_per_day: 1.1,
        reach_rate: 0.19,
        engagement_rate: 0.039,
        tau_hours: 10.0,
    },
    AccountSpec {
        brand: "Lumen Skincare",
        platform: Platform::Tiktok,
        handle: "lumenskincare",
        followers: 64_500.0,
        growth: 0.0050,
        posts_per_day: 0.9,
        reach_rate: 0.62,
        engagement_rate: 0.083,
        tau_hours: 22.0,
    },
    AccountSpec {
        brand: "Lumen Skincare",
        platform: Platform::Linkedin,
        handle: "lumen-skincare",
        followers: 11_700.0,
        growth: 0.0011,
        posts_per_day: 0.4,
        reach_rate: 0.27,
        engagement_rate: 0.029,
        tau_hours: 14.0,
    },
    AccountSpec {
        brand: "Lumen Skincare",
        platform: Platform::Reddit,
        handle: "lumen_skincare",
        followers: 3_400.0,
        growth: 0.0012,
        posts_per_day: 0.25,
        reach_rate: 1.0,
        engagement_rate: 0.07,
        tau_hours: 6.0,
    },
];

/// The range of a post's organic luck, as a multiple of its expected reach.
const ORGANIC_LOW: f64 = 0.75;
const ORGANIC_HIGH: f64 = 1.33;

/// Index in [`ACCOUNTS`] of the account whose reach drops.
const DROP_ACCOUNT: usize = 6;
/// Full days before today during which the drop holds (today too).
const DROP_DAYS: u64 = 7;
const DROP_REACH_KEPT: f64 = 0.35;
/// Indexes in [`ACCOUNTS`] of the accounts with a viral post (not the dropping one).
const VIRAL_ACCOUNTS: [usize; 4] = [0, 2, 8, 9];

const NORTHWIND_TEXTS: [&str; 10] = [
    "Fresh single-origin Ethiopian beans just landed. Bright, floral, unforgettable. #coffee #singleorigin",
    "Our baristas' favourite way to start a Monday. What's yours? #mondaymotivation #coffee",
    "Cold brew season is back! Steeped for 18 hours, smooth as ever. #coldbrew #summer",
    "Sorry for the long queues this weekend. We're adding a second espresso machine. #customerservice",
    "Meet Ana, the roaster behind our new house blend. #behindthescenes #roastery",
    "Latte art throwdown this Friday. Bring your best rosetta! #latteart #community",
    "Our compostable cups are finally here. Small step, big difference. #sustainability",
    "Holiday blend: cinnamon, orange peel, dark chocolate notes. Limited run. #holidayblend #coffee",
    "Shipping delays this week, we're really sorry. Every order will arrive. #update",
    "Five ways to brew better coffee at home (thread) #brewguide #homebarista",
];

const LUMEN_TEXTS: [&str; 10] = [
    "Our new vitamin C glow serum is here. Dermatologist tested, fragrance free. #skincare #glowserum",
    "Sunscreen every day, even in winter. Your future skin will thank you. #spf #skincaretips",
    "Behind the lab doors: how we test every batch for stability. #science #skincare",
    "We hear you: the pump on our 50 ml bottle is frustrating. A fix ships next month. #feedback",
    "Three-step night routine for sensitive skin #routine #sensitiveskin",
    "Customer story: six weeks with the barrier cream. Real results, no filter. #beforeandafter",
    "Partnering with spas across Europe. Interested? Let's talk. #b2b #spa",
    "Ingredient spotlight: niacinamide, what it does and what it doesn't. #ingredients",
    "Out of stock again, sorry! Restock lands Friday. #restock",
    "Hydration myths, busted. #skincaremyths #hydration",
];

struct Campaign {
    brand: &'static str,
    account: usize,
    name: &'static str,
    days: u64,
    spend: f64,
    cpm: f64,
    ctr: f64,
    lead_rate: f64,
    conversion_rate: f64,
    order_value: f64,
}

const CAMPAIGNS: [Campaign; 4] = [
    Campaign {
        brand: "Northwind Coffee",
        account: 1,
        name: "holiday-blend",
        days: 60,
        spend: 150.0,
        cpm: 9.0,
        ctr: 0.011,
        lead_rate: 0.09,
        conversion_rate: 0.32,
        order_value: 38.0,
    },
    Campaign {
        brand: "Northwind Coffee",
        account: 0,
        name: "subscription-push",
        days: 45,
        spend: 80.0,
        cpm: 6.5,
        ctr: 0.008,
        lead_rate: 0.07,
        conversion_rate: 0.25,
        order_value: 54.0,
    },
    Campaign {
        brand: "Lumen Skincare",
        account: 8,
        name: "spa-partners",
        days: 75,
        spend: 400.0,
        cpm: 38.0,
        ctr: 0.012,
        lead_rate: 0.035,
        conversion_rate: 0.10,
        order_value: 420.0,
    },
    Campaign {
        brand: "Lumen Skincare",
        account: 7,
        name: "glow-serum-launch",
        days: 30,
        spend: 180.0,
        cpm: 6.0,
        ctr: 0.015,
        lead_rate: 0.05,
        conversion_rate: 0.35,
        order_value: 42.0,
    },
];

/// The campaign whose cost per lead is planted high.
const COSTLY_CAMPAIGN: usize = 2;

fn count(v: f64) -> Option<Count> {
    Count::new(v.max(0.0).round() as u64).ok()
}

fn account_info(spec: &AccountSpec) -> AccountInfo {
    AccountInfo {
        key: AccountKey {
            platform: spec.platform,
            external_id: format!("demo-{}-{}", spec.platform, spec.handle),
        },
        handle: Some(spec.handle.to_string()),
        brand: Some(spec.brand.to_string()),
    }
}

/// Relative engagement by weekday: LinkedIn is a weekday network, TikTok and Instagram peak at
/// the weekend.
fn weekday_factor(platform: Platform, day: Weekday) -> f64 {
    let weekend = matches!(day, Weekday::Sat | Weekday::Sun);
    match (platform, weekend) {
        (Platform::Linkedin, true) => 0.45,
        (Platform::Linkedin, false) => 1.1,
        (Platform::Instagram | Platform::Tiktok, true) => 1.2,
        (Platform::X, true) => 0.85,
        _ => 1.0,
    }
}

/// Posts an account publishes on `day`: the same number in every run of seven days (its weekly
/// count spread over fixed weekdays), so a week-over-week change comes from how posts did, not
/// from how many there happened to be.
fn posts_on(per_day: f64, day: NaiveDate) -> u32 {
    let weekly = (per_day * 7.0).round().max(1.0) as u32;
    let slot = day.weekday().num_days_from_monday();
    // Spread the remainder evenly: with 2 a week, Monday and Thursday.
    let extra = weekly % 7;
    let on = (0..extra).any(|i| i * 7 / extra.max(1) == slot);
    weekly / 7 + u32::from(on)
}

const PEAK_HOUR_FACTOR: f64 = 1.25;

/// Relative engagement by publish hour (UTC): a late-morning and an evening peak.
fn hour_factor(hour: u32) -> f64 {
    match hour {
        0..=5 => 0.55,
        6..=8 => 0.85,
        9..=12 => 1.15,
        13..=16 => 0.95,
        17..=21 => PEAK_HOUR_FACTOR,
        _ => 0.8,
    }
}

/// A post id shaped like the platform's own.
fn post_id(platform: Platform, rng: &mut ChaCha8Rng) -> String {
    match platform {
        Platform::X | Platform::Tiktok => format!(
            "{}",
            rng.gen_range(1_700_000_000_000_000_000u64..1_900_000_000_000_000_000)
        ),
        Platform::Instagram | Platform::Facebook => format!(
            "{}",
            rng.gen_range(17_800_000_000_000_000u64..17_999_999_999_999_999)
        ),
        Platform::Linkedin => format!(
            "urn:li:share:{}",
            rng.gen_range(7_000_000_000_000_000_000u64..7_300_000_000_000_000_000)
        ),
        Platform::Reddit => {
            let n = rng.gen_range(36u64.pow(6)..36u64.pow(7));
            let mut s = String::new();
            let mut x = n;
            while x > 0 {
                s.insert(0, char::from_digit((x % 36) as u32, 36).unwrap_or('0'));
                x /= 36;
            }
            format!("t3_{s}")
        }
    }
}

/// Lifetime counters of a post given the people it reached, in the fields its platform reports.
fn lifetime_metrics(
    platform: Platform,
    reach: f64,
    engagement_rate: f64,
    rng: &mut ChaCha8Rng,
) -> PostMetrics {
    let engaged = reach * engagement_rate;
    let mut split = |share: f64| count(engaged * share * rng.gen_range(0.8..1.2));
    match platform {
        Platform::X => PostMetrics {
            impressions: count(reach * 1.35),
            likes: split(0.62),
            comments: split(0.08),
            shares: split(0.18),
            saves: split(0.05),
            clicks: split(0.35),
            ..PostMetrics::default()
        },
        Platform::Instagram => PostMetrics {
            views: count(reach * 1.6),
            reach: count(reach),
            likes: split(0.78),
            comments: split(0.06),
            shares: split(0.07),
            saves: split(0.09),
            ..PostMetrics::default()
        },
        Platform::Tiktok => PostMetrics {
            views: count(reach * 1.3),
            likes: split(0.85),
            comments: split(0.05),
            shares: split(0.10),
            ..PostMetrics::default()
        },
        Platform::Linkedin => PostMetrics {
            impressions: count(reach * 1.7),
            reach: count(reach),
            clicks: split(0.55),
            likes: split(0.35),
            comments: split(0.06),
            shares: split(0.04),
            ..PostMetrics::default()
        },
        Platform::Reddit | Platform::Facebook => PostMetrics {
            likes: split(0.85),
            comments: split(0.15),
            ..PostMetrics::default()
        },
    }
}

/// How many of `n` independent trials with probability `p` succeed.
fn bernoulli_count(n: u64, p: f64, rng: &mut ChaCha8Rng) -> u64 {
    (0..n).filter(|_| rng.gen::<f64>() < p).count() as u64
}

/// The share of lifetime counts a post has `hours` after publishing.
fn growth(hours: f64, tau: f64) -> f64 {
    if hours <= 0.0 {
        0.0
    } else {
        1.0 - (-hours / tau).exp()
    }
}

fn scaled(m: &PostMetrics, f: f64) -> PostMetrics {
    PostMetrics::from_array(
        m.to_array()
            .map(|c| c.and_then(|c| count((c.get() as f64 * f).floor()))),
    )
}

/// Generates the demo data set.
pub fn generate(plan: &DemoPlan) -> DemoData {
    let mut rng = ChaCha8Rng::seed_from_u64(plan.seed);
    let today = plan.now.date_naive();
    let first = today - Days::new(u64::from(plan.days.max(1)) - 1);
    // The drop covers the whole last full week (the detectors' window) and today.
    let drop_from = today - Days::new(DROP_DAYS);
    let noise = LogNormal::new(0.0, 0.3).unwrap_or_else(|_| unreachable!("valid parameters"));
    let follower_noise = Normal::new(0.0, 1.0).unwrap_or_else(|_| unreachable!("valid parameters"));
    let mut records = Vec::new();
    let mut viral_posts = Vec::new();

    for (ai, spec) in ACCOUNTS.iter().enumerate() {
        let account = account_info(spec);
        let texts: &[&str] = if spec.brand == "Northwind Coffee" {
            &NORTHWIND_TEXTS
        } else {
            &LUMEN_TEXTS
        };
        let campaigns: Vec<&Campaign> = CAMPAIGNS.iter().filter(|c| c.account == ai).collect();
        // The viral post lands in the last week (fresh enough for the detector), with a boost.
        let viral_day = VIRAL_ACCOUNTS
            .contains(&ai)
            .then(|| today - Days::new(rng.gen_range(2..7)));
        let mut viral_done = false;

        let mut day = first;
        let mut followers = spec.followers;
        while day <= today {
            let t = (day - first).num_days() as f64;
            let dropping = ai == DROP_ACCOUNT && day >= drop_from;
            // Followers: compound growth, slower during the drop, recorded each evening.
            followers *=
                1.0 + if dropping {
                    spec.growth * 0.2
                } else {
                    spec.growth
                } + follower_noise.sample(&mut rng) * 0.0004;
            let evening = Utc.from_utc_datetime(&day.and_hms_opt(22, 0, 0).unwrap_or_default());
            if evening <= plan.now {
                records.push(Record::Account(AccountSnapshot {
                    account: account.clone(),
                    observed_at: evening,
                    followers: count(followers),
                }));
            }

            let mut n_posts = posts_on(spec.posts_per_day, day);
            let is_viral_day = viral_day == Some(day) && !viral_done;
            if is_viral_day {
                n_posts = n_posts.max(1);
            }
            for k in 0..n_posts {
                let hour = [8, 9, 11, 12, 13, 17, 18, 19, 20, 21][rng.gen_range(0..10)];
                let minute = rng.gen_range(0..60);
                let published =
                    Utc.from_utc_datetime(&day.and_hms_opt(hour, minute, 0).unwrap_or_default());
                if published > plan.now {
                    continue;
                }
                let boost: f64 = if is_viral_day && k == 0 {
                    rng.gen_range(6.0..10.0)
                } else {
                    1.0
                };
                // Organic variation stays well under the detectors' threshold (3x the median),
                // and a planted post gets its boost without luck either way, so what they find
                // is what was planted.
                let mut luck = || {
                    let x = Distribution::<f64>::sample(&noise, &mut rng);
                    if boost > 1.0 {
                        1.0
                    } else {
                        x.clamp(ORGANIC_LOW, ORGANIC_HIGH)
                    }
                };
                let (reach_luck, rate_luck) = (luck(), luck());
                // Nor does a planted post lose its boost to a weekend or a quiet hour.
                let (day_factor, time_factor) = if boost > 1.0 {
                    let best = [Weekday::Mon, Weekday::Sat]
                        .map(|d| weekday_factor(spec.platform, d))
                        .into_iter()
                        .fold(0.0, f64::max);
                    (best, PEAK_HOUR_FACTOR)
                } else {
                    (
                        weekday_factor(spec.platform, day.weekday()),
                        hour_factor(hour),
                    )
                };
                let mut reach = followers
                    * spec.reach_rate
                    * reach_luck
                    * day_factor
                    * time_factor
                    * (1.0 + 0.002 * t)
                    * boost.sqrt();
                if dropping {
                    reach *= DROP_REACH_KEPT;
                }
                let rate = spec.engagement_rate * rate_luck.sqrt() * boost.sqrt();
                let lifetime = lifetime_metrics(spec.platform, reach, rate, &mut rng);
                let id = post_id(spec.platform, &mut rng);
                let text = texts[rng.gen_range(0..texts.len())].to_string();
                let campaign = campaigns
                    .iter()
                    .find(|c| (today - day).num_days() < c.days as i64 && rng.gen::<f64>() < 0.3);
                let media_type = match spec.platform {
                    Platform::Tiktok => MediaType::Video,
                    Platform::Instagram => {
                        [MediaType::Image, MediaType::Video, MediaType::Carousel]
                            [rng.gen_range(0..3)]
                    }
                    Platform::Linkedin => {
                        [MediaType::Text, MediaType::Image, MediaType::Link][rng.gen_range(0..3)]
                    }
                    Platform::Reddit => {
                        [MediaType::Text, MediaType::Image, MediaType::Link][rng.gen_range(0..3)]
                    }
                    _ => [MediaType::Text, MediaType::Image, MediaType::Video][rng.gen_range(0..3)],
                };
                let post = PostInfo {
                    external_id: id.clone(),
                    published_at: Some(published),
                    hashtags: hashtags_in(&text),
                    text: Some(text),
                    media_type: Some(media_type),
                    paid: Some(campaign.is_some()),
                    campaign: campaign.map(|c| c.name.to_string()),
                    category: None,
                };
                if boost > 1.0 {
                    viral_done = true;
                    viral_posts.push(ViralPost {
                        platform: spec.platform,
                        handle: spec.handle.to_string(),
                        post_id: id,
                        published: day,
                        boost: (boost * 10.0).round() / 10.0,
                    });
                }
                // Hourly for two days, then once a day (at 23:00) for two weeks.
                let hourly = (1..=48).map(|h| published + Duration::hours(h));
                let daily = (2..=14).filter_map(|d| {
                    let day = published.date_naive() + Days::new(d);
                    day.and_hms_opt(23, 0, 0).map(|t| Utc.from_utc_datetime(&t))
                });
                for observed in hourly.chain(daily).take_while(|t| *t <= plan.now) {
                    let hours = (observed - published).num_minutes() as f64 / 60.0;
                    records.push(Record::Post(PostSnapshot {
                        account: account.clone(),
                        post: post.clone(),
                        observed_at: observed,
                        metrics: scaled(&lifetime, growth(hours, spec.tau_hours)),
                    }));
                }
            }
            day = day + Days::new(1);
        }
    }

    for (ci, c) in CAMPAIGNS.iter().enumerate() {
        let spec = &ACCOUNTS[c.account];
        let start = today - Days::new(c.days - 1);
        let mut day = start.max(first);
        while day < today {
            let jitter = |rng: &mut ChaCha8Rng| rng.gen_range(0.85..1.15);
            let spend = c.spend
                * jitter(&mut rng)
                * if day.weekday().number_from_monday() >= 6 {
                    0.8
                } else {
                    1.0
                };
            let impressions = spend / c.cpm * 1000.0 * jitter(&mut rng);
            let clicks = impressions * c.ctr * jitter(&mut rng);
            let lead_rate = if ci == COSTLY_CAMPAIGN {
                c.lead_rate * 0.6
            } else {
                c.lead_rate
            };
            // Leads stay within a tenth of what the clicks and the lead rate give: a
            // campaign's cost per lead then moves by luck far less than the detectors' margin,
            // so the one they flag is the one planted (real campaigns get the noise check).
            let leads = (clicks * lead_rate * rng.gen_range(0.9..1.1)).round() as u64;
            let conversions = bernoulli_count(leads, c.conversion_rate, &mut rng);
            let revenue = conversions as f64 * c.order_value * jitter(&mut rng);
            records.push(Record::Funnel(FunnelDay {
                platform: spec.platform,
                campaign: c.name.to_string(),
                day,
                account: Some(account_info(spec)),
                brand: Some(c.brand.to_string()),
                impressions: count(impressions),
                clicks: count(clicks),
                leads: Count::new(leads).ok(),
                conversions: Count::new(conversions).ok(),
                revenue: Some(Money::from_cents((revenue * 100.0).round() as i64)),
                spend: Some(Money::from_cents((spend * 100.0).round() as i64)),
            }));
            day = day + Days::new(1);
        }
    }

    let drop_spec = &ACCOUNTS[DROP_ACCOUNT];
    DemoData {
        records,
        viral_posts,
        drop: PlantedDrop {
            platform: drop_spec.platform,
            handle: drop_spec.handle.to_string(),
            from: drop_from,
            reach_lost: 1.0 - DROP_REACH_KEPT,
        },
        costly_campaign: CAMPAIGNS[COSTLY_CAMPAIGN].name.to_string(),
    }
}

/// The start of the current hour: demo data generated twice in one hour is identical.
pub fn demo_now(now: DateTime<Utc>) -> DateTime<Utc> {
    now.with_minute(0)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .unwrap_or(now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> DemoPlan {
        DemoPlan {
            seed: 7,
            now: Utc.with_ymd_and_hms(2026, 11, 24, 15, 0, 0).unwrap(),
            days: 90,
        }
    }

    fn posts(data: &DemoData) -> impl Iterator<Item = &PostSnapshot> {
        data.records.iter().filter_map(|r| match r {
            Record::Post(p) => Some(p),
            _ => None,
        })
    }

    #[test]
    fn every_run_of_seven_days_holds_the_same_number_of_posts() {
        let start = NaiveDate::from_ymd_opt(2026, 3, 4).unwrap();
        for (per_day, weekly) in [
            (0.2, 1),
            (0.25, 2),
            (0.4, 3),
            (0.9, 6),
            (1.6, 11),
            (3.0, 21),
        ] {
            for from in 0..7 {
                let n: u32 = (0..7)
                    .map(|i| posts_on(per_day, start + Days::new(from + i)))
                    .sum();
                assert_eq!(n, weekly, "{per_day} a day from day {from}");
            }
        }
    }

    #[test]
    fn same_seed_same_data_other_seed_other_data() {
        let a = generate(&plan());
        let b = generate(&plan());
        assert_eq!(a.records, b.records);
        let c = generate(&DemoPlan { seed: 8, ..plan() });
        assert_ne!(a.records, c.records);
    }

    #[test]
    fn shape_of_the_data() {
        let data = generate(&plan());
        let p = plan();
        let first = p.now.date_naive() - Days::new(89);
        let mut platforms = std::collections::BTreeSet::new();
        let mut accounts = std::collections::BTreeSet::new();
        for s in posts(&data) {
            assert!(s.observed_at <= p.now, "no snapshot from the future");
            let published = s.post.published_at.unwrap();
            assert!(published.date_naive() >= first);
            assert!(s.observed_at > published);
            platforms.insert(s.account.key.platform);
            accounts.insert(s.account.key.external_id.clone());
        }
        assert_eq!(platforms.len(), 5);
        assert_eq!(accounts.len(), 10);
        assert!(data.viral_posts.len() >= 3);
        assert!(data.records.iter().any(|r| matches!(r, Record::Funnel(_))));
    }

    #[test]
    fn platforms_only_report_their_own_fields() {
        let data = generate(&plan());
        for s in posts(&data) {
            let m = &s.metrics;
            match s.account.key.platform {
                Platform::Instagram => {
                    assert!(m.impressions.is_none() && m.clicks.is_none() && m.views.is_some())
                }
                Platform::Tiktok => {
                    assert!(m.impressions.is_none() && m.reach.is_none() && m.saves.is_none())
                }
                Platform::Reddit => {
                    assert!(m.impressions.is_none() && m.views.is_none() && m.reach.is_none())
                }
                Platform::X => assert!(m.reach.is_none() && m.views.is_none()),
                Platform::Linkedin => assert!(m.views.is_none() && m.saves.is_none()),
                Platform::Facebook => unreachable!(),
            }
        }
    }

    #[test]
    fn snapshots_are_cumulative_and_flatten() {
        let data = generate(&plan());
        let mut by_post: std::collections::HashMap<&str, Vec<&PostSnapshot>> = Default::default();
        for s in posts(&data) {
            by_post.entry(&s.post.external_id).or_default().push(s);
        }
        let mut checked = 0;
        for snaps in by_post.values().filter(|s| s.len() >= 40) {
            let likes: Vec<u64> = snaps
                .iter()
                .map(|s| s.metrics.likes.map_or(0, |c| c.get()))
                .collect();
            assert!(likes.windows(2).all(|w| w[0] <= w[1]), "never decreasing");
            let last = *likes.last().unwrap() as f64;
            if last > 200.0 {
                // Most of a post's likes arrive in its first day.
                assert!(likes[23] as f64 > 0.5 * last, "{likes:?}");
                checked += 1;
            }
        }
        assert!(checked > 10);
    }

    #[test]
    fn the_drop_is_visible_in_reach() {
        let data = generate(&plan());
        let drop = &data.drop;
        let mut before = Vec::new();
        let mut during = Vec::new();
        for s in posts(&data).filter(|s| {
            s.account.handle.as_deref() == Some(drop.handle.as_str())
                && s.account.key.platform == drop.platform
        }) {
            let day = s.post.published_at.unwrap().date_naive();
            let hours = (s.observed_at - s.post.published_at.unwrap()).num_hours();
            if hours == 24 {
                let reach = s.metrics.reach.unwrap().get() as f64;
                if day >= drop.from {
                    during.push(reach)
                } else if day >= drop.from - Days::new(28) {
                    before.push(reach)
                }
            }
        }
        let median = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[v.len() / 2]
        };
        assert!(!during.is_empty() && !before.is_empty());
        let (during, before) = (median(&mut during), median(&mut before));
        assert!(during < 0.7 * before, "{during} vs {before}");
    }
}

/// The demo's A/B tests: one randomized test watched day by day until the engine concluded it,
/// and one observational content test still running.
pub mod tests_demo {
    use chrono::{DateTime, Days, Duration, Utc};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Binomial, Distribution};

    use super::{DemoData, DemoPlan};
    use crate::domain::{MediaType, Platform, Record};
    use crate::experiments::design::{DesignInput, GuardrailSpec, Kind, MetricType, VariantSpec};
    use crate::experiments::{self as exp, ExperimentError};
    use crate::store::{Observation, Store};

    /// The demo's author in the audit trail; `vibe demo` replaces what it wrote.
    pub const DEMO_ACTOR: &str = "demo";

    /// Days the randomized test has been running.
    const RANDOMIZED_DAYS: u64 = 12;
    const IMPRESSIONS_PER_ARM_PER_DAY: u64 = 20_000;

    fn randomized_design(start: DateTime<Utc>) -> DesignInput {
        DesignInput {
            name: "Emoji in the ad headline".into(),
            hypothesis: Some("An emoji in the first words of the headline makes the ad stand out and lifts clicks".into()),
            kind: Kind::Randomized,
            metric_type: MetricType::Proportion,
            target_metric: "click-through rate".into(),
            variants: vec![VariantSpec::named("plain headline"), VariantSpec::named("emoji headline")],
            baseline: 0.012,
            baseline_sd: None,
            mde: 0.15,
            min_effect: Some(0.05),
            alpha: 0.05,
            power: 0.8,
            daily_traffic: Some(2.0 * IMPRESSIONS_PER_ARM_PER_DAY as f64),
            higher_is_better: true,
            guardrails: vec![GuardrailSpec {
                name: "hide rate".into(),
                metric_type: MetricType::Proportion,
                higher_is_better: false,
            }],
            start_at: Some(start),
            created_by: DEMO_ACTOR.into(),
            channel_id: None,
        }
    }

    /// One day's observations of the randomized test: the emoji headline clicks about 20% more.
    fn day_observations(day: u64, rng: &mut ChaCha8Rng) -> Vec<Observation> {
        let n = IMPRESSIONS_PER_ARM_PER_DAY;
        let mut out = Vec::new();
        for (variant, ctr, hide) in [
            ("plain headline", 0.0120, 0.0030),
            ("emoji headline", 0.0144, 0.0031),
        ] {
            let draw = |p: f64, rng: &mut ChaCha8Rng| {
                Binomial::new(n, p).map(|b| b.sample(rng)).unwrap_or(0)
            };
            let clicks = draw(ctr, rng);
            let hides = draw(hide, rng);
            for (metric, conversions) in [("primary", clicks), ("hide rate", hides)] {
                out.push(Observation {
                    variant: variant.into(),
                    metric: metric.into(),
                    period: format!("day {}", day + 1),
                    units: n,
                    conversions: Some(conversions),
                    sum: None,
                    sum_sq: None,
                    exposure: None,
                });
            }
        }
        out
    }

    /// Creates the demo's tests, feeds the randomized one a day at a time through the same
    /// hourly check the bot runs, and returns their ids.
    pub async fn install(
        store: &Store,
        plan: &DemoPlan,
        data: &DemoData,
    ) -> Result<Vec<i64>, ExperimentError> {
        let mut rng = ChaCha8Rng::seed_from_u64(plan.seed ^ 0xab);
        let start = plan.now - Duration::days(RANDOMIZED_DAYS as i64);
        let randomized =
            exp::create(store, randomized_design(start), start - Duration::days(1)).await?;
        exp::check(store, start).await?;
        for day in 0..RANDOMIZED_DAYS {
            let e = exp::load(store, randomized.id).await?;
            if e.status != crate::experiments::design::Status::Running {
                break;
            }
            store
                .add_observations(&e, &day_observations(day, &mut rng))
                .await?;
            exp::check(store, start + Duration::days(day as i64 + 1)).await?;
        }

        // The content test compares video with image posts on one Instagram account; posts
        // are not assigned at random, so it is observational.
        let handle = "northwind.coffee";
        let since = plan.now.date_naive() - Days::new(30);
        let content = exp::create(
            store,
            DesignInput {
                name: "Video vs image posts".into(),
                hypothesis: Some(
                    "Short videos engage our Instagram audience more than photos".into(),
                ),
                kind: Kind::Content,
                metric_type: MetricType::Mean,
                target_metric: "engagement rate".into(),
                variants: vec![
                    VariantSpec {
                        media_type: Some(MediaType::Image),
                        ..VariantSpec::named("image")
                    },
                    VariantSpec {
                        media_type: Some(MediaType::Video),
                        ..VariantSpec::named("video")
                    },
                ],
                baseline: 0.045,
                baseline_sd: Some(0.02),
                mde: 0.25,
                min_effect: Some(0.1),
                alpha: 0.05,
                power: 0.8,
                daily_traffic: Some(0.6),
                higher_is_better: true,
                guardrails: vec![],
                start_at: None,
                created_by: DEMO_ACTOR.into(),
                channel_id: None,
            },
            plan.now - Duration::days(31),
        )
        .await?;
        exp::start(
            store,
            content.id,
            DEMO_ACTOR,
            plan.now - Duration::days(30),
            None,
        )
        .await?;
        let mut linked = std::collections::BTreeSet::new();
        for r in &data.records {
            let Record::Post(p) = r else { continue };
            let recent = p.post.published_at.is_some_and(|t| t.date_naive() >= since);
            if p.account.key.platform != Platform::Instagram
                || p.account.handle.as_deref() != Some(handle)
                || !recent
            {
                continue;
            }
            let variant = match p.post.media_type {
                Some(MediaType::Image) => "image",
                Some(MediaType::Video) => "video",
                _ => continue,
            };
            if linked.insert(p.post.external_id.clone()) {
                store
                    .link_variant_post(&content, variant, &p.post.external_id)
                    .await?;
            }
        }
        exp::check(store, plan.now).await?;
        Ok(vec![randomized.id, content.id])
    }
}
