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
        .route("/dashboard", get(to_the_folder))
        .route("/dashboard/", get(|| dashboard_file("index.html")))
        .route("/dashboard/{file}", get(dashboard_file_owned))
}

/// `GET /dashboard[?query]` → `/dashboard/[?query]`: a link's query (`?api=`, `?token=`)
/// survives the redirect.
async fn to_the_folder(uri: axum::http::Uri) -> axum::response::Redirect {
    match uri.query() {
        Some(query) => axum::response::Redirect::permanent(&format!("/dashboard/?{query}")),
        None => axum::response::Redirect::permanent("/dashboard/"),
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
const DASHBOARD_FILES: [(&str, &str, &str); 21] = [
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
    js!("demo.js"),
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
