//! Digest schedules: which digest goes to which channel, when, in which time zone.

use sqlx::Row;

use super::slack::{write_effects, AuditEntry, Effects};
use super::{unix_now, Result, Store, StoreError};

/// A digest schedule as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DigestSchedule {
    pub id: i64,
    /// `daily` or `weekly`.
    pub kind: String,
    pub cron: String,
    pub timezone: String,
    pub channel: String,
    pub created_by: String,
    pub created_at: i64,
}

/// A schedule to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSchedule {
    pub kind: String,
    pub cron: String,
    pub timezone: String,
    pub channel: String,
    pub created_by: String,
}

fn schedule_row(r: &sqlx::any::AnyRow) -> Result<DigestSchedule> {
    Ok(DigestSchedule {
        id: r.try_get(0)?,
        kind: r.try_get(1)?,
        cron: r.try_get(2)?,
        timezone: r.try_get(3)?,
        channel: r.try_get(4)?,
        created_by: r.try_get(5)?,
        created_at: r.try_get(6)?,
    })
}

const COLUMNS: &str = "id, kind, cron, timezone, channel, created_by, created_at";

fn audit(action: &str, s: &DigestSchedule, actor: &str, now: i64) -> AuditEntry {
    AuditEntry {
        at: now,
        actor: actor.to_string(),
        action: action.to_string(),
        subject_kind: "schedule".into(),
        subject_id: s.id,
        outcome: "done".into(),
        detail: Some(format!(
            "{} digest to {} at \"{}\" {}",
            s.kind, s.channel, s.cron, s.timezone
        )),
    }
}

impl Store {
    /// Adds a schedule with its audit row: `Ok` with it, or `Err` with the identical schedule
    /// that already exists (nothing is written then). Its time zone is kept in the rollups in
    /// the same transaction (built from the stored snapshots if new), so its digests count its
    /// days; a zone beyond [`super::MAX_ZONES`] is [`StoreError::TooManyZones`].
    pub async fn add_schedule(
        &self,
        s: &NewSchedule,
        now: i64,
    ) -> Result<std::result::Result<DigestSchedule, DigestSchedule>> {
        let mut tx = self.begin_write().await?;
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO digest_schedules (kind, cron, timezone, channel, created_by, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (kind, channel, cron, timezone) DO NOTHING \
             RETURNING id",
        )
        .bind(s.kind.as_str())
        .bind(s.cron.as_str())
        .bind(s.timezone.as_str())
        .bind(s.channel.as_str())
        .bind(s.created_by.as_str())
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(id) = id else {
            let existing = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM digest_schedules WHERE kind = $1 AND channel = $2 AND cron = $3 AND timezone = $4"
            ))
            .bind(s.kind.as_str())
            .bind(s.channel.as_str())
            .bind(s.cron.as_str())
            .bind(s.timezone.as_str())
            .fetch_one(&mut *tx)
            .await?;
            tx.rollback().await?;
            return Ok(Err(schedule_row(&existing)?));
        };
        let stored = DigestSchedule {
            id,
            kind: s.kind.clone(),
            cron: s.cron.clone(),
            timezone: s.timezone.clone(),
            channel: s.channel.clone(),
            created_by: s.created_by.clone(),
            created_at: now,
        };
        let effects = Effects {
            audit: Some(audit("schedule.add", &stored, &s.created_by, now)),
            outbox: Vec::new(),
        };
        write_effects(&mut tx, &effects, unix_now()).await?;
        let tz = s
            .timezone
            .parse::<chrono_tz::Tz>()
            .map_err(|_| StoreError::Conflict(format!("{:?} is not a time zone", s.timezone)))?;
        super::zones::keep_zone_in(&mut tx, self.backend, tz).await?;
        tx.commit().await?;
        Ok(Ok(stored))
    }

    /// Every schedule, oldest first.
    pub async fn schedules(&self) -> Result<Vec<DigestSchedule>> {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM digest_schedules ORDER BY id"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(schedule_row).collect()
    }

    /// Removes a schedule with its audit row; returns what was removed (None: no such id).
    pub async fn remove_schedule(
        &self,
        id: i64,
        actor: &str,
        now: i64,
    ) -> Result<Option<DigestSchedule>> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(&format!(
            "DELETE FROM digest_schedules WHERE id = $1 RETURNING {COLUMNS}"
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            tx.rollback().await?;
            return Ok(None);
        };
        let removed = schedule_row(&row)?;
        let effects = Effects {
            audit: Some(audit("schedule.remove", &removed, actor, now)),
            outbox: Vec::new(),
        };
        write_effects(&mut tx, &effects, unix_now()).await?;
        tx.commit().await?;
        Ok(Some(removed))
    }
}
