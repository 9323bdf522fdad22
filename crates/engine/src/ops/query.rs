//! Query and Scan: one page of a key range, with DynamoDB's paging rules.
//!
//! A page ends after `Limit` items have been read, or once the items read add up to 1 MB,
//! or at the end of the range. Both limits count items read, before the filter, so `Count`
//! (items returned) and `ScannedCount` (items read) match DynamoDB. A page that stops early
//! carries `LastEvaluatedKey`: the key of the last item read, filtered out or not.
//!
//! Query is one range scan inside a partition (the sort-key condition becomes bounds);
//! Scan walks the whole keyspace, and parallel Scan segments are ranges of the 32-bit hash
//! prefix, so every item falls in exactly one segment.

use std::ops::Bound;
use std::sync::Arc;

use ferrodyn_expr::eval::{eval, project};
use ferrodyn_expr::keycond::{
    key_condition_for, key_condition_multi, key_condition_parts, KeyCondition, RangeCond,
};
use ferrodyn_expr::{legacy, CmpOp, Cond, ExprKind, Path};
use ferrodyn_protocol::model::{QueryInput, QueryOutput, ScanInput};
use ferrodyn_protocol::{ApiError, Violations};
use ferrodyn_types::codec::decode_item;
use ferrodyn_types::key::{encode_part, encode_prefix_part, prefix_successor};
use ferrodyn_types::{item_size, AttributeValue, Item, KeyError, KeySchema};

use crate::index::{IndexDef, Projection as IndexProjection};

use super::exprs::{
    check_key_paths, condition_paths, expr_error, legacy_entries, legacy_violations, prepare,
};
use crate::capacity::{consumed, read_units};
use crate::catalog::TableMeta;
use crate::{storage_error, Engine};

/// DynamoDB's page size limit: 1 MB of items read.
pub const MAX_PAGE_BYTES: usize = 1024 * 1024;
const SELECT: &[&str] = &[
    "SPECIFIC_ATTRIBUTES",
    "COUNT",
    "ALL_ATTRIBUTES",
    "ALL_PROJECTED_ATTRIBUTES",
];
const RETURN_CAPACITY: &[&str] = &["INDEXES", "TOTAL", "NONE"];
const MAX_SEGMENTS: i64 = 1_000_000;

/// Everything a page read needs, decided before touching storage.
struct Plan {
    /// The keyspace read: the table's or an index's.
    keyspace: String,
    /// The index read, if any (its LastEvaluatedKey shape differs).
    index: Option<IndexDef>,
    /// Read each item from the table (an LSI asked for attributes it does not project).
    fetch: bool,
    start: Bound<Vec<u8>>,
    end: Bound<Vec<u8>>,
    reverse: bool,
    limit: Option<usize>,
    /// Checked on every item read (the sort-key condition, as a safety net for the bounds).
    key_filter: Option<Cond>,
    filter: Option<Cond>,
    projection: Option<Vec<Path>>,
    count_only: bool,
    consistent: bool,
}

/// Entries a Query reads in one awaited statement before falling back to a view.
const PREREAD: usize = 64;

/// The shared request checks of Query and Scan.
struct Common<'a> {
    select: Option<&'a str>,
    projection_expression: &'a Option<String>,
    attributes_to_get: &'a Option<Vec<String>>,
    index_name: &'a Option<String>,
}

fn select_checks(c: &Common<'_>) -> Result<(), ApiError> {
    let has_projection = c.projection_expression.is_some() || c.attributes_to_get.is_some();
    let which = if c.projection_expression.is_some() {
        "ProjectionExpression"
    } else {
        "AttributesToGet"
    };
    match c.select {
        Some("SPECIFIC_ATTRIBUTES") if !has_projection => Err(ApiError::validation(
            "Must specify the AttributesToGet or ProjectionExpression when choosing to get SPECIFIC_ATTRIBUTES",
        )),
        Some("COUNT") if has_projection => Err(ApiError::validation(format!(
            "Cannot specify the {which} when choosing to get only the Count"
        ))),
        Some("ALL_ATTRIBUTES") if has_projection => Err(ApiError::validation(format!(
            "Cannot specify the {which} when choosing to get ALL_ATTRIBUTES"
        ))),
        Some("ALL_PROJECTED_ATTRIBUTES") if c.index_name.is_none() => {
            Err(ApiError::validation(
                "ALL_PROJECTED_ATTRIBUTES can be used only when Querying using an IndexName",
            ))
        }
        _ => Ok(()),
    }
}

fn attributes_to_get_violations(v: &mut Violations, a: &Option<Vec<String>>) {
    if a.as_ref().is_some_and(Vec::is_empty) {
        v.add(
            Some("[]"),
            "attributesToGet",
            "Member must have length greater than or equal to 1",
        );
    }
}

