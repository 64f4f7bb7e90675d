//! The boundary with C: the panic boundary, argument checks, handle ownership,
//! and calls into C store callbacks. **Every raw-pointer operation and every
//! `unsafe` block of the crate is in this file**, each with a `// SAFETY:`
//! comment.
//!
//! The helpers here take raw pointers that come straight from C and are written
//! as safe functions (the rustls-ffi pattern): their soundness rests on the
//! contract each exported function documents for its C caller — a non-NULL
//! pointer points to a live, properly aligned object of the documented type (a
//! handle made by scimkit, or a buffer of the stated length) that nobody mutates
//! during the call. NULL is always checked here; everything else C promises.
//! They are `pub(crate)` and only ever called with pointers received from C.

use std::ffi::{c_char, c_void};
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::result::{scimkit_result, scimkit_str};
use crate::store::{
    VtableStore, scimkit_resource_kind, scimkit_store_ctx, scimkit_store_out, scimkit_store_query,
    scimkit_store_status, scimkit_store_vtable,
};

// ===== panic boundary =====

/// What an export returns when Rust panicked inside it.
pub(crate) trait PanicDefault {
    fn panic_default() -> Self;
}

impl PanicDefault for scimkit_result {
    fn panic_default() -> Self {
        scimkit_result::Panic
    }
}

impl<T> PanicDefault for *mut T {
    fn panic_default() -> Self {
        std::ptr::null_mut()
    }
}

impl<T> PanicDefault for *const T {
    fn panic_default() -> Self {
        std::ptr::null()
    }
}

impl PanicDefault for scimkit_str {
    fn panic_default() -> Self {
        scimkit_str::EMPTY
    }
}

impl PanicDefault for () {
    fn panic_default() -> Self {}
}

impl PanicDefault for bool {
    fn panic_default() -> Self {
        false
    }
}

impl PanicDefault for u16 {
    fn panic_default() -> Self {
        0
    }
}

impl PanicDefault for usize {
    fn panic_default() -> Self {
        0
    }
}

/// Run `f`, turning a panic into the return type's [`PanicDefault`].
pub(crate) fn catch<R: PanicDefault>(f: impl FnOnce() -> R) -> R {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| R::panic_default())
}

/// The body of every export: a panic never unwinds into C. `return` inside the
/// body returns from the export.
macro_rules! ffi_panic_boundary {
    ( $($body:tt)* ) => {
        $crate::boundary::catch(move || { $($body)* })
    };
}

// ===== argument checks =====

/// `&T` from a C pointer, or `return SCIMKIT_RESULT_NULL_PARAMETER`.
macro_rules! try_ref {
    ($p:expr) => {
        match $crate::boundary::as_ref($p) {
            Some(r) => r,
            None => return $crate::result::scimkit_result::NullParameter,
        }
    };
}

/// `&mut T` from a C pointer, or `return SCIMKIT_RESULT_NULL_PARAMETER`.
macro_rules! try_mut {
    ($p:expr) => {
        match $crate::boundary::as_mut($p) {
            Some(r) => r,
            None => return $crate::result::scimkit_result::NullParameter,
        }
    };
}

/// `&[u8]` from a C buffer, or `return SCIMKIT_RESULT_NULL_PARAMETER`.
macro_rules! try_bytes {
    ($p:expr, $len:expr) => {
        match $crate::boundary::as_bytes($p, $len) {
            Some(r) => r,
            None => return $crate::result::scimkit_result::NullParameter,
        }
    };
}

/// `&[T]` from a C array, or `return SCIMKIT_RESULT_NULL_PARAMETER`.
macro_rules! try_slice {
    ($p:expr, $len:expr) => {
        match $crate::boundary::as_slice($p, $len) {
            Some(r) => r,
            None => return $crate::result::scimkit_result::NullParameter,
        }
    };
}

/// `&str` from C text, or `return` NULL_PARAMETER / INVALID_UTF8.
macro_rules! try_str {
    ($p:expr, $len:expr) => {
        match $crate::boundary::as_str($p, $len) {
            Ok(r) => r,
            Err(e) => return e,
        }
    };
}

/// A non-NULL output pointer, or `return SCIMKIT_RESULT_NULL_PARAMETER`.
macro_rules! try_out {
    ($p:expr) => {{
        let p = $p;
        if p.is_null() {
            return $crate::result::scimkit_result::NullParameter;
        }
        p
    }};
}

/// `&T` from a possibly-NULL C pointer.
pub(crate) fn as_ref<'a, T>(p: *const T) -> Option<&'a T> {
    // SAFETY: a non-NULL pointer from C points to a live T for the duration of
    // the call (the documented contract); `as_ref` checks NULL.
    unsafe { p.as_ref() }
}

