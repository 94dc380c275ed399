//! Who calls: the [`Role`] a token has and the [`Principal`] a request runs as.

/// What a token may do (the `api_tokens.role` column): `admin` (everything), `viewer`
/// (queries and subscriptions), `ingest` (`reportSighting` and camera heartbeats only).
pub use entity::api_token::Role;

/// Who is calling: the token's id (None for the bootstrap token) and role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub token_id: Option<i64>,
    pub role: Role,
}

impl Principal {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_their_names() {
        for role in [Role::Admin, Role::Viewer, Role::Ingest] {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
        assert_eq!(Role::parse("root"), None);
    }
}