fn projection_of(
    r: &mut ferrodyn_expr::Resolver<'_>,
    expression: &Option<String>,
    attributes_to_get: &Option<Vec<String>>,
) -> Result<Option<Vec<Path>>, ApiError> {
    if let Some(src) = expression {
        return Ok(Some(r.projection(src).map_err(expr_error)?));
    }
    if let Some(a) = attributes_to_get {
        let mut seen = std::collections::HashSet::new();
        if let Some(d) = a.iter().find(|x| !seen.insert(x.as_str())) {
            return Err(ApiError::validation(format!(
                "One or more parameter values were invalid: Duplicate value in attribute name: {d}"
            )));
        }
    }
    Ok(attributes_to_get.as_deref().map(legacy::attributes_to_get))
}

/// The index a request names, with DynamoDB's checks.
fn resolve_index(meta: &TableMeta, name: &str, consistent: bool) -> Result<IndexDef, ApiError> {
    let Some(idx) = meta.index(name) else {
        return Err(ApiError::validation(format!(
            "The table does not have the specified index: {name}"
        )));
    };
    if idx.global && consistent {
        return Err(ApiError::validation(
            "Consistent reads are not supported on global secondary indexes",
        ));
    }
    Ok(idx)
}

/// Whether items must be read from the table, and whether the Select is allowed.
fn index_fetch(
    idx: &IndexDef,
    select: Option<&str>,
    wants_projection: bool,
) -> Result<bool, ApiError> {
    let all = idx.projection == IndexProjection::All;
    match select {
        Some("ALL_ATTRIBUTES") if !all && idx.global => Err(ApiError::validation(format!(
            "One or more parameter values were invalid: Select type ALL_ATTRIBUTES is not supported for global secondary index {} because its projection type is not ALL",
            idx.name
        ))),
        Some("ALL_ATTRIBUTES") => Ok(!all),
        _ => Ok(!all && !idx.global && wants_projection),
    }
}

/// The storage key an ExclusiveStartKey names in an index: table key and index key.
fn index_start_key(meta: &TableMeta, idx: &IndexDef, esk: &Item) -> Result<Vec<u8>, ApiError> {
    let bad = || {
        ApiError::validation(
            "The provided starting key is invalid: The provided key element does not match the schema",
        )
    };
    let wanted: std::collections::BTreeSet<&str> =
        meta.schema.names().chain(idx.key_names()).collect();
    if esk.len() != wanted.len() || !esk.keys().all(|k| wanted.contains(k.as_str())) {
        return Err(bad());
    }
    let table_part: Item = meta.schema.project_key(esk);
    let table_key = meta
        .schema
        .encode_item_key(&table_part)
        .map_err(|_| bad())?;
    match idx.entry_key(&table_key, esk) {
        Ok(Some(k)) => Ok(k),
        _ => Err(bad()),
    }
}

/// Check an ExclusiveStartKey against the table's key schema and encode it.
fn start_key(meta: &TableMeta, key: &Item) -> Result<Vec<u8>, ApiError> {
    let bad = || {
        ApiError::validation(
            "The provided starting key is invalid: The provided key element does not match the schema",
        )
    };
    if key.len() != meta.schema.names().count() {
        return Err(bad());
    }
    match meta.schema.encode_item_key(key) {
        Ok(k) => Ok(k),
        Err(KeyError::Empty(n)) => Err(ApiError::validation(format!(
            "The provided starting key is invalid: One or more parameter values were invalid: An AttributeValue may not contain an empty string. Key: {n}"
        ))),
        Err(_) => Err(bad()),
    }
}

fn tighten_start(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    use Bound::*;
    match (a, b) {
        (Unbounded, x) | (x, Unbounded) => x,
        (Included(x), Included(y)) => Included(x.max(y)),
        (Excluded(x), Excluded(y)) => Excluded(x.max(y)),
        (Included(x), Excluded(y)) | (Excluded(y), Included(x)) => {
            if y >= x {
                Excluded(y)
            } else {
                Included(x)
            }
        }
    }
}

fn tighten_end(a: Bound<Vec<u8>>, b: Bound<Vec<u8>>) -> Bound<Vec<u8>> {
    use Bound::*;
    match (a, b) {
        (Unbounded, x) | (x, Unbounded) => x,
        (Included(x), Included(y)) => Included(x.min(y)),
        (Excluded(x), Excluded(y)) => Excluded(x.min(y)),
        (Included(x), Excluded(y)) | (Excluded(y), Included(x)) => {
            if y <= x {
                Excluded(y)
            } else {
                Included(x)
            }
        }
    }
}

/// The storage bounds of a key condition.
fn query_bounds(prefix: Vec<u8>, kc: &KeyCondition) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let with = |v: &AttributeValue| {
        let mut k = prefix.clone();
        encode_part(v, &mut k);
        k
    };
    // Every key that starts with `k` (index entries carry the table key after the sort
    // value; table keys end there).
    let after = |k: Vec<u8>| match prefix_successor(&k) {
        Some(e) => Bound::Excluded(e),
        None => Bound::Unbounded,
    };
    let part_start = || Bound::Included(prefix.clone());
    let part_end = || after(prefix.clone());
    match &kc.range {
        None => (part_start(), part_end()),
        Some(RangeCond::Cmp(op, v)) => match op {
            CmpOp::Eq => (Bound::Included(with(v)), after(with(v))),
            CmpOp::Lt => (part_start(), Bound::Excluded(with(v))),
            CmpOp::Le => (part_start(), after(with(v))),
            CmpOp::Gt => (after_start(with(v)), part_end()),
            CmpOp::Ge => (Bound::Included(with(v)), part_end()),
            CmpOp::Ne => (part_start(), part_end()),
        },
        Some(RangeCond::Between(lo, hi)) => (Bound::Included(with(lo)), after(with(hi))),
        Some(RangeCond::BeginsWith(p)) => {
            let mut k = prefix.clone();
            encode_prefix_part(p, &mut k);
            (Bound::Included(k.clone()), after(k))
        }
    }
}

