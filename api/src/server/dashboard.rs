//! The dashboard's files at `/dashboard/`, built into the binary.

use axum::{
    Router,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
    routing::get,
};

use super::state::HttpState;

/// The routes of this file.
pub fn routes() -> Router<HttpState> {
    Router::new()
        .route(
            "/dashboard",
            get(|| async { axum::response::Redirect::permanent("/dashboard/") }),
        )
        .route("/dashboard/", get(|| dashboard_file("index.html")))
        .route("/dashboard/{file}", get(dashboard_file_owned))
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
