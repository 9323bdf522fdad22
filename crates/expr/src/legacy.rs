//! The legacy conditional parameters (Expected, KeyConditions, QueryFilter, ScanFilter,
//! AttributesToGet) expressed as the same trees the expression parser builds, so one
//! evaluator serves both.

use ferrodyn_types::{AttributeValue, KeySchema};

use crate::ast::*;
use crate::keycond::{key_condition, KeyCondition};
use crate::ExprError;

/// The comparison operators, as DynamoDB lists them in its enum constraint message.
pub const OPERATORS: &[&str] = &[
    "IN",
    "NULL",
    "BETWEEN",
    "LT",
    "NOT_CONTAINS",
    "EQ",
    "GT",
    "NOT_NULL",
    "NE",
    "LE",
    "BEGINS_WITH",
    "GE",
    "CONTAINS",
];

/// One legacy condition entry, borrowed from the request.
#[derive(Clone, Copy, Debug, Default)]
pub struct Legacy<'a> {
    pub op: Option<&'a str>,
    pub list: Option<&'a [AttributeValue]>,
    pub value: Option<&'a AttributeValue>,
    pub exists: Option<bool>,
}

fn invalid(msg: impl std::fmt::Display) -> ExprError {
    ExprError(format!("One or more parameter values were invalid: {msg}"))
}

fn arg_count(op: &str) -> ExprError {
    invalid(format!(
        "Invalid number of argument(s) for the {op} ComparisonOperator"
    ))
}

fn not_valid_for(op: &str, v: &AttributeValue) -> ExprError {
    invalid(format!(
        "ComparisonOperator {op} is not valid for {} AttributeValue type",
        v.type_name()
    ))
}

/// A `ComparisonOperator` with its `AttributeValueList` as a condition on `name`.
pub fn comparison(name: &str, op: &str, list: &[AttributeValue]) -> Result<Cond, ExprError> {
    let path = || Operand::Path(Path::attr(name));
    let val = |v: &AttributeValue| Operand::Value(v.clone());
    let one = || match list {
        [v] => Ok(v),
        _ => Err(arg_count(op)),
    };
    let scalar = |v: &AttributeValue| {
        if v.scalar_type().is_some() {
            Ok(())
        } else {
            Err(not_valid_for(op, v))
        }
    };
    let cmp = |c: CmpOp| -> Result<Cond, ExprError> {
        let v = one()?;
        if c != CmpOp::Eq && c != CmpOp::Ne {
            scalar(v)?;
        }
        Ok(Cond::Cmp(c, path(), val(v)))
    };
    match op {
        "EQ" => cmp(CmpOp::Eq),
        "NE" => cmp(CmpOp::Ne),
        "LT" => cmp(CmpOp::Lt),
        "LE" => cmp(CmpOp::Le),
        "GT" => cmp(CmpOp::Gt),
        "GE" => cmp(CmpOp::Ge),
        "NULL" | "NOT_NULL" => {
            if !list.is_empty() {
                return Err(arg_count(op));
            }
            Ok(if op == "NULL" {
                Cond::NotExists(Path::attr(name))
            } else {
                Cond::Exists(Path::attr(name))
            })
        }
        "CONTAINS" | "NOT_CONTAINS" => {
            let v = one()?;
            if !matches!(
                v,
                AttributeValue::S(_)
                    | AttributeValue::N(_)
                    | AttributeValue::B(_)
                    | AttributeValue::Bool(_)
                    | AttributeValue::Null
            ) {
                return Err(not_valid_for(op, v));
            }
            let c = Cond::Contains(path(), val(v));
            Ok(if op == "CONTAINS" {
                c
            } else {
                Cond::And(
                    Box::new(Cond::Exists(Path::attr(name))),
                    Box::new(Cond::Not(Box::new(c))),
                )
            })
        }
        "BEGINS_WITH" => {
            let v = one()?;
            if !matches!(v, AttributeValue::S(_) | AttributeValue::B(_)) {
                return Err(not_valid_for(op, v));
            }
            Ok(Cond::BeginsWith(path(), val(v)))
        }
        "IN" => {
            if list.is_empty() {
                return Err(arg_count(op));
            }
            for v in list {
                scalar(v)?;
            }
            if list
                .iter()
                .any(|v| v.type_name() != list.first().map_or("", |f| f.type_name()))
            {
                return Err(invalid(
                    "AttributeValues inside AttributeValueList must be of same type",
                ));
            }
            Ok(Cond::In(path(), list.iter().map(val).collect()))
        }
        "BETWEEN" => {
            let [lo, hi] = list else {
                return Err(arg_count(op));
            };
            scalar(lo)?;
            scalar(hi)?;
            if lo.type_name() != hi.type_name() {
                return Err(invalid(
                    "AttributeValues inside AttributeValueList must be of same type",
                ));
            }
            if crate::eval::compare(lo, hi) == Some(std::cmp::Ordering::Greater) {
                return Err(ExprError(
                    "The BETWEEN condition was provided a range where the lower bound is greater than the upper bound"
                        .into(),
                ));
            }
            Ok(Cond::Between(path(), val(lo), val(hi)))
        }
        _ => Err(ExprError(
            "Comparison type does not exist in DynamoDB".into(),
        )),
    }
}