/// The first key after every key that starts with `k`, as a start bound.
fn after_start(k: Vec<u8>) -> Bound<Vec<u8>> {
    match prefix_successor(&k) {
        Some(e) => Bound::Included(e),
        // Nothing can follow an all-0xFF prefix: an empty range.
        None => Bound::Excluded(vec![0xff; k.len() + 1]),
    }
}

/// The sort-key condition as a condition tree, checked on every item read.
fn range_filter(schema: &KeySchema, kc: &KeyCondition) -> Option<Cond> {
    let name = schema.range.as_ref()?.name.clone();
    let path = || ferrodyn_expr::Operand::Path(Path::attr(name.as_str()));
    let val = |v: &AttributeValue| ferrodyn_expr::Operand::Value(v.clone());
    Some(match kc.range.as_ref()? {
        RangeCond::Cmp(op, v) => Cond::Cmp(*op, path(), val(v)),
        RangeCond::Between(lo, hi) => Cond::Between(path(), val(lo), val(hi)),
        RangeCond::BeginsWith(p) => Cond::BeginsWith(path(), val(p)),
    })
}

impl Engine {
    pub async fn query(&self, input: QueryInput) -> Result<QueryOutput, ApiError> {
        self.query_page(input, false).await.map(|(out, _)| out)
    }

    /// Query answered as the response body itself: items without a projection are
    /// written straight from storage to JSON (see [`Engine::get_item_json`]).
    pub async fn query_json(&self, input: QueryInput) -> Result<Vec<u8>, ApiError> {
        page_json(self.query_page(input, true).await?)
    }

