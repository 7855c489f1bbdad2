//! Crontab expressions as people write them (minute hour day-of-month month day-of-week, with
//! 0 or 7 for Sunday), converted for the `cron` crate (which wants a seconds field and numbers
//! weekdays 1 = Sunday … 7 = Saturday), and evaluated in a time zone across daylight-saving
//! changes: a local time that doesn't exist (02:30 on a spring-forward night) runs at the next
//! valid instant; one that happens twice (autumn) runs once, at its first occurrence.

use std::str::FromStr;

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// A parsed crontab expression: 5 fields (6 with a leading seconds field only where the
/// operator allowed it, see [`CronSpec::parse_with`]). When both day-of-month and day-of-week
/// are restricted, a day matching either runs, as in cron(8).
#[derive(Debug, Clone)]
pub struct CronSpec {
    pub expr: String,
    /// One schedule, or two (day-of-month and day-of-week each alone) whose runs are merged.
    schedules: Vec<cron::Schedule>,
}

impl PartialEq for CronSpec {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

const FULL_DAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

/// A weekday by its three-letter or full English name, any case (`mon`, `Monday`); nothing
/// else that merely starts like one (`monkey` is not Monday).
pub fn weekday_by_name(s: &str) -> Option<u32> {
    let t = s.trim().to_lowercase();
    (0..7)
        .find(|&i| t == DAYS[i] || t == FULL_DAYS[i])
        .map(|i| i as u32)
}

/// Why an expression isn't a schedule vibe runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("{expr:?}: a schedule has 5 fields (minute hour day-of-month month day-of-week), e.g. \"0 9 * * 1\" for Mondays at 09:00")]
    Fields { expr: String },
    #[error("{expr:?}: {part:?} is not a weekday (0-7 or SUN-SAT)")]
    Weekday { expr: String, part: String },
    #[error("{expr:?}: bad step in {part:?}")]
    Step { expr: String, part: String },
    #[error("{expr:?}: {part:?} runs backwards")]
    Backwards { expr: String, part: String },
    #[error("{expr:?} is not a valid schedule: {reason}")]
    Invalid { expr: String, reason: String },
    #[error("{expr:?} never runs: no date matches its day and month")]
    Never { expr: String },
}

fn weekday_number(s: &str, expr: &str) -> Result<u32, CronError> {
    if let Some(i) = weekday_by_name(s) {
        return Ok(i);
    }
    let t = s.trim();
    match t.parse::<u32>() {
        Ok(n @ 0..=6) => Ok(n),
        Ok(7) => Ok(0),
        _ => Err(CronError::Weekday {
            expr: expr.into(),
            part: s.into(),
        }),
    }
}

/// The crontab weekday field of `expr` as the set of days it names (0 = Sunday).
fn weekdays(field: &str, expr: &str) -> Result<[bool; 7], CronError> {
    let mut days = [false; 7];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| CronError::Step {
                        expr: expr.into(),
                        part: part.into(),
                    })?,
            ),
            None => (part, 1),
        };
        let (lo, hi) = match range {
            "*" | "?" => (0, 6),
            r => match r.split_once('-') {
                Some((a, b)) => {
                    let a = weekday_number(a, expr)?;
                    // 7 closes a range as Sunday-at-the-end: 5-7 is Friday to Sunday.
                    let b = if b.trim() == "7" {
                        7
                    } else {
                        weekday_number(b, expr)?
                    };
                    if b < a {
                        return Err(CronError::Backwards {
                            expr: expr.into(),
                            part: part.into(),
                        });
                    }
                    (a, b)
                }
                None => {
                    let a = weekday_number(r, expr)?;
                    (a, if step > 1 { 6 } else { a })
                }
            },
        };
        let mut d = lo;
        while d <= hi {
            days[(d % 7) as usize] = true;
            d += step;
        }
    }
    Ok(days)
}

