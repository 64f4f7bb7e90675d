//! The store conformance suite (`scimkit::store::testkit`) for Python stores:
//! the very checks the Rust stores run, driven through the Python-store adapter.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use scimkit::store::testkit::CHECKS;

use crate::errors::check_failed;
use crate::store::store_from_py;

/// The names of the conformance checks, in order.
#[pyfunction]
pub(crate) fn store_checks() -> Vec<&'static str> {
    CHECKS.iter().map(|(name, _)| *name).collect()
}

/// Run the conformance check `name` on a fresh store from `factory()` (a Python
/// store or a native one). Raises `AssertionError` naming the broken rule, or
/// `ValueError` for an unknown check. The GIL is released while the check runs
/// (some checks call the store from several threads).
#[pyfunction]
pub(crate) fn run_store_check(
    py: Python<'_>,
    name: &str,
    factory: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let Some((_, check)) = CHECKS.iter().find(|(n, _)| *n == name) else {
        return Err(PyValueError::new_err(format!(
            "unknown store check {name:?}; known: {}",
            store_checks().join(", ")
        )));
    };
    let store = store_from_py(&factory.call0()?)?;
    let outcome = py.detach(|| catch_unwind(AssertUnwindSafe(|| check(&*store))));
    outcome.map_err(|panic| check_failed(name, &*panic))
}