    async fn query_page(
        &self,
        input: QueryInput,
        raw: bool,
    ) -> Result<(QueryOutput, Option<Vec<u8>>), ApiError> {
        let mut v = Violations::new();
        v.table_name(&input.table_name, "tableName");
        if let Some(i) = &input.index_name {
            v.new_name(i, "indexName", 255);
        }
        if let Some(l) = input.limit {
            if l < 1 {
                v.add_unvalued("Limit", "Member must have value greater than or equal to 1");
            }
        }
        v.enumeration(input.select.as_deref(), "select", SELECT);
        v.enumeration(
            input.return_consumed_capacity.as_deref(),
            "returnConsumedCapacity",
            RETURN_CAPACITY,
        );
        v.enumeration(
            input.conditional_operator.as_deref(),
            "conditionalOperator",
            &["OR", "AND"],
        );
        attributes_to_get_violations(&mut v, &input.attributes_to_get);
        legacy_violations(&mut v, &input.key_conditions, "keyConditions", true);
        legacy_violations(&mut v, &input.query_filter, "queryFilter", true);
        v.into_result()?;
        let ph = prepare(
            input.expression_attribute_names.as_ref(),
            input.expression_attribute_values.as_ref(),
            &[
                (
                    "ProjectionExpression",
                    input.projection_expression.is_some(),
                ),
                ("FilterExpression", input.filter_expression.is_some()),
                (
                    "KeyConditionExpression",
                    input.key_condition_expression.is_some(),
                ),
            ],
            &[
                ("AttributesToGet", input.attributes_to_get.is_some()),
                ("QueryFilter", input.query_filter.is_some()),
                ("ConditionalOperator", input.conditional_operator.is_some()),
                // KeyConditions mix only with KeyConditionExpression (KeyConditions plus
                // FilterExpression is accepted, as DynamoDB does).
                (
                    "KeyConditions",
                    input.key_conditions.is_some() && input.key_condition_expression.is_some(),
                ),
            ],
            &["FilterExpression", "KeyConditionExpression"],
        )?;
        let mut r = ph.resolver(input.expression_attribute_names.as_ref());
        let common = Common {
            select: input.select.as_deref(),
            projection_expression: &input.projection_expression,
            attributes_to_get: &input.attributes_to_get,
            index_name: &input.index_name,
        };
        select_checks(&common)?;
        if input.conditional_operator.is_some() && input.query_filter.is_none() {
            return Err(ApiError::validation(
                "ConditionalOperator cannot be used without Filter or Expected",
            ));
        }
        // Legacy filter and AttributesToGet first, then the key condition requirement, then
        // the expressions, as DynamoDB orders them.
        let legacy_filter = match &input.query_filter {
            Some(map) => {
                legacy::filter(&legacy_entries(map), input.conditional_operator.as_deref())
                    .map_err(expr_error)?
            }
            None => None,
        };
        let legacy_projection = projection_of(&mut r, &None, &input.attributes_to_get)?;
        if input.key_conditions.is_none() && input.key_condition_expression.is_none() {
            return Err(ApiError::validation(
                "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
            ));
        }
        let key_cond = match &input.key_condition_expression {
            Some(src) => Some(
                r.condition(src, ExprKind::KeyCondition)
                    .map_err(expr_error)?,
            ),
            None => None,
        };
        let filter = match &input.filter_expression {
            Some(src) => Some(r.condition(src, ExprKind::Filter).map_err(expr_error)?),
            None => legacy_filter,
        };
        let projection = match &input.projection_expression {
            Some(_) => projection_of(&mut r, &input.projection_expression, &None)?,
            None => legacy_projection,
        };
        let key_cond = match key_cond {
            Some(c) => Some(key_condition_parts(&c).map_err(expr_error)?),
            None => None,
        };
        if let Some(map) = &input.key_conditions {
            legacy::key_conditions_static(&legacy_entries(map)).map_err(expr_error)?;
        }
        r.finish().map_err(expr_error)?;
        let meta = self.table(input.table_name.as_deref().unwrap_or_default())?;
        let index = match &input.index_name {
            Some(name) => Some(resolve_index(
                &meta,
                name,
                input.consistent_read == Some(true),
            )?),
            None => None,
        };
        let multi = index
            .as_ref()
            .is_some_and(|i| i.hash.len() > 1 || i.range.len() > 1);
        let schema = match &index {
            Some(i) => i.key_schema().ok_or_else(|| {
                ApiError::InternalServerError("index without a key schema".into())
            })?,
            None => meta.schema.clone(),
        };
        // The partition (and leading sort) values, the sort-key condition for the range
        // scan, and the same as a condition checked on every item read.
        let (prefix, kc, key_filter, hash_pairs) = match (&index, multi) {
            (Some(idx), true) => {
                let parts = match (&key_cond, &input.key_conditions) {
                    (Some(parts), _) => parts.clone(),
                    (None, Some(map)) => legacy_key_parts(map)?,
                    (None, None) => {
                        return Err(ApiError::validation(
                            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
                        ))
                    }
                };
                let mk = key_condition_multi(parts, &idx.hash, &idx.range).map_err(expr_error)?;
                let refs: Vec<&AttributeValue> = mk.hash.iter().collect();
                let mut prefix = idx.partition_prefix(&refs);
                for v in &mk.range_eq {
                    encode_part(v, &mut prefix);
                }
                let mut conds: Vec<Cond> = idx
                    .range
                    .iter()
                    .zip(&mk.range_eq)
                    .map(|(a, v)| {
                        Cond::Cmp(
                            CmpOp::Eq,
                            ferrodyn_expr::Operand::Path(Path::attr(a.name.as_str())),
                            ferrodyn_expr::Operand::Value(v.clone()),
                        )
                    })
                    .collect();
                let kc = KeyCondition {
                    hash: AttributeValue::Null,
                    range: mk.last.clone(),
                };
                if let Some(a) = idx.range.get(mk.range_eq.len()) {
                    let s = KeySchema {
                        hash: a.clone(),
                        range: Some(a.clone()),
                    };
                    conds.extend(range_filter(&s, &kc));
                }
                let key_filter = conds
                    .into_iter()
                    .reduce(|a, b| Cond::And(Box::new(a), Box::new(b)));
                let pairs: Vec<(String, AttributeValue)> = idx
                    .hash
                    .iter()
                    .map(|a| a.name.clone())
                    .zip(mk.hash)
                    .collect();
                (prefix, kc, key_filter, pairs)
            }
            _ => {
                let kc = match (&key_cond, &input.key_conditions) {
                    (Some(parts), _) => {
                        key_condition_for(parts.clone(), &schema).map_err(expr_error)?
                    }
                    (None, Some(map)) => legacy::key_conditions(&legacy_entries(map), &schema)
                        .map_err(expr_error)?,
                    (None, None) => {
                        return Err(ApiError::validation(
                            "Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.",
                        ))
                    }
                };
                let prefix = match &index {
                    Some(i) => i.partition_prefix(&[&kc.hash]),
                    None => meta.schema.partition_prefix(&kc.hash),
                };
                let key_filter = range_filter(&schema, &kc);
                let pairs = vec![(schema.hash.name.clone(), kc.hash.clone())];
                (prefix, kc, key_filter, pairs)
            }
        };
        let key_names: Vec<String> = match &index {
            Some(i) => i.key_names().map(str::to_owned).collect(),
            None => meta.schema.names().map(str::to_owned).collect(),
        };
        if let Some(f) = &filter {
            let param = if input.query_filter.is_some() {
                "QueryFilter"
            } else {
                "Filter Expression"
            };
            check_filter_keys(f, &key_names, param)?;
        }
        check_read_paths(&meta, &filter, &projection)?;
        let reverse = input.scan_index_forward == Some(false);
        let (mut start, mut end) = query_bounds(prefix, &kc);
        if let Some(esk) = &input.exclusive_start_key {
            let k = match &index {
                Some(i) => index_start_key(&meta, i, esk)?,
                None => start_key(&meta, esk)?,
            };
            let empty = Item::new();
            let in_partition = hash_pairs
                .iter()
                .all(|(n, v)| esk.get(n).is_some_and(|h| ferrodyn_expr::eval::equal(h, v)));
            let in_range = key_filter
                .as_ref()
                .is_none_or(|c| eval(c, esk) || eval(c, &empty));
            if !in_range {
                return Err(ApiError::validation(
                    "The provided starting key does not match the range key predicate",
                ));
            }
            let single_row = index.is_none()
                && (schema.range.is_none()
                    || matches!(kc.range, Some(RangeCond::Cmp(CmpOp::Eq, _))));
            if !in_partition && kc.range.is_none() {
                return Err(ApiError::validation(
                    "The provided starting key is outside query boundaries based on provided conditions",
                ));
            }
            if !in_partition || single_row {
                return Err(ApiError::validation(
                    "The query can return at most one row and cannot be restarted",
                ));
            }
            if reverse {
                end = tighten_end(end, Bound::Excluded(k));
            } else {
                start = tighten_start(start, Bound::Excluded(k));
            }
        }
        let fetch = match &index {
            Some(i) => index_fetch(
                i,
                input.select.as_deref(),
                input.projection_expression.is_some() || input.attributes_to_get.is_some(),
            )?,
            None => false,
        };
        let plan = Plan {
            keyspace: index
                .as_ref()
                .map_or_else(|| meta.keyspace.clone(), |i| i.keyspace.clone()),
            index,
            fetch,
            start,
            end,
            reverse,
            limit: input.limit.and_then(|l| usize::try_from(l).ok()),
            key_filter,
            filter,
            projection,
            count_only: input.select.as_deref() == Some("COUNT"),
            consistent: input.consistent_read == Some(true),
        };
        let preread = self.preread(&meta, &plan).await?;
        self.read_page(
            &meta,
            plan,
            input.return_consumed_capacity.as_deref(),
            raw,
            preread,
        )
    }

