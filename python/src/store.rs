//! Stores: the native ones (`MemoryStore`), and the adapter that makes any
//! Python object implementing the `scimkit.UserStore` protocol a
//! [`UserStore`] — plus the objects a Python store is handed (`Ctx`, `Query`,
//! `MemberChange`).
//!
//! Every call into a Python store attaches to the interpreter for the duration
//! of the call only; the engine runs detached around it.

use std::cmp::Ordering;
use std::sync::Arc;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::intern;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyString, PyTuple, PyType};
use scimkit::filter::{AttrPath, CompValue, CompareOp, Filter};
use scimkit::store::{
    Member, MemberChange, Members, Page, PageRequest, Query, StoreResult, apply_member_change,
    paginate, unique_key,
};
use scimkit::{Ctx, MemoryStore, ResourceKind, Stored, UserStore};
use serde_json::Value;

use crate::errors::store_error_from_py;
use crate::json::{from_py, resource_from_py, to_py};

// ===== Ctx =====

/// The context of a store call: tenant, request id and actor.
#[pyclass(name = "Ctx", module = "scimkit._native", frozen)]
#[derive(Debug)]
pub(crate) struct PyCtx {
    /// The tenant the request belongs to (from the bearer token).
    #[pyo3(get)]
    tenant: String,
    /// The request id (the `X-Request-Id` header, or a fresh UUID).
    #[pyo3(get)]
    request_id: String,
    /// Who acts: the token id, or `None`.
    #[pyo3(get)]
    actor: Option<String>,
}

#[pymethods]
impl PyCtx {
    #[new]
    #[pyo3(signature = (tenant, *, request_id = None, actor = None))]
    fn new(tenant: String, request_id: Option<String>, actor: Option<String>) -> Self {
        let base = Ctx::new(tenant);
        Self {
            tenant: base.tenant,
            request_id: request_id.unwrap_or(base.request_id),
            actor,
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Ctx(tenant={:?}, request_id={:?}, actor={:?})",
            self.tenant, self.request_id, self.actor
        )
    }
}

impl From<&Ctx> for PyCtx {
    fn from(c: &Ctx) -> Self {
        Self {
            tenant: c.tenant.clone(),
            request_id: c.request_id.clone(),
            actor: c.actor.clone(),
        }
    }
}

pub(crate) fn kind_str(py: Python<'_>, kind: ResourceKind) -> &Bound<'_, PyString> {
    match kind {
        ResourceKind::User => intern!(py, "User"),
        ResourceKind::Group => intern!(py, "Group"),
    }
}

fn kind_from_str(s: &str) -> PyResult<ResourceKind> {
    match s {
        "User" => Ok(ResourceKind::User),
        "Group" => Ok(ResourceKind::Group),
        _ => Err(PyValueError::new_err(format!(
            "unknown resource kind {s:?} (expected \"User\" or \"Group\")"
        ))),
    }
}

// ===== Stored / Page (Python named tuples in scimkit.store) =====

fn python_class<'py>(
    py: Python<'py>,
    cell: &'static PyOnceLock<Py<PyType>>,
    name: &str,
) -> PyResult<&'py Bound<'py, PyType>> {
    cell.import(py, "scimkit.store", name)
}

static PAGE: PyOnceLock<Py<PyType>> = PyOnceLock::new();

/// Read a `Stored` (or any `(id, resource, version)` triple or object with
/// those attributes) returned by a Python store.
pub(crate) fn stored_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Stored> {
    let py = obj.py();
    let (id, resource, version) = match obj.cast::<PyTuple>() {
        Ok(t) if t.len() == 3 => (t.get_item(0)?, t.get_item(1)?, t.get_item(2)?),
        _ => (
            obj.getattr(intern!(py, "id"))?,
            obj.getattr(intern!(py, "resource"))?,
            obj.getattr(intern!(py, "version"))?,
        ),
    };
    let id: String = id
        .extract()
        .map_err(|_| PyTypeError::new_err("Stored.id must be a str"))?;
    let version: u64 = version
        .extract()
        .map_err(|_| PyTypeError::new_err("Stored.version must be a non-negative int"))?;
    Ok(Stored {
        id,
        resource: resource_from_py(&resource)?,
        version,
    })
}

