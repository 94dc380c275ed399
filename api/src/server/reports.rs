//! `GET /reports/attendance.csv`: the daily attendance logs as CSV.

use axum::{
    Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::{
    state::{ClientPeer, HttpState},
    viewer::viewer,
};
use crate::{attendance::report, error::AppError};

/// The routes of this file.
pub fn routes() -> Router<HttpState> {
    Router::new().route("/reports/attendance.csv", get(attendance_csv))
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
    let timeout = state.app.config.server.request_timeout();
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
