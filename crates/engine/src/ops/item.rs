//! PutItem, GetItem, DeleteItem, UpdateItem.
//!
//! Order of checks, as DynamoDB does them: request constraints (all reported together),
//! then parameter combinations, then the table lookup, then the key against the schema,
//! then sizes, then the write itself.

use std::sync::Arc;

use ferrodyn_expr::eval::{eval, project};
use ferrodyn_expr::update::apply;
use ferrodyn_expr::{legacy, Cond, ExprKind, Path, Resolver};
use ferrodyn_protocol::model::*;
use ferrodyn_protocol::{ApiError, Violations};

use super::exprs::{
    check_key_paths, condition_paths, expr_error, legacy_entries, legacy_violations, prepare,
    update_value_paths,
};
use ferrodyn_types::codec::{decode_item, encode_item};
use ferrodyn_types::{item_size, AttributeValue, Item, KeyError, KeySchema};

use crate::capacity::{consumed, read_units, write_units};
use crate::catalog::{Stats, TableMeta};
use crate::{storage_error, Engine, TxError};

const RETURN_VALUES: &[&str] = &["ALL_NEW", "UPDATED_OLD", "ALL_OLD", "NONE", "UPDATED_NEW"];
pub(crate) const RETURN_CAPACITY: &[&str] = &["INDEXES", "TOTAL", "NONE"];
pub(crate) const RETURN_METRICS: &[&str] = &["SIZE", "NONE"];
const RETURN_ON_FAILURE: &[&str] = &["ALL_OLD", "NONE"];
const ATTRIBUTE_ACTIONS: &[&str] = &["ADD", "PUT", "DELETE"];

/// DynamoDB's item size limit.
pub const MAX_ITEM_SIZE: usize = 400 * 1024;
const MAX_HASH_KEY: usize = 2048;
const MAX_RANGE_KEY: usize = 1024;

pub(crate) fn invalid(msg: impl std::fmt::Display) -> ApiError {
    ApiError::Validation(format!("One or more parameter values were invalid: {msg}"))
}

fn common_violations(
    v: &mut Violations,
    table: &Option<String>,
    rv: &Option<String>,
    rcc: &Option<String>,
    ricm: &Option<String>,
    rvoccf: &Option<String>,
) {
    v.table_name(table, "tableName");
    v.enumeration(rcc.as_deref(), "returnConsumedCapacity", RETURN_CAPACITY);
    v.enumeration(rv.as_deref(), "returnValues", RETURN_VALUES);
    v.enumeration(
        ricm.as_deref(),
        "returnItemCollectionMetrics",
        RETURN_METRICS,
    );
    v.enumeration(
        rvoccf.as_deref(),
        "returnValuesOnConditionCheckFailure",
        RETURN_ON_FAILURE,
    );
}

/// The key message for PutItem's full item.
pub(crate) fn item_key_error(e: KeyError, item: &Item) -> ApiError {
    match e {
        KeyError::Missing(n) => invalid(format!("Missing the key {n} in the item")),
        KeyError::WrongType(n, want, got) => invalid(format!(
            "Type mismatch for key {n} expected: {} actual: {got}",
            want.as_str()
        )),
        KeyError::Empty(n) => {
            let what = if matches!(item.get(&n), Some(AttributeValue::B(_))) {
                "binary"
            } else {
                "string"
            };
            empty_key(&n, what)
        }
    }
}

fn empty_key(name: &str, what: &str) -> ApiError {
    ApiError::validation(format!(
        "One or more parameter values are not valid. The AttributeValue for a key attribute cannot contain an empty {what} value. Key: {name}"
    ))
}

pub(crate) fn check_key_sizes(schema: &KeySchema, item: &Item) -> Result<(), ApiError> {
    let size = |n: &str| item.get(n).map(AttributeValue::size).unwrap_or(0);
    if size(&schema.hash.name) > MAX_HASH_KEY {
        return Err(invalid(format!(
            "Size of hashkey has exceeded the maximum size limit of{MAX_HASH_KEY} bytes"
        )));
    }
    if let Some(r) = &schema.range {
        if size(&r.name) > MAX_RANGE_KEY {
            return Err(invalid(format!(
                "Aggregated size of all range keys has exceeded the size limit of {MAX_RANGE_KEY} bytes"
            )));
        }
    }
    Ok(())
}