fn page_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Page> {
    let py = obj.py();
    let (resources, total, cursor) = match obj.cast::<PyTuple>() {
        Ok(t) if t.len() == 3 => (t.get_item(0)?, t.get_item(1)?, t.get_item(2)?),
        _ => (
            obj.getattr(intern!(py, "resources"))?,
            obj.getattr(intern!(py, "total_results"))?,
            obj.getattr(intern!(py, "next_cursor"))?,
        ),
    };
    let mut out = Vec::new();
    for item in resources.try_iter()? {
        out.push(stored_from_py(&item?)?);
    }
    Ok(Page {
        resources: out,
        total_results: total
            .extract()
            .map_err(|_| PyTypeError::new_err("Page.total_results must be a non-negative int"))?,
        next_cursor: cursor
            .extract()
            .map_err(|_| PyTypeError::new_err("Page.next_cursor must be a str or None"))?,
    })
}

// ===== Query =====

/// A query handed to `UserStore.query`: filter, sort, page, and the reference
/// semantics (`matches`, `compare`) every push-down must agree with.
#[pyclass(name = "Query", module = "scimkit._native", frozen)]
#[derive(Debug)]
pub(crate) struct PyQuery {
    pub(crate) q: Query,
}

#[pymethods]
impl PyQuery {
    /// `"User"` or `"Group"`.
    #[getter]
    fn kind<'py>(&self, py: Python<'py>) -> Bound<'py, PyString> {
        kind_str(py, self.q.kind()).clone()
    }

    /// The filter in canonical form (e.g. `userName eq "alice"`), or `None`.
    #[getter]
    fn filter(&self) -> Option<String> {
        self.q.filter.as_ref().map(ToString::to_string)
    }

    /// The canonical attribute path to sort by, or `None`.
    #[getter]
    fn sort_by(&self) -> Option<String> {
        self.q.sort.as_ref().map(|s| s.path.to_string())
    }

    /// Whether the sort is descending.
    #[getter]
    fn descending(&self) -> bool {
        self.q.sort.as_ref().is_some_and(|s| s.descending)
    }

    /// `"index"` (startIndex/count) or `"cursor"` (RFC 9865).
    #[getter]
    fn paging(&self) -> &'static str {
        match self.q.page {
            PageRequest::Index { .. } => "index",
            PageRequest::Cursor { .. } => "cursor",
        }
    }

    /// The 1-based start index (index paging), else `None`.
    #[getter]
    fn start_index(&self) -> Option<usize> {
        match self.q.page {
            PageRequest::Index { start_index, .. } => Some(start_index),
            PageRequest::Cursor { .. } => None,
        }
    }

    /// The most results wanted, or `None` for all of them.
    #[getter]
    fn count(&self) -> Option<usize> {
        Some(self.q.page.count()).filter(|c| *c != usize::MAX)
    }

    /// The cursor of the page wanted (cursor paging; `None` for the first page).
    #[getter]
    fn cursor(&self) -> Option<String> {
        match &self.q.page {
            PageRequest::Cursor { cursor, .. } => cursor.clone(),
            PageRequest::Index { .. } => None,
        }
    }

    /// Whether Groups should include `members` (a store may leave them out when
    /// false).
    #[getter]
    fn include_members(&self) -> bool {
        self.q.members == Members::Include
    }

    /// Whether `resource` (a dict or its JSON text) matches the filter (`True`
    /// without a filter).
    fn matches(&self, resource: &Bound<'_, PyAny>) -> PyResult<bool> {
        let v = resource_from_py(resource)?;
        Ok(self.q.matches(&v))
    }

    /// Compare two resources in the query's order (sort, then `id`): -1, 0 or 1.
    fn compare(&self, a: &Bound<'_, PyAny>, b: &Bound<'_, PyAny>) -> PyResult<i32> {
        let (a, b) = (resource_from_py(a)?, resource_from_py(b)?);
        Ok(ordering(self.q.compare(&a, &b)))
    }

    /// The page of `items` (already filtered and sorted) this query asks for:
    /// `(page_items, next_cursor)`. Raises `InvalidCursorError` for a bad cursor.
    fn paginate<'py>(
        &self,
        items: &Bound<'py, PyAny>,
    ) -> PyResult<(Bound<'py, PyList>, Option<String>)> {
        let py = items.py();
        let all: Vec<Bound<'py, PyAny>> = items.try_iter()?.collect::<PyResult<_>>()?;
        let (page, next) = paginate(all, &self.q.page).map_err(|_| invalid_cursor())?;
        Ok((PyList::new(py, page)?, next))
    }

    /// Answer the query over `stored` (an iterable of `Stored`, every resource of
    /// the kind in the tenant): filter, sort and page it exactly as the engine
    /// would, and return the `Page`.
    fn evaluate<'py>(&self, stored: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let py = stored.py();
        let mut hits: Vec<(Bound<'py, PyAny>, Value)> = Vec::new();
        for item in stored.try_iter()? {
            let item = item?;
            let s = stored_from_py(&item)?;
            if self.q.matches(&s.resource) {
                hits.push((item, s.resource));
            }
        }
        if self.q.sort.is_some() || hits.len() > 1 {
            hits.sort_by(|a, b| self.q.compare(&a.1, &b.1));
        }
        let total = hits.len();
        let (page, next) = paginate(hits, &self.q.page).map_err(|_| invalid_cursor())?;
        let resources = PyList::new(py, page.into_iter().map(|(o, _)| o))?;
        python_class(py, &PAGE, "Page")?.call1((resources, total, next))
    }

    /// For a filter that is one equality (`attr eq value`): `(attribute, value,
    /// case_exact)` with the canonical attribute path (e.g. `"userName"`,
    /// `"emails.value"`), so a store can answer it with an index. `case_exact`
    /// tells whether the comparison is case-sensitive. `None` for any other filter.
    fn equality<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<Option<(String, Bound<'py, PyAny>, bool)>> {
        let Some(Filter::Compare(path, CompareOp::Eq, value)) = &self.q.filter else {
            return Ok(None);
        };
        match self.eq_term(path, value) {
            Some((p, v, exact)) => Ok(Some((p, to_py(py, &v)?, exact))),
            None => Ok(None),
        }
    }

    /// The equalities every match must satisfy: the `attr eq value` terms joined
    /// by `and` at the top of the filter, with `attr[sub eq value]` given as
    /// `attr.sub` (e.g. Entra's membership check `id eq "g" and members[value eq
    /// "u"]` gives `[("id", "g", True), ("members.value", "u", ...)]`). A store may
    /// narrow its candidates by any of them, then let `evaluate` decide. Empty when
    /// there are none.
    fn equalities<'py>(&self, py: Python<'py>) -> PyResult<Vec<(String, Bound<'py, PyAny>, bool)>> {
        let mut terms = Vec::new();
        if let Some(f) = &self.q.filter {
            self.collect_equalities(f, None, &mut terms);
        }
        terms
            .into_iter()
            .map(|(p, v, exact)| Ok((p, to_py(py, &v)?, exact)))
            .collect()
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.q)
    }
}

