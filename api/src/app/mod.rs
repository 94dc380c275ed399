//! The composition root: builds every service from the configuration, runs every background
//! task, serves HTTP until told to stop, then stops everything in order, logging each stage:
//! no new connections → requests in flight finished → background loops stopped (the camera
//! follower and the lease loop among them) → cameras stopped → leases released → MQTT and
//! webhooks flushed → database closed.
//!
//! - [`startup`]: the database migrated, the camera folder synced and the first admin made
//!   (on PostgreSQL under the start-up lock; on SQLite one `serve` per file).
//! - [`background`]: the loops beside the server; the leader's jobs only while it leads.
//! - [`cluster_loops`]: the event relay, and the loops that tie the parts to the cluster.
//! - [`integrations`]: MQTT and webhooks, run by the leader.

use std::{future::Future, sync::Arc};

use anyhow::Context as _;
use sea_orm::{DatabaseConnection, DbBackend};

use crate::{
    attendance::retention,
    banner::Banner,
    clock::SystemClock,
    cluster::{housekeeping, identity, leases::NodeIdentity, membership::Cluster},
    config::Config,
    faces::{FaceService, FaceSettings},
    presence::monitor,
    server::{
        self,
        listener::{self, ConnectionCounters, ListenSettings, TlsState},
        open_files::{RESERVED_FILES, raise_open_files_limit},
    },
    state::AppState,
};

pub mod background;
pub mod cluster_loops;
pub mod integrations;
pub mod startup;

use background::Background;
use integrations::Integrations;

/// What `serve` needs that the services do not hold: where and how to listen.
struct Listening {
    listen: std::net::SocketAddr,
    settings: ListenSettings,
    tls: Option<Arc<TlsState>>,
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
/// shared grant key.
async fn build_state(
    config: Config,
    database: DatabaseConnection,
    cluster: Arc<Cluster>,
) -> anyhow::Result<AppState> {
    let faces = FaceService::open(
        database.clone(),
        FaceSettings::from_settings(&config.recognition)?,
    )
    .await?;
    AppState::new(config, database, Arc::new(SystemClock), faces, cluster)
        .with_shared_grant_key()
        .await
        .context("cannot read or make the key that signs live-view grants")?
        .with_cluster_key()
        .await
        .context("cannot read or make the key that signs requests between nodes")
}

/// This node in the cluster: on PostgreSQL it joins (waiting up to a lease for a crashed
/// predecessor's row under its id to lapse); on SQLite a cluster of one.
async fn join_cluster(
    config: &Config,
    database: &DatabaseConnection,
    node_id: String,
    folder_digest: String,
    bound: std::net::SocketAddr,
    tls: bool,
) -> anyhow::Result<Arc<Cluster>> {
    let mut me = NodeIdentity {
        node_id,
        instance_id: identity::new_instance_id(),
        advertise_url: String::new(),
        max_cameras: config.cluster.max_cameras,
        folder_digest,
    };
    if database.get_database_backend() != DbBackend::Postgres {
        return Ok(Cluster::single(me));
    }
    me.advertise_url = identity::advertise_url(&config.cluster, bound, tls)?;
    let lease = config.cluster.lease(config.presence.camera_timeout_secs);
    Ok(Cluster::join(database.clone(), me, lease).await?)
}

/// The loops that run beside the server: on every node the lease loop, the revocation
/// watch and the cameras (the relay and the gallery's refresh: [`cluster_loops`]); on the
/// leader only the presence monitor, the attendance closer, the retention purge and (on
/// PostgreSQL) the cluster's housekeeping.
fn start_background(app: &AppState) -> Background {
    let mut background = Background::new();
    background.spawn("cluster leases", app.cluster.clone().run());
    let revocation_poll = if app.cluster.is_shared() {
        crate::auth::CLUSTER_REVOCATION_POLL_INTERVAL
    } else {
        crate::auth::REVOCATION_POLL_INTERVAL
    };
    background.spawn(
        "revocation watch",
        app.tokens.clone().run_revocation_watch(revocation_poll),
    );
    background.spawn("cameras", app.live_cameras.clone().run());
    let leader = app.cluster.watch_leader();
    if app.cluster.is_shared() {
        let db = app.db.clone();
        background.spawn_while_leader("cluster housekeeping", leader.clone(), move || {
            housekeeping::run(db.clone())
        });
    }
    let (engine, interval) = (app.engine.clone(), app.config.presence.monitor_interval());
    background.spawn_while_leader("presence monitor", leader.clone(), move || {
        monitor::run(engine.clone(), interval)
    });
    let (attendance, close_interval) = (
        app.attendance.clone(),
        app.config.attendance.close_interval(),
    );
    background.spawn_while_leader("attendance closer", leader.clone(), move || {
        attendance.clone().run_closer(close_interval)
    });
    let (db, policy, timezone, clock) = (
        app.db.clone(),
        app.config.retention,
        app.attendance.schedule().timezone,
        app.clock.clone(),
    );
    background.spawn_while_leader("retention purge", leader, move || {
        retention::run(db.clone(), policy, timezone, clock.clone())
    });
    background
}

/// Runs the server until `shutdown` completes, then stops it in order.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    crate::banner::mark_start();
    let _serve_lock = startup::lock_sqlite(&config.database_url)?;
    let clustered = !config.database_url.starts_with("sqlite:");
    let node_id = identity::node_id_for(&config.cluster, clustered)?;
    let folder_digest = identity::folder_digest(&config.cameras.configs);
    let (database, started) = startup::prepare(&config, &node_id, &folder_digest).await?;
    let listening = listening(&config)?;
    let listen = listening.listen;
    let listener = listener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    let tls = listening.tls.is_some();
    let cluster = join_cluster(&config, &database, node_id, folder_digest, local, tls).await?;
    let relay_config = config.clone();
    let mut app = build_state(config, database, cluster)
        .await?
        .with_folder_skipped(started.folder_skipped);
    // Before the cameras start: the demo's camera and gallery complete, or all of it gone.
    crate::demo::start(&app).await;
    let mut background = start_background(&app);
    app.relay = cluster_loops::start(&app, &relay_config, &mut background)?;
    let integrations = Integrations::start(&app, app.cluster.watch_leader())?;

