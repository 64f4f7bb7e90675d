//! Admin sessions: random ids held server-side (only their SHA-256 is a map
//! key) with an idle and an absolute expiry, each with its own CSRF token, and
//! tied to the password they were opened with (changing the password ends
//! them).
//!
//! On SQLite (one process) they live in memory; on PostgreSQL in the
//! `scimkit_server_sessions` table (again only the SHA-256 of the id), so a
//! login on one replica is valid on every other one behind the same load
//! balancer, and expiry runs on the database's clock.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::HeaderMap;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::pg::PgDb;

/// A session ends after this long without a request.
pub(crate) const IDLE: Duration = Duration::from_secs(30 * 60);
/// A session ends this long after login, used or not.
pub(crate) const ABSOLUTE: Duration = Duration::from_secs(12 * 60 * 60);
/// At most this many sessions are held; the oldest go first.
const MAX_SESSIONS: usize = 1000;

/// The session cookie's name: with TLS the `__Host-` prefix makes browsers
/// insist on Secure, Path=/ and no Domain.
pub(crate) fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-scimkit_admin"
    } else {
        "scimkit_admin"
    }
}

/// The `Set-Cookie` value opening a session.
pub(crate) fn set_cookie(id: &str, secure: bool) -> String {
    let secure_attr = if secure { "; Secure" } else { "" };
    format!(
        "{}={id}; Path=/; HttpOnly; SameSite=Strict{secure_attr}",
        cookie_name(secure)
    )
}

/// The `Set-Cookie` value ending a session.
pub(crate) fn clear_cookie(secure: bool) -> String {
    let secure_attr = if secure { "; Secure" } else { "" };
    format!(
        "{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{secure_attr}",
        cookie_name(secure)
    )
}

/// The session id sent in the request's cookies, if any.
pub(crate) fn cookie_value(headers: &HeaderMap, secure: bool) -> Option<&str> {
    let name = cookie_name(secure);
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
}

fn digest(s: &str) -> [u8; 32] {
    Sha256::digest(s.as_bytes()).into()
}

fn random_token() -> Result<String, crate::Error> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw).map_err(|e| format!("cannot generate a session id: {e}"))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}

/// One session.
#[derive(Debug, Clone)]
struct Session {
    csrf: String,
    /// SHA-256 of the password hash it was opened with.
    password_tag: [u8; 32],
    created: Instant,
    last_used: Instant,
}

/// What a request learns from a valid session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Active {
    /// The token every POST form must carry.
    pub(crate) csrf: String,
}

impl Active {
    /// Whether a submitted form token is this session's (constant time).
    pub(crate) fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        submitted.is_some_and(|s| bool::from(s.as_bytes().ct_eq(self.csrf.as_bytes())))
    }
}

/// The open sessions: in this process, or shared through PostgreSQL.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
    shared: Option<Arc<PgDb>>,
}

impl Sessions {
    /// Sessions in the PostgreSQL tables, seen by every replica.
    pub(crate) fn shared(db: Arc<PgDb>) -> Self {
        Self {
            map: Mutex::default(),
            shared: Some(db),
        }
    }

