//! The command-line adapter: parses arguments, loads the configuration, opens the store and
//! prints results. Logic lives in the modules it calls.

/// `println!` for terminal output that survives a closed stdout (see [`out`]).
macro_rules! outln {
    () => { $crate::cli::out::write(format_args!(""), true) };
    ($($t:tt)*) => { $crate::cli::out::write(format_args!($($t)*), true) };
}

/// `print!` for terminal output that survives a closed stdout (see [`out`]).
macro_rules! out {
    ($($t:tt)*) => { $crate::cli::out::write(format_args!($($t)*), false) };
}

pub mod abtest;
mod analysis;
pub mod out;
pub mod schedule;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

use chrono::{DateTime, Utc};

pub use crate::app::grammar::{
    AbtestCommand, Cli, Command, OutputFormat, ReportFormat, ScheduleCommand, TokenCommand,
};
use crate::config::{Config, Settings};
use crate::demo::{self, DemoPlan};
use crate::import::{self, FacebookOptions, ImportError, ImportOptions};
use crate::store::{Source, Store};
use crate::text::thousands;

fn humantime(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 86400 == 0 => format!("{} day(s)", s / 86400),
        s if s % 3600 == 0 => format!("{} hour(s)", s / 3600),
        s if s % 60 == 0 => format!("{} minute(s)", s / 60),
        s => format!("{s} second(s)"),
    }
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: configuration: {e}");
            return ExitCode::from(2);
        }
    };
    init_logging(&config.settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: can't start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(settings: &Settings) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| tracing_subscriber::EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(&settings.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match settings.log.format {
        crate::config::LogFormat::Json => builder.json().flatten_event(true).try_init(),
        crate::config::LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .try_init(),
    };
}

/// GET http://ADDR/healthz within three seconds: 0 when it answers 200.
async fn live_probe(addr: std::net::SocketAddr) -> ExitCode {
    use http_body_util::Empty;
    use hyper_util::client::legacy::Client;
    let client: Client<_, Empty<axum::body::Bytes>> =
        Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let uri = match format!("http://{addr}/healthz").parse::<axum::http::Uri>() {
        Ok(u) => u,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), client.get(uri)).await {
        Ok(Ok(r)) if r.status().is_success() => {
            outln!("ok   vibe answers on {addr}");
            ExitCode::SUCCESS
        }
        Ok(Ok(r)) => {
            outln!("FAIL vibe on {addr} answered {}", r.status());
            ExitCode::FAILURE
        }
        Ok(Err(e)) => {
            outln!("FAIL nothing answers on {addr}: {e}");
            ExitCode::FAILURE
        }
        Err(_) => {
            outln!("FAIL {addr} didn't answer within 3 s");
            ExitCode::FAILURE
        }
    }
}

async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(&settings.database).await?;
    store.migrate().await?;
    Ok(store)
}

