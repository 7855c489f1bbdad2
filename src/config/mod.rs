//! Configuration: settings from layered TOML plus `VIBE_` environment variables, and secrets
//! from the environment only.
//!
//! Layers, later wins: the built-in `config/default.toml` (it documents every setting), then
//! `config/local.toml` or the file given with `--config`, then `DATABASE_URL` (an alias), then
//! `VIBE_<SECTION>__<KEY>` variables. Every key must exist in the defaults, so a typo stops
//! start-up with a message naming it instead of being ignored.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

mod secrets;
mod values;

pub use secrets::{Secrets, SECRET_VARS};
use values::redact_password;
pub use values::{Currency, DatabaseUrl};

/// The defaults, built into the binary so vibe runs from any directory.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");

/// The local override file read when no `--config` is given and it exists.
pub const LOCAL_CONFIG: &str = "config/local.toml";

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("can't read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin} is not valid TOML: {message}")]
    Syntax { origin: String, message: String },
    #[error("unknown setting `{key}` in {origin}; known settings: {known}")]
    UnknownKey {
        key: String,
        origin: String,
        known: String,
    },
    #[error("setting `{key}`: {message}")]
    Invalid { key: String, message: String },
    #[error("{var} is not a setting; settings are written VIBE_<SECTION>__<KEY> with two underscores, e.g. VIBE_DATABASE__URL")]
    StrayVariable { var: String },
    #[error("{var}: {message}")]
    Secret { var: String, message: String },
}

/// All settings, each documented with its default in `config/default.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    pub database: DatabaseSettings,
    pub report: ReportSettings,
    pub detectors: DetectorSettings,
    pub import: ImportSettings,
    pub demo: DemoSettings,
    pub log: LogSettings,
    pub server: ServerSettings,
    pub slack: SlackSettings,
    pub roles: RoleSettings,
    pub scheduler: SchedulerSettings,
    pub retention: RetentionSettings,
}

/// Scheduled jobs of `vibe serve` and `vibe start`: crontab expressions in `timezone`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    pub enabled: bool,
    pub timezone: TimeZone,
    pub analysis: String,
    pub abtests: String,
    pub retention: String,
    pub daily_digest: String,
    pub weekly_digest: String,
    pub digest_channel: String,
    pub catch_up_secs: u64,
    pub lease_secs: u64,
    /// Accept a leading seconds field in these expressions and in stored schedules (sub-minute
    /// schedules for tests); what people type is always 5 fields.
    pub seconds_field: bool,
}

/// Who may do what from Slack (DESIGN.md §7). Everyone is a viewer; each list names Slack user
/// IDs (U…, W…) and user-group IDs (S…) whose members get the role. An admin has every role.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleSettings {
    pub analyst: Vec<String>,
    pub approver: Vec<String>,
    pub admin: Vec<String>,
    pub group_cache_secs: u64,
}

/// The HTTP server of `vibe serve`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerSettings {
    pub listen: String,
    pub max_body_bytes: usize,
    /// How long a client may take to send a request's headers, then its body.
    pub header_timeout_ms: u64,
    pub body_timeout_ms: u64,
    /// Heavy work started from Slack (reports over long ranges): how many may run at once in
    /// all, how many per person, and how long one may take.
    pub heavy_concurrency: usize,
    pub heavy_queue: usize,
    pub heavy_per_user: usize,
    pub heavy_deadline_secs: u64,
}

/// How vibe talks to Slack.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackSettings {
    pub api_url: String,
    pub request_timeout_ms: u64,
    pub channels: Vec<ChannelBrand>,
    pub outbox_lease_secs: i64,
    /// How long after it was queued a message that keeps failing to reach Slack (429, 5xx,
    /// timeouts) is given up on, in seconds.
    pub outbox_lifetime_secs: i64,
    pub alerts_channel: String,
}

/// A channel whose reports cover one brand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelBrand {
    pub id: String,
    pub brand: String,
}

