//! `scimkit._native`: the extension module behind the `scimkit` Python package.
//!
//! Private: Python code imports from `scimkit`, which re-exports what is public
//! and defines the exceptions (`scimkit.exceptions`, imported here by
//! `pyo3::import_exception!`). The layout follows pydantic-core:
//!
//! * `server` — `Server.handle(method, path, *, query, headers, body) -> Response`,
//!   with the GIL released while the engine works;
//! * `store` — the native stores (`sqlite`: `SqliteStore`, `postgres`:
//!   `PostgresStore`) and the adapter that makes a Python object
//!   implementing `scimkit.UserStore` a Rust `UserStore`;
//! * `events` — the engine's provisioning events, delivered to `on_event`;
//! * `testing` — the Rust store conformance suite, runnable on Python stores;
//! * `errors` — the one module that maps errors in each direction;
//! * `json` — Python objects ↔ `serde_json::Value`.
//!
//! Built by maturin (`maturin build -m python/Cargo.toml`) with the
//! `extension-module` feature; plain cargo builds link libpython so that the unit
//! tests run under `cargo test`.

mod errors;
mod events;
mod forksafe;
mod json;
mod postgres;
mod server;
mod sqlite;
mod store;
mod testing;

use pyo3::prelude::*;

/// The module initialiser: registers the classes and functions.
#[pymodule(gil_used = false)]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<server::PyServer>()?;
    m.add_class::<server::PyResponse>()?;
    m.add_class::<store::PyMemoryStore>()?;
    m.add_class::<sqlite::PySqliteStore>()?;
    m.add_class::<postgres::PyPostgresStore>()?;
    m.add_class::<store::PyCtx>()?;
    m.add_class::<store::PyQuery>()?;
    m.add_class::<store::PyMemberChange>()?;
    m.add_class::<events::PyEvent>()?;
    m.add_function(wrap_pyfunction!(store::py_unique_key, m)?)?;
    m.add_function(wrap_pyfunction!(store::py_member_change, m)?)?;
    m.add_function(wrap_pyfunction!(testing::store_checks, m)?)?;
    m.add_function(wrap_pyfunction!(testing::run_store_check, m)?)?;
    // Stores close (their threads joined) before os.fork() and open again on
    // their next use: see forksafe.rs.
    let py = m.py();
    let before_fork = pyo3::types::PyCFunction::new_closure(
        py,
        None,
        None,
        |args: &Bound<'_, pyo3::types::PyTuple>, _kwargs| {
            args.py().detach(forksafe::before_fork);
        },
    )?;
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("before", before_fork)?;
    py.import("os")?
        .call_method("register_at_fork", (), Some(&kwargs))?;
    Ok(())
}
