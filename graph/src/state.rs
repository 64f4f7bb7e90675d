//! What the sync remembers between runs, per tenant: [`SyncState`], kept by a
//! [`SyncStateStore`] — [`MemoryStateStore`] or [`JsonFileStateStore`], or the
//! host's own (a table next to its users).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::StateError;

/// The state of one tenant's sync.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SyncState {
    /// The `@odata.deltaLink` of the last complete delta round: the next run
    /// asks Graph only for what changed since.
    pub delta_link: Option<String>,
    /// The object ids of the users the sync brought in scope (and did not remove
    /// since): a user that disappears from a full listing is looked up to tell
    /// "deleted" from "left the scope".
    pub synced: BTreeSet<String>,
    /// Object ids whose last change failed to apply; the next run fetches them
    /// again.
    pub retry: BTreeSet<String>,
    /// When the last (not dry) run finished, fixed-width UTC.
    pub last_run: Option<String>,
    /// A digest of the configuration that produced this state; when it changes
    /// the next run starts over with a full listing.
    pub config_fingerprint: Option<String>,
}

impl SyncState {
    /// `last_run` as a time (for [`crate::Scheduler::resume`]).
    pub fn last_run_time(&self) -> Option<OffsetDateTime> {
        self.last_run
            .as_deref()
            .and_then(|s| scimkit::time::parse(s).ok())
    }
}

/// Keeps [`SyncState`] per scimkit tenant. Implementations must be safe to call
/// from several threads; a `save` replaces the tenant's state as a whole.
pub trait SyncStateStore: Send + Sync {
    /// The tenant's state, or `None` before its first run.
    fn load(&self, tenant: &str) -> Result<Option<SyncState>, StateError>;
    /// Replace the tenant's state.
    fn save(&self, tenant: &str, state: &SyncState) -> Result<(), StateError>;
    /// Forget the tenant's state (the next run reads everything again). Deletes
    /// no user.
    fn clear(&self, tenant: &str) -> Result<(), StateError>;
}

/// Sync state in memory (tests; hosts that accept a full listing after a restart).
#[derive(Debug, Default)]
pub struct MemoryStateStore {
    states: Mutex<HashMap<String, SyncState>>,
}

impl MemoryStateStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SyncStateStore for MemoryStateStore {
    fn load(&self, tenant: &str) -> Result<Option<SyncState>, StateError> {
        Ok(self.states.lock().get(tenant).cloned())
    }

    fn save(&self, tenant: &str, state: &SyncState) -> Result<(), StateError> {
        self.states.lock().insert(tenant.to_owned(), state.clone());
        Ok(())
    }

    fn clear(&self, tenant: &str) -> Result<(), StateError> {
        self.states.lock().remove(tenant);
        Ok(())
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FileFormat {
    version: u32,
    tenants: BTreeMap<String, SyncState>,
}

const FILE_VERSION: u32 = 1;

/// Sync state of every tenant in one JSON file, replaced atomically (written to
/// a temporary file beside it, synced, then renamed) on every save.
///
/// One process at a time: the file is not locked against another process.
#[derive(Debug)]
pub struct JsonFileStateStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl JsonFileStateStore {
    /// State kept in the file at `path` (created on the first save; its
    /// directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lock: Mutex::new(()),
        }
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, source: std::io::Error) -> StateError {
        StateError::Io {
            path: self.path.display().to_string(),
            source,
        }
    }

    fn read(&self) -> Result<FileFormat, StateError> {
        match std::fs::read(&self.path) {
            Ok(bytes) => {
                let f: FileFormat = serde_json::from_slice(&bytes)?;
                if f.version != FILE_VERSION {
                    return Err(StateError::Other(
                        format!("unsupported sync state file version {}", f.version).into(),
                    ));
                }
                Ok(f)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileFormat {
                version: FILE_VERSION,
                tenants: BTreeMap::new(),
            }),
            Err(e) => Err(self.io(e)),
        }
    }

    fn write(&self, f: &FileFormat) -> Result<(), StateError> {
        let bytes = serde_json::to_vec_pretty(f)?;
        let mut tmp = self.path.clone().into_os_string();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        let mut file = std::fs::File::create(&tmp).map_err(|e| self.io(e))?;
        file.write_all(&bytes).map_err(|e| self.io(e))?;
        file.sync_all().map_err(|e| self.io(e))?;
        drop(file);
        std::fs::rename(&tmp, &self.path).map_err(|e| self.io(e))
    }
}

impl SyncStateStore for JsonFileStateStore {
    fn load(&self, tenant: &str) -> Result<Option<SyncState>, StateError> {
        let _g = self.lock.lock();
        Ok(self.read()?.tenants.remove(tenant))
    }

    fn save(&self, tenant: &str, state: &SyncState) -> Result<(), StateError> {
        let _g = self.lock.lock();
        let mut f = self.read()?;
        f.tenants.insert(tenant.to_owned(), state.clone());
        self.write(&f)
    }

    fn clear(&self, tenant: &str) -> Result<(), StateError> {
        let _g = self.lock.lock();
        let mut f = self.read()?;
        if f.tenants.remove(tenant).is_some() {
            self.write(&f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SyncState {
        SyncState {
            delta_link: Some("https://graph.example/v1.0/users/delta?$deltatoken=abc".into()),
            synced: ["a".to_owned(), "b".to_owned()].into(),
            retry: ["b".to_owned()].into(),
            last_run: Some("2024-05-01T02:00:00.000Z".into()),
            config_fingerprint: Some("f".into()),
        }
    }

    fn round_trip(store: &dyn SyncStateStore) {
        assert_eq!(store.load("t").unwrap(), None);
        store.save("t", &sample()).unwrap();
        store.save("u", &SyncState::default()).unwrap();
        assert_eq!(store.load("t").unwrap(), Some(sample()));
        assert_eq!(store.load("u").unwrap(), Some(SyncState::default()));
        store.clear("t").unwrap();
        assert_eq!(store.load("t").unwrap(), None);
        assert!(store.load("u").unwrap().is_some());
    }

    #[test]
    fn memory_store_round_trips() {
        round_trip(&MemoryStateStore::new());
    }

    #[test]
    fn json_file_store_round_trips_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sync-state.json");
        round_trip(&JsonFileStateStore::new(&path));
        let store = JsonFileStateStore::new(&path);
        store.save("t", &sample()).unwrap();
        let reopened = JsonFileStateStore::new(&path);
        assert_eq!(reopened.load("t").unwrap(), Some(sample()));
        assert!(!dir.path().join("sync-state.json.tmp").exists());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"deltaLink\""), "{text}");
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_an_empty_state() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.json");
        std::fs::write(&path, b"{not json").unwrap();
        let e = JsonFileStateStore::new(&path).load("t").unwrap_err();
        assert!(e.to_string().starts_with("sync state is corrupt"), "{e}");
    }

    #[test]
    fn last_run_parses() {
        let t = sample().last_run_time().unwrap();
        assert_eq!(t.hour(), 2);
        assert_eq!(SyncState::default().last_run_time(), None);
    }
}
