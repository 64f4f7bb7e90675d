//! The one place errors cross the boundary, in both directions.
//!
//! * **Python → Rust**: an exception raised by a Python store becomes a
//!   [`StoreError`] ([`store_error_from_py`]): the exceptions of
//!   `scimkit.exceptions` map to their variants; anything else is
//!   [`StoreError::Other`] (a 500 with a generic detail), logged through Python's
//!   `logging` (logger `scimkit`) with its traceback.
//! * **Rust → Python**: configuration errors become `ValueError`
//!   ([`config_error`]), a database that cannot be opened `OSError`
//!   ([`open_error`]; PostgreSQL: [`connect_error`], with `ValueError` for a
//!   bad URL and the `OSError` subclasses `ConnectionError` /
//!   `PermissionError`), failed conformance checks `AssertionError`
//!   ([`check_failed`]). Protocol errors never become exceptions: they are
//!   responses.

use std::fmt;

use pyo3::exceptions::{
    PyAssertionError, PyConnectionError, PyOSError, PyPermissionError, PyValueError,
};
use pyo3::prelude::*;
use pyo3::{import_exception, intern};
use scimkit::{ConfigError, StoreError};

import_exception!(scimkit.exceptions, UniquenessError);
import_exception!(scimkit.exceptions, NotFoundError);
import_exception!(scimkit.exceptions, PreconditionFailedError);
import_exception!(scimkit.exceptions, UnsupportedError);
import_exception!(scimkit.exceptions, InvalidCursorError);
import_exception!(scimkit.exceptions, UnavailableError);

/// The cause of a [`StoreError`] raised in Python: the exception's type and
/// message, for logs (never sent to the client).
#[derive(Debug)]
pub(crate) struct PythonError(String);

impl fmt::Display for PythonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PythonError {}

impl PythonError {
    /// Describe `err` as `TypeName: message`.
    pub(crate) fn new(py: Python<'_>, err: &PyErr) -> Self {
        let ty = err
            .get_type(py)
            .qualname()
            .map(|n| n.to_string())
            .unwrap_or_else(|_| "Exception".to_owned());
        let msg = err
            .value(py)
            .str()
            .map(|s| s.to_string())
            .unwrap_or_default();
        Self(if msg.is_empty() {
            ty
        } else {
            format!("{ty}: {msg}")
        })
    }
}

/// Map an exception raised by the Python store's method `method` to a
/// [`StoreError`]. Unexpected exceptions are logged (with traceback) first.
pub(crate) fn store_error_from_py(py: Python<'_>, method: &str, err: PyErr) -> StoreError {
    if err.is_instance_of::<UnsupportedError>(py) {
        return StoreError::Unsupported;
    }
    if err.is_instance_of::<NotFoundError>(py) {
        return StoreError::NotFound;
    }
    if err.is_instance_of::<UniquenessError>(py) {
        let attribute = err
            .value(py)
            .getattr(intern!(py, "attribute"))
            .and_then(|a| a.extract::<String>())
            .ok()
            .filter(|a| !a.is_empty())
            .unwrap_or_else(|| "userName".to_owned());
        return StoreError::Uniqueness { attribute };
    }
    if err.is_instance_of::<PreconditionFailedError>(py) {
        return StoreError::PreconditionFailed;
    }
    if err.is_instance_of::<InvalidCursorError>(py) {
        return StoreError::InvalidCursor;
    }
    if err.is_instance_of::<UnavailableError>(py) {
        let retry_after = err
            .value(py)
            .getattr(intern!(py, "retry_after"))
            .and_then(|a| a.extract::<u32>())
            .unwrap_or(1);
        return StoreError::Unavailable {
            retry_after,
            source: Box::new(PythonError::new(py, &err)),
        };
    }
    log_exception(py, &format!("store method {method}() raised"), &err);
    StoreError::Other(Box::new(PythonError::new(py, &err)))
}

/// Log `err` with its traceback on the `scimkit` logger at ERROR level.
pub(crate) fn log_exception(py: Python<'_>, what: &str, err: &PyErr) {
    let logged = (|| -> PyResult<()> {
        let logger = py
            .import(intern!(py, "logging"))?
            .call_method1(intern!(py, "getLogger"), (intern!(py, "scimkit"),))?;
        let kwargs = pyo3::types::PyDict::new(py);
        kwargs.set_item(intern!(py, "exc_info"), err.value(py))?;
        logger.call_method(intern!(py, "error"), ("%s", what), Some(&kwargs))?;
        Ok(())
    })();
    if let Err(e) = logged {
        // Logging itself failed (e.g. during interpreter shutdown): fall back to
        // the interpreter's own reporting of the original error.
        err.clone_ref(py).print(py);
        drop(e);
    }
}

