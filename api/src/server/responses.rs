//! Error answers shared by the routes: a GraphQL error response with its code.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};

/// A GraphQL error response with one error and its code: a request error, so no `data`.
pub fn graphql_error_response(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }],
    });
    (status, Json(body)).into_response()
}

/// The body limit's bare 413, as a GraphQL error that says what the limit is.
pub fn explain_payload_too_large(response: Response, limit: usize) -> Response {
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
