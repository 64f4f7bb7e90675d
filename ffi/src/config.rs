//! The configuration builder: `scimkit_config_builder_new`, `_set_*` / `_add_*`,
//! `_build` (gives a `scimkit_server`), `_error_message`, `_free`.

use std::ffi::{c_char, c_void};

use scimkit::{MemoryStore, ScimServer};

use crate::boundary::{EventBridge, copy_out, free_box, into_raw, write_out};
use crate::result::scimkit_result;
use crate::server::scimkit_server;
use crate::store::{VtableStore, scimkit_store_vtable};

/// Builds a [`scimkit_server`]: base path, bearer tokens and their tenants, and
/// the store.
///
/// Made by [`scimkit_config_builder_new`]; owned by the caller, who frees it with
/// [`scimkit_config_builder_free`] — also after [`scimkit_config_builder_build`],
/// which consumes its configuration but not the object (every later call but
/// `_error_message` and `_free` answers `SCIMKIT_RESULT_ALREADY_USED`). Not
/// thread-safe: use it from one thread at a time.
#[derive(Debug)]
pub struct scimkit_config_builder {
    /// `None` once `_build` was called.
    settings: Option<Settings>,
    /// The detail of the last failed call, for `_error_message`.
    error: Option<String>,
}

#[derive(Debug, Default)]
struct Settings {
    base_path: Option<String>,
    base_url: Option<String>,
    tokens: Vec<(String, String)>,
    store: Option<StoreChoice>,
    max_body_size: Option<usize>,
    max_results: Option<usize>,
    events: Option<std::sync::Arc<EventBridge>>,
    /// Default policies, then per-tenant ones.
    policies: Option<scimkit::Policies>,
    tenant_policies: Vec<(String, scimkit::Policies)>,
    /// Keep a provisioning log in memory (capacity).
    log: Option<usize>,
}

#[derive(Debug)]
enum StoreChoice {
    Memory,
    #[cfg(feature = "sqlite")]
    Sqlite(std::path::PathBuf),
    #[cfg(feature = "postgres")]
    Postgres(PostgresUrl),
    Vtable(VtableStore),
}

/// A PostgreSQL URL as given to `_set_store`. It may hold a password, so its
/// `Debug` never shows it (only that there is a URL).
#[cfg(feature = "postgres")]
struct PostgresUrl(String);

#[cfg(feature = "postgres")]
impl std::fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresUrl(<redacted>)")
    }
}

impl scimkit_config_builder {
    fn fail(&mut self, code: scimkit_result, msg: impl Into<String>) -> scimkit_result {
        self.error = Some(msg.into());
        code
    }

    /// The settings, or ALREADY_USED (recorded as the error) after `_build`.
    fn settings(&mut self) -> Result<&mut Settings, scimkit_result> {
        if self.settings.is_none() {
            self.error =
                Some("the builder was consumed by scimkit_config_builder_build".to_owned());
        }
        self.settings.as_mut().ok_or(scimkit_result::AlreadyUsed)
    }
}

/// Like `try_mut!` but also ALREADY_USED after `_build`: gives `(builder, settings)`.
macro_rules! try_settings {
    ($builder:expr) => {{
        let b = try_mut!($builder);
        if b.settings().is_err() {
            return scimkit_result::AlreadyUsed;
        }
        b
    }};
}

/// A new builder with the defaults: base path `/scim/v2`, no token, no store
/// (both must be set before `_build`), body limit 1 MiB, page limit 1000.
///
/// The caller owns the result and frees it with [`scimkit_config_builder_free`].
/// Returns NULL only if scimkit panicked.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_new() -> *mut scimkit_config_builder {
    ffi_panic_boundary! {
        into_raw(scimkit_config_builder {
            settings: Some(Settings::default()),
            error: None,
        })
    }
}

/// Free a builder (before or after `_build`), and with it a store set on it
/// but not built into a server (a C store's `free_userdata` is then called).
///
/// Calling with NULL is fine. Must not be called twice with the same value.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_free(builder: *mut scimkit_config_builder) {
    ffi_panic_boundary! {
        free_box(builder)
    }
}

/// The path prefix served, e.g. `/scim/v2` (a trailing `/` is ignored; `""`
/// serves at the root). Checked by `_build`. Defaults to `/scim/v2`.
///
/// `path` is UTF-8, `len` bytes, borrowed for the call. Returns NULL_PARAMETER,
/// INVALID_UTF8 or ALREADY_USED.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_set_base_path(
    builder: *mut scimkit_config_builder,
    path: *const c_char,
    len: usize,
) -> scimkit_result {
    ffi_panic_boundary! {
        let b = try_settings!(builder);
        let path = try_str!(path, len);
        if let Some(s) = b.settings.as_mut() {
            s.base_path = Some(path.to_owned());
        }
        scimkit_result::Ok
    }
}

