//! `vibe schedule …` and `/vibe schedule …`: channel digests on a schedule. The words after
//! `add daily|weekly` name the time, the day, the channel and the time zone in any order.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;

use super::abtest::Failure;
use super::{OutputFormat, ScheduleCommand};
use crate::scheduler::CronSpec;
use crate::slack::digest::DigestKind;
use crate::store::{NewSchedule, Store};

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

/// What the words after `add daily|weekly` say.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// The crontab expression.
    pub cron: String,
    pub channel: Option<String>,
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

/// A channel as Slack sends a mention (`<#C0123ABCD|name>`), or an ID.
fn channel(w: &str) -> Option<Result<String, String>> {
    if let Some(inner) = w.strip_prefix("<#").and_then(|r| r.strip_suffix('>')) {
        let id = inner.split('|').next().unwrap_or_default();
        return Some(Ok(id.to_string()));
    }
    if let Some(name) = w.strip_prefix('#') {
        return Some(Err(format!(
            "#{name} arrived as plain text: pick the channel from Slack's list as you type # (or give its ID, like C0123ABCD)"
        )));
    }
    let is_id = (9..=24).contains(&w.len())
        && matches!(w.as_bytes()[0], b'C' | b'G')
        && w.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    is_id.then(|| Ok(w.to_string()))
}

