//! The application layer both adapters share: the command grammar ([`grammar`]) and typed
//! handlers that return what happened as data. The terminal renders the answers as text or
//! JSON (`cli`), Slack as Block Kit (`slack`); neither adapter reaches into the other.

pub mod abtest;
pub mod grammar;
pub mod new_test;
pub mod schedule;

use futures_util::future::BoxFuture;

use crate::store::StoreError;

/// Why a command didn't complete.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The command was wrong: the message says what to change (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// A design with fields to change, each line naming the field as it was typed (exit 2).
    #[error("the design needs changes; nothing was created:\n{}", .0.join("\n"))]
    Fields(Vec<String>),
    /// The command was right but couldn't be done (exit code 1).
    #[error("{0}")]
    Failed(String),
    /// vibe's own failure (the database): logged with a reference, never shown in full.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Internal(e.into())
    }
}

/// What the application needs to know of the Slack workspace, whichever adapter runs it
/// (the Slack Web API client implements it).
pub trait Workspace: Send + Sync {
    /// The ID of the channel called `name` (without `#`) that vibe can see, if any.
    fn channel_id<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<String>, String>>;

    /// Who vibe is signed in as (`U0BOT in Acme`), checking its token.
    fn signed_in_as(&self) -> BoxFuture<'_, Result<String, String>>;
}

/// Keeps daily rollups in every zone whose days people read: `report.timezone`, the
/// scheduler's zone and each digest schedule's. Run when a command or the server opens the
/// store; a zone added here has its rollups built from the stored snapshots first. The
/// configuration's zones must be kept (an error otherwise); a schedule's zone beyond the most
/// vibe keeps is left out with a warning (its digests then say why they can't run).
pub async fn keep_configured_zones(
    store: &crate::store::Store,
    settings: &crate::config::Settings,
) -> Result<(), StoreError> {
    // One read at start-up; only a zone not kept yet goes further.
    let kept = store.rollup_zones().await?;
    let missing = |tz: &chrono_tz::Tz| !kept.contains(&crate::domain::days::canonical(*tz));
    // The configuration's zones first: without them reports and detectors can't run.
    let configured = [settings.report.timezone.0, settings.scheduler.timezone.0];
    store
        .keep_zones(configured.into_iter().filter(missing))
        .await?;
    for s in store.schedules().await? {
        let Ok(tz) = s.timezone.parse() else { continue };
        if !missing(&tz) {
            continue;
        }
        match store.keep_zone(tz).await {
            Ok(_) => {}
            Err(StoreError::TooManyZones(m)) => tracing::warn!("schedule #{}: {m}", s.id),
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
