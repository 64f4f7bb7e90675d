//! Result codes, borrowed strings and the version.

use std::ffi::c_char;

/// The outcome of a call: `SCIMKIT_RESULT_OK` (0) or why it failed.
///
/// Numbers are grouped by origin and never reused or renumbered: 1–99 for the
/// library itself, 100–199 for unusable arguments, 200–299 for configuration.
/// A retired code stays listed here as "reserved". Get a description with
/// [`scimkit_result_message`].
///
/// These codes report misuse and configuration problems only. A SCIM-level
/// failure (unknown resource, uniqueness conflict, bad filter, a store that
/// failed) is an HTTP response, returned with `SCIMKIT_RESULT_OK`.
#[repr(u32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum scimkit_result {
    /// Success.
    Ok = 0,
    /// scimkit panicked (a bug in scimkit); the call did not complete. The
    /// handles involved are still valid and may be freed.
    Panic = 1,
    /// A required pointer argument was NULL (or a buffer pointer was NULL with a
    /// non-zero length, or a required store callback was NULL).
    NullParameter = 100,
    /// A text argument was not valid UTF-8.
    InvalidUtf8 = 101,
    /// An argument was out of range or malformed (an index past the end, an
    /// empty token, unknown flag bits, a second resource where one was expected).
    InvalidParameter = 102,
    /// The builder was already consumed by `scimkit_config_builder_build`; only
    /// `scimkit_config_builder_free` (and `_error_message`) may follow.
    AlreadyUsed = 103,
    /// The caller's buffer is too small; `*out_n` tells the size needed.
    InsufficientSize = 104,
    /// A JSON buffer given to scimkit (a store callback's output) is not JSON, or
    /// not a resource object with a string `id`.
    InvalidJson = 105,
    /// The configuration is invalid (bad base path, no store, no token, an
    /// unknown store kind); `scimkit_config_builder_error_message` says which.
    InvalidConfig = 200,
    /// The selected built-in store is not compiled into this library (SQLite
    /// without the `sqlite` feature, PostgreSQL without the `postgres` feature).
    StoreNotAvailable = 201,
    /// The selected built-in store could not be opened (a SQLite file that
    /// cannot be created or read; a PostgreSQL server that is unreachable,
    /// refuses the credentials or has no such database);
    /// `scimkit_config_builder_error_message` says why, without any password.
    StoreOpenFailed = 202,
}

impl scimkit_result {
    /// Every code, in numeric order (for tests and the message table).
    const ALL: [scimkit_result; 11] = [
        scimkit_result::Ok,
        scimkit_result::Panic,
        scimkit_result::NullParameter,
        scimkit_result::InvalidUtf8,
        scimkit_result::InvalidParameter,
        scimkit_result::AlreadyUsed,
        scimkit_result::InsufficientSize,
        scimkit_result::InvalidJson,
        scimkit_result::InvalidConfig,
        scimkit_result::StoreNotAvailable,
        scimkit_result::StoreOpenFailed,
    ];

    /// The code for a number, if it is one.
    pub(crate) fn from_u32(n: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| *r as u32 == n)
    }

    /// The description, NUL-terminated in static memory.
    fn message_nul(self) -> &'static str {
        match self {
            scimkit_result::Ok => "ok\0",
            scimkit_result::Panic => "internal error: scimkit panicked (a bug in scimkit)\0",
            scimkit_result::NullParameter => "a required pointer argument was NULL\0",
            scimkit_result::InvalidUtf8 => "a text argument is not valid UTF-8\0",
            scimkit_result::InvalidParameter => "an argument is out of range or malformed\0",
            scimkit_result::AlreadyUsed => "the builder was already consumed by _build\0",
            scimkit_result::InsufficientSize => "the output buffer is too small\0",
            scimkit_result::InvalidJson => "the JSON is invalid or not a resource with an id\0",
            scimkit_result::InvalidConfig => "the configuration is invalid\0",
            scimkit_result::StoreNotAvailable => {
                "the selected store is not available in this build\0"
            }
            scimkit_result::StoreOpenFailed => "the selected store could not be opened\0",
        }
    }
}

/// A borrowed string: `len` bytes of UTF-8 at `data`, not NUL-terminated in
/// general (print it with `"%.*s", (int)s.len, s.data`).
///
/// As an output, it borrows from the handle (or static memory) it came from,
/// and is valid as long as that is; the caller never frees it. As an input (in
/// `scimkit_header`), it borrows the caller's memory for the duration of
/// the call. `data` may be NULL only when `len` is 0.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct scimkit_str {
    /// The first byte.
    pub data: *const c_char,
    /// The number of bytes.
    pub len: usize,
}

impl scimkit_str {
    /// The empty string (`data` NULL).
    pub const EMPTY: scimkit_str = scimkit_str {
        data: std::ptr::null(),
        len: 0,
    };

    /// Borrow `s` (the result is valid while `s` is).
    pub fn borrow(s: &str) -> Self {
        Self {
            data: s.as_ptr().cast(),
            len: s.len(),
        }
    }

    /// A static string that ends in `\0`; `len` excludes the NUL, so C may also
    /// use `data` as a C string.
    pub(crate) fn from_static_nul(s: &'static str) -> Self {
        debug_assert!(s.ends_with('\0'));
        Self {
            data: s.as_ptr().cast(),
            len: s.len() - 1,
        }
    }
}

/// A description of a result code: static, NUL-terminated (so `data` is also a C
/// string), never freed. An unknown number gives "unknown result code".
///
/// Thread-safe. Takes the number (not the enum type) so that any value is safe.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_result_message(result: u32) -> scimkit_str {
    ffi_panic_boundary! {
        scimkit_str::from_static_nul(match scimkit_result::from_u32(result) {
            Some(r) => r.message_nul(),
            None => "unknown result code\0",
        })
    }
}

/// The library's name and version, e.g. `scimkit/0.1.0`: static, NUL-terminated
/// (so `data` is also a C string), never freed. Thread-safe.
#[unsafe(no_mangle)]
pub extern "C" fn scimkit_version() -> scimkit_str {
    ffi_panic_boundary! {
        scimkit_str::from_static_nul(concat!("scimkit/", env!("CARGO_PKG_VERSION"), "\0"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        // Numbers are ABI: this table may only grow.
        let expected = [
            (scimkit_result::Ok, 0),
            (scimkit_result::Panic, 1),
            (scimkit_result::NullParameter, 100),
            (scimkit_result::InvalidUtf8, 101),
            (scimkit_result::InvalidParameter, 102),
            (scimkit_result::AlreadyUsed, 103),
            (scimkit_result::InsufficientSize, 104),
            (scimkit_result::InvalidJson, 105),
            (scimkit_result::InvalidConfig, 200),
            (scimkit_result::StoreNotAvailable, 201),
            (scimkit_result::StoreOpenFailed, 202),
        ];
        for (r, n) in expected {
            assert_eq!(r as u32, n, "{r:?}");
            assert_eq!(scimkit_result::from_u32(n), Some(r));
        }
        assert_eq!(scimkit_result::from_u32(7), None);
    }

    #[test]
    fn every_code_has_a_message() {
        for r in scimkit_result::ALL {
            let m = r.message_nul();
            assert!(m.ends_with('\0') && m.len() > 1, "{r:?}");
        }
        let s = scimkit_result_message(424242);
        assert_eq!(s.len, "unknown result code".len());
    }
}
