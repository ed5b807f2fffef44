//! Apollo automatic persisted queries and the parsed-document cache (SPEC section 9).
//!
//! A request with `extensions.persistedQuery { version: 1, sha256Hash }` and no query is
//! answered from the document stored under that hash, or PERSISTED_QUERY_NOT_FOUND (message
//! `PersistedQueryNotFound`, which Apollo's PersistedQueryLink recognises and retries with
//! the document); with a query, the hash must be the query's SHA-256 and the document is
//! stored. Every document, persisted or not, is kept parsed under its hash (least recently
//! used out first), so a repeated query is not parsed again, and remembers which of its
//! operations passed async-graphql's full validation: those run on the schema that skips
//! it (`AppState::schema_for`). That is sound because validation depends on the request
//! only through the variables' values, and those are checked on every request before
//! anything runs (`graphql::inputs`); nor does it depend on the caller.
//! Per replica, in memory: a replica that does not know a hash asks for the document once.

use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::ExecutableDocument;
use async_graphql::{Request, ServerError, Value};
use sha2::{Digest, Sha256};

/// Documents kept parsed.
const CAPACITY: usize = 2048;
/// Longer documents are parsed every time rather than kept.
const LARGEST_KEPT: usize = 64 * 1024;

#[derive(Debug)]
pub struct Documents {
    parsed: Mutex<lru::LruCache<[u8; 32], Arc<Kept>>>,
}

/// A document kept by hash.
#[derive(Debug)]
pub struct Kept {
    query: String,
    document: ExecutableDocument,
    /// The operations (by `operationName` as requested) that passed full validation.
    validated: Mutex<Vec<Option<String>>>,
}

impl Kept {
    fn new(query: String, document: ExecutableDocument) -> Self {
        Self { query, document, validated: Mutex::default() }
    }

    pub fn validated(&self, operation_name: Option<&str>) -> bool {
        self.operations().iter().any(|name| name.as_deref() == operation_name)
    }

    /// Remembers that `operation_name` passed full validation (a document has few
    /// operations; the list is capped so a client cycling names cannot grow it).
    pub fn passed(&self, operation_name: Option<&str>) {
        let mut operations = self.operations();
        if operations.len() < 16 && !operations.iter().any(|name| name.as_deref() == operation_name) {
            operations.push(operation_name.map(str::to_owned));
        }
    }

    fn operations(&self) -> std::sync::MutexGuard<'_, Vec<Option<String>>> {
        self.validated.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Default for Documents {
    fn default() -> Self {
        let capacity = NonZeroUsize::new(CAPACITY).unwrap_or(NonZeroUsize::MIN);
        Self { parsed: Mutex::new(lru::LruCache::new(capacity)) }
    }
}

impl Documents {
    /// Gives `request` its document: from the cache by hash (a persisted query without a
    /// document, or a document seen before), else parsed now and kept; the kept entry, if
    /// any. An error of the request as a whole when a persisted query cannot be served.
    pub fn prepare(&self, request: &mut Request) -> Result<Option<Arc<Kept>>, ServerError> {
        let persisted = persisted_hash(request)?;
        if request.query.is_empty() {
            let Some(hash) = persisted else { return Ok(None) };
            let kept = self.get(&hash).ok_or_else(|| {
                request_error("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", "extensions.persistedQuery")
            })?;
            request.query = kept.query.clone();
            request.set_parsed_query(kept.document.clone());
            return Ok(Some(kept));
        }
        let hash: [u8; 32] = Sha256::digest(request.query.as_bytes()).into();
        if persisted.is_some_and(|persisted| persisted != hash) {
            return Err(request_error(
                "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query",
                "BAD_REQUEST",
                "extensions.persistedQuery.sha256Hash",
            ));
        }
        if let Some(kept) = self.get(&hash) {
            request.set_parsed_query(kept.document.clone());
            return Ok(Some(kept));
        }
        // A document that does not parse is left to the executor, which reports why.
        if request.query.len() <= LARGEST_KEPT
            && let Ok(document) = request.parsed_query().cloned()
        {
            let kept = Arc::new(Kept::new(request.query.clone(), document));
            self.lock().put(hash, kept.clone());
            return Ok(Some(kept));
        }
        Ok(None)
    }

