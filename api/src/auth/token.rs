//! HS256 session tokens issued by `login`: the algorithm is pinned, `exp` is required.

use base64::Engine;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiResult};

const SECRET_SETTING: &str = "jwt_secret";
const ISSUER: &str = "crm-graphql";
/// Clock skew tolerated on `exp`/`nbf` (RFC 8725 advises keeping it small).
const LEEWAY_SECS: u64 = 30;

#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    pub iss: String,
    pub iat: i64,
    pub exp: i64,
    /// The user's token version when issued; bumping it revokes the token.
    pub tv: i32,
}

/// Signing and verification keys for session tokens.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    pub ttl_secs: u64,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenKeys").field("ttl_secs", &self.ttl_secs).finish_non_exhaustive()
    }
}

impl TokenKeys {
    pub fn from_secret(secret: &[u8], ttl_secs: u64) -> Self {
        Self { encoding: EncodingKey::from_secret(secret), decoding: DecodingKey::from_secret(secret), ttl_secs }
    }

    pub fn issue(&self, user_id: i64, token_version: i32) -> ApiResult<(String, chrono::DateTime<Utc>)> {
        let now = crate::service::now();
        let exp = now + chrono::Duration::seconds(i64::try_from(self.ttl_secs).unwrap_or(i64::MAX / 2));
        let claims = Claims {
            sub: user_id.to_string(),
            iss: ISSUER.into(),
            iat: now.timestamp(),
            exp: exp.timestamp(),
            tv: token_version,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(ApiError::internal)?;
        Ok((token, exp))
    }

    /// Verifies signature, algorithm, issuer and expiry; any failure is UNAUTHENTICATED.
    pub fn verify(&self, token: &str) -> ApiResult<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.set_issuer(&[ISSUER]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| ApiError::Unauthenticated(format!("invalid token: {e}")))
    }
}

/// The configured secret, or the one kept in the `settings` table (created on first start,
/// so every replica sharing the database signs with the same key).
pub async fn load_or_create_secret(db: &impl ConnectionTrait, configured: Option<&str>) -> ApiResult<Vec<u8>> {
    if let Some(secret) = configured.filter(|s| !s.is_empty()) {
        return Ok(secret.as_bytes().to_vec());
    }
    use entity::setting;
    if let Some(found) = stored_secret(db).await? {
        return Ok(found);
    }
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    let now = crate::service::now();
    let fresh = setting::ActiveModel {
        key: Set(SECRET_SETTING.into()),
        value: Set(base64::engine::general_purpose::STANDARD.encode(bytes)),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    };
    // Another replica may have inserted it first: the unique key makes us read theirs.
    let _ = fresh.insert(db).await;
    stored_secret(db).await?.ok_or_else(|| ApiError::internal("JWT secret missing after insert"))
}

async fn stored_secret(db: &impl ConnectionTrait) -> ApiResult<Option<Vec<u8>>> {
    use entity::setting;
    let row = setting::Entity::find().filter(setting::Column::Key.eq(SECRET_SETTING)).one(db).await?;
    row.map(|r| base64::engine::general_purpose::STANDARD.decode(r.value).map_err(ApiError::internal)).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_token_verifies_and_tampering_fails() {
        let keys = TokenKeys::from_secret(b"0123456789abcdef0123456789abcdef", 60);
        let (token, _) = keys.issue(7, 3).expect("issue");
        let claims = keys.verify(&token).expect("valid");
        assert_eq!((claims.sub.as_str(), claims.tv), ("7", 3));

        let other = TokenKeys::from_secret(b"another secret of enough length!", 60);
        assert!(matches!(other.verify(&token), Err(ApiError::Unauthenticated(_))));
        assert!(matches!(keys.verify("garbage"), Err(ApiError::Unauthenticated(_))));
    }
}
