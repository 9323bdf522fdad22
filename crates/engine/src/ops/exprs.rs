//! The request-level rules shared by every operation that takes expressions: legacy and
//! expression parameters may not be mixed, placeholder maps need an expression and may not
//! be empty, and every placeholder must be used by some expression of the request.

use std::collections::HashMap;

use ferrodyn_expr::legacy::Legacy as LegacyRef;
use ferrodyn_expr::{ExprError, Resolver};
use ferrodyn_protocol::model::Legacy;
use ferrodyn_protocol::ApiError;
use ferrodyn_types::Item;

/// Longest `#name` / `:value` key DynamoDB accepts.
const MAX_PLACEHOLDER: usize = 255;

pub(crate) fn expr_error(e: ExprError) -> ApiError {
    ApiError::Validation(e.0)
}

/// One expression parameter of a request: its name and whether it is present.
pub(crate) type Present<'a> = (&'a str, bool);

/// Check the parameter combinations and hand back a resolver for the expressions.
///
/// `exprs` are the expression parameters of the operation in DynamoDB's order, `legacy`
/// its non-expression counterparts; `value_exprs` names the expressions that may use
/// values (for the "can only be specified when using expressions" message).
pub(crate) fn resolver<'a>(
    names: Option<&'a HashMap<String, String>>,
    values: Option<&'a Item>,
    exprs: &[Present<'_>],
    legacy: &[Present<'_>],
    value_exprs: &[&str],
) -> Result<Resolver<'a>, ApiError> {
    let used_legacy: Vec<&str> = legacy.iter().filter(|p| p.1).map(|p| p.0).collect();
    let used_exprs: Vec<&str> = exprs.iter().filter(|p| p.1).map(|p| p.0).collect();
    if !used_legacy.is_empty() && !used_exprs.is_empty() {
        return Err(ApiError::validation(format!(
            "Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {{{}}} Expression parameters: {{{}}}",
            used_legacy.join(", "),
            used_exprs.join(", ")
        )));
    }
    if values.is_some() && !value_exprs.iter().any(|e| used_exprs.contains(e)) {
        let verb = if value_exprs.len() > 1 { "are" } else { "is" };
        return Err(ApiError::validation(format!(
            "ExpressionAttributeValues can only be specified when using expressions: {} {verb} null",
            value_exprs.join(" and ")
        )));
    }
    if names.is_some() && used_exprs.is_empty() {
        return Err(ApiError::validation(
            "ExpressionAttributeNames can only be specified when using expressions",
        ));
    }
    if names.is_some_and(HashMap::is_empty) {
        return Err(ApiError::validation(
            "ExpressionAttributeNames must not be empty",
        ));
    }
    if values.is_some_and(Item::is_empty) {
        return Err(ApiError::validation(
            "ExpressionAttributeValues must not be empty",
        ));
    }
    for k in names.iter().flat_map(|m| m.keys()) {
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
    }
    for (k, v) in names.iter().flat_map(|m| m.iter()) {
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
    for k in values.iter().flat_map(|m| m.keys()) {
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
    Ok(Resolver::new(names, values))
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
