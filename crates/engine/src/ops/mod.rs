//! Operations, by family.

pub mod batch;
pub mod exprs;
pub mod item;
pub mod meta;
pub mod partiql;
pub mod query;
pub mod table;
pub mod tags;
pub mod transact;
