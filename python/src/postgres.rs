//! `PostgresStore(url)`: the PostgreSQL store (`scimkit-postgres`).

use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use scimkit::UserStore;
use scimkit_postgres::{PostgresOptions, PostgresStore};

use crate::errors::connect_error;
use crate::forksafe::ForkSafe;

/// A PostgreSQL database (schema created or migrated on connect), which
/// several processes and servers may share.
#[pyclass(name = "PostgresStore", module = "scimkit._native", frozen)]
#[derive(Debug)]
pub(crate) struct PyPostgresStore {
    /// Opened again in a forked child (gunicorn `--preload`): see `forksafe`.
    store: Arc<ForkSafe<PostgresStore>>,
    /// `postgresql://user@host:port/dbname` (no password).
    target: String,
}

impl PyPostgresStore {
    pub(crate) fn shared(&self) -> Arc<dyn UserStore> {
        self.store.clone()
    }
}

/// `seconds` as a positive duration, or a `ValueError` naming `what`.
fn seconds(what: &str, secs: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            PyValueError::new_err(format!("{what} must be a positive number of seconds"))
        })
}

#[pymethods]
impl PyPostgresStore {
    #[new]
    #[pyo3(signature = (
        url,
        *,
        max_connections = None,
        min_idle = None,
        connect_timeout = None,
        checkout_timeout = None,
        retries = None,
        application_name = None,
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        url: &str,
        max_connections: Option<u32>,
        min_idle: Option<u32>,
        connect_timeout: Option<f64>,
        checkout_timeout: Option<f64>,
        retries: Option<u32>,
        application_name: Option<String>,
    ) -> PyResult<Self> {
        let mut options = PostgresOptions::default();
        if let Some(n) = max_connections {
            if n == 0 {
                return Err(PyValueError::new_err("max_connections must be at least 1"));
            }
            options = options.max_connections(n);
        }
        if let Some(n) = min_idle {
            options = options.min_idle(n);
        }
        if let Some(s) = connect_timeout {
            options = options.connect_timeout(seconds("connect_timeout", s)?);
        }
        if let Some(s) = checkout_timeout {
            options = options.checkout_timeout(seconds("checkout_timeout", s)?);
        }
        if let Some(n) = retries {
            options = options.retries(n);
        }
        if let Some(name) = application_name {
            options = options.application_name(name);
        }
        let store = py
            .detach(|| PostgresStore::connect_with(url, &options))
            .map_err(connect_error)?;
        let url = url.to_owned();
        let target = store.target().to_string();
        Ok(Self {
            target,
            store: ForkSafe::new(store, move || {
                PostgresStore::connect_with(&url, &options).map_err(|e| e.to_string())
            }),
        })
    }

    /// The server and database, as `postgresql://user@host:port/dbname`
    /// (never with the password).
    #[getter]
    fn target(&self) -> String {
        self.target.clone()
    }

    /// Check that the database answers (e.g. for a readiness probe); raises
    /// `ConnectionError` if it does not.
    fn ping(&self, py: Python<'_>) -> PyResult<()> {
        let fail = |e: &dyn std::fmt::Display| {
            pyo3::exceptions::PyConnectionError::new_err(format!(
                "the PostgreSQL store at {} does not answer: {e}",
                self.target
            ))
        };
        let store = self.store.current().map_err(|e| fail(&e))?;
        py.detach(|| store.ping()).map_err(|e| fail(&e))
    }

    fn __repr__(&self) -> String {
        format!("PostgresStore({:?})", self.target.as_str())
    }
}
