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
mod show;
mod token;
mod zones;

use show::{print_demo, print_demo_tests, print_import};
use token::token;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

pub use crate::app::grammar::{
    AbtestCommand, Cli, Command, OutputFormat, ReportFormat, ScheduleCommand, TokenCommand,
    ZonesCommand,
};
use crate::config::{Config, Settings};
use crate::demo::{self, DemoPlan};
use crate::import::{self, FacebookOptions, ImportError, ImportOptions};
use crate::store::{Source, Store};

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
    crate::app::keep_configured_zones(&store, settings).await?;
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
            if words.first().map(String::as_str) == Some("show") {
                let store = open_store(settings).await?;
                let id = words.get(1).map(String::as_str).unwrap_or("");
                let code = analysis::show_report(&store, settings, id, format, output).await?;
                store.close().await;
                return Ok(code);
            }
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
            // Only `add` may look a channel up by name.
            let workspace = match command {
                ScheduleCommand::Add { .. } => crate::server::workspace(&config)?,
                _ => None,
            };
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
        Command::Zones { command } => {
            let store = open_store(settings).await?;
            let code = zones::zones(&store, settings, command).await;
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
            let asked = days.unwrap_or(settings.demo.days);
            let days = asked.clamp(7, 730);
            if days != asked {
                eprintln!(
                    "note: the demo makes between 7 and 730 days of data; making {days} instead of {asked}."
                );
            }
            let plan = DemoPlan {
                seed: seed.unwrap_or(settings.demo.seed),
                now: demo::demo_now(chrono::Utc::now()),
                days,
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
            analysis::demo_report(&store, settings, &data, &html).await?;
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
