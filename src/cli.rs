//! The `ferroacs` command: subcommand dispatch.

use std::process::ExitCode;

use clap::Parser;
use rand::RngCore;

use crate::api::extract::token_hash;
use crate::config::{Cli, Command, TokenCommand};
use crate::store::{self, StoreError};
use crate::time::{format_micros, now_micros};

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FERROACS_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_default_env())
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
        .try_init();
}

/// A new API token: a recognisable prefix and 256 random bits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("fat_{}", hex::encode(bytes))
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    match cli.command {
        Command::Serve(args) => {
            // Every CPE connection is a file descriptor.
            crate::loadgen::raise_fd_limit();
            let running = crate::app::start(&args).await?;
            let stop = running.stopper();
            tokio::spawn(async move {
                shutdown_signal().await;
                tracing::info!("shutting down: finishing in-flight requests");
                let _ = stop.send(true);
            });
            running.wait().await;
            tracing::info!("stopped");
        }
        Command::Migrate(db) => {
            let store = store::open(&db.database_url).await?;
            store.migrate().await?;
            println!("migrations applied ({})", store.backend());
        }
        Command::Token(cmd) => token(cmd).await?,
        Command::Replay(args) => replay(args).await?,
        Command::Simulate(args) => simulate(args).await?,
        Command::Loadgen(args) => {
            let mut args = *args;
            args.params = args.params_count as usize;
            if !crate::loadgen::run(args).await? {
                return Err("the run saw errors or lost operations".into());
            }
        }
        Command::Ceiling { listen } => crate::loadgen::ceiling::serve(listen).await?,
    }
    Ok(())
}

/// Runs a simulated CPE: first contact, then a session whenever one is due (a connection
/// request, a reboot, a download) or the periodic interval elapsed; prints each session.
async fn simulate(args: crate::config::SimulateArgs) -> Result<(), Box<dyn std::error::Error>> {
    use crate::cpe::datamodel::DataModel;
    use crate::cpe::simulator::Simulator;
    let model = match args.model.as_str() {
        "tr098" => DataModel::builtin_tr098(),
        "tr181" => DataModel::builtin_tr181(),
        path => std::sync::Arc::new(DataModel::load_csv(path)?),
    };
    let mut b = Simulator::builder(model).serial(&args.serial).acs(
        &args.url,
        &args.username,
        &args.password,
    );
    if args.model == "tr181" {
        b = b.cwmp_ns(crate::cwmp::CwmpNs::V1_2);
    }
    if let Some(v) = &args.manufacturer {
        b = b.manufacturer(v);
    }
    if let Some(v) = &args.oui {
        b = b.oui(v);
    }
    if let Some(v) = &args.product_class {
        b = b.product_class(v);
    }
    if let Some(v) = &args.software_version {
        b = b.software_version(v);
    }
    let sim = b.keep_transcripts(4).build();
    let cr = sim.start_connection_request_server().await?;
    println!(
        "simulated CPE {} -> {} (connection requests on http://{cr}/)",
        sim.unique_identifier(),
        args.url
    );
    let mut client = crate::cpe::CpeClient::new(sim.client_options())?;
    let mut done = 0u64;
    loop {
        sim.complete_pending().await;
        let log = sim.run_session(&mut client).await?;
        done += 1;
        println!(
            "session {done}: events [{}] ACS asked: {}",
            log.events().join(", "),
            if log.methods().is_empty() {
                "nothing".to_string()
            } else {
                log.methods().join(", ")
            }
        );
        if args.sessions > 0 && done >= args.sessions {
            return Ok(());
        }
        sim.complete_pending().await;
        if sim.is_due() {
            continue;
        }
        let interval = args.periodic.unwrap_or_else(|| {
            sim.value(&format!(
                "{}ManagementServer.PeriodicInformInterval",
                sim.root()
            ))
            .and_then(|v| v.parse().ok())
            .unwrap_or(300)
        });
        tokio::select! {
            _ = sim.wait_due(std::time::Duration::from_secs(interval.max(1))) => {}
            _ = tokio::signal::ctrl_c() => return Ok(()),
        }
    }
}

/// Replays each file in turn, printing the transcripts; fails when any replay failed.
async fn replay(args: crate::config::ReplayArgs) -> Result<(), Box<dyn std::error::Error>> {
    use crate::cpe::replay::{ReplayOptions, Replayer};
    let mut replayer = Replayer::new(ReplayOptions::from_args(&args)?)?;
    let mut failed = 0;
    for file in &args.files {
        println!("== {}", file.display());
        match replayer.replay_file(file).await {
            Ok(t) => {
                for line in &t.lines {
                    println!("{line}");
                }
            }
            Err(e) => {
                failed += 1;
                eprintln!("ferroacs: replay {}: {e}", file.display());
            }
        }
    }
    if failed > 0 {
        return Err(format!("{failed} of {} replays failed", args.files.len()).into());
    }
    Ok(())
}

async fn token(cmd: TokenCommand) -> Result<(), Box<dyn std::error::Error>> {
    match cmd {
        TokenCommand::Create {
            db,
            name,
            admin,
            organization,
        } => {
            let store = store::open(&db.database_url).await?;
            store.migrate().await?;
            let token = new_token();
            match store
                .create_token(&name, &token_hash(&token), admin, &organization)
                .await
            {
                Ok(_) => {}
                Err(StoreError::Unique { .. }) => {
                    return Err(format!("a token named {name:?} already exists").into());
                }
                Err(StoreError::ForeignKey) => {
                    return Err(format!("unknown organization among {organization:?}").into());
                }
                Err(e) => return Err(e.into()),
            }
            let scope = if admin {
                "admin".to_string()
            } else {
                format!("organizations {organization:?}")
            };
            println!("Created API token {name:?} ({scope}). It is shown only once:");
            println!("{token}");
        }
        TokenCommand::List { db } => {
            let store = store::open(&db.database_url).await?;
            store.migrate().await?;
            println!(
                "{:<24} {:<8} {:<22} {:<22} ORGANIZATIONS",
                "NAME", "ADMIN", "CREATED", "REVOKED"
            );
            for t in store.list_tokens().await? {
                println!(
                    "{:<24} {:<8} {:<22} {:<22} {}",
                    t.name,
                    t.admin,
                    format_micros(t.created),
                    t.revoked.map(format_micros).unwrap_or_else(|| "-".into()),
                    t.organizations.unwrap_or_default()
                );
            }
        }
        TokenCommand::Revoke { db, name } => {
            let store = store::open(&db.database_url).await?;
            store.migrate().await?;
            if !store.revoke_token(&name, now_micros()).await? {
                return Err(format!("no active token named {name:?}").into());
            }
            println!("revoked {name:?}");
        }
    }
    Ok(())
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing();
    crate::install_crypto_provider();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ferroacs: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferroacs: {e}");
            ExitCode::FAILURE
        }
    }
}
