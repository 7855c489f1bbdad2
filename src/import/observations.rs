//! Experiment observations from CSV or JSON Lines: one row per variant, period and metric with
//! that period's sufficient statistics.
//!
//! Columns: `variant` (required), `period` (default `total`), `metric` (`primary`, the default,
//! or a guardrail's name), then by metric type: proportion `units`, `conversions`; mean `units`,
//! `sum`, `sum_sq`; rate `events`, `exposure`. A file is all or nothing.

use std::io::BufRead;
use std::path::Path;

use super::cells::{Cells, CsvRow, JsonRow, Row};
use super::generic::{csv_reader, next_record, CsvFile};
use super::{ImportError, MissingCells, RowIssue};
use crate::domain::Count;
use crate::experiments::design::MetricType;
use crate::store::Observation;

fn count(c: &Cells<'_, impl Row>, col: &str) -> Result<u64, RowIssue> {
    let v = c.required(col)?;
    Count::parse(&v)
        .map(Count::get)
        .map_err(|e| c.issue(col, e.to_string()))
}

/// The largest magnitude a sum may have, and a sum of squares: far beyond any real test, and
/// small enough that totals over many periods stay finite.
const MAX_SUM: f64 = 1e15;
const MAX_SUM_SQ: f64 = 1e30;

fn number(c: &Cells<'_, impl Row>, col: &str, limit: f64) -> Result<f64, RowIssue> {
    let v = c.required(col)?;
    let x = v
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| c.issue(col, format!("{v:?} is not a number")))?;
    if x.abs() > limit {
        return Err(c.issue(
            col,
            format!("{v} is larger than any test gives (the limit is {limit:e})"),
        ));
    }
    Ok(x)
}

fn parse_row(
    c: &Cells<'_, impl Row>,
    variants: &[&str],
    types: &dyn Fn(&str) -> Option<MetricType>,
) -> Result<Observation, RowIssue> {
    let variant = c.required("variant")?.into_owned();
    if !variants.contains(&variant.as_str()) {
        return Err(c.issue(
            "variant",
            format!(
                "the experiment has no variant {variant:?} (it has {})",
                variants.join(", ")
            ),
        ));
    }
    let metric = c.text("metric").unwrap_or_else(|| "primary".into());
    let period = c.text("period").unwrap_or_else(|| "total".into());
    let Some(kind) = types(&metric) else {
        return Err(c.issue(
            "metric",
            format!("the experiment has no metric {metric:?} (use primary or a guardrail's name)"),
        ));
    };
    let mut o = Observation {
        variant,
        metric,
        period,
        units: 0,
        conversions: None,
        sum: None,
        sum_sq: None,
        exposure: None,
    };
    match kind {
        MetricType::Proportion => {
            o.units = count(c, "units")?;
            let conv = count(c, "conversions")?;
            if conv > o.units {
                return Err(c.issue(
                    "conversions",
                    format!("{conv} conversions out of {} units", o.units),
                ));
            }
            o.conversions = Some(conv);
        }
        MetricType::Mean => {
            o.units = count(c, "units")?;
            let sum = number(c, "sum", MAX_SUM)?;
            let sum_sq = number(c, "sum_sq", MAX_SUM_SQ)?;
            if o.units > 0 && sum_sq < sum * sum / o.units as f64 * (1.0 - 1e-9) {
                return Err(c.issue(
                    "sum_sq",
                    "is smaller than sum² / units, which no data can give",
                ));
            }
            o.sum = Some(sum);
            o.sum_sq = Some(sum_sq);
        }
        MetricType::Rate => {
            o.conversions = Some(count(c, "events")?);
            let exposure = number(c, "exposure", crate::domain::MAX_COUNT as f64)?;
            if exposure < 0.0 {
                return Err(c.issue("exposure", "can't be negative"));
            }

            o.exposure = Some(exposure);
            o.units = exposure.round() as u64;
        }
    }
    Ok(o)
}

/// Observations sent as JSON objects (the ingestion API): every one, or every problem, numbered
/// from 1 in the order sent.
pub fn parse_observation_objects(
    values: &[serde_json::Value],
    variants: &[&str],
    types: &dyn Fn(&str) -> Option<MetricType>,
) -> Result<Vec<Observation>, Vec<RowIssue>> {
    let mut missing = MissingCells::default();
    let mut rows = Vec::new();
    let mut issues = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let n = i as u64 + 1;
        let Some(obj) = v.as_object() else {
            issues.push(RowIssue::new(n, None, "is not a JSON object"));
            continue;
        };
        let row = JsonRow(obj);
        let cells = Cells {
            row: &row,
            line: n,
            missing: &mut missing,
        };
        match parse_row(&cells, variants, types) {
            Ok(o) => rows.push(o),
            Err(e) => issues.push(e),
        }
    }
    if issues.is_empty() {
        Ok(rows)
    } else {
        Err(issues)
    }
}

/// Reads every observation of a file, or every problem with it.
pub fn read_observations(
    path: &Path,
    variants: &[&str],
    types: &dyn Fn(&str) -> Option<MetricType>,
) -> Result<Vec<Observation>, ImportError> {
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = std::io::BufReader::new(std::fs::File::open(path).map_err(io)?);
    let first = reader
        .fill_buf()
        .map_err(io)?
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied();
    let mut missing = MissingCells::default();
    let mut rows = Vec::new();
    let mut issues = Vec::new();
    if first == Some(b'{') {
        for (i, line) in reader.lines().enumerate() {
            let line_no = i as u64 + 1;
            let text = line.map_err(io)?;
            if text.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(&text) {
                Ok(obj) => {
                    let row = JsonRow(&obj);
                    let cells = Cells {
                        row: &row,
                        line: line_no,
                        missing: &mut missing,
                    };
                    match parse_row(&cells, variants, types) {
                        Ok(o) => rows.push(o),
                        Err(e) => issues.push(e),
                    }
                }
                Err(e) => issues.push(RowIssue::new(
                    line_no,
                    None,
                    format!("is not a JSON object: {e}"),
                )),
            }
        }
    } else {
        let CsvFile {
            reader: mut rdr,
            columns,
            ..
        } = csv_reader(reader).map_err(|issue| ImportError::Unrecognised {
            path: path.to_path_buf(),
            message: issue.to_string(),
        })?;
        if !columns.contains_key("variant") {
            return Err(ImportError::Unrecognised {
                path: path.to_path_buf(),
                message: "the header must name a variant column (then units, conversions, … by metric type)".into(),
            });
        }
        let mut record = csv::StringRecord::new();
        let mut done = false;
        while let Some((line, read)) = next_record(&mut rdr, &mut record, columns.len(), &mut done)
        {
            if let Err(issue) = read {
                issues.push(issue);
                continue;
            }
            let row = CsvRow {
                columns: &columns,
                record: &record,
            };
            let cells = Cells {
                row: &row,
                line,
                missing: &mut missing,
            };
            match parse_row(&cells, variants, types) {
                Ok(o) => rows.push(o),
                Err(e) => issues.push(e),
            }
        }
    }
    if !issues.is_empty() {
        return Err(ImportError::Invalid {
            path: path.to_path_buf(),
            issues,
        });
    }
    Ok(rows)
}
