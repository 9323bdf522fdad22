//! PartiQL: ExecuteStatement, BatchExecuteStatement, ExecuteTransaction. Each statement is
//! parsed by `ferrodyn-partiql` and translated into the JSON operations' requests (a
//! condition / update / key-condition expression with `#p` names and `:p` values), which
//! then run through the same engine paths: no second implementation of conditions,
//! updates, indexes or transactions.

use base64::Engine as _;
use ferrodyn_partiql::{CmpOp, Expr, Operand, Path, PathElem, Returning, SetValue, Statement};
use ferrodyn_protocol::{ApiError, CancellationReason, Violations};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::Engine;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecuteStatementInput {
    pub statement: Option<String>,
    pub parameters: Option<Vec<Value>>,
    pub consistent_read: Option<bool>,
    pub next_token: Option<String>,
    pub return_consumed_capacity: Option<String>,
    pub limit: Option<i64>,
    pub return_values_on_condition_check_failure: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BatchStatementRequest {
    pub statement: Option<String>,
    pub parameters: Option<Vec<Value>>,
    pub consistent_read: Option<bool>,
    pub return_values_on_condition_check_failure: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct BatchExecuteStatementInput {
    pub statements: Option<Vec<BatchStatementRequest>>,
    pub return_consumed_capacity: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ExecuteTransactionInput {
    pub transact_statements: Option<Vec<BatchStatementRequest>>,
    pub client_request_token: Option<String>,
    pub return_consumed_capacity: Option<String>,
}

const DUPLICATE: &str = "Duplicate primary key exists in table";

fn parse(text: &str, params: &Option<Vec<Value>>) -> Result<Statement, ApiError> {
    let (stmt, n) = ferrodyn_partiql::parse(text).map_err(|e| {
        if e.semantic {
            ApiError::validation(e.message)
        } else {
            ApiError::validation(format!(
                "Statement wasn't well formed, can't be processed: {}",
                e.message
            ))
        }
    })?;
    if n != params.as_ref().map_or(0, Vec::len) {
        return Err(ApiError::validation(
            "Number of parameters in request and statement don't match.",
        ));
    }
    Ok(stmt)
}

/// Expression text with `#pN` names and `:pN` values.
#[derive(Default)]
struct Tr {
    params: Vec<Value>,
    names: Map<String, Value>,
    values: Map<String, Value>,
}

impl Tr {
    fn new(params: &Option<Vec<Value>>) -> Tr {
        Tr {
            params: params.clone().unwrap_or_default(),
            ..Tr::default()
        }
    }

    fn name(&mut self, n: &str) -> String {
        if let Some((k, _)) = self.names.iter().find(|(_, v)| v.as_str() == Some(n)) {
            return k.clone();
        }
        let k = format!("#p{}", self.names.len());
        self.names.insert(k.clone(), n.into());
        k
    }

    fn path(&mut self, p: &Path) -> String {
        let mut out = String::new();
        for (i, e) in p.0.iter().enumerate() {
            match e {
                PathElem::Name(n) => {
                    if i > 0 {
                        out.push('.');
                    }
                    let k = self.name(n);
                    out.push_str(&k);
                }
                PathElem::Index(x) => out.push_str(&format!("[{x}]")),
            }
        }
        out
    }

    fn value(&self, v: &ferrodyn_partiql::Value) -> Result<Value, ApiError> {
        use ferrodyn_partiql::Value as V;
        Ok(match v {
            V::Str(s) => json!({ "S": s }),
            V::Num(n) => json!({ "N": n }),
            V::Bool(b) => json!({ "BOOL": b }),
            V::Null => json!({ "NULL": true }),
            V::Map(fields) => {
                let mut m = Map::new();
                for (k, x) in fields {
                    m.insert(k.clone(), self.value(x)?);
                }
                json!({ "M": m })
            }
            V::List(items) => json!({
                "L": items.iter().map(|x| self.value(x)).collect::<Result<Vec<_>, _>>()?
            }),
            V::Set(items) if items.is_empty() => {
                return Err(ApiError::validation("Empty bags are not supported"))
            }
            V::Set(items) => {
                let vals = items
                    .iter()
                    .map(|x| self.value(x))
                    .collect::<Result<Vec<_>, _>>()?;
                let kind = vals
                    .first()
                    .and_then(|v| v.as_object())
                    .and_then(|o| o.keys().next().cloned())
                    .unwrap_or_default();
                let set = match kind.as_str() {
                    "S" => "SS",
                    "N" => "NS",
                    "B" => "BS",
                    _ => return Err(ApiError::validation(
                        "Unsupported type passed in a set: sets hold strings, numbers or binaries",
                    )),
                };
                let mut members = Vec::new();
                for v in &vals {
                    match v.get(&kind) {
                        Some(x) if v.as_object().is_some_and(|o| o.len() == 1) => {
                            members.push(x.clone())
                        }
                        _ => {
                            return Err(ApiError::validation(
                                "Unsupported type passed in a set: all members must have one type",
                            ))
                        }
                    }
                }
                json!({ set: members })
            }
            V::Param(i) => self.params.get(*i).cloned().ok_or_else(|| {
                ApiError::validation("Number of parameters in request and statement don't match.")
            })?,
        })
    }

    fn placeholder(&mut self, v: &ferrodyn_partiql::Value) -> Result<String, ApiError> {
        let val = self.value(v)?;
        let k = format!(":p{}", self.values.len());
        self.values.insert(k.clone(), val);
        Ok(k)
    }

    fn operand(&mut self, o: &Operand) -> Result<String, ApiError> {
        Ok(match o {
            Operand::Path(p) => self.path(p),
            Operand::Value(v) => self.placeholder(v)?,
            Operand::Size(p) => format!("size({})", self.path(p)),
        })
    }

    fn cond(&mut self, e: &Expr) -> Result<String, ApiError> {
        Ok(match e {
            Expr::And(a, b) => format!("({} AND {})", self.cond(a)?, self.cond(b)?),
            Expr::Or(a, b) => format!("({} OR {})", self.cond(a)?, self.cond(b)?),
            Expr::Not(a) => format!("(NOT {})", self.cond(a)?),
            Expr::Cmp(l, op, r) => {
                format!("{} {} {}", self.operand(l)?, op.as_str(), self.operand(r)?)
            }
            Expr::Between(x, lo, hi) => format!(
                "{} BETWEEN {} AND {}",
                self.operand(x)?,
                self.operand(lo)?,
                self.operand(hi)?
            ),
            Expr::In(x, items) => {
                let l = self.operand(x)?;
                let items = items
                    .iter()
                    .map(|i| self.operand(i))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("{l} IN ({})", items.join(", "))
            }
            Expr::Func(f, args) => {
                if f == "attribute_exists" || f == "attribute_not_exists" {
                    if args.len() != 1 {
                        return Err(ApiError::validation(format!(
                            "Incorrect number of operands for operator or function; operator or function: {f}, number of operands: {}",
                            args.len()
                        )));
                    }
                    if !matches!(args.first(), Some(Operand::Path(_))) {
                        return Err(ApiError::validation(format!(
                            "Operator or function requires a document path; operator or function: {f}"
                        )));
                    }
                }
                let args = args
                    .iter()
                    .map(|a| self.operand(a))
                    .collect::<Result<Vec<_>, _>>()?;
                format!("{f}({})", args.join(", "))
            }
            Expr::Missing(p, negated) => {
                let p = self.path(p);
                if *negated {
                    format!("attribute_exists({p})")
                } else {
                    format!("attribute_not_exists({p})")
                }
            }
        })
    }

    /// Add the names / values to a request.
    fn finish(self, req: &mut Value) {
        if let Some(o) = req.as_object_mut() {
            if !self.names.is_empty() {
                o.insert("ExpressionAttributeNames".into(), Value::Object(self.names));
            }
            if !self.values.is_empty() {
                o.insert(
                    "ExpressionAttributeValues".into(),
                    Value::Object(self.values),
                );
            }
        }
    }
}

fn conjuncts(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::And(a, b) => {
            let mut v = conjuncts(a);
            v.extend(conjuncts(b));
            v
        }
        other => vec![other],
    }
}

/// `attr = value` (either way round) on a top-level attribute: (attr, value).
fn equality(e: &Expr) -> Option<(&str, &ferrodyn_partiql::Value)> {
    let Expr::Cmp(l, CmpOp::Eq, r) = e else {
        return None;
    };
    match (l, r) {
        (Operand::Path(p), Operand::Value(v)) | (Operand::Value(v), Operand::Path(p))
            if p.0.len() == 1 =>
        {
            p.root().map(|n| (n, v))
        }
        _ => None,
    }
}

/// Whether a conjunct can be part of a key condition on `sort`.
fn sort_key_condition(e: &Expr, sort: &str) -> bool {
    let is_sort =
        |o: &Operand| matches!(o, Operand::Path(p) if p.0.len() == 1 && p.root() == Some(sort));
    let is_val = |o: &Operand| matches!(o, Operand::Value(_));
    match e {
        Expr::Cmp(l, op, r) => *op != CmpOp::Ne && is_sort(l) && is_val(r),
        Expr::Between(x, lo, hi) => is_sort(x) && is_val(lo) && is_val(hi),
        Expr::Func(f, args) => {
            f == "begins_with"
                && args.len() == 2
                && args.first().is_some_and(is_sort)
                && args.get(1).is_some_and(is_val)
        }
        _ => false,
    }
}

fn and_all(tr: &mut Tr, parts: &[&Expr]) -> Result<Option<String>, ApiError> {
    let mut out = Vec::new();
    for p in parts {
        out.push(tr.cond(p)?);
    }
    Ok((!out.is_empty()).then(|| out.join(" AND ")))
}

/// The value at `path` in an item (AttributeValue JSON).
fn value_at<'a>(item: &'a Value, path: &Path) -> Option<&'a Value> {
    let mut cur: Option<&Value> = None;
    for (i, e) in path.0.iter().enumerate() {
        cur = match (i, e) {
            (0, PathElem::Name(n)) => item.get(n),
            (_, PathElem::Name(n)) => cur.and_then(|c| c.get("M")).and_then(|m| m.get(n)),
            (_, PathElem::Index(x)) => cur
                .and_then(|c| c.get("L"))
                .and_then(|l| l.get(*x as usize)),
        };
        cur?;
    }
    cur
}