impl PyQuery {
    /// `(canonical path, value, case_exact)` of `path eq value`, if the path is known
    /// and the value not `null`.
    fn eq_term(&self, path: &AttrPath, value: &CompValue) -> Option<(String, Value, bool)> {
        let res = self.q.schema().resolve(path)?;
        let leaf = res.sub.unwrap_or(res.attr);
        let v = match value {
            CompValue::Str(s) => Value::String(s.clone()),
            CompValue::Num(n) => Value::Number(n.clone()),
            CompValue::Bool(b) => Value::Bool(*b),
            CompValue::Null => return None,
        };
        Some((path.to_string(), v, leaf.case_exact))
    }

    /// Collect the necessary `eq` terms of `f` (under the value path `outer`).
    fn collect_equalities(
        &self,
        f: &Filter,
        outer: Option<&AttrPath>,
        out: &mut Vec<(String, Value, bool)>,
    ) {
        match f {
            Filter::And(a, b) => {
                self.collect_equalities(a, outer, out);
                self.collect_equalities(b, outer, out);
            }
            Filter::Compare(path, CompareOp::Eq, value) => {
                let full = match outer {
                    None => Some(path.clone()),
                    Some(o) if path.uri.is_none() && path.sub_attr.is_none() => Some(AttrPath {
                        uri: o.uri.clone(),
                        name: o.name.clone(),
                        sub_attr: Some(path.name.clone()),
                    }),
                    Some(_) => None,
                };
                if let Some(term) = full.and_then(|p| self.eq_term(&p, value)) {
                    out.push(term);
                }
            }
            Filter::ValuePath(path, inner) if outer.is_none() && path.sub_attr.is_none() => {
                self.collect_equalities(inner, Some(path), out);
            }
            _ => {}
        }
    }
}