/// The absolute URL prefix used in `meta.location` and `Location`, e.g.
/// `https://app.example.com/scim/v2`. Defaults to one derived from each
/// request's `Host` header.
///
/// `url` is UTF-8, `len` bytes, borrowed for the call. Returns NULL_PARAMETER,
/// INVALID_UTF8 or ALREADY_USED.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_set_base_url(
    builder: *mut scimkit_config_builder,
    url: *const c_char,
    len: usize,
) -> scimkit_result {
    ffi_panic_boundary! {
        let b = try_settings!(builder);
        let url = try_str!(url, len);
        if let Some(s) = b.settings.as_mut() {
            s.base_url = Some(url.to_owned());
        }
        scimkit_result::Ok
    }
}

/// Accept `Authorization: Bearer <token>` for requests of `tenant`. Call it once
/// per token; several tokens may share a tenant. Only a digest of the token is
/// kept by the server.
///
/// Both strings are UTF-8, borrowed for the call, and non-empty. Returns
/// NULL_PARAMETER, INVALID_UTF8, INVALID_PARAMETER (empty) or ALREADY_USED.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_add_token(
    builder: *mut scimkit_config_builder,
    token: *const c_char,
    token_len: usize,
    tenant: *const c_char,
    tenant_len: usize,
) -> scimkit_result {
    ffi_panic_boundary! {
        let b = try_settings!(builder);
        let token = try_str!(token, token_len);
        let tenant = try_str!(tenant, tenant_len);
        if token.is_empty() || tenant.is_empty() {
            return b.fail(scimkit_result::InvalidParameter, "token and tenant must not be empty");
        }
        if let Some(s) = b.settings.as_mut() {
            s.tokens.push((token.to_owned(), tenant.to_owned()));
        }
        scimkit_result::Ok
    }
}

/// Select a built-in store by a configuration string:
///
/// * `memory` — in this process's memory, lost at exit (tests, demos);
/// * `sqlite:<path>` — a SQLite database file (`sqlite:/var/lib/app/scim.db`;
///   a relative path is relative to the working directory), created with its
///   schema if missing, opened by `_build` (`SCIMKIT_RESULT_STORE_OPEN_FAILED`
///   if it cannot be: not a database, corrupt, a directory, …). Answers
///   `SCIMKIT_RESULT_STORE_NOT_AVAILABLE` if the library was built without its
///   `sqlite` feature;
/// * `postgres://…` or `postgresql://…` — a PostgreSQL database
///   (`postgresql://user:password@host:port/dbname?connect_timeout=5`; TLS is
///   not supported: use a trusted network or a Unix socket, `?host=/run/postgresql`).
///   `_build` connects (waiting at most 5 seconds unless the URL sets
///   `connect_timeout`) and creates or migrates the schema; several servers,
///   in one process or many, may share the database. If the URL does not parse,
///   `_build` answers `SCIMKIT_RESULT_INVALID_CONFIG`; if the server is
///   unreachable, refuses the credentials, has no such database or a newer
///   scimkit schema, `SCIMKIT_RESULT_STORE_OPEN_FAILED`. The message
///   (`_error_message`) says which and names the server as
///   `postgresql://user@host:port/dbname` — never with the password. Answers
///   `SCIMKIT_RESULT_STORE_NOT_AVAILABLE` if the library was built without its
///   `postgres` feature.
///
/// Anything else is `SCIMKIT_RESULT_INVALID_CONFIG`. Replaces a store set
/// before. A store is opened by `_build`.
///
/// `spec` is UTF-8, `len` bytes, borrowed for the call. Returns NULL_PARAMETER,
/// INVALID_UTF8, INVALID_CONFIG, STORE_NOT_AVAILABLE or ALREADY_USED.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_set_store(
    builder: *mut scimkit_config_builder,
    spec: *const c_char,
    len: usize,
) -> scimkit_result {
    ffi_panic_boundary! {
        let b = try_settings!(builder);
        let spec = try_str!(spec, len);
        let choice = if spec == "memory" {
            StoreChoice::Memory
        } else if let Some(path) = spec.strip_prefix("sqlite:") {
            if path.is_empty() {
                return b.fail(
                    scimkit_result::InvalidConfig,
                    "sqlite: needs a file path, e.g. \"sqlite:/var/lib/app/scim.db\"",
                );
            }
            #[cfg(feature = "sqlite")]
            {
                StoreChoice::Sqlite(path.into())
            }
            #[cfg(not(feature = "sqlite"))]
            return b.fail(
                scimkit_result::StoreNotAvailable,
                "the SQLite store is not compiled into this library (feature `sqlite`)",
            );
        } else if spec.starts_with("postgres://") || spec.starts_with("postgresql://") {
            #[cfg(feature = "postgres")]
            {
                StoreChoice::Postgres(PostgresUrl(spec.to_owned()))
            }
            #[cfg(not(feature = "postgres"))]
            return b.fail(
                scimkit_result::StoreNotAvailable,
                "the PostgreSQL store is not compiled into this library (feature `postgres`)",
            );
        } else {
            // Only the kind: the rest may hold a password (a mistyped URL).
            let kind = spec.split(':').next().unwrap_or_default();
            return b.fail(
                scimkit_result::InvalidConfig,
                format!("unknown store {kind:?}: use \"memory\", \"sqlite:<path>\" or \"postgres://...\""),
            );
        };
        if let Some(s) = b.settings.as_mut() {
            s.store = Some(choice);
        }
        scimkit_result::Ok
    }
}

