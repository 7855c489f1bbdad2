//! `/vibe abtest new`: the modal (and its `key=value` text form) that designs a test. Both give
//! the same fields to the experimentation engine, whose validation names the field at fault, so
//! errors come back beside the right input (`response_action: errors`). A valid design is
//! stored as a draft and its plan posted to the channel with a Start button, in one transaction.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::json;
use slack_morphism::prelude::*;

use super::blocks::limits;
use super::{outbox, render};
use crate::experiments::design::{self, DesignInput, FieldError, Kind, MetricType, VariantSpec};
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

/// The modal for the channel the command came from (kept in private_metadata).
pub fn view(channel: &str) -> SlackView {
    let mut blocks = Vec::new();
    for (id, label, hint) in FIELDS {
        let element = match id {
            "kind" => select(&[
                ("randomized", "Randomized"),
                ("content", "Content (observational)"),
            ]),
            "metric_type" => select(&[
                ("proportion", "Proportion (a rate, e.g. CTR)"),
                ("mean", "Mean (e.g. revenue per user)"),
                ("rate", "Rate (events per exposure)"),
            ]),
            "hypothesis" => {
                json!({"type": "plain_text_input", "action_id": "value", "multiline": true, "max_length": 2000})
            }
            "variants" => {
                json!({"type": "plain_text_input", "action_id": "value", "multiline": true,
                "initial_value": "Control, Variant B"})
            }
            "alpha" => text_input(Some("0.05")),
            "power" => text_input(Some("0.8")),
            _ => text_input(None),
        };
        blocks.push(json!({
            "type": "input",
            "block_id": id,
            "optional": OPTIONAL.contains(&id),
            "label": {"type": "plain_text", "text": label},
            "hint": {"type": "plain_text", "text": hint},
            "element": element,
        }));
    }
    let v = json!({
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": "New A/B test"},
        "submit": {"type": "plain_text", "text": "Create draft"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": super::blocks::truncate(channel, limits::PRIVATE_METADATA),
        "blocks": blocks,
    });
    // Built as Slack's JSON, read into slack-morphism's model; a unit test checks it reads.
    serde_json::from_value(v).unwrap_or_else(|_| {
        SlackView::Modal(SlackModalView::new("New A/B test".into(), Vec::new()))
    })
}

fn text_input(initial: Option<&str>) -> serde_json::Value {
    let mut e = json!({"type": "plain_text_input", "action_id": "value", "max_length": 200});
    if let Some(i) = initial {
        e["initial_value"] = json!(i);
    }
    e
}

fn select(options: &[(&str, &str)]) -> serde_json::Value {
    let opts: Vec<_> = options
        .iter()
        .map(|(v, t)| json!({"text": {"type": "plain_text", "text": t}, "value": v}))
        .collect();
    json!({"type": "static_select", "action_id": "value", "options": opts, "initial_option": opts[0]})
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

/// The text form's `key=value` words. Unknown keys and words without `=` are errors.
pub fn fields_from_words(words: &[String]) -> Result<BTreeMap<String, String>, String> {
    let known: Vec<&str> = FIELDS.iter().map(|f| f.0).collect();
    let mut out = BTreeMap::new();
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(format!(
                "`{w}` isn't key=value; for example name=\"Question hook\" variants=A,B baseline=4% mde=10%"
            ));
        };
        let key = match k.trim().to_lowercase().replace('-', "_").as_str() {
            "metric" => "target_metric".to_string(),
            "type" => "metric_type".to_string(),
            "traffic" => "daily_traffic".to_string(),
            "sd" => "baseline_sd".to_string(),
            other => other.to_string(),
        };
        if !known.contains(&key.as_str()) {
            return Err(format!(
                "`{k}` isn't a field; the fields are {}",
                known.join(", ")
            ));
        }
        out.insert(key, v.trim().to_string());
    }
    Ok(out)
}

/// A number as people write it: `0.04`, `4%`, `1,200`.
fn number(s: &str) -> Option<f64> {
    let t = s.trim().replace([',', '_', ' '], "");
    match t.strip_suffix('%') {
        Some(p) => p.parse::<f64>().ok().map(|x| x / 100.0),
        None => t.parse().ok(),
    }
}

