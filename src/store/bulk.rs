//! Bulk reads as one JSON text: the database wraps a query's rows into a JSON array, so tens of
//! thousands of rows cross from SQLite's worker thread (or PostgreSQL) as one value.

use super::StoreError;
use crate::config::Backend;

/// Wraps a query's columns into one JSON array of rows, computed by the database.
///
/// sqlx hands every result row from SQLite's worker thread to the caller separately, at several
/// microseconds a row; a report reads tens of thousands of rows, so the bulk reads come back as
/// one JSON text instead (integers and text only: JSON keeps them exact).
pub(super) fn json_rows(backend: Backend, columns: &[String], from_where: &str) -> String {
    let cols = columns.join(", ");
    match backend {
        Backend::Sqlite => {
            format!("SELECT COALESCE(json_group_array(json_array({cols})), '[]') FROM {from_where}")
        }
        Backend::Postgres => format!(
            "SELECT COALESCE(json_agg(json_build_array({cols})), '[]')::text FROM {from_where}"
        ),
    }
}

/// Like [`json_rows`], with each row an object keyed by the given names.
pub(super) fn json_objects(
    backend: Backend,
    columns: &[(&str, String)],
    from_where: &str,
) -> String {
    let pairs = columns
        .iter()
        .map(|(k, v)| format!("'{k}', {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    match backend {
        Backend::Sqlite => format!(
            "SELECT COALESCE(json_group_array(json_object({pairs})), '[]') FROM {from_where}"
        ),
        Backend::Postgres => format!(
            "SELECT COALESCE(json_agg(json_build_object({pairs})), '[]')::text FROM {from_where}"
        ),
    }
}

/// A bulk result that doesn't read as the rows asked for.
pub(super) fn json_err(e: serde_json::Error) -> StoreError {
    StoreError::Conflict(format!("unreadable bulk result: {e}"))
}