/// Use a store implemented in C (see [`scimkit_store_vtable`]). The vtable is
/// copied; `userdata` is passed to every callback.
///
/// On success scimkit owns `userdata`: `free_userdata` (if not NULL) is called
/// exactly once, when neither the builder nor a server built from it uses the
/// store any more (or when another store replaces it on this builder). On
/// failure the caller keeps it.
///
/// Returns NULL_PARAMETER (NULL builder or vtable, or a NULL required
/// callback: create, get, replace, remove, query), INVALID_PARAMETER (unknown
/// flag bits) or ALREADY_USED.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_set_store_vtable(
    builder: *mut scimkit_config_builder,
    vtable: *const scimkit_store_vtable,
    userdata: *mut c_void,
) -> scimkit_result {
    ffi_panic_boundary! {
        let b = try_settings!(builder);
        let store = match crate::boundary::vtable_store(vtable, userdata) {
            Ok(s) => s,
            Err(code) => {
                return b.fail(
                    code,
                    "invalid store vtable: create, get, replace, remove and query are required; flags must be SCIMKIT_STORE_FLAG_* bits",
                );
            }
        };
        if let Some(s) = b.settings.as_mut() {
            s.store = Some(StoreChoice::Vtable(store));
        }
        scimkit_result::Ok
    }
}

/// A provisioning event, for [`scimkit_config_builder_set_event_callback`]:
/// `event_json` / `event_len` is one JSON object, valid for the duration of the
/// call only:
///
/// ```json
/// {"kind": "created", "tenant": "contoso", "resourceType": "User", "id": "…",
///  "name": "adele@contoso.com", "changed": ["active"], "members": [],
///  "time": "2024-05-01T10:00:00.000Z", "requestId": "…"}
/// ```
///
/// `kind` is one of `created`, `linked`, `updated`, `deactivated`,
/// `reactivated`, `deleted`, `queued_for_review`, `members_added`,
/// `members_removed` (more may be added: ignore unknown kinds). `changed` lists
/// the attributes an update changed, `members` the ids a membership event added
/// or removed.
pub type scimkit_event_callback =
    Option<unsafe extern "C" fn(userdata: *mut c_void, event_json: *const u8, event_len: usize)>;

/// Be told of provisioning events (a user created, deactivated — e.g. to end
/// its sessions —, deleted; group members added or removed) through
/// `callback(userdata, event_json, event_len)`. Replaces a callback set before.
///
/// Events are delivered after the request that caused them was answered, in
/// order, on one background thread of scimkit (so never concurrently with
/// themselves); a callback that blocks delays the next events, and events
/// beyond a queue of 10 000 are dropped. The callback must not call
/// `scimkit_server_free`.
///
/// The caller keeps ownership of `userdata` and keeps it valid until
/// `scimkit_server_free` of the server built from this builder has returned
/// (or until the builder is freed, if no server was built): the callback is
/// never called after that. Events still queued then are discarded.
///
/// Returns NULL_PARAMETER (NULL builder or callback) or ALREADY_USED.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_set_event_callback(
    builder: *mut scimkit_config_builder,
    callback: scimkit_event_callback,
    userdata: *mut c_void,
) -> scimkit_result {
    ffi_panic_boundary! {
        let b = try_settings!(builder);
        let Some(bridge) = EventBridge::new(callback, userdata) else {
            return b.fail(scimkit_result::NullParameter, "the event callback is NULL");
        };
        if let Some(s) = b.settings.as_mut() {
            s.events = Some(std::sync::Arc::new(bridge));
        }
        scimkit_result::Ok
    }
}

