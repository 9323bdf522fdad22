//! KeyConditionExpression: from a parsed condition to a partition value and an optional
//! sort-key range, with DynamoDB's checks.

use ferrodyn_types::{AttributeValue, KeySchema};

use crate::ast::*;
use crate::ExprError;

/// The condition on the sort key.
#[derive(Clone, Debug, PartialEq)]
pub enum RangeCond {
    Cmp(CmpOp, AttributeValue),
    Between(AttributeValue, AttributeValue),
    BeginsWith(AttributeValue),
}

/// A key condition reduced to what a range scan needs.
#[derive(Clone, Debug, PartialEq)]
pub struct KeyCondition {
    pub hash: AttributeValue,
    pub range: Option<RangeCond>,
}

fn err(m: impl Into<String>) -> ExprError {
    ExprError(m.into())
}

fn flip(op: CmpOp) -> CmpOp {
    match op {
        CmpOp::Lt => CmpOp::Gt,
        CmpOp::Le => CmpOp::Ge,
        CmpOp::Gt => CmpOp::Lt,
        CmpOp::Ge => CmpOp::Le,
        o => o,
    }
}

fn conjuncts<'a>(c: &'a Cond, out: &mut Vec<&'a Cond>) -> Result<(), ExprError> {
    match c {
        Cond::And(a, b) => {
            conjuncts(a, out)?;
            conjuncts(b, out)
        }
        Cond::Or(..) => Err(err("Invalid operator used in KeyConditionExpression: OR")),
        Cond::Not(..) => Err(err("Invalid operator used in KeyConditionExpression: NOT")),
        Cond::In(..) => Err(err("Invalid operator used in KeyConditionExpression: IN")),
        Cond::Exists(..) => Err(err(
            "Invalid operator used in KeyConditionExpression: attribute_exists",
        )),
        Cond::NotExists(..) => Err(err(
            "Invalid operator used in KeyConditionExpression: attribute_not_exists",
        )),
        Cond::Type(..) => Err(err(
            "Invalid operator used in KeyConditionExpression: attribute_type",
        )),
        Cond::Contains(..) => Err(err(
            "Invalid operator used in KeyConditionExpression: contains",
        )),
        _ => {
            out.push(c);
            Ok(())
        }
    }
}

fn invalid_condition(what: &str) -> ExprError {
    err(format!(
        "Invalid condition in KeyConditionExpression: {what}"
    ))
}

/// The attribute an operand names, checking DynamoDB's shape rules.
fn key_name(o: &Operand) -> Result<Option<&str>, ExprError> {
    match o {
        Operand::Path(p) if p.0.len() == 1 => Ok(Some(p.root())),
        Operand::Path(_) => Err(err(
            "KeyConditionExpressions cannot have conditions on nested attributes",
        )),
        Operand::Size(_) => Err(err(
            "KeyConditionExpressions cannot contain nested operations",
        )),
        Operand::Value(_) => Ok(None),
    }
}

fn is_attr(o: &Operand) -> bool {
    matches!(o, Operand::Path(_) | Operand::Size(_))
}

fn value(o: &Operand) -> AttributeValue {
    match o {
        Operand::Value(v) => v.clone(),
        _ => AttributeValue::Null,
    }
}

