//! `abtest new`'s one grammar: the fields of a design as flags (`--mde 10%`), as `key=value`
//! words (`mde=10%`), or from the Slack modal, all read by [`input`] into the engine's
//! [`DesignInput`]. A mistake is reported against the field as the person typed it.

use std::collections::BTreeMap;

use super::grammar::{parse_guardrail, parse_time, NewTestArgs};
use super::AppError;
use crate::experiments::design::{self, DesignInput, FieldError, Kind, MetricType, VariantSpec};

/// One field of a design as given: how it was typed (for messages; empty from the modal) and
/// its values (several for a repeated flag).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Field {
    pub typed: String,
    pub values: Vec<String>,
}

/// The fields by their key (the engine's field names: `mde`, `target_metric`, …).
pub type Fields = BTreeMap<&'static str, Field>;

/// A field's key, its flag, and the other names `key=value` accepts.
struct Spec {
    key: &'static str,
    flag: &'static str,
    aliases: &'static [&'static str],
    /// May be given more than once (each adds values).
    repeats: bool,
}

const SPECS: &[Spec] = &[
    spec("name", "name", &[]),
    spec("hypothesis", "hypothesis", &[]),
    spec("kind", "kind", &[]),
    spec("metric_type", "metric-type", &["type"]),
    spec("target_metric", "target-metric", &["metric"]),
    Spec {
        key: "variants",
        flag: "variant",
        aliases: &["variant"],
        repeats: true,
    },
    spec("weights", "weights", &[]),
    spec("baseline", "baseline", &[]),
    spec("baseline_sd", "baseline-sd", &["sd"]),
    spec("mde", "mde", &[]),
    spec("min_effect", "min-effect", &[]),
    spec("alpha", "alpha", &[]),
    spec("power", "power", &[]),
    spec("daily_traffic", "daily-traffic", &["traffic"]),
    spec("lower_is_better", "lower-is-better", &[]),
    Spec {
        key: "guardrails",
        flag: "guardrail",
        aliases: &["guardrail"],
        repeats: true,
    },
    spec("start_at", "start-at", &[]),
];

const fn spec(key: &'static str, flag: &'static str, aliases: &'static [&'static str]) -> Spec {
    Spec {
        key,
        flag,
        aliases,
        repeats: false,
    }
}

/// The keys `key=value` accepts, for messages.
pub fn keys() -> Vec<&'static str> {
    SPECS.iter().map(|s| s.key).collect()
}

fn spec_of(key: &str) -> Option<&'static Spec> {
    let k = key.trim().to_lowercase().replace('-', "_");
    SPECS
        .iter()
        .find(|s| s.key == k || s.flag.replace('-', "_") == k || s.aliases.contains(&k.as_str()))
}

fn add(
    fields: &mut Fields,
    spec: &'static Spec,
    typed: String,
    value: String,
) -> Result<(), AppError> {
    let f = fields.entry(spec.key).or_default();
    if !f.values.is_empty() && !spec.repeats {
        return Err(AppError::Usage(format!(
            "{} is given twice (`{}` and `{typed}`); give it once",
            spec.key, f.typed
        )));
    }
    if f.typed.is_empty() {
        f.typed = typed;
    } else {
        f.typed = format!("{} {typed}", f.typed);
    }
    f.values.push(value);
    Ok(())
}