    let scheme = if tls { "https" } else { "http" };
    println!("hadir listening on {scheme}://{local}");
    let max_connections = listening.settings.max_connections;
    tracing::info!(%local, %scheme, max_connections, node_id = %app.cluster.identity.node_id, "listening");
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
            first_admin_token: started.first_admin_token.as_deref(),
        }
        .render()
    );
    let fatal = app.cluster.fatal();
    let shutdown = async {
        tokio::select! {
            () = shutdown => {}
            () = fatal.cancelled() => {}
        }
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
    stop(app.clone(), background, integrations).await;
    if app.cluster.fatal().is_cancelled() {
        anyhow::bail!(
            "another process took the node id {:?}: this one stopped",
            app.cluster.identity.node_id
        );
    }
    Ok(())
}

/// The ordered stop, after the listener stopped.
async fn stop(app: AppState, background: Background, integrations: Integrations) {
    // The camera follower and the lease loop first, so that no camera starts while they stop.
    let loops = background.stop().await;
    tracing::info!(tasks = loops, "stopping: background tasks stopped");
    let cameras = app.live_cameras.stop_all();
    tracing::info!(cameras, "stopping: cameras stopped");
    app.cluster.leave().await;
    if let Some(relay) = &app.relay
        && let Err(error) = relay.leave().await
    {
        tracing::warn!(%error, "stopping: cannot tell the other nodes this one leaves");
    }
    integrations.stop().await;
    app.tokens.flush_last_used().await;
    match app.db.clone().close().await {
        Ok(()) => tracing::info!("stopping: database closed"),
        Err(error) => tracing::warn!(%error, "stopping: the database did not close cleanly"),
    }
    tracing::info!("stopped");
}