/// Check a `Key` parameter: exactly the key attributes, of the right types.
pub(crate) fn encode_key_param(meta: &TableMeta, key: &Item) -> Result<Vec<u8>, ApiError> {
    let mismatch = || ApiError::validation("The provided key element does not match the schema");
    if key.len() != meta.schema.names().count() {
        return Err(mismatch());
    }
    match meta.schema.encode_item_key(key) {
        Ok(k) => {
            check_key_sizes(&meta.schema, key)?;
            Ok(k)
        }
        Err(KeyError::Empty(n)) => {
            let what = if matches!(key.get(&n), Some(AttributeValue::B(_))) {
                "binary"
            } else {
                "string"
            };
            Err(empty_key(&n, what))
        }
        Err(_) => Err(mismatch()),
    }
}

pub(crate) fn item_collection_metrics(
    engine: &Engine,
    meta: &TableMeta,
    mode: &Option<String>,
    item: &Item,
) -> Option<ItemCollectionMetrics> {
    if mode.as_deref() != Some("SIZE") || !meta.has_lsi() {
        return None;
    }
    let mut key = Item::new();
    if let Some(v) = item.get(&meta.schema.hash.name) {
        key.insert(meta.schema.hash.name.clone(), v.clone());
    }
    let bytes = crate::index::collection_key(meta, item)
        .and_then(|ck| {
            let view = engine.store.snapshot().ok()?;
            Stats::read_raw(&*view, &ck).ok()
        })
        .map_or(0, |s| s.bytes.max(0));
    // An estimate, as DynamoDB gives it: the whole gigabytes below and above the size.
    let lower = (bytes as f64 / (1024.0 * 1024.0 * 1024.0)).floor();
    Some(ItemCollectionMetrics {
        item_collection_key: key,
        size_estimate_range_gb: vec![lower, lower + 1.0],
    })
}

/// The item stored under `key`, as the transaction sees it.
pub(crate) fn read_item(
    tx: &ferrodyn_storage::Tx<'_>,
    ks: &str,
    key: &[u8],
) -> Result<Option<Item>, TxError> {
    match tx.get(ks, key)? {
        Some(bytes) => {
            Ok(Some(decode_item(&bytes).map_err(|e| {
                TxError(ApiError::InternalServerError(e.to_string()))
            })?))
        }
        None => Ok(None),
    }
}

/// The one path every item write takes: store `new` (or delete, if None) in place of `old`
/// and keep the table statistics in step, in the caller's transaction.
pub(crate) fn apply_write(
    tx: &mut ferrodyn_storage::Tx<'_>,
    meta: &TableMeta,
    key: &[u8],
    old: Option<&Item>,
    new: Option<&Item>,
    ctx: crate::streams::WriteCtx<'_>,
) -> Result<(), TxError> {
    // Shared storage: another server may have changed or deleted the table since `meta`
    // was cached; write by the committed metadata (or not at all).
    let fresh;
    let meta = match ctx.server {
        Some(_) => match crate::cluster::current_meta(tx, meta)? {
            Some(m) => {
                fresh = m;
                &fresh
            }
            None => meta,
        },
        None => meta,
    };
    let ks = meta.keyspace.as_str();
    let table_id = meta.desc.table_id.as_str();
    let old_size = old.map(item_size).unwrap_or(0) as i64;
    match new {
        Some(item) => {
            tx.put(ks, key.to_vec(), encode_item(item));
            let size = item_size(item) as i64;
            Stats::adjust(
                tx,
                table_id,
                i64::from(old.is_none()),
                size - old_size,
                ctx.server,
            )?;
        }
        None => {
            if old.is_some() {
                tx.delete(ks, key.to_vec());
                Stats::adjust(tx, table_id, -1, -old_size, ctx.server)?;
            }
        }
    }
    if old.is_some() || new.is_some() {
        crate::streams::on_write(tx, meta, old, new, ctx)?;
        crate::ttl::on_write(tx, meta, key, old, new);
        crate::backup::on_write(tx, meta, key, old, ctx.now)?;
        let lsi_bytes = crate::index::on_write(tx, meta, key, old, new, ctx.server)?;
        if meta.has_lsi() {
            let delta = new.map(item_size).unwrap_or(0) as i64 - old_size + lsi_bytes;
            if let Some(ck) = new
                .or(old)
                .and_then(|i| crate::index::collection_key(meta, i))
            {
                let after = Stats::adjust_raw(tx, &ck, 0, delta)?;
                if delta > 0 && after.bytes > crate::index::MAX_ITEM_COLLECTION_BYTES {
                    return Err(TxError(ApiError::ItemCollectionSizeLimitExceeded(
                        "Item collection size limit exceeded".into(),
                    )));
                }
            }
        }
    }
    Ok(())
}