    /// The whole page of `plan` in one awaited read, where the backend offers that
    /// ([`ferrodyn_storage::Backend::scan_async`]) and the page surely lies within the
    /// first [`PREREAD`] entries of the range: the range holds fewer, or (no key filter)
    /// the Limit stops the page within them. Else `None`: read through a view.
    async fn preread(
        &self,
        meta: &TableMeta,
        plan: &Plan,
    ) -> Result<Option<ferrodyn_storage::Entries>, ApiError> {
        // A page that will be throttled is not read (read_page answers the throttling).
        if plan.fetch
            || !bounds_nonempty(&plan.start, &plan.end)
            || self.admit(meta, capacity_index(plan), false).is_err()
        {
            return Ok(None);
        }
        let Some(rows) = self
            .store
            .scan_async(
                &plan.keyspace,
                plan.start.as_ref().map(Vec::as_slice),
                plan.end.as_ref().map(Vec::as_slice),
                plan.reverse,
                PREREAD,
            )
            .await
            .map_err(storage_error)?
        else {
            return Ok(None);
        };
        let enough = rows.len() < PREREAD
            || (plan.key_filter.is_none() && plan.limit.is_some_and(|l| l <= rows.len()));
        Ok(enough.then_some(rows))
    }

    pub async fn scan(&self, input: ScanInput) -> Result<QueryOutput, ApiError> {
        self.scan_page(input, false).await.map(|(out, _)| out)
    }

    /// Scan answered as the response body itself (see [`Engine::query_json`]).
    pub async fn scan_json(&self, input: ScanInput) -> Result<Vec<u8>, ApiError> {
        page_json(self.scan_page(input, true).await?)
    }

