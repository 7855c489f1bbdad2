//! The platform-neutral metric model: accounts, posts, cumulative snapshots and funnel days.
//!
//! Values are parsed at the edge into these types, so the rest of vibe can't hold a negative
//! count or an unknown platform. A metric a platform doesn't report, or a cell left empty, is
//! `None`: missing is never zero (DESIGN.md §5).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// The networks vibe understands. Facebook exists for imported Insights data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    X,
    Instagram,
    Tiktok,
    Linkedin,
    Reddit,
    Facebook,
}

impl Platform {
    pub const ALL: [Platform; 6] = [
        Platform::X,
        Platform::Instagram,
        Platform::Tiktok,
        Platform::Linkedin,
        Platform::Reddit,
        Platform::Facebook,
    ];

    /// The identifier stored in the database and written in files.
    pub fn as_str(self) -> &'static str {
        match self {
            Platform::X => "x",
            Platform::Instagram => "instagram",
            Platform::Tiktok => "tiktok",
            Platform::Linkedin => "linkedin",
            Platform::Reddit => "reddit",
            Platform::Facebook => "facebook",
        }
    }

    /// The name people use in reports.
    pub fn display_name(self) -> &'static str {
        match self {
            Platform::X => "X",
            Platform::Instagram => "Instagram",
            Platform::Tiktok => "TikTok",
            Platform::Linkedin => "LinkedIn",
            Platform::Reddit => "Reddit",
            Platform::Facebook => "Facebook",
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown platform {0:?}: expected one of x, instagram, tiktok, linkedin, reddit, facebook")]
pub struct UnknownPlatform(pub String);

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x" | "twitter" => Ok(Platform::X),
            "instagram" | "ig" => Ok(Platform::Instagram),
            "tiktok" => Ok(Platform::Tiktok),
            "linkedin" => Ok(Platform::Linkedin),
            "reddit" => Ok(Platform::Reddit),
            "facebook" | "fb" => Ok(Platform::Facebook),
            _ => Err(UnknownPlatform(s.to_string())),
        }
    }
}

/// A non-negative counter (impressions, likes, followers, …) as a platform reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Count(u64);

/// The largest count accepted: a trillion, far above anything a platform reports for one
/// post or account, and small enough that sums over millions of posts and years of days stay
/// far from the store's signed 64-bit limit.
pub const MAX_COUNT: u64 = 1_000_000_000_000;

/// The years a date vibe accepts may fall in (a snapshot, a funnel day, a report's range):
/// wide enough for any real history and plan, narrow enough that no arithmetic on dates can
/// overflow or build a table of millennia.
pub const YEARS: std::ops::RangeInclusive<i32> = 1990..=2200;

/// Whether `day` is within [`YEARS`]; the message to show when it isn't.
pub fn check_day(day: chrono::NaiveDate) -> Result<chrono::NaiveDate, String> {
    use chrono::Datelike;
    if YEARS.contains(&day.year()) {
        Ok(day)
    } else {
        Err(format!(
            "{day} is out of range: dates run from {}-01-01 to {}-12-31",
            YEARS.start(),
            YEARS.end()
        ))
    }
}

/// The largest amount accepted, in minor units: ten trillion (a hundred billion in major
/// units), for the same reason.
pub const MAX_MONEY_CENTS: i64 = 10_000_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CountError {
    #[error("{0:?} is not a whole number")]
    NotANumber(String),
    #[error("{0} is negative; counts can't be")]
    Negative(String),
    #[error("{0} is larger than any platform reports (the limit is 1,000,000,000,000)")]
    TooLarge(String),
}

impl Count {
    pub fn new(value: u64) -> Result<Self, CountError> {
        if value > MAX_COUNT {
            return Err(CountError::TooLarge(value.to_string()));
        }
        Ok(Count(value))
    }

    /// Parses a count as written in a file: digits, optionally with a `.0` a spreadsheet added.
    pub fn parse(s: &str) -> Result<Self, CountError> {
        let t = s.trim();
        if let Some(rest) = t.strip_prefix('-') {
            if !rest.is_empty()
                && rest
                    .trim_end_matches(".0")
                    .bytes()
                    .all(|b| b.is_ascii_digit())
            {
                return Err(CountError::Negative(t.to_string()));
            }
            return Err(CountError::NotANumber(t.to_string()));
        }
        let digits = t.strip_suffix(".0").unwrap_or(t);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(CountError::NotANumber(t.to_string()));
        }
        let v: u64 = digits
            .parse()
            .map_err(|_| CountError::TooLarge(t.to_string()))?;
        Count::new(v)
    }

    pub fn get(self) -> u64 {
        self.0
    }

    /// The value as the store's signed column type; [`Count::new`] guarantees it fits.
    pub fn as_i64(self) -> i64 {
        self.0 as i64
    }

    /// Reads a stored value back; negative values can't be written, so they read as `None`.
    pub fn from_i64(v: i64) -> Option<Self> {
        u64::try_from(v).ok().map(Count)
    }
}