/// The largest request body accepted, in bytes; a larger one is answered 413.
/// Must be positive. Defaults to 1 MiB.
///
/// Returns NULL_PARAMETER, INVALID_PARAMETER (0) or ALREADY_USED.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_set_max_body_size(
    builder: *mut scimkit_config_builder,
    bytes: usize,
) -> scimkit_result {
    ffi_panic_boundary! {
        let b = try_settings!(builder);
        if bytes == 0 {
            return b.fail(scimkit_result::InvalidParameter, "max_body_size must be greater than zero");
        }
        if let Some(s) = b.settings.as_mut() {
            s.max_body_size = Some(bytes);
        }
        scimkit_result::Ok
    }
}

/// The largest page of a list or search (`count` is clamped to it). Must be
/// positive. Defaults to 1000.
///
/// Returns NULL_PARAMETER, INVALID_PARAMETER (0) or ALREADY_USED.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_set_max_results(
    builder: *mut scimkit_config_builder,
    count: usize,
) -> scimkit_result {
    ffi_panic_boundary! {
        let b = try_settings!(builder);
        if count == 0 {
            return b.fail(scimkit_result::InvalidParameter, "max_results must be greater than zero");
        }
        if let Some(s) = b.settings.as_mut() {
            s.max_results = Some(count);
        }
        scimkit_result::Ok
    }
}

/// Provisioning policies as JSON (see `Policies::from_json` in the Rust docs):
/// an object with any of `"enabled"` (bool), `"deletion"` (`"hard"`, `"soft"`,
/// `"review"`), `"groups"` (`"full"`, `"update-only"`, `"refuse"`,
/// `"ignore"`), `"link_existing"` (`"off"`, `"username"`,
/// `"username-or-email"`), `"require_guid_external_id"` (bool),
/// `"rename_on_deactivate"` (a template with `{userName}`/`{id}`, or null).
/// With `tenant` NULL (and `tenant_len` 0) they are every tenant's default;
/// otherwise they apply to that tenant only. Defaults to plain RFC behaviour.
///
/// All inputs are UTF-8, borrowed for the call. Returns NULL_PARAMETER,
/// INVALID_UTF8, INVALID_JSON (not JSON), INVALID_PARAMETER (an unknown policy
/// or value; see `_error_message`) or ALREADY_USED.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_set_policies(
    builder: *mut scimkit_config_builder,
    tenant: *const c_char,
    tenant_len: usize,
    json: *const c_char,
    json_len: usize,
) -> scimkit_result {
    ffi_panic_boundary! {
        let b = try_settings!(builder);
        let tenant = if tenant.is_null() && tenant_len == 0 { None } else { Some(try_str!(tenant, tenant_len)) };
        let json = try_str!(json, json_len);
        let value: serde_json::Value = match serde_json::from_str(json) {
            Ok(v) => v,
            Err(e) => return b.fail(scimkit_result::InvalidJson, format!("policies are not JSON: {e}")),
        };
        let policies = match scimkit::Policies::from_json(&value) {
            Ok(p) => p,
            Err(e) => return b.fail(scimkit_result::InvalidParameter, e),
        };
        if let Some(s) = b.settings.as_mut() {
            match tenant {
                None => s.policies = Some(policies),
                Some(t) => s.tenant_policies.push((t.to_owned(), policies)),
            }
        }
        scimkit_result::Ok
    }
}

/// Keep a provisioning log in memory, at most `capacity` entries (the oldest
/// go first); read it with `scimkit_server_admin` (`{"op":"log"}`). Must be
/// positive. Defaults to no log.
///
/// Returns NULL_PARAMETER, INVALID_PARAMETER (0) or ALREADY_USED.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_enable_log(
    builder: *mut scimkit_config_builder,
    capacity: usize,
) -> scimkit_result {
    ffi_panic_boundary! {
        let b = try_settings!(builder);
        if capacity == 0 {
            return b.fail(scimkit_result::InvalidParameter, "the log capacity must be greater than zero");
        }
        if let Some(s) = b.settings.as_mut() {
            s.log = Some(capacity);
        }
        scimkit_result::Ok
    }
}

