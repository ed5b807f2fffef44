//! Tokens from an external identity provider (RS256 or ES256): verified with a configured
//! public key or JWKS file, `iss` and `aud` required, and mapped to a known user by a claim.
//! Keys are only ever read from configuration: `jku` and `x5u` headers are never fetched.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};

use crate::config::AuthConfig;
use crate::error::{ApiError, ApiResult};

/// Clock skew tolerated on `exp`/`nbf`, as for session tokens.
const LEEWAY_SECS: u64 = 30;

#[derive(Clone)]
pub struct ExternalTokens {
    pub algorithm: Algorithm,
    /// (key id, key); a PEM key has no id and verifies any token.
    keys: Vec<(Option<String>, DecodingKey)>,
    issuer: String,
    audience: String,
    user_claim: String,
}

impl std::fmt::Debug for ExternalTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExternalTokens")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl ExternalTokens {
    /// `None` when no external provider is configured; an error for a half or broken setup.
    pub fn from_config(cfg: &AuthConfig) -> Result<Option<Self>, String> {
        let Some(algorithm) = cfg.jwt_external_algorithm.as_deref() else {
            return match (&cfg.jwt_external_public_key_file, &cfg.jwt_external_jwks_file) {
                (None, None) => Ok(None),
                _ => Err("CRM_JWT_EXTERNAL_ALGORITHM (RS256 or ES256) is required with an external key".into()),
            };
        };
        let algorithm = match algorithm.to_ascii_uppercase().as_str() {
            "RS256" => Algorithm::RS256,
            "ES256" => Algorithm::ES256,
            other => return Err(format!("CRM_JWT_EXTERNAL_ALGORITHM must be RS256 or ES256, not {other}")),
        };
        let read =
            |path: &std::path::Path| std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()));
        let keys = match (&cfg.jwt_external_public_key_file, &cfg.jwt_external_jwks_file) {
            (Some(pem), None) => {
                let bytes = read(pem)?;
                let key = match algorithm {
                    Algorithm::ES256 => DecodingKey::from_ec_pem(&bytes),
                    _ => DecodingKey::from_rsa_pem(&bytes),
                }
                .map_err(|e| format!("{} is not a {algorithm:?} public key: {e}", pem.display()))?;
                vec![(None, key)]
            }
            (None, Some(jwks)) => {
                let set: JwkSet = serde_json::from_slice(&read(jwks)?)
                    .map_err(|e| format!("{} is not a JWKS document: {e}", jwks.display()))?;
                set.keys
                    .iter()
                    .map(|jwk| {
                        let kid = jwk.common.key_id.clone();
                        DecodingKey::from_jwk(jwk).map(|k| (kid, k)).map_err(|e| format!("unusable key in JWKS: {e}"))
                    })
                    .collect::<Result<Vec<_>, _>>()?
            }
            (Some(_), Some(_)) => return Err("configure an external public key file or a JWKS file, not both".into()),
            (None, None) => return Err("CRM_JWT_EXTERNAL_ALGORITHM needs a public key or JWKS file".into()),
        };
        if keys.is_empty() {
            return Err("the JWKS file holds no keys".into());
        }
        let required = |value: &Option<String>, name: &str| {
            value.clone().filter(|v| !v.is_empty()).ok_or_else(|| format!("{name} is required for external tokens"))
        };
        Ok(Some(Self {
            algorithm,
            keys,
            issuer: required(&cfg.jwt_external_issuer, "CRM_JWT_EXTERNAL_ISSUER")?,
            audience: required(&cfg.jwt_external_audience, "CRM_JWT_EXTERNAL_AUDIENCE")?,
            user_claim: cfg.jwt_external_user_claim.clone(),
        }))
    }

    /// Verifies the token with the pinned algorithm and returns the claim that names the
    /// user (an email address).
    pub fn verify(&self, token: &str, kid: Option<&str>) -> ApiResult<String> {
        let key = match kid {
            Some(kid) => self.keys.iter().find(|(id, _)| id.as_deref() == Some(kid) || id.is_none()),
            None if self.keys.len() == 1 => self.keys.first(),
            None => None,
        }
        .map(|(_, key)| key)
        .ok_or_else(|| ApiError::Unauthenticated("invalid token: unknown key id".into()))?;
        let mut validation = Validation::new(self.algorithm);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        let claims = jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(token, key, &validation)
            .map_err(|e| ApiError::Unauthenticated(format!("invalid token: {e}")))?
            .claims;
        claims
            .get(&self.user_claim)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
            .ok_or_else(|| ApiError::Unauthenticated(format!("invalid token: no `{}` claim", self.user_claim)))
    }
}
