//! TransactWriteItems and TransactGetItems.
//!
//! A write transaction is one storage transaction: every condition is evaluated against
//! the items as they are, and either every write is applied (through the single write
//! path, `item::apply_write`) or none is. The commit queue runs transactions one at a
//! time, so they are serializable and never conflict with each other; a TransactGetItems
//! reads one snapshot, which never holds half of a transaction.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use ferrodyn_expr::eval::project;
use ferrodyn_expr::update::apply;
use ferrodyn_expr::{Cond, ExprKind, Path, Update};
use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{ApiError, CancellationReason, Violations};
use ferrodyn_types::codec::decode_item;
use ferrodyn_types::{item_size, Item, KeyError};

use super::exprs::{check_key_paths, condition_paths, expr_error, prepare, update_value_paths};
use super::item::{
    apply_write, check_key_sizes, invalid, item_collection_metrics, read_item, MAX_ITEM_SIZE,
    RETURN_CAPACITY, RETURN_METRICS,
};
use crate::capacity::consumed;
use crate::catalog::TableMeta;
use crate::{storage_error, Engine, TxError};

/// Most actions in one transaction.
pub const MAX_ACTIONS: usize = 100;
/// Most bytes of items one TransactWriteItems may write.
pub const MAX_TRANSACTION_BYTES: usize = 4 * 1024 * 1024;
/// How long a ClientRequestToken is remembered, in seconds.
pub const TOKEN_SECONDS: f64 = 600.0;

/// A remembered ClientRequestToken.
#[derive(Debug, Clone)]
pub struct TokenEntry {
    request: String,
    at: f64,
    output: Option<TransactWriteItemsOutput>,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Check,
    Put,
    Delete,
    Update,
}

/// One checked action, ready to run.
struct Planned {
    kind: Kind,
    meta: Arc<TableMeta>,
    key: Vec<u8>,
    key_item: Item,
    item: Option<Item>,
    cond: Option<Cond>,
    update: Option<Update>,
    return_old: bool,
}

fn validation_error(msg: impl Into<String>) -> CancellationReason {
    CancellationReason {
        code: "ValidationError".into(),
        message: Some(msg.into()),
        item: None,
    }
}

/// A transaction that kept conflicting with other servers' writes (storage gave up after
/// its retries) is cancelled the way DynamoDB cancels one that met a concurrent
/// transaction: TransactionCanceledException with the `TransactionConflict` reason. Which
/// of the items conflicted is not known, so every action carries that reason.
fn conflict_cancels(e: ApiError, actions: usize) -> ApiError {
    match e {
        ApiError::TransactionConflict(_) => ApiError::transaction_canceled(
            (0..actions.max(1))
                .map(|_| CancellationReason {
                    code: "TransactionConflict".into(),
                    message: Some(crate::TRANSACTION_CONFLICT.into()),
                    item: None,
                })
                .collect(),
        ),
        other => other,
    }
}

/// A key parameter checked against the schema; the error is a cancellation message.
fn key_of(meta: &TableMeta, key: &Item) -> Result<Vec<u8>, String> {
    let mismatch = || "The provided key element does not match the schema".to_owned();
    if key.len() != meta.schema.names().count() {
        return Err(mismatch());
    }
    match meta.schema.encode_item_key(key) {
        Ok(k) => {
            check_key_sizes(&meta.schema, key).map_err(|e| e.to_string())?;
            Ok(k)
        }
        Err(KeyError::Empty(n)) => Err(format!(
            "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty string value. Key: {n}"
        )),
        Err(_) => Err(mismatch()),
    }
}

/// Two-unit transactional capacity per table, in table-name order.
fn capacity(units: &HashMap<String, f64>, mode: Option<&str>) -> Option<Vec<ConsumedCapacity>> {
    if !matches!(mode, Some("TOTAL") | Some("INDEXES")) {
        return None;
    }
    let mut names: Vec<&String> = units.keys().collect();
    names.sort();
    Some(
        names
            .into_iter()
            .filter_map(|n| consumed(n, units.get(n).copied().unwrap_or(0.0), mode))
            .collect(),
    )
}