/// What a write transaction saw and did.
struct Written {
    old: Option<Item>,
    new: Option<Item>,
}

/// The condition of a write: an expression or legacy `Expected`, already parsed.
pub(crate) type WriteCondition = Option<Arc<Cond>>;

/// Check `cond` against the item as it is; the failure carries the item when
/// ReturnValuesOnConditionCheckFailure is ALL_OLD.
pub(crate) fn check_condition(
    cond: &WriteCondition,
    old: Option<&Item>,
    return_old: bool,
) -> Result<(), ApiError> {
    let Some(c) = cond else {
        return Ok(());
    };
    let empty = Item::new();
    if eval(c, old.unwrap_or(&empty)) {
        Ok(())
    } else {
        Err(ApiError::ConditionalCheckFailed {
            message: "The conditional request failed".into(),
            item: if return_old { old.cloned() } else { None },
        })
    }
}

/// A write condition may not look inside a key attribute.
fn check_condition_keys(meta: &TableMeta, cond: &WriteCondition) -> Result<(), ApiError> {
    if let Some(c) = cond {
        let mut paths = Vec::new();
        condition_paths(c, &mut paths);
        check_key_paths(&meta.schema, &paths)?;
    }
    Ok(())
}

/// Drop paths covered by another (projection needs non-overlapping paths).
fn dedup_paths(paths: Vec<Path>) -> Vec<Path> {
    let mut out: Vec<Path> = Vec::new();
    for p in paths {
        if out.iter().any(|q| p.0.starts_with(&q.0)) {
            continue;
        }
        out.retain(|q| !q.0.starts_with(&p.0));
        out.push(p);
    }
    out
}

/// Parse a write's ConditionExpression or Expected into one condition.
fn write_condition(
    r: &mut Resolver<'_>,
    expression: &Option<String>,
    expected: &Option<Legacy>,
    conditional_operator: &Option<String>,
) -> Result<WriteCondition, ApiError> {
    if let Some(src) = expression {
        return Ok(Some(Arc::new(
            r.condition(src, ExprKind::Condition).map_err(expr_error)?,
        )));
    }
    if conditional_operator.is_some() && expected.is_none() {
        return Err(ApiError::validation(
            "ConditionalOperator cannot be used without Filter or Expected",
        ));
    }
    if let Some(map) = expected {
        let c = legacy::expected(&legacy_entries(map), conditional_operator.as_deref())
            .map_err(expr_error)?;
        return Ok(c.map(Arc::new));
    }
    Ok(None)
}

fn conditional_operator_check(v: &mut Violations, conditional_operator: &Option<String>) {
    v.enumeration(
        conditional_operator.as_deref(),
        "conditionalOperator",
        &["OR", "AND"],
    );
}

