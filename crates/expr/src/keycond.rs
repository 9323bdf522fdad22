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

/// A single top-level attribute name, if the operand is one.
fn key_name(o: &Operand) -> Option<&str> {
    match o {
        Operand::Path(p) if p.0.len() == 1 => Some(p.root()),
        _ => None,
    }
}

/// Reduce `cond` against the table's (or index's) key schema.
pub fn key_condition(cond: &Cond, schema: &KeySchema) -> Result<KeyCondition, ExprError> {
    let mut parts = Vec::new();
    conjuncts(cond, &mut parts)?;
    if parts.len() > 2 {
        return Err(err(
            "KeyConditionExpressions must only contain one condition per key",
        ));
    }
    let unsupported = || err("Query key condition not supported");
    let mut hash: Option<AttributeValue> = None;
    let mut range: Option<RangeCond> = None;
    for c in parts {
        let (name, rc) = match c {
            Cond::Cmp(op, a, b) => match (a, b) {
                (a, Operand::Value(v)) if key_name(a).is_some() => (
                    key_name(a).unwrap_or_default(),
                    RangeCond::Cmp(*op, v.clone()),
                ),
                (Operand::Value(v), b) if key_name(b).is_some() => (
                    key_name(b).unwrap_or_default(),
                    RangeCond::Cmp(flip(*op), v.clone()),
                ),
                _ => return Err(unsupported()),
            },
            Cond::Between(x, Operand::Value(lo), Operand::Value(hi)) => match key_name(x) {
                Some(n) => (n, RangeCond::Between(lo.clone(), hi.clone())),
                None => return Err(unsupported()),
            },
            Cond::BeginsWith(x, Operand::Value(p)) => match key_name(x) {
                Some(n) => (n, RangeCond::BeginsWith(p.clone())),
                None => return Err(unsupported()),
            },
            _ => return Err(unsupported()),
        };
        if matches!(rc, RangeCond::Cmp(CmpOp::Ne, _)) {
            return Err(unsupported());
        }
        if name == schema.hash.name {
            if hash.is_some() {
                return Err(err(
                    "KeyConditionExpressions must only contain one condition per key",
                ));
            }
            match rc {
                RangeCond::Cmp(CmpOp::Eq, v) => {
                    check_type(&v, schema.hash.ty)?;
                    hash = Some(v);
                }
                _ => return Err(unsupported()),
            }
        } else if schema.range.as_ref().is_some_and(|r| r.name == name) {
            if range.is_some() {
                return Err(err(
                    "KeyConditionExpressions must only contain one condition per key",
                ));
            }
            let ty = schema.range.as_ref().map(|r| r.ty);
            if let Some(ty) = ty {
                match &rc {
                    RangeCond::Cmp(_, v) => check_type(v, ty)?,
                    RangeCond::Between(a, b) => {
                        check_type(a, ty)?;
                        check_type(b, ty)?;
                    }
                    RangeCond::BeginsWith(v) => {
                        if ty == ferrodyn_types::ScalarType::N {
                            return Err(err(format!(
                                "Invalid KeyConditionExpression: Incorrect operand type for operator or function; operator or function: begins_with, operand type: {}",
                                v.type_name()
                            )));
                        }
                        check_type(v, ty)?;
                    }
                }
            }
            range = Some(rc);
        } else {
            return Err(err(format!(
                "Query condition missed key schema element: {}",
                match hash {
                    None => schema.hash.name.as_str(),
                    Some(_) => schema.range.as_ref().map_or(name, |r| r.name.as_str()),
                }
            )));
        }
    }
    let Some(hash) = hash else {
        return Err(err(format!(
            "Query condition missed key schema element: {}",
            schema.hash.name
        )));
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
