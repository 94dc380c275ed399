//! `hadir serve` (and `hadir` alone): runs the server until SIGINT or SIGTERM, then stops it
//! in order ([`crate::app::run`]).

use crate::config::Config;

/// Runs the server until a stop signal.
pub async fn run(config: Config) -> anyhow::Result<()> {
    crate::app::run(config, shutdown_signal()).await
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