impl Engine {
    /// Replace (or delete, if `new` is None) the item under `key` in one transaction,
    /// keeping the table statistics in step. `compute` gets the old item and returns the
    /// new one; it may run again, so it must be pure.
    async fn write_item<F>(
        &self,
        meta: &Arc<TableMeta>,
        key: Vec<u8>,
        compute: F,
    ) -> Result<Written, ApiError>
    where
        F: Fn(Option<&Item>) -> Result<Option<Item>, ApiError> + Send + 'static,
    {
        self.admit(meta, None, true)?;
        let meta = meta.clone();
        let region = self.config.region.clone();
        let server = self.server_id();
        let shard_period = self.config.stream_shard_period.as_secs_f64();
        let now = self.clock.now();
        self.store
            .transact(move |tx| {
                let old = read_item(tx, &meta.keyspace, &key)?;
                let new = compute(old.as_ref())?;
                let ctx = crate::streams::WriteCtx {
                    now,
                    region: &region,
                    by_ttl: false,
                    shard_period,
                    server: server.as_deref(),
                };
                apply_write(tx, &meta, &key, old.as_ref(), new.as_ref(), ctx)?;
                Ok(Written { old, new })
            })
            .await
            .map_err(|TxError(e)| self.write_failed(e))
    }

    pub async fn put_item(&self, input: PutItemInput) -> Result<WriteItemOutput, ApiError> {
        let mut v = Violations::new();
        common_violations(
            &mut v,
            &input.table_name,
            &input.return_values,
            &input.return_consumed_capacity,
            &input.return_item_collection_metrics,
            &input.return_values_on_condition_check_failure,
        );
        v.not_null(&input.item, "item");
        conditional_operator_check(&mut v, &input.conditional_operator);
        legacy_violations(&mut v, &input.expected, "expected", false);
        v.into_result()?;
        let ph = prepare(
            input.expression_attribute_names.as_ref(),
            input.expression_attribute_values.as_ref(),
            &[("ConditionExpression", input.condition_expression.is_some())],
            &[
                ("Expected", input.expected.is_some()),
                ("ConditionalOperator", input.conditional_operator.is_some()),
            ],
            &["ConditionExpression"],
        )?;
        let mut r = ph.resolver(input.expression_attribute_names.as_ref());
        if !matches!(
            input.return_values.as_deref(),
            None | Some("NONE") | Some("ALL_OLD")
        ) {
            return Err(ApiError::validation(
                "ReturnValues can only be ALL_OLD or NONE",
            ));
        }
        let cond = write_condition(
            &mut r,
            &input.condition_expression,
            &input.expected,
            &input.conditional_operator,
        )?;
        r.finish().map_err(expr_error)?;
        let item = input.item.unwrap_or_default();
        let size = item_size(&item);
        if size > MAX_ITEM_SIZE {
            return Err(ApiError::validation(
                "Item size has exceeded the maximum allowed size",
            ));
        }
        let meta = self.table(input.table_name.as_deref().unwrap_or_default())?;
        check_condition_keys(&meta, &cond)?;
        let key = meta
            .schema
            .encode_item_key(&item)
            .map_err(|e| item_key_error(e, &item))?;
        check_key_sizes(&meta.schema, &item)?;
        let metrics =
            item_collection_metrics(self, &meta, &input.return_item_collection_metrics, &item);
        let shared = Arc::new(item);
        let new = shared.clone();
        let return_old =
            input.return_values_on_condition_check_failure.as_deref() == Some("ALL_OLD");
        let w = self
            .write_item(&meta, key, move |old| {
                check_condition(&cond, old, return_old)?;
                Ok(Some((*new).clone()))
            })
            .await?;
        let old_size = w.old.as_ref().map(item_size).unwrap_or(0);
        Ok(WriteItemOutput {
            attributes: if input.return_values.as_deref() == Some("ALL_OLD") {
                w.old
            } else {
                None
            },
            consumed_capacity: consumed(
                &meta.name,
                self.charged(&meta.name, true, write_units(size.max(old_size))),
                input.return_consumed_capacity.as_deref(),
            ),
            item_collection_metrics: metrics,
        })
    }

    pub async fn get_item(&self, input: GetItemInput) -> Result<GetItemOutput, ApiError> {
        self.get_item_inner(input, false).await.map(|(out, _)| out)
    }

