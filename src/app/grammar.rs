//! The command grammar both adapters read: the terminal parses its arguments with it, Slack
//! parses the text after `/vibe` with it, and `/vibe help` is generated from it.

use std::path::PathBuf;

use chrono::{DateTime, NaiveDate, Utc};
use clap::{Parser, Subcommand};

use crate::analytics::report::PeriodKind;
use crate::domain::Platform;
use crate::experiments::design::{GuardrailSpec, MetricType, Status};
use crate::import::Format;

/// vibe: social-media analytics, A/B tests and optimization, in Slack.
///
/// Data lives in one database: an SQLite file by default (sqlite://vibe.db), or PostgreSQL
/// when DATABASE_URL (or VIBE_DATABASE__URL) is a postgres:// URL.
#[derive(Debug, Parser)]
#[command(name = "vibe", version, propagate_version = true)]
pub struct Cli {
    /// Settings file layered over the built-in defaults [default: config/local.toml if present]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Generate a realistic demo data set (no accounts or tokens needed) and summarise it.
    ///
    /// Two brands, an account on each of X, Instagram, TikTok, LinkedIn and Reddit, the last 90
    /// days: posts with hourly snapshots, follower growth, viral posts, a performance drop and
    /// paid campaigns. Running it again replaces the previous demo data.
    Demo {
        /// Add demo data even though the database holds other accounts.
        #[arg(long)]
        force: bool,
        /// Seed of the generator [default: demo.seed]
        #[arg(long)]
        seed: Option<u64>,
        /// Days of history, ending today [default: demo.days]
        #[arg(long)]
        days: Option<u32>,
        /// Where to write the HTML report with its charts.
        #[arg(long, default_value = "vibe-report.html", value_name = "FILE")]
        html: PathBuf,
    },
    /// Import metrics from CSV, JSON Lines or a Facebook Insights post export.
    ///
    /// The format is recognised from the file's header unless given. Re-importing a file changes
    /// nothing. By default a file with any invalid row is not imported at all; the errors name
    /// line and column.
    Import {
        /// Files to import, each in its own transaction.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// csv, jsonl or facebook [default: recognised from the content]
        #[arg(long, value_name = "FORMAT")]
        format: Option<Format>,
        /// Write the valid rows and list the invalid ones instead of importing nothing.
        #[arg(long)]
        skip_invalid: bool,
        /// Facebook export: the page's account id in vibe.
        #[arg(long, default_value = "facebook-page", value_name = "ID")]
        account: String,
        /// Facebook export: the brand the page belongs to.
        #[arg(long, value_name = "NAME")]
        brand: Option<String>,
        /// Facebook export: the year the file covers (it has months and weekdays only).
        #[arg(long, default_value_t = 2014)]
        year: i32,
    },
    /// A performance report: score, KPIs by platform with changes, top posts, funnel, alerts and
    /// recommendations, for the last full day, 7 days or 30 days (or --from/--to).
    Report {
        /// daily, weekly or monthly, and/or a platform (x, instagram, tiktok, linkedin, reddit,
        /// facebook), in either order: `report weekly instagram`.
        #[arg(num_args = 0..=2, value_name = "PERIOD|PLATFORM")]
        words: Vec<String>,
        /// The period, as an option.
        #[arg(long = "period", value_name = "PERIOD")]
        period_flag: Option<PeriodKind>,
        /// Only this brand's accounts.
        #[arg(long)]
        brand: Option<String>,
        /// First day (YYYY-MM-DD) of a custom range.
        #[arg(long, value_parser = parse_day)]
        from: Option<NaiveDate>,
        /// Last day (YYYY-MM-DD) of the range [default: yesterday, or the last day with data].
        #[arg(long, value_parser = parse_day)]
        to: Option<NaiveDate>,
        /// IANA time zone the days are counted in [default: report.timezone].
        #[arg(long)]
        tz: Option<String>,
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
        /// Write to this file instead of the terminal.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// List open alerts (performance drops, viral posts, low engagement, costly leads).
    Alerts {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Channel digests: the daily summary and the weekly deep dive, posted on a schedule.
    Schedule {
        #[command(subcommand)]
        command: ScheduleCommand,
    },
    /// Run one analysis cycle: detectors (raising and resolving alerts), the A/B test check,
    /// and the weekly report, stored; prints a summary.
    Analyze,
    /// Design, run and analyse A/B tests.
    ///
    /// Decisions come from an always-valid confidence sequence, so a test can be checked every
    /// hour without inflating false positives.
    Abtest {
        /// Output: text for people, json for scripts.
        #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        #[command(subcommand)]
        command: AbtestCommand,
    },
    /// Run the Slack bot: the endpoints Slack calls, the ingestion API, health checks, and the
    /// worker that delivers messages to channels.
    ///
    /// Needs SLACK_SIGNING_SECRET and SLACK_BOT_TOKEN from the Slack app (it starts without them
    /// and says what is missing). Stops cleanly on SIGTERM or Ctrl-C.
    Serve {
        /// Address and port to listen on [default: server.listen]
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<String>,
    },
    /// Run what `vibe serve` runs (Slack, the outbox, the scheduler) for a while, then stop
    /// cleanly, as on SIGTERM.
    Start {
        /// How long: hours (24), or with a unit (90s, 30m, 2h, 1d)
        #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
        duration: std::time::Duration,
        /// Address and port to listen on [default: server.listen]
        #[arg(long, value_name = "ADDR:PORT")]
        listen: Option<String>,
    },
    /// Check the database, migrations, outbox and Slack; exits 0 when everything that is
    /// configured is healthy.
    Health {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
        /// Only check that a running `vibe serve` answers on this address (its /healthz),
        /// as a container health check does: e.g. --live 127.0.0.1:3000.
        #[arg(long, value_name = "ADDR")]
        live: Option<std::net::SocketAddr>,
    },
    /// Manage the bearer tokens of the HTTP ingestion API.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The time zones whose local days the daily rollups keep (reports count days in them).
    Zones {
        #[command(subcommand)]
        command: ZonesCommand,
    },
    /// Apply database migrations (they also run at the start of every command).
    Migrate,
    /// Print the effective configuration, with secrets redacted.
    Config,
}

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Post a digest on a schedule, e.g. `add daily 09:00 #marketing Europe/Paris` or
    /// `add weekly fri 16:00`.
    Add {
        /// daily (score, headline changes, alerts, running tests) or weekly (the deep dive:
        /// trends, forecasts, funnel, test results, charts)
        #[arg(value_enum)]
        kind: super::schedule::DigestKind,
        /// In any order: the time (09:00, 9am), the day for weekly (mon), the channel and the
        /// time zone [default: 09:00, Mondays, this channel, your Slack time zone]
        #[arg(value_name = "WHEN")]
        words: Vec<String>,
        /// A crontab expression instead of a time and day, e.g. "0 9 * * 1-5" for weekdays at 09:00.
        #[arg(long, value_name = "EXPR")]
        cron: Option<String>,
    },
    /// List the digest schedules and when each runs next.
    List {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Stop a digest schedule.
    Remove { id: i64 },
}

#[derive(Debug, Subcommand)]
pub enum ZonesCommand {
    /// List the kept zones and what keeps each.
    List,
    /// Stop keeping a zone added by a report: its rollups are deleted (UTC, the configured
    /// zones and digest schedules' zones stay).
    Remove { zone: String },
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is shown once and stored only as a hash.
    Create {
        /// A name to tell it apart, e.g. the system that will use it.
        name: String,
        /// What it may do: metrics:write, observations:write [default: both]
        #[arg(long = "scope", value_name = "SCOPE")]
        scopes: Vec<String>,
    },
    /// List tokens (never their values).
    List {
        #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
        format: OutputFormat,
    },
    /// Revoke a token by name; requests with it are refused from then on.
    Revoke { name: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Text,
    Markdown,
    Json,
    /// A self-contained page with the charts embedded (use with -o).
    Html,
}

fn parse_day(s: &str) -> Result<NaiveDate, String> {
    let day = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date like 2026-03-01"))?;
    crate::domain::check_day(day)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum AbtestCommand {
    /// Design a test: validates it, runs the power analysis and stores it as a draft.
    ///
    /// Give the fields as flags (--name Hook --variant A --variant B --baseline 0.04 --mde 0.1)
    /// or as key=value words (name=Hook variants=A,B baseline=4% mde=10%), as in Slack.
    New(Box<NewTestArgs>),
    /// List tests, newest first.
    List {
        /// Only tests with this status: draft, running, stopped or concluded.
        #[arg(long)]
        status: Option<Status>,
    },
    /// Show a test's design, status and history.
    Show { id: i64 },
    /// Start a draft now, or at a later time with --at.
    Start {
        id: i64,
        /// When to start, e.g. 2026-12-01T09:00:00Z.
        #[arg(long, value_parser = parse_time)]
        at: Option<DateTime<Utc>>,
        /// Who starts it, for the audit trail.
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Stop a test by hand.
    Stop {
        id: i64,
        #[arg(long)]
        reason: Option<String>,
        #[arg(long, default_value = "cli")]
        by: String,
    },
    /// Analyse a test now: rates with intervals, lift, sequential status, SRM, Bayesian view, verdict.
    #[command(alias = "analyze")]
    Results {
        #[arg(required_unless_present = "all")]
        id: Option<i64>,
        /// Analyse every running test instead.
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
    /// Import a randomized test's observations (CSV or JSON Lines: variant, period, metric,
    /// units, conversions | sum, sum_sq | events, exposure).
    Import { id: i64, file: PathBuf },
    /// Link organic posts (by their platform id) to a content test's variant.
    Link {
        id: i64,
        #[arg(long)]
        variant: String,
        #[arg(required = true, value_name = "POST_ID")]
        posts: Vec<String>,
    },
    /// Run the management check once: start due tests, analyse running ones, conclude decided ones.
    Check {
        /// The time to check as of [default: now].
        #[arg(long, value_parser = parse_time)]
        now: Option<DateTime<Utc>>,
    },
    /// Size a test: units and days needed for an MDE, or the MDE for a number of units.
    Plan {
        #[arg(long, default_value = "proportion")]
        metric_type: MetricType,
        /// Baseline rate (0.04 or 4%), mean, or events per unit of exposure.
        #[arg(long, value_parser = number, allow_hyphen_values = true)]
        baseline: f64,
        /// Standard deviation of the baseline (mean metrics).
        #[arg(long, value_parser = number, allow_hyphen_values = true)]
        baseline_sd: Option<f64>,
        /// Relative minimum detectable effect (0.1 or 10%).
        #[arg(long, conflicts_with = "units", value_parser = number, allow_hyphen_values = true)]
        mde: Option<f64>,
        /// Units per arm, to get the MDE instead.
        #[arg(long)]
        units: Option<u64>,
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        #[arg(long, default_value_t = 0.8)]
        power: f64,
        /// Number of arms, the control included.
        #[arg(long, default_value_t = 2)]
        arms: usize,
        /// Expected units per day over all arms.
        #[arg(long)]
        daily_traffic: Option<f64>,
    },
    /// Analyse results measured elsewhere (fixed-horizon, two-sided). Control first:
    /// `calc 200/2000 250/2000` (conversions/units), `calc 15.2:4.1:1300 15.9:4.0:1290`
    /// (mean:sd:n), `calc 60@120 30@100` (events@exposure).
    Calc {
        #[arg(required = true, num_args = 2..=5, value_name = "ARM")]
        arms: Vec<String>,
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
    },
}

/// `abtest new`'s fields, as flags or as `key=value` words (the form `/vibe abtest new` takes
/// in Slack), or both. Values stay text here: [`crate::app::new_test`] reads both forms with
/// one function, so `--mde 10%` and `mde=10%` mean the same, and a mistake is named as typed.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct NewTestArgs {
    /// Fields as key=value, e.g. name="Question hook" metric=ctr variants=A,B baseline=4%
    /// mde=10% traffic=2000 (the keys are the flags' names; metric, type, traffic and sd are
    /// short for target-metric, metric-type, daily-traffic and baseline-sd).
    #[arg(value_name = "KEY=VALUE")]
    pub fields: Vec<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub name: Option<String>,
    #[arg(long, allow_hyphen_values = true)]
    pub hypothesis: Option<String>,
    /// randomized (units split at random) or content (organic posts; observational)
    /// [default: randomized]
    #[arg(long)]
    pub kind: Option<String>,
    /// proportion, mean or rate [default: proportion]
    #[arg(long)]
    pub metric_type: Option<String>,
    /// The metric that decides, e.g. "click-through rate".
    #[arg(long, allow_hyphen_values = true)]
    pub target_metric: Option<String>,
    /// A variant's name; repeat 2 to 5 times, the control first.
    #[arg(long = "variant", value_name = "NAME", allow_hyphen_values = true)]
    pub variants: Vec<String>,
    /// Allocation weights in variant order, e.g. 1,1 [default: equal]
    #[arg(long, allow_hyphen_values = true)]
    pub weights: Option<String>,
    /// Baseline rate (0.04 or 4%), mean, or events per unit of exposure.
    #[arg(long, allow_hyphen_values = true)]
    pub baseline: Option<String>,
    /// Standard deviation of the baseline (mean metrics).
    #[arg(long, allow_hyphen_values = true)]
    pub baseline_sd: Option<String>,
    /// Relative minimum detectable effect (0.1 or 10%).
    #[arg(long, allow_hyphen_values = true)]
    pub mde: Option<String>,
    /// Relative minimum effect worth shipping [default: half the MDE]
    #[arg(long, allow_hyphen_values = true)]
    pub min_effect: Option<String>,
    /// [default: 0.05]
    #[arg(long, allow_hyphen_values = true)]
    pub alpha: Option<String>,
    /// [default: 0.8]
    #[arg(long, allow_hyphen_values = true)]
    pub power: Option<String>,
    /// Expected units (or posts) per day over all arms, to plan the duration.
    #[arg(long, allow_hyphen_values = true)]
    pub daily_traffic: Option<String>,
    /// The metric improves when it goes down (e.g. cost per lead).
    #[arg(long)]
    pub lower_is_better: bool,
    /// A metric that must not get worse: NAME:TYPE[:lower], e.g. unsubscribes:proportion:lower
    #[arg(long = "guardrail", value_name = "GUARDRAIL")]
    pub guardrails: Vec<String>,
    /// Start automatically at this time, e.g. 2026-12-01T09:00:00Z.
    #[arg(long)]
    pub start_at: Option<String>,
    /// Who designed it, for the audit trail [default: cli; in Slack, always the person]
    #[arg(long)]
    pub by: Option<String>,
}

/// `--duration`: a bare number is hours; or a number with s, m, h or d.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let t = s.trim().to_lowercase();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => (&t[..i], &t[i..]),
        None => (t.as_str(), "h"),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a duration like 24, 90s, 30m or 2h"))?;
    let secs = match unit {
        "s" | "sec" | "secs" => n,
        "m" | "min" | "mins" => n * 60.0,
        "h" | "hour" | "hours" => n * 3600.0,
        "d" | "day" | "days" => n * 86400.0,
        _ => return Err(format!("{s:?}: the unit is s, m, h or d")),
    };
    if !(secs.is_finite() && secs > 0.0 && secs < 1e9) {
        return Err(format!("{s:?}: the duration must be positive"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    crate::import::parse_timestamp(s)
}

/// A number as people write it (`0.04`, `4%`, `1,200`), for the options that take one.
fn number(s: &str) -> Result<f64, String> {
    super::new_test::number(s).ok_or_else(|| format!("{s:?} isn't a number like 0.04 or 4%"))
}

pub fn parse_guardrail(s: &str) -> Result<GuardrailSpec, String> {
    let parts: Vec<&str> = s.split(':').collect();
    let (name, kind, lower) = match parts[..] {
        [n, k] => (n, k, false),
        [n, k, "lower"] => (n, k, true),
        [n, k, "higher"] => (n, k, false),
        _ => {
            return Err(format!(
                "{s:?}: write NAME:TYPE or NAME:TYPE:lower, e.g. unsubscribes:proportion:lower"
            ))
        }
    };
    Ok(GuardrailSpec {
        name: name.trim().to_string(),
        metric_type: kind
            .parse()
            .map_err(|e: crate::domain::UnknownWord| e.to_string())?,
        higher_is_better: !lower,
    })
}

/// Reads `report`'s words: a period and a platform in either order (the same grammar as
/// `/vibe report weekly instagram`).
pub fn period_and_platform(
    words: &[String],
    flag: Option<PeriodKind>,
) -> Result<(Option<PeriodKind>, Option<Platform>), String> {
    let (mut period, mut platform) = (flag, None);
    for w in words {
        if let Ok(p) = w.parse::<PeriodKind>() {
            if period.replace(p).is_some() {
                return Err(format!(
                    "two periods given ({w:?} and another); give one of daily, weekly, monthly"
                ));
            }
        } else if let Ok(p) = w.parse::<Platform>() {
            if platform.replace(p).is_some() {
                return Err(format!("two platforms given ({w:?} and another)"));
            }
        } else {
            return Err(format!(
                "{w:?} is neither a period (daily, weekly, monthly) nor a platform (x, instagram, tiktok, linkedin, reddit, facebook)"
            ));
        }
    }
    Ok((period, platform))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn report_words_in_either_order() {
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            period_and_platform(&w(&["weekly", "instagram"]), None),
            Ok((Some(PeriodKind::Weekly), Some(Platform::Instagram)))
        );
        assert_eq!(
            period_and_platform(&w(&["tiktok", "daily"]), None),
            Ok((Some(PeriodKind::Daily), Some(Platform::Tiktok)))
        );
        assert_eq!(
            period_and_platform(&w(&["x"]), Some(PeriodKind::Monthly)),
            Ok((Some(PeriodKind::Monthly), Some(Platform::X)))
        );
        assert!(period_and_platform(&w(&["weekly"]), Some(PeriodKind::Monthly)).is_err());
        assert!(period_and_platform(&w(&["yearly"]), None)
            .unwrap_err()
            .contains("neither a period"));
    }
}
