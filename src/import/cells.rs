//! Reading cells of a row, whatever the file format, into domain values with errors that name
//! the line and column.

use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};

use super::{MissingCells, RowIssue};
use crate::domain::{Count, Money};

/// One cell as found in a row.
pub(crate) enum Cell<'a> {
    /// The file has no such column (or the JSON object no such key).
    Absent,
    /// The column is there but this row left it empty (or null).
    Empty,
    Value(Cow<'a, str>),
}

/// A row of any format, read by column name.
pub(crate) trait Row {
    fn cell(&self, name: &str) -> Cell<'_>;
}

/// A CSV record with its header's column positions (names normalised).
pub(crate) struct CsvRow<'a> {
    pub columns: &'a HashMap<String, usize>,
    pub record: &'a csv::StringRecord,
}

impl Row for CsvRow<'_> {
    fn cell(&self, name: &str) -> Cell<'_> {
        match self.columns.get(name) {
            None => Cell::Absent,
            Some(&i) => match self.record.get(i).map(str::trim) {
                None | Some("") => Cell::Empty,
                Some(v) => Cell::Value(Cow::Borrowed(v)),
            },
        }
    }
}

/// A JSON object: null and "" are empty; numbers and booleans read as their text; arrays (of
/// hashtags) as their items separated by spaces.
pub(crate) struct JsonRow<'a>(pub &'a serde_json::Map<String, serde_json::Value>);

impl Row for JsonRow<'_> {
    fn cell(&self, name: &str) -> Cell<'_> {
        use serde_json::Value;
        match self.0.get(name) {
            None => Cell::Absent,
            Some(Value::Null) => Cell::Empty,
            Some(Value::String(s)) if s.trim().is_empty() => Cell::Empty,
            Some(Value::String(s)) => Cell::Value(Cow::Borrowed(s.trim())),
            Some(Value::Array(items)) => Cell::Value(Cow::Owned(
                items
                    .iter()
                    .map(|v| match v {
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
            )),
            Some(other) => Cell::Value(Cow::Owned(other.to_string())),
        }
    }
}

/// Normalises a header name: trimmed, lowercased, spaces as underscores, no byte-order mark.
pub(crate) fn normalise_column(name: &str) -> String {
    name.trim_start_matches('\u{feff}')
        .trim()
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
}

/// Reads cells of one row, recording empty ones as missing.
pub(crate) struct Cells<'r, R: Row> {
    pub row: &'r R,
    pub line: u64,
    pub missing: &'r mut MissingCells,
}

impl<R: Row> Cells<'_, R> {
    pub fn issue(&self, column: &str, message: impl Into<String>) -> RowIssue {
        RowIssue::new(self.line, Some(column), message)
    }

    /// A cell that must have a value.
    pub fn required(&self, column: &str) -> Result<Cow<'_, str>, RowIssue> {
        match self.row.cell(column) {
            Cell::Value(v) => Ok(v),
            Cell::Empty => Err(self.issue(column, "is required but empty")),
            Cell::Absent => Err(self.issue(column, "is required but missing")),
        }
    }

    /// An optional text cell; empty text is simply absent (not a missing measurement).
    pub fn text(&self, column: &str) -> Option<String> {
        match self.row.cell(column) {
            Cell::Value(v) => Some(v.into_owned()),
            _ => None,
        }
    }

    /// A measurement cell: parsed, or `None` and recorded as missing when empty.
    pub fn parsed<T, E: std::fmt::Display>(
        &mut self,
        column: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Option<T>, RowIssue> {
        let value = match self.row.cell(column) {
            Cell::Absent => return Ok(None),
            Cell::Empty => {
                self.missing.record(column, self.line);
                return Ok(None);
            }
            Cell::Value(v) => parse(&v),
        };
        value
            .map(Some)
            .map_err(|e| RowIssue::new(self.line, Some(column), e.to_string()))
    }

    pub fn count(&mut self, column: &str) -> Result<Option<Count>, RowIssue> {
        self.parsed(column, Count::parse)
    }

    /// An amount: more decimals than cents are rounded to the cent and recorded.
    pub fn money(&mut self, column: &str) -> Result<Option<Money>, RowIssue> {
        let parsed = self.parsed(column, Money::parse_rounding)?;
        Ok(parsed.map(|(m, rounded)| {
            if rounded {
                self.missing.record_rounded(column, self.line);
            }
            m
        }))
    }

    /// The problems of the measurement cells among `counts` and `amounts` that hold a value
    /// that doesn't read, so a row is reported with all its problems, not only the first.
    pub fn measurement_problems(&self, counts: &[&str], amounts: &[&str]) -> Vec<RowIssue> {
        let check = |column: &str, ok: &dyn Fn(&str) -> Option<String>| match self.row.cell(column)
        {
            Cell::Value(v) => ok(&v).map(|why| self.issue(column, why)),
            _ => None,
        };
        counts
            .iter()
            .filter_map(|c| check(c, &|v| Count::parse(v).err().map(|e| e.to_string())))
            .chain(amounts.iter().filter_map(|c| {
                check(c, &|v| {
                    Money::parse_rounding(v).err().map(|e| e.to_string())
                })
            }))
            .collect()
    }

    /// An optional descriptive cell parsed with `parse`; empty is absent, not missing.
    pub fn optional<T, E: std::fmt::Display>(
        &self,
        column: &str,
        parse: impl Fn(&str) -> Result<T, E>,
    ) -> Result<Option<T>, RowIssue> {
        match self.row.cell(column) {
            Cell::Value(v) => parse(&v)
                .map(Some)
                .map_err(|e| self.issue(column, e.to_string())),
            _ => Ok(None),
        }
    }
}