async fn run(command: Command, config: Config) -> anyhow::Result<ExitCode> {
    let settings = &config.settings;
    match command {
        Command::Config => {
            out!("{}", settings.to_redacted_toml());
            outln!("\n# secrets (from the environment only)");
            for (var, set) in config.secrets.presence() {
                outln!(
                    "# {var}: {}",
                    if set { "set (redacted)" } else { "not set" }
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            words,
            period_flag,
            brand,
            from,
            to,
            tz,
            format,
            output,
        } => {
            let (period, platform) =
                match crate::app::grammar::period_and_platform(&words, period_flag) {
                    Ok(p) => p,
                    Err(m) => {
                        eprintln!("error: {m}");
                        return Ok(ExitCode::from(2));
                    }
                };
            let store = open_store(settings).await?;
            let args = analysis::ReportArgs {
                period,
                platform,
                brand,
                from,
                to,
                tz,
                format,
                output,
            };
            let code = analysis::report(&store, settings, args).await;
            store.close().await;
            code
        }
        Command::Alerts { format } => {
            let store = open_store(settings).await?;
            let code = analysis::alerts(&store, format).await;
            store.close().await;
            code
        }
        Command::Analyze => {
            let store = open_store(settings).await?;
            let code = analysis::analyze(&store, settings).await;
            store.close().await;
            code
        }
        Command::Abtest { format, command } => {
            let store = open_store(settings).await?;
            let code = abtest::run(&store, command, format).await;
            store.close().await;
            code
        }
        Command::Schedule { command } => {
            let store = open_store(settings).await?;
            let workspace = crate::server::workspace(&config)?;
            let code = schedule::run(&store, settings, workspace.as_deref(), command).await;
            store.close().await;
            code
        }
        Command::Serve { listen } => serve_for(config, listen, None).await,
        Command::Start { duration, listen } => serve_for(config, listen, Some(duration)).await,
        Command::Health {
            live: Some(addr), ..
        } => Ok(live_probe(addr).await),
        Command::Health { format, .. } => {
            let store = match Store::connect_existing(&settings.database).await {
                Ok(s) => s,
                Err(e) => {
                    outln!("FAIL database    {e}");
                    return Ok(ExitCode::FAILURE);
                }
            };
            let h = crate::server::health(&config, &store).await?;
            store.close().await;
            match format {
                OutputFormat::Json => outln!("{}", serde_json::to_string_pretty(&h)?),
                OutputFormat::Text => out!("{}", h.text()),
            }
            Ok(if h.healthy {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Token { command } => {
            let store = open_store(settings).await?;
            let code = token(&store, command).await;
            store.close().await;
            code
        }
        Command::Migrate => {
            let store = Store::connect(&settings.database).await?;
            let applied = store.migrate().await?;
            outln!(
                "{}: {applied} migration(s) applied; schema at {} of {} known",
                settings.database.url.redacted(),
                store.applied_migrations().await?,
                store.known_migrations()
            );
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            files,
            format,
            skip_invalid,
            account,
            brand,
            year,
        } => {
            let store = open_store(settings).await?;
            let opts = ImportOptions {
                format,
                skip_invalid,
                facebook: FacebookOptions {
                    account,
                    brand,
                    year,
                },
                batch_size: settings.import.batch_size,
                progress: false,
            };
            let mut failed = false;
            for file in files {
                let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
                let opts = ImportOptions {
                    progress: std::io::stderr().is_terminal()
                        && size >= settings.import.progress_min_bytes,
                    ..opts.clone()
                };
                match import::import_file(&store, &file, &opts).await {
                    Ok(report) => print_import(&report),
                    Err(ImportError::Invalid { path, issues }) => {
                        failed = true;
                        eprintln!(
                            "error: {}: {} invalid row(s); nothing from this file was written \
                             (use --skip-invalid to write the valid rows)",
                            path.display(),
                            issues.iter().filter(|i| i.line > 0).count()
                        );
                        for issue in &issues {
                            eprintln!("  {}", issue.located(&path));
                        }
                    }
                    Err(e) => {
                        failed = true;
                        eprintln!("error: {e}");
                    }
                }
            }
            store.close().await;
            Ok(if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Demo {
            force,
            seed,
            days,
            html,
        } => {
            let store = open_store(settings).await?;
            let others = store.non_demo_accounts().await?;
            if !others.is_empty() && !force {
                let sample = others
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                eprintln!(
                    "error: {} holds {} account(s) that are not demo data ({sample}{}). \
                     Run with --force to add demo data beside them, or point DATABASE_URL at a new database.",
                    settings.database.url.redacted(),
                    others.len(),
                    if others.len() > 3 { ", …" } else { "" }
                );
                return Ok(ExitCode::FAILURE);
            }
            let plan = DemoPlan {
                seed: seed.unwrap_or(settings.demo.seed),
                now: demo::demo_now(chrono::Utc::now()),
                days: days.unwrap_or(settings.demo.days).clamp(7, 730),
            };
            let data = demo::generate(&plan);
            store.delete_demo_data().await?;
            let mut ingest = store
                .begin_ingest(Source::Demo, settings.import.batch_size)
                .await?;
            for r in &data.records {
                ingest.add(r).await?;
            }
            ingest.finish().await?;
            let tests = demo::tests_demo::install(&store, &plan, &data).await?;
            print_demo(&store, settings, &plan, &data).await?;
            print_demo_tests(&store, &tests).await?;
            analysis::demo_report(&store, settings, &html).await?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// `vibe serve`, or `vibe start --duration`: until SIGTERM, Ctrl-C or the duration.
async fn serve_for(
    mut config: Config,
    listen: Option<String>,
    duration: Option<std::time::Duration>,
) -> anyhow::Result<ExitCode> {
    if let Some(l) = listen {
        if l.parse::<std::net::SocketAddr>().is_err() {
            eprintln!("error: --listen {l:?} is not an address and port like 127.0.0.1:3000");
            return Ok(ExitCode::from(2));
        }
        config.settings.server.listen = l;
    }
    let store = open_store(&config.settings).await?;
    serve(store, &config, duration).await
}

async fn serve(
    store: Store,
    config: &Config,
    duration: Option<std::time::Duration>,
) -> anyhow::Result<ExitCode> {
    let (tx, stop) = crate::server::stop_on_signals();
    let app = crate::server::Application::build(store.clone(), config).await?;
    for line in crate::server::describe_setup(config, app.addr()) {
        eprintln!("{line}");
    }
    if let Some(d) = duration {
        eprintln!("vibe will stop in {}.", humantime(d));
        tokio::spawn(async move {
            tokio::time::sleep(d).await;
            tracing::info!("the duration is over: stopping");
            let _ = tx.send(true);
        });
    }
    app.run(stop).await?;
    store.close().await;
    eprintln!("vibe stopped.");
    Ok(ExitCode::SUCCESS)
}

async fn token(store: &Store, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let now = chrono::Utc::now().timestamp();
    match command {
        TokenCommand::Create { name, scopes } => {
            let name = name.trim().to_string();
            if let Err(m) = crate::api::check_token_name(&name) {
                eprintln!("error: {m}");
                return Ok(ExitCode::from(2));
            }
            // A closed stdout (or /dev/null) swallows writes without an error; the token would
            // be live and never seen.
            if !out::stdout_is_open() {
                eprintln!("error: standard output goes nowhere (closed or /dev/null), so the token couldn't be shown; nothing was created");
                return Ok(ExitCode::FAILURE);
            }
            let scopes: Vec<&str> = if scopes.is_empty() {
                crate::api::SCOPES.to_vec()
            } else {
                scopes.iter().map(String::as_str).collect()
            };
            if let Some(bad) = scopes.iter().find(|s| !crate::api::SCOPES.contains(s)) {
                eprintln!(
                    "error: unknown scope {bad:?}; scopes are {}",
                    crate::api::SCOPES.join(", ")
                );
                return Ok(ExitCode::from(2));
            }
            let token = crate::api::new_token();
            let prefix: String = token.chars().take(9).collect();
            match store
                .create_api_token(
                    name.trim(),
                    &crate::api::token_hash(&token),
                    &prefix,
                    &scopes,
                    now,
                )
                .await
            {
                Ok(_) => {
                    // The token exists only in this output: if it can't be written, it is
                    // revoked at once rather than left live and unknown.
                    if let Err(e) = out::write_flushed(&format!("{token}\n")) {
                        let revoked = store.revoke_api_token(name.trim(), now).await;
                        eprintln!(
                            "error: can't write the token to standard output ({e}); it was revoked{}. Run the command again.",
                            if revoked.is_ok() { "" } else { " (the revocation failed too: run vibe token revoke)" }
                        );
                        return Ok(ExitCode::FAILURE);
                    }
                    eprintln!(
                        "Token {name:?} ({}) created. It is shown only now: store it as a secret. \
                         Send it as `Authorization: Bearer <token>`.",
                        scopes.join(", ")
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(crate::store::StoreError::Conflict(m)) => {
                    eprintln!("error: {m}");
                    Ok(ExitCode::from(2))
                }
                Err(e) => Err(e.into()),
            }
        }
        TokenCommand::List { format } => {
            let tokens = store.api_tokens().await?;
            if format == OutputFormat::Json {
                outln!("{}", serde_json::to_string_pretty(&tokens)?);
            } else if tokens.is_empty() {
                outln!("No tokens. Create one with: vibe token create NAME");
            } else {
                let when = |t: Option<i64>| {
                    t.and_then(|t| DateTime::<Utc>::from_timestamp(t, 0))
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "-".into())
                };
                outln!(
                    "{:<20} {:<10} {:<34} {:<16} {:<16} revoked",
                    "name",
                    "prefix",
                    "scopes",
                    "created",
                    "last used"
                );
                for t in tokens {
                    outln!(
                        "{:<20} {:<10} {:<34} {:<16} {:<16} {}",
                        t.name,
                        t.prefix,
                        t.scopes.join(" "),
                        when(Some(t.created_at)),
                        when(t.last_used_at),
                        when(t.revoked_at)
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { name } => {
            if store.revoke_api_token(&name, now).await? {
                outln!("Token {name:?} revoked.");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("error: no live token named {name:?}");
                Ok(ExitCode::FAILURE)
            }
        }
    }
}

async fn print_demo_tests(store: &Store, ids: &[i64]) -> anyhow::Result<()> {
    outln!();
    outln!("A/B tests:");
    for id in ids {
        let Some(e) = store.experiment(*id).await? else {
            continue;
        };
        let result = crate::experiments::results(store, *id, chrono::Utc::now()).await?;
        let line = match &e.verdict {
            Some(v) => v.clone(),
            None => crate::experiments::render::verdict_sentence(&e, &result),
        };
        outln!(
            "  #{id} {} ({}, {}): {line}",
            e.design.name,
            e.design.kind,
            e.status
        );
    }
    if let Some(first) = ids.first() {
        outln!("  See the analysis with: vibe abtest results {first}");
    }
    Ok(())
}

/// `1 post`, `2,000 posts`.
fn plural(n: usize, noun: &str) -> String {
    let s = if n == 1 { "" } else { "s" };
    format!("{} {noun}{s}", thousands(n as i64))
}

fn print_import(r: &import::ImportReport) {
    let secs = r.elapsed.as_secs_f64();
    outln!(
        "Imported {} ({}): {} rows in {secs:.2} s ({} rows/s)",
        r.path.display(),
        r.format,
        thousands(r.rows as i64),
        thousands((r.rows as f64 / secs.max(1e-9)) as i64)
    );
    let s = &r.stats;
    outln!(
        "  wrote {} of {}, {} and {} for {}; {} of rollups rebuilt",
        plural(s.post_snapshots, "post snapshot"),
        plural(s.posts, "post"),
        plural(s.account_snapshots, "follower count"),
        plural(s.funnel_days, "funnel day"),
        plural(s.accounts, "account"),
        plural(s.rollup_days, "account-day")
    );
    if !r.skipped.is_empty() {
        outln!(
            "  skipped {} invalid row(s):",
            r.skipped.iter().filter(|i| i.line > 0).count()
        );
        for issue in &r.skipped {
            outln!("    {}", issue.located(&r.path));
        }
    }
    if r.missing.total() > 0 {
        outln!("  warning: {} empty cell(s):", r.missing.total());
        for line in r.missing.lines() {
            outln!("    {line}");
        }
    }
    for note in &r.notes {
        outln!("  note: {note}");
    }
}

async fn print_demo(
    store: &Store,
    settings: &Settings,
    plan: &DemoPlan,
    data: &demo::DemoData,
) -> anyhow::Result<()> {
    let today = plan.now.date_naive();
    let first = today - chrono::Days::new(u64::from(plan.days) - 1);
    outln!(
        "vibe demo: {} days of data ({first} to {today}), seed {}, stored in {}",
        plan.days,
        plan.seed,
        settings.database.url.redacted()
    );
    outln!();
    outln!(
        "{:<17} {:<10} {:<17} {:>6} {:>10} {:>20} {:>12} {:>12}",
        "brand",
        "platform",
        "account",
        "posts",
        "snapshots",
        "followers",
        "impr/views",
        "engagements"
    );
    let opt = |v: Option<i64>| v.map(thousands).unwrap_or_else(|| "-".into());
    for a in store.account_summaries().await? {
        let followers = match (a.followers_first, a.followers_last) {
            (Some(f), Some(l)) => format!("{} → {}", thousands(f), thousands(l)),
            _ => "-".into(),
        };
        let seen = a.impressions.or(a.views);
        outln!(
            "{:<17} {:<10} {:<17} {:>6} {:>10} {:>20} {:>12} {:>12}",
            a.brand.as_deref().unwrap_or("-"),
            a.platform,
            format!("@{}", a.handle.as_deref().unwrap_or(&a.external_id)),
            thousands(a.posts),
            thousands(a.snapshots),
            followers,
            opt(seen),
            opt(a.engagements),
        );
    }
    outln!();
    let symbol = settings.report.currency.symbol();
    let money = |c: Option<i64>| {
        c.map(|c| format!("{symbol}{}", thousands(c / 100)))
            .unwrap_or_else(|| "-".into())
    };
    outln!("Paid campaigns:");
    for c in store.campaign_totals().await? {
        let cpl = match (c.spend_cents, c.leads) {
            (Some(s), Some(l)) if l > 0 => format!("{symbol}{:.2}", s as f64 / 100.0 / l as f64),
            _ => "-".into(),
        };
        outln!(
            "  {:<20} {:<10} {:>3} days  spend {:>9}  revenue {:>9}  leads {:>6}  cost per lead {cpl}",
            c.campaign,
            c.platform,
            c.days,
            money(c.spend_cents),
            money(c.revenue_cents),
            opt(c.leads),
        );
    }
    outln!();
    outln!("Planted in the data for the analysis to find:");
    for v in &data.viral_posts {
        outln!(
            "  viral post: {} @{} post {} published {} ({}x the usual engagement)",
            v.platform,
            v.handle,
            v.post_id,
            v.published,
            v.boost
        );
    }
    outln!(
        "  performance drop: {} @{} reach down {:.0}% since {}",
        data.drop.platform,
        data.drop.handle,
        data.drop.reach_lost * 100.0,
        data.drop.from
    );
    outln!(
        "  costly campaign: {} (cost per lead far above the others)",
        data.costly_campaign
    );
    let t = store.table_counts().await?;
    outln!();
    outln!(
        "Database totals: {} brands, {} accounts, {} posts, {} post snapshots, {} follower counts, \
         {} funnel days, {} post-days and {} account-days of rollups.",
        t.brands,
        t.accounts,
        thousands(t.posts),
        thousands(t.post_snapshots),
        thousands(t.account_snapshots),
        thousands(t.funnel_days),
        thousands(t.post_days),
        thousands(t.account_days)
    );
    Ok(())
}
