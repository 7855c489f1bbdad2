//! The generic import schema, as CSV (any of `,` `;` or tab) or JSON Lines.
//!
//! Snapshot rows (they have `observed_at`): `platform`, `account`, `observed_at` are required;
//! `post_id` makes the row a post snapshot, and a row without it that has `published_at` or
//! `text` gets a stable post id derived from those; `followers` records the account's follower
//! count at `observed_at`. Optional: `brand`, `published_at`, `text`, `hashtags`, `media_type`,
//! `paid`, `campaign`, `category`, and the counters `impressions`, `reach`, `views`, `likes`,
//! `comments`, `shares`, `saves`, `clicks`.
//!
//! Funnel rows (they have `day`): `day`, `platform`, `campaign` are required; optional `account`,
//! `brand`, `impressions`, `clicks`, `leads`, `conversions`, `revenue`, `spend` (that day's own
//! figures, amounts in the brand's currency).

use std::collections::BTreeSet;

use rustc_hash::FxHashMap as HashMap;
use std::io::BufRead;

use sha2::{Digest, Sha256};

use super::cells::{
    normalise_column, parse_bool, parse_day, parse_timestamp, Cells, CsvRow, JsonRow, Row,
};
use super::{MissingCells, RowIssue, RowParser};
use crate::domain::{
    hashtags_in, AccountInfo, AccountKey, AccountSnapshot, FunnelDay, MediaType, Platform,
    PostInfo, PostMetrics, PostSnapshot, Record, POST_METRIC_NAMES,
};

/// Columns of snapshot rows.
pub const SNAPSHOT_COLUMNS: &[&str] = &[
    "platform",
    "account",
    "brand",
    "post_id",
    "observed_at",
    "published_at",
    "text",
    "hashtags",
    "media_type",
    "paid",
    "campaign",
    "category",
    "impressions",
    "reach",
    "views",
    "likes",
    "comments",
    "shares",
    "saves",
    "clicks",
    "followers",
];

/// Columns of funnel rows.
pub const FUNNEL_COLUMNS: &[&str] = &[
    "day",
    "platform",
    "campaign",
    "account",
    "brand",
    "impressions",
    "clicks",
    "leads",
    "conversions",
    "revenue",
    "spend",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Snapshot,
    Funnel,
}

impl Kind {
    fn columns(self) -> &'static [&'static str] {
        match self {
            Kind::Snapshot => SNAPSHOT_COLUMNS,
            Kind::Funnel => FUNNEL_COLUMNS,
        }
    }
}

fn parse_row<R: Row>(
    kind: Kind,
    row: &R,
    line: u64,
    missing: &mut MissingCells,
) -> Result<Vec<Record>, RowIssue> {
    let mut cells = Cells { row, line, missing };
    let result = match kind {
        Kind::Snapshot => snapshot_records(&mut cells),
        Kind::Funnel => funnel_record(&mut cells).map(|f| vec![Record::Funnel(f)]),
    };
    // A row that fails is reported with every cell that doesn't read, not only the first.
    result.map_err(|first| {
        let (counts, amounts): (Vec<&str>, &[&str]) = match kind {
            Kind::Snapshot => (
                POST_METRIC_NAMES
                    .iter()
                    .copied()
                    .chain(["followers"])
                    .collect(),
                &[],
            ),
            Kind::Funnel => (
                vec!["impressions", "clicks", "leads", "conversions"],
                &["spend", "revenue"],
            ),
        };
        let others: Vec<RowIssue> = cells
            .measurement_problems(&counts, amounts)
            .into_iter()
            .filter(|p| p.column != first.column)
            .collect();
        RowIssue::all(first, others)
    })
}

fn account_info<R: Row>(cells: &Cells<'_, R>, platform: Platform) -> Result<AccountInfo, RowIssue> {
    let account = cells.required("account")?.into_owned();
    Ok(AccountInfo {
        key: AccountKey {
            platform,
            external_id: account.clone(),
        },
        handle: Some(account),
        brand: cells.text("brand"),
    })
}

