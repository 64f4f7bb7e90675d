//! Test helpers: a store on a fresh database file in its own temp dir.

#![allow(dead_code, unreachable_pub)]

use std::ops::Deref;

use scimkit::ResourceKind;
use scimkit::store::{Ctx, MemberChange, Members, Page, Query, StoreResult, Stored, UserStore};
use scimkit_sqlite::{SqliteOptions, SqliteStore};
use serde_json::Value;

/// A [`SqliteStore`] on `scim.db` in a temp dir that lives exactly as long as
/// the store (the store closes first).
#[derive(Debug)]
pub struct TempStore {
    store: SqliteStore,
    dir: tempfile::TempDir,
}

impl TempStore {
    pub fn new() -> Self {
        Self::with(&SqliteOptions::default())
    }

    pub fn with(options: &SqliteOptions) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open_with(dir.path().join("scim.db"), options).expect("open");
        Self { store, dir }
    }

    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }
}

impl Deref for TempStore {
    type Target = SqliteStore;
    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

impl UserStore for TempStore {
    fn create(&self, ctx: &Ctx, kind: ResourceKind, resource: Value) -> StoreResult<Stored> {
        self.store.create(ctx, kind, resource)
    }
    fn get(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        m: Members,
    ) -> StoreResult<Option<Stored>> {
        self.store.get(ctx, kind, id, m)
    }
    fn replace(
        &self,
        ctx: &Ctx,
        kind: ResourceKind,
        id: &str,
        resource: Value,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        self.store.replace(ctx, kind, id, resource, if_version)
    }
    fn delete(&self, ctx: &Ctx, kind: ResourceKind, id: &str, v: Option<u64>) -> StoreResult<()> {
        self.store.delete(ctx, kind, id, v)
    }
    fn query(&self, ctx: &Ctx, kind: ResourceKind, q: &Query) -> StoreResult<Page> {
        self.store.query(ctx, kind, q)
    }
    fn modify_members(
        &self,
        ctx: &Ctx,
        group_id: &str,
        change: &MemberChange,
        if_version: Option<u64>,
    ) -> StoreResult<Stored> {
        self.store.modify_members(ctx, group_id, change, if_version)
    }
}
