//! Channel digests on a schedule, for `vibe schedule …` and `/vibe schedule …`: the words after
//! `add daily|weekly` (time, day, channel and time zone in any order) to a crontab expression,
//! and the handlers, which return what happened as data for each adapter to show.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::{AppError, Workspace};
use crate::scheduler::CronSpec;
use crate::store::{DigestSchedule, NewSchedule, Store, StoreError};

pub use crate::scheduler::DigestKind;

/// What `schedule …` asks for, from either adapter.
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleRequest {
    Add {
        kind: DigestKind,
        words: Vec<String>,
        cron: Option<String>,
    },
    List,
    Remove {
        id: i64,
    },
}

/// Why the words after `add daily|weekly` don't make a schedule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WordsError {
    #[error("give one time, like 09:00")]
    TwoTimes,
    #[error("a daily digest runs every day; for one on {0} use `add weekly {0} …`")]
    DayForDaily(String),
    #[error("give one day; for several use --cron, e.g. --cron \"0 9 * * 1-5\"")]
    TwoDays,
    #[error("give one channel")]
    TwoChannels,
    #[error("{0:?} is not a channel")]
    NotAChannel(String),
    #[error("#{0} is not a channel name (lower-case letters, digits, - and _); give the channel's ID, like C0123ABCD")]
    NotAChannelName(String),
    #[error("give one time zone")]
    TwoZones,
    #[error("{0:?} is not a time (09:00), a day (mon), a channel (#marketing) or a time zone (Europe/Paris)")]
    Unknown(String),
    #[error("give either a time and day or --cron, not both")]
    Both,
    #[error(transparent)]
    Cron(#[from] crate::scheduler::cron::CronError),
}

/// Where a schedule command comes from: who, and in Slack the channel and the person's time
/// zone (from `users.info`).
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// `cli` or `slack:U…`.
    pub actor: String,
    pub channel: Option<String>,
    pub user_tz: Option<Tz>,
    /// Whether `--cron` may have a seconds field (the operator's `scheduler.seconds_field`, in
    /// the terminal only).
    pub seconds_field: bool,
}

/// A channel as named in the words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelRef {
    /// An ID, from a Slack mention (`<#C0123ABCD|name>`) or typed.
    Id(String),
    /// `#marketing`: a name, looked up in the workspace.
    Name(String),
}

/// A schedule and when it runs next.
#[derive(Debug, Clone, PartialEq)]
pub struct Scheduled {
    pub schedule: DigestSchedule,
    /// In words: "every day at 09:00", "Mondays at 08:15".
    pub described: String,
    pub next: Option<DateTime<Utc>>,
}

/// What a schedule command did.
#[derive(Debug, Clone, PartialEq)]
pub enum ScheduleAnswer {
    Added(Scheduled),
    /// The same digest is already scheduled; nothing was added.
    AlreadyScheduled(Scheduled),
    List(Vec<Scheduled>),
    Removed(Scheduled),
}

/// What the words after `add daily|weekly` say.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// The crontab expression.
    pub cron: String,
    pub channel: Option<ChannelRef>,
    pub tz: Option<Tz>,
}

/// `09:00`, `9:30`, `9am`, `9:30pm` as (hour, minute).
fn time_of_day(w: &str) -> Option<(u32, u32)> {
    let t = w.trim().to_lowercase();
    let (body, shift) = if let Some(b) = t.strip_suffix("am") {
        (b, Some(0))
    } else if let Some(b) = t.strip_suffix("pm") {
        (b, Some(12))
    } else {
        (t.as_str(), None)
    };
    let (h, m) = match body.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h.parse::<u32>().ok()?, m.parse::<u32>().ok()?),
        None if shift.is_some() => (body.parse::<u32>().ok()?, 0),
        _ => return None,
    };
    if body.is_empty() || m > 59 {
        return None;
    }
    let h = match shift {
        Some(add) if (1..=12).contains(&h) => h % 12 + add,
        Some(_) => return None,
        None if h <= 23 => h,
        None => return None,
    };
    Some((h, m))
}

/// A weekday by its short or full name (`mon`, `Monday`), nothing else.
fn weekday(w: &str) -> Option<usize> {
    crate::scheduler::cron::weekday_by_name(w).map(|d| d as usize)
}

