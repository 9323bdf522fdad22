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

/// The key attribute an operand names: a single top-level attribute.
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

/// One conjunct as (attribute name, condition on it).
fn conjunct(c: &Cond) -> Result<(&str, RangeCond), ExprError> {
    let unsupported = || err("Query key condition not supported");
    match c {
        Cond::Cmp(op, a, b) => match (key_name(a)?, key_name(b)?, a, b) {
            (Some(n), None, _, Operand::Value(v)) => Ok((n, RangeCond::Cmp(*op, v.clone()))),
            (None, Some(n), Operand::Value(v), _) => Ok((n, RangeCond::Cmp(flip(*op), v.clone()))),
            _ => Err(unsupported()),
        },
        Cond::Between(x, lo, hi) => match (key_name(x)?, lo, hi) {
            (Some(n), Operand::Value(lo), Operand::Value(hi)) => {
                Ok((n, RangeCond::Between(lo.clone(), hi.clone())))
            }
            _ => Err(unsupported()),
        },
        Cond::BeginsWith(x, p) => match (key_name(x)?, p) {
            (Some(n), Operand::Value(p)) => Ok((n, RangeCond::BeginsWith(p.clone()))),
            _ => Err(unsupported()),
        },
        _ => Err(unsupported()),
    }
}

/// Reduce `cond` against the table's (or index's) key schema.
pub fn key_condition(cond: &Cond, schema: &KeySchema) -> Result<KeyCondition, ExprError> {
    let mut parts = Vec::new();
    conjuncts(cond, &mut parts)?;
    let parts = parts
        .into_iter()
        .map(conjunct)
        .collect::<Result<Vec<_>, _>>()?;
    for (i, (a, _)) in parts.iter().enumerate() {
        if parts.iter().skip(i + 1).any(|(b, _)| a == b) {
            return Err(err(
                "KeyConditionExpressions must only contain one condition per key",
            ));
        }
    }
    if parts.len() > 2 {
        return Err(err("Conditions can be of length 1 or 2 only"));
    }
    // DynamoDB names the first key attribute the condition does not cover.
    let missed = |hash_seen: bool| match (&schema.range, hash_seen) {
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
    let parts_hash = parts.iter().any(|(n, _)| *n == schema.hash.name);
    let mut hash: Option<AttributeValue> = None;
    let mut range: Option<RangeCond> = None;
    for (name, rc) in parts {
        if matches!(rc, RangeCond::Cmp(CmpOp::Ne, _)) {
            return Err(err("Invalid operator used in KeyConditionExpression: <>"));
        }
        if name == schema.hash.name {
            match rc {
                RangeCond::Cmp(CmpOp::Eq, v) => {
                    check_type(&v, schema.hash.ty)?;
                    hash = Some(v);
                }
                _ => return Err(err("Query key condition not supported")),
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
            let hash_seen = hash.is_some() || parts_hash;
            return Err(missed(hash_seen));
        }
    }
    let Some(hash) = hash else {
        return Err(missed(false));
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