/// The fields of `abtest new`'s flags and `key=value` words together.
pub fn fields_from_args(a: &NewTestArgs) -> Result<Fields, AppError> {
    let mut fields = Fields::new();
    let flags: [(&str, Option<&String>); 14] = [
        ("name", a.name.as_ref()),
        ("hypothesis", a.hypothesis.as_ref()),
        ("kind", a.kind.as_ref()),
        ("metric_type", a.metric_type.as_ref()),
        ("target_metric", a.target_metric.as_ref()),
        ("weights", a.weights.as_ref()),
        ("baseline", a.baseline.as_ref()),
        ("baseline_sd", a.baseline_sd.as_ref()),
        ("mde", a.mde.as_ref()),
        ("min_effect", a.min_effect.as_ref()),
        ("alpha", a.alpha.as_ref()),
        ("power", a.power.as_ref()),
        ("daily_traffic", a.daily_traffic.as_ref()),
        ("start_at", a.start_at.as_ref()),
    ];
    for (key, value) in flags {
        if let (Some(spec), Some(v)) = (spec_of(key), value) {
            add(&mut fields, spec, format!("--{} {v}", spec.flag), v.clone())?;
        }
    }
    for (key, values) in [("variants", &a.variants), ("guardrails", &a.guardrails)] {
        if let Some(spec) = spec_of(key) {
            for v in values {
                add(&mut fields, spec, format!("--{} {v}", spec.flag), v.clone())?;
            }
        }
    }
    if a.lower_is_better {
        if let Some(spec) = spec_of("lower_is_better") {
            add(&mut fields, spec, "--lower-is-better".into(), "true".into())?;
        }
    }
    for w in &a.fields {
        let Some((k, v)) = w.split_once('=') else {
            return Err(AppError::Usage(format!(
                "`{w}` isn't key=value; for example name=\"Question hook\" variants=A,B baseline=4% mde=10%"
            )));
        };
        let Some(spec) = spec_of(k) else {
            return Err(AppError::Usage(format!(
                "`{k}` isn't a field of a test; the fields are {}",
                keys().join(", ")
            )));
        };
        add(&mut fields, spec, format!("{k}={v}"), v.trim().to_string())?;
    }
    Ok(fields)
}

/// The values the modal submitted, by block (its blocks are named by the keys).
pub fn fields_from_form(values: &BTreeMap<String, String>) -> Fields {
    let mut fields = Fields::new();
    for (block, value) in values {
        if let Some(spec) = spec_of(block) {
            fields.insert(
                spec.key,
                Field {
                    typed: String::new(),
                    values: vec![value.clone()],
                },
            );
        }
    }
    fields
}

/// A number as people write it: `0.04`, `4%`, `1,200`.
pub fn number(s: &str) -> Option<f64> {
    let t = s.trim().replace([',', '_', ' '], "");
    let x = match t.strip_suffix('%') {
        Some(p) => p.parse::<f64>().ok().map(|x| x / 100.0),
        None => t.parse().ok(),
    }?;
    x.is_finite().then_some(x)
}

