//! The DynamoDB expression language: condition, filter, update, projection and key
//! condition expressions (parse -> resolve -> evaluate).
//!
//! Planned (see docs/compatibility.md): this crate is where the lexer, parser, AST, name
//! and value resolution and the evaluator will live. It depends only on `ferrodyn-types`
//! and does no I/O. Until it lands, the engine refuses expression parameters with a
//! ValidationException that says so.
