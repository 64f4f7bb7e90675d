//! 64 SCIM clients at once through the engine on PostgreSQL
//! (`scimkit::store::testkit::concurrent_clients`).

mod common;

#[test]
fn concurrent_scim_clients_lose_nothing() {
    let Some(store) = common::fresh_store() else {
        return;
    };
    scimkit::store::testkit::concurrent_clients(std::sync::Arc::new(store));
}
