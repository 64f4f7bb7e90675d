//! # scimkit-ffi: the C ABI of scimkit
//!
//! This crate builds `libscimkit_ffi.so` / `libscimkit_ffi.a` (installed as
//! `libscimkit`) and is described to C and C++ by `include/scimkit.h`, which
//! cbindgen generates from this source (`ffi/cbindgen.toml`; the test
//! `tests/header.rs` fails when the committed header is stale). A C host
//! configures a server, hands it each HTTP request under the SCIM base path, and
//! writes back the response it gets:
//!
//! ```c
//! scimkit_config_builder *b = scimkit_config_builder_new();
//! scimkit_config_builder_set_store(b, "memory", 6);
//! scimkit_config_builder_add_token(b, "s3cret", 6, "contoso", 7);
//! scimkit_server *server = NULL;
//! if (scimkit_config_builder_build(b, &server) != SCIMKIT_RESULT_OK) { /* see _error_message */ }
//! scimkit_config_builder_free(b);
//!
//! scimkit_header h[] = {{{"Authorization", 13}, {"Bearer s3cret", 13}}};
//! scimkit_response *resp = NULL;
//! scimkit_server_handle(server, "GET", 3, "/scim/v2/Users", 14, h, 1, NULL, 0, &resp);
//! uint16_t status = scimkit_response_status(resp);   /* 200 */
//! scimkit_response_free(resp);
//! scimkit_server_free(server);
//! ```
//!
//! # Conventions (every function follows them)
//!
//! These follow rustls-ffi and hyper's C API.
//!
//! * **Names.** Every symbol starts with `scimkit_`. Handles are opaque structs
//!   (`scimkit_config_builder`, `scimkit_server`, `scimkit_response`); functions are
//!   `scimkit_<handle>_<verb>`. Constants carry their type's prefix
//!   (`SCIMKIT_RESULT_OK`, `SCIMKIT_STORE_STATUS_NOT_FOUND`).
//! * **Lifecycle.** A handle made by `_new` or `_build` is freed by the matching
//!   `_free`. `_free(NULL)` is a no-op; freeing the same handle twice is undefined
//!   behaviour, as in C.
//! * **Parameters.** Handle first, then inputs, then outputs (named `*_out`). A
//!   buffer is a pointer followed by its `size_t` length; a pointer may be NULL
//!   only when its length is 0. Text goes in as `(const char *, size_t)` UTF-8,
//!   not NUL-terminated (checked: `SCIMKIT_RESULT_INVALID_UTF8`), and comes out
//!   as a [`scimkit_str`] that borrows from the handle it came from.
//! * **Errors.** Functions that can fail return a [`scimkit_result`]: numbered,
//!   never reused, `SCIMKIT_RESULT_OK` is 0; [`scimkit_result_message`] names
//!   each. These codes are for misuse of the API and configuration problems only:
//!   a SCIM error (404, 409, a store failure as 500) is a normal response with
//!   `SCIMKIT_RESULT_OK`. When a call fails, its outputs are left NULL/0.
//! * **Panics** never cross into C: every export runs inside one panic boundary
//!   and answers `SCIMKIT_RESULT_PANIC` (or NULL / 0 / false where it returns no
//!   result code) if Rust panicked — which is a bug in scimkit.
//! * **Threads.** A `scimkit_server` is immutable after it is built: any number of
//!   threads may call [`scimkit_server_handle`] on one `const scimkit_server *` at
//!   once. Builders and responses are plain owned objects: use each from one
//!   thread at a time (they may move between threads).
//! * **Callbacks** get the `void *userdata` they were registered with as their
//!   first argument and must return normally: no `longjmp` and no C++ exception
//!   across a Rust frame. A store written in C ([`scimkit_store_vtable`]) is
//!   called from whichever threads call `scimkit_server_handle`, concurrently;
//!   the event callback ([`scimkit_config_builder_set_event_callback`]) from
//!   one scimkit thread, in order.
//!
//! # Modules
//!
//! All exports are re-exported at the crate root; the source is split by handle:
//! `result` (codes, strings, version), `config` (the builder), `server` (requests
//! and responses), `store` (the C store vtable). Every raw-pointer operation
//! lives in `boundary` (with the panic boundary and NULL-check macros).
#![allow(non_camel_case_types)]

#[macro_use]
mod boundary;
mod config;
mod result;
mod server;
mod store;

pub use config::*;
pub use result::*;
pub use server::*;
pub use store::*;
