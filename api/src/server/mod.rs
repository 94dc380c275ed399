//! The HTTP server: the router and `serve`, which starts everything.
//!
//! - [`listener`]: the socket: connection limit, header timeout, TLS.
//! - [`client`]: the client's address (trusted proxies) and failed authentications per address.
//! - [`close_unread`]: a refusal sent before its request's body was read closes the connection.
//! - [`gate`]: authentication of every request, over HTTP and WebSocket.
//! - [`graphql_http`]: `POST /graphql`, the WebSocket upgrade, GraphiQL, the SDL.
//! - [`graphql_body`]: reading GraphQL bodies within their limits (JSON, admin uploads).
//! - [`ws`]: GraphQL over WebSocket (`graphql-transport-ws` and `graphql-ws`).
//! - [`images`]: `snapshot.jpg` and `live.mjpeg`.
//! - [`plain`]: `/healthz`, `/metrics`, the CSV report, the dashboard's files.

pub mod client;
pub mod close_unread;
pub mod gate;
pub mod graphql_body;
pub mod graphql_http;
pub mod images;
pub mod listener;
pub mod plain;
pub mod ws;

use std::{fmt::Write as _, net::SocketAddr, sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::{
    Json, Router,
    extract::FromRequestParts,
    http::{StatusCode, request::Parts},
    response::{IntoResponse, Response},
    routing::get,
};
use tower_http::limit::RequestBodyLimitLayer;

use crate::{
    attendance::retention,
    cameras,
    clock::SystemClock,
    config::Config,
    db,
    faces::{FaceService, FaceSettings},
    graphql::{self, AppSchema, fanout::SubscriptionHub},
    presence::monitor,
    state::AppState,
};
use gate::Gate;
use graphql_body::BodyLimits;
use listener::{ConnectionCounters, ListenSettings, TlsState};

/// What every route shares.
#[derive(Clone)]
pub struct HttpState {
    pub app: AppState,
    pub schema: AppSchema,
    pub hub: SubscriptionHub,
    pub gate: Gate,
    pub limits: BodyLimits,
    pub connections: Arc<ConnectionCounters>,
}

/// The client's socket address, as the listener recorded it (unspecified when the router
/// is driven without one).
pub struct ClientPeer(pub SocketAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientPeer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<SocketAddr>>()
                .map_or(SocketAddr::from(([0, 0, 0, 0], 0)), |c| c.0),
        ))
    }
}

/// The router of a running server.
pub fn router(app: AppState, connections: Arc<ConnectionCounters>) -> anyhow::Result<Router> {
    let schema = graphql::build_schema(app.clone(), &app.config);
    let max_body = app.config.max_request_bytes;
    let gate = Gate::new(
        app.tokens.clone(),
        app.config.auth_failures_per_minute,
        app.config.trusted_proxies()?,
    );
    let mut router = Router::new()
        .route(
            "/graphql",
            get(graphql_http::graphql_ws).post(graphql_http::graphql_http),
        )
        .route("/healthz", get(plain::healthz))
        .route("/schema.graphql", get(graphql_http::schema_sdl))
        .route("/reports/attendance.csv", get(plain::attendance_csv))
        .route("/cameras/{id}/snapshot.jpg", get(images::camera_snapshot))
        .route("/cameras/{id}/live.mjpeg", get(images::camera_live))
        .route("/metrics", get(plain::metrics_text));
    if app.config.graphiql {
        router = router.route("/", get(graphql_http::graphiql_page));
    }
    if app.config.dashboard {
        router = router
            .route(
                "/dashboard",
                get(|| async { axum::response::Redirect::permanent("/dashboard/") }),
            )
            .route("/dashboard/", get(|| plain::dashboard_file("index.html")))
            .route("/dashboard/{file}", get(plain::dashboard_file_owned));
    }
    let limits = app.config.body_limits();
    // Without configured origins, browsers get no CORS headers: same origin only.
    let cors = tower::util::option_layer(app.config.cors()?);
    Ok(router
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(axum::middleware::map_response(
            move |response: Response| async move { explain_payload_too_large(response, max_body) },
        ))
        .layer(cors)
        // Outermost: it sees the body limit's refusals too.
        .layer(axum::middleware::from_fn(
            close_unread::close_if_body_unread,
        ))
        .with_state(HttpState {
            hub: SubscriptionHub::new(schema.clone()),
            schema,
            gate,
            limits,
            connections,
            app,
        }))
}

/// The body limit's bare 413, as a GraphQL error that says what the limit is.
fn explain_payload_too_large(response: Response, limit: usize) -> Response {
    let already_json = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE || already_json {
        return response;
    }
    graphql_error_response(
        StatusCode::PAYLOAD_TOO_LARGE,
        "PAYLOAD_TOO_LARGE",
        &format!(
            "the request is larger than {limit} bytes (max_request_bytes); photos may be at most max_photo_bytes"
        ),
    )
}

/// A GraphQL error response with one error and its code.
pub fn graphql_error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "data": null,
        "errors": [{ "message": message, "extensions": { "code": code } }],
    });
    (status, Json(body)).into_response()
}