/// How far ahead an expression must fire at least once: eight years cover every leap-day
/// pattern, so `0 0 29 2 *` passes and `0 0 31 2 *` (never) is refused.
const MUST_FIRE_WITHIN_DAYS: i64 = 8 * 366;

impl FromStr for CronSpec {
    type Err = CronError;

    /// The 5-field form people write; a sixth (seconds) field is refused.
    fn from_str(expr: &str) -> Result<CronSpec, CronError> {
        CronSpec::parse_with(expr, false)
    }
}

impl CronSpec {
    /// Parses `expr`; with `seconds`, a leading seconds field is accepted too (an operator's
    /// setting for sub-minute test schedules, never what a user types). An expression that
    /// never fires (`0 0 31 2 *`) is refused.
    pub fn parse_with(expr: &str, seconds: bool) -> Result<CronSpec, CronError> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let (second, [minute, hour, dom, month, dow]) = match fields[..] {
            [m, h, d, mo, w] => ("0", [m, h, d, mo, w]),
            [s, m, h, d, mo, w] if seconds => (s, [m, h, d, mo, w]),
            _ => return Err(CronError::Fields { expr: expr.into() }),
        };
        // cron(8): with both day fields restricted (neither starts with `*`), a day matching
        // either runs; the `cron` crate would require both.
        let restricted = |f: &str| !f.starts_with('*') && !f.starts_with('?');
        let either_day = restricted(dom) && restricted(dow);
        let days = weekdays(dow, expr)?;
        let dow = if days.iter().all(|d| *d) {
            "*".to_string()
        } else {
            let n: Vec<String> = (0..7)
                .filter(|d| days[*d])
                .map(|d| (d + 1).to_string())
                .collect();
            n.join(",")
        };
        let build = |dom: &str, dow: &str| {
            let converted = format!("{second} {minute} {hour} {dom} {month} {dow}");
            cron::Schedule::from_str(&converted).map_err(|e| {
                // The crate's message quotes the converted expression; keep only its reason.
                let text = e.to_string();
                let reason = text.lines().last().unwrap_or(&text).trim().to_string();
                CronError::Invalid {
                    expr: expr.into(),
                    reason,
                }
            })
        };
        let schedules = if either_day {
            vec![build(dom, "*")?, build("*", &dow)?]
        } else {
            vec![build(dom, &dow)?]
        };
        let spec = CronSpec {
            expr: expr.split_whitespace().collect::<Vec<_>>().join(" "),
            schedules,
        };
        let start = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).single();
        let fires = start.and_then(|s| {
            spec.walls(s.naive_utc())
                .next()
                .filter(|t| *t < s.naive_utc() + Duration::days(MUST_FIRE_WITHIN_DAYS))
        });
        if fires.is_none() {
            return Err(CronError::Never { expr: expr.into() });
        }
        Ok(spec)
    }

    /// Wall-clock times matching the expression after `start`, in order, each once.
    fn walls(&self, start: NaiveDateTime) -> impl Iterator<Item = NaiveDateTime> + '_ {
        let start = Utc.from_utc_datetime(&start);
        let mut iters: Vec<_> = self
            .schedules
            .iter()
            .map(|s| s.after(&start).peekable())
            .collect();
        std::iter::from_fn(move || {
            let next = iters.iter_mut().filter_map(|i| i.peek().copied()).min()?;
            for i in iters.iter_mut() {
                if i.peek() == Some(&next) {
                    i.next();
                }
            }
            Some(next.naive_utc())
        })
    }
}

/// The instant a local wall time falls on: the first of two (autumn), the next valid one when
/// it doesn't exist (spring).
fn resolve(tz: Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    let mut t = local;
    for _ in 0..=180 {
        match tz.from_local_datetime(&t) {
            LocalResult::Single(x) => return Some(x.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, _) => return Some(a.with_timezone(&Utc)),
            LocalResult::None => t += Duration::minutes(1),
        }
    }
    None
}

