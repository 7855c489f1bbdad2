//! `/vibe abtest new`: the modal that designs a test, built from slack-morphism's typed blocks.
//! Its blocks are named by the fields' keys, so what it submits is read by the application's
//! one grammar for a design (`app::new_test`) and the engine's errors come back beside the
//! right input (`response_action: errors`). A valid design is stored as a draft and its plan
//! posted to the channel with a Start button, in one transaction.

use std::collections::BTreeMap;

use chrono::Utc;
use slack_morphism::prelude::*;

use super::blocks::{limits, truncate};
use super::{outbox, render};
use crate::experiments::design::{self, DesignInput, FieldError};
use crate::server::AppState;
use crate::store::{AuditEntry, Effects};

/// The modal's callback_id.
pub const CALLBACK_ID: &str = "vibe:abtest.new";

/// The fields, in the modal's order: (block and key name, label, hint).
pub const FIELDS: [(&str, &str, &str); 12] = [
    ("name", "Name", "What the test is called in reports"),
    ("hypothesis", "Hypothesis", "What you expect, and why"),
    (
        "kind",
        "Kind",
        "randomized: units split at random; content: organic posts (observational)",
    ),
    (
        "metric_type",
        "Metric type",
        "proportion (a rate like CTR), mean, or rate (events per exposure)",
    ),
    (
        "target_metric",
        "Target metric",
        "The metric that decides, e.g. click-through rate",
    ),
    (
        "variants",
        "Variants",
        "2 to 5 names separated by commas or lines, the control first",
    ),
    (
        "baseline",
        "Baseline",
        "The control's current value: 4% (or 0.04) for a rate, a number for a mean",
    ),
    (
        "baseline_sd",
        "Baseline standard deviation",
        "Mean metrics only",
    ),
    (
        "mde",
        "Minimum detectable effect",
        "Relative lift worth detecting, e.g. 10%",
    ),
    ("alpha", "Alpha", "False-positive rate, usually 0.05"),
    (
        "power",
        "Power",
        "Chance of detecting the effect, usually 0.8",
    ),
    (
        "daily_traffic",
        "Expected daily traffic",
        "Units (or posts) per day over all variants",
    ),
];

const OPTIONAL: [&str; 4] = ["hypothesis", "baseline_sd", "daily_traffic", "kind"];

fn text_input(initial: Option<&str>, multiline: bool, max: u64) -> SlackInputBlockElement {
    SlackBlockPlainTextInputElement::new()
        .with_action_id("value".into())
        .opt_initial_value(initial.map(str::to_string))
        .with_multiline(multiline)
        .with_max_length(max)
        .into()
}

fn select(options: &[(&str, &str)]) -> SlackInputBlockElement {
    let items: Vec<SlackBlockChoiceItem<SlackBlockPlainTextOnly>> = options
        .iter()
        .map(|(value, text)| SlackBlockChoiceItem::new(pt!(*text), value.to_string()))
        .collect();
    SlackBlockStaticSelectElement::new()
        .with_action_id("value".into())
        .with_initial_option(items[0].clone())
        .with_options(items)
        .into()
}

/// The modal for the channel the command came from (kept in private_metadata).
pub fn view(channel: &str) -> SlackView {
    let blocks: Vec<SlackBlock> = FIELDS
        .iter()
        .map(|(id, label, hint)| {
            let element = match *id {
                "kind" => select(&[
                    ("randomized", "Randomized"),
                    ("content", "Content (observational)"),
                ]),
                "metric_type" => select(&[
                    ("proportion", "Proportion (a rate, e.g. CTR)"),
                    ("mean", "Mean (e.g. revenue per user)"),
                    ("rate", "Rate (events per exposure)"),
                ]),
                "hypothesis" => text_input(None, true, 2000),
                "variants" => text_input(Some("Control, Variant B"), true, 500),
                "alpha" => text_input(Some("0.05"), false, 200),
                "power" => text_input(Some("0.8"), false, 200),
                _ => text_input(None, false, 200),
            };
            SlackInputBlock::new(pt!(*label), element)
                .with_block_id(SlackBlockId(id.to_string()))
                .with_hint(pt!(*hint))
                .with_optional(OPTIONAL.contains(id))
                .into()
        })
        .collect();
    SlackView::Modal(
        SlackModalView::new(pt!("New A/B test"), blocks)
            .with_callback_id(SlackCallbackId(CALLBACK_ID.into()))
            .with_submit(pt!("Create draft"))
            .with_close(pt!("Cancel"))
            .with_private_metadata(truncate(channel, limits::PRIVATE_METADATA)),
    )
}

/// The submitted values by field name (empty inputs left out).
pub fn fields_from_state(state: Option<&SlackViewState>) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(state) = state else { return out };
    for (block, actions) in &state.values {
        for v in actions.values() {
            let value = v
                .value
                .clone()
                .or_else(|| v.selected_option.as_ref().map(|o| o.value.clone()));
            if let Some(value) = value.filter(|s| !s.trim().is_empty()) {
                out.insert(block.0.clone(), value);
            }
        }
    }
    out
}

