//! Automatic persisted queries, as Apollo Client and urql send them
//! (`extensions.persistedQuery = {"version": 1, "sha256Hash": …}`): a hash alone runs the
//! query registered under it, or fails with `PersistedQueryNotFound`
//! (`PERSISTED_QUERY_NOT_FOUND`), after which the client sends the hash with the text; the
//! text is registered once its SHA-256 is the hash. The registry is bounded: at most
//! [`MAX_PERSISTED_QUERIES`] texts of at most [`MAX_PERSISTED_BYTES`] together, the least
//! recently used forgotten first.
//!
//! Not async-graphql's `ApolloPersistedQueries`: that extension runs inside execution and
//! hands on a parsed document with an empty text, so hadir's own measure of a query's cost
//! (on its text, before async-graphql's checks) and the GET route's mutation check (before
//! execution) would see nothing; it bounds its cache by count only and sets no error code.

use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
};

use async_graphql::{
    Request, ServerError, ServerResult, Value,
    extensions::{Extension, ExtensionContext, ExtensionFactory, NextPrepareRequest},
};
use sha2::{Digest, Sha256};

/// Query texts kept.
pub const MAX_PERSISTED_QUERIES: usize = 1024;
/// Bytes of query text kept, all together (a longer text runs, but is not kept).
pub const MAX_PERSISTED_BYTES: usize = 8 * 1024 * 1024;

/// `extensions.code` of a hash that names no registered query (Apollo's).
pub const PERSISTED_QUERY_NOT_FOUND: &str = "PERSISTED_QUERY_NOT_FOUND";
/// `extensions.code` of a malformed `persistedQuery` or a hash that is not the text's.
pub const BAD_REQUEST: &str = "BAD_REQUEST";

/// The registry of persisted queries, shared by every request of a schema.
#[derive(Clone)]
pub struct PersistedQueries {
    store: Arc<Mutex<Lru>>,
}

impl PersistedQueries {
    /// A registry of at most `capacity` texts of at most `max_bytes` together.
    pub fn new(capacity: usize, max_bytes: usize) -> Self {
        Self {
            store: Arc::new(Mutex::new(Lru {
                capacity: capacity.max(1),
                max_bytes,
                bytes: 0,
                texts: HashMap::new(),
                order: VecDeque::new(),
            })),
        }
    }