/// An amount of money in minor units (cents) of the brand's currency.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Money(i64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("{0:?} is not an amount (write it like 1234.56)")]
    NotAnAmount(String),
    #[error("{0} is negative; spend and revenue can't be")]
    Negative(String),
    #[error("{0} has more than two decimals")]
    TooPrecise(String),
    #[error("{0} is too large (the limit is 100,000,000,000.00)")]
    TooLarge(String),
}

impl Money {
    pub fn from_cents(cents: i64) -> Self {
        Money(cents)
    }

    /// Parses a non-negative amount like `1234.5`, `1234.56` or `1234`, exactly (no floats).
    pub fn parse(s: &str) -> Result<Self, MoneyError> {
        let t = s.trim();
        if t.starts_with('-') {
            return Err(MoneyError::Negative(t.to_string()));
        }
        let (whole, frac) = match t.split_once('.') {
            Some((w, f)) => (w, f),
            None => (t, ""),
        };
        let digits = |x: &str| x.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) {
            return Err(MoneyError::NotAnAmount(t.to_string()));
        }
        let frac = frac.trim_end_matches('0');
        if frac.len() > 2 {
            return Err(MoneyError::TooPrecise(t.to_string()));
        }
        let cents_part: i64 = format!("{frac:0<2}")
            .parse()
            .map_err(|_| MoneyError::NotAnAmount(t.to_string()))?;
        let whole: i64 = whole
            .parse()
            .map_err(|_| MoneyError::TooLarge(t.to_string()))?;
        whole
            .checked_mul(100)
            .and_then(|c| c.checked_add(cents_part))
            .filter(|c| *c <= MAX_MONEY_CENTS)
            .map(Money)
            .ok_or_else(|| MoneyError::TooLarge(t.to_string()))
    }

    /// As [`Money::parse`], but an amount with more decimals than cents is rounded to the cent
    /// (half up) instead of refused; the flag says whether it was.
    pub fn parse_rounding(s: &str) -> Result<(Self, bool), MoneyError> {
        match Money::parse(s) {
            Err(MoneyError::TooPrecise(t)) => {
                let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
                let cents = &frac[..2];
                let up = frac.as_bytes().get(2).is_some_and(|d| *d >= b'5');
                let exact = Money::parse(&format!("{whole}.{cents}"))?;
                let cents = exact.0 + i64::from(up);
                if cents > MAX_MONEY_CENTS {
                    return Err(MoneyError::TooLarge(t));
                }
                Ok((Money(cents), true))
            }
            other => other.map(|m| (m, false)),
        }
    }

    pub fn cents(self) -> i64 {
        self.0
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.0 < 0 { "-" } else { "" };
        let abs = self.0.unsigned_abs();
        write!(f, "{sign}{}.{:02}", abs / 100, abs % 100)
    }
}

/// The counters a post snapshot can carry. Each is cumulative (lifetime) at the snapshot's
/// observation time; `None` means the platform didn't report it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostMetrics {
    pub impressions: Option<Count>,
    pub reach: Option<Count>,
    pub views: Option<Count>,
    pub likes: Option<Count>,
    pub comments: Option<Count>,
    pub shares: Option<Count>,
    pub saves: Option<Count>,
    pub clicks: Option<Count>,
}

/// Names of the [`PostMetrics`] fields, in storage order.
pub const POST_METRIC_NAMES: [&str; 8] = [
    "impressions",
    "reach",
    "views",
    "likes",
    "comments",
    "shares",
    "saves",
    "clicks",
];

impl PostMetrics {
    /// The fields in [`POST_METRIC_NAMES`] order.
    pub fn to_array(&self) -> [Option<Count>; 8] {
        [
            self.impressions,
            self.reach,
            self.views,
            self.likes,
            self.comments,
            self.shares,
            self.saves,
            self.clicks,
        ]
    }

    pub fn from_array(a: [Option<Count>; 8]) -> Self {
        PostMetrics {
            impressions: a[0],
            reach: a[1],
            views: a[2],
            likes: a[3],
            comments: a[4],
            shares: a[5],
            saves: a[6],
            clicks: a[7],
        }
    }

    /// Sets a field by its name in [`POST_METRIC_NAMES`]; returns false for an unknown name.
    pub fn set(&mut self, name: &str, value: Option<Count>) -> bool {
        let Some(i) = POST_METRIC_NAMES.iter().position(|n| *n == name) else {
            return false;
        };
        let mut a = self.to_array();
        a[i] = value;
        *self = PostMetrics::from_array(a);
        true
    }
}