fn snapshot_records<R: Row>(cells: &mut Cells<'_, R>) -> Result<Vec<Record>, RowIssue> {
    let platform: Platform = cells
        .required("platform")?
        .parse()
        .map_err(|e: crate::domain::UnknownPlatform| cells.issue("platform", e.to_string()))?;
    let account = account_info(cells, platform)?;
    let observed_at = parse_timestamp(&cells.required("observed_at")?)
        .map_err(|e| cells.issue("observed_at", e))?;
    let published_at = cells.optional("published_at", parse_timestamp)?;
    let text = cells.text("text");
    let mut values = [None; 8];
    for (value, name) in values.iter_mut().zip(POST_METRIC_NAMES) {
        *value = cells.count(name)?;
    }
    let metrics = PostMetrics::from_array(values);
    let followers = cells.count("followers")?;

    let post_id = cells.text("post_id").or_else(|| {
        (published_at.is_some() || text.is_some()).then(|| {
            derived_id(&[
                platform.as_str(),
                &account.key.external_id,
                &published_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
                text.as_deref().unwrap_or_default(),
            ])
        })
    });
    let mut records = Vec::with_capacity(2);
    if let Some(external_id) = post_id {
        let hashtags = match cells.text("hashtags") {
            Some(tags) => tags
                .split(|c: char| c.is_whitespace() || c == ',')
                .map(|t| t.trim_start_matches('#').to_lowercase())
                .filter(|t| !t.is_empty())
                .collect(),
            None => text.as_deref().map(hashtags_in).unwrap_or_default(),
        };
        let post = PostInfo {
            external_id,
            published_at,
            text,
            hashtags,
            media_type: cells.optional("media_type", str::parse::<MediaType>)?,
            paid: cells.optional("paid", parse_bool)?,
            campaign: cells.text("campaign"),
            category: cells.text("category"),
        };
        if let Some(p) = published_at.filter(|p| *p > observed_at) {
            return Err(cells.issue(
                "observed_at",
                format!(
                    "{} is before the post was published ({})",
                    observed_at.to_rfc3339(),
                    p.to_rfc3339()
                ),
            ));
        }
        records.push(Record::Post(PostSnapshot {
            account: account.clone(),
            post,
            observed_at,
            metrics,
        }));
    } else if metrics != PostMetrics::default() {
        return Err(RowIssue::new(
            cells.line,
            Some("post_id"),
            "the row has post counters but no post_id, published_at or text to say which post",
        ));
    }
    if followers.is_some() {
        records.push(Record::Account(AccountSnapshot {
            account,
            observed_at,
            followers,
        }));
    }
    if records.is_empty() {
        return Err(RowIssue::new(
            cells.line,
            None,
            "the row says nothing: no post (post_id) and no followers",
        ));
    }
    Ok(records)
}

fn funnel_record<R: Row>(cells: &mut Cells<'_, R>) -> Result<FunnelDay, RowIssue> {
    let day = parse_day(&cells.required("day")?).map_err(|e| cells.issue("day", e))?;
    let platform: Platform = cells
        .required("platform")?
        .parse()
        .map_err(|e: crate::domain::UnknownPlatform| cells.issue("platform", e.to_string()))?;
    let campaign = cells.required("campaign")?.into_owned();
    let account = match cells.text("account") {
        Some(_) => Some(account_info(cells, platform)?),
        None => None,
    };
    Ok(FunnelDay {
        platform,
        campaign,
        day,
        brand: cells.text("brand"),
        account,
        impressions: cells.count("impressions")?,
        clicks: cells.count("clicks")?,
        leads: cells.count("leads")?,
        conversions: cells.count("conversions")?,
        revenue: cells.money("revenue")?,
        spend: cells.money("spend")?,
    })
}

/// A stable id for a post whose source gives none, from the cells that identify it.
pub(crate) fn derived_id(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0x1f]);
    }
    let digest = h.finalize();
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("row-{hex}")
}

/// Picks the delimiter that splits the header line into the most columns.
pub(crate) fn sniff_delimiter(reader: &mut impl BufRead) -> u8 {
    let Ok(buf) = reader.fill_buf() else {
        return b',';
    };
    let first = buf.split(|b| *b == b'\n').next().unwrap_or_default();
    [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first.iter().filter(|b| *b == d).count())
        .unwrap_or(b',')
}

/// A CSV reader positioned after the header, with the header's columns.
pub(crate) struct CsvFile<R> {
    pub reader: csv::Reader<R>,
    /// Normalised column name to position.
    pub columns: HashMap<String, usize>,
    /// The header's names as written.
    pub names: Vec<String>,
}

