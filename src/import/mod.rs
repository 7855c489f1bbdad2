//! `vibe import`: files into the store.
//!
//! Three formats, recognised from the content or named with `--format`:
//! - CSV in the generic schema (snapshot rows or funnel rows, told apart by the header),
//! - JSON Lines with the same field names,
//! - the Facebook Insights post export (semicolon-separated, lifetime totals, no dates).
//!
//! Every row is parsed into domain records before the store sees it. An empty cell is a missing
//! value, stored as unknown and reported as a warning. A malformed value is an error naming the
//! file, line (the header is line 1), column and reason; by default one error means nothing from
//! the file is written (the whole import is one transaction), and `--skip-invalid` writes the rest
//! and lists what was skipped.

mod cells;
mod facebook;
mod generic;
pub mod observations;

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, Instant};

use crate::domain::Record;
use crate::store::{Ingest, IngestStats, Source, Store, StoreError};

pub use cells::parse_timestamp;
pub use facebook::{place_dates, FacebookOptions};

/// The formats `vibe import` reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Jsonl,
    Facebook,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
            Format::Facebook => "facebook",
        }
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "csv" => Ok(Format::Csv),
            "jsonl" | "ndjson" | "json" => Ok(Format::Jsonl),
            "facebook" | "fb" => Ok(Format::Facebook),
            _ => Err(format!("unknown format {s:?}: use csv, jsonl or facebook")),
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A problem with one row (or the header, line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowIssue {
    pub line: u64,
    pub column: Option<String>,
    pub message: String,
}

impl RowIssue {
    pub fn new(line: u64, column: Option<&str>, message: impl Into<String>) -> Self {
        RowIssue {
            line,
            column: column.map(str::to_string),
            message: message.into(),
        }
    }

    /// One issue for a row with several problems: the first as it was, alone; with others,
    /// every one named with its column.
    pub fn all(first: RowIssue, others: Vec<RowIssue>) -> RowIssue {
        if others.is_empty() {
            return first;
        }
        let n = others.len() + 1;
        let parts: Vec<String> = std::iter::once(&first)
            .chain(&others)
            .map(|p| match &p.column {
                Some(c) => format!("column {c}: {}", p.message),
                None => p.message.clone(),
            })
            .collect();
        RowIssue::new(
            first.line,
            None,
            format!("{n} problems: {}", parts.join("; ")),
        )
    }
}

impl RowIssue {
    /// `path:line: column c: message`, the form editors and terminals turn into a link.
    pub fn located(&self, path: &Path) -> String {
        let col = self
            .column
            .as_ref()
            .map(|c| format!("column {c}: "))
            .unwrap_or_default();
        if self.line == 0 {
            format!("{}: {col}{}", path.display(), self.message)
        } else {
            format!("{}:{}: {col}{}", path.display(), self.line, self.message)
        }
    }
}

impl fmt::Display for RowIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.column {
            Some(c) => write!(f, "line {}, column {c}: {}", self.line, self.message),
            None => write!(f, "line {}: {}", self.line, self.message),
        }
    }
}

/// Empty cells, grouped by column: how many and the first few lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MissingCells {
    pub by_column: BTreeMap<String, (u64, Vec<u64>)>,
    /// Amounts given with more decimals than cents, rounded to the cent.
    pub rounded: BTreeMap<String, (u64, Vec<u64>)>,
}

/// Lines listed per column before the rest are only counted.
const LINES_LISTED: usize = 10;

impl MissingCells {
    pub fn record(&mut self, column: &str, line: u64) {
        note(&mut self.by_column, column, line);
    }

    pub fn record_rounded(&mut self, column: &str, line: u64) {
        note(&mut self.rounded, column, line);
    }

    /// One sentence per column of amounts rounded to the cent.
    pub fn rounded_lines(&self) -> Vec<String> {
        sentences(
            &self.rounded,
            "amount",
            "amounts",
            "with more decimals than cents, rounded to the cent",
        )
    }

    pub fn total(&self) -> u64 {
        self.by_column.values().map(|(n, _)| n).sum()
    }

    /// One human sentence per column.
    pub fn lines(&self) -> Vec<String> {
        sentences(
            &self.by_column,
            "empty cell",
            "empty cells",
            "stored as unknown",
        )
    }
}