    /// GetItem answered as the response body itself: without a projection the stored
    /// item is written straight out as JSON (`codec::item_to_json`), never decoded.
    pub async fn get_item_json(&self, input: GetItemInput) -> Result<Vec<u8>, ApiError> {
        match self.get_item_inner(input, true).await? {
            (_, Some(body)) => Ok(body),
            (out, None) => {
                serde_json::to_vec(&out).map_err(|e| ApiError::InternalServerError(e.to_string()))
            }
        }
    }

    async fn get_item_inner(
        &self,
        input: GetItemInput,
        raw: bool,
    ) -> Result<(GetItemOutput, Option<Vec<u8>>), ApiError> {
        let mut v = Violations::new();
        v.table_name(&input.table_name, "tableName");
        v.enumeration(
            input.return_consumed_capacity.as_deref(),
            "returnConsumedCapacity",
            RETURN_CAPACITY,
        );
        v.not_null(&input.key, "key");
        if let Some(a) = &input.attributes_to_get {
            if a.is_empty() {
                v.add(
                    Some("[]"),
                    "attributesToGet",
                    "Member must have length greater than or equal to 1",
                );
            }
        }
        v.into_result()?;
        let ph = prepare(
            input.expression_attribute_names.as_ref(),
            None,
            &[(
                "ProjectionExpression",
                input.projection_expression.is_some(),
            )],
            &[("AttributesToGet", input.attributes_to_get.is_some())],
            &[],
        )?;
        let mut r = ph.resolver(input.expression_attribute_names.as_ref());
        let projection = match &input.projection_expression {
            Some(src) => Some(r.projection(src).map_err(expr_error)?),
            None => None,
        };
        r.finish().map_err(expr_error)?;
        let projection = match (projection, &input.attributes_to_get) {
            (Some(p), _) => Some(p),
            (None, Some(a)) => {
                let mut seen = std::collections::HashSet::new();
                if let Some(d) = a.iter().find(|x| !seen.insert(x.as_str())) {
                    return Err(invalid(format!("Duplicate value in attribute name: {d}")));
                }
                Some(legacy::attributes_to_get(a))
            }
            (None, None) => None,
        };
        let meta = self.table(input.table_name.as_deref().unwrap_or_default())?;
        if input.projection_expression.is_some() {
            check_key_paths(&meta.schema, projection.iter().flatten())?;
        }
        let key = encode_key_param(&meta, input.key.as_ref().unwrap_or(&Item::new()))?;
        self.admit(&meta, None, false)?;
        let bytes = self
            .store
            .get_async(&meta.keyspace, &key)
            .await
            .map_err(storage_error)?;
        if let (true, None, Some(b)) = (raw, &projection, &bytes) {
            let mut body = Vec::with_capacity(b.len() * 2 + 32);
            body.extend_from_slice(b"{\"Item\":");
            let size = ferrodyn_types::codec::item_to_json(b, &mut body)
                .map_err(|e| ApiError::InternalServerError(e.to_string()))?;
            let units = read_units(size, input.consistent_read == Some(true));
            let units = self.charged(&meta.name, false, units);
            if let Some(c) = consumed(&meta.name, units, input.return_consumed_capacity.as_deref())
            {
                body.extend_from_slice(b",\"ConsumedCapacity\":");
                serde_json::to_writer(&mut body, &c)
                    .map_err(|e| ApiError::InternalServerError(e.to_string()))?;
            }
            body.push(b'}');
            return Ok((GetItemOutput::default(), Some(body)));
        }
        let item = match bytes {
            Some(b) => {
                Some(decode_item(&b).map_err(|e| ApiError::InternalServerError(e.to_string()))?)
            }
            None => None,
        };
        let size = item.as_ref().map(item_size).unwrap_or(0);
        let item = match (&projection, item) {
            (Some(paths), Some(item)) => Some(project(&item, paths)),
            (_, item) => item,
        };
        Ok((
            GetItemOutput {
                item,
                consumed_capacity: consumed(
                    &meta.name,
                    self.charged(
                        &meta.name,
                        false,
                        read_units(size, input.consistent_read == Some(true)),
                    ),
                    input.return_consumed_capacity.as_deref(),
                ),
            },
            None,
        ))
    }

