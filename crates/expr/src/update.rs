//! Applying an UpdateExpression to an item.
//!
//! As in DynamoDB, every operand is read from the item as it was before the update, then
//! the actions are applied; list elements named by several REMOVE actions are removed by
//! their original positions.

use ferrodyn_types::{AttributeValue, Item};

use crate::ast::*;
use crate::eval::get;
use crate::ExprError;

fn incorrect_type() -> ExprError {
    ExprError("An operand in the update expression has an incorrect data type".into())
}

fn invalid_path() -> ExprError {
    ExprError("The document path provided in the update expression is invalid for update".into())
}

fn missing_attribute() -> ExprError {
    ExprError(
        "The provided expression refers to an attribute that does not exist in the item".into(),
    )
}

/// Arithmetic is exact; a result DynamoDB cannot store exactly (more than 38 significant
/// digits) is refused with the overflow message, as AWS answers (ScyllaDB's tests against
/// AWS, `test_update_expression_plus_imprecise`).
fn arith_error(e: ferrodyn_types::NumberError) -> ExprError {
    match e {
        ferrodyn_types::NumberError::TooManyDigits => {
            ExprError(ferrodyn_types::NumberError::Overflow.to_string())
        }
        other => ExprError(other.to_string()),
    }
}

fn operand_value(o: &SetOperand, old: &Item) -> Result<AttributeValue, ExprError> {
    match o {
        SetOperand::Path(p) => get(old, p).cloned().ok_or_else(missing_attribute),
        SetOperand::Value(v) => Ok(v.clone()),
        SetOperand::IfNotExists(p, d) => match get(old, p) {
            Some(v) => Ok(v.clone()),
            None => operand_value(d, old),
        },
        SetOperand::ListAppend(a, b) => match (operand_value(a, old)?, operand_value(b, old)?) {
            (AttributeValue::L(mut x), AttributeValue::L(y)) => {
                x.extend(y);
                Ok(AttributeValue::L(x))
            }
            _ => Err(incorrect_type()),
        },
    }
}

fn set_value(v: &SetValue, old: &Item) -> Result<AttributeValue, ExprError> {
    let arith = |a: &SetOperand, b: &SetOperand, plus: bool| match (
        operand_value(a, old)?,
        operand_value(b, old)?,
    ) {
        (AttributeValue::N(x), AttributeValue::N(y)) => {
            let r = if plus {
                x.checked_add(&y)
            } else {
                x.checked_sub(&y)
            };
            r.map(AttributeValue::N).map_err(arith_error)
        }
        _ => Err(incorrect_type()),
    };
    match v {
        SetValue::Operand(o) => operand_value(o, old),
        SetValue::Plus(a, b) => arith(a, b, true),
        SetValue::Minus(a, b) => arith(a, b, false),
    }
}

