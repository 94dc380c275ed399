//! A GraphQL multipart request (<https://github.com/jaydenseric/graphql-multipart-request-spec>):
//! `operations`, then `map`, then the files the map names; at most `max_upload_files` files of
//! at most `max_photo_bytes` each, held in memory (no temporary file, so no file descriptor,
//! per part). A request that is one `importEmployees` mutation and nothing else may upload
//! its CSV and up to [`crate::import::MAX_UPLOADED_PHOTOS`] photos, within the same
//! `max_request_bytes` in all.

use std::collections::HashMap;

use async_graphql::{BatchRequest, UploadValue};
use axum::{body::Body, http::HeaderMap};

use super::limits::{BodyError, BodyLimits, declared_length, parse_operations};

/// The largest `map` part of a multipart request (room for an `importEmployees` of
/// [`crate::import::MAX_UPLOADED_PHOTOS`] photos: about 40 bytes an entry).
pub const MAX_MAP_BYTES: usize = 16 * 1024;
/// Operation paths one uploaded file may be set at.
pub const MAX_PATHS_PER_FILE: usize = 4;

/// A GraphQL multipart request: `operations`, then `map`, then the files the map names.
pub async fn read_multipart(
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
                let allowed = files_allowed(operations.as_ref(), limits);
                if parsed.len() > allowed {
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
                if files.len() >= files_allowed(operations.as_ref(), limits) {
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

/// Files a request may upload: `max_files`, or `max_import_files` when it is a single
/// operation that is an `importEmployees` mutation and selects nothing else.
fn files_allowed(operations: Option<&BatchRequest>, limits: &BodyLimits) -> usize {
    match operations {
        Some(BatchRequest::Single(request)) if is_import(request) => {
            limits.max_files.max(limits.max_import_files)
        }
        _ => limits.max_files,
    }
}

/// Whether the request's operation is a mutation of `importEmployees` fields only.
fn is_import(request: &async_graphql::Request) -> bool {
    use async_graphql::parser::types::{DocumentOperations, OperationType, Selection};
    let Ok(document) = async_graphql::parser::parse_query(&request.query) else {
        return false;
    };
    let operation = match (&document.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    };
    operation.is_some_and(|op| {
        let items = &op.node.selection_set.node.items;
        op.node.ty == OperationType::Mutation
            && !items.is_empty()
            && items.iter().all(|item| {
                matches!(&item.node, Selection::Field(f) if f.node.name.node == "importEmployees")
            })
    })
}

/// The argument an operation path sets: `variables.photo` → `photo`,
/// `0.variables.photos.2` → `photos`.
pub(super) fn argument_of(path: &str) -> String {
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
