//! argon2id password hashing and verification. Requests hash and verify through the async
//! functions, which run argon2 on the blocking pool with bounded concurrency: a flood of
//! sign-ins then waits its turn (or is RATE_LIMITED) instead of taking the runtime's
//! threads from every other request.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use tokio::sync::Semaphore;

use crate::error::{ApiError, ApiResult};

pub fn hash_password(password: &str) -> ApiResult<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(ApiError::internal)
}

/// True when `password` matches `phc`. A malformed stored hash never matches.
pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// Spends the same time as a real verification, so an unknown email cannot be told apart
/// from a wrong password by timing.
pub fn verify_against_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(phc) = DUMMY.get_or_init(|| hash_password("dummy password for timing").ok()) {
        let _ = verify_password(password, phc);
    }
}

/// Hashings and verifications waiting for a turn, beyond which more are refused.
const MAX_WAITING: usize = 64;

struct Turns {
    /// One permit per core: argon2 is CPU-bound, more at once only adds waiting.
    running: Semaphore,
    waiting: AtomicUsize,
}

fn turns() -> &'static Turns {
    static TURNS: OnceLock<Turns> = OnceLock::new();
    TURNS.get_or_init(|| Turns {
        running: Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())),
        waiting: AtomicUsize::new(0),
    })
}

/// Runs `work` on the blocking pool when a turn is free; RATE_LIMITED when too many wait.
async fn off_runtime<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ApiResult<T> {
    let turns = turns();
    if turns.waiting.fetch_add(1, Ordering::SeqCst) >= MAX_WAITING {
        turns.waiting.fetch_sub(1, Ordering::SeqCst);
        let message = "too many sign-ins at once; retry in a moment".into();
        return Err(ApiError::Throttled { message, retry_after_secs: 1 });
    }
    let permit = turns.running.acquire().await;
    turns.waiting.fetch_sub(1, Ordering::SeqCst);
    let _permit = permit.map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(work).await.map_err(ApiError::internal)
}

/// `hash_password`, off the async runtime.
pub async fn hash(password: &str) -> ApiResult<String> {
    let password = password.to_owned();
    off_runtime(move || hash_password(&password)).await?
}

/// Whether `password` matches the stored hash, off the async runtime; with no stored hash
/// the same work is spent on a dummy, so timing tells nothing.
pub async fn verify(password: &str, phc: Option<&str>) -> ApiResult<bool> {
    let (password, phc) = (password.to_owned(), phc.map(str::to_owned));
    off_runtime(move || match phc {
        Some(phc) => verify_password(&password, &phc),
        None => {
            verify_against_dummy(&password);
            false
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let phc = hash_password("s3cret!").expect("hashing works");
        assert!(phc.starts_with("$argon2id$"));
        assert!(verify_password("s3cret!", &phc));
        assert!(!verify_password("wrong", &phc));
        assert!(!verify_password("s3cret!", "not a hash"));
    }
}