/// One conjunct as (attribute name, condition on it). How many operands name attributes
/// is checked before what those names look like, as DynamoDB does.
fn conjunct(c: &Cond) -> Result<(&str, RangeCond), ExprError> {
    let multiple = || invalid_condition("Multiple attribute names used in one condition");
    let none = || invalid_condition("No key attribute specified");
    let name = |o| key_name(o).map(Option::unwrap_or_default);
    match c {
        Cond::Cmp(CmpOp::Ne, ..) => Err(err("Invalid operator used in KeyConditionExpression: <>")),
        Cond::Cmp(op, a, b) => match (is_attr(a), is_attr(b)) {
            (true, true) => Err(multiple()),
            (false, false) => Err(none()),
            (true, false) => Ok((name(a)?, RangeCond::Cmp(*op, value(b)))),
            (false, true) => Ok((name(b)?, RangeCond::Cmp(flip(*op), value(a)))),
        },
        Cond::Between(x, lo, hi) => {
            let others = usize::from(is_attr(lo)) + usize::from(is_attr(hi));
            match (is_attr(x), others) {
                (false, 0) => Err(none()),
                (false, _) => Err(invalid_condition(
                    "BETWEEN operator must have the key attribute as its first operand",
                )),
                (true, 0) => Ok((name(x)?, RangeCond::Between(value(lo), value(hi)))),
                (true, _) => Err(multiple()),
            }
        }
        Cond::BeginsWith(x, p) => match (is_attr(x), is_attr(p)) {
            (true, true) => Err(multiple()),
            (false, false) => Err(none()),
            (false, true) => Err(invalid_condition(
                "begins_with operator must have the key attribute as its first operand",
            )),
            (true, false) => Ok((name(x)?, RangeCond::BeginsWith(value(p)))),
        },
        _ => Err(err("Query key condition not supported")),
    }
}

/// The checks DynamoDB makes on a key condition before it knows the table: the operators
/// used, one simple condition per attribute, at most two conditions.
pub fn key_condition_parts(cond: &Cond) -> Result<Vec<(String, RangeCond)>, ExprError> {
    let mut parts = Vec::new();
    conjuncts(cond, &mut parts)?;
    let parts = parts
        .into_iter()
        .map(|c| conjunct(c).map(|(n, r)| (n.to_owned(), r)))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, (a, _)) in parts.iter().enumerate() {
        if parts.iter().skip(i + 1).any(|(b, _)| a == b) {
            return Err(err(
                "KeyConditionExpressions must only contain one condition per key",
            ));
        }
    }
    Ok(parts)
}

/// Reduce `cond` against the table's (or index's) key schema.
pub fn key_condition(cond: &Cond, schema: &KeySchema) -> Result<KeyCondition, ExprError> {
    key_condition_for(key_condition_parts(cond)?, schema)
}

/// Match checked key-condition parts to a key schema.
pub fn key_condition_for(
    parts: Vec<(String, RangeCond)>,
    schema: &KeySchema,
) -> Result<KeyCondition, ExprError> {
    let has_hash = parts.iter().any(|(n, _)| *n == schema.hash.name);
    // DynamoDB names the first key attribute the condition does not cover.
    let missed = || match (&schema.range, has_hash) {
        (_, false) => err(format!(
            "Query condition missed key schema element: {}",
            schema.hash.name
        )),
        (Some(r), true) => err(format!(
            "Query condition missed key schema element: {}",
            r.name
        )),
        (None, true) => err("Query key condition not supported"),
    };
    if parts.len() > 2 {
        return Err(err("Conditions can be of length 1 or 2 only"));
    }
    if schema.range.is_none() && parts.len() > 1 {
        return Err(err("Query key condition not supported"));
    }
    let mut hash: Option<AttributeValue> = None;
    let mut range: Option<RangeCond> = None;
    for (name, rc) in parts {
        if name == schema.hash.name {
            match rc {
                RangeCond::Cmp(CmpOp::Eq, v) => {
                    check_type(&v, schema.hash.ty)?;
                    hash = Some(v);
                }
                RangeCond::Cmp(_, v) | RangeCond::BeginsWith(v) => {
                    check_type(&v, schema.hash.ty)?;
                    return Err(err("Query key condition not supported"));
                }
                RangeCond::Between(..) => return Err(err("Query key condition not supported")),
            }
        } else if let Some(r) = schema.range.as_ref().filter(|r| r.name == name) {
            match &rc {
                RangeCond::Cmp(_, v) | RangeCond::BeginsWith(v) => check_type(v, r.ty)?,
                RangeCond::Between(a, b) => {
                    check_type(a, r.ty)?;
                    check_type(b, r.ty)?;
                }
            }
            range = Some(rc);
        } else {
            return Err(missed());
        }
    }
    let Some(hash) = hash else {
        return Err(missed());
    };
    Ok(KeyCondition { hash, range })
}