/// `&mut T` from a possibly-NULL C pointer.
pub(crate) fn as_mut<'a, T>(p: *mut T) -> Option<&'a mut T> {
    // SAFETY: a non-NULL pointer from C points to a live T that no one else
    // accesses during the call (the documented contract); `as_mut` checks NULL.
    unsafe { p.as_mut() }
}

/// `&[T]` from a C array of `len` elements; NULL is accepted only with `len == 0`.
pub(crate) fn as_slice<'a, T>(p: *const T, len: usize) -> Option<&'a [T]> {
    if len == 0 {
        return Some(&[]);
    }
    if p.is_null() {
        return None;
    }
    // SAFETY: non-NULL, and C promises `len` initialised elements at `p` that
    // live, unmutated, for the duration of the call.
    Some(unsafe { std::slice::from_raw_parts(p, len) })
}

/// `&[u8]` from a C buffer.
pub(crate) fn as_bytes<'a>(p: *const u8, len: usize) -> Option<&'a [u8]> {
    as_slice(p, len)
}

/// `&str` from C text (pointer + length, UTF-8, no NUL needed).
pub(crate) fn as_str<'a>(p: *const c_char, len: usize) -> Result<&'a str, scimkit_result> {
    let bytes = as_slice(p.cast::<u8>(), len).ok_or(scimkit_result::NullParameter)?;
    std::str::from_utf8(bytes).map_err(|_| scimkit_result::InvalidUtf8)
}

/// The bytes of an input [`scimkit_str`] (not required to be UTF-8).
pub(crate) fn str_bytes<'a>(s: &scimkit_str) -> Option<&'a [u8]> {
    as_slice(s.data.cast::<u8>(), s.len)
}

/// Write `v` through a non-NULL output pointer (checked by the caller with
/// `try_out!`).
pub(crate) fn write_out<T>(p: *mut T, v: T) {
    debug_assert!(!p.is_null());
    // SAFETY: `p` is non-NULL (checked by `try_out!`) and points to writable
    // memory for a T (the documented contract). `write` does not drop the old
    // value, which C left uninitialised or plain data.
    unsafe { p.write(v) }
}

/// Copy `src` into the caller's buffer `(buf, len)` and store the byte count in
/// `*out_n`: the number written, or, with `INSUFFICIENT_SIZE`, the size needed.
pub(crate) fn copy_out(
    src: &[u8],
    buf: *mut c_char,
    len: usize,
    out_n: *mut usize,
) -> scimkit_result {
    let out_n = try_out!(out_n);
    write_out(out_n, src.len());
    if src.len() > len {
        return scimkit_result::InsufficientSize;
    }
    if src.is_empty() {
        return scimkit_result::Ok;
    }
    if buf.is_null() {
        return scimkit_result::NullParameter;
    }
    // SAFETY: `buf` is non-NULL and C promises `len >= src.len()` writable bytes
    // there; the regions cannot overlap (`src` is scimkit's own memory).
    unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), buf.cast::<u8>(), src.len()) };
    scimkit_result::Ok
}

// ===== handle ownership =====

/// Give a handle to C; it comes back through [`free_box`] (or [`take_box`]).
pub(crate) fn into_raw<T>(v: T) -> *mut T {
    Box::into_raw(Box::new(v))
}

/// Free a handle made by [`into_raw`]; NULL is a no-op.
pub(crate) fn free_box<T>(p: *mut T) {
    if p.is_null() {
        return;
    }
    // SAFETY: non-NULL `p` was made by `into_raw` (Box::into_raw) for this type,
    // and C gives it back exactly once (the `_free` contract).
    drop(unsafe { Box::from_raw(p) });
}

// ===== calls into C store callbacks =====

/// A [`VtableStore`] from a vtable and userdata received from C.
pub(crate) fn vtable_store(
    vtable: *const scimkit_store_vtable,
    userdata: *mut c_void,
) -> Result<VtableStore, scimkit_result> {
    // SAFETY: `vtable` comes from C, which promises (on
    // `scimkit_config_builder_set_store_vtable`) that it is NULL or valid and
    // that its callbacks follow their documented contracts: exactly the
    // requirements of `VtableStore::new`.
    unsafe { VtableStore::new(vtable, userdata) }
}

/// A C store: its vtable (copied) and userdata. Every call into C code is here.
pub(crate) struct Callbacks {
    vt: scimkit_store_vtable,
    userdata: *mut c_void,
}

// SAFETY: `scimkit_store_vtable` documents that its callbacks are called from any
// thread, concurrently, with the same userdata, and that the C store must be
// thread-safe accordingly; `free_userdata` runs once, when the last reference
// is dropped. Holding the pointer in Rust adds no other access.
unsafe impl Send for Callbacks {}
// SAFETY: as for `Send`: the callbacks are thread-safe by contract.
unsafe impl Sync for Callbacks {}