fn ordering(o: Ordering) -> i32 {
    match o {
        Ordering::Less => -1,
        Ordering::Equal => 0,
        Ordering::Greater => 1,
    }
}

fn invalid_cursor() -> PyErr {
    crate::errors::InvalidCursorError::new_err("the cursor is invalid or has expired")
}

// ===== MemberChange =====

/// A change to a group's membership, handed to `UserStore.modify_members`.
#[pyclass(name = "MemberChange", module = "scimkit._native", frozen)]
#[derive(Debug)]
pub(crate) struct PyMemberChange {
    pub(crate) change: MemberChange,
}

#[pymethods]
impl PyMemberChange {
    /// Members to add, as `members` entries (`{"value": id, "type": ..., "display": ...}`).
    #[getter]
    fn add<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .change
            .add
            .iter()
            .map(|m| to_py(py, &m.to_json()))
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// Member ids to remove (absent ones are ignored).
    #[getter]
    fn remove(&self) -> Vec<String> {
        self.change.remove.clone()
    }

    /// Whether every member is removed first.
    #[getter]
    fn remove_all(&self) -> bool {
        self.change.remove_all
    }

    /// The group's new `meta.lastModified`.
    #[getter]
    fn last_modified(&self) -> &str {
        &self.change.last_modified
    }

    /// Apply the change to a Group resource (a dict): returns the new resource
    /// (members updated, `meta.lastModified` set).
    fn apply<'py>(&self, resource: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
        let mut v = resource_from_py(resource)?;
        apply_member_change(&mut v, &self.change);
        to_py(resource.py(), &v)
    }

    fn __repr__(&self) -> String {
        format!("{:?}", self.change)
    }
}

// ===== native stores =====

/// The in-memory store (nothing survives the process; for tests, examples and
/// single-process apps).
#[pyclass(name = "MemoryStore", module = "scimkit._native", frozen)]
#[derive(Debug, Default)]
pub(crate) struct PyMemoryStore {
    store: Arc<MemoryStore>,
}

#[pymethods]
impl PyMemoryStore {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    fn __repr__(&self) -> &'static str {
        "MemoryStore()"
    }
}

