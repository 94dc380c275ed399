//! `hadir serve` (and `hadir` alone): runs the server until SIGINT or SIGTERM, then stops it
//! in order ([`crate::app::run`]).

use crate::config::Config;

/// The exit status of a `serve` refused because another serves the same SQLite file.
pub const EXIT_ALREADY_SERVING: i32 = 2;

/// Runs the server until a stop signal. A second `serve` on one SQLite file exits with
/// [`EXIT_ALREADY_SERVING`].
pub async fn run(config: Config) -> anyhow::Result<()> {
    let result = crate::app::run(config, shutdown_signal()).await;
    if let Err(error) = &result
        && let Some(refused) = error.downcast_ref::<crate::app::startup::AlreadyServing>()
    {
        eprintln!("Error: {refused}");
        std::process::exit(EXIT_ALREADY_SERVING);
    }
    result
}

/// Completes at SIGINT (Ctrl-C) or SIGTERM.
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
    let signal = tokio::select! {
        () = ctrl_c => "SIGINT",
        () = terminate => "SIGTERM",
    };
    tracing::info!(signal, "shutting down");
}