    pub async fn delete_item(&self, input: DeleteItemInput) -> Result<WriteItemOutput, ApiError> {
        let mut v = Violations::new();
        common_violations(
            &mut v,
            &input.table_name,
            &input.return_values,
            &input.return_consumed_capacity,
            &input.return_item_collection_metrics,
            &input.return_values_on_condition_check_failure,
        );
        v.not_null(&input.key, "key");
        conditional_operator_check(&mut v, &input.conditional_operator);
        legacy_violations(&mut v, &input.expected, "expected", false);
        v.into_result()?;
        let ph = prepare(
            input.expression_attribute_names.as_ref(),
            input.expression_attribute_values.as_ref(),
            &[("ConditionExpression", input.condition_expression.is_some())],
            &[
                ("Expected", input.expected.is_some()),
                ("ConditionalOperator", input.conditional_operator.is_some()),
            ],
            &["ConditionExpression"],
        )?;
        let mut r = ph.resolver(input.expression_attribute_names.as_ref());
        if !matches!(
            input.return_values.as_deref(),
            None | Some("NONE") | Some("ALL_OLD")
        ) {
            return Err(ApiError::validation(
                "ReturnValues can only be ALL_OLD or NONE",
            ));
        }
        let cond = write_condition(
            &mut r,
            &input.condition_expression,
            &input.expected,
            &input.conditional_operator,
        )?;
        r.finish().map_err(expr_error)?;
        let meta = self.table(input.table_name.as_deref().unwrap_or_default())?;
        check_condition_keys(&meta, &cond)?;
        let key_item = input.key.unwrap_or_default();
        let key = encode_key_param(&meta, &key_item)?;
        let return_old =
            input.return_values_on_condition_check_failure.as_deref() == Some("ALL_OLD");
        let w = self
            .write_item(&meta, key, move |old| {
                check_condition(&cond, old, return_old)?;
                Ok(None)
            })
            .await?;
        let old_size = w.old.as_ref().map(item_size).unwrap_or(0);
        Ok(WriteItemOutput {
            consumed_capacity: consumed(
                &meta.name,
                self.charged(&meta.name, true, write_units(old_size)),
                input.return_consumed_capacity.as_deref(),
            ),
            item_collection_metrics: item_collection_metrics(
                self,
                &meta,
                &input.return_item_collection_metrics,
                &key_item,
            ),
            attributes: if input.return_values.as_deref() == Some("ALL_OLD") {
                w.old
            } else {
                None
            },
        })
    }

