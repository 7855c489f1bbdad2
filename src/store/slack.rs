//! The Slack adapter's tables: the outbox of channel messages, the deliveries already seen, and
//! the ingestion API's tokens. The outbox is a small state machine driven by conditional
//! UPDATEs, so two workers (or two replicas) can't claim the same row at once.

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{unix_now, Result, Store};

/// What an outbox row asks Slack to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxKind {
    /// `chat.postMessage`, in the thread of the parent row when it has one.
    Post,
    /// `chat.update` of the parent row's message.
    Update,
    /// A PNG uploaded and shared into the parent row's thread.
    File,
}

impl OutboxKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::Post => "post",
            OutboxKind::Update => "update",
            OutboxKind::File => "file",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "post" => Some(OutboxKind::Post),
            "update" => Some(OutboxKind::Update),
            "file" => Some(OutboxKind::File),
            _ => None,
        }
    }
}

/// A message to write to the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutboxMessage {
    /// Unique per message; also its metadata key in Slack.
    pub key: String,
    pub kind: OutboxKind,
    pub channel: String,
    /// The row this one belongs to (thread replies, files, updates).
    pub parent_key: Option<String>,
    /// JSON the Slack adapter wrote and will read back.
    pub body: String,
    pub response_url: Option<String>,
}

/// A claimed outbox row, with what the worker needs to deliver it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    pub id: i64,
    pub key: String,
    pub kind: OutboxKind,
    pub channel: String,
    pub parent_key: Option<String>,
    /// The parent's Slack `ts`, once delivered.
    pub parent_ts: Option<String>,
    pub body: String,
    pub response_url: Option<String>,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// An earlier attempt may have reached Slack: look before sending again.
    pub in_doubt: bool,
    pub file_id: Option<String>,
    pub created_at: i64,
}

crate::domain::text_enum!(
    /// Where an outbox row is in its delivery.
    OutboxState {
        /// Waiting for its turn (or for its parent's ts, or for a retry).
        Pending => "pending",
        /// Claimed by a worker under a lease; in doubt if the lease runs out.
        Sending => "sending",
        Delivered => "delivered",
        /// Refused by Slack, given up on after its lifetime, or its parent failed.
        Failed => "failed",
    }
);

/// The state of one outbox row, for tests, health and `vibe outbox`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct OutboxStatus {
    pub key: String,
    pub kind: String,
    pub channel: String,
    pub status: OutboxState,
    pub attempts: i64,
    pub ts: Option<String>,
    pub last_error: Option<String>,
}

/// Undelivered messages: how many, and since when.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct OutboxBacklog {
    pub pending: i64,
    pub failed: i64,
    pub oldest_pending_at: Option<i64>,
    /// Messages given up on since the time asked about because their lifetime ran out.
    pub given_up_recently: i64,
    /// Notifications set aside because they couldn't be turned into messages.
    pub notifications_set_aside: i64,
}

