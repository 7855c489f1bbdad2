//! Read queries used by the CLI summaries.

use sqlx::Row;

use super::{Result, Store};

/// Row counts of the metric tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableCounts {
    pub brands: i64,
    pub accounts: i64,
    pub posts: i64,
    pub post_snapshots: i64,
    pub account_snapshots: i64,
    pub funnel_days: i64,
    pub post_days: i64,
    pub account_days: i64,
}

/// One account with what the store holds for it.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountSummary {
    pub platform: String,
    pub external_id: String,
    pub handle: Option<String>,
    pub brand: Option<String>,
    pub posts: i64,
    pub snapshots: i64,
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    pub followers_first: Option<i64>,
    pub followers_last: Option<i64>,
    pub impressions: Option<i64>,
    pub reach: Option<i64>,
    pub views: Option<i64>,
    /// Likes + comments + shares + saves, over the known ones.
    pub engagements: Option<i64>,
}

impl Store {
    pub async fn table_counts(&self) -> Result<TableCounts> {
        let row = sqlx::query(
            "SELECT (SELECT COUNT(*) FROM brands), (SELECT COUNT(*) FROM accounts), \
             (SELECT COUNT(*) FROM posts), (SELECT COUNT(*) FROM post_snapshots), \
             (SELECT COUNT(*) FROM account_snapshots), (SELECT COUNT(*) FROM funnel_daily), \
             (SELECT COUNT(*) FROM post_daily WHERE zone = 'Etc/UTC'), \
             (SELECT COUNT(*) FROM account_daily WHERE zone = 'Etc/UTC')",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(TableCounts {
            brands: row.try_get(0)?,
            accounts: row.try_get(1)?,
            posts: row.try_get(2)?,
            post_snapshots: row.try_get(3)?,
            account_snapshots: row.try_get(4)?,
            funnel_days: row.try_get(5)?,
            post_days: row.try_get(6)?,
            account_days: row.try_get(7)?,
        })
    }

    /// Every account with its totals from the daily rollups (days of `zone`), in platform and
    /// id order.
    pub async fn account_summaries(&self, zone: chrono_tz::Tz) -> Result<Vec<AccountSummary>> {
        let rows = sqlx::query(
            "SELECT a.platform, a.external_id, a.handle, b.name, \
               (SELECT COUNT(*) FROM posts p WHERE p.account_id = a.id), \
               (SELECT COUNT(*) FROM post_snapshots s JOIN posts p ON p.id = s.post_id WHERE p.account_id = a.id), \
               (SELECT MIN(day) FROM account_daily d WHERE d.account_id = a.id AND d.zone = $1), \
               (SELECT MAX(day) FROM account_daily d WHERE d.account_id = a.id AND d.zone = $1), \
               (SELECT followers FROM account_snapshots s WHERE s.account_id = a.id AND followers IS NOT NULL ORDER BY observed_at ASC LIMIT 1), \
               (SELECT followers FROM account_snapshots s WHERE s.account_id = a.id AND followers IS NOT NULL ORDER BY observed_at DESC LIMIT 1), \
               (SELECT CAST(SUM(impressions) AS BIGINT) FROM account_daily d WHERE d.account_id = a.id AND d.zone = $1), \
               (SELECT CAST(SUM(reach) AS BIGINT) FROM account_daily d WHERE d.account_id = a.id AND d.zone = $1), \
               (SELECT CAST(SUM(views) AS BIGINT) FROM account_daily d WHERE d.account_id = a.id AND d.zone = $1), \
               (SELECT CAST(SUM(COALESCE(likes, 0) + COALESCE(comments, 0) + COALESCE(shares, 0) + COALESCE(saves, 0)) AS BIGINT) \
                  FROM account_daily d WHERE d.account_id = a.id AND d.zone = $1 \
                  AND (likes IS NOT NULL OR comments IS NOT NULL OR shares IS NOT NULL OR saves IS NOT NULL)) \
             FROM accounts a LEFT JOIN brands b ON b.id = a.brand_id \
             ORDER BY b.name, a.platform, a.external_id",
        )
        .bind(super::zones::zone_key(zone))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AccountSummary {
                    platform: r.try_get(0)?,
                    external_id: r.try_get(1)?,
                    handle: r.try_get(2)?,
                    brand: r.try_get(3)?,
                    posts: r.try_get(4)?,
                    snapshots: r.try_get(5)?,
                    first_day: r.try_get(6)?,
                    last_day: r.try_get(7)?,
                    followers_first: r.try_get(8)?,
                    followers_last: r.try_get(9)?,
                    impressions: r.try_get(10)?,
                    reach: r.try_get(11)?,
                    views: r.try_get(12)?,
                    engagements: r.try_get(13)?,
                })
            })
            .collect()
    }

    /// Accounts that did not come from `vibe demo`, as `platform/external_id`.
    pub async fn non_demo_accounts(&self) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT platform, external_id FROM accounts WHERE source <> 'demo' ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let p: String = r.try_get(0)?;
                let e: String = r.try_get(1)?;
                Ok(format!("{p}/{e}"))
            })
            .collect()
    }

    /// Deletes every account `vibe demo` made, with everything hanging off them.
    pub async fn delete_demo_data(&self) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        // Explicit deletes rather than relying on ON DELETE CASCADE, so the order is the same on
        // both backends and nothing depends on SQLite's foreign_keys pragma.
        // The demo's experiments, with everything hanging off them.
        let experiments = "SELECT id FROM experiments WHERE created_by = 'demo'";
        let variants =
            format!("SELECT id FROM experiment_variants WHERE experiment_id IN ({experiments})");
        for sql in [
            format!("DELETE FROM experiment_variant_posts WHERE variant_id IN ({variants})"),
            format!("DELETE FROM experiment_observations WHERE variant_id IN ({variants})"),
            format!("DELETE FROM experiment_totals WHERE variant_id IN ({variants})"),
            format!("DELETE FROM experiment_variants WHERE experiment_id IN ({experiments})"),
            format!("DELETE FROM experiment_guardrails WHERE experiment_id IN ({experiments})"),
            format!("DELETE FROM experiment_analyses WHERE experiment_id IN ({experiments})"),
            format!("DELETE FROM experiment_events WHERE experiment_id IN ({experiments})"),
            format!("DELETE FROM notifications WHERE kind LIKE 'experiment%' AND subject_id IN ({experiments})"),
            "DELETE FROM experiments WHERE created_by = 'demo'".to_string(),
        ] {
            sqlx::query(&sql).execute(&mut *tx).await?;
        }
        let demo = "SELECT id FROM accounts WHERE source = 'demo'";
        let brand_ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT brand_id FROM accounts WHERE source = 'demo' AND brand_id IS NOT NULL",
        )
        .fetch_all(&mut *tx)
        .await?;
        let posts = format!("SELECT id FROM posts WHERE account_id IN ({demo})");
        // Alerts about the demo's data go with it: the data they describe is replaced, so
        // they neither cleared nor should a cooldown hold back their return.
        let demo_campaigns = format!(
            "SELECT 'high_cost_per_lead:' || platform || ':' || campaign FROM funnel_daily WHERE account_id IN ({demo})"
        );
        let demo_alerts = format!(
            "SELECT id FROM alerts WHERE account_id IN ({demo}) OR dedupe_key IN ({demo_campaigns})"
        );
        for sql in [
            format!("DELETE FROM notifications WHERE kind LIKE 'alert%' AND subject_id IN ({demo_alerts})"),
            format!("DELETE FROM alerts WHERE id IN ({demo_alerts})"),
        ] {
            sqlx::query(&sql).execute(&mut *tx).await?;
        }
        for sql in [
            format!("DELETE FROM post_snapshots WHERE post_id IN ({posts})"),
            format!("DELETE FROM post_daily WHERE post_id IN ({posts})"),
            format!("DELETE FROM posts WHERE account_id IN ({demo})"),
            format!("DELETE FROM account_snapshots WHERE account_id IN ({demo})"),
            format!("DELETE FROM account_daily WHERE account_id IN ({demo})"),
            format!("DELETE FROM funnel_daily WHERE account_id IN ({demo})"),
        ] {
            sqlx::query(&sql).execute(&mut *tx).await?;
        }
        let n = sqlx::query("DELETE FROM accounts WHERE source = 'demo'")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        // The demo's brands go too, unless something else now belongs to them.
        for id in brand_ids {
            sqlx::query(
                "DELETE FROM brands WHERE id = $1 \
                 AND NOT EXISTS (SELECT 1 FROM accounts WHERE brand_id = $1) \
                 AND NOT EXISTS (SELECT 1 FROM funnel_daily WHERE brand_id = $1)",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(n)
    }
}

/// A campaign's funnel totals over all its days.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignTotals {
    pub platform: String,
    pub campaign: String,
    pub days: i64,
    pub spend_cents: Option<i64>,
    pub revenue_cents: Option<i64>,
    pub leads: Option<i64>,
    pub conversions: Option<i64>,
}

impl Store {
    pub async fn campaign_totals(&self) -> Result<Vec<CampaignTotals>> {
        let rows = sqlx::query(
            "SELECT platform, campaign, COUNT(*), CAST(SUM(spend_cents) AS BIGINT), CAST(SUM(revenue_cents) AS BIGINT), CAST(SUM(leads) AS BIGINT), \
             CAST(SUM(conversions) AS BIGINT) FROM funnel_daily GROUP BY platform, campaign ORDER BY platform, campaign",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(CampaignTotals {
                    platform: r.try_get(0)?,
                    campaign: r.try_get(1)?,
                    days: r.try_get(2)?,
                    spend_cents: r.try_get(3)?,
                    revenue_cents: r.try_get(4)?,
                    leads: r.try_get(5)?,
                    conversions: r.try_get(6)?,
                })
            })
            .collect()
    }
}