fn project(items: Vec<Value>, projection: &Option<Vec<Path>>) -> Vec<Value> {
    let Some(paths) = projection else {
        return items;
    };
    items
        .into_iter()
        .map(|item| {
            let mut out = Map::new();
            for p in paths {
                if let (Some(v), Some(name)) = (value_at(&item, p), p.leaf_name()) {
                    out.insert(name.to_owned(), v.clone());
                }
            }
            Value::Object(out)
        })
        .collect()
}

fn req<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, ApiError> {
    serde_json::from_value(v).map_err(|e| ApiError::validation(e.to_string()))
}

fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

fn returning_values(r: Option<Returning>) -> &'static str {
    match r {
        None => "NONE",
        Some(Returning::AllOld) => "ALL_OLD",
        Some(Returning::ModifiedOld) => "UPDATED_OLD",
        Some(Returning::AllNew) => "ALL_NEW",
        Some(Returning::ModifiedNew) => "UPDATED_NEW",
    }
}

/// A write statement as the JSON request of its operation, plus what kind it is.
struct WritePlan {
    op: &'static str,
    request: Value,
}

impl Engine {
    /// Key attribute names of a table (partition first).
    fn key_names(&self, table: &str) -> Result<Vec<String>, ApiError> {
        let meta = self.table(table)?;
        Ok(meta.schema.names().map(str::to_owned).collect())
    }