impl SlackSettings {
    /// The brand a channel is mapped to, if any.
    pub fn brand_of(&self, channel: &str) -> Option<&str> {
        self.channels
            .iter()
            .find(|c| c.id == channel)
            .map(|c| c.brand.as_str())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    pub url: DatabaseUrl,
    pub max_connections: u32,
    pub busy_timeout_ms: u64,
    pub sqlite_cache_mib: u64,
    /// How long opening a connection may take before it counts as failed.
    pub connect_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSettings {
    pub currency: Currency,
    pub timezone: TimeZone,
}

pub use crate::analytics::detect::DetectorSettings;

/// An IANA time zone such as `Europe/Paris`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TimeZone(pub chrono_tz::Tz);

impl TryFrom<String> for TimeZone {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.trim()
            .parse::<chrono_tz::Tz>()
            .map(TimeZone)
            .map_err(|_| {
                format!("{s:?} is not an IANA time zone like Europe/Paris or America/New_York")
            })
    }
}

impl From<TimeZone> for String {
    fn from(t: TimeZone) -> String {
        t.0.name().to_string()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportSettings {
    pub batch_size: usize,
    pub progress_min_bytes: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DemoSettings {
    pub seed: u64,
    pub days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    pub level: String,
    pub format: LogFormat,
}

/// How log lines are written to stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// What old data is thinned, and when it counts as old.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    pub snapshot_days: u32,
}

/// Which database engine a URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Environment variables starting with `VIBE_` that are not settings.
const NON_SETTING_VARS: [&str; 2] = ["VIBE_CONFIG", "VIBE_TEST_DATABASE_URL"];

/// Everything vibe is configured with.
#[derive(Debug)]
pub struct Config {
    pub settings: Settings,
    pub secrets: Secrets,
}

impl Config {
    /// Loads the configuration from the process environment and files.
    pub fn load(config_file: Option<&Path>) -> Result<Config, ConfigError> {
        let vars: BTreeMap<String, String> = std::env::vars().collect();
        Config::load_from(config_file, &vars)
    }

    /// Loads with an explicit environment, for tests.
    pub fn load_from(
        config_file: Option<&Path>,
        vars: &BTreeMap<String, String>,
    ) -> Result<Config, ConfigError> {
        let settings = load_settings(config_file, vars)?;
        let secrets = Secrets::from_env(&|k| vars.get(k).cloned())?;
        Ok(Config { settings, secrets })
    }
}

fn load_settings(
    config_file: Option<&Path>,
    vars: &BTreeMap<String, String>,
) -> Result<Settings, ConfigError> {
    let defaults = parse_toml(DEFAULT_TOML, "the built-in defaults")?;
    let mut merged = defaults.clone();

    let file = match config_file {
        Some(p) => Some(p.to_path_buf()),
        None => {
            let local = PathBuf::from(LOCAL_CONFIG);
            local.exists().then_some(local)
        }
    };
    if let Some(path) = file {
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let origin = path.display().to_string();
        let layer = parse_toml(&text, &origin)?;
        merge_layer(&mut merged, &defaults, &layer, "", &origin).map_err(|e| match e {
            ConfigError::UnknownKey { key, origin, .. } => ConfigError::UnknownKey {
                key,
                origin,
                known: known_keys(&defaults),
            },
            e => e,
        })?;
    }

    let mut overrides: Vec<(String, String, String)> = Vec::new();
    if let Some(url) = vars.get("DATABASE_URL").filter(|v| !v.is_empty()) {
        overrides.push(("database.url".into(), url.clone(), "DATABASE_URL".into()));
    }
    for (var, value) in vars {
        let Some(rest) = var.strip_prefix("VIBE_") else {
            continue;
        };
        if NON_SETTING_VARS.contains(&var.as_str()) {
            continue;
        }
        if !rest.contains("__") {
            return Err(ConfigError::StrayVariable { var: var.clone() });
        }
        let key = rest.to_ascii_lowercase().replace("__", ".");
        overrides.push((key, value.clone(), var.clone()));
    }
    for (key, value, origin) in overrides {
        set_from_env(&mut merged, &defaults, &key, &value, &origin)?;
    }

    let settings: Settings =
        serde_path_to_error::deserialize(toml::Value::Table(merged)).map_err(|e| {
            ConfigError::Invalid {
                key: e.path().to_string(),
                message: e.inner().to_string(),
            }
        })?;
    validate(&settings)?;
    Ok(settings)
}

fn parse_toml(text: &str, origin: &str) -> Result<toml::Table, ConfigError> {
    text.parse::<toml::Table>()
        .map_err(|e| ConfigError::Syntax {
            origin: origin.to_string(),
            message: e.message().to_string(),
        })
}

fn known_keys(defaults: &toml::Table) -> String {
    let mut keys = Vec::new();
    for (section, v) in defaults {
        if let toml::Value::Table(t) = v {
            keys.extend(t.keys().map(|k| format!("{section}.{k}")));
        }
    }
    keys.join(", ")
}

/// Merges `layer` into `merged`, refusing keys the defaults don't have.
fn merge_layer(
    merged: &mut toml::Table,
    defaults: &toml::Table,
    layer: &toml::Table,
    prefix: &str,
    origin: &str,
) -> Result<(), ConfigError> {
    for (k, v) in layer {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        let Some(default) = defaults.get(k) else {
            return Err(ConfigError::UnknownKey {
                key: path,
                origin: origin.to_string(),
                known: String::new(),
            });
        };
        match (default, v) {
            (toml::Value::Table(dt), toml::Value::Table(lt)) => {
                let Some(toml::Value::Table(mt)) = merged.get_mut(k) else {
                    unreachable!("merged starts as a copy of the defaults");
                };
                merge_layer(mt, dt, lt, &path, origin)?;
            }
            (toml::Value::Table(_), _) => {
                return Err(ConfigError::Invalid {
                    key: path,
                    message: "is a section, not a value".into(),
                })
            }
            _ => {
                merged.insert(k.clone(), v.clone());
            }
        }
    }
    Ok(())
}

/// Sets one dotted key from an environment string, typed like the default at that key.
fn set_from_env(
    merged: &mut toml::Table,
    defaults: &toml::Table,
    key: &str,
    value: &str,
    origin: &str,
) -> Result<(), ConfigError> {
    let unknown = || ConfigError::UnknownKey {
        key: key.to_string(),
        origin: origin.to_string(),
        known: known_keys(defaults),
    };
    let (section, name) = key.split_once('.').ok_or_else(unknown)?;
    let default = defaults
        .get(section)
        .and_then(|s| s.as_table())
        .and_then(|s| s.get(name))
        .ok_or_else(unknown)?;
    let invalid = |message: String| ConfigError::Invalid {
        key: key.to_string(),
        message: format!("{message} (from {origin})"),
    };
    let typed = match default {
        toml::Value::String(_) => toml::Value::String(value.to_string()),
        toml::Value::Integer(_) => toml::Value::Integer(
            value
                .trim()
                .parse()
                .map_err(|_| invalid(format!("{value:?} is not a whole number")))?,
        ),
        toml::Value::Float(_) => toml::Value::Float(
            value
                .trim()
                .parse()
                .map_err(|_| invalid(format!("{value:?} is not a number")))?,
        ),
        toml::Value::Boolean(_) => toml::Value::Boolean(
            value
                .trim()
                .parse()
                .map_err(|_| invalid(format!("{value:?} is not true or false")))?,
        ),
        _ => {
            let doc = format!("v = {value}");
            parse_toml(&doc, origin)?
                .remove("v")
                .ok_or_else(|| invalid("empty value".into()))?
        }
    };
    if let Some(toml::Value::Table(s)) = merged.get_mut(section) {
        s.insert(name.to_string(), typed);
    }
    Ok(())
}

fn validate(s: &Settings) -> Result<(), ConfigError> {
    let fail = |key: &str, message: &str| {
        Err(ConfigError::Invalid {
            key: key.to_string(),
            message: message.to_string(),
        })
    };
    if s.database.max_connections == 0 {
        return fail("database.max_connections", "must be at least 1");
    }
    for (key, expr) in [
        ("scheduler.analysis", &s.scheduler.analysis),
        ("scheduler.abtests", &s.scheduler.abtests),
        ("scheduler.retention", &s.scheduler.retention),
        ("scheduler.daily_digest", &s.scheduler.daily_digest),
        ("scheduler.weekly_digest", &s.scheduler.weekly_digest),
    ] {
        if !expr.trim().is_empty() {
            if let Err(e) = crate::scheduler::CronSpec::parse_with(expr, s.scheduler.seconds_field)
            {
                return fail(key, &e.to_string());
            }
        }
    }
    if s.scheduler.lease_secs < 10 {
        return fail("scheduler.lease_secs", "must be at least 10");
    }
    if s.retention.snapshot_days < 2 {
        return fail("retention.snapshot_days", "must be at least 2");
    }
    if !(1..=5000).contains(&s.import.batch_size) {
        return fail("import.batch_size", "must be between 1 and 5000");
    }
    let d = &s.detectors;
    if !(d.drop_threshold > 0.0 && d.drop_threshold < 1.0) {
        return fail(
            "detectors.drop_threshold",
            "must be between 0 and 1 (0.25 = 25%)",
        );
    }
    if d.viral_multiple.is_nan() || d.viral_multiple <= 1.0 {
        return fail("detectors.viral_multiple", "must be above 1");
    }
    if !(d.low_engagement_rate >= 0.0 && d.low_engagement_rate < 1.0) {
        return fail("detectors.low_engagement_rate", "must be between 0 and 1");
    }
    if d.cost_per_lead_target.is_nan() || d.cost_per_lead_target < 0.0 {
        return fail("detectors.cost_per_lead_target", "can't be negative");
    }
    if d.cost_per_lead_margin.is_nan() || d.cost_per_lead_margin < 0.0 {
        return fail("detectors.cost_per_lead_margin", "can't be negative");
    }
    if d.drop_min_volume < 0 || d.viral_min_engagements < 0 || d.low_engagement_min_volume < 0 {
        return fail("detectors", "minimum volumes can't be negative");
    }
    if !(7..=730).contains(&s.demo.days) {
        return fail("demo.days", "must be between 7 and 730");
    }
    if s.server.listen.parse::<std::net::SocketAddr>().is_err() {
        return fail(
            "server.listen",
            &format!(
                "{:?} is not an address and port like 127.0.0.1:3000",
                s.server.listen
            ),
        );
    }
    if s.server.max_body_bytes < 1024 {
        return fail("server.max_body_bytes", "must be at least 1024");
    }
    if !(s.slack.api_url.starts_with("https://") || s.slack.api_url.starts_with("http://"))
        || s.slack.api_url.ends_with('/')
    {
        return fail(
            "slack.api_url",
            "must be an http(s) URL without a trailing slash, like https://slack.com/api",
        );
    }
    if s.slack.request_timeout_ms == 0
        || s.slack.outbox_lease_secs < 5
        || !(60..=7 * 86_400).contains(&s.slack.outbox_lifetime_secs)
    {
        return fail(
            "slack",
            "request_timeout_ms must be above 0, outbox_lease_secs at least 5 and outbox_lifetime_secs between 60 and 604800 (a week)",
        );
    }
    if s.server.header_timeout_ms == 0 || s.server.body_timeout_ms == 0 {
        return fail(
            "server",
            "header_timeout_ms and body_timeout_ms must be above 0",
        );
    }
    if s.server.heavy_concurrency == 0
        || s.server.heavy_per_user == 0
        || s.server.heavy_deadline_secs == 0
    {
        return fail(
            "server",
            "heavy_concurrency, heavy_per_user and heavy_deadline_secs must be at least 1",
        );
    }
    if !(1..=300).contains(&s.database.connect_timeout_secs) {
        return fail("database.connect_timeout_secs", "must be between 1 and 300");
    }
    if let Err(e) = tracing_subscriber::EnvFilter::try_new(&s.log.level) {
        return fail(
            "log.level",
            &format!("{:?} is not a log filter: {e}", s.log.level),
        );
    }
    Ok(())
}

impl Settings {
    /// The effective settings as TOML, with any database password hidden.
    pub fn to_redacted_toml(&self) -> String {
        let mut copy = self.clone();
        copy.database.url = DatabaseUrl(self.database.url.redacted());
        // A proxy URL may carry credentials too.
        copy.slack.api_url = redact_password(&self.slack.api_url);
        toml::to_string(&copy).unwrap_or_else(|e| format!("# can't render settings: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(file: Option<&str>, vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("local.toml");
        let file = file.map(|text| {
            std::fs::write(&path, text).unwrap();
            path.as_path()
        });
        // Always pass a file (an empty one) so a developer's own config/local.toml can't leak in.
        let empty = dir.path().join("empty.toml");
        std::fs::write(&empty, "").unwrap();
        Config::load_from(Some(file.unwrap_or(&empty)), &vars)
    }

    #[test]
    fn defaults_load() {
        let c = load(None, &[]).unwrap();
        assert_eq!(c.settings.database.url.expose(), "sqlite://vibe.db");
        assert_eq!(c.settings.database.url.backend(), Backend::Sqlite);
        assert_eq!(c.settings.report.currency.code(), "USD");
        assert!(c.secrets.slack_bot_token.is_none());
    }

    #[test]
    fn layers_and_precedence() {
        let cases: &[(&str, Option<&str>, &[(&str, &str)], &str)] = &[
            (
                "file overrides default",
                Some("[database]\nurl = \"sqlite://file.db\"\n"),
                &[],
                "sqlite://file.db",
            ),
            (
                "DATABASE_URL overrides the file",
                Some("[database]\nurl = \"sqlite://file.db\"\n"),
                &[("DATABASE_URL", "postgres://u@h/db")],
                "postgres://u@h/db",
            ),
            (
                "VIBE_DATABASE__URL wins over DATABASE_URL",
                None,
                &[
                    ("DATABASE_URL", "postgres://u@h/db"),
                    ("VIBE_DATABASE__URL", "sqlite://env.db"),
                ],
                "sqlite://env.db",
            ),
        ];
        for (name, file, vars, want) in cases {
            let c = load(*file, vars).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(c.settings.database.url.expose(), *want, "{name}");
        }
    }

    #[test]
    fn env_values_are_typed_like_the_default() {
        let c = load(
            None,
            &[
                ("VIBE_IMPORT__BATCH_SIZE", "250"),
                ("VIBE_REPORT__CURRENCY", "eur"),
            ],
        )
        .unwrap();
        assert_eq!(c.settings.import.batch_size, 250);
        assert_eq!(c.settings.report.currency.code(), "EUR");
        assert_eq!(c.settings.report.currency.symbol(), "€");
    }

    #[test]
    fn wrong_values_name_their_key() {
        let cases: &[(&str, Option<&str>, &[(&str, &str)], &str)] = &[
            (
                "unknown key in file",
                Some("[database]\nurll = \"x\"\n"),
                &[],
                "database.urll",
            ),
            (
                "unknown section in file",
                Some("[databse]\nurl = \"x\"\n"),
                &[],
                "databse",
            ),
            (
                "unknown key in env",
                None,
                &[("VIBE_DATABASE__URLL", "x")],
                "database.urll",
            ),
            (
                "single underscore",
                None,
                &[("VIBE_DATABASE_URL", "x")],
                "VIBE_DATABASE_URL",
            ),
            (
                "bad url",
                None,
                &[("VIBE_DATABASE__URL", "mysql://x")],
                "database.url",
            ),
            (
                "negative number",
                Some("[database]\nbusy_timeout_ms = -5\n"),
                &[],
                "database.busy_timeout_ms",
            ),
            (
                "text for a number",
                None,
                &[("VIBE_DATABASE__MAX_CONNECTIONS", "many")],
                "database.max_connections",
            ),
            (
                "zero connections",
                Some("[database]\nmax_connections = 0\n"),
                &[],
                "database.max_connections",
            ),
            (
                "bad currency",
                None,
                &[("VIBE_REPORT__CURRENCY", "dollars")],
                "report.currency",
            ),
            (
                "bad log filter",
                None,
                &[("VIBE_LOG__LEVEL", "vibe=loud")],
                "log.level",
            ),
            ("bad toml", Some("[database\n"), &[], "not valid TOML"),
            (
                "bot token prefix",
                None,
                &[("SLACK_BOT_TOKEN", "xapp-1")],
                "SLACK_BOT_TOKEN",
            ),
        ];
        for (name, file, vars, needle) in cases {
            let err = load(*file, vars)
                .err()
                .unwrap_or_else(|| panic!("{name}: loaded"));
            let msg = err.to_string();
            assert!(
                msg.contains(needle),
                "{name}: {msg:?} should mention {needle:?}"
            );
        }
    }

    #[test]
    fn database_passwords_are_hidden_wherever_they_are_written() {
        let cases = [
            ("postgres://me:hunter2@db/vibe", "postgres://me:***@db/vibe"),
            (
                "postgres://me:p@ss@db:5432/vibe",
                "postgres://me:***@db:5432/vibe",
            ),
            ("postgres://me:a/b@c@db/vibe", "postgres://me:***@db/vibe"),
            (
                "postgres://u@h/db?password=X&sslmode=require",
                "postgres://u@h/db?password=***&sslmode=require",
            ),
            (
                "postgres://u@h/db?sslmode=disable&sslpassword=Y",
                "postgres://u@h/db?sslmode=disable&sslpassword=***",
            ),
            (
                "https://user:pw@proxy/api?x=1",
                "https://user:***@proxy/api?x=1",
            ),
            ("postgres://u@h/db", "postgres://u@h/db"),
            ("sqlite://vibe.db", "sqlite://vibe.db"),
            ("sqlite://vibe.db?mode=rwc", "sqlite://vibe.db?mode=rwc"),
        ];
        for (url, want) in cases {
            assert_eq!(redact_password(url), want, "{url}");
        }
        // Parameters the driver would log as unrecognised, value and all, are refused; a
        // string that isn't a URL at all is not echoed.
        for bad in [
            "postgres://u@h/db?PASSWORD=X",
            "postgres://u@h/db?sslpassword=X",
            "host=h port=1 password=X user=u",
        ] {
            let e = DatabaseUrl::parse(bad).unwrap_err();
            assert!(!e.contains("=X"), "{bad}: {e}");
        }
        assert!(DatabaseUrl::parse("postgres://u@h/db?password=X").is_ok());
    }

    #[test]
    fn secrets_never_print() {
        let c = load(
            None,
            &[
                ("SLACK_BOT_TOKEN", "xoxb-very-secret"),
                ("SLACK_SIGNING_SECRET", "shh"),
                ("VIBE_DATABASE__URL", "postgres://me:hunter2@db/vibe"),
            ],
        )
        .unwrap();
        let printed = format!("{c:?}\n{}", c.settings.to_redacted_toml());
        for secret in ["xoxb-very-secret", "shh\"", "hunter2"] {
            assert!(!printed.contains(secret), "{secret} leaked: {printed}");
        }
        assert!(printed.contains("postgres://me:***@db/vibe"));
        assert!(c.secrets.presence().contains(&("SLACK_BOT_TOKEN", true)));
    }

    #[test]
    fn test_variables_are_not_settings() {
        assert!(load(None, &[("VIBE_TEST_DATABASE_URL", "postgres://x@y/z")]).is_ok());
    }
}
