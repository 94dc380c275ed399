//! The composition root: builds every service from the configuration, runs every background
//! task, serves HTTP until told to stop, then stops everything in order, logging each stage:
//! no new connections → requests in flight finished → background loops stopped (the camera
//! follower among them) → cameras stopped → MQTT and webhooks flushed → database closed.

use std::{future::Future, sync::Arc, time::Duration};

use anyhow::Context as _;
use sea_orm::DatabaseConnection;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::{
    attendance::retention,
    banner::Banner,
    cameras,
    clock::SystemClock,
    config::Config,
    db,
    faces::{FaceService, FaceSettings},
    mqtt::MqttBridge,
    presence::monitor,
    server::{
        self,
        listener::{self, ConnectionCounters, ListenSettings, TlsState},
        open_files::{RESERVED_FILES, raise_open_files_limit},
    },
    state::AppState,
    webhooks::Webhooks,
};

/// How long the background loops get to end once cancelled (they end at their next wait).
pub const BACKGROUND_STOP_TIMEOUT: Duration = Duration::from_secs(2);

/// The background loops of a running server, under one cancellation token.
struct Background {
    cancel: CancellationToken,
    loops: JoinSet<&'static str>,
}

impl Background {
    fn new() -> Self {
        Self {
            cancel: CancellationToken::new(),
            loops: JoinSet::new(),
        }
    }

    /// Runs `work` until the server stops; `name` is logged if it ends before.
    fn spawn(&mut self, name: &'static str, work: impl Future<Output = ()> + Send + 'static) {
        let cancel = self.cancel.clone();
        self.loops.spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                () = work => tracing::warn!(task = name, "background task ended on its own"),
            }
            name
        });
    }

    /// Cancels every loop and waits (a little) for each to end.
    async fn stop(mut self) -> usize {
        self.cancel.cancel();
        let mut stopped = 0;
        let wait = tokio::time::timeout(BACKGROUND_STOP_TIMEOUT, async {
            while let Some(ended) = self.loops.join_next().await {
                if let Ok(name) = ended {
                    tracing::debug!(task = name, "background task stopped");
                }
                stopped += 1;
            }
        })
        .await;
        if wait.is_err() {
            self.loops.abort_all();
        }
        stopped
    }
}

/// What `serve` needs that the services do not hold: where and how to listen.
struct Listening {
    listen: std::net::SocketAddr,
    settings: ListenSettings,
    tls: Option<Arc<TlsState>>,
}

/// Connects and migrates the database and syncs the camera folder into it.
async fn open_database(config: &Config) -> anyhow::Result<DatabaseConnection> {
    let database = db::connect_and_migrate(&config.database_url).await?;
    tracing::info!(database = %db::redact_database_url(&config.database_url), "database ready");
    let report = cameras::sync_folder(&database, &config.cameras.configs)
        .await
        .context("cannot sync the camera folder into the database")?;
    for error in &report.errors {
        tracing::error!("camera file skipped: {error}");
    }
    tracing::info!(
        folder = %config.cameras.configs.display(),
        created = report.created.len(),
        updated = report.updated.len(),
        disabled = report.disabled.len(),
        broken = report.errors.len(),
        "camera files synced"
    );
    Ok(database)
}

/// The listening settings, with `max_connections` lowered to what the open-files limit
/// allows.
fn listening(config: &Config) -> anyhow::Result<Listening> {
    let listen = config.server.listen_addr()?;
    let tls = match config.tls_files()? {
        Some(files) => Some(TlsState::load(files).map_err(|e| anyhow::anyhow!("TLS: {e}"))?),
        None => None,
    };
    let mut max_connections = config.server.max_connections;
    if let Some(open_files) = raise_open_files_limit() {
        let room = open_files.saturating_sub(RESERVED_FILES).max(1);
        if max_connections as u64 > room {
            tracing::warn!(
                max_connections,
                open_files,
                "max_connections is more than this process may open files for; serving {room} \
                 at most (raise the open-files limit, e.g. LimitNOFILE= in systemd)"
            );
            max_connections = room as usize;
        }
    }
    Ok(Listening {
        listen,
        settings: ListenSettings {
            max_connections,
            header_read_timeout: config.server.header_read_timeout(),
        },
        tls,
    })
}

/// Builds the shared state: the face service, every service over the database, the
/// shared grant key; the first admin token, when one had to be made (shown in the banner).
async fn build_state(
    config: Config,
    database: DatabaseConnection,
) -> anyhow::Result<(AppState, Option<String>)> {
    let faces = FaceService::open(
        database.clone(),
        FaceSettings::from_settings(&config.recognition)?,
    )
    .await?;
    let app = AppState::new(config, database, Arc::new(SystemClock), faces)
        .with_shared_grant_key()
        .await
        .context("cannot read or make the key that signs live-view grants")?;
    let first_admin = app.tokens.ensure_first_admin().await?.map(|c| c.token);
    Ok((app, first_admin))
}

