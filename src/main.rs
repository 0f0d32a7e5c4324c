//! `hub`: the command line of the Yukuhashi resident hub.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use hub::config::Config;
use hub::db::Db;
use hub::import::{self, Encoding};
use hub::residents;

#[derive(Parser)]
#[command(
    name = "hub",
    version,
    about = "The Yukuhashi resident hub: FAQ chat, segmented notices and emergency broadcasts",
    long_about = "The Yukuhashi resident hub answers residents from the city's FAQ on LINE and the web, sends \
                  segmented notices that staff schedule, and broadcasts emergencies on every channel.\n\n\
                  Configuration comes from hub.toml (--config or HUB_CONFIG) and HUB_* environment variables; \
                  the environment wins. With no configuration it runs on ./hub.db (SQLite) at 127.0.0.1:8080."
)]
struct Cli {
    /// A hub.toml configuration file (default: HUB_CONFIG, else none).
    #[arg(long, global = true, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run everything: the HTTP server, the scheduler and the delivery workers. Ctrl-C stops it cleanly.
    Serve,
    /// Apply database migrations and exit (serve also does this when it starts).
    Migrate,
    /// Manage residents.
    Residents {
        #[command(subcommand)]
        command: ResidentsCommand,
    },
    /// Staff accounts for the web console (/admin).
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Staff API tokens: list them, revoke one.
    Tokens {
        #[command(subcommand)]
        command: TokensCommand,
    },
    /// The FAQ search: evaluate it on judged queries.
    Faq {
        #[command(subcommand)]
        command: FaqCommand,
    },
    /// Benchmarks; each prints one JSON object on stdout.
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Create a console account. The password is read from HUB_STAFF_PASSWORD, else from the first line of
    /// standard input (never from the command line, where `ps` and shell history would show it).
    Add {
        #[arg(long)]
        username: String,
        /// admin, pr, disaster or viewer.
        #[arg(long, value_parser = ["admin", "pr", "disaster", "viewer"])]
        role: String,
    },
    /// Lift the login throttle on an account (after a staff member was shut out by failed attempts); audited.
    Unlock {
        /// The account's username.
        username: String,
    },
}

#[derive(Subcommand)]
enum TokensCommand {
    /// List every token (id, name, role, created, last used, revoked); never the secret.
    List,
    /// Revoke a token by its id (from `hub tokens list`): it stops working at once; audited.
    Revoke {
        /// The token's id.
        id: i64,
    },
}