impl Engine {
    pub async fn transact_write_items(
        &self,
        input: TransactWriteItemsInput,
    ) -> Result<TransactWriteItemsOutput, ApiError> {
        let n = input.transact_items.as_ref().map_or(0, Vec::len);
        self.transact_write_items_once(input)
            .await
            .map_err(|e| conflict_cancels(e, n))
    }

    async fn transact_write_items_once(
        &self,
        input: TransactWriteItemsInput,
    ) -> Result<TransactWriteItemsOutput, ApiError> {
        let mut v = Violations::new();
        let actions = input.transact_items.clone().unwrap_or_default();
        match &input.transact_items {
            None => v.not_null(&input.transact_items, "transactItems"),
            Some(a) if a.is_empty() => v.add(
                Some("[]"),
                "transactItems",
                "Member must have length greater than or equal to 1",
            ),
            Some(a) if a.len() > MAX_ACTIONS => {
                let dump = vec!["com.amazonaws.dynamodb.v20120810.TransactWriteItem"; a.len()];
                v.add(
                    Some(&format!("[{}]", dump.join(", "))),
                    "transactItems",
                    &format!("Member must have length less than or equal to {MAX_ACTIONS}"),
                )
            }
            _ => {}
        }
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
        if let Some(t) = &input.client_request_token {
            if t.is_empty() || t.len() > 36 {
                v.add(
                    Some(t),
                    "clientRequestToken",
                    if t.is_empty() {
                        "Member must have length greater than or equal to 1"
                    } else {
                        "Member must have length less than or equal to 36"
                    },
                );
            }
        }
        v.into_result()?;

        // Idempotency: the same token with the same parameters within 10 minutes answers
        // what the first request answered, without writing again.
        // Canonical JSON (object keys sorted): the input's maps are HashMaps, whose
        // serialization order differs between two equal requests.
        let request = serde_json::to_value(&input)
            .map(|v| v.to_string())
            .unwrap_or_default();
        let now = self.clock.now();
        if let (Some(token), Some(_)) = (&input.client_request_token, &self.cluster) {
            let token = token.clone();
            return self
                .transact_with_stored_token(token, request, now, &input, actions)
                .await;
        }
        if let Some(token) = &input.client_request_token {
            let mut tokens = self
                .tokens
                .lock()
                .map_err(|_| ApiError::InternalServerError("token table poisoned".into()))?;
            tokens.retain(|_, e| now - e.at < TOKEN_SECONDS);
            if let Some(e) = tokens.get(token) {
                if e.request != request {
                    return Err(ApiError::IdempotentParameterMismatch(
                        "Request parameters do not match the parameters of the original request that used the same ClientRequestToken"
                            .into(),
                    ));
                }
                return match &e.output {
                    Some(out) => Ok(out.clone()),
                    None => Err(ApiError::TransactionInProgress(
                        "Transaction with the same ClientRequestToken is in progress".into(),
                    )),
                };
            }
            tokens.insert(
                token.clone(),
                TokenEntry {
                    request: request.clone(),
                    at: now,
                    output: None,
                },
            );
        }
        let result = self.run_transaction(&input, actions).await;
        if let Some(token) = &input.client_request_token {
            if let Ok(mut tokens) = self.tokens.lock() {
                match &result {
                    Ok(out) => {
                        tokens.insert(
                            token.clone(),
                            TokenEntry {
                                request,
                                at: now,
                                output: Some(out.clone()),
                            },
                        );
                    }
                    Err(_) => {
                        tokens.remove(token);
                    }
                }
            }
        }
        result
    }