/// Reads the header of a CSV file.
pub(crate) fn csv_reader<R: BufRead>(mut reader: R) -> Result<CsvFile<R>, RowIssue> {
    let delimiter = sniff_delimiter(&mut reader);
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_reader(reader);
    let header = rdr
        .headers()
        .map_err(|e| RowIssue::new(1, None, format!("can't read the header: {e}")))?
        .clone();
    let names: Vec<String> = header.iter().map(str::to_string).collect();
    let mut columns = HashMap::default();
    for (i, name) in names.iter().enumerate() {
        let key = normalise_column(name);
        if columns.insert(key.clone(), i).is_some() {
            return Err(RowIssue::new(
                1,
                Some(&key),
                "the header names this column twice",
            ));
        }
    }
    Ok(CsvFile {
        reader: rdr,
        columns,
        names,
    })
}

/// Reads the next CSV record; a record the reader can't decode is an issue on its line.
pub(crate) fn next_record<R: std::io::Read>(
    rdr: &mut csv::Reader<R>,
    record: &mut csv::StringRecord,
    width: usize,
    done: &mut bool,
) -> Option<(u64, Result<(), RowIssue>)> {
    if *done {
        return None;
    }
    match rdr.read_record(record) {
        Ok(false) => None,
        Ok(true) => {
            let line = record.position().map(|p| p.line()).unwrap_or(0);
            if record.len() != width {
                return Some((
                    line,
                    Err(RowIssue::new(
                        line,
                        None,
                        format!(
                            "expected {width} fields like the header, found {}",
                            record.len()
                        ),
                    )),
                ));
            }
            Some((line, Ok(())))
        }
        Err(e) => {
            let line = e.position().map(|p| p.line()).unwrap_or(0);
            if e.is_io_error() {
                *done = true;
            }
            Some((
                line,
                Err(RowIssue::new(
                    line,
                    None,
                    format!("can't read the row: {e}"),
                )),
            ))
        }
    }
}

/// Generic-schema CSV.
pub(crate) struct CsvParser<R: BufRead> {
    rdr: csv::Reader<R>,
    columns: HashMap<String, usize>,
    kind: Kind,
    record: csv::StringRecord,
    notes: Vec<String>,
    done: bool,
}

impl<R: BufRead> CsvParser<R> {
    pub fn new(reader: R) -> Result<Self, RowIssue> {
        let CsvFile {
            reader: rdr,
            columns,
            names,
        } = csv_reader(reader)?;
        let kind = if columns.contains_key("observed_at") {
            Kind::Snapshot
        } else if columns.contains_key("day") && columns.contains_key("campaign") {
            Kind::Funnel
        } else {
            return Err(RowIssue::new(
                1,
                None,
                "the header must name observed_at (snapshot rows) or day and campaign (funnel rows)",
            ));
        };
        let required: &[&str] = match kind {
            Kind::Snapshot => &["platform", "account", "observed_at"],
            Kind::Funnel => &["day", "platform", "campaign"],
        };
        for col in required {
            if !columns.contains_key(*col) {
                return Err(RowIssue::new(
                    1,
                    Some(col),
                    "is a required column but the header lacks it",
                ));
            }
        }
        let notes = names
            .iter()
            .filter(|n| !kind.columns().contains(&normalise_column(n).as_str()))
            .map(|n| format!("ignored column {n:?}: not in the import schema"))
            .collect();
        Ok(CsvParser {
            rdr,
            record: csv::StringRecord::with_capacity(256, columns.len()),
            columns,
            kind,
            notes,
            done: false,
        })
    }
}

impl<R: BufRead> RowParser for CsvParser<R> {
    fn next_row(
        &mut self,
        missing: &mut MissingCells,
    ) -> Option<(u64, Result<Vec<Record>, RowIssue>)> {
        let (line, read) = next_record(
            &mut self.rdr,
            &mut self.record,
            self.columns.len(),
            &mut self.done,
        )?;
        if let Err(issue) = read {
            return Some((line, Err(issue)));
        }
        let row = CsvRow {
            columns: &self.columns,
            record: &self.record,
        };
        Some((line, parse_row(self.kind, &row, line, missing)))
    }

    fn notes(&self) -> Vec<String> {
        self.notes.clone()
    }
}

/// Generic-schema JSON Lines: one object per line, blank lines ignored.
pub(crate) struct JsonlParser<R: BufRead> {
    reader: R,
    line: u64,
    buf: Vec<u8>,
    unknown: BTreeSet<String>,
    done: bool,
}

