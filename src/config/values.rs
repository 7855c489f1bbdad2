//! Setting values with rules of their own: a database URL (its password redacted wherever it is
//! shown) and a currency.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::Backend;

/// A database URL that names a backend vibe supports.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DatabaseUrl(pub(super) String);

impl DatabaseUrl {
    pub fn parse(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let ok = if let Some(path) = s.strip_prefix("sqlite:") {
            !path.trim_start_matches('/').is_empty() || path.contains(":memory:")
        } else if let Some(rest) = s
            .strip_prefix("postgres://")
            .or_else(|| s.strip_prefix("postgresql://"))
        {
            !rest.is_empty()
        } else {
            false
        };
        if !ok {
            // Not echoed: a string that isn't a URL may be a key=value DSN with a password.
            return Err(
                "the value is not a database URL vibe supports: use sqlite://PATH or postgres://USER@HOST:PORT/DB".into(),
            );
        }
        // A password parameter the driver doesn't know would be logged by it as "ignoring
        // unrecognized connect parameter", value and all.
        if let Some((_, query)) = s.split_once('?') {
            for pair in query.split('&') {
                let key = pair.split_once('=').map_or(pair, |(k, _)| k);
                if is_password_key(key) && key != "password" {
                    return Err(format!(
                        "{}: the parameter {key:?} is not one the database driver knows; give the password as password=… or in the user part (postgres://user:password@host/db)",
                        redact_password(s)
                    ));
                }
            }
        }
        Ok(DatabaseUrl(s.to_string()))
    }

    pub fn backend(&self) -> Backend {
        if self.0.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            Backend::Postgres
        }
    }

    /// The URL with any password hidden, for messages and logs.
    pub fn redacted(&self) -> String {
        redact_password(&self.0)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl TryFrom<String> for DatabaseUrl {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        DatabaseUrl::parse(&s)
    }
}

impl From<DatabaseUrl> for String {
    fn from(u: DatabaseUrl) -> String {
        u.0
    }
}

/// A URL query parameter that may hold a password (`password`, `sslpassword`, `PASS`, …).
pub(super) fn is_password_key(key: &str) -> bool {
    key.to_ascii_lowercase().contains("pass")
}

pub(super) fn redact_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let (main, query) = match rest.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (rest, None),
    };
    // The user information ends at the last `@`: a password may itself hold `@`, `:` or `/`.
    let main = match main.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => main.to_string(),
    };
    let query = query.map(|q| {
        q.split('&')
            .map(|pair| match pair.split_once('=') {
                Some((k, _)) if is_password_key(k) => format!("{k}=***"),
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    match query {
        Some(q) => format!("{scheme}://{main}?{q}"),
        None => format!("{scheme}://{main}"),
    }
}

/// An ISO 4217 currency code such as `USD`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(String);

impl Currency {
    pub fn code(&self) -> &str {
        &self.0
    }

    /// The symbol used when showing amounts; the code itself where there is no common one.
    pub fn symbol(&self) -> &str {
        crate::format::currency_symbol(&self.0)
    }
}

impl TryFrom<String> for Currency {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let code = s.trim().to_ascii_uppercase();
        if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) {
            Ok(Currency(code))
        } else {
            Err(format!(
                "{s:?} is not an ISO 4217 currency code like USD or EUR"
            ))
        }
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.0
    }
}
