//! Secondary indexes: their definitions, the storage key of an index entry, and keeping
//! entries in step with items (called from the single write path, `item::apply_write`).
//!
//! Index entry key, one keyspace per index (`i.<table keyspace id>.<index name>`):
//!
//! ```text
//! fnv1a32(partition parts) | partition parts | sort parts | table item key
//! ```
//!
//! Each part is one key attribute's value in the prefix-free, order-preserving encoding of
//! table keys, so a GSI with several partition or sort attributes (up to four of each)
//! orders by them left to right; the table item key at the end keeps entries with equal
//! index keys apart, in table-key order. The entry value is the item as the index projects
//! it (KEYS_ONLY, INCLUDE or ALL).

use ferrodyn_protocol::ApiError;
use ferrodyn_types::codec::encode_item;
use ferrodyn_types::key::{encode_part, fnv1a32};
use ferrodyn_types::{item_size, AttributeValue, Item, KeyAttr, KeySchema, ScalarType};

use crate::catalog::{Stats, TableMeta};
use crate::TxError;

/// What an index stores of each item.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Projection {
    All,
    KeysOnly,
    Include(Vec<String>),
}

/// One secondary index of a table.
#[derive(Clone, Debug)]
pub struct IndexDef {
    pub name: String,
    pub keyspace: String,
    /// Key of its counters in the statistics keyspace.
    pub stats_id: String,
    pub hash: Vec<KeyAttr>,
    pub range: Vec<KeyAttr>,
    pub projection: Projection,
    pub global: bool,
    /// Being filled from existing items (a GSI added by UpdateTable): some items have no
    /// entry yet, so removing one must check that it exists.
    pub backfilling: bool,
}

fn scalar(t: &str) -> ScalarType {
    match t {
        "N" => ScalarType::N,
        "B" => ScalarType::B,
        _ => ScalarType::S,
    }
}

/// The keyspace of an index.
pub fn keyspace_of(table_keyspace: &str, index: &str) -> String {
    let id = table_keyspace.strip_prefix("t.").unwrap_or(table_keyspace);
    format!("i.{id}.{index}")
}

impl TableMeta {
    /// The table's secondary indexes, GSIs first, in definition order.
    pub fn indexes(&self) -> Vec<IndexDef> {
        let ty = |name: &str| {
            self.desc
                .attribute_definitions
                .iter()
                .find(|d| d.attribute_name.as_deref() == Some(name))
                .and_then(|d| d.attribute_type.as_deref())
                .map_or(ScalarType::S, scalar)
        };
        let mut out = Vec::new();
        let gsis = self
            .desc
            .global_secondary_indexes
            .iter()
            .flatten()
            .map(|g| {
                (
                    g.index_name.clone(),
                    g.key_schema.clone(),
                    g.projection.clone(),
                    true,
                    g.index_status == "CREATING",
                )
            });
        let lsis = self.desc.local_secondary_indexes.iter().flatten().map(|l| {
            (
                l.index_name.clone(),
                l.key_schema.clone(),
                l.projection.clone(),
                false,
                false,
            )
        });
        for (name, ks, proj, global, backfilling) in gsis.chain(lsis) {
            let attrs = |kind: &str| -> Vec<KeyAttr> {
                ks.iter()
                    .filter(|e| e.key_type.as_deref() == Some(kind))
                    .filter_map(|e| e.attribute_name.clone())
                    .map(|n| KeyAttr {
                        ty: ty(&n),
                        name: n,
                    })
                    .collect()
            };
            let projection = match proj.projection_type.as_deref() {
                Some("KEYS_ONLY") => Projection::KeysOnly,
                Some("INCLUDE") => Projection::Include(proj.non_key_attributes.unwrap_or_default()),
                _ => Projection::All,
            };
            out.push(IndexDef {
                keyspace: keyspace_of(&self.keyspace, &name),
                stats_id: format!("{}#{name}", self.desc.table_id),
                hash: attrs("HASH"),
                range: attrs("RANGE"),
                projection,
                global,
                backfilling,
                name,
            });
        }
        out
    }

    pub fn index(&self, name: &str) -> Option<IndexDef> {
        self.indexes().into_iter().find(|i| i.name == name)
    }
}

impl IndexDef {
    /// Names of the index key attributes, partition first.
    pub fn key_names(&self) -> impl Iterator<Item = &str> {
        self.hash.iter().chain(&self.range).map(|a| a.name.as_str())
    }

    /// The index key as a plain key schema (its first partition and sort attributes).
    pub fn key_schema(&self) -> Option<KeySchema> {
        Some(KeySchema {
            hash: self.hash.first()?.clone(),
            range: self.range.first().cloned(),
        })
    }