impl<R: BufRead> JsonlParser<R> {
    pub fn new(reader: R) -> Self {
        JsonlParser {
            reader,
            line: 0,
            buf: Vec::new(),
            unknown: BTreeSet::new(),
            done: false,
        }
    }
}

impl<R: BufRead> RowParser for JsonlParser<R> {
    fn next_row(
        &mut self,
        missing: &mut MissingCells,
    ) -> Option<(u64, Result<Vec<Record>, RowIssue>)> {
        loop {
            if self.done {
                return None;
            }
            self.buf.clear();
            self.line += 1;
            let line = self.line;
            match self.reader.read_until(b'\n', &mut self.buf) {
                Ok(0) => return None,
                Ok(_) => {}
                Err(e) => {
                    self.done = true;
                    return Some((
                        line,
                        Err(RowIssue::new(line, None, format!("can't read: {e}"))),
                    ));
                }
            }
            let Ok(text) = std::str::from_utf8(&self.buf) else {
                return Some((line, Err(RowIssue::new(line, None, "is not valid UTF-8"))));
            };
            let text = text.trim_start_matches('\u{feff}').trim();
            if text.is_empty() {
                continue;
            }
            let object: serde_json::Map<String, serde_json::Value> =
                match serde_json::from_str(text) {
                    Ok(o) => o,
                    Err(e) => {
                        return Some((
                            line,
                            Err(RowIssue::new(
                                line,
                                None,
                                format!("is not a JSON object: {e}"),
                            )),
                        ))
                    }
                };
            let kind = if object.contains_key("observed_at") {
                Kind::Snapshot
            } else if object.contains_key("day") {
                Kind::Funnel
            } else {
                return Some((
                    line,
                    Err(RowIssue::new(
                        line,
                        None,
                        "needs observed_at (a snapshot) or day (a funnel day)",
                    )),
                ));
            };
            for key in object.keys() {
                if !kind.columns().contains(&key.as_str()) {
                    self.unknown.insert(key.clone());
                }
            }
            return Some((line, parse_row(kind, &JsonRow(&object), line, missing)));
        }
    }

