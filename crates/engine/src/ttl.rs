//! Time to Live: the TTL settings, the expiry index kept in the item write path, and the
//! sweeper that deletes expired items.
//!
//! Expiry index, keyspace `e.<table id>`: key = expiry second (8 bytes, big-endian) |
//! table item key, value empty. The sweeper reads it from the start up to "now", so it
//! never scans the table; each expired item is re-read and deleted in its own transaction
//! through the single write path, which removes its index entries too.

use std::ops::Bound;

use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{ApiError, Violations};
use ferrodyn_types::{AttributeValue, Item};

use crate::catalog::TableMeta;
use crate::{storage_error, Engine, TxError};

/// DynamoDB leaves items whose TTL is more than five years in the past alone.
pub const MAX_TTL_AGE_SECONDS: f64 = 5.0 * 365.0 * 24.0 * 3600.0;

/// The expiry keyspace of a table.
pub fn keyspace_of(table_keyspace: &str) -> String {
    let id = table_keyspace.strip_prefix("t.").unwrap_or(table_keyspace);
    format!("e.{id}")
}

/// The expiry second of `item` under `meta`'s TTL attribute: a Number, not negative.
pub(crate) fn expiry_of(meta: &TableMeta, item: &Item) -> Option<u64> {
    let attr = meta.ttl.as_ref()?;
    let AttributeValue::N(n) = item.get(attr)? else {
        return None;
    };
    let secs: f64 = n.to_string().parse().ok()?;
    if !(0.0..1.0e15).contains(&secs) {
        return None;
    }
    Some(secs.floor() as u64)
}

fn entry(exp: u64, key: &[u8]) -> Vec<u8> {
    let mut k = exp.to_be_bytes().to_vec();
    k.extend_from_slice(key);
    k
}

/// Keep the expiry index in step with one item write (called from `apply_write`).
pub(crate) fn on_write(
    tx: &mut ferrodyn_storage::Tx<'_>,
    meta: &TableMeta,
    key: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
) {
    if meta.ttl.is_none() {
        return;
    }
    let ks = keyspace_of(&meta.keyspace);
    let old_e = old.and_then(|o| expiry_of(meta, o));
    let new_e = new.and_then(|n| expiry_of(meta, n));
    if old_e != new_e {
        if let Some(e) = old_e {
            tx.delete(&ks, entry(e, key));
        }
    }
    if let Some(e) = new_e {
        tx.put(&ks, entry(e, key), Vec::new());
    }
}

impl Engine {
    pub async fn update_time_to_live(
        &self,
        input: UpdateTimeToLiveInput,
    ) -> Result<UpdateTimeToLiveOutput, ApiError> {
        let mut v = Violations::new();
        v.table_name(&input.table_name, "tableName");
        v.not_null(&input.time_to_live_specification, "timeToLiveSpecification");
        if let Some(spec) = &input.time_to_live_specification {
            v.not_null(&spec.enabled, "timeToLiveSpecification.enabled");
            match &spec.attribute_name {
                None => v.not_null(
                    &spec.attribute_name,
                    "timeToLiveSpecification.attributeName",
                ),
                Some(a) if a.is_empty() => v.add(
                    Some(a),
                    "timeToLiveSpecification.attributeName",
                    "Member must have length greater than or equal to 1",
                ),
                Some(a) if a.len() > 255 => v.add(
                    Some(a),
                    "timeToLiveSpecification.attributeName",
                    "Member must have length less than or equal to 255",
                ),
                _ => {}
            }
        }
        v.into_result()?;
        let spec = input.time_to_live_specification.clone().unwrap_or_default();
        let enable = spec.enabled == Some(true);
        let attr = spec.attribute_name.clone().unwrap_or_default();
        let name = input.table_name.clone().unwrap_or_default();
        let meta = self.table_for_admin(&name)?;
        match (&meta.ttl, enable) {
            (Some(cur), _) if *cur != attr => {
                return Err(ApiError::validation(format!(
                    "TimeToLive is active on a different AttributeName: current AttributeName is {cur}"
                )));
            }
            (Some(_), true) => {
                return Err(ApiError::validation("TimeToLive is already enabled"));
            }
            (None, false) => {
                return Err(ApiError::validation("TimeToLive is already disabled"));
            }
            _ => {}
        }
        // The content checks above come first; then the cooldown after the last change.
        let now = self.clock.now();
        let cooldown = self.config.ttl_cooldown.as_secs_f64();
        if meta
            .ttl_changed_at
            .is_some_and(|t| cooldown > 0.0 && now < t + cooldown)
        {
            return Err(ApiError::validation(
                "Time to live has been modified multiple times within a fixed interval",
            ));
        }
        let mut m = (*meta).clone();
        m.ttl_changed_at = Some(now);
        m.ttl_disabled_attr = if enable { None } else { Some(attr.clone()) };
        let ks = keyspace_of(&meta.keyspace);
        if enable {
            self.store
                .backend()
                .create_keyspace(&ks)
                .map_err(storage_error)?;
            m.ttl = Some(attr.clone());
        } else {
            m.ttl = None;
        }
        let out = self.replace_meta(&meta, m).await?;
        if enable {
            self.index_expiries(&out).await?;
        } else if let Err(e) = self.store.backend().drop_keyspace(&ks) {
            tracing::warn!(error = %e, keyspace = %ks, "could not drop expiry keyspace");
        }
        Ok(UpdateTimeToLiveOutput {
            time_to_live_specification: TimeToLiveSpecification {
                enabled: Some(enable),
                attribute_name: Some(attr),
            },
        })
    }