/// Errors by modal block: fields the modal doesn't show go to the nearest one that does.
pub fn errors_by_block(errors: &[FieldError]) -> std::collections::HashMap<String, String> {
    let mut out: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for e in errors {
        let block = match e.field {
            f if FIELDS.iter().any(|x| x.0 == f) => f,
            "min_effect" => "mde",
            "weights" => "variants",
            _ => "name",
        };
        let entry = out.entry(block.to_string()).or_default();
        if !entry.is_empty() {
            entry.push_str("; ");
        }
        entry.push_str(&e.message);
    }
    out
}

/// Validates and stores the design as a draft, queuing its card (with the Start button) for
/// `channel` in the same transaction. Returns the test's id, or the field errors.
pub async fn create(
    app: &AppState,
    input: DesignInput,
    channel: &str,
    key: &str,
) -> Result<Result<i64, Vec<FieldError>>, crate::store::StoreError> {
    let d = match design::design(input) {
        Ok(d) => d,
        Err(e) => return Ok(Err(e.0)),
    };
    let now = Utc::now().timestamp();
    let actor = d.created_by.clone();
    let draft = d.clone();
    let id = app
        .store
        .create_experiment_with(&d, now, |id| {
            let e = crate::store::StoredExperiment {
                id,
                design: draft,
                status: design::Status::Draft,
                started_at: None,
                ended_at: None,
                verdict: None,
                created_at: now,
                variant_ids: Vec::new(),
            };
            let history = vec![format!("📝 Designed by {} · {}", who(&actor), when(now))];
            let card = render::test_card(&e, &history);
            Effects {
                audit: Some(AuditEntry {
                    at: now,
                    actor: actor.clone(),
                    action: "test.create".into(),
                    subject_kind: "experiment".into(),
                    subject_id: id,
                    outcome: "done".into(),
                    detail: Some(format!("created from Slack in {channel}")),
                }),
                outbox: vec![outbox::post(&card_key(id), channel, None, &card, None)],
            }
        })
        .await?;
    tracing::info!(id, key, "test designed from Slack");
    app.wake.notify_one();
    Ok(Ok(id))
}

/// The outbox key of a test's card.
pub fn card_key(id: i64) -> String {
    format!("abtest:{id}:card")
}

/// `slack:U123` as a mention, anything else as it is.
pub fn who(actor: &str) -> String {
    match actor.strip_prefix("slack:") {
        Some(u) => format!("<@{u}>"),
        None => super::blocks::escape(actor),
    }
}

/// A Unix time as Slack shows it in each reader's own time zone, with a UTC fallback.
pub fn when(at: i64) -> String {
    let fallback = chrono::DateTime::from_timestamp(at, 0)
        .map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    format!("<!date^{at}^{{date_short_pretty}} {{time}}|{fallback}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_modal_reads_into_slack_morphism_and_fits_the_limits() {
        let v = view("C0CHANNEL1");
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["callback_id"], CALLBACK_ID);
        assert_eq!(json["private_metadata"], "C0CHANNEL1");
        assert_eq!(json["blocks"].as_array().unwrap().len(), FIELDS.len());
        assert!(json["title"]["text"].as_str().unwrap().chars().count() <= limits::MODAL_TITLE);
        let problems = super::super::blocks::violations(&json["blocks"], true);
        assert!(problems.is_empty(), "{problems:?}");
        // Every input is one of the grammar's fields, so what it submits reads as a design.
        for b in json["blocks"].as_array().unwrap() {
            let id = b["block_id"].as_str().unwrap();
            assert!(crate::app::new_test::keys().contains(&id), "{id}");
            assert_eq!(b["type"], "input");
        }
    }

    #[test]
    fn every_problem_lands_on_a_field_of_the_modal() {
        let cases: &[(&[(&str, &str)], &[&str])] = &[
            (
                &[
                    ("name", "x"),
                    ("target_metric", "ctr"),
                    ("variants", "A,B"),
                    ("baseline", "lots"),
                    ("mde", "0.1"),
                ],
                &["baseline"],
            ),
            (
                &[("name", "x"), ("target_metric", "ctr"), ("variants", "A,B")],
                &["baseline", "mde"],
            ),
            (
                &[
                    ("name", "x"),
                    ("target_metric", "ctr"),
                    ("variants", "A"),
                    ("baseline", "0.04"),
                    ("mde", "0.1"),
                ],
                &["variants"],
            ),
            (
                &[
                    ("name", ""),
                    ("target_metric", "ctr"),
                    ("variants", "A,B"),
                    ("baseline", "1.5"),
                    ("mde", "0.1"),
                ],
                // 1.5 plus 10% is also past 100%.
                &["baseline", "mde", "name"],
            ),
            (
                &[
                    ("name", "x"),
                    ("target_metric", "ctr"),
                    ("variants", "A,B"),
                    ("baseline", "0.04"),
                    ("mde", "0.1"),
                    ("kind", "sideways"),
                ],
                &["kind"],
            ),
        ];
        for (input, want) in cases {
            let f = crate::app::new_test::fields_from_form(&fields(input));
            let errors = match crate::app::new_test::input(&f, "slack:U1", None) {
                Err(e) => e,
                Ok(i) => design::design(i).unwrap_err().0,
            };
            let by_block = errors_by_block(&errors);
            let mut got: Vec<&str> = by_block.keys().map(String::as_str).collect();
            got.sort_unstable();
            assert_eq!(got, *want, "{input:?}");
            assert!(by_block.values().all(|m| !m.is_empty()));
        }
    }
}