    async fn scan_page(
        &self,
        input: ScanInput,
        raw: bool,
    ) -> Result<(QueryOutput, Option<Vec<u8>>), ApiError> {
        let mut v = Violations::new();
        v.table_name(&input.table_name, "tableName");
        if let Some(i) = &input.index_name {
            v.new_name(i, "indexName", 255);
        }
        v.min(input.limit, "limit", 1);
        v.enumeration(input.select.as_deref(), "select", SELECT);
        v.enumeration(
            input.return_consumed_capacity.as_deref(),
            "returnConsumedCapacity",
            RETURN_CAPACITY,
        );
        v.enumeration(
            input.conditional_operator.as_deref(),
            "conditionalOperator",
            &["OR", "AND"],
        );
        v.min(input.segment, "segment", 0);
        v.max(input.segment, "segment", MAX_SEGMENTS - 1);
        v.min(input.total_segments, "totalSegments", 1);
        v.max(input.total_segments, "totalSegments", MAX_SEGMENTS);
        attributes_to_get_violations(&mut v, &input.attributes_to_get);
        legacy_violations(&mut v, &input.scan_filter, "scanFilter", true);
        v.into_result()?;
        let segments = match (input.segment, input.total_segments) {
            (None, None) => None,
            (Some(_), None) => {
                return Err(ApiError::validation(
                    "The TotalSegments parameter is required but was not present in the request when Segment parameter is present",
                ))
            }
            (None, Some(_)) => {
                return Err(ApiError::validation(
                    "The Segment parameter is required but was not present in the request when parameter TotalSegments is present",
                ))
            }
            (Some(s), Some(t)) if s >= t => {
                return Err(ApiError::validation(format!(
                    "The Segment parameter is zero-based and must be less than parameter TotalSegments: Segment: {s} is not less than TotalSegments: {t}"
                )))
            }
            (Some(s), Some(t)) => Some((s, t)),
        };
        let ph = prepare(
            input.expression_attribute_names.as_ref(),
            input.expression_attribute_values.as_ref(),
            &[
                (
                    "ProjectionExpression",
                    input.projection_expression.is_some(),
                ),
                ("FilterExpression", input.filter_expression.is_some()),
            ],
            &[
                ("AttributesToGet", input.attributes_to_get.is_some()),
                ("ScanFilter", input.scan_filter.is_some()),
                ("ConditionalOperator", input.conditional_operator.is_some()),
            ],
            &["FilterExpression"],
        )?;
        let mut r = ph.resolver(input.expression_attribute_names.as_ref());
        select_checks(&Common {
            select: input.select.as_deref(),
            projection_expression: &input.projection_expression,
            attributes_to_get: &input.attributes_to_get,
            index_name: &input.index_name,
        })?;
        if input.conditional_operator.is_some() && input.scan_filter.is_none() {
            return Err(ApiError::validation(
                "ConditionalOperator cannot be used without Filter or Expected",
            ));
        }
        let filter = match &input.filter_expression {
            Some(src) => Some(r.condition(src, ExprKind::Filter).map_err(expr_error)?),
            None => match &input.scan_filter {
                Some(map) => {
                    legacy::filter(&legacy_entries(map), input.conditional_operator.as_deref())
                        .map_err(expr_error)?
                }
                None => None,
            },
        };
        let projection = projection_of(
            &mut r,
            &input.projection_expression,
            &input.attributes_to_get,
        )?;
        r.finish().map_err(expr_error)?;
        let meta = self.table(input.table_name.as_deref().unwrap_or_default())?;
        let index = match &input.index_name {
            Some(name) => Some(resolve_index(
                &meta,
                name,
                input.consistent_read == Some(true),
            )?),
            None => None,
        };
        let (mut start, end) = match segments {
            None => (Bound::Unbounded, Bound::Unbounded),
            Some((s, t)) => segment_bounds(s, t),
        };
        if let Some(esk) = &input.exclusive_start_key {
            let k = match &index {
                Some(i) => index_start_key(&meta, i, esk)?,
                None => start_key(&meta, esk)?,
            };
            if let Some((s, t)) = segments {
                let (lo, hi) = segment_bounds(s, t);
                let inside = match lo {
                    Bound::Included(lo) => k >= lo,
                    _ => true,
                } && match hi {
                    Bound::Excluded(hi) => k < hi,
                    _ => true,
                };
                if !inside {
                    return Err(ApiError::validation(format!(
                        "The provided starting key is invalid: Invalid ExclusiveStartKey. Please use ExclusiveStartKey with correct Segment. TotalSegments: {t} Segment: {s}"
                    )));
                }
            }
            start = tighten_start(start, Bound::Excluded(k));
        }
        check_read_paths(&meta, &filter, &projection)?;
        let fetch = match &index {
            Some(i) => index_fetch(
                i,
                input.select.as_deref(),
                input.projection_expression.is_some() || input.attributes_to_get.is_some(),
            )?,
            None => false,
        };
        let plan = Plan {
            keyspace: index
                .as_ref()
                .map_or_else(|| meta.keyspace.clone(), |i| i.keyspace.clone()),
            index,
            fetch,
            start,
            end,
            reverse: false,
            limit: input.limit.and_then(|l| usize::try_from(l).ok()),
            key_filter: None,
            filter,
            projection,
            count_only: input.select.as_deref() == Some("COUNT"),
            consistent: input.consistent_read == Some(true),
        };
        // A small table's (or segment's) page, or one with a small Limit, in one awaited
        // read as for Query.
        let preread = self.preread(&meta, &plan).await?;
        self.read_page(
            &meta,
            plan,
            input.return_consumed_capacity.as_deref(),
            raw,
            preread,
        )
    }

