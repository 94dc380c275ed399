//! The HTTP server: `POST /graphql`, WebSocket subscriptions on `GET /graphql`
//! (`graphql-transport-ws` and `graphql-ws`, in [`ws`]), GraphiQL at `/`, `/healthz` and
//! `/schema.graphql`; and `serve`, which starts everything.

pub mod ws;

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::{
    Json, Router,
    extract::{State, WebSocketUpgrade},
    http::{HeaderMap, StatusCode, header},
    response::{Html, IntoResponse, Response},
    routing::get,
};
use tower_http::{cors::CorsLayer, limit::RequestBodyLimitLayer};

use crate::{
    attendance::{report, retention},
    auth::{Principal, Role, token_from_authorization},
    cameras::{self, live},
    clock::SystemClock,
    config::Config,
    db,
    error::AppError,
    faces::{FaceService, FaceSettings},
    graphql::{self, AppSchema, error::UNAUTHENTICATED, fanout::SubscriptionHub},
    presence::monitor,
    state::AppState,
};

/// Bytes buffered per WebSocket for reading; small, since thousands of subscribers each
/// hold one.
pub const WS_READ_BUFFER_BYTES: usize = 4 * 1024;
/// Bytes buffered per WebSocket for writing before a flush.
pub const WS_WRITE_BUFFER_BYTES: usize = 4 * 1024;
/// The largest message a WebSocket client may send.
pub const WS_MAX_MESSAGE_BYTES: usize = 1024 * 1024;

#[derive(Clone)]
struct HttpState {
    app: AppState,
    schema: AppSchema,
    hub: SubscriptionHub,
}

/// The router of a running server.
pub fn router(app: AppState) -> Router {
    let schema = graphql::build_schema(app.clone(), &app.config);
    let max_body = app.config.max_request_bytes;
    let graphiql = app.config.graphiql;
    let mut router = Router::new()
        .route("/graphql", get(graphql_ws).post(graphql_http))
        .route("/healthz", get(healthz))
        .route("/schema.graphql", get(schema_sdl))
        .route("/reports/attendance.csv", get(attendance_csv))
        .route("/cameras/{id}/snapshot.jpg", get(camera_snapshot))
        .route("/cameras/{id}/live.mjpeg", get(camera_live))
        .route("/metrics", get(metrics_text));
    if graphiql {
        router = router.route("/", get(graphiql_page));
    }
    if app.config.dashboard {
        router = router
            .route(
                "/dashboard",
                get(|| async { axum::response::Redirect::permanent("/dashboard/") }),
            )
            .route("/dashboard/", get(|| dashboard_file("index.html")))
            .route(
                "/dashboard/{file}",
                get(|axum::extract::Path(file): axum::extract::Path<String>| {
                    dashboard_file_owned(file)
                }),
            );
    }
    router
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(axum::middleware::map_response(
            move |response: Response| async move { explain_payload_too_large(response, max_body) },
        ))
        .layer(CorsLayer::permissive())
        .with_state(HttpState {
            app,
            hub: SubscriptionHub::new(schema.clone()),
            schema,
        })
}

/// The body limit's bare 413, as a GraphQL error that says what the limit is.
fn explain_payload_too_large(response: Response, limit: usize) -> Response {
    if response.status() != StatusCode::PAYLOAD_TOO_LARGE {
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
fn graphql_error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "data": null,
        "errors": [{ "message": message, "extensions": { "code": code } }],
    });
    (status, Json(body)).into_response()
}

/// The caller of an HTTP request: `Ok(None)` without a token, `Err` with a bad one.
async fn principal_from_headers(
    app: &AppState,
    headers: &HeaderMap,
) -> Result<Option<Principal>, Response> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(token_from_authorization)
        .ok_or_else(|| {
            graphql_error_response(
                StatusCode::UNAUTHORIZED,
                UNAUTHENTICATED,
                "the Authorization header must be `Bearer <token>`",
            )
        })?;
    match app.tokens.authenticate(token).await {
        Ok(Some(principal)) => Ok(Some(principal)),
        Ok(None) => Err(graphql_error_response(
            StatusCode::UNAUTHORIZED,
            UNAUTHENTICATED,
            "the token is unknown or revoked",
        )),
        Err(error) => {
            tracing::error!(%error, "cannot check a token");
            Err(graphql_error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                graphql::error::INTERNAL_SERVER_ERROR,
                "cannot check the token now",
            ))
        }
    }
}

async fn graphql_http(
    State(state): State<HttpState>,
    headers: HeaderMap,
    request: GraphQLRequest,
) -> Response {
    let principal = match principal_from_headers(&state.app, &headers).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let mut request = request.into_inner();
    if let Some(principal) = principal {
        request = request.data(principal);
    }
    GraphQLResponse::from(state.schema.execute(request).await).into_response()
}

