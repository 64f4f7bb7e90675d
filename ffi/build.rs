//! Build script of scimkit-ffi.
//!
//! * Gives the shared library the SONAME `libscimkit.so.<major>` on ELF targets,
//!   the name it is installed under (scripts/install-c.sh).
//! * With the test-only feature `c-test-store` (enabled by `cargo test` through
//!   the crate's self dev-dependency, never by `cargo build`), compiles the C
//!   store of `tests/c/store.c` with the `cc` crate so that Rust tests can run
//!   the store conformance suite on a store written in C.

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if matches!(
        os.as_str(),
        "linux" | "android" | "freebsd" | "netbsd" | "openbsd" | "dragonfly"
    ) {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo::rustc-cdylib-link-arg=-Wl,-soname,libscimkit.so.{major}");
    }
    #[cfg(feature = "c-test-store")]
    compile_test_store();
}

#[cfg(feature = "c-test-store")]
fn compile_test_store() {
    println!("cargo::rerun-if-changed=tests/c/store.c");
    println!("cargo::rerun-if-changed=tests/c/test_store.h");
    println!("cargo::rerun-if-changed=../include/scimkit.h");
    cc::Build::new()
        .file("tests/c/store.c")
        .include("../include")
        .include("tests/c")
        .std("c11")
        .warnings(true)
        .extra_warnings(true)
        .flag("-Wpedantic")
        .warnings_into_errors(true)
        .compile("scimkit_test_store");
}