    /// Read one page according to `plan`. With `raw`, items that are returned whole (no
    /// projection, not fetched from the table) are written straight from storage to JSON
    /// (`codec::item_to_json`) and come back as the second value, the bare items joined by
    /// commas; an item is decoded only when a filter needs it or it ends the page.
    fn read_page(
        &self,
        meta: &Arc<TableMeta>,
        plan: Plan,
        capacity_mode: Option<&str>,
        raw: bool,
        preread: Option<ferrodyn_storage::Entries>,
    ) -> Result<(QueryOutput, Option<Vec<u8>>), ApiError> {
        let raw = raw && plan.projection.is_none() && !plan.fetch && !plan.count_only;
        let gsi = capacity_index(&plan);
        self.admit(meta, gsi, false)?;
        let mut json: Vec<u8> = Vec::new();
        let mut items = Vec::new();
        let mut count = 0usize;
        let mut scanned = 0usize;
        let mut bytes = 0usize;
        let mut last: Option<Item> = None;
        let mut stopped = false;
        let mut failure: Option<ApiError> = None;
        let internal =
            |e: ferrodyn_types::codec::DecodeError| ApiError::InternalServerError(e.to_string());
        let page_key = |item: &Item| match &plan.index {
            Some(i) => i.page_key(&meta.schema, item),
            None => meta.schema.project_key(item),
        };
        {
            let view = match preread {
                Some(_) => None,
                None => Some(self.store.read_view().map_err(storage_error)?),
            };
            let mut visit = |_: &[u8], value: &[u8]| -> bool {
                let mut step = || -> Result<bool, ApiError> {
                    let needs_item = !raw || plan.key_filter.is_some() || plan.filter.is_some();
                    let mut item = match needs_item {
                        true => Some(decode_item(value).map_err(internal)?),
                        false => None,
                    };
                    if plan.fetch {
                        // The whole item, from the table (LSIs fetch what they do
                        // not project).
                        let full = item
                            .as_ref()
                            .and_then(|i| meta.schema.encode_item_key(i).ok())
                            .and_then(|k| view.as_ref()?.get(&meta.keyspace, &k).ok().flatten())
                            .and_then(|b| decode_item(&b).ok());
                        if full.is_some() {
                            item = full;
                        }
                    }
                    if let (Some(c), Some(i)) = (&plan.key_filter, &item) {
                        if !eval(c, i) {
                            return Ok(true);
                        }
                    }
                    scanned += 1;
                    let matched = match (&plan.filter, &item) {
                        (Some(c), Some(i)) => eval(c, i),
                        _ => true,
                    };
                    if matched {
                        count += 1;
                    }
                    if raw {
                        bytes += match (matched, &item) {
                            (true, _) => {
                                if count > 1 {
                                    json.push(b',');
                                }
                                ferrodyn_types::codec::item_to_json(value, &mut json)
                                    .map_err(internal)?
                            }
                            (false, Some(i)) => item_size(i),
                            (false, None) => 0,
                        };
                    } else if let Some(i) = &item {
                        bytes += item_size(i);
                    }
                    let full = plan.limit.is_some_and(|l| scanned >= l) || bytes >= MAX_PAGE_BYTES;
                    if full {
                        let item = match item.take() {
                            Some(i) => i,
                            None => decode_item(value).map_err(internal)?,
                        };
                        last = Some(page_key(&item));
                        if matched && !raw && !plan.count_only {
                            items.push(match &plan.projection {
                                Some(p) => project(&item, p),
                                None => item,
                            });
                        }
                        stopped = true;
                        return Ok(false);
                    }
                    if let (true, false, false, Some(i)) = (matched, raw, plan.count_only, item) {
                        items.push(match &plan.projection {
                            Some(p) => project(&i, p),
                            None => i,
                        });
                    }
                    Ok(true)
                };
                match step() {
                    Ok(go_on) => go_on,
                    Err(e) => {
                        failure = Some(e);
                        false
                    }
                }
            };
            match (&preread, &view) {
                (Some(rows), _) => {
                    for (k, v) in rows {
                        if !visit(k, v) {
                            break;
                        }
                    }
                }
                (None, Some(view)) if bounds_nonempty(&plan.start, &plan.end) => {
                    view.scan(
                        &plan.keyspace,
                        plan.start.as_ref().map(Vec::as_slice),
                        plan.end.as_ref().map(Vec::as_slice),
                        plan.reverse,
                        &mut visit,
                    )
                    .map_err(storage_error)?;
                }
                _ => {}
            }
        }
        if let Some(e) = failure {
            return Err(e);
        }
        self.charge_to(&meta.name, gsi, false, read_units(bytes, plan.consistent));
        let out = QueryOutput {
            items: (!plan.count_only && !raw).then_some(items),
            count,
            scanned_count: scanned,
            last_evaluated_key: if stopped { last } else { None },
            consumed_capacity: match &plan.index {
                Some(i) => crate::capacity::consumed_index(
                    &meta.name,
                    &i.name,
                    i.global,
                    read_units(bytes, plan.consistent),
                    capacity_mode,
                ),
                None => consumed(
                    &meta.name,
                    read_units(bytes, plan.consistent),
                    capacity_mode,
                ),
            },
        };
        Ok((out, raw.then_some(json)))
    }
}

/// The response body of a page: with raw items, `{"Items":[...],` followed by the rest
/// of the output as serde writes it (its first field, `Count`, is always present).
fn page_json((out, raw): (QueryOutput, Option<Vec<u8>>)) -> Result<Vec<u8>, ApiError> {
    let internal = |e: serde_json::Error| ApiError::InternalServerError(e.to_string());
    let Some(items) = raw else {
        return serde_json::to_vec(&out).map_err(internal);
    };
    let mut body = Vec::with_capacity(items.len() + 128);
    body.extend_from_slice(b"{\"Items\":[");
    body.extend_from_slice(&items);
    body.extend_from_slice(b"],");
    let rest = serde_json::to_vec(&out).map_err(internal)?;
    body.extend_from_slice(rest.get(1..).unwrap_or_default());
    Ok(body)
}