/// The fields as the engine's input, validated by the engine: every problem at once, each
/// against its field.
pub fn input(
    f: &Fields,
    actor: &str,
    channel: Option<&str>,
) -> Result<DesignInput, Vec<FieldError>> {
    let mut errors: Vec<FieldError> = Vec::new();
    let one = |k: &str| {
        f.get(k)
            .and_then(|x| x.values.last())
            .map(|s| s.trim())
            .unwrap_or("")
    };
    let mut bad = |field: &'static str, message: String| errors.push(FieldError { field, message });
    let mut num = |k: &'static str, default: Option<f64>| -> Option<f64> {
        match (one(k), default) {
            ("", d) => {
                if d.is_none() && matches!(k, "baseline" | "mde") {
                    bad(k, "required".into());
                }
                d
            }
            (s, _) => number(s).or_else(|| {
                bad(k, format!("{s:?} isn't a number"));
                None
            }),
        }
    };
    let baseline = num("baseline", None);
    let mde = num("mde", None);
    let alpha = num("alpha", Some(0.05));
    let power = num("power", Some(0.8));
    let baseline_sd = num("baseline_sd", None);
    let daily_traffic = num("daily_traffic", None);
    let min_effect = num("min_effect", None);
    let kind = match one("kind") {
        "" => Kind::Randomized,
        s => s.parse().unwrap_or_else(|m: crate::domain::UnknownWord| {
            bad("kind", m.to_string());
            Kind::Randomized
        }),
    };
    let metric_type = match one("metric_type") {
        "" => MetricType::Proportion,
        s => s.parse().unwrap_or_else(|m: crate::domain::UnknownWord| {
            bad("metric_type", m.to_string());
            MetricType::Proportion
        }),
    };
    let mut variants: Vec<VariantSpec> = f
        .get("variants")
        .map(|v| v.values.as_slice())
        .unwrap_or_default()
        .iter()
        .flat_map(|v| v.split(['\n', ',']))
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(VariantSpec::named)
        .collect();
    match one("weights") {
        "" => {}
        w => {
            let weights: Option<Vec<f64>> = w.split(',').map(number).collect();
            match weights {
                Some(ws) if ws.len() == variants.len() => {
                    for (v, w) in variants.iter_mut().zip(ws) {
                        v.weight = w;
                    }
                }
                Some(ws) => bad(
                    "weights",
                    format!("{} weights for {} variants", ws.len(), variants.len()),
                ),
                None => bad("weights", format!("{w:?} isn't numbers like 1,1")),
            }
        }
    }
    let mut guardrails = Vec::new();
    for g in f
        .get("guardrails")
        .map(|g| g.values.as_slice())
        .unwrap_or_default()
    {
        match parse_guardrail(g) {
            Ok(spec) => guardrails.push(spec),
            Err(m) => bad("guardrails", m),
        }
    }
    let higher_is_better = match one("lower_is_better").to_lowercase().as_str() {
        "" | "false" | "no" => true,
        "true" | "yes" => false,
        s => {
            bad("lower_is_better", format!("{s:?}: true or false"));
            true
        }
    };
    let start_at = match one("start_at") {
        "" => None,
        s => parse_time(s).map_err(|m| bad("start_at", m)).ok(),
    };
    let input = DesignInput {
        name: one("name").to_string(),
        hypothesis: Some(one("hypothesis").to_string()).filter(|h| !h.is_empty()),
        kind,
        metric_type,
        target_metric: one("target_metric").to_string(),
        variants,
        // A field already reported as unreadable stays out of the engine's own check.
        baseline: baseline.unwrap_or(f64::NAN),
        baseline_sd,
        mde: mde.unwrap_or(f64::NAN),
        min_effect,
        alpha: alpha.unwrap_or(0.05),
        power: power.unwrap_or(0.8),
        daily_traffic,
        higher_is_better,
        guardrails,
        start_at,
        created_by: actor.to_string(),
        channel_id: channel.map(str::to_string),
    };
    // The engine's check, for every field not already found unreadable, so the whole design
    // is fixed in one go.
    if let Err(more) = design::design(input.clone()) {
        for e in more.0 {
            if !errors.iter().any(|x| x.field == e.field) {
                errors.push(e);
            }
        }
    }
    if errors.is_empty() {
        Ok(input)
    } else {
        Err(errors)
    }
}

/// The design errors as lines that name each field as it was typed.
pub fn error_lines(errors: &[FieldError], fields: &Fields) -> Vec<String> {
    errors
        .iter()
        .map(
            |e| match fields.get(e.field).filter(|f| !f.typed.is_empty()) {
                Some(f) => format!("`{}`: {}", f.typed, e.message),
                None => match SPECS.iter().find(|s| s.key == e.field) {
                    Some(s) => format!("{} ({}=… or --{} …): {}", s.key, s.key, s.flag, e.message),
                    None => format!("{}: {}", e.field, e.message),
                },
            },
        )
        .collect()
}

