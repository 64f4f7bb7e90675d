//! `Server(..., on_event=callable)`: the engine's provisioning events
//! (`scimkit::events`), handed to a Python callable.
//!
//! The engine queues each event after the store commit and delivers it on its
//! own background thread, so a slow callable never delays a response; the
//! callable runs there with the GIL re-acquired. `Server.flush_events()` waits
//! until everything queued so far was delivered.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyString;
use scimkit::EventHandler;

use crate::errors::log_exception;
use crate::json::to_py;
use crate::store::kind_str;

/// A provisioning event, passed to the `on_event` callable.
#[pyclass(name = "Event", module = "scimkit._native", frozen)]
#[derive(Debug)]
pub(crate) struct PyEvent {
    event: scimkit::Event,
}

#[pymethods]
impl PyEvent {
    /// What happened: `"created"`, `"linked"`, `"updated"`, `"deactivated"`,
    /// `"reactivated"`, `"deleted"`, `"queued_for_review"`, `"members_added"` or
    /// `"members_removed"`.
    #[getter]
    #[pyo3(name = "type")]
    fn ty(&self) -> &'static str {
        self.event.kind.as_str()
    }

    /// `"User"` or `"Group"`.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        kind_str(py, self.event.resource_type).clone()
    }

    /// The resource id.
    #[getter]
    fn id(&self) -> &str {
        &self.event.id
    }

    /// The tenant.
    #[getter]
    fn tenant(&self) -> &str {
        &self.event.tenant
    }

    /// The user's `userName` or the group's `displayName`, when known.
    #[getter]
    fn name(&self) -> Option<&str> {
        self.event.name.as_deref()
    }

    /// For `"updated"`: the top-level attributes whose value changed.
    #[getter]
    fn changed(&self) -> Vec<String> {
        self.event.changed.clone()
    }

    /// For membership events: the member ids.
    #[getter]
    fn members(&self) -> Vec<String> {
        self.event.members.clone()
    }

    /// When it happened (fixed-width UTC, e.g. `2024-01-01T00:00:00.000Z`).
    #[getter]
    fn time(&self) -> &str {
        &self.event.time
    }

    /// The request that caused it.
    #[getter]
    fn request_id(&self) -> &str {
        &self.event.request_id
    }

    /// The event as a dict (its JSON form).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.event.to_json())
    }

    fn __repr__(&self) -> String {
        format!(
            "Event(type={:?}, kind={:?}, id={:?}, tenant={:?})",
            self.event.kind.as_str(),
            self.event.resource_type.as_str(),
            self.event.id,
            self.event.tenant
        )
    }
}

/// Delivers engine events to a Python callable.
pub(crate) struct PyEventHandler {
    callback: Arc<Py<PyAny>>,
}

impl PyEventHandler {
    pub(crate) fn new(callback: Py<PyAny>) -> Self {
        Self {
            callback: Arc::new(callback),
        }
    }
}

impl EventHandler for PyEventHandler {
    fn handle(&self, event: &scimkit::Event) {
        Python::attach(|py| {
            let result = Bound::new(
                py,
                PyEvent {
                    event: event.clone(),
                },
            )
            .and_then(|e| self.callback.bind(py).call1((e,)));
            if let Err(err) = result {
                // The change is stored; a failing callback loses only its event.
                log_exception(py, "on_event callback raised", &err);
            }
        });
    }
}
