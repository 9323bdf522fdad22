//! Operations, by family.

pub mod item;
pub mod meta;
pub mod table;
pub mod tags;