fn note(map: &mut BTreeMap<String, (u64, Vec<u64>)>, column: &str, line: u64) {
    let entry = map.entry(column.to_string()).or_default();
    entry.0 += 1;
    if entry.1.len() < LINES_LISTED {
        entry.1.push(line);
    }
}

fn sentences(
    map: &BTreeMap<String, (u64, Vec<u64>)>,
    one: &str,
    many: &str,
    what: &str,
) -> Vec<String> {
    map.iter()
        .map(|(col, (n, lines))| {
            let list = lines
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ");
            let more = if *n as usize > lines.len() {
                ", …"
            } else {
                ""
            };
            format!(
                "column {col}: {} {what} (line {list}{more})",
                crate::format::counted(*n, one, many)
            )
        })
        .collect()
}

/// Everything that can stop an import.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("can't read {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Unrecognised { path: PathBuf, message: String },
    #[error("{path}: {} invalid {}; nothing was written (use --skip-invalid to write the valid rows)", .issues.len(), if .issues.len() == 1 { "row" } else { "rows" })]
    Invalid {
        path: PathBuf,
        issues: Vec<RowIssue>,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How to import a file.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// `None` recognises the format from the content.
    pub format: Option<Format>,
    pub skip_invalid: bool,
    pub facebook: FacebookOptions,
    pub batch_size: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            format: None,
            skip_invalid: false,
            facebook: FacebookOptions::default(),
            batch_size: 500,
            progress: false,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct ImportReport {
    pub path: PathBuf,
    pub format: Format,
    /// Data rows read (the header not counted).
    pub rows: u64,
    /// Rows skipped because they were invalid (only with `--skip-invalid`).
    pub skipped: Vec<RowIssue>,
    pub missing: MissingCells,
    /// Notes on the file as a whole, such as ignored columns.
    pub notes: Vec<String>,
    pub stats: IngestStats,
    pub elapsed: Duration,
}

/// Errors listed in full; past this many an import only counts them.
pub const MAX_LISTED_ISSUES: usize = 200;

/// A parser's view of a file: rows in, records out.
pub(crate) trait RowParser {
    /// Parses the next row. `None` at the end of the file.
    fn next_row(
        &mut self,
        missing: &mut MissingCells,
    ) -> Option<(u64, Result<Vec<Record>, RowIssue>)>;
    /// Notes about the file as a whole, known after the header.
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Rows handed from the parsing thread to the writer at a time.
const CHUNK_ROWS: usize = 1024;

type ParsedRow = (u64, Result<Vec<Record>, RowIssue>);

/// Imports one file into the store.
///
/// Parsing runs on a blocking thread and hands rows over in chunks, so reading and validating
/// the file overlaps with the database writing the previous chunk.
pub async fn import_file(
    store: &Store,
    path: &Path,
    opts: &ImportOptions,
) -> Result<ImportReport, ImportError> {
    let started = Instant::now();
    let io_err = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let len = file.metadata().map_err(io_err)?.len();
    let progress = opts.progress.then(|| progress_bar(len));
    let reader: Box<dyn Read + Send> = match &progress {
        Some(pb) => Box::new(pb.wrap_read(file)),
        None => Box::new(file),
    };
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let format = match opts.format {
        Some(f) => f,
        None => sniff(&mut reader).map_err(|e| match e {
            SniffError::Io(source) => io_err(source),
            SniffError::Unknown(message) => ImportError::Unrecognised {
                path: path.to_path_buf(),
                message,
            },
        })?,
    };
    let unrecognised = |issue: RowIssue| ImportError::Unrecognised {
        path: path.to_path_buf(),
        message: issue.to_string(),
    };
    let mut parser: Box<dyn RowParser + Send> = match format {
        Format::Csv => Box::new(generic::CsvParser::new(reader).map_err(unrecognised)?),
        Format::Jsonl => Box::new(generic::JsonlParser::new(reader)),
        Format::Facebook => Box::new(
            facebook::FacebookParser::new(reader, opts.facebook.clone()).map_err(unrecognised)?,
        ),
    };

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<ParsedRow>>(4);
    let parsing = tokio::task::spawn_blocking(move || {
        let mut missing = MissingCells::default();
        let mut chunk = Vec::with_capacity(CHUNK_ROWS);
        while let Some(row) = parser.next_row(&mut missing) {
            chunk.push(row);
            if chunk.len() == CHUNK_ROWS {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS));
                if tx.blocking_send(full).is_err() {
                    // The writer stopped (a database error); it reports why.
                    break;
                }
            }
        }
        if !chunk.is_empty() {
            let _ = tx.blocking_send(chunk);
        }
        (missing, parser.notes())
    });

    let mut ingest = Some(store.begin_ingest(Source::Import, opts.batch_size).await?);
    let mut issues: Vec<RowIssue> = Vec::new();
    let mut issue_count = 0usize;
    let mut rows = 0u64;
    while let Some(chunk) = rx.recv().await {
        for (_line, parsed) in chunk {
            rows += 1;
            match parsed {
                Ok(records) => {
                    if let Some(ingest) = ingest.as_mut() {
                        add_all(ingest, &records).await?;
                    }
                }
                Err(issue) => {
                    issue_count += 1;
                    if issues.len() < MAX_LISTED_ISSUES {
                        issues.push(issue);
                    }
                    if !opts.skip_invalid {
                        // Nothing from this file will be written; keep reading to list every
                        // error.
                        ingest = None;
                    }
                }
            }
        }
    }
    let (missing, notes) = parsing.await.map_err(|e| ImportError::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(format!("the parsing thread failed: {e}")),
    })?;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    if issue_count > issues.len() {
        let more = issue_count - issues.len();
        issues.push(RowIssue::new(0, None, format!("… and {more} more")));
    }
    let Some(ingest) = ingest else {
        return Err(ImportError::Invalid {
            path: path.to_path_buf(),
            issues,
        });
    };
    tracing::debug!(
        rows,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "rows written; building rollups"
    );
    let stats = ingest.finish().await?;
    tracing::debug!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "import committed"
    );
    Ok(ImportReport {
        path: path.to_path_buf(),
        format,
        rows,
        skipped: issues,
        missing,
        notes,
        stats,
        elapsed: started.elapsed(),
    })
}

