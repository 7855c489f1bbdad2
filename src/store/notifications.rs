//! Notifications: what the engines announce (a concluded test, an opened or reopened alert),
//! written in the same transaction as the change and handed to the outbox by `slack::notify`.

use sqlx::Row;

use super::{unix_now, Result, Store};

impl Store {
    /// Undelivered notifications: (id, kind, subject, body).
    pub async fn pending_notifications(&self) -> Result<Vec<(i64, String, i64, String)>> {
        let rows = sqlx::query(
            "SELECT id, kind, subject_id, body FROM notifications \
             WHERE delivered_at IS NULL AND set_aside_at IS NULL ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect()
    }
}

crate::domain::text_enum!(
    /// What a notification announces.
    NotificationKind {
        ExperimentConcluded => "experiment_concluded",
        AlertOpened => "alert_opened",
        /// A snoozed alert found again after its snooze ran out.
        AlertReopened => "alert_reopened",
    }
);

/// Queues an announcement of `subject` (handed to the outbox by `slack::notify`).
pub(super) async fn insert_notification(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    kind: NotificationKind,
    subject: i64,
    body: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO notifications (kind, subject_id, body, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(kind.as_str())
    .bind(subject)
    .bind(body)
    .bind(unix_now())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