/// Whether `w` looks like a channel ID (`C0123ABCD`, `G…` for old private channels).
fn is_channel_id(w: &str) -> bool {
    (9..=24).contains(&w.len())
        && matches!(w.as_bytes()[0], b'C' | b'G')
        && w.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

/// A channel as Slack sends a mention (`<#C0123ABCD|name>`), an ID, or `#name`.
fn channel(w: &str) -> Option<Result<ChannelRef, WordsError>> {
    if let Some(inner) = w.strip_prefix("<#").and_then(|r| r.strip_suffix('>')) {
        let id = inner.split('|').next().unwrap_or_default();
        return Some(if is_channel_id(id) {
            Ok(ChannelRef::Id(id.to_string()))
        } else {
            Err(WordsError::NotAChannel(w.into()))
        });
    }
    if let Some(name) = w.strip_prefix('#') {
        // Slack's channel names: lower-case letters, digits, - and _, at most 80.
        let valid = (1..=80).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        return Some(if valid {
            Ok(ChannelRef::Name(name.to_string()))
        } else {
            Err(WordsError::NotAChannelName(name.into()))
        });
    }
    is_channel_id(w).then(|| Ok(ChannelRef::Id(w.to_string())))
}

/// Reads the words after `add daily|weekly` (or takes `cron` as given).
pub fn placement(
    kind: DigestKind,
    words: &[String],
    cron: Option<&str>,
    seconds_field: bool,
) -> Result<Placement, WordsError> {
    let mut at: Option<(u32, u32)> = None;
    let mut day: Option<usize> = None;
    let mut place = Placement {
        cron: String::new(),
        channel: None,
        tz: None,
    };
    for w in words {
        if let Some(t) = time_of_day(w) {
            if at.replace(t).is_some() {
                return Err(WordsError::TwoTimes);
            }
        } else if let Some(d) = weekday(w) {
            if kind == DigestKind::Daily {
                return Err(WordsError::DayForDaily(w.clone()));
            }
            if day.replace(d).is_some() {
                return Err(WordsError::TwoDays);
            }
        } else if let Some(c) = channel(w) {
            if place.channel.replace(c?).is_some() {
                return Err(WordsError::TwoChannels);
            }
        } else if let Ok(tz) = w.parse::<Tz>() {
            if place.tz.replace(tz).is_some() {
                return Err(WordsError::TwoZones);
            }
        } else {
            return Err(WordsError::Unknown(w.clone()));
        }
    }
    place.cron = match cron {
        Some(expr) => {
            if at.is_some() || day.is_some() {
                return Err(WordsError::Both);
            }
            let spec = CronSpec::parse_with(expr, seconds_field)?;
            spec.expr
        }
        None => {
            let (h, m) = at.unwrap_or((9, 0));
            match kind {
                DigestKind::Daily => format!("{m} {h} * * *"),
                DigestKind::Weekly => format!("{m} {h} * * {}", day.unwrap_or(1)),
            }
        }
    };
    Ok(place)
}

/// A schedule's expression as a person would say it.
pub fn describe(cron: &str) -> String {
    let f: Vec<&str> = cron.split_whitespace().collect();
    match f[..] {
        [m, h, "*", "*", dow] if m.parse::<u32>().is_ok() && h.parse::<u32>().is_ok() => {
            let at = format!(
                "{:02}:{:02}",
                h.parse::<u32>().unwrap_or(0),
                m.parse::<u32>().unwrap_or(0)
            );
            match dow {
                "*" => format!("every day at {at}"),
                d => match d.parse::<usize>() {
                    Ok(n) if n <= 7 => {
                        let names = [
                            "Sundays",
                            "Mondays",
                            "Tuesdays",
                            "Wednesdays",
                            "Thursdays",
                            "Fridays",
                            "Saturdays",
                        ];
                        format!("{} at {at}", names[n % 7])
                    }
                    _ => format!("\"{cron}\""),
                },
            }
        }
        _ => format!("\"{cron}\""),
    }
}

/// Runs a schedule command. `workspace` looks up a channel given by name (`#marketing`).
pub async fn execute(
    store: &Store,
    default_tz: Tz,
    request: ScheduleRequest,
    origin: &Origin,
    workspace: Option<&dyn Workspace>,
    now: DateTime<Utc>,
) -> Result<ScheduleAnswer, AppError> {
    match request {
        ScheduleRequest::Add { kind, words, cron } => {
            let place = placement(kind, &words, cron.as_deref(), origin.seconds_field)
                .map_err(|e| AppError::Usage(e.to_string()))?;
            let channel = match place.channel {
                Some(ChannelRef::Id(id)) => id,
                Some(ChannelRef::Name(name)) => lookup_channel(workspace, &name).await?,
                None => origin.channel.clone().ok_or_else(|| {
                    AppError::Usage(
                        "name the channel to post to, e.g. `vibe schedule add daily 09:00 C0123ABCD`"
                            .into(),
                    )
                })?,
            };
            let tz = place.tz.or(origin.user_tz).unwrap_or(default_tz);
            let spec = CronSpec::parse_with(&place.cron, origin.seconds_field)
                .map_err(|e| AppError::Usage(e.to_string()))?;
            // A digest is something people read: at most one an hour (a channel flooded every
            // minute is an accident). Sub-minute test schedules are the operator's to allow.
            if !origin.seconds_field {
                let first = spec.next_after(tz, now);
                let second = first.and_then(|f| spec.next_after(tz, f));
                if let (Some(a), Some(b)) = (first, second) {
                    if (b - a).num_seconds() < 3600 {
                        return Err(AppError::Usage(format!(
                            "{:?} would post a digest every {} minutes; a digest runs at most once an hour",
                            place.cron,
                            (b - a).num_minutes().max(1)
                        )));
                    }
                }
            }
            let new = NewSchedule {
                kind: kind.as_str().into(),
                cron: place.cron.clone(),
                timezone: tz.name().into(),
                channel,
                created_by: origin.actor.clone(),
            };
            // The store keeps the zone's days in the rollups with the schedule.
            Ok(match store.add_schedule(&new, now.timestamp()).await {
                Ok(Ok(s)) => ScheduleAnswer::Added(scheduled(s, default_tz, origin, now)),
                Ok(Err(s)) => {
                    ScheduleAnswer::AlreadyScheduled(scheduled(s, default_tz, origin, now))
                }
                Err(StoreError::TooManyZones(m)) => return Err(AppError::Failed(m)),
                Err(e) => return Err(e.into()),
            })
        }
        ScheduleRequest::List => Ok(ScheduleAnswer::List(
            store
                .schedules()
                .await?
                .into_iter()
                .map(|s| scheduled(s, default_tz, origin, now))
                .collect(),
        )),
        ScheduleRequest::Remove { id } => {
            match store
                .remove_schedule(id, &origin.actor, now.timestamp())
                .await?
            {
                Some(s) => Ok(ScheduleAnswer::Removed(scheduled(
                    s, default_tz, origin, now,
                ))),
                None => Err(AppError::Failed(format!(
                    "there is no schedule #{id}; `schedule list` shows them"
                ))),
            }
        }
    }
}

/// A stored schedule with its description and next run.
fn scheduled(s: DigestSchedule, default_tz: Tz, origin: &Origin, now: DateTime<Utc>) -> Scheduled {
    let tz: Tz = s.timezone.parse().unwrap_or(default_tz);
    let next = s
        .cron
        .parse::<CronSpec>()
        .or_else(|_| CronSpec::parse_with(&s.cron, origin.seconds_field))
        .ok()
        .and_then(|c| c.next_after(tz, now));
    Scheduled {
        described: describe(&s.cron),
        next,
        schedule: s,
    }
}

/// `#marketing` to its channel ID, through the workspace when vibe has a bot token.
async fn lookup_channel(workspace: Option<&dyn Workspace>, name: &str) -> Result<String, AppError> {
    let Some(w) = workspace else {
        return Err(AppError::Usage(format!(
            "vibe can't look #{name} up without a Slack bot token (SLACK_BOT_TOKEN): give the channel's ID instead, like C0123ABCD (in Slack: the channel's details, at the bottom)"
        )));
    };
    match w.channel_id(name).await {
        Ok(Some(id)) => Ok(id),
        Ok(None) => Err(AppError::Failed(format!(
            "Slack has no channel #{name} that vibe can see; check the name, or invite vibe to a private channel, or give the channel's ID"
        ))),
        Err(e) => Err(AppError::Failed(format!(
            "vibe couldn't look #{name} up in Slack ({e}); give the channel's ID instead, like C0123ABCD"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<String> {
        s.split_whitespace().map(str::to_string).collect()
    }

    #[test]
    fn words_after_add_give_time_day_channel_and_zone_in_any_order() {
        let paris: Tz = "Europe/Paris".parse().unwrap();
        let cases: [(DigestKind, &str, &str, Option<&str>, Option<Tz>); 8] = [
            (DigestKind::Daily, "", "0 9 * * *", None, None),
            (DigestKind::Daily, "09:00", "0 9 * * *", None, None),
            (
                DigestKind::Daily,
                "7:30 <#C0123ABCD|general> Europe/Paris",
                "30 7 * * *",
                Some("C0123ABCD"),
                Some(paris),
            ),
            (
                DigestKind::Daily,
                "Europe/Paris 6pm C0123ABCD",
                "0 18 * * *",
                Some("C0123ABCD"),
                Some(paris),
            ),
            (DigestKind::Daily, "12am", "0 0 * * *", None, None),
            (DigestKind::Weekly, "", "0 9 * * 1", None, None),
            (
                DigestKind::Weekly,
                "friday 16:45 <#G0123ABCD>",
                "45 16 * * 5",
                Some("G0123ABCD"),
                None,
            ),
            (
                DigestKind::Weekly,
                "sun 8am UTC",
                "0 8 * * 0",
                None,
                Some(chrono_tz::UTC),
            ),
        ];
        for (kind, text, cron, channel, tz) in cases {
            let p = placement(kind, &words(text), None, false)
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(p.cron, cron, "{text}");
            let got = p.channel.map(|c| match c {
                ChannelRef::Id(id) => id,
                ChannelRef::Name(n) => format!("#{n}"),
            });
            assert_eq!(got.as_deref(), channel, "{text}");
            assert_eq!(p.tz, tz, "{text}");
        }
    }

    #[test]
    fn a_channel_name_is_kept_for_the_workspace_to_look_up() {
        let p = placement(
            DigestKind::Weekly,
            &words("mon 9am #marketing"),
            None,
            false,
        )
        .unwrap();
        assert_eq!(p.channel, Some(ChannelRef::Name("marketing".into())));
        assert_eq!(p.cron, "0 9 * * 1");
    }

    #[test]
    fn unclear_words_are_refused_with_what_to_write() {
        let cases = [
            (DigestKind::Daily, "mon 09:00", "weekly"),
            (DigestKind::Daily, "25:00", "not a time"),
            (DigestKind::Daily, "09:00 10:00", "one time"),
            (DigestKind::Daily, "#General!", "not a channel name"),
            (DigestKind::Daily, "Mars/Olympus", "time zone"),
            (DigestKind::Weekly, "mon tue", "--cron"),
            (DigestKind::Daily, "9:5", "not a time"),
            (DigestKind::Daily, "13pm", "not a time"),
            (DigestKind::Weekly, "monkey 09:00", "not a time"),
            (DigestKind::Weekly, "mond 09:00", "not a time"),
        ];
        for (kind, text, want) in cases {
            let e = placement(kind, &words(text), None, false)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
        let e = placement(
            DigestKind::Daily,
            &words("09:00"),
            Some("0 9 * * 1-5"),
            false,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("not both"), "{e}");
        let p = placement(DigestKind::Daily, &[], Some("0  9 * * 1-5"), false).unwrap();
        assert_eq!(p.cron, "0 9 * * 1-5");
        assert!(placement(DigestKind::Daily, &[], Some("every day"), false).is_err());
        // Channel ids are short; a 10,000-character one is not a channel.
        let long = format!("C{}", "A".repeat(10_000));
        assert!(placement(DigestKind::Daily, &words(&long), None, false).is_err());
        let never = placement(DigestKind::Daily, &[], Some("0 0 31 2 *"), false)
            .unwrap_err()
            .to_string();
        assert!(never.contains("never runs"), "{never}");
        let secs = placement(DigestKind::Daily, &[], Some("*/1 * * * * *"), false)
            .unwrap_err()
            .to_string();
        assert!(secs.contains("5 fields"), "{secs}");
        assert!(placement(DigestKind::Daily, &[], Some("*/1 * * * * *"), true).is_ok());
    }

    #[test]
    fn schedules_are_described_in_words() {
        let cases = [
            ("0 9 * * *", "every day at 09:00"),
            ("30 7 * * 1", "Mondays at 07:30"),
            ("0 18 * * 0", "Sundays at 18:00"),
            ("0 9 * * 1-5", "\"0 9 * * 1-5\""),
            ("*/5 * * * * *", "\"*/5 * * * * *\""),
        ];
        for (cron, want) in cases {
            assert_eq!(describe(cron), want, "{cron}");
        }
    }
}
