//! Crontab expressions as people write them (minute hour day-of-month month day-of-week, with
//! 0 or 7 for Sunday), converted for the `cron` crate (which wants a seconds field and numbers
//! weekdays 1 = Sunday … 7 = Saturday), and evaluated in a time zone across daylight-saving
//! changes: a local time that doesn't exist (02:30 on a spring-forward night) runs at the next
//! valid instant; one that happens twice (autumn) runs once, at its first occurrence.

use std::str::FromStr;

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

/// A parsed crontab expression: 5 fields, or 6 with a leading seconds field (for schedules
/// finer than a minute).
#[derive(Debug, Clone)]
pub struct CronSpec {
    pub expr: String,
    schedule: cron::Schedule,
}

impl PartialEq for CronSpec {
    fn eq(&self, other: &Self) -> bool {
        self.expr == other.expr
    }
}

const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn weekday_number(s: &str) -> Result<u32, String> {
    let t = s.trim().to_lowercase();
    if let Some(i) = DAYS.iter().position(|d| t.starts_with(d) && t.len() <= 9) {
        return Ok(i as u32);
    }
    match t.parse::<u32>() {
        Ok(n @ 0..=6) => Ok(n),
        Ok(7) => Ok(0),
        _ => Err(format!("{s:?} is not a weekday (0-7 or SUN-SAT)")),
    }
}

/// The crontab weekday field as the set of days it names (0 = Sunday).
fn weekdays(field: &str) -> Result<[bool; 7], String> {
    let mut days = [false; 7];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((r, s)) => (
                r,
                s.parse::<u32>()
                    .ok()
                    .filter(|s| *s > 0)
                    .ok_or_else(|| format!("bad step in {part:?}"))?,
            ),
            None => (part, 1),
        };
        let (lo, hi) = match range {
            "*" | "?" => (0, 6),
            r => match r.split_once('-') {
                Some((a, b)) => {
                    let a = weekday_number(a)?;
                    // 7 closes a range as Sunday-at-the-end: 5-7 is Friday to Sunday.
                    let b = if b.trim() == "7" {
                        7
                    } else {
                        weekday_number(b)?
                    };
                    if b < a {
                        return Err(format!("{part:?} runs backwards"));
                    }
                    (a, b)
                }
                None => {
                    let a = weekday_number(r)?;
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

impl FromStr for CronSpec {
    type Err = String;

    fn from_str(expr: &str) -> Result<CronSpec, String> {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        let (second, [minute, hour, dom, month, dow]) = match fields[..] {
            [m, h, d, mo, w] => ("0", [m, h, d, mo, w]),
            [s, m, h, d, mo, w] => (s, [m, h, d, mo, w]),
            _ => {
                return Err(format!(
                    "{expr:?}: a schedule has 5 fields (minute hour day-of-month month day-of-week), e.g. \"0 9 * * 1\" for Mondays at 09:00"
                ))
            }
        };
        let days = weekdays(dow).map_err(|e| format!("{expr:?}: {e}"))?;
        let dow = if days.iter().all(|d| *d) {
            "*".to_string()
        } else {
            let n: Vec<String> = (0..7)
                .filter(|d| days[*d])
                .map(|d| (d + 1).to_string())
                .collect();
            n.join(",")
        };
        let converted = format!("{second} {minute} {hour} {dom} {month} {dow}");
        let schedule = cron::Schedule::from_str(&converted).map_err(|e| {
            // The crate's message quotes the converted expression; keep only its reason.
            let text = e.to_string();
            let reason = text.lines().last().unwrap_or(&text).trim().to_string();
            format!("{expr:?} is not a valid schedule: {reason}")
        })?;
        Ok(CronSpec {
            expr: expr.split_whitespace().collect::<Vec<_>>().join(" "),
            schedule,
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
        self.schedule
            .after(&Utc.from_utc_datetime(&start))
            .take(20_000)
            .filter_map(|wall| resolve(tz, wall.naive_utc()))
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
        ];
        for (expr, want) in cases {
            let spec: CronSpec = expr.parse().unwrap();
            assert_eq!(
                spec.next_after(chrono_tz::UTC, after),
                Some(utc(want)),
                "{expr}"
            );
        }
    }

    #[test]
    fn bad_expressions_say_what_is_wrong() {
        for expr in [
            "",
            "0 9 * *",
            "0 9 * * * * *",
            "61 9 * * *",
            "60 0 9 * * *",
            "0 9 * * 8",
            "0 9 * * 5-2",
            "0 9 * * funday",
        ] {
            let e = expr.parse::<CronSpec>().unwrap_err();
            assert!(!e.is_empty(), "{expr}");
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
