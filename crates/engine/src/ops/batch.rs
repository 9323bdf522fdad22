//! BatchGetItem and BatchWriteItem.
//!
//! Reads come from one storage snapshot; writes go through the single item write path
//! (`item::apply_write`) in one storage transaction, so a batch is applied all at once
//! (DynamoDB applies each request on its own; all-at-once is a stronger guarantee that no
//! client can tell apart). Nothing is ever left unprocessed except BatchGetItem keys past
//! the 16 MB response limit.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ferrodyn_expr::eval::project;
use ferrodyn_expr::{legacy, Path};
use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{ApiError, Violations};
use ferrodyn_types::codec::decode_item;
use ferrodyn_types::{item_size, Item};

use super::exprs::{check_key_paths, expr_error, prepare};
use super::item::{
    apply_write, check_key_sizes, encode_key_param, invalid, item_collection_metrics,
    item_key_error, read_item, MAX_ITEM_SIZE, RETURN_CAPACITY, RETURN_METRICS,
};
use crate::capacity::{read_units, write_units};
use crate::catalog::TableMeta;
use crate::{storage_error, Engine, TxError};

/// Most keys one BatchGetItem may ask for.
pub const MAX_BATCH_GET: usize = 100;
/// Most requests one BatchWriteItem may carry.
pub const MAX_BATCH_WRITE: usize = 25;
/// BatchGetItem answers at most this many bytes of items; the rest is UnprocessedKeys.
pub const MAX_BATCH_GET_BYTES: usize = 16 * 1024 * 1024;

fn duplicates() -> ApiError {
    ApiError::validation("Provided list of item keys contains duplicates")
}

/// ConsumedCapacity entries, one per table, in table-name order.
fn capacity_list(
    units: &HashMap<String, f64>,
    mode: Option<&str>,
) -> Option<Vec<ConsumedCapacity>> {
    let mut names: Vec<&String> = units.keys().collect();
    names.sort();
    let list: Vec<ConsumedCapacity> = names
        .into_iter()
        .filter_map(|n| crate::capacity::consumed(n, units.get(n).copied().unwrap_or(0.0), mode))
        .collect();
    (mode == Some("TOTAL") || mode == Some("INDEXES")).then_some(list)
}

/// One checked BatchWriteItem request: table, storage key, the new item (None for a
/// delete) and the key attributes.
type PlannedWrite = (Arc<TableMeta>, Vec<u8>, Option<Item>, Item);

struct GetPlan {
    meta: Arc<TableMeta>,
    keys: Vec<(Vec<u8>, Item)>,
    projection: Option<Vec<Path>>,
    consistent: bool,
    request: KeysAndAttributes,
}