/// The listener's and the gate's figures, for `/metrics`.
fn connection_metrics(out: &mut String, state: &HttpState) {
    use std::sync::atomic::Ordering::Relaxed;
    let c = &state.connections;
    let _ = writeln!(
        out,
        "# HELP hadir_http_connections Connections open now.\n# TYPE hadir_http_connections gauge\nhadir_http_connections {}\n\
         # HELP hadir_http_connections_total Connections accepted, and refused over max_connections.\n# TYPE hadir_http_connections_total counter\n\
         hadir_http_connections_total{{result=\"accepted\"}} {}\nhadir_http_connections_total{{result=\"refused\"}} {}\n\
         # HELP hadir_tls_handshake_failures_total TLS handshakes that failed or timed out.\n# TYPE hadir_tls_handshake_failures_total counter\nhadir_tls_handshake_failures_total {}\n\
         # HELP hadir_auth_failure_addresses Client addresses with failed authentications in the current minute.\n# TYPE hadir_auth_failure_addresses gauge\nhadir_auth_failure_addresses {}",
        c.open.load(Relaxed),
        c.accepted.load(Relaxed),
        c.refused.load(Relaxed),
        c.tls_failures.load(Relaxed),
        state.gate.tracked_addresses(),
    );
}

/// Raises this process's open-files limit to its hard limit (sockets are files), and returns
/// the soft limit in force.
#[cfg(unix)]
fn raise_open_files_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit write and read the struct given; no other memory is touched.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return None;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    Some(limit.rlim_cur)
}

#[cfg(not(unix))]
fn raise_open_files_limit() -> Option<u64> {
    None
}

/// File descriptors kept for everything but client connections (cameras, the database,
/// models, logs).
pub const RESERVED_FILES: u64 = 512;

/// Runs the server until SIGINT or SIGTERM: migrates the database, syncs the camera
/// folder, makes sure an admin token exists, starts the presence monitor and serves HTTP.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let database = db::connect_and_migrate(&config.database_url).await?;
    tracing::info!(database = %db::redact_database_url(&config.database_url), "database ready");

    let report = cameras::sync_folder(&database, &config.camera_configs)
        .await
        .context("cannot sync the camera folder into the database")?;
    for error in &report.errors {
        tracing::error!("camera file skipped: {error}");
    }
    tracing::info!(
        folder = %config.camera_configs.display(),
        created = report.created.len(),
        updated = report.updated.len(),
        disabled = report.disabled.len(),
        broken = report.errors.len(),
        "camera files synced"
    );

    let listen = config.listen_addr()?;
    let tls = match config.tls_files()? {
        Some(files) => Some(TlsState::load(files).map_err(|e| anyhow::anyhow!("TLS: {e}"))?),
        None => None,
    };
    let mut max_connections = config.max_connections;
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
    let listen_settings = ListenSettings {
        max_connections,
        header_read_timeout: config.header_read_timeout(),
    };
    let monitor_interval = config.monitor_interval();
    let faces = FaceService::open(database.clone(), FaceSettings::from_config(&config)?).await?;
    let app = AppState::new(config, database, Arc::new(SystemClock), faces)
        .with_shared_grant_key()
        .await
        .context("cannot read or make the key that signs live-view grants")?;
    if let Some(created) = app.tokens.ensure_first_admin().await? {
        println!(
            "\nNo admin token was configured, so hadir created one. It is shown this once:\n\n    {}\n\n\
             Send it as `Authorization: Bearer <token>` (in GraphiQL: the Headers tab).\n",
            created.token
        );
    }
    let monitor = monitor::spawn(app.engine.clone(), monitor_interval);
    let revocations = app.tokens.spawn_revocation_watch();
    let gallery_refresh = app.faces.spawn_refresh();
    let cameras = app.live_cameras.clone().spawn();
    let attendance_closer = app.attendance.clone().spawn_closer(Duration::from_secs(
        app.config.attendance_close_interval_secs,
    ));
    let mqtt = match app.config.mqtt()? {
        Some(settings) => {
            tracing::info!(broker = %format!("{}:{}", settings.host, settings.port), prefix = %settings.topic_prefix, "publishing to MQTT");
            Some(crate::mqtt::MqttBridge::spawn(
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
            crate::webhooks::Webhooks::spawn(
                &app.config.webhooks,
                &app.events,
                app.integrations.clone(),
            )
            .map_err(|reason| anyhow::anyhow!("webhooks: {reason}"))?,
        )
    };
    let purge = retention::spawn(
        app.db.clone(),
        app.config.retention(),
        app.attendance.schedule().timezone,
        app.clock.clone(),
    );

    let listener = listener::bind(listen).with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    println!("hadir listening on {scheme}://{local}");
    tracing::info!(%local, %scheme, max_connections, "listening");
    let connections = Arc::new(ConnectionCounters::default());
    let tokens = app.tokens.clone();
    let router = router(app, connections.clone())?;
    listener::serve(
        listener,
        router,
        listen_settings,
        tls,
        connections,
        shutdown_signal(),
    )
    .await;
    tokens.flush_last_used().await;
    monitor.abort();
    revocations.abort();
    gallery_refresh.abort();
    attendance_closer.abort();
    cameras.abort();
    purge.abort();
    if let Some(mqtt) = mqtt {
        mqtt.stop().await;
    }
    if let Some(webhooks) = webhooks {
        webhooks.stop();
    }
    Ok(())
}

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
    tracing::info!("shutting down");
}
