//! Bearer tokens and roles (the guard that GraphQL resolvers use is `graphql::guard`).
//!
//! Tokens are random (`hdr_` + 64 hex digits) and stored as their SHA-256; the token itself is
//! shown once, when it is created. Roles: `admin` (everything), `viewer` (queries and
//! subscriptions), `ingest` (`reportSighting` and camera heartbeats only).
//!
//! A token that was just found valid is remembered for [`AUTH_CACHE_TTL`], so that a crowd of
//! clients connecting at once (after a restart, every dashboard reconnects, each checking its
//! token at `connection_init` and again at its first `subscribe`) does not read the database
//! for each check (checks of one token that arrive while it is being read wait for that
//! read, and tokens waiting to be read are read together, [`AUTH_READ_BATCH`] a query); a
//! revocation, here or seen from another process, forgets the token at
//! once. `last_used_at` is written for many tokens in one statement every
//! [`LAST_USED_FLUSH_INTERVAL`], not by the request that used the token.
//!
//! # Layout
//! - `principal.rs`: [`Role`] and [`Principal`], who a request runs as.
//! - `token.rs`: the text of tokens: making one, hashing it, reading `Authorization`.
//! - `store.rs`: [`TokenStore`]: checking, creating, listing and revoking tokens.
//! - `cache.rs`: tokens recently found valid, and the lookups under way.
//! - `reader.rs`: the batched database reads of tokens.
//! - `last_used.rs`: `last_used_at`, gathered and written in batches.
//! - `revocation.rs`: the watch for tokens revoked by other processes.
//! - `first_admin.rs`: the admin token made on a first start.
//!
//! Every item is re-exported here; the files import each other directly, never through
//! this module.

mod cache;
mod first_admin;
mod last_used;
mod principal;
mod reader;
mod revocation;
mod store;
mod token;

#[cfg(test)]
mod tests;

pub use cache::{AUTH_CACHE_CAPACITY, AUTH_CACHE_TTL};
pub use first_admin::{BOOTSTRAP_TOKEN_NAME, FIRST_START_TOKEN_NAME};
pub use last_used::{LAST_USED_BATCH, LAST_USED_FLUSH_INTERVAL, LAST_USED_RESOLUTION};
pub use principal::{Principal, Role};
pub use reader::{AUTH_READ_BATCH, AUTH_READERS};
pub use revocation::{
    CLUSTER_REVOCATION_POLL_INTERVAL, REVOCATION_POLL_INTERVAL, REVOCATION_QUEUE,
};
pub use store::{CreatedToken, MAX_TOKEN_NAME_CHARS, TokenStore};
pub use token::{TOKEN_BYTES, TOKEN_PREFIX, generate_token, hash_token, token_from_authorization};