    /// TransactWriteItems with a ClientRequestToken when storage is shared: the token is
    /// kept in the `tokens` keyspace, so a retry that reaches another server is recognised.
    async fn transact_with_stored_token(
        &self,
        token: String,
        request: String,
        now: f64,
        input: &TransactWriteItemsInput,
        actions: Vec<TransactWriteItem>,
    ) -> Result<TransactWriteItemsOutput, ApiError> {
        use crate::cluster::{StoredToken, TOKENS, TOKEN_IN_PROGRESS_SECONDS};
        let key = token.into_bytes();
        let encode = |t: &StoredToken| {
            serde_json::to_vec(t).map_err(|e| ApiError::InternalServerError(e.to_string()))
        };
        let pending = encode(&StoredToken {
            request: request.clone(),
            at: now,
            output: None,
        })?;
        let k = key.clone();
        let req = request.clone();
        let earlier = self
            .store
            .transact(move |tx| {
                let cur = tx
                    .get(TOKENS, &k)?
                    .and_then(|v| serde_json::from_slice::<StoredToken>(&v).ok());
                if let Some(t) = cur {
                    // An answer is remembered for the whole window; a request still in
                    // progress only for a minute (its server may have died).
                    let live = match t.output {
                        Some(_) => now - t.at < TOKEN_SECONDS,
                        None => now - t.at < TOKEN_IN_PROGRESS_SECONDS,
                    };
                    if live {
                        if t.request != req {
                            return Err(TxError(ApiError::IdempotentParameterMismatch(
                                "Request parameters do not match the parameters of the original request that used the same ClientRequestToken"
                                    .into(),
                            )));
                        }
                        return match t.output {
                            Some(out) => Ok(Some(out)),
                            None => Err(TxError(ApiError::TransactionInProgress(
                                "Transaction with the same ClientRequestToken is in progress"
                                    .into(),
                            ))),
                        };
                    }
                }
                tx.put(TOKENS, k.clone(), pending.clone());
                Ok(None)
            })
            .await
            .map_err(|TxError(e)| e)?;
        if let Some(out) = earlier {
            return Ok(out);
        }
        let result = self.run_transaction(input, actions).await;
        let done = match &result {
            Ok(out) => Some(encode(&StoredToken {
                request,
                at: now,
                output: Some(out.clone()),
            })?),
            Err(_) => None,
        };
        let recorded = self
            .store
            .transact(move |tx| {
                match &done {
                    Some(v) => tx.put(TOKENS, key.clone(), v.clone()),
                    None => tx.delete(TOKENS, key.clone()),
                }
                Ok::<(), TxError>(())
            })
            .await;
        if let Err(TxError(e)) = recorded {
            tracing::warn!(error = %e, "could not record a ClientRequestToken");
        }
        result
    }