/// `abtest new`'s arguments, from either adapter, as a validated input.
pub fn from_args(
    args: &NewTestArgs,
    actor: &str,
    channel: Option<&str>,
) -> Result<DesignInput, AppError> {
    let fields = fields_from_args(args)?;
    input(&fields, actor, channel).map_err(|e| AppError::Fields(error_lines(&e, &fields)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn args(words: &[&str]) -> Result<NewTestArgs, clap::Error> {
        #[derive(Parser)]
        struct T {
            #[command(flatten)]
            a: NewTestArgs,
        }
        T::try_parse_from(std::iter::once("new").chain(words.iter().copied())).map(|t| t.a)
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        let cases = [
            ("0.04", Some(0.04)),
            ("4%", Some(0.04)),
            (" 10 % ", Some(0.1)),
            ("1,200", Some(1200.0)),
            ("-1", Some(-1.0)),
            ("x", None),
            ("", None),
            ("inf", None),
            ("NaN", None),
        ];
        for (s, want) in cases {
            assert_eq!(number(s), want, "{s:?}");
        }
    }

    #[test]
    fn flags_and_key_value_words_give_the_same_design() {
        let forms: [&[&str]; 4] = [
            &[
                "--name",
                "Hook test",
                "--target-metric",
                "ctr",
                "--variant",
                "A",
                "--variant",
                "B",
                "--baseline",
                "0.04",
                "--mde",
                "0.1",
                "--daily-traffic",
                "2000",
            ],
            &[
                "name=Hook test",
                "metric=ctr",
                "variants=A,B",
                "baseline=4%",
                "mde=10%",
                "traffic=2,000",
            ],
            &[
                "--name",
                "Hook test",
                "metric=ctr",
                "--variant",
                "A",
                "variant=B",
                "--baseline",
                "4%",
                "--mde",
                "10%",
                "daily-traffic=2000",
            ],
            &[
                "NAME=Hook test",
                "target_metric=ctr",
                "variants=A,B",
                "baseline=0.04",
                "MDE=0.1",
                "daily_traffic=2000",
            ],
        ];
        let inputs: Vec<DesignInput> = forms
            .iter()
            .map(|f| {
                from_args(&args(f).unwrap(), "cli", None).unwrap_or_else(|e| panic!("{f:?}: {e}"))
            })
            .collect();
        for i in &inputs[1..] {
            assert_eq!(i, &inputs[0]);
        }
        let d = design::design(inputs[0].clone()).unwrap();
        assert_eq!(
            (d.alpha, d.power, d.mde, d.baseline),
            (0.05, 0.8, 0.1, 0.04)
        );
        assert_eq!(d.variants.len(), 2);
        // The modal's fields read the same way.
        let form: BTreeMap<String, String> = [
            ("name", "Hook test"),
            ("target_metric", "ctr"),
            ("variants", "A\nB"),
            ("baseline", "4%"),
            ("mde", "0.1"),
            ("daily_traffic", "2000"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            input(&fields_from_form(&form), "cli", None).unwrap(),
            inputs[0]
        );
    }

    #[test]
    fn mistakes_are_named_as_typed_and_only_those() {
        let base = [
            "--name",
            "x",
            "--target-metric",
            "ctr",
            "--variant",
            "A",
            "--variant",
            "B",
            "--baseline",
            "0.04",
        ];
        let cases: &[(&[&str], &[&str], &[&str])] = &[
            // (extra words, what the message must contain, what it must not)
            (
                &["--mde", "-1"],
                &["`--mde -1`", "above 0"],
                &["min_effect", "unexpected"],
            ),
            (&["mde=-10%"], &["`mde=-10%`"], &["min_effect"]),
            (
                &["--mde", "lots"],
                &["`--mde lots`", "isn't a number"],
                &["min_effect"],
            ),
            (&[], &["mde (mde=… or --mde …): required"], &["min_effect"]),
            (
                &["--mde", "10%", "--alpha", "0.9"],
                &["`--alpha 0.9`"],
                &["mde"],
            ),
            (
                &["--mde", "10%", "--weights", "1"],
                &["`--weights 1`", "1 weights for 2 variants"],
                &[],
            ),
            (
                &["--mde", "10%", "--kind", "sideways"],
                &["`--kind sideways`", "randomized, content"],
                &[],
            ),
        ];
        for (extra, want, not) in cases {
            let words: Vec<&str> = base.iter().chain(extra.iter()).copied().collect();
            let e = match from_args(&args(&words).unwrap(), "cli", None) {
                Err(AppError::Fields(lines)) => lines.join("\n"),
                other => panic!("{words:?}: {other:?}"),
            };
            for w in *want {
                assert!(e.contains(w), "{words:?}: {w:?} in {e}");
            }
            for n in *not {
                assert!(!e.contains(n), "{words:?}: {n:?} in {e}");
            }
        }
    }

    #[test]
    fn unknown_keys_loose_words_and_repeats_are_refused() {
        let cases: &[(&[&str], &str)] = &[
            (&["colour=red"], "isn't a field"),
            (&["name"], "isn't key=value"),
            (&["mde=10%", "--mde", "0.2"], "given twice"),
        ];
        for (words, want) in cases {
            let e = from_args(&args(words).unwrap(), "cli", None)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{words:?}: {e}");
        }
    }
}
