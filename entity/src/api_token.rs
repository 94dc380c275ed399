//! `api_tokens`: bearer tokens, stored as SHA-256 hashes, each with one role.

use std::fmt;

use sea_orm::{Iterable, entity::prelude::*};

/// What a token may do: the `role` column (`VARCHAR(16)`, lower case).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, EnumIter, DeriveActiveEnum)]
#[sea_orm(rs_type = "String", db_type = "String(StringLen::N(16))")]
pub enum Role {
    /// Everything: queries, subscriptions, every mutation.
    #[sea_orm(string_value = "admin")]
    Admin,
    /// Queries and subscriptions.
    #[sea_orm(string_value = "viewer")]
    Viewer,
    /// `reportSighting` and `reportCameraHeartbeat` only (edge devices).
    #[sea_orm(string_value = "ingest")]
    Ingest,
}

impl Role {
    /// The stored value (`admin`, `viewer`, `ingest`), also the name people type.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Viewer => "viewer",
            Role::Ingest => "ingest",
        }
    }

    /// A role named by a person (the CLI, a grant): the stored value in any case, with
    /// surrounding blanks ignored.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        Self::iter().find(|role| role.as_str().eq_ignore_ascii_case(text))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "api_tokens")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the token; the token itself is never stored.
    #[sea_orm(unique)]
    pub token_hash: String,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
    pub revoked_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_stored_under_their_names() {
        crate::check_stored_values(Role::as_str);
        for role in Role::iter() {
            assert_eq!(
                Role::parse(&format!(" {} ", role.as_str().to_uppercase())),
                Some(role)
            );
        }
        assert_eq!(Role::parse("root"), None);
        assert!(Role::try_from_value(&"Admin".to_owned()).is_err());
    }
}
