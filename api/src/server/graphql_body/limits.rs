//! The limits a GraphQL body is read under, why a body is refused (as a GraphQL error with
//! its status), and the pieces both readers share: the declared length, the JSON of the
//! operations.

use std::time::Duration;

use async_graphql::BatchRequest;
use axum::http::{HeaderMap, StatusCode, header};

/// The limits a body is read under.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    /// A JSON body, and the `operations` part of a multipart one.
    pub max_json_bytes: usize,
    /// A whole multipart body.
    pub max_multipart_bytes: usize,
    /// Files in one multipart body.
    pub max_files: usize,
    /// Files in the multipart body of one `importEmployees` mutation (its CSV and photos):
    /// the one exception to `max_files`, for that mutation only.
    pub max_import_files: usize,
    /// One file.
    pub max_file_bytes: usize,
    /// Operations in one batch (a JSON array).
    pub max_batch: usize,
    /// How long the whole body may take to arrive.
    pub timeout: Duration,
}

/// Why a body was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BodyError {
    #[error("{what} is larger than {limit} bytes ({setting})")]
    TooLarge {
        what: &'static str,
        limit: usize,
        setting: &'static str,
    },
    #[error("the request body did not arrive within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Malformed(String),
    #[error(
        "{field}: the file is larger than {:.1} MB; photos may be at most {:.1} MB (max_photo_bytes)",
        *limit as f64 / 1_000_000.0,
        *limit as f64 / 1_000_000.0
    )]
    FileTooLarge { field: String, limit: usize },
    #[error("file uploads (multipart requests) need an admin token")]
    UploadsForbidden,
    #[error(
        "the request uploads more than {0} file(s) (max_upload_files); enrollFace takes one \
         photo, importEmployees alone its CSV and up to {max} photos",
        max = crate::import::MAX_UPLOADED_PHOTOS
    )]
    TooManyFiles(usize),
    #[error("a batch may hold at most {0} operations (max_batch_operations)")]
    BatchTooLarge(usize),
}

impl BodyError {
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge { .. } | Self::FileTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            Self::UploadsForbidden => StatusCode::FORBIDDEN,
            Self::Malformed(_) | Self::TooManyFiles(_) | Self::BatchTooLarge(_) => {
                StatusCode::BAD_REQUEST
            }
        }
    }

    /// The `extensions.code` of the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TooLarge { .. } => "PAYLOAD_TOO_LARGE",
            // The argument at fault is named, as for any other bad argument.
            Self::FileTooLarge { .. } => crate::graphql::error::BAD_USER_INPUT,
            Self::Timeout(_) => "REQUEST_TIMEOUT",
            Self::UploadsForbidden => crate::graphql::error::FORBIDDEN,
            Self::Malformed(_) | Self::TooManyFiles(_) | Self::BatchTooLarge(_) => "BAD_REQUEST",
        }
    }
}

impl axum::response::IntoResponse for BodyError {
    /// A GraphQL error response, with `extensions.field` where an argument is at fault.
    fn into_response(self) -> axum::response::Response {
        let mut extensions = serde_json::json!({ "code": self.code() });
        if let Self::FileTooLarge { field, .. } = &self {
            extensions["field"] = serde_json::Value::String(field.clone());
        }
        let body = serde_json::json!({
            "errors": [{ "message": self.to_string(), "extensions": extensions }],
        });
        (self.status(), axum::Json(body)).into_response()
    }
}

/// The body's length as its `Content-Length` declares it.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// One operation or a batch, from JSON; each must have a query (or a persisted query's hash).
pub fn parse_operations(bytes: &[u8], what: &str) -> Result<BatchRequest, BodyError> {
    let batch = serde_json::from_slice::<BatchRequest>(bytes).map_err(|e| {
        BodyError::Malformed(format!(
            "{what} is not a GraphQL request in JSON ({{\"query\": …, \"variables\": …}}): {e}"
        ))
    })?;
    let requests: &[async_graphql::Request] = match &batch {
        BatchRequest::Single(request) => std::slice::from_ref(request),
        BatchRequest::Batch(requests) => requests,
    };
    if let Some(index) = requests
        .iter()
        .position(|r| r.query.trim().is_empty() && !r.extensions.contains_key("persistedQuery"))
    {
        let which = match &batch {
            BatchRequest::Single(_) => String::new(),
            BatchRequest::Batch(_) => format!(" (operation {index} of the batch)"),
        };
        return Err(BodyError::Malformed(format!(
            "{what} has no query{which}: send {{\"query\": \"{{ … }}\"}}"
        )));
    }
    Ok(batch)
}