/// A configuration error of the server builder as `ValueError`.
pub(crate) fn config_error(e: ConfigError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// A database that cannot be opened as `OSError` (the message names the path).
pub(crate) fn open_error(e: scimkit_sqlite::OpenError) -> PyErr {
    PyOSError::new_err(e.to_string())
}

/// A PostgreSQL database that cannot be opened: `ValueError` for a URL that
/// does not parse, `ConnectionError` for an unreachable server,
/// `PermissionError` for refused credentials, `OSError` otherwise (no such
/// database, a newer schema, a failed migration). The message names the server
/// without the password (`ConnectError` never shows it).
pub(crate) fn connect_error(e: scimkit_postgres::ConnectError) -> PyErr {
    use scimkit_postgres::ConnectErrorKind;
    let msg = e.to_string();
    match e.kind() {
        ConnectErrorKind::InvalidUrl(_) => PyValueError::new_err(msg),
        ConnectErrorKind::Unreachable(_) => PyConnectionError::new_err(msg),
        ConnectErrorKind::Authentication(_) => PyPermissionError::new_err(msg),
        _ => PyOSError::new_err(msg),
    }
}

/// A store failure outside a request (e.g. an integrity check) as `OSError`.
pub(crate) fn store_failure(e: &StoreError) -> PyErr {
    PyOSError::new_err(e.to_string())
}

/// A failed store conformance check as `AssertionError`.
pub(crate) fn check_failed(name: &str, panic: &(dyn std::any::Any + Send)) -> PyErr {
    let msg = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)");
    PyAssertionError::new_err(format!("store conformance check {name:?} failed: {msg}"))
}

#[cfg(test)]
mod tests {
    use pyo3::types::{PyDict, PyModule};

    use super::*;

    /// Import `scimkit.exceptions` from the source tree without the package's
    /// `__init__` (which needs the built extension module).
    fn exceptions(py: Python<'_>) -> PyResult<Bound<'_, PyModule>> {
        let pkg = PyModule::new(py, "scimkit")?;
        pkg.setattr(
            "__path__",
            vec![concat!(env!("CARGO_MANIFEST_DIR"), "/scimkit")],
        )?;
        py.import("sys")?
            .getattr("modules")?
            .set_item("scimkit", pkg)?;
        py.import("scimkit.exceptions")
    }

    fn raise(py: Python<'_>, class: &str, kwargs: &[(&str, Bound<'_, PyAny>)]) -> PyErr {
        let module = exceptions(py).expect("scimkit.exceptions imports");
        let kw = PyDict::new(py);
        for (k, v) in kwargs {
            kw.set_item(k, v).expect("kwargs");
        }
        let value = module
            .getattr(class)
            .and_then(|c| c.call((), Some(&kw)))
            .expect("exception instance");
        PyErr::from_value(value)
    }

    #[test]
    fn python_exceptions_map_to_store_errors() {
        Python::initialize();
        Python::attach(|py| {
            let attr = "externalId".into_pyobject(py).unwrap().into_any();
            let e = store_error_from_py(
                py,
                "create",
                raise(py, "UniquenessError", &[("attribute", attr)]),
            );
            assert!(
                matches!(&e, StoreError::Uniqueness { attribute } if attribute == "externalId"),
                "{e:?}"
            );
            let e = store_error_from_py(py, "get", raise(py, "NotFoundError", &[]));
            assert!(matches!(e, StoreError::NotFound), "{e:?}");
            let e = store_error_from_py(py, "replace", raise(py, "PreconditionFailedError", &[]));
            assert!(matches!(e, StoreError::PreconditionFailed), "{e:?}");
            let e = store_error_from_py(py, "query", raise(py, "UnsupportedError", &[]));
            assert!(matches!(e, StoreError::Unsupported), "{e:?}");
            let e = store_error_from_py(py, "query", raise(py, "InvalidCursorError", &[]));
            assert!(matches!(e, StoreError::InvalidCursor), "{e:?}");
            let secs = 9_u32.into_pyobject(py).unwrap().into_any();
            let e = store_error_from_py(
                py,
                "get",
                raise(py, "UnavailableError", &[("retry_after", secs)]),
            );
            assert!(
                matches!(e, StoreError::Unavailable { retry_after: 9, .. }),
                "{e:?}"
            );
            let e = store_error_from_py(
                py,
                "get",
                pyo3::exceptions::PyRuntimeError::new_err("db password is hunter2"),
            );
            match e {
                StoreError::Other(source) => {
                    assert_eq!(source.to_string(), "RuntimeError: db password is hunter2")
                }
                other => panic!("{other:?}"),
            }
        });
    }

    #[test]
    fn panics_become_assertion_errors() {
        let err = check_failed("crud", &String::from("replace bumps the version"));
        Python::initialize();
        Python::attach(|py| {
            assert!(err.is_instance_of::<PyAssertionError>(py));
            assert_eq!(
                err.value(py).to_string(),
                "store conformance check \"crud\" failed: replace bumps the version"
            );
        });
    }
}
