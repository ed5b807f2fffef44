//! argon2id password hashing and verification.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};

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