    async fn run_transaction(
        &self,
        input: &TransactWriteItemsInput,
        actions: Vec<TransactWriteItem>,
    ) -> Result<TransactWriteItemsOutput, ApiError> {
        // 1. Each action: one kind, its expressions parsed.
        let mut parsed = Vec::with_capacity(actions.len());
        for a in &actions {
            let (kind, act) = match (&a.condition_check, &a.put, &a.delete, &a.update) {
                (Some(x), None, None, None) => (Kind::Check, x),
                (None, Some(x), None, None) => (Kind::Put, x),
                (None, None, Some(x), None) => (Kind::Delete, x),
                (None, None, None, Some(x)) => (Kind::Update, x),
                _ => {
                    return Err(ApiError::validation(
                        "TransactItems can only contain one of Check, Put, Update or Delete",
                    ))
                }
            };
            let mut v = Violations::new();
            v.table_name(&act.table_name, "tableName");
            match kind {
                Kind::Put => v.not_null(&act.item, "item"),
                _ => v.not_null(&act.key, "key"),
            }
            if kind == Kind::Check {
                v.not_null(&act.condition_expression, "conditionExpression");
            }
            if kind == Kind::Update {
                v.not_null(&act.update_expression, "updateExpression");
            }
            v.enumeration(
                act.return_values_on_condition_check_failure.as_deref(),
                "returnValuesOnConditionCheckFailure",
                &["ALL_OLD", "NONE"],
            );
            v.into_result()?;
            let ph = prepare(
                act.expression_attribute_names.as_ref(),
                act.expression_attribute_values.as_ref(),
                &[
                    ("UpdateExpression", act.update_expression.is_some()),
                    ("ConditionExpression", act.condition_expression.is_some()),
                ],
                &[],
                if kind == Kind::Update {
                    &["UpdateExpression", "ConditionExpression"]
                } else {
                    &["ConditionExpression"]
                },
            )?;
            let mut r = ph.resolver(act.expression_attribute_names.as_ref());
            let update = match &act.update_expression {
                Some(src) if kind == Kind::Update => Some(r.update(src).map_err(expr_error)?),
                _ => None,
            };
            let cond = match &act.condition_expression {
                Some(src) => Some(r.condition(src, ExprKind::Condition).map_err(expr_error)?),
                None => None,
            };
            r.finish().map_err(expr_error)?;
            parsed.push((kind, act.clone(), cond, update));
        }
        // 2. Tables, then each action's key (a bad key cancels the transaction).
        let mut metas = Vec::with_capacity(parsed.len());
        for (_, act, _, _) in &parsed {
            metas.push(self.table(act.table_name.as_deref().unwrap_or_default())?);
        }

        // Tables out of provisioned capacity (when enforced) cancel the transaction, their
        // actions with ThrottlingError.
        throttle_check(self, &metas, true)?;
        let mut reasons: Vec<CancellationReason> = Vec::new();
        let mut planned = Vec::with_capacity(parsed.len());
        let mut total = 0usize;
        for ((kind, act, cond, update), meta) in parsed.into_iter().zip(metas) {
            let checked = (|| -> Result<Planned, String> {
                let (key, key_item, item) = if kind == Kind::Put {
                    let item = act.item.clone().unwrap_or_default();
                    let key = meta
                        .schema
                        .encode_item_key(&item)
                        .map_err(|e| super::item::item_key_error(e, &item).to_string())?;
                    check_key_sizes(&meta.schema, &item).map_err(|e| e.to_string())?;
                    if item_size(&item) > MAX_ITEM_SIZE {
                        return Err("Item size has exceeded the maximum allowed size".into());
                    }
                    (key, meta.schema.project_key(&item), Some(item))
                } else {
                    let key_item = act.key.clone().unwrap_or_default();
                    (key_of(&meta, &key_item)?, key_item, None)
                };
                if let Some(u) = &update {
                    for a in &u.actions {
                        let root = a.path().root();
                        if meta.schema.is_key(root) {
                            return Err(invalid(format!(
                                "Cannot update attribute {root}. This attribute is part of the key"
                            ))
                            .to_string());
                        }
                    }
                    let mut read = Vec::new();
                    update_value_paths(u, &mut read);
                    check_key_paths(&meta.schema, &read).map_err(|e| e.to_string())?;
                }
                if let Some(c) = &cond {
                    let mut paths: Vec<Path> = Vec::new();
                    condition_paths(c, &mut paths);
                    check_key_paths(&meta.schema, &paths).map_err(|e| e.to_string())?;
                }
                Ok(Planned {
                    kind,
                    meta: meta.clone(),
                    key,
                    key_item,
                    item,
                    cond,
                    update,
                    return_old: act.return_values_on_condition_check_failure.as_deref()
                        == Some("ALL_OLD"),
                })
            })();
            match checked {
                Ok(p) => {
                    total += p.item.as_ref().map(item_size).unwrap_or(0);
                    reasons.push(CancellationReason::none());
                    planned.push(Some(p));
                }
                Err(m) => {
                    reasons.push(validation_error(m));
                    planned.push(None);
                }
            }
        }
        if reasons.iter().any(|r| r.code != "None") {
            return Err(ApiError::transaction_canceled(reasons));
        }
        let planned: Vec<Planned> = planned.into_iter().flatten().collect();
        let mut seen = HashSet::new();
        for p in &planned {
            if !seen.insert((p.meta.keyspace.clone(), p.key.clone())) {
                return Err(ApiError::validation(
                    "Transaction request cannot include multiple operations on one item",
                ));
            }
        }
        if total > MAX_TRANSACTION_BYTES {
            return Err(ApiError::validation(
                "Collection size of items exceeded, which can also be caused by the aggregate size of the items in the transaction exceeding the 4MB limit",
            ));
        }
        // 3. One storage transaction: check every condition, then write or cancel.
        let jobs: Arc<Vec<Planned>> = Arc::new(planned);
        let run = jobs.clone();
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
                let mut reasons = Vec::with_capacity(run.len());
                let mut writes = Vec::with_capacity(run.len());
                let empty = Item::new();
                for p in run.iter() {
                    let old = read_item(tx, &p.meta.keyspace, &p.key)?;
                    if let Some(c) = &p.cond {
                        if !ferrodyn_expr::eval::eval(c, old.as_ref().unwrap_or(&empty)) {
                            reasons.push(CancellationReason {
                                code: "ConditionalCheckFailed".into(),
                                message: Some("The conditional request failed".into()),
                                item: if p.return_old { old.clone() } else { None },
                            });
                            writes.push(None);
                            continue;
                        }
                    }
                    let new = match p.kind {
                        Kind::Check => {
                            reasons.push(CancellationReason::none());
                            writes.push(None);
                            continue;
                        }
                        Kind::Put => p.item.clone(),
                        Kind::Delete => None,
                        Kind::Update => {
                            let mut item = old.clone().unwrap_or_else(|| p.key_item.clone());
                            if let Some(u) = &p.update {
                                if let Err(e) = apply(u, &mut item) {
                                    reasons.push(validation_error(e.0));
                                    writes.push(None);
                                    continue;
                                }
                            }
                            if item_size(&item) > MAX_ITEM_SIZE {
                                reasons.push(validation_error(
                                    "Item size to update has exceeded the maximum allowed size",
                                ));
                                writes.push(None);
                                continue;
                            }
                            Some(item)
                        }
                    };
                    // An index key of the wrong type cancels the transaction.
                    if let Some(n) = &new {
                        if let Some(e) = p
                            .meta
                            .indexes()
                            .iter()
                            .find_map(|i| i.entry_key(&p.key, n).err())
                        {
                            reasons.push(validation_error(e.to_string()));
                            writes.push(None);
                            continue;
                        }
                    }
                    reasons.push(CancellationReason::none());
                    writes.push(Some((old, new)));
                }
                if reasons.iter().any(|r| r.code != "None") {
                    return Err(TxError(ApiError::transaction_canceled(reasons)));
                }
                let mut sizes = Vec::with_capacity(run.len());
                for (p, w) in run.iter().zip(writes) {
                    let size = match w {
                        Some((old, new)) => {
                            apply_write(tx, &p.meta, &p.key, old.as_ref(), new.as_ref(), ctx)?;
                            old.as_ref()
                                .map(item_size)
                                .unwrap_or(0)
                                .max(new.as_ref().map(item_size).unwrap_or(0))
                        }
                        None => 0,
                    };
                    sizes.push(size);
                }
                Ok(sizes)
            })
            .await
            .map_err(|TxError(e)| self.write_failed(e))?;
        let mut units: HashMap<String, f64> = HashMap::new();
        let mut metrics: HashMap<String, Vec<ItemCollectionMetrics>> = HashMap::new();
        for (p, size) in jobs.iter().zip(sizes) {
            // Transactional writes cost two units per KB (a check costs a read: two units
            // per 4 KB).
            let u = if p.kind == Kind::Check {
                2.0 * size.div_ceil(4096).max(1) as f64
            } else {
                2.0 * size.div_ceil(1024).max(1) as f64
            };
            *units.entry(p.meta.name.clone()).or_insert(0.0) += u;
            let basis = p.item.as_ref().unwrap_or(&p.key_item);
            if p.kind != Kind::Check {
                if let Some(m) = item_collection_metrics(
                    self,
                    &p.meta,
                    &input.return_item_collection_metrics,
                    basis,
                ) {
                    metrics.entry(p.meta.name.clone()).or_default().push(m);
                }
            }
        }
        self.charge_all(&units, true);
        Ok(TransactWriteItemsOutput {
            consumed_capacity: capacity(&units, input.return_consumed_capacity.as_deref()),
            item_collection_metrics: (input.return_item_collection_metrics.as_deref()
                == Some("SIZE"))
            .then_some(metrics),
        })
    }

    pub async fn transact_get_items(
        &self,
        input: TransactGetItemsInput,
    ) -> Result<TransactGetItemsOutput, ApiError> {
        let mut v = Violations::new();
        match &input.transact_items {
            None => v.not_null(&input.transact_items, "transactItems"),
            Some(a) if a.is_empty() => v.add(
                Some("[]"),
                "transactItems",
                "Member must have length greater than or equal to 1",
            ),
            Some(a) if a.len() > MAX_ACTIONS => {
                let dump = vec!["com.amazonaws.dynamodb.v20120810.TransactGetItem"; a.len()];
                v.add(
                    Some(&format!("[{}]", dump.join(", "))),
                    "transactItems",
                    &format!("Member must have length less than or equal to {MAX_ACTIONS}"),
                )
            }
            _ => {}
        }
        v.enumeration(
            input.return_consumed_capacity.as_deref(),
            "returnConsumedCapacity",
            RETURN_CAPACITY,
        );
        v.into_result()?;
        let mut parsed = Vec::new();
        for g in input.transact_items.iter().flatten() {
            let Some(get) = &g.get else {
                let mut v = Violations::new();
                v.not_null(&g.get, "get");
                v.into_result()?;
                continue;
            };
            let mut v = Violations::new();
            v.table_name(&get.table_name, "tableName");
            v.not_null(&get.key, "key");
            v.into_result()?;
            let ph = prepare(
                get.expression_attribute_names.as_ref(),
                None,
                &[("ProjectionExpression", get.projection_expression.is_some())],
                &[],
                &[],
            )?;
            let mut r = ph.resolver(get.expression_attribute_names.as_ref());
            let projection = match &get.projection_expression {
                Some(src) => Some(r.projection(src).map_err(expr_error)?),
                None => None,
            };
            r.finish().map_err(expr_error)?;
            parsed.push((get.clone(), projection));
        }
        let mut metas = Vec::new();
        for (get, _) in &parsed {
            metas.push(self.table(get.table_name.as_deref().unwrap_or_default())?);
        }

        // Tables out of provisioned capacity (when enforced) cancel the transaction, their
        // actions with ThrottlingError.
        throttle_check(self, &metas, false)?;
        let mut reasons = Vec::new();
        let mut keys = Vec::new();
        for ((get, projection), meta) in parsed.iter().zip(&metas) {
            let key = key_of(meta, get.key.as_ref().unwrap_or(&Item::new())).and_then(|k| {
                check_key_paths(&meta.schema, projection.iter().flatten())
                    .map(|_| k)
                    .map_err(|e| e.to_string())
            });
            match key {
                Ok(k) => {
                    reasons.push(CancellationReason::none());
                    keys.push(k);
                }
                Err(m) => {
                    reasons.push(validation_error(m));
                    keys.push(Vec::new());
                }
            }
        }
        if reasons.iter().any(|r| r.code != "None") {
            return Err(ApiError::transaction_canceled(reasons));
        }
        let mut seen = HashSet::new();
        for (k, meta) in keys.iter().zip(&metas) {
            if !seen.insert((meta.keyspace.clone(), k.clone())) {
                return Err(ApiError::validation(
                    "Transaction request cannot include multiple operations on one item",
                ));
            }
        }
        let mut out = TransactGetItemsOutput::default();
        let mut units: HashMap<String, f64> = HashMap::new();
        let view = self.store.snapshot().map_err(storage_error)?;
        for (((_, projection), meta), k) in parsed.iter().zip(&metas).zip(&keys) {
            let item = match view.get(&meta.keyspace, k).map_err(storage_error)? {
                Some(b) => Some(
                    decode_item(&b).map_err(|e| ApiError::InternalServerError(e.to_string()))?,
                ),
                None => None,
            };
            let size = item.as_ref().map(item_size).unwrap_or(0);
            *units.entry(meta.name.clone()).or_insert(0.0) +=
                2.0 * size.div_ceil(4096).max(1) as f64;
            out.responses.push(ItemResponse {
                item: item.map(|i| match projection {
                    Some(p) => project(&i, p),
                    None => i,
                }),
            });
        }
        self.charge_all(&units, false);
        out.consumed_capacity = capacity(&units, input.return_consumed_capacity.as_deref());
        Ok(out)
    }
}

/// With capacity enforced: cancel a transaction touching a table out of capacity, its
/// actions on such tables with ThrottlingError (DynamoDB's reason and message).
fn throttle_check(e: &Engine, metas: &[Arc<TableMeta>], write: bool) -> Result<(), ApiError> {
    if !e.config.enforce_capacity {
        return Ok(());
    }
    let throttled: Vec<bool> = metas
        .iter()
        .map(|m| e.admit(m, None, write).is_err())
        .collect();
    if !throttled.contains(&true) {
        return Ok(());
    }
    Err(ApiError::transaction_canceled(
        throttled
            .into_iter()
            .map(|t| match t {
                true => CancellationReason {
                    code: "ThrottlingError".into(),
                    message: Some(
                        "Throughput exceeds the current capacity of your table or index. DynamoDB is automatically scaling your table or index so please try again shortly. If exceptions persist, check if you have a hot key: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html."
                            .into(),
                    ),
                    item: None,
                },
                false => CancellationReason::none(),
            })
            .collect(),
    ))
}
