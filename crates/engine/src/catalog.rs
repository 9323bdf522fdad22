//! The table catalog: metadata of every table, persisted in the `catalog` keyspace and
//! cached in memory.

use std::collections::HashMap;
use std::ops::Bound;
use std::sync::Arc;

use ferrodyn_protocol::model::{TableDescription, Tag};
use ferrodyn_storage::{ReadView, StorageError, Tx};
use ferrodyn_types::KeySchema;
use serde::{Deserialize, Serialize};

use crate::{CATALOG, STATS};

/// A table's metadata.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableMeta {
    pub name: String,
    /// The storage keyspace holding the items.
    pub keyspace: String,
    pub schema: KeySchema,
    /// Key and item encoding version the data was written with.
    pub encoding: u32,
    /// The description as created/updated; status, counts and sizes are filled in when
    /// it is described.
    pub desc: TableDescription,
    pub tags: Vec<Tag>,
    /// When the last UpdateTable happened (for the UPDATING transient status).
    pub updated_at: Option<f64>,
    /// Time to Live: the attribute holding each item's expiry (epoch seconds), if enabled.
    #[serde(default)]
    pub ttl: Option<String>,
    /// When Time to Live was last enabled or disabled, and the attribute it was disabled
    /// on (for the DISABLING transient status and the change cooldown).
    #[serde(default)]
    pub ttl_changed_at: Option<f64>,
    #[serde(default)]
    pub ttl_disabled_attr: Option<String>,
    /// Every stream the table has had that is still retained, oldest first.
    #[serde(default)]
    pub streams: Vec<crate::streams::StreamInfo>,
    /// Point-in-time recovery, when enabled.
    #[serde(default)]
    pub pitr: Option<crate::backup::Pitr>,
    /// While a restore fills the table: where its items come from.
    #[serde(default)]
    pub restore_source: Option<crate::backup::RestoreSource>,
    /// Bumped by every change of the metadata when storage is shared (so a write can tell
    /// that the metadata it was planned with is still current); always 0, and not stored,
    /// otherwise.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

impl TableMeta {
    pub fn has_lsi(&self) -> bool {
        self.desc
            .local_secondary_indexes
            .as_ref()
            .is_some_and(|l| !l.is_empty())
    }
}

/// The catalog as of one view.
pub(crate) fn load_view(
    view: &dyn ReadView,
) -> Result<HashMap<String, Arc<TableMeta>>, StorageError> {
    let mut tables = HashMap::new();
    let mut bad = None;
    view.scan(
        CATALOG,
        Bound::Unbounded,
        Bound::Unbounded,
        false,
        &mut |_, v| match serde_json::from_slice::<TableMeta>(v) {
            Ok(t) => {
                tables.insert(t.name.clone(), Arc::new(t));
                true
            }
            Err(e) => {
                bad = Some(e.to_string());
                false
            }
        },
    )?;
    match bad {
        Some(e) => Err(StorageError::Io(format!("corrupt catalog entry: {e}"))),
        None => Ok(tables),
    }
}

pub(crate) fn encode(meta: &TableMeta) -> Result<Vec<u8>, StorageError> {
    serde_json::to_vec(meta).map_err(|e| StorageError::Io(e.to_string()))
}

/// Item count and total item size of a table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    pub items: i64,
    pub bytes: i64,
}

impl Stats {
    fn decode(v: &[u8]) -> Stats {
        let a = v
            .get(..8)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map(i64::from_be_bytes);
        let b = v
            .get(8..16)
            .and_then(|s| <[u8; 8]>::try_from(s).ok())
            .map(i64::from_be_bytes);
        Stats {
            items: a.unwrap_or(0),
            bytes: b.unwrap_or(0),
        }
    }

    fn encode(self) -> Vec<u8> {
        let mut v = self.items.to_be_bytes().to_vec();
        v.extend_from_slice(&self.bytes.to_be_bytes());
        v
    }

    /// The counters of a table (or index); `shared`: summed over every server's part.
    pub fn read(view: &dyn ReadView, table_id: &str, shared: bool) -> Result<Stats, StorageError> {
        let mut s = view
            .get(STATS, table_id.as_bytes())?
            .map(|v| Stats::decode(&v))
            .unwrap_or_default();
        if shared {
            crate::cluster::scan_shards(view, STATS, table_id.as_bytes(), &mut |_, v| {
                let d = Stats::decode(v);
                s.items += d.items;
                s.bytes += d.bytes;
            })?;
        }
        Ok(s)
    }

