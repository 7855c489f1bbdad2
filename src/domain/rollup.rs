//! Daily rollups: from cumulative end-of-day counters to what each day added.
//!
//! A snapshot holds lifetime counters, so a day's value is the day's last snapshot minus the last
//! known value before it (zero before the post existed). Summing snapshots instead would count
//! the same likes again every hour (DESIGN.md §5). Deltas may be negative: platforms take likes
//! back. A counter the day's last snapshot doesn't report gives an unknown delta for that day,
//! and the next known value is compared with the last known one, so nothing is lost or doubled.

use chrono::NaiveDate;

/// Number of post counters carried through rollups (see `POST_METRIC_NAMES`).
pub const N: usize = 8;

/// One post's (or account's) values for one day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DayValues {
    pub day: NaiveDate,
    pub values: [Option<i64>; N],
}

/// Turns one post's end-of-day cumulative values (sorted by day, one row a day) into what each
/// day added.
pub fn daily_deltas(cumulative: &[DayValues]) -> Vec<DayValues> {
    let mut last_known = [0i64; N];
    cumulative
        .iter()
        .map(|row| {
            let mut values = [None; N];
            for (i, v) in row.values.iter().enumerate() {
                if let Some(v) = *v {
                    values[i] = Some(v - last_known[i]);
                    last_known[i] = v;
                }
            }
            DayValues {
                day: row.day,
                values,
            }
        })
        .collect()
}

/// Adds `delta` into `total`, counter by counter; unknown plus unknown stays unknown.
pub fn accumulate(total: &mut [Option<i64>; N], delta: &[Option<i64>; N]) {
    for (t, d) in total.iter_mut().zip(delta) {
        if let Some(d) = d {
            // Counts are bounded at the edge; saturating keeps a sum from ever wrapping.
            *t = Some(t.unwrap_or(0).saturating_add(*d));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    /// Only the first counter varies in these cases; the rest stay unknown.
    fn rows(v: &[(u32, Option<i64>)]) -> Vec<DayValues> {
        v.iter()
            .map(|(d, x)| {
                let mut values = [None; N];
                values[0] = *x;
                DayValues {
                    day: day(*d),
                    values,
                }
            })
            .collect()
    }

    /// A day of the month and the first counter's value.
    type Day = (u32, Option<i64>);

    #[test]
    fn deltas_from_cumulative() {
        let cases: &[(&str, &[Day], &[Day])] = &[
            (
                "first day counts from zero",
                &[(1, Some(100))],
                &[(1, Some(100))],
            ),
            (
                "growth then flat",
                &[(1, Some(100)), (2, Some(150)), (3, Some(150))],
                &[(1, Some(100)), (2, Some(50)), (3, Some(0))],
            ),
            (
                "gap days compare with the last row",
                &[(1, Some(10)), (5, Some(30))],
                &[(1, Some(10)), (5, Some(20))],
            ),
            (
                "unknown day stays unknown and is skipped over",
                &[(1, Some(10)), (2, None), (3, Some(25))],
                &[(1, Some(10)), (2, None), (3, Some(15))],
            ),
            (
                "likes taken back give a negative delta",
                &[(1, Some(10)), (2, Some(8))],
                &[(1, Some(10)), (2, Some(-2))],
            ),
            (
                "never known",
                &[(1, None), (2, None)],
                &[(1, None), (2, None)],
            ),
        ];
        for (name, input, want) in cases {
            assert_eq!(daily_deltas(&rows(input)), rows(want), "{name}");
        }
    }

    #[test]
    fn accumulate_keeps_unknown_apart_from_zero() {
        let mut total = [None; N];
        let mut a = [None; N];
        a[0] = Some(5);
        a[1] = Some(0);
        let mut b = [None; N];
        b[0] = Some(-2);
        accumulate(&mut total, &a);
        accumulate(&mut total, &b);
        assert_eq!(total[0], Some(3));
        assert_eq!(total[1], Some(0));
        assert_eq!(total[2], None);
    }
}