fn check_type(v: &AttributeValue, ty: ferrodyn_types::ScalarType) -> Result<(), ExprError> {
    if v.scalar_type() == Some(ty) {
        Ok(())
    } else {
        Err(err(
            "One or more parameter values were invalid: Condition parameter type does not match schema type",
        ))
    }
}

/// A key condition on an index with several partition or sort attributes: every partition
/// value, equalities on a left-to-right run of sort attributes, and an optional condition
/// on the sort attribute after them.
#[derive(Clone, Debug, PartialEq)]
pub struct MultiKeyCondition {
    pub hash: Vec<AttributeValue>,
    pub range_eq: Vec<AttributeValue>,
    pub last: Option<RangeCond>,
}

/// Match checked key-condition parts to a multi-attribute key, with DynamoDB's messages.
pub fn key_condition_multi(
    parts: Vec<(String, RangeCond)>,
    hash: &[ferrodyn_types::KeyAttr],
    range: &[ferrodyn_types::KeyAttr],
) -> Result<MultiKeyCondition, ExprError> {
    let total = hash.len() + range.len();
    if parts.len() > total {
        return Err(err(format!(
            "The number of query conditions ({}) exceeds the number of key attributes defined in the schema ({total})",
            parts.len()
        )));
    }
    let find = |name: &str| parts.iter().find(|(n, _)| n == name).map(|(_, c)| c);
    let missing: Vec<&str> = hash
        .iter()
        .filter(|a| !matches!(find(&a.name), Some(RangeCond::Cmp(CmpOp::Eq, _))))
        .map(|a| a.name.as_str())
        .collect();
    if !missing.is_empty() {
        return Err(err(format!(
            "HASH key attributes {} must have equality conditions specified in the query",
            missing.join(", ")
        )));
    }
    for (name, c) in &parts {
        let Some(attr) = hash.iter().chain(range).find(|a| a.name == *name) else {
            continue;
        };
        match c {
            RangeCond::Cmp(_, v) | RangeCond::BeginsWith(v) => check_type(v, attr.ty)?,
            RangeCond::Between(a, b) => {
                check_type(a, attr.ty)?;
                check_type(b, attr.ty)?;
            }
        }
    }
    if parts
        .iter()
        .any(|(n, _)| !hash.iter().chain(range).any(|a| a.name == *n))
    {
        let first_free = range
            .iter()
            .find(|a| find(&a.name).is_none())
            .map_or("", |a| a.name.as_str());
        return Err(err(format!(
            "Query condition missed key schema element: {first_free}"
        )));
    }
    let hash_values: Vec<AttributeValue> = hash
        .iter()
        .filter_map(|a| match find(&a.name) {
            Some(RangeCond::Cmp(CmpOp::Eq, v)) => Some(v.clone()),
            _ => None,
        })
        .collect();
    let Some(last_pos) = range.iter().rposition(|a| find(&a.name).is_some()) else {
        return Ok(MultiKeyCondition {
            hash: hash_values,
            range_eq: Vec::new(),
            last: None,
        });
    };
    let bad: Vec<&str> = range
        .iter()
        .take(last_pos)
        .filter(|a| !matches!(find(&a.name), Some(RangeCond::Cmp(CmpOp::Eq, _))))
        .map(|a| a.name.as_str())
        .collect();
    if !bad.is_empty() {
        return Err(err(format!(
            "RANGE key attributes {} must have equality conditions specified in the query because a condition is present on key attribute {}",
            bad.join(", "),
            range.get(last_pos).map_or("", |a| a.name.as_str())
        )));
    }
    let range_eq = range
        .iter()
        .take(last_pos)
        .filter_map(|a| match find(&a.name) {
            Some(RangeCond::Cmp(CmpOp::Eq, v)) => Some(v.clone()),
            _ => None,
        })
        .collect();
    let last = range.get(last_pos).and_then(|a| find(&a.name)).cloned();
    Ok(MultiKeyCondition {
        hash: hash_values,
        range_eq,
        last,
    })
}