async fn graphql_ws(
    State(state): State<HttpState>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let header_principal = match principal_from_headers(&state.app, &headers).await {
        Ok(p) => p,
        Err(response) => return response,
    };
    let upgrade = upgrade
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .write_buffer_size(WS_WRITE_BUFFER_BYTES)
        .max_message_size(WS_MAX_MESSAGE_BYTES)
        .protocols(ws::Protocol::NAMES);
    // A client that names no subprotocol gets graphql-transport-ws.
    let asked = headers.contains_key(header::SEC_WEBSOCKET_PROTOCOL);
    let selected = upgrade
        .selected_protocol()
        .and_then(|p| p.to_str().ok())
        .and_then(ws::Protocol::from_name);
    let Some(protocol) = selected.or((!asked).then_some(ws::Protocol::TransportWs)) else {
        return (
            StatusCode::BAD_REQUEST,
            "ask for the WebSocket subprotocol graphql-transport-ws or graphql-ws",
        )
            .into_response();
    };
    let connection = ws::Connection {
        app: state.app,
        schema: state.schema,
        hub: state.hub,
        protocol,
        header_principal,
    };
    upgrade.on_upgrade(move |socket| connection.serve(socket))
}

/// `GET /metrics` (Prometheus); a viewer or admin token in the header or `?token=`.
async fn metrics_text(
    State(state): State<HttpState>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<ImageQuery>,
) -> Response {
    if let Err(response) = viewer(&state.app, &headers, query.token.as_deref()).await {
        return response;
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        crate::metrics::render(&state.app).await,
    )
        .into_response()
}

/// The query of the camera image routes.
#[derive(serde::Deserialize)]
struct ImageQuery {
    /// For `<img src>`, where no header can be set.
    token: Option<String>,
    width: Option<u32>,
    #[serde(default)]
    annotate: bool,
    /// Frames per second at most (live stream).
    fps: Option<f64>,
}

/// Checks the caller of a plain HTTP route (reports, images, metrics): a token in the header
/// or `?token=` (for links and `<img>`); viewers and admins only.
async fn viewer(app: &AppState, headers: &HeaderMap, token: Option<&str>) -> Result<(), Response> {
    let principal = match principal_from_headers(app, headers).await? {
        Some(p) => Some(p),
        None => match token {
            Some(token) => app.tokens.authenticate(token).await.ok().flatten(),
            None => None,
        },
    };
    match principal.map(|p| p.role) {
        None => Err((
            StatusCode::UNAUTHORIZED,
            "a viewer or admin token is needed (Authorization: Bearer …, or ?token=…)\n",
        )
            .into_response()),
        Some(Role::Ingest) => Err((
            StatusCode::FORBIDDEN,
            "an ingest token may only report sightings\n",
        )
            .into_response()),
        Some(_) => Ok(()),
    }
}

async fn known_camera(app: &AppState, id: &str) -> Result<(), Response> {
    match app.cameras.get(id).await {
        Ok(Some(_)) => Ok(()),
        Ok(None) => Err((
            StatusCode::NOT_FOUND,
            format!("camera {id:?} does not exist\n"),
        )
            .into_response()),
        Err(_) => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            "the database is unavailable\n",
        )
            .into_response()),
    }
}

/// A camera that exists, for a caller who may watch it.
async fn viewable_camera(
    app: &AppState,
    headers: &HeaderMap,
    query: &ImageQuery,
    id: &str,
) -> Result<(), Response> {
    viewer(app, headers, query.token.as_deref()).await?;
    known_camera(app, id).await
}