/// The store behind a Python `store=` argument: a native store, or a Python
/// object implementing the protocol (adapted).
pub(crate) fn store_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Arc<dyn UserStore>> {
    if let Ok(m) = obj.cast::<PyMemoryStore>() {
        return Ok(m.get().store.clone());
    }
    if let Ok(s) = obj.cast::<crate::sqlite::PySqliteStore>() {
        return Ok(s.get().shared());
    }
    if let Ok(s) = obj.cast::<crate::postgres::PyPostgresStore>() {
        return Ok(s.get().shared());
    }
    let py = obj.py();
    let mut missing = Vec::new();
    for m in ["create", "get", "replace", "delete", "query"] {
        let ok = obj.getattr(m).map(|a| a.is_callable()).unwrap_or(false);
        if !ok {
            missing.push(m);
        }
    }
    if !missing.is_empty() {
        return Err(PyTypeError::new_err(format!(
            "store must be a scimkit store (MemoryStore(), ...) or implement the scimkit.UserStore protocol; {} has no {}()",
            obj.get_type().name()?,
            missing.join("(), no ")
        )));
    }
    let inner = PyStore {
        obj: obj.clone().unbind(),
    };
    let has_members = obj
        .getattr(intern!(py, "modify_members"))
        .map(|a| a.is_callable())
        .unwrap_or(false);
    Ok(if has_members {
        Arc::new(PyStoreWithMembers(inner))
    } else {
        Arc::new(inner)
    })
}

// ===== the Python-store adapter =====

/// A Python object implementing the `scimkit.UserStore` protocol, as a
/// [`UserStore`] (without `modify_members`: the trait's default get + replace).
#[derive(Debug)]
pub(crate) struct PyStore {
    obj: Py<PyAny>,
}

/// A [`PyStore`] whose object has `modify_members`.
#[derive(Debug)]
pub(crate) struct PyStoreWithMembers(PyStore);

impl PyStore {
    /// Call `method` with `args`, convert the result with `f`; every failure (the
    /// method's exception, a wrongly typed result) maps to a [`StoreError`].
    fn call<T>(
        &self,
        method: &'static str,
        args: impl for<'py> FnOnce(Python<'py>) -> PyResult<Bound<'py, PyTuple>>,
        f: impl for<'py> FnOnce(&Bound<'py, PyAny>) -> PyResult<T>,
    ) -> StoreResult<T> {
        Python::attach(|py| {
            let result = args(py)
                .and_then(|a| self.obj.bind(py).call_method1(method, a))
                .and_then(|r| f(&r));
            result.map_err(|e| store_error_from_py(py, method, e))
        })
    }
}

fn ctx_py<'py>(py: Python<'py>, ctx: &Ctx) -> PyResult<Bound<'py, PyCtx>> {
    Bound::new(py, PyCtx::from(ctx))
}

impl UserStore for PyStore {
    fn create(&self, ctx: &Ctx, kind: ResourceKind, resource: Value) -> StoreResult<Stored> {
        self.call(
            "create",
            |py| {
                PyTuple::new(
                    py,
                    [
                        ctx_py(py, ctx)?.into_any(),
                        kind_str(py, kind).clone().into_any(),
                        to_py(py, &resource)?,
                    ],
                )
            },
            stored_from_py,
        )
    }

