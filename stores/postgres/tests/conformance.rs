//! The core store conformance suite, unchanged: each test on a fresh database
//! of the test binary's PostgreSQL server.

mod common;

scimkit::store_conformance_tests!(match common::fresh_store() {
    Some(store) => store,
    None => return,
});
