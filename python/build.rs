//! Plain cargo builds (tests) link libpython: give the test binaries an rpath to
//! it so they run without `LD_LIBRARY_PATH`. Extension-module builds (maturin)
//! link nothing and need nothing.

fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    if std::env::var_os("CARGO_FEATURE_EXTENSION_MODULE").is_none()
        && std::env::var_os("PYO3_BUILD_EXTENSION_MODULE").is_none()
    {
        pyo3_build_config::add_libpython_rpath_link_args();
    }
}
