//! JSON values between Python and Rust: `dict`/`list`/`str`/`int`/`float`/
//! `bool`/`None` ↔ [`serde_json::Value`].

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyByteArray, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple,
};
use serde_json::{Map, Number, Value};

/// How deep a Python structure may nest before it is refused (guards against
/// cycles and stack exhaustion).
const MAX_DEPTH: usize = 128;

/// A JSON value as a Python object (`dict`, `list`, `str`, `int`, `float`, `bool`, `None`).
pub(crate) fn to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for x in a {
                list.append(to_py(py, x)?)?;
            }
            list.into_any()
        }
        Value::Object(o) => {
            let dict = PyDict::new(py);
            for (k, x) in o {
                dict.set_item(k, to_py(py, x)?)?;
            }
            dict.into_any()
        }
    })
}

/// A Python JSON-like object as a [`Value`]. `TypeError` for anything that is not
/// JSON (sets, objects, non-string keys), `ValueError` for NaN/infinity and
/// structures nested deeper than 128 levels.
pub(crate) fn from_py(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    from_py_depth(obj, 0)
}

fn from_py_depth(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err(
            "JSON value nested too deeply (or cyclic)",
        ));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    // `bool` before `int`: bool is a subclass of int.
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(i) = obj.cast::<PyInt>() {
        if let Ok(v) = i.extract::<i64>() {
            return Ok(Value::Number(v.into()));
        }
        if let Ok(v) = i.extract::<u64>() {
            return Ok(Value::Number(v.into()));
        }
        return Err(PyValueError::new_err("integer out of the JSON range"));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err("NaN and infinity are not JSON"));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::with_capacity(d.len());
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err("JSON object keys must be str"))?
                .to_str()?
                .to_owned();
            map.insert(key, from_py_depth(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(l) = obj.cast::<PyList>() {
        let mut out = Vec::with_capacity(l.len());
        for x in l.iter() {
            out.push(from_py_depth(&x, depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    if let Ok(t) = obj.cast::<PyTuple>() {
        let mut out = Vec::with_capacity(t.len());
        for x in t.iter() {
            out.push(from_py_depth(&x, depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    Err(PyTypeError::new_err(format!(
        "{} is not JSON (expected dict, list, str, int, float, bool or None)",
        obj.get_type().name()?
    )))
}

/// A resource as given by a Python store: a `dict`, or its JSON text as `str` or
/// `bytes` (which skips building Python objects for stores that keep JSON text).
pub(crate) fn resource_from_py(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    let parsed = if let Ok(s) = obj.cast::<PyString>() {
        Some(serde_json::from_str(s.to_str()?))
    } else if let Ok(b) = obj.cast::<PyBytes>() {
        Some(serde_json::from_slice(b.as_bytes()))
    } else if let Ok(b) = obj.cast::<PyByteArray>() {
        Some(serde_json::from_slice(&b.to_vec()))
    } else {
        None
    };
    let value = match parsed {
        Some(r) => {
            r.map_err(|e| PyValueError::new_err(format!("resource is not valid JSON: {e}")))?
        }
        None => from_py(obj)?,
    };
    if !value.is_object() {
        return Err(PyTypeError::new_err(
            "a resource must be a JSON object (dict)",
        ));
    }
    Ok(value)
}
