//! The core store conformance suite, unchanged: each test on a fresh database
//! file in its own temp dir (and once more on an in-memory database).

mod common;

mod file {
    scimkit::store_conformance_tests!(super::common::TempStore::new());
}

mod file_without_readers {
    // Reads through the writer connection.
    scimkit::store_conformance_tests!(super::common::TempStore::with(
        &scimkit_sqlite::SqliteOptions::default().readers(0)
    ));
}

mod in_memory {
    scimkit::store_conformance_tests!(scimkit_sqlite::SqliteStore::open_in_memory().expect("open"));
}
