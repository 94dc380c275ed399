//! GraphQL over HTTP as its specification (<https://graphql.github.io/graphql-over-http/>)
//! asks: the media type of the answer from the client's `Accept` (`application/json` for
//! clients that send none, as the specification's watershed rules say), the request's
//! content type (JSON or, for uploads, multipart; anything else is `415`), and the status and
//! body of an answer: a request error (the document did not parse or validate, variables did
//! not coerce) has no `data` entry and, in `application/graphql-response+json`, status 400.

use async_graphql::{
    BatchResponse, Response as GraphQLResult,
    parser::types::{DocumentOperations, OperationType},
};
use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::Response,
};

/// The specification's media type for GraphQL answers.
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";
/// The legacy media type, still the one of clients that send no `Accept`.
pub const APPLICATION_JSON: &str = "application/json";

/// The media type an answer is sent in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaType {
    /// `application/graphql-response+json`: request errors are 400 without `data`.
    GraphQLResponse,
    /// `application/json`: every GraphQL answer is 200.
    Json,
}

impl MediaType {
    /// The `Content-Type` of the answer.
    pub fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Self::GraphQLResponse => "application/graphql-response+json; charset=utf-8",
            Self::Json => "application/json; charset=utf-8",
        })
    }
}

/// The media type to answer in, from the request's `Accept`; None when the client accepts
/// neither (406).
pub fn negotiate(headers: &HeaderMap) -> Option<MediaType> {
    let accept: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    if accept.iter().all(|v| v.trim().is_empty()) {
        return Some(MediaType::Json);
    }
    // The quality each of the two types gets: its own entry, else the best wildcard.
    let mut graphql: Option<f32> = None;
    let mut json: Option<f32> = None;
    let mut wildcard: Option<f32> = None;
    for range in accept.iter().flat_map(|v| v.split(',')) {
        let mut parts = range.split(';');
        let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        let slot = match essence.as_str() {
            GRAPHQL_RESPONSE_JSON => &mut graphql,
            APPLICATION_JSON => &mut json,
            "*/*" | "application/*" => &mut wildcard,
            _ => continue,
        };
        *slot = Some(slot.map_or(quality, |q: f32| q.max(quality)));
    }
    let json = json.or(wildcard).unwrap_or(0.0);
    let graphql = graphql.unwrap_or(0.0);
    if graphql > 0.0 && graphql >= json {
        Some(MediaType::GraphQLResponse)
    } else if json > 0.0 {
        Some(MediaType::Json)
    } else {
        None
    }
}

/// How a POST body is to be read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyKind {
    /// `application/json` (UTF-8).
    Json,
    /// `multipart/form-data` (a GraphQL multipart request).
    Multipart,
}

/// The kind of a POST body from its `Content-Type`; Err with the reason for a 415.
pub fn body_kind(headers: &HeaderMap) -> Result<BodyKind, String> {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return Err(
            "the request has no Content-Type: send `Content-Type: application/json` \
                    (or multipart/form-data for uploads)"
                .to_owned(),
        );
    };
    let value = value.to_str().unwrap_or_default().trim();
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    match essence.as_str() {
        APPLICATION_JSON => {
            let charset = parts
                .filter_map(|p| p.trim().split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("charset"))
                .map(|(_, v)| v.trim().trim_matches('"').to_ascii_lowercase());
            match charset.as_deref() {
                None | Some("utf-8" | "utf8") => Ok(BodyKind::Json),
                Some(other) => Err(format!(
                    "the body's charset is {other:?}: GraphQL requests are UTF-8 JSON"
                )),
            }
        }
        "multipart/form-data" => Ok(BodyKind::Multipart),
        _ => Err(format!(
            "the Content-Type {value:?} is not supported: send `Content-Type: application/json` \
             (or multipart/form-data for uploads)"
        )),
    }
}

/// The kind of operation a request would run; None when its document does not parse or
/// names no single operation (execution reports why).
pub fn operation_kind(request: &async_graphql::Request) -> Option<OperationType> {
    let document = async_graphql::parser::parse_query(&request.query).ok()?;
    let operation = match (&document.operations, request.operation_name.as_deref()) {
        (DocumentOperations::Single(op), _) => Some(op),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => ops.values().next(),
        (DocumentOperations::Multiple(_), None) => None,
    };
    operation.map(|op| op.node.ty)
}

/// Whether a result is a request error: nothing was executed (no `data`), only errors
/// that belong to no field.
pub fn is_request_error(result: &GraphQLResult) -> bool {
    result.data == async_graphql::Value::Null
        && !result.errors.is_empty()
        && result.errors.iter().all(|e| e.path.is_empty())
}