    /// The storage prefix shared by all entries with these partition values.
    pub fn partition_prefix(&self, hash: &[&AttributeValue]) -> Vec<u8> {
        let mut part = Vec::new();
        for v in hash {
            encode_part(v, &mut part);
        }
        let mut out = Vec::with_capacity(part.len() + 4);
        out.extend_from_slice(&fnv1a32(&part).to_be_bytes());
        out.extend_from_slice(&part);
        out
    }

    /// The entry key of `item` (stored under `table_key`), None when the item lacks an
    /// index key attribute (the index is sparse). A key attribute of the wrong type or an
    /// empty one is refused with DynamoDB's message.
    pub fn entry_key(&self, table_key: &[u8], item: &Item) -> Result<Option<Vec<u8>>, ApiError> {
        // Every key attribute present must have the right type, even if another is absent.
        for a in self.hash.iter().chain(&self.range) {
            self.check(a, item)?;
        }
        let mut hash = Vec::with_capacity(self.hash.len());
        for a in &self.hash {
            match self.check(a, item)? {
                Some(v) => hash.push(v),
                None => return Ok(None),
            }
        }
        let mut out = self.partition_prefix(&hash);
        for a in &self.range {
            match self.check(a, item)? {
                Some(v) => encode_part(v, &mut out),
                None => return Ok(None),
            }
        }
        out.extend_from_slice(table_key);
        Ok(Some(out))
    }