/// The fields as the engine's input; unreadable values are field errors too.
pub fn design_input(
    f: &BTreeMap<String, String>,
    user: &str,
    channel: Option<&str>,
) -> Result<DesignInput, Vec<FieldError>> {
    let mut errors: Vec<FieldError> = Vec::new();
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or("").trim();
    let num = |k: &'static str, default: Option<f64>, errors: &mut Vec<FieldError>| -> f64 {
        match (get(k), default) {
            ("", Some(d)) => d,
            ("", None) => {
                errors.push(FieldError {
                    field: k,
                    message: "required".into(),
                });
                f64::NAN
            }
            (s, _) => number(s).unwrap_or_else(|| {
                errors.push(FieldError {
                    field: k,
                    message: format!("{s:?} isn't a number"),
                });
                f64::NAN
            }),
        }
    };
    let baseline = num("baseline", None, &mut errors);
    let mde = num("mde", None, &mut errors);
    let alpha = num("alpha", Some(0.05), &mut errors);
    let power = num("power", Some(0.8), &mut errors);
    let opt = |k: &'static str, errors: &mut Vec<FieldError>| -> Option<f64> {
        match get(k) {
            "" => None,
            s => match number(s) {
                Some(x) => Some(x),
                None => {
                    errors.push(FieldError {
                        field: k,
                        message: format!("{s:?} isn't a number"),
                    });
                    None
                }
            },
        }
    };
    let baseline_sd = opt("baseline_sd", &mut errors);
    let daily_traffic = opt("daily_traffic", &mut errors);
    let kind = match get("kind") {
        "" | "randomized" => Kind::Randomized,
        "content" => Kind::Content,
        s => {
            errors.push(FieldError {
                field: "kind",
                message: format!("{s:?}: randomized or content"),
            });
            Kind::Randomized
        }
    };
    let metric_type = match get("metric_type") {
        "" | "proportion" => MetricType::Proportion,
        "mean" => MetricType::Mean,
        "rate" => MetricType::Rate,
        s => {
            errors.push(FieldError {
                field: "metric_type",
                message: format!("{s:?}: proportion, mean or rate"),
            });
            MetricType::Proportion
        }
    };
    let variants: Vec<VariantSpec> = get("variants")
        .split(['\n', ','])
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(VariantSpec::named)
        .collect();
    let input = DesignInput {
        name: get("name").to_string(),
        hypothesis: Some(get("hypothesis").to_string()).filter(|h| !h.is_empty()),
        kind,
        metric_type,
        target_metric: get("target_metric").to_string(),
        variants,
        baseline,
        baseline_sd,
        mde,
        min_effect: None,
        alpha,
        power,
        daily_traffic,
        higher_is_better: true,
        guardrails: Vec::new(),
        start_at: None,
        created_by: format!("slack:{user}"),
        channel_id: channel.map(str::to_string),
    };
    if errors.is_empty() {
        return Ok(input);
    }
    // Report the other fields' problems too, so the form is fixed in one go.
    if let Err(more) = design::design(input) {
        for e in more.0 {
            if !errors.iter().any(|x| x.field == e.field) {
                errors.push(e);
            }
        }
    }
    Err(errors)
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
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        let cases = [
            ("0.04", Some(0.04)),
            ("4%", Some(0.04)),
            (" 10 % ", Some(0.1)),
            ("1,200", Some(1200.0)),
            ("x", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(number(s), want, "{s:?}");
        }
    }

    #[test]
    fn text_form_and_modal_give_the_same_input() {
        let words: Vec<String> = [
            "name=Hook test",
            "metric=ctr",
            "variants=A,B",
            "baseline=4%",
            "mde=10%",
            "traffic=2000",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let from_text = fields_from_words(&words).unwrap();
        let from_modal = fields(&[
            ("name", "Hook test"),
            ("target_metric", "ctr"),
            ("variants", "A\nB"),
            ("baseline", "0.04"),
            ("mde", "0.1"),
            ("daily_traffic", "2000"),
        ]);
        let a = design_input(&from_text, "U1", Some("C1")).unwrap();
        let b = design_input(&from_modal, "U1", Some("C1")).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.variants.len(), 2);
        assert_eq!((a.alpha, a.power), (0.05, 0.8));
        assert_eq!(a.created_by, "slack:U1");
        assert!(design::design(a).is_ok());
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
            let f = fields(input);
            let errors = match design_input(&f, "U1", None) {
                Err(e) => e,
                Ok(i) => design::design(i).unwrap_err().0,
            };
            let by_block = errors_by_block(&errors);
            let mut got: Vec<&str> = by_block.keys().map(String::as_str).collect();
            got.sort_unstable();
            assert_eq!(got, *want, "{input:?}");
            assert!(by_block.values().all(|m| !m.is_empty()));
        }
        assert!(fields_from_words(&["colour=red".to_string()]).is_err());
        assert!(fields_from_words(&["name".to_string()]).is_err());
    }
}