fn combine(
    conds: Vec<Cond>,
    conditional_operator: Option<&str>,
) -> Result<Option<Cond>, ExprError> {
    if conditional_operator.is_some() && conds.len() < 2 {
        return Err(ExprError(
            "ConditionalOperator can only be used when Filter or Expected has two or more elements"
                .into(),
        ));
    }
    let or = conditional_operator == Some("OR");
    Ok(conds.into_iter().reduce(|a, b| {
        if or {
            Cond::Or(Box::new(a), Box::new(b))
        } else {
            Cond::And(Box::new(a), Box::new(b))
        }
    }))
}

/// `Expected` with `ConditionalOperator`, as a condition (None when empty).
pub fn expected(
    entries: &[(&str, Legacy<'_>)],
    conditional_operator: Option<&str>,
) -> Result<Option<Cond>, ExprError> {
    let mut conds = Vec::new();
    for (name, e) in entries {
        if e.value.is_some() && e.list.is_some() {
            return Err(invalid(format!(
                "Value and AttributeValueList cannot be used together for Attribute: {name}"
            )));
        }
        let c = match (e.op, e.exists) {
            (Some(_), Some(_)) => {
                return Err(invalid(format!(
                    "Exists and ComparisonOperator cannot be used together for Attribute: {name}"
                )))
            }
            (Some(op), None) => {
                let list: &[AttributeValue] = match (e.value, e.list) {
                    (Some(v), _) => std::slice::from_ref(v),
                    (None, Some(l)) => l,
                    (None, None) if matches!(op, "NULL" | "NOT_NULL") => &[],
                    (None, None) => {
                        return Err(invalid(format!(
                            "Value or AttributeValueList must be used with ComparisonOperator: {op} for Attribute: {name}"
                        )))
                    }
                };
                comparison(name, op, list)?
            }
            (None, _) if e.list.is_some() => {
                return Err(invalid(format!(
                    "AttributeValueList can only be used with a ComparisonOperator for Attribute: {name}"
                )))
            }
            (None, Some(false)) if e.value.is_some() => {
                return Err(invalid(format!(
                    "Value cannot be used when Exists is false for Attribute: {name}"
                )))
            }
            (None, Some(false)) => Cond::NotExists(Path::attr(*name)),
            (None, exists) => match e.value {
                Some(v) => Cond::Cmp(
                    CmpOp::Eq,
                    Operand::Path(Path::attr(*name)),
                    Operand::Value(v.clone()),
                ),
                None => {
                    return Err(invalid(format!(
                        "Value must be provided when Exists is {} for Attribute: {name}",
                        if exists.is_some() { "true" } else { "null" }
                    )))
                }
            },
        };
        conds.push(c);
    }
    combine(conds, conditional_operator)
}

/// `QueryFilter` / `ScanFilter` with `ConditionalOperator` (None when empty).
pub fn filter(
    entries: &[(&str, Legacy<'_>)],
    conditional_operator: Option<&str>,
) -> Result<Option<Cond>, ExprError> {
    let mut conds = Vec::new();
    for (name, e) in entries {
        let Some(op) = e.op else {
            return Err(ExprError(
                "Comparison type does not exist in DynamoDB".into(),
            ));
        };
        conds.push(comparison(name, op, e.list.unwrap_or_default())?);
    }
    combine(conds, conditional_operator)
}

/// The checks of `KeyConditions` that need no table: each entry's operator arguments, and
/// one or two conditions in all.
pub fn key_conditions_static(entries: &[(&str, Legacy<'_>)]) -> Result<(), ExprError> {
    for (name, e) in entries {
        comparison(name, e.op.unwrap_or("EQ"), e.list.unwrap_or_default())?;
    }
    if entries.is_empty() || entries.len() > 8 {
        return Err(ExprError("Conditions can be of length 1 or 2 only".into()));
    }
    Ok(())
}

/// `KeyConditions` reduced against a key schema (after [`key_conditions_static`]): the key
/// attributes must be covered, then the operators must be ones a key range can serve.
pub fn key_conditions(
    entries: &[(&str, Legacy<'_>)],
    schema: &KeySchema,
) -> Result<KeyCondition, ExprError> {
    key_conditions_static(entries)?;
    if entries.len() > 2 {
        return Err(ExprError("Conditions can be of length 1 or 2 only".into()));
    }
    let missed =
        |name: &str| ExprError(format!("Query condition missed key schema element: {name}"));
    if !entries.iter().any(|(n, _)| *n == schema.hash.name) {
        return Err(missed(&schema.hash.name));
    }
    if entries.len() == 2 {
        match &schema.range {
            Some(r) if entries.iter().any(|(n, _)| *n == r.name) => {}
            Some(r) => return Err(missed(&r.name)),
            None => return Err(ExprError("Query key condition not supported".into())),
        }
    }
    let mut conds = Vec::new();
    for (name, e) in entries {
        let op = e.op.unwrap_or("EQ");
        if !matches!(
            op,
            "EQ" | "LE" | "LT" | "GE" | "GT" | "BEGINS_WITH" | "BETWEEN"
        ) {
            return Err(ExprError(
                "Attempted conditional constraint is not an indexable operation".into(),
            ));
        }
        conds.push(comparison(name, op, e.list.unwrap_or_default())?);
    }
    let Some(c) = combine(conds, None)? else {
        return Err(ExprError("Conditions can be of length 1 or 2 only".into()));
    };
    key_condition(&c, schema).map_err(|e| {
        // The expression wording names the expression parameter; legacy callers see the
        // parameter-neutral form.
        ExprError(e.0.replace("KeyConditionExpressions", "KeyConditions"))
    })
}

/// `AttributesToGet` as projection paths.
pub fn attributes_to_get(names: &[String]) -> Vec<Path> {
    names.iter().map(|n| Path::attr(n.as_str())).collect()
}
