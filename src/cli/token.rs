//! `vibe token …`: the ingestion API's bearer tokens.

use std::process::ExitCode;

use chrono::{DateTime, Utc};

use super::out;
use super::{OutputFormat, TokenCommand};
use crate::store::Store;

pub(super) async fn token(store: &Store, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let now = chrono::Utc::now().timestamp();
    match command {
        TokenCommand::Create { name, scopes } => {
            let name = name.trim().to_string();
            if let Err(m) = crate::api::check_token_name(&name) {
                eprintln!("error: {m}");
                return Ok(ExitCode::from(2));
            }
            // A closed stdout (or /dev/null) swallows writes without an error; the token would
            // be live and never seen.
            if !out::stdout_is_open() {
                eprintln!("error: standard output goes nowhere (closed or /dev/null), so the token couldn't be shown; nothing was created");
                return Ok(ExitCode::FAILURE);
            }
            let scopes: Vec<&str> = if scopes.is_empty() {
                crate::api::SCOPES.to_vec()
            } else {
                scopes.iter().map(String::as_str).collect()
            };
            if let Some(bad) = scopes.iter().find(|s| !crate::api::SCOPES.contains(s)) {
                eprintln!(
                    "error: unknown scope {bad:?}; scopes are {}",
                    crate::api::SCOPES.join(", ")
                );
                return Ok(ExitCode::from(2));
            }
            let token = crate::api::new_token();
            let prefix: String = token.chars().take(9).collect();
            match store
                .create_api_token(
                    name.trim(),
                    &crate::api::token_hash(&token),
                    &prefix,
                    &scopes,
                    now,
                )
                .await
            {
                Ok(_) => {
                    // The token exists only in this output: if it can't be written, it is
                    // revoked at once rather than left live and unknown.
                    if let Err(e) = out::write_flushed(&format!("{token}\n")) {
                        let revoked = store.revoke_api_token(name.trim(), now).await;
                        eprintln!(
                            "error: can't write the token to standard output ({e}); it was revoked{}. Run the command again.",
                            if revoked.is_ok() { "" } else { " (the revocation failed too: run vibe token revoke)" }
                        );
                        return Ok(ExitCode::FAILURE);
                    }
                    eprintln!(
                        "Token {name:?} ({}) created. It is shown only now: store it as a secret. \
                         Send it as `Authorization: Bearer <token>`.",
                        scopes.join(", ")
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(crate::store::StoreError::Conflict(m)) => {
                    eprintln!("error: {m}");
                    Ok(ExitCode::from(2))
                }
                Err(e) => Err(e.into()),
            }
        }
        TokenCommand::List { format } => {
            let tokens = store.api_tokens().await?;
            if format == OutputFormat::Json {
                outln!("{}", serde_json::to_string_pretty(&tokens)?);
            } else if tokens.is_empty() {
                outln!("No tokens. Create one with: vibe token create NAME");
            } else {
                let when = |t: Option<i64>| {
                    t.and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "-".into())
                };
                outln!(
                    "{:<20} {:<10} {:<34} {:<16} {:<16} revoked",
                    "name",
                    "prefix",
                    "scopes",
                    "created",
                    "last used"
                );
                for t in tokens {
                    outln!(
                        "{:<20} {:<10} {:<34} {:<16} {:<16} {}",
                        t.name,
                        t.prefix,
                        t.scopes.join(" "),
                        when(Some(t.created_at)),
                        when(t.last_used_at),
                        when(t.revoked_at)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { name } => {
            if store.revoke_api_token(&name, now).await? {
                outln!("Token {name:?} revoked.");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("error: no live token named {name:?}");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}