/// `GET /cameras/{id}/snapshot.jpg`: the camera's latest sampled frame.
async fn camera_snapshot(
    State(state): State<HttpState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<ImageQuery>,
) -> Response {
    if let Err(response) = viewable_camera(&state.app, &headers, &query, &id).await {
        return response;
    }
    let Some(frame) = state.app.live_cameras.latest(&id) else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("camera {id:?} has delivered no frame yet\n"),
        )
            .into_response();
    };
    match live::encode(&frame, query.width, query.annotate) {
        Ok(jpeg) => (
            [
                (header::CONTENT_TYPE, "image/jpeg"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            jpeg,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("cannot encode the frame: {e}\n"),
        )
            .into_response(),
    }
}

/// The multipart boundary of `live.mjpeg`.
const MJPEG_BOUNDARY: &str = "hadirframe";

/// `GET /cameras/{id}/live.mjpeg`: the camera's sampled frames as an MJPEG stream that an
/// `<img>` shows.
async fn camera_live(
    State(state): State<HttpState>,
    headers: HeaderMap,
    axum::extract::Path(id): axum::extract::Path<String>,
    axum::extract::Query(query): axum::extract::Query<ImageQuery>,
) -> Response {
    if let Err(response) = viewable_camera(&state.app, &headers, &query, &id).await {
        return response;
    }
    let min_gap = Duration::from_secs_f64(1.0 / query.fps.unwrap_or(30.0).clamp(0.1, 30.0));
    let receiver = state.app.live_cameras.watch_live(&id);
    let (width, annotate) = (query.width, query.annotate);
    let parts = futures_util::stream::unfold(
        (receiver, None::<tokio::time::Instant>, true),
        move |(mut receiver, mut last, first)| async move {
            loop {
                if !first && receiver.changed().await.is_err() {
                    return None;
                }
                if let Some(at) = last {
                    tokio::time::sleep_until(at + min_gap).await;
                }
                let Some(frame) = receiver.borrow_and_update().clone() else {
                    if first {
                        // Nothing yet: wait for the first frame.
                        if receiver.changed().await.is_err() {
                            return None;
                        }
                        continue;
                    }
                    continue;
                };
                let jpeg = match live::encode(&frame, width, annotate) {
                    Ok(jpeg) => jpeg,
                    Err(_) => continue,
                };
                last = Some(tokio::time::Instant::now());
                let mut part = format!(
                    "--{MJPEG_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\n\r\n",
                    jpeg.len()
                )
                .into_bytes();
                part.extend_from_slice(&jpeg);
                part.extend_from_slice(b"\r\n");
                return Some((
                    Ok::<_, std::convert::Infallible>(part),
                    (receiver, last, false),
                ));
            }
        },
    );
    (
        [
            (
                header::CONTENT_TYPE,
                format!("multipart/x-mixed-replace; boundary={MJPEG_BOUNDARY}"),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        axum::body::Body::from_stream(parts),
    )
        .into_response()
}

/// The query of `GET /reports/attendance.csv`.
#[derive(serde::Deserialize)]
struct ReportRange {
    from: String,
    to: String,
    department: Option<String>,
    /// For links and `<a download>`, where no header can be set.
    token: Option<String>,
}

/// `GET /reports/attendance.csv?from=YYYY-MM-DD&to=YYYY-MM-DD[&department=…]`: the daily
/// logs as CSV, for a viewer or admin token (header, or `token` in the query).
async fn attendance_csv(
    State(state): State<HttpState>,
    headers: HeaderMap,
    axum::extract::Query(range): axum::extract::Query<ReportRange>,
) -> Response {
    let plain = |status: StatusCode, message: String| (status, message).into_response();
    if let Err(response) = viewer(&state.app, &headers, range.token.as_deref()).await {
        return response;
    }
    let parse = |name: &str, text: &str| {
        chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| format!("{name}: {text:?} is not a date as YYYY-MM-DD\n"))
    };
    let (from, to) = match (parse("from", &range.from), parse("to", &range.to)) {
        (Ok(f), Ok(t)) => (f, t),
        (Err(e), _) | (_, Err(e)) => return plain(StatusCode::BAD_REQUEST, e),
    };
    match report::logs_between(&state.app.db, from, to, range.department.as_deref()).await {
        Ok(rows) => (
            [
                (
                    header::CONTENT_TYPE,
                    "text/csv; charset=utf-8; header=present".to_owned(),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"attendance_{from}_{to}.csv\""),
                ),
            ],
            report::to_csv(&rows, state.app.attendance.schedule().timezone),
        )
            .into_response(),
        Err(AppError::InvalidInput { field, reason }) => {
            plain(StatusCode::BAD_REQUEST, format!("{field}: {reason}\n"))
        }
        Err(error) => {
            tracing::error!(%error, "attendance report failed");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the report failed\n".into(),
            )
        }
    }
}

/// The dashboard (client-examples/dashboard/), built into the binary: it runs on the public
/// API alone, like any third-party client.
const DASHBOARD_FILES: [(&str, &str, &str); 3] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../../client-examples/dashboard/index.html"),
    ),
    (
        "app.js",
        "text/javascript; charset=utf-8",
        include_str!("../../../client-examples/dashboard/app.js"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../../client-examples/dashboard/style.css"),
    ),
];

async fn dashboard_file(name: &str) -> Response {
    match DASHBOARD_FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, body)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such dashboard file\n").into_response(),
    }
}

async fn dashboard_file_owned(name: String) -> Response {
    dashboard_file(&name).await
}

async fn graphiql_page() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql")
            .title("hadir GraphiQL")
            .finish(),
    )
}

async fn healthz(State(state): State<HttpState>) -> Response {
    match state.app.db.ping().await {
        Ok(()) => Json(serde_json::json!({ "status": "ok", "database": "ok" })).into_response(),
        Err(error) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(serde_json::json!({ "status": "degraded", "database": error.to_string() })),
        )
            .into_response(),
    }
}

async fn schema_sdl() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        graphql::sdl(),
    )
        .into_response()
}

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
    let monitor_interval = config.monitor_interval();
    let faces = FaceService::open(database.clone(), FaceSettings::from_config(&config)?).await?;
    let app = AppState::new(config, database, Arc::new(SystemClock), faces);
    if let Some(created) = app.tokens.ensure_first_admin().await? {
        println!(
            "\nNo admin token was configured, so hadir created one. It is shown this once:\n\n    {}\n\n\
             Send it as `Authorization: Bearer <token>` (in GraphiQL: the Headers tab).\n",
            created.token
        );
    }
    let monitor = monitor::spawn(app.engine.clone(), monitor_interval);
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

    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let local = listener.local_addr()?;
    println!("hadir listening on http://{local}");
    tracing::info!(%local, "listening");
    axum::serve(listener, router(app))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    monitor.abort();
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