/// Records of the generic schema sent as JSON objects (the ingestion API), all or nothing: the
/// records, or every problem, numbered from 1 in the order sent. Unknown keys become notes.
pub fn parse_json_records(
    values: &[serde_json::Value],
) -> Result<(Vec<Record>, Vec<String>), Vec<RowIssue>> {
    // One object per line is exactly the JSON Lines format, whose parser names the line.
    let mut text = String::new();
    for v in values {
        text.push_str(&serde_json::to_string(v).unwrap_or_else(|_| "null".into()));
        text.push('\n');
    }
    let mut parser = generic::JsonlParser::new(text.as_bytes());
    let mut missing = MissingCells::default();
    let mut records = Vec::new();
    let mut issues = Vec::new();
    while let Some((_, parsed)) = parser.next_row(&mut missing) {
        match parsed {
            Ok(r) => records.extend(r),
            Err(issue) if issues.len() < MAX_LISTED_ISSUES => issues.push(issue),
            Err(_) => {}
        }
    }
    if issues.is_empty() {
        let mut notes = parser.notes();
        notes.extend(missing.lines());
        Ok((records, notes))
    } else {
        Err(issues)
    }
}

/// Writes parsed records in one transaction.
pub async fn ingest_records(
    store: &Store,
    records: &[Record],
    batch_size: usize,
) -> Result<IngestStats, StoreError> {
    let mut ingest = store.begin_ingest(Source::Import, batch_size).await?;
    add_all(&mut ingest, records).await?;
    ingest.finish().await
}

async fn add_all(ingest: &mut Ingest, records: &[Record]) -> Result<(), StoreError> {
    for r in records {
        ingest.add(r).await?;
    }
    Ok(())
}

fn progress_bar(len: u64) -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(len);
    pb.set_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} importing [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta} left)",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    pb
}

enum SniffError {
    Io(std::io::Error),
    Unknown(String),
}

