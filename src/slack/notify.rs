//! What the engines announce, handed to the outbox: a concluded test goes to the channel it was
//! designed in, a new alert to the alerts channel with its buttons (and again, as a new message,
//! when a snoozed alert's snooze runs out while its condition still holds). Each notification becomes
//! its messages in one transaction (see [`crate::store::Store::hand_over_notification`]), so a
//! restart or a second replica neither loses nor repeats one.

use chrono::Utc;

use super::{outbox, render};
use crate::server::AppState;
use crate::store::NotificationKind;
use crate::store::{NewOutboxMessage, StoreError};

/// Why a notification couldn't be turned into messages.
#[derive(Debug, thiserror::Error)]
enum NotifyError {
    /// The database failed: the notification waits for the next pass.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// It can never be rendered (its subject is gone, its data can't be analysed): it is set
    /// aside with this error rather than tried every two seconds forever.
    #[error("{0}")]
    Unrenderable(String),
}

/// Hands over every waiting notification; returns how many.
pub async fn hand_over(app: &AppState) -> Result<usize, StoreError> {
    let mut n = 0;
    for (id, kind, subject, _body) in app.store.pending_notifications().await? {
        let messages = match messages(app, id, &kind, subject).await {
            Ok(m) => m,
            Err(NotifyError::Store(e)) => {
                tracing::warn!(notification = id, error = %e, "can't render a notification yet");
                continue;
            }
            Err(NotifyError::Unrenderable(e)) => {
                tracing::error!(notification = id, kind, subject, error = %e, "notification set aside: it can't be turned into a message");
                crate::metrics::inc("vibe_notifications_set_aside_total", &[("kind", &kind)]);
                app.store
                    .set_aside_notification(id, &e, Utc::now().timestamp())
                    .await?;
                continue;
            }
        };
        if app.store.hand_over_notification(id, &messages).await? {
            n += 1;
        }
    }
    if n > 0 {
        app.wake.notify_one();
    }
    Ok(n)
}

/// Each variant's relative lift (else absolute difference) with its always-valid interval.
fn lift_chart(
    e: &crate::store::StoredExperiment,
    r: &crate::experiments::ExperimentResult,
) -> Option<Vec<u8>> {
    let a = r.analysis.as_ref()?;
    let rows: Vec<(String, f64, f64, f64)> = a
        .comparisons
        .iter()
        .filter_map(|c| {
            let name = e.design.variants.get(c.arm)?.name.clone();
            let (est, look) = match (c.lift(), &c.sequential_relative) {
                (Some(rel), Some(look)) => (rel, look),
                _ => (c.absolute.estimate, &c.sequential),
            };
            Some((
                name,
                est * 100.0,
                look.interval.low * 100.0,
                look.interval.high * 100.0,
            ))
        })
        .collect();
    crate::analytics::charts::lift_intervals(
        &rows,
        &format!(
            "Test #{}: lift over {}",
            e.id,
            e.design.variants.first()?.name
        ),
    )
    .ok()
}

/// The messages for one notification (none when there is nowhere to post it).
async fn messages(
    app: &AppState,
    notification: i64,
    kind: &str,
    subject: i64,
) -> Result<Vec<NewOutboxMessage>, NotifyError> {
    let gone = |what: &str| NotifyError::Unrenderable(format!("{what} {subject} no longer exists"));
    let kind: NotificationKind = kind.parse().map_err(|_| {
        NotifyError::Unrenderable(format!("vibe doesn't know notifications of kind {kind:?}"))
    })?;
    match kind {
        NotificationKind::ExperimentConcluded => {
            let e = app
                .store
                .experiment(subject)
                .await?
                .ok_or_else(|| gone("test"))?;
            let Some(channel) = e.design.channel_id.clone() else {
                return Ok(Vec::new());
            };
            let r = match crate::experiments::results(&app.store, subject, Utc::now()).await {
                Ok(r) => r,
                Err(crate::experiments::ExperimentError::Store(e)) => return Err(e.into()),
                Err(e) => return Err(NotifyError::Unrenderable(e.to_string())),
            };
            let verdict = e.verdict.clone().unwrap_or_else(|| "concluded".into());
            let m = super::answers::results_card(&e, &r, Some(&verdict));
            let key = format!("abtest:{subject}:concluded");
            let mut rows = vec![outbox::post(&key, &channel, None, &m, None)];
            // The design card posted from the form loses its buttons.
            let card = super::modal::card_key(subject);
            if app.store.outbox_has(&card).await? {
                let history = super::actions::test_history(app, &e).await?;
                rows.push(outbox::update(
                    &format!("{card}:concluded"),
                    &channel,
                    &card,
                    &render::test_card(&e, &history),
                ));
            }
            if let Some(png) = lift_chart(&e, &r) {
                rows.push(outbox::file(
                    &format!("{key}:chart"),
                    &channel,
                    &key,
                    &format!("vibe-abtest-{subject}-lift.png"),
                    "Lift over the control",
                    &format!(
                        "Chart of each variant's lift over the control in test {subject}, with its always-valid interval."
                    ),
                    &png,
                ));
            }
            Ok(rows)
        }
        NotificationKind::AlertOpened | NotificationKind::AlertReopened => {
            let channel = app.settings.slack.alerts_channel.trim();
            if channel.is_empty() {
                return Ok(Vec::new());
            }
            let Some(a) = app.store.alert(subject).await? else {
                return Err(gone("alert"));
            };
            let (key, card) = if kind == NotificationKind::AlertOpened {
                (
                    format!("alert:{subject}"),
                    render::alert_card(&a, None, app.settings.report.currency.symbol()),
                )
            } else {
                (
                    format!("alert:{subject}:again:{notification}"),
                    render::alert_reopened_card(&a, app.settings.report.currency.symbol()),
                )
            };
            Ok(vec![outbox::post(&key, channel, None, &card, None)])
        }
    }
}