    pub async fn update_item(&self, input: UpdateItemInput) -> Result<WriteItemOutput, ApiError> {
        let mut v = Violations::new();
        common_violations(
            &mut v,
            &input.table_name,
            &input.return_values,
            &input.return_consumed_capacity,
            &input.return_item_collection_metrics,
            &input.return_values_on_condition_check_failure,
        );
        v.not_null(&input.key, "key");
        let mut updates: Vec<(&String, &AttributeValueUpdate)> =
            input.attribute_updates.iter().flatten().collect();
        updates.sort_by(|a, b| a.0.cmp(b.0));
        for (name, u) in &updates {
            v.enumeration(
                u.action.as_deref(),
                &format!("attributeUpdates.{name}.member.action"),
                ATTRIBUTE_ACTIONS,
            );
        }
        conditional_operator_check(&mut v, &input.conditional_operator);
        legacy_violations(&mut v, &input.expected, "expected", false);
        v.into_result()?;
        let ph = prepare(
            input.expression_attribute_names.as_ref(),
            input.expression_attribute_values.as_ref(),
            &[
                ("UpdateExpression", input.update_expression.is_some()),
                ("ConditionExpression", input.condition_expression.is_some()),
            ],
            &[
                ("AttributeUpdates", input.attribute_updates.is_some()),
                ("Expected", input.expected.is_some()),
                ("ConditionalOperator", input.conditional_operator.is_some()),
            ],
            &["UpdateExpression", "ConditionExpression"],
        )?;
        let mut r = ph.resolver(input.expression_attribute_names.as_ref());
        for (_, u) in &updates {
            check_legacy_update(u)?;
        }
        let update = match &input.update_expression {
            Some(src) => Some(r.update(src).map_err(expr_error)?),
            None => None,
        };
        let cond = write_condition(
            &mut r,
            &input.condition_expression,
            &input.expected,
            &input.conditional_operator,
        )?;
        r.finish().map_err(expr_error)?;
        let meta = self.table(input.table_name.as_deref().unwrap_or_default())?;
        let key_item = input.key.clone().unwrap_or_default();
        let key = encode_key_param(&meta, &key_item)?;
        let legacy_updates: Vec<(String, AttributeValueUpdate)> = updates
            .iter()
            .map(|(n, u)| ((*n).clone(), (*u).clone()))
            .collect();
        for (name, _) in &legacy_updates {
            if meta.schema.is_key(name) {
                return Err(invalid(format!(
                    "Cannot update attribute {name}. This attribute is part of the key"
                )));
            }
        }
        if let Some(u) = &update {
            for a in &u.actions {
                let root = a.path().root();
                if meta.schema.is_key(root) {
                    return Err(invalid(format!(
                        "Cannot update attribute {root}. This attribute is part of the key"
                    )));
                }
            }
            let mut read = Vec::new();
            update_value_paths(u, &mut read);
            check_key_paths(&meta.schema, &read)?;
        }
        check_condition_keys(&meta, &cond)?;
        // (written path, what UPDATED_OLD / UPDATED_NEW return for it)
        let paths: Vec<(Path, Path)> = match &update {
            Some(u) => u.returned_paths(),
            None => legacy_updates
                .iter()
                .map(|(n, _)| (Path::attr(n.as_str()), Path::attr(n.as_str())))
                .collect(),
        };
        let return_old =
            input.return_values_on_condition_check_failure.as_deref() == Some("ALL_OLD");
        let w = self
            .write_item(&meta, key, move |old| {
                check_condition(&cond, old, return_old)?;
                let mut item = old.cloned().unwrap_or_else(|| key_item.clone());
                match &update {
                    Some(u) => apply(u, &mut item).map_err(expr_error)?,
                    None => {
                        for (name, u) in &legacy_updates {
                            apply_legacy_update(&mut item, name, u)?;
                        }
                    }
                }
                if item_size(&item) > MAX_ITEM_SIZE {
                    return Err(ApiError::validation(
                        "Item size to update has exceeded the maximum allowed size",
                    ));
                }
                Ok(Some(item))
            })
            .await?;
        let new_size = w.new.as_ref().map(item_size).unwrap_or(0);
        let old_size = w.old.as_ref().map(item_size).unwrap_or(0);
        // An updated path is returned (cut before its first list index) when it exists in
        // the item returned: an element appended past the end of a list is not.
        let pick = |item: &Option<Item>| {
            item.as_ref().map(|i| {
                let present: Vec<Path> = paths
                    .iter()
                    .filter(|(written, _)| ferrodyn_expr::eval::get(i, written).is_some())
                    .map(|(_, shown)| shown.clone())
                    .collect();
                project(i, &dedup_paths(present))
            })
        };
        let attributes = match input.return_values.as_deref() {
            Some("ALL_OLD") => w.old.clone(),
            Some("ALL_NEW") => w.new.clone(),
            Some("UPDATED_OLD") => pick(&w.old),
            Some("UPDATED_NEW") => pick(&w.new),
            _ => None,
        }
        .filter(|i| !i.is_empty());
        Ok(WriteItemOutput {
            attributes,
            consumed_capacity: consumed(
                &meta.name,
                self.charged(&meta.name, true, write_units(new_size.max(old_size))),
                input.return_consumed_capacity.as_deref(),
            ),
            item_collection_metrics: w.new.as_ref().and_then(|n| {
                item_collection_metrics(self, &meta, &input.return_item_collection_metrics, n)
            }),
        })
    }
}