impl std::fmt::Debug for Callbacks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callbacks")
            .field("userdata", &self.userdata)
            .field("modify_members", &self.vt.modify_members.is_some())
            .field("flags", &self.vt.flags)
            .finish_non_exhaustive()
    }
}

/// An optional `if_version` as the C `const uint64_t *` (NULL for none). The
/// pointer borrows `v`.
fn opt_ptr(v: &Option<u64>) -> *const u64 {
    v.as_ref().map_or(std::ptr::null(), |v| v as *const u64)
}

impl Callbacks {
    /// Copy a vtable from C. Fails with NULL_PARAMETER when the vtable or a
    /// required callback is NULL, INVALID_PARAMETER for unknown flag bits; then
    /// the caller keeps ownership of `userdata`.
    pub(crate) fn new(
        vtable: *const scimkit_store_vtable,
        userdata: *mut c_void,
    ) -> Result<Self, scimkit_result> {
        let vt = as_ref(vtable).ok_or(scimkit_result::NullParameter)?;
        if vt.create.is_none()
            || vt.get.is_none()
            || vt.replace.is_none()
            || vt.remove.is_none()
            || vt.query.is_none()
        {
            return Err(scimkit_result::NullParameter);
        }
        if vt.flags & !crate::store::SCIMKIT_STORE_FLAGS_ALL != 0 {
            return Err(scimkit_result::InvalidParameter);
        }
        Ok(Self { vt: *vt, userdata })
    }

    pub(crate) fn flags(&self) -> u32 {
        self.vt.flags
    }

    pub(crate) fn has_modify_members(&self) -> bool {
        self.vt.modify_members.is_some()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn create(
        &self,
        ctx: &scimkit_store_ctx,
        kind: scimkit_resource_kind,
        id: &str,
        unique_key: Option<&str>,
        json: &[u8],
        version_out: &mut u64,
    ) -> scimkit_store_status {
        let f = self
            .vt
            .create
            .expect("invariant: checked in Callbacks::new");
        // SAFETY: the callback was registered non-NULL for this userdata; every
        // pointer passed borrows Rust memory that outlives the call, and C's
        // contract is to use them only during the call.
        unsafe {
            f(
                self.userdata,
                ctx,
                kind,
                scimkit_str::borrow(id),
                unique_key.map_or(scimkit_str::EMPTY, scimkit_str::borrow),
                json.as_ptr(),
                json.len(),
                version_out,
            )
        }
    }

    pub(crate) fn get(
        &self,
        ctx: &scimkit_store_ctx,
        kind: scimkit_resource_kind,
        id: &str,
        include_members: bool,
        out: &mut scimkit_store_out,
    ) -> scimkit_store_status {
        let f = self.vt.get.expect("invariant: checked in Callbacks::new");
        // SAFETY: as in `create`; `out` is a live sink that C may only use
        // during the call.
        unsafe {
            f(
                self.userdata,
                ctx,
                kind,
                scimkit_str::borrow(id),
                include_members,
                out,
            )
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) fn replace(
        &self,
        ctx: &scimkit_store_ctx,
        kind: scimkit_resource_kind,
        id: &str,
        unique_key: Option<&str>,
        json: &[u8],
        if_version: Option<u64>,
        version_out: &mut u64,
    ) -> scimkit_store_status {
        let f = self
            .vt
            .replace
            .expect("invariant: checked in Callbacks::new");
        // SAFETY: as in `create`; the `if_version` pointer borrows a local that
        // outlives the call.
        unsafe {
            f(
                self.userdata,
                ctx,
                kind,
                scimkit_str::borrow(id),
                unique_key.map_or(scimkit_str::EMPTY, scimkit_str::borrow),
                json.as_ptr(),
                json.len(),
                opt_ptr(&if_version),
                version_out,
            )
        }
    }

    pub(crate) fn remove(
        &self,
        ctx: &scimkit_store_ctx,
        kind: scimkit_resource_kind,
        id: &str,
        if_version: Option<u64>,
    ) -> scimkit_store_status {
        let f = self
            .vt
            .remove
            .expect("invariant: checked in Callbacks::new");
        // SAFETY: as in `replace`.
        unsafe {
            f(
                self.userdata,
                ctx,
                kind,
                scimkit_str::borrow(id),
                opt_ptr(&if_version),
            )
        }
    }

    pub(crate) fn query(
        &self,
        ctx: &scimkit_store_ctx,
        kind: scimkit_resource_kind,
        query: &scimkit_store_query,
        out: &mut scimkit_store_out,
    ) -> scimkit_store_status {
        let f = self.vt.query.expect("invariant: checked in Callbacks::new");
        // SAFETY: as in `get`; `query` borrows a live Rust object.
        unsafe { f(self.userdata, ctx, kind, query, out) }
    }

    /// `None` when the store has no `modify_members` callback.
    pub(crate) fn modify_members(
        &self,
        ctx: &scimkit_store_ctx,
        group_id: &str,
        change_json: &[u8],
        if_version: Option<u64>,
        out: &mut scimkit_store_out,
    ) -> Option<scimkit_store_status> {
        let f = self.vt.modify_members?;
        // SAFETY: as in `replace` and `get`.
        Some(unsafe {
            f(
                self.userdata,
                ctx,
                scimkit_str::borrow(group_id),
                change_json.as_ptr(),
                change_json.len(),
                opt_ptr(&if_version),
                out,
            )
        })
    }
}

// ===== calls into a C event callback =====

/// A C event callback and its userdata. After [`EventBridge::close`] it never
/// calls C again.
pub(crate) struct EventBridge {
    callback: unsafe extern "C" fn(*mut c_void, *const u8, usize),
    userdata: *mut c_void,
    /// `true` once closed. Held while C runs, so `close` waits for a call in
    /// progress.
    closed: std::sync::Mutex<bool>,
}

// SAFETY: the callback is only ever called from one thread at a time (under
// `closed`'s lock), and `scimkit_config_builder_set_event_callback` documents
// that it is called from scimkit's event thread, with this userdata, until
// `scimkit_server_free`; the pointer itself is never dereferenced by Rust.
unsafe impl Send for EventBridge {}
// SAFETY: as for `Send`; shared access only reads the two pointers and goes
// through the mutex.
unsafe impl Sync for EventBridge {}

impl std::fmt::Debug for EventBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBridge")
            .field("userdata", &self.userdata)
            .finish_non_exhaustive()
    }
}