/// A stored API token, without its secret.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Writes outbox rows on a connection the caller holds, typically inside the transaction of the
/// change that caused them. A key already present is left as it is (the message is queued).
pub(crate) async fn insert_outbox(
    conn: &mut AnyConnection,
    messages: &[NewOutboxMessage],
    now: i64,
) -> Result<()> {
    for m in messages {
        sqlx::query(
            "INSERT INTO slack_outbox (key, kind, channel, parent_key, body, response_url, status, next_attempt_at, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $7, $7) ON CONFLICT (key) DO NOTHING",
        )
        .bind(m.key.as_str())
        .bind(m.kind.as_str())
        .bind(m.channel.as_str())
        .bind(m.parent_key.as_deref())
        .bind(m.body.as_str())
        .bind(m.response_url.as_deref())
        .bind(now)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

const ROW_COLUMNS: &str = "o.id, o.key, o.kind, o.channel, o.parent_key, p.ts, o.body, \
     o.response_url, o.attempts, o.in_doubt, o.file_id, o.created_at";

fn outbox_row(r: &AnyRow) -> Result<OutboxRow> {
    let kind: String = r.try_get(2)?;
    Ok(OutboxRow {
        id: r.try_get(0)?,
        key: r.try_get(1)?,
        kind: OutboxKind::parse(&kind)
            .ok_or_else(|| super::StoreError::Conflict(format!("outbox kind {kind:?}")))?,
        channel: r.try_get(3)?,
        parent_key: r.try_get(4)?,
        parent_ts: r.try_get(5)?,
        body: r.try_get(6)?,
        response_url: r.try_get(7)?,
        attempts: r.try_get(8)?,
        in_doubt: r.try_get::<i64, _>(9)? != 0,
        file_id: r.try_get(10)?,
        created_at: r.try_get(11)?,
    })
}

impl Store {
    /// Queues messages in one transaction.
    pub async fn enqueue(&self, messages: &[NewOutboxMessage]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        insert_outbox(&mut tx, messages, unix_now()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Claims the oldest due row for `lease` seconds: a pending row whose time has come (and
    /// whose parent, if any, is delivered), or a row whose previous worker's lease ran out. The
    /// latter is in doubt: that worker may have sent it before dying.
    pub async fn claim_outbox(&self, now: i64, lease: i64) -> Result<Option<OutboxRow>> {
        let candidates: Vec<i64> = sqlx::query_scalar(
            "SELECT o.id FROM slack_outbox o LEFT JOIN slack_outbox p ON p.key = o.parent_key \
             WHERE ((o.status = 'pending' AND o.next_attempt_at <= $1) \
                    OR (o.status = 'sending' AND o.lease_until < $1)) \
               AND (o.parent_key IS NULL OR p.status = 'delivered') \
             ORDER BY o.id LIMIT 8",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        for id in candidates {
            let claimed = sqlx::query(
                "UPDATE slack_outbox SET \
                   in_doubt = CASE WHEN status = 'sending' THEN 1 ELSE in_doubt END, \
                   status = 'sending', lease_until = $1, attempts = attempts + 1, updated_at = $2 \
                 WHERE id = $3 AND ((status = 'pending' AND next_attempt_at <= $2) \
                                    OR (status = 'sending' AND lease_until < $2))",
            )
            .bind(now + lease)
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if claimed == 1 {
                let row = sqlx::query(&format!(
                    "SELECT {ROW_COLUMNS} FROM slack_outbox o \
                     LEFT JOIN slack_outbox p ON p.key = o.parent_key WHERE o.id = $1"
                ))
                .bind(id)
                .fetch_one(&self.pool)
                .await?;
                return outbox_row(&row).map(Some);
            }
        }
        // Children of a message that failed for good can never be delivered.
        sqlx::query(
            "UPDATE slack_outbox SET status = 'failed', updated_at = $1, \
               last_error = 'the message it belongs to could not be delivered' \
             WHERE status = 'pending' AND parent_key IN \
               (SELECT key FROM slack_outbox WHERE status = 'failed')",
        )
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(None)
    }

    /// Marks a claimed row delivered with the `ts` Slack gave it.
    pub async fn outbox_delivered(&self, id: i64, ts: Option<&str>, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE slack_outbox SET status = 'delivered', ts = $1, delivered_at = $2, \
               lease_until = NULL, last_error = NULL, updated_at = $2 WHERE id = $3",
        )
        .bind(ts)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Puts a claimed row back to be tried at `next_at`. `in_doubt` records that this attempt
    /// may have reached Slack (a timeout or a 5xx after sending).
    pub async fn outbox_retry(
        &self,
        id: i64,
        next_at: i64,
        error: &str,
        in_doubt: bool,
        now: i64,
    ) -> Result<()> {
        sqlx::query(
            "UPDATE slack_outbox SET status = 'pending', next_attempt_at = $1, last_error = $2, \
               in_doubt = CASE WHEN $3 = 1 THEN 1 ELSE in_doubt END, lease_until = NULL, updated_at = $4 \
             WHERE id = $5",
        )
        .bind(next_at)
        .bind(error)
        .bind(i64::from(in_doubt))
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives up on a row (and on the rows that belong to it). `expired`: because its lifetime
    /// ran out while it kept failing, rather than because Slack refused it.
    pub async fn outbox_failed(&self, id: i64, error: &str, expired: bool, now: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let key: String = sqlx::query_scalar(
            "UPDATE slack_outbox SET status = 'failed', last_error = $1, lease_until = NULL, updated_at = $2, \
               gave_up_at = CASE WHEN $4 = 1 THEN $2 ELSE gave_up_at END \
             WHERE id = $3 RETURNING key",
        )
        .bind(error)
        .bind(now)
        .bind(id)
        .bind(i64::from(expired))
        .fetch_one(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE slack_outbox SET status = 'failed', updated_at = $1, \
               last_error = 'the message it belongs to could not be delivered' \
             WHERE parent_key = $2 AND status = 'pending'",
        )
        .bind(now)
        .bind(key)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Remembers the file id of an upload, so a retry completes it instead of uploading again.
    pub async fn outbox_file_id(&self, id: i64, file_id: &str) -> Result<()> {
        sqlx::query("UPDATE slack_outbox SET file_id = $1 WHERE id = $2")
            .bind(file_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every outbox row, oldest first.
    pub async fn outbox(&self) -> Result<Vec<OutboxStatus>> {
        let rows = sqlx::query(
            "SELECT key, kind, channel, status, attempts, ts, last_error FROM slack_outbox ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(OutboxStatus {
                    key: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    channel: r.try_get(2)?,
                    status: super::text_column(r, 3)?,
                    attempts: r.try_get(4)?,
                    ts: r.try_get(5)?,
                    last_error: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// How many messages wait, how many failed, when the oldest waiting one was queued, how
    /// many were given up on since `since` because their lifetime ran out, and how many
    /// notifications are set aside.
    pub async fn outbox_backlog(&self, since: i64) -> Result<OutboxBacklog> {
        let row = sqlx::query(
            "SELECT CAST(COALESCE(SUM(CASE WHEN status IN ('pending', 'sending') THEN 1 ELSE 0 END), 0) AS BIGINT), \
                    CAST(COALESCE(SUM(CASE WHEN status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT), \
                    MIN(CASE WHEN status IN ('pending', 'sending') THEN created_at END), \
                    CAST(COALESCE(SUM(CASE WHEN gave_up_at >= $1 THEN 1 ELSE 0 END), 0) AS BIGINT), \
                    (SELECT CAST(COUNT(*) AS BIGINT) FROM notifications WHERE set_aside_at IS NOT NULL) \
             FROM slack_outbox",
        )
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok(OutboxBacklog {
            pending: row.try_get(0)?,
            failed: row.try_get(1)?,
            oldest_pending_at: row.try_get(2)?,
            given_up_recently: row.try_get(3)?,
            notifications_set_aside: row.try_get(4)?,
        })
    }

    /// Records a delivery from Slack; false when it was seen before (a retry).
    pub async fn first_delivery(&self, kind: &str, key: &str, now: i64) -> Result<bool> {
        let n = sqlx::query(
            "INSERT INTO slack_deliveries_seen (kind, key, seen_at) VALUES ($1, $2, $3) \
             ON CONFLICT (kind, key) DO NOTHING",
        )
        .bind(kind)
        .bind(key)
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// Forgets one delivery, so the same key is acted on again (a submission that was refused
    /// for its content, not for being a repeat).
    pub async fn forget_delivery(&self, kind: &str, key: &str) -> Result<()> {
        sqlx::query("DELETE FROM slack_deliveries_seen WHERE kind = $1 AND key = $2")
            .bind(kind)
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

impl Store {
    /// Stores a new token by its hash. Fails if the name is taken.
    pub async fn create_api_token(
        &self,
        name: &str,
        hash: &str,
        prefix: &str,
        scopes: &[&str],
        now: i64,
    ) -> Result<i64> {
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM api_tokens WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        if taken.is_some() {
            return Err(super::StoreError::Conflict(format!(
                "a token named {name:?} exists; revoke it or choose another name"
            )));
        }
        Ok(sqlx::query_scalar(
            "INSERT INTO api_tokens (name, hash, prefix, scopes, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(hash)
        .bind(prefix)
        .bind(scopes.join(" "))
        .bind(now)
        .fetch_one(&self.pool)
        .await?)
    }

    pub async fn api_tokens(&self) -> Result<Vec<ApiToken>> {
        let rows = sqlx::query(
            "SELECT id, name, prefix, scopes, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let scopes: String = r.try_get(3)?;
                Ok(ApiToken {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    prefix: r.try_get(2)?,
                    scopes: scopes.split_whitespace().map(str::to_string).collect(),
                    created_at: r.try_get(4)?,
                    last_used_at: r.try_get(5)?,
                    revoked_at: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// Revokes a token by name; false if there is no such live token.
    pub async fn revoke_api_token(&self, name: &str, now: i64) -> Result<bool> {
        let n = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE name = $2 AND revoked_at IS NULL",
        )
        .bind(now)
        .bind(name)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// The live token with this hash, if any, noting its use. Returns its name and scopes.
    pub async fn authenticate_api_token(
        &self,
        hash: &str,
        now: i64,
    ) -> Result<Option<(String, Vec<String>)>> {
        let row = sqlx::query(
            "UPDATE api_tokens SET last_used_at = $1 WHERE hash = $2 AND revoked_at IS NULL RETURNING name, scopes",
        )
        .bind(now)
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| {
            let scopes: String = r.try_get(1)?;
            Ok((
                r.try_get(0)?,
                scopes.split_whitespace().map(str::to_string).collect(),
            ))
        })
        .transpose()
    }
}

/// One decision for the audit trail.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditEntry {
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub subject_kind: String,
    pub subject_id: i64,
    /// `done`, `no_change` or `refused`.
    pub outcome: String,
    pub detail: Option<String>,
}

/// What a change writes beside itself, in its own transaction: the audit row and the Slack
/// messages it causes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    pub audit: Option<AuditEntry>,
    pub outbox: Vec<NewOutboxMessage>,
}

pub(crate) async fn write_effects(conn: &mut AnyConnection, e: &Effects, now: i64) -> Result<()> {
    if let Some(a) = &e.audit {
        insert_audit(conn, a, now).await?;
    }
    insert_outbox(conn, &e.outbox, now).await
}

async fn insert_audit(conn: &mut AnyConnection, a: &AuditEntry, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_events (at, actor, action, subject_kind, subject_id, outcome, detail, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(a.at)
    .bind(a.actor.as_str())
    .bind(a.action.as_str())
    .bind(a.subject_kind.as_str())
    .bind(a.subject_id)
    .bind(a.outcome.as_str())
    .bind(a.detail.as_deref())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Records a decision that changed nothing (refused, or already done).
    pub async fn record_audit(&self, a: &AuditEntry) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        insert_audit(&mut conn, a, unix_now()).await
    }

    /// The audit trail of one subject, oldest first.
    pub async fn audit_trail(
        &self,
        subject_kind: &str,
        subject_id: i64,
    ) -> Result<Vec<AuditEntry>> {
        let rows = sqlx::query(
            "SELECT at, actor, action, subject_kind, subject_id, outcome, detail FROM audit_events \
             WHERE subject_kind = $1 AND subject_id = $2 ORDER BY id",
        )
        .bind(subject_kind)
        .bind(subject_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AuditEntry {
                    at: r.try_get(0)?,
                    actor: r.try_get(1)?,
                    action: r.try_get(2)?,
                    subject_kind: r.try_get(3)?,
                    subject_id: r.try_get(4)?,
                    outcome: r.try_get(5)?,
                    detail: r.try_get(6)?,
                })
            })
            .collect()
    }

    /// Whether a message with this key is queued or was sent.
    pub async fn outbox_has(&self, key: &str) -> Result<bool> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM slack_outbox WHERE key = $1")
            .bind(key)
            .fetch_one(&self.pool)
            .await?;
        Ok(n > 0)
    }

    /// The outbox key of the message vibe posted at `ts` in `channel`, if it posted it.
    pub async fn outbox_key_at(&self, channel: &str, ts: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT key FROM slack_outbox WHERE channel = $1 AND ts = $2 AND kind = 'post'",
        )
        .bind(channel)
        .bind(ts)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// Sets a notification aside with the reason it can't be turned into messages; it is not
    /// tried again, and health counts it.
    pub async fn set_aside_notification(&self, id: i64, error: &str, now: i64) -> Result<()> {
        sqlx::query(
            "UPDATE notifications SET set_aside_at = $1, error = $2 WHERE id = $3 AND delivered_at IS NULL",
        )
        .bind(now)
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Hands a notification the engines wrote (a concluded test, a new alert) over to the
    /// outbox: its messages are queued in the same transaction as the notification is marked
    /// handed over, so none is posted twice or lost. False if another worker took it first.
    pub async fn hand_over_notification(
        &self,
        id: i64,
        messages: &[NewOutboxMessage],
    ) -> Result<bool> {
        let now = unix_now();
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(
            "UPDATE notifications SET delivered_at = $1 WHERE id = $2 AND delivered_at IS NULL",
        )
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed != 1 {
            return Ok(false);
        }
        insert_outbox(&mut tx, messages, now).await?;
        tx.commit().await?;
        Ok(true)
    }
}