/// Check the configuration, open the store and build the server into
/// `*server_out`.
///
/// This consumes the builder's configuration (its store included) whether it
/// succeeds or not: later calls answer ALREADY_USED. The builder itself must
/// still be freed with [`scimkit_config_builder_free`]. The caller owns the
/// server and frees it with `scimkit_server_free`.
///
/// Returns NULL_PARAMETER, ALREADY_USED, INVALID_CONFIG (no store, no token, a
/// bad base path, a PostgreSQL URL that does not parse — see `_error_message`)
/// or STORE_OPEN_FAILED (a SQLite file or PostgreSQL database that cannot be
/// opened); then `*server_out` is NULL. With PostgreSQL, this blocks while it
/// connects (bounded by the URL's `connect_timeout`, 5 seconds by default).
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_build(
    builder: *mut scimkit_config_builder,
    server_out: *mut *mut scimkit_server,
) -> scimkit_result {
    ffi_panic_boundary! {
        let server_out = try_out!(server_out);
        write_out(server_out, std::ptr::null_mut());
        let b = try_settings!(builder);
        let Some(mut s) = b.settings.take() else {
            return scimkit_result::AlreadyUsed;
        };
        let mut sb = ScimServer::builder();
        match s.store {
            Some(StoreChoice::Memory) => sb = sb.store(MemoryStore::new()),
            #[cfg(feature = "sqlite")]
            Some(StoreChoice::Sqlite(path)) => match scimkit_sqlite::SqliteStore::open(&path) {
                Ok(store) => sb = sb.store(store),
                Err(e) => return b.fail(scimkit_result::StoreOpenFailed, e.to_string()),
            },
            #[cfg(feature = "postgres")]
            Some(StoreChoice::Postgres(url)) => match scimkit_postgres::PostgresStore::connect(&url.0) {
                Ok(store) => sb = sb.store(store),
                Err(e) => {
                    let code = match e.kind() {
                        scimkit_postgres::ConnectErrorKind::InvalidUrl(_) => scimkit_result::InvalidConfig,
                        _ => scimkit_result::StoreOpenFailed,
                    };
                    return b.fail(code, e.to_string());
                }
            },
            Some(StoreChoice::Vtable(v)) => sb = sb.store(v),
            None => {
                return b.fail(
                    scimkit_result::InvalidConfig,
                    "no store configured: call scimkit_config_builder_set_store or _set_store_vtable",
                );
            }
        }
        if let Some(p) = &s.base_path {
            sb = sb.base_path(p);
        }
        if let Some(u) = &s.base_url {
            sb = sb.base_url(u);
        }
        if let Some(n) = s.max_body_size {
            sb = sb.max_body_size(n);
        }
        if let Some(n) = s.max_results {
            sb = sb.max_results(n);
        }
        if s.tokens.is_empty() {
            return b.fail(
                scimkit_result::InvalidConfig,
                "no authentication configured: add a token with scimkit_config_builder_add_token",
            );
        }
        for (token, tenant) in &s.tokens {
            sb = sb.token(token, tenant);
        }
        if let Some(p) = s.policies.take() {
            sb = sb.policies(p);
        }
        for (tenant, p) in s.tenant_policies.drain(..) {
            sb = sb.tenant_policies(&tenant, p);
        }
        if let Some(capacity) = s.log {
            sb = sb.provisioning_log(scimkit::MemoryLog::new(capacity));
        }
        if let Some(bridge) = &s.events {
            let bridge = std::sync::Arc::clone(bridge);
            sb = sb.on_event(move |e: &scimkit::Event| {
                bridge.deliver(&serde_json::to_vec(&e.to_json()).unwrap_or_default());
            });
        }
        match sb.build() {
            Ok(server) => {
                write_out(server_out, into_raw(scimkit_server::new(server, s.events)));
                b.error = None;
                scimkit_result::Ok
            }
            Err(e) => b.fail(scimkit_result::InvalidConfig, e.to_string()),
        }
    }
}

/// Copy the detail of the last failed call on `builder` (e.g. which part of the
/// configuration is invalid) into `buf` (UTF-8, not NUL-terminated) and its
/// length into `*out_n`; length 0 if there was none. Works after `_build`.
///
/// `buf` / `len` is the caller's buffer. Returns NULL_PARAMETER, or
/// INSUFFICIENT_SIZE with `*out_n` set to the size needed (nothing copied).
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_config_builder_error_message(
    builder: *const scimkit_config_builder,
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> scimkit_result {
    ffi_panic_boundary! {
        let b = try_ref!(builder);
        copy_out(b.error.as_deref().unwrap_or("").as_bytes(), buf, len, out_n)
    }
}