impl EventBridge {
    pub(crate) fn new(
        callback: crate::config::scimkit_event_callback,
        userdata: *mut c_void,
    ) -> Option<Self> {
        Some(Self {
            callback: callback?,
            userdata,
            closed: std::sync::Mutex::new(false),
        })
    }

    /// Hand one event (JSON) to C, unless closed.
    pub(crate) fn deliver(&self, json: &[u8]) {
        let closed = self.closed.lock().unwrap_or_else(|e| e.into_inner());
        if *closed {
            return;
        }
        // SAFETY: registered non-NULL with this userdata, which C keeps valid
        // until `scimkit_server_free` (that closes this bridge first, under the
        // same lock); `json` borrows Rust memory for the duration of the call.
        unsafe { (self.callback)(self.userdata, json.as_ptr(), json.len()) };
        drop(closed);
    }

    /// Never call C again; waits for a call in progress to return.
    pub(crate) fn close(&self) {
        *self.closed.lock().unwrap_or_else(|e| e.into_inner()) = true;
    }
}

impl Drop for Callbacks {
    fn drop(&mut self) {
        if let Some(free) = self.vt.free_userdata {
            // SAFETY: scimkit owns `userdata` since the vtable was accepted, and
            // this is the one and only release (Callbacks is never cloned).
            unsafe { free(self.userdata) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_the_return_types_default() {
        assert_eq!(
            catch(|| -> scimkit_result { panic!("boom (expected by this test)") }),
            scimkit_result::Panic
        );
        assert!(catch(|| -> *mut u8 { panic!("boom (expected by this test)") }).is_null());
        assert_eq!(
            catch(|| -> u16 { panic!("boom (expected by this test)") }),
            0
        );
        assert_eq!(catch(|| scimkit_result::Ok), scimkit_result::Ok);
    }

    #[test]
    fn buffers_may_be_null_only_when_empty() {
        assert_eq!(as_bytes(std::ptr::null(), 0), Some(&[][..]));
        assert_eq!(as_bytes(std::ptr::null(), 1), None);
        assert_eq!(
            as_str(std::ptr::null(), 3).unwrap_err(),
            scimkit_result::NullParameter
        );
        let bad = [0xFFu8];
        assert_eq!(
            as_str(bad.as_ptr().cast(), 1).unwrap_err(),
            scimkit_result::InvalidUtf8
        );
    }

    #[test]
    fn copy_out_reports_the_size_needed() {
        let mut buf = [0 as c_char; 4];
        let mut n = 0;
        assert_eq!(
            copy_out(b"hello", buf.as_mut_ptr(), buf.len(), &mut n),
            scimkit_result::InsufficientSize
        );
        assert_eq!(n, 5);
        assert_eq!(
            copy_out(b"hey", buf.as_mut_ptr(), buf.len(), &mut n),
            scimkit_result::Ok
        );
        assert_eq!((n, buf[0] as u8), (3, b'h'));
        assert_eq!(
            copy_out(b"x", std::ptr::null_mut(), 1, std::ptr::null_mut()),
            scimkit_result::NullParameter
        );
    }
}