#[derive(Subcommand)]
enum FaqCommand {
    /// Build an index from FAQ.jsonl in memory, answer every query of QUERIES.jsonl and print one JSON line of
    /// metrics (P@1, P@5, SR@1, SR@5, MRR, MAP, latency percentiles) on stdout; everything else goes to stderr.
    Eval {
        /// One `{"id", "question", "answer"}` a line.
        #[arg(long, value_name = "FAQ.jsonl")]
        faq: PathBuf,
        /// One `{"id", "query", "relevant": [...]}` a line.
        #[arg(long, value_name = "QUERIES.jsonl")]
        queries: PathBuf,
        /// The cut-off reported as `k` (P@k, SR@k).
        #[arg(long, default_value_t = 5)]
        k: usize,
        /// Also write each query's ranking (up to 100 ids) here, one `{"query_id", "ranked"}` a line.
        #[arg(long, value_name = "RUN.jsonl")]
        run: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum BenchCommand {
    /// Many web chat sessions asking FAQ questions against a `hub serve` child process on loopback: throughput,
    /// answer latency percentiles, the hub's peak memory.
    Chat {
        #[arg(long, default_value_t = 1000)]
        sessions: usize,
        #[arg(long, default_value_t = 60)]
        seconds: u64,
        /// Milliseconds between one session's questions (the hub takes at most 30 a minute from one page).
        #[arg(long, default_value_t = 2500)]
        interval_ms: u64,
    },
    /// Segment evaluation over synthetic residents: build time, memory, compound rules (bitmaps vs row by row).
    Segments {
        #[arg(long, default_value_t = 1_000_000)]
        residents: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// The LINE webhook acknowledging calls of many events (LINE waits only seconds for the answer): the
    /// acknowledgement's percentiles and the time until every event was answered, against the LINE stand-in.
    Webhook {
        /// Events in one call.
        #[arg(long, default_value_t = 200)]
        events: usize,
        /// Calls counted (after one warm-up call).
        #[arg(long, default_value_t = 20)]
        calls: usize,
        /// Database to run on (default: a temporary SQLite file); a PostgreSQL database must be empty.
        #[arg(long)]
        database_url: Option<String>,
    },
    /// `POST /api/segments/preview` through the hub on a real database with N residents: the live snapshot's
    /// build, preview percentiles, the ratio to the in-memory engine in the same run, memory.
    Preview {
        #[arg(long, default_value_t = 100_000)]
        residents: usize,
        /// Database to run on (default: a temporary SQLite file); a PostgreSQL database must be empty.
        #[arg(long)]
        database_url: Option<String>,
        /// Previews per rule.
        #[arg(long, default_value_t = 50)]
        rounds: usize,
    },
    /// Channels against loopback stand-ins, with the stand-ins' raw capacity in the same run.
    Channels {
        /// An SMTP server to include email (e.g. smtp://127.0.0.1:2525); without it an in-process SMTP sink is used.
        #[arg(long)]
        smtp_url: Option<String>,
    },
    /// A notice to N residents across LINE and email stand-ins through the whole hub.
    Fanout {
        #[arg(long, default_value_t = 100_000)]
        residents: usize,
        /// Database to run on (default: a temporary SQLite file); a PostgreSQL database must be empty.
        #[arg(long)]
        database_url: Option<String>,
        /// Share of residents on LINE; the others get email.
        #[arg(long, default_value_t = 0.6)]
        line_share: f64,
    },
    /// An emergency to N residents through the whole hub, alone and while a notice to all of them is being
    /// sent: trigger → first provider request, trigger → everything handed to the LINE and SMTP stand-ins.
    Emergency {
        #[arg(long, default_value_t = 100_000)]
        residents: usize,
        /// Database to run on (default: a temporary SQLite file); a PostgreSQL database must be empty.
        #[arg(long)]
        database_url: Option<String>,
        /// Name the first N districts of the city's list instead of the whole city (0: the whole city, one LINE
        /// broadcast).
        #[arg(long, default_value_t = 0)]
        districts: usize,
        /// Share of residents with LINE (the first part of every hundred).
        #[arg(long, default_value_t = 0.6)]
        line_share: f64,
        /// Share of residents with email (the last part of every hundred; some have both).
        #[arg(long, default_value_t = 0.5)]
        email_share: f64,
        /// Share of residents with a Web Push subscription (the middle of every hundred).
        #[arg(long, default_value_t = 0.0)]
        push_share: f64,
        /// The push-heavy mix: push 60%, email 30%, LINE 40% (overrides the three shares).
        #[arg(long)]
        push_heavy: bool,
        /// Emergencies measured after the warm-up, alternating alone and while a notice is being sent (p50/p95
        /// of the first request over them).
        #[arg(long, default_value_t = 4)]
        triggers: usize,
        /// Run the hub with the default `HUB_MAIL_RATE` instead of lifting it (a cap on messages a second).
        #[arg(long)]
        default_mail_rate: bool,
    },
}

#[derive(Subcommand)]
enum ResidentsCommand {
    /// Import or update residents from a CSV file. A bad row is reported with its line number and nothing of the
    /// file is applied.
    Import {
        /// The CSV file: a header line naming its columns (English or Japanese), then one resident a line.
        file: PathBuf,
        /// The file's character encoding.
        #[arg(long, default_value = "utf-8", value_parser = ["utf-8", "utf8", "shift_jis", "sjis", "cp932"])]
        encoding: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    hub::telemetry::init_logging();
    // The evaluation needs no configuration, database or runtime.
    if let Command::Faq {
        command:
            FaqCommand::Eval {
                faq,
                queries,
                k,
                run,
            },
    } = &cli.command
    {
        return faq_eval(faq, queries, *k, run.as_deref());
    }
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("hub: configuration error: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hub: cannot start the runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async move {
        match cli.command {
            Command::Serve => serve(config).await,
            Command::Migrate => migrate(config).await,
            Command::Residents {
                command: ResidentsCommand::Import { file, encoding },
            } => import_residents(config, file, &encoding).await,
            Command::Staff {
                command: StaffCommand::Add { username, role },
            } => add_staff(config, &username, &role).await,
            Command::Staff {
                command: StaffCommand::Unlock { username },
            } => unlock_staff(config, &username).await,
            Command::Tokens { command } => tokens(config, command).await,
            Command::Faq { .. } => Ok(()),
            Command::Bench { command } => bench(command).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hub: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `hub faq eval`: one JSON line on stdout, everything else on stderr.
fn faq_eval(
    faq: &std::path::Path,
    queries: &std::path::Path,
    k: usize,
    run: Option<&std::path::Path>,
) -> ExitCode {
    if k == 0 {
        eprintln!("hub faq eval: --k must be at least 1");
        return ExitCode::from(2);
    }
    let started = Instant::now();
    match faq::eval::run_eval(faq, queries, k, run) {
        Ok(metrics) => match serde_json::to_string(&metrics) {
            Ok(line) => {
                println!("{line}");
                eprintln!(
                    "hub faq eval: {} queries in {:.2}s",
                    metrics.queries,
                    started.elapsed().as_secs_f64()
                );
                ExitCode::SUCCESS
            }
            Err(error) => {
                eprintln!("hub faq eval: {error}");
                ExitCode::FAILURE
            }
        },
        Err(error) => {
            eprintln!("hub faq eval: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `hub staff add`: creates a console account and audits it as done from the command line.
async fn add_staff(config: Config, username: &str, role: &str) -> anyhow::Result<()> {
    use hub::auth::accounts::{self, NewPassword, Username};
    let role =
        hub::auth::Role::parse(role).ok_or_else(|| anyhow::anyhow!("unknown role {role}"))?;
    let username = Username::parse(username)?;
    let password = match std::env::var("HUB_STAFF_PASSWORD") {
        Ok(password) => password,
        Err(_) => {
            if std::io::stdin().is_terminal() {
                eprintln!(
                    "password for {} (input is shown; prefer HUB_STAFF_PASSWORD or a pipe):",
                    username.as_str()
                );
            }
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\n', '\r']).to_owned()
        }
    };
    let password = NewPassword::parse(&password)?;
    let db = Db::connect(&config.database_url, 2).await?;
    db.migrate().await?;
    accounts::create_user(&db, &username, role, password).await?;
    hub::audit::record_as(
        &db,
        "hub staff add (command line)",
        "admin",
        "staff.create",
        username.as_str(),
        serde_json::json!({ "role": role }),
    )
    .await?;
    eprintln!(
        "hub: staff account {} ({}) created",
        username.as_str(),
        role.as_str()
    );
    Ok(())
}

/// Who the command line acts as in the audit log.
const CLI_ACTOR: &str = "hub (command line)";

/// `hub staff unlock USERNAME`.
async fn unlock_staff(config: Config, username: &str) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url, 2).await?;
    db.migrate().await?;
    let cleared = hub::auth::accounts::unlock_account(&db, username, CLI_ACTOR, "admin")
        .await
        .map_err(|error| anyhow::anyhow!("{}", error.message))?;
    eprintln!("hub: login throttle on {username} lifted ({cleared} clients cleared)");
    Ok(())
}

/// `hub tokens list` (one JSON object a line on stdout) and `hub tokens revoke ID`.
async fn tokens(config: Config, command: TokensCommand) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url, 2).await?;
    db.migrate().await?;
    match command {
        TokensCommand::List => {
            for token in hub::auth::list_tokens(&db).await? {
                println!("{}", serde_json::to_string(&token)?);
            }
        }
        TokensCommand::Revoke { id } => {
            match hub::auth::revoke_token(&db, id, CLI_ACTOR, "admin").await? {
                Some(token) => eprintln!("hub: token {id} ({}) revoked", token.name),
                None => anyhow::bail!("no live token {id} (see hub tokens list)"),
            }
        }
    }
    Ok(())
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let running = hub::spawn(config).await?;
    eprintln!("hub: serving on http://{}", running.addr);
    shutdown_signal().await;
    tracing::info!("shutting down: finishing in-flight work");
    running.stop().await;
    Ok(())
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

async fn bench(command: BenchCommand) -> anyhow::Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let report = match command {
        BenchCommand::Segments { residents, seed } => {
            let report =
                tokio::task::spawn_blocking(move || segments::bench::bench(residents, seed))
                    .await?;
            serde_json::to_value(report)?
        }
        BenchCommand::Webhook {
            events,
            calls,
            database_url,
        } => {
            let options = hub::webhook_bench::WebhookBenchOptions {
                events,
                calls,
                database_url,
            };
            serde_json::to_value(hub::webhook_bench::run(&options).await?)?
        }
        BenchCommand::Preview {
            residents,
            database_url,
            rounds,
        } => {
            let options = hub::preview_bench::PreviewBenchOptions {
                residents,
                database_url,
                rounds,
            };
            serde_json::to_value(hub::preview_bench::run(&options).await?)?
        }
        BenchCommand::Channels { smtp_url } => {
            let sink = match smtp_url {
                Some(_) => None,
                None => Some(hub::outbox::bench::SmtpSink::start().await?),
            };
            let options = channels::bench::BenchOptions {
                smtp_url: smtp_url.or_else(|| sink.as_ref().map(|s| s.url())),
                ..channels::bench::BenchOptions::default()
            };
            serde_json::to_value(channels::bench::bench(&options).await)?
        }
        BenchCommand::Chat {
            sessions,
            seconds,
            interval_ms,
        } => {
            let options = hub::loadtest::ChatBenchOptions {
                sessions,
                seconds,
                interval: std::time::Duration::from_millis(interval_ms.max(1)),
            };
            serde_json::to_value(hub::loadtest::chat(&options).await?)?
        }
        BenchCommand::Fanout {
            residents,
            database_url,
            line_share,
        } => {
            let options = hub::outbox::bench::FanoutOptions {
                residents,
                database_url,
                line_share: line_share.clamp(0.0, 1.0),
            };
            serde_json::to_value(hub::outbox::bench::fanout(&options).await?)?
        }
        BenchCommand::Emergency {
            residents,
            database_url,
            districts,
            line_share,
            email_share,
            push_share,
            push_heavy,
            triggers,
            default_mail_rate,
        } => {
            let (line_share, email_share, push_share) = if push_heavy {
                (0.4, 0.3, 0.6)
            } else {
                (line_share, email_share, push_share)
            };
            let options = hub::emergency::bench::EmergencyBenchOptions {
                residents,
                database_url,
                districts,
                line_share,
                email_share,
                push_share,
                triggers,
                mail_rate: default_mail_rate.then_some(hub::config::DEFAULT_MAIL_RATE),
            };
            serde_json::to_value(hub::emergency::bench::run(&options).await?)?
        }
    };
    println!("{report}");
    Ok(())
}

async fn migrate(config: Config) -> anyhow::Result<()> {
    let db = Db::connect(&config.database_url, 1).await?;
    db.migrate().await?;
    eprintln!("hub: migrations applied");
    Ok(())
}

async fn import_residents(config: Config, file: PathBuf, encoding: &str) -> anyhow::Result<()> {
    let encoding: Encoding = encoding.parse().map_err(anyhow::Error::msg)?;
    let bytes = std::fs::read(&file)
        .map_err(|error| anyhow::anyhow!("cannot read {}: {error}", file.display()))?;
    let started = Instant::now();
    let total_lines = bytes.iter().filter(|b| **b == b'\n').count() as u64;
    let bar = if std::io::stderr().is_terminal() {
        let bar = indicatif::ProgressBar::new(total_lines.saturating_sub(1));
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar.set_message("checking");
        bar
    } else {
        indicatif::ProgressBar::hidden()
    };
    let districts = config.districts.clone();
    let progress = bar.clone();
    let parsed = tokio::task::spawn_blocking(move || {
        import::parse(
            &bytes,
            encoding,
            &districts,
            residents::today_in_japan(),
            |rows| progress.set_position(rows),
        )
    })
    .await?;
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            bar.abandon();
            anyhow::bail!("{}: {error}; nothing was imported", file.display());
        }
    };
    let checked = started.elapsed();
    bar.set_message("writing");
    let db = Db::connect(&config.database_url, 2).await?;
    db.migrate().await?;
    residents::upsert_many(&db, &parsed.residents, &parsed.channels).await?;
    // The command line is an admin's tool: its import is audited like the API's.
    hub::audit::record_as(
        &db,
        "hub residents import (command line)",
        "admin",
        "resident.import",
        "csv",
        serde_json::json!({
            "rows": parsed.residents.len(),
            "file": file.file_name().map(|n| n.to_string_lossy().into_owned()),
            "source": "コマンドライン",
        }),
    )
    .await?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    eprintln!(
        "hub: imported {} residents from {} in {:.2}s (checked in {:.2}s, {:.0} rows/s)",
        parsed.residents.len(),
        file.display(),
        elapsed.as_secs_f64(),
        checked.as_secs_f64(),
        parsed.residents.len() as f64 / elapsed.as_secs_f64().max(1e-9)
    );
    Ok(())
}