/// Whether a range can hold anything (storage backends may not like inverted bounds).
fn bounds_nonempty(start: &Bound<Vec<u8>>, end: &Bound<Vec<u8>>) -> bool {
    use Bound::*;
    match (start, end) {
        (Unbounded, _) | (_, Unbounded) => true,
        (Included(a), Included(b)) => a <= b,
        (Included(a), Excluded(b)) | (Excluded(a), Included(b)) | (Excluded(a), Excluded(b)) => {
            a < b
        }
    }
}

/// The key range of parallel-scan segment `s` of `t`: a slice of the 32-bit hash prefix.
fn segment_bounds(s: i64, t: i64) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    let span = 1u64 << 32;
    let at = |i: i64| -> u64 {
        let i = u64::try_from(i).unwrap_or(0);
        let t = u64::try_from(t).unwrap_or(1).max(1);
        // i <= t <= 10^6, so this cannot overflow u64 (2^32 * 10^6 < 2^64).
        span * i / t
    };
    let lo = at(s);
    let hi = at(s + 1);
    let enc = |x: u64| u32::try_from(x).map(|v| v.to_be_bytes().to_vec());
    let start = match enc(lo) {
        Ok(b) => Bound::Included(b),
        Err(_) => Bound::Unbounded,
    };
    let end = match enc(hi) {
        Ok(b) => Bound::Excluded(b),
        Err(_) => Bound::Unbounded,
    };
    (start, end)
}

/// Legacy KeyConditions as key-condition parts (for multi-attribute index keys).
fn legacy_key_parts(
    map: &ferrodyn_protocol::model::Legacy,
) -> Result<Vec<(String, RangeCond)>, ApiError> {
    let mut conds = Vec::new();
    for (name, e) in legacy_entries(map) {
        let op = e.op.unwrap_or("EQ");
        if !matches!(
            op,
            "EQ" | "LE" | "LT" | "GE" | "GT" | "BEGINS_WITH" | "BETWEEN"
        ) {
            return Err(ApiError::validation(
                "Attempted conditional constraint is not an indexable operation",
            ));
        }
        conds.push(legacy::comparison(name, op, e.list.unwrap_or_default()).map_err(expr_error)?);
    }
    let Some(c) = conds
        .into_iter()
        .reduce(|a, b| Cond::And(Box::new(a), Box::new(b)))
    else {
        return Err(ApiError::validation(
            "Conditions can be of length 1 or 2 only",
        ));
    };
    key_condition_parts(&c).map_err(expr_error)
}

/// Filters and projections may not look inside key attributes.
fn check_read_paths(
    meta: &TableMeta,
    filter: &Option<Cond>,
    projection: &Option<Vec<Path>>,
) -> Result<(), ApiError> {
    let mut paths = Vec::new();
    if let Some(f) = filter {
        condition_paths(f, &mut paths);
    }
    paths.extend(projection.iter().flatten().cloned());
    check_key_paths(&meta.schema, &paths)
}

/// A filter may not name key attributes in a Query.
fn check_filter_keys(filter: &Cond, keys: &[String], param: &str) -> Result<(), ApiError> {
    let mut names = Vec::new();
    collect_roots(filter, &mut names);
    for n in names {
        if keys.contains(&n) {
            return Err(ApiError::validation(format!(
                "{param} can only contain non-primary key attributes: Primary key attribute: {n}"
            )));
        }
    }
    Ok(())
}

fn collect_roots(c: &Cond, out: &mut Vec<String>) {
    use ferrodyn_expr::Operand;
    let op = |o: &Operand, out: &mut Vec<String>| match o {
        Operand::Path(p) | Operand::Size(p) => out.push(p.root().to_owned()),
        Operand::Value(_) => {}
    };
    match c {
        Cond::Cmp(_, a, b) | Cond::BeginsWith(a, b) | Cond::Contains(a, b) => {
            op(a, out);
            op(b, out);
        }
        Cond::Between(a, b, d) => {
            op(a, out);
            op(b, out);
            op(d, out);
        }
        Cond::In(a, l) => {
            op(a, out);
            for x in l {
                op(x, out);
            }
        }
        Cond::And(a, b) | Cond::Or(a, b) => {
            collect_roots(a, out);
            collect_roots(b, out);
        }
        Cond::Not(a) => collect_roots(a, out),
        Cond::Exists(p) | Cond::NotExists(p) => out.push(p.root().to_owned()),
        Cond::Type(p, t) => {
            out.push(p.root().to_owned());
            op(t, out);
        }
    }
}

/// The capacity a page read of `plan` draws on: a global index has its own; a local one
/// shares the table's (None).
fn capacity_index(plan: &Plan) -> Option<&str> {
    plan.index
        .as_ref()
        .filter(|i| i.global)
        .map(|i| i.name.as_str())
}
