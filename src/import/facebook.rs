//! The Facebook Insights post export (the "Facebook metrics" data set of Moro et al., 2016).
//!
//! Each row is one post with lifetime totals and no date: only month, weekday (1 = Sunday) and
//! hour. Rows run newest first, so each row is placed on the latest date of the configured year
//! in its month with its weekday that is not after the previous row's date. That fits all 500
//! rows of the published data set (with 1 = Monday it does not). Hours are taken as UTC.
//!
//! Lifetime totals have no observation time; vibe records them as observed at the end of the
//! publish day, so each post's totals count in the period it was published, as a spreadsheet
//! grouping posts by month would count them. "Page total likes" becomes the page's follower count
//! at the publish time. Rows carry no id, so each post's id is derived from the whole row (no two
//! rows of the data set are identical, though 7 pairs share all seven input columns).

use rustc_hash::FxHashMap as HashMap;
use std::io::BufRead;

use chrono::{Datelike, Days, NaiveDate, TimeZone, Utc};

use super::cells::{Cells, CsvRow};
use super::generic::{csv_reader, derived_id, next_record, CsvFile};
use super::{MissingCells, RowIssue, RowParser};
use crate::domain::{
    AccountInfo, AccountKey, AccountSnapshot, MediaType, Platform, PostInfo, PostMetrics,
    PostSnapshot, Record,
};

/// Where the imported page's data goes.
#[derive(Debug, Clone)]
pub struct FacebookOptions {
    /// The page's account id in vibe.
    pub account: String,
    pub brand: Option<String>,
    /// The year the export covers (the file has none).
    pub year: i32,
}

impl Default for FacebookOptions {
    fn default() -> Self {
        FacebookOptions {
            account: "facebook-page".into(),
            brand: None,
            year: 2014,
        }
    }
}

// Column names as normalised by the importer.
const PAGE_LIKES: &str = "page_total_likes";
const TYPE: &str = "type";
const CATEGORY: &str = "category";
const MONTH: &str = "post_month";
const WEEKDAY: &str = "post_weekday";
const HOUR: &str = "post_hour";
const PAID: &str = "paid";
const REACH: &str = "lifetime_post_total_reach";
const IMPRESSIONS: &str = "lifetime_post_total_impressions";
const CONSUMPTIONS: &str = "lifetime_post_consumptions";
const COMMENT: &str = "comment";
const LIKE: &str = "like";
const SHARE: &str = "share";

const REQUIRED: [&str; 13] = [
    PAGE_LIKES,
    TYPE,
    CATEGORY,
    MONTH,
    WEEKDAY,
    HOUR,
    PAID,
    REACH,
    IMPRESSIONS,
    CONSUMPTIONS,
    COMMENT,
    LIKE,
    SHARE,
];

/// The latest date in `year`-`month` on `weekday` (1 = Sunday … 7 = Saturday) that is not after
/// `not_after`.
pub fn place_dates(
    not_after: Option<NaiveDate>,
    year: i32,
    month: u32,
    weekday: u32,
) -> Option<NaiveDate> {
    let first = NaiveDate::from_ymd_opt(year, month, 1)?;
    let next_month = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let mut day = next_month.pred_opt()?;
    if let Some(limit) = not_after {
        day = day.min(limit);
    }
    while day >= first {
        if day.weekday().num_days_from_sunday() + 1 == weekday {
            return Some(day);
        }
        day = day.checked_sub_days(Days::new(1))?;
    }
    None
}

pub(crate) struct FacebookParser<R: BufRead> {
    rdr: csv::Reader<R>,
    columns: HashMap<String, usize>,
    record: csv::StringRecord,
    opts: FacebookOptions,
    previous: Option<NaiveDate>,
    unused: Vec<String>,
    done: bool,
}

impl<R: BufRead> FacebookParser<R> {
    pub fn new(reader: R, opts: FacebookOptions) -> Result<Self, RowIssue> {
        let CsvFile {
            reader: rdr,
            columns,
            names,
        } = csv_reader(reader)?;
        for col in REQUIRED {
            if !columns.contains_key(col) {
                return Err(RowIssue::new(
                    1,
                    Some(col),
                    "is a column of the Facebook export but the header lacks it",
                ));
            }
        }
        let unused = names
            .into_iter()
            .filter(|n| {
                let key = super::cells::normalise_column(n);
                !REQUIRED.contains(&key.as_str()) && key != "total_interactions"
            })
            .collect();
        Ok(FacebookParser {
            rdr,
            record: csv::StringRecord::with_capacity(256, columns.len()),
            columns,
            opts,
            previous: None,
            unused,
            done: false,
        })
    }

