//! Operations, by family.

pub mod item;
pub mod table;
pub mod meta;
pub mod tags;