impl Engine {
    pub async fn batch_get_item(
        &self,
        input: BatchGetItemInput,
    ) -> Result<BatchGetItemOutput, ApiError> {
        let mut v = Violations::new();
        v.enumeration(
            input.return_consumed_capacity.as_deref(),
            "returnConsumedCapacity",
            RETURN_CAPACITY,
        );
        let mut tables: Vec<(&String, &KeysAndAttributes)> =
            input.request_items.iter().flatten().collect();
        tables.sort_by(|a, b| a.0.cmp(b.0));
        for (name, ka) in &tables {
            let n = ka.keys.as_ref().map_or(0, Vec::len);
            if n > MAX_BATCH_GET {
                v.add_unvalued(
                    &format!("RequestItems.{name}.member.Keys"),
                    &format!("Member must have length less than or equal to {MAX_BATCH_GET}"),
                );
            } else if n == 0 {
                v.add_unvalued(
                    &format!("RequestItems.{name}.member.Keys"),
                    "Member must have length greater than or equal to 1",
                );
            }
        }
        v.into_result()?;
        if tables.is_empty() {
            return Err(ApiError::validation(
                "The requestItems parameter is required for BatchGetItem",
            ));
        }
        let total: usize = tables
            .iter()
            .map(|(_, ka)| ka.keys.as_ref().map_or(0, Vec::len))
            .sum();
        if total > MAX_BATCH_GET {
            return Err(ApiError::validation(
                "Too many items requested for the BatchGetItem call",
            ));
        }
        // Per-table expressions, then tables, then keys.
        let mut projections = Vec::new();
        for (_, ka) in &tables {
            let ph = prepare(
                ka.expression_attribute_names.as_ref(),
                None,
                &[("ProjectionExpression", ka.projection_expression.is_some())],
                &[("AttributesToGet", ka.attributes_to_get.is_some())],
                &[],
            )?;
            let mut r = ph.resolver(ka.expression_attribute_names.as_ref());
            let projection = match (&ka.projection_expression, &ka.attributes_to_get) {
                (Some(src), _) => Some(r.projection(src).map_err(expr_error)?),
                (None, Some(a)) => Some(legacy::attributes_to_get(a)),
                (None, None) => None,
            };
            r.finish().map_err(expr_error)?;
            projections.push(projection);
        }
        let mut plans = Vec::new();
        for ((name, ka), projection) in tables.iter().zip(projections) {
            let meta = self.table(name)?;
            if ka.projection_expression.is_some() {
                check_key_paths(&meta.schema, projection.iter().flatten())?;
            }
            let mut seen = HashSet::new();
            let mut keys = Vec::new();
            for k in ka.keys.iter().flatten() {
                let enc = encode_key_param(&meta, k)?;
                if !seen.insert(enc.clone()) {
                    return Err(duplicates());
                }
                keys.push((enc, k.clone()));
            }
            plans.push(GetPlan {
                meta,
                keys,
                projection,
                consistent: ka.consistent_read == Some(true),
                request: (*ka).clone(),
            });
        }
        let mut out = BatchGetItemOutput::default();
        // Tables out of provisioned capacity (when enforced): their keys come back
        // unprocessed; if that is every table, the request is throttled.
        let mut throttled: Option<ApiError> = None;
        let mut admitted = Vec::with_capacity(plans.len());
        for plan in plans {
            match self.admit(&plan.meta, None, false) {
                Ok(()) => admitted.push(plan),
                Err(e) => {
                    let mut rest = plan.request;
                    rest.keys = Some(plan.keys.into_iter().map(|(_, k)| k).collect());
                    out.unprocessed_keys.insert(plan.meta.name.clone(), rest);
                    throttled.get_or_insert(e);
                }
            }
        }
        if let (true, Some(e)) = (admitted.is_empty(), throttled) {
            return Err(e);
        }
        let mut units: HashMap<String, f64> = HashMap::new();
        let mut bytes = 0usize;
        let view = self.store.read_view().map_err(storage_error)?;
        for plan in admitted {
            let name = plan.meta.name.clone();
            let found = out.responses.entry(name.clone()).or_default();
            let mut left: Vec<Item> = Vec::new();
            for (enc, key) in plan.keys {
                if bytes >= MAX_BATCH_GET_BYTES {
                    left.push(key);
                    continue;
                }
                let item = match view.get(&plan.meta.keyspace, &enc).map_err(storage_error)? {
                    Some(b) => Some(
                        decode_item(&b)
                            .map_err(|e| ApiError::InternalServerError(e.to_string()))?,
                    ),
                    None => None,
                };
                let size = item.as_ref().map(item_size).unwrap_or(0);
                bytes += size;
                *units.entry(name.clone()).or_insert(0.0) += read_units(size, plan.consistent);
                if let Some(item) = item {
                    found.push(match &plan.projection {
                        Some(p) => project(&item, p),
                        None => item,
                    });
                }
            }
            if !left.is_empty() {
                let mut rest = plan.request;
                rest.keys = Some(left);
                out.unprocessed_keys.insert(name, rest);
            }
        }
        self.charge_all(&units, false);
        out.consumed_capacity = capacity_list(&units, input.return_consumed_capacity.as_deref());
        Ok(out)
    }

