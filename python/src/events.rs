//! `Server(..., on_event=callable)`: provisioning events observed at the store
//! boundary.
//!
//! [`ObservedStore`] wraps any store and, after each successful write, calls the
//! Python callable with an [`Event`]. It needs no engine support: it sees what
//! the engine asks the store to do. What it cannot see, it does not report —
//! notably the removal of a deleted user from its groups (a cascade inside the
//! store's `delete`) raises no `group_membership_changed`.

use std::collections::BTreeSet;
use std::sync::Arc;

use pyo3::prelude::*;
use scimkit::store::{MemberChange, Members, Page, Query, StoreResult};
use scimkit::{Ctx, ResourceKind, Stored, UserStore};
use serde_json::Value;

use crate::errors::log_exception;
use crate::json::to_py;
use crate::store::kind_str;

/// A provisioning event, passed to the `on_event` callable after the change was
/// stored.
#[pyclass(name = "Event", module = "scimkit._native", frozen)]
#[derive(Debug)]
pub(crate) struct Event {
    /// `"created"`, `"updated"`, `"deactivated"`, `"reactivated"`, `"deleted"` or
    /// `"group_membership_changed"`.
    #[pyo3(get, name = "type")]
    ty: &'static str,
    kind: ResourceKind,
    /// The resource id.
    #[pyo3(get)]
    id: String,
    /// The tenant.
    #[pyo3(get)]
    tenant: String,
    /// The request id.
    #[pyo3(get)]
    request_id: String,
    resource: Option<Value>,
    /// Member ids added (`group_membership_changed`), else empty.
    #[pyo3(get)]
    added: Vec<String>,
    /// Member ids removed (`group_membership_changed`), else empty.
    #[pyo3(get)]
    removed: Vec<String>,
}

#[pymethods]
impl Event {
    /// `"User"` or `"Group"`.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> Bound<'py, pyo3::types::PyString> {
        kind_str(py, self.kind).clone()
    }

    /// The resource after the change (as stored; a group changed through
    /// `modify_members` may come without `members`), or `None` for `deleted`.
    #[getter]
    fn resource<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.resource {
            Some(v) => to_py(py, v),
            None => Ok(py.None().into_bound(py)),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Event(type={:?}, kind={:?}, id={:?}, tenant={:?})",
            self.ty,
            self.kind.as_str(),
            self.id,
            self.tenant
        )
    }
}

/// A store that reports its successful writes to a Python callable.
pub(crate) struct ObservedStore {
    inner: Arc<dyn UserStore>,
    callback: Py<PyAny>,
}

impl std::fmt::Debug for ObservedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObservedStore").finish_non_exhaustive()
    }
}

impl ObservedStore {
    pub(crate) fn new(inner: Arc<dyn UserStore>, callback: Py<PyAny>) -> Self {
        Self { inner, callback }
    }

    fn emit(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        Python::attach(|py| {
            for e in events {
                let result = Bound::new(py, e).and_then(|e| self.callback.bind(py).call1((e,)));
                if let Err(err) = result {
                    // The change is stored; a failing callback must not turn it into
                    // an error response.
                    log_exception(py, "on_event callback raised", &err);
                }
            }
        });
    }
}

fn event(
    ty: &'static str,
    ctx: &Ctx,
    kind: ResourceKind,
    id: &str,
    resource: Option<Value>,
) -> Event {
    Event {
        ty,
        kind,
        id: id.to_owned(),
        tenant: ctx.tenant.clone(),
        request_id: ctx.request_id.clone(),
        resource,
        added: Vec::new(),
        removed: Vec::new(),
    }
}

fn active(v: &Value) -> bool {
    // An absent `active` counts as active (RFC 7643 leaves it to the service).
    !matches!(v.get("active"), Some(Value::Bool(false)))
}

fn member_ids(v: &Value) -> BTreeSet<String> {
    v.get("members")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

impl UserStore for ObservedStore {
    fn create(&self, ctx: &Ctx, kind: ResourceKind, resource: Value) -> StoreResult<Stored> {
        let s = self.inner.create(ctx, kind, resource)?;
        let mut events = vec![event("created", ctx, kind, &s.id, Some(s.resource.clone()))];
        if kind == ResourceKind::Group {
            let added: Vec<String> = member_ids(&s.resource).into_iter().collect();
            if !added.is_empty() {
                let mut e = event(
                    "group_membership_changed",
                    ctx,
                    kind,
                    &s.id,
                    Some(s.resource.clone()),
                );
                e.added = added;
                events.push(e);
            }
        }
        self.emit(events);
        Ok(s)
    }

    fn get(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        m: Members,
    ) -> StoreResult<Option<Stored>> {
        self.inner.get(ctx, kind, id, m)
    }

    fn replace(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        // The previous state, to tell deactivation and membership changes apart.
        // Best effort: a failed read only loses those finer events.
        let before = self
            .inner
            .get(ctx, kind, id, Members::Include)
            .ok()
            .flatten();
        let s = self.inner.replace(ctx, kind, id, resource, if_version)?;
        let mut events = vec![event("updated", ctx, kind, &s.id, Some(s.resource.clone()))];
        if let Some(before) = before {
            match kind {
                ResourceKind::User => match (active(&before.resource), active(&s.resource)) {
                    (true, false) => events.push(event(
                        "deactivated",
                        ctx,
                        kind,
                        &s.id,
                        Some(s.resource.clone()),
                    )),
                    (false, true) => events.push(event(
                        "reactivated",
                        ctx,
                        kind,
                        &s.id,
                        Some(s.resource.clone()),
                    )),
                    _ => {}
                },
                ResourceKind::Group => {
                    let (old, new) = (member_ids(&before.resource), member_ids(&s.resource));
                    if old != new {
                        let mut e = event(
                            "group_membership_changed",
                            ctx,
                            kind,
                            &s.id,
                            Some(s.resource.clone()),
                        );
                        e.added = new.difference(&old).cloned().collect();
                        e.removed = old.difference(&new).cloned().collect();
                        events.push(e);
                    }
                }
            }
        }
        self.emit(events);
        Ok(s)
    }

    fn delete(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        if_version: Option<u64>,
    ) -> StoreResult<()> {
        self.inner.delete(ctx, kind, id, if_version)?;
        self.emit(vec![event("deleted", ctx, kind, id, None)]);
        Ok(())
    }

    fn query(&self, ctx: &Ctx, kind: ResourceKind, query: &Query) -> StoreResult<Page> {
        self.inner.query(ctx, kind, query)
    }

    fn modify_members(
        &self,
        ctx: &Ctx,
        group_id: &str,
        change: &MemberChange,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        let s = self
            .inner
            .modify_members(ctx, group_id, change, if_version)?;
        let mut e = event(
            "group_membership_changed",
            ctx,
            ResourceKind::Group,
            group_id,
            Some(s.resource.clone()),
        );
        e.added = change.add.iter().map(|m| m.value.clone()).collect();
        e.removed = change.remove.clone();
        if change.remove_all || !e.added.is_empty() || !e.removed.is_empty() {
            self.emit(vec![e]);
        }
        Ok(s)
    }
}
