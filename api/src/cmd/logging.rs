//! The log output: to stderr, coloured for a terminal only (a log file or journal gets plain
//! text), filtered by `RUST_LOG`, else the configured `log`.

use anyhow::Context as _;
use tracing_subscriber::EnvFilter;

use crate::config::Config;

/// The filter of the commands that read no configuration.
pub const QUIET_FILTER: &str = "warn";

/// Logs as the configuration says (`RUST_LOG` first).
pub fn init(config: &Config) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&config.log))
        .with_context(|| format!("log filter {:?}", config.log))?;
    install(filter);
    Ok(())
}

/// Warnings and errors only (`RUST_LOG` first), for commands that need no configuration.
pub fn init_quiet() {
    install(EnvFilter::try_from_default_env().unwrap_or_else(|_| QUIET_FILTER.into()));
}

fn install(filter: EnvFilter) {
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}

#[cfg(test)]
mod tests {
    use tracing::{Level, enabled};
    use tracing_subscriber::{EnvFilter, layer::SubscriberExt};

    fn with_filter(filter: &str, check: impl FnOnce()) {
        let subscriber = tracing_subscriber::registry().with(EnvFilter::new(filter));
        tracing::subscriber::with_default(subscriber, check);
    }

    #[test]
    fn the_default_filter_keeps_other_crates_at_warn_and_debug_shows_everything() {
        with_filter(crate::config::DEFAULT_LOG, || {
            assert!(enabled!(target: "api::app", Level::INFO));
            assert!(enabled!(target: "vision::source", Level::INFO));
            assert!(!enabled!(target: "ort::logging", Level::INFO));
            assert!(enabled!(target: "ort::logging", Level::WARN));
            assert!(!enabled!(target: "sqlx::query", Level::INFO));
        });
        with_filter("debug", || {
            assert!(enabled!(target: "ort::logging", Level::DEBUG));
        });
    }
}