/// Which count an engagement rate is divided by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateBase {
    Reach,
    Impressions,
    Views,
    Followers,
}

impl PostMetrics {
    /// Likes + comments + shares + saves, over the ones the platform reports; `None` when it
    /// reports none of them (DESIGN.md §5; clicks are kept apart as their own KPI).
    pub fn engagements(&self) -> Option<u64> {
        let parts = [self.likes, self.comments, self.shares, self.saves];
        if parts.iter().all(Option::is_none) {
            return None;
        }
        Some(parts.iter().flatten().map(|c| c.get()).sum())
    }

    /// Engagements per person reached, falling back to impressions, then views (Instagram now
    /// reports views, TikTok only views). `None` without engagements or a positive base.
    pub fn engagement_rate(&self) -> Option<(f64, RateBase)> {
        let e = self.engagements()? as f64;
        [
            (self.reach, RateBase::Reach),
            (self.impressions, RateBase::Impressions),
            (self.views, RateBase::Views),
        ]
        .into_iter()
        .find_map(|(base, which)| {
            base.filter(|b| b.get() > 0)
                .map(|b| (e / b.get() as f64, which))
        })
    }
}

/// The kind of media a post carries, as platforms name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaType {
    Text,
    Image,
    Video,
    Carousel,
    Link,
}

impl MediaType {
    pub fn as_str(self) -> &'static str {
        match self {
            MediaType::Text => "text",
            MediaType::Image => "image",
            MediaType::Video => "video",
            MediaType::Carousel => "carousel",
            MediaType::Link => "link",
        }
    }
}

impl FromStr for MediaType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" | "status" => Ok(MediaType::Text),
            "image" | "photo" => Ok(MediaType::Image),
            "video" | "reel" | "reels" => Ok(MediaType::Video),
            "carousel" | "album" | "carousel_album" => Ok(MediaType::Carousel),
            "link" => Ok(MediaType::Link),
            _ => Err(format!(
                "unknown media type {s:?}: expected text, image, video, carousel or link"
            )),
        }
    }
}

/// Identifies an account: its platform and the platform's own id or handle.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AccountKey {
    pub platform: Platform,
    pub external_id: String,
}

/// Descriptive facts about an account that arrive with its data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountInfo {
    pub key: AccountKey,
    pub handle: Option<String>,
    pub brand: Option<String>,
}

/// Descriptive facts about a post. Optional facts missing from one row don't erase what an
/// earlier row said.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PostInfo {
    pub external_id: String,
    pub published_at: Option<DateTime<Utc>>,
    pub text: Option<String>,
    pub hashtags: Vec<String>,
    pub media_type: Option<MediaType>,
    pub paid: Option<bool>,
    pub campaign: Option<String>,
    pub category: Option<String>,
}

/// One observation of a post's cumulative counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostSnapshot {
    pub account: AccountInfo,
    pub post: PostInfo,
    pub observed_at: DateTime<Utc>,
    pub metrics: PostMetrics,
}

/// One observation of an account's follower count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountSnapshot {
    pub account: AccountInfo,
    pub observed_at: DateTime<Utc>,
    pub followers: Option<Count>,
}

/// A campaign's paid-funnel figures for one day (not cumulative: that day's own numbers).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunnelDay {
    pub platform: Platform,
    pub campaign: String,
    pub day: NaiveDate,
    pub account: Option<AccountInfo>,
    pub brand: Option<String>,
    pub impressions: Option<Count>,
    pub clicks: Option<Count>,
    pub leads: Option<Count>,
    pub conversions: Option<Count>,
    pub revenue: Option<Money>,
    pub spend: Option<Money>,
}

/// Anything an import or the demo hands to the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    Post(PostSnapshot),
    Account(AccountSnapshot),
    Funnel(FunnelDay),
}