    /// The item key a WHERE clause pins down (equality on every key attribute), and the
    /// conjuncts left over.
    fn key_of<'e>(
        &self,
        table: &str,
        filter: &'e Expr,
        tr: &Tr,
    ) -> Result<(Value, Vec<&'e Expr>), ApiError> {
        let keys = self.key_names(table)?;
        let mut key = Map::new();
        let mut rest = Vec::new();
        for c in conjuncts(filter) {
            match equality(c) {
                Some((n, v)) if keys.iter().any(|k| k == n) && !key.contains_key(n) => {
                    key.insert(n.to_owned(), tr.value(v)?);
                }
                _ => rest.push(c),
            }
        }
        if key.len() != keys.len() {
            return Err(ApiError::validation(
                "Where clause does not contain a mandatory equality on all key attributes",
            ));
        }
        Ok((Value::Object(key), rest))
    }

    fn plan_write(
        &self,
        stmt: &Statement,
        params: &Option<Vec<Value>>,
    ) -> Result<WritePlan, ApiError> {
        let mut tr = Tr::new(params);
        match stmt {
            Statement::Insert { table, item } => {
                let item = tr.value(item)?;
                let Some(m) = item.get("M").cloned() else {
                    return Err(ApiError::validation(
                        "Unsupported type passed to INSERT: the value must be a document {...}",
                    ));
                };
                let keys = self.key_names(table)?;
                let conds: Vec<String> = keys
                    .iter()
                    .map(|k| format!("attribute_not_exists({})", tr.name(k)))
                    .collect();
                let mut request = json!({
                    "TableName": table, "Item": m,
                    "ConditionExpression": conds.join(" AND "),
                });
                tr.finish(&mut request);
                Ok(WritePlan { op: "Put", request })
            }
            Statement::Update {
                table,
                sets,
                removes,
                filter,
                returning,
            } => {
                let (key, rest) = self.key_of(table, filter, &tr)?;
                let hash = self
                    .key_names(table)?
                    .into_iter()
                    .next()
                    .unwrap_or_default();
                let mut set_parts = Vec::new();
                let mut add_parts = Vec::new();
                let mut del_parts = Vec::new();
                for (p, v) in sets {
                    let target = tr.path(p);
                    match v {
                        SetValue::Operand(o) => {
                            let o = tr.operand(o)?;
                            set_parts.push(format!("{target} = {o}"));
                        }
                        SetValue::Arith(a, op, b) => {
                            let (a, b) = (tr.operand(a)?, tr.operand(b)?);
                            set_parts.push(format!("{target} = {a} {op} {b}"));
                        }
                        SetValue::ListAppend(a, b) => {
                            let (a, b) = (tr.operand(a)?, tr.operand(b)?);
                            set_parts.push(format!("{target} = list_append({a}, {b})"));
                        }
                        SetValue::IfNotExists(q, o) => {
                            let q = tr.path(q);
                            let o = tr.operand(o)?;
                            set_parts.push(format!("{target} = if_not_exists({q}, {o})"));
                        }
                        SetValue::SetAdd(_, o) => {
                            let o = tr.operand(o)?;
                            add_parts.push(format!("{target} {o}"));
                        }
                        SetValue::SetDelete(_, o) => {
                            let o = tr.operand(o)?;
                            del_parts.push(format!("{target} {o}"));
                        }
                    }
                }
                let mut update = Vec::new();
                if !set_parts.is_empty() {
                    update.push(format!("SET {}", set_parts.join(", ")));
                }
                if !removes.is_empty() {
                    let r: Vec<String> = removes.iter().map(|p| tr.path(p)).collect();
                    update.push(format!("REMOVE {}", r.join(", ")));
                }
                if !add_parts.is_empty() {
                    update.push(format!("ADD {}", add_parts.join(", ")));
                }
                if !del_parts.is_empty() {
                    update.push(format!("DELETE {}", del_parts.join(", ")));
                }
                // UPDATE never creates an item.
                let exists = format!("attribute_exists({})", tr.name(&hash));
                let cond = match and_all(&mut tr, &rest)? {
                    Some(c) => format!("{exists} AND ({c})"),
                    None => exists,
                };
                let mut request = json!({
                    "TableName": table, "Key": key,
                    "UpdateExpression": update.join(" "),
                    "ConditionExpression": cond,
                    "ReturnValues": returning_values(*returning),
                });
                tr.finish(&mut request);
                Ok(WritePlan {
                    op: "Update",
                    request,
                })
            }
            Statement::Delete {
                table,
                filter,
                returning,
            } => {
                if let Some(r) = returning.filter(|r| *r != Returning::AllOld) {
                    let clause = match r {
                        Returning::ModifiedOld => "RETURNING MODIFIED OLD *",
                        Returning::AllNew => "RETURNING ALL NEW *",
                        _ => "RETURNING MODIFIED NEW *",
                    };
                    return Err(ApiError::validation(format!(
                        "Invalid returning clause: {clause}. Only RETURNING ALL OLD * is allowed in DELETE statements."
                    )));
                }
                let (key, rest) = self.key_of(table, filter, &tr)?;
                let mut request = json!({
                    "TableName": table, "Key": key,
                    "ReturnValues": returning_values(*returning),
                });
                if let Some(c) = and_all(&mut tr, &rest)? {
                    if let Some(o) = request.as_object_mut() {
                        o.insert("ConditionExpression".into(), c.into());
                    }
                }
                tr.finish(&mut request);
                Ok(WritePlan {
                    op: "Delete",
                    request,
                })
            }
            Statement::Select(_) => Err(ApiError::validation("not a write statement")),
        }
    }

    async fn run_write(&self, plan: WritePlan, rv_ccf: Option<String>) -> Result<Value, ApiError> {
        let mut request = plan.request;
        if let (Some(r), Some(o)) = (rv_ccf, request.as_object_mut()) {
            o.insert("ReturnValuesOnConditionCheckFailure".into(), r.into());
        }
        let out = match plan.op {
            "Put" => match self.put_item(req(request)?).await {
                Err(ApiError::ConditionalCheckFailed { .. }) => {
                    return Err(ApiError::DuplicateItem(DUPLICATE.into()))
                }
                other => to_json(&other?),
            },
            "Update" => to_json(&self.update_item(req(request)?).await?),
            _ => to_json(&self.delete_item(req(request)?).await?),
        };
        let items: Vec<Value> = out.get("Attributes").cloned().into_iter().collect();
        let mut result = json!({ "Items": items });
        if let (Some(c), Some(o)) = (out.get("ConsumedCapacity"), result.as_object_mut()) {
            o.insert("ConsumedCapacity".into(), c.clone());
        }
        Ok(result)
    }

    /// SELECT: a Query when the partition key is pinned by equality, else a Scan.
    async fn run_select(
        &self,
        sel: &ferrodyn_partiql::Select,
        input: &ExecuteStatementInput,
    ) -> Result<Value, ApiError> {
        let meta = self.table(&sel.table)?;
        let (hash, range) = match &sel.index {
            None => (
                Some(meta.schema.hash.name.clone()),
                meta.schema.range.as_ref().map(|r| r.name.clone()),
            ),
            Some(ix) => {
                let Some(idx) = meta.indexes().into_iter().find(|i| &i.name == ix) else {
                    return Err(ApiError::validation(format!(
                        "The table does not have the specified index: {ix}"
                    )));
                };
                (
                    (idx.hash.len() == 1)
                        .then(|| idx.hash.first().map(|a| a.name.clone()))
                        .flatten(),
                    (idx.range.len() == 1)
                        .then(|| idx.range.first().map(|a| a.name.clone()))
                        .flatten(),
                )
            }
        };
        let mut tr = Tr::new(&input.parameters);
        let parts: Vec<&Expr> = sel.filter.as_ref().map(conjuncts).unwrap_or_default();
        let hash_eq = hash.as_ref().and_then(|h| {
            parts
                .iter()
                .position(|c| equality(c).is_some_and(|(n, _)| n == h))
        });
        let mut request = json!({ "TableName": sel.table });
        let o = request
            .as_object_mut()
            .ok_or_else(|| ApiError::InternalServerError("request".into()))?;
        if let Some(ix) = &sel.index {
            o.insert("IndexName".into(), ix.clone().into());
        }
        if let Some(l) = input.limit {
            o.insert("Limit".into(), l.into());
        }
        if let Some(c) = input.consistent_read {
            o.insert("ConsistentRead".into(), c.into());
        }
        if let Some(r) = &input.return_consumed_capacity {
            o.insert("ReturnConsumedCapacity".into(), r.clone().into());
        }
        if let Some(t) = &input.next_token {
            let key = base64::engine::general_purpose::STANDARD
                .decode(t)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .ok_or_else(|| ApiError::validation("Invalid NextToken"))?;
            o.insert("ExclusiveStartKey".into(), key);
        }
        let query = match hash_eq {
            Some(hi) => {
                let mut key_parts = vec![parts.get(hi).copied()];
                let mut rest: Vec<&Expr> = Vec::new();
                let mut have_sort = false;
                for (i, c) in parts.iter().enumerate() {
                    if i == hi {
                        continue;
                    }
                    match &range {
                        Some(r) if !have_sort && sort_key_condition(c, r) => {
                            have_sort = true;
                            key_parts.push(Some(c));
                        }
                        _ => rest.push(c),
                    }
                }
                let key_parts: Vec<&Expr> = key_parts.into_iter().flatten().collect();
                let kc = and_all(&mut tr, &key_parts)?.unwrap_or_default();
                o.insert("KeyConditionExpression".into(), kc.into());
                if let Some(f) = and_all(&mut tr, &rest)? {
                    o.insert("FilterExpression".into(), f.into());
                }
                if let Some((_, desc)) = &sel.order_by {
                    o.insert("ScanIndexForward".into(), (!desc).into());
                }
                true
            }
            None => {
                if sel.order_by.is_some() {
                    return Err(ApiError::validation(
                        "Must have WHERE clause in the statement when using ORDER BY clause.",
                    ));
                }
                if let Some(f) = and_all(&mut tr, &parts)? {
                    o.insert("FilterExpression".into(), f.into());
                }
                false
            }
        };
        tr.finish(&mut request);
        let out = if query {
            to_json(&self.query(req(request)?).await?)
        } else {
            to_json(&self.scan(req(request)?).await?)
        };
        let items = out
            .get("Items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut result = json!({ "Items": project(items, &sel.projection) });
        if let (Some(r), Some(o)) = (out.get("LastEvaluatedKey"), result.as_object_mut()) {
            o.insert(
                "NextToken".into(),
                base64::engine::general_purpose::STANDARD
                    .encode(r.to_string())
                    .into(),
            );
            o.insert("LastEvaluatedKey".into(), r.clone());
        }
        if let (Some(c), Some(o)) = (out.get("ConsumedCapacity"), result.as_object_mut()) {
            o.insert("ConsumedCapacity".into(), c.clone());
        }
        Ok(result)
    }

    pub async fn execute_statement(&self, input: ExecuteStatementInput) -> Result<Value, ApiError> {
        let mut v = Violations::new();
        match &input.statement {
            None => v.not_null(&input.statement, "statement"),
            Some(s) if s.is_empty() => v.add(
                Some(s),
                "statement",
                "Member must have length greater than or equal to 1",
            ),
            _ => {}
        }
        v.min(input.limit, "limit", 1);
        v.into_result()?;
        let stmt = parse(
            input.statement.as_deref().unwrap_or_default(),
            &input.parameters,
        )?;
        match &stmt {
            Statement::Select(sel) => {
                // A full key and nothing else is a GetItem, as DynamoDB plans it.
                if input.next_token.is_none() {
                    if let Ok(mut request) = self.plan_get(sel, &input.parameters, "") {
                        if let Some(o) = request.as_object_mut() {
                            o.remove("ProjectionExpression");
                            o.remove("ExpressionAttributeNames");
                            if let Some(c) = input.consistent_read {
                                o.insert("ConsistentRead".into(), c.into());
                            }
                            if let Some(c) = &input.return_consumed_capacity {
                                o.insert("ReturnConsumedCapacity".into(), c.clone().into());
                            }
                        }
                        let out = to_json(&self.get_item(req(request)?).await?);
                        let items: Vec<Value> = out.get("Item").cloned().into_iter().collect();
                        let mut result = json!({ "Items": project(items, &sel.projection) });
                        if let (Some(c), Some(o)) =
                            (out.get("ConsumedCapacity"), result.as_object_mut())
                        {
                            o.insert("ConsumedCapacity".into(), c.clone());
                        }
                        return Ok(result);
                    }
                }
                self.run_select(sel, &input).await
            }
            write => {
                let mut plan = self.plan_write(write, &input.parameters)?;
                if let (Some(c), Some(o)) = (
                    &input.return_consumed_capacity,
                    plan.request.as_object_mut(),
                ) {
                    o.insert("ReturnConsumedCapacity".into(), c.clone().into());
                }
                self.run_write(plan, input.return_values_on_condition_check_failure.clone())
                    .await
            }
        }
    }

    /// A SELECT that names a full key, as a GetItem request; `surface` names the
    /// operation in the error DynamoDB gives when it does not.
    fn plan_get(
        &self,
        sel: &ferrodyn_partiql::Select,
        params: &Option<Vec<Value>>,
        surface: &str,
    ) -> Result<Value, ApiError> {
        let tr = Tr::new(params);
        let unkeyed = || {
            ApiError::validation(format!(
                "Select statements within {surface} must specify the primary key in the where clause."
            ))
        };
        let Some(filter) = &sel.filter else {
            return Err(unkeyed());
        };
        let (key, rest) = match self.key_of(&sel.table, filter, &tr) {
            Ok(k) => k,
            Err(ApiError::Validation(_)) => return Err(unkeyed()),
            Err(e) => return Err(e),
        };
        if !rest.is_empty() || sel.index.is_some() || sel.order_by.is_some() {
            return Err(unkeyed());
        }
        let mut request = json!({ "TableName": sel.table, "Key": key });
        if let (Some(paths), Some(o)) = (&sel.projection, request.as_object_mut()) {
            let mut tr = Tr::new(params);
            let p: Vec<String> = paths.iter().map(|p| tr.path(p)).collect();
            o.insert("ProjectionExpression".into(), p.join(", ").into());
            o.insert("ExpressionAttributeNames".into(), Value::Object(tr.names));
        }
        Ok(request)
    }

    pub async fn batch_execute_statement(
        &self,
        input: BatchExecuteStatementInput,
    ) -> Result<Value, ApiError> {
        let mut v = Violations::new();
        match &input.statements {
            None => v.not_null(&input.statements, "statements"),
            Some(s) if s.is_empty() => v.add(
                Some("[]"),
                "statements",
                "Member must have length greater than or equal to 1",
            ),
            Some(s) if s.len() > 25 => v.add_unvalued(
                "statements",
                "Member must have length less than or equal to 25",
            ),
            _ => {}
        }
        v.into_result()?;
        let statements = input.statements.clone().unwrap_or_default();
        let mut parsed_all = Vec::new();
        let mut kinds = Vec::new();
        for s in &statements {
            let parsed = parse(s.statement.as_deref().unwrap_or_default(), &s.parameters);
            if let Ok(st) = &parsed {
                kinds.push(st.is_read());
            }
            parsed_all.push(parsed);
        }
        if kinds.iter().any(|r| *r) && kinds.iter().any(|r| !*r) {
            return Err(ApiError::validation(
                "Unsupported operation: Batch statements must be either all reads or all writes",
            ));
        }
        let mut out = Vec::new();
        let mut capacity: Vec<(String, f64)> = Vec::new();
        let want = input.return_consumed_capacity.clone();
        for (s, parsed) in statements.iter().zip(parsed_all) {
            let result = match parsed {
                Err(e) => Err((e, None)),
                Ok(stmt) => self.batch_one(&stmt, s, &want).await,
            };
            out.push(match result {
                Ok((v, cc)) => {
                    if let Some((t, units)) = cc {
                        match capacity.iter_mut().find(|(n, _)| *n == t) {
                            Some((_, u)) => *u += units,
                            None => capacity.push((t, units)),
                        }
                    }
                    v
                }
                Err((e, ran_on)) => {
                    // A member that reached its table echoes it; one refused before is bare.
                    let mut r =
                        json!({ "Error": { "Code": batch_code(&e), "Message": e.to_string() } });
                    if let (Some(t), Some(o)) = (ran_on, r.as_object_mut()) {
                        o.insert("TableName".into(), t.into());
                    }
                    r
                }
            });
        }
        let mut result = json!({ "Responses": out });
        if matches!(want.as_deref(), Some("TOTAL" | "INDEXES")) {
            if let Some(o) = result.as_object_mut() {
                o.insert(
                    "ConsumedCapacity".into(),
                    capacity
                        .into_iter()
                        .map(|(t, u)| json!({"TableName": t, "CapacityUnits": u}))
                        .collect::<Vec<_>>()
                        .into(),
                );
            }
        }
        Ok(result)
    }

    /// One member of a batch: its response and consumed capacity, or its error and the
    /// table it ran on (None if it was refused before running).
    async fn batch_one(
        &self,
        stmt: &Statement,
        s: &BatchStatementRequest,
        capacity: &Option<String>,
    ) -> Result<(Value, Option<(String, f64)>), (ApiError, Option<String>)> {
        let table = stmt.table().to_owned();
        let units = |out: &Value| {
            out.pointer("/ConsumedCapacity/CapacityUnits")
                .and_then(Value::as_f64)
                .map(|u| (table.clone(), u))
        };
        match stmt {
            Statement::Select(sel) => {
                let mut request = self
                    .plan_get(sel, &s.parameters, "BatchExecuteStatement")
                    .map_err(|e| (e, None))?;
                if let Some(o) = request.as_object_mut() {
                    if let Some(c) = s.consistent_read {
                        o.insert("ConsistentRead".into(), c.into());
                    }
                    if let Some(c) = capacity {
                        o.insert("ReturnConsumedCapacity".into(), c.clone().into());
                    }
                }
                let input = req(request).map_err(|e| (e, None))?;
                let out = to_json(
                    &self
                        .get_item(input)
                        .await
                        .map_err(|e| (e, Some(table.clone())))?,
                );
                let mut r = json!({ "TableName": sel.table });
                if let (Some(item), Some(o)) = (out.get("Item"), r.as_object_mut()) {
                    o.insert("Item".into(), item.clone());
                }
                Ok((r, units(&out)))
            }
            write => {
                let mut plan = self
                    .plan_write(write, &s.parameters)
                    .map_err(|e| (e, None))?;
                if let (Some(c), Some(o)) = (capacity, plan.request.as_object_mut()) {
                    o.insert("ReturnConsumedCapacity".into(), c.clone().into());
                }
                // ReturnValuesOnConditionCheckFailure is inert on a batch member (AWS).
                let out = self
                    .run_write(plan, None)
                    .await
                    .map_err(|e| (e, Some(table.clone())))?;
                Ok((json!({ "TableName": write.table() }), units(&out)))
            }
        }
    }

    pub async fn execute_transaction(
        &self,
        input: ExecuteTransactionInput,
    ) -> Result<Value, ApiError> {
        let mut v = Violations::new();
        match &input.transact_statements {
            None => v.not_null(&input.transact_statements, "transactStatements"),
            Some(s) if s.is_empty() => v.add(
                Some("[]"),
                "transactStatements",
                "Member must have length greater than or equal to 1",
            ),
            Some(s) if s.len() > 100 => v.add_unvalued(
                "transactStatements",
                "Member must have length less than or equal to 100",
            ),
            _ => {}
        }
        v.into_result()?;
        let statements = input.transact_statements.clone().unwrap_or_default();
        let mut parsed = Vec::new();
        for s in &statements {
            parsed.push(parse(
                s.statement.as_deref().unwrap_or_default(),
                &s.parameters,
            )?);
        }
        let reads = parsed.iter().filter(|s| s.is_read()).count();
        if reads > 0 && reads < parsed.len() {
            return Err(ApiError::validation(
                "Unsupported operation: A transaction must contain either only reads or only writes",
            ));
        }
        if reads > 0 {
            let mut items = Vec::new();
            for (stmt, s) in parsed.iter().zip(&statements) {
                let Statement::Select(sel) = stmt else {
                    continue;
                };
                let i = items.len();
                let get = self
                    .plan_get(sel, &s.parameters, "ExecuteTransaction")
                    .map_err(|e| match e {
                        ApiError::Validation(m) => ApiError::validation(format!(
                            "Validation failed in TransactStatements[{i}]: {m}"
                        )),
                        other => other,
                    })?;
                items.push(json!({ "Get": get }));
            }
            let mut request = json!({ "TransactItems": items });
            if let (Some(r), Some(o)) = (&input.return_consumed_capacity, request.as_object_mut()) {
                o.insert("ReturnConsumedCapacity".into(), r.clone().into());
            }
            let out = to_json(&self.transact_get_items(req(request)?).await?);
            let mut result =
                json!({ "Responses": out.get("Responses").cloned().unwrap_or(json!([])) });
            if let (Some(c), Some(o)) = (out.get("ConsumedCapacity"), result.as_object_mut()) {
                o.insert("ConsumedCapacity".into(), c.clone());
            }
            return Ok(result);
        }
        let mut items = Vec::new();
        let mut inserts = Vec::new();
        for (stmt, s) in parsed.iter().zip(&statements) {
            let plan = self.plan_write(stmt, &s.parameters)?;
            inserts.push(plan.op == "Put");
            let mut body = plan.request;
            if let Some(o) = body.as_object_mut() {
                o.remove("ReturnValues");
                if let Some(r) = &s.return_values_on_condition_check_failure {
                    o.insert(
                        "ReturnValuesOnConditionCheckFailure".into(),
                        r.clone().into(),
                    );
                }
            }
            items.push(json!({ plan.op: body }));
        }
        let mut request = json!({ "TransactItems": items });
        if let Some(o) = request.as_object_mut() {
            if let Some(t) = &input.client_request_token {
                o.insert("ClientRequestToken".into(), t.clone().into());
            }
            if let Some(r) = &input.return_consumed_capacity {
                o.insert("ReturnConsumedCapacity".into(), r.clone().into());
            }
        }
        match self.transact_write_items(req(request)?).await {
            Ok(out) => {
                let out = to_json(&out);
                let mut result = json!({});
                if let (Some(c), Some(o)) = (out.get("ConsumedCapacity"), result.as_object_mut()) {
                    o.insert("ConsumedCapacity".into(), c.clone());
                }
                Ok(result)
            }
            // An INSERT whose key exists is a DuplicateItem reason, not a failed condition.
            Err(ApiError::TransactionCanceled { reasons, .. }) => {
                let reasons: Vec<CancellationReason> = reasons
                    .into_iter()
                    .zip(&inserts)
                    .map(|(r, insert)| {
                        if *insert && r.code == "ConditionalCheckFailed" {
                            CancellationReason {
                                code: "DuplicateItem".into(),
                                message: Some(DUPLICATE.into()),
                                item: None,
                            }
                        } else {
                            r
                        }
                    })
                    .collect();
                Err(ApiError::transaction_canceled(reasons))
            }
            Err(e) => Err(e),
        }
    }
}

/// The error code BatchExecuteStatement reports per statement.
fn batch_code(e: &ApiError) -> &'static str {
    match e {
        ApiError::ResourceNotFound(_) => "ResourceNotFound",
        ApiError::ConditionalCheckFailed { .. } => "ConditionalCheckFailed",
        ApiError::DuplicateItem(_) => "DuplicateItem",
        ApiError::Validation(_) | ApiError::Serialization(_) => "ValidationError",
        ApiError::TransactionConflict(_) => "TransactionConflict",
        ApiError::ItemCollectionSizeLimitExceeded(_) => "ItemCollectionSizeLimitExceeded",
        ApiError::RequestTooLarge(_) => "RequestLimitExceeded",
        _ => "InternalServerError",
    }
}
