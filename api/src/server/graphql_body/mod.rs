//! Reading the body of `POST /graphql`, only once the caller has authenticated: JSON within
//! a small limit, or — for admin tokens only — a GraphQL multipart request
//! (<https://github.com/jaydenseric/graphql-multipart-request-spec>) with at most
//! `max_upload_files` files of at most `max_photo_bytes` each, held in memory (no temporary
//! file, so no file descriptor, per part). The whole body must arrive within a timeout.

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
