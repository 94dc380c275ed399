//! Reading the body of `POST /graphql`, only once the caller has authenticated: JSON within
//! a small limit, or — for admin tokens only — a GraphQL multipart request
//! (<https://github.com/jaydenseric/graphql-multipart-request-spec>) with at most
//! `max_upload_files` files of at most `max_photo_bytes` each, held in memory (no temporary
//! file, so no file descriptor, per part). The whole body must arrive within a timeout.

use std::{collections::HashMap, time::Duration};

use async_graphql::{BatchRequest, UploadValue};
use axum::{
    body::Body,
    http::{HeaderMap, StatusCode, header},
};
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;

use crate::auth::Role;

/// The largest `map` part of a multipart request.
pub const MAX_MAP_BYTES: usize = 4 * 1024;
/// Operation paths one uploaded file may be set at.
pub const MAX_PATHS_PER_FILE: usize = 4;

/// The limits a body is read under.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimits {
    /// A JSON body, and the `operations` part of a multipart one.
    pub max_json_bytes: usize,
    /// A whole multipart body.
    pub max_multipart_bytes: usize,
    /// Files in one multipart body.
    pub max_files: usize,
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
        "the request uploads more than {0} file(s) (max_upload_files); enrollFace takes one photo"
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
            "data": null,
            "errors": [{ "message": self.to_string(), "extensions": extensions }],
        });
        (self.status(), axum::Json(body)).into_response()
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
            read_multipart(content_type, headers, body, limits).await
        } else {
            let bytes = read_capped(
                headers,
                body,
                limits.max_json_bytes,
                "the JSON body",
                "max_json_bytes",
            )
            .await?;
            parse_operations(&bytes, "the body")
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

/// The body's length as its `Content-Length` declares it.
fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
}

/// The whole body, refused as soon as it (or its `Content-Length`) passes `limit`.
async fn read_capped(
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

/// One operation or a batch, from JSON.
fn parse_operations(bytes: &[u8], what: &str) -> Result<BatchRequest, BodyError> {
    serde_json::from_slice::<BatchRequest>(bytes).map_err(|e| {
        BodyError::Malformed(format!(
            "{what} is not a GraphQL request in JSON ({{\"query\": …, \"variables\": …}}): {e}"
        ))
    })
}

/// A GraphQL multipart request: `operations`, then `map`, then the files the map names.
async fn read_multipart(
    content_type: &str,
    headers: &HeaderMap,
    body: Body,
    limits: &BodyLimits,
) -> Result<BatchRequest, BodyError> {
    let declared = declared_length(headers);
    let too_large = BodyError::TooLarge {
        what: "the upload",
        limit: limits.max_multipart_bytes,
        setting: "max_request_bytes",
    };
    if declared.is_some_and(|n| n > limits.max_multipart_bytes as u64) {
        return Err(too_large);
    }
    let boundary = multer::parse_boundary(content_type).map_err(|e| {
        BodyError::Malformed(format!("the multipart content type has no boundary: {e}"))
    })?;
    let constraints = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limits.max_multipart_bytes as u64)
            .per_field(limits.max_file_bytes as u64)
            .for_field("operations", limits.max_json_bytes as u64)
            .for_field("map", MAX_MAP_BYTES as u64),
    );
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut operations: Option<BatchRequest> = None;
    let mut map: Option<HashMap<String, Vec<String>>> = None;
    let mut files: Vec<(String, UploadValue)> = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| multipart_error(e, limits))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "operations" if operations.is_none() => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| multipart_error(e, limits))?;
                operations = Some(parse_operations(&bytes, "the operations part")?);
            }
            "map" if operations.is_some() && map.is_none() => {
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| multipart_error(e, limits))?;
                let parsed: HashMap<String, Vec<String>> = serde_json::from_slice(&bytes)
                    .map_err(|e| {
                        BodyError::Malformed(format!(
                            "the map part is not a JSON object of file names to operation paths: {e}"
                        ))
                    })?;
                if parsed.len() > limits.max_files {
                    return Err(BodyError::TooManyFiles(limits.max_files));
                }
                if let Some((file, paths)) = parsed
                    .iter()
                    .find(|(_, p)| p.is_empty() || p.len() > MAX_PATHS_PER_FILE)
                {
                    return Err(BodyError::Malformed(format!(
                        "the map sets file {file:?} at {} operation paths; each file goes to 1 to \
                         {MAX_PATHS_PER_FILE}",
                        paths.len()
                    )));
                }
                map = Some(parsed);
            }
            _ if map.as_ref().is_some_and(|m| m.contains_key(&name))
                && !files.iter().any(|(n, _)| *n == name) =>
            {
                if files.len() >= limits.max_files {
                    return Err(BodyError::TooManyFiles(limits.max_files));
                }
                let filename = field.file_name().unwrap_or_default().to_owned();
                let content_type = field.content_type().map(ToString::to_string);
                let argument = map
                    .as_ref()
                    .and_then(|m| m.get(&name))
                    .and_then(|paths| paths.first())
                    .map(|path| argument_of(path))
                    .unwrap_or_else(|| name.clone());
                let content = field.bytes().await.map_err(|e| match e {
                    multer::Error::FieldSizeExceeded { .. } => BodyError::FileTooLarge {
                        field: argument,
                        limit: limits.max_file_bytes,
                    },
                    other => multipart_error(other, limits),
                })?;
                files.push((
                    name,
                    UploadValue {
                        filename,
                        content_type,
                        content,
                    },
                ));
            }
            _ => {
                let expected = if operations.is_none() {
                    "operations"
                } else if map.is_none() {
                    "map"
                } else {
                    "a file the map names, once"
                };
                return Err(BodyError::Malformed(format!(
                    "unexpected multipart part {name:?}: expected {expected} (the GraphQL \
                     multipart request order is operations, map, then the files)"
                )));
            }
        }
    }
    let mut operations = operations
        .ok_or_else(|| BodyError::Malformed("the multipart request has no operations".into()))?;
    let mut map =
        map.ok_or_else(|| BodyError::Malformed("the multipart request has no map".into()))?;
    for (name, upload) in files {
        let paths = map.remove(&name).unwrap_or_default();
        for path in paths {
            // In memory: a clone shares the bytes and cannot fail.
            let upload = upload
                .try_clone()
                .map_err(|e| BodyError::Malformed(format!("the upload cannot be read: {e}")))?;
            match &mut operations {
                BatchRequest::Single(request) => request.set_upload(&path, upload),
                BatchRequest::Batch(requests) => {
                    let (index, rest) = path.split_once('.').unwrap_or((path.as_str(), ""));
                    match index
                        .parse::<usize>()
                        .ok()
                        .and_then(|i| requests.get_mut(i))
                    {
                        Some(request) => request.set_upload(rest, upload),
                        None => {
                            return Err(BodyError::Malformed(format!(
                                "the map path {path:?} names no operation of the batch"
                            )));
                        }
                    }
                }
            }
        }
    }
    if let Some(missing) = map.keys().next() {
        return Err(BodyError::Malformed(format!(
            "the map names file {missing:?}, which the request does not hold"
        )));
    }
    Ok(operations)
}