    fn notes(&self) -> Vec<String> {
        self.unknown
            .iter()
            .map(|k| format!("ignored field {k:?}: not in the import schema"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_csv(text: &str) -> (Vec<Result<Vec<Record>, RowIssue>>, MissingCells) {
        let mut p = CsvParser::new(text.as_bytes()).expect("header");
        let mut missing = MissingCells::default();
        let mut out = Vec::new();
        while let Some((_, r)) = p.next_row(&mut missing) {
            out.push(r);
        }
        (out, missing)
    }

    #[test]
    fn snapshot_rows() {
        let text =
            "platform,account,post_id,observed_at,published_at,text,likes,impressions,followers\n\
                    x,acme,1,2026-03-01T10:00:00Z,2026-03-01T09:00:00Z,Hello #World,5,,1200\n\
                    x,acme,,2026-03-01T10:00:00Z,,,,,1201\n";
        let (rows, missing) = parse_csv(text);
        let first = rows[0].as_ref().unwrap();
        assert_eq!(first.len(), 2, "post snapshot and follower count");
        let Record::Post(p) = &first[0] else {
            panic!("post first")
        };
        assert_eq!(p.post.external_id, "1");
        assert_eq!(p.post.hashtags, vec!["world"]);
        assert_eq!(p.metrics.likes.map(|c| c.get()), Some(5));
        assert_eq!(p.metrics.impressions, None);
        assert_eq!(p.metrics.views, None, "absent column is unknown, not zero");
        let second = rows[1].as_ref().unwrap();
        assert!(
            matches!(&second[..], [Record::Account(a)] if a.followers.map(|c| c.get()) == Some(1201))
        );
        // Empty impressions on line 2 and empty likes and impressions on line 3.
        assert_eq!(missing.by_column["impressions"], (2, vec![2, 3]));
        assert_eq!(missing.by_column["likes"], (1, vec![3]));
    }

    #[test]
    fn bad_rows_name_line_and_column() {
        let header = "platform,account,post_id,observed_at,likes\n";
        let cases: &[(&str, u64, Option<&str>, &str)] = &[
            (
                "x,acme,1,2026-03-01,abc\n",
                2,
                Some("likes"),
                "not a whole number",
            ),
            ("x,acme,1,2026-03-01,-4\n", 2, Some("likes"), "negative"),
            (
                "x,acme,1,last tuesday,4\n",
                2,
                Some("observed_at"),
                "not a date",
            ),
            (
                "myspace,acme,1,2026-03-01,4\n",
                2,
                Some("platform"),
                "unknown platform",
            ),
            ("x,,1,2026-03-01,4\n", 2, Some("account"), "required"),
            ("x,acme,1,2026-03-01\n", 2, None, "expected 5 fields"),
            ("x,acme,,2026-03-01,4\n", 2, Some("post_id"), "no post_id"),
        ];
        for (row, line, column, needle) in cases {
            let (rows, _) = parse_csv(&format!("{header}{row}"));
            let issue = rows[0].clone().expect_err(row);
            assert_eq!(issue.line, *line, "{row}");
            assert_eq!(issue.column.as_deref(), *column, "{row}");
            assert!(issue.message.contains(needle), "{row}: {}", issue.message);
        }
    }

    #[test]
    fn line_numbers_count_multiline_cells_as_an_editor_does() {
        let text = "platform,account,post_id,observed_at,text,likes\n\
                    x,acme,1,2026-03-01,\"two\nlines\",1\n\
                    x,acme,2,2026-03-01,fine,bad\n";
        let (rows, _) = parse_csv(text);
        assert!(rows[0].is_ok());
        assert_eq!(rows[1].clone().unwrap_err().line, 4);
    }

    #[test]
    fn header_problems() {
        for (text, needle) in [
            ("platform,account,likes\n", "observed_at"),
            ("account,observed_at\n", "platform"),
            ("platform,account,observed_at,likes,Likes\n", "twice"),
        ] {
            let err = CsvParser::new(text.as_bytes()).err().expect(text);
            assert!(err.to_string().contains(needle), "{text}: {err}");
            assert_eq!(err.line, 1);
        }
    }

    #[test]
    fn funnel_rows_and_semicolons() {
        let text =
            "day;platform;campaign;spend;revenue;leads\n2026-03-01;linkedin;webinar;120.50;;4\n";
        let (rows, missing) = parse_csv(text);
        let Record::Funnel(f) = &rows[0].as_ref().unwrap()[0] else {
            panic!("funnel")
        };
        assert_eq!(f.spend.map(|m| m.cents()), Some(12050));
        assert_eq!(f.revenue, None);
        assert_eq!(f.leads.map(|c| c.get()), Some(4));
        assert_eq!(missing.total(), 1);
    }

    #[test]
    fn json_lines() {
        let text = "{\"platform\":\"tiktok\",\"account\":\"acme\",\"post_id\":\"7\",\"observed_at\":\"2026-03-01T00:00:00Z\",\"views\":100,\"likes\":null,\"hashtags\":[\"#a\",\"b\"],\"extra\":1}\n\
                    \n\
                    {\"day\":\"2026-03-01\",\"platform\":\"x\",\"campaign\":\"c\",\"spend\":10}\n\
                    [1,2]\n";
        let mut p = JsonlParser::new(text.as_bytes());
        let mut missing = MissingCells::default();
        let mut rows = Vec::new();
        while let Some(r) = p.next_row(&mut missing) {
            rows.push(r);
        }
        assert_eq!(rows.len(), 3);
        let Record::Post(s) = &rows[0].1.as_ref().unwrap()[0] else {
            panic!("post")
        };
        assert_eq!(s.metrics.views.map(|c| c.get()), Some(100));
        assert_eq!(s.post.hashtags, vec!["a", "b"]);
        assert_eq!(missing.by_column["likes"].0, 1);
        assert!(matches!(rows[1].1.as_ref().unwrap()[0], Record::Funnel(_)));
        assert_eq!(rows[2].0, 4, "blank lines still count");
        assert!(rows[2].1.is_err());
        assert_eq!(
            p.notes(),
            vec!["ignored field \"extra\": not in the import schema"]
        );
    }

    #[test]
    fn derived_ids_are_stable_and_distinct() {
        assert_eq!(derived_id(&["a", "b"]), derived_id(&["a", "b"]));
        assert_ne!(derived_id(&["a", "b"]), derived_id(&["ab", ""]));
        assert!(derived_id(&["x"]).starts_with("row-"));
    }
}