    /// Move the counters under `part` (a stopped server's part) into the row `key`.
    pub(crate) fn fold(tx: &mut Tx<'_>, key: &[u8], part: &[u8]) -> Result<(), StorageError> {
        let Some(v) = tx.get(STATS, part)? else {
            return Ok(());
        };
        let add = Stats::decode(&v);
        let cur = tx
            .get(STATS, key)?
            .map(|v| Stats::decode(&v))
            .unwrap_or_default();
        let next = Stats {
            items: cur.items + add.items,
            bytes: cur.bytes + add.bytes,
        };
        tx.delete(STATS, part.to_vec());
        if next == Stats::default() {
            tx.delete(STATS, key.to_vec());
        } else {
            tx.put(STATS, key.to_vec(), next.encode());
        }
        Ok(())
    }

    /// Remove the counters of a table (or index), every server's part when `shared`.
    pub(crate) fn clear(
        tx: &mut Tx<'_>,
        id: &str,
        server: Option<&str>,
    ) -> Result<(), StorageError> {
        tx.delete(STATS, id.as_bytes().to_vec());
        if let Some(server) = server {
            let mut keys = vec![crate::cluster::shard_key(id.as_bytes(), server)];
            let mut start = id.as_bytes().to_vec();
            start.push(0);
            let mut end = id.as_bytes().to_vec();
            end.push(1);
            tx.scan_committed(
                STATS,
                Bound::Included(&start[..]),
                Bound::Excluded(&end[..]),
                &mut |k, _| {
                    keys.push(k.to_vec());
                    true
                },
            )?;
            for k in keys {
                tx.delete(STATS, k);
            }
        }
        Ok(())
    }

    /// The counters stored under a raw key (item collections).
    pub fn read_raw(view: &dyn ReadView, key: &[u8]) -> Result<Stats, StorageError> {
        Ok(view
            .get(STATS, key)?
            .map(|v| Stats::decode(&v))
            .unwrap_or_default())
    }

    /// Apply a change under a raw key inside a write transaction; the counters after it.
    pub fn adjust_raw(
        tx: &mut Tx<'_>,
        key: &[u8],
        items: i64,
        bytes: i64,
    ) -> Result<Stats, StorageError> {
        let cur = tx
            .get(STATS, key)?
            .map(|v| Stats::decode(&v))
            .unwrap_or_default();
        let next = Stats {
            items: cur.items + items,
            bytes: cur.bytes + bytes,
        };
        if items != 0 || bytes != 0 {
            if next == Stats::default() {
                tx.delete(STATS, key.to_vec());
            } else {
                tx.put(STATS, key.to_vec(), next.encode());
            }
        }
        Ok(next)
    }

    /// Apply a change in item count and bytes inside a write transaction; to this
    /// server's part of the counters when storage is shared (`server`), the part of the
    /// transaction's commit lane.
    pub fn adjust(
        tx: &mut Tx<'_>,
        table_id: &str,
        items: i64,
        bytes: i64,
        server: Option<&str>,
    ) -> Result<(), StorageError> {
        if items == 0 && bytes == 0 {
            return Ok(());
        }
        if let Some(server) = server {
            let part = crate::cluster::part_name(server, tx.lane());
            let key = crate::cluster::shard_key(table_id.as_bytes(), &part);
            let cur = tx
                .get(STATS, &key)?
                .map(|v| Stats::decode(&v))
                .unwrap_or_default();
            let next = Stats {
                items: cur.items + items,
                bytes: cur.bytes + bytes,
            };
            tx.put(STATS, key, next.encode());
            return Ok(());
        }
        let cur = tx
            .get(STATS, table_id.as_bytes())?
            .map(|v| Stats::decode(&v))
            .unwrap_or_default();
        let next = Stats {
            items: cur.items + items,
            bytes: cur.bytes + bytes,
        };
        tx.put(STATS, table_id.as_bytes().to_vec(), next.encode());
        Ok(())
    }
}