/// Pulls `#tags` out of a post's text, lowercased, in order of first appearance.
pub fn hashtags_in(text: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    for word in text.split(|c: char| c.is_whitespace()) {
        let Some(rest) = word.strip_prefix('#') else {
            continue;
        };
        let tag: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<String>()
            .to_lowercase();
        if !tag.is_empty() && !tags.contains(&tag) {
            tags.push(tag);
        }
    }
    tags
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_parse() {
        let cases: &[(&str, Result<u64, CountError>)] = &[
            ("0", Ok(0)),
            ("42", Ok(42)),
            (" 7 ", Ok(7)),
            ("12.0", Ok(12)),
            ("1000000000000", Ok(MAX_COUNT)),
            (
                "1000000000001",
                Err(CountError::TooLarge("1000000000001".into())),
            ),
            (
                "9223372036854775807",
                Err(CountError::TooLarge("9223372036854775807".into())),
            ),
            (
                "99999999999999999999999",
                Err(CountError::TooLarge("99999999999999999999999".into())),
            ),
            ("-3", Err(CountError::Negative("-3".into()))),
            ("-", Err(CountError::NotANumber("-".into()))),
            ("abc", Err(CountError::NotANumber("abc".into()))),
            ("1.5", Err(CountError::NotANumber("1.5".into()))),
            ("1e3", Err(CountError::NotANumber("1e3".into()))),
            ("", Err(CountError::NotANumber("".into()))),
        ];
        for (input, want) in cases {
            assert_eq!(
                Count::parse(input).map(Count::get),
                *want,
                "input {input:?}"
            );
        }
    }

    #[test]
    fn money_with_too_many_decimals_is_rounded_to_the_cent() {
        for (s, want) in [
            ("12.345", Some((1235, true))),
            ("12.344", Some((1234, true))),
            ("0.005", Some((1, true))),
            ("0.0049", Some((0, true))),
            ("99.999", Some((10000, true))),
            ("12.34", Some((1234, false))),
            ("12", Some((1200, false))),
            ("12.3400", Some((1234, false))),
            ("-1.234", None),
            ("1.2.3", None),
            ("100000000000.009", None),
        ] {
            let got = Money::parse_rounding(s).ok().map(|(m, r)| (m.cents(), r));
            assert_eq!(got, want, "{s}");
        }
    }

    #[test]
    fn money_parse_and_display() {
        let cases: &[(&str, Result<i64, MoneyError>)] = &[
            ("0", Ok(0)),
            ("12", Ok(1200)),
            ("12.5", Ok(1250)),
            ("12.50", Ok(1250)),
            ("12.500", Ok(1250)),
            ("0.07", Ok(7)),
            ("12.345", Err(MoneyError::TooPrecise("12.345".into()))),
            ("-1", Err(MoneyError::Negative("-1".into()))),
            ("$5", Err(MoneyError::NotAnAmount("$5".into()))),
            (".5", Err(MoneyError::NotAnAmount(".5".into()))),
            ("100000000000", Ok(MAX_MONEY_CENTS)),
            (
                "100000000000.01",
                Err(MoneyError::TooLarge("100000000000.01".into())),
            ),
            (
                "92233720368547758.07",
                Err(MoneyError::TooLarge("92233720368547758.07".into())),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(
                Money::parse(input).map(Money::cents),
                *want,
                "input {input:?}"
            );
        }
        assert_eq!(Money::from_cents(123456).to_string(), "1234.56");
        assert_eq!(Money::from_cents(-5).to_string(), "-0.05");
    }

    #[test]
    fn platform_names_round_trip() {
        for p in Platform::ALL {
            assert_eq!(p.as_str().parse::<Platform>(), Ok(p));
        }
        assert_eq!("Twitter".parse::<Platform>(), Ok(Platform::X));
        assert!("myspace".parse::<Platform>().is_err());
    }

    #[test]
    fn hashtags_are_extracted_once_lowercased() {
        let cases: &[(&str, &[&str])] = &[
            (
                "New roast! #Coffee #coffee #morning_ritual.",
                &["coffee", "morning_ritual"],
            ),
            ("no tags here", &[]),
            ("# alone and #", &[]),
            ("#café au lait", &["café"]),
        ];
        for (text, want) in cases {
            assert_eq!(hashtags_in(text), *want, "text {text:?}");
        }
    }

    #[test]
    fn engagement_rate_falls_back_from_reach_to_impressions_to_views() {
        let c = |v: u64| Some(Count(v));
        let cases: &[(PostMetrics, Option<(f64, RateBase)>)] = &[
            (
                PostMetrics {
                    likes: c(8),
                    comments: c(2),
                    reach: c(100),
                    impressions: c(400),
                    ..Default::default()
                },
                Some((0.1, RateBase::Reach)),
            ),
            (
                PostMetrics {
                    likes: c(8),
                    impressions: c(400),
                    ..Default::default()
                },
                Some((0.02, RateBase::Impressions)),
            ),
            (
                PostMetrics {
                    likes: c(8),
                    reach: c(0),
                    views: c(80),
                    ..Default::default()
                },
                Some((0.1, RateBase::Views)),
            ),
            (
                PostMetrics {
                    likes: c(8),
                    ..Default::default()
                },
                None,
            ),
            (
                PostMetrics {
                    reach: c(100),
                    ..Default::default()
                },
                None,
            ),
        ];
        for (m, want) in cases {
            assert_eq!(m.engagement_rate(), *want, "{m:?}");
        }
    }

    #[test]
    fn post_metrics_set_by_name() {
        let mut m = PostMetrics::default();
        assert!(m.set("saves", Some(Count(3))));
        assert!(!m.set("retweets", Some(Count(1))));
        assert_eq!(m.saves, Some(Count(3)));
        assert_eq!(PostMetrics::from_array(m.to_array()), m);
    }
}
