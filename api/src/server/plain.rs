//! The plain HTTP routes: `/healthz`, `/metrics`, the attendance CSV and the dashboard's
//! files; and [`viewer`], the check of a viewer or admin token on such a route.

use std::net::SocketAddr;

use axum::{
    Json,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
};

use super::{ClientPeer, HttpState};
use crate::{
    attendance::report,
    auth::{Principal, Role},
    error::AppError,
};

/// Checks the caller of a plain HTTP route (reports, images, metrics): a token in the
/// header, or — where `query_token` is set — in `?token=`; viewers and admins only.
pub async fn viewer(
    state: &HttpState,
    peer: SocketAddr,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<Principal, Response> {
    let ip = state.gate.client(peer, headers);
    let principal = match state.gate.header(ip, headers).await {
        Ok(Some(principal)) => principal,
        Ok(None) => match query_token {
            Some(token) if state.app.config.query_token => state
                .gate
                .token(ip, token)
                .await
                .map_err(|r| r.plain_response())?,
            Some(_) => {
                return Err((
                    StatusCode::UNAUTHORIZED,
                    "a token in the URL is not accepted here (query_token is off: URLs end up in \
                     histories and logs); send Authorization: Bearer …, or use a camera's \
                     liveUrl/snapshotUrl, which carry a short-lived grant\n",
                )
                    .into_response());
            }
            None => {
                return Err((
                    StatusCode::UNAUTHORIZED,
                    "a viewer or admin token is needed (Authorization: Bearer …)\n",
                )
                    .into_response());
            }
        },
        Err(refusal) => return Err(refusal.plain_response()),
    };
    if principal.role == Role::Ingest {
        return Err(ingest_refused());
    }
    Ok(principal)
}

/// The answer to an ingest token on a route for viewers and admins.
pub fn ingest_refused() -> Response {
    (
        StatusCode::FORBIDDEN,
        "an ingest token may only report sightings\n",
    )
        .into_response()
}

/// The query of the routes that take a token in the URL.
#[derive(serde::Deserialize)]
pub struct TokenQuery {
    token: Option<String>,
}

/// `GET /metrics` (Prometheus); a viewer or admin token in the header or `?token=`.
pub async fn metrics_text(
    State(state): State<HttpState>,
    ClientPeer(peer): ClientPeer,
    headers: HeaderMap,
    Query(query): Query<TokenQuery>,
) -> Response {
    if let Err(response) = viewer(&state, peer, &headers, query.token.as_deref()).await {
        return response;
    }
    let mut text = crate::metrics::render(&state.app).await;
    super::connection_metrics(&mut text, &state);
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

/// How long `/healthz` waits for the database before it says 503.
pub const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `GET /healthz`: 200 when the database answers within [`HEALTH_TIMEOUT`], else 503. The database's error is shown
/// only to a caller with a valid token (it may name hosts and users); anonymous callers
/// learn that it is unavailable.
pub async fn healthz(
    State(state): State<HttpState>,
    ClientPeer(peer): ClientPeer,
    headers: HeaderMap,
) -> Response {
    let ping = tokio::time::timeout(HEALTH_TIMEOUT, state.app.db.ping())
        .await
        .unwrap_or_else(|_| {
            Err(sea_orm::DbErr::Custom(format!(
                "no answer within {HEALTH_TIMEOUT:?}"
            )))
        });
    match ping {
        Ok(()) => Json(serde_json::json!({ "status": "ok", "database": "ok" })).into_response(),
        Err(error) => {
            tracing::warn!(%error, "health check: the database does not answer");
            let ip = state.gate.client(peer, &headers);
            // Tokens are checked in the database, which may be the one not answering.
            let caller =
                tokio::time::timeout(HEALTH_TIMEOUT, state.gate.header(ip, &headers)).await;
            let detail = match caller {
                Ok(Ok(Some(_))) => Some(error.to_string()),
                _ => None,
            };
            let mut body = serde_json::json!({ "status": "degraded", "database": "unavailable" });
            if let Some(detail) = detail {
                body["error"] = serde_json::Value::String(detail);
            }
            (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response()
        }
    }
}

/// The query of `GET /reports/attendance.csv`.
#[derive(serde::Deserialize)]
pub struct ReportRange {
    from: String,
    to: String,
    department: Option<String>,
    /// For links and `<a download>`, where no header can be set.
    token: Option<String>,
}

/// `GET /reports/attendance.csv?from=YYYY-MM-DD&to=YYYY-MM-DD[&department=…]`: the daily
/// logs as CSV, for a viewer or admin token (header, or `token` in the query).
pub async fn attendance_csv(
    State(state): State<HttpState>,
    ClientPeer(peer): ClientPeer,
    headers: HeaderMap,
    Query(range): Query<ReportRange>,
) -> Response {
    let plain = |status: StatusCode, message: String| (status, message).into_response();
    if let Err(response) = viewer(&state, peer, &headers, range.token.as_deref()).await {
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
    let timeout = state.app.config.request_timeout();
    let rows = tokio::time::timeout(
        timeout,
        report::logs_between(&state.app.db, from, to, range.department.as_deref()),
    )
    .await;
    match rows {
        Ok(Ok(rows)) => (
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
        Ok(Err(AppError::InvalidInput { field, reason })) => {
            plain(StatusCode::BAD_REQUEST, format!("{field}: {reason}\n"))
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "attendance report failed");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the report failed\n".into(),
            )
        }
        Err(_) => plain(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the report took longer than {} s (request_timeout_secs); ask for fewer days\n",
                timeout.as_secs()
            ),
        ),
    }
}

/// One of the dashboard's JavaScript modules: (name, content type, text).
macro_rules! js {
    ($name:literal) => {
        (
            $name,
            "text/javascript; charset=utf-8",
            include_str!(concat!("../../../client-examples/dashboard/", $name)),
        )
    };
}

/// The dashboard (client-examples/dashboard/), built into the binary: it runs on the public
/// API alone, like any third-party client. Its scripts are ES modules (app.js imports the
/// others), which browsers run only when served with a JavaScript MIME type.
const DASHBOARD_FILES: [(&str, &str, &str); 20] = [
    (
        "index.html",
        "text/html; charset=utf-8",
        include_str!("../../../client-examples/dashboard/index.html"),
    ),
    (
        "style.css",
        "text/css; charset=utf-8",
        include_str!("../../../client-examples/dashboard/style.css"),
    ),
    js!("activity.js"),
    js!("api.js"),
    js!("app.js"),
    js!("cameras.js"),
    js!("config.js"),
    js!("dom.js"),
    js!("employees.js"),
    js!("feedback.js"),
    js!("header.js"),
    js!("live.js"),
    js!("notifications.js"),
    js!("report.js"),
    js!("session.js"),
    js!("settings.js"),
    js!("state.js"),
    js!("time.js"),
    js!("views.js"),
    js!("ws.js"),
];

/// One of the dashboard's files.
pub async fn dashboard_file(name: &str) -> Response {
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

/// `GET /dashboard/{file}`.
pub async fn dashboard_file_owned(
    axum::extract::Path(name): axum::extract::Path<String>,
) -> Response {
    dashboard_file(&name).await
}

#[cfg(test)]
mod tests {
    use super::DASHBOARD_FILES;

    /// Every file in client-examples/dashboard/ but the README is served (a module left out
    /// of the table would stop the page), each script as JavaScript.
    #[test]
    fn every_dashboard_file_is_served() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../client-examples/dashboard");
        for entry in std::fs::read_dir(dir).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".md") {
                continue;
            }
            let served = DASHBOARD_FILES.iter().find(|(file, _, _)| *file == name);
            let (_, content_type, _) = served.unwrap_or_else(|| panic!("{name} is not served"));
            if name.ends_with(".js") {
                assert!(content_type.starts_with("text/javascript"), "{name}");
            }
        }
    }
}
