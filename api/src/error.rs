//! The errors of hadir's services, each naming the thing at fault. GraphQL turns them into
//! errors with `extensions.code` (see `graphql::error`).

/// What went wrong in a service call.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The caller's input is wrong; `field` names the input field at fault.
    #[error("{field}: {reason}")]
    InvalidInput { field: String, reason: String },
    /// The thing named does not exist.
    #[error("{kind} {id:?} does not exist")]
    NotFound { kind: &'static str, id: String },
    /// The thing to create exists already.
    #[error("{kind} {id:?} already exists")]
    AlreadyExists { kind: &'static str, id: String },
    /// The request is refused in the current state of things.
    #[error("{0}")]
    Refused(String),
    #[error("database error: {0}")]
    Database(#[from] sea_orm::DbErr),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    pub fn not_found(kind: &'static str, id: impl Into<String>) -> Self {
        Self::NotFound {
            kind,
            id: id.into(),
        }
    }
}

pub type AppResult<T> = Result<T, AppError>;
