//! The request-level rules shared by every operation that takes expressions: legacy and
//! expression parameters may not be mixed, placeholder maps need an expression and may not
//! be empty, their keys and values must be valid, and every placeholder must be used by
//! some expression of the request.

use std::collections::HashMap;

use ferrodyn_expr::legacy::Legacy as LegacyRef;
use ferrodyn_expr::{Cond, ExprCache, ExprError, Operand, Path, Resolver, SetValue, Update};
use ferrodyn_protocol::model::{Legacy, RawValues};
use ferrodyn_protocol::{ApiError, Violations};
use ferrodyn_types::value::VALIDATION_MARKER;
use ferrodyn_types::{AttributeValue, Item, KeySchema};

/// Longest `#name` / `:value` key DynamoDB accepts.
const MAX_PLACEHOLDER: usize = 255;

pub(crate) fn expr_error(e: ExprError) -> ApiError {
    ApiError::Validation(e.0)
}

/// One expression parameter of a request: its name and whether it is present.
pub(crate) type Present<'a> = (&'a str, bool);

/// The placeholder maps of a request, checked and decoded.
pub(crate) struct Placeholders {
    pub values: Option<Item>,
    value_order: Vec<String>,
}

impl Placeholders {
    /// A resolver over these maps, through the process-wide cache of parsed expressions.
    pub fn resolver<'a>(&'a self, names: Option<&'a HashMap<String, String>>) -> Resolver<'a> {
        let mut name_order: Vec<String> = names
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        name_order.sort();
        Resolver::new(names, self.values.as_ref())
            .with_order(name_order, self.value_order.clone())
            .with_cache(ExprCache::global())
    }
}

/// Check the parameter combinations and the placeholder maps, in DynamoDB's order.
///
/// `exprs` are the expression parameters of the operation, `legacy` its non-expression
/// counterparts, both in DynamoDB's order for the "Can not use both" message;
/// `value_exprs` names the expressions that may use values (for the "can only be
/// specified when using expressions" message).
pub(crate) fn prepare(
    names: Option<&HashMap<String, String>>,
    values: Option<&RawValues>,
    exprs: &[Present<'_>],
    legacy: &[Present<'_>],
    value_exprs: &[&str],
) -> Result<Placeholders, ApiError> {
    let used_legacy: Vec<&str> = legacy.iter().filter(|p| p.1).map(|p| p.0).collect();
    let used_exprs: Vec<&str> = exprs.iter().filter(|p| p.1).map(|p| p.0).collect();
    if !used_legacy.is_empty() && !used_exprs.is_empty() {
        return Err(ApiError::validation(format!(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
            used_legacy.join(", "),
            used_exprs.join(", ")
        )));
    }
    if names.is_some() && used_exprs.is_empty() {
        return Err(ApiError::validation(
            "ExpressionAttributeNames can only be specified when using expressions",
        ));
    }
    if values.is_some() && !value_exprs.iter().any(|e| used_exprs.contains(e)) {
        let verb = if value_exprs.len() > 1 { "are" } else { "is" };
        return Err(ApiError::validation(format!(
            "ExpressionAttributeValues can only be specified when using expressions: {} {verb} null",
            value_exprs.join(" and ")
        )));
    }
    if let Some(names) = names {
        if names.is_empty() {
            return Err(ApiError::validation(
                "ExpressionAttributeNames must not be empty",
            ));
        }
        let mut keys: Vec<&String> = names.keys().collect();
        keys.sort();
        for k in keys {
            if k.len() > MAX_PLACEHOLDER {
                return Err(ApiError::validation(format!(
                    "ExpressionAttributeNames contains invalid key: The expression attribute map contains a key that is too long; size of key: {}",
                    k.len()
                )));
            }
            if !valid_placeholder(k, '#') {
                return Err(ApiError::validation(format!(
                    "ExpressionAttributeNames contains invalid key: Syntax error; key: \"{k}\""
                )));
            }
            let v = names.get(k).map_or("", String::as_str);
            if v.is_empty() {
                return Err(ApiError::validation(format!(
                    "ExpressionAttributeNames contains invalid value: Empty attribute name for key {k}"
                )));
            }
            if v.len() >= 65536 {
                return Err(ApiError::validation(format!(
                    "ExpressionAttributeNames contains invalid value: Attribute name is too large, must be less than 65536 bytes for key {k}"
                )));
            }
        }
    }
    let Some(RawValues(raw)) = values else {
        return Ok(Placeholders {
            values: None,
            value_order: Vec::new(),
        });
    };
    if raw.is_empty() {
        return Err(ApiError::validation(
            "ExpressionAttributeValues must not be empty",
        ));
    }
    for (k, _) in raw {
        if k.len() > MAX_PLACEHOLDER {
            return Err(ApiError::validation(
                "ExpressionAttributeValues contains invalid key: The expression attribute map contains a key that is too long;",
            ));
        }
        if !valid_placeholder(k, ':') {
            return Err(ApiError::validation(format!(
                "ExpressionAttributeValues contains invalid key: Syntax error; key: \"{k}\""
            )));
        }
    }
    let mut item = Item::new();
    for (k, v) in raw {
        let value = serde_json::from_value::<AttributeValue>(v.clone()).map_err(|e| {
            let text = e.to_string();
            match text.find(VALIDATION_MARKER) {
                Some(i) => {
                    let msg = text.get(i + VALIDATION_MARKER.len()..).unwrap_or("");
                    let msg = if msg
                        .starts_with("The parameter cannot be converted to a numeric value")
                    {
                        "A value provided cannot be converted into a number"
                    } else {
                        msg
                    };
                    ApiError::validation(format!(
                        "ExpressionAttributeValues contains invalid value: {msg} for key {k}"
                    ))
                }
                None => ApiError::Serialization(ferrodyn_protocol::coral_message(&e)),
            }
        })?;
        item.insert(k.clone(), value);
    }
    Ok(Placeholders {
        values: Some(item),
        value_order: raw.iter().map(|(k, _)| k.clone()).collect(),
    })
}

fn valid_placeholder(k: &str, sigil: char) -> bool {
    k.strip_prefix(sigil).is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    })
}