    fn get(&self, hash: &[u8; 32]) -> Option<Arc<Kept>> {
        self.lock().get(hash).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, lru::LruCache<[u8; 32], Arc<Kept>>> {
        self.parsed.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The hash of `extensions.persistedQuery`, when the request has one.
fn persisted_hash(request: &Request) -> Result<Option<[u8; 32]>, ServerError> {
    let Some(persisted) = request.extensions.get("persistedQuery") else { return Ok(None) };
    let field = "extensions.persistedQuery";
    let Value::Object(persisted) = persisted else {
        return Err(request_error("extensions.persistedQuery must be an object", "BAD_REQUEST", field));
    };
    match persisted.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        _ => return Err(request_error("only persisted query version 1 is supported", "BAD_REQUEST", field)),
    }
    let hash = match persisted.get("sha256Hash") {
        Some(Value::String(hex)) => decode_hex(hex),
        _ => None,
    };
    hash.map(Some).ok_or_else(|| {
        request_error("sha256Hash must be 64 hexadecimal digits", "BAD_REQUEST", "extensions.persistedQuery.sha256Hash")
    })
}

fn decode_hex(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

fn request_error(message: &str, code: &str, field: &str) -> ServerError {
    let mut err = ServerError::new(message, None);
    let ext = err.extensions.get_or_insert_with(Default::default);
    ext.set("code", code);
    ext.set("field", field);
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashed(hash: &str, query: &str) -> Request {
        let mut request = Request::new(query);
        let persisted = serde_json::json!({ "version": 1, "sha256Hash": hash });
        request.extensions.insert("persistedQuery".into(), Value::from_json(persisted).expect("a value"));
        request
    }

    fn code(err: &ServerError) -> String {
        err.extensions.as_ref().and_then(|e| e.get("code")).map(|c| c.to_string()).unwrap_or_default()
    }

    #[test]
    fn an_unknown_hash_asks_for_the_document_once() {
        let documents = Documents::default();
        let query = "{ __typename }";
        let hash = hex_of(query);
        let missing = documents.prepare(&mut hashed(&hash, "")).expect_err("not stored yet");
        assert_eq!(
            (missing.message.as_str(), code(&missing)),
            ("PersistedQueryNotFound", "\"PERSISTED_QUERY_NOT_FOUND\"".into())
        );
        documents.prepare(&mut hashed(&hash, query)).expect("stored");
        let mut by_hash = hashed(&hash, "");
        documents.prepare(&mut by_hash).expect("served from the store");
        assert_eq!(by_hash.query, query);
        let wrong = documents.prepare(&mut hashed(&hash, "{ me { id } }")).expect_err("hash of another query");
        assert_eq!(code(&wrong), "\"BAD_REQUEST\"");
        assert!(documents.prepare(&mut hashed("zz", "")).is_err(), "not a hash");
    }

    #[test]
    fn documents_that_do_not_parse_are_left_to_the_executor() {
        let documents = Documents::default();
        let mut broken = Request::new("{ oops");
        assert!(documents.prepare(&mut broken).expect("left to the executor").is_none());
        assert!(documents.lock().is_empty());
    }

    #[test]
    fn validation_is_remembered_per_operation() {
        let documents = Documents::default();
        let query = "query A { __typename } query B { __typename }";
        let kept = documents.prepare(&mut Request::new(query)).expect("kept").expect("parses");
        assert!(!kept.validated(Some("A")));
        kept.passed(Some("A"));
        let again = documents.prepare(&mut Request::new(query)).expect("kept").expect("parses");
        assert!(again.validated(Some("A")), "the same entry, found by hash");
        assert!(!again.validated(Some("B")) && !again.validated(None));
    }

    fn hex_of(query: &str) -> String {
        Sha256::digest(query.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
    }
}
