//! 64 SCIM clients at once through the engine on a SQLite file
//! (`scimkit::store::testkit::concurrent_clients`).

mod common;

#[test]
fn concurrent_scim_clients_lose_nothing() {
    scimkit::store::testkit::concurrent_clients(std::sync::Arc::new(common::TempStore::new()));
}
