//! The DynamoDB expression language: condition, filter, key condition, update and
//! projection expressions.
//!
//! Parse -> resolve -> evaluate: [`Resolver`] parses the text of each expression of a
//! request, substituting `#name` and `:value` placeholders as it goes, and checks
//! DynamoDB's rules (syntax, reserved words, undefined and unused placeholders, function
//! arity and operand types, overlapping paths). The result is a resolved tree ([`ast`])
//! that [`eval`] evaluates against items and [`update::apply`] applies to them. The
//! legacy parameters (Expected, KeyConditions, QueryFilter, ...) are turned into the same
//! trees by [`legacy`]. [`ExprCache`] keeps parsed expressions as templates with their
//! values taken out, so a repeated expression is not parsed again. This crate does no I/O.

pub mod ast;
mod cache;
pub mod eval;
pub mod keycond;
pub mod legacy;
mod lexer;
pub mod parser;
mod reserved;
pub mod update;

pub use ast::{Action, CmpOp, Cond, Operand, Path, SetOperand, SetValue, Step, Update};
pub use cache::ExprCache;
pub use parser::{ExprKind, Resolver};
pub use reserved::is_reserved;

/// A ValidationException message produced by an expression.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ExprError(pub String);

#[cfg(test)]
mod tests;
