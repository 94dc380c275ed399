//! The text of tokens: making one, its stored form (SHA-256), and finding it in an
//! `Authorization` value.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of every token hadir makes, so that leaked tokens are easy to recognise.
pub const TOKEN_PREFIX: &str = "hdr_";
/// Random bytes in a token.
pub const TOKEN_BYTES: usize = 32;

/// A new random token.
pub fn generate_token() -> String {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// The SHA-256 of a token (surrounding blanks ignored): the key it is remembered under.
pub(super) fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> String {
    hex::encode(token_digest(token))
}

/// The token in an `Authorization` value: `Bearer TOKEN` (or the bare token).
pub fn token_from_authorization(value: &str) -> Option<&str> {
    let value = value.trim();
    let token = match value.split_once(' ') {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
        Some(_) => return None,
        None if value.eq_ignore_ascii_case("bearer") => return None,
        None => value,
    };
    Some(token).filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hash_stably() {
        let a = generate_token();
        let b = generate_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 2 * TOKEN_BYTES);
        assert_eq!(hash_token(&a), hash_token(&format!(" {a} ")));
        assert_ne!(hash_token(&a), hash_token(&b));
        assert_eq!(hash_token(&a).len(), 64);
    }

    #[test]
    fn authorization_values_yield_their_token() {
        assert_eq!(token_from_authorization("Bearer abc"), Some("abc"));
        assert_eq!(token_from_authorization("bearer   abc "), Some("abc"));
        assert_eq!(token_from_authorization("abc"), Some("abc"));
        assert_eq!(token_from_authorization("Basic abc"), None);
        assert_eq!(token_from_authorization("Bearer "), None);
        assert_eq!(token_from_authorization(""), None);
    }
}