    fn check<'i>(
        &self,
        a: &KeyAttr,
        item: &'i Item,
    ) -> Result<Option<&'i AttributeValue>, ApiError> {
        let Some(v) = item.get(&a.name) else {
            return Ok(None);
        };
        if v.scalar_type() != Some(a.ty) {
            return Err(ApiError::validation(format!(
                "One or more parameter values were invalid: Type mismatch for Index Key {} Expected: {} Actual: {} IndexName: {}",
                a.name,
                a.ty.as_str(),
                v.type_name(),
                self.name
            )));
        }
        let empty = match v {
            AttributeValue::S(s) => s.is_empty(),
            AttributeValue::B(b) => b.is_empty(),
            _ => false,
        };
        if empty {
            return Err(ApiError::validation(format!(
                "One or more parameter values are not valid. A value specified for a secondary index key is not supported. The AttributeValue for a key attribute cannot contain an empty {} value. IndexName: {}, IndexKey: {}",
                if matches!(v, AttributeValue::B(_)) { "binary" } else { "string" },
                self.name,
                a.name
            )));
        }
        Ok(Some(v))
    }

    /// The item as this index stores it.
    pub fn project(&self, table: &KeySchema, item: &Item) -> Item {
        match &self.projection {
            Projection::All => item.clone(),
            Projection::KeysOnly | Projection::Include(_) => item
                .iter()
                .filter(|(k, _)| {
                    table.is_key(k)
                        || self.key_names().any(|n| n == k.as_str())
                        || matches!(&self.projection, Projection::Include(list) if list.contains(k))
                })
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }
    }

    /// The key attributes an index page's LastEvaluatedKey holds: the table's and the
    /// index's.
    pub fn page_key(&self, table: &KeySchema, item: &Item) -> Item {
        item.iter()
            .filter(|(k, _)| table.is_key(k) || self.key_names().any(|n| n == k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Keep every index of `meta` in step with one item write, in the same transaction.
/// Returns the change in bytes of the item's LSI entries (part of its item collection).
pub(crate) fn on_write(
    tx: &mut ferrodyn_storage::Tx<'_>,
    meta: &TableMeta,
    key: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
    server: Option<&str>,
) -> Result<i64, TxError> {
    let mut lsi_bytes = 0i64;
    for idx in meta.indexes() {
        let mut old_entry = match old {
            Some(o) => idx.entry_key(key, o).unwrap_or(None),
            None => None,
        };
        if idx.backfilling {
            if let Some(oe) = &old_entry {
                if tx.get(&idx.keyspace, oe)?.is_none() {
                    old_entry = None;
                }
            }
        }
        let new_entry = match new {
            Some(n) => idx.entry_key(key, n).map_err(TxError)?,
            None => None,
        };
        let old_size = old
            .filter(|_| old_entry.is_some())
            .map(|o| item_size(&idx.project(&meta.schema, o)) as i64)
            .unwrap_or(0);
        if let Some(oe) = &old_entry {
            if new_entry.as_ref() != Some(oe) {
                tx.delete(&idx.keyspace, oe.clone());
            }
        }
        let mut items = -i64::from(old_entry.is_some());
        let mut bytes = -old_size;
        if let (Some(ne), Some(n)) = (&new_entry, new) {
            let projected = idx.project(&meta.schema, n);
            bytes += item_size(&projected) as i64;
            items += 1;
            tx.put(&idx.keyspace, ne.clone(), encode_item(&projected));
        }
        Stats::adjust(tx, &idx.stats_id, items, bytes, server)?;
        if !idx.global {
            lsi_bytes += bytes;
        }
    }
    Ok(lsi_bytes)
}

/// Largest item collection (items and LSI entries sharing a partition key value) of a
/// table with local secondary indexes.
pub const MAX_ITEM_COLLECTION_BYTES: i64 = 10 * 1024 * 1024 * 1024;

/// The statistics key of the item collection `item` belongs to.
pub(crate) fn collection_key(meta: &TableMeta, item: &Item) -> Option<Vec<u8>> {
    let v = item.get(&meta.schema.hash.name)?;
    let mut k = format!("c.{}.", meta.desc.table_id).into_bytes();
    encode_part(v, &mut k);
    Some(k)
}

impl crate::Engine {
    /// Fill a GSI added by UpdateTable from the items already in the table, in small
    /// transactions that re-read each item (concurrent writes maintain the index
    /// themselves), then mark it ACTIVE.
    pub(crate) async fn backfill(&self, table: &str, index: &str) -> Result<(), ApiError> {
        const CHUNK: usize = 256;
        let Some(job) = self.claim_job(format!("backfill/{table}/{index}")).await else {
            return Ok(());
        };
        let server = self.server_id();
        let mut after: Option<Vec<u8>> = None;
        loop {
            if !job.renew().await {
                return Ok(());
            }
            let meta = self.table(table)?;
            let Some(idx) = meta.index(index) else {
                return Ok(());
            };
            let keys: Vec<Vec<u8>> = {
                let view = self.store.snapshot().map_err(crate::storage_error)?;
                let mut keys = Vec::with_capacity(CHUNK);
                let start = match &after {
                    Some(a) => std::ops::Bound::Excluded(a.as_slice()),
                    None => std::ops::Bound::Unbounded,
                };
                view.scan(
                    &meta.keyspace,
                    start,
                    std::ops::Bound::Unbounded,
                    false,
                    &mut |k, _| {
                        keys.push(k.to_vec());
                        keys.len() < CHUNK
                    },
                )
                .map_err(crate::storage_error)?;
                keys
            };
            let Some(last) = keys.last().cloned() else {
                break;
            };
            let m = meta.clone();
            let server = server.clone();
            self.store
                .transact(move |tx| {
                    if server.is_some() {
                        // The table may have been deleted or the index dropped meanwhile.
                        let cur = crate::cluster::current_meta(tx, &m)?;
                        if cur.is_some_and(|c| c.index(&idx.name).is_none()) {
                            return Ok(());
                        }
                    }
                    for k in &keys {
                        let Some(item) = crate::ops::item::read_item(tx, &m.keyspace, k)? else {
                            continue;
                        };
                        // Items whose index key has the wrong type are not indexed.
                        let Ok(Some(entry)) = idx.entry_key(k, &item) else {
                            continue;
                        };
                        if tx.get(&idx.keyspace, &entry)?.is_none() {
                            let projected = idx.project(&m.schema, &item);
                            Stats::adjust(
                                tx,
                                &idx.stats_id,
                                1,
                                item_size(&projected) as i64,
                                server.as_deref(),
                            )?;
                            tx.put(&idx.keyspace, entry, encode_item(&projected));
                        }
                    }
                    Ok::<(), TxError>(())
                })
                .await
                .map_err(|TxError(e)| e)?;
            after = Some(last);
        }
        self.refresh_catalog(true);
        let meta = self.table(table)?;
        let mut m = (*meta).clone();
        let mut changed = false;
        for g in m.desc.global_secondary_indexes.iter_mut().flatten() {
            if g.index_name == index && g.index_status == "CREATING" {
                g.index_status = "ACTIVE".into();
                g.backfilling = None;
                changed = true;
            }
        }
        if changed {
            self.replace_meta(&meta, m).await?;
        }
        job.finish().await;
        Ok(())
    }

    /// Backfill `index` in the background when the engine is shared (the server), or
    /// right away otherwise (tests that hold the engine directly).
    pub(crate) async fn start_backfill(&self, table: String, index: String) {
        match self.me.get().and_then(std::sync::Weak::upgrade) {
            Some(engine) => {
                tokio::spawn(async move {
                    if let Err(e) = engine.backfill(&table, &index).await {
                        tracing::warn!(table, index, error = %e, "index backfill failed");
                    }
                });
            }
            None => {
                if let Err(e) = self.backfill(&table, &index).await {
                    tracing::warn!(table, index, error = %e, "index backfill failed");
                }
            }
        }
    }
}