/// One result as JSON: without `data` when it is a request error.
fn result_json(result: &GraphQLResult) -> serde_json::Value {
    let mut value = serde_json::to_value(result).unwrap_or_else(|error| {
        tracing::error!(%error, "cannot serialise a GraphQL result");
        serde_json::json!({ "errors": [{ "message": "internal server error",
            "extensions": { "code": crate::graphql::error::INTERNAL_SERVER_ERROR } }] })
    });
    if is_request_error(result)
        && let Some(object) = value.as_object_mut()
    {
        object.remove("data");
    }
    value
}

/// The HTTP answer of executed request(s).
pub fn graphql_response(batch: BatchResponse, media: MediaType) -> Response {
    let (status, body, http_headers) = match &batch {
        BatchResponse::Single(result) => {
            let status = if media == MediaType::GraphQLResponse && is_request_error(result) {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            (status, result_json(result), result.http_headers.clone())
        }
        BatchResponse::Batch(results) => (
            StatusCode::OK,
            serde_json::Value::Array(results.iter().map(result_json).collect()),
            HeaderMap::new(),
        ),
    };
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.extend(http_headers);
    headers.insert(header::CONTENT_TYPE, media.content_type());
    response
}

/// An error answer (a refusal, a bad body) in the negotiated media type.
pub fn in_media_type(mut response: Response, media: MediaType) -> Response {
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(APPLICATION_JSON.as_bytes()));
    if is_json {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, media.content_type());
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(value: Option<&str>) -> Option<MediaType> {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(header::ACCEPT, HeaderValue::from_str(value).unwrap());
        }
        negotiate(&headers)
    }

    #[test]
    fn the_answer_is_in_a_type_the_client_accepts() {
        assert_eq!(accept(None), Some(MediaType::Json));
        assert_eq!(accept(Some("application/json")), Some(MediaType::Json));
        assert_eq!(accept(Some("*/*")), Some(MediaType::Json));
        assert_eq!(
            accept(Some("application/graphql-response+json")),
            Some(MediaType::GraphQLResponse)
        );
        // Apollo Client's and urql's defaults.
        assert_eq!(
            accept(Some(
                "application/graphql-response+json,application/json;q=0.9"
            )),
            Some(MediaType::GraphQLResponse)
        );
        assert_eq!(
            accept(Some(
                "application/graphql-response+json, application/graphql+json, application/json, text/event-stream, multipart/mixed"
            )),
            Some(MediaType::GraphQLResponse)
        );
        assert_eq!(
            accept(Some(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(MediaType::Json)
        );
        assert_eq!(accept(Some("text/html")), None);
        assert_eq!(accept(Some("application/json;q=0")), None);
    }

    fn content_type(value: Option<&str>) -> Result<BodyKind, String> {
        let mut headers = HeaderMap::new();
        if let Some(value) = value {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(value).unwrap());
        }
        body_kind(&headers)
    }

    #[test]
    fn only_json_and_multipart_bodies_are_read() {
        assert_eq!(content_type(Some("application/json")), Ok(BodyKind::Json));
        assert_eq!(
            content_type(Some("Application/JSON; charset=UTF-8")),
            Ok(BodyKind::Json)
        );
        assert_eq!(
            content_type(Some("multipart/form-data; boundary=x")),
            Ok(BodyKind::Multipart)
        );
        let none = content_type(None).unwrap_err();
        assert!(none.contains("no Content-Type"), "{none}");
        let text = content_type(Some("text/plain")).unwrap_err();
        assert!(text.contains("\"text/plain\" is not supported"), "{text}");
        let latin = content_type(Some("application/json; charset=latin1")).unwrap_err();
        assert!(latin.contains("\"latin1\""), "{latin}");
    }

    #[test]
    fn request_errors_have_no_data_and_are_400_in_the_new_type() {
        let failed = GraphQLResult::from_errors(vec![async_graphql::ServerError::new("bad", None)]);
        assert!(is_request_error(&failed));
        let response = graphql_response(BatchResponse::Single(failed), MediaType::GraphQLResponse);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            response.headers()[header::CONTENT_TYPE],
            "application/graphql-response+json; charset=utf-8"
        );
        let failed = GraphQLResult::from_errors(vec![async_graphql::ServerError::new("bad", None)]);
        assert_eq!(
            result_json(&failed),
            serde_json::json!({ "errors": [{ "message": "bad" }] })
        );
        let response = graphql_response(BatchResponse::Single(failed), MediaType::Json);
        assert_eq!(response.status(), StatusCode::OK);
        // A field error is not a request error: data stays, 200.
        let mut field_error = async_graphql::ServerError::new("no", None);
        field_error.path = vec![async_graphql::PathSegment::Field("a".into())];
        let partial = GraphQLResult::from_errors(vec![field_error]);
        assert!(!is_request_error(&partial));
        assert_eq!(result_json(&partial)["data"], serde_json::Value::Null);
        assert!(result_json(&partial).get("data").is_some());
    }
}