    /// The request with its query text: the one registered under its hash, or its own
    /// (registered). Requests without `persistedQuery` pass unchanged.
    pub fn resolve(&self, mut request: Request) -> Result<Request, ServerError> {
        let Some(extension) = request.extensions.remove("persistedQuery") else {
            return Ok(request);
        };
        let hash = persisted_hash(&extension)?;
        if request.query.is_empty() {
            let found = self.lock().get(&hash);
            return match found {
                Some(text) => {
                    request.query = text;
                    Ok(request)
                }
                None => Err(error("PersistedQueryNotFound", PERSISTED_QUERY_NOT_FOUND)),
            };
        }
        let actual = hex::encode(Sha256::digest(request.query.as_bytes()));
        if actual != hash {
            return Err(error(
                "provided sha does not match query: extensions.persistedQuery.sha256Hash must be \
                 the SHA-256 of the query text, in hex",
                BAD_REQUEST,
            ));
        }
        self.lock().put(hash, request.query.clone());
        Ok(request)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Lru> {
        // A panic while holding it cannot leave the map inconsistent for readers.
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Texts held now.
    pub fn len(&self) -> usize {
        self.lock().texts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The hash of a `persistedQuery` extension (version 1, a 64-digit hex SHA-256).
fn persisted_hash(extension: &Value) -> Result<String, ServerError> {
    let malformed = || {
        error(
            "extensions.persistedQuery must be {\"version\": 1, \"sha256Hash\": \"<64 hex \
             digits>\"}",
            BAD_REQUEST,
        )
    };
    let Value::Object(fields) = extension else {
        return Err(malformed());
    };
    match fields.get("version") {
        Some(Value::Number(n)) if n.as_i64() == Some(1) => {}
        _ => return Err(malformed()),
    }
    match fields.get("sha256Hash") {
        Some(Value::String(hash))
            if hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()) =>
        {
            Ok(hash.to_ascii_lowercase())
        }
        _ => Err(malformed()),
    }
}

fn error(message: &str, code: &str) -> ServerError {
    let mut error = ServerError::new(message, None);
    error
        .extensions
        .get_or_insert_with(Default::default)
        .set("code", Value::from(code));
    error
}

/// Hash → text, the least recently used first out.
struct Lru {
    capacity: usize,
    max_bytes: usize,
    /// Bytes of the texts held.
    bytes: usize,
    texts: HashMap<String, String>,
    /// Hashes, least recently used first.
    order: VecDeque<String>,
}

impl Lru {
    fn get(&mut self, hash: &str) -> Option<String> {
        let text = self.texts.get(hash)?.clone();
        self.touch(hash);
        Some(text)
    }

    fn put(&mut self, hash: String, text: String) {
        if self.texts.contains_key(&hash) {
            self.touch(&hash);
            return;
        }
        if text.len() > self.max_bytes {
            return;
        }
        self.bytes += text.len();
        self.texts.insert(hash.clone(), text);
        self.order.push_back(hash);
        while self.texts.len() > self.capacity || self.bytes > self.max_bytes {
            let Some(oldest) = self.order.pop_front() else {
                break;
            };
            if let Some(text) = self.texts.remove(&oldest) {
                self.bytes -= text.len();
            }
        }
    }

    fn touch(&mut self, hash: &str) {
        if let Some(at) = self.order.iter().position(|h| h == hash)
            && let Some(h) = self.order.remove(at)
        {
            self.order.push_back(h);
        }
    }
}

impl ExtensionFactory for PersistedQueries {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(self.clone())
    }
}

#[async_trait::async_trait]
impl Extension for PersistedQueries {
    async fn prepare_request(
        &self,
        ctx: &ExtensionContext<'_>,
        request: Request,
        next: NextPrepareRequest<'_>,
    ) -> ServerResult<Request> {
        let request = self.resolve(request)?;
        next.run(ctx, request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashed(query: &str, hash: &str) -> Request {
        let mut request = Request::new(query);
        request.extensions.insert(
            "persistedQuery".into(),
            Value::from_json(serde_json::json!({ "version": 1, "sha256Hash": hash })).unwrap(),
        );
        request
    }

    fn code(error: &ServerError) -> Option<Value> {
        error
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .cloned()
    }

    #[test]
    fn a_hash_is_found_once_its_text_was_sent() {
        let queries = PersistedQueries::new(2, 1024);
        let text = "{ serverTime }";
        let hash = hex::encode(Sha256::digest(text));
        let miss = queries.resolve(hashed("", &hash)).unwrap_err();
        assert_eq!(miss.message, "PersistedQueryNotFound");
        assert_eq!(code(&miss), Some(Value::from(PERSISTED_QUERY_NOT_FOUND)));
        assert_eq!(queries.resolve(hashed(text, &hash)).unwrap().query, text);
        assert_eq!(queries.resolve(hashed("", &hash)).unwrap().query, text);
        // Upper-case hex names the same query.
        assert_eq!(
            queries
                .resolve(hashed("", &hash.to_ascii_uppercase()))
                .unwrap()
                .query,
            text
        );
        let wrong = queries
            .resolve(hashed("{ me { role } }", &hash))
            .unwrap_err();
        assert!(wrong.message.starts_with("provided sha does not match"));
        assert_eq!(code(&wrong), Some(Value::from(BAD_REQUEST)));
        let malformed = queries.resolve(hashed("", "abc")).unwrap_err();
        assert!(malformed.message.contains("64 hex digits"), "{malformed:?}");
        // Without the extension, nothing changes.
        assert_eq!(
            queries.resolve(Request::new("{ a }")).unwrap().query,
            "{ a }"
        );
    }

    #[test]
    fn the_registry_is_bounded() {
        let queries = PersistedQueries::new(2, 1024);
        let hashes: Vec<String> = ["{ a }", "{ b }", "{ c }"]
            .iter()
            .map(|text| {
                let hash = hex::encode(Sha256::digest(text));
                queries.resolve(hashed(text, &hash)).unwrap();
                hash
            })
            .collect();
        assert_eq!(queries.len(), 2);
        assert!(queries.resolve(hashed("", &hashes[0])).is_err());
        assert!(queries.resolve(hashed("", &hashes[2])).is_ok());
        // And by bytes: a text over the whole budget runs but is not kept.
        let small = PersistedQueries::new(10, 12);
        let long = "{ abcdefghijklmnop }";
        let hash = hex::encode(Sha256::digest(long));
        assert_eq!(small.resolve(hashed(long, &hash)).unwrap().query, long);
        assert!(small.is_empty());
        for text in ["{ a }", "{ b }", "{ c }"] {
            small
                .resolve(hashed(text, &hex::encode(Sha256::digest(text))))
                .unwrap();
        }
        assert_eq!(small.len(), 2, "5 + 5 bytes fit in 12, 15 do not");
    }
}