/// A legacy condition map as the expr crate's borrowed entries, in a stable order.
pub(crate) fn legacy_entries(map: &Legacy) -> Vec<(&str, LegacyRef<'_>)> {
    let mut v: Vec<(&str, LegacyRef<'_>)> = map
        .iter()
        .map(|(k, c)| {
            (
                k.as_str(),
                LegacyRef {
                    op: c.comparison_operator.as_deref(),
                    list: c.attribute_value_list.as_deref(),
                    value: c.value.as_ref(),
                    exists: c.exists,
                },
            )
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    v
}

/// Constraint checks of the `ComparisonOperator`s in a legacy condition map; `required`
/// for filters and key conditions (an `Expected` entry may have none).
pub(crate) fn legacy_violations(
    v: &mut Violations,
    map: &Option<Legacy>,
    param: &str,
    required: bool,
) {
    let mut entries: Vec<_> = map.iter().flatten().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    for (name, c) in entries {
        let path = format!("{param}.{name}.member.comparisonOperator");
        if required {
            v.not_null(&c.comparison_operator, &path);
        }
        v.enumeration(
            c.comparison_operator.as_deref(),
            &path,
            ferrodyn_expr::legacy::OPERATORS,
        );
    }
}

/// DynamoDB refuses `.` and `[]` on a key attribute anywhere in an expression.
pub(crate) fn check_key_paths<'p>(
    schema: &KeySchema,
    paths: impl IntoIterator<Item = &'p Path>,
) -> Result<(), ApiError> {
    for p in paths {
        if p.0.len() > 1 && schema.is_key(p.root()) {
            return Err(ApiError::validation(format!(
                "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: {}",
                p.root()
            )));
        }
    }
    Ok(())
}

/// Every document path a condition reads.
pub(crate) fn condition_paths(c: &Cond, out: &mut Vec<Path>) {
    let op = |o: &Operand, out: &mut Vec<Path>| match o {
        Operand::Path(p) | Operand::Size(p) => out.push(p.clone()),
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
            condition_paths(a, out);
            condition_paths(b, out);
        }
        Cond::Not(a) => condition_paths(a, out),
        Cond::Exists(p) | Cond::NotExists(p) => out.push(p.clone()),
        Cond::Type(p, t) => {
            out.push(p.clone());
            op(t, out);
        }
    }
}

/// The paths the values of an update read (not the paths it writes).
pub(crate) fn update_value_paths(u: &Update, out: &mut Vec<Path>) {
    use ferrodyn_expr::ast::{Action, SetOperand};
    fn operand(o: &SetOperand, out: &mut Vec<Path>) {
        match o {
            SetOperand::Path(p) => out.push(p.clone()),
            SetOperand::Value(_) => {}
            SetOperand::IfNotExists(p, d) => {
                out.push(p.clone());
                operand(d, out);
            }
            SetOperand::ListAppend(a, b) => {
                operand(a, out);
                operand(b, out);
            }
        }
    }
    for a in &u.actions {
        if let Action::Set(_, v) = a {
            match v {
                SetValue::Operand(o) => operand(o, out),
                SetValue::Plus(x, y) | SetValue::Minus(x, y) => {
                    operand(x, out);
                    operand(y, out);
                }
            }
        }
    }
}
