//! GraphQL errors: every error carries `extensions.code`.
//!
//! | code | when |
//! |---|---|
//! | `BAD_USER_INPUT` | an argument is wrong (the field at fault is in `extensions.field`) or the request is refused in the current state |
//! | `NOT_FOUND` | the employee, camera, notification or token named does not exist |
//! | `UNAUTHENTICATED` | no token, or an unknown or revoked one |
//! | `FORBIDDEN` | the token's role may not do this |
//! | `GRAPHQL_PARSE_FAILED` | the query is not GraphQL |
//! | `GRAPHQL_VALIDATION_FAILED` | the query does not fit the schema, or is too deep or too complex |
//! | `PERSISTED_QUERY_NOT_FOUND` | a persisted query's hash that names no registered text ([`super::persisted`]) |
//! | `BAD_REQUEST` | the request is not GraphQL: a body that is not JSON, a wrong content type, a persisted query's hash that is not its text's, a mutation over GET |
//! | `INTERNAL_SERVER_ERROR` | a fault of the server (logged; details are not sent) |

use std::sync::Arc;

use async_graphql::{
    ErrorExtensions, ServerError, ServerResult, ValidationResult, Value, Variables,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation},
    parser::types::ExecutableDocument,
};

use crate::{auth::Role, error::AppError};

pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
pub const NOT_FOUND: &str = "NOT_FOUND";
pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
pub const FORBIDDEN: &str = "FORBIDDEN";
pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        let error = self;
        match error {
            AppError::InvalidInput { field, .. } => {
                let field = field.clone();
                async_graphql::Error::new(error.to_string()).extend_with(|_, e| {
                    e.set("code", BAD_USER_INPUT);
                    e.set("field", field.as_str());
                })
            }
            AppError::AlreadyExists { .. } => async_graphql::Error::new(error.to_string())
                .extend_with(|_, e| {
                    e.set("code", BAD_USER_INPUT);
                    e.set("reason", "ALREADY_EXISTS");
                }),
            AppError::Refused(_) => async_graphql::Error::new(error.to_string())
                .extend_with(|_, e| e.set("code", BAD_USER_INPUT)),
            AppError::NotFound { .. } => async_graphql::Error::new(error.to_string())
                .extend_with(|_, e| e.set("code", NOT_FOUND)),
            AppError::Database(db_error) => {
                tracing::error!(error = %db_error, "database error while serving a request");
                async_graphql::Error::new("internal server error")
                    .extend_with(|_, e| e.set("code", INTERNAL_SERVER_ERROR))
            }
        }
    }
}

/// An error for a request without a valid token.
pub fn unauthenticated() -> async_graphql::Error {
    async_graphql::Error::new(
        "authentication required: send a token as `Authorization: Bearer <token>` \
         (over WebSocket: {\"authorization\": \"Bearer <token>\"} in connection_init)",
    )
    .extend_with(|_, e| e.set("code", UNAUTHENTICATED))
}

/// An error for a token whose role may not do what was asked.
pub fn forbidden(role: Role, allowed: &[Role]) -> async_graphql::Error {
    let allowed: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
    async_graphql::Error::new(format!(
        "a {role} token may not do this (allowed: {})",
        allowed.join(", ")
    ))
    .extend_with(|_, e| e.set("code", FORBIDDEN))
}

/// A wrong argument that the service layer does not see (cursors, ids).
pub fn bad_input(field: &str, message: impl Into<String>) -> async_graphql::Error {
    AppError::invalid(field, message).extend()
}

/// Adds `extensions.code` to the errors of parsing and validation.
pub struct ErrorCodes;

impl ExtensionFactory for ErrorCodes {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ErrorCodesExtension)
    }
}

struct ErrorCodesExtension;

fn with_code(mut error: ServerError, code: &str) -> ServerError {
    let extensions = error.extensions.get_or_insert_with(Default::default);
    if extensions.get("code").is_none() {
        extensions.set("code", Value::from(code));
    }
    error
}

#[async_trait::async_trait]
impl Extension for ErrorCodesExtension {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        next.run(ctx, query, variables)
            .await
            .map_err(|e| with_code(e, GRAPHQL_PARSE_FAILED))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| with_code(e, GRAPHQL_VALIDATION_FAILED))
                .collect()
        })
    }
}