    fn parse(&mut self, line: u64, missing: &mut MissingCells) -> Result<Vec<Record>, RowIssue> {
        let row = CsvRow {
            columns: &self.columns,
            record: &self.record,
        };
        let mut cells = Cells {
            row: &row,
            line,
            missing,
        };
        let small = |col: &'static str, lo: u32, hi: u32, cells: &Cells<'_, CsvRow<'_>>| {
            let v = cells.required(col)?;
            v.parse::<u32>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .ok_or_else(|| {
                    cells.issue(
                        col,
                        format!("{v:?} is not a whole number from {lo} to {hi}"),
                    )
                })
        };
        // Place the row first: its date bounds the next row's even if another cell is bad.
        let month = small(MONTH, 1, 12, &cells)?;
        let weekday = small(WEEKDAY, 1, 7, &cells)?;
        let date = place_dates(self.previous, self.opts.year, month, weekday).ok_or_else(|| {
            cells.issue(
                MONTH,
                format!(
                    "can't place the post: no weekday {weekday} in {}-{month:02} on or before {}",
                    self.opts.year,
                    self.previous.map(|d| d.to_string()).unwrap_or_default()
                ),
            )
        })?;
        self.previous = Some(date);
        let hour = small(HOUR, 0, 23, &cells)?;

        let media_type = match cells.required(TYPE)?.as_ref() {
            "Photo" => MediaType::Image,
            "Status" => MediaType::Text,
            "Link" => MediaType::Link,
            "Video" => MediaType::Video,
            other => {
                return Err(cells.issue(
                    TYPE,
                    format!("{other:?} is not Photo, Status, Link or Video"),
                ))
            }
        };
        let category = match small(CATEGORY, 1, 3, &cells)? {
            1 => "action",
            2 => "product",
            _ => "inspiration",
        };
        let paid = cells.parsed(PAID, |s| match s {
            "1" | "1.0" => Ok(true),
            "0" | "0.0" => Ok(false),
            other => Err(format!("{other:?} is not 0 or 1")),
        })?;
        let followers = cells.count(PAGE_LIKES)?;
        let metrics = PostMetrics {
            impressions: cells.count(IMPRESSIONS)?,
            reach: cells.count(REACH)?,
            clicks: cells.count(CONSUMPTIONS)?,
            comments: cells.count(COMMENT)?,
            likes: cells.count(LIKE)?,
            shares: cells.count(SHARE)?,
            ..PostMetrics::default()
        };

        let published = Utc.from_utc_datetime(&date.and_hms_opt(hour, 0, 0).unwrap_or_default());
        let end_of_day = Utc.from_utc_datetime(&date.and_hms_opt(23, 59, 59).unwrap_or_default());
        let whole_row: Vec<&str> = self.record.iter().collect();
        let account = AccountInfo {
            key: AccountKey {
                platform: Platform::Facebook,
                external_id: self.opts.account.clone(),
            },
            handle: Some(self.opts.account.clone()),
            brand: self.opts.brand.clone(),
        };
        let post = PostInfo {
            external_id: derived_id(&whole_row).replacen("row-", "fb-", 1),
            published_at: Some(published),
            media_type: Some(media_type),
            paid,
            category: Some(category.to_string()),
            ..PostInfo::default()
        };
        Ok(vec![
            Record::Post(PostSnapshot {
                account: account.clone(),
                post,
                observed_at: end_of_day,
                metrics,
            }),
            Record::Account(AccountSnapshot {
                account,
                observed_at: published,
                followers,
            }),
        ])
    }
}

impl<R: BufRead> RowParser for FacebookParser<R> {
    fn next_row(
        &mut self,
        missing: &mut MissingCells,
    ) -> Option<(u64, Result<Vec<Record>, RowIssue>)> {
        let width = self.columns.len();
        let (line, read) = next_record(&mut self.rdr, &mut self.record, width, &mut self.done)?;
        if let Err(issue) = read {
            return Some((line, Err(issue)));
        }
        Some((line, self.parse(line, missing)))
    }

    fn notes(&self) -> Vec<String> {
        if self.unused.is_empty() {
            return Vec::new();
        }
        vec![format!(
            "not stored (vibe's model has no field for them): {}",
            self.unused.join(", ")
        )]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn placing_rows_newest_first() {
        // 2014-12-31 was a Wednesday (weekday 4 with 1 = Sunday).
        let cases: &[(Option<NaiveDate>, u32, u32, Option<NaiveDate>)] = &[
            (None, 12, 4, Some(d(2014, 12, 31))),
            (None, 12, 1, Some(d(2014, 12, 28))),
            (Some(d(2014, 12, 31)), 12, 4, Some(d(2014, 12, 31))),
            (Some(d(2014, 12, 30)), 12, 4, Some(d(2014, 12, 24))),
            (Some(d(2014, 12, 2)), 11, 1, Some(d(2014, 11, 30))),
            (Some(d(2014, 1, 2)), 1, 7, None),
            (Some(d(2014, 3, 1)), 5, 2, None),
        ];
        for (prev, month, weekday, want) in cases {
            assert_eq!(
                place_dates(*prev, 2014, *month, *weekday),
                *want,
                "{prev:?} {month} {weekday}"
            );
        }
    }
}
