//! # scimkit
//!
//! A transport-free SCIM 2.0 (RFC 7643 / RFC 7644) engine with Microsoft Entra ID
//! compatibility built in.
//!
//! Storage is the host's: implement [`UserStore`] (or use [`MemoryStore`], or the
//! `scimkit-sqlite` / `scimkit-postgres` crates).
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod error;
pub mod filter;
pub mod schema;
pub mod store;
pub mod time;

pub use error::{Result, ScimError, ScimType};
pub use schema::{ResourceKind, UnknownAttributes};
pub use store::{Ctx, MemoryStore, StoreError, Stored, UserStore};