/// The checks of one legacy `AttributeUpdates` entry that need no table.
fn check_legacy_update(u: &AttributeValueUpdate) -> Result<(), ApiError> {
    let action = u.action.as_deref().unwrap_or("PUT");
    match (action, &u.value) {
        ("PUT", None) | ("ADD", None) => Err(invalid(
            "Only DELETE action is allowed when no attribute value is specified",
        )),
        ("ADD", Some(v))
            if !matches!(
                v,
                AttributeValue::N(_)
                    | AttributeValue::Ss(_)
                    | AttributeValue::Ns(_)
                    | AttributeValue::Bs(_)
                    | AttributeValue::L(_)
            ) =>
        {
            Err(invalid(format!(
                "ADD action is not supported for the type {}",
                v.type_name()
            )))
        }
        ("DELETE", Some(v))
            if !matches!(
                v,
                AttributeValue::Ss(_) | AttributeValue::Ns(_) | AttributeValue::Bs(_)
            ) =>
        {
            Err(invalid(format!(
                "DELETE action with value is not supported for the type {}",
                v.type_name()
            )))
        }
        _ => Ok(()),
    }
}

/// One legacy `AttributeUpdates` action, as DynamoDB defines it.
fn apply_legacy_update(
    item: &mut Item,
    name: &str,
    u: &AttributeValueUpdate,
) -> Result<(), ApiError> {
    let mismatch = || ApiError::validation("Type mismatch for attribute to update");
    match (u.action.as_deref().unwrap_or("PUT"), &u.value) {
        ("PUT", Some(v)) => {
            item.insert(name.to_owned(), v.clone());
        }
        ("DELETE", None) => {
            item.remove(name);
        }
        ("DELETE", Some(del)) => {
            let Some(cur) = item.get(name) else {
                return Ok(());
            };
            let remaining = match (cur, del) {
                (AttributeValue::Ss(a), AttributeValue::Ss(b)) => {
                    let r: Vec<String> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
                    (!r.is_empty()).then_some(AttributeValue::Ss(r))
                }
                (AttributeValue::Ns(a), AttributeValue::Ns(b)) => {
                    let r: Vec<_> = a.iter().filter(|x| !b.contains(x)).copied().collect();
                    (!r.is_empty()).then_some(AttributeValue::Ns(r))
                }
                (AttributeValue::Bs(a), AttributeValue::Bs(b)) => {
                    let r: Vec<Vec<u8>> = a.iter().filter(|x| !b.contains(x)).cloned().collect();
                    (!r.is_empty()).then_some(AttributeValue::Bs(r))
                }
                _ => return Err(mismatch()),
            };
            match remaining {
                Some(v) => item.insert(name.to_owned(), v),
                None => item.remove(name),
            };
        }
        ("ADD", Some(add)) => {
            let next = match (item.get(name), add) {
                (None, v) => v.clone(),
                (Some(AttributeValue::N(a)), AttributeValue::N(b)) => AttributeValue::N(
                    a.checked_add(b)
                        .map_err(|e| ApiError::validation(e.to_string()))?,
                ),
                (Some(AttributeValue::Ss(a)), AttributeValue::Ss(b)) => {
                    let mut r = a.clone();
                    r.extend(b.iter().filter(|x| !a.contains(x)).cloned());
                    AttributeValue::Ss(r)
                }
                (Some(AttributeValue::Ns(a)), AttributeValue::Ns(b)) => {
                    let mut r = a.clone();
                    r.extend(b.iter().filter(|x| !a.contains(x)).copied());
                    AttributeValue::Ns(r)
                }
                (Some(AttributeValue::Bs(a)), AttributeValue::Bs(b)) => {
                    let mut r = a.clone();
                    r.extend(b.iter().filter(|x| !a.contains(x)).cloned());
                    AttributeValue::Bs(r)
                }
                // Legacy ADD appends to a list.
                (Some(AttributeValue::L(a)), AttributeValue::L(b)) => {
                    let mut r = a.clone();
                    r.extend(b.iter().cloned());
                    AttributeValue::L(r)
                }
                _ => return Err(mismatch()),
            };
            item.insert(name.to_owned(), next);
        }
        _ => {
            return Err(invalid(
                "Only DELETE action is allowed when no attribute value is specified",
            ))
        }
    }
    Ok(())
}