/// The container that holds the last step of `path`, created by nothing: it must exist.
fn parent_mut<'a>(item: &'a mut Item, path: &Path) -> Option<&'a mut AttributeValue> {
    let steps = path.0.get(..path.0.len().saturating_sub(1))?;
    let mut it = steps.iter();
    let mut cur = match it.next()? {
        Step::Attr(a) => item.get_mut(a)?,
        Step::Index(_) => return None,
    };
    for s in it {
        cur = match (s, cur) {
            (Step::Attr(a), AttributeValue::M(m)) => m.get_mut(a)?,
            (Step::Index(i), AttributeValue::L(l)) => l.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Whether the container of the last step of `path` exists and has the right kind (a map
/// for a name, a list for an index). A top-level attribute always fits.
fn parent_fits(item: &Item, path: &Path) -> bool {
    let Some((last, parent)) = path.0.split_last() else {
        return false;
    };
    if parent.is_empty() {
        return true;
    }
    matches!(
        (get(item, &Path(parent.to_vec())), last),
        (Some(AttributeValue::M(_)), Step::Attr(_)) | (Some(AttributeValue::L(_)), Step::Index(_))
    )
}

/// Write `v` at `path`; the parent must exist. A list index past the end appends.
pub fn set_path(item: &mut Item, path: &Path, v: AttributeValue) -> Result<(), ExprError> {
    if let [Step::Attr(a)] = path.0.as_slice() {
        item.insert(a.clone(), v);
        return Ok(());
    }
    let last = path.0.last().ok_or_else(invalid_path)?;
    match (parent_mut(item, path).ok_or_else(invalid_path)?, last) {
        (AttributeValue::M(m), Step::Attr(a)) => {
            m.insert(a.clone(), v);
        }
        (AttributeValue::L(l), Step::Index(i)) => match l.get_mut(*i) {
            Some(slot) => *slot = v,
            None => l.push(v),
        },
        _ => return Err(invalid_path()),
    }
    Ok(())
}

/// Remove what is at `path`; the parent must exist, the element itself need not.
pub fn remove_path(item: &mut Item, path: &Path) -> Result<(), ExprError> {
    if let [Step::Attr(a)] = path.0.as_slice() {
        item.remove(a);
        return Ok(());
    }
    let last = path.0.last().ok_or_else(invalid_path)?;
    match (parent_mut(item, path), last) {
        (None, _) => return Err(invalid_path()),
        (Some(AttributeValue::M(m)), Step::Attr(a)) => {
            m.remove(a);
        }
        (Some(AttributeValue::L(l)), Step::Index(i)) => {
            if *i < l.len() {
                l.remove(*i);
            }
        }
        (Some(_), _) => return Err(invalid_path()),
    }
    Ok(())
}

fn union<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    let mut r = a.to_vec();
    r.extend(b.iter().filter(|x| !a.contains(x)).cloned());
    r
}

fn difference<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

/// `ADD`: numbers are added, sets united; a missing attribute is set to the operand.
pub fn add_value(
    cur: Option<&AttributeValue>,
    v: &AttributeValue,
) -> Result<AttributeValue, ExprError> {
    use AttributeValue as V;
    Ok(match (cur, v) {
        (None, v) => v.clone(),
        (Some(V::N(a)), V::N(b)) => V::N(a.checked_add(b).map_err(arith_error)?),
        (Some(V::Ss(a)), V::Ss(b)) => V::Ss(union(a, b)),
        (Some(V::Ns(a)), V::Ns(b)) => V::Ns(union(a, b)),
        (Some(V::Bs(a)), V::Bs(b)) => V::Bs(union(a, b)),
        _ => return Err(incorrect_type()),
    })
}

/// `DELETE`: set difference; `None` when nothing is left.
pub fn delete_value(
    cur: &AttributeValue,
    v: &AttributeValue,
) -> Result<Option<AttributeValue>, ExprError> {
    use AttributeValue as V;
    Ok(match (cur, v) {
        (V::Ss(a), V::Ss(b)) => Some(difference(a, b)).filter(|r| !r.is_empty()).map(V::Ss),
        (V::Ns(a), V::Ns(b)) => Some(difference(a, b)).filter(|r| !r.is_empty()).map(V::Ns),
        (V::Bs(a), V::Bs(b)) => Some(difference(a, b)).filter(|r| !r.is_empty()).map(V::Bs),
        _ => return Err(incorrect_type()),
    })
}

/// Apply `update` to `item` in place.
pub fn apply(update: &Update, item: &mut Item) -> Result<(), ExprError> {
    let old = item.clone();
    // Compute every SET value against the old item first.
    let mut sets = Vec::new();
    for a in &update.actions {
        if let Action::Set(p, v) = a {
            sets.push((p, set_value(v, &old)?));
        }
    }
    // Lower list indexes first, so that several appends past the end keep index order.
    sets.sort_by(|a, b| a.0.cmp(b.0));
    for (p, v) in sets {
        set_path(item, p, v)?;
    }
    for a in &update.actions {
        match a {
            Action::Add(p, v) => {
                let next = add_value(get(&old, p), v)?;
                set_path(item, p, next)?;
            }
            Action::Delete(p, v) => {
                if !parent_fits(&old, p) {
                    return Err(invalid_path());
                }
                if let Some(cur) = get(&old, p) {
                    match delete_value(cur, v)? {
                        Some(next) => set_path(item, p, next)?,
                        None => remove_path(item, p)?,
                    }
                }
            }
            Action::Set(..) | Action::Remove(_) => {}
        }
    }
    // Removals last, highest list index first, so that indexes keep their meaning.
    let mut removes: Vec<&Path> = update
        .actions
        .iter()
        .filter_map(|a| match a {
            Action::Remove(p) => Some(p),
            _ => None,
        })
        .collect();
    removes.sort_by(|a, b| b.cmp(a));
    for p in removes {
        remove_path(item, p)?;
    }
    Ok(())
}