    pub async fn describe_time_to_live(
        &self,
        input: TableNameInput,
    ) -> Result<DescribeTimeToLiveOutput, ApiError> {
        let mut v = Violations::new();
        v.table_name(&input.table_name, "tableName");
        v.into_result()?;
        let meta = self.table_for_admin(input.table_name.as_deref().unwrap_or_default())?;
        // ENABLING / DISABLING only while the transient delay lasts (DynamoDB Local's
        // -delayTransientStatuses); DynamoDB itself settles within a couple of seconds.
        let settling = match (self.config.transient_delay, meta.ttl_changed_at) {
            (Some(d), Some(t)) => self.clock.now() < t + d.as_secs_f64(),
            _ => false,
        };
        Ok(DescribeTimeToLiveOutput {
            time_to_live_description: match (&meta.ttl, &meta.ttl_disabled_attr) {
                (Some(a), _) => TimeToLiveDescription {
                    time_to_live_status: if settling { "ENABLING" } else { "ENABLED" }.into(),
                    attribute_name: Some(a.clone()),
                },
                (None, Some(a)) if settling => TimeToLiveDescription {
                    time_to_live_status: "DISABLING".into(),
                    attribute_name: Some(a.clone()),
                },
                (None, _) => TimeToLiveDescription {
                    time_to_live_status: "DISABLED".into(),
                    attribute_name: None,
                },
            },
        })
    }

    /// Index the expiry of every item already in a table (TTL just enabled), in small
    /// transactions that re-read each item.
    async fn index_expiries(&self, meta: &std::sync::Arc<TableMeta>) -> Result<(), ApiError> {
        let mut after: Option<Vec<u8>> = None;
        loop {
            let keys: Vec<Vec<u8>> = {
                let view = self.store.snapshot().map_err(storage_error)?;
                let mut keys = Vec::new();
                let start = match &after {
                    Some(a) => Bound::Excluded(a.as_slice()),
                    None => Bound::Unbounded,
                };
                view.scan(
                    &meta.keyspace,
                    start,
                    Bound::Unbounded,
                    false,
                    &mut |k, _| {
                        keys.push(k.to_vec());
                        keys.len() < 512
                    },
                )
                .map_err(storage_error)?;
                keys
            };
            let Some(last) = keys.last().cloned() else {
                return Ok(());
            };
            let m = meta.clone();
            self.store
                .transact(move |tx| {
                    for k in &keys {
                        if let Some(item) = crate::ops::item::read_item(tx, &m.keyspace, k)? {
                            on_write(tx, &m, k, None, Some(&item));
                        }
                    }
                    Ok::<(), TxError>(())
                })
                .await
                .map_err(|TxError(e)| e)?;
            after = Some(last);
        }
    }

    /// Delete the items whose TTL has passed (one pass over every table with TTL on);
    /// returns how many were deleted.
    pub async fn sweep_expired(&self) -> Result<usize, ApiError> {
        let now = self.clock.now();
        let tables: Vec<std::sync::Arc<TableMeta>> = self
            .tables
            .read()
            .map(|t| t.values().filter(|m| m.ttl.is_some()).cloned().collect())
            .unwrap_or_default();
        let mut deleted = 0;
        for meta in tables {
            let ks = keyspace_of(&meta.keyspace);
            // Entries more than five years old are never due (DynamoDB leaves such items
            // alone), so the scan starts after them; a pass takes up to 10 rounds of 1000.
            let start = ((now - MAX_TTL_AGE_SECONDS).max(0.0).ceil() as u64).to_be_bytes();
            let end = (now.max(0.0).floor() as u64).to_be_bytes();
            for _round in 0..10 {
                let due: Vec<Vec<u8>> = {
                    let view = self.store.snapshot().map_err(storage_error)?;
                    let mut entries = Vec::new();
                    view.scan(
                        &ks,
                        Bound::Included(&start[..]),
                        Bound::Excluded(&end[..]),
                        false,
                        &mut |k, _| {
                            entries.push(k.to_vec());
                            entries.len() < 1000
                        },
                    )
                    .map_err(storage_error)?;
                    entries
                };
                let full = due.len() >= 1000;
                for entry_key in due {
                    let m = meta.clone();
                    let ks = ks.clone();
                    let region = self.config.region.clone();
                    let server = self.server_id();
                    let shard_period = self.config.stream_shard_period.as_secs_f64();
                    let done = self
                        .store
                        .transact(move |tx| {
                            let key = entry_key.get(8..).unwrap_or_default();
                            let item = crate::ops::item::read_item(tx, &m.keyspace, key)?;
                            let exp = item.as_ref().and_then(|i| expiry_of(&m, i));
                            let (Some(item), Some(exp)) = (item, exp) else {
                                // An entry without its item: drop it so it is not met again.
                                tx.delete(&ks, entry_key.clone());
                                return Ok(false);
                            };
                            if entry(exp, key) != entry_key {
                                tx.delete(&ks, entry_key.clone());
                                return Ok(false);
                            }
                            let exp = exp as f64;
                            if exp >= now || now - exp > MAX_TTL_AGE_SECONDS {
                                return Ok(false);
                            }
                            let ctx = crate::streams::WriteCtx {
                                now,
                                region: &region,
                                by_ttl: true,
                                shard_period,
                                server: server.as_deref(),
                            };
                            crate::ops::item::apply_write(tx, &m, key, Some(&item), None, ctx)?;
                            Ok::<bool, TxError>(true)
                        })
                        .await
                        .map_err(|TxError(e)| e)?;
                    deleted += usize::from(done);
                }
                if !full {
                    break;
                }
            }
        }
        Ok(deleted)
    }
}