/// The argument an operation path sets: `variables.photo` → `photo`,
/// `0.variables.photos.2` → `photos`.
fn argument_of(path: &str) -> String {
    path.rsplit('.')
        .find(|segment| segment.parse::<usize>().is_err() && *segment != "variables")
        .unwrap_or(path)
        .to_owned()
}

fn multipart_error(error: multer::Error, limits: &BodyLimits) -> BodyError {
    match error {
        multer::Error::FieldSizeExceeded { field_name, .. } => match field_name.as_deref() {
            Some("operations") => BodyError::TooLarge {
                what: "the operations part",
                limit: limits.max_json_bytes,
                setting: "max_json_bytes",
            },
            Some("map") => BodyError::TooLarge {
                what: "the map part",
                limit: MAX_MAP_BYTES,
                setting: "a fixed limit",
            },
            _ => BodyError::TooLarge {
                what: "an uploaded file",
                limit: limits.max_file_bytes,
                setting: "max_photo_bytes",
            },
        },
        multer::Error::StreamSizeExceeded { .. } => BodyError::TooLarge {
            what: "the upload",
            limit: limits.max_multipart_bytes,
            setting: "max_request_bytes",
        },
        other => BodyError::Malformed(format!("the multipart body is malformed: {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> BodyLimits {
        BodyLimits {
            max_json_bytes: 1024,
            max_multipart_bytes: 64 * 1024,
            max_files: 1,
            max_file_bytes: 16 * 1024,
            max_batch: 3,
            timeout: Duration::from_secs(5),
        }
    }

    fn multipart_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            "multipart/form-data; boundary=X".parse().unwrap(),
        );
        headers
    }

    fn part(name: &str, filename: Option<&str>, body: &str) -> String {
        let filename = filename
            .map(|f| format!("; filename=\"{f}\""))
            .unwrap_or_default();
        format!(
            "--X\r\nContent-Disposition: form-data; name=\"{name}\"{filename}\r\n\r\n{body}\r\n"
        )
    }

    const OPERATIONS: &str = r#"{"query":"mutation($p: Upload!) { enrollFace(employeeId: \"E1\", photo: $p) { employeeId } }","variables":{"p":null}}"#;

    async fn read_multipart_body(body: String, role: Role) -> Result<BatchRequest, BodyError> {
        read(&multipart_headers(), Body::from(body), role, &limits()).await
    }

    #[tokio::test]
    async fn json_bodies_are_capped_and_explained() {
        let ok = read(
            &HeaderMap::new(),
            Body::from(r#"{"query":"{ a }"}"#),
            Role::Viewer,
            &limits(),
        )
        .await;
        assert!(matches!(ok, Ok(BatchRequest::Single(_))));
        let big = format!(r#"{{"query":"{{ {} }}"}}"#, "a ".repeat(1000));
        let error = read(&HeaderMap::new(), Body::from(big), Role::Admin, &limits())
            .await
            .unwrap_err();
        assert_eq!(error.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert!(error.to_string().contains("max_json_bytes"), "{error}");
        let error = read(
            &HeaderMap::new(),
            Body::from("{\"query\": "),
            Role::Admin,
            &limits(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&error, BodyError::Malformed(m) if m.contains("not a GraphQL request in JSON")),
            "{error}"
        );
        let batch = format!("[{}]", [r#"{"query":"{ a }"}"#; 4].join(","));
        let error = read(&HeaderMap::new(), Body::from(batch), Role::Admin, &limits())
            .await
            .unwrap_err();
        assert_eq!(error, BodyError::BatchTooLarge(3));
    }

    #[tokio::test]
    async fn one_upload_reaches_the_operation() {
        let body = format!(
            "{}{}{}--X--\r\n",
            part("operations", None, OPERATIONS),
            part("map", None, r#"{"0":["variables.p"]}"#),
            part("0", Some("a.jpg"), "JPEGBYTES"),
        );
        let Ok(BatchRequest::Single(request)) = read_multipart_body(body, Role::Admin).await else {
            panic!("one operation expected")
        };
        assert_eq!(request.uploads.len(), 1);
        assert_eq!(&request.uploads[0].content[..], b"JPEGBYTES");
    }

    #[tokio::test]
    async fn uploads_are_for_admins_and_capped() {
        let body = format!(
            "{}{}{}--X--\r\n",
            part("operations", None, OPERATIONS),
            part("map", None, r#"{"0":["variables.p"]}"#),
            part("0", Some("a.jpg"), "x"),
        );
        assert_eq!(
            read_multipart_body(body, Role::Viewer).await.unwrap_err(),
            BodyError::UploadsForbidden
        );
        // Two files where one is allowed: refused at the map, before any file is read.
        let body = format!(
            "{}{}{}{}--X--\r\n",
            part("operations", None, OPERATIONS),
            part("map", None, r#"{"0":["variables.p"],"1":["variables.p"]}"#),
            part("0", Some("a.jpg"), "x"),
            part("1", Some("b.jpg"), "y"),
        );
        assert_eq!(
            read_multipart_body(body, Role::Admin).await.unwrap_err(),
            BodyError::TooManyFiles(1)
        );
        // Hundreds of parts nobody asked for: refused at the first.
        let mut body = format!(
            "{}{}",
            part("operations", None, OPERATIONS),
            part("map", None, r#"{"0":["variables.p"]}"#),
        );
        for i in 0..500 {
            body.push_str(&part(&format!("f{i}"), Some("f"), "z"));
        }
        let error = read_multipart_body(body, Role::Admin).await.unwrap_err();
        assert!(
            matches!(&error, BodyError::Malformed(m) if m.contains("unexpected multipart part \"f0\"")),
            "{error}"
        );
        // A file over the limit.
        let body = format!(
            "{}{}{}--X--\r\n",
            part("operations", None, OPERATIONS),
            part("map", None, r#"{"0":["variables.p"]}"#),
            part("0", Some("a.jpg"), &"x".repeat(20 * 1024)),
        );
        let error = read_multipart_body(body, Role::Admin).await.unwrap_err();
        assert_eq!(
            error,
            BodyError::FileTooLarge {
                field: "p".into(),
                limit: 16 * 1024
            }
        );
        assert!(
            error.to_string().starts_with("p: the file is larger"),
            "{error}"
        );
        assert_eq!(argument_of("0.variables.photos.2"), "photos");
        // A map naming a file that never comes, and parts out of order.
        let body = format!(
            "{}{}--X--\r\n",
            part("operations", None, OPERATIONS),
            part("map", None, r#"{"0":["variables.p"]}"#),
        );
        let error = read_multipart_body(body, Role::Admin).await.unwrap_err();
        assert!(
            matches!(&error, BodyError::Malformed(m) if m.contains("does not hold")),
            "{error}"
        );
        let body = format!(
            "{}{}--X--\r\n",
            part("map", None, r#"{"0":["variables.p"]}"#),
            part("operations", None, OPERATIONS),
        );
        let error = read_multipart_body(body, Role::Admin).await.unwrap_err();
        assert!(
            matches!(&error, BodyError::Malformed(m) if m.contains("expected operations")),
            "{error}"
        );
    }
}