/// The integrations that deliver events outside: MQTT and webhooks, when configured.
fn start_integrations(app: &AppState) -> anyhow::Result<(Option<MqttBridge>, Option<Webhooks>)> {
    let mqtt = match app.config.mqtt.settings()? {
        Some(settings) => {
            tracing::info!(broker = %format!("{}:{}", settings.host, settings.port), prefix = %settings.topic_prefix, "publishing to MQTT");
            Some(MqttBridge::spawn(
                settings,
                &app.events,
                app.employees.clone(),
                app.cameras.clone(),
                app.integrations.clone(),
            ))
        }
        None => None,
    };
    let webhooks = if app.config.webhooks.is_empty() {
        None
    } else {
        tracing::info!(
            count = app.config.webhooks.len(),
            "posting events to webhooks"
        );
        Some(
            Webhooks::spawn(&app.config.webhooks, &app.events, app.integrations.clone())
                .map_err(|reason| anyhow::anyhow!("webhooks: {reason}"))?,
        )
    };
    Ok((mqtt, webhooks))
}

/// The loops that run beside the server: the presence monitor, the revocation watch, the
/// gallery refresh, the cameras, the attendance closer and the retention purge.
fn start_background(app: &AppState) -> Background {
    let mut background = Background::new();
    background.spawn(
        "presence monitor",
        monitor::run(app.engine.clone(), app.config.presence.monitor_interval()),
    );
    background.spawn(
        "revocation watch",
        app.tokens.clone().run_revocation_watch(),
    );
    background.spawn("gallery refresh", app.faces.clone().run_refresh());
    background.spawn("cameras", app.live_cameras.clone().run());
    background.spawn(
        "attendance closer",
        app.attendance
            .clone()
            .run_closer(app.config.attendance.close_interval()),
    );
    background.spawn(
        "retention purge",
        retention::run(
            app.db.clone(),
            app.config.retention,
            app.attendance.schedule().timezone,
            app.clock.clone(),
        ),
    );
    background
}

/// Runs the server until `shutdown` completes, then stops it in order.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let database = open_database(&config).await?;
    let listening = listening(&config)?;
    let (app, first_admin_token) = build_state(config, database).await?;
    let background = start_background(&app);
    let (mqtt, webhooks) = start_integrations(&app)?;

    let listen = listening.listen;
    let listener = listener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    let scheme = if listening.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!("hadir listening on {scheme}://{local}");
    let max_connections = listening.settings.max_connections;
    tracing::info!(%local, %scheme, max_connections, "listening");
    let connections = Arc::new(ConnectionCounters::default());
    let router = server::router(app.clone(), connections.clone())?;
    // Last at start-up, where a person looks: the URLs, and the first admin token.
    println!(
        "{}",
        Banner {
            scheme,
            local,
            dashboard: app.config.server.dashboard,
            graphiql: app.config.server.graphiql,
            first_admin_token: first_admin_token.as_deref(),
        }
        .render()
    );
    let shutdown = async {
        shutdown.await;
        tracing::info!("stopping: no new connections; finishing the requests in flight");
    };
    listener::serve(
        listener,
        router,
        listening.settings,
        listening.tls,
        connections,
        shutdown,
    )
    .await;
    tracing::info!("stopping: requests finished");
    stop(app, background, mqtt, webhooks).await;
    Ok(())
}

/// The ordered stop, after the listener stopped.
async fn stop(
    app: AppState,
    background: Background,
    mqtt: Option<MqttBridge>,
    webhooks: Option<Webhooks>,
) {
    // The camera follower first, so that no camera starts while they stop.
    let loops = background.stop().await;
    tracing::info!(tasks = loops, "stopping: background tasks stopped");
    let cameras = app.live_cameras.stop_all();
    tracing::info!(cameras, "stopping: cameras stopped");
    if let Some(mqtt) = mqtt {
        mqtt.stop().await;
        tracing::info!("stopping: MQTT flushed (offline published, disconnected)");
    }
    if let Some(webhooks) = webhooks {
        if webhooks.stop().await {
            tracing::info!("stopping: webhooks flushed");
        } else {
            tracing::warn!(
                "stopping: webhooks stopped with deliveries still queued (receivers too slow)"
            );
        }
    }
    app.tokens.flush_last_used().await;
    match app.db.clone().close().await {
        Ok(()) => tracing::info!("stopping: database closed"),
        Err(error) => tracing::warn!(%error, "stopping: the database did not close cleanly"),
    }
    tracing::info!("stopped");
}
