//! Secrets: read from the environment only, checked for their prefix, never printed.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::ConfigError;

/// Secrets, read from the environment only and never printed.
#[derive(Default)]
pub struct Secrets {
    pub slack_bot_token: Option<SecretString>,
    pub slack_signing_secret: Option<SecretString>,
    pub slack_app_token: Option<SecretString>,
    pub openai_api_key: Option<SecretString>,
    pub x_bearer_token: Option<SecretString>,
    pub instagram_access_token: Option<SecretString>,
    pub tiktok_access_token: Option<SecretString>,
    pub linkedin_access_token: Option<SecretString>,
    pub reddit_client_secret: Option<SecretString>,
    /// Lets a scraper from another machine read `/metrics` (as a bearer token); without it
    /// only loopback clients may.
    pub metrics_token: Option<SecretString>,
}

/// The environment variables that hold secrets, with the prefix each must start with.
pub const SECRET_VARS: [(&str, Option<&str>); 10] = [
    ("SLACK_BOT_TOKEN", Some("xoxb-")),
    ("SLACK_SIGNING_SECRET", None),
    ("SLACK_APP_TOKEN", Some("xapp-")),
    ("OPENAI_API_KEY", None),
    ("X_BEARER_TOKEN", None),
    ("INSTAGRAM_ACCESS_TOKEN", None),
    ("TIKTOK_ACCESS_TOKEN", None),
    ("LINKEDIN_ACCESS_TOKEN", None),
    ("REDDIT_CLIENT_SECRET", None),
    ("METRICS_TOKEN", None),
];

impl Secrets {
    /// Reads the secrets through `env`; an empty variable counts as unset.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut found: Vec<Option<SecretString>> = Vec::with_capacity(SECRET_VARS.len());
        for (var, prefix) in SECRET_VARS {
            let value = env(var).filter(|v| !v.trim().is_empty());
            if let (Some(v), Some(prefix)) = (&value, prefix) {
                if !v.starts_with(prefix) {
                    return Err(ConfigError::Secret {
                        var: var.to_string(),
                        message: format!("expected a token starting with {prefix}"),
                    });
                }
            }
            found.push(value.map(SecretString::from));
        }
        let mut it = found.into_iter();
        let mut next = || it.next().flatten();
        Ok(Secrets {
            slack_bot_token: next(),
            slack_signing_secret: next(),
            slack_app_token: next(),
            openai_api_key: next(),
            x_bearer_token: next(),
            instagram_access_token: next(),
            tiktok_access_token: next(),
            linkedin_access_token: next(),
            reddit_client_secret: next(),
            metrics_token: next(),
        })
    }

    /// Whether each secret is set, in [`SECRET_VARS`] order, without revealing any.
    pub fn presence(&self) -> [(&'static str, bool); 10] {
        let all = [
            &self.slack_bot_token,
            &self.slack_signing_secret,
            &self.slack_app_token,
            &self.openai_api_key,
            &self.x_bearer_token,
            &self.instagram_access_token,
            &self.tiktok_access_token,
            &self.linkedin_access_token,
            &self.reddit_client_secret,
            &self.metrics_token,
        ];
        std::array::from_fn(|i| {
            (
                SECRET_VARS[i].0,
                all[i]
                    .as_ref()
                    .is_some_and(|s| !s.expose_secret().is_empty()),
            )
        })
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Secrets");
        for (var, set) in self.presence() {
            d.field(var, &if set { "[redacted]" } else { "[unset]" });
        }
        d.finish()
    }
}