/// Parses a timestamp: RFC 3339 (`2026-03-01T09:30:00Z`, with any offset), a date and time
/// without offset (taken as UTC), a bare date (midnight UTC), or Unix seconds.
pub fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, String> {
    let s = s.trim();
    let bad = || {
        format!(
            "{s:?} is not a date and time: write it like 2026-03-01T09:30:00Z, \
             2026-03-01 09:30:00 (UTC) or 2026-03-01"
        )
    };
    let t = if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        t.with_timezone(&Utc)
    } else if let Some(t) = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
    {
        t.and_utc()
    } else if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        d.and_hms_opt(0, 0, 0).ok_or_else(bad)?.and_utc()
    } else if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && s.len() <= 11 {
        let secs: i64 = s.parse().map_err(|_| bad())?;
        DateTime::from_timestamp(secs, 0).ok_or_else(bad)?
    } else {
        return Err(bad());
    };
    let year = t.year();
    if !crate::domain::YEARS.contains(&year) {
        return Err(format!("{s:?} is out of range (year {year})"));
    }
    Ok(t)
}

pub(crate) fn parse_day(s: &str) -> Result<NaiveDate, String> {
    let day = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
        .map_err(|_| format!("{s:?} is not a date: write it like 2026-03-01"))?;
    crate::domain::check_day(day)
}

pub(crate) fn parse_bool(s: &str) -> Result<bool, String> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "y" => Ok(true),
        "0" | "false" | "no" | "n" => Ok(false),
        _ => Err(format!(
            "{s:?} is not yes or no: write true/false, yes/no or 1/0"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_outside_the_accepted_years_are_refused() {
        let cases = [
            ("2026-03-01", true),
            ("1990-01-01", true),
            ("2200-12-31", true),
            ("0001-01-01", false),
            ("1989-12-31", false),
            ("2201-01-01", false),
            ("+10000-01-01", false),
            ("9999-12-31", false),
            ("2026-02-30", false),
        ];
        for (s, ok) in cases {
            assert_eq!(parse_day(s).is_ok(), ok, "{s}: {:?}", parse_day(s));
        }
    }

    #[test]
    fn timestamps() {
        let cases: &[(&str, Option<&str>)] = &[
            ("2026-03-01T09:30:00Z", Some("2026-03-01T09:30:00+00:00")),
            (
                "2026-03-01T09:30:00+02:00",
                Some("2026-03-01T07:30:00+00:00"),
            ),
            ("2026-03-01 09:30:00", Some("2026-03-01T09:30:00+00:00")),
            ("2026-03-01T09:30:00", Some("2026-03-01T09:30:00+00:00")),
            ("2026-03-01 09:30", Some("2026-03-01T09:30:00+00:00")),
            ("2026-03-01", Some("2026-03-01T00:00:00+00:00")),
            ("1772357400", Some("2026-03-01T09:30:00+00:00")),
            ("2026-02-30", None),
            ("01/03/2026", None),
            ("yesterday", None),
            ("1800-01-01", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = parse_timestamp(input).ok().map(|t| t.to_rfc3339());
            assert_eq!(got.as_deref(), *want, "input {input:?}");
        }
    }

    #[test]
    fn booleans() {
        for (input, want) in [
            ("1", Some(true)),
            ("No", Some(false)),
            ("TRUE", Some(true)),
            ("maybe", None),
        ] {
            assert_eq!(parse_bool(input).ok(), want, "input {input:?}");
        }
    }

    #[test]
    fn column_names_normalise() {
        assert_eq!(normalise_column("\u{feff} Observed At "), "observed_at");
        assert_eq!(normalise_column("post-id"), "post_id");
    }
}
