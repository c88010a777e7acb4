//! `gatehouse serve`.

use gatehouse_identity::NewKey;
use gatehouse_server::{App, Config};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// Arguments of `gatehouse serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Configuration file.
    #[arg(long, short, conflicts_with = "demo")]
    config: Option<PathBuf>,
    /// Demo mode: mock provider, local SQLite under ./gatehouse-data, a fresh demo key; no file
    /// and no other service needed.
    #[arg(long)]
    demo: bool,
    /// Listen address, overriding the config's `server.listen`.
    #[arg(long)]
    listen: Option<String>,
    /// Log format on stderr: json or text.
    #[arg(long, default_value = "json", value_parser = ["json", "text"])]
    log_format: String,
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().flatten_event(true).init();
    } else {
        builder.init();
    }
}

/// Writes a line to stderr, ignoring a closed stderr: the gateway must not die because whoever
/// started it stopped reading (`eprintln!` would panic).
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Runs the gateway until SIGINT/SIGTERM.
pub fn run(args: ServeArgs) -> ExitCode {
    init_logging(&args.log_format);
    let mut config = if args.demo {
        Config::demo()
    } else if let Some(path) = &args.config {
        match Config::load(path) {
            Ok(c) => c,
            Err(errors) => {
                for e in errors {
                    eprintln!("{e}");
                }
                return ExitCode::from(2);
            }
        }
    } else {
        eprintln!("gatehouse serve needs --config FILE or --demo");
        return ExitCode::from(2);
    };
    if let Some(l) = args.listen {
        config.server.listen = l;
        let errs = config.validate();
        if !errs.is_empty() {
            for e in errs {
                eprintln!("--listen: {e}");
            }
            return ExitCode::from(2);
        }
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    rt.block_on(async move {
        let app = match App::build(config).await {
            Ok(a) => Arc::new(a),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::from(2);
            }
        };
        let listen = app.config.server.listen.clone();
        let listener = match tokio::net::TcpListener::bind(&listen).await {
            Ok(l) => l,
            Err(e) => {
                eprintln!("cannot listen on {listen}: {e}");
                return ExitCode::from(2);
            }
        };
        let local = listener.local_addr().map(|a| a.to_string()).unwrap_or(listen);
        let scheme = if app.config.server.tls.is_some() { "https" } else { "http" };
        if args.demo {
            let key = app.keys.create(&NewKey {
                principal: "user:demo".into(),
                name: Some("demo".into()),
                expires_in: Some(std::time::Duration::from_secs(24 * 3600)),
                ..NewKey::default()
            }).await;
            match key {
                Ok((_, secret)) => {
                    say!("Gatehouse demo gateway listening on {scheme}://{local} (mock provider; state in ./gatehouse-data)");
                    say!("Demo API key for user:demo (valid 24 h, shown once): {secret}");
                    say!("Try:\n");
                    say!(
                        "curl -s {scheme}://{local}/v1/chat/completions -H \"Authorization: Bearer {secret}\" -H 'Content-Type: application/json' -d '{{\"model\":\"gpt-4o-mini\",\"messages\":[{{\"role\":\"user\",\"content\":\"Hello, Gatehouse!\"}}]}}'\n"
                    );
                }
                Err(e) => {
                    say!("cannot create the demo key: {e}");
                    return ExitCode::from(2);
                }
            }
        }
        if app.config.metrics.enabled {
            let addr = app.config.metrics.listen.clone();
            match tokio::net::TcpListener::bind(&addr).await {
                Ok(l) => {
                    let metrics_addr = l.local_addr().map(|a| a.to_string()).unwrap_or(addr);
                    tracing::info!(listen = %metrics_addr, "metrics listening on /metrics");
                    tokio::spawn(gatehouse_server::observe::serve_metrics(
                        app.clone(),
                        l,
                        std::future::pending(),
                    ));
                }
                Err(e) => {
                    eprintln!("cannot listen on {addr} (metrics.listen): {e}");
                    return ExitCode::from(2);
                }
            }
        }
        tracing::info!(listen = %local, tls = scheme == "https", models = app.models.len(), "gatehouse listening");
        match gatehouse_server::listener::serve(app, listener, shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    tracing::info!("shutting down");
}