    fn get(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> StoreResult<Option<Stored>> {
        self.call(
            "get",
            |py| {
                PyTuple::new(
                    py,
                    [
                        ctx_py(py, ctx)?.into_any(),
                        kind_str(py, kind).clone().into_any(),
                        PyString::new(py, id).into_any(),
                        pyo3::types::PyBool::new(py, members == Members::Include)
                            .to_owned()
                            .into_any(),
                    ],
                )
            },
            |r| {
                if r.is_none() {
                    Ok(None)
                } else {
                    stored_from_py(r).map(Some)
                }
            },
        )
    }

    fn replace(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        self.call(
            "replace",
            |py| {
                PyTuple::new(
                    py,
                    [
                        ctx_py(py, ctx)?.into_any(),
                        kind_str(py, kind).clone().into_any(),
                        PyString::new(py, id).into_any(),
                        to_py(py, &resource)?,
                        if_version.into_pyobject(py)?.into_any(),
                    ],
                )
            },
            stored_from_py,
        )
    }

    fn delete(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        if_version: Option<u64>,
    ) -> StoreResult<()> {
        self.call(
            "delete",
            |py| {
                PyTuple::new(
                    py,
                    [
                        ctx_py(py, ctx)?.into_any(),
                        kind_str(py, kind).clone().into_any(),
                        PyString::new(py, id).into_any(),
                        if_version.into_pyobject(py)?.into_any(),
                    ],
                )
            },
            |_| Ok(()),
        )
    }

    fn query(&self, ctx: &Ctx, kind: ResourceKind, query: &Query) -> StoreResult<Page> {
        self.call(
            "query",
            |py| {
                PyTuple::new(
                    py,
                    [
                        ctx_py(py, ctx)?.into_any(),
                        kind_str(py, kind).clone().into_any(),
                        Bound::new(py, PyQuery { q: query.clone() })?.into_any(),
                    ],
                )
            },
            page_from_py,
        )
    }
}

impl UserStore for PyStoreWithMembers {
    fn create(&self, ctx: &Ctx, kind: ResourceKind, resource: Value) -> StoreResult<Stored> {
        self.0.create(ctx, kind, resource)
    }
    fn get(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        members: Members,
    ) -> StoreResult<Option<Stored>> {
        self.0.get(ctx, kind, id, members)
    }
    fn replace(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        self.0.replace(ctx, kind, id, resource, if_version)
    }
    fn delete(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        if_version: Option<u64>,
    ) -> StoreResult<()> {
        self.0.delete(ctx, kind, id, if_version)
    }
    fn query(&self, ctx: &Ctx, kind: ResourceKind, query: &Query) -> StoreResult<Page> {
        self.0.query(ctx, kind, query)
    }
    fn modify_members(
        &self,
        ctx: &Ctx,
        group_id: &str,
        change: &MemberChange,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        self.0.call(
            "modify_members",
            |py| {
                PyTuple::new(
                    py,
                    [
                        ctx_py(py, ctx)?.into_any(),
                        PyString::new(py, group_id).into_any(),
                        Bound::new(
                            py,
                            PyMemberChange {
                                change: change.clone(),
                            },
                        )?
                        .into_any(),
                        if_version.into_pyobject(py)?.into_any(),
                    ],
                )
            },
            stored_from_py,
        )
    }
}

// ===== helpers exposed to Python =====

/// The uniqueness key of a resource (`kind` `"User"` or `"Group"`): for a User
/// its case-folded `userName` (exactly the folding the Rust stores use); for a
/// Group `None`.
#[pyfunction(name = "unique_key")]
pub(crate) fn py_unique_key(kind: &str, resource: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
    let kind = kind_from_str(kind)?;
    let v = resource_from_py(resource)?;
    Ok(unique_key(kind, &v))
}

/// A `MemberChange` built from Python values (for tests of stores).
#[pyfunction(name = "member_change")]
#[pyo3(signature = (*, add = None, remove = None, remove_all = false, last_modified = None))]
pub(crate) fn py_member_change(
    add: Option<&Bound<'_, PyAny>>,
    remove: Option<Vec<String>>,
    remove_all: bool,
    last_modified: Option<String>,
) -> PyResult<PyMemberChange> {
    let mut members = Vec::new();
    if let Some(add) = add {
        for m in add.try_iter()? {
            let v = from_py(&m?)?;
            members.push(Member::from_json(&v).ok_or_else(|| {
                PyValueError::new_err("each member must be a dict with a str \"value\"")
            })?);
        }
    }
    Ok(PyMemberChange {
        change: MemberChange {
            add: members,
            remove: remove.unwrap_or_default(),
            remove_all,
            last_modified: last_modified.unwrap_or_else(scimkit::time::now),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_maps_to_ints() {
        assert_eq!(ordering(Ordering::Less), -1);
        assert_eq!(ordering(Ordering::Equal), 0);
        assert_eq!(ordering(Ordering::Greater), 1);
    }

    #[test]
    fn kinds_parse() {
        assert_eq!(kind_from_str("User").unwrap(), ResourceKind::User);
        assert_eq!(kind_from_str("Group").unwrap(), ResourceKind::Group);
    }
}