/// Reads the words after `add daily|weekly` (or takes `cron` as given).
pub fn placement(
    kind: DigestKind,
    words: &[String],
    cron: Option<&str>,
    seconds_field: bool,
) -> Result<Placement, String> {
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
                return Err("give one time, like 09:00".into());
            }
        } else if let Some(d) = weekday(w) {
            if kind == DigestKind::Daily {
                return Err(format!(
                    "a daily digest runs every day; for one on {w} use `add weekly {w} …`"
                ));
            }
            if day.replace(d).is_some() {
                return Err(
                    "give one day; for several use --cron, e.g. --cron \"0 9 * * 1-5\"".into(),
                );
            }
        } else if let Some(c) = channel(w) {
            if place.channel.replace(c?).is_some() {
                return Err("give one channel".into());
            }
        } else if let Ok(tz) = w.parse::<Tz>() {
            if place.tz.replace(tz).is_some() {
                return Err("give one time zone".into());
            }
        } else {
            return Err(format!(
                "{w:?} is not a time (09:00), a day (mon), a channel (#marketing) or a time zone (Europe/Paris)"
            ));
        }
    }
    place.cron = match cron {
        Some(expr) => {
            if at.is_some() || day.is_some() {
                return Err("give either a time and day or --cron, not both".into());
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

fn when(t: Option<DateTime<Utc>>, tz: Tz) -> String {
    t.map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M %Z").to_string())
        .unwrap_or_else(|| "never".into())
}

/// Runs a schedule command, writing its output to `out`.
pub async fn execute(
    store: &Store,
    default_tz: Tz,
    command: ScheduleCommand,
    origin: &Origin,
    out: &mut String,
) -> Result<(), Failure> {
    let now = Utc::now();
    match command {
        ScheduleCommand::Add { kind, words, cron } => {
            let place = placement(kind, &words, cron.as_deref(), origin.seconds_field)
                .map_err(Failure::Usage)?;
            let Some(channel) = place.channel.or_else(|| origin.channel.clone()) else {
                return Err(Failure::Usage(
                    "name the channel to post to, e.g. `vibe schedule add daily 09:00 C0123ABCD`"
                        .into(),
                ));
            };
            let tz = place.tz.or(origin.user_tz).unwrap_or(default_tz);
            let new = NewSchedule {
                kind: kind.as_str().into(),
                cron: place.cron.clone(),
                timezone: tz.name().into(),
                channel: channel.clone(),
                created_by: origin.actor.clone(),
            };
            let spec =
                CronSpec::parse_with(&place.cron, origin.seconds_field).map_err(Failure::Usage)?;
            // A digest is something people read: at most one an hour (a channel flooded every
            // minute is an accident). Sub-minute test schedules are the operator's to allow.
            if !origin.seconds_field {
                let first = spec.next_after(tz, now);
                let second = first.and_then(|f| spec.next_after(tz, f));
                if let (Some(a), Some(b)) = (first, second) {
                    if (b - a).num_seconds() < 3600 {
                        return Err(Failure::Usage(format!(
                            "{:?} would post a digest every {} minutes; a digest runs at most once an hour",
                            place.cron,
                            (b - a).num_minutes().max(1)
                        )));
                    }
                }
            }
            let next = when(spec.next_after(tz, now), tz);
            match store.add_schedule(&new, now.timestamp()).await? {
                Ok(id) => out.push_str(&format!(
                    "Schedule #{id}: the {} digest goes to <#{channel}> {} ({}). First one: {next}.\n",
                    kind.as_str(),
                    describe(&place.cron),
                    tz.name()
                )),
                Err(id) => out.push_str(&format!(
                    "That digest is already scheduled as #{id}; nothing was added. Next one: {next}.\n"
                )),
            }
            Ok(())
        }
        ScheduleCommand::List { format } => {
            let all = store.schedules().await?;
            if format == OutputFormat::Json {
                let v =
                    serde_json::to_string_pretty(&all).map_err(|e| Failure::Internal(e.into()))?;
                out.push_str(&v);
                out.push('\n');
                return Ok(());
            }
            if all.is_empty() {
                out.push_str(
                    "No digest schedules. Add one with: schedule add daily 09:00 #channel\n",
                );
                return Ok(());
            }
            for s in &all {
                let tz: Tz = s.timezone.parse().unwrap_or(default_tz);
                let next = s
                    .cron
                    .parse::<CronSpec>()
                    .or_else(|_| CronSpec::parse_with(&s.cron, origin.seconds_field))
                    .ok()
                    .and_then(|c| c.next_after(tz, now));
                out.push_str(&format!(
                    "#{} {} digest to <#{}> {} ({}) · next {} · added by {}\n",
                    s.id,
                    s.kind,
                    s.channel,
                    describe(&s.cron),
                    s.timezone,
                    when(next, tz),
                    s.created_by
                ));
            }
            Ok(())
        }
        ScheduleCommand::Remove { id } => {
            match store
                .remove_schedule(id, &origin.actor, now.timestamp())
                .await?
            {
                Some(s) => {
                    out.push_str(&format!(
                        "Schedule #{id} removed: the {} digest to <#{}> {} no longer runs.\n",
                        s.kind,
                        s.channel,
                        describe(&s.cron)
                    ));
                    Ok(())
                }
                None => Err(Failure::Failed(format!(
                    "there is no schedule #{id}; `schedule list` shows them"
                ))),
            }
        }
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
            assert_eq!(p.channel.as_deref(), channel, "{text}");
            assert_eq!(p.tz, tz, "{text}");
        }
    }

    #[test]
    fn unclear_words_are_refused_with_what_to_write() {
        let cases = [
            (DigestKind::Daily, "mon 09:00", "weekly"),
            (DigestKind::Daily, "25:00", "not a time"),
            (DigestKind::Daily, "09:00 10:00", "one time"),
            (DigestKind::Daily, "#general", "pick the channel"),
            (DigestKind::Daily, "Mars/Olympus", "time zone"),
            (DigestKind::Weekly, "mon tue", "--cron"),
            (DigestKind::Daily, "9:5", "not a time"),
            (DigestKind::Daily, "13pm", "not a time"),
            (DigestKind::Weekly, "monkey 09:00", "not a time"),
            (DigestKind::Weekly, "mond 09:00", "not a time"),
        ];
        for (kind, text, want) in cases {
            let e = placement(kind, &words(text), None, false).unwrap_err();
            assert!(e.contains(want), "{text}: {e}");
        }
        let e = placement(
            DigestKind::Daily,
            &words("09:00"),
            Some("0 9 * * 1-5"),
            false,
        )
        .unwrap_err();
        assert!(e.contains("not both"), "{e}");
        let p = placement(DigestKind::Daily, &[], Some("0  9 * * 1-5"), false).unwrap();
        assert_eq!(p.cron, "0 9 * * 1-5");
        assert!(placement(DigestKind::Daily, &[], Some("every day"), false).is_err());
        // Channel ids are short; a 10,000-character one is not a channel.
        let long = format!("C{}", "A".repeat(10_000));
        assert!(placement(DigestKind::Daily, &words(&long), None, false).is_err());
        let never = placement(DigestKind::Daily, &[], Some("0 0 31 2 *"), false).unwrap_err();
        assert!(never.contains("never runs"), "{never}");
        let secs = placement(DigestKind::Daily, &[], Some("*/1 * * * * *"), false).unwrap_err();
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
