//! A JSON body, read whole and refused as soon as it (or its `Content-Length`) passes its
//! limit.

use axum::body::Body;
use axum::http::HeaderMap;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use super::limits::{BodyError, declared_length};

/// The whole body, refused as soon as it (or its `Content-Length`) passes `limit`.
pub async fn read_capped(
    headers: &HeaderMap,
    body: Body,
    limit: usize,
    what: &'static str,
    setting: &'static str,
) -> Result<Bytes, BodyError> {
    let too_large = BodyError::TooLarge {
        what,
        limit,
        setting,
    };
    let declared = declared_length(headers);
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large);
    }
    let capacity = declared.map_or(1024, |n| n as usize).min(limit);
    let mut buffer = BytesMut::with_capacity(capacity);
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| body_error(&e))?;
        if buffer.len() + chunk.len() > limit {
            return Err(too_large);
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(buffer.freeze())
}

/// A failed body read, which the global request limit can also cause.
fn body_error(error: &axum::Error) -> BodyError {
    use std::error::Error as _;
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return BodyError::TooLarge {
                what: "the request",
                limit: 0,
                setting: "max_request_bytes",
            };
        }
        source = cause.source();
    }
    BodyError::Malformed(format!("the request body could not be read: {error}"))
}
