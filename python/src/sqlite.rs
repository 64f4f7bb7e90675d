//! `SqliteStore(path)`: the embedded SQLite store (`scimkit-sqlite`).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use scimkit::UserStore;
use scimkit_sqlite::{SqliteOptions, SqliteStore, Synchronous};

use crate::errors::{open_error, store_failure};
use crate::forksafe::ForkSafe;

/// A SQLite database file (created with its schema if absent; WAL, one writer
/// and a pool of readers). Several processes may share the file.
#[pyclass(name = "SqliteStore", module = "scimkit._native", frozen)]
#[derive(Debug)]
pub(crate) struct PySqliteStore {
    /// Opened again in a forked child (gunicorn `--preload`): see `forksafe`.
    store: Arc<ForkSafe<SqliteStore>>,
}

impl PySqliteStore {
    pub(crate) fn shared(&self) -> Arc<dyn UserStore> {
        self.store.clone()
    }

    fn current(&self) -> PyResult<Arc<SqliteStore>> {
        self.store.current().map_err(|e| store_failure(&e))
    }
}

#[pymethods]
impl PySqliteStore {
    #[new]
    #[pyo3(signature = (path, *, synchronous = "full", readers = None, busy_timeout = None))]
    fn new(
        py: Python<'_>,
        path: PathBuf,
        synchronous: &str,
        readers: Option<usize>,
        busy_timeout: Option<f64>,
    ) -> PyResult<Self> {
        let mut options = SqliteOptions::default().synchronous(match synchronous {
            "full" => Synchronous::Full,
            "normal" => Synchronous::Normal,
            "off" => Synchronous::Off,
            other => {
                return Err(PyValueError::new_err(format!(
                    "synchronous must be \"full\", \"normal\" or \"off\", not {other:?}"
                )));
            }
        });
        if let Some(n) = readers {
            options = options.readers(n);
        }
        if let Some(secs) = busy_timeout {
            let timeout = Duration::try_from_secs_f64(secs).map_err(|_| {
                PyValueError::new_err("busy_timeout must be a non-negative number of seconds")
            })?;
            options = options.busy_timeout(timeout);
        }
        let in_memory = path.as_os_str() == ":memory:";
        let open = move || {
            if in_memory {
                SqliteStore::open_in_memory()
            } else {
                SqliteStore::open_with(&path, &options)
            }
        };
        let opened = py.detach(&open).map_err(open_error)?;
        Ok(Self {
            store: ForkSafe::new(opened, move || open().map_err(|e| e.to_string())),
        })
    }

    /// The database file, or `None` for `":memory:"`.
    #[getter]
    fn path(&self) -> PyResult<Option<String>> {
        Ok(self
            .current()?
            .path()
            .map(|p| p.to_string_lossy().into_owned()))
    }

    /// Run SQLite's integrity check: the problems found (empty when sound).
    fn integrity_check(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let store = self.current()?;
        py.detach(|| store.integrity_check())
            .map_err(|e| store_failure(&e))
    }

    fn __repr__(&self) -> PyResult<String> {
        Ok(match self.current()?.path() {
            Some(p) => format!("SqliteStore({:?})", p.display().to_string()),
            None => "SqliteStore(':memory:')".to_owned(),
        })
    }
}