impl CronSpec {
    /// The first run strictly after `after`, in `tz`.
    pub fn next_after(&self, tz: Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        // Walk the wall-clock times (as if they were UTC). Near a DST change, start a little
        // before `after`'s local time, so a time shifted by a gap or repeated by an overlap is
        // judged by its instant; elsewhere wall times and instants run together.
        let offset = |t: DateTime<Utc>| t.with_timezone(&tz).offset().fix();
        let lookback = if offset(after - Duration::hours(3)) == offset(after + Duration::hours(3)) {
            Duration::zero()
        } else {
            Duration::hours(3)
        };
        let start = after.with_timezone(&tz).naive_local() - lookback;
        self.walls(start)
            .take(20_000)
            .filter_map(|wall| resolve(tz, wall))
            .find(|t| *t > after)
    }

    /// The latest run at or before `at` and after `since`, in `tz`.
    pub fn latest_between(
        &self,
        tz: Tz,
        since: DateTime<Utc>,
        at: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let mut t = since;
        let mut last = None;
        while let Some(n) = self.next_after(tz, t) {
            if n > at {
                break;
            }
            last = Some(n);
            t = n;
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn weekdays_use_crontab_numbering() {
        // 2026-12-06 is a Sunday; every case looks for the next run after Saturday 12:00 UTC.
        let after = utc("2026-12-05T12:00:00Z");
        let cases = [
            ("0 9 * * 0", "2026-12-06T09:00:00Z"),
            ("0 9 * * 7", "2026-12-06T09:00:00Z"),
            ("0 9 * * SUN", "2026-12-06T09:00:00Z"),
            ("0 9 * * 1", "2026-12-07T09:00:00Z"),
            ("0 9 * * mon", "2026-12-07T09:00:00Z"),
            ("0 9 * * 1-5", "2026-12-07T09:00:00Z"),
            ("0 9 * * 5-7", "2026-12-06T09:00:00Z"),
            ("0 9 * * 6", "2026-12-12T09:00:00Z"),
            ("0 13 * * 6", "2026-12-05T13:00:00Z"),
            ("*/15 * * * *", "2026-12-05T12:15:00Z"),
            ("0 9 * * */2", "2026-12-06T09:00:00Z"),
            ("30 2 1 1 *", "2027-01-01T02:30:00Z"),
            ("*/20 * * * * *", "2026-12-05T12:00:20Z"),
            ("30 0 9 * * 0", "2026-12-06T09:00:30Z"),
            // Both day fields restricted: the 1st of the month or a Monday, as in cron(8).
            ("0 9 1 * 1", "2026-12-07T09:00:00Z"),
            ("0 9 6 * 1", "2026-12-06T09:00:00Z"),
            ("0 9 1 * 3", "2026-12-09T09:00:00Z"),
            // A `*`-led field is not a restriction: Mondays that are odd days of the month.
            ("0 9 */2 * 1", "2026-12-07T09:00:00Z"),
            ("0 0 29 2 *", "2028-02-29T00:00:00Z"),
        ];
        for (expr, want) in cases {
            let spec = CronSpec::parse_with(expr, true).unwrap();
            assert_eq!(
                spec.next_after(chrono_tz::UTC, after),
                Some(utc(want)),
                "{expr}"
            );
        }
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        let cases = [
            ("", "5 fields"),
            ("0 9 * *", "5 fields"),
            ("0 9 * * * * *", "5 fields"),
            // Seconds only where the operator allowed them.
            ("*/1 * * * * *", "5 fields"),
            ("0 0 9 * * 1", "5 fields"),
            ("61 9 * * *", "not a valid schedule"),
            ("0 9 * * 8", "not a weekday"),
            ("0 9 * * 5-2", "backwards"),
            ("0 9 * * funday", "not a weekday"),
            ("0 9 * * monkey", "not a weekday"),
            ("0 9 * * mond", "not a weekday"),
            ("0 0 31 2 *", "never runs"),
            ("0 0 30 2 *", "never runs"),
            ("0 0 31 4,6,9,11 *", "never runs"),
        ];
        for (expr, want) in cases {
            let e = expr.parse::<CronSpec>().unwrap_err().to_string();
            assert!(e.contains(want), "{expr}: {e}");
        }
        assert!(CronSpec::parse_with("60 0 9 * * *", true).is_err());
        assert!(CronSpec::parse_with("*/1 * * * * *", true).is_ok());
        // 31 February never comes, but the weekday makes it run on Mondays (cron(8)).
        assert!("0 0 31 2 1".parse::<CronSpec>().is_ok());
    }

    #[test]
    fn weekday_names_are_matched_whole() {
        let cases = [
            ("mon", Some(1)),
            ("Monday", Some(1)),
            ("SUN", Some(0)),
            ("saturday", Some(6)),
            ("monkey", None),
            ("mo", None),
            ("sundays", None),
            ("thurs", None),
        ];
        for (name, want) in cases {
            assert_eq!(weekday_by_name(name), want, "{name}");
        }
    }

    #[test]
    fn daylight_saving_changes_run_each_local_time_once() {
        let paris = chrono_tz::Europe::Paris;
        let spec: CronSpec = "30 2 * * *".parse().unwrap();
        // Spring: 2026-03-29 02:00 CET jumps to 03:00 CEST; 02:30 doesn't exist, so it runs at
        // 03:00 CEST (01:00 UTC).
        assert_eq!(
            spec.next_after(paris, utc("2026-03-28T12:00:00Z")),
            Some(utc("2026-03-29T01:00:00Z"))
        );
        assert_eq!(
            spec.next_after(paris, utc("2026-03-29T01:00:00Z")),
            Some(utc("2026-03-30T00:30:00Z")),
            "then 02:30 CEST the next day"
        );
        // Autumn: 2026-10-25 03:00 CEST falls back to 02:00 CET; 02:30 happens twice and runs
        // at the first (00:30 UTC), not again an hour later.
        let first = spec.next_after(paris, utc("2026-10-24T12:00:00Z")).unwrap();
        assert_eq!(first, utc("2026-10-25T00:30:00Z"));
        assert_eq!(
            spec.next_after(paris, first),
            Some(utc("2026-10-26T01:30:00Z")),
            "the next run is the next day's 02:30 CET"
        );
        // A 09:00 digest stays at 09:00 local on both sides of each change.
        let nine: CronSpec = "0 9 * * *".parse().unwrap();
        let cases = [
            ("2026-03-28T12:00:00Z", "2026-03-29T07:00:00Z"),
            ("2026-03-27T12:00:00Z", "2026-03-28T08:00:00Z"),
            ("2026-10-24T12:00:00Z", "2026-10-25T08:00:00Z"),
            ("2026-10-23T12:00:00Z", "2026-10-24T07:00:00Z"),
        ];
        for (after, want) in cases {
            assert_eq!(
                nine.next_after(paris, utc(after)),
                Some(utc(want)),
                "{after}"
            );
        }
    }

    #[test]
    fn the_latest_slot_in_a_window_is_the_only_one_that_counts() {
        let hourly: CronSpec = "0 * * * *".parse().unwrap();
        let tz = chrono_tz::UTC;
        let cases = [
            // Down from 03:10 to 08:20: five slots missed, the latest is 08:00.
            (
                "2026-12-01T03:10:00Z",
                "2026-12-01T08:20:00Z",
                Some("2026-12-01T08:00:00Z"),
            ),
            ("2026-12-01T08:00:00Z", "2026-12-01T08:20:00Z", None),
            (
                "2026-12-01T07:59:59Z",
                "2026-12-01T08:00:00Z",
                Some("2026-12-01T08:00:00Z"),
            ),
        ];
        for (since, at, want) in cases {
            assert_eq!(
                hourly.latest_between(tz, utc(since), utc(at)),
                want.map(utc),
                "{since}..{at}"
            );
        }
    }
}