/// Names UTF-16 text from its byte-order mark, or from the zero bytes every ASCII character
/// carries in it.
fn utf16(buf: &[u8]) -> Option<&'static str> {
    match buf {
        [0xFF, 0xFE, ..] => return Some("UTF-16 (little-endian)"),
        [0xFE, 0xFF, ..] => return Some("UTF-16 (big-endian)"),
        _ => {}
    }
    let head = &buf[..buf.len().min(512)];
    let zeros = |offset: usize| {
        head.iter()
            .skip(offset)
            .step_by(2)
            .filter(|b| **b == 0)
            .count()
    };
    let pairs = head.len() / 2;
    if pairs >= 4 && zeros(1) * 10 >= pairs * 9 {
        Some("UTF-16 (little-endian)")
    } else if pairs >= 4 && zeros(0) * 10 >= pairs * 9 {
        Some("UTF-16 (big-endian)")
    } else {
        None
    }
}

/// Recognises the format from the first bytes without consuming them.
fn sniff(reader: &mut impl BufRead) -> Result<Format, SniffError> {
    let buf = reader.fill_buf().map_err(SniffError::Io)?;
    if let Some(encoding) = utf16(buf) {
        return Err(SniffError::Unknown(format!(
            "the file is {encoding}, which vibe doesn't read: save it as UTF-8 (in Excel, \
             \"CSV UTF-8\") and import it again"
        )));
    }
    let text = String::from_utf8_lossy(&buf[..buf.len().min(4096)]);
    let text = text.trim_start_matches('\u{feff}').trim_start();
    if text.is_empty() {
        return Err(SniffError::Unknown("the file is empty".into()));
    }
    if text.starts_with('{') {
        return Ok(Format::Jsonl);
    }
    let header = text.lines().next().unwrap_or_default().to_ascii_lowercase();
    if header.contains("page total likes") && header.contains("lifetime post total reach") {
        return Ok(Format::Facebook);
    }
    if header.contains("platform") {
        return Ok(Format::Csv);
    }
    Err(SniffError::Unknown(
        "not a format vibe knows: expected a CSV whose header names the generic schema's \
         columns (platform, account, observed_at, … or day, campaign, …), JSON Lines, or the \
         Facebook Insights post export; name it with --format"
            .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_files_are_named_as_such() {
        let text = "platform,account\nx,a\n";
        let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
        let with_bom = [&[0xFF, 0xFE][..], &le].concat();
        for (bytes, want) in [
            (&le[..], Some("UTF-16 (little-endian)")),
            (&be[..], Some("UTF-16 (big-endian)")),
            (&with_bom[..], Some("UTF-16 (little-endian)")),
            (text.as_bytes(), None),
            ("é,ü\n".as_bytes(), None),
        ] {
            assert_eq!(utf16(bytes), want, "{bytes:?}");
        }
        let mut reader = std::io::Cursor::new(with_bom);
        match sniff(&mut reader) {
            Err(SniffError::Unknown(m)) => assert!(m.contains("save it as UTF-8"), "{m}"),
            _ => panic!("UTF-16 refused"),
        }
    }

    #[test]
    fn sniffs_formats() {
        let cases: &[(&str, Option<Format>)] = &[
            ("{\"platform\":\"x\"}\n", Some(Format::Jsonl)),
            ("\u{feff}platform,account,observed_at\n", Some(Format::Csv)),
            ("day;platform;campaign;spend\n", Some(Format::Csv)),
            (
                "Page total likes;Type;Category;Post Month;Post Weekday;Post Hour;Paid;Lifetime Post Total Reach\n",
                Some(Format::Facebook),
            ),
            ("name,age\nbob,3\n", None),
            ("", None),
        ];
        for (text, want) in cases {
            let got = sniff(&mut text.as_bytes()).ok();
            assert_eq!(got, *want, "{text:?}");
        }
    }

    #[test]
    fn missing_cells_summarise_per_column() {
        let mut m = MissingCells::default();
        for line in 2..15 {
            m.record("like", line);
        }
        m.record("paid", 501);
        assert_eq!(m.total(), 14);
        assert_eq!(
            m.lines(),
            vec![
                "column like: 13 empty cells stored as unknown (line 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, …)".to_string(),
                "column paid: 1 empty cell stored as unknown (line 501)".to_string(),
            ]
        );
    }
}
