//! Authentication: bearer tokens mapped to tenants.
//!
//! The engine asks an [`Authenticator`] who a bearer token belongs to. The
//! built-in [`StaticTokens`] holds SHA-256 digests of the configured tokens (never
//! the tokens themselves) and compares digests in constant time. The `scimkit`
//! server brings its own authenticator over hashed tokens in its database; a host
//! that authenticates requests itself uses [`TrustedTenant`].

use std::fmt;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Who a request acts as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The tenant whose resources the request may see.
    pub tenant: String,
    /// An identifier of the credential (never the secret), for logs and the
    /// provisioning log.
    pub token_id: String,
}

/// The credential store could not be consulted (the request gets 503, not 401).
#[derive(Debug, thiserror::Error)]
#[error("the credential store is unavailable")]
pub struct AuthUnavailable(#[source] pub Box<dyn std::error::Error + Send + Sync>);

/// Decides who a bearer token belongs to.
pub trait Authenticator: Send + Sync + 'static {
    /// The principal for `token` (the part after `Bearer `), or `None` to answer
    /// 401. `token` is `None` when the request has no bearer token.
    fn authenticate(&self, token: Option<&str>) -> Option<Principal>;

    /// Like [`Authenticator::authenticate`], for authenticators backed by a
    /// database: `Err` answers 503 with `Retry-After` instead of 401. The engine
    /// calls this one; the default delegates to `authenticate`.
    fn try_authenticate(&self, token: Option<&str>) -> Result<Option<Principal>, AuthUnavailable> {
        Ok(self.authenticate(token))
    }
}

/// The bearer token of a request (`Authorization: Bearer <token>`, scheme
/// case-insensitive), if any.
pub fn bearer_token(headers: &http::HeaderMap) -> Option<&str> {
    let v = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = v.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
}

/// The public id of a token: the first 8 hex digits of its SHA-256 digest. Safe
/// to log and to show; it does not reveal the token.
pub fn token_id(token: &str) -> String {
    token_digest(token)[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The SHA-256 digest of a token, as stored at rest.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A fixed set of bearer tokens, each mapped to a tenant. Only SHA-256 digests are
/// kept; every configured digest is compared in constant time on each request.
#[derive(Clone, Default)]
pub struct StaticTokens {
    entries: Vec<([u8; 32], Principal)>,
}

impl fmt::Debug for StaticTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StaticTokens")
            .field("tokens", &self.entries.len())
            .finish()
    }
}

impl StaticTokens {
    /// An empty set (every request is 401).
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a token for `tenant`. The token id in logs is the first 8 hex digits
    /// of the digest.
    pub fn insert(&mut self, token: &str, tenant: &str) {
        let digest = token_digest(token);
        let token_id = token_id(token);
        self.entries.push((
            digest,
            Principal {
                tenant: tenant.to_owned(),
                token_id,
            },
        ));
    }

    /// Whether no token is configured.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl Authenticator for StaticTokens {
    fn authenticate(&self, token: Option<&str>) -> Option<Principal> {
        let digest = token_digest(token?);
        let mut found: Option<&Principal> = None;
        // Compare against every entry, without early exit.
        for (d, p) in &self.entries {
            if bool::from(d.ct_eq(&digest)) {
                found = Some(p);
            }
        }
        found.cloned()
    }
}

/// Every request belongs to one tenant, token or not: for hosts that authenticate
/// upstream (a Django view behind login, a gateway).
#[derive(Debug, Clone)]
pub struct TrustedTenant(pub String);

impl Authenticator for TrustedTenant {
    fn authenticate(&self, _token: Option<&str>) -> Option<Principal> {
        Some(Principal {
            tenant: self.0.clone(),
            token_id: "trusted".to_owned(),
        })
    }
}

impl<F> Authenticator for F
where
    F: Fn(Option<&str>) -> Option<Principal> + Send + Sync + 'static,
{
    fn authenticate(&self, token: Option<&str>) -> Option<Principal> {
        self(token)
    }
}

/// What the engine does with a User's `password` attribute (RFC 7643 §4.1.1:
/// write-only, never returned).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PasswordPolicy {
    /// Store an Argon2id hash (PHC string), never the cleartext; check a
    /// candidate with [`verify_password`].
    #[default]
    Hash,
    /// Refuse requests that carry a password (400 `invalidValue`).
    Reject,
}

/// Hash a password with Argon2id (default parameters, random salt) into a PHC
/// string.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
    Ok(argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `candidate` matches a hash made by [`hash_password`] (constant time).
pub fn verify_password(hash: &str, candidate: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(hash).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(candidate.as_bytes(), &h)
            .is_ok()
    })
}

/// Whether a stored value is already a PHC hash (`$argon2id$…`).
pub(crate) fn is_password_hash(s: &str) -> bool {
    s.starts_with("$argon2")
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_hash_and_verify() {
        let h = super::hash_password("t1meMa$heen").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("t1meMa"));
        assert!(super::verify_password(&h, "t1meMa$heen"));
        assert!(!super::verify_password(&h, "wrong"));
        assert!(!super::verify_password("not a hash", "x"));
    }

    use super::*;

    #[test]
    fn static_tokens_map_to_tenants() {
        let mut t = StaticTokens::new();
        t.insert("secret-a", "a");
        t.insert("secret-b", "b");
        assert_eq!(t.authenticate(Some("secret-a")).unwrap().tenant, "a");
        assert_eq!(t.authenticate(Some("secret-b")).unwrap().tenant, "b");
        assert!(t.authenticate(Some("secret-c")).is_none());
        assert!(t.authenticate(None).is_none());
        assert!(!format!("{t:?}").contains("secret"));
    }
}