    /// Open a session for a login with the password whose hash is
    /// `password_hash`; returns the id for the cookie. Blocks on PostgreSQL.
    pub(crate) fn open(&self, password_hash: &str) -> Result<String, crate::Error> {
        let id = random_token()?;
        if let Some(db) = &self.shared {
            db.session_open(
                &digest(&id),
                &random_token()?,
                &digest(password_hash),
                IDLE,
                ABSOLUTE,
            )?;
            return Ok(id);
        }
        let now = Instant::now();
        let s = Session {
            csrf: random_token()?,
            password_tag: digest(password_hash),
            created: now,
            last_used: now,
        };
        let mut map = self.map.lock();
        map.retain(|_, s| alive(s, now));
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map.iter().min_by_key(|(_, s)| s.created).map(|(k, _)| *k) {
                map.remove(&oldest);
            }
        }
        map.insert(digest(&id), s);
        Ok(id)
    }

    /// The session with this id, if it is alive and was opened with the
    /// current password (`password_hash`); refreshes its idle time. Blocks on
    /// PostgreSQL, whose failure is an error (not a logout).
    pub(crate) fn check(
        &self,
        id: &str,
        password_hash: Option<&str>,
    ) -> Result<Option<Active>, crate::Error> {
        let Some(db) = &self.shared else {
            return Ok(self.check_at(id, password_hash, Instant::now()));
        };
        let key = digest(id);
        let Some((csrf, tag)) = db.session_touch(&key, IDLE, ABSOLUTE)? else {
            return Ok(None);
        };
        let ok = password_hash.is_some_and(|h| bool::from(digest(h).as_slice().ct_eq(&tag)));
        if !ok {
            db.session_close(&key)?;
            return Ok(None);
        }
        Ok(Some(Active { csrf }))
    }

    fn check_at(&self, id: &str, password_hash: Option<&str>, now: Instant) -> Option<Active> {
        let key = digest(id);
        let mut map = self.map.lock();
        let ok = map.get(&key).is_some_and(|s| {
            alive(s, now)
                && password_hash.is_some_and(|h| bool::from(digest(h).ct_eq(&s.password_tag)))
        });
        if !ok {
            map.remove(&key);
            return None;
        }
        let s = map.get_mut(&key)?;
        s.last_used = now;
        Some(Active {
            csrf: s.csrf.clone(),
        })
    }

    /// End a session. Blocks on PostgreSQL.
    pub(crate) fn close(&self, id: &str) -> Result<(), crate::Error> {
        match &self.shared {
            Some(db) => Ok(db.session_close(&digest(id))?),
            None => {
                self.map.lock().remove(&digest(id));
                Ok(())
            }
        }
    }

    /// How many sessions are open (tests).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.map.lock().len()
    }
}

fn alive(s: &Session, now: Instant) -> bool {
    now.duration_since(s.last_used) < IDLE && now.duration_since(s.created) < ABSOLUTE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_check_id_password_and_expiry() {
        let s = Sessions::default();
        let id = s.open("$argon2id$hash-1").unwrap();
        assert_eq!(id.len(), 43);
        let a = s.check(&id, Some("$argon2id$hash-1")).unwrap().unwrap();
        assert!(a.csrf_ok(Some(&a.csrf)));
        assert!(!a.csrf_ok(Some("forged")) && !a.csrf_ok(None));
        assert!(
            s.check("not-a-session", Some("$argon2id$hash-1"))
                .unwrap()
                .is_none()
        );
        // Another session has another CSRF token.
        let id2 = s.open("$argon2id$hash-1").unwrap();
        let b = s.check(&id2, Some("$argon2id$hash-1")).unwrap().unwrap();
        assert_ne!(a.csrf, b.csrf);
        assert!(!a.csrf_ok(Some(&b.csrf)));
        // A new password ends the sessions opened with the old one.
        assert!(s.check(&id2, Some("$argon2id$hash-2")).unwrap().is_none());
        assert!(s.check(&id2, Some("$argon2id$hash-1")).unwrap().is_none());
        s.close(&id).unwrap();
        assert!(s.check(&id, Some("$argon2id$hash-1")).unwrap().is_none());
        assert_eq!(s.len(), 0);
    }

    #[test]
    fn idle_sessions_expire() {
        let s = Sessions::default();
        let id = s.open("h").unwrap();
        let later = Instant::now() + IDLE + Duration::from_secs(1);
        assert!(s.check_at(&id, Some("h"), later).is_none());
        assert_eq!(s.len(), 0);
        let id = s.open("h").unwrap();
        let later = Instant::now() + ABSOLUTE + Duration::from_secs(1);
        assert!(s.check_at(&id, Some("h"), later).is_none());
    }

    #[test]
    fn cookies() {
        assert_eq!(
            set_cookie("abc", false),
            "scimkit_admin=abc; Path=/; HttpOnly; SameSite=Strict"
        );
        assert_eq!(
            set_cookie("abc", true),
            "__Host-scimkit_admin=abc; Path=/; HttpOnly; SameSite=Strict; Secure"
        );
        let mut h = HeaderMap::new();
        h.append(
            http::header::COOKIE,
            "other=1; scimkit_admin=xyz".parse().unwrap(),
        );
        assert_eq!(cookie_value(&h, false), Some("xyz"));
        assert_eq!(cookie_value(&h, true), None);
    }
}
