//! `vibe zones …`: the time zones whose local days the rollups keep.

use std::process::ExitCode;

use chrono_tz::Tz;

use super::ZonesCommand;
use crate::config::Settings;
use crate::domain::days::canonical;
use crate::store::Store;

/// What keeps `zone`: UTC always, the configuration, digest schedules, else a report asked.
fn reasons(
    zone: Tz,
    settings: &Settings,
    schedules: &[crate::store::DigestSchedule],
) -> Vec<String> {
    let mut why = Vec::new();
    if zone == Tz::Etc__UTC {
        why.push("always kept".to_string());
    }
    if canonical(settings.report.timezone.0) == zone {
        why.push("report.timezone".into());
    }
    if canonical(settings.scheduler.timezone.0) == zone {
        why.push("scheduler.timezone".into());
    }
    for s in schedules {
        if s.timezone.parse::<Tz>().is_ok_and(|t| canonical(t) == zone) {
            why.push(format!("digest schedule #{}", s.id));
        }
    }
    why
}

pub(super) async fn zones(
    store: &Store,
    settings: &Settings,
    command: ZonesCommand,
) -> anyhow::Result<ExitCode> {
    let schedules = store.schedules().await?;
    match command {
        ZonesCommand::List => {
            let kept = store.rollup_zones().await?;
            outln!(
                "vibe keeps days in {} of at most {} time zones:",
                kept.len(),
                crate::store::MAX_ZONES
            );
            for zone in kept {
                let why = reasons(zone, settings, &schedules);
                let why = if why.is_empty() {
                    "added by a report; `vibe zones remove` stops keeping it".to_string()
                } else {
                    why.join(", ")
                };
                outln!("  {:<24} {why}", zone.name());
            }
            Ok(ExitCode::SUCCESS)
        }
        ZonesCommand::Remove { zone } => {
            let Ok(tz) = zone.trim().parse::<Tz>() else {
                eprintln!("error: {zone:?} is not an IANA time zone like Europe/Paris");
                return Ok(ExitCode::from(2));
            };
            let tz = canonical(tz);
            let why = reasons(tz, settings, &schedules);
            if !why.is_empty() {
                eprintln!(
                    "error: {} stays kept ({}); nothing was removed",
                    tz.name(),
                    why.join(", ")
                );
                return Ok(ExitCode::from(2));
            }
            if store.forget_zone(tz).await? {
                outln!(
                    "vibe no longer keeps days in {}; its rollups were removed.",
                    tz.name()
                );
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("error: vibe doesn't keep days in {}", tz.name());
                Ok(ExitCode::FAILURE)
            }
        }
    }
}