    pub async fn batch_write_item(
        &self,
        input: BatchWriteItemInput,
    ) -> Result<BatchWriteItemOutput, ApiError> {
        let mut v = Violations::new();
        v.enumeration(
            input.return_consumed_capacity.as_deref(),
            "returnConsumedCapacity",
            RETURN_CAPACITY,
        );
        v.enumeration(
            input.return_item_collection_metrics.as_deref(),
            "returnItemCollectionMetrics",
            RETURN_METRICS,
        );
        let mut tables: Vec<(&String, &Vec<WriteRequest>)> =
            input.request_items.iter().flatten().collect();
        tables.sort_by(|a, b| a.0.cmp(b.0));
        if let Some((name, reqs)) = tables
            .iter()
            .find(|(_, r)| r.is_empty() || r.len() > MAX_BATCH_WRITE)
        {
            let dump: Vec<String> = reqs
                .iter()
                .map(|r| {
                    if r.put_request.is_some() {
                        "WriteRequest(PutRequest=PutRequest())".to_owned()
                    } else {
                        "WriteRequest(DeleteRequest=DeleteRequest())".to_owned()
                    }
                })
                .collect();
            v.add(
                Some(&format!("{{{name}=[{}]}}", dump.join(", "))),
                "requestItems",
                &format!(
                    "Map value must satisfy constraint: [Member must have length less than or equal to {MAX_BATCH_WRITE}, Member must have length greater than or equal to 1]"
                ),
            );
        }
        v.into_result()?;
        if tables.is_empty() {
            return Err(ApiError::validation(
                "The requestItems parameter is required for BatchWriteItem",
            ));
        }
        let total: usize = tables.iter().map(|(_, r)| r.len()).sum();
        if total > MAX_BATCH_WRITE {
            return Err(ApiError::validation(
                "Too many items requested for the BatchWriteItem call",
            ));
        }
        let mut writes: Vec<PlannedWrite> = Vec::new();
        for (name, reqs) in &tables {
            let meta = self.table(name)?;
            let mut seen = HashSet::new();
            for r in reqs.iter() {
                let (enc, new, key) = match (&r.put_request, &r.delete_request) {
                    (Some(p), None) => {
                        let item = p.item.clone().unwrap_or_default();
                        let enc = meta
                            .schema
                            .encode_item_key(&item)
                            .map_err(|e| item_key_error(e, &item))?;
                        check_key_sizes(&meta.schema, &item)?;
                        if item_size(&item) > MAX_ITEM_SIZE {
                            return Err(ApiError::validation(
                                "Item size has exceeded the maximum allowed size",
                            ));
                        }
                        let key = meta.schema.project_key(&item);
                        (enc, Some(item), key)
                    }
                    (None, Some(d)) => {
                        let key = d.key.clone().unwrap_or_default();
                        (encode_key_param(&meta, &key)?, None, key)
                    }
                    _ => {
                        return Err(invalid(
                            "Supplied WriteRequest must contain exactly one of PutRequest or DeleteRequest",
                        ))
                    }
                };
                if !seen.insert(enc.clone()) {
                    return Err(duplicates());
                }
                writes.push((meta.clone(), enc, new, key));
            }
        }
        // Tables out of provisioned capacity (when enforced): their requests come back
        // unprocessed; if that is every table, the request is throttled.
        let mut unprocessed: HashMap<String, Vec<WriteRequest>> = HashMap::new();
        let mut throttled: Option<ApiError> = None;
        for (name, reqs) in &tables {
            if let Some((meta, ..)) = writes.iter().find(|w| &w.0.name == *name) {
                if let Err(e) = self.admit(meta, None, true) {
                    unprocessed.insert((*name).clone(), (*reqs).clone());
                    throttled.get_or_insert(e);
                }
            }
        }
        if let Some(e) = throttled {
            if unprocessed.len() == tables.len() {
                return Err(e);
            }
            writes.retain(|w| !unprocessed.contains_key(&w.0.name));
        }
        let jobs: Vec<(Arc<TableMeta>, Vec<u8>, Option<Item>)> = writes
            .iter()
            .map(|(m, k, n, _)| (m.clone(), k.clone(), n.clone()))
            .collect();
        let region = self.config.region.clone();
        let server = self.server_id();
        let shard_period = self.config.stream_shard_period.as_secs_f64();
        let now = self.clock.now();
        let sizes: Vec<usize> = self
            .store
            .transact(move |tx| {
                let ctx = crate::streams::WriteCtx {
                    now,
                    region: &region,
                    by_ttl: false,
                    shard_period,
                    server: server.as_deref(),
                };
                let mut sizes = Vec::with_capacity(jobs.len());
                for (meta, key, new) in &jobs {
                    let old = read_item(tx, &meta.keyspace, key)?;
                    apply_write(tx, meta, key, old.as_ref(), new.as_ref(), ctx)?;
                    let old_size = old.as_ref().map(item_size).unwrap_or(0);
                    sizes.push(old_size.max(new.as_ref().map(item_size).unwrap_or(0)));
                }
                Ok::<_, TxError>(sizes)
            })
            .await
            .map_err(|TxError(e)| self.write_failed(e))?;
        let mut units: HashMap<String, f64> = HashMap::new();
        let mut metrics: HashMap<String, Vec<ItemCollectionMetrics>> = HashMap::new();
        for ((meta, _, new, key), size) in writes.iter().zip(sizes) {
            *units.entry(meta.name.clone()).or_insert(0.0) += write_units(size);
            let basis = new.as_ref().unwrap_or(key);
            if let Some(m) =
                item_collection_metrics(self, meta, &input.return_item_collection_metrics, basis)
            {
                metrics.entry(meta.name.clone()).or_default().push(m);
            }
        }
        self.charge_all(&units, true);
        Ok(BatchWriteItemOutput {
            unprocessed_items: unprocessed,
            consumed_capacity: capacity_list(&units, input.return_consumed_capacity.as_deref()),
            item_collection_metrics: (input.return_item_collection_metrics.as_deref()
                == Some("SIZE"))
            .then_some(metrics),
        })
    }
}
