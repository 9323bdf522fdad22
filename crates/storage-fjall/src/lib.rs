//! The durable embedded backend, on fjall (an LSM-tree in pure Rust).
//!
//! Each seam keyspace is a fjall keyspace; a commit is one fjall `WriteBatch` (atomic
//! across keyspaces) persisted with `SyncAll` (fsync) or `Buffer` (handed to the OS) as the
//! store asks. fjall does not group commits itself; the store's commit queue does.
//! Declared keyspaces ([`Backend::declare_keyspace`]) read as empty and are created by the
//! first commit that writes to them, so a fresh database starts without the fsyncs of
//! creating keyspaces it may never use.

use std::collections::HashMap;
use std::ops::Bound;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::RwLock;

use ferrodyn_storage::memory::valid_range;
use ferrodyn_storage::{Backend, Durability, Op, ReadView, Result, StorageError, Visitor};
use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode, Readable};

/// fjall keeps its own metadata keyspaces; ours carry this prefix so we list only ours.
const PREFIX: &str = "fd.";

pub struct FjallBackend {
    db: Database,
    /// Seam keyspaces: the fjall keyspace, or None while only declared (reads as empty).
    keyspaces: RwLock<HashMap<String, Option<Keyspace>>>,
    /// How many of them are declared and not created yet (changed under the map's write
    /// lock): while none are, a commit does not look for them.
    uncreated: AtomicUsize,
}

fn io(e: impl std::fmt::Display) -> StorageError {
    StorageError::Io(e.to_string())
}

fn poisoned<T>(_: T) -> StorageError {
    StorageError::Io("poisoned lock".into())
}

impl FjallBackend {
    /// Open (or create) a database in `path`.
    pub fn open(path: &Path, cache_bytes: u64) -> Result<Self> {
        std::fs::create_dir_all(path).map_err(io)?;
        let db = Database::builder(path)
            .cache_size(cache_bytes)
            .open()
            .map_err(io)?;
        let mut keyspaces = HashMap::new();
        for name in db.list_keyspace_names() {
            let name: &str = &name;
            if let Some(ours) = name.strip_prefix(PREFIX) {
                let ks = db
                    .keyspace(name, KeyspaceCreateOptions::default)
                    .map_err(io)?;
                keyspaces.insert(ours.to_owned(), Some(ks));
            }
        }
        Ok(FjallBackend {
            db,
            keyspaces: RwLock::new(keyspaces),
            uncreated: AtomicUsize::new(0),
        })
    }

    /// The fjall keyspace, or None for a declared one not created yet (empty).
    fn handle(&self, ks: &str) -> Result<Option<Keyspace>> {
        self.keyspaces
            .read()
            .map_err(poisoned)?
            .get(ks)
            .cloned()
            .ok_or_else(|| StorageError::NoKeyspace(ks.to_owned()))
    }

    /// Create the fjall keyspace behind a seam keyspace (under the map's write lock).
    fn materialize(
        &self,
        map: &mut HashMap<String, Option<Keyspace>>,
        ks: &str,
    ) -> Result<Keyspace> {
        if let Some(Some(h)) = map.get(ks) {
            return Ok(h.clone());
        }
        let full = format!("{PREFIX}{ks}");
        if full.len() > 255 {
            return Err(StorageError::Io(format!("invalid keyspace name {ks:?}")));
        }
        let h = self
            .db
            .keyspace(&full, KeyspaceCreateOptions::default)
            .map_err(io)?;
        if map.insert(ks.to_owned(), Some(h.clone())).is_some() {
            // It was declared (None) until now.
            self.uncreated.fetch_sub(1, Ordering::AcqRel);
        }
        Ok(h)
    }
}

struct View<'a> {
    backend: &'a FjallBackend,
    snap: fjall::Snapshot,
}

impl ReadView for View<'_> {
    fn get(&self, ks: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let Some(h) = self.backend.handle(ks)? else {
            return Ok(None);
        };
        Ok(self.snap.get(&h, key).map_err(io)?.map(|v| v.to_vec()))
    }

    fn scan(
        &self,
        ks: &str,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        let Some(h) = self.backend.handle(ks)? else {
            return Ok(());
        };
        if !valid_range(start, end) {
            return Ok(());
        }
        let iter = self.snap.range::<&[u8], _>(&h, (start, end));
        let mut each = |g: fjall::Guard| -> Result<bool> {
            let (k, v) = g.into_inner().map_err(io)?;
            Ok(visit(&k, &v))
        };
        if reverse {
            for g in iter.rev() {
                if !each(g)? {
                    break;
                }
            }
        } else {
            for g in iter {
                if !each(g)? {
                    break;
                }
            }
        }
        Ok(())
    }
}

