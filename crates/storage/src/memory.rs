//! The in-memory backend: the reference model every other backend is tested against.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::{RwLock, RwLockReadGuard};

use crate::{Backend, Durability, Op, ReadView, Result, StorageError, Visitor};

type Keyspace = BTreeMap<Vec<u8>, Vec<u8>>;

/// Keyspaces as ordered maps behind one lock: a snapshot holds the read lock, a commit
/// takes the write lock, so every read view is consistent and every commit atomic.
#[derive(Default)]
pub struct MemoryBackend {
    data: RwLock<HashMap<String, Keyspace>>,
}

impl MemoryBackend {
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> Result<RwLockReadGuard<'_, HashMap<String, Keyspace>>> {
        self.data
            .read()
            .map_err(|_| StorageError::Io("poisoned lock".into()))
    }
}

struct View<'a>(RwLockReadGuard<'a, HashMap<String, Keyspace>>);

impl View<'_> {
    fn ks(&self, ks: &str) -> Result<&Keyspace> {
        self.0
            .get(ks)
            .ok_or_else(|| StorageError::NoKeyspace(ks.to_owned()))
    }
}

impl ReadView for View<'_> {
    fn get(&self, ks: &str, key: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(self.ks(ks)?.get(key).cloned())
    }

    fn scan(
        &self,
        ks: &str,
        start: Bound<&[u8]>,
        end: Bound<&[u8]>,
        reverse: bool,
        visit: &mut Visitor<'_>,
    ) -> Result<()> {
        let map = self.ks(ks)?;
        if !valid_range(start, end) {
            return Ok(());
        }
        let range = map.range::<[u8], _>((start, end));
        if reverse {
            for (k, v) in range.rev() {
                if !visit(k, v) {
                    break;
                }
            }
        } else {
            for (k, v) in range {
                if !visit(k, v) {
                    break;
                }
            }
        }
        Ok(())
    }
}

/// Whether a range can hold anything: `BTreeMap::range` panics on an inverted range, and
/// every backend treats one as empty. Shared by all backends.
pub fn valid_range(start: Bound<&[u8]>, end: Bound<&[u8]>) -> bool {
    match (start, end) {
        (Bound::Included(s), Bound::Included(e)) => s <= e,
        (Bound::Included(s), Bound::Excluded(e)) | (Bound::Excluded(s), Bound::Included(e)) => {
            s < e
        }
        (Bound::Excluded(s), Bound::Excluded(e)) => s < e,
        _ => true,
    }
}

impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }

    fn snapshots_block_writes(&self) -> bool {
        true
    }

    fn create_keyspace(&self, ks: &str) -> Result<()> {
        let mut data = self
            .data
            .write()
            .map_err(|_| StorageError::Io("poisoned lock".into()))?;
        data.entry(ks.to_owned()).or_default();
        Ok(())
    }

    fn drop_keyspace(&self, ks: &str) -> Result<()> {
        let mut data = self
            .data
            .write()
            .map_err(|_| StorageError::Io("poisoned lock".into()))?;
        data.remove(ks);
        Ok(())
    }

    fn keyspaces(&self) -> Result<Vec<String>> {
        Ok(self.read()?.keys().cloned().collect())
    }

    fn snapshot(&self) -> Result<Box<dyn ReadView + '_>> {
        Ok(Box::new(View(self.read()?)))
    }

    fn commit(&self, ops: &[Op], _durability: Durability) -> Result<()> {
        let mut data = self
            .data
            .write()
            .map_err(|_| StorageError::Io("poisoned lock".into()))?;
        // Check first, then apply: a batch naming a missing keyspace changes nothing.
        for op in ops {
            let ks = match op {
                Op::Put { ks, .. } | Op::Delete { ks, .. } => ks,
            };
            let (Op::Put { key, .. } | Op::Delete { key, .. }) = op;
            crate::check_key(key)?;
            if !data.contains_key(ks) {
                return Err(StorageError::NoKeyspace(ks.clone()));
            }
        }
        for op in ops {
            match op {
                Op::Put { ks, key, value } => {
                    if let Some(m) = data.get_mut(ks) {
                        m.insert(key.clone(), value.clone());
                    }
                }
                Op::Delete { ks, key } => {
                    if let Some(m) = data.get_mut(ks) {
                        m.remove(key);
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    #[test]
    fn shared_suite() {
        crate::testsuite::run_all(&|| Arc::new(super::MemoryBackend::new()));
    }
}
