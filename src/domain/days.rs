//! Local days: which calendar day of a time zone an instant falls on, and where that day begins
//! and ends in Unix seconds. A day runs from local midnight to the next local midnight, so it
//! lasts 23 or 25 hours across a daylight-saving change; where a change skips midnight itself,
//! the day begins at the first instant that exists.

use chrono::{DateTime, Days, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

/// One name for zones that are the same clock: the names of UTC (`UTC`, `Etc/UTC`, `Zulu`,
/// `GMT`, …) are all `Etc/UTC`. Other aliases (`US/Eastern`) keep their own name.
pub fn canonical(tz: Tz) -> Tz {
    match tz.name() {
        "UTC" | "UCT" | "Etc/UCT" | "Etc/Universal" | "Universal" | "Etc/Zulu" | "Zulu" | "GMT"
        | "Etc/GMT" | "Etc/GMT+0" | "Etc/GMT-0" | "Etc/GMT0" | "GMT0" | "GMT+0" | "GMT-0"
        | "Greenwich" | "Etc/Greenwich" => Tz::Etc__UTC,
        _ => tz,
    }
}

/// The day of `tz` that the instant `ts` (Unix seconds) falls on.
pub fn local_day(ts: i64, tz: Tz) -> NaiveDate {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .with_timezone(&tz)
        .date_naive()
}

fn utc_day(ts: i64) -> NaiveDate {
    DateTime::<Utc>::from_timestamp(ts, 0)
        .unwrap_or_default()
        .date_naive()
}

/// The first instant (Unix seconds) of `day` in `tz`: local midnight, or when midnight doesn't
/// exist that day, the first local time that does.
pub fn day_start(day: NaiveDate, tz: Tz) -> i64 {
    let midnight = day.and_time(NaiveTime::MIN);
    match tz.from_local_datetime(&midnight) {
        LocalResult::Single(t) => t.timestamp(),
        LocalResult::Ambiguous(first, _) => first.timestamp(),
        LocalResult::None => {
            // A gap at midnight: the day starts where the gap ends. Gaps are whole quarter
            // hours of at most a few hours; the UTC instant of midnight at the offset before
            // the gap is inside it, so the day starts at the first valid instant after it.
            let before = tz.offset_from_utc_datetime(&(midnight - chrono::Duration::hours(24)));
            let guess = midnight.and_utc().timestamp()
                - i64::from(chrono::Offset::fix(&before).local_minus_utc());
            let mut t = guess;
            while local_day(t, tz) < day {
                t += 60;
            }
            t
        }
    }
}

/// The instants `[start, end)` of `day` in `tz`.
pub fn day_bounds(day: NaiveDate, tz: Tz) -> (i64, i64) {
    let next = day.checked_add_days(Days::new(1)).unwrap_or(day);
    (day_start(day, tz), day_start(next, tz))
}

/// Maps instants to days of one zone, remembering the last day's bounds so that runs of
/// instants on the same day (an import in time order) cost a comparison each.
#[derive(Debug, Clone)]
pub struct DayCutter {
    tz: Tz,
    start: i64,
    end: i64,
    day: NaiveDate,
}

impl DayCutter {
    pub fn new(tz: Tz) -> Self {
        DayCutter {
            tz,
            start: 0,
            end: 0,
            day: NaiveDate::MIN,
        }
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The day of this zone that `ts` falls on.
    pub fn day(&mut self, ts: i64) -> NaiveDate {
        if ts >= self.start && ts < self.end {
            return self.day;
        }
        if self.tz == Tz::Etc__UTC {
            // No offset: the day is arithmetic.
            let (start, day) = (ts.div_euclid(86_400) * 86_400, utc_day(ts));
            (self.start, self.end, self.day) = (start, start + 86_400, day);
            return day;
        }
        let day = local_day(ts, self.tz);
        let (start, end) = day_bounds(day, self.tz);
        if ts >= start && ts < end {
            (self.start, self.end, self.day) = (start, end, day);
        }
        day
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn ts(s: &str) -> i64 {
        DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    #[test]
    fn days_run_from_local_midnight_to_local_midnight() {
        // (zone, day, its first instant in UTC, its length in hours)
        let cases: &[(&str, &str, &str, i64)] = &[
            ("Etc/UTC", "2026-03-08", "2026-03-08T00:00:00Z", 24),
            ("America/New_York", "2026-01-15", "2026-01-15T05:00:00Z", 24),
            ("America/New_York", "2026-03-08", "2026-03-08T05:00:00Z", 23),
            ("America/New_York", "2026-11-01", "2026-11-01T04:00:00Z", 25),
            ("Europe/Paris", "2026-03-29", "2026-03-28T23:00:00Z", 23),
            ("Europe/Paris", "2026-10-25", "2026-10-24T22:00:00Z", 25),
            ("Asia/Tokyo", "2026-07-01", "2026-06-30T15:00:00Z", 24),
            ("Asia/Kolkata", "2026-07-01", "2026-06-30T18:30:00Z", 24),
            ("Asia/Kathmandu", "2026-07-01", "2026-06-30T18:15:00Z", 24),
            (
                "Australia/Adelaide",
                "2026-04-05",
                "2026-04-04T13:30:00Z",
                25,
            ),
            // Chile moves its clocks at midnight: 2026-09-06 begins at 01:00 local.
            ("America/Santiago", "2026-09-06", "2026-09-06T04:00:00Z", 23),
        ];
        for (zone, day, start, hours) in cases {
            let tz: Tz = zone.parse().unwrap();
            let (s, e) = day_bounds(d(day), tz);
            assert_eq!(s, ts(start), "{zone} {day} start");
            assert_eq!((e - s) / 3600, *hours, "{zone} {day} length");
            assert_eq!((e - s) % 3600, 0, "{zone} {day} whole hours");
            assert_eq!(local_day(s, tz), d(day), "{zone} {day}: its start is on it");
            assert_eq!(local_day(s - 1, tz), d(day) - Days::new(1), "{zone} {day}");
            assert_eq!(
                local_day(e - 1, tz),
                d(day),
                "{zone} {day}: its last second"
            );
            assert_eq!(local_day(e, tz), d(day) + Days::new(1), "{zone} {day}");
        }
    }

    #[test]
    fn the_names_of_utc_are_one_zone() {
        let cases = [
            ("UTC", "Etc/UTC"),
            ("Etc/UTC", "Etc/UTC"),
            ("Zulu", "Etc/UTC"),
            ("GMT", "Etc/UTC"),
            ("Etc/GMT+0", "Etc/UTC"),
            ("Europe/London", "Europe/London"),
            ("Etc/GMT+5", "Etc/GMT+5"),
            ("US/Eastern", "US/Eastern"),
        ];
        for (name, want) in cases {
            let tz: Tz = name.parse().unwrap();
            assert_eq!(canonical(tz).name(), want, "{name}");
        }
    }

    #[test]
    fn the_cutter_agrees_with_local_day_in_any_order() {
        for zone in ["America/New_York", "Etc/UTC"] {
            cutter_agrees(zone.parse().unwrap());
        }
    }

    fn cutter_agrees(tz: Tz) {
        let mut cut = DayCutter::new(tz);
        // Across the autumn change, forwards, backwards and jumping.
        let start = ts("2026-10-30T00:00:00Z");
        let mut instants: Vec<i64> = (0..200).map(|i| start + i * 1800).collect();
        instants.extend((0..200).rev().map(|i| start + i * 1800 + 7));
        instants.extend([start + 86_400 * 40, start, start - 86_400 * 400, start + 1]);
        for t in instants {
            assert_eq!(cut.day(t), local_day(t, tz), "{} at {t}", tz.name());
        }
    }
}