impl Backend for FjallBackend {
    fn name(&self) -> &'static str {
        "fjall"
    }

    fn create_keyspace(&self, ks: &str) -> Result<()> {
        let mut map = self.keyspaces.write().map_err(poisoned)?;
        self.materialize(&mut map, ks).map(|_| ())
    }

    fn declare_keyspace(&self, ks: &str) -> Result<()> {
        let mut map = self.keyspaces.write().map_err(poisoned)?;
        if format!("{PREFIX}{ks}").len() > 255 {
            return Err(StorageError::Io(format!("invalid keyspace name {ks:?}")));
        }
        if let std::collections::hash_map::Entry::Vacant(e) = map.entry(ks.to_owned()) {
            e.insert(None);
            self.uncreated.fetch_add(1, Ordering::AcqRel);
        }
        Ok(())
    }

    fn drop_keyspace(&self, ks: &str) -> Result<()> {
        let mut map = self.keyspaces.write().map_err(poisoned)?;
        match map.remove(ks) {
            Some(Some(h)) => self.db.delete_keyspace(h).map_err(io)?,
            Some(None) => {
                self.uncreated.fetch_sub(1, Ordering::AcqRel);
            }
            None => {}
        }
        Ok(())
    }

    fn keyspaces(&self) -> Result<Vec<String>> {
        Ok(self
            .keyspaces
            .read()
            .map_err(poisoned)?
            .keys()
            .cloned()
            .collect())
    }

    fn snapshot(&self) -> Result<Box<dyn ReadView + '_>> {
        Ok(Box::new(View {
            backend: self,
            snap: self.db.snapshot(),
        }))
    }

    fn commit(&self, ops: &[Op], durability: Durability) -> Result<()> {
        let mode = match durability {
            Durability::Fsync => PersistMode::SyncAll,
            Durability::Buffered => PersistMode::Buffer,
        };
        // Declared keyspaces this commit writes to are created first.
        let pending = self.uncreated.load(Ordering::Acquire) > 0 && {
            let map = self.keyspaces.read().map_err(poisoned)?;
            ops.iter().any(|op| {
                let (Op::Put { ks, .. } | Op::Delete { ks, .. }) = op;
                matches!(map.get(ks.as_str()), Some(None))
            })
        };
        if pending {
            let mut map = self.keyspaces.write().map_err(poisoned)?;
            for op in ops {
                let (Op::Put { ks, .. } | Op::Delete { ks, .. }) = op;
                if matches!(map.get(ks.as_str()), Some(None)) {
                    self.materialize(&mut map, ks)?;
                }
            }
        }
        let mut batch = self.db.batch().durability(Some(mode));
        {
            let map = self.keyspaces.read().map_err(poisoned)?;
            let find = |ks: &str| match map.get(ks) {
                Some(Some(h)) => Ok(h),
                _ => Err(StorageError::NoKeyspace(ks.to_owned())),
            };
            for op in ops {
                let (Op::Put { key, .. } | Op::Delete { key, .. }) = op;
                ferrodyn_storage::check_key(key)?;
                match op {
                    Op::Put { ks, key, value } => {
                        batch.insert(find(ks)?, key.as_slice(), value.as_slice())
                    }
                    Op::Delete { ks, key } => batch.remove(find(ks)?, key.as_slice()),
                }
            }
        }
        batch.commit().map_err(io)
    }

    fn disk_bytes(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used
)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[test]
    fn shared_suite() {
        let dirs = Mutex::new(Vec::new());
        ferrodyn_storage::testsuite::run_all(&|| {
            let dir = tempfile::tempdir().unwrap();
            let b = FjallBackend::open(dir.path(), 8 << 20).unwrap();
            dirs.lock().unwrap().push(dir);
            Arc::new(b)
        });
    }

    #[test]
    fn declared_keyspaces_are_created_by_their_first_write() {
        let dir = tempfile::tempdir().unwrap();
        {
            let b = FjallBackend::open(dir.path(), 8 << 20).unwrap();
            b.declare_keyspace("meta").unwrap();
            b.declare_keyspace("unused").unwrap();
            // Nothing created on disk yet.
            assert!(b.db.list_keyspace_names().is_empty());
            assert_eq!(b.uncreated.load(Ordering::Acquire), 2);
            b.commit(
                &[Op::Put {
                    ks: "meta".into(),
                    key: b"k".to_vec(),
                    value: b"v".to_vec(),
                }],
                Durability::Fsync,
            )
            .unwrap();
            assert_eq!(b.db.list_keyspace_names().len(), 1);
            assert_eq!(b.uncreated.load(Ordering::Acquire), 1);
            // Declaring what exists changes nothing; created or dropped, none is left.
            b.declare_keyspace("meta").unwrap();
            assert_eq!(b.uncreated.load(Ordering::Acquire), 1);
            b.declare_keyspace("gone").unwrap();
            b.drop_keyspace("gone").unwrap();
            b.create_keyspace("unused").unwrap();
            assert_eq!(b.uncreated.load(Ordering::Acquire), 0);
            b.drop_keyspace("unused").unwrap();
        }
        // After a restart the written one is there; the other was never created.
        let b = FjallBackend::open(dir.path(), 8 << 20).unwrap();
        assert_eq!(b.keyspaces().unwrap(), vec!["meta".to_string()]);
        assert_eq!(
            b.snapshot().unwrap().get("meta", b"k").unwrap().as_deref(),
            Some(&b"v"[..])
        );
    }

    #[test]
    fn reopen_keeps_data_and_keyspaces() {
        let dir = tempfile::tempdir().unwrap();
        {
            let b = FjallBackend::open(dir.path(), 8 << 20).unwrap();
            b.create_keyspace("t1").unwrap();
            b.create_keyspace("gone").unwrap();
            b.commit(
                &[Op::Put {
                    ks: "t1".into(),
                    key: b"k".to_vec(),
                    value: b"v".to_vec(),
                }],
                Durability::Fsync,
            )
            .unwrap();
            b.drop_keyspace("gone").unwrap();
        }
        let b = FjallBackend::open(dir.path(), 8 << 20).unwrap();
        assert_eq!(b.keyspaces().unwrap(), vec!["t1".to_string()]);
        assert_eq!(
            b.snapshot().unwrap().get("t1", b"k").unwrap().as_deref(),
            Some(&b"v"[..])
        );
    }
}
