//! Reading the body of `POST /graphql`, only once the caller has authenticated: JSON within
//! a small limit, or — for admin tokens only — a GraphQL multipart request
//! (<https://github.com/jaydenseric/graphql-multipart-request-spec>) with at most
//! `max_upload_files` files of at most `max_photo_bytes` each, held in memory (no temporary
//! file, so no file descriptor, per part). The whole body must arrive within a timeout.
//! A `GET`'s request comes from its URL ([`url_request`]).

//!
//! - [`limits`]: the limits, the refusals, what both readers share.
//! - [`json`]: a JSON body within its cap.
//! - [`multipart`]: an upload (admins only).

pub mod json;
pub mod limits;
pub mod multipart;
#[cfg(test)]
mod tests;

use async_graphql::BatchRequest;
use axum::{
    body::Body,
    http::{HeaderMap, header},
};

use crate::auth::Role;
pub use limits::{BodyError, BodyLimits};
pub use multipart::{MAX_MAP_BYTES, MAX_PATHS_PER_FILE};

/// The GraphQL request of a `GET` (`?query=…&operationName=…&variables=…&extensions=…`,
/// the last two as JSON), read as a JSON body would be.
pub fn url_request(parameters: &str) -> Result<async_graphql::Request, BodyError> {
    let mut request = serde_json::Map::new();
    for (key, value) in url::form_urlencoded::parse(parameters.as_bytes()) {
        let value = match key.as_ref() {
            "query" | "operationName" => serde_json::Value::String(value.into_owned()),
            "variables" | "extensions" => serde_json::from_str(&value).map_err(|e| {
                BodyError::Malformed(format!("the URL parameter {key} is not JSON: {e}"))
            })?,
            _ => continue,
        };
        if request.insert(key.into_owned(), value).is_some() {
            return Err(BodyError::Malformed(
                "the URL names a GraphQL parameter twice".to_owned(),
            ));
        }
    }
    let json = serde_json::Value::Object(request).to_string();
    match limits::parse_operations(json.as_bytes(), "the URL's request")? {
        BatchRequest::Single(request) => Ok(request),
        BatchRequest::Batch(_) => Err(BodyError::Malformed(
            "the URL holds one request, not a batch".to_owned(),
        )),
    }
}

/// Reads the GraphQL request(s) of an authenticated caller.
pub async fn read(
    headers: &HeaderMap,
    body: Body,
    role: Role,
    limits: &BodyLimits,
) -> Result<BatchRequest, BodyError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let multipart = content_type
        .trim_start()
        .to_ascii_lowercase()
        .starts_with("multipart/");
    let read = async {
        if multipart {
            if role != Role::Admin {
                return Err(BodyError::UploadsForbidden);
            }
            multipart::read_multipart(content_type, headers, body, limits).await
        } else {
            let bytes = json::read_capped(
                headers,
                body,
                limits.max_json_bytes,
                "the JSON body",
                "max_json_bytes",
            )
            .await?;
            limits::parse_operations(&bytes, "the body")
        }
    };
    let batch = tokio::time::timeout(limits.timeout, read)
        .await
        .map_err(|_| BodyError::Timeout(limits.timeout))??;
    if let BatchRequest::Batch(requests) = &batch
        && requests.len() > limits.max_batch
    {
        return Err(BodyError::BatchTooLarge(limits.max_batch));
    }
    Ok(batch)
}
